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
intervals. The **model** is carepop's Fay–Herriot REML fit of ``p̂_i`` on the two covariates with
the sampling variances smoothed as ``ψ_i = p̄ (1 − p̄) / n_i × (1 − n_i / N_i)`` (``p̄`` the
national direct estimate; treated as known, as the model assumes), giving EBLUPs in sampled
districts and synthetic predictions in the rest, with Prasad–Rao MSEs and normal 95% intervals.

Reported, over the repeated samples, for districts grouped by sample size: coverage of the 95%
intervals and the relative RMSE ``√mean((est − θ_i)²) / θ_i`` averaged over the group's districts.
What is treated as known: the population sizes ``N_i`` and covariates (census), the smoothed
sampling variances. The model's own assumptions (linear in the covariates, normal area effects)
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

GROUPS = ((0, 0, "no sample"), (1, 9, "1–9"), (10, 24, "10–24"), (25, 49, "25–49"), (50, 10**9, "50+"))


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


def one_sample(pop: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Direct and model estimates (and intervals) for every district from one sample."""
    sample = draw(pop, n, rng)
    # a district with one respondent has no direct variance: R's "adjust" (centred at the grand mean)
    survey = Survey(sample, weight="weight", strata="la_code", fpc="N", lonely_psu="adjust")
    direct = survey.proportion("carer", by="la_code", ci="beta").to_pandas()
    direct = direct[direct["level"] == 1.0].drop(columns=["level"]).reset_index(drop=True)
    n_i = direct["la_code"].map(sample["la_code"].value_counts()).to_numpy(dtype=float)
    N_i = direct["la_code"].map(pop.set_index("la_code")["N"]).to_numpy(dtype=float)
    # smoothed p: the sample-size weighted regression of the direct rates on the covariates
    cov = pop.set_index("la_code").loc[direct["la_code"], ["census_rate", "imd"]].to_numpy()
    X = np.column_stack([np.ones(len(cov)), cov])
    sw = np.sqrt(n_i)
    beta = np.linalg.lstsq(X * sw[:, None], direct["estimate"].to_numpy() * sw, rcond=None)[0]
    p_s = np.clip(X @ beta, 0.01, 0.99)
    direct["psi"] = p_s * (1 - p_s) / n_i * (1 - n_i / N_i)
    model = fay_herriot(
        direct[["la_code", "estimate", "psi"]],
        pop[["la_code", "census_rate", "imd"]],
        area="la_code",
        covariates=["census_rate", "imd"],
        variance="psi",
    ).to_pandas()
    out = model[["la_code", "estimate", "ci_lower", "ci_upper", "mse"]].merge(
        direct[["la_code", "estimate", "ci_lower", "ci_upper", "n"]],
        on="la_code",
        how="left",
        suffixes=("", "_direct"),
    )
    out["n"] = out["n"].fillna(0)
    return out


def simulate(samples: int = 200, n: int = 12_000, seed: int = 2024) -> pd.DataFrame:
    """Coverage and relative RMSE of direct and model estimates, by districts' expected sample size."""
    pop = population()
    rng = np.random.default_rng(seed)
    runs = [one_sample(pop, n, rng) for _ in range(samples)]
    est = np.stack([r["estimate"].to_numpy() for r in runs])  # (samples, M)
    lo = np.stack([r["ci_lower"].to_numpy() for r in runs])
    hi = np.stack([r["ci_upper"].to_numpy() for r in runs])
    mse = np.stack([r["mse"].to_numpy() for r in runs])
    d_est = np.stack([r["estimate_direct"].to_numpy() for r in runs])
    d_lo = np.stack([r["ci_lower_direct"].to_numpy() for r in runs])
    d_hi = np.stack([r["ci_upper_direct"].to_numpy() for r in runs])
    truth = pop.set_index("la_code").loc[runs[0]["la_code"], "truth"].to_numpy()
    expected_n = n * pop.set_index("la_code").loc[runs[0]["la_code"], "N"].to_numpy() / pop["N"].sum()
    rows = []
    for lo_n, hi_n, label in (*GROUPS, (0, 10**9, "all")):
        if label == "no sample":
            areas = expected_n < 0.5
        else:
            areas = (np.round(expected_n) >= max(lo_n, 1)) & (np.round(expected_n) <= hi_n)
            if label == "all":
                areas = np.ones_like(expected_n, dtype=bool)
        if not areas.any():
            continue
        t = truth[areas]
        cover = (lo[:, areas] <= t) & (t <= hi[:, areas])
        d_ok = np.isfinite(d_est[:, areas])
        d_cover = (d_lo[:, areas] <= t) & (t <= d_hi[:, areas])
        with np.errstate(invalid="ignore"):
            d_rmse = np.sqrt(np.nanmean((d_est[:, areas] - t) ** 2, axis=0)) / t
        rows.append(
            {
                "expected n": label,
                "districts": int(areas.sum()),
                "direct: share with an estimate": float(d_ok.mean()),
                "direct: coverage": float(d_cover[d_ok].mean()) if d_ok.any() else np.nan,
                "direct: relative RMSE": float(np.nanmean(d_rmse)) if d_ok.any() else np.nan,
                "model: coverage": float(cover.mean()),
                "model: relative RMSE": float(
                    np.mean(np.sqrt(np.mean((est[:, areas] - t) ** 2, axis=0)) / t)
                ),
                "model: MSE ratio": float(np.mean(mse[:, areas]) / np.mean((est[:, areas] - t) ** 2)),
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
