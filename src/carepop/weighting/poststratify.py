"""Post-stratification (R ``postStratify``).

Weights in each post-stratum s are scaled to the population count: ``w_new = w N_s / W_s`` with
``W_s`` the sum of the current weights in s. The variance then uses the residuals of each
influence value from its post-stratum mean (R: ``x - w_new * rowsum(x w_old / w_new) / W_s``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from carepop.core.estimation.calibration import Block, CalStep
from carepop.core.survey import Survey
from carepop.weighting.margins import MarginError, match_margin, read_margin


def indicator_matrix(codes: np.ndarray, n_levels: int) -> np.ndarray:
    z = np.zeros((codes.shape[0], n_levels))
    z[np.arange(codes.shape[0]), codes] = 1.0
    return z


def poststratify(survey: Survey, variable: str, population: Any, *, column: str = "weight_ps") -> Survey:
    """Post-stratify ``survey`` to the population counts of ``variable``'s categories.

    R: ``postStratify(design, ~variable, data.frame(variable = ..., Freq = ...))``.
    """
    codes, levels = survey._levels(variable)
    totals = match_margin(
        codes, levels, survey.value_labels.get(variable), read_margin(population, variable), variable
    )
    w = survey.weights
    W = np.bincount(codes, weights=w, minlength=len(levels))
    empty = (W <= 0) & (totals > 0)
    if empty.any():
        raise MarginError(
            f"Post-strata of {variable!r} with population but no weight: {list(levels[empty])[:5]}.",
            code="zero_weight_cell",
            column=variable,
            fix="collapse these categories with a neighbour (in data and margin)",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(W > 0, totals / W, 0.0)
    new = w * factor[codes]
    step = poststrat_step(codes, len(levels), w, new)
    rep = None
    if survey._rep is not None:
        reps = survey._rep.weights
        Wr = np.stack(
            [np.bincount(codes, weights=reps[:, r], minlength=len(levels)) for r in range(reps.shape[1])], 1
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            fr = np.where(Wr > 0, totals[:, None] / Wr, 0.0)
        rep = _with_weights(survey._rep, reps * fr[codes])
    return survey._derive(new, column, steps=(step,) if survey._rep is None else (), rep=rep)


def poststrat_step(codes: np.ndarray, n_levels: int, old: np.ndarray, new: np.ndarray) -> CalStep:
    """R's post-stratification residual as a :class:`CalStep` (see module docstring)."""
    psw = np.where((new == 0) & (old == 0), 1.0, new)  # as R: rows with no weight at all
    W_old = np.bincount(codes, weights=old, minlength=n_levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = np.diag(np.where(W_old > 0, 1.0 / W_old, 0.0))
    return CalStep("poststratify", None, None, K, blocks=(Block(codes, n_levels, psw, old / psw),))


def _with_weights(rep, weights):
    from dataclasses import replace

    return replace(rep, weights=np.ascontiguousarray(weights))
