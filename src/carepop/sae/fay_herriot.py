r"""The Fay–Herriot area-level model (Rao & Molina 2015, ch. 6), at array level.

Model, for the :math:`m` areas with a direct estimate :math:`y_d` (sampling variance :math:`\psi_d`,
known):

.. math::  y_d = \mathbf x_d^\top\beta + u_d + e_d,\quad u_d\sim N(0,\sigma^2_u),\quad
           e_d\sim N(0,\psi_d),

so :math:`V = \mathrm{diag}(\sigma^2_u + \psi_d)` is diagonal and every quantity below is a sum over
areas of ``p × p`` terms: the cost is :math:`O(m p^2)` and no ``m × m`` matrix is ever formed.

* :func:`fit_fay_herriot` — :math:`\sigma^2_u` by Fisher scoring (REML, ML) or the Fay–Herriot moment
  equation, exactly as R ``sae::eblupFH`` (start at the median of :math:`\psi`, stop when the relative
  change is at most ``tol``, truncate at 0 afterwards), then :math:`\hat\beta` by GLS.
* :func:`eblup` — :math:`\hat\theta_d = \mathbf x_d^\top\hat\beta
  + \hat\gamma_d(y_d - \mathbf x_d^\top\hat\beta)`,
  :math:`\hat\gamma_d = \hat\sigma^2_u/(\hat\sigma^2_u+\psi_d)`; the synthetic
  :math:`\mathbf x_d^\top\hat\beta` where there is no direct estimate.
* :func:`mse_analytic` — the second-order MSE estimator matching the estimator of :math:`\sigma^2_u`
  (Prasad–Rao for REML, Datta–Lahiri for ML, Datta–Rao–Smith for FH), R ``sae::mseFH``.
* :func:`mse_bootstrap` — parametric bootstrap MSE (González-Manteiga et al. 2008; the definition of
  R ``sae::pbmseSFH`` without the spatial part), vectorised over the replicates.

Conventions (shared by the carepop area-level models): areas are rows; ``y`` (M,) with NaN where an area
has no direct estimate; ``X`` (M, p) with any intercept column included by the caller; ``psi`` (M,).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from carepop.errors import ModelError, count_rows, data_rows
from carepop.sae._checks import (
    as_design,
    as_mask,
    as_vector,
    check_full_rank,
    check_ncols,
    check_psi,
)
from carepop.sae._fh_engine import fisher_scoring, gls, outer_rows
from carepop.sae.fh_bootstrap import parametric_bootstrap_mse

Method = Literal["reml", "ml", "fh", "amrl"]
_METHODS = ("reml", "ml", "fh", "amrl")

__all__ = [
    "FHFit",
    "eblup",
    "fit_fay_herriot",
    "mse_analytic",
    "mse_bootstrap",
]


@dataclass(frozen=True, eq=False)
class FHFit:
    """A fitted Fay–Herriot model.

    ``sigma2`` is the estimate of :math:`\\sigma^2_u` (truncated at 0, ``boundary`` then true);
    ``sigma2_raw`` the last Fisher-scoring iterate before truncation. ``beta`` / ``beta_cov`` the GLS
    coefficients and their covariance :math:`(X^\\top V^{-1}X)^{-1}` at ``sigma2`` (R: ``estcoef``).
    ``loglik`` is the (unrestricted) Gaussian log-likelihood at the estimates, as R ``eblupFH`` reports
    it for every method (``goodness["loglike"]``); ``reml_loglik`` the restricted log-likelihood
    :math:`-\\tfrac12[(m-p)\\log 2\\pi + \\log|V| + \\log|X^\\top V^{-1}X| + r^\\top V^{-1} r]`.
    ``sigma2_var`` is the asymptotic variance of the estimator of :math:`\\sigma^2_u` at ``sigma2``
    (:math:`2/\\sum_d V_d^{-2}` for REML and ML, :math:`2m/(\\sum_d V_d^{-1})^2` for FH).
    ``n_areas`` counts the areas used (finite ``y``); ``in_sample`` marks them.
    """

    method: str
    sigma2: float
    beta: np.ndarray
    beta_cov: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    boundary: bool
    reml_loglik: float
    sigma2_raw: float
    sigma2_var: float
    n_areas: int
    tol: float
    maxiter: int
    in_sample: np.ndarray = field(repr=False)

    @property
    def n_params(self) -> int:
        """Parameters counted by AIC/BIC: the ``p`` coefficients and :math:`\\sigma^2_u`."""
        return int(self.beta.shape[0]) + 1

    @property
    def aic(self) -> float:
        """:math:`-2\\ell + 2(p+1)` (R ``eblupFH``'s ``goodness["AIC"]``)."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        """:math:`-2\\ell + (p+1)\\log m` (R ``eblupFH``'s ``goodness["BIC"]``)."""
        return -2.0 * self.loglik + self.n_params * float(np.log(self.n_areas))

    @property
    def beta_se(self) -> np.ndarray:
        """Standard errors of ``beta`` (R ``fit$estcoef$std.error``)."""
        return np.sqrt(np.diag(self.beta_cov))


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------


def _prepare(y: object, X: object, psi: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    yv = as_vector(y, "y")
    m_all = yv.shape[0]
    Xm = as_design(X, m_all)
    pv = as_vector(psi, "psi", m_all)
    infinite = np.isinf(yv)
    if infinite.any():
        raise ModelError(
            f"The direct estimates y are infinite in {count_rows(infinite)} area(s).",
            code="infinite_estimate",
            column="y",
            rows=data_rows(infinite),
            got=float(yv[infinite][0]),
            expected="finite values, or NaN for an area without a direct estimate",
            fix="set y to NaN where there is no usable direct estimate",
        )
    inside = np.isfinite(yv)
    check_psi(pv, inside)
    return yv, Xm, pv, inside


def _check_method(method: str) -> str:
    key = str(method).lower()
    if key not in _METHODS:
        raise ModelError(
            f"Unknown Fay–Herriot fitting method {method!r}.",
            code="unknown_method",
            column="method",
            got=method,
            expected=_METHODS,
            fix='use method="reml" (default), "ml", "fh" or "amrl"',
        )
    return key


def fit_fay_herriot(
    y: object,
    X: object,
    psi: object,
    method: Method = "reml",
    *,
    maxiter: int = 100,
    tol: float = 1e-4,
) -> FHFit:
    """Fit the Fay–Herriot model to the areas with a finite direct estimate ``y``.

    :math:`\\sigma^2_u` by Fisher scoring on the REML or ML score, or by the Fay–Herriot moment
    equation :math:`\\sum_d (y_d - x_d^\\top\\hat\\beta)^2/(\\sigma^2_u+\\psi_d) = m - p` (``method="fh"``),
    starting from the median of :math:`\\psi` and stopping when the relative change is at most ``tol``
    (R's default precision 1e-4 and at most 100 iterations; ``tol=1e-12`` iterates to full accuracy).
    A negative root is truncated to :math:`\\hat\\sigma^2_u = 0` (``boundary=True``: the EBLUP is then
    the synthetic estimator). :math:`\\hat\\beta = (X^\\top\\hat V^{-1}X)^{-1}X^\\top\\hat V^{-1}y`.

    Rao & Molina (2015), sections 6.1–6.2. R: ``sae::eblupFH(y ~ X - 1, psi, method="REML"|"ML"|"FH",
    MAXITER=maxiter, PRECISION=tol)``. Unlike R, a run that does not converge still returns the last
    iterate, with ``converged=False``.
    """
    key = _check_method(method)
    yv, Xm, pv, inside = _prepare(y, X, psi)
    ys, Xs, ps = yv[inside], Xm[inside], pv[inside]
    m, p = Xs.shape
    if m < p + 1:
        raise ModelError(
            f"Only {m} area(s) have a direct estimate; a Fay–Herriot model with {p} coefficient(s) "
            f"needs at least {p + 1}.",
            code="too_few_areas",
            column="y",
            got=m,
            expected=f"at least {p + 1} areas with finite y",
            fix="use fewer covariates, or more areas with direct estimates",
        )
    check_full_rank(Xs, where=" (areas with a direct estimate)")
    if not (maxiter >= 1 and tol > 0):
        raise ModelError(
            "maxiter must be at least 1 and tol positive.",
            code="bad_control",
            got={"maxiter": maxiter, "tol": tol},
            fix="use e.g. maxiter=100, tol=1e-4",
        )

    A_raw, iters, conv = fisher_scoring(key, ys[None, :], Xs, ps, maxiter=int(maxiter), tol=float(tol))
    a_raw = float(A_raw[0])
    sigma2 = max(a_raw, 0.0)
    W, Q, beta, R = gls(np.array([sigma2]), ys[None, :], Xs, outer_rows(Xs), ps)
    w, Q, beta, r = W[0], Q[0], beta[0], R[0]
    logv = np.log(sigma2 + ps)
    quad = float(np.sum(w * r * r))
    loglik = -0.5 * float(np.sum(np.log(2.0 * np.pi) + logv)) - 0.5 * quad
    _, logdet_xvx = np.linalg.slogdet(np.linalg.inv(Q))
    reml_loglik = -0.5 * ((m - p) * np.log(2.0 * np.pi) + float(logv.sum()) + logdet_xvx + quad)
    if key == "fh":
        sigma2_var = 2.0 * m / float(w.sum()) ** 2
    else:
        sigma2_var = 2.0 / float(np.sum(w * w))
    return FHFit(
        method=key,
        sigma2=sigma2,
        beta=beta,
        beta_cov=Q,
        loglik=loglik,
        iterations=int(iters[0]),
        converged=bool(conv[0]),
        boundary=bool(a_raw <= 0.0),
        reml_loglik=float(reml_loglik),
        sigma2_raw=a_raw,
        sigma2_var=sigma2_var,
        n_areas=m,
        tol=float(tol),
        maxiter=int(maxiter),
        in_sample=inside,
    )


def eblup(fit: FHFit, y: object, X: object, psi: object) -> tuple[np.ndarray, np.ndarray]:
    """EBLUP of every area and its shrinkage factor.

    :math:`\\hat\\theta_d = x_d^\\top\\hat\\beta + \\hat\\gamma_d (y_d - x_d^\\top\\hat\\beta)` with
    :math:`\\hat\\gamma_d = \\hat\\sigma^2_u/(\\hat\\sigma^2_u + \\psi_d)` (Rao & Molina 2015, eq. 6.1.12);
    areas with NaN ``y`` get the synthetic :math:`x_d^\\top\\hat\\beta` and :math:`\\gamma_d = 0`.
    R: ``sae::eblupFH(...)$eblup`` (in-sample areas only).

    Returns ``(estimate, gamma)``, both (M,).
    """
    yv, Xm, pv, inside = _prepare(y, X, psi)
    check_ncols(Xm, fit.beta.shape[0])
    synth = Xm @ fit.beta
    gamma = np.zeros(yv.shape[0])
    gamma[inside] = fit.sigma2 / (fit.sigma2 + pv[inside])
    est = synth.copy()
    est[inside] += gamma[inside] * (yv[inside] - synth[inside])
    return est, gamma


def _leverage(X: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """:math:`x_d^\\top Q x_d` for every row of X."""
    return np.einsum("ij,ij->i", X @ Q, X)


def _in_sample_terms(fit: FHFit, Xs: np.ndarray, ps: np.ndarray):
    """Weights, :math:`Q`, leverages :math:`x_d^\\top Q x_d` and the bias of :math:`\\hat\\sigma^2_u`."""
    A = fit.sigma2
    w = 1.0 / (A + ps)
    Q = np.linalg.inv((w @ outer_rows(Xs)).reshape(Xs.shape[1], Xs.shape[1]))
    sw, sw2 = float(w.sum()), float(np.sum(w * w))
    m = Xs.shape[0]
    if fit.method == "reml":
        var_a, bias = 2.0 / sw2, 0.0
    elif fit.method == "amrl":
        # Li & Lahiri (2010): the adjusted REML estimator's first-order bias (2/A) / sum V^-2,
        # as emdi's li_lahiri MSE (A > 0 always: the adjusted likelihood vanishes at 0)
        var_a, bias = 2.0 / sw2, 2.0 / (A * sw2)
    elif fit.method == "ml":
        # Datta & Lahiri (2000): bias of the ML estimator, -tr(Q X'V^-2 X) / sum V^-2
        var_a = 2.0 / sw2
        bias = -float(np.sum(Q * ((w * w) @ outer_rows(Xs)).reshape(Q.shape))) / sw2
    else:
        # Datta, Rao & Smith (2005): the FH moment estimator
        var_a = 2.0 * m / sw**2
        bias = 2.0 * (m * sw2 - sw**2) / sw**3
    return w, Q, var_a, bias


def mse_analytic(fit: FHFit, X: object, psi: object, in_sample: object) -> np.ndarray:
    """Second-order unbiased MSE estimator of the EBLUP, matching the estimator of :math:`\\sigma^2_u`.

    In-sample areas (Rao & Molina 2015, sections 6.2.1–6.2.2; R ``sae::mseFH``), with
    :math:`B_d = \\psi_d/(\\hat\\sigma^2_u+\\psi_d)`:

    * :math:`g_1 = \\psi_d(1-B_d)`, :math:`g_2 = B_d^2\\,x_d^\\top Q x_d`,
      :math:`g_3 = B_d^2\\,\\bar V(\\hat\\sigma^2_u)/(\\hat\\sigma^2_u+\\psi_d)`;
    * REML (Prasad & Rao 1990; Datta & Lahiri 2000): :math:`g_1+g_2+2g_3`, :math:`\\bar V = 2/\\sum V_d^{-2}`;
    * ML (Datta & Lahiri 2000): :math:`g_1+g_2+2g_3 - b_{ML}B_d^2`,
      :math:`b_{ML} = -\\mathrm{tr}(Q X^\\top V^{-2}X)/\\sum V_d^{-2}`;
    * AMRL (Li & Lahiri 2010; emdi ``method = "amrl"``): :math:`g_1+g_2+2g_3 - b_{LL}B_d^2`,
      :math:`b_{LL} = (2/\\hat\\sigma^2_u)/\\sum V_d^{-2}`;
    * FH (Datta, Rao & Smith 2005): :math:`g_1+g_2+2g_3 - b_{FH}B_d^2`,
      :math:`\\bar V = 2m/(\\sum V_d^{-1})^2`,
      :math:`b_{FH} = 2[m\\sum V_d^{-2} - (\\sum V_d^{-1})^2]/(\\sum V_d^{-1})^3`.

    Out-of-sample areas (synthetic estimator :math:`x_d^\\top\\hat\\beta`, Rao & Molina 2015, section
    6.2.4 / emdi): :math:`\\hat\\sigma^2_u - b + x_d^\\top Q x_d`, where :math:`b` is the same
    first-order bias of :math:`\\hat\\sigma^2_u` as in the in-sample formula (0 for REML). Here the
    role of :math:`g_1` is played by :math:`\\sigma^2_u` itself (derivative 1 instead of :math:`B_d^2`),
    so the bias is subtracted as in the in-sample formula. R emdi (``datta_lahiri``) adds ``+ b``
    for ML instead; that sign is inconsistent with its own in-sample term, so carepop subtracts.
    The estimation of :math:`\\sigma^2_u` contributes no :math:`O(1/m)` term to the synthetic
    estimator's MSE.
    """
    pv = as_vector(psi, "psi")
    m_all = pv.shape[0]
    Xm = as_design(X, m_all)
    check_ncols(Xm, fit.beta.shape[0])
    inside = as_mask(in_sample, m_all, fit.in_sample)
    check_psi(pv, inside)
    Xs, ps = Xm[inside], pv[inside]
    A = fit.sigma2
    w, Q, var_a, bias = _in_sample_terms(fit, Xs, ps)
    Bd = ps * w
    g1 = ps * (1.0 - Bd)
    g2 = Bd**2 * _leverage(Xs, Q)
    g3 = Bd**2 * var_a * w
    out = np.empty(m_all)
    out[inside] = g1 + g2 + 2.0 * g3 - bias * Bd**2
    Xo = Xm[~inside]
    out[~inside] = A - bias + _leverage(Xo, Q)
    return out


def mse_bootstrap(
    fit: FHFit,
    X: object,
    psi: object,
    in_sample: object,
    *,
    B: int = 1000,
    seed: int | np.random.Generator | None = None,
    bias_corrected: bool = False,
    chunk: int | None = None,
) -> np.ndarray:
    """Parametric bootstrap MSE (M,) of the EBLUP (definition: :mod:`carepop.sae.fh_bootstrap`).

    Naive :math:`B^{-1}\\sum_b(\\hat\\theta^*_{d,b}-\\theta^*_{d,b})^2`, or with ``bias_corrected`` the
    bias-corrected estimator of R ``sae::pbmseSFH`` (``msebc``). Seeded by ``seed``; the result
    depends only on ``seed`` and ``B``.
    """
    return parametric_bootstrap_mse(
        fit, X, psi, in_sample, B=B, seed=seed, bias_corrected=bias_corrected, chunk=chunk
    )
