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

from carepop.core.estimation.numerics import finite_sums
from carepop.core.estimation.stages import Stage


@dataclass(frozen=True)
class Block:
    """An indicator block of a step: row i has ``z[i]`` (in Z) and ``h[i]`` (in H) in the column
    of its level ``codes[i]`` and zeros elsewhere (post-strata, raking margins, classes)."""

    codes: np.ndarray  # (n,) 0..L-1
    n_levels: int
    z: np.ndarray  # (n,)
    h_given: np.ndarray | None = None  # (n,); None: 1/z where z > 0, else 0 (formed when used)

    @property
    def h(self) -> np.ndarray:
        """``h`` as given, or ``1/z`` where ``z > 0`` and 0 elsewhere (raking), formed once."""
        if self.h_given is not None:
            return self.h_given
        cached = self.__dict__.get("_h")
        if cached is None:
            z = self.z
            cached = np.divide(1.0, z, out=np.zeros_like(z), where=z > 0)
            object.__setattr__(self, "_h", cached)
        return cached


@dataclass(frozen=True)
class CalStep:
    """One adjustment ``x <- x - Z K (H' x)`` (see module docstring).

    ``Z``/``H`` are dense (n, q)/(n, r) arrays (GREG), or ``None`` with the step given as indicator
    ``blocks``, which keeps memory at O(n) per block and turns every product into ``bincount``s.
    """

    kind: str
    Z: np.ndarray | None
    H: np.ndarray | None
    K: np.ndarray  # (q, r)
    blocks: tuple[Block, ...] = ()

    @property
    def q(self) -> int:
        return self.Z.shape[1] if self.Z is not None else sum(b.n_levels for b in self.blocks)

    @property
    def r(self) -> int:
        return self.H.shape[1] if self.H is not None else sum(b.n_levels for b in self.blocks)

    def hx(self, code: np.ndarray, n_domains: int, V: np.ndarray) -> np.ndarray:
        """``H' v`` summed over each domain's rows, for each row of ``V`` (k, n): (k, r, D)."""
        keep = code >= 0
        c = code[keep]
        Vk = V[:, keep]
        out = np.empty((V.shape[0], self.r, n_domains))
        if self.H is not None:
            Hk = self.H[keep]
            for a in range(V.shape[0]):
                for j in range(Hk.shape[1]):
                    out[a, j] = np.bincount(c, weights=Vk[a] * Hk[:, j], minlength=n_domains)
            return finite_sums(out, V)
        off = 0
        for b in self.blocks:
            L = b.n_levels
            key = c * L + b.codes[keep]
            for a in range(V.shape[0]):
                t = np.bincount(key, weights=Vk[a] * b.h[keep], minlength=n_domains * L)
                out[a, off : off + L] = t.reshape(n_domains, L).T
            off += L
        return finite_sums(out, V)

    def unit_totals(self, unit: np.ndarray, n_units: int) -> np.ndarray:
        """Totals of the columns of ``Z`` over each sampling unit: (q, U)."""
        if self.Z is not None:
            M = np.empty((self.Z.shape[1], n_units))
            for j in range(self.Z.shape[1]):
                M[j] = np.bincount(unit, weights=self.Z[:, j], minlength=n_units)
            return finite_sums(M, self.Z)
        parts = []
        for b in self.blocks:
            t = np.bincount(unit * b.n_levels + b.codes, weights=b.z, minlength=n_units * b.n_levels)
            parts.append(finite_sums(t, b.z).reshape(n_units, b.n_levels).T)
        return np.vstack(parts)

    def h_cross_z(self, other: CalStep) -> np.ndarray:
        """``H_self' Z_other`` (r, q_other)."""
        if self.H is not None and other.Z is not None:
            return self.H.T @ other.Z
        rows = []
        for hb in _as_blocks(self, "h"):
            cols = []
            for zb in _as_blocks(other, "z"):
                cols.append(_block_cross(hb, zb))
            rows.append(np.hstack(cols))
        return np.vstack(rows)


def _as_blocks(step: CalStep, which: str) -> list:
    """Blocks of a step; a dense matrix is a list of ('dense', matrix) pseudo-blocks."""
    if step.blocks:
        return list(step.blocks)
    return [("dense", step.H if which == "h" else step.Z)]


def _block_cross(a, b) -> np.ndarray:
    """Cross-product of an H block (or dense H) with a Z block (or dense Z)."""
    if isinstance(a, Block) and isinstance(b, Block):
        key = a.codes * b.n_levels + b.codes
        t = np.bincount(key, weights=a.h * b.z, minlength=a.n_levels * b.n_levels)
        return t.reshape(a.n_levels, b.n_levels)
    if isinstance(a, Block):
        Z = b[1]
        return np.column_stack(
            [np.bincount(a.codes, weights=a.h * Z[:, j], minlength=a.n_levels) for j in range(Z.shape[1])]
        )
    H = a[1]
    return np.vstack(
        [np.bincount(b.codes, weights=H[:, i] * b.z, minlength=b.n_levels) for i in range(H.shape[1])]
    )


@dataclass
class Calibration:
    """The chain of adjustment steps of a survey, with what the variance needs cached."""

    steps: tuple[CalStep, ...]
    _unit_stats: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _cross: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def cross(self, j: int, i: int) -> np.ndarray:
        """``H_j' Z_i`` (r_j x q_i), for the chain."""
        if (j, i) not in self._cross:
            self._cross[(j, i)] = self.steps[j].h_cross_z(self.steps[i])
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

    def unit_stats(self, stage_no: int, stage: Stage) -> tuple:
        """Unit totals ``M`` (q, U) of ``Z``, their group means (q, G), and a function giving the
        centred cross-products ``S`` (G, q, q) (formed only if the variance needs them)."""
        if stage_no not in self._unit_stats:
            U, G = stage.n_total_units, stage.n_groups
            M = np.vstack([st.unit_totals(stage.unit, U) for st in self.steps])
            n = stage.n_units.astype(float)
            Mbar = np.empty((M.shape[0], G))
            for j in range(M.shape[0]):
                Mbar[j] = np.bincount(stage.unit_group, weights=M[j], minlength=G) / n
            cache: dict[str, np.ndarray] = {}

            def cross_products() -> np.ndarray:
                if "S" not in cache:
                    cache["S"] = _group_cross_products(stage, M, Mbar)
                return cache["S"]

            self._unit_stats[stage_no] = (M, Mbar, cross_products)
        return self._unit_stats[stage_no]

    def domain_hx(self, code: np.ndarray, n_domains: int, V: np.ndarray) -> list[np.ndarray]:
        """``H_j' v`` summed over each domain's rows, for each row of ``V`` (k, n): (k, r_j, D)."""
        return [step.hx(code, n_domains, V) for step in self.steps]


def _group_cross_products(stage: Stage, M: np.ndarray, Mbar: np.ndarray) -> np.ndarray:
    """``S_h = sum_{u in h} (M_u - Mbar_h)(M_u - Mbar_h)'`` for every group h: (G, q, q).

    Units of a group are contiguous, so this is one matrix product per group."""
    G = stage.n_groups
    dev = M - Mbar[:, stage.unit_group]  # (q, U)
    q = M.shape[0]
    S = np.empty((G, q, q))
    if G <= 4096:
        ends = stage.group_start + stage.n_units
        for g in range(G):  # a loop over strata (or PSUs), each one BLAS product
            block = dev[:, stage.group_start[g] : ends[g]]
            S[g] = block @ block.T
    else:
        for a in range(q):
            for b in range(a, q):
                t = np.bincount(stage.unit_group, weights=dev[a] * dev[b], minlength=G)
                S[:, a, b] = t
                S[:, b, a] = t
    return S
