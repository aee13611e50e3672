"""A weighting plan: the steps of one weighting run, in the order a statistician applies them.

1. replicate weights created from the design (``replicate_weights``), so that every later step
   is redone in each replicate and the replicate variance knows about it;
2. non-response adjustment in weighting classes (``nonresponse_classes``);
3. post-stratification, raking, calibration (each records its residuals for Taylor variance);
   ``harmonise``, ``epsilon``, ``maxit`` and ``force`` apply to raking and calibration alike;
4. trimming (R ``trimWeights``).

:class:`WeightingPlan` is what ``carepop weight`` / ``carepop estimate`` options fill
(:func:`plan_from_options`) and what :func:`apply_weighting` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from carepop.core.survey import Survey
from carepop.core.vocabulary import ReplicateMethod, choose
from carepop.errors import CarepopError, opt
from carepop.weighting.registry import run


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


# ------------------------------------------------------------------------------ from option text
def plan_from_options(
    *,
    nonresponse_classes: str | None = None,
    respondent: str | None = None,
    replicates: str | None = None,
    rho: float | None = None,
    seed: int | None = None,
    poststratify: list[str] | None = None,
    rake: list[str] | None = None,
    calibrate_cat: list[str] | None = None,
    calibrate_num: list[str] | None = None,
    calfun: str | None = None,
    bounds: str | None = None,
    harmonise: bool = False,
    epsilon: float | None = None,
    maxit: int | None = None,
    force: bool = False,
    trim: str | None = None,
) -> WeightingPlan:
    """A plan from the text of command-line options (``VAR=FILE``, ``L,U``, ``METHOD[:R]``, ...);
    each malformed value is an error naming its option."""
    num = []
    for var, val in _pairs(calibrate_num, "calibrate_num", "VAR=TOTAL"):
        try:
            num.append((var, float(val)))
        except ValueError:
            raise CarepopError(
                f"The total of {var!r} is not a number: {val!r}.",
                code="bad_option",
                got=val,
                expected="a number",
                fix=("give ", opt("calibrate_num", metavar="VAR=TOTAL"), ", e.g. api99=3914069"),
            ) from None
    method, n_rep = None, None
    if replicates:
        method, _, count = replicates.partition(":")
        method = choose(method, ReplicateMethod, "replicates", "replicate-weight method")
        if count:
            try:
                n_rep = int(count)
            except ValueError:
                raise CarepopError(
                    f"The number of replicates {count!r} is not a whole number.",
                    code="bad_option",
                    got=replicates,
                    expected="METHOD or METHOD:R, e.g. bootstrap:200",
                    fix=("give ", opt("replicates", metavar="METHOD[:R]"), ", e.g. bootstrap:200"),
                ) from None
    classes = _list(nonresponse_classes, "nonresponse_classes")
    if maxit is not None and maxit < 1:
        raise CarepopError(
            f"maxit must be at least 1, not {maxit}.",
            code="bad_option",
            got=maxit,
            expected="a whole number >= 1",
            fix=("give ", opt("maxit", metavar="N"), " >= 1"),
        )
    if epsilon is not None and not epsilon > 0:
        raise CarepopError(
            f"epsilon must be positive, not {epsilon}.",
            code="bad_option",
            got=epsilon,
            expected="a number > 0",
            fix=(
                "give ",
                opt("epsilon", metavar="E"),
                " > 0 (raking: below 1 is a fraction of the weight total, 1 or more is in weight units)",
            ),
        )
    return WeightingPlan(
        nonresponse_classes=classes,
        respondent=respondent,
        replicates=method,
        n_replicates=n_rep,
        rho=rho,
        seed=seed,
        poststratify=tuple(_pairs(poststratify, "poststratify", "VAR=FILE")),
        rake=tuple(_pairs(rake, "rake", "VAR=FILE")),
        calibrate_cat=tuple(_pairs(calibrate_cat, "calibrate_cat", "VAR=FILE")),
        calibrate_num=tuple(num),
        calfun=calfun or "linear",
        bounds=_two_numbers(bounds, "bounds"),
        harmonise=harmonise,
        epsilon=epsilon,
        maxit=maxit,
        force=force,
        trim=_two_numbers(trim, "trim"),
    )


def _pairs(values: list[str] | None, name: str, form: str) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        key, eq, val = v.partition("=")
        if not eq or not key.strip() or not val.strip():
            raise CarepopError(
                f"Expected {form}, got {v!r}.",
                code="bad_option",
                got=v,
                expected=form,
                fix=("give ", opt(name, metavar=form)),
            )
        out.append((key.strip(), val.strip()))
    return out


def _two_numbers(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise CarepopError(
            f"Expected two numbers L,U, got {text!r}.",
            code="bad_option",
            got=text,
            expected="L,U",
            fix=("give ", opt(name, metavar="L,U"), ", e.g. 0.5,2"),
        ) from None
    if not lo <= hi:
        raise CarepopError(
            f"The lower bound {lo:g} is above the upper bound {hi:g}.",
            code="bad_option",
            got=text,
            expected="L,U with L <= U",
            fix=("give ", opt(name, metavar="L,U"), " with the lower bound first, e.g. 0.5,2"),
        )
    return lo, hi


def _list(text: str | None, name: str) -> tuple[str, ...]:
    if text is None:
        return ()
    items = [c.strip() for c in text.split(",")]
    if not all(items):
        raise CarepopError(
            f"Empty column name in {text!r}.",
            code="bad_option",
            got=text,
            expected="COL[,COL...]",
            fix=("give ", opt(name, metavar="COL[,COL...]"), " with no empty names"),
        )
    return tuple(items)
