"""Poisson log-linear regression by iteratively reweighted least squares (Fisher scoring).

For counts y (cells,) and a design X (cells, p) with log μ = Xβ, each step solves

    (Xᵀ W X) β_new = Xᵀ W z,    W = diag(μ),  z = Xβ + (y − μ)/μ,

until the deviance D = 2 Σ [y log(y/μ) − (y − μ)] changes by less than ``tol`` relative
(McCullagh & Nelder 1989, section 2.5). The covariance of β̂ is (Xᵀ W X)⁻¹ and the log-likelihood
ℓ = Σ [y log μ − μ − log y!], so AIC = −2ℓ + 2p as R's ``AIC(glm(y ~ X - 1, family = poisson))``.

R equivalent: ``glm(y ~ ., family = poisson, control = glm.control(epsilon = 1e-14))``.
:func:`poisson_fit_batch` fits B tables with the same design at once (bootstrap replicates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlogy

from carepop.errors import ModelError


@dataclass(frozen=True)
class PoissonFit:
    beta: np.ndarray
    cov: np.ndarray
    mu: np.ndarray
    deviance: float
    loglik: float
    rank: int
    df: int
    iterations: int
    converged: bool

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.rank


def deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson deviance 2 Σ [y log(y/μ) − (y − μ)] over the last axis."""
    return 2.0 * np.sum(xlogy(y, y) - xlogy(y, mu) - (y - mu), axis=-1)


def poisson_fit(y: np.ndarray, X: np.ndarray, *, tol: float = 1e-13, max_iter: int = 100) -> PoissonFit:
    """Fit log μ = Xβ to counts ``y`` (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    cells, p = X.shape
    if p > cells:
        raise ModelError(
            f"The model has {p} parameters but the table only {cells} observable cells.",
            code="too_many_parameters",
            got=p,
            expected=f"at most {cells} parameters",
            fix="leave out interactions",
        )
    if np.linalg.matrix_rank(X) < p:
        raise ModelError(
            "The model's parameters cannot all be estimated (its design is rank-deficient).",
            code="not_estimable",
            fix="leave out repeated or redundant interactions",
        )
    mu = y + 0.5
    eta = np.log(mu)
    dev_old = deviance(y, mu)
    beta = np.zeros(p)
    converged = False
    iterations = 0
    for step in range(1, max_iter + 1):
        iterations = step
        z = eta + (y - mu) / mu
        xtw = X.T * mu
        beta = np.linalg.solve(xtw @ X, xtw @ z)
        eta = X @ beta
        mu = np.exp(eta)
        dev = deviance(y, mu)
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            converged = True
            break
        dev_old = dev
    info = (X.T * mu) @ X
    cov = np.linalg.inv(info)
    loglik = float(np.sum(xlogy(y, mu) - mu - gammaln(y + 1.0)))
    return PoissonFit(beta, cov, mu, float(dev), loglik, p, cells - p, iterations, converged)


def poisson_fit_batch(Y: np.ndarray, X: np.ndarray, *, tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """β̂ (B, p) for B count vectors ``Y`` (B, cells) with one design, fitted together."""
    Y = np.asarray(Y, dtype=float)
    mu = Y + 0.5
    eta = np.log(mu)
    dev_old = deviance(Y, mu)
    beta = np.zeros((Y.shape[0], X.shape[1]))
    for _ in range(max_iter):
        z = eta + (Y - mu) / mu
        xtwx = np.einsum("bc,cp,cq->bpq", mu, X, X)
        xtwz = np.einsum("bc,cp,bc->bp", mu, X, z)
        beta = np.linalg.solve(xtwx, xtwz[..., None])[..., 0]
        eta = beta @ X.T
        mu = np.exp(eta)
        dev = deviance(Y, mu)
        if np.all(np.abs(dev - dev_old) <= tol * (np.abs(dev) + 0.1)):
            break
        dev_old = dev
    return beta
