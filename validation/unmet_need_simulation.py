"""Simulation with a known truth for unmet need by council (issue 14).

**Population.** The 153 councils with their Census 2021 residents by age band (18-64, 65-74, 75-84,
85+) and sex (:func:`carepop.sources.population.population_by_age_sex`). The true probability of
unmet need with no help in council ``c``, age band ``a``, sex ``s`` is

    logit p¹_{c,a,s} = α_a + 0.25 [female] + 0.35 z_c + u_c,   u_c ~ N(0, 0.15²) (seed 3),

``α = (−4.2, −2.6, −1.9, −1.2)`` and ``z_c`` the council's standardised IMD 2019 score (deprivation);
"no or not enough help" adds help that is not enough: ``logit p² = logit p¹ + 0.6``. Truth for a
definition: ``Σ_{a,s} P_{c,a,s} p_{c,a,s}`` over its ages (HSE: 65+).

**Survey.** Each replicate draws ``n`` adults (default 20,000) stratified by council (proportional to
adults 18+, at least 4 per council), simple random sampling within (fpc = the council's adults);
each person's age band and sex by the council's census shares, single age uniform in the band
(85+: 85–100), and the ADL items of ``questionnaires/self_funders.yaml`` drawn so that "dressing:
difficulty and no help" has probability ``p¹``, "help but not enough" ``p² − p¹``, difficulty with
enough help 0.10, no difficulty otherwise; IADL items "no difficulty".

Estimates: :func:`carepop.measures.unmet_need.unmet_need_by_council` (definition ``hse``): direct
(council domain proportion × population, Korn–Graubard), synthetic (region × age × sex rates applied
to the council's population) and Fay–Herriot (arcsine; expected rate, IMD and region as covariates).
Treated as known: the census population by council × age band × sex. Coverage is of the true count
``Σ P p`` by the 95% interval of the count, over councils and replicates (direct: councils with at
least one respondent aged 65+); regions and England: the post-stratified direct estimate.

Run ``python validation/unmet_need_simulation.py [replicates]``; ``test_unmet_need_simulation.py``
runs a small seeded version.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from carepop import Survey
from carepop.measures.unmet_need import ADL_ITEMS, IADL_ITEMS, unmet_need_by_council
from carepop.sources.population import population_by_age_sex
from carepop.sources.tables import load_table

BANDS = ((18, 64), (65, 74), (75, 84), (85, None))
ALPHA = np.array([-4.2, -2.6, -1.9, -1.2])


def truth(seed: int = 3) -> dict:
    """The population: council table, residents (council, band, sex) and true rates of both variants."""
    t = load_table("council", None)
    pop = population_by_age_sex(BANDS)
    P = pop["population"].to_numpy().reshape(len(t), len(BANDS), 2)
    imd = t["imd_score"].to_numpy(dtype=float)
    zc = (imd - imd.mean()) / imd.std()
    u = np.random.default_rng(seed).normal(scale=0.15, size=len(t))
    eta = ALPHA[None, :, None] + 0.25 * np.array([1.0, 0.0])[None, None, :] + (0.35 * zc + u)[:, None, None]
    p1 = 1 / (1 + np.exp(-eta))
    p2 = 1 / (1 + np.exp(-(eta + 0.6)))
    return {"table": t, "P": P, "no_help": p1, "insufficient": p2}


def true_counts(pop: dict, variant: str, min_band: int = 1) -> np.ndarray:
    """The true count of each council over bands ``min_band`` … (HSE: 65+ = from band 1)."""
    return (pop["P"][:, min_band:] * pop[variant][:, min_band:]).sum(axis=(1, 2))


def draw_survey(pop: dict, rng: np.random.Generator, n: int = 20_000) -> pd.DataFrame:
    """One stratified sample with the instrument's ADL / IADL items (module docstring)."""
    t, P = pop["table"], pop["P"]
    N = P.sum(axis=(1, 2))
    n_c = np.maximum(np.floor(n * N / N.sum() + rng.random(len(N))).astype(int), 4)
    c = np.repeat(np.arange(len(N)), n_c)
    share = (P / N[:, None, None]).reshape(len(N), -1)
    cum = share.cumsum(axis=1)
    cellk = np.minimum((rng.random(len(c))[:, None] > cum[c]).sum(axis=1), share.shape[1] - 1)
    band, sex = divmod(cellk, 2)
    lo = np.array([b[0] for b in BANDS])
    hi = np.array([b[1] if b[1] is not None else 100 for b in BANDS])
    age = lo[band] + np.floor(rng.random(len(c)) * (hi[band] - lo[band] + 1)).astype(int)
    p1, p2 = pop["no_help"][c, band, sex], pop["insufficient"][c, band, sex]
    v = rng.random(len(c))
    difficulty = np.where(v < p2 + 0.10, 1 + (rng.random(len(c)) < 0.5), 0)
    helped = np.where(v < p1, 0, np.where(v < p2, 2, 1)).astype(float)
    frame = {
        "council_code": t["council_code"].to_numpy()[c],
        "age": age,
        "sex": sex + 1,  # the instrument's codes: 1 Female, 2 Male
        "w": (N / n_c)[c],
        "N": N[c],
    }
    for item in ADL_ITEMS:
        frame[item] = difficulty if item == "adl_dress" else 0
        frame[f"{item}_help"] = np.where(difficulty >= 1, helped, np.nan) if item == "adl_dress" else np.nan
    for item in IADL_ITEMS:
        frame[item] = 0
        frame[f"{item}_help"] = np.nan
    return pd.DataFrame(frame)


def coverage(replicates: int, seed: int = 100, n: int = 20_000, boot: int = 100) -> pd.DataFrame:
    """Coverage, bias and relative RMSE of the 95% intervals of council counts (definition hse)."""
    pop = truth()
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(replicates):
        df = draw_survey(pop, rng, n)
        s = Survey(df, weight="w", strata="council_code", fpc="N")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = unmet_need_by_council(s, definition="hse", seed=seed + r, boot=boot)
        t = res.to_pandas()
        for variant in ("no_help", "insufficient"):
            c = t[(t["variant"] == variant) & (t["area_level"] == "council")]
            true = true_counts(pop, variant)
            P = c["population"].to_numpy()
            z = 1.959963984540054
            syn, syn_se = c["synthetic_count"].to_numpy(), c["synthetic_count_se"].to_numpy()
            for method, est, lo, hi, keep in (
                ("direct", c["direct"] * P, c["direct_lower"] * P, c["direct_upper"] * P, c["n"] > 0),
                ("synthetic", syn, np.maximum(syn - z * syn_se, 0), syn + z * syn_se, c["n"] >= 0),
                ("fay_herriot", c["count"], c["count_lower"], c["count_upper"], c["n"] >= 0),
            ):
                k = np.asarray(keep, dtype=bool)
                e, lo_, hi_ = (np.asarray(x, dtype=float)[k] for x in (est, lo, hi))
                rows.append(
                    pd.DataFrame(
                        {
                            "replicate": r,
                            "variant": variant,
                            "estimate": method,
                            "hit": (lo_ <= true[k]) & (true[k] <= hi_),
                            "error": (e - true[k]) / true[k],
                        }
                    )
                )
            above = t[(t["variant"] == variant) & (t["area_level"] != "council")]
            region_of = pop["table"]["region_code"].to_numpy()
            by_region = pd.Series(true).groupby(region_of).sum()
            truth_above = np.append(by_region.reindex(above["area_code"].iloc[:-1]).to_numpy(), true.sum())
            rows.append(
                pd.DataFrame(
                    {
                        "replicate": r,
                        "variant": variant,
                        "estimate": "post-stratified (regions, England)",
                        "hit": (above["count_lower"].to_numpy() <= truth_above)
                        & (truth_above <= above["count_upper"].to_numpy()),
                        "error": (above["count"].to_numpy() - truth_above) / truth_above,
                    }
                )
            )
    d = pd.concat(rows, ignore_index=True)
    g = d.groupby(["variant", "estimate"], sort=False)
    return pd.DataFrame(
        {
            "coverage": g["hit"].mean(),
            "relative bias": g["error"].mean(),
            "relative RMSE": g["error"].apply(lambda e: float(np.sqrt(np.mean(e**2)))),
            "area-replicates": g["hit"].size(),
        }
    ).reset_index()


if __name__ == "__main__":  # pragma: no cover
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with pd.option_context("display.width", 120):
        print(coverage(reps).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
