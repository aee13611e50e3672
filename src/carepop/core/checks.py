"""Checks on the columns that describe a survey design, each failing with a clear message.

Messages name the column, give example rows (1-based positions in the data, as a spreadsheet
user counts them, header excluded) and say how to fix the problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import DesignError, EstimationError, example_rows, opt


def as_pandas(data: Any) -> pd.DataFrame:
    """``data`` as a pandas DataFrame: a DataFrame as it is, a polars or pyarrow frame converted,
    anything else through ``pd.DataFrame(data)`` (e.g. a dict of columns)."""
    if isinstance(data, pd.DataFrame):
        return data
    mod = type(data).__module__
    if mod.startswith("polars") or mod.startswith("pyarrow"):
        return data.to_pandas()
    try:
        return pd.DataFrame(data)
    except Exception as exc:  # pragma: no cover - message only
        raise EstimationError(
            f"Cannot use {type(data).__name__} as survey data.",
            code="bad_data",
            got=type(data).__name__,
            expected="a pandas, polars or pyarrow data frame, or a dict of columns",
            fix="pass a pandas DataFrame or a file read with carepop.read_data",
        ) from exc


def own_copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` that no later change to ``df`` can reach.

    Under pandas' copy-on-write (always on from pandas 3; an option in pandas 2) a shallow copy is
    that: the first write to either frame copies the data written, so the copy costs no memory
    and no time until then. Without copy-on-write the data are copied now."""
    cow = pd.options.mode.copy_on_write if int(pd.__version__.split(".")[0]) < 3 else True
    return df.copy(deep=cow is not True)


def row_numbers(n: int) -> np.ndarray:
    return np.arange(1, n + 1)


def check_columns(data: pd.DataFrame, names: Iterable[str | None], what: str = "column") -> None:
    """Every named column exists; otherwise suggest the closest names."""
    cols = [str(c) for c in data.columns]
    for name in names:
        if name is None:
            continue
        if name not in data.columns:
            close = difflib.get_close_matches(str(name), cols, n=3, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(repr(c) for c in close)}?"
                if close
                else (f"the data has columns: {', '.join(cols[:15])}{' ...' if len(cols) > 15 else ''}")
            )
            raise EstimationError(f"Unknown {what} {name!r}.", code="unknown_column", column=name, fix=hint)


def numeric_column(data: pd.DataFrame, name: str, purpose: str) -> np.ndarray:
    """The column as float64, or a clear error showing a value that is not a number."""
    s = data[name]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float).to_numpy()
    if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            first = s[bad].iloc[0]
            raise EstimationError(
                f"Column {name!r} is not numeric (e.g. {first!r}), so it cannot be used as {purpose}.",
                code="not_numeric",
                column=name,
                rows=example_rows(row_numbers(len(s)), bad),
                fix="use a proportion for a categorical variable, or recode the column to numbers",
            )
        return conv.to_numpy(dtype=float, na_value=np.nan)
    return s.to_numpy(dtype=float, na_value=np.nan)


def check_weights(data: pd.DataFrame, name: str) -> np.ndarray:
    w = numeric_column(data, name, "a weight")
    rows = row_numbers(len(w))
    bad = ~np.isfinite(w)
    if bad.any():
        raise DesignError(
            f"Weight column {name!r} has {int(bad.sum())} missing or infinite value(s).",
            code="missing_weight",
            column=name,
            rows=example_rows(rows, bad),
            fix="every respondent needs a weight; give 0 to rows that should not count",
        )
    neg = w < 0
    if neg.any():
        raise DesignError(
            f"Weight column {name!r} has {int(neg.sum())} negative value(s).",
            code="negative_weight",
            column=name,
            rows=example_rows(rows, neg),
            fix="weights must be zero or positive; check the weighting step that produced them",
        )
    if not (w > 0).any():
        raise DesignError(
            f"Weight column {name!r} is zero in every row.",
            code="zero_weights",
            column=name,
            fix="give the sampling weights (inverse selection probabilities)",
        )
    check_weight_total(w, name)
    return w


def check_weight_total(w: np.ndarray, name: str | None) -> None:
    """The weights add up to a finite number (every estimate needs their total)."""
    with np.errstate(over="ignore", invalid="ignore"):
        # (no temporary copy of the weights when none is negative)
        total = float(w.sum() if w.size == 0 or w.min() >= 0 else np.abs(w).sum())
    if not np.isfinite(total):
        raise DesignError(
            f"The weights in {name!r} add up to more than the largest number a 64-bit float can hold "
            f"(about {np.finfo(float).max:.3g}), so every estimate would overflow.",
            code="overflow",
            column=name,
            got=float(np.max(np.abs(w))),
            expected=f"weights whose total is below {np.finfo(float).max:.3g}",
            fix="rescale the weights (e.g. divide them by a power of ten) or check the step that made them",
        )


def check_replicate_totals(reps: Any, names: Sequence[str]) -> None:
    """Every replicate-weight column adds up to a finite number (``reps``: an (n, R) matrix or a
    :class:`~carepop.core.estimation.repweights.ReplicateWeights`)."""
    if isinstance(reps, np.ndarray):
        with np.errstate(over="ignore", invalid="ignore"):
            totals = np.abs(reps).sum(axis=0)
    else:
        totals = reps.abs_totals()
    bad = ~np.isfinite(totals)
    if bad.any():
        c = int(np.flatnonzero(bad)[0])
        biggest = np.abs(reps[:, c] if isinstance(reps, np.ndarray) else reps.column(c))
        raise DesignError(
            f"Replicate weight column {names[c]!r} adds up to more than the largest number a 64-bit "
            f"float can hold (about {np.finfo(float).max:.3g}), so every replicate estimate would overflow.",
            code="overflow",
            column=names[c],
            got=float(np.max(biggest)),
            fix="rescale the replicate weights (e.g. divide them by a power of ten)",
        )


def check_no_missing(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    s = data[name]
    miss = s.isna().to_numpy()
    if miss.any():
        raise DesignError(
            f"The {role} column {name!r} has {int(miss.sum())} missing value(s).",
            code=f"missing_{role.replace(' ', '_')}",
            column=name,
            rows=example_rows(row_numbers(len(s)), miss),
            fix=f"every row needs a {role}; fill in the missing codes from the sample file",
        )
    return s


def codes(s: pd.Series) -> np.ndarray:
    c, _ = pd.factorize(s, sort=True)
    return c.astype(np.int64)


def check_nested(unit: np.ndarray, group: np.ndarray, unit_col: str, group_col: str, stage: str) -> None:
    """Each unit code lies in one group only (R: 'Clusters not nested in strata')."""
    n_units = int(unit.max()) + 1
    first_group = np.full(n_units, -1, dtype=np.int64)
    # group of the first row of each unit
    order = np.argsort(unit, kind="stable")
    u_sorted = unit[order]
    starts = np.flatnonzero(np.r_[True, u_sorted[1:] != u_sorted[:-1]])
    first_group[u_sorted[starts]] = group[order[starts]]
    clash = first_group[unit] != group
    if clash.any():
        raise DesignError(
            f"Some {stage} units ({unit_col!r}) appear in more than one {group_col!r}.",
            code="unit_in_two_strata",
            column=unit_col,
            rows=example_rows(row_numbers(len(unit)), clash),
            fix=(
                f"if {unit_col!r} codes restart within each {group_col!r}, pass ",
                opt("nest", True),
                f" so units are identified within their {group_col!r}; otherwise correct the codes",
            ),
        )


def popsize_per_group(
    data: pd.DataFrame,
    name: str,
    group: np.ndarray,
    n_groups: int,
    n_units: np.ndarray,
    group_label: str,
) -> np.ndarray:
    """Population size per group from an fpc column (R ``as.fpc``).

    Values all > 1... are population sizes; all <= 1 are sampling fractions (N = n / f). Mixed,
    missing, non-positive, varying within a group, or smaller than the sample: a clear error.
    """
    v = numeric_column(data, name, "an fpc")
    rows = row_numbers(len(v))
    bad = ~np.isfinite(v) | (v <= 0)
    if bad.any():
        raise DesignError(
            f"fpc column {name!r} has missing, zero or negative values.",
            code="bad_fpc",
            column=name,
            rows=example_rows(rows, bad),
            fix="give the population size (number of units in the stratum) or the sampling fraction",
        )
    is_size = v > 1
    if is_size.any() and not (v >= 1).all():
        raise DesignError(
            f"fpc column {name!r} mixes population sizes (> 1) and sampling fractions (< 1).",
            code="mixed_fpc",
            column=name,
            rows=example_rows(rows, v < 1),
            fix="use population sizes throughout, or sampling fractions throughout",
        )
    lo = np.full(n_groups, np.inf)
    hi = np.full(n_groups, -np.inf)
    np.minimum.at(lo, group, v)
    np.maximum.at(hi, group, v)
    varies = lo != hi
    if varies.any():
        raise DesignError(
            f"fpc column {name!r} varies within {group_label}.",
            code="fpc_varies",
            column=name,
            rows=example_rows(rows, varies[group]),
            fix=f"the fpc must be the same for every row of a {group_label}",
        )
    if is_size.any():
        pop = lo
    else:
        pop = n_units / lo
    small = pop < n_units
    if small.any():
        rowmask = small[group]
        raise DesignError(
            f"fpc column {name!r} gives a population smaller than the sample in "
            f"{int(small.sum())} {group_label}(s) (e.g. N={pop[small][0]:g} but {int(n_units[small][0])} "
            "units sampled).",
            code="fpc_smaller_than_sample",
            column=name,
            rows=example_rows(rows, rowmask),
            fix="the fpc is the population size of the stratum (or the sampling fraction); "
            "it cannot be smaller than the number of units sampled there",
        )
    return pop
