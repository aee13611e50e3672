"""Spatial Fay–Herriot model: area effects that follow a simultaneous autoregression (SAR).

Model (Rao & Molina 2015, chapter 8, spatial models; Petrucci & Salvati 2006; Singh, Shukla & Kundu
2005)::

    y = X beta + u + e,      e ~ N(0, Psi),  Psi = diag(psi)   (known sampling variances)
    u = rho W u + v,         v ~ N(0, sigma2 I)

with ``W`` a row-standardised proximity matrix (see :mod:`carepop.sae.proximity`). Writing
``A = I - rho W`` and ``B = A^{-1}``, the area effects have covariance ``G = sigma2 C`` with
``C = B B' = [(I - rho W')(I - rho W)]^{-1}`` and ``y`` has covariance ``V = sigma2 C + Psi``.

Estimation (:func:`fit_spatial_fh`) is Fisher scoring on ``theta = (sigma2, rho)`` as R
``sae::eblupSFH`` (Molina & Marhuenda 2015): with ``V_1 = dV/dsigma2 = C`` and
``V_2 = dV/drho = sigma2 dC/drho``, ``dC/drho = -C R_rho C`` where
``R_rho = 2 rho W'W - W - W'``, and ``P = V^{-1} - V^{-1} X (X'V^{-1}X)^{-1} X'V^{-1}``,

* REML: score ``s_a = -tr(P V_a)/2 + y'P V_a P y/2``, information ``I_ab = tr(P V_a P V_b)/2``;
* ML:   score ``s_a = -tr(V^{-1} V_a)/2 + y'P V_a P y/2``, ``I_ab = tr(V^{-1} V_a V^{-1} V_b)/2``;

``theta <- theta + I^{-1} s`` from ``sigma2 = median(psi)``, ``rho = 0.5``; an update of rho at or
beyond +-1 is put at +-0.999; stop when ``max_a |theta_a(new) - theta_a(old)| / |theta_a(old)|``
is at most ``tol`` (R's ``PRECISION``) or after ``maxiter`` updates. A negative final sigma2 is set
to 0. R divides by ``theta_a(old)`` without the absolute value, so when the previous rho is
negative R's rule looks at sigma2 only; carepop uses ``|theta_a(old)|`` (the two agree whenever rho
stays positive, as on sae's grapes data).

The EBLUP (:func:`eblup_spatial`) is ``theta_hat = X beta + u_hat`` with
``u_hat = G V^{-1} (y - X beta) = (A'A / sigma2 + Psi^{-1})^{-1} Psi^{-1} (y - X beta)``, the second
form sparse. :func:`mse_spatial` is the analytic MSE of R ``sae::mseSFH`` (Singh, Shukla & Kundu
2005; Molina, Salvati & Pratesi 2009): ``g1 + g2 + 2 g3 - g4`` for REML, less the bias term
``b_ML' grad g1`` for ML.

Computational cost. ``W`` is sparse, but ``C``, ``V^{-1}`` and ``P`` are dense M x M matrices (the
traces in the Fisher information need them), so the spatial model is for up to a few thousand
areas. Each scoring step takes a sparse LU of ``A = I - rho W``, ``B = A^{-1}`` and ``B W C`` by
sparse solves (cheaper than dense products once M is in the thousands), ``C = B B'`` by a symmetric
rank update, ``V^{-1}`` by Cholesky (LAPACK potri) and two dense products for the traces: O(M^3)
time and about ten M x M arrays of memory (8 M^2 bytes each: 32 MB at M = 2,000). Measured on one
core of a shared machine, rook contiguity on a grid: M = 1,024 about 0.6 s a step and 1.4 s for
:func:`mse_spatial`; M = 2,025 about 2.4 s a step and 7 s for the MSE. M = 7,000 (MSOAs) would
need ~400 MB per array and minutes per step. :func:`eblup_spatial` is sparse throughout
(milliseconds). Dense matrices are used only here, where the model itself couples all areas.

Areas without a direct estimate (NaN in ``y``; R requires every area to have one) are predicted
out of sample by the spatial BLUP, as in Saei & Chambers (2005) and Petrucci & Salvati (2006): the
SAR process is defined on all M areas of ``W``, the model is fitted on the ``n`` sampled areas ``s``
(their marginal covariance ``V = sigma2 C_ss + Psi_s``), and every area ``i`` gets
``X_i beta + sigma2 C_is V^{-1} (y_s - X_s beta)`` (the synthetic ``X_i beta`` plus what its
neighbours' residuals say about it). With every area sampled this is exactly R's model.
:func:`mse_spatial` gives both kinds of area the same second-order MSE, written with
``R = I - sigma2 C_.s V^{-1} S`` (M x M; ``S`` selects the sampled areas; ``R = Psi V^{-1}`` when all
are sampled, which gives R's formulas term by term).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import blas, lapack

from carepop.errors import ModelError, count_rows, data_rows, opt

__all__ = ["SpatialFHFit", "eblup_spatial", "fit_spatial_fh", "mse_spatial", "sar_covariance"]

#: where R puts an update of rho that reaches +-1
RHO_BOUND = 0.999
#: tolerance on the row sums of W (1 for an area with neighbours, 0 for one without)
ROW_SUM_TOL = 1e-8


@dataclass(frozen=True)
class SpatialFHFit:
    """A fitted spatial Fay–Herriot model.

    ``sigma2`` and ``rho`` are the SAR variance and autocorrelation, ``beta`` / ``beta_cov`` the
    GLS coefficients and their covariance ``(X'V^{-1}X)^{-1}`` at those values; ``loglik`` is the
    (full, not restricted) Gaussian log-likelihood at the estimates for either method, as R's
    ``goodness["loglike"]``; ``aic`` / ``bic`` count ``p + 2`` parameters as R.
    ``fisher_info`` is the 2 x 2 information matrix of ``(sigma2, rho)`` used by the last scoring
    step (REML or ML, as ``method``); ``rho_at_bound`` says the estimate of rho was held at
    +-0.999. ``iterations`` counts scoring updates (R's ``fit$iterations``). ``n_areas`` is M (all
    areas of ``W``) and ``sampled`` (M,) marks the areas with a direct estimate, on which the model
    was fitted.
    """

    method: str
    sigma2: float
    rho: float
    beta: np.ndarray
    beta_cov: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    aic: float
    bic: float
    fisher_info: np.ndarray
    rho_at_bound: bool
    n_areas: int
    sampled: np.ndarray
    tol: float
    maxiter: int

    @property
    def n_sampled(self) -> int:
        """The number of areas with a direct estimate."""
        return int(np.count_nonzero(self.sampled))

    @property
    def beta_se(self) -> np.ndarray:
        """Standard errors of ``beta`` (R's ``estcoef$std.error``)."""
        return np.sqrt(np.diag(self.beta_cov))


# --- inputs -----------------------------------------------------------------------------------


def _check_inputs(
    y: np.ndarray | None,
    X: np.ndarray,
    psi: np.ndarray,
    W: sp.spmatrix | np.ndarray,
    sampled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    """Arrays as float, with the checks every function of this module needs; also the mask of
    sampled areas (finite ``y``, or ``sampled`` when no ``y`` is given)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ModelError(
            "X must be a 2-D design matrix (areas x covariates).",
            code="bad_shape",
            got=X.shape,
            expected="(M, p)",
        )
    m, p = X.shape
    psi = np.asarray(psi, dtype=float).reshape(-1)
    if psi.shape[0] != m:
        raise ModelError(
            "psi must have one sampling variance per area (row of X).",
            code="length_mismatch",
            got=psi.shape[0],
            expected=m,
        )
    if y is not None:
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape[0] != m:
            raise ModelError(
                "y must have one direct estimate per area (row of X), NaN where there is none.",
                code="length_mismatch",
                got=y.shape[0],
                expected=m,
            )
        if np.isinf(y).any():
            raise ModelError(
                "y has infinite direct estimates.",
                code="bad_direct_estimate",
                column="y",
                rows=data_rows(np.isinf(y)),
            )
        sampled = ~np.isnan(y)
    else:
        y = np.full(m, np.nan)
        sampled = np.ones(m, dtype=bool) if sampled is None else np.asarray(sampled, dtype=bool)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ModelError(
            f"{count_rows(bad)} area(s) have missing or infinite covariates in X.",
            code="missing_covariate",
            column="X",
            rows=data_rows(bad),
            fix="complete the covariates of those areas (every area needs them, sampled or not)",
        )
    bad = sampled & (~np.isfinite(psi) | (psi < 0))
    if bad.any():
        raise ModelError(
            f"{count_rows(bad)} area(s) with a direct estimate have a missing or negative sampling variance.",
            code="bad_sampling_variance",
            column="psi",
            rows=data_rows(bad),
            got=float(psi[bad][0]),
            expected="a finite variance >= 0",
        )
    n = int(np.count_nonzero(sampled))
    rank = np.linalg.matrix_rank(X[sampled]) if n else 0
    if p >= n or rank < p:
        raise ModelError(
            "X must have full column rank on the areas with a direct estimate, and fewer "
            "columns than those areas.",
            code="rank_deficient",
            got=f"{n} sampled areas, {p} columns, rank {rank}",
            fix="drop redundant covariates (e.g. a second intercept)",
        )
    W = _check_proximity(W, m)
    return y, sampled, X, psi, W


def _check_proximity(W: sp.spmatrix | np.ndarray, m: int) -> sp.csr_matrix:
    W = sp.csr_matrix(W, dtype=float)
    if W.shape != (m, m):
        raise ModelError(
            "W must be a square matrix with one row and column per area.",
            code="bad_shape",
            column="W",
            got=W.shape,
            expected=(m, m),
        )
    W.eliminate_zeros()
    if not np.isfinite(W.data).all():
        raise ModelError("W has missing or infinite entries.", code="bad_proximity", column="W")
    if (W.data < 0).any():
        rows = np.unique(np.repeat(np.arange(m), np.diff(W.indptr))[W.data < 0])
        raise ModelError(
            "W has negative entries.", code="negative_weight", column="W", rows=[int(r) + 1 for r in rows[:5]]
        )
    diag = W.diagonal()
    if (diag != 0).any():
        raise ModelError(
            "W links areas to themselves (non-zero diagonal).",
            code="self_loop",
            column="W",
            rows=data_rows(diag != 0),
        )
    sums = np.asarray(W.sum(axis=1)).ravel()
    bad = (np.abs(sums - 1) > ROW_SUM_TOL) & (sums != 0)
    if bad.any():
        raise ModelError(
            "W must be row-standardised: each row sums to 1 (0 for an area without neighbours).",
            code="proximity_not_row_standardised",
            column="W",
            rows=data_rows(bad),
            got=float(sums[bad][0]),
            expected=1.0,
            fix=(
                "divide each row of W by its sum; carepop.sae.proximity.read_proximity does it (",
                opt("standardise", True),
                ")",
            ),
        )
    return W


def _check_method(method: str) -> str:
    m = str(method).lower()
    if m not in ("reml", "ml"):
        raise ModelError(
            "Unknown fitting method.",
            code="unknown_method",
            got=method,
            expected=("reml", "ml"),
            fix=("use ", opt("method", "reml"), " or ", opt("method", "ml")),
        )
    return m


# --- the SAR covariance and its derivatives ----------------------------------------------------------


def _sar_lu(W: sp.csr_matrix, rho: float) -> spla.SuperLU:
    """Sparse LU factorisation of ``A = I - rho W``."""
    m = W.shape[0]
    a = (sp.identity(m, format="csc") - rho * W.tocsc()).tocsc()
    try:
        return spla.splu(a)
    except RuntimeError as exc:  # exactly singular
        raise ModelError(f"I - rho W is singular at rho = {rho}.", code="singular_sar", got=rho) from exc


def _sym_from_upper(u: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is that of ``u`` (BLAS/LAPACK fill one triangle)."""
    return np.triu(u) + np.triu(u, 1).T


def _sar_c(W: sp.csr_matrix, rho: float) -> tuple[spla.SuperLU, np.ndarray]:
    """The LU of ``A = I - rho W`` and ``C = B B'``, ``B = A^{-1}`` (one sparse solve with M
    right-hand sides, then a symmetric rank-M product)."""
    lu = _sar_lu(W, rho)
    b = lu.solve(np.eye(W.shape[0]))
    return lu, _sym_from_upper(blas.dsyrk(1.0, b))


def sar_covariance(W: sp.spmatrix | np.ndarray, rho: float) -> np.ndarray:
    """``C = [(I - rho W')(I - rho W)]^{-1} = B B'`` with ``B = (I - rho W)^{-1}`` (dense, M x M).

    The covariance of the SAR area effects divided by sigma2 (R: ``solve((I-rho*t(W)) %*% (I-rho*W))``).
    """
    return _sar_c(sp.csr_matrix(W, dtype=float), rho)[1]


@dataclass(frozen=True)
class _Cov:
    """At one ``(sigma2, rho)``: ``C`` and ``dC/drho`` (all M areas), and ``V^{-1}``, ``log|V|`` of
    ``V = sigma2 C_ss + Psi_s`` on the sampled areas ``s``; ``v1``, ``v2`` = ``dV/dsigma2``,
    ``dV/drho`` on ``s``."""

    c: np.ndarray
    c_rho: np.ndarray
    vi: np.ndarray
    logdet_v: float
    v1: np.ndarray
    v2: np.ndarray


def _cov(W: sp.csr_matrix, psi: np.ndarray, sampled: np.ndarray, sigma2: float, rho: float) -> _Cov:
    lu, c = _sar_c(W, rho)
    # dC/drho = d(B B')/drho with dB/drho = B W B:  B W C + (B W C)'  (= -C R_rho C);
    # B (W C) as a sparse solve, cheaper than a dense product once M is in the thousands
    bwc = lu.solve(np.asarray(W @ c))
    c_rho = bwc + bwc.T
    if sampled.all():
        v1, c_rho_s = c, c_rho
    else:
        ix = np.ix_(sampled, sampled)
        v1, c_rho_s = c[ix], c_rho[ix]
    v = sigma2 * v1
    v[np.diag_indices_from(v)] += psi[sampled]
    vi, logdet = _sym_inverse(v)
    return _Cov(c, c_rho, vi, logdet, v1, sigma2 * c_rho_s)


def _sym_inverse(v: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverse and log-determinant of a symmetric matrix: Cholesky (LAPACK potrf/potri), or LU when
    it is not positive definite (an intermediate scoring step with sigma2 < 0, where R's ``solve``
    still works)."""
    cf, info = lapack.dpotrf(v, lower=0, clean=0)
    if info == 0:
        logdet = 2.0 * float(np.sum(np.log(np.diag(cf))))
        vi, info = lapack.dpotri(cf, lower=0)
        if info == 0:
            return _sym_from_upper(vi), logdet
    lu = sla.lu_factor(v, check_finite=False)
    vi = sla.lu_solve(lu, np.eye(v.shape[0]), check_finite=False)
    logdet = float(np.sum(np.log(np.abs(np.diag(lu[0])))))
    return (vi + vi.T) / 2, logdet


def _gls(X: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``V^{-1}X``, ``Q = (X'V^{-1}X)^{-1}`` and ``P = V^{-1} - V^{-1}X Q X'V^{-1}``."""
    vix = vi @ X
    q = np.linalg.inv(X.T @ vix)
    q = (q + q.T) / 2
    pmat = vi - vix @ q @ vix.T
    return vix, q, (pmat + pmat.T) / 2


def _score_info(
    method: str, y: np.ndarray, X: np.ndarray, cov: _Cov
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score vector and Fisher information of ``(sigma2, rho)`` (REML or ML), with ``Q`` and ``P``."""
    vix, q, pmat = _gls(X, cov.vi)
    dv = (cov.v1, cov.v2)  # dV/dsigma2, dV/drho
    k = pmat if method == "reml" else cov.vi
    kd = [k @ d for d in dv]
    py = pmat @ y
    score = np.array([-0.5 * np.sum(k * d) + 0.5 * py @ (d @ py) for d in dv])
    info = np.empty((2, 2))
    for a in range(2):
        for b in range(a, 2):
            info[a, b] = info[b, a] = 0.5 * np.sum(kd[a] * kd[b].T)
    return score, info, q, pmat


# --- fitting ------------------------------------------------------------------------------------


def fit_spatial_fh(
    y: np.ndarray,
    X: np.ndarray,
    psi: np.ndarray,
    W: sp.spmatrix | np.ndarray,
    method: str = "reml",
    *,
    maxiter: int = 100,
    tol: float = 1e-4,
) -> SpatialFHFit:
    """Fit the spatial (SAR) Fay–Herriot model by Fisher scoring, REML or ML.

    ``y`` (M,) direct estimates (NaN: no direct estimate, the area is predicted out of sample),
    ``X`` (M, p) design (intercept included by the caller; needed for every area), ``psi`` (M,)
    sampling variances (ignored where ``y`` is NaN), ``W`` (M, M) row-standardised proximity over
    all areas (sparse or dense; a row of zeros for an area without neighbours). ``tol`` and
    ``maxiter`` are R's ``PRECISION`` and ``MAXITER``. The estimating equations and stopping rule
    are in the module docstring; the likelihood is that of the sampled areas.

    R: ``sae::eblupSFH(y ~ X - 1, psi, W, method = "REML" | "ML", MAXITER = maxiter,
    PRECISION = tol)`` (every area sampled). References: Rao & Molina (2015), chapter 8 (spatial
    models); Molina & Marhuenda (2015).

    Not converging within ``maxiter`` (R gives up without estimates) returns the last values with
    ``converged=False`` and a warning; an estimate of rho held at +-0.999 is flagged in
    ``rho_at_bound`` with a warning (R would then set rho to +-1, where ``I - W`` is singular).
    """
    method = _check_method(method)
    y, sampled, X, psi, W = _check_inputs(y, X, psi, W)
    if maxiter < 1 or not tol > 0:
        raise ModelError("maxiter must be >= 1 and tol > 0.", code="bad_control", got=(maxiter, tol))
    ys, xs = y[sampled], X[sampled]
    n, p = xs.shape
    theta = np.array([float(np.median(psi[sampled])), 0.5])
    converged = False
    k = 0
    info = np.full((2, 2), np.nan)
    while k < maxiter:
        k += 1
        cov = _cov(W, psi, sampled, theta[0], theta[1])
        score, info, _, _ = _score_info(method, ys, xs, cov)
        try:
            new = theta + np.linalg.solve(info, score)
        except np.linalg.LinAlgError as exc:
            raise ModelError(
                "The Fisher information of (sigma2, rho) is singular; the model cannot be fitted.",
                code="singular_information",
                got=theta.tolist(),
            ) from exc
        if new[1] <= -1:
            new[1] = -RHO_BOUND
        elif new[1] >= 1:
            new[1] = RHO_BOUND
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.abs(new - theta) / np.abs(theta)
        change = np.where(np.abs(new - theta) == 0, 0.0, change)
        theta = new
        if np.max(change) <= tol:
            converged = True
            break
    sigma2 = max(float(theta[0]), 0.0)
    rho = float(theta[1])
    at_bound = abs(rho) == RHO_BOUND
    if not converged:
        warnings.warn(
            f"Spatial Fay–Herriot {method.upper()} did not converge in {maxiter} iterations "
            f"(sigma2 = {sigma2:.6g}, rho = {rho:.6g}).",
            UserWarning,
            stacklevel=2,
        )
    if at_bound:
        warnings.warn(
            f"The estimate of rho is held at the bound {rho} (the data point to rho = +-1).",
            UserWarning,
            stacklevel=2,
        )
    cov = _cov(W, psi, sampled, sigma2, rho)
    vix, q, _ = _gls(xs, cov.vi)
    beta = q @ (vix.T @ ys)
    resid = ys - xs @ beta
    loglik = -0.5 * (n * np.log(2 * np.pi) + cov.logdet_v + resid @ (cov.vi @ resid))
    return SpatialFHFit(
        method=method,
        sigma2=sigma2,
        rho=rho,
        beta=beta,
        beta_cov=q,
        loglik=float(loglik),
        iterations=k,
        converged=converged,
        aic=float(-2 * loglik + 2 * (p + 2)),
        bic=float(-2 * loglik + (p + 2) * np.log(n)),
        fisher_info=info,
        rho_at_bound=at_bound,
        n_areas=len(y),
        sampled=sampled,
        tol=tol,
        maxiter=maxiter,
    )


# --- prediction ---------------------------------------------------------------------------------


def eblup_spatial(
    fit: SpatialFHFit, y: np.ndarray, X: np.ndarray, psi: np.ndarray, W: sp.spmatrix | np.ndarray
) -> np.ndarray:
    """Spatial EBLUP ``X beta + u_hat`` of every area (M,), sampled or not.

    ``u_hat = sigma2 C_.s V^{-1} (y_s - X_s beta)``, computed in its sparse form
    ``(A'A / sigma2 + D)^{-1} D (y - X beta)`` with ``A = I - rho W`` and ``D = diag(1/psi)`` on the
    sampled areas, 0 elsewhere (the posterior mean of ``u`` under the SAR prior of precision
    ``A'A / sigma2``): one sparse LU, no dense matrix. A sampled area with ``psi = 0`` keeps its
    direct estimate; ``sigma2 = 0`` gives the synthetic ``X beta``.

    R: ``sae::eblupSFH(...)$eblup``; Rao & Molina (2015), chapter 8 (spatial models).
    """
    y, sampled, X, psi, W = _check_inputs(y, X, psi, W)
    _check_fit(fit, X, sampled)
    synthetic = X @ fit.beta
    if fit.sigma2 == 0:
        return synthetic
    m = len(y)
    resid = np.where(sampled, y - synthetic, 0.0)
    exact = sampled & (psi == 0)
    a = sp.identity(m, format="csr") - fit.rho * W
    prec = (a.T @ a) / fit.sigma2
    w = np.zeros(m)
    noisy = sampled & ~exact
    w[noisy] = 1.0 / psi[noisy]
    u = np.empty(m)
    if exact.any():
        # u is known (= resid) where psi = 0; condition the others on it
        free = ~exact
        u[exact] = resid[exact]
        k = (prec[free][:, free] + sp.diags(w[free])).tocsc()
        rhs = w[free] * resid[free] - prec[free][:, exact] @ resid[exact]
        u[free] = spla.splu(k).solve(rhs)
    else:
        k = (prec + sp.diags(w)).tocsc()
        u = spla.splu(k).solve(w * resid)
    return synthetic + u


def _check_fit(fit: SpatialFHFit, X: np.ndarray, sampled: np.ndarray | None = None) -> None:
    if X.shape[0] != fit.n_areas or X.shape[1] != fit.beta.shape[0]:
        raise ModelError(
            "X does not match the fitted model (areas or covariates differ).",
            code="fit_mismatch",
            got=X.shape,
            expected=(fit.n_areas, fit.beta.shape[0]),
            fix="pass the y, X, psi and W the model was fitted on",
        )
    if sampled is not None and not np.array_equal(sampled, fit.sampled):
        raise ModelError(
            "y has direct estimates in other areas than the y the model was fitted on.",
            code="fit_mismatch",
            rows=data_rows(sampled != fit.sampled),
            fix="pass the y, X, psi and W the model was fitted on",
        )


def mse_spatial(fit: SpatialFHFit, X: np.ndarray, psi: np.ndarray, W: sp.spmatrix | np.ndarray) -> np.ndarray:
    """Analytic MSE of the spatial EBLUP (M,), as R ``sae::mseSFH``, for sampled and other areas.

    With ``s`` the sampled areas (``S`` selects them), ``G = sigma2 C`` (M x M), ``K = V^{-1}``
    (n x n), ``Q = (X_s'KX_s)^{-1}``, ``R = I - G_.s K S`` (M x M), ``G_1 = C`` and
    ``G_2 = sigma2 dC/drho`` (``V_a`` their ``s`` blocks) and ``I^{-1}`` the inverse of the REML
    information ``I_ab = tr(P V_a P V_b)/2`` (R uses it for ML too):

    * ``g1 = diag(R G)``                      (= ``psi - psi^2 diag(K)`` when all areas are sampled)
    * ``g2 = diag(R X Q X' R')``
    * ``g3 = sum_ab I^ab diag(R G_a S' K S G_b R')``
    * ``g4 = diag(R D R') / 2``, ``D = (I^12 + I^21) dC/drho + I^22 sigma2 d2C/drho2``,
      ``d2C/drho2 = 2 C R_rho C R_rho C - 2 C W'W C`` (the second-order term of ``E g1(theta_hat)``,
      nonzero because ``G`` is not linear in rho)
    * REML: ``mse = g1 + g2 + 2 g3 - g4``
    * ML: less ``b' grad g1`` with ``b = I^{-1} h / 2``, ``h_a = -tr(Q X_s'K V_a K X_s)`` and
      ``grad_a g1 = diag(R G_a R')``.

    With every area sampled ``R = Psi K`` and these are R's formulas (``g3 = psi^2 diag(K V_a K V_b K)``
    etc.). For an area out of sample, ``g1 + g2 + g3`` is the MSE of its BLUP to second order, and
    ``g3 - g4`` again corrects the bias of ``g1`` at the estimates (Saei & Chambers 2005; Singh,
    Shukla & Kundu 2005; Molina, Salvati & Pratesi 2009; Rao & Molina 2015, chapter 8). Cost:
    about ten dense M x M products (see the module docstring).
    """
    _, sampled, X, psi, W = _check_inputs(None, X, psi, W, fit.sampled)
    _check_fit(fit, X)
    s2, rho = fit.sigma2, fit.rho
    cov = _cov(W, psi, sampled, s2, rho)
    vi, c, c_rho = cov.vi, cov.c, cov.c_rho
    xs = X[sampled]
    vix, q, pmat = _gls(xs, vi)
    dv = (cov.v1, cov.v2)
    pd = [pmat @ d for d in dv]
    info = np.array([[0.5 * np.sum(pd[a] * pd[b].T) for b in range(2)] for a in range(2)])
    iinv = np.linalg.inv(info)

    m = len(psi)
    r = np.eye(m)
    r[:, sampled] -= s2 * (c[:, sampled] @ vi)  # R = I - G_.s K S
    g1 = s2 * np.sum(r * c, axis=1)  # diag(R G), G symmetric
    rx = r @ X
    g2 = np.sum((rx @ q) * rx, axis=1)
    scale = (1.0, s2)  # dG/dsigma2 = C, dG/drho = sigma2 dC/drho
    t = [sc * (r @ gx[:, sampled]) for sc, gx in zip(scale, (c, c_rho), strict=True)]  # R G_a S'
    tk = [ta @ vi for ta in t]
    g3 = sum(iinv[a, b] * np.sum(tk[a] * t[b], axis=1) for a in range(2) for b in range(2))
    del t, tk

    # second derivatives of G: d2G/dsigma2 drho = dC/drho, d2G/drho2 = sigma2 d2C/drho2
    wc = W @ c
    rc = (2 * rho * (W.T @ W) - W - W.T) @ c  # R_rho C  (C R_rho = (R_rho C)')
    d = c_rho @ rc
    d += d.T  # -d2C/drho2 without the W'W term: 2 C R_rho C R_rho C = -(dC/drho R_rho C + its transpose)
    d = -iinv[1, 1] * s2 * (d + 2 * (wc.T @ wc))
    del wc, rc
    d += (iinv[0, 1] + iinv[1, 0]) * c_rho
    g4 = 0.5 * np.sum((r @ d) * r, axis=1)
    del d
    mse = g1 + g2 + 2 * g3 - g4

    if fit.method == "ml":
        h = np.array([-np.trace(q @ (vix.T @ dv_a @ vix)) for dv_a in dv])
        b_ml = iinv @ h / 2
        grad_g1 = [sc * np.sum((r @ gx) * r, axis=1) for sc, gx in zip(scale, (c, c_rho), strict=True)]
        mse = mse - (b_ml[0] * grad_g1[0] + b_ml[1] * grad_g1[1])
    return mse
