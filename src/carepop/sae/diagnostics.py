"""Diagnostics of a Fay–Herriot fit: shrinkage, residuals, Brown's test, synthetic–direct
correlation, CVs, and warnings on what deserves a look.

Definitions follow emdi (``summary.fh``, ``compare.fh``; R/eblup.R, R/summary.fh.R, R/compare.R) so
that results can be checked against it:

* shrinkage γ_i = σ²ᵥ / (σ²ᵥ + ψ_i), the weight of the direct estimate in the EBLUP
  θ̂_i = γ_i y_i + (1 − γ_i) x_iᵀβ̂ (Rao & Molina 2015, eq. 6.1.12);
* standardised (realised) residuals r_i = (y_i − θ̂_i) / √ψ_i (emdi ``std_real_residuals``), and the
  random effects û_i = θ̂_i − x_iᵀβ̂; their skewness m₃/m₂^{3/2}, kurtosis m₄/m₂² (not excess:
  3 for a normal; R ``moments::skewness/kurtosis``) and the Shapiro–Wilk test (R ``shapiro.test``);
* Brown et al. (2001): W = Σ_i (y_i − θ̂_i)² / (ψ_i + MSE_i) over the sampled areas, referred to
  χ² with m (the number of sampled areas) degrees of freedom; a large W says the model estimates
  differ from the direct ones more than their variances allow (emdi ``compare``);
* the correlation of the synthetic part x_iᵀβ̂ with the direct estimates (Chandra et al. 2015);
* CV_i = √var_i / |estimate_i| of the direct (var = ψ) and model (var = MSE) estimates;
* areas outside their interval: the direct estimate outside the model's prediction interval
  x_iᵀβ̂ ± z √(σ²ᵥ + ψ_i) (y_i − x_iᵀβ̂ ~ N(0, σ²ᵥ + ψ_i) under the model, Rao & Molina 2015 §6.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carepop.errors import ModelError, data_rows
from carepop.sae._postcheck import SAEWarning, require, vector, warn

__all__ = [
    "BrownTest",
    "FHDiagnostics",
    "Normality",
    "SAEWarning",
    "brown_test",
    "coefficient_of_variation",
    "fh_diagnostics",
    "fh_diagnostics_fit",
    "normality",
    "shrinkage",
    "standardized_residuals",
    "synthetic_direct_correlation",
]


def shrinkage(sigma2: float, psi: Any) -> np.ndarray:
    """γ_i = σ²ᵥ / (σ²ᵥ + ψ_i) (R: ``sigma2 / (sigma2 + psi)``). NaN ψ gives NaN."""
    ps = vector(psi, "psi", allow_nan=True)
    require(
        ps < 0,
        "psi",
        "sampling variances must not be negative",
        code="bad_psi",
        expected="psi >= 0",
        fix="check the sampling variances",
        values=ps,
    )
    if not sigma2 >= 0:
        raise ModelError(
            "The model variance must be a non-negative number.",
            code="bad_sigma2",
            column="sigma2",
            got=float(sigma2),
            expected="sigma2 >= 0",
            fix="pass the fitted variance component",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        g = sigma2 / (sigma2 + ps)
    return np.where((sigma2 == 0) & (ps == 0), 1.0, g)


def standardized_residuals(direct: Any, estimate: Any, psi: Any) -> np.ndarray:
    """r_i = (y_i − θ̂_i) / √ψ_i (emdi's standardised realised residuals); NaN where y is NaN."""
    y = vector(direct, "direct", allow_nan=True)
    m = y.shape[0]
    th = vector(estimate, "estimate", m, allow_nan=True)
    ps = vector(psi, "psi", m, allow_nan=True)
    obs = ~np.isnan(y)
    require(
        obs & ~(ps > 0),
        "psi",
        "sampled areas need a positive sampling variance",
        code="bad_psi",
        expected="psi > 0",
        fix="smooth the variances (carepop.sae.variance)",
        values=ps,
    )
    with np.errstate(invalid="ignore"):
        return (y - th) / np.sqrt(ps)


@dataclass(frozen=True)
class Normality:
    """Moments and Shapiro–Wilk test of a set of residuals (NaN dropped)."""

    n: int
    skewness: float
    kurtosis: float
    shapiro_w: float
    shapiro_p: float


def normality(x: Any) -> Normality:
    """Skewness m₃/m₂^{3/2}, kurtosis m₄/m₂² (R ``moments``), Shapiro–Wilk W and p (R
    ``shapiro.test``, defined for 3 ≤ n ≤ 5000; NaN outside)."""
    from scipy import stats

    v = vector(x, "residuals", allow_nan=True)
    v = v[~np.isnan(v)]
    n = v.shape[0]
    if n < 2:
        return Normality(n, float("nan"), float("nan"), float("nan"), float("nan"))
    d = v - v.mean()
    m2 = float(np.mean(d**2))
    sk = float(np.mean(d**3)) / m2**1.5 if m2 > 0 else float("nan")
    ku = float(np.mean(d**4)) / m2**2 if m2 > 0 else float("nan")
    if 3 <= n <= 5000 and m2 > 0:
        w, p = stats.shapiro(v)
        w, p = float(w), float(p)
    else:
        w = p = float("nan")
    return Normality(n, sk, ku, w, p)


@dataclass(frozen=True)
class BrownTest:
    """Brown et al. (2001) test: statistic ``w``, degrees of freedom ``df``, ``p_value`` = P(χ²_df > w)."""

    w: float
    df: int
    p_value: float


def _largest(r: np.ndarray, obs: np.ndarray, k: int = 3) -> list[int]:
    """The 1-based rows of the ``k`` largest absolute residuals among the areas with a direct estimate."""
    a = np.where(obs, np.abs(np.nan_to_num(r)), -1.0)
    top = np.argsort(-a, kind="stable")[: min(k, int(obs.sum()))]
    return sorted((top + 1).tolist())


def brown_test(direct: Any, estimate: Any, psi: Any, mse: Any) -> BrownTest:
    """W = Σ (y_i − θ̂_i)² / (ψ_i + MSE_i) over areas with a direct estimate; df = their number.

    R (emdi ``compare.fh``): ``W <- sum((Direct - FH)^2 / (vardir + MSE)); 1 - pchisq(W, m)``."""
    from scipy import stats

    y = vector(direct, "direct", allow_nan=True)
    m = y.shape[0]
    th = vector(estimate, "estimate", m, allow_nan=True)
    ps = vector(psi, "psi", m, allow_nan=True)
    ms = vector(mse, "mse", m, allow_nan=True)
    obs = ~np.isnan(y)
    require(
        obs & (np.isnan(th) | np.isnan(ms) | np.isnan(ps)),
        "estimate",
        "sampled areas need a model estimate, an MSE and a sampling variance",
        code="missing_value",
        expected="numbers for every sampled area",
        fix="check the inputs",
    )
    den = ps[obs] + ms[obs]
    require(
        ~(den > 0),
        "mse",
        "psi + mse must be positive",
        code="bad_mse",
        expected="psi + mse > 0",
        fix="check the MSEs",
    )
    w = float(np.sum((y[obs] - th[obs]) ** 2 / den))
    df = int(obs.sum())
    return BrownTest(w, df, float(stats.chi2.sf(w, df)))


def synthetic_direct_correlation(synthetic: Any, direct: Any) -> float:
    """Pearson correlation of x_iᵀβ̂ and y_i over the sampled areas (R ``cor(xb, direct)``)."""
    y = vector(direct, "direct", allow_nan=True)
    s = vector(synthetic, "synthetic", y.shape[0], allow_nan=True)
    ok = ~np.isnan(y) & ~np.isnan(s)
    return float(np.corrcoef(s[ok], y[ok])[0, 1])


def coefficient_of_variation(estimate: Any, variance: Any) -> np.ndarray:
    """CV_i = √var_i / |estimate_i| (NaN where either is NaN, inf at an estimate of 0)."""
    e = vector(estimate, "estimate", allow_nan=True)
    v = vector(variance, "variance", e.shape[0], allow_nan=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(v) / np.abs(e)


@dataclass(frozen=True)
class FHDiagnostics:
    """All diagnostics of one FH fit, aligned with the input areas where per area."""

    gamma: np.ndarray
    std_residuals: np.ndarray
    random_effects: np.ndarray
    residual_normality: Normality
    random_effect_normality: Normality
    brown: BrownTest | None
    synthetic_direct_cor: float
    cv_direct: np.ndarray
    cv_model: np.ndarray | None
    outside: np.ndarray
    expected_outside: float
    outside_p_value: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The scalar diagnostics as a JSON-ready dict."""

        def nd(n: Normality) -> dict[str, Any]:
            return {
                "n": n.n,
                "skewness": n.skewness,
                "kurtosis": n.kurtosis,
                "shapiro_w": n.shapiro_w,
                "shapiro_p": n.shapiro_p,
            }

        return {
            "residuals": nd(self.residual_normality),
            "random_effects": nd(self.random_effect_normality),
            "brown": None
            if self.brown is None
            else {"w": self.brown.w, "df": self.brown.df, "p_value": self.brown.p_value},
            "synthetic_direct_cor": self.synthetic_direct_cor,
            "outside": int(np.count_nonzero(self.outside)),
            "expected_outside": self.expected_outside,
            "outside_p_value": self.outside_p_value,
            "notes": list(self.notes),
        }


def fh_diagnostics(
    direct: Any,
    synthetic: Any,
    estimate: Any,
    psi: Any,
    sigma2: float,
    mse: Any = None,
    *,
    level: float = 0.95,
    alpha: float = 0.01,
    warn_user: bool = True,
) -> FHDiagnostics:
    """Every diagnostic of a FH fit from its arrays: ``direct`` y (NaN = not sampled), ``synthetic``
    x_iᵀβ̂, ``estimate`` θ̂ (EBLUP), ``psi``, the fitted ``sigma2`` and (optionally) ``mse``.

    Warnings (:class:`SAEWarning`, also kept in ``notes``) when σ²ᵥ = 0 (every area gets its
    synthetic estimate and the analytic MSE understates), when the standardised residuals are
    heavy-tailed (one-sided Anscombe–Glynn kurtosis test, p < ``alpha``) or far from normal
    (Shapiro–Wilk p < ``alpha``), and when more direct estimates lie outside the ``level``
    prediction interval than chance allows (binomial upper tail p < ``alpha``).
    """
    from scipy import stats

    y = vector(direct, "direct", allow_nan=True)
    m = y.shape[0]
    syn = vector(synthetic, "synthetic", m)
    th = vector(estimate, "estimate", m)
    ps = vector(psi, "psi", m, allow_nan=True)
    obs = ~np.isnan(y)
    gamma = shrinkage(sigma2, ps)
    r = standardized_residuals(y, th, ps)
    u = np.where(obs, th - syn, np.nan)
    rn = normality(r)
    un = normality(u)
    ms = None if mse is None else vector(mse, "mse", m, allow_nan=True)
    brown = brown_test(y, th, ps, ms) if ms is not None else None
    cor = synthetic_direct_correlation(syn, y)
    cv_d = coefficient_of_variation(y, ps)
    cv_m = coefficient_of_variation(th, ms) if ms is not None else None
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(invalid="ignore"):
        outside = obs & (np.abs(y - syn) > z * np.sqrt(sigma2 + ps))
    k, n = int(outside.sum()), int(obs.sum())
    expected = n * (1.0 - level)
    p_out = float(stats.binom.sf(k - 1, n, 1.0 - level)) if n > 0 else float("nan")
    notes: list[str] = []
    if sigma2 == 0:
        notes.append(
            "The model variance sigma2_v is 0 (on the boundary): every area gets its synthetic "
            "estimate (shrinkage 0) and the analytic MSE may understate; consider an adjusted "
            "likelihood (Li-Lahiri / Yoshimori-Lahiri) or more covariates' checks."
        )
    if rn.n >= 20:
        kt = stats.kurtosistest(r[obs], alternative="greater")
        if kt.pvalue < alpha:
            notes.append(
                f"The standardised residuals are heavy-tailed (kurtosis {rn.kurtosis:.2f}, "
                f"Anscombe-Glynn p = {kt.pvalue:.3g}); look at the largest ones "
                f"(rows {_largest(r, obs)})."
            )
    if rn.shapiro_p < alpha:
        notes.append(
            f"The standardised residuals are not normal (Shapiro-Wilk p = {rn.shapiro_p:.3g}); "
            "consider a transformation (carepop.sae.transforms)."
        )
    if n > 0 and p_out < alpha:
        notes.append(
            f"{k} of {n} direct estimates lie outside their {level:.0%} model prediction interval "
            f"(about {expected:.1f} expected; rows {data_rows(outside)})."
        )
    if warn_user:
        for note in notes:
            warn(note)
    return FHDiagnostics(gamma, r, u, rn, un, brown, cor, cv_d, cv_m, outside, expected, p_out, notes)


def fh_diagnostics_fit(fit: Any, y: Any, X: Any, psi: Any, mse: Any = None, **options: Any) -> FHDiagnostics:
    """:func:`fh_diagnostics` of a :class:`carepop.sae.fay_herriot.FHFit`: the synthetic part
    Xβ̂ and the EBLUP are computed from ``fit`` (``options`` as :func:`fh_diagnostics`)."""
    from carepop.sae.fay_herriot import eblup

    est, _ = eblup(fit, y, X, psi)
    syn = np.asarray(X, dtype=float) @ fit.beta
    return fh_diagnostics(y, syn, est, psi, fit.sigma2, mse, **options)
