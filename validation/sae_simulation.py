"""Design-based simulation of small-area estimation with a known truth: carers in the 309 districts.

The **population** is synthetic, built once (seeded) on Census 2021: in every English district
(LA) ``N_i`` residents aged 5+ (TS039), of whom ``C_i = round(θ_i N_i)`` are carers as a survey
counts them, with ``logit θ_i = logit(2 r_i) + u_i``, ``r_i`` the census carer rate and ``u_i ~
N(0, 0.2²)`` (surveys find about twice as many carers as the census, unevenly across areas; see
CONTEXT.md). ``θ_i`` is the known truth. The area covariates are what an analyst would have: the
census 2021 carer rate and the IMD 2019 score (carepop's bundled ``area`` table).

Each **sample** is a national survey of ``n`` residents allocated to districts in proportion to
their population (``n_i = floor(n N_i / N + U)``, ``U`` uniform: small districts get 0, 1 or 2
respondents; a few get none) and drawn by simple random sampling without replacement within each
district (carers among them hypergeometric). carepop's ``Survey`` (strata = districts, weights
``N_i / n_i``, fpc ``N_i``) gives the **direct** estimates ``p̂_i`` with their Korn–Graubard
intervals. The **models** (:data:`MODELS`) are carepop's Fay–Herriot fits of ``p̂_i`` on the two
covariates, straight from the survey's proportions (``fay_herriot(direct, areas, ...)``):

- REML and AMRL (Li–Lahiri adjusted REML) with the sampling variances smoothed by carepop
  (``smooth="proportion"``: ``p(1 − p) deff / n_i``, p pooled, then each area's synthetic p), normal
  intervals ``estimate ± 1.96 √MSE`` from the analytic MSE;
- REML on the arcsine scale (``transform="arcsin"``, ``ψ_i = 1/(4 n_i)``: no direct variance is
  needed), bias-corrected back-transformation, the interval carried back from the arcsine scale,
  the MSE on the original scale by parametric bootstrap (100 replicates).

Each gives EBLUPs in sampled districts and synthetic predictions in the rest.

Reported, over the repeated samples, for districts grouped by sample size: coverage of the 95%
intervals and the relative RMSE ``√mean((est − θ_i)²) / θ_i`` averaged over the group's districts.
What is treated as known: the population sizes ``N_i`` and covariates (census), the (smoothed)
sampling variances. The MSE ratio is the mean estimated MSE over the mean squared error. The
model's own assumptions (linear in the covariates, normal area effects)
are *not* true of this population: the simulation is design-based, the truth is fixed.

Run ``python validation/sae_simulation.py [samples] [n]``; it prints the table that
``validation/README.md`` carries. ``test_sae_simulation.py`` runs a small seeded version.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from carepop import Survey
from carepop.sae.area_level import fay_herriot
from carepop.sources.tables import load_table

GROUPS = ((0, 25, "under 25"), (25, 50, "25–49"), (50, np.inf, "50 or more"), (0, np.inf, "all"))


def population(seed: int = 12) -> pd.DataFrame:
    """The 309 districts: size, carers, the true rate and the covariates (see the module docstring)."""
    area = load_table("area", None)
    N = area["residents_5plus"].to_numpy(dtype=np.int64)
    r = (area["carers"] / area["residents_5plus"]).to_numpy()
    u = np.random.default_rng(seed).normal(scale=0.2, size=len(r))
    theta = 1 / (1 + np.exp(-(np.log(2 * r / (1 - 2 * r)) + u)))
    C = np.round(theta * N).astype(np.int64)
    return pd.DataFrame(
        {
            "la_code": area["la_code"].astype(str),
            "N": N,
            "C": C,
            "truth": C / N,
            "census_rate": r,
            "imd": area["imd_score"].to_numpy(),
        }
    )


def draw(pop: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """One national sample: per district ``n_i`` residents by SRSWOR (one row per respondent)."""
    N = pop["N"].to_numpy()
    n_i = np.floor(n * N / N.sum() + rng.random(len(N))).astype(np.int64)
    carers = rng.hypergeometric(pop["C"].to_numpy(), N - pop["C"].to_numpy(), n_i)
    idx = np.repeat(np.arange(len(N)), n_i)
    # within a district, the first carers_i respondents are carers (order does not matter)
    rank = np.arange(len(idx)) - np.repeat(np.cumsum(n_i) - n_i, n_i)
    return pd.DataFrame(
        {
            "la_code": pop["la_code"].to_numpy()[idx],
            "carer": (rank < carers[idx]).astype(float),
            "weight": (N / np.maximum(n_i, 1))[idx],
            "N": N[idx],
        }
    )


#: the model estimators compared: name -> options of fay_herriot (beside the data and covariates)
MODELS = {
    "FH REML": {"method": "reml", "smooth": "proportion"},
    "FH AMRL": {"method": "amrl", "smooth": "proportion"},
    "FH REML, arcsine": {"method": "reml", "transform": "arcsin", "n_eff": "n", "boot": 100},
}


def one_sample(pop: pd.DataFrame, n: int, rng: np.random.Generator, models: dict, seed: int) -> dict:
    """Direct and model estimates (with intervals and MSEs) for every district from one sample."""
    sample = draw(pop, n, rng)
    # a district with one respondent has no direct variance: R's "adjust" (centred at the grand mean)
    survey = Survey(sample, weight="weight", strata="la_code", fpc="N", lonely_psu="adjust")
    direct = survey.proportion("carer", by="la_code", ci="beta")
    areas = pop[["la_code", "census_rate", "imd"]]
    out = {}
    for name, options in models.items():
        model = fay_herriot(
            direct, areas, category=1.0, covariates=["census_rate", "imd"], seed=seed, **options
        ).to_pandas()
        out[name] = model[["estimate", "ci_lower", "ci_upper", "mse"]].to_numpy()
    d = direct.to_pandas()
    d = d[d["level"] == 1.0].set_index("la_code").reindex(areas["la_code"])
    out["direct"] = d[["estimate", "ci_lower", "ci_upper", "se"]].to_numpy()
    return out


def simulate(
    samples: int = 200, n: int = 12_000, seed: int = 2024, models: dict | None = None
) -> pd.DataFrame:
    """Coverage, relative RMSE and MSE ratio of direct and model estimates over repeated samples,
    for districts grouped by their expected sample size."""
    models = MODELS if models is None else models
    pop = population()
    rng = np.random.default_rng(seed)
    runs = [one_sample(pop, n, rng, models, seed + b) for b in range(samples)]
    truth = pop["truth"].to_numpy()
    expected_n = n * pop["N"].to_numpy() / pop["N"].sum()
    rows = []
    for what in ("direct", *models):
        a = np.stack([r[what] for r in runs])  # (samples, M, 4): estimate, lower, upper, mse or se
        est, lo, hi = a[..., 0], a[..., 1], a[..., 2]
        for lo_n, hi_n, label in GROUPS:
            areas = (expected_n >= lo_n) & (expected_n < hi_n)
            t = truth[areas]
            ok = np.isfinite(est[:, areas])
            err2 = np.where(ok, est[:, areas] - t, np.nan) ** 2
            cover = (lo[:, areas] <= t) & (t <= hi[:, areas])
            with np.errstate(invalid="ignore"):
                rel_rmse = np.sqrt(np.nanmean(err2, axis=0)) / t
            mse_est = a[..., 3][:, areas] ** (2 if what == "direct" else 1)
            rows.append(
                {
                    "estimator": "direct (Korn–Graubard)" if what == "direct" else what,
                    "expected n": label,
                    "districts": int(areas.sum()),
                    "estimated": float(ok.mean()),
                    "coverage": float(cover[ok].mean()),
                    "relative RMSE": float(np.nanmean(rel_rmse)),
                    "MSE ratio": float(np.nanmean(np.where(ok, mse_est, np.nan)) / np.nanmean(err2)),
                }
            )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(cols))) + "|",
    ]
    for rec in table.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in rec]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    b = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 12_000
    print(markdown(simulate(b, n)))
