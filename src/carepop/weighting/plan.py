"""A weighting plan: the steps of one weighting run, in the order a statistician applies them.

1. replicate weights created from the design (``replicate_weights``), so that every later step
   is redone in each replicate and the replicate variance knows about it;
2. non-response adjustment in weighting classes (``nonresponse_classes``);
3. post-stratification, raking, calibration (each records its residuals for Taylor variance);
   ``harmonise``, ``epsilon``, ``maxit`` and ``force`` apply to raking and calibration alike;
4. trimming (R ``trimWeights``).

:class:`WeightingPlan` is what ``carepop weight`` / ``carepop estimate`` options fill
(from their text, in :mod:`carepop.cli.options`) and what :func:`apply_weighting` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carepop.errors import CarepopError, opt

if TYPE_CHECKING:
    import pandas as pd

    from carepop.core.survey import Survey


@dataclass(frozen=True)
class WeightingPlan:
    """The weighting steps to run (empty fields are skipped)."""

    nonresponse_classes: tuple[str, ...] = ()
    respondent: str | None = None
    replicates: str | None = None  # method
    n_replicates: int | None = None
    rho: float | None = None
    seed: int | None = None
    poststratify: tuple[tuple[str, Any], ...] = ()
    rake: tuple[tuple[str, Any], ...] = ()
    calibrate_cat: tuple[tuple[str, Any], ...] = ()
    calibrate_num: tuple[tuple[str, float], ...] = ()
    calfun: str = "linear"
    bounds: tuple[float, float] | None = None
    harmonise: bool = False
    epsilon: float | None = None
    maxit: int | None = None
    force: bool = False
    trim: tuple[float, float] | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.nonresponse_classes
            or self.replicates
            or self.poststratify
            or self.rake
            or self.calibrate_cat
            or self.calibrate_num
            or self.trim
        )


def apply_weighting(survey: Survey, plan: WeightingPlan) -> tuple[Survey, list[pd.DataFrame]]:
    """Run the steps of ``plan`` on ``survey`` (each through the registry,
    :mod:`carepop.weighting.registry`); returns the weighted survey and the tables the steps
    reported (the class table of a non-response adjustment), which are also on the survey's
    ``adjustments``."""
    from carepop.weighting.registry import run  # the methods, imported when a plan runs

    reports: list[pd.DataFrame] = []
    s = survey
    if plan.replicates:
        s = run(
            s,
            "replicates",
            method=plan.replicates,
            replicates=plan.n_replicates,
            rho=plan.rho,
            seed=plan.seed,
        )
    if plan.nonresponse_classes:
        if plan.respondent is None:
            raise CarepopError(
                "Non-response classes need the respondent indicator.",
                code="bad_option",
                fix=("give ", opt("respondent", metavar="COL"), " (1/True for respondents)"),
            )
        s = run(s, "nonresponse_classes", classes=list(plan.nonresponse_classes), respondent=plan.respondent)
        reports.append(s.adjustments[-1].report)
    for var, pop in plan.poststratify:
        s = run(s, "poststratify", variable=var, population=pop)
    control: dict[str, Any] = {}
    if plan.epsilon is not None:
        control["epsilon"] = plan.epsilon
    if plan.maxit is not None:
        control["maxit"] = plan.maxit
    if plan.rake:
        s = run(s, "rake", margins=dict(plan.rake), harmonise=plan.harmonise, force=plan.force, **control)
    if plan.calibrate_cat or plan.calibrate_num:
        population: dict[str, Any] = dict(plan.calibrate_cat)
        population.update({k: float(v) for k, v in plan.calibrate_num})
        s = run(
            s,
            "calibrate",
            population=population,
            calfun=plan.calfun,
            bounds=plan.bounds,
            harmonise=plan.harmonise,
            force=plan.force,
            **control,
        )
    if plan.trim:
        s = run(s, "trim", lower=plan.trim[0], upper=plan.trim[1])
    return s, reports
