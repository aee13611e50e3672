"""Input checks shared by the SAE post-processing modules (variance, benchmark, diagnostics,
transforms): one-dimensional float arrays of the right length, values in range, each failure a
:class:`carepop.errors.ModelError` naming the offending areas (1-based rows)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from carepop.errors import ModelError, count_rows, data_rows


class SAEWarning(UserWarning):
    """A small-area result that can be used but deserves a look (a variance component on the
    boundary, heavy-tailed residuals, areas whose variance had to be smoothed...)."""


def warn(message: str) -> None:
    warnings.warn(message, SAEWarning, stacklevel=3)


def vector(values: Any, name: str, m: int | None = None, *, allow_nan: bool = False) -> np.ndarray:
    """``values`` as a float (M,) array; a scalar is broadcast when ``m`` is given."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be numbers.",
            code="not_numeric",
            column=name,
            got=type(values).__name__,
            expected="an array of numbers",
            fix=f"pass {name} as numbers",
        ) from exc
    if arr.ndim == 0 and m is not None:
        arr = np.full(m, float(arr))
    if arr.ndim != 1:
        raise ModelError(
            f"{name} must be one value per area.",
            code="bad_shape",
            column=name,
            got=arr.shape,
            expected="a one-dimensional array",
            fix=f"pass {name} as a vector",
        )
    if m is not None and arr.shape[0] != m:
        raise ModelError(
            f"{name} has {arr.shape[0]} values but there are {m} areas.",
            code="length_mismatch",
            column=name,
            got=arr.shape[0],
            expected=m,
            fix=f"give {name} one value per area, in the same order",
        )
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        raise ModelError(
            f"{name} has {count_rows(bad)} missing or infinite value(s).",
            code="not_finite",
            column=name,
            rows=data_rows(bad),
            expected="finite numbers" + (" (NaN for no value)" if allow_nan else ""),
            fix=f"supply {name} for every area" + ("" if allow_nan else " (or leave those areas out)"),
        )
    return arr


def require(
    mask: np.ndarray,
    name: str,
    message: str,
    *,
    code: str,
    expected: str,
    fix: str,
    values: np.ndarray | None = None,
) -> None:
    """Raise a ModelError when any element of ``mask`` is true, naming those rows."""
    if mask.any():
        got = None
        if values is not None:
            got = float(values[np.flatnonzero(mask)[0]])
        raise ModelError(
            f"{name}: {message} ({count_rows(mask)} area(s)).",
            code=code,
            column=name,
            rows=data_rows(mask),
            got=got,
            expected=expected,
            fix=fix,
        )


def group_codes(groups: Any, m: int, name: str = "groups") -> tuple[np.ndarray, np.ndarray]:
    """(labels, codes) of the groups of M areas: ``labels`` the sorted distinct group labels,
    ``codes`` (M,) int positions into ``labels``. ``None`` means one group of all areas."""
    if groups is None:
        return np.array([0]), np.zeros(m, dtype=np.intp)
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != m:
        raise ModelError(
            f"{name} must give one group per area.",
            code="length_mismatch",
            column=name,
            got=g.shape,
            expected=m,
            fix=f"give {name} one label per area, in the same order as the estimates",
        )
    if g.dtype.kind == "f" and np.isnan(g).any():
        bad = np.isnan(g)
        raise ModelError(
            f"{name} is missing for {count_rows(bad)} area(s).",
            code="missing_group",
            column=name,
            rows=data_rows(bad),
            fix=f"give every area a {name} label",
        )
    if g.dtype == object and any(v is None for v in g):
        bad = np.array([v is None for v in g])
        raise ModelError(
            f"{name} is missing for {count_rows(bad)} area(s).",
            code="missing_group",
            column=name,
            rows=data_rows(bad),
            fix=f"give every area a {name} label",
        )
    labels, codes = np.unique(g, return_inverse=True)
    return labels, codes.astype(np.intp)
