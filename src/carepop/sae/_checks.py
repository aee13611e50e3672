"""Input checks shared by the array-level area models: each bad input raises :class:`ModelError`
naming the offending rows (1-based, as in the caller's area table)."""

from __future__ import annotations

import numpy as np

from carepop.errors import ModelError, count_rows, data_rows


def as_vector(values: object, name: str, m: int | None = None) -> np.ndarray:
    """A float (M,) vector; ModelError when it is not one-dimensional or has the wrong length."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be numeric.",
            code="not_numeric",
            column=name,
            got=type(values).__name__,
            expected="an array of numbers, one per area",
            fix=f"pass {name} as a float array",
        ) from exc
    if arr.ndim != 1:
        raise ModelError(
            f"{name} must be a one-dimensional array (one value per area).",
            code="bad_shape",
            column=name,
            got=arr.shape,
            expected="(M,)",
            fix=f"pass {name} as a 1-d array with one value per area",
        )
    if m is not None and arr.shape[0] != m:
        raise ModelError(
            f"{name} has {arr.shape[0]} values but there are {m} areas.",
            code="length_mismatch",
            column=name,
            got=arr.shape[0],
            expected=m,
            fix="pass y, X, psi (and masks) with one row per area, in the same order",
        )
    return arr


def as_design(X: object, m: int) -> np.ndarray:
    """A finite float (M, p) design matrix."""
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            "The design matrix X must be numeric.",
            code="not_numeric",
            column="X",
            got=type(X).__name__,
            expected="an (M, p) float array",
            fix="build X with carepop.sae.covariates.design_matrix",
        ) from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != m:
        raise ModelError(
            f"The design matrix X must have one row per area ({m} rows).",
            code="length_mismatch",
            column="X",
            got=arr.shape,
            expected=f"({m}, p)",
            fix="pass y, X and psi with one row per area, in the same order",
        )
    if arr.shape[1] == 0:
        raise ModelError(
            "The design matrix X has no columns.",
            code="empty_design",
            column="X",
            got=arr.shape,
            expected="at least one column (e.g. an intercept)",
            fix="include an intercept or a covariate",
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ModelError(
            f"The design matrix X has missing or infinite values in {count_rows(bad)} area(s).",
            code="missing_covariate",
            column="X",
            rows=data_rows(bad),
            expected="finite covariate values for every area",
            fix="impute or drop those areas' covariates before fitting",
        )
    return arr


def check_psi(psi: np.ndarray, in_sample: np.ndarray) -> None:
    """Sampling variances must be finite and positive in every area with a direct estimate."""
    bad = in_sample & ~(np.isfinite(psi) & (psi > 0))
    if bad.any():
        raise ModelError(
            f"The sampling variances psi are not positive and finite in {count_rows(bad)} area(s) "
            "with a direct estimate.",
            code="bad_sampling_variance",
            column="psi",
            rows=data_rows(bad),
            got=float(psi[bad][0]),
            expected="psi > 0 and finite wherever y is given",
            fix="smooth or floor the sampling variances (a zero variance means the direct "
            "estimate is exact: leave that area out of the model), or set y to NaN there",
        )


def check_full_rank(X: np.ndarray, names: list[str] | None = None, where: str = "") -> None:
    """ModelError naming the columns involved when X is rank-deficient.

    The columns involved are those with a non-negligible weight in a null vector of X (from the SVD).
    """
    p = X.shape[1]
    # scale the columns so that the rank decision does not depend on units
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    if (norms == 0).any():
        zero = np.flatnonzero(norms == 0)
        _raise_singular(zero, names, where)
    _, s, vt = np.linalg.svd(X / norms, full_matrices=False)
    tol = s.max() * max(X.shape) * np.finfo(float).eps * 10
    null = vt[s <= tol] if s.size == p else vt
    if (s <= tol).any():
        involved = np.flatnonzero((np.abs(null) > 1e-8).any(axis=0))
        _raise_singular(involved, names, where)


def _raise_singular(cols: np.ndarray, names: list[str] | None, where: str) -> None:
    labels = [names[j] if names is not None else f"column {j + 1}" for j in cols]
    raise ModelError(
        f"The design matrix{where} is singular (rank-deficient): the columns "
        f"{', '.join(labels)} are linearly dependent or all zero.",
        code="singular_design",
        column=labels[0] if labels else None,
        got=labels,
        expected="linearly independent covariates",
        fix="drop one of those covariates, or merge categories that have no sampled areas",
    )


def check_ncols(X: np.ndarray, p: int) -> None:
    """X must have the ``p`` columns the model was fitted with."""
    if X.shape[1] != p:
        raise ModelError(
            f"X has {X.shape[1]} columns but the model was fitted with {p}.",
            code="length_mismatch",
            column="X",
            got=X.shape[1],
            expected=p,
            fix="pass the design matrix the model was fitted with",
        )


def as_mask(in_sample: object, m_all: int, fitted: np.ndarray | None = None) -> np.ndarray:
    """A boolean (M,) in-sample mask; when ``fitted`` (the mask the model was fitted with) is given,
    it must be the same areas."""
    arr = np.asarray(in_sample)
    if arr.dtype != bool or arr.shape != (m_all,):
        raise ModelError(
            "in_sample must be a boolean array with one value per area.",
            code="bad_mask",
            column="in_sample",
            got=(arr.dtype.name, arr.shape),
            expected=f"bool array of shape ({m_all},)",
            fix="pass numpy.isfinite(y)",
        )
    if fitted is not None and fitted.shape == arr.shape and not np.array_equal(fitted, arr):
        differ = fitted != arr
        raise ModelError(
            f"in_sample differs from the areas the model was fitted to in {count_rows(differ)} area(s).",
            code="mask_mismatch",
            column="in_sample",
            rows=data_rows(differ),
            expected="numpy.isfinite(y) of the y the model was fitted to",
            fix="pass the same areas (rows, order) as to fit_fay_herriot",
        )
    return arr
