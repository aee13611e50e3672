"""Simulation with a known truth for the supply-side measures of issue 14: self-funders in care
homes and in the community, the workforce and personal-assistant posts.

**Population** (seed 3, fixed across replicates: the truth is the finite population's).
For each of the 153 councils:

- a care directory of 15–60 homes, nursing or residential, 10–90 beds, occupancy about 86%, and
  self-funding residents with a council share ``p_c`` (``logit p_c ~ N(−0.6 + 0.3·[region], 0.3²)``,
  older-people homes' share varying by home around it); the truth is the council's
  ``Σ s / Σ r`` and ``Σ s``;
- 20–60 home-care providers with users ``~ NegBin(mean 40)``; the council funds a share
  0.55–0.85 of each council's users (the CLD count, exact); community self-funders = users − funded;
- a register of 20–60 locations (care home / home care) with filled posts ``~ NegBin(mean 30)``
  and vacancies ``~ Poisson(7% of posts)``.

**Each replicate** draws: a survey of about 40% of the homes in every council × type cell (at
least 2; the homes answering at random within cells, as the estimator assumes); a survey of half
of each council's home-care providers (users per council by ``Survey.total`` with fpc: the
``home_care_users`` estimate and SE); returns from half of the locations in every council ×
service cell; a survey of 1,500 direct-payment recipients (employs staff ~ Bernoulli(0.32); PAs
per employer ``1 + Poisson(0.87)``; recipients 215,000, known). Each measure is run as published
(:func:`self_funders_in_care_homes` with ``min_homes=2`` so every council is direct,
:func:`community_self_funders`, :func:`workforce_by_area`, :func:`personal_assistant_posts` by the
delta method and the bootstrap) and its 95% intervals are checked against the truth.

Treated as known: the directory's beds and homes, the register's locations, the CLD count of
council-funded people, the number of direct-payment recipients. Not simulated: the model rows of
councils with few homes (Fay–Herriot), response that depends on the outcome within cells.

Run ``python validation/supply_simulation.py [replicates]``; ``test_supply_simulation.py`` runs a
small seeded version.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from carepop import Survey
from carepop.core.estimation.ci import critical
from carepop.measures.self_funders import community_self_funders, self_funders_in_care_homes
from carepop.measures.workforce import personal_assistant_posts, workforce_by_area
from carepop.sources.tables import load_table

RECIPIENTS, SHARE, PAS = 215_000, 0.32, 1.87


def population(seed: int = 3) -> dict[str, pd.DataFrame]:
    t = load_table("council", None)
    rng = np.random.default_rng(seed)
    codes = t["council_code"].to_numpy()
    region = pd.Categorical(t["region_code"]).codes
    p = 1 / (1 + np.exp(-(-0.6 + 0.3 * (region - 4) / 4 + rng.normal(0, 0.3, len(codes)))))
    nh = rng.integers(15, 61, len(codes))
    homes = pd.DataFrame({"council_code": np.repeat(codes, nh)})
    homes["home_type"] = rng.choice(["nursing", "residential"], len(homes), p=[0.4, 0.6])
    homes["beds"] = rng.integers(10, 91, len(homes))
    homes["residents"] = rng.binomial(homes["beds"], 0.86)
    ph = 1 / (
        1 + np.exp(-(np.log(np.repeat(p, nh) / (1 - np.repeat(p, nh))) + rng.normal(0, 0.5, len(homes))))
    )
    homes["self_funders"] = rng.binomial(homes["residents"], ph)
    npv = rng.integers(20, 61, len(codes))
    providers = pd.DataFrame({"council_code": np.repeat(codes, npv)})
    providers["users"] = rng.negative_binomial(4, 4 / (4 + 40), len(providers))
    users = providers.groupby("council_code")["users"].sum().reindex(codes)
    funded = np.round(users.to_numpy() * rng.uniform(0.55, 0.85, len(codes)))
    cld = pd.DataFrame({"council_code": codes, "home_care_council_funded": funded})
    nl = rng.integers(20, 61, len(codes))
    reg = pd.DataFrame({"council_code": np.repeat(codes, nl)})
    reg["service"] = rng.choice(["care home", "home care"], len(reg))
    reg["filled_posts"] = rng.negative_binomial(3, 3 / (3 + 30), len(reg))
    reg["vacancies"] = rng.poisson(0.075 * reg["filled_posts"] + 0.3)
    return {"homes": homes, "providers": providers, "cld": cld, "register": reg}


def _sample(frame: pd.DataFrame, by: list[str], frac: float, rng: np.random.Generator) -> pd.DataFrame:
    """A simple random sample of ``frac`` (at least 2) within each cell of ``by``."""
    rank = pd.Series(rng.random(len(frame)), index=frame.index).groupby([frame[c] for c in by]).rank()
    size = frame.groupby(by)[by[0]].transform("size")
    return frame[rank <= np.maximum(2, np.round(frac * size))]


def _cover(lo, hi, truth) -> np.ndarray:
    return (np.asarray(lo) <= np.asarray(truth)) & (np.asarray(truth) <= np.asarray(hi))


def run(replicates: int, seed: int = 100, boot: int = 0) -> dict[str, float]:
    pop = population()
    homes, providers, cld, reg = pop["homes"], pop["providers"], pop["cld"], pop["register"]
    g = homes.groupby("council_code")
    truth_sf = g["self_funders"].sum()
    truth_share = truth_sf / g["residents"].sum()
    users = providers.groupby("council_code")["users"].sum()
    truth_comm = users - cld.set_index("council_code")["home_care_council_funded"]
    r = reg.groupby("council_code")
    truth_f, truth_v = r["filled_posts"].sum(), r["vacancies"].sum()
    truth_rate = truth_v / (truth_f + truth_v)
    truth_pa = RECIPIENTS * SHARE * PAS
    rng = np.random.default_rng(seed)
    hits: dict[str, list] = {
        k: []
        for k in (
            "care homes: share",
            "care homes: self-funders",
            "care homes: share (England)",
            "community self-funders",
            "workforce: filled posts",
            "workforce: vacancies",
            "workforce: vacancy rate",
            "PA posts (delta)",
            "PA posts (bootstrap)",
        )
    }
    if boot:
        hits["care homes: share (bootstrap percentile)"] = []
        hits["care homes: share (bootstrap SE, t)"] = []
    directory = homes[["council_code", "home_type", "beds"]]
    for b in range(replicates):
        survey = _sample(homes, ["council_code", "home_type"], 0.4, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf = self_funders_in_care_homes(
                survey, directory, min_homes=2, boot=boot, seed=seed + b
            ).to_pandas()
        c = sf[sf["area_level"] == "council"].set_index("area_code").loc[truth_share.index]
        hits["care homes: share"].append(
            _cover(c["self_funder_share_lower"], c["self_funder_share_upper"], truth_share)
        )
        hits["care homes: self-funders"].append(
            _cover(c["self_funders_lower"], c["self_funders_upper"], truth_sf)
        )
        e = sf[sf["area_level"] == "england"].iloc[0]
        hits["care homes: share (England)"].append(
            _cover(
                [e["self_funder_share_lower"]],
                [e["self_funder_share_upper"]],
                [truth_sf.sum() / g["residents"].sum().sum()],
            )
        )
        if boot:
            hits["care homes: share (bootstrap percentile)"].append(
                _cover(c["self_funder_share_boot_lower"], c["self_funder_share_boot_upper"], truth_share)
            )
            q = critical(0.95, c["df"].to_numpy(dtype=float))
            lo = c["self_funder_share"] - q * c["self_funder_share_boot_se"]
            hi = c["self_funder_share"] + q * c["self_funder_share_boot_se"]
            hits["care homes: share (bootstrap SE, t)"].append(_cover(lo, hi, truth_share))
        ps = _sample(providers, ["council_code"], 0.5, rng)
        ps = ps.assign(N=ps["council_code"].map(providers.groupby("council_code").size()))
        est = Survey(ps, strata="council_code", fpc="N").total("users", by="council_code").to_pandas()
        u = pd.DataFrame(
            {
                "council_code": est["council_code"],
                "home_care_users": est["estimate"],
                "home_care_users_se": est["se"],
                "df": est["n"] - 1,  # responding providers - 1
            }
        )
        cs = community_self_funders(u, cld, df="df").to_pandas().set_index("area_code").loc[truth_comm.index]
        hits["community self-funders"].append(
            _cover(cs["self_funders_lower"], cs["self_funders_upper"], truth_comm)
        )
        ret = _sample(reg, ["council_code", "service"], 0.5, rng)
        wf = workforce_by_area(
            ret, reg[["council_code", "service"]], cells=("council_code", "service")
        ).to_pandas()
        w = wf[wf["area_level"] == "council"].set_index("area_code").loc[truth_f.index]
        hits["workforce: filled posts"].append(
            _cover(w["filled_posts_lower"], w["filled_posts_upper"], truth_f)
        )
        hits["workforce: vacancies"].append(_cover(w["vacancies_lower"], w["vacancies_upper"], truth_v))
        hits["workforce: vacancy rate"].append(
            _cover(w["vacancy_rate_lower"], w["vacancy_rate_upper"], truth_rate)
        )
        # PA survey: 1,500 recipients; several PA surveys per replicate (they are cheap)
        for k in range(10):
            employs = rng.random(1500) < SHARE
            pas = 1 + rng.poisson(PAS - 1, employs.sum())
            p_hat, m_hat = employs.mean(), pas.mean()
            kw = dict(
                share_employing_se=np.sqrt(p_hat * (1 - p_hat) / 1500),
                pas_per_employer_se=pas.std(ddof=1) / np.sqrt(len(pas)),
            )
            d = personal_assistant_posts(RECIPIENTS, p_hat, m_hat, **kw).to_pandas().iloc[0]
            bt = (
                personal_assistant_posts(
                    RECIPIENTS, p_hat, m_hat, method="bootstrap", boot=1000, seed=seed + 10 * b + k, **kw
                )
                .to_pandas()
                .iloc[0]
            )
            hits["PA posts (delta)"].append(_cover([d["pa_posts_lower"]], [d["pa_posts_upper"]], [truth_pa]))
            hits["PA posts (bootstrap)"].append(
                _cover([bt["pa_posts_lower"]], [bt["pa_posts_upper"]], [truth_pa])
            )
    return {k: float(np.mean(np.concatenate(v))) for k, v in hits.items()}


def main(argv: list[str]) -> None:
    replicates = int(argv[1]) if len(argv) > 1 else 200
    boot = int(argv[2]) if len(argv) > 2 else 0
    res = run(replicates, boot=boot)
    print(f"| measure | coverage of 95% intervals ({replicates} replicates) |")
    print("|---|---|")
    for k, v in res.items():
        print(f"| {k} | {v:.1%} |")


if __name__ == "__main__":
    main(sys.argv)
