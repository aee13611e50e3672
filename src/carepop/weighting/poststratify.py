"""Post-stratification (R ``postStratify``).

Weights in each post-stratum s are scaled to the population count: ``w_new = w N_s / W_s`` with
``W_s`` the sum of the current weights in s. The variance then uses the residuals of each
influence value from its post-stratum mean (R: ``x - w_new * rowsum(x w_old / w_new) / W_s``).
Replicate designs: every replicate is post-stratified the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from carepop.core.estimation.calibration import Block, CalStep
from carepop.core.survey import Survey
from carepop.weighting.margins import match_margin, no_weight_error, read_margin


def indicator_matrix(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """(n, L) 0/1 matrix with a 1 in the column of each row's level."""
    z = np.zeros((codes.shape[0], n_levels))
    z[np.arange(codes.shape[0]), codes] = 1.0
    return z


def poststratify(survey: Survey, variable: str, population: Any, *, column: str = "weight_ps") -> Survey:
    """Post-stratify ``survey`` to the population counts of ``variable``'s categories.

    R: ``postStratify(design, ~variable, data.frame(variable = ..., Freq = ...))``.
    """
    codes, levels = survey.factor(variable)
    totals = match_margin(
        codes, levels, survey.value_labels.get(variable), read_margin(population, variable), variable
    )
    w = survey.weights
    W = np.bincount(codes, weights=w, minlength=len(levels))
    empty = (W <= 0) & (totals > 0)
    if empty.any():
        raise no_weight_error(variable, list(levels[empty]), what="Post-strata")
    new = w * scale_to_totals(codes, w, totals)[codes]
    if survey.is_replicate:
        # each replicate's post-stratum totals, then a factor per (post-stratum, replicate)
        store = survey.replicate_design.store
        Wr = store.domain_totals(codes, len(levels))[:, :, 0].T  # (L, R)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(Wr > 0, totals[:, None] / Wr, 0.0)
        reps = store.times_cells(codes, factor)
        return survey.adjusted(new, column=column, method="poststratify", replicate_weights=reps)
    step = poststrat_step(codes, len(levels), w, new)
    return survey.adjusted(new, column=column, method="poststratify", steps=(step,))


def scale_to_totals(codes: np.ndarray, w: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """The factor ``N_s / W_s`` of each post-stratum (0 where it has no weight)."""
    W = np.bincount(codes, weights=w, minlength=totals.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(W > 0, totals / W, 0.0)


def poststrat_step(codes: np.ndarray, n_levels: int, old: np.ndarray, new: np.ndarray) -> CalStep:
    """R's post-stratification residual as a :class:`CalStep` (see module docstring)."""
    psw = np.where((new == 0) & (old == 0), 1.0, new)  # as R: rows with no weight at all
    W_old = np.bincount(codes, weights=old, minlength=n_levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = np.diag(np.where(W_old > 0, 1.0 / W_old, 0.0))
    return CalStep("poststratify", None, None, K, blocks=(Block(codes, n_levels, psw, old / psw),))
