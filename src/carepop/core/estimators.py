"""The estimators behind :class:`~carepop.core.survey.Survey`'s methods: input checks, the call
into :mod:`carepop.core.estimation` and the result table (:mod:`carepop.core.tables`).

Overflow is an error, never a number: every estimate runs under ``np.errstate(over="raise")``
and the sums formed outside numpy's ufuncs are checked
(:func:`~carepop.core.estimation.numerics.finite_sums`), so weights or values too large for a
64-bit float give an ``overflow`` error naming the column instead of an infinite (or empty)
estimate or a numpy RuntimeWarning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.estimation import ci as ci_mod
from carepop.core.estimation.linear import Linear, ratio_estimate
from carepop.core.estimation.quantile import SortedDomains
from carepop.core.results import Estimates
from carepop.core.tables import estimate_frame, linear_frame, make_result
from carepop.core.vocabulary import PROPORTION_ONLY_CI, QUANTILE_CI, CIMethod, choose
from carepop.errors import EstimationError, example_rows, opt

if TYPE_CHECKING:
    from carepop.core.survey import Survey


def missing_mask(survey: Survey, values: np.ndarray, name: str, na_rm: bool) -> np.ndarray:
    miss = np.isnan(values)
    if miss.any() and not na_rm:
        raise EstimationError(
            f"Column {name!r} has {int(miss.sum())} missing value(s).",
            code="missing_values",
            column=name,
            rows=example_rows(np.arange(1, survey.n_rows + 1), miss),
            fix=(
                "pass ",
                opt("na_rm", True),
                " to estimate over the rows that answered (as R na.rm=TRUE: they are left "
                "out of the domain, not out of the design)",
            ),
        )
    return miss


@contextmanager
def no_overflow(variable: str) -> Iterator[None]:
    """Turn an overflow inside the block (numpy's flag, or a sum checked by
    :func:`~carepop.core.estimation.numerics.finite_sums`) into an error naming the column."""
    try:
        with np.errstate(over="raise"):
            yield
    except FloatingPointError:
        raise overflow_error(variable) from None


def check_variance(survey: Survey, lin: Linear, variable: str) -> None:
    """A Taylor variance that is infinite for a finite estimate overflowed (its sums of
    squares are formed by ``bincount``, which raises no flag); never report it as a number."""
    if survey._taylor is not None and (np.isfinite(lin.est) & np.isinf(lin.var)).any():
        raise overflow_error(variable)


def linear_estimates(
    survey: Survey, kind, variable, denominator, by, ci, level, want_deff, na_rm
) -> Estimates:
    """A total, mean, ratio or proportion of one or more variables, by domain."""
    dom = survey.domains(by)
    ci = ci_method(ci, kind)
    variables = [variable] if isinstance(variable, str) else list(variable)
    chk.check_columns(survey._data, variables + ([denominator] if denominator else []), "variable")
    pieces = []
    for var in variables:
        y = x = lv = None
        if kind == "proportion":
            lev_codes, uniques = survey.factor(var)
            miss = lev_codes < 0
            if miss.any():
                missing_mask(survey, np.where(miss, np.nan, 0.0), var, na_rm)
            lv = (lev_codes, len(uniques))
            level_names = [survey.label(var, v) for v in uniques]
        else:
            yv = chk.numeric_column(survey._data, var, f"the variable of a {kind}")
            miss = missing_mask(survey, yv, var, na_rm)
            if denominator is not None:
                xv = chk.numeric_column(survey._data, denominator, "the denominator of a ratio")
                miss = miss | missing_mask(survey, xv, denominator, na_rm)
                x = np.where(miss, 0.0, xv) if miss.any() else xv
            y = np.where(miss, 0.0, yv) if miss.any() else yv
            level_names = [None]
        any_missing = bool(miss.any())
        code = np.where(miss, -1, dom.code) if any_missing else dom.code
        vname = f"{var}/{denominator}" if kind == "ratio" else var
        with no_overflow(vname):
            lin = ratio_estimate(
                survey._w,
                code,
                dom.n,
                y,
                x,
                levels=lv,
                taylor=survey._taylor,
                pairs=survey._pairs(dom),
                rep=survey._rep,
                calibration=survey._calibration,
                total=(kind == "total"),
                want_deff=want_deff,
                want_logit=(ci == "logit"),
            )
            check_variance(survey, lin, vname)
            n, df = survey._counts(dom, code, any_missing)
            # R's svyciprop(method="beta") uses nrow(design): the domain's rows, except that a
            # calibrated design keeps every row in a domain analysis (weights set to zero)
            rows = np.full_like(n, survey.n_rows) if survey._calibration is not None else n
            pieces.append(
                linear_frame(kind, vname, level_names, dom, lin, n, df, ci, level, rows, survey.label)
            )
    table = pd.concat(pieces, ignore_index=True)
    return make_result(table, dom, ci, level, survey._variance_name)


def quantile_estimates(survey: Survey, variable, p, by, ci, level, na_rm) -> Estimates:
    """Quantiles with the Woodruff interval, by domain."""
    dom = survey.domains(by)
    method = "t" if ci is None else choose(ci, CIMethod, "ci", "interval method")
    if method not in QUANTILE_CI:
        raise EstimationError(
            f"Interval {ci!r} is not available for quantiles.",
            code="bad_option",
            got=ci,
            expected=QUANTILE_CI,
            fix=(
                "quantiles use the Woodruff interval: set ",
                opt("ci", "t"),
                " (the default) or ",
                opt("ci", "wald"),
            ),
        )
    chk.check_columns(survey._data, [variable], "variable")
    xv = chk.numeric_column(survey._data, variable, "the variable of a quantile")
    miss = missing_mask(survey, xv, variable, na_rm)
    any_missing = bool(miss.any())
    code = np.where(miss, -1, dom.code) if any_missing else dom.code
    x = np.where(miss, 0.0, xv) if any_missing else xv
    sd = SortedDomains(x, survey._w, code, dom.n)
    n, df = survey._counts(dom, code, any_missing)
    crit_df = df if method == "t" else np.full(dom.n, np.inf)
    c = ci_mod.critical(level, crit_df)
    pieces = []
    probs = [p] if np.isscalar(p) else list(p)
    for prob in probs:
        if not (0 <= prob <= 1):
            raise EstimationError(
                f"Quantile probability {prob} is outside [0, 1].",
                code="bad_option",
                got=prob,
                expected="a probability between 0 and 1",
                fix="give a probability such as 0.5 for the median",
            )
        q = sd.quantile(np.full(dom.n, float(prob)))
        ind = (x <= q[np.where(code >= 0, code, 0)]).astype(float)
        with no_overflow(variable):
            lin = ratio_estimate(
                survey._w,
                code,
                dom.n,
                ind,
                None,
                taylor=survey._taylor,
                pairs=survey._pairs(dom),
                rep=survey._rep,
                calibration=survey._calibration,
            )
            check_variance(survey, lin, variable)
            phat, pse = lin.est[:, 0], np.sqrt(lin.var[:, 0])
            lo_p, hi_p = phat - c * pse, phat + c * pse
            lower = np.where(lo_p < 0, np.nan, sd.quantile(np.where(lo_p < 0, 0.0, lo_p)))
            upper = np.where(hi_p > 1, np.nan, sd.quantile(np.where(hi_p > 1, 1.0, hi_p)))
            se = (upper - lower) / (2 * c)
        frame = estimate_frame(
            "quantile",
            variable,
            [f"{prob:g}"],
            dom,
            q[:, None],
            se[:, None],
            lower[:, None],
            upper[:, None],
            df,
            np.full((dom.n, 1), np.nan),
            n,
            survey.label,
        )
        pieces.append(frame)
    table = pd.concat(pieces, ignore_index=True)
    notes = ()
    if table[["ci_lower", "ci_upper"]].isna().to_numpy().any():
        notes = (
            "Some quantile intervals reach beyond the data (a bound of the Woodruff interval "
            "for p falls outside [0, 1]) and are shown as missing, as in R.",
        )
        warnings.warn(notes[0], stacklevel=3)
    return make_result(table, dom, f"woodruff-{method}", level, survey._variance_name, notes)


def ci_method(ci: str | None, kind: str) -> str:
    method = "wald" if ci is None else choose(ci, CIMethod, "ci", "interval method")
    if method in PROPORTION_ONLY_CI and kind != "proportion":
        raise EstimationError(
            f"The {method} interval is for proportions; a {kind} uses wald or t.",
            code="bad_option",
            got=method,
            expected=("wald", "t"),
            fix=("estimate a proportion of a categorical variable, or set ", opt("ci", "t")),
        )
    return method


def overflow_error(variable: str) -> EstimationError:
    big = np.finfo(float).max
    return EstimationError(
        f"The estimate for {variable!r} overflows: its weighted values (or their squares, for the "
        f"variance) pass the largest number a 64-bit float can hold (about {big:.3g}).",
        code="overflow",
        column=variable.split("/")[0],
        expected=f"weighted totals (and their squares) below {big:.3g}",
        fix="rescale the variable or the weights (e.g. divide by a power of ten, and multiply the "
        "estimate back)",
    )
