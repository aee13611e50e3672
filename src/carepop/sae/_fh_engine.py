"""The vectorised Fisher-scoring engine of the Fay–Herriot model: B independent problems sharing
``X`` and ``psi`` (B = 1 for a plain fit, B replicates for the bootstrap), O(B m p²), no m × m matrix."""

from __future__ import annotations

import numpy as np


def outer_rows(X: np.ndarray) -> np.ndarray:
    """(m, p*p) rows :math:`\\mathrm{vec}(x_d x_d^\\top)`, so that :math:`X^\\top W X = w\\,\\cdot` this."""
    m, p = X.shape
    return (X[:, :, None] * X[:, None, :]).reshape(m, p * p)


def gls(A: np.ndarray, Y: np.ndarray, X: np.ndarray, Xo: np.ndarray, psi: np.ndarray):
    """For each row b: weights :math:`w = 1/(A_b+\\psi)`, :math:`Q=(X^\\top W X)^{-1}`, GLS
    :math:`\\hat\\beta = Q X^\\top W y_b` and residuals :math:`r = y_b - X\\hat\\beta`."""
    B = A.shape[0]
    p = X.shape[1]
    W = 1.0 / (A[:, None] + psi[None, :])
    Q = np.linalg.inv((W @ Xo).reshape(B, p, p))
    beta = np.einsum("bij,bj->bi", Q, (W * Y) @ X)
    R = Y - beta @ X.T
    return W, Q, beta, R


def trace_prod(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Batched :math:`\\mathrm{tr}(AB)`."""
    return np.einsum("bij,bji->b", A, B)


def score_info(
    method: str, A: np.ndarray, Y: np.ndarray, X: np.ndarray, Xo: np.ndarray, psi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score :math:`s(A)` and expected information :math:`F(A)` of each problem (R ``eblupFH``).

    With :math:`P = V^{-1} - V^{-1}X Q X^\\top V^{-1}` (never formed: :math:`Py = V^{-1}r`,
    :math:`\\mathrm{tr}P = \\sum w - \\mathrm{tr}(QC)`, :math:`\\mathrm{tr}P^2 = \\sum w^2
    - 2\\,\\mathrm{tr}(QD) + \\mathrm{tr}(QCQC)`, :math:`C = X^\\top W^2X`, :math:`D = X^\\top W^3 X`):

    * REML: :math:`s = -\\tfrac12\\mathrm{tr}P + \\tfrac12 y^\\top P^2 y`,
      :math:`F = \\tfrac12\\mathrm{tr}P^2` (Rao & Molina 2015, eq. 6.2.20–21);
    * ML: :math:`s = -\\tfrac12\\sum w + \\tfrac12 y^\\top P^2 y`, :math:`F = \\tfrac12\\sum w^2`
      (eq. 6.2.17–18);
    * FH: :math:`s = \\sum w r^2 - (m-p)`, :math:`F = \\sum w` (the moment equation, eq. 6.2.23);
    * AMRL (Li & Lahiri 2010): the REML score of the adjusted likelihood :math:`A\\,L_R(A)`, i.e.
      :math:`s = s_{REML} + 1/A`, with the REML information.
    """
    m, p = X.shape
    B = A.shape[0]
    W, Q, _, R = gls(A, Y, X, Xo, psi)
    if method == "fh":
        return (W * R * R).sum(axis=1) - (m - p), W.sum(axis=1)
    Py2 = ((W * R) ** 2).sum(axis=1)
    W2 = W * W
    if method == "ml":
        return -0.5 * W.sum(axis=1) + 0.5 * Py2, 0.5 * W2.sum(axis=1)
    adjust = method == "amrl"
    C = (W2 @ Xo).reshape(B, p, p)
    D = ((W2 * W) @ Xo).reshape(B, p, p)
    QC = Q @ C
    trP = W.sum(axis=1) - trace_prod(Q, C)
    trPP = W2.sum(axis=1) - 2.0 * trace_prod(Q, D) + trace_prod(QC, QC)
    score = -0.5 * trP + 0.5 * Py2
    if adjust:
        score = score + 1.0 / A
    return score, 0.5 * trPP


def fisher_scoring(
    method: str, Y: np.ndarray, X: np.ndarray, psi: np.ndarray, *, maxiter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fisher scoring for B problems at once (rows of ``Y``), each stopped by R's rule.

    R ``eblupFH``: :math:`A_0 = \\mathrm{median}(\\psi)`; :math:`A_{k+1} = A_k + s(A_k)/F(A_k)`
    while :math:`|A_{k+1}-A_k|/A_k >` ``tol`` and :math:`k <` ``maxiter``. Each problem stops on its
    own (so every one gets exactly the iterate R would give it). Returns the last iterates
    (untruncated), iteration counts and convergence flags.

    Negative iterates are kept, as R keeps them (the estimate is truncated at 0 afterwards), as long
    as the weights :math:`1/(A+\\psi_d)` stay positive. An iterate with :math:`A + \\min\\psi \\le 0`
    (R would go on with meaningless weights, and may then fail to converge) is replaced by 0: if the
    score at 0 is not positive the maximum over :math:`A \\ge 0` is at the boundary and the problem
    stops there (converged); otherwise scoring goes on from 0. Such a problem can take a different
    number of iterations than in R, with the same truncated estimate 0.
    """
    Xo = outer_rows(X)
    B = Y.shape[0]
    A = np.full(B, float(np.median(psi)))
    iters = np.zeros(B, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    floor = -float(psi.min())
    for _ in range(maxiter):
        if active.size == 0:
            break
        a = A[active]
        s, F = score_info(method, a, Y[active], X, Xo, psi)
        new = a + s / F
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(a != 0, np.abs((new - a) / a), np.abs(new - a))
        if method == "amrl":
            # the adjusted likelihood is 0 at A = 0: its maximum is inside, so halve an overshoot
            new = np.where(new > 0, new, a / 2.0)
        invalid = ~(new > floor)  # also catches NaN
        at_zero = np.zeros_like(invalid)
        if invalid.any():
            new[invalid] = 0.0
            bad = np.flatnonzero(invalid)
            s0, _ = score_info(method, np.zeros(bad.size), Y[active[bad]], X, Xo, psi)
            at_zero[bad] = ~(s0 > 0)
            diff[bad] = np.inf
        A[active] = new
        iters[active] += 1
        done = (diff <= tol) | at_zero
        converged[active[done]] = True
        active = active[~done]
    return A, iters, converged
