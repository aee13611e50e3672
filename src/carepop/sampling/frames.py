"""Sampling from frame files: allocate a sample over the strata of a stratum table, and draw a
sample from a frame (CSV, Parquet, SPSS, ... read with :func:`carepop.io.read_data`).

:func:`allocate_frame` is :func:`carepop.sampling.allocation.allocate` on a file;
:func:`select_frame` is :func:`carepop.sampling.selection.select` (or ``select_two_stage``) on a
file, with an optional file of sizes per stratum (the output of :func:`allocate_frame`).
Rows in messages are 1-based data rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from carepop.errors import CarepopError, data_rows, opt
from carepop.io import read_data
from carepop.sampling.allocation import allocate
from carepop.sampling.selection import select, select_two_stage


def _allocation_file(path: str, strata: str | None) -> pd.Series:
    """Per-stratum sample sizes from a file with columns ``stratum`` and ``n_h`` (the output of
    ``carepop design allocate``)."""
    if strata is None:
        raise CarepopError(
            ("An allocation (", opt("allocation", metavar="FILE"), ") gives sizes per stratum."),
            code="bad_option",
            fix=("name the frame's stratum column: ", opt("strata", metavar="COL")),
        )
    table = read_data(path)
    missing = [c for c in ("stratum", "n_h") if c not in table.columns]
    if missing:
        raise CarepopError(
            f"allocation file {path} has no column {missing[0]!r}",
            code="missing_column",
            column=missing[0],
            fix=(
                "give ",
                opt("allocation", metavar="FILE"),
                " the output of the allocation (columns stratum, n_h)",
            ),
        )
    bad = ~pd.to_numeric(table["n_h"], errors="coerce").notna()
    if bad.any():
        raise CarepopError(
            "allocation sizes must be whole numbers",
            code="invalid_n",
            column="n_h",
            rows=data_rows(bad.to_numpy()),
        )
    dup = table["stratum"].duplicated(keep=False)
    if dup.any():
        raise CarepopError(
            "the allocation file repeats a stratum",
            code="duplicate_strata",
            column="stratum",
            rows=data_rows(dup.to_numpy()),
        )
    return pd.Series(pd.to_numeric(table["n_h"]).to_numpy(), index=table["stratum"].to_numpy())


def _match_labels(sizes: pd.Series, frame: pd.DataFrame, strata: str) -> pd.Series:
    """Key the allocation by the frame's stratum labels (a CSV reads ``01`` as 1, codes as text...)."""
    labels = pd.Series(frame[strata].unique())
    as_text = {str(v): v for v in labels}
    return pd.Series(sizes.to_numpy(), index=[as_text.get(str(k), k) for k in sizes.index])


def select_frame(
    path: str,
    *,
    n: int | None = None,
    method: str = "srs",
    size: str | None = None,
    strata: str | None = None,
    seed: int | None = None,
    sort_by: list[str] | None = None,
    allocation: str | None = None,
    psu: str | None = None,
    per_psu: int | None = None,
    read_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read the frame (CSV, Parquet, ... via :func:`carepop.io.read_data`) and return the sample.

    One stage: :func:`carepop.sampling.selection.select` (``srs``, ``systematic``, ``pps_systematic``
    (Madow 1949), ``pps_wor`` (Brewer 1975)); a total ``n`` over ``strata`` is allocated
    proportionally (to unit counts, or to the size totals for PPS), or ``allocation`` names a file
    of sizes per stratum. ``sort_by`` sorts the frame before systematic selection.
    Two stages (``psu`` and ``per_psu`` given): ``n`` PSUs by systematic PPS on ``size`` (or the
    PSU's row count), then ``per_psu`` units by SRS in each (:func:`select_two_stage`).
    ``read_options`` go to :func:`carepop.io.read_data` for the frame (``encoding``, ``sep``,
    ``format``).
    """
    if allocation is not None and n is not None:
        raise CarepopError(
            (
                "Give the sample size once: ",
                opt("n", metavar="N"),
                " or ",
                opt("allocation", metavar="FILE"),
                ".",
            ),
            code="bad_option",
            fix=("leave out ", opt("n", metavar="N"), " or ", opt("allocation", metavar="FILE")),
        )
    if allocation is None and n is None:
        raise CarepopError(
            "No sample size given.",
            code="bad_option",
            fix=("give ", opt("n", metavar="N"), " or ", opt("allocation", metavar="FILE")),
        )
    if (psu is None) != (per_psu is None):
        raise CarepopError(
            (
                "A two-stage sample needs both ",
                opt("psu", metavar="COL"),
                " and ",
                opt("per_psu", metavar="M"),
                ".",
            ),
            code="bad_option",
            fix=("give both, e.g. ", opt("psu", "msoa"), " ", opt("n", 200), " ", opt("per_psu", 10)),
        )
    if psu is not None and method not in ("pps_systematic", "srs"):
        raise CarepopError(
            f"Two-stage selection draws PSUs by pps_systematic, not {method}.",
            code="bad_option",
            got=method,
            fix=("leave out the method or set ", opt("method", "pps_systematic")),
        )
    frame = read_data(path, **dict(read_options or {}))
    target: int | pd.Series | None = n
    if allocation is not None:
        target = _match_labels(_allocation_file(allocation, strata), frame, strata)  # type: ignore[arg-type]
    if psu is not None:
        return select_two_stage(frame, psu, target, per_psu, size=size, strata=strata, seed=seed)  # type: ignore[arg-type]
    return select(frame, target, method=method, size=size, strata=strata, sort_by=sort_by, seed=seed)


def _column(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        raise CarepopError(
            f"column {col!r} is not in the frame",
            code="missing_column",
            column=col,
            fix=f"use one of the frame's columns: {', '.join(map(str, frame.columns[:30]))}",
        )
    return frame[col]


def _numeric(frame: pd.DataFrame, col: str) -> pd.Series:
    s = pd.to_numeric(_column(frame, col), errors="coerce")
    bad = s.isna()
    if bad.any():
        raise CarepopError(
            f"column {col!r} must be numeric with no missing values",
            code="non_numeric",
            column=col,
            rows=data_rows(bad.to_numpy()),
        )
    return s.astype(float)


def allocate_frame(
    path: str,
    *,
    strata: str,
    size: str,
    n: int | None = None,
    method: str = "proportional",
    sd: str | None = None,
    cost: str | None = None,
    min_n: int | None = None,
    max_n: int | None = None,
    budget: float | None = None,
    target_se: float | None = None,
    read_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Allocate ``n`` over the strata of a stratum table (one row per stratum: name, ``N_h``, optional
    ``S_h`` and cost columns). See :func:`carepop.sampling.allocation.allocate` for the formulas.
    ``read_options`` go to :func:`carepop.io.read_data` (``encoding``, ``sep``, ``format``)."""
    frame = read_data(path, **dict(read_options or {}))
    stratum_col, size_col, sd_col, cost_col = strata, size, sd, cost
    strata_values = _column(frame, stratum_col)
    dup = strata_values.duplicated(keep=False)
    if dup.any():
        raise CarepopError(
            f"stratum column {stratum_col!r} has repeated values; the frame must have one row per stratum",
            code="duplicate_strata",
            column=stratum_col,
            rows=data_rows(dup.to_numpy()),
            fix="aggregate the frame to one row per stratum with its population size",
        )
    N_h = _numeric(frame, size_col)
    S_h = _numeric(frame, sd_col) if sd_col else None
    cost_h = _numeric(frame, cost_col) if cost_col else None
    try:
        return allocate(
            N_h.to_numpy(),
            n,
            method,
            S_h=None if S_h is None else S_h.to_numpy(),
            cost_h=None if cost_h is None else cost_h.to_numpy(),
            min_n=min_n,
            max_n=max_n,
            strata=list(strata_values),
            budget=budget,
            target_se=target_se,
        )
    except CarepopError as err:  # name the frame's columns, not allocate()'s arrays
        columns = {"N_h": size_col, "S_h": sd_col, "cost_h": cost_col}
        if columns.get(err.column or ""):
            err.column = columns[err.column]  # type: ignore[index]
        raise
