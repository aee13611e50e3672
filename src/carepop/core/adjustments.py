"""The record of a weighting step on a :class:`~carepop.core.survey.Survey`.

Every weighting method (:mod:`carepop.weighting`) returns a new Survey made with
:meth:`Survey.adjusted <carepop.core.survey.Survey.adjusted>`, which appends one
:class:`Adjustment` to the survey's :attr:`~carepop.core.survey.Survey.adjustments`. The record
carries what later variances need (the Taylor linearisation of the step, or the fact that every
replicate was adjusted too) and what the method reports (the class table of a non-response
adjustment, the model of a response propensity, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carepop.core.estimation.calibration import CalStep


@dataclass(frozen=True)
class Adjustment:
    """One weighting step.

    Attributes
    ----------
    method : the weighting method that made it (``"poststratify"``, ``"rake"``, ...).
    column : the column that holds the weights after the step.
    steps : the step's Taylor linearisation, ``x <- x - Z K (H' x)`` for each
        :class:`~carepop.core.estimation.calibration.CalStep` (R's calibration residuals); empty
        for a replicate design (its replicates carry the step) and for a step whose variance
        ignores it (trimming, as R ``trimWeights``).
    replicates_redone : whether the step was redone in every replicate (replicate designs).
    report : what the method reports (a table or a report object), or None.
    """

    method: str
    column: str
    steps: tuple[CalStep, ...] = ()
    replicates_redone: bool = False
    report: Any = None
