r"""Parametric bootstrap MSE of the Fay–Herriot EBLUP, vectorised over the replicates.

The procedure (González-Manteiga, Lombardía, Molina, Morales & Santamaría 2008; Rao & Molina 2015,
section 6.2.4; R ``sae::pbmseSFH`` without the spatial part — sae 1.3 has no ``pbmseFH``):

1. from the fit take :math:`\hat\beta`, :math:`\hat\sigma^2_u`;
2. for :math:`b = 1..B`: draw :math:`u^*_d\sim N(0,\hat\sigma^2_u)` for every area,
   :math:`\theta^*_d = x_d^\top\hat\beta + u^*_d`; for the in-sample areas draw
   :math:`e^*_d\sim N(0,\psi_d)`, :math:`y^*_d = \theta^*_d + e^*_d`;
3. refit the model (same method and stopping rule) to :math:`y^*`, giving :math:`\hat\sigma^{2*}_u`,
   :math:`\hat\beta^*` and the EBLUP :math:`\hat\theta^*_d` (synthetic out of sample);
4. naive MSE: :math:`\mathrm{mse}_d = B^{-1}\sum_b(\hat\theta^*_{d,b}-\theta^*_{d,b})^2`.

The bias-corrected version (``bias_corrected=True``; pbmseSFH's ``msebc``) is
:math:`2[g_1+g_2](\hat\sigma^2_u) - B^{-1}\sum_b [g_1+g_2](\hat\sigma^{2*}_{u,b})
+ B^{-1}\sum_b(\hat\theta^*_{d,b} - \tilde\theta^*_{d,b})^2`, where :math:`\tilde\theta^*` is the
BLUP of the bootstrap data at the original :math:`\hat\sigma^2_u` (for out-of-sample areas
:math:`g_1 = \sigma^2_u`, :math:`g_2 = x_d^\top Q x_d`, and both predictors are synthetic).

All replicates of a block are fitted at once: Fisher scoring runs over the vector of B variance
estimates (see :func:`carepop.sae.fay_herriot.fisher_scoring`), each replicate stopping by R's rule.
Like pbmseSFH, a replicate whose scoring does not converge is replaced by a fresh draw.

Random numbers: replicates come in blocks of ``_BLOCK``; block ``k`` uses the ``k``-th child of
``numpy.random.SeedSequence(seed)``, so the random draws depend only on ``seed`` and ``B`` (not on
how many blocks are processed together; that changes the result only by floating-point rounding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from carepop.errors import ModelError, opt
from carepop.sae._checks import as_design, as_mask, as_vector, check_ncols, check_psi
from carepop.sae._fh_engine import fisher_scoring, gls, outer_rows

if TYPE_CHECKING:
    from carepop.sae.fay_herriot import FHFit

_BLOCK = 100
#: values per (replicates x areas) work array (16 MB; about ten such arrays are alive at once)
_BUDGET = 2_000_000
_REDRAWS = 20


def _seed_sequence(seed: int | np.random.Generator | None) -> np.random.SeedSequence:
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63)))
    return np.random.SeedSequence(seed)


def parametric_bootstrap_mse(
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
    """Parametric bootstrap MSE (M,) of the EBLUP of ``fit`` (module docstring for the definition).

    ``chunk`` caps the number of replicates fitted together (default: as many as keep the
    replicate × area arrays near 2 million values); it changes memory use, and the result only by
    rounding.
    R: the loop of ``sae::pbmseSFH`` with ``eblupFH`` in place of ``eblupSFH``.
    """
    pv = as_vector(psi, "psi")
    M = pv.shape[0]
    Xm = as_design(X, M)
    check_ncols(Xm, fit.beta.shape[0])
    inside = as_mask(in_sample, M, fit.in_sample)
    check_psi(pv, inside)
    if int(B) < 1:
        raise ModelError(
            "The number of bootstrap replicates B must be at least 1.",
            code="bad_control",
            column="B",
            got=B,
            fix="use e.g. B=1000",
        )
    B = int(B)
    Xs, ps = Xm[inside], pv[inside]
    Xo_out = Xm[~inside]
    m = Xs.shape[0]
    A_hat = fit.sigma2
    mean_s = Xs @ fit.beta
    mean_o = Xo_out @ fit.beta
    Xo = outer_rows(Xs)
    Xoo = outer_rows(Xo_out)

    n_blocks = -(-B // _BLOCK)
    per = max(1, (chunk if chunk is not None else max(_BLOCK, _BUDGET // max(M, 1))) // _BLOCK)
    children = _seed_sequence(seed).spawn(n_blocks)

    sum_sq = np.zeros(M)
    sum_g12 = np.zeros(M)
    sum_g3 = np.zeros(M)
    if bias_corrected:
        # BLUP of bootstrap data at the original sigma2: weights and Q fixed
        w_hat = 1.0 / (A_hat + ps)
        gamma_hat = A_hat * w_hat
        Q_hat = np.linalg.inv((w_hat @ Xo).reshape(Xs.shape[1], Xs.shape[1]))
        H_hat = Q_hat @ (Xs * w_hat[:, None]).T  # (p, m): beta_tilde = H_hat @ y*

    for start in range(0, n_blocks, per):
        blocks = range(start, min(start + per, n_blocks))
        sizes = [min(_BLOCK, B - k * _BLOCK) for k in blocks]
        rngs = [np.random.default_rng(children[k]) for k in blocks]
        U, E = _draw(rngs, sizes, M, m, A_hat, pv, inside)
        ys = mean_s + U[:, inside] + E
        A_b, _, conv = fisher_scoring(fit.method, ys, Xs, ps, maxiter=fit.maxiter, tol=fit.tol)
        for _ in range(_REDRAWS):
            if conv.all():
                break
            _redraw(rngs, sizes, ~conv, U, E, A_hat, pv, inside)
            bad = np.flatnonzero(~conv)
            ys[bad] = mean_s + U[bad][:, inside] + E[bad]
            a2, _, c2 = fisher_scoring(fit.method, ys[bad], Xs, ps, maxiter=fit.maxiter, tol=fit.tol)
            A_b[bad], conv[bad] = a2, c2
        if not conv.all():
            raise ModelError(
                f"{int((~conv).sum())} bootstrap replicate(s) did not converge after {_REDRAWS} redraws.",
                code="bootstrap_not_converged",
                fix=("refit with a larger ", opt("maxiter"), " or a looser ", opt("tol")),
            )
        A_b = np.maximum(A_b, 0.0)
        W, Q, beta_b, R = gls(A_b, ys, Xs, Xo, ps)
        theta_s = mean_s + U[:, inside]
        est_s = ys - W * ps * R  # x'beta* + gamma*(y* - x'beta*), gamma* = A* w
        theta_o = mean_o + U[:, ~inside]
        est_o = beta_b @ Xo_out.T
        sum_sq[inside] += ((est_s - theta_s) ** 2).sum(axis=0)
        sum_sq[~inside] += ((est_o - theta_o) ** 2).sum(axis=0)
        if bias_corrected:
            Qv = Q.reshape(Q.shape[0], -1)  # x'Qx = vec(Q) . vec(xx')
            lev_s = Qv @ Xo.T
            Bd = W * ps
            sum_g12[inside] += (ps * (1.0 - Bd) + Bd**2 * lev_s).sum(axis=0)
            sum_g12[~inside] += (A_b[:, None] + Qv @ Xoo.T).sum(axis=0)
            beta_t = ys @ H_hat.T
            xb_t = beta_t @ Xs.T
            blup_s = xb_t + gamma_hat * (ys - xb_t)
            sum_g3[inside] += ((est_s - blup_s) ** 2).sum(axis=0)
            sum_g3[~inside] += ((est_o - beta_t @ Xo_out.T) ** 2).sum(axis=0)

    naive = sum_sq / B
    if not bias_corrected:
        return naive
    g12 = np.empty(M)
    Bd_hat = ps * w_hat
    g12[inside] = ps * (1.0 - Bd_hat) + Bd_hat**2 * (Xo @ Q_hat.ravel())
    g12[~inside] = A_hat + Xoo @ Q_hat.ravel()
    return 2.0 * g12 - sum_g12 / B + sum_g3 / B


def _draw(rngs, sizes, M, m, A, psi, inside):
    """Per block: first the (size, M) random effects, then the (size, m) sampling errors."""
    sd_u = np.sqrt(A)
    sd_e = np.sqrt(psi[inside])
    U = np.concatenate([r.standard_normal((n, M)) * sd_u for r, n in zip(rngs, sizes, strict=True)])
    E = np.concatenate([r.standard_normal((n, m)) * sd_e for r, n in zip(rngs, sizes, strict=True)])
    return U, E


def _redraw(rngs, sizes, bad, U, E, A, psi, inside):
    """Fresh draws (continuing each block's stream) for the replicates that did not converge."""
    offsets = np.cumsum([0, *sizes])
    sd_u = np.sqrt(A)
    sd_e = np.sqrt(psi[inside])
    for k, r in enumerate(rngs):
        rows = np.flatnonzero(bad[offsets[k] : offsets[k + 1]]) + offsets[k]
        if rows.size:
            U[rows] = r.standard_normal((rows.size, U.shape[1])) * sd_u
            E[rows] = r.standard_normal((rows.size, E.shape[1])) * sd_e
