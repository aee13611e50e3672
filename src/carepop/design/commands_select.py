"""``carepop select``: draw a sample from a frame file (plain function; the CLI wires it)."""

from __future__ import annotations

import pandas as pd

from carepop.design.selection import select, select_two_stage
from carepop.errors import CarepopError, example_rows
from carepop.io import read_data


def _allocation_file(path: str, strata: str | None) -> pd.Series:
    """Per-stratum sample sizes from a file with columns ``stratum`` and ``n_h`` (the output of
    ``carepop design allocate``)."""
    if strata is None:
        raise CarepopError(
            "--allocation gives sizes per stratum and needs --strata",
            code="bad_option",
            hint="add --strata COL",
        )
    table = read_data(path)
    missing = [c for c in ("stratum", "n_h") if c not in table.columns]
    if missing:
        raise CarepopError(
            f"allocation file {path} has no column {missing[0]!r}",
            code="missing_column",
            column=missing[0],
            hint="use the output of `carepop design allocate` (columns stratum, n_h)",
        )
    bad = ~pd.to_numeric(table["n_h"], errors="coerce").notna()
    if bad.any():
        raise CarepopError(
            "allocation sizes must be whole numbers",
            code="invalid_n",
            column="n_h",
            rows=example_rows(table.index, bad.to_numpy()),
        )
    dup = table["stratum"].duplicated(keep=False)
    if dup.any():
        raise CarepopError(
            "the allocation file repeats a stratum",
            code="duplicate_strata",
            column="stratum",
            rows=example_rows(table.index, dup.to_numpy()),
        )
    return pd.Series(pd.to_numeric(table["n_h"]).to_numpy(), index=table["stratum"].to_numpy())


def _match_labels(sizes: pd.Series, frame: pd.DataFrame, strata: str) -> pd.Series:
    """Key the allocation by the frame's stratum labels (a CSV reads ``01`` as 1, codes as text...)."""
    labels = pd.Series(frame[strata].unique())
    as_text = {str(v): v for v in labels}
    return pd.Series(sizes.to_numpy(), index=[as_text.get(str(k), k) for k in sizes.index])


def select_command(
    frame_path: str,
    n: int | None,
    method: str,
    size: str | None,
    strata: str | None,
    seed: int | None,
    sort_by: list[str] | None = None,
    allocation: str | None = None,
    psu: str | None = None,
    per_psu: int | None = None,
) -> pd.DataFrame:
    """Read the frame (CSV, Parquet, ... via :func:`carepop.io.read_data`) and return the sample.

    One stage: :func:`carepop.design.selection.select` (``srs``, ``systematic``, ``pps_systematic``
    (Madow 1949), ``pps_wor`` (Brewer 1975)); a total ``n`` over ``strata`` is allocated
    proportionally (to unit counts, or to the size totals for PPS), or ``allocation`` names a file
    of sizes per stratum. ``sort_by`` sorts the frame before systematic selection.
    Two stages (``psu`` and ``per_psu`` given): ``n`` PSUs by systematic PPS on ``size`` (or the
    PSU's row count), then ``per_psu`` units by SRS in each (:func:`select_two_stage`).
    """
    frame = read_data(frame_path)
    target: int | pd.Series | None = n
    if allocation is not None:
        if n is not None:
            raise CarepopError("give --n or --allocation, not both", code="bad_option")
        target = _match_labels(_allocation_file(allocation, strata), frame, strata)  # type: ignore[arg-type]
    if target is None:
        raise CarepopError("give the sample size: --n N or --allocation FILE", code="bad_option")
    if (psu is None) != (per_psu is None):
        raise CarepopError(
            "a two-stage sample needs both --psu and --per-psu",
            code="bad_option",
            hint="e.g. --psu msoa --n 200 --per-psu 10",
        )
    if psu is not None:
        if method not in ("pps_systematic", "srs"):
            raise CarepopError(
                f"two-stage selection draws PSUs by pps_systematic, not {method}",
                code="bad_option",
                hint="drop --method or use --method pps_systematic",
            )
        return select_two_stage(frame, psu, target, per_psu, size=size, strata=strata, seed=seed)  # type: ignore[arg-type]
    return select(frame, target, method=method, size=size, strata=strata, sort_by=sort_by, seed=seed)
