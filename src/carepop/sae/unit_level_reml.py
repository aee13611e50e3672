"""REML for the nested-error model, by Newton / Fisher scoring, vectorised over a batch of responses.

With ``τ_i = σ²ₑ + n_i σ²ᵤ`` and the sufficient statistics of :class:`NestedSample`
(Rao & Molina 2015, chapter 5 and section 7.2; Searle, Casella & McCulloch 1992, chapter 6):

* ``A = X'V⁻¹X = W_xx/σ²ₑ + Σ_i n_i x̄_i x̄_i'/τ_i``, ``c = X'V⁻¹y = W_xy/σ²ₑ + Σ_i n_i x̄_i ȳ_i/τ_i``,
  ``β̂ = A⁻¹c`` (GLS), ``Cov(β̂) = A⁻¹``;
* ``log|V| = (n − m) log σ²ₑ + Σ_i log τ_i``;
* ``r'V⁻¹r = y'V⁻¹y − c'β̂`` with ``y'V⁻¹y = W_yy/σ²ₑ + Σ_i n_i ȳ_i²/τ_i``;
* restricted log-likelihood ``l_R = −½[(n − p) log 2π + log|V| + log|A| + r'V⁻¹r]``
  (lme4's ``logLik(fit)`` for ``REML = TRUE``; nlme's REML log-likelihood adds ``½ log|X'X|``).

The score and expected information in ``θ = (σ²ᵤ, σ²ₑ)``, with ``V_u = blockdiag(1 1')``, ``V_e = I``
and ``P = V⁻¹ − V⁻¹XA⁻¹X'V⁻¹``, are ``s_k = −½ tr(P V_k) + ½ y'P V_k P y`` and
``F_kl = ½ tr(P V_k P V_l)``. In the rotated coordinates (area means scaled by ``√n_i`` and
within-area deviations) ``V`` is diagonal, so every trace is a sum over areas plus one within term;
``tr(P V_k P V_l) = tr(V⁻¹V_kV⁻¹V_l) − 2 tr(A⁻¹ X'V⁻¹V_kV⁻¹V_lV⁻¹X) + tr(A⁻¹G_k A⁻¹G_l)`` with
``G_k = X'V⁻¹V_kV⁻¹X``; the observed information is ``J_kl = y'PV_kPV_lPy − F_kl``. Newton steps
``θ ← θ + J⁻¹s`` (Fisher scoring ``F⁻¹s`` where ``J`` is not positive definite) with step halving on
``l_R`` and ``σ²ᵤ`` projected onto ``[0, ∞)``; R: ``lme4::lmer(y ~ X - 1 + (1 | area), REML = TRUE)``.

Everything is computed for a batch of B responses at once (arrays B × m), so the parametric bootstrap
fits all its replicates together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepop.sae.unit_level_data import NestedSample

LOG2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class RemlBatch:
    """REML fits of B responses sharing one design: arrays with a leading batch axis."""

    sigma2_u: np.ndarray  # (B,)
    sigma2_e: np.ndarray  # (B,)
    beta: np.ndarray  # (B, p)
    beta_cov: np.ndarray  # (B, p, p)
    loglik: np.ndarray  # (B,)
    information: np.ndarray  # (B, 2, 2) expected REML information at the estimates
    iterations: np.ndarray  # (B,)
    converged: np.ndarray  # (B,) bool


def _gls(s: NestedSample, su, se, ybar, wxy, wyy):
    """GLS pieces and ``l_R`` at ``(σ²ᵤ, σ²ₑ)``; every argument has the batch axis first."""
    tau = se[:, None] + s.n * su[:, None]  # (B, m)
    a = s.wxx / se[:, None, None] + s.weighted(1.0 / tau)
    c = wxy / se[:, None] + (s.n * ybar / tau) @ s.xbar
    yvy = wyy / se + np.sum(s.n * ybar**2 / tau, axis=1)
    sign, logdet_a = np.linalg.slogdet(a)
    beta = np.linalg.solve(a, c[..., None])[..., 0]
    rvr = yvy - np.sum(c * beta, axis=1)
    logdet_v = (s.nobs - s.m) * np.log(se) + np.sum(np.log(tau), axis=1)
    loglik = -0.5 * ((s.nobs - s.p) * LOG2PI + logdet_v + logdet_a + rvr)
    loglik = np.where(sign > 0, loglik, -np.inf)
    return tau, a, beta, loglik


def _score_information(s: NestedSample, su, se, ybar, wxy, wyy, tau, a, beta):
    """REML score (B, 2) and expected information (B, 2, 2) in ``(σ²ᵤ, σ²ₑ)``."""
    n = s.n
    ainv = np.linalg.inv(a)
    e = ybar - beta @ s.xbar.T  # (B, m) area-mean residuals ȳ_i − x̄_i'β̂
    ssw = wyy - 2.0 * np.sum(beta * wxy, axis=1) + np.einsum("bi,ij,bj->b", beta, s.wxx, beta)
    t1, t2, t3 = 1.0 / tau, 1.0 / tau**2, 1.0 / tau**3
    se2, se3 = se**2, se**3
    g_u = s.weighted(n * t2)
    g_e = s.wxx / se2[:, None, None] + s.weighted(t2)
    h_uu = s.weighted(n * n * t3)
    h_ue = s.weighted(n * t3)
    h_ee = s.wxx / se3[:, None, None] + s.weighted(t3)
    within = s.nobs - s.m

    def tr(x, y):
        return np.einsum("bij,bji->b", x, y)

    tr_pu = np.sum(n * t1, axis=1) - tr(ainv, g_u)
    tr_pe = within / se + np.sum(t1, axis=1) - tr(ainv, g_e)
    q_u = np.sum(n * n * e**2 * t2, axis=1)
    q_e = ssw / se2 + np.sum(n * e**2 * t2, axis=1)
    score = 0.5 * np.stack([q_u - tr_pu, q_e - tr_pe], axis=1)
    ag_u = ainv @ g_u
    ag_e = ainv @ g_e
    f_uu = np.sum(n * n * t2, axis=1) - 2.0 * tr(ainv, h_uu) + tr(ag_u, ag_u)
    f_ue = np.sum(n * t2, axis=1) - 2.0 * tr(ainv, h_ue) + tr(ag_u, ag_e)
    f_ee = within / se2 + np.sum(t2, axis=1) - 2.0 * tr(ainv, h_ee) + tr(ag_e, ag_e)
    info = 0.5 * np.stack([np.stack([f_uu, f_ue], -1), np.stack([f_ue, f_ee], -1)], -2)
    # observed information J_kl = y'P V_k P V_l P y − F_kl, with a_k = V_k P y:
    # y'P V_k P V_l P y = a_k'V⁻¹a_l − (X'V⁻¹a_k)' A⁻¹ (X'V⁻¹a_l)
    b_u = (n * n * e * t2) @ s.xbar
    b_e = (wxy - beta @ s.wxx) / se2[:, None] + (n * e * t2) @ s.xbar
    ab_u = np.einsum("bij,bj->bi", ainv, b_u)
    ab_e = np.einsum("bij,bj->bi", ainv, b_e)
    c_uu = np.sum(n**3 * e**2 * t3, axis=1) - np.sum(b_u * ab_u, axis=1)
    c_ue = np.sum(n * n * e**2 * t3, axis=1) - np.sum(b_u * ab_e, axis=1)
    c_ee = ssw / se3 + np.sum(n * e**2 * t3, axis=1) - np.sum(b_e * ab_e, axis=1)
    observed = np.stack([np.stack([c_uu, c_ue], -1), np.stack([c_ue, c_ee], -1)], -2) - info
    return score, info, observed, ainv


def start_values(s: NestedSample, ybar, wxy, wyy):
    """Moment starting values: ``σ²ₑ`` from the within-area regression, ``σ²ᵤ`` from the spread
    of the area-mean residuals of the pooled OLS fit beyond ``σ²ₑ/n_i`` (at least ``σ²ₑ/100``)."""
    pinv = np.linalg.pinv(s.wxx, hermitian=True)
    rank = np.linalg.matrix_rank(s.wxx, hermitian=True)
    bw = wxy @ pinv
    sse = wyy - np.sum(bw * wxy, axis=1)
    df = s.nobs - s.m - rank
    xtx = s.wxx + s.weighted(np.ones(s.m))
    xty = wxy + (s.n * ybar) @ s.xbar
    b = np.linalg.solve(xtx, xty.T).T
    e = ybar - b @ s.xbar.T
    total = (
        np.sum(s.n * e**2, axis=1) + wyy - 2 * np.sum(b * wxy, axis=1) + np.einsum("bi,ij,bj->b", b, s.wxx, b)
    ) / (s.nobs - s.p)
    se = sse / df if df > 0 else 0.5 * total
    se = np.where(se > 0, se, 0.5 * total)
    se = np.maximum(se, 1e-12 * np.maximum(total, 1e-300))
    su = np.mean(e**2 - se[:, None] / s.n, axis=1)
    su = np.maximum(su, 0.01 * se)
    return su, se


def reml_batch(s: NestedSample, ybar, wxy, wyy, *, maxiter: int = 100, tol: float = 1e-10) -> RemlBatch:
    """REML fits of ``B`` responses on one design: ``ybar`` (B, m), ``wxy`` (B, p), ``wyy`` (B,).

    Converged when the full Newton (or scoring) step, projected onto ``σ²ᵤ ≥ 0``, changes neither
    variance by more than ``tol · (σ²ᵤ + σ²ₑ)``, or when no step of any length raises ``l_R``.
    """
    ybar = np.atleast_2d(ybar)
    wxy = np.atleast_2d(wxy)
    wyy = np.atleast_1d(np.asarray(wyy, dtype=float))
    nb = ybar.shape[0]
    su, se = start_values(s, ybar, wxy, wyy)
    tau, a, beta, ll = _gls(s, su, se, ybar, wxy, wyy)
    active = np.ones(nb, dtype=bool)
    iterations = np.zeros(nb, dtype=int)
    for _ in range(maxiter):
        if not active.any():
            break
        k = np.flatnonzero(active)
        score, info, obs, _ = _score_information(
            s, su[k], se[k], ybar[k], wxy[k], wyy[k], tau[k], a[k], beta[k]
        )
        step = _scoring_step(su[k], score, info, obs)
        lam = np.ones(k.size)
        done = np.zeros(k.size, dtype=bool)
        new_su, new_se, new_ll = su[k].copy(), se[k].copy(), ll[k].copy()
        new_tau, new_a, new_beta = tau[k].copy(), a[k].copy(), beta[k].copy()
        for _half in range(40):  # step halving: accept the first step that does not lower l_R
            j = np.flatnonzero(~done)
            if j.size == 0:
                break
            cu = np.maximum(su[k][j] + lam[j] * step[j, 0], 0.0)
            ce = se[k][j] + lam[j] * step[j, 1]
            ok_e = ce > 0
            ce = np.where(ok_e, ce, se[k][j])
            t_, a_, b_, l_ = _gls(s, cu, ce, ybar[k][j], wxy[k][j], wyy[k][j])
            base = ll[k][j]
            good = ok_e & (l_ >= base - 1e-12 * (1.0 + np.abs(base)))
            g = j[good]
            new_su[g], new_se[g], new_ll[g] = cu[good], ce[good], l_[good]
            new_tau[g], new_a[g], new_beta[g] = t_[good], a_[good], b_[good]
            done[g] = True
            lam[j[~good]] *= 0.5
        # the size of the full (projected) step, not of the halved one: how far the optimum is
        full = np.maximum(np.abs(np.maximum(su[k] + step[:, 0], 0.0) - su[k]), np.abs(step[:, 1]))
        su[k], se[k], ll[k] = new_su, new_se, new_ll
        tau[k], a[k], beta[k] = new_tau, new_a, new_beta
        iterations[k] += 1
        conv = (full <= tol * (new_su + new_se)) | ~done
        # a step that could not be taken (no increase of l_R at any length) ends the search: the
        # estimate is at the optimum to machine precision
        active[k[conv]] = False
    _, info, _, ainv = _score_information(s, su, se, ybar, wxy, wyy, tau, a, beta)
    converged = ~active & np.isfinite(ll)
    return RemlBatch(su, se, beta, ainv, ll, info, iterations, converged)


def _scoring_step(su, score, info, observed):
    """Newton step ``J⁻¹s`` where the observed information ``J`` is positive definite, Fisher
    scoring ``F⁻¹s`` elsewhere (far from the optimum); at the boundary ``σ²ᵤ = 0`` with a score
    pointing outwards, a step in ``σ²ₑ`` only."""
    det_j = observed[:, 0, 0] * observed[:, 1, 1] - observed[:, 0, 1] ** 2
    newton = (observed[:, 0, 0] > 0) & (det_j > 0)
    h = np.where(newton[:, None, None], observed, info)
    det = h[:, 0, 0] * h[:, 1, 1] - h[:, 0, 1] ** 2
    du = (h[:, 1, 1] * score[:, 0] - h[:, 0, 1] * score[:, 1]) / det
    de = (h[:, 0, 0] * score[:, 1] - h[:, 0, 1] * score[:, 0]) / det
    edge = (su <= 0) & (score[:, 0] <= 0)
    h_ee = np.where(observed[:, 1, 1] > 0, observed[:, 1, 1], info[:, 1, 1])
    du = np.where(edge, 0.0, du)
    de = np.where(edge, score[:, 1] / h_ee, de)
    return np.stack([du, de], axis=1)
