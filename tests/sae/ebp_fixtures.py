"""The data and R results of the logistic-mixed-model / EBP golden tests (``tests/sae/test_ebp.py``)
and of their live R re-run (``validation/test_live_ebp.py``).

``tests/sae/fixtures/ebp/`` holds, all written by ``make_fixtures.R`` there (R 4.2.2, lme4)::

    sim_sample.csv   simulated survey: area, female, age2, age3, y (821 units in 40 areas;
                     seed 20261204, beta = (-1.2, 0.5, 0.4, 0.9), sigma_u = 0.6)
    sim_pop.csv      its population table: area, female, age2, age3, N (6 cells x 45 areas,
                     5 areas out of sample)
    cbpp_binary.csv  lme4's ``cbpp`` (contagious bovine pleuropneumonia, Lesnoff et al. 2004,
                     Prev. Vet. Med. 62, 101-117) expanded to one row per animal: herd, p2, p3,
                     p4 (period dummies), y
    glmer_fits.csv   fit, param, value: glmer's beta1..p, se1..p (sqrt(diag(vcov))), sigma_u
                     (theta) and logLik for the fits in :data:`FITS`
                     (and ``sim_laplace_default``)
    ebp_integrate.csv area, estimate: the EBP of every area of sim_pop by integrate(), with
                     glmer's Laplace estimates (sim_laplace) plugged in

Regenerate with ``Rscript tests/sae/fixtures/ebp/make_fixtures.R tests/sae/fixtures/ebp``; to
recompute only the results on the frozen data, pass the data folder as a second argument.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures" / "ebp"
COV = ["female", "age2", "age3"]

#: fit name in glmer_fits.csv -> (data set, nAGQ); ``sim_laplace_default`` is glmer with its
#: default optimiser settings (kept to show how far those stop from the optimum)
FITS = {
    "sim_laplace": ("sim", 1),
    "sim_agq7": ("sim", 7),
    "cbpp_laplace": ("cbpp", 1),
    "cbpp_agq9": ("cbpp", 9),
    "cbpp_agq4": ("cbpp", 4),  # an even rule: no node at the mode
}


def load(data_dir: Path = FIXTURES) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{"sim": (y, X, area), "cbpp": (y, X, herd)}`` with an intercept column in X."""
    s = pd.read_csv(data_dir / "sim_sample.csv", dtype={"area": str})
    cb = pd.read_csv(data_dir / "cbpp_binary.csv")
    return {
        "sim": (s["y"].to_numpy(float), _design(s, COV), s["area"].to_numpy()),
        "cbpp": (cb["y"].to_numpy(float), _design(cb, ["p2", "p3", "p4"]), cb["herd"].to_numpy()),
    }


def population(data_dir: Path = FIXTURES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pop_X, pop_area, pop_count)`` of the simulated population table."""
    p = pd.read_csv(data_dir / "sim_pop.csv", dtype={"area": str})
    return _design(p, COV), p["area"].to_numpy(), p["N"].to_numpy(float)


def glmer(results_dir: Path, fit: str) -> dict[str, float]:
    r = pd.read_csv(results_dir / "glmer_fits.csv")
    r = r[r["fit"] == fit]
    return dict(zip(r["param"], r["value"].astype(float), strict=True))


def glmer_vector(res: dict[str, float], p: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(beta, se, sigma_u, loglik)`` from :func:`glmer`'s dict."""
    beta = np.array([res[f"beta{i}"] for i in range(1, p + 1)])
    se = np.array([res[f"se{i}"] for i in range(1, p + 1)])
    return beta, se, res["sigma_u"], res["loglik"]


def ebp_integrate(results_dir: Path) -> pd.DataFrame:
    return pd.read_csv(results_dir / "ebp_integrate.csv", dtype={"area": str})


def _design(d: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return np.column_stack([np.ones(len(d)), d[cols].to_numpy(float)])
