"""Rcapture's closed-population models M0, Mt, Mh Chao and Mth Chao (Rivest & Baillargeon 2007).

Each is a Poisson log-linear model for the 2^k − 1 capture-history frequencies y_ω (Rcapture
``closedp.t`` with ``dfreq = TRUE``), log E y_ω = β₀ + x_ωᵀβ, with x_ω

- M0: the number of captures c_ω = Σ_j ω_j (one capture probability);
- Mt: the capture indicators ω₁ … ω_k (one probability per list);
- Mh Chao: c_ω and η_j columns max(c_ω − j + 1, 0), j = 3 … k (Chao's lower bound, the
  heterogeneity left free in the number-of-captures parameters; Rivest & Baillargeon 2007,
  section 2.2);
- Mth Chao: ω₁ … ω_k and the same η_j columns.

For the Chao models a negative η̂_j is not admissible: as Rcapture (``neg = TRUE``) does, the first
negative η is dropped and the model refitted until none is negative.

N̂ = n + exp(β̂₀) and SE(N̂) = √(exp(β̂₀) + exp(2β̂₀) Var(β̂₀)) (Rcapture ``getN``); AIC is R's
for the Poisson GLM and BIC = AIC + (log n − 2)·p with n the number of people observed (Rcapture's
definition). R equivalent: ``Rcapture::closedp.t(X, dfreq = TRUE)$results``.

Intervals: ``log`` (Chao 1987, the default), ``normal``, or ``profile`` (Cormack 1992, as
``Rcapture::closedpCI.t(X, dfreq = TRUE, m = "Mth", h = "Chao")$CI``; Rcapture's own point estimate
there is the multinomial maximum, a little below N̂ here, which stays the Poisson one of ``closedp``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from carepop.capture.glm import PoissonFit, poisson_fit
from carepop.capture.intervals import log_interval, normal_interval, profile_interval
from carepop.capture.results import CLOSED, HOMOGENEITY, INDEPENDENCE, MATCHING, CaptureEstimate
from carepop.capture.table import CaptureTable
from carepop.core.vocabulary import CaptureInterval, choose
from carepop.errors import ModelError

HETEROGENEITY = "the lists are independent apart from the modelled heterogeneity"
NAMES = {"m0": "M0", "mt": "Mt", "mh": "Mh Chao (LB)", "mth": "Mth Chao (LB)"}


def design(table: CaptureTable, model: str) -> tuple[np.ndarray, int]:
    """(X, nca): the design with its intercept column, and the number of columns before the η's."""
    pat = table.patterns.astype(float)
    ncap = pat.sum(axis=1)
    one = np.ones((len(pat), 1))
    base = np.hstack([one, ncap[:, None]]) if model in ("m0", "mh") else np.hstack([one, pat])
    if model in ("m0", "mt"):
        return base, base.shape[1]
    if table.k < 3:
        raise ModelError(
            f"{NAMES[model]} needs at least three lists.",
            code="too_few_lists",
            got=list(table.lists),
            fix="use m0 or mt, or chapman, for two lists",
        )
    eta = np.maximum(ncap[:, None] - np.arange(3, table.k + 1)[None, :] + 1.0, 0.0)
    return np.hstack([base, eta]), base.shape[1]


def fit_chao(y: np.ndarray, X: np.ndarray, nca: int) -> PoissonFit:
    """Fit, then drop the first negative η and refit until none is negative (Rcapture ``Chao.neg``)."""
    fit = poisson_fit(y, X)
    while X.shape[1] > nca and np.any(fit.beta[nca:] < 0):
        drop = nca + int(np.flatnonzero(fit.beta[nca:] < 0)[0])
        X = np.delete(X, drop, axis=1)
        fit = poisson_fit(y, X)
    return fit


def population_size(observed: float, fit: PoissonFit) -> tuple[float, float]:
    """(N̂, SE) = (n + e^β̂₀, √(e^β̂₀ + e^{2β̂₀} Var β̂₀))."""
    f0 = float(np.exp(fit.beta[0]))
    return observed + f0, float(np.sqrt(f0 + f0**2 * fit.cov[0, 0]))


def profile_deviance(table: CaptureTable, model: str) -> Callable[[float], float]:
    """D(f₀): the model fitted to all 2^k cells, the unobserved one (all covariates 0) set to f₀;
    for the Chao models negative η's dropped as in the fit (Rcapture ``closedpCI.t``)."""
    X, nca = design(table, model)
    X_all = np.vstack([X, np.eye(1, X.shape[1])])
    chao = model in ("mh", "mth")

    def at(f0: float) -> float:
        y = np.append(table.counts, f0)
        return (fit_chao(y, X_all, nca) if chao else poisson_fit(y, X_all)).deviance

    return at


def closed_model(
    table: CaptureTable, model: str = "mth", *, level: float = 0.95, interval: str = "log"
) -> CaptureEstimate:
    """One of Rcapture's models ``m0``, ``mt``, ``mh`` (Chao), ``mth`` (Chao) (module docstring)."""
    key = str(model).strip().lower()
    if key not in NAMES:
        raise ModelError(
            f"Unknown closed-population model {model!r}.", code="bad_option", got=model, expected=tuple(NAMES)
        )
    how = choose(interval, CaptureInterval, "interval")
    if how == "bootstrap":
        raise ModelError(
            f"{NAMES[key]} has normal, log and profile intervals, not {how}.",
            code="bad_option",
            got=how,
            expected=("normal", "log", "profile"),
        )
    X, nca = design(table, key)
    fit = fit_chao(table.counts, X, nca) if key in ("mh", "mth") else poisson_fit(table.counts, X)
    n = table.observed
    est, se = population_size(n, fit)
    if how == "normal":
        lo, hi = normal_interval(est, se, level)
    elif how == "log":
        lo, hi = log_interval(n, est, se, level)
    else:
        lo, hi = profile_interval(n, est - n, profile_deviance(table, key), level)
    aic = fit.aic
    assumptions = [CLOSED, MATCHING]
    assumptions.append(
        INDEPENDENCE
        if key in ("m0", "mt")
        else "the lists are independent apart from the modelled heterogeneity"
    )
    if key in ("m0", "mt"):
        assumptions.append(HOMOGENEITY)
    return CaptureEstimate(
        observed=n,
        hidden=est - n,
        estimate=est,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        model=NAMES[key],
        aic=aic,
        bic=float(aic + (np.log(n) - 2.0) * fit.rank),
        assumptions=tuple(assumptions),
        method=key,
        interval=how,
        level=level,
        df=fit.df,
        deviance=fit.deviance,
    )
