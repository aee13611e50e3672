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

from carepop.core.estimation.numerics import readonly
from carepop.core.estimation.repweights import DenseWeights, ReplicateWeights


@dataclass(frozen=True)
class ReplicateDesign:
    """Replicate weights and multipliers.

    ``store`` holds the combined replicate weights (they already include the sampling weight),
    either as factors where they are constant (:class:`~carepop.core.estimation.repweights.FactorWeights`,
    for designs carepop makes) or as a full matrix (:class:`DenseWeights`, for weights supplied
    with the data); ``weights`` gives the (rows x replicates) matrix, formed on demand.
    ``columns`` names the replicate-weight columns. ``rscales`` is read-only.
    """

    method: str
    store: ReplicateWeights
    scale: float
    rscales: np.ndarray  # (R,)
    mse: bool
    rho: float | None
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.store, ReplicateWeights):
            object.__setattr__(self, "store", DenseWeights(self.store))
        readonly(self.rscales)

    @property
    def n_replicates(self) -> int:
        return int(self.store.n_replicates)

    @property
    def weights(self) -> np.ndarray:
        """The replicate weights as a read-only (rows x replicates) matrix. For designs carepop
        makes this forms the matrix (O(rows x replicates) memory): estimation never needs it."""
        return self.store.materialize()

    @property
    def is_compact(self) -> bool:
        """Whether the weights are kept as factors per PSU / cell rather than a full matrix."""
        return self.store.is_compact


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


def replicate_sums(rep: ReplicateDesign, code: np.ndarray, n_domains: int, y: np.ndarray) -> np.ndarray:
    """Replicate domain totals of each column of ``y``: array (R, D, k)."""
    return rep.store.domain_totals(code, n_domains, y)


def replicate_ranks(rep: ReplicateDesign, code: np.ndarray, n_domains: int, inside: np.ndarray) -> np.ndarray:
    """Rank of each domain's replicate weights (rows with ``code == d`` and ``inside``), as R's
    ``qr(weights(subset, "analysis"), tol = 1e-5)$rank``: from the eigenvalues of the domain's
    (R, R) cross-product ``sum W_i W_i'``, counting those above ``1e-10`` of the largest (a
    singular value below ``1e-5`` of the largest is a squared one below ``1e-10``)."""
    gram = rep.store.domain_gram(code, n_domains, inside)
    ev = np.linalg.eigvalsh(gram)  # (D, R), ascending
    top = ev[:, -1:]
    return np.where(top[:, 0] > 0, np.sum(ev > 1e-10 * top, axis=1), 0).astype(np.int64)
