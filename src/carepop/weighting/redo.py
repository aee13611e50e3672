"""Redo a weighting step in every replicate of a replicate design.

A replicate design carries a weighting step in its replicates: the step (post-stratification,
raking, calibration, a non-response adjustment, trimming) is applied to each replicate's weights
exactly as to the full-sample weights, so that the replicate variance includes the estimation of
the adjustment (R ``postStratify``/``rake``/``calibrate`` on a ``svyrep.design``). Every method
does it through :func:`redo_in_replicates`, one replicate at a time (a loop over replicates,
never over rows), with progress reported to whoever shows it (:mod:`carepop.core.progress`).

That is the fallback for steps whose adjustment differs from row to row (trimming, a response
model, calibration to a numeric total): the result is a full rows x replicates matrix, made one
replicate column at a time. Steps whose adjustment is constant within cells (post-strata,
weighting classes, raking cells, calibration to categorical margins) instead multiply the
replicates' factors by a factor per (cell, replicate) from the replicates' cell totals
(:meth:`~carepop.core.estimation.repweights.ReplicateWeights.times_cells`), and keep the
replicate weights as compact as they were.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from carepop.core.progress import progress
from carepop.core.survey import Survey

#: ``adjust(weights, r)``: the weights of replicate ``r`` (0-based; ``r + 1`` in messages) after
#: the step, from its weights before
ReplicateStep = Callable[[np.ndarray, int], np.ndarray]


def redo_in_replicates(survey: Survey, adjust: ReplicateStep, what: str) -> np.ndarray:
    """The replicate weights (rows x replicates) of ``survey`` after ``adjust`` is applied to each
    replicate's column; ``what`` names the step for the progress display (e.g. ``"raking"``).

    ``survey`` must be a replicate design. Errors raised by ``adjust`` pass through unchanged
    (they name the replicate from its index).
    """
    rep = survey.replicate_design
    if rep is None:
        raise ValueError("redo_in_replicates needs a replicate design")
    store = rep.store
    R = store.n_replicates
    out = np.empty((store.n_rows, R), dtype=float)
    with progress(f"{what} in {R} replicates", total=R) as advance:
        for r in range(R):  # a loop over replicates: each one is the step on n rows
            out[:, r] = adjust(store.column(r), r)
            advance()
    return out
