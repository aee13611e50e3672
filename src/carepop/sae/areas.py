"""The inputs of an area-level model: direct estimates with their variances, joined to area covariates.

:func:`area_data` takes

- the **direct estimates**: an :class:`~carepop.core.results.Estimates` from a survey's domain
  estimate (``survey.mean("carer", by="la")``: its ``estimate`` and ``se`` columns and its one
  domain column), or any table with an area column, an estimate column and a standard error or
  variance column;
- the **area table** (optional): one row per area with the covariates — carepop's own census, IMD,
  GP-register and CLD area tables (``carepop.sources.tables.load_table("area")``), or the user's.
  Areas in the area table without a direct estimate are *out of sample*: they get the synthetic
  prediction x'β. Without an area table the covariates are columns of the direct table.

and returns :class:`AreaData` (the vectors and design matrix the model functions take), in the
order of the area table (or of the direct table when there is none).

Checks (each a :class:`~carepop.errors.ModelError` naming the areas): the area column present; no
area twice in either table; every area with a direct estimate present in the area table with all
its covariates; a positive, finite sampling variance for every direct estimate; an estimate for
every area that has a variance. A direct table whose estimate is missing for an area treats that
area as out of sample and says so in the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepop.core.results import Estimates
from carepop.core.vocabulary import VarianceSmoothing, choose
from carepop.errors import ModelError, opt


@dataclass(frozen=True)
class AreaData:
    """Areas as rows: codes, direct estimates (NaN out of sample), sampling variances, covariates."""

    area: str  # the area column's name
    areas: pd.Index  # (M,) area codes
    y: np.ndarray  # (M,) direct estimates; NaN out of sample
    psi: np.ndarray  # (M,) sampling variances; NaN out of sample
    X: np.ndarray  # (M, p) design matrix
    terms: tuple[str, ...]  # names of X's columns
    table: pd.DataFrame  # the joined table (area column, direct columns, area-table columns)
    notes: tuple[str, ...] = ()
    smoothing: dict | None = None  # smooth="proportion": {"n": (M,) sample sizes, "deff": float}

    @property
    def in_sample(self) -> np.ndarray:
        return np.isfinite(self.y)


def _direct_table(
    direct: Estimates | pd.DataFrame,
    area: str | None,
    variable: str | None,
    category: object | None,
) -> tuple[pd.DataFrame, str]:
    """The direct estimates as a plain table, with the area column named."""
    if isinstance(direct, Estimates):
        table = direct.to_pandas()
        if area is None:
            if len(direct.by) != 1:
                raise ModelError(
                    f"The direct estimates have {len(direct.by)} domain columns "
                    f"({', '.join(direct.by) or 'none'}); a small-area model needs one area column.",
                    code="area_column",
                    expected="estimates by one domain column (the areas)",
                    fix=("estimate by the area column only, or name it with ", opt("area", metavar="COL")),
                )
            area = direct.by[0]
        keys = [c for c in ("statistic", "variable", "level") if c in table.columns]
        if variable is not None:
            table = table[table["variable"] == variable]
        if category is not None and "level" in table.columns:
            table = table[is_category(table["level"], category)]
        combos = table[keys].astype(str).drop_duplicates() if keys else pd.DataFrame()
        if len(combos) > 1:
            shown = "; ".join(" ".join(r) for r in combos.itertuples(index=False))
            raise ModelError(
                f"The direct estimates hold {len(combos)} different estimates ({shown}); a model takes one.",
                code="several_estimates",
                fix=(
                    "choose one with ",
                    opt("variable", metavar="NAME"),
                    " and, for a proportion, ",
                    opt("category", metavar="LEVEL"),
                ),
            )
        if table.empty:
            raise ModelError(
                "No direct estimate is left after choosing the variable and level.",
                code="no_estimates",
                got={"variable": variable, "category": category},
                fix=("check ", opt("variable", metavar="NAME"), " and ", opt("category", metavar="LEVEL")),
            )
        return table.drop(columns=keys).reset_index(drop=True), area
    if not isinstance(direct, pd.DataFrame):
        raise ModelError(
            f"The direct estimates must be an Estimates result or a table, not {type(direct).__name__}.",
            code="bad_input",
        )
    if area is None:
        raise ModelError(
            "Name the area column of the direct estimates.",
            code="area_column",
            fix=("give ", opt("area", metavar="COL")),
        )
    return direct.reset_index(drop=True), area


def is_category(levels: pd.Series, category: object) -> np.ndarray:
    """Rows whose level is ``category``, as text or as a number ("1" matches 1 and 1.0)."""
    match = (levels.astype(str) == str(category)).to_numpy()
    if not match.any():
        try:
            match = (pd.to_numeric(levels, errors="coerce") == float(category)).to_numpy()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
    return match


def need_columns(table: pd.DataFrame, columns: Sequence[str], what: str, param: str | None = None) -> None:
    """A ModelError naming the columns of ``columns`` missing from ``table`` (and ``param`` in the fix)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ModelError(
            f"{what} has no column {', '.join(map(repr, missing))}.",
            code="unknown_column",
            column=missing[0],
            expected=list(map(str, table.columns)),
            fix=("check ", opt(param, metavar="COL"), " (names are case-sensitive)")
            if param
            else "check the column names (they are case-sensitive)",
        )


def _no_duplicates(codes: pd.Series, what: str, area: str) -> None:
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        names = list(dict.fromkeys(codes[dup].astype(str)))
        raise ModelError(
            f"{len(names)} area(s) appear more than once in {what}: {_show(names)}.",
            code="duplicate_area",
            column=area,
            rows=(np.flatnonzero(dup)[:5] + 1).tolist(),
            got=names[:5],
            fix="give one row per area (aggregate or remove the repeated rows)",
        )


def _show(names: Sequence[str], limit: int = 8) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def area_data(
    direct: Estimates | pd.DataFrame,
    areas: pd.DataFrame | None = None,
    *,
    area: str | None = None,
    covariates: Sequence[str] = (),
    categorical: Sequence[str] = (),
    intercept: bool = True,
    estimate: str = "estimate",
    se: str | None = None,
    variance: str | None = None,
    variable: str | None = None,
    category: object | None = None,
    smooth: str = "none",
    sample_size: str | None = None,
    variance_needed: bool = True,
) -> AreaData:
    """Join direct estimates to area covariates (see the module docstring).

    Parameters
    ----------
    direct : an ``Estimates`` by one domain column, or a table of direct estimates.
    areas : the area table with the covariates (one row per area), or None (covariates in ``direct``).
    area : the area column (default: the domain column of an ``Estimates``); the same name in both tables.
    covariates, categorical : numeric covariates; categorical covariates (R treatment contrasts).
    intercept : include an intercept.
    estimate : the direct estimate column (``estimate`` in an ``Estimates``).
    se, variance : the column with the direct estimates' standard errors, or with their variances
        (one of them; an ``Estimates`` gives ``se``).
    variable, category : which estimate of an ``Estimates`` holding several (``category``: the
        level of a proportion).
    smooth : replace the direct sampling variances by smoothed ones (all areas, the choice recorded in
        the notes): ``proportion`` — ``p̄(1 − p̄) deff / n_i`` with ``p̄`` the pooled proportion and
        ``deff`` the median design effect ``ψ_i / (p_i(1 − p_i)/n_i)`` of the areas with a usable
        variance (1 when none has); ``gvf`` — a generalised variance function, least squares of
        ``log ψ_i`` on ``log n_i`` over those areas (lognormal-corrected). Areas
        with 0% or 100% or very few respondents then get usable variances.
    sample_size : the column of the areas' respondent counts (default ``n``, as in an ``Estimates``).
    variance_needed : False when the model does not use the direct variances (the arcsine
        transformation with given effective sample sizes): a zero or missing SE is then accepted.
    """
    from carepop.sae.covariates import design_matrix

    table, area = _direct_table(direct, area, variable, category)
    if isinstance(direct, Estimates) and se is None and variance is None:
        se = "se"
    if (se is None) == (variance is None):
        raise ModelError(
            "Give the direct estimates' standard errors or their variances (one of the two).",
            code="sampling_variance",
            fix=("give ", opt("se", metavar="COL"), " or ", opt("variance", metavar="COL")),
        )
    spread = se if se is not None else variance
    need_columns(table, [area, estimate, spread], "The direct estimates")
    _no_duplicates(table[area], "the direct estimates", area)
    y_in = pd.to_numeric(table[estimate], errors="coerce").to_numpy(dtype=float)
    s_in = pd.to_numeric(table[spread], errors="coerce").to_numpy(dtype=float)
    for col, raw, num in ((estimate, table[estimate], y_in), (spread, table[spread], s_in)):
        bad = raw.notna().to_numpy() & ~np.isfinite(num)
        if bad.any():
            raise ModelError(
                f"Column {col!r} of the direct estimates has values that are not numbers.",
                code="not_numeric",
                column=col,
                rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
                got=raw[bad].astype(str).tolist()[:5],
                fix="give numbers (a decimal point, no thousands separators or text)",
            )
    psi_in = s_in**2 if se is not None else s_in
    has_y = np.isfinite(y_in)
    notes: list[str] = []
    smooth = choose(smooth, VarianceSmoothing, "smooth", "variance smoothing")
    smoothing = None
    if smooth != "none":
        psi_in, note, smoothing = _smoothed(table, y_in, psi_in, has_y, smooth, sample_size)
        s_in = np.sqrt(psi_in) if se is not None else psi_in
        notes.append(note)
    bad_var = has_y & ~(np.isfinite(s_in) & (s_in > 0))  # a negative SE is an error, not a variance
    if not variance_needed:  # (the model sets the variances itself: arcsine with sample sizes)
        bad_var = has_y & np.isfinite(s_in) & (s_in < 0)
    if bad_var.any():
        names = table[area].astype(str)[bad_var].tolist()
        raise ModelError(
            f"{len(names)} area(s) have a direct estimate without a positive sampling "
            f"{'standard error' if se is not None else 'variance'}: {_show(names)}.",
            code="nonpositive_variance",
            column=spread,
            rows=(np.flatnonzero(bad_var)[:5] + 1).tolist(),
            got=[float(v) for v in s_in[bad_var][:5]],
            fix=(
                "smooth the variances (carepop.sae.variance: a generalised variance function, or "
                "p(1-p)/n_eff for proportions), or remove these areas' direct estimates",
            ),
        )
    orphan_var = ~has_y & np.isfinite(psi_in)
    if orphan_var.any():
        names = table[area].astype(str)[orphan_var].tolist()
        raise ModelError(
            f"{len(names)} area(s) have a sampling variance but no direct estimate: {_show(names)}.",
            code="missing_estimate",
            column=estimate,
            rows=(np.flatnonzero(orphan_var)[:5] + 1).tolist(),
            fix="give the estimate, or leave both the estimate and its variance empty (out of sample)",
        )
    if (~has_y).any():
        notes.append(
            f"{int((~has_y).sum())} area(s) of the direct table have no estimate and are treated "
            "as out of sample (synthetic prediction)"
        )
    direct_part = pd.DataFrame({area: table[area], "direct": y_in, "direct_se": np.sqrt(psi_in)})
    if areas is None:
        joined = pd.concat([direct_part, table.drop(columns=[area, estimate, spread])], axis=1)
    else:
        need_columns(areas, [area], "The area table")
        _no_duplicates(areas[area], "the area table", area)
        key_direct = table[area].astype(str).reset_index(drop=True)
        key_areas = areas[area].astype(str).reset_index(drop=True)
        absent = ~key_direct.isin(set(key_areas)).to_numpy()
        if absent.any():
            names = key_direct[absent].tolist()
            raise ModelError(
                f"{len(names)} area(s) with a direct estimate are not in the area table, so they "
                f"have no covariates: {_show(names)}.",
                code="area_without_covariates",
                column=area,
                rows=(np.flatnonzero(absent)[:5] + 1).tolist(),
                got=names[:5],
                fix="add these areas to the area table (check that both use the same area codes)",
            )
        frame = areas.reset_index(drop=True).copy()
        frame[area] = key_areas.to_numpy()  # by position (the caller's index may be in any order)
        dp = direct_part.assign(**{area: key_direct.to_numpy()})
        # the direct table's other columns (sample sizes, ...) come along unless the area table has them
        extra = [
            c
            for c in table.columns
            if c not in (area, estimate, spread, "direct", "direct_se") and c not in frame.columns
        ]
        dp = pd.concat([dp, table[extra].reset_index(drop=True)], axis=1)
        joined = frame.merge(dp, on=area, how="left", validate="one_to_one")
        # keep the area table's order; direct columns first, after the area code
        rest = [c for c in frame.columns if c != area]
        joined = joined[[area, "direct", "direct_se", *rest, *extra]]
    X, terms = design_matrix(joined, list(covariates), list(categorical), intercept=intercept)
    y = joined["direct"].to_numpy(dtype=float)
    psi = joined["direct_se"].to_numpy(dtype=float) ** 2
    if smoothing is not None:  # the sample sizes in the order of the joined table
        n_by_area = pd.Series(smoothing["n"], index=table[area].astype(str).to_numpy())
        smoothing = {**smoothing, "n": n_by_area.reindex(joined[area].astype(str)).to_numpy()}
    return AreaData(
        area=area,
        areas=pd.Index(joined[area]),
        y=y,
        psi=psi,
        X=X,
        terms=tuple(terms),
        table=joined,
        notes=tuple(notes),
        smoothing=smoothing,
    )


def _smoothed(
    table: pd.DataFrame,
    y: np.ndarray,
    psi: np.ndarray,
    has_y: np.ndarray,
    smooth: str,
    sample_size: str | None,
) -> tuple[np.ndarray, str, dict | None]:
    """Smoothed sampling variances (see :func:`area_data`'s ``smooth``), a note of the choice and,
    for proportions, the sample sizes and design effect (for :func:`resmooth`)."""
    from carepop.sae.variance import gvf_variance, proportion_variance

    col = sample_size or "n"
    if col not in table.columns:
        raise ModelError(
            f"Smoothing the sampling variances needs the areas' sample sizes; there is no column {col!r}.",
            code="unknown_column",
            column=col,
            expected=list(map(str, table.columns)),
            fix=("name the respondent-count column with ", opt("sample_size", metavar="COL")),
        )
    n = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
    bad = has_y & ~(np.isfinite(n) & (n > 0))
    if bad.any():
        raise ModelError(
            f"{int(bad.sum())} area(s) with a direct estimate have no positive sample size in {col!r}.",
            code="bad_sample_size",
            column=col,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            fix="give every sampled area its number of respondents",
        )
    y_obs = np.where(has_y, y, np.nan)
    proportion = bool(np.all((y[has_y] >= 0) & (y[has_y] <= 1)))
    usable = has_y & np.isfinite(psi) & (psi > 0)
    if smooth == "proportion":
        if not proportion:
            raise ModelError(
                "Variance smoothing for proportions needs direct estimates between 0 and 1.",
                code="not_a_proportion",
                fix=("use ", opt("smooth", "gvf"), " for estimates that are not proportions"),
            )
        pq = y * (1 - y)
        ok = usable & (pq > 0)
        deff = float(np.median(psi[ok] / (pq[ok] / n[ok]))) if ok.any() else 1.0
        out, record = proportion_variance(y_obs, np.where(has_y, n, np.nan), deff=deff, smooth="pooled")
        note = (
            f"sampling variances smoothed as p(1-p) deff / n with the pooled p and deff = {deff:.4g} "
            f"(median over {int(ok.sum())} areas); {record.note}"
        )
    else:
        terms = ("log_n",)  # log p(1-p) or log|y| would be infinite for areas at 0% / 100% / 0
        out, record = gvf_variance(
            y_obs, np.where(usable, psi, np.nan), np.where(has_y, n, np.nan), terms=terms
        )
        note = (
            f"sampling variances smoothed by a generalised variance function ({', '.join(terms)}); "
            f"{record.note}"
        )
    facts = {"n": np.where(has_y, n, np.nan), "deff": deff} if smooth == "proportion" else None
    return np.where(has_y, out, np.nan), note, facts


def resmooth(data: AreaData, p: np.ndarray, what: str) -> AreaData:
    """The proportion-smoothed variances again with area proportions ``p`` (M,) in place of the
    pooled one: ``ψ_i = p_i(1 − p_i) deff / n_i`` (``p`` kept within ``[1/(2n_i), 1 − 1/(2n_i)]``).
    ``what`` says where ``p`` came from (for the note)."""
    from dataclasses import replace

    facts = data.smoothing
    if facts is None:
        return data
    n, deff = facts["n"], facts["deff"]
    inside = data.in_sample
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(p, 0.5 / n, 1 - 0.5 / n)
        psi = np.where(inside, q * (1 - q) * deff / n, np.nan)
    table = data.table.copy()
    table["direct_se"] = np.sqrt(psi)
    note = f"sampling variances re-smoothed as p(1-p) deff / n with p the {what} (deff = {deff:.4g})"
    return replace(data, psi=psi, table=table, notes=(*data.notes, note))
