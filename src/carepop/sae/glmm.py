"""Unit-level logistic mixed model with area random intercepts, fitted by maximum likelihood.

Model (Rao & Molina 2015, chapter 9, the logistic linear mixed model for binary data)::

    y_ij | u_i ~ Bernoulli(p_ij),   logit p_ij = x_ij' beta + u_i,   u_i ~ N(0, sigma_u^2)

for unit ``j`` of area ``i``. Write ``u_i = sigma_u b_i`` with ``b_i ~ N(0, 1)`` (lme4's "spherical"
random effects). The marginal likelihood of area ``i`` is a one-dimensional integral,

    L_i = (2 pi)^(-1/2) \\int exp(F_i(b)) db,   F_i(b) = sum_j [y_ij eta_ij - log(1 + e^eta_ij)] - b^2/2,

with ``eta_ij = x_ij' beta + sigma_u b``. It is approximated by adaptive Gauss–Hermite quadrature
(AGQ) around the conditional mode ``b^_i`` (``F_i'(b^_i) = 0``) with scale
``s_i = H_i^(-1/2)``, ``H_i = -F_i''(b^_i) = 1 + sigma_u^2 sum_j p_ij (1 - p_ij)``:

    log L_i ~ log s_i + log sum_k w_k exp(F_i(b^_i + s_i z_k) + z_k^2 / 2),

``(z_k, w_k)`` the ``n_agq``-point Gauss–Hermite rule for the standard normal density
(weights summing to 1). With one point (``z = 0``, ``w = 1``) this is the Laplace approximation
``log L_i ~ F_i(b^_i) - log(H_i) / 2``, which is what ``lme4::glmer`` maximises by default
(``nAGQ = 1``); ``n_agq = k`` matches ``glmer(..., nAGQ = k)`` (Pinheiro & Bates 1995;
Bates et al. 2015, lme4 vignette section 5).

Computation: the conditional modes of all areas are found together, by a damped Newton iteration
on the (A,) vector ``b`` whose sums over units are ``bincount``/sparse-indicator products (no loop
over areas); the outer maximisation over ``(sigma_u, beta)`` uses BFGS with the analytic
gradient of the approximate log-likelihood (implicit differentiation through the mode), then a
few Newton steps on a Hessian obtained by central differences of that gradient. The likelihood
is even in ``sigma_u`` (``b -> -b``), so the optimiser runs on an unconstrained ``theta_0`` with
``sigma_u = |theta_0|``: a boundary estimate ``sigma_u = 0`` (lme4's ``theta = 0``, a "singular"
fit) is reachable, which a ``log sigma_u`` parametrisation could only approach.

R equivalent::

    lme4::glmer(y ~ x1 + x2 + (1 | area), family = binomial, nAGQ = 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit, logsumexp

from carepop.errors import ModelError, data_rows, opt

__all__ = ["LogisticMixedFit", "fit_logistic_mixed", "gh_rule"]

_MAX_AGQ = 25  # lme4's limit for a scalar random effect


@dataclass(frozen=True)
class LogisticMixedFit:
    """A fitted logistic mixed model (random area intercepts).

    ``beta`` (p,) fixed effects; ``beta_cov`` (p, p) their covariance, the beta block of the inverse
    Hessian of ``-loglik`` in ``(sigma_u, beta)`` (as ``vcov()`` of a glmer fit; with
    ``sigma_u = 0`` on the boundary, the inverse of the beta block alone); ``sigma2_u`` the
    random-intercept variance; ``loglik`` the (Laplace/AGQ) log-likelihood, Bernoulli terms without
    any binomial coefficient; ``areas`` the sorted area labels of the sample, ``u`` (A,) the
    conditional modes of ``u_i`` and ``u_sd`` (A,) their approximate conditional SDs
    ``sigma_u / sqrt(H_i)``; ``theta_cov`` ((p+1), (p+1)) the inverse Hessian of ``-loglik`` in
    ``(sigma_u, beta)`` (the sigma_u row and column NaN when ``sigma_u = 0``).
    """

    method: str
    beta: np.ndarray
    beta_cov: np.ndarray
    sigma2_u: float
    loglik: float
    iterations: int
    converged: bool
    n_agq: int
    areas: np.ndarray
    u: np.ndarray
    u_sd: np.ndarray
    n: int
    theta_cov: np.ndarray

    @property
    def sigma_u(self) -> float:
        return float(np.sqrt(self.sigma2_u))

    @property
    def beta_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.beta_cov))


def gh_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes ``z`` and log-weights for the standard normal density
    (``sum exp(logw) = 1``), so ``E g(Z) ~ sum_k w_k g(z_k)``; R: ``lme4::GHrule(k)``."""
    z, w = hermegauss(k)
    return z, np.log(w) - 0.5 * np.log(2.0 * np.pi)


# --------------------------------------------------------------------------- input checks


def _as_y(y: Any) -> np.ndarray:
    raw = np.asarray(y).ravel()
    try:
        y = raw.astype(float)
    except (TypeError, ValueError):
        bad = np.array([not _is_01(v) for v in raw])
        raise ModelError(
            "The response must be 0 or 1 for every unit (numbers, not labels).",
            code="response_not_binary",
            column="y",
            rows=data_rows(bad),
            got=raw[np.flatnonzero(bad)[0]] if bad.any() else None,
            expected=(0, 1),
            fix="code the outcome as 1 (yes) / 0 (no), e.g. (answer == 'yes').astype(int)",
        ) from None
    bad = ~((y == 0.0) | (y == 1.0))
    if bad.any():
        first = y[np.flatnonzero(bad)[0]]
        raise ModelError(
            f"The response must be 0 or 1 for every unit; {int(bad.sum())} value(s) are not.",
            code="response_not_binary",
            column="y",
            rows=data_rows(bad),
            got=None if np.isnan(first) else float(first),
            expected=(0, 1),
            fix="code the outcome as 1 (yes) / 0 (no) and drop units with a missing outcome",
        )
    return y


def _is_01(v: Any) -> bool:
    try:
        return float(v) in (0.0, 1.0)
    except (TypeError, ValueError):
        return False


def as_matrix(X: Any, n: int, name: str = "X") -> tuple[np.ndarray, list[str]]:
    cols = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(
            f"{name} must hold numbers (a design matrix), not labels.",
            code="non_numeric_covariates",
            column=name,
            fix="code categorical covariates as 0/1 dummy columns",
        ) from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != n:
        raise ModelError(
            f"{name} must be a matrix with one row per unit.",
            code="bad_shape",
            column=name,
            got=tuple(X.shape),
            expected=f"({n}, p)",
        )
    if cols is None:
        cols = [f"{name}[:, {j}]" for j in range(X.shape[1])]
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise ModelError(
            f"{name} has missing or infinite covariate values in {int(bad.any(axis=1).sum())} row(s).",
            code="missing_covariates",
            column=cols[j],
            rows=data_rows(bad.any(axis=1)),
            fix="impute or drop the units with missing covariates (the model needs every x_ij)",
        )
    return X, cols


def as_area_codes(area_codes: Any, n: int, name: str = "area_codes") -> np.ndarray:
    a = np.asarray(area_codes).ravel()
    if a.shape[0] != n:
        raise ModelError(
            f"{name} must give one area per unit.", code="bad_shape", column=name, got=a.shape[0], expected=n
        )
    import pandas as pd

    miss = pd.isna(a)
    if miss.any():
        raise ModelError(
            f"{name} is missing for {int(miss.sum())} unit(s).",
            code="missing_area",
            column=name,
            rows=data_rows(np.asarray(miss)),
            fix="give every unit its area code",
        )
    return a


def area_index(a: np.ndarray, name: str = "area_codes") -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels and each row's index among them."""
    try:
        areas, idx = np.unique(a, return_inverse=True)
    except TypeError:
        raise ModelError(
            f"{name} mixes kinds of labels (e.g. numbers and text) that cannot be sorted together.",
            code="mixed_area_codes",
            column=name,
            fix="give every area code as text (or every one as a number)",
        ) from None
    return areas, idx.ravel()


def check_inputs(y: Any, X: Any, area_codes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``y`` (n,), ``X`` (n, p), sorted area labels (A,) and each unit's area index (n,)."""
    y = _as_y(y)
    n = y.shape[0]
    X, cols = as_matrix(X, n)
    a = as_area_codes(area_codes, n)
    if n == 0:
        raise ModelError("There are no units.", code="empty")
    if np.all(y == y[0]):
        raise ModelError(
            "Every unit has the same response; the model cannot be fitted.",
            code="constant_response",
            column="y",
            got=float(y[0]),
            fix="a logistic model needs both outcomes in the sample",
        )
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ModelError(
            f"The covariates are collinear (rank {rank} < {X.shape[1]} columns).",
            code="collinear_covariates",
            got=cols,
            fix="drop redundant columns (e.g. one dummy per factor, or a second intercept)",
        )
    areas, idx = area_index(a)
    return y, X, areas, idx


# --------------------------------------------------------------------------- the likelihood


class Problem:
    """The data of one fit, with what every evaluation reuses (area indicator, warm-start modes)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, idx: np.ndarray, n_areas: int, n_agq: int) -> None:
        self.y, self.X, self.idx, self.A = y, X, idx, n_areas
        n = y.shape[0]
        self.Z = scipy.sparse.csr_matrix((np.ones(n), (idx, np.arange(n))), shape=(n_areas, n))
        self.z, self.logw = gh_rule(n_agq)
        self.b = np.zeros(n_areas)  # warm start of the conditional modes
        self.n_modes = 0
        self.hessian: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def asum(self, v: np.ndarray) -> np.ndarray:
        """Sums over the units of each area: (n,) -> (A,), (n, k) -> (A, k)."""
        if v.ndim == 1:
            return np.bincount(self.idx, weights=v, minlength=self.A)
        return np.asarray(self.Z @ v)

    def modes(self, eta0: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conditional modes ``b^`` (A,) of ``F_i``, with ``p`` (n,) and ``H`` (A,) at the modes.

        Newton: ``b <- b + F'(b)/H(b)``, ``F'(b) = sigma sum_j (y - p) - b``; a step that would
        lower ``F_i`` is halved for that area only (``F_i`` is strictly concave, so this converges).
        """
        y, idx = self.y, self.idx
        b = self.b.copy() if sigma != 0 else np.zeros(self.A)
        eta = eta0 + sigma * b[idx]
        f = self.asum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * b * b
        for _ in range(200):
            p = expit(eta)
            g = sigma * self.asum(y - p) - b
            H = 1.0 + sigma * sigma * self.asum(p * (1.0 - p))
            step = g / H
            for _ in range(60):
                bn = b + step
                eta_n = eta0 + sigma * bn[idx]
                fn = self.asum(y * eta_n - np.logaddexp(0.0, eta_n)) - 0.5 * bn * bn
                worse = fn < f - 1e-12 * (1.0 + np.abs(f))
                if not worse.any():
                    break
                step = np.where(worse, 0.5 * step, step)
            b, eta, f = bn, eta_n, fn
            if np.max(np.abs(step)) <= 1e-11 * (1.0 + np.max(np.abs(b))):
                break
        p = expit(eta)
        H = 1.0 + sigma * sigma * self.asum(p * (1.0 - p))
        self.b = b
        self.n_modes += 1
        return b, p, H

    def posterior(self, eta0: np.ndarray, sigma: float, n_quad: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes ``b_im`` (A, M) and normalised weights ``pi_im`` (A, M) of the adaptive Gauss–Hermite
        rule for the conditional distribution of ``b_i`` given ``y_i``, so that
        ``E[g(b_i) | y_i] ~ sum_m pi_im g(b_im)`` with ``b_im = b^_i + s_i z_m`` and
        ``pi_im`` proportional to ``w_m exp(F_i(b_im) + z_m^2 / 2)``."""
        b, _, H = self.modes(eta0, sigma)
        z, logw = gh_rule(n_quad)
        bk = b[:, None] + z[None, :] / np.sqrt(H)[:, None]
        eta = eta0[:, None] + sigma * bk[self.idx]
        F = self.asum(self.y[:, None] * eta - np.logaddexp(0.0, eta)) - 0.5 * bk * bk
        lk = logw[None, :] + F + 0.5 * z[None, :] ** 2
        return bk, np.exp(lk - logsumexp(lk, axis=1, keepdims=True))

    def value_grad(self, theta: np.ndarray, grad: bool = True) -> tuple[float, np.ndarray]:
        """``-loglik`` and its gradient in ``theta = (sigma_u, beta)``."""
        sigma, beta = float(theta[0]), theta[1:]
        y, X, idx = self.y, self.X, self.idx
        eta0 = X @ beta
        b, p, H = self.modes(eta0, sigma)
        s = 1.0 / np.sqrt(H)
        z, logw = self.z, self.logw
        bk = b[:, None] + s[:, None] * z[None, :]  # (A, K)
        eta = eta0[:, None] + sigma * bk[idx]  # (n, K)
        F = self.asum(y[:, None] * eta - np.logaddexp(0.0, eta)) - 0.5 * bk * bk
        lk = logw[None, :] + F + 0.5 * z[None, :] ** 2
        lse = logsumexp(lk, axis=1)
        loglik = float(np.sum(np.log(s) + lse))
        if not grad:
            return -loglik, np.empty(0)
        pi = np.exp(lk - lse[:, None])  # (A, K) normalised node weights
        pk = expit(eta)
        r = y[:, None] - pk  # (n, K)
        # derivatives of the mode and of H (implicit differentiation of F'(b^) = 0)
        w = p * (1.0 - p)
        S = self.asum(w)
        Wx = self.asum(w[:, None] * X)  # (A, p)
        db_dbeta = -sigma * Wx / H[:, None]
        db_dsig = (self.asum(y - p) - sigma * S * b) / H
        w3 = w * (1.0 - 2.0 * p)
        W3x = self.asum(w3[:, None] * X)
        W3 = self.asum(w3)
        dH_dbeta = sigma**2 * (W3x + sigma * W3[:, None] * db_dbeta)
        dH_dsig = 2.0 * sigma * S + sigma**2 * W3 * (b + sigma * db_dsig)
        ds_dbeta = -0.5 * (s / H)[:, None] * dH_dbeta
        ds_dsig = -0.5 * s / H * dH_dsig
        # direct partials of F at the nodes, weighted by pi
        rp = np.sum(pi[idx] * r, axis=1)  # (n,)
        gbeta = X.T @ rp
        R = self.asum(r)  # (A, K)
        gsig = float(np.sum(pi * R * bk))
        Fp = sigma * R - bk  # F'(b_k)
        c0 = np.sum(pi * Fp, axis=1)
        c1 = np.sum(pi * Fp * z[None, :], axis=1)
        gbeta = gbeta + db_dbeta.T @ c0 + ds_dbeta.T @ c1 - 0.5 * (dH_dbeta / H[:, None]).sum(axis=0)
        gsig = gsig + float(db_dsig @ c0 + ds_dsig @ c1) - 0.5 * float(np.sum(dH_dsig / H))
        return -loglik, -np.concatenate([[gsig], gbeta])


def _glm_start(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Ordinary logistic regression (IRLS) for the starting beta."""
    beta = np.zeros(X.shape[1])
    for _ in range(30):
        p = np.clip(expit(X @ beta), 1e-10, 1 - 1e-10)
        w = p * (1 - p)
        step = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _fd_hessian(prob: Problem, theta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Hessian of ``-loglik`` on the ``free`` coordinates by central differences of the gradient."""
    k = np.flatnonzero(free)
    Hm = np.empty((k.size, k.size))
    b_save = prob.b.copy()
    for a, j in enumerate(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        gp = prob.value_grad(tp)[1]
        prob.b = b_save.copy()
        gm = prob.value_grad(tm)[1]
        prob.b = b_save.copy()
        Hm[:, a] = (gp[k] - gm[k]) / (2 * h)
    return 0.5 * (Hm + Hm.T)


def fit_logistic_mixed(
    y: Any,
    X: Any,
    area_codes: Any,
    *,
    n_agq: int = 1,
    start: Sequence[float] | None = None,
    maxiter: int = 500,
) -> LogisticMixedFit:
    """Maximum-likelihood fit of ``logit p_ij = x_ij' beta + u_i``, ``u_i ~ N(0, sigma_u^2)``.

    ``y`` (n,) 0/1 outcomes; ``X`` (n, p) design matrix (include the intercept column; a DataFrame's
    column names appear in errors); ``area_codes`` (n,) area labels (any sortable labels).
    ``n_agq`` Gauss–Hermite points per area: 1 = Laplace (``glmer`` default), ``k`` > 1 = adaptive
    quadrature as ``glmer(nAGQ = k)``. ``start`` optional ``(sigma_u, *beta)``.

    An area where every unit has y = 0 (or every unit y = 1) is fine: its conditional mode is
    finite (shrunk by the N(0, sigma_u^2) prior). A response that is constant over the whole
    sample, missing or non-0/1 responses, missing covariates, or collinear covariates raise
    :class:`~carepop.errors.ModelError`.

    R: ``lme4::glmer(y ~ X - 1 + (1 | area), family = binomial, nAGQ = n_agq)``.
    """
    y, Xm, areas, idx = check_inputs(y, X, area_codes)
    if not isinstance(n_agq, (int, np.integer)) or not 1 <= int(n_agq) <= _MAX_AGQ:
        raise ModelError(
            "n_agq must be a whole number of quadrature points from 1 (Laplace) to 25.",
            code="bad_n_agq",
            got=n_agq,
            expected="1..25",
            fix=("use ", opt("n_agq", 1), " (Laplace, as glmer's default) or more points for AGQ"),
        )
    n_agq = int(n_agq)
    prob = Problem(y, Xm, idx, areas.size, n_agq)
    p = Xm.shape[1]
    if start is None:
        theta0 = np.concatenate([[1.0], _glm_start(y, Xm)])
    else:
        theta0 = np.asarray(start, dtype=float).ravel()
        if theta0.size != p + 1:
            raise ModelError(
                "start must be (sigma_u, *beta).", code="bad_start", got=theta0.size, expected=p + 1
            )
        # sigma_u = 0 is a stationary point of the likelihood (it is even in sigma_u): start off it
        theta0[0] = max(abs(theta0[0]), 0.05)
    theta, iters, converged = maximise(prob, theta0, maxiter)
    return _finish(prob, theta, iters, converged, areas, n_agq)


def maximise(
    prob: Problem,
    theta0: np.ndarray,
    maxiter: int = 500,
    polish: bool = True,
    hess_inv0: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Maximise the approximate log-likelihood from ``theta0 = (sigma_u, *beta)``: BFGS, then
    (``polish``) Newton steps on a central-difference Hessian until the Newton decrement is below
    1e-12. Returns ``theta``, the number of iterations and whether it converged. ``hess_inv0``
    an initial inverse Hessian for BFGS (a previous fit's ``theta_cov``, for a bootstrap refit).

    The likelihood is even in ``sigma_u`` (``b -> -b``), so BFGS runs unconstrained and
    ``sigma_u = |theta_0|``; the boundary ``sigma_u = 0`` is reached without a bound constraint.
    (BFGS rather than L-BFGS-B: the latter's LAPACK calls were ten times slower on a loaded
    machine with threaded BLAS, for a problem of a handful of parameters.)
    """
    p1 = theta0.size
    res = scipy.optimize.minimize(
        prob.value_grad,
        theta0,
        jac=True,
        method="BFGS",
        options={"maxiter": maxiter, "gtol": 1e-8 if polish else 1e-6, "hess_inv0": hess_inv0},
    )
    theta = res.x.copy()
    theta[0] = abs(theta[0])
    iters = int(res.nit)
    if not polish:
        if theta[0] < 1e-6:
            theta[0] = 0.0
        # BFGS's "precision loss" ending is usually at the optimum: judge by the gradient
        return theta, iters, bool(res.success or np.max(np.abs(res.jac)) < 1e-4)
    # Newton polish on the interior coordinates (sigma_u fixed at 0 on the boundary)
    free = np.ones(p1, dtype=bool)
    converged = False
    for _ in range(8):
        if theta[0] < 1e-6:
            theta[0] = 0.0
            free[0] = False
        f, g = prob.value_grad(theta)
        Hf = _fd_hessian(prob, theta, free)
        try:
            c = np.linalg.cholesky(Hf)
        except np.linalg.LinAlgError:
            break
        step = np.zeros(p1)
        step[free] = -scipy.linalg.cho_solve((c, True), g[free])
        dec = float(-g[free] @ step[free])
        if dec < 1e-12:
            converged = True
            prob.hessian = (theta.copy(), free.copy(), Hf)  # at the optimum: _finish reuses it
            break
        t_new = theta + step
        t_new[0] = max(t_new[0], 0.0)
        f_new = prob.value_grad(t_new, grad=False)[0]
        if f_new > f + 1e-10 * (1 + abs(f)):
            break
        theta = t_new
        iters += 1
    return theta, iters, converged


def _finish(
    prob: Problem, theta: np.ndarray, iters: int, converged: bool, areas: np.ndarray, n_agq: int
) -> LogisticMixedFit:
    sigma, beta = float(theta[0]), theta[1:].copy()
    f, _ = prob.value_grad(theta)
    free = np.ones(theta.size, dtype=bool)
    free[0] = sigma > 0
    if prob.hessian is not None and np.array_equal(prob.hessian[0], theta):
        free, Hf = prob.hessian[1], prob.hessian[2]
    else:
        Hf = _fd_hessian(prob, theta, free)
    theta_cov = np.full((theta.size, theta.size), np.nan)
    try:
        inv = np.linalg.inv(Hf)
        theta_cov[np.ix_(free, free)] = 0.5 * (inv + inv.T)
    except np.linalg.LinAlgError:
        converged = False
    beta_cov = theta_cov[1:, 1:]
    b, _, H = prob.modes(prob.X @ beta, sigma)
    return LogisticMixedFit(
        method="laplace" if n_agq == 1 else f"agq{n_agq}",
        beta=beta,
        beta_cov=beta_cov.copy(),
        sigma2_u=sigma * sigma,
        loglik=-float(f),
        iterations=iters,
        converged=bool(converged),
        n_agq=n_agq,
        areas=areas,
        u=sigma * b,
        u_sd=sigma / np.sqrt(H),
        n=int(prob.y.shape[0]),
        theta_cov=theta_cov,
    )
