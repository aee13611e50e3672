"""Calibration to population totals (R ``calibrate``; Deville & Särndal 1992).

Find g-weights ``g_i = 1 + F^-1(x_i' eta)`` so that the calibrated weights ``g d`` reproduce the
population totals ``T`` of the auxiliaries ``x`` (an intercept, one indicator per non-reference
category of each categorical variable, each numeric variable — R's ``model.matrix``), solving
``sum_i d_i x_i (1 + F^-1(x_i' eta)) = T`` by Newton's method as R's ``grake`` does. Distances:

- ``linear`` (GREG): ``F^-1(u) = u``, closed form ``g = 1 + x' (X'DX)^-1 (T - t)`` without bounds;
- ``raking``: ``F^-1(u) = exp(u) - 1``;
- ``logit`` with bounds ``(L, U)``: ``F^-1(u) = (L(U-1) + U(1-L) e^{Au}) / (U-1 + (1-L) e^{Au}) - 1``,
  ``A = (U-L)/((U-1)(1-L))``, so every g lies strictly inside ``(L, U)``.

``bounds`` with ``linear`` or ``raking`` truncate g as R does. Calibration that cannot reach the
totals (bounds too tight, empty categories) is an error, never silently unbounded.

Variance: the influence values are replaced by their residuals from the design-weighted
regression on ``x`` (R: ``qr.resid(qr(X sqrt(d)), x / (g sqrt(d))) * g sqrt(d)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from carepop.core import checks as chk
from carepop.core.estimation.calibration import CalStep
from carepop.core.survey import Survey
from carepop.weighting.margins import MarginError, check_grand_totals, match_margin, read_margin
from carepop.weighting.poststratify import _with_weights

CALFUNS = ("linear", "raking", "logit")
SOMETHRESHOLD = 20.0  # R grake: rescale weights when every total is over 20x the sample's


def calibrate(
    survey: Survey,
    population: Mapping[str, Any],
    *,
    calfun: str = "linear",
    bounds: tuple[float, float] | None = None,
    total: float | None = None,
    maxit: int = 50,
    epsilon: float = 1e-7,
    column: str = "weight_cal",
) -> Survey:
    """Calibrate to ``population``: ``{categorical variable: margin, numeric variable: total}``.

    ``total`` is the population size (the intercept's total); it defaults to the grand total of
    the categorical margins, which must agree. R:
    ``calibrate(design, ~v1 + v2, c(`(Intercept)` = N, ...), calfun=, bounds=)``.
    """
    if calfun not in CALFUNS:
        raise MarginError(
            f"Unknown calibration function {calfun!r}.",
            code="bad_option",
            fix=f"use one of {', '.join(CALFUNS)}",
        )
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if calfun == "logit" and not (np.isfinite(lower) and np.isfinite(upper) and lower < 1 < upper):
        raise MarginError(
            "Logit calibration needs finite bounds L < 1 < U.",
            code="bad_option",
            fix="e.g. bounds=(0.5, 2) (--bounds 0.5,2)",
        )
    if lower >= upper:
        raise MarginError(f"Bounds {bounds} are empty.", code="bad_option", fix="give L < U")
    X, T = model_matrix(survey, population, total)
    d = survey.weights
    if survey._rep is not None:
        g = grake(X, d, T, calfun, lower, upper, maxit, epsilon)
        reps = survey._rep.weights
        rg = np.column_stack(
            [grake(X, reps[:, r], T, calfun, lower, upper, maxit, epsilon) for r in range(reps.shape[1])]
        )
        return survey._derive(g * d, column, rep=_with_weights(survey._rep, reps * rg))
    g = grake(X, d, T, calfun, lower, upper, maxit, epsilon)
    # the residual projection does not depend on the scale of the columns: unit-scale them so
    # the (semi-)normal equations lose as little precision as possible
    Xs = X / np.sqrt((X**2 * d[:, None]).sum(axis=0))
    step = CalStep("greg", Xs * (g * d)[:, None], Xs / g[:, None], _inverse_gram(Xs, d))
    return survey._derive(g * d, column, steps=(step,))


def model_matrix(survey: Survey, population: Mapping[str, Any], total: float | None):
    """Auxiliary matrix (n, p) and population totals (p,) in R's ``model.matrix`` coding."""
    data = survey._data
    cols, totals, grand = [], [], {}
    n = data.shape[0]
    for var, pop in population.items():
        chk.check_columns(data, list(var) if isinstance(var, tuple) else [var], "calibration variable")
        numeric = not isinstance(pop, (Mapping, str)) and np.ndim(pop) == 0 and not isinstance(var, tuple)
        if numeric:
            v = chk.numeric_column(data, var, "a calibration variable")
            if np.isnan(v).any():
                raise MarginError(
                    f"Column {var!r} has missing values.",
                    code="missing_values",
                    column=var,
                    rows=list(np.flatnonzero(np.isnan(v))[:5] + 1),
                    fix="impute them before calibrating",
                )
            cols.append(v[:, None])
            totals.append(float(pop))
            continue
        codes, levels = survey._levels(var)
        t = match_margin(codes, levels, survey.value_labels.get(var), read_margin(pop, var), var)
        grand[var] = float(t.sum())
        ind = np.zeros((n, len(levels)))
        ind[np.arange(n), codes] = 1.0
        cols.append(ind[:, 1:])  # treatment coding: the first level is the reference
        totals.extend(t[1:])
    N = check_grand_totals(grand) if grand else None
    if total is not None:
        if N is not None and abs(N - total) > 1e-6 * abs(total):
            raise MarginError(
                f"total={total:,.6g} disagrees with the margins' total {N:,.6g}.",
                code="margins_disagree",
                fix="drop total= or fix the margins",
            )
        N = float(total)
    if N is None:
        raise MarginError(
            "The population size is unknown.",
            code="bad_margin",
            fix="give total= (the population size) or at least one categorical margin",
        )
    X = np.hstack([np.ones((data.shape[0], 1))] + cols)
    return X, np.array([N] + totals)


@np.errstate(over="ignore", invalid="ignore")
def _fm1(u, calfun, lo, up):
    if calfun == "linear":
        return np.minimum(np.maximum(u + 1, lo), up) - 1
    if calfun == "raking":
        return np.minimum(np.maximum(np.exp(u), lo), up) - 1
    A = (up - lo) / ((up - 1) * (1 - lo))
    e = np.exp(A * u)
    return (lo * (up - 1) + up * (1 - lo) * e) / (up - 1 + (1 - lo) * e) - 1


@np.errstate(over="ignore", invalid="ignore")
def _df(u, calfun, lo, up):
    if calfun == "linear":
        return ((u < up - 1) & (u > lo - 1)).astype(float)
    if calfun == "raking":
        return np.where((u < up - 1) & (u > lo - 1), np.exp(u), 0.0)
    A = (up - lo) / ((up - 1) * (1 - lo))
    e = np.exp(A * u)
    den = up - 1 + (1 - lo) * e
    return up * (1 - lo) * e * A / den - ((lo * (up - 1) + up * (1 - lo) * e) * ((1 - lo) * e * A)) / den**2


def grake(X, d, T, calfun, lo, up, maxit=50, epsilon=1e-7) -> np.ndarray:
    """g-weights by R's ``grake`` Newton iteration (closed form for unbounded linear)."""
    t = X.T @ d
    if calfun == "linear" and not (np.isfinite(lo) or np.isfinite(up)):
        # R regcalibrate: g = 1 + X solve(X'DX, T - t)
        XtDX = X.T @ (X * d[:, None])
        try:
            eta = np.linalg.solve(XtDX, T - t)
        except np.linalg.LinAlgError:
            raise _singular() from None
        return 1 + X @ eta
    scale = None
    scales = T / np.where(t == 0, np.nan, t)
    if np.nanmin(scales) > SOMETHRESHOLD:
        scale = float(np.nanmean(scales))
        d = d * scale
        t = t * scale
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    it = 1
    while True:
        deriv = _df(xeta, calfun, lo, up)
        Tmat = (X * (d * deriv)[:, None]).T @ X
        misfit = T - t - X.T @ (d * _fm1(xeta, calfun, lo, up))
        deta = np.linalg.pinv(Tmat, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + deta
        xeta = X @ eta
        g = 1 + _fm1(xeta, calfun, lo, up)
        deriv = _df(xeta, calfun, lo, up)
        while it < maxit and not (np.isfinite(g).all() and np.isfinite(deriv).all()):
            it += 1
            deta = deta / 2
            eta = eta - deta
            xeta = X @ eta
            g = 1 + _fm1(xeta, calfun, lo, up)
            deriv = _df(xeta, calfun, lo, up)
        misfit = T - t - X.T @ (d * _fm1(xeta, calfun, lo, up))
        achieved = float(np.max(np.abs(misfit) / (1 + np.abs(T))))
        if achieved < epsilon:
            break
        it += 1
        if it > maxit:
            raise MarginError(
                f"Calibration ({calfun}) did not reach the totals in {maxit} iterations "
                f"(relative misfit {achieved:.3g}).",
                code="calibration_failed",
                fix="the bounds may be too tight for these totals: widen them, or check that the "
                "totals are consistent with the sample",
            )
    if scale is not None:
        g = g * scale
    return g


def _inverse_gram(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``(X' D X)^-1`` through the QR decomposition of ``sqrt(d) X`` (as R's ``qr``), which keeps
    the precision that forming ``X' D X`` would lose for badly scaled columns."""
    R = np.linalg.qr(X * np.sqrt(d)[:, None], mode="r")
    Rinv = np.linalg.pinv(R)
    return Rinv @ Rinv.T


def _singular() -> MarginError:
    return MarginError(
        "The calibration variables are collinear in the sample (or a category has no respondent).",
        code="calibration_failed",
        fix="drop a redundant variable or collapse empty categories",
    )
