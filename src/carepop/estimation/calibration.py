"""Calibration-aware Taylor variance (R ``svyrecvar`` with ``design$postStrata``).

After post-stratification, raking or calibration, R replaces the influence values ``x`` of an
estimate by residuals before the multistage variance. Each adjustment step is linear in ``x``::

    x  <-  x - Z K (H' x)

- GREG calibration, linear or not (R ``calibrate``: ``qr.resid(qr(X sqrt(d)), x/(g sqrt(d))) *
  g sqrt(d)``): ``Z = w X`` (calibrated weights), ``H = X / g``, ``K = (X' D X)^-1``;
- post-stratification (R ``postStratify``): ``Z = w_new 1{s}``, ``H = 1{s} w_old / w_new``,
  ``K = diag(1 / sum_s w_old)``;
- raking (R ``rake``: ten sweeps of ``x <- x - w_m ave_m(x / w_m)`` over the margins m, with
  ``w_m`` the weights after margin m in the last raking pass): ``Z = [w_m 1{l}]``,
  ``H = [1{l} / w_m]`` and ``K`` the (levels x levels) matrix of those ten sweeps.

Steps apply in order (a later step sees the residuals of the earlier ones). For a domain d the
residual influence summed over a sampling unit p is ``A_pd - M_p . G_d`` where ``A`` is the
unadjusted unit total, ``M_p`` the unit total of the rows of ``Z`` and ``G_d`` the stacked
``K (H' x)`` of the steps; the within-group sum of squares therefore splits into the unadjusted
one, a cross term over the (unit, domain) pairs and ``G_d' S_h G_d`` with ``S_h`` the centred
cross-products of ``M`` in group h. Nothing of size rows x domains is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from carepop.estimation.stages import Stage


@dataclass(frozen=True)
class CalStep:
    """One adjustment ``x <- x - Z K (H' x)`` (see module docstring)."""

    kind: str  # "greg", "poststratify" or "rake"
    Z: np.ndarray  # (n, q)
    H: np.ndarray  # (n, r)
    K: np.ndarray  # (q, r)


@dataclass
class Calibration:
    """The chain of adjustment steps of a survey, with what the variance needs cached."""

    steps: tuple[CalStep, ...]
    _unit_stats: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _cross: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @property
    def Z(self) -> np.ndarray:
        return np.hstack([s.Z for s in self.steps])

    def cross(self, j: int, i: int) -> np.ndarray:
        """``H_j' Z_i`` (r_j x q_i), for the chain."""
        if (j, i) not in self._cross:
            self._cross[(j, i)] = self.steps[j].H.T @ self.steps[i].Z
        return self._cross[(j, i)]

    def gammas(self, hx: list[np.ndarray]) -> np.ndarray:
        """Stacked ``G_d`` (k, q, D) from ``hx[j]`` = ``H_j' x_d`` (k, r_j, D) of each step."""
        out = []
        for j, step in enumerate(self.steps):
            h = hx[j].copy()
            for i in range(j):
                h -= np.einsum("rq,kqd->krd", self.cross(j, i), out[i])
            out.append(np.einsum("qr,krd->kqd", step.K, h))
        return np.concatenate(out, axis=1)

    def unit_stats(self, stage_no: int, stage: Stage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit totals ``M`` (q, U) of ``Z``, their group means (q, G) and centred cross-products
        ``S`` (G, q, q) for a stage."""
        if stage_no not in self._unit_stats:
            Z = self.Z
            U = stage.n_total_units
            M = np.empty((Z.shape[1], U))
            for j in range(Z.shape[1]):
                M[j] = np.bincount(stage.unit, weights=Z[:, j], minlength=U)
            n = stage.n_units.astype(float)
            Mbar = np.empty((Z.shape[1], stage.n_groups))
            for j in range(Z.shape[1]):
                Mbar[j] = np.bincount(stage.unit_group, weights=M[j], minlength=stage.n_groups) / n
            dev = M - Mbar[:, stage.unit_group]  # (q, U)
            q = Z.shape[1]
            S = np.empty((stage.n_groups, q, q))
            for a in range(q):
                for b in range(a, q):
                    s = np.bincount(stage.unit_group, weights=dev[a] * dev[b], minlength=stage.n_groups)
                    S[:, a, b] = s
                    S[:, b, a] = s
            self._unit_stats[stage_no] = (M, Mbar, S)
        return self._unit_stats[stage_no]

    def domain_hx(self, code: np.ndarray, n_domains: int, V: np.ndarray) -> list[np.ndarray]:
        """``H_j' v`` summed over each domain's rows, for each row of ``V`` (k, n): (k, r_j, D)."""
        keep = code >= 0
        c = code[keep]
        Vk = V[:, keep]
        out = []
        for step in self.steps:
            Hk = step.H[keep]
            res = np.empty((V.shape[0], Hk.shape[1], n_domains))
            for a in range(V.shape[0]):
                for r in range(Hk.shape[1]):
                    res[a, r] = np.bincount(c, weights=Vk[a] * Hk[:, r], minlength=n_domains)
            out.append(res)
        return out
