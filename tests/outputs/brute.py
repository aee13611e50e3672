"""An independent reference for the disclosure audit: every integer table an attacker could hold.

Given the inner cells and the status of every published cell, enumerate candidate inner tables on
a grid, aggregate each to every published cell by matching labels (a margin covers the inner
cells whose labels agree with it wherever it is not ``Total``: no Kronecker product, no LP), keep
the candidates that publish the same table under the rules, and take each suppressed cell's
smallest and largest value among them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from carepop.outputs.disclosure import TOTAL


def covers(cells: pd.DataFrame, inner: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(cells, inner) 0/1: cell i adds up inner cell j."""
    m = np.ones((len(cells), len(inner)), dtype=bool)
    for c in columns:
        a = cells[c].astype(str).to_numpy()[:, None]
        b = inner[c].astype(str).to_numpy()[None, :]
        m &= (a == TOTAL) | (a == b)
    return m.astype(float)


def brute_ranges(
    inner: pd.DataFrame,
    count: str,
    columns: list[str],
    cells: pd.DataFrame,
    suppressed: np.ndarray,
    *,
    threshold: int,
    base: int,
    top: int,
    limit: int = 3_000_000,
) -> np.ndarray | None:
    """(cells, 2) [min, max] of each suppressed cell over the candidate tables (NaN for published
    cells), or None when there are more than ``limit`` candidates. An inner cell published as
    ``v`` takes the values that round to ``v`` (0 alone for 0), a suppressed one 1..top: ``top``
    must be at least the largest value any cell can take (the grand total's bound)."""
    M = covers(cells, inner, columns)
    true = M @ inner[count].to_numpy(dtype=float)
    published = np.floor(true / base + 0.5) * base
    options = []
    for j in range(len(inner)):
        own = (cells[columns].astype(str) != TOTAL).all(axis=1).to_numpy()
        i = int(np.flatnonzero(M[:, j].astype(bool) & own)[0])  # the inner cell itself
        if suppressed[i]:
            options.append(range(1, top + 1))
        elif published[i] == 0:
            options.append(range(1))
        else:
            v = int(published[i])
            options.append(range(max(threshold, v - base // 2), v + (base - 1) // 2 + 1))
    if np.prod([len(o) for o in options], dtype=float) > limit:
        return None
    grid = np.array(list(itertools.product(*options)), dtype=float)
    values = grid @ M.T  # (candidates, cells)
    shown = np.floor(values / base + 0.5) * base
    # a published non-zero value comes from a count of threshold or more; zeros are published
    ok_pub = np.where(published == 0, values == 0, (shown == published) & (values >= threshold))
    ok = np.where(suppressed[None, :], values >= 1, ok_pub).all(axis=1)
    out = np.full((len(cells), 2), np.nan)
    feasible = values[ok]
    assert len(feasible) > 0  # the true table is always one of them
    out[suppressed, 0] = feasible[:, suppressed].min(axis=0)
    out[suppressed, 1] = feasible[:, suppressed].max(axis=0)
    return out
