"""Replicate-weight variance (R ``svrepdesign`` / ``svrVar``).

For replicate estimates ``theta_r`` (r = 1..R) of a statistic with full-sample estimate
``theta``::

    V = scale * sum_r rscales_r (theta_r - c)^2

with ``c`` the mean of the replicates that have ``rscales_r > 0`` (R's default
``survey.replicates.mse = FALSE``) or ``theta`` itself when ``mse=True``. The multipliers follow
``svrepdesign``:

========================  ==============================  =====================
method                    scale                           rscales
========================  ==============================  =====================
JK1                       (R - 1) / R                     1
JKn                       1                               (n_h - 1) / n_h per replicate
BRR                       1 / R                           1
Fay (rho)                 1 / (R (1 - rho)^2)             1
bootstrap                 1 / (R - 1)                     1
successive difference     4 / R                           1
========================  ==============================  =====================

``scale`` and ``rscales`` may be given to override these (e.g. the fpc-adjusted rscales R's
``as.svrepdesign`` makes for JK1 with an fpc).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from carepop.core.estimation.numerics import finite_sums, readonly


@dataclass(frozen=True)
class ReplicateDesign:
    """Replicate weights (combined: they already include the sampling weight) and multipliers.

    ``weights`` (rows x replicates) and ``rscales`` are read-only (they belong to the design).
    """

    method: str
    weights: np.ndarray  # (n, R) float64, combined replicate weights
    scale: float
    rscales: np.ndarray  # (R,)
    mse: bool
    rho: float | None
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        readonly(self.weights)
        readonly(self.rscales)

    @property
    def n_replicates(self) -> int:
        return int(self.weights.shape[1])


def default_multipliers(
    method: str,
    n_rep: int,
    rho: float | None,
    weights: np.ndarray,
    base_weight: np.ndarray,
) -> tuple[float, np.ndarray]:
    """``scale`` and ``rscales`` R's ``svrepdesign`` uses for ``method``.

    For JKn without given rscales, R needs them for combined weights; carepop infers
    ``(n_h - 1)/n_h`` from the weights themselves: in the replicate that drops one PSU of stratum h,
    the other PSUs of h are multiplied by ``n_h/(n_h - 1)``, the largest ratio of replicate to
    full-sample weight (R does the same for non-combined weights, ``1/apply(repweights, 2, max)``).
    """
    ones = np.ones(n_rep)
    if method == "jk1":
        return (n_rep - 1) / n_rep, ones
    if method == "jkn":
        pos = base_weight > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = weights[pos] / base_weight[pos, None]
        return 1.0, 1.0 / ratio.max(axis=0)
    if method == "brr":
        return 1.0 / n_rep, ones
    if method == "fay":
        assert rho is not None
        return 1.0 / (n_rep * (1 - rho) ** 2), ones
    if method == "bootstrap":
        return 1.0 / (n_rep - 1), ones
    if method == "sdr":
        return 4.0 / n_rep, ones
    raise ValueError(method)


def replicate_variance(rep: ReplicateDesign, thetas: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``svrVar``: ``thetas`` is (R, ...) replicate estimates, ``theta`` the full-sample estimate."""
    rs = rep.rscales.reshape((-1,) + (1,) * (thetas.ndim - 1))
    # a replicate whose domain has no weight gives a NaN (0/0) or infinite (y/0) estimate, and
    # then a NaN or infinite variance, as in R
    with np.errstate(invalid="ignore"):
        if rep.mse:
            centre = theta
        else:
            centre = thetas[rep.rscales > 0].mean(axis=0)
        return rep.scale * np.sum(rs * (thetas - centre) ** 2, axis=0)


def domain_indicator(code: np.ndarray, n_domains: int, values: np.ndarray | None = None) -> sp.csr_matrix:
    """Sparse (D, n) matrix with ``values`` (or 1) at (domain of row, row); rows with code -1 omitted."""
    n = code.shape[0]
    keep = code >= 0
    data = np.ones(int(keep.sum())) if values is None else np.asarray(values, dtype=float)[keep]
    return sp.csr_matrix((data, (code[keep], np.flatnonzero(keep))), shape=(n_domains, n))


def replicate_sums(rep: ReplicateDesign, code: np.ndarray, n_domains: int, y: np.ndarray) -> np.ndarray:
    """Replicate domain totals of each column of ``y``: array (R, D, k), one sparse product."""
    if y.ndim == 1:
        y = y[:, None]
    k = y.shape[1]
    n = y.shape[0]
    keep = code >= 0
    rows = (code[keep][:, None] * k + np.arange(k)[None, :]).ravel()
    cols = np.repeat(np.flatnonzero(keep), k)
    data = y[keep].ravel()
    M = sp.csr_matrix((data, (rows, cols)), shape=(n_domains * k, n))
    out = finite_sums(np.asarray(M @ rep.weights), y)  # (D*k, R)
    return out.T.reshape(rep.n_replicates, n_domains, k)


def replicate_rank(weights: np.ndarray) -> int:
    """Rank of the replicate weight matrix as R's ``qr(..., tol=1e-5)$rank``.

    Computed from the singular values of the (R, R) cross-product: a singular value of the
    weights below ``1e-5`` of the largest is a squared one below ``1e-10``.
    """
    if weights.shape[0] == 0:
        return 0
    top = float(np.max(np.abs(weights)))
    if top > 1e150:
        # scale by a power of two (exact) so that the cross-product cannot overflow
        weights = np.ldexp(weights, -int(np.frexp(top)[1]))
    # the smaller of the two cross-products has the same non-zero eigenvalues
    g = weights.T @ weights if weights.shape[1] <= weights.shape[0] else weights @ weights.T
    ev = np.linalg.eigvalsh(g)
    return int(np.sum(ev > 1e-10 * ev.max())) if ev.max() > 0 else 0
