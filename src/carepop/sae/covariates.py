"""Design matrices for the area-level models from an area table (one row per area).

:func:`design_matrix` codes numeric covariates as they are and categorical ones with R's treatment
contrasts (``model.matrix(~ x + factor(g))``): levels sorted as R's ``factor()`` sorts them (numbers
numerically, strings by code point — R's locale collation may order mixed-case strings differently),
the first level dropped as the reference when there is an intercept. Without an intercept the first
categorical covariate keeps all its levels (as R does) and any further one drops its first.
Column names follow R's but are written ``MajorArea[2]``.

Bad input raises :class:`ModelError`: an unknown column, a non-numeric numeric covariate, missing
covariate values (naming the rows), and a singular design (naming the columns involved).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from carepop.errors import ModelError, count_rows, data_rows
from carepop.sae._checks import check_full_rank

__all__ = ["design_matrix"]


def design_matrix(
    table: pd.DataFrame,
    covariates: Sequence[str] = (),
    categorical: Sequence[str] = (),
    intercept: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """``(X, names)``: the (M, p) float design matrix of ``table``'s rows and its column names.

    Columns, in order: ``(Intercept)`` if ``intercept``, then each of ``covariates`` (numeric,
    as is), then the indicator columns ``name[level]`` of each of ``categorical``.
    R equivalent: ``model.matrix(~ x1 + x2 + factor(g), data)`` (``~ 0 + ...`` without intercept).
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    categorical = [categorical] if isinstance(categorical, str) else list(categorical)
    missing_cols = [c for c in [*covariates, *categorical] if c not in table.columns]
    if missing_cols:
        raise ModelError(
            f"Covariate column(s) {', '.join(map(repr, missing_cols))} not in the area table.",
            code="unknown_column",
            column=missing_cols[0],
            got=missing_cols,
            expected=list(map(str, table.columns)),
            fix="check the spelling of the covariate names",
        )
    n = len(table)
    cols: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(n))
        names.append("(Intercept)")
    for c in covariates:
        s = table[c]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            if pd.api.types.is_bool_dtype(s):
                s = s.astype(float)
            else:
                converted = pd.to_numeric(s, errors="coerce")
                bad = (converted.isna() & s.notna()).to_numpy()
                raise ModelError(
                    f"Covariate {c!r} is not numeric.",
                    code="not_numeric",
                    column=c,
                    rows=data_rows(bad) if bad.any() else None,
                    got=str(s.dtype) if not bad.any() else s[bad].iloc[0],
                    expected="numbers",
                    fix=f"convert {c!r} to numbers, or list it under categorical",
                )
        v = s.to_numpy(dtype=float, na_value=np.nan)
        _check_missing(c, ~np.isfinite(v))
        cols.append(v)
        names.append(c)
    full_first = not intercept
    for c in categorical:
        s = table[c]
        _check_missing(c, s.isna().to_numpy())
        levels = _sorted_levels(s)
        if len(levels) < 2:
            raise ModelError(
                f"Categorical covariate {c!r} has a single level ({levels[0]!r}).",
                code="single_level",
                column=c,
                got=levels[0],
                expected="at least two levels",
                fix=f"drop {c!r} from categorical",
            )
        codes = pd.Categorical(s, categories=levels).codes
        first = 0 if full_first else 1
        full_first = False
        for j in range(first, len(levels)):
            cols.append((codes == j).astype(float))
            names.append(f"{c}[{_level_name(levels[j])}]")
    if not cols:
        raise ModelError(
            "The design matrix has no columns.",
            code="empty_design",
            expected="an intercept or at least one covariate",
            fix="set intercept=True or name covariates",
        )
    X = np.column_stack(cols)
    check_full_rank(X, names)
    return X, names


def _sorted_levels(s: pd.Series) -> list:
    """Distinct values sorted as R's ``factor()`` does (numbers numerically)."""
    values = list(pd.unique(s))
    try:
        return sorted(values)
    except TypeError:  # mixed types: compare as text
        return sorted(values, key=str)


def _level_name(level: object) -> str:
    """A level as R prints it: ``2`` not ``2.0`` for a whole number."""
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)


def _check_missing(column: str, bad: np.ndarray) -> None:
    if bad.any():
        raise ModelError(
            f"Covariate {column!r} is missing in {count_rows(bad)} area(s).",
            code="missing_covariate",
            column=column,
            rows=data_rows(bad),
            expected="a value for every area",
            fix="fill in the covariate (every area, also those without a direct estimate, needs it)",
        )
