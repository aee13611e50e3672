"""``carepop select``: draw a sample from a frame file (plain function; the CLI wires it)."""

from __future__ import annotations

import pandas as pd

from carepop.design.selection import select
from carepop.io import read_data


def select_command(
    frame_path: str,
    n: int,
    method: str,
    size: str | None,
    strata: str | None,
    seed: int | None,
    out: str | None,
) -> pd.DataFrame:
    """Read the frame (CSV, Parquet, ... via :func:`carepop.io.read_data`) and return the sample.

    Selection is :func:`carepop.design.selection.select` (methods ``srs``, ``systematic``,
    ``pps_systematic`` (Madow 1949), ``pps_wor`` (Brewer 1975)); with ``strata`` the total ``n`` is
    allocated proportionally. ``out`` is accepted for the CLI's signature; writing is the caller's job.
    """
    frame = read_data(frame_path)
    return select(frame, n, method=method, size=size, strata=strata, seed=seed)
