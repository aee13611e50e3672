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
totals (bounds too tight, empty categories) is an error, never silently unbounded; ``force=True``
keeps the last weights of an unconverged calibration with a warning instead.

Variance: the influence values are replaced by their residuals from the design-weighted
regression on ``x`` (R: ``qr.resid(qr(X sqrt(d)), x / (g sqrt(d))) * g sqrt(d)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from carepop.core.estimation.calibration import CalStep
from carepop.core.estimation.repweights import joint_codes
from carepop.core.progress import progress
from carepop.core.survey import Survey
from carepop.core.vocabulary import CalFun, choose
from carepop.errors import opt
from carepop.weighting.margins import MarginError, check_grand_totals, match_margin, read_margin
from carepop.weighting.rake import check_control
from carepop.weighting.redo import redo_in_replicates

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
    force: bool = False,
    harmonise: bool = False,
    column: str = "weight_cal",
) -> Survey:
    """Calibrate to ``population``: ``{categorical variable: margin, numeric variable: total}``.

    ``total`` is the population size (the intercept's total); it defaults to the grand total of
    the categorical margins, which must agree. ``harmonise=True`` scales every categorical
    margin to the first one's total (or to ``total`` when given), as :func:`rake` does for
    margins that differ only by rounding or perturbation. R:
    ``calibrate(design, ~v1 + v2, c(`(Intercept)` = N, ...), calfun=, bounds=,
    maxit=, epsilon=)``. Not reaching the totals within ``epsilon`` in ``maxit`` Newton steps is
    an error, or with ``force=True`` a warning that keeps the last weights. Replicate designs:
    every replicate is calibrated the same way.
    """
    calfun = choose(calfun, CalFun, "calfun", "calibration function")
    check_control(maxit, epsilon)
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if calfun == "logit" and not (np.isfinite(lower) and np.isfinite(upper) and lower < 1 < upper):
        raise MarginError(
            "Logit calibration needs finite bounds L < 1 < U.",
            code="bad_option",
            got=bounds,
            expected="finite L < 1 < U",
            fix=("give ", opt("bounds", metavar="L,U"), " with L < 1 < U, e.g. 0.5 and 2"),
        )
    if lower >= upper:
        raise MarginError(
            f"Bounds {bounds} are empty.",
            code="bad_option",
            got=bounds,
            expected="L < U",
            fix=("give ", opt("bounds", metavar="L,U"), " with L < U"),
        )
    X, T, terms = model_matrix(survey, population, total, harmonise)
    d = survey.weights
    fit = grake(X, d, T, calfun, lower, upper, maxit, epsilon)
    if not fit.converged:
        _not_reached(fit, terms, calfun, maxit, epsilon, force, "")
        text = _unconverged_text(fit, terms, calfun, maxit, epsilon, "")
        warnings.warn(text + " The last weights are kept, as forced.", UserWarning, stacklevel=2)
    g = fit.g
    if survey.is_replicate:
        unconverged: list[int] = []

        def refit(X_: np.ndarray, rw: np.ndarray, r: int) -> np.ndarray:
            rfit = grake(X_, rw, T, calfun, lower, upper, maxit, epsilon)
            if not rfit.converged:
                _not_reached(rfit, terms, calfun, maxit, epsilon, force, f" in replicate {r + 1}")
                unconverged.append(r + 1)
            return rfit.g

        cells = _cells(survey, population)
        store = survey.replicate_design.store
        if cells is not None:
            # categorical margins only: g is constant within the cells of the margin variables,
            # so each replicate is calibrated on its cell totals and the replicate weights keep
            # their compact form (a factor per cell and replicate)
            cell, first = cells
            sums = store.domain_totals(cell, first.shape[0])[:, :, 0]  # (R, cells)
            with progress(f"calibration in {sums.shape[0]} replicates", total=sums.shape[0]) as advance:
                g_cells = np.empty((first.shape[0], sums.shape[0]))
                for r in range(sums.shape[0]):  # a loop over replicates, each on the cells
                    g_cells[:, r] = refit(X[first], sums[r], r)
                    advance()
            reps = store.times_cells(cell, g_cells)
        else:
            reps = redo_in_replicates(survey, lambda rw, r: rw * refit(X, rw, r), "calibration")
        if unconverged:
            warnings.warn(
                f"Calibration ({calfun}) stopped unconverged after {maxit} iterations in "
                f"{len(unconverged)} replicate(s) (e.g. replicate {unconverged[0]}); their last "
                "weights are kept, as forced.",
                UserWarning,
                stacklevel=2,
            )
        return survey.adjusted(g * d, column=column, method="calibrate", replicate_weights=reps)
    # the residual projection does not depend on the scale of the columns: unit-scale them so
    # the (semi-)normal equations lose as little precision as possible
    Xs = X / np.sqrt((X**2 * d[:, None]).sum(axis=0))
    step = CalStep("greg", Xs * (g * d)[:, None], Xs / g[:, None], _inverse_gram(Xs, d))
    return survey.adjusted(g * d, column=column, method="calibrate", steps=(step,))


def model_matrix(
    survey: Survey, population: Mapping[str, Any], total: float | None, harmonise: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Auxiliary matrix (n, p), population totals (p,) and the p terms' names, in R's
    ``model.matrix`` coding (``(Intercept)``, ``stypeH``, ``api99``, ...)."""
    cols, totals, grand, names = [], [], {}, ["(Intercept)"]
    n = survey.n_rows
    cat: list[tuple[str, np.ndarray, int, np.ndarray]] = []
    for var, pop in population.items():
        numeric = not isinstance(pop, (Mapping, str)) and np.ndim(pop) == 0 and not isinstance(var, tuple)
        if numeric:
            v = survey.numeric(var, "a calibration variable", "calibration variable")
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
            names.append(str(var))
            continue
        codes, levels = survey.factor(var, "calibration variable")
        t = match_margin(codes, levels, survey.value_labels.get(var), read_margin(pop, var), var)
        grand[var] = float(t.sum())
        ind = np.zeros((n, len(levels)))
        ind[np.arange(n), codes] = 1.0
        cols.append(ind[:, 1:])  # treatment coding: the first level is the reference
        cat.append((var, codes, len(totals), t))
        totals.extend(t[1:])
        names.extend(
            f"{_term(var)}{_term(survey.label(var, lev) if isinstance(var, str) else lev)}"
            for lev in levels[1:]
        )
    if grand and harmonise:
        target = float(total) if total is not None else next(iter(grand.values()))
        for var, _, at, t in cat:
            scaled = t * target / t.sum()
            totals[at : at + len(t) - 1] = scaled[1:]
            grand[var] = target
    N = check_grand_totals(grand) if grand else None
    if total is not None:
        if N is not None and abs(N - total) > 1e-6 * abs(total):
            raise MarginError(
                f"The population size {total:,.6g} disagrees with the margins' total {N:,.6g}.",
                code="margins_disagree",
                got=total,
                expected=N,
                fix=(
                    "leave out ",
                    opt("total", metavar="N"),
                    ", fix the margins, or ",
                    opt("harmonise", True),
                    " to scale every margin to it",
                ),
            )
        N = float(total)
    if N is None:
        raise MarginError(
            "The population size is unknown.",
            code="bad_margin",
            fix=(
                "give ",
                opt("total", metavar="N"),
                " (the population size) or at least one categorical margin",
            ),
        )
    X = np.hstack([np.ones((n, 1))] + cols)
    return X, np.array([N] + totals), names


def _cells(survey: Survey, population: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """With categorical margins only: the cell of each row (combination of the margin variables)
    and the first row of each cell; None when a numeric total makes g vary within cells."""
    codes, sizes = [], []
    for var, pop in population.items():
        if not isinstance(pop, (Mapping, str)) and np.ndim(pop) == 0 and not isinstance(var, tuple):
            return None
        c, levels = survey.factor(var, "calibration variable")
        codes.append(c)
        sizes.append(len(levels))
    cell, _ = joint_codes(codes, sizes)
    n_cells = int(cell.max()) + 1
    first = np.full(n_cells, -1, dtype=np.int64)
    first[cell[::-1]] = np.arange(cell.shape[0] - 1, -1, -1)
    return cell, first


def _term(v: Any) -> str:
    return ":".join(map(str, v)) if isinstance(v, tuple) else str(v)


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


class Fit(NamedTuple):
    """The result of :func:`grake`: g-weights, whether they reach the totals within the
    tolerance, the largest relative misfit and the auxiliary total it belongs to (0: the
    population size)."""

    g: np.ndarray
    converged: bool
    misfit: float
    worst: int


def grake(X, d, T, calfun, lo, up, maxit=50, epsilon=1e-7) -> Fit:
    """g-weights by R's ``grake`` Newton iteration (closed form for unbounded linear); after
    ``maxit`` steps without reaching the totals within ``epsilon`` (relative misfit, R's) the
    last g-weights are returned, not converged."""
    t = X.T @ d
    if calfun == "linear" and not (np.isfinite(lo) or np.isfinite(up)):
        # R regcalibrate: g = 1 + X solve(X'DX, T - t)
        XtDX = X.T @ (X * d[:, None])
        try:
            eta = np.linalg.solve(XtDX, T - t)
        except np.linalg.LinAlgError:
            raise _singular() from None
        return Fit(1 + X @ eta, True, 0.0, 0)
    scale = None
    scales = T / np.where(t == 0, np.nan, t)
    if np.nanmin(scales) > SOMETHRESHOLD:
        scale = float(np.nanmean(scales))
        d = d * scale
        t = t * scale
    eta = np.zeros(X.shape[1])
    xeta = X @ eta
    it = 1
    converged = False
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
        relative = np.abs(misfit) / (1 + np.abs(T))
        achieved = float(np.max(relative))
        if achieved < epsilon:
            converged = True
            break
        it += 1
        if it > maxit:
            break
    if scale is not None:
        g = g * scale
    return Fit(g, converged, achieved, int(np.nanargmax(relative)) if np.isfinite(relative).any() else 0)


def _unconverged_text(fit: Fit, terms: list[str], calfun: str, maxit: int, epsilon: float, where: str) -> str:
    head = f"Calibration ({calfun}) did not reach the totals in {maxit} iterations{where}: "
    if not np.isfinite(fit.misfit):
        return head + "the Newton steps diverged (the g-weights are not finite numbers)."
    term = "the population size" if fit.worst == 0 else f"the total of {terms[fit.worst]!r}"
    return head + f"the relative misfit of {term} is {fit.misfit:.3g} (tolerance {epsilon:g})."


def _not_reached(
    fit: Fit, terms: list[str], calfun: str, maxit: int, epsilon: float, force: bool, where: str
) -> None:
    """An unconverged calibration is an error unless ``force`` (and its weights are numbers)."""
    if force and np.isfinite(fit.g).all():
        return
    raise MarginError(
        _unconverged_text(fit, terms, calfun, maxit, epsilon, where),
        code="calibration_failed",
        got=fit.misfit if np.isfinite(fit.misfit) else None,
        expected=f"a relative misfit below {epsilon:g}",
        fix=(
            "the bounds may be too tight for these totals: widen ",
            opt("bounds", metavar="L,U"),
            ", raise ",
            opt("maxit", metavar="N"),
            " or loosen ",
            opt("epsilon", metavar="E"),
            ", or check that the totals fit the sample; ",
            opt("force", True),
            " keeps the last weights with a warning",
        ),
    )


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
