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
import pandas as pd

from carepop.core.estimation.calibration import Block, CalStep
from carepop.core.estimation.repweights import joint_codes
from carepop.core.survey import Survey
from carepop.errors import opt
from carepop.weighting.margins import (
    MarginError,
    check_grand_totals,
    match_margin,
    no_weight_error,
    read_margin,
)

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

    cells = RakingCells.of(codes)
    new, step, converged, it = cells.rake(survey.weights, maxit, epsilon)
    if not converged:
        _unconverged(new, codes, it, epsilon, force, "")
    if survey.is_replicate:
        store = survey.replicate_design.store
        factors, ok, passes = cells.ipf(
            store.domain_totals(cells.cell, cells.n_cells)[:, :, 0], maxit, epsilon
        )
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            if not force:
                rw = store.column(first) * factors[first][cells.cell]
                _unconverged(rw, codes, int(passes[first]), epsilon, force, f" in replicate {first + 1}")
            warnings.warn(
                f"Raking stopped unconverged after {maxit} passes in {int((~ok).sum())} replicate(s) "
                f"(e.g. replicate {first + 1}); their last weights are kept, as forced.",
                UserWarning,
                stacklevel=2,
            )
        reps = store.times_cells(cells.cell, factors.T)
        return survey.adjusted(new, column=column, method="rake", replicate_weights=reps)
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


class RakingCells:
    """The cells of raking: the combinations of the margin variables present in the data.

    Raking multiplies every row of a cell by the same factors, so the passes run on the cells'
    weight totals (one number per cell and replicate), never on the rows: one pass over the rows
    codes the cells and sums their weights, the passes work on ``n_cells`` numbers, and one last
    pass gives each row its cell's factor. The stopping rule is R's: the largest change of the
    cross-table of all margin variables (the cell totals) between passes, below ``epsilon``
    (a fraction of the weight total when below 1).
    """

    def __init__(
        self,
        cell: np.ndarray,
        levels: np.ndarray,
        margins: list[tuple[str, pd.Index, np.ndarray]],
        codes: list[np.ndarray],
    ):
        self.cell = cell  # (n,) cell of each row
        self.codes = codes  # (n,) level of each row in each margin
        self.levels = levels  # (C, M) level of each cell in each margin
        self.margins = margins  # (variable, its levels, its population totals)
        self.n_cells = int(levels.shape[0])
        import scipy.sparse as sp

        self._by_level = [
            sp.csr_matrix(
                (np.ones(self.n_cells), (np.arange(self.n_cells), levels[:, m])),
                shape=(self.n_cells, len(t)),
            )
            for m, (_, _, t) in enumerate(margins)
        ]

    @classmethod
    def of(cls, codes: list[tuple[str, np.ndarray, pd.Index, np.ndarray]]) -> RakingCells:
        cell, levels = joint_codes([c for _, c, _, _ in codes], [len(lv) for _, _, lv, _ in codes])
        return cls(cell, levels, [(var, lv, t) for var, _, lv, t in codes], [c for _, c, _, _ in codes])

    def ipf(
        self, start: np.ndarray, maxit: int, epsilon: float, keep_passes: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """R's raking passes on cell totals ``start`` (R, C), one row per replicate (or one row
        for the full sample), each replicate stopping at its own convergence.

        Returns the factor of every cell (R, C), whether each converged, the passes each ran
        and, with ``keep_passes``, the cell factors after each margin in the last pass.
        """
        R = start.shape[0]
        eps = epsilon * start.sum(axis=1) if epsilon < 1 else np.full(R, float(epsilon))
        factor = np.ones_like(start)
        old = start
        active = np.ones(R, dtype=bool)
        converged = np.zeros(R, dtype=bool)
        passes = np.full(R, maxit, dtype=np.int64)
        after: list[np.ndarray] = []
        it = 0
        while it < maxit and active.any():
            after = []
            for m, (var, lv, t) in enumerate(self.margins):
                W = (start[active] * factor[active]) @ self._by_level[m]  # (active, L_m)
                empty = (W <= 0) & (t > 0)
                if empty.any():
                    bad = empty.any(axis=0)
                    where = (
                        ""
                        if R == 1
                        else f" in replicate {int(np.flatnonzero(active)[np.argmax(empty.any(axis=1))]) + 1}"
                    )
                    raise no_weight_error(var, list(lv[bad]), where=where)
                with np.errstate(divide="ignore", invalid="ignore"):
                    f = np.where(W > 0, t / W, 0.0)
                factor[active] = factor[active] * f[:, self.levels[:, m]]
                if keep_passes:
                    after.append(factor.copy())
            new = start * factor
            done = active & (np.max(np.abs(old - new), axis=1) < eps)
            converged |= done
            passes[done] = it
            active &= ~done
            old = new
            it += 1
        if keep_passes:
            return factor, converged, passes, after
        return factor, converged, passes

    def ipf_rows(self, w: np.ndarray, maxit: int, epsilon: float):
        """Raking of the rows' weights ``w``: the raked weights, the weights after each margin in
        the last pass (for the variance), whether it converged and the passes run."""
        new, psw, ok, passes, _ = self._ipf_rows(w, maxit, epsilon)
        return new, psw, ok, passes

    def _ipf_rows(self, w: np.ndarray, maxit: int, epsilon: float):
        start = np.bincount(self.cell, weights=w, minlength=self.n_cells)[None, :]
        factor, ok, passes, after = self.ipf(start, maxit, epsilon, keep_passes=True)
        psw = [w * a[0][self.cell] for a in after]
        return w * factor[0][self.cell], psw, bool(ok[0]), int(passes[0]), [a[0] for a in after]

    def rake(self, w: np.ndarray, maxit: int, epsilon: float):
        """:meth:`ipf_rows` and the raking residual step of the variance (:func:`rake_step`),
        whose ``H'Z`` is formed on the cells: the ratio of two margins' weights in a row is the
        ratio of its cell's factors."""
        new, psw, ok, passes, after = self._ipf_rows(w, maxit, epsilon)
        L = [len(t) for _, _, t in self.margins]
        n_all = np.bincount(self.cell, minlength=self.n_cells).astype(float)
        positive = w > 0
        n_pos = (
            n_all
            if positive.all()
            else np.bincount(self.cell[positive], minlength=self.n_cells).astype(float)
        )
        edges = np.cumsum([0] + L)
        Q = np.zeros((edges[-1], edges[-1]))
        for m in range(len(L)):
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.where(after[m] > 0, 1.0 / np.where(after[m] > 0, after[m], 1.0), 0.0)
            for m2 in range(len(L)):
                key = self.levels[:, m] * L[m2] + self.levels[:, m2]
                t = np.bincount(key, weights=n_pos * inv * after[m2], minlength=L[m] * L[m2])
                Q[edges[m] : edges[m + 1], edges[m2] : edges[m2 + 1]] = t.reshape(L[m], L[m2])
        counts = np.concatenate(
            [np.bincount(self.levels[:, m], weights=n_all, minlength=L[m]) for m in range(len(L))]
        )
        step = CalStep("rake", None, None, sweep_matrix(Q, counts, L), blocks=_blocks(self.codes, L, psw))
        return new, step, ok, passes


def ipf(w: np.ndarray, codes: list, maxit: int, epsilon: float):
    """R's raking loop on weights ``w`` to margins ``codes`` (``(variable, row codes, levels,
    totals)`` each): the raked weights, the weights after each margin in the last pass, whether
    it converged and the passes run (see :class:`RakingCells`)."""
    return RakingCells.of(codes).ipf_rows(w, maxit, epsilon)


def rake_step(codes: list[np.ndarray], n_levels: list[int], psw: list[np.ndarray]) -> CalStep:
    """R's raking residual (ten sweeps through the margins) as a :class:`CalStep`."""
    blocks = _blocks(codes, n_levels, psw)
    # Q[l, l'] = sum over rows in l and l' of psw_{m(l')} / psw_{m(l)}: H'Z of the step
    Q = CalStep("rake", None, None, np.zeros((0, 0)), blocks=blocks).h_cross_z(
        CalStep("rake", None, None, np.zeros((0, 0)), blocks=blocks)
    )
    counts = np.concatenate([np.bincount(c, minlength=L) for c, L in zip(codes, n_levels, strict=True)])
    return CalStep("rake", None, None, sweep_matrix(Q, counts, n_levels), blocks=blocks)


def _blocks(codes: list[np.ndarray], n_levels: list[int], psw: list[np.ndarray]) -> tuple[Block, ...]:
    # h = 1 / psw where psw > 0, else 0 (a row with no weight takes no part): Block's default,
    # formed when a variance first needs it
    return tuple(Block(c, L, p) for c, L, p in zip(codes, n_levels, psw, strict=True))


def sweep_matrix(Q: np.ndarray, counts: np.ndarray, n_levels: list[int]) -> np.ndarray:
    """``K``: R's ten sweeps ``x <- x - w_m ave_m(x / w_m)`` through the margins run on the
    identity, from ``Q = H'Z`` and the rows per level (``ave`` is the plain mean of a level)."""
    edges = np.cumsum([0] + list(n_levels))
    L = int(edges[-1])
    K = np.zeros((L, L))
    eye = np.eye(L)
    sls = [slice(edges[m], edges[m + 1]) for m in range(len(n_levels))]
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
    return K
