"""Raking (iterative proportional fitting) to several margins (R ``rake``).

Starting from the current (design) weights, each pass post-stratifies to every margin in turn;
passes repeat until the weighted cross-table of all margin variables changes by less than
``epsilon`` between passes (R's default 1 unit; values below 1 are a fraction of the weight
total) or ``maxit`` passes (R's default 10) have run. Not converging is an error naming the
margin furthest from its totals; ``force=True`` keeps the last weights with a warning instead.
Replicate designs: every replicate is raked the same way (to the same tolerance).

Variance: as R, the influence values are swept ten times through the margins,
``x <- x - w_m ave_m(x / w_m)`` with ``w_m`` the weights right after margin m in the last pass and
``ave_m`` the plain mean within each category of margin m. That sweep is linear, so it is a
:class:`~carepop.core.estimation.calibration.CalStep` whose matrix ``K`` is the sweep run on the
identity.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from carepop.core.estimation.calibration import Block, CalStep
from carepop.core.survey import Survey
from carepop.errors import opt
from carepop.weighting.margins import MarginError, check_grand_totals, match_margin, read_margin
from carepop.weighting.redo import redo_in_replicates

R_SWEEPS = 10  # R survey:::svyrecvar sweeps a raking adjustment ten times


def rake(
    survey: Survey,
    margins: Mapping[str, Any],
    *,
    maxit: int = 10,
    epsilon: float = 1.0,
    force: bool = False,
    harmonise: bool = False,
    column: str = "weight_rake",
) -> Survey:
    """Rake ``survey``'s weights to ``margins`` ``{variable: population margin}``.

    R: ``rake(design, list(~v1, ~v2), list(pop1, pop2), control = list(maxit=, epsilon=))``.
    ``harmonise=True`` scales every margin to the first margin's total (for margins, such as
    census tables, that differ only by rounding or perturbation); otherwise they must agree.
    Not converging in ``maxit`` passes is an error, or with ``force=True`` a warning that keeps
    the last pass's weights. Replicate designs: every replicate is raked the same way.
    """
    check_control(maxit, epsilon)
    if not margins:
        raise MarginError("No margins to rake to.", code="bad_margin", fix="give {variable: margin}")
    codes, totals = [], {}
    for var, pop in margins.items():
        c, levels = survey.factor(var)
        t = match_margin(c, levels, survey.value_labels.get(var), read_margin(pop, var), var)
        codes.append((var, c, levels, t))
        totals[var] = float(t.sum())
    if harmonise:
        first = next(iter(totals.values()))
        codes = [(v, c, lv, t * first / t.sum()) for v, c, lv, t in codes]
    else:
        check_grand_totals(totals)

    new, psw, converged, it = _ipf(survey.weights, codes, maxit, epsilon)
    if not converged:
        _unconverged(new, codes, it, epsilon, force, "")
    if survey.is_replicate:
        unconverged: list[int] = []

        def redo(rw: np.ndarray, r: int) -> np.ndarray:
            out, _, ok, passes = _ipf(rw, codes, maxit, epsilon)
            if not ok:
                if not force:
                    _unconverged(out, codes, passes, epsilon, force, f" in replicate {r + 1}")
                unconverged.append(r + 1)
            return out

        reps = redo_in_replicates(survey, redo, "raking")
        if unconverged:
            warnings.warn(
                f"Raking stopped unconverged after {maxit} passes in {len(unconverged)} replicate(s) "
                f"(e.g. replicate {unconverged[0]}); their last weights are kept, as forced.",
                UserWarning,
                stacklevel=2,
            )
        return survey.adjusted(new, column=column, method="rake", replicate_weights=reps)
    step = rake_step([c for _, c, _, _ in codes], [len(lv) for _, _, lv, _ in codes], psw)
    return survey.adjusted(new, column=column, method="rake", steps=(step,))


def check_control(maxit: Any, epsilon: Any) -> None:
    """``maxit`` a whole number >= 1 and ``epsilon`` a number > 0 (R's convergence controls)."""
    if isinstance(maxit, bool) or not isinstance(maxit, (int, np.integer)) or maxit < 1:
        raise MarginError(
            f"maxit must be a whole number of at least 1, not {maxit!r}.",
            code="bad_option",
            got=maxit,
            expected="a whole number >= 1",
            fix=("give ", opt("maxit", metavar="N"), " >= 1"),
        )
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float, np.integer, np.floating))
        or not epsilon > 0
    ):
        raise MarginError(
            f"epsilon must be a number above 0, not {epsilon!r}.",
            code="bad_option",
            got=epsilon,
            expected="a number > 0",
            fix=("give ", opt("epsilon", metavar="E"), " > 0"),
        )


def _unconverged(new, codes, passes, epsilon, force, where) -> None:
    """Raise (or, with ``force``, warn) that raking stopped unconverged, naming the margin that is
    furthest from its totals."""
    misses = {
        var: float(np.max(np.abs(np.bincount(c, weights=new, minlength=len(lv)) - t) / np.maximum(t, 1)))
        for var, c, lv, t in codes
    }
    worst = max(misses, key=misses.get)
    message = (
        f"Raking did not converge in {passes} passes{where} (tolerance {epsilon:g}): margin "
        f"{worst!r} is still off by up to {misses[worst]:.3g} (relative) after the last pass."
    )
    if force:
        warnings.warn(message + " The last weights are kept, as forced.", UserWarning, stacklevel=3)
        return
    raise MarginError(
        message,
        code="no_convergence",
        column=worst,
        got=misses[worst],
        expected="a relative misfit below the tolerance",
        fix=(
            "raise ",
            opt("maxit", metavar="N"),
            ", loosen ",
            opt("epsilon", metavar="E"),
            " or collapse sparse categories; ",
            opt("force", True),
            " keeps the last weights with a warning",
        ),
    )


def _ipf(w, codes, maxit, epsilon):
    """R's raking loop; returns final weights, the weights after each margin in the last pass,
    whether it converged and the passes run."""
    cross = np.zeros(w.shape[0], dtype=np.int64)
    for _, c, levels, _ in codes:
        cross = cross * len(levels) + c
    n_cells = int(cross.max()) + 1
    eps = epsilon * w.sum() if epsilon < 1 else epsilon
    old = np.bincount(cross, weights=w, minlength=n_cells)
    cur = w.copy()
    psw: list[np.ndarray] = []
    it = 0
    converged = False
    while it < maxit:
        psw = []
        for var, c, levels, t in codes:
            W = np.bincount(c, weights=cur, minlength=len(levels))
            if ((W <= 0) & (t > 0)).any():
                raise MarginError(
                    f"Categories of {var!r} have population but no weight: "
                    f"{list(levels[(W <= 0) & (t > 0)])[:5]}.",
                    code="zero_weight_cell",
                    column=var,
                    got=list(levels[(W <= 0) & (t > 0)])[:5],
                    expected="some weight in every category with a population",
                    fix="collapse them with a neighbouring category in data and margin",
                )
            with np.errstate(divide="ignore", invalid="ignore"):
                cur = cur * np.where(W > 0, t / W, 0.0)[c]
            psw.append(cur)
        new = np.bincount(cross, weights=cur, minlength=n_cells)
        if np.max(np.abs(old - new)) < eps:
            converged = True
            break
        old = new
        it += 1
    return cur, psw, converged, it


def rake_step(codes: list[np.ndarray], n_levels: list[int], psw: list[np.ndarray]) -> CalStep:
    """R's raking residual (ten sweeps through the margins) as a :class:`CalStep`."""
    blocks = tuple(
        Block(c, L, p, np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0))
        for c, L, p in zip(codes, n_levels, psw, strict=True)
    )
    # Q[l, l'] = sum over rows in l and l' of psw_{m(l')} / psw_{m(l)}: H'Z of the step
    Q = CalStep("rake", None, None, np.zeros((0, 0)), blocks=blocks).h_cross_z(
        CalStep("rake", None, None, np.zeros((0, 0)), blocks=blocks)
    )
    counts = np.concatenate([np.bincount(c, minlength=L) for c, L in zip(codes, n_levels, strict=True)])
    edges = np.cumsum([0] + n_levels)
    L = int(edges[-1])
    K = np.zeros((L, L))
    eye = np.eye(L)
    sls = [slice(edges[m], edges[m + 1]) for m in range(len(codes))]
    # within a margin a row has one level, so Q's diagonal blocks are diagonal: Q[sl] @ K is the
    # diagonal times K[sl] plus small cross-tabulations of other margins (not an L^3 product)
    own = [np.diag(Q[sl, sl]).copy() for sl in sls]
    for sl, d in zip(sls, own, strict=True):
        assert np.array_equal(Q[sl, sl], np.diag(d)), "a row in two levels of one margin"
    cross = {
        (m, m2): np.ascontiguousarray(Q[a, b])
        for m, a in enumerate(sls)
        for m2, b in enumerate(sls)
        if m != m2
    }
    for _ in range(R_SWEEPS):
        for m, sl in enumerate(sls):
            acc = own[m][:, None] * K[sl]
            for m2, sl2 in enumerate(sls):
                if m2 != m:
                    acc += cross[m, m2] @ K[sl2]
            np.subtract(eye[sl], acc, out=acc)
            acc /= counts[sl, None]
            K[sl] += acc
    return CalStep("rake", None, None, K, blocks=blocks)
