"""``carepop demo``: the whole chain on bundled data — carers, hidden carers, unmet need, self-funders,
the workforce and projections for the 153 councils, with the report — from seeded synthetic inputs.

:func:`run_demo` writes the synthetic inputs (``inputs/``, every file named ``synthetic_*``) and a
run config (``carepop.toml``) into the demo folder, then runs that config
(:func:`carepop.pipeline.run.run`) into ``results/``: so ``carepop run carepop-demo/carepop.toml``
reproduces the demo's tables byte for byte. The inputs (:mod:`carepop.pipeline.synthetic` and
:func:`draw_sample` below):

- the carers survey described here (drawn from the real Census 2021 MSOA counts, so its estimates
  should sit near the census: the demo doubles as a check that nothing is biased);
- a needs survey of adults (the self-funder instrument's ADL/IADL items), care homes with their
  directory, home-care users and council-funded home care, providers' returns with the register
  of locations, and a synthetic client-level data file (Release 2) — all calibrated to the real
  census council totals.

The carers survey

The population is real: the Census 2021 TS039 counts of residents aged 5+ by hours of unpaid care
in every English MSOA. The survey is a stratified two-stage sample drawn from it, as a national
carers survey might be:

- strata: the 309 local authorities (LAs);
- stage 1: up to 4 MSOAs per LA by simple random sampling without replacement (fpc: the LA's
  number of MSOAs; LAs with a single MSOA take it with certainty);
- stage 2: 20 residents per sampled MSOA, each answering the census unpaid-care question with
  the MSOA's census distribution (fpc: the MSOA's residents aged 5+).

Each respondent also carries the 2023 council of their LA (``council_code``), so the demo's
carers measure estimates by council. Direct LA estimates from this sample cover the census rate
they were drawn from at about the nominal rate (over 40 seeds: 98% for logit intervals, 96% for t,
88% for Wald intervals, which ignore that each LA has only 3 design degrees of freedom;
``validation/simulation.py``).

Rerunning the demo rewrites its inputs and results; it refuses to replace a ``carepop.toml`` that
has been edited (copy it elsewhere, or give ``--out`` a new folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carepop.core.survey import Survey
from carepop.errors import CarepopError
from carepop.sources.census import HOURS_BANDS, HOURS_LABELS, load_ts039

MSOAS_PER_LA = 4
PEOPLE_PER_MSOA = 20


def draw_sample(seed: int = 2021) -> pd.DataFrame:
    """The synthetic survey (one row per respondent), with design columns and weights."""
    rng = np.random.default_rng(seed)
    msoa = load_ts039("msoa")
    msoa = msoa.assign(u=rng.random(len(msoa))).sort_values(["la_code", "u"], kind="stable")
    msoa["rank"] = msoa.groupby("la_code").cumcount()
    msoa["msoas_in_la"] = msoa.groupby("la_code")["area_code"].transform("size")
    chosen = msoa[msoa["rank"] < MSOAS_PER_LA].reset_index(drop=True)
    m_sampled = np.minimum(chosen["msoas_in_la"].to_numpy(), MSOAS_PER_LA)
    counts = chosen[list(HOURS_BANDS)].to_numpy(dtype=float)
    probs = counts / counts.sum(axis=1, keepdims=True)
    draws = rng.multinomial(PEOPLE_PER_MSOA, probs)  # (MSOAs, 6): respondents per band
    band = _expand(draws)
    msoa_idx = np.repeat(np.arange(len(chosen)), PEOPLE_PER_MSOA)
    rows = chosen.iloc[msoa_idx].reset_index(drop=True)
    w1 = rows["msoas_in_la"].to_numpy() / m_sampled[msoa_idx]
    w2 = rows["residents_5plus"].to_numpy() / PEOPLE_PER_MSOA
    sample = pd.DataFrame(
        {
            "respondent": np.arange(1, len(rows) + 1),
            "la_code": rows["la_code"],
            "la_name": rows["la_name"],
            "msoa_code": rows["area_code"],
            "hours_band": band,
            "carer": (band > 0).astype(int),
            "weight": w1 * w2,
            "msoas_in_la": rows["msoas_in_la"],
            "residents_in_msoa": rows["residents_5plus"],
        }
    )
    return sample


def _expand(draws: np.ndarray) -> np.ndarray:
    """Band code per respondent from per-MSOA band counts (each row sums to PEOPLE_PER_MSOA)."""
    n_bands = draws.shape[1]
    return np.repeat(np.tile(np.arange(n_bands), draws.shape[0]), draws.ravel())


def survey_of(sample: pd.DataFrame) -> Survey:
    return Survey(
        sample,
        weight="weight",
        strata="la_code",
        psu="msoa_code",
        fpc="msoas_in_la",
        ssu="respondent",
        fpc2="residents_in_msoa",
        value_labels={"hours_band": HOURS_LABELS, "carer": {0: "No", 1: "Yes"}},
    )


def run_demo(out: Path, seed: int = 2021, *, say=None) -> Path:
    """Write the synthetic inputs and the config into ``out`` and run it into ``out/results``;
    return the results folder (module docstring)."""
    from carepop.io.writers import write_text_atomic
    from carepop.pipeline import synthetic
    from carepop.pipeline.run import run
    from carepop.sources.cld.generate import generate
    from carepop.sources.regions import councils_of

    say = say or (lambda _msg: None)
    out = Path(out)
    config = out / "carepop.toml"
    if config.exists() and config.read_text(encoding="utf-8") != demo_config(seed):
        raise CarepopError(
            f"{str(config)!r} has been edited (or written with another seed); the demo will not replace it.",
            code="cannot_write",
            got=str(config),
            fix="run it with carepop run, copy it elsewhere, or give --out a new folder",
        )
    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    say("drawing the synthetic surveys")
    carers = draw_sample(seed)
    carers.insert(2, "council_code", councils_of(carers["la_code"]).to_numpy())
    homes, directory = synthetic.care_homes(seed + 1)
    users, funded = synthetic.home_care_users(seed + 2)
    returns, register = synthetic.establishments(seed + 3)
    frames = {
        "synthetic_carers_survey.csv": carers,
        "synthetic_needs_survey.csv": synthetic.needs_survey(seed + 4),
        "synthetic_care_homes.csv": homes,
        "synthetic_care_directory.csv": directory,
        "synthetic_home_care_users.csv": users,
        "synthetic_council_funded_home_care.csv": funded,
        "synthetic_provider_returns.csv": returns,
        "synthetic_register.csv": register,
    }
    for name, frame in frames.items():
        write_text_atomic(inputs / name, frame.to_csv(index=False, lineterminator="\n"))
    cld = inputs / "synthetic_cld.parquet"
    generate(cld, rows=60_000, seed=seed, release="r2")
    write_text_atomic(config, demo_config(seed))
    return run(config, out=out / "results", progress=say).out


def demo_config(seed: int) -> str:
    """The demo's run config (commented: ``carepop run --init`` writes the same as a starter)."""
    return DEMO_CONFIG.format(seed=seed)


DEMO_CONFIG = """\
# carepop run config: the demo's (carepop demo writes it; carepop run carepop-demo/carepop.toml
# reruns it and gives the same tables, byte for byte). Paths are relative to this file.

[run]
title = "Carers, unmet need and self-funders by council (synthetic demo data)"
seed = {seed}           # every random step (model bootstraps) is seeded from this
out = "results"

# ---- inputs: files, read only for the columns the measures below name ----------------------
[inputs.carers]
file = "inputs/synthetic_carers_survey.csv"

[inputs.needs]
file = "inputs/synthetic_needs_survey.csv"

[inputs.homes]
file = "inputs/synthetic_care_homes.csv"

[inputs.directory]
file = "inputs/synthetic_care_directory.csv"

[inputs.home_care_users]
file = "inputs/synthetic_home_care_users.csv"

[inputs.council_funded]
file = "inputs/synthetic_council_funded_home_care.csv"

[inputs.returns]
file = "inputs/synthetic_provider_returns.csv"

[inputs.register]
file = "inputs/synthetic_register.csv"

[inputs.cld]
file = "inputs/synthetic_cld.parquet"   # client-level data, read by SQL (DuckDB)

# ---- survey designs -------------------------------------------------------------------------
[surveys.carers]                 # stratified two-stage: MSOAs within local authorities, people
input = "carers"
weight = "weight"
strata = "la_code"
psu = "msoa_code"
fpc = "msoas_in_la"
ssu = "respondent"
fpc2 = "residents_in_msoa"

[surveys.needs]                  # stratified by council
input = "needs"
weight = "weight"
strata = "council_code"

# ---- measures (each a library call: see carepop.pipeline.steps) ------------------------------
[measures.cld_signals]
input = "cld"

[measures.carers]
survey = "carers"
carer = "carer"
category = 1
hours = "hours_band"             # also by census hours band
benchmark = "region"             # council estimates add up to each region's direct estimate
boot = 200

[measures.hidden_carers]
known = "gp"                     # GP-registered carers (bundled); "cld" for carers the councils support

[measures.unmet_need]
survey = "needs"
definition = "hse"               # Health Survey for England: 65+, ADLs
boot = 200

[measures.self_funders]
homes = "homes"
directory = "directory"
boot = 200
users = "home_care_users"
funded = "council_funded"

[measures.workforce]
returns = "returns"
register = "register"
pa_recipients = 215000           # Skills for Care's published inputs, with survey SEs
pa_share = 0.32
pa_share_se = 0.015
pa_per_employer = 1.87
pa_per_employer_se = 0.06

[measures.projection]
variant = "no_help"
to = 2040

# ---- disclosure control (on by default; these are the defaults) -----------------------------
[disclosure]
threshold = 8                    # counts 1-7 suppressed
count_round = 5
estimate_round = 10
rate_decimals = 3
min_base = 50                    # direct survey estimates on fewer respondents are not published

[outputs]
tables = ["csv", "parquet", "xlsx"]
plots = ["png", "svg"]
report = true
"""


STARTER_HEADER = """\
# A starter config for `carepop run` (written by `carepop run --init`). It is the demo's config:
# `carepop demo` writes the synthetic files it names into carepop-demo/inputs/, so with this file
# in carepop-demo/ it runs as it is. For your own analysis: point each [inputs.NAME] file at yours,
# put your column names in [surveys] and [measures], and delete the measures you do not need.
# Unknown keys, wrong types and missing files are refused with their line number.

"""


def starter_config() -> str:
    """The commented starter config of ``carepop run --init``."""
    return STARTER_HEADER + demo_config(2021)
