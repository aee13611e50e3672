"""``carepop demo``: a synthetic carers survey drawn from Census 2021, estimated by local authority.

The population is real: the Census 2021 TS039 counts of residents aged 5+ by hours of unpaid care
in every English MSOA. The survey is a stratified two-stage sample drawn from it, as a national
carers survey might be:

- strata: the 309 local authorities (LAs);
- stage 1: up to 4 MSOAs per LA by simple random sampling without replacement (fpc: the LA's
  number of MSOAs; LAs with a single MSOA take it with certainty);
- stage 2: 20 residents per sampled MSOA, each answering the census unpaid-care question with
  the MSOA's census distribution (fpc: the MSOA's residents aged 5+).

carepop then estimates the share of residents who provide unpaid care in each LA with a 95%
(logit) interval, and compares it with the census figure the sample was drawn from: about 95% of
the intervals should cover it (over 40 seeds: 98% for logit intervals, 96% for t, 88% for Wald
intervals, which ignore that each LA has only 3 design degrees of freedom).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carepop.core.survey import Survey
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


def run_demo(out: Path, seed: int = 2021) -> dict[str, float]:
    """Draw the sample, estimate, compare with the census, write outputs; return a summary."""
    from rich.console import Console
    from rich.table import Table

    from carepop.io.writers import write_text_atomic as _write_atomic

    console = Console()
    sample = draw_sample(seed)
    survey = survey_of(sample)
    # proportions with logit intervals (t with the design df, as R svyciprop): they stay inside
    # [0, 1] and keep their coverage with the few PSUs an LA has
    by_la = survey.proportion("carer", by=["la_code", "la_name"], ci="logit").to_pandas()
    by_la = by_la[by_la["level"] == "Yes"].reset_index(drop=True)
    census = load_ts039("la")[["area_code", "residents_5plus", "carers"]]
    census = census.assign(census_rate=census["carers"] / census["residents_5plus"])
    by_la = by_la.merge(census[["area_code", "census_rate"]], left_on="la_code", right_on="area_code").drop(
        columns="area_code"
    )
    by_la["covered"] = (by_la["ci_lower"] <= by_la["census_rate"]) & (
        by_la["census_rate"] <= by_la["ci_upper"]
    )
    national = survey.proportion("carer", ci="logit").to_pandas().set_index("level").loc["Yes"]
    bands = survey.proportion("hours_band").to_pandas()
    eng_rate = census["carers"].sum() / census["residents_5plus"].sum()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "sample.csv", sample.to_csv(index=False))
    _write_atomic(out / "carers_by_la.csv", by_la.to_csv(index=False))
    _write_atomic(out / "hours_bands_england.csv", bands.to_csv(index=False))

    coverage = float(by_la["covered"].mean())
    console.print(
        f"[bold]Synthetic carers survey[/bold]: {len(sample):,} respondents in "
        f"{sample['msoa_code'].nunique():,} MSOAs of {sample['la_code'].nunique()} local authorities "
        f"(drawn from Census 2021 TS039, seed {seed})."
    )
    console.print(
        f"England: {national['estimate']:.2%} provide unpaid care "
        f"(95% CI {national['ci_lower']:.2%}–{national['ci_upper']:.2%}); census: {eng_rate:.2%}."
    )
    table = Table(title="Share providing unpaid care, ten largest LAs")
    for col in ("LA", "estimate", "95% interval", "census", "n"):
        table.add_column(col, justify="left" if col == "LA" else "right")
    big = census.nlargest(10, "residents_5plus")["area_code"]
    for rec in by_la[by_la["la_code"].isin(big)].itertuples():
        table.add_row(
            rec.la_name,
            f"{rec.estimate:.1%}",
            f"{rec.ci_lower:.1%}–{rec.ci_upper:.1%}",
            f"{rec.census_rate:.1%}",
            str(rec.n),
        )
    console.print(table)
    console.print(
        f"95% intervals cover the census rate in {coverage:.1%} of the {len(by_la)} LAs. "
        f"Outputs in {out}/ (sample.csv, carers_by_la.csv, hours_bands_england.csv)."
    )
    console.print(
        "Try: carepop estimate "
        f"{out / 'sample.csv'} --weight weight --strata la_code --psu msoa_code --fpc msoas_in_la "
        "--ssu respondent --fpc2 residents_in_msoa --mean carer --by la_name"
    )
    return {
        "england_estimate": float(national["estimate"]),
        "england_census": float(eng_rate),
        "coverage": coverage,
        "respondents": float(len(sample)),
    }
