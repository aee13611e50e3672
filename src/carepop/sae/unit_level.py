"""Unit-level small-area model: the nested-error (Battese–Harter–Fuller 1988) EBLUP of area means.

Model (Rao & Molina 2015, section 4.3; Battese, Harter & Fuller 1988)::

    y_ij = x_ij'β + u_i + e_ij,   u_i ~ N(0, σ²ᵤ),   e_ij ~ N(0, σ²ₑ),

fitted by REML (:func:`fit_bhf`). The EBLUP of the population mean of area ``i`` with ``n_i`` sample
units out of ``N_i`` (Rao & Molina 2015, section 7.2; R ``sae::eblupBHF``) is::

    Ȳ̂_i = f_i ȳ_i + (X̄_i − f_i x̄_i)'β̂ + (1 − f_i) û_i,   f_i = n_i/N_i,
    û_i = γ_i (ȳ_i − x̄_i'β̂),   γ_i = σ²ᵤ / (σ²ᵤ + σ²ₑ/n_i),

and the synthetic ``X̄_i'β̂`` for an area without sample (:func:`eblup_bhf`). Its MSE is estimated
analytically (Prasad–Rao type, :func:`mse_bhf_analytic`) or by parametric bootstrap
(González-Manteiga et al. 2008; R ``sae::pbmseBHF``; :func:`mse_bhf_bootstrap`).

Inputs: ``y`` (n,) responses, ``X`` (n, p) covariates (intercept column included by the caller),
``area_codes`` (n,); the population table ``pop_codes`` (A,), ``pop_means`` (A, p) population means
of the columns of ``X`` (1 for the intercept) and ``pop_sizes`` (A,) population sizes ``N_i``.
Results are aligned with the rows of the population table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepop.errors import ModelError
from carepop.sae.unit_level_data import (
    NestedSample,
    PopulationAreas,
    check_fit_matches,
    population_areas,
    sample_stats,
)
from carepop.sae.unit_level_reml import reml_batch

__all__ = ["BHFFit", "BHFPrediction", "fit_bhf", "eblup_bhf", "mse_bhf_analytic", "mse_bhf_bootstrap"]


@dataclass(frozen=True)
class BHFFit:
    """A REML fit of the nested-error model.

    ``sigma2_u``, ``sigma2_e`` variance components; ``beta`` (p,) GLS coefficients with covariance
    ``beta_cov = (X'V̂⁻¹X)⁻¹``; ``loglik`` the restricted log-likelihood (as lme4's ``logLik``);
    ``information`` (2, 2) the expected REML information in ``(σ²ᵤ, σ²ₑ)`` at the estimates;
    ``areas`` (m,) the sampled area codes (sorted), ``n`` (m,) their sample sizes, ``u`` (m,) the
    predicted area effects ``û_i``; ``n_obs``.
    """

    method: str
    sigma2_u: float
    sigma2_e: float
    beta: np.ndarray
    beta_cov: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    information: np.ndarray
    areas: np.ndarray
    n: np.ndarray
    u: np.ndarray
    n_obs: int


@dataclass(frozen=True)
class BHFPrediction:
    """EBLUPs of the area means, aligned with the population table.

    ``areas`` (A,) codes, ``estimate`` (A,) EBLUPs, ``gamma`` (A,) shrinkage factors ``γ_i`` (0 out of
    sample), ``n`` (A,) sample sizes, ``u`` (A,) predicted area effects ``û_i`` (0 out of sample),
    ``sampled`` (A,) bool.
    """

    areas: np.ndarray
    estimate: np.ndarray
    gamma: np.ndarray
    n: np.ndarray
    u: np.ndarray
    sampled: np.ndarray


def fit_bhf(y, X, area_codes, *, maxiter: int = 100, tol: float = 1e-10) -> BHFFit:
    """Fit ``y_ij = x_ij'β + u_i + e_ij`` by REML (Newton / Fisher scoring on the area sufficient statistics).

    R: ``lme4::lmer(y ~ X - 1 + (1 | area), REML = TRUE)`` (what ``sae::eblupBHF`` calls), or
    ``nlme::lme(y ~ X - 1, random = ~ 1 | area, method = "REML")``.
    """
    s = sample_stats(y, X, area_codes)
    r = reml_batch(s, s.ybar[None], s.wxy[None], np.array([s.wyy]), maxiter=maxiter, tol=tol)
    su, se, beta = float(r.sigma2_u[0]), float(r.sigma2_e[0]), r.beta[0]
    gamma = s.n * su / (se + s.n * su)
    u = gamma * (s.ybar - s.xbar @ beta)
    return BHFFit(
        method="reml",
        sigma2_u=su,
        sigma2_e=se,
        beta=beta,
        beta_cov=r.beta_cov[0],
        loglik=float(r.loglik[0]),
        iterations=int(r.iterations[0]),
        converged=bool(r.converged[0]),
        information=r.information[0],
        areas=s.codes,
        n=s.n.astype(int),
        u=u,
        n_obs=s.nobs,
    )


def _prepare(fit: BHFFit, y, X, area_codes, pop_codes, pop_means, pop_sizes):
    s = sample_stats(y, X, area_codes)
    check_fit_matches(fit.beta.shape[0], s)
    return s, population_areas(s, pop_codes, pop_means, pop_sizes)


def _predict(pop: PopulationAreas, su, se, beta, ybar):
    """EBLUPs for a batch: ``su``, ``se`` (B,), ``beta`` (B, p), ``ybar`` (B, m) -> (B, A) arrays."""
    n = pop.n
    f = n / pop.size
    gamma = n * su[:, None] / (se[:, None] + n * su[:, None])
    yb = np.where(pop.sampled, ybar[:, np.maximum(pop.pos, 0)], 0.0)
    u = gamma * (yb - beta @ pop.xbar.T)
    est = f * yb + beta @ pop.xmean.T - f * (beta @ pop.xbar.T) + (1.0 - f) * u
    return est, gamma, u


def eblup_bhf(fit: BHFFit, y, X, area_codes, pop_codes, pop_means, pop_sizes) -> BHFPrediction:
    """EBLUP of each population area's mean (Rao & Molina 2015, section 7.2).

    ``Ȳ̂_i = f_i ȳ_i + (X̄_i − f_i x̄_i)'β̂ + (1 − f_i) γ_i (ȳ_i − x̄_i'β̂)`` with ``f_i = n_i/N_i``;
    ``X̄_i'β̂`` for an area of the population table without sample. R:
    ``sae::eblupBHF(y ~ x1 + x2, dom = area, meanxpop = Xmean, popnsize = Popn, data = d)$eblup``.
    """
    s, pop = _prepare(fit, y, X, area_codes, pop_codes, pop_means, pop_sizes)
    su, se = np.array([fit.sigma2_u]), np.array([fit.sigma2_e])
    est, gamma, u = _predict(pop, su, se, fit.beta[None], s.ybar[None])
    return BHFPrediction(pop.codes, est[0], gamma[0], pop.n.astype(int), u[0], pop.sampled)


def vc_covariance(s: NestedSample, su: float, se: float) -> np.ndarray:
    """Asymptotic covariance of ``(σ̂²ᵤ, σ̂²ₑ)``: the inverse of ``I_kl = ½ tr(V⁻¹V_kV⁻¹V_l)``, i.e.
    ``I_uu = ½ Σ n_i²/τ_i²``, ``I_ue = ½ Σ n_i/τ_i²``, ``I_ee = ½[(n − m)/σ⁴ₑ + Σ 1/τ_i²]``
    (Rao & Molina 2015, section 7.2.4; the same to ``O(m⁻¹)`` for ML and REML)."""
    tau = se + s.n * su
    i_uu = 0.5 * np.sum(s.n**2 / tau**2)
    i_ue = 0.5 * np.sum(s.n / tau**2)
    i_ee = 0.5 * ((s.nobs - s.m) / se**2 + np.sum(1.0 / tau**2))
    return np.linalg.inv(np.array([[i_uu, i_ue], [i_ue, i_ee]]))


def mse_bhf_analytic(fit: BHFFit, y, X, area_codes, pop_codes, pop_means, pop_sizes) -> np.ndarray:
    """Second-order MSE estimate of the EBLUPs (Prasad–Rao / Datta–Lahiri type for REML).

    Rao & Molina (2015), section 7.2.4 (Datta & Lahiri 2000 for REML), with the finite-population
    term: for area ``i``::

        mse_i = (1 − f_i)² [g1_i + 2 g3_i] + d_i' (X'V̂⁻¹X)⁻¹ d_i + (1 − f_i) σ̂²ₑ / N_i,
        g1_i = (1 − γ_i) σ̂²ᵤ,   d_i = X̄_i − (f_i + (1 − f_i) γ_i) x̄_i   (= (1 − f_i)(X̄_ir − γ_i x̄_i)),
        g3_i = n_i [σ⁴ₑ V_uu − 2 σ²ᵤ σ²ₑ V_ue + σ⁴ᵤ V_ee] / (σ²ₑ + n_i σ²ᵤ)³,

    ``V`` the asymptotic covariance of the variance components (:func:`vc_covariance`). Out of sample
    (``n_i = 0``): ``σ̂²ᵤ + X̄_i'(X'V̂⁻¹X)⁻¹X̄_i + σ̂²ₑ/N_i``. R has no function for it;
    ``tests/sae/fixtures/cornsoybean/make_fixtures.R`` computes it with dense matrices.
    """
    s, pop = _prepare(fit, y, X, area_codes, pop_codes, pop_means, pop_sizes)
    su, se = fit.sigma2_u, fit.sigma2_e
    vcov = vc_covariance(s, su, se)
    n = pop.n
    f = n / pop.size
    tau = se + n * su
    gamma = n * su / tau
    g1 = (1.0 - gamma) * su
    g3 = n * (se**2 * vcov[0, 0] - 2.0 * su * se * vcov[0, 1] + su**2 * vcov[1, 1]) / tau**3
    d = pop.xmean - (f + (1.0 - f) * gamma)[:, None] * pop.xbar
    g2 = np.einsum("ai,ij,aj->a", d, fit.beta_cov, d)
    return (1.0 - f) ** 2 * (g1 + 2.0 * g3) + g2 + (1.0 - f) * se / pop.size


def mse_bhf_bootstrap(
    fit: BHFFit,
    y,
    X,
    area_codes,
    pop_codes,
    pop_means,
    pop_sizes,
    *,
    B: int = 200,
    seed=None,
    maxiter: int = 100,
    tol: float = 1e-10,
) -> np.ndarray:
    """Parametric bootstrap MSE of the EBLUPs (González-Manteiga et al. 2008; R ``sae::pbmseBHF``).

    Each replicate draws ``u*_i ~ N(0, σ̂²ᵤ)``, ``e*_ij ~ N(0, σ̂²ₑ)`` and the mean of the
    ``N_i − n_i`` non-sampled errors, forms ``y*_ij = x_ij'β̂ + u*_i + e*_ij`` and the true mean
    ``Ȳ*_i = X̄_i'β̂ + u*_i + (n_i ē*_i + (N_i − n_i) ē*_ir)/N_i``, refits by REML and predicts;
    ``mse_i = mean_b (Ȳ̂*_i − Ȳ*_i)²``. The replicate samples are drawn through their sufficient
    statistics — ``ē*_i ~ N(0, σ̂²ₑ/n_i)``, ``W_xy* = W_xxβ̂ + z``, ``z ~ N(0, σ̂²ₑ W_xx)``,
    ``W_yy* = β̂'W_xxβ̂ + 2β̂'z + z'W_xx⁺z + σ̂²ₑ χ²(n − m − rank W_xx)`` — which have exactly the
    distribution of those of the unit-level draws, and all replicates are fitted together. A
    replicate whose fit does not converge is replaced (as pbmseBHF does). Seeded by
    ``np.random.default_rng(seed)``: the same seed gives the same result.
    """
    if not (isinstance(B, (int, np.integer)) and B >= 1):
        raise ModelError("B must be a positive whole number.", code="invalid_replicates", got=B)
    s, pop = _prepare(fit, y, X, area_codes, pop_codes, pop_means, pop_sizes)
    rng = np.random.default_rng(seed)
    su, se, beta = fit.sigma2_u, fit.sigma2_e, fit.beta
    lam, vec = np.linalg.eigh(s.wxx)
    keep = lam > 1e-10 * max(lam.max(), 1e-300)
    root = vec[:, keep] * np.sqrt(lam[keep])  # W_xx = root root'
    rank = int(keep.sum())
    df_rest = s.nobs - s.m - rank
    mu = s.xbar @ beta
    wxx_beta = s.wxx @ beta
    bwb = float(beta @ wxx_beta)
    rest = pop.size - pop.n
    synthetic = pop.xmean @ beta
    chunk = max(1, min(B, 2_000_000 // max(s.m, pop.codes.shape[0], 1)))
    total = np.zeros(pop.codes.shape[0])
    done = tries = 0
    while done < B:
        b = min(chunk, B - done)
        tries += b
        if tries > 10 * B + 100:
            raise ModelError(
                "Too many bootstrap replicates failed to converge.",
                code="bootstrap_failed",
                got=tries - done,
                fix="check the fit (fit.converged) and the data; a larger maxiter may help",
            )
        u = rng.normal(0.0, np.sqrt(su), (b, s.m))
        ebar = rng.standard_normal((b, s.m)) * np.sqrt(se / s.n)
        g = rng.standard_normal((b, rank))
        chi = rng.chisquare(df_rest, b) if df_rest > 0 else np.zeros(b)
        xi = rng.standard_normal((b, pop.codes.shape[0]))
        u_out = rng.normal(0.0, np.sqrt(su), (b, pop.codes.shape[0]))
        z = np.sqrt(se) * g @ root.T
        ybar = mu + u + ebar
        wxy = wxx_beta + z
        wyy = bwb + 2.0 * z @ beta + se * (np.sum(g**2, axis=1) + chi)
        sampled = pop.sampled
        at = np.maximum(pop.pos, 0)
        err_mean = (np.where(sampled, pop.n * ebar[:, at], 0.0) + np.sqrt(rest * se) * xi) / pop.size
        truth = synthetic + np.where(sampled, u[:, at], u_out) + err_mean
        r = reml_batch(s, ybar, wxy, wyy, maxiter=maxiter, tol=tol)
        est, _, _ = _predict(pop, r.sigma2_u, r.sigma2_e, r.beta, ybar)
        ok = r.converged
        total += np.sum((est[ok] - truth[ok]) ** 2, axis=0)
        done += int(ok.sum())
    return total / B
