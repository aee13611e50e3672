"""Numerical safeguards shared by the estimators.

- :func:`readonly`: arrays a Survey hands out (codes, replicate weights, the coded design) cannot
  be changed in place by the caller, so a cached array is never corrupted;
- :func:`finite_sums`: a sum formed outside numpy's ufuncs (``np.bincount``, a sparse product)
  does not raise numpy's overflow flag when it exceeds the largest float; this check turns such a
  sum into the same :class:`FloatingPointError` that ``np.errstate(over="raise")`` gives a ufunc,
  so :class:`~carepop.core.survey.Survey` can report the overflow as an error instead of
  returning an infinite (or, after ``inf - inf``, an empty) estimate.
"""

from __future__ import annotations

import numpy as np


def readonly(a: np.ndarray) -> np.ndarray:
    """``a`` marked read-only (in place; the caller must own it) and returned."""
    a.setflags(write=False)
    return a


def finite_sums(out: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """``out`` (sums of ``inputs``); raises FloatingPointError when a sum of finite values is not
    finite (it overflowed). Non-finite inputs pass through unchanged (their sums are theirs)."""
    if not np.isfinite(out).all() and all(np.isfinite(x).all() for x in inputs):
        raise FloatingPointError("overflow in a sum")
    return out
