"""Inputs of the unit-level (nested-error, Battese–Harter–Fuller) model, checked and reduced.

The nested-error model ``y_ij = x_ij'β + u_i + e_ij`` (Rao & Molina 2015, section 4.3 and chapter 7) has,
in area ``i``, covariance ``V_i = σ²ₑ I + σ²ᵤ 1 1'`` whose eigenvectors are the area mean direction
(eigenvalue ``τ_i = σ²ₑ + n_i σ²ᵤ``) and the within-area deviations (eigenvalue ``σ²ₑ``). So every
quantity of the fit depends on the data only through

* the sample sizes ``n_i`` and area means ``x̄_i``, ``ȳ_i``;
* the within-area cross products ``W_xx = Σ_ij (x_ij − x̄_i)(x_ij − x̄_i)'``, ``W_xy``, ``W_yy``;

which :func:`sample_stats` computes in one pass with ``np.bincount`` (no n × n matrix, no loop over
areas). :func:`population_areas` aligns the population table (area codes, covariate means ``X̄_i``,
sizes ``N_i``) with the sample. Bad input raises :class:`carepop.errors.ModelError` naming the rows
(1-based) or areas concerned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepop.errors import ModelError, data_rows


@dataclass(frozen=True)
class NestedSample:
    """Sufficient statistics of a unit-level sample for the nested-error model.

    ``codes`` (m,) sorted area codes present in the sample; ``index`` (n,) position of each unit's
    area in ``codes``; ``n`` (m,) sample sizes (float); ``xbar`` (m, p), ``ybar`` (m,) area means;
    ``wxx`` (p, p), ``wxy`` (p,), ``wyy`` within-area cross products; ``s`` (m, p·p) the flattened
    ``n_i x̄_i x̄_i'`` (so that ``w @ s`` is ``Σ_i w_i n_i x̄_i x̄_i'`` for any area weights ``w``).
    """

    codes: np.ndarray
    index: np.ndarray
    n: np.ndarray
    xbar: np.ndarray
    ybar: np.ndarray
    wxx: np.ndarray
    wxy: np.ndarray
    wyy: float
    s: np.ndarray
    intercept: np.ndarray  # (p,) bool: column of X equal to 1 in every row

    @property
    def nobs(self) -> int:
        return int(self.index.shape[0])

    @property
    def m(self) -> int:
        return int(self.codes.shape[0])

    @property
    def p(self) -> int:
        return int(self.xbar.shape[1])

    def weighted(self, w: np.ndarray) -> np.ndarray:
        """``Σ_i w_i n_i x̄_i x̄_i'`` for area weights ``w`` (..., m) -> (..., p, p)."""
        p = self.p
        return (w @ self.s).reshape(*w.shape[:-1], p, p)


@dataclass(frozen=True)
class PopulationAreas:
    """The population table aligned with a :class:`NestedSample`.

    ``codes`` (A,) area codes as given; ``pos`` (A,) position of the area in the sample's codes, −1
    for an area without sample; ``n`` (A,) sample size (0 out of sample); ``size`` (A,) population
    sizes ``N_i``; ``xmean`` (A, p) population covariate means ``X̄_i``; ``xbar`` (A, p) sample means
    (0 out of sample).
    """

    codes: np.ndarray
    pos: np.ndarray
    n: np.ndarray
    size: np.ndarray
    xmean: np.ndarray
    xbar: np.ndarray

    @property
    def sampled(self) -> np.ndarray:
        return self.pos >= 0


def _float_array(a, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be numeric.", code="not_numeric", column=name, fix=f"give {name} as numbers"
        ) from exc
    if ndim == 2 and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != ndim:
        raise ModelError(
            f"{name} must be a {ndim}-dimensional array.",
            code="shape_mismatch",
            column=name,
            got=arr.shape,
            expected=f"{ndim} dimensions",
        )
    return arr


def _check_finite(arr: np.ndarray, name: str, what: str) -> None:
    """ModelError naming the (1-based) rows with a missing or infinite value, and the columns."""
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    if arr.ndim == 2:
        mask = bad.any(axis=1)
        cols = np.flatnonzero(bad.any(axis=0))
        column = f"{name}[:, {int(cols[0])}]" if cols.size == 1 else f"{name}[:, {cols.tolist()}]"
    else:
        mask = bad
        column = name
    raise ModelError(
        f"{int(mask.sum())} {what} with a missing or infinite value in {column}.",
        code="missing_values",
        column=column,
        rows=data_rows(mask),
        fix=f"drop or impute the rows with missing values before fitting (rows are 1-based {what})",
    )


def sample_stats(y, X, area_codes) -> NestedSample:
    """Check a unit-level sample and reduce it to the sufficient statistics of the nested-error model.

    ``y`` (n,) responses, ``X`` (n, p) covariates (intercept column included by the caller),
    ``area_codes`` (n,) area of each unit (any hashable, sortable labels).
    """
    y = _float_array(y, "y", 1)
    X = _float_array(X, "X", 2)
    codes_in = np.asarray(area_codes)
    n, p = X.shape
    if y.shape[0] != n or codes_in.ndim != 1 or codes_in.shape[0] != n:
        raise ModelError(
            "y, X and area_codes must have one row per sample unit.",
            code="shape_mismatch",
            got={"y": y.shape[0], "X": n, "area_codes": codes_in.shape},
            expected="equal lengths",
        )
    _check_finite(y, "y", "sample rows")
    _check_finite(X, "X", "sample rows")
    missing = np.asarray(pd.isna(codes_in), dtype=bool)
    if missing.any():
        raise ModelError(
            f"{int(missing.sum())} sample rows without an area code.",
            code="missing_values",
            column="area_codes",
            rows=data_rows(missing),
            fix="give every sample unit its area code",
        )
    index, codes = pd.factorize(codes_in, sort=True)  # hashing: no sort of the n codes
    codes = np.asarray(codes)
    m = codes.shape[0]
    if m < 2:
        raise ModelError(
            "The nested-error model needs a sample in at least two areas.",
            code="too_few_areas",
            got=m,
            expected="2 or more areas",
        )
    counts = np.bincount(index, minlength=m).astype(float)
    if counts.sum() - m < 1:
        raise ModelError(
            "Every area has a single sample unit: the area and unit variances cannot be told apart.",
            code="no_replication",
            got=int(counts.max()),
            expected="at least one area with two or more units",
        )
    ysum = np.bincount(index, weights=y, minlength=m)
    xsum = np.stack([np.bincount(index, weights=X[:, j], minlength=m) for j in range(p)], axis=1)
    ybar = ysum / counts
    xbar = xsum / counts[:, None]
    xc = X - xbar[index]
    yc = y - ybar[index]
    wxx = xc.T @ xc
    wxy = xc.T @ yc
    wyy = float(yc @ yc)
    s = (counts[:, None, None] * xbar[:, :, None] * xbar[:, None, :]).reshape(m, p * p)
    intercept = np.all(X == 1.0, axis=0)
    rank = int(np.linalg.matrix_rank(X)) if n > p else n
    if n <= p or rank < p:
        raise ModelError(
            "The covariates are collinear (X does not have full column rank) or too few rows.",
            code="collinear_covariates",
            column="X",
            got={"rows": n, "columns": p, "rank": rank},
            expected=f"rank {p} with more than {p} rows",
            fix="drop redundant covariates (a constant column is the intercept; do not add it twice)",
        )
    return NestedSample(codes, index, counts, xbar, ybar, wxx, wxy, wyy, s, intercept)


def population_areas(sample: NestedSample, pop_codes, pop_means, pop_sizes) -> PopulationAreas:
    """Align the population table with the sample and check it.

    ``pop_codes`` (A,) area codes, ``pop_means`` (A, p) population means of the covariates (same
    columns as ``X``, so 1 for an intercept), ``pop_sizes`` (A,) population sizes ``N_i``. Every
    sampled area must be in the table; areas of the table without sample get the synthetic estimate.
    """
    codes = np.asarray(pop_codes)
    xmean = _float_array(pop_means, "pop_means", 2)
    size = _float_array(pop_sizes, "pop_sizes", 1)
    a = codes.shape[0] if codes.ndim == 1 else -1
    if codes.ndim != 1 or xmean.shape[0] != a or size.shape[0] != a:
        raise ModelError(
            "pop_codes, pop_means and pop_sizes must have one row per population area.",
            code="shape_mismatch",
            got={"pop_codes": codes.shape, "pop_means": xmean.shape, "pop_sizes": size.shape},
            expected="equal numbers of rows",
        )
    if xmean.shape[1] != sample.p:
        raise ModelError(
            "pop_means must have the same columns as X.",
            code="shape_mismatch",
            column="pop_means",
            got=xmean.shape[1],
            expected=sample.p,
            fix="give the population mean of every column of X (1 for the intercept column)",
        )
    if np.asarray(pd.isna(codes), dtype=bool).any():
        raise ModelError(
            "Population areas without an area code.",
            code="missing_values",
            column="pop_codes",
            rows=data_rows(np.asarray(pd.isna(codes), dtype=bool)),
        )
    uniq, first, counts = np.unique(codes, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise ModelError(
            f"{dup.size} area codes appear more than once in the population table.",
            code="duplicate_areas",
            column="pop_codes",
            rows=data_rows(np.isin(codes, dup) & ~np.isin(np.arange(a), first)),
            got=dup[:10].tolist(),
            fix="give one row per area in the population table",
        )
    _check_finite(xmean, "pop_means", "population rows")
    bad = ~(size > 0)
    if bad.any():
        raise ModelError(
            f"{int(bad.sum())} population sizes are missing, zero or negative.",
            code="nonpositive_size",
            column="pop_sizes",
            rows=data_rows(bad),
            got=[float(v) for v in size[bad][:5]],
            expected="positive population sizes N_i",
        )
    # where each sampled area sits in the population table
    order = np.argsort(codes, kind="stable")
    found = np.zeros(sample.m, dtype=bool)
    at = np.zeros(sample.m, dtype=np.intp)
    if a > 0:
        try:
            at = np.minimum(np.searchsorted(codes[order], sample.codes), a - 1)
            found = np.asarray(codes[order][at] == sample.codes, dtype=bool)
        except TypeError:  # codes of different kinds (numbers vs text) never match
            pass
    if not found.all():
        missing = sample.codes[~found]
        raise ModelError(
            f"{missing.size} sampled areas are not in the population table: "
            + ", ".join(str(v) for v in missing[:10].tolist())
            + (" ..." if missing.size > 10 else ""),
            code="area_not_in_population",
            column="pop_codes",
            got=missing[:10].tolist(),
            fix="add these areas (their covariate means and sizes) to the population table"
            + (
                "; the sample's area codes and the population's are of different types (numbers vs text)"
                if codes.dtype.kind != sample.codes.dtype.kind
                else ""
            ),
        )
    pos = np.full(a, -1, dtype=np.intp)
    pos[order[at]] = np.arange(sample.m)
    sampled = pos >= 0
    n = np.where(sampled, sample.n[pos], 0.0)
    small = size < n
    if small.any():
        raise ModelError(
            f"{int(small.sum())} areas have a population size smaller than their sample size: "
            + ", ".join(str(v) for v in codes[small][:10].tolist()),
            code="population_smaller_than_sample",
            column="pop_sizes",
            rows=data_rows(small),
            got={"N": size[small][:5].tolist(), "n": n[small][:5].astype(int).tolist()},
            expected="N_i >= n_i in every area",
        )
    ones = sample.intercept & ~np.all(xmean == 1.0, axis=0)
    if ones.any():
        j = int(np.flatnonzero(ones)[0])
        raise ModelError(
            f"Column {j} of X is the intercept (all 1) but pop_means[:, {j}] is not all 1.",
            code="intercept_mismatch",
            column=f"pop_means[:, {j}]",
            rows=data_rows(xmean[:, j] != 1.0),
            fix="give 1 as the population mean of the intercept column",
        )
    xbar = np.where(sampled[:, None], sample.xbar[pos], 0.0)
    return PopulationAreas(codes, pos, n, size, xmean, xbar)


def check_fit_matches(p_fit: int, sample: NestedSample) -> None:
    if p_fit != sample.p:
        raise ModelError(
            "The fit has a different number of covariates from X.",
            code="shape_mismatch",
            column="X",
            got=sample.p,
            expected=p_fit,
            fix="pass the y, X and area_codes the model was fitted to, or refit the model on this X",
        )
