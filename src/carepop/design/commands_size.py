"""Plain functions behind ``carepop design size`` and ``carepop design allocate``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from carepop.design.allocation import allocate
from carepop.design.size import sample_size_proportion
from carepop.errors import CarepopError
from carepop.io import read_data

__all__ = ["size_command", "allocate_command"]


def size_command(
    proportion: float,
    moe: float,
    relative: bool,
    level: float,
    population: float | None,
    deff: float,
    response_rate: float,
) -> dict[str, Any]:
    """Sample size for a proportion; a JSON-ready dict with ``respondents`` and ``issued`` first.

    ``n0 = z^2 p (1 - p) deff / e^2``, ``n = n0 / (1 + (n0 - 1) / N)``, ``issued = ceil(n / rate)``.
    """
    return sample_size_proportion(
        proportion,
        moe,
        relative=relative,
        level=level,
        population=population,
        deff=deff,
        response_rate=response_rate,
    )


def _column(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        raise CarepopError(
            f"column {col!r} is not in the frame",
            code="missing_column",
            column=col,
            hint=f"available columns: {', '.join(map(str, frame.columns))}",
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
            rows=list(frame.index[bad]),
        )
    return s.astype(float)


def allocate_command(
    frame_csv_path: str,
    stratum_col: str,
    size_col: str,
    n: int | None,
    method: str,
    sd_col: str | None,
    cost_col: str | None,
    min_n: int | None,
    max_n: int | None,
    budget: float | None = None,
    target_se: float | None = None,
) -> pd.DataFrame:
    """Allocate ``n`` over the strata of a stratum table (one row per stratum: name, ``N_h``, optional
    ``S_h`` and cost columns). See :func:`carepop.design.allocation.allocate` for the formulas."""
    frame = read_data(frame_csv_path)
    strata = _column(frame, stratum_col)
    dup = strata.duplicated(keep=False)
    if dup.any():
        raise CarepopError(
            f"stratum column {stratum_col!r} has repeated values; the frame must have one row per stratum",
            code="duplicate_strata",
            column=stratum_col,
            rows=list(frame.index[dup]),
            hint="aggregate the frame to one row per stratum with its population size",
        )
    N_h = _numeric(frame, size_col)
    S_h = _numeric(frame, sd_col) if sd_col else None
    cost_h = _numeric(frame, cost_col) if cost_col else None
    return allocate(
        N_h.to_numpy(),
        n,
        method,
        S_h=None if S_h is None else S_h.to_numpy(),
        cost_h=None if cost_h is None else cost_h.to_numpy(),
        min_n=min_n,
        max_n=max_n,
        strata=list(strata),
        budget=budget,
        target_se=target_se,
    )
