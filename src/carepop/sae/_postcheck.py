"""Input checks shared by the SAE post-processing modules (variance, benchmark, diagnostics,
transforms): one-dimensional float arrays of the right length, values in range, each failure a
:class:`carepop.errors.ModelError` naming the offending areas (1-based rows)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from carepop.errors import ModelError, count_rows, data_rows
from carepop.sae._checks import as_vector


class SAEWarning(UserWarning):
    """A small-area result that can be used but deserves a look (a variance component on the
    boundary, heavy-tailed residuals, areas whose variance had to be smoothed...)."""


def warn(message: str) -> None:
    warnings.warn(message, SAEWarning, stacklevel=3)


def vector(values: Any, name: str, m: int | None = None, *, allow_nan: bool = False) -> np.ndarray:
    """``values`` as a float (M,) array (:func:`carepop.sae._checks.as_vector`); a scalar is
    broadcast when ``m`` is given; NaN only where ``allow_nan``, never infinity."""
    if m is not None and np.ndim(values) == 0:
        try:
            values = np.full(m, float(values))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass  # as_vector names the problem
    arr = as_vector(values, name, m)
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


def check_proportions(
    p: np.ndarray, n: np.ndarray | None = None, n_name: str = "n", n_what: str = "", n_fix: str = ""
) -> None:
    """Proportions in [0, 1] wherever given and, with ``n``, a positive (effective) sample size there."""
    obs = ~np.isnan(p)
    require(
        obs & ((p < 0) | (p > 1)),
        "p",
        "proportions must lie in [0, 1]",
        code="bad_proportion",
        expected="0 <= p <= 1",
        fix="give proportions, not percentages",
        values=p,
    )
    if n is not None:
        require(
            obs & ~(n > 0),
            n_name,
            n_what,
            code="bad_n",
            expected=f"{n_name} > 0 where p is given",
            fix=n_fix,
            values=n,
        )
