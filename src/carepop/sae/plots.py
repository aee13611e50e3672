"""Plots of the FH diagnostics (:mod:`carepop.sae.diagnostics`), as matplotlib Figures.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no display, no
global state; ``fig.savefig("x.png")`` renders with Agg). matplotlib is imported inside the
functions, so importing carepop never loads it; it is needed only to draw. The plots follow emdi's
``plot.fh`` (normal Q–Q plots of the standardised residuals and random effects) and
``compare_plot.fh`` (direct against model estimates, CVs by area ordered by sample size).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from carepop.sae._postcheck import vector

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from carepop.sae.diagnostics import FHDiagnostics

__all__ = [
    "diagnostics_figures",
    "plot_cv",
    "plot_direct_vs_model",
    "plot_residuals",
    "plot_shrinkage",
]


def _figure(width: float = 6.0, height: float = 4.5) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("carepop's SAE plots need matplotlib: pip install matplotlib") from exc
    return Figure(figsize=(width, height), layout="constrained")


def _ppoints(n: int) -> np.ndarray:
    """R ``ppoints(n)``: (i − a)/(n + 1 − 2a), a = 3/8 for n ≤ 10, else 1/2."""
    a = 0.375 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def _qq(ax: Any, x: np.ndarray, title: str) -> None:
    from scipy.stats import norm

    v = np.sort(x[~np.isnan(x)])
    q = norm.ppf(_ppoints(v.shape[0]))
    ax.scatter(q, v, s=12)
    if v.shape[0] >= 2:
        # R qqline: through the first and third quartiles
        y1, y3 = np.quantile(v, [0.25, 0.75])
        x1, x3 = norm.ppf([0.25, 0.75])
        slope = (y3 - y1) / (x3 - x1)
        ax.axline((x1, y1), slope=slope, color="grey", lw=1)
    ax.set_xlabel("Theoretical quantiles")
    ax.set_ylabel("Sample quantiles")
    ax.set_title(title)


def plot_residuals(std_residuals: Any, random_effects: Any = None) -> Figure:
    """Normal Q–Q plots of the standardised residuals (and of the random effects), with the line
    through the quartiles (R ``qqnorm``/``qqline``; emdi ``plot(fh)``)."""
    r = vector(std_residuals, "std_residuals", allow_nan=True)
    k = 1 if random_effects is None else 2
    fig = _figure(5.0 * k, 4.5)
    axes = fig.subplots(1, k, squeeze=False)[0]
    _qq(axes[0], r, "Standardised residuals")
    if random_effects is not None:
        _qq(axes[1], vector(random_effects, "random_effects", allow_nan=True), "Random effects")
    return fig


def plot_shrinkage(gamma: Any, psi: Any) -> Figure:
    """Shrinkage γ_i = σ²ᵥ/(σ²ᵥ + ψ_i) against the sampling variance ψ_i (log scale): the weight
    each area's direct estimate gets in its EBLUP."""
    g = vector(gamma, "gamma", allow_nan=True)
    p = vector(psi, "psi", g.shape[0], allow_nan=True)
    fig = _figure()
    ax = fig.subplots()
    ok = ~np.isnan(g) & (p > 0)
    ax.scatter(p[ok], g[ok], s=12)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Sampling variance ψ")
    ax.set_ylabel("Shrinkage γ (weight of the direct estimate)")
    return fig


def plot_direct_vs_model(direct: Any, estimate: Any) -> Figure:
    """Model estimates against direct estimates with the line y = x and a least-squares line
    (emdi ``compare_plot``)."""
    y = vector(direct, "direct", allow_nan=True)
    e = vector(estimate, "estimate", y.shape[0], allow_nan=True)
    ok = ~np.isnan(y) & ~np.isnan(e)
    fig = _figure()
    ax = fig.subplots()
    ax.scatter(y[ok], e[ok], s=12)
    if ok.any():
        lo, hi = float(min(y[ok].min(), e[ok].min())), float(max(y[ok].max(), e[ok].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, label="y = x")
        if ok.sum() >= 2:
            b, a = np.polyfit(y[ok], e[ok], 1)
            ax.plot([lo, hi], [a + b * lo, a + b * hi], color="C1", lw=1, ls="--", label="fit")
        ax.legend()
    ax.set_xlabel("Direct estimate")
    ax.set_ylabel("Model estimate")
    return fig


def plot_cv(cv_direct: Any, cv_model: Any, n: Any = None) -> Figure:
    """CVs of the direct and model estimates by area, ordered by sample size ``n`` (or by the
    direct CV, decreasing, without ``n``); an infinite CV (estimate 0) is left out."""
    # an infinite CV (a direct estimate of 0) is not drawn
    cd = np.asarray(cv_direct, dtype=float)
    cd = vector(np.where(np.isinf(cd), np.nan, cd), "cv_direct", allow_nan=True)
    cm = np.asarray(cv_model, dtype=float)
    cm = vector(np.where(np.isinf(cm), np.nan, cm), "cv_model", cd.shape[0], allow_nan=True)
    order = (
        np.argsort(vector(n, "n", cd.shape[0], allow_nan=True), kind="stable")
        if n is not None
        else np.argsort(-np.nan_to_num(cd, nan=-np.inf), kind="stable")
    )
    fig = _figure(7.0, 4.5)
    ax = fig.subplots()
    x = np.arange(1, cd.shape[0] + 1)
    ax.plot(x, cd[order], marker="o", ms=3, lw=0.8, label="Direct")
    ax.plot(x, cm[order], marker="o", ms=3, lw=0.8, label="Model")
    ax.set_xlabel("Areas ordered by sample size" if n is not None else "Areas ordered by direct CV")
    ax.set_ylabel("Coefficient of variation")
    ax.legend()
    return fig


def diagnostics_figures(
    diag: FHDiagnostics, direct: Any, estimate: Any, psi: Any, n: Any = None
) -> dict[str, Figure]:
    """Every diagnostic plot of one fit: ``residuals``, ``shrinkage``, ``direct_vs_model`` and
    (when the diagnostics have model CVs) ``cv``."""
    figs = {
        "residuals": plot_residuals(diag.std_residuals, diag.random_effects),
        "shrinkage": plot_shrinkage(diag.gamma, psi),
        "direct_vs_model": plot_direct_vs_model(direct, estimate),
    }
    if diag.cv_model is not None:
        figs["cv"] = plot_cv(diag.cv_direct, diag.cv_model, n)
    return figs
