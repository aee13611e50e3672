"""Nonresponse adjustment: weighting classes and response propensities.

Every row of the sample stays in the survey. Respondents' weights are raised to carry the
non-respondents; non-respondents keep their rows with weight 0, so estimates leave them out
(a zero weight) while the variance still sees the whole sample design — they are out of every
domain, not out of the design (for an outcome that is missing for non-respondents use
``na_rm=True``: those rows then leave the domain, not the design).

Weighting classes (:func:`nonresponse_classes`)
    In class c, with ``d`` the current (design) weights and ``r`` the 0/1 response flag, each
    respondent's weight is multiplied by ``f_c = sum_{i in c} d_i / sum_{i in c} r_i d_i`` (the
    weight of all sampled units over the weight of the respondents); the weight total of every
    class is kept. R: ``postStratify(subset(design, resp), ~class, totals)`` with ``totals`` the
    full sample's weight totals of the classes gives the same weights.

Response propensity (:func:`response_propensity`)
    A logistic model of response on covariates, fitted by design-weighted pseudo maximum
    likelihood: statsmodels ``GLM(r, X, family=Binomial(), var_weights=d)``, whose coefficients
    are those of R ``glm(r ~ ..., family = quasibinomial, weights = d)`` and
    ``svyglm(r ~ ..., design, family = quasibinomial)``. Then either the inverse-propensity
    adjustment ``w_i = d_i r_i / p_i`` or propensity classes (unweighted quantile classes of
    ``p_i`` over the whole sample, then the weighting-class adjustment above).

Variance
    Taylor designs: the adjustment is linearised as a calibration step (the ``x <- x - Z K H'x`` of
    :mod:`carepop.core.estimation.calibration`), so variances include the estimation of the
    adjustment factors:

    - weighting classes: ``z_i = w_i y_i - (w_i - d_i) ybar_c`` with ``ybar_c`` the adjusted
      weighted mean of class c (``Z = (w - d) 1{c}``, ``H = 1{c}``, ``K = diag(1 / sum_c w)``).
      Unlike R's ``postStratify`` of the respondents, which treats the class totals as known
      (``z = w (y - ybar_c)``: it lacks the ``d_i ybar_c`` term of every sampled unit), the
      class totals here are estimates from the sample. The two agree when the classes are
      strata; otherwise R's can be far too small (apiclus1, classes ``stype``, SE of the total
      of api00: R postStratify 145,101; here 905,310; JK1 replicates redoing the adjustment
      904,597). With full response ``z = w y``.
    - inverse propensity (Kim and Kim 2007): ``z_i = w_i y_i - d_i (r_i - p_i) x_i' I^-1 h``,
      ``h = sum_i w_i (1 - p_i) x_i y_i``, ``I = sum_i d_i p_i (1 - p_i) x_i x_i'`` (rows whose
      factor was trimmed have a fixed factor and drop out of ``h``).
    - propensity classes: the class linearisation, the classes taken as given.

    Replicate designs: the adjustment is redone on every replicate's weights (the propensity
    model refitted for the inverse method; the same classes for the class methods), so the
    replicate variance includes it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.core.estimation.calibration import Block, CalStep
from carepop.core.survey import Survey
from carepop.core.vocabulary import PropensityMethod, choose
from carepop.errors import CarepopError, example_rows, opt
from carepop.weighting.poststratify import indicator_matrix
from carepop.weighting.redo import redo_in_replicates


class NonresponseError(CarepopError):
    """A nonresponse adjustment that cannot be made as asked."""


# --------------------------------------------------------------------------- weighting classes


def nonresponse_classes(
    survey: Survey,
    classes: str | Sequence[str],
    respondent: str,
    *,
    min_respondents: int = 20,
    max_adjustment: float | None = None,
    column: str = "weight_nr",
) -> Survey:
    """Weighting-class nonresponse adjustment; returns the adjusted survey, whose last
    adjustment's ``report`` (``survey.adjustments[-1].report``) is the class table below.

    ``classes`` are the columns whose combinations (present in the data) form the classes;
    ``respondent`` is a 1/0 (or True/False) column with no missing values.

    Collapsing: a class with fewer than ``min_respondents`` respondents (or no respondent
    weight), or whose factor exceeds ``max_adjustment``, is merged with its neighbour. Classes
    are ordered as R orders factor levels (sorted values of the first class variable, then the
    second, ...), and only classes with the same values of all class variables but the last are
    neighbours. The first failing class in that order is merged with the next class, or with
    the previous one when it is the last of its group; this repeats until every class passes.
    A class that cannot pass even merged with all its neighbours is an error.

    The report has one row per original class: ``class`` (its label), ``eligible_n``,
    ``respondents_n``, ``eligible_weight``, ``respondent_weight``, ``factor`` (the factor
    applied, that of the merged class if merged) and ``merged_into`` (the merged class's label,
    or None).

    R (same weights): ``postStratify(subset(design, resp == 1), ~class,
    data.frame(class = ..., Freq = <full-sample weight totals>))``.
    """
    names = [classes] if isinstance(classes, str) else list(classes)
    if not names:
        raise NonresponseError(
            "No class variables given.",
            code="bad_option",
            fix="give one or more columns forming the classes",
        )
    _check_collapse_options(min_respondents, max_adjustment, survey)
    r = respondent_flag(survey, respondent)
    coding = class_codes(survey, names)
    group, report = collapse_classes(
        coding, r, survey.weights, min_respondents, max_adjustment, column=names[-1]
    )
    n_groups = int(group.max()) + 1
    adj = _class_adjustment(survey, r, group[coding.code], n_groups, respondent)
    return _record(survey, adj, column, "nonresponse_classes", report)


@dataclass(frozen=True)
class ClassCoding:
    """Classes of the rows: ``code`` (n,) class per row; per class its ``label`` and ``block``
    (classes in the same block are neighbours)."""

    code: np.ndarray
    labels: list[str]
    block: np.ndarray


def class_codes(survey: Survey, names: Sequence[str]) -> ClassCoding:
    """Code the combinations of ``names`` present in the data, in R's factor order."""
    n = survey.n_rows
    combined = np.zeros(n, dtype=np.int64)
    all_levels = []
    for var in names:
        codes, levels = survey.factor(var, "class column")
        miss = codes < 0
        if miss.any():
            raise NonresponseError(
                f"Class column {var!r} has {int(miss.sum())} missing value(s).",
                code="missing_values",
                column=var,
                rows=example_rows(chk.row_numbers(n), miss),
                fix="recode the missing values to a class of their own (e.g. 'Unknown')",
            )
        combined = combined * len(levels) + codes
        all_levels.append(levels)
    present, code = np.unique(combined, return_inverse=True)
    labels = []
    for value in present:
        parts, rem = [], int(value)
        for var, levels in zip(reversed(names), reversed(all_levels), strict=True):
            parts.append(str(survey.label(var, levels[rem % len(levels)])))
            rem //= len(levels)
        labels.append(" / ".join(reversed(parts)))
    block = present // len(all_levels[-1])
    return ClassCoding(code.astype(np.int64).reshape(-1), labels, block)


def respondent_flag(survey: Survey, respondent: str) -> np.ndarray:
    """The response indicator as booleans: 1/0 or True/False, nothing missing, some respondent."""
    s = survey.column(respondent, "respondent column")
    rows = chk.row_numbers(len(s))
    miss = s.isna().to_numpy()
    if miss.any():
        raise NonresponseError(
            f"Respondent column {respondent!r} has {int(miss.sum())} missing value(s).",
            code="missing_values",
            column=respondent,
            rows=example_rows(rows, miss),
            fix="code every sampled unit as respondent (1 or True) or non-respondent (0 or False); "
            "drop units known to be ineligible before adjusting",
        )
    if pd.api.types.is_bool_dtype(s):
        r = s.to_numpy(dtype=bool)
    else:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isin(v, (0.0, 1.0))
        if bad.any():
            raise NonresponseError(
                f"Respondent column {respondent!r} has values other than 1/0 (e.g. {s[bad].iloc[0]!r}).",
                code="bad_respondent_flag",
                column=respondent,
                rows=example_rows(rows, bad),
                fix="recode it to 1 (responded) and 0 (did not respond), or True/False",
            )
        r = v == 1.0
    if not r.any():
        raise NonresponseError(
            f"Respondent column {respondent!r} has no respondent.",
            code="no_respondents",
            column=respondent,
            fix="check the coding: 1 or True marks a respondent",
        )
    return r


def collapse_classes(
    coding: ClassCoding,
    r: np.ndarray,
    d: np.ndarray,
    min_respondents: int,
    max_adjustment: float | None,
    column: str,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Merge failing classes with neighbours (rule in :func:`nonresponse_classes`); returns the
    final group of each class and the report."""
    C = len(coding.labels)
    code = coding.code
    elig_n = np.bincount(code, minlength=C)
    resp_n = np.bincount(code, weights=r.astype(float), minlength=C).astype(np.int64)
    elig_w = np.bincount(code, weights=d, minlength=C)
    resp_w = np.bincount(code, weights=np.where(r, d, 0.0), minlength=C)
    groups = [[c] for c in range(C)]

    def fails(g: list[int]) -> bool:
        n_r, W, R = resp_n[g].sum(), elig_w[g].sum(), resp_w[g].sum()
        f = _factor(W, R)
        return bool(
            n_r < min_respondents or not np.isfinite(f) or (max_adjustment is not None and f > max_adjustment)
        )

    while True:
        failing = next((k for k, g in enumerate(groups) if fails(g)), None)
        if failing is None:
            break
        blk = coding.block[groups[failing][0]]
        if failing + 1 < len(groups) and coding.block[groups[failing + 1][0]] == blk:
            other = failing + 1
        elif failing > 0 and coding.block[groups[failing - 1][0]] == blk:
            other = failing - 1
        else:
            g = groups[failing]
            label = " + ".join(coding.labels[c] for c in g)
            f = _factor(elig_w[g].sum(), resp_w[g].sum())
            raise NonresponseError(
                f"Class {label!r} has {int(resp_n[g].sum())} respondent(s) (factor {f:.4g}) and no "
                "neighbouring class left to merge with.",
                code="cannot_collapse",
                column=column,
                rows=example_rows(chk.row_numbers(code.shape[0]), np.isin(code, g)),
                fix=(
                    "use fewer or coarser class variables, or lower ",
                    opt("min_respondents", metavar="N"),
                    " / raise ",
                    opt("max_adjustment", metavar="F"),
                ),
            )
        lo, hi = sorted((failing, other))
        groups[lo : hi + 1] = [groups[lo] + groups[hi]]
    group = np.empty(C, dtype=np.int64)
    merged: list[str | None] = [None] * C
    factor = np.empty(C)
    for k, g in enumerate(groups):
        group[g] = k
        f = _factor(elig_w[g].sum(), resp_w[g].sum())
        factor[g] = f
        if len(g) > 1:
            label = " + ".join(coding.labels[c] for c in g)
            for c in g:
                merged[c] = label
    report = pd.DataFrame(
        {
            "class": coding.labels,
            "eligible_n": elig_n.astype(np.int64),
            "respondents_n": resp_n,
            "eligible_weight": elig_w,
            "respondent_weight": resp_w,
            "factor": factor,
            "merged_into": pd.Series(merged, dtype=object),
        }
    )
    return group, report


def _factor(W: float, R: float) -> float:
    if R > 0:
        return float(W / R)
    return 1.0 if W == 0 else float("inf")


@dataclass(frozen=True)
class _Adjusted:
    """New weights and how the variance carries them: Taylor ``steps`` or the adjusted
    ``replicates``; ``factor`` and ``fixed`` per class (class adjustments)."""

    weights: np.ndarray
    steps: tuple[CalStep, ...] = ()
    replicates: np.ndarray | None = None
    factor: np.ndarray | None = None
    fixed: np.ndarray | None = None


def _record(survey: Survey, adj: _Adjusted, column: str, method: str, report: Any) -> Survey:
    return survey.adjusted(
        adj.weights,
        column=column,
        method=method,
        steps=adj.steps,
        replicate_weights=adj.replicates,
        report=report,
    )


def _class_adjustment(
    survey: Survey,
    r: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    respondent: str,
    clip: tuple[float, float] | None = None,
) -> _Adjusted:
    """Respondents' weights times ``sum_g d / sum_g r d`` (clipped to ``clip``), others 0, with
    the factor of each group and whether it was clipped."""
    d = survey.weights
    rf = r.astype(float)
    W = np.bincount(group, weights=d, minlength=n_groups)
    R = np.bincount(group, weights=d * rf, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(R > 0, W / R, 1.0)
    fixed = np.zeros(n_groups, dtype=bool)
    if clip is not None:
        fc = np.clip(f, clip[0], clip[1])
        fixed = fc != f
        f = fc
    new = d * rf * f[group]
    if survey.is_replicate:
        # every replicate's class totals (all rows, respondents), then a factor per (class,
        # replicate): the replicate weights stay as compact as they were
        store = survey.replicate_design.store
        sums = store.domain_totals(group, n_groups, np.column_stack([np.ones_like(rf), rf]))
        W_all, R_all = sums[:, :, 0].T, sums[:, :, 1].T  # (classes, replicates)
        empty = (R_all <= 0) & (W_all > 0)
        if empty.any():
            g, k = (int(i) for i in np.argwhere(empty.T)[0][::-1])
            raise NonresponseError(
                f"In replicate {k + 1} a class has weight but no respondent weight, so its "
                "factor is infinite.",
                code="replicate_no_respondents",
                column=respondent,
                rows=example_rows(chk.row_numbers(group.shape[0]), group == g),
                fix=(
                    "use coarser classes (raise ",
                    opt("min_respondents", metavar="N"),
                    ") so every class has respondents in several PSUs",
                ),
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            fr = np.where(R_all > 0, W_all / R_all, 1.0)
        if clip is not None:
            fr = np.clip(fr, clip[0], clip[1])
        adjusted = store.times_cells(group, fr, row=rf)
        return _Adjusted(new, replicates=adjusted, factor=f, fixed=fixed)
    free = (~fixed)[group].astype(float)
    Wnew = np.bincount(group, weights=new, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = np.diag(np.where(Wnew > 0, 1.0 / Wnew, 0.0))
    step = CalStep("nonresponse", None, None, K, blocks=(Block(group, n_groups, (new - d) * free, free),))
    return _Adjusted(new, steps=(step,), factor=f, fixed=fixed)


def _check_collapse_options(min_respondents: Any, max_adjustment: Any, survey: Survey) -> None:
    if (
        isinstance(min_respondents, bool)
        or not isinstance(min_respondents, (int, np.integer))
        or min_respondents < 0
    ):
        raise NonresponseError(
            f"min_respondents must be a whole number >= 0, not {min_respondents!r}.",
            code="bad_option",
            column=survey.weight,
            got=min_respondents,
            expected="a whole number >= 0",
            fix=("give ", opt("min_respondents", metavar="N"), ", e.g. 20"),
        )
    if max_adjustment is not None and not (float(max_adjustment) >= 1):
        raise NonresponseError(
            f"max_adjustment must be at least 1, not {max_adjustment!r} (a class factor is never below 1).",
            code="bad_option",
            column=survey.weight,
            got=max_adjustment,
            expected="a number >= 1, or None for no limit",
            fix=("give ", opt("max_adjustment", metavar="F"), ", e.g. 3, or leave it out for no limit"),
        )


# --------------------------------------------------------------------------- response propensity


@dataclass(frozen=True)
class PropensityReport:
    """What :func:`response_propensity` estimated.

    ``coefficients``: the logistic model's coefficients (R names: ``(Intercept)``, ``stypeH``...);
    ``propensity``: estimated response probability of every row; ``factors``: the adjustment
    factor of every row (0 for non-respondents); ``n_trimmed``: respondents whose factor was
    trimmed; ``classes``: the class report (``method="classes"``), else None; ``model``: the
    statsmodels results.
    """

    coefficients: pd.Series
    propensity: np.ndarray
    factors: np.ndarray
    n_trimmed: int
    classes: pd.DataFrame | None
    model: Any


def response_propensity(
    survey: Survey,
    covariates: str | Sequence[str],
    respondent: str,
    *,
    method: str = "inverse",
    n_classes: int = 5,
    trim: tuple[float, float] | None = None,
    min_respondents: int = 20,
    column: str = "weight_nr",
) -> Survey:
    """Response-propensity nonresponse adjustment; returns the adjusted survey, whose last
    adjustment's ``report`` (``survey.adjustments[-1].report``) is a :class:`PropensityReport`.

    The model: ``logit P(r = 1) = x' beta`` with an intercept, numeric covariates as they are and
    categorical ones in treatment coding (first level the reference, as R), fitted with the
    current weights ``d`` as ``var_weights`` (design-weighted pseudo-likelihood). R:
    ``glm(r ~ x1 + x2, family = quasibinomial, weights = d)`` (or ``svyglm``) — same coefficients.

    ``method="inverse"``: respondents' weights become ``d / p``. ``method="classes"``:
    ``n_classes`` classes cut at the (unweighted, R type 7) quantiles of ``p`` over all rows, then
    the weighting-class adjustment of :func:`nonresponse_classes` (collapsing adjacent classes
    with fewer than ``min_respondents`` respondents).

    ``trim=(lower, upper)`` clips the adjustment factors (``1/p`` or the class factors) to
    ``[lower, upper]``; the weight total is then no longer kept (follow with
    :func:`~carepop.weighting.calibrate` or :func:`~carepop.weighting.trim_weights` if wanted).
    """
    method = choose(method, PropensityMethod, "method", "propensity method")
    clip = _check_trim(trim, survey)
    if method == "classes":
        if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
            raise NonresponseError(
                f"n_classes must be a whole number >= 1, not {n_classes!r}.",
                code="bad_option",
                column=respondent,
                got=n_classes,
                expected="a whole number >= 1",
                fix=("give ", opt("n_classes", metavar="K"), ", e.g. 5 (quintiles of the propensity)"),
            )
        _check_collapse_options(min_respondents, None, survey)
    names = [covariates] if isinstance(covariates, str) else list(covariates)
    r = respondent_flag(survey, respondent)
    X, terms = propensity_matrix(survey, names)
    d = survey.weights
    fit = _fit_logistic(X, r, d, terms, respondent)
    p = fit.predict(X)
    coef = pd.Series(np.asarray(fit.params), index=terms, name="coefficient")
    if method == "classes":
        cuts = np.quantile(p, np.arange(1, n_classes) / n_classes)
        pclass = np.searchsorted(cuts, p, side="left")
        present, code = np.unique(pclass, return_inverse=True)
        coding = ClassCoding(
            code.astype(np.int64).reshape(-1),
            [str(int(c) + 1) for c in present],
            np.zeros(present.shape[0], dtype=np.int64),
        )
        group, report = collapse_classes(coding, r, d, min_respondents, None, column=respondent)
        rowgroup = group[coding.code]
        adj = _class_adjustment(survey, r, rowgroup, int(group.max()) + 1, respondent, clip)
        report["factor"] = adj.factor[group]
        factors = np.where(r, adj.factor[rowgroup], 0.0)
        n_trim = int((r & adj.fixed[rowgroup]).sum())
        result = PropensityReport(coef, p, factors, n_trim, report, fit)
        return _record(survey, adj, column, "response_propensity", result)
    if (p[r] <= 0).any():
        raise NonresponseError(
            "A respondent has an estimated response propensity of 0.",
            code="zero_propensity",
            column=respondent,
            rows=example_rows(chk.row_numbers(r.shape[0]), r & (p <= 0)),
            fix="simplify the model (fewer or coarser covariates)",
        )
    with np.errstate(divide="ignore"):
        f = np.where(r, 1.0 / p, 0.0)
    fixed = np.zeros(r.shape[0], dtype=bool)
    if clip is not None:
        fc = np.where(r, np.clip(f, clip[0], clip[1]), 0.0)
        fixed = r & (fc != f)
        f = fc
    new = d * f
    result = PropensityReport(coef, p, f, int(fixed.sum()), None, fit)
    if survey.is_replicate:

        def redo(rw: np.ndarray, k: int) -> np.ndarray:
            fk = _fit_logistic(X, r, rw, terms, respondent, start=np.asarray(fit.params), replicate=k + 1)
            pk = fk.predict(X)
            with np.errstate(divide="ignore"):
                ff = np.where(r, 1.0 / pk, 0.0)
            if clip is not None:
                ff = np.where(r, np.clip(ff, clip[0], clip[1]), 0.0)
            return rw * ff

        reps = redo_in_replicates(survey, redo, "response propensity model")
        adj = _Adjusted(new, replicates=reps)
    else:
        Xs = X / np.sqrt((X**2 * d[:, None]).sum(axis=0))
        info = (Xs * (d * p * (1 - p))[:, None]).T @ Xs
        try:
            K = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            raise _collinear(respondent) from None
        Z = Xs * (d * (r - p))[:, None]
        H = Xs * ((1 - p) * ~fixed)[:, None]
        adj = _Adjusted(new, steps=(CalStep("propensity", Z, H, K),))
    return _record(survey, adj, column, "response_propensity", result)


def propensity_matrix(survey: Survey, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Model matrix (intercept, numeric columns, treatment-coded categorical columns) and R's
    term names."""
    if not names:
        raise NonresponseError(
            "No covariates given for the response model.",
            code="bad_option",
            fix="give one or more columns, e.g. ['region', 'age']",
        )
    n = survey.n_rows
    rows = chk.row_numbers(n)
    cols, terms = [np.ones((n, 1))], ["(Intercept)"]
    for var in names:
        s = survey.column(var, "covariate")
        miss = s.isna().to_numpy()
        if miss.any():
            raise NonresponseError(
                f"Covariate {var!r} has {int(miss.sum())} missing value(s).",
                code="missing_values",
                column=var,
                rows=example_rows(rows, miss),
                fix="impute them, or recode a categorical covariate's missing values to a category",
            )
        if pd.api.types.is_bool_dtype(s):
            cols.append(s.to_numpy(dtype=float)[:, None])
            terms.append(f"{var}TRUE")
        elif pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            cols.append(s.to_numpy(dtype=float)[:, None])
            terms.append(var)
        else:
            codes, levels = survey.factor(var, "covariate")
            cols.append(indicator_matrix(codes, len(levels))[:, 1:])
            terms.extend(f"{var}{survey.label(var, lev)}" for lev in levels[1:])
    return np.hstack(cols), terms


def _fit_logistic(X, r, d, terms, respondent, start=None, replicate=None):
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    where = "" if replicate is None else f" (replicate {replicate})"
    pos = d > 0
    if np.linalg.matrix_rank(X[pos]) < X.shape[1]:
        raise _collinear(respondent, terms)
    model = sm.GLM(r.astype(float), X, family=sm.families.Binomial(), var_weights=d)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            # converged when no coefficient moves by more than 1e-10 relative (Newton's steps
            # shrink quadratically, so the fit is then at machine precision)
            res = model.fit(
                method="IRLS", maxiter=100, tol_criterion="params", atol=1e-12, rtol=1e-10, start_params=start
            )
    except (PerfectSeparationError, PerfectSeparationWarning):
        raise NonresponseError(
            f"The response model separates respondents from non-respondents perfectly{where}.",
            code="perfect_separation",
            column=respondent,
            fix="a covariate category with all or no respondents: merge it with another, or use "
            "nonresponse_classes",
        ) from None
    if not getattr(res, "converged", True):
        raise NonresponseError(
            f"The response model did not converge{where}.",
            code="no_convergence",
            column=respondent,
            fix="simplify the model (fewer or coarser covariates)",
        )
    return res


def _collinear(respondent: str, terms: Sequence[str] | None = None) -> NonresponseError:
    return NonresponseError(
        "The covariates of the response model are collinear (or a category has no weight)"
        + (f": terms {list(terms)}." if terms else "."),
        code="collinear_covariates",
        column=respondent,
        fix="drop a redundant covariate or merge empty categories",
    )


def _check_trim(trim: Any, survey: Survey) -> tuple[float, float] | None:
    if trim is None:
        return None
    try:
        lo, up = (float(trim[0]), float(trim[1]))
    except (TypeError, ValueError, IndexError):
        raise NonresponseError(
            f"trim must be a pair (lower, upper), not {trim!r}.",
            code="bad_option",
            column=survey.weight,
            got=trim,
            expected="(lower, upper)",
            fix=("give ", opt("trim", metavar="L,U"), ", e.g. 1 and 5"),
        ) from None
    if np.isnan(lo) or np.isnan(up) or lo > up or up <= 0:
        raise NonresponseError(
            f"trim bounds {trim!r} are not a range (need 0 < upper and lower <= upper).",
            code="bad_option",
            column=survey.weight,
            got=trim,
            expected="0 < upper and lower <= upper",
            fix=("give ", opt("trim", metavar="L,U"), ", e.g. 1 and 5"),
        )
    return lo, up
