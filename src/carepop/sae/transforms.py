r"""Transformations for the Fay–Herriot model and their back-transformations (with MSEs).

A FH model is often better fitted on a transformed scale: proportions by the arcsine square root
(which stabilises the sampling variance) or the logit, skewed positive means/totals by the log.
The EBLUP θ̂_i on the transformed scale is then carried back. Definitions follow emdi
(``fh(..., transformation = "arcsin" | "logit" | "log", backtransformation = ...)``; R/framework_fh.R,
R/back_transformation.R, R/mse.R), so results can be checked against it.

Forward (:func:`arcsine_transform`, :func:`logit_transform`, :func:`log_transform`):

* arcsine: y_i = arcsin √p_i, ψ_i = 1 / (4 n_eff,i) (the delta-method variance, which no longer
  depends on p; Jiang, Lahiri, Wan & Wu 2001; Casas-Cordero, Encina & Lahiri 2016);
* logit: y_i = log(p_i / (1 − p_i)), ψ_i = v_i / (p_i (1 − p_i))² (p = 0 and 1 replaced by 0.001
  and 0.999, as emdi);
* log: y_i = log ŷ_i, ψ_i = v_i / ŷ_i² (delta method; Slud & Maiti 2006).

Back (:func:`back_transform`), with s_i² = σ̂²ᵥ (1 − γ̂_i) the conditional variance of θ_i given y_i
on the transformed scale (σ̂²ᵥ for areas with no sample, where γ̂ = 0):

* ``"naive"``: the inverse function, h⁻¹(θ̂_i) (arcsine: sin²(θ̂_i) with θ̂ clipped to [0, π/2]);
* ``"bc"`` (bias-corrected; Hadam, Würz & Kreutzmann 2020; Slud & Maiti 2006 for the log):
  E[h⁻¹(θ)] for θ ~ N(θ̂_i, s_i²) —
  arcsine E[sin²(clip(θ, 0, π/2))] = ∫₀^{π/2} sin²(x) φ(x; θ̂_i, s_i) dx + P(θ > π/2) in closed form
  (``tails="clip"``, the default: the same truncation as the naive back-transformation and as the
  bootstrap's true values); ``tails="emdi"`` drops the mass above π/2 as emdi does (it integrates
  numerically over [0, π/2] only), which pulls estimates near p = 1 down (θ̂ = 1.5, s = 0.15:
  0.660 instead of 0.978),
  logit E[expit(θ)] by Gauss–Hermite quadrature, log exp(θ̂_i + s_i²/2) (emdi ``"bc_sm"``);
* log ``"crude"``: exp(θ̂_i + MSE_i/2) with the analytic MSE on the log scale (emdi ``"bc_crude"``).

Areas with no sample (γ = 0) get the same correction with s² = σ̂²ᵥ, the variance of θ given no
data; emdi back-transforms them naively (arcsine, logit) or returns NA (log ``"bc_sm"``).

MSE on the original scale: log — Slud & Maiti (2006, Theorem 2) as emdi's ``slud_maiti``
(:func:`mse_log_slud_maiti`, sampled areas) or the crude exp(θ̂ + MSE/2)² · MSE (Rao 2003 p. 133);
arcsine and logit — a parametric bootstrap on the transformed scale (González-Manteiga et al. 2008
as emdi's ``boot_arcsin_2``/``boot_logit``): θ*_i = x_iᵀβ̂ + v*_i, y*_i = θ*_i + e*_i, refit,
back-transform, mean of (back(θ̂*) − h⁻¹(θ*))² (:func:`mse_back_bootstrap`), vectorised over the
replicates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carepop.errors import ModelError, opt
from carepop.sae._checks import as_design, as_mask, check_ncols
from carepop.sae._fh_engine import fisher_scoring, gls, outer_rows
from carepop.sae._postcheck import check_proportions, require, vector
from carepop.sae.fay_herriot import FHFit, eblup, fit_fay_herriot, mse_analytic

__all__ = [
    "TransformedFH",
    "arcsine_transform",
    "back_transform",
    "fh_transformed",
    "log_transform",
    "logit_transform",
    "mse_back_bootstrap",
    "mse_log_crude",
    "mse_log_slud_maiti",
]

_HALF_PI = np.pi / 2.0
_LOGIT_EDGE = 0.001


# --- forward ---------------------------------------------------------------------------------


def arcsine_transform(p: Any, n_eff: Any) -> tuple[np.ndarray, np.ndarray]:
    """y_i = arcsin √p_i and ψ_i = 1/(4 n_eff,i) (emdi ``transformation="arcsin"``,
    ``eff_smpsize``). NaN p (no sample) stays NaN."""
    pp = vector(p, "p", allow_nan=True)
    ne = vector(n_eff, "n_eff", pp.shape[0], allow_nan=True)
    obs = ~np.isnan(pp)
    check_proportions(
        pp,
        ne,
        "n_eff",
        "sampled areas need a positive effective sample size",
        "give n / deff for every sampled area",
    )
    return np.arcsin(np.sqrt(pp)), np.where(obs, 0.25 / np.where(obs, ne, 1.0), np.nan)


def logit_transform(p: Any, var: Any) -> tuple[np.ndarray, np.ndarray]:
    """y_i = logit p_i, ψ_i = v_i / (p_i(1 − p_i))², with p = 0 → 0.001 and 1 → 0.999 (emdi)."""
    pp = vector(p, "p", allow_nan=True)
    v = vector(var, "var", pp.shape[0], allow_nan=True)
    obs = ~np.isnan(pp)
    check_proportions(pp)
    require(
        obs & ~(v >= 0),
        "var",
        "sampled areas need a non-negative sampling variance",
        code="bad_psi",
        expected="var >= 0",
        fix="give the direct variances",
        values=v,
    )
    q = np.clip(pp, _LOGIT_EDGE, 1.0 - _LOGIT_EDGE)
    return np.log(q / (1.0 - q)), v / (q * (1.0 - q)) ** 2


def log_transform(estimate: Any, var: Any) -> tuple[np.ndarray, np.ndarray]:
    """y_i = log ŷ_i, ψ_i = v_i / ŷ_i² (delta method; emdi ``transformation="log"``)."""
    e = vector(estimate, "estimate", allow_nan=True)
    v = vector(var, "var", e.shape[0], allow_nan=True)
    obs = ~np.isnan(e)
    require(
        obs & ~(e > 0),
        "estimate",
        "the log transformation needs positive direct estimates",
        code="not_positive",
        expected="estimate > 0",
        fix="use another transformation, or none",
        values=e,
    )
    require(
        obs & ~(v >= 0),
        "var",
        "sampled areas need a non-negative sampling variance",
        code="bad_psi",
        expected="var >= 0",
        fix="give the direct variances",
        values=v,
    )
    with np.errstate(invalid="ignore"):
        return np.log(e), v / e**2


# --- back-transformation ---------------------------------------------------------------------


def _sin2_normal(mu: np.ndarray, s: np.ndarray, tails: str) -> np.ndarray:
    """∫₀^{π/2} sin²(x) φ(x; μ, s) dx (+ P(x > π/2) with ``tails="clip"``), elementwise.

    sin² = (1 − cos 2x)/2 and ∫_a^b e^{2ix} φ(x; μ, s) dx = e^{2iμ − 2s²}[Φ(β − 2is) − Φ(α − 2is)],
    α = (a − μ)/s, β = (b − μ)/s, with Φ of a complex argument (scipy ``ndtr``)."""
    from scipy.special import ndtr

    pos = s > 0
    ss = np.where(pos, s, 1.0)
    a = (0.0 - mu) / ss
    b = (_HALF_PI - mu) / ss
    shift = 2j * ss
    cos_part = np.real(np.exp(2j * mu - 2.0 * ss**2) * (ndtr(b - shift) - ndtr(a - shift)))
    val = 0.5 * (ndtr(b) - ndtr(a)) - 0.5 * cos_part
    if tails == "clip":
        val = val + ndtr(-b)
    inside = (mu >= 0) & (mu <= _HALF_PI)
    at_point = np.where(inside, np.sin(mu) ** 2, 1.0 if tails == "clip" else 0.0)
    if tails == "clip":
        at_point = np.where(mu < 0, 0.0, at_point)
    return np.where(pos, val, at_point)


@functools.cache
def _gauss_hermite(n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) for E[f(Z)], Z ~ N(0, 1) (computed once, on first use)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


def _expit_normal(mu: np.ndarray, s: np.ndarray) -> np.ndarray:
    """E[expit(θ)], θ ~ N(μ, s²), by 96-point Gauss–Hermite quadrature (exact for s = 0); summed
    node by node so that memory stays that of ``mu``."""
    out = np.zeros(np.broadcast_shapes(mu.shape, s.shape))
    for x, w in zip(*_gauss_hermite(), strict=True):
        out += w * _expit(mu + s * x)
    return out


def back_transform(
    transform: str,
    estimate: Any,
    sigma2: float | np.ndarray,
    gamma: Any,
    *,
    method: str = "bc",
    mse: Any = None,
    tails: str = "clip",
) -> np.ndarray:
    """Carry EBLUPs θ̂ (transformed scale) back to the original scale (module docstring).

    ``transform`` ``"arcsine"``, ``"logit"`` or ``"log"``; ``gamma`` the shrinkage factors (0 for
    areas with no sample); ``method`` ``"naive"``, ``"bc"`` or (log only) ``"crude"``, which needs
    ``mse`` (the transformed-scale MSE). Vectorised over areas (and any leading replicate axis;
    ``sigma2`` may then be an array broadcasting against ``estimate``).
    """
    th = np.asarray(estimate, dtype=float)
    g = np.asarray(gamma, dtype=float)
    if transform not in ("arcsine", "logit", "log"):
        raise ModelError(
            "Unknown transformation.",
            code="unknown_option",
            column="transform",
            got=transform,
            expected=("arcsine", "logit", "log"),
            fix=("use ", opt("transform", "arcsine")),
        )
    allowed = ("naive", "bc", "crude") if transform == "log" else ("naive", "bc")
    if method not in allowed:
        raise ModelError(
            "Unknown back-transformation.",
            code="unknown_option",
            column="method",
            got=method,
            expected=allowed,
            fix=("use ", opt("method", "bc")),
        )
    if tails not in ("emdi", "clip"):
        raise ModelError(
            "Unknown treatment of the tails.",
            code="unknown_option",
            column="tails",
            got=tails,
            expected=("emdi", "clip"),
            fix=("use ", opt("tails", "clip")),
        )
    s2 = np.maximum(sigma2 * (1.0 - g), 0.0)
    if transform == "arcsine":
        if method == "naive":
            return np.sin(np.clip(th, 0.0, _HALF_PI)) ** 2
        return _sin2_normal(th, np.sqrt(s2), tails)
    if transform == "logit":
        if method == "naive":
            return _expit(th)
        return _expit_normal(th, np.sqrt(s2))
    if method == "naive":
        return np.exp(th)
    if method == "bc":
        return np.exp(th + 0.5 * s2)
    if mse is None:
        raise ModelError(
            "The crude log back-transformation needs the MSE on the log scale.",
            code="missing_mse",
            fix=("pass ", opt("mse")),
        )
    return np.exp(th + 0.5 * np.asarray(mse, dtype=float))


# --- MSE on the original scale ------------------------------------------------------------------


def mse_log_crude(estimate: Any, mse: Any) -> np.ndarray:
    """exp(θ̂_i + MSE_i/2)² · MSE_i (Rao 2003 p. 133; emdi ``bc_crude``), every area."""
    th = vector(estimate, "estimate")
    ms = vector(mse, "mse", th.shape[0])
    return np.exp(th + 0.5 * ms) ** 2 * ms


def mse_log_slud_maiti(fit: FHFit, X: Any, psi: Any, in_sample: Any) -> np.ndarray:
    """MSE of the Slud–Maiti back-transformed EBLUP exp(θ̂_i + σ̂²(1 − γ_i)/2) (Slud & Maiti 2006,
    Theorem 2; the expression of emdi's ``slud_maiti``), for the sampled areas; NaN elsewhere.

    With ν_i = x_iᵀβ̂, τ_i = σ̂² + ψ_i, γ_i = σ̂²/τ_i, ε_i = exp(−γ_i ψ_i), h_i = x_iᵀQx_i,
    Q = (Xᵀ V⁻¹ X)⁻¹, V̄ = 2 / Σ_j τ_j⁻², S = Σ_j h_j / τ_j², ρ_i = ψ_i² / τ_i²,
    E_i = exp(2(ν_i + σ̂²)), F_i = exp(2ν_i + σ̂²(1 + γ_i)):

    MSE_i = E_i(1 − ε_i) + ρ_i F_i h_i + V̄ ρ_i F_i [(1 + 3γ_i)²/4 + 1/τ_i]
            − E_i [2(1 − ε_i) h_i − V̄ (2 + (ρ_i − 2) ε_i) S
                   + V̄ (2 + (2ρ_i − 2) ε_i − (ψ_i²/τ_i³) ε_i (1 + ψ_i²/(2τ_i)))].
    """
    pv = vector(psi, "psi", allow_nan=True)
    M = pv.shape[0]
    Xm = as_design(X, M)
    check_ncols(Xm, fit.beta.shape[0])
    inside = as_mask(in_sample, M)
    Xs, ps = Xm[inside], pv[inside]
    s2 = fit.sigma2
    tau = s2 + ps
    gam = s2 / tau
    nu = Xs @ fit.beta
    Q = np.linalg.inv(Xs.T @ (Xs / tau[:, None]))
    h = np.einsum("ij,jk,ik->i", Xs, Q, Xs)
    vbar = 2.0 / np.sum(tau**-2)
    S = np.sum(h / tau**2)
    eps = np.exp(-gam * ps)
    rho = ps**2 / tau**2
    E = np.exp(2.0 * (nu + s2))
    F = np.exp(2.0 * nu + s2 * (1.0 + gam))
    bracket = (
        2.0 * (1.0 - eps) * h
        - vbar * (2.0 + (rho - 2.0) * eps) * S
        + vbar * (2.0 + (2.0 * rho - 2.0) * eps - (ps**2 / tau**3) * eps * (1.0 + ps**2 / (2.0 * tau)))
    )
    mse = (
        E * (1.0 - eps)
        + rho * F * h
        + vbar * rho * F * (0.25 * (1.0 + 3.0 * gam) ** 2 + 1.0 / tau)
        - E * bracket
    )
    out = np.full(M, np.nan)
    out[inside] = mse
    return out


def _truth(transform: str, theta: np.ndarray) -> np.ndarray:
    if transform == "arcsine":
        return np.sin(np.clip(theta, 0.0, _HALF_PI)) ** 2
    return _expit(theta)


_BLOCK = 100


def mse_back_bootstrap(
    fit: FHFit,
    X: Any,
    psi: Any,
    in_sample: Any,
    transform: str,
    *,
    method: str = "bc",
    B: int = 200,
    seed: int | None = None,
    tails: str = "clip",
    return_replicates: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parametric bootstrap MSE on the original scale of back-transformed arcsine/logit EBLUPs.

    For b = 1..B: v*_i ~ N(0, σ̂²) for every area, e*_i ~ N(0, ψ_i) for the sampled ones; true
    value h⁻¹(x_iᵀβ̂ + v*_i) (arcsine truncated to [0, π/2]); y*_i = x_iᵀβ̂ + v*_i + e*_i; σ̂²* by the
    fit's method (Fisher scoring with its tol/maxiter; a replicate that does not converge is redrawn,
    up to 20 times); EBLUP (synthetic out of sample); back-transformed with ``method`` and
    σ̂²*(1 − γ̂*). MSE_i = mean_b (back_bi − true_bi)². As emdi ``boot_arcsin_2``/``boot_logit``
    (which refit by ``optimize`` in an interval and back-transform unsampled areas naively).

    Replicates are fitted together in blocks of 100; block k draws from the k-th child of
    ``numpy.random.SeedSequence(seed)``, so the result depends only on ``seed`` and ``B``. With
    ``return_replicates`` also the (B, M) arrays (back-transformed estimates, true values), e.g. for
    :func:`carepop.sae.benchmark.benchmark_mse_bootstrap`.
    """
    if transform not in ("arcsine", "logit"):
        raise ModelError(
            "The bootstrap MSE is for the arcsine and logit transformations.",
            code="unknown_option",
            column="transform",
            got=transform,
            expected=("arcsine", "logit"),
            fix="for the log use mse_log_slud_maiti or mse_log_crude",
        )
    if method not in ("naive", "bc"):
        raise ModelError(
            "Unknown back-transformation.",
            code="unknown_option",
            column="method",
            got=method,
            expected=("naive", "bc"),
            fix=("use ", opt("method", "bc")),
        )
    if tails not in ("emdi", "clip"):
        raise ModelError(
            "Unknown treatment of the tails.",
            code="unknown_option",
            column="tails",
            got=tails,
            expected=("emdi", "clip"),
            fix=("use ", opt("tails", "clip")),
        )
    pv = vector(psi, "psi", allow_nan=True)
    M = pv.shape[0]
    Xm = as_design(X, M)
    check_ncols(Xm, fit.beta.shape[0])
    inside = as_mask(in_sample, M)
    require(
        inside & ~(pv > 0),
        "psi",
        "sampled areas need a positive sampling variance",
        code="bad_psi",
        expected="psi > 0",
        fix="check the sampling variances",
        values=pv,
    )
    if int(B) < 1:
        raise ModelError("B must be at least 1.", code="bad_control", column="B", got=B, fix="use e.g. B=200")
    B = int(B)
    Xs, ps = Xm[inside], pv[inside]
    Xo = outer_rows(Xs)
    m = Xs.shape[0]
    mean_all = Xm @ fit.beta
    sd_u, sd_e = np.sqrt(fit.sigma2), np.sqrt(ps)
    children = np.random.SeedSequence(seed).spawn(-(-B // _BLOCK))
    sum_sq = np.zeros(M)
    keep_back, keep_truth = [], []
    for k, child in enumerate(children):
        nb = min(_BLOCK, B - k * _BLOCK)
        rng = np.random.default_rng(child)
        U = rng.standard_normal((nb, M)) * sd_u
        E = rng.standard_normal((nb, m)) * sd_e
        ys = mean_all[inside] + U[:, inside] + E
        A, _, conv = fisher_scoring(fit.method, ys, Xs, ps, maxiter=fit.maxiter, tol=fit.tol)
        for _ in range(20):
            if conv.all():
                break
            bad = np.flatnonzero(~conv)
            U[bad] = rng.standard_normal((bad.size, M)) * sd_u
            E[bad] = rng.standard_normal((bad.size, m)) * sd_e
            ys[bad] = mean_all[inside] + U[bad][:, inside] + E[bad]
            a2, _, c2 = fisher_scoring(fit.method, ys[bad], Xs, ps, maxiter=fit.maxiter, tol=fit.tol)
            A[bad], conv[bad] = a2, c2
        if not conv.all():
            raise ModelError(
                f"{int((~conv).sum())} bootstrap replicate(s) did not converge after 20 redraws.",
                code="bootstrap_not_converged",
                fix=("refit with a larger ", opt("maxiter"), " or a looser ", opt("tol")),
            )
        A = np.maximum(A, 0.0)
        W, _, beta_b, R = gls(A, ys, Xs, Xo, ps)
        est = beta_b @ Xm.T  # (nb, M), synthetic
        gam = np.zeros((nb, M))
        gam[:, inside] = A[:, None] * W
        est[:, inside] = ys - W * ps[None, :] * R
        back = back_transform(transform, est, A[:, None], gam, method=method, tails=tails)
        truth = _truth(transform, mean_all + U)
        sum_sq += ((back - truth) ** 2).sum(axis=0)
        if return_replicates:
            keep_back.append(back)
            keep_truth.append(truth)
    mse = sum_sq / B
    if return_replicates:
        return mse, np.concatenate(keep_back), np.concatenate(keep_truth)
    return mse


# --- the whole route ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TransformedFH:
    """A FH fit on a transformed scale, carried back.

    ``estimate``/``mse`` on the original scale (aligned with the input areas; MSE NaN where the
    chosen MSE is not defined, e.g. Slud–Maiti out of sample); ``fit`` the FH fit on the transformed
    scale, ``estimate_transformed``/``gamma``/``psi_transformed`` its EBLUP, shrinkage and sampling
    variances; ``record`` the choices (for the run manifest)."""

    estimate: np.ndarray
    mse: np.ndarray | None
    fit: FHFit
    estimate_transformed: np.ndarray
    gamma: np.ndarray
    psi_transformed: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def fh_transformed(
    direct: Any,
    X: Any,
    transform: str,
    *,
    var: Any = None,
    n_eff: Any = None,
    method: str = "reml",
    back: str = "bc",
    mse: str | None = None,
    B: int = 200,
    seed: int | None = None,
    tails: str = "clip",
    maxiter: int = 100,
    tol: float = 1e-4,
) -> TransformedFH:
    """Transform, fit FH, back-transform and (optionally) estimate the MSE on the original scale.

    ``transform`` ``"arcsine"`` (needs ``n_eff``), ``"logit"`` or ``"log"`` (need ``var``, the
    direct variances). ``back`` as :func:`back_transform`. ``mse``: None, ``"bootstrap"``
    (arcsine/logit), ``"sm"`` (log, Slud–Maiti, sampled areas) or ``"crude"`` (log).
    R (emdi): ``fh(fixed, vardir, combined_data, transformation = "arcsin", backtransformation = "bc",
    eff_smpsize = "n", MSE = TRUE, mse_type = "boot", B = 200)``.
    """
    if transform == "arcsine":
        if n_eff is None:
            raise ModelError(
                "The arcsine transformation needs the effective sample sizes.",
                code="missing_n",
                fix=("pass ", opt("n_eff")),
            )
        y, psi = arcsine_transform(direct, n_eff)
    elif transform in ("logit", "log"):
        if var is None:
            raise ModelError(
                f"The {transform} transformation needs the direct variances.",
                code="missing_var",
                fix=("pass ", opt("var")),
            )
        y, psi = logit_transform(direct, var) if transform == "logit" else log_transform(direct, var)
    else:
        raise ModelError(
            "Unknown transformation.",
            code="unknown_option",
            column="transform",
            got=transform,
            expected=("arcsine", "logit", "log"),
            fix=("use ", opt("transform", "arcsine")),
        )
    fit = fit_fay_herriot(y, X, psi, method, maxiter=maxiter, tol=tol)  # type: ignore[arg-type]
    est_t, gamma = eblup(fit, y, X, psi)
    inside = fit.in_sample
    psi_f = np.where(inside, psi, 1.0)
    mse_t = None
    if mse == "crude" or back == "crude":
        mse_t = mse_analytic(fit, X, psi_f, inside)
    est = back_transform(transform, est_t, fit.sigma2, gamma, method=back, mse=mse_t, tails=tails)
    out_mse = None
    if mse is None:
        pass
    elif mse == "bootstrap" and transform != "log":
        out_mse = mse_back_bootstrap(
            fit, X, psi_f, inside, transform, method=back, B=B, seed=seed, tails=tails
        )
    elif mse == "sm" and transform == "log":
        out_mse = mse_log_slud_maiti(fit, X, psi_f, inside)
    elif mse == "crude" and transform == "log":
        out_mse = mse_log_crude(est_t, mse_t)
    else:
        ok = "'sm' or 'crude'" if transform == "log" else "'bootstrap'"
        raise ModelError(
            f"MSE method {mse!r} does not apply to the {transform} transformation.",
            code="bad_option",
            column="mse",
            got=mse,
            fix=f"use mse={ok}",
        )
    record = {
        "transform": transform,
        "back": back,
        "tails": tails if transform == "arcsine" else None,
        "fh_method": fit.method,
        "sigma2": fit.sigma2,
        "mse": mse,
        "bootstrap": {"B": B, "seed": seed} if mse == "bootstrap" else None,
    }
    return TransformedFH(est, out_mse, fit, est_t, gamma, np.where(inside, psi, np.nan), record)
