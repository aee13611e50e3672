"""Helpers shared by the golden tests (comparisons with numbers produced by R survey)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
RTOL = 1e-12
nan = float("nan")


def close(actual, expected, rtol=RTOL):
    """Relative agreement, NaN equal to NaN (R's NaN where carepop gives NaN too)."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=0, equal_nan=True
    )


def col(est, name, level=None):
    """One column of a result as floats, optionally for one level of a proportion."""
    t = est.to_pandas()
    if level is not None:
        t = t[t["level"] == level]
    return t[name].to_numpy(dtype=float)
