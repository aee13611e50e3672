"""A seeded model-based simulation of the EBP and its bootstrap MSE with known truth.

Fixed design: ``A`` areas, two covariate cells per area (``x = 0, 1``) with population counts
``N_ik`` and fixed sample counts ``n_ik``. Each run draws ``u_i ~ N(0, sigma^2)``, the sample
outcomes (Bernoulli) and the non-sampled cell totals (Binomial), so the true proportion ``P_i``
is known; it fits the model, computes the EBP and the bootstrap MSE (``B`` replicates). Over the
runs, the empirical MSE ``mean (P^_i - P_i)^2`` is compared with the mean bootstrap MSE, and the
coverage of ``P^_i +- 1.96 sqrt(mse_i)`` is counted.

Used small by ``tests/sae/test_ebp.py`` and large by ``validation/simulation_ebp.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from carepop.sae.ebp import ebp_proportion, mse_ebp_bootstrap
from carepop.sae.glmm import fit_logistic_mixed


@dataclass(frozen=True)
class SimResult:
    runs: int
    B: int
    emp_mse: np.ndarray  # (A,)
    boot_mse: np.ndarray  # (A,) mean over runs
    coverage: float  # over runs x areas
    sigma_hat: np.ndarray  # (runs,)
    covered: np.ndarray  # (runs, A) bool

    @property
    def ratio(self) -> float:
        """Mean bootstrap MSE over mean empirical MSE (areas pooled)."""
        return float(self.boot_mse.sum() / self.emp_mse.sum())


def simulate(
    runs: int,
    B: int,
    seed: int,
    n_areas: int = 30,
    beta: tuple[float, float] = (-1.0, 0.8),
    sigma: float = 0.8,
    n_min: int = 3,
    n_max: int = 15,
    oracle: bool = False,
) -> SimResult:
    """``oracle``: bootstrap from the true (beta, sigma_u) instead of the estimates, which
    isolates the bootstrap machinery from the error of the plug-in (its MSE should then match
    the empirical MSE up to simulation noise)."""
    rng = np.random.default_rng(seed)
    A = n_areas
    N = rng.integers(100, 300, size=(A, 2))  # population counts, cells x = 0, 1
    n = rng.integers(n_min, n_max, size=(A, 2))  # sample counts
    area = np.repeat(np.arange(A), n.sum(axis=1))
    x = np.concatenate([np.repeat([0.0, 1.0], n[i]) for i in range(A)])
    X = np.column_stack([np.ones(x.size), x])
    pop_X = np.column_stack([np.ones(2 * A), np.tile([0.0, 1.0], A)])
    pop_area = np.repeat(np.arange(A), 2)
    pop_count = N.ravel().astype(float)
    b = np.asarray(beta)
    est = np.empty((runs, A))
    mse = np.empty((runs, A))
    truth = np.empty((runs, A))
    sig = np.empty(runs)
    for r in range(runs):
        u = rng.normal(0.0, sigma, A)
        y = (rng.random(x.size) < expit(X @ b + u[area])).astype(float)
        rest = rng.binomial(N - n, expit(b[0] + b[1] * np.array([0.0, 1.0])[None, :] + u[:, None]))
        truth[r] = (np.bincount(area, weights=y, minlength=A) + rest.sum(axis=1)) / N.sum(axis=1)
        fit = fit_logistic_mixed(y, X, area)
        sig[r] = fit.sigma_u
        est[r] = ebp_proportion(fit, y, X, area, pop_X, pop_area, pop_count).estimate
        boot_fit = dataclasses.replace(fit, beta=b, sigma2_u=sigma**2) if oracle else fit
        mse[r] = mse_ebp_bootstrap(boot_fit, y, X, area, pop_X, pop_area, pop_count, B=B, seed=rng)
    covered = np.abs(est - truth) <= 1.96 * np.sqrt(mse)
    return SimResult(
        runs=runs,
        B=B,
        emp_mse=np.mean((est - truth) ** 2, axis=0),
        boot_mse=mse.mean(axis=0),
        coverage=float(covered.mean()),
        sigma_hat=sig,
        covered=covered,
    )
