"""Taylor-linearisation variance of estimated totals, by domain, for multi-stage designs.

Every estimator in carepop reduces to a total of *influence values* ``z_i`` (``w_i y_i`` for a
total, ``w_i (y_i - ybar) / W`` for a mean, ...). Its variance under a stratified multi-stage
design is (R ``survey:::svyrecvar`` → ``multistage`` → ``onestage`` → ``onestrat``)::

    V = sum_h f_h n_h / (n_h - 1) sum_i (z_hi - zbar_h)^2                      (stage 1)
      + sum_h (n_h / N_h) sum_i f_hi n_hi / (n_hi - 1) sum_j (z_hij - zbar_hi)^2 (stage 2)

where ``z_hi`` are PSU totals of the influence values, ``zbar_h`` their mean over the ``n_h``
PSUs *sampled in the stratum* (PSUs with no row in a domain count as zeros: domains are
subpopulations, never dropped rows), ``f_h = 1 - n_h / N_h`` (1 with replacement), and the second
stage only enters when the first stage has an fpc. Strata with a single PSU follow the lonely-PSU
policy exactly as R's ``options(survey.lonely.psu=)``:

- ``certainty`` / ``remove``: the stratum contributes nothing;
- ``adjust``: the single PSU total is taken as a deviation from zero, ``f_h z_h1^2``;
- ``average``: the stratum is left out and the sum is scaled by ``#strata / #strata with >1 PSU``
  (counting strata that have rows in the domain);
- ``fail``: rejected when the design is built.

A stratum whose fpc says every PSU was taken (``f_h < 1e-7``) contributes nothing and is never
lonely.

Speed: the variance only needs totals per (unit, domain) *pair*. :class:`PairIndex` maps each row
to its pair once per set of domains (cached by the Survey); each estimate is then one
``bincount`` pass over the rows per column and work on the (much smaller) pair and
(group, domain) arrays. No loop over rows, strata or domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepop.core.estimation.numerics import finite_sums
from carepop.core.estimation.stages import Stage, TaylorDesign

#: up to this many (unit x domain) cells, pairs are all cells (no hashing needed)
DENSE_CELLS = 4_000_000
# calibrated variance: the (units x domains) residual totals are formed this many values at a time
DIRECT_CHUNK = 4_000_000
# ... and the decomposition through per-group cross-products (groups x q x q) is used only when
# it is cheaper (groups * q < units) and its cross-products fit in this many values
DECOMPOSE_MAX = 32_000_000
CERTAINTY_TOL = 1e-7


@dataclass(frozen=True)
class PairIndex:
    """Rows mapped to (unit, domain) pairs, and pairs to (group, domain) cells, for one stage.

    Pairs are numbered in (unit, domain) order and units are numbered group by group, so the
    pairs of one group are contiguous and the look-ups below stay within a small window.
    """

    row_pair: np.ndarray  # (n,) pair of each row (rows outside every domain: any pair; z is 0)
    n_pairs: int
    pair_unit: np.ndarray  # (P,)
    pair_domain: np.ndarray  # (P,)
    pair_cell: np.ndarray  # (P,)
    cell_group: np.ndarray  # (C,)
    cell_domain: np.ndarray  # (C,)
    pairs_in_cell: np.ndarray  # (C,) pairs that exist in each cell

    def cell_totals(self, T: np.ndarray) -> np.ndarray:
        """(k, C) sums of pair values ``T`` (k, P) within each cell."""
        return cell_sums(self.pair_cell, T, self.cell_group.shape[0])

    def spread(self, per_cell: np.ndarray) -> np.ndarray:
        """(k, P) the value of each pair's cell, from a (k, C) array."""
        return per_cell[:, self.pair_cell]


def pair_index(
    stage: Stage, unit: np.ndarray, code: np.ndarray, n_domains: int, all_cells: bool = False
) -> PairIndex:
    """Index the (unit, domain) pairs of a stage for domain codes ``code`` (-1: no domain).

    Cells are every (group, domain) when there are not too many, or with ``all_cells`` (calibrated
    designs, whose residuals reach every cell); otherwise only the cells that have pairs."""
    D = n_domains
    g = np.where(code >= 0, code, 0)
    U = stage.n_total_units
    n = unit.shape[0]
    unit_domain = np.zeros(U, dtype=np.int64)
    unit_domain[unit] = g
    if D > 1 and (unit_domain[unit] == g).all():
        # every unit lies in one domain (e.g. households within a local authority): the pairs are
        # the units themselves
        n_pairs = U
        row_pair = unit.astype(np.int64)
        pair_unit = np.arange(U)
        pair_domain = unit_domain
    elif U * D <= min(DENSE_CELLS, max(4 * n, 1 << 16)):
        # all (unit, domain) cells, when there are not many more of them than rows
        n_pairs = U * D
        row_pair = unit.astype(np.int64) * D + g
        pair_unit = np.repeat(np.arange(U), D)
        pair_domain = np.tile(np.arange(D), U)
    else:
        key = unit.astype(np.int64) * D + g
        uniq, row_pair = np.unique(key, return_inverse=True)  # sorted: (unit, domain) order
        row_pair = row_pair.astype(np.int64).reshape(-1)
        n_pairs = int(uniq.shape[0])
        pair_unit = uniq // D
        pair_domain = uniq % D
    pair_group = stage.unit_group[pair_unit]
    cell_key = pair_group * D + pair_domain
    if all_cells or stage.n_groups * D <= DENSE_CELLS:
        pair_cell = cell_key
        n_cells = stage.n_groups * D
        cell_group = np.repeat(np.arange(stage.n_groups), D)
        cell_domain = np.tile(np.arange(D), stage.n_groups)
    else:
        cuniq, pair_cell = np.unique(cell_key, return_inverse=True)
        pair_cell = pair_cell.astype(np.int64).reshape(-1)
        n_cells = int(cuniq.shape[0])
        cell_group = cuniq // D
        cell_domain = cuniq % D
    if n_pairs == U * D:
        # dense: every unit of a group is a pair in each of the group's cells
        pairs_in_cell = stage.n_units[cell_group]
    else:
        pairs_in_cell = np.bincount(pair_cell, minlength=n_cells)
    return PairIndex(
        row_pair, n_pairs, pair_unit, pair_domain, pair_cell, cell_group, cell_domain, pairs_in_cell
    )


def cell_sums(index: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """(k, n_cells) sums of ``values`` (k, m) by ``index`` (m,): one ``bincount`` per row of
    ``values`` (k is the number of variables or levels, never the number of units or domains)."""
    values = np.atleast_2d(values)
    out = np.empty((values.shape[0], n_cells))
    for j in range(values.shape[0]):
        out[j] = np.bincount(index, weights=values[j], minlength=n_cells)
    return finite_sums(out, values)


def pair_totals(pairs: PairIndex, values: np.ndarray) -> np.ndarray:
    """(k, P) totals of ``values`` (k, n) over the rows of each pair."""
    return cell_sums(pairs.row_pair, values, pairs.n_pairs)


def pair_totals_by_level(
    pairs: PairIndex, weights: np.ndarray, level: np.ndarray, n_levels: int
) -> np.ndarray:
    """(L, P) totals of ``weights`` over the rows of each pair in each level (level -1: none).

    One pass for all levels of a categorical variable: the totals of ``w * 1{level = l}``.
    """
    ok = level >= 0
    if ok.all():
        key = level * pairs.n_pairs + pairs.row_pair
    else:
        key = np.where(ok, level, 0) * pairs.n_pairs + pairs.row_pair
        weights = np.where(ok, weights, 0.0)
    flat = finite_sums(np.bincount(key, weights=weights, minlength=pairs.n_pairs * n_levels), weights)
    return flat.reshape(n_levels, pairs.n_pairs)


def stage_variance(
    stage: Stage,
    pairs: PairIndex,
    T: np.ndarray,
    n_domains: int,
    lonely: str,
    mult: np.ndarray | None = None,
    present: np.ndarray | None = None,
    cal: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """One stage's contribution to the (k, D) variances from pair totals ``T`` (k, P).

    ``mult`` multiplies each group's term (``n_h/N_h`` for the second stage); ``present`` marks
    the (group, domain) cells that have rows in the domain (used by the ``average`` policy).
    ``cal = (M, Mbar, S, G)`` (``S()`` gives the cross-products) makes the unit totals
    ``T - M . G_d`` of calibration residuals
    (:mod:`carepop.core.estimation.calibration`); it needs every (group, domain) cell indexed.
    """
    D = n_domains
    C = pairs.cell_group.shape[0]
    n = stage.n_units[pairs.cell_group].astype(float)
    if cal is not None and _direct_is_cheaper(stage, pairs, cal[0].shape[0], D):
        S1, SS = _calibrated_direct(stage, pairs, T, cal[0], cal[3], D)
    else:
        S1 = pairs.cell_totals(T)
        mean = S1 / n
        dev = T - pairs.spread(mean)
        np.multiply(dev, dev, out=dev)
        SS = pairs.cell_totals(dev)
        # units of the group with no row in the domain are zeros: each adds mean^2
        SS += (n - pairs.pairs_in_cell) * mean**2
        if cal is not None:
            S1, SS = _calibrated_sums(stage, pairs, T, S1, SS, *cal)

    f = stage.f[pairs.cell_group]
    v = np.where(n > 1, f * n / np.maximum(n - 1, 1) * SS, 0.0)
    single = n == 1
    if lonely == "adjust":
        v = np.where(single, f * S1**2, v)
    certain = f < CERTAINTY_TOL
    v[:, certain] = 0.0
    ok = ~(single & ~certain) if lonely == "average" else np.ones(C, dtype=bool)
    if mult is not None:
        v = v * mult[pairs.cell_group]
    out = cell_sums(pairs.cell_domain[ok], v[:, ok], D)
    if lonely == "average":
        pres = present if present is not None else np.ones(C, dtype=bool)
        n_present = np.bincount(pairs.cell_domain[pres], minlength=D).astype(float)
        n_ok = np.bincount(pairs.cell_domain[pres & ok], minlength=D).astype(float)
        # a domain whose strata all have one PSU: no variance to average (NaN, as R)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(n_present > 0, n_present / n_ok, 1.0)
            out = out * scale
    return out


def _direct_is_cheaper(stage: Stage, pairs: PairIndex, q: int, D: int) -> bool:
    """Form the calibration residuals of every (unit, domain) directly (``U q D`` operations, in
    chunks), or go through the per-group cross-products of the unit totals (``groups q^2 D``
    operations and ``groups q^2`` values)? Directly, unless the groups are few and the
    calibration small compared with the units (e.g. 1M people in 150 strata raked to 20 cells)."""
    U, n_groups = stage.n_total_units, stage.n_groups
    if pairs.n_pairs == U * D:
        return True  # every pair is indexed already
    return n_groups * q >= U or n_groups * q * q > DECOMPOSE_MAX


def _calibrated_direct(
    stage: Stage, pairs: PairIndex, T: np.ndarray, M: np.ndarray, G: np.ndarray, D: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group-domain sums and centred sums of squares (k, groups * D) of the residual totals
    ``T_ud - M_u . G_d`` of every unit u and domain d (a unit outside the domain has ``T_ud = 0``
    and residual ``-M_u . G_d``: calibration spreads every domain over all units, as in R).

    Domains are taken ``DIRECT_CHUNK / U`` at a time, so memory stays at a few tens of MB while
    the work is one matrix product ``M' G`` (U x q by q x D) per estimate."""
    n_groups = stage.n_groups
    if pairs.cell_group.shape[0] != n_groups * D:
        raise ValueError("calibrated variance needs every (group, domain) cell")
    U = stage.n_total_units
    k = T.shape[0]
    starts = stage.group_start
    n_g = stage.n_units.astype(float)[:, None]
    by_domain = np.argsort(pairs.pair_domain, kind="stable")
    bounds = np.searchsorted(pairs.pair_domain[by_domain], np.arange(D + 1))
    step = max(1, min(D, DIRECT_CHUNK // max(U, 1)))
    S1 = np.empty((k, n_groups, D))
    SS = np.empty((k, n_groups, D))
    for a in range(k):
        for d0 in range(0, D, step):  # blocks of domains, not single domains
            d1 = min(D, d0 + step)
            R = -(M.T @ G[a][:, d0:d1])  # (U, d1 - d0)
            idx = by_domain[bounds[d0] : bounds[d1]]
            R[pairs.pair_unit[idx], pairs.pair_domain[idx] - d0] += T[a, idx]  # pairs are unique
            s1 = np.add.reduceat(R, starts, axis=0)  # units of a group are contiguous
            R -= (s1 / n_g)[stage.unit_group]
            np.multiply(R, R, out=R)
            S1[a, :, d0:d1] = s1
            SS[a, :, d0:d1] = np.add.reduceat(R, starts, axis=0)
    return S1.reshape(k, -1), SS.reshape(k, -1)


def _calibrated_sums(stage, pairs, T, S1, SS, M, Mbar, cross_products, G):
    """Group-domain sum and centred sum of squares of ``T_pd - M_p . G_d`` from those of ``T``."""
    S = cross_products()
    cg, cd = pairs.cell_group, pairs.cell_domain
    if cg.shape[0] != stage.n_groups * G.shape[2]:
        raise ValueError("calibrated variance needs every (group, domain) cell")
    n = stage.n_units[cg].astype(float)
    S1 = S1 - np.einsum("qc,kqc->kc", Mbar[:, cg] * n, G[:, :, cd])
    pair_group = stage.unit_group[pairs.pair_unit]
    Mdev = M[:, pairs.pair_unit] - Mbar[:, pair_group]  # (q, P)
    SS = SS.copy()
    for k in range(T.shape[0]):
        cross = cell_sums(pairs.pair_cell, T[k] * Mdev, cg.shape[0])  # (q, C)
        SS[k] -= 2 * np.einsum("qc,qc->c", cross, G[k][:, cd])
        quad = np.einsum("qd,gqr,rd->gd", G[k], S, G[k])  # (groups, domains)
        SS[k] += quad[cg, cd]
    return S1, SS


def cells_present(design: TaylorDesign, pairs: PairIndex, code: np.ndarray, n_domains: int) -> np.ndarray:
    """(C,) which stage-1 (stratum, domain) cells have rows in the domain (R's strata present in
    the subset design)."""
    inside = code >= 0
    has = np.zeros(pairs.cell_group.shape[0], dtype=bool)
    has[pairs.pair_cell[pairs.row_pair[inside]]] = True
    return has


@dataclass(frozen=True)
class DesignPairs:
    """Pair indexes of the stages that enter the variance, for one set of domains.

    ``up`` maps each stage-2 pair to the stage-1 pair that contains it (SSUs are nested in PSUs),
    so stage-1 totals are sums of stage-2 totals and the rows are read once per estimate.
    """

    p1: PairIndex
    p2: PairIndex | None
    up: np.ndarray | None

    @property
    def finest(self) -> PairIndex:
        return self.p2 if self.p2 is not None else self.p1

    def to_stage1(self, T: np.ndarray) -> np.ndarray:
        """Stage-1 pair totals from totals over the finest pairs."""
        if self.p2 is None:
            return T
        return cell_sums(self.up, T, self.p1.n_pairs)


def design_pairs(
    design: TaylorDesign, code: np.ndarray, n_domains: int, all_cells: bool = False
) -> DesignPairs:
    """Index the (unit, domain) pairs of every stage that enters the variance (``all_cells``:
    every (group, domain) cell, as calibrated designs need)."""
    p1 = pair_index(design.stage1, design.stage1.unit, code, n_domains, all_cells)
    if design.stage2 is None or design.stage1.sampling_fraction is None:
        return DesignPairs(p1, None, None)
    p2 = pair_index(design.stage2, design.stage2.unit, code, n_domains, all_cells)
    rep_row = np.full(p2.n_pairs, -1, dtype=np.int64)
    rep_row[p2.row_pair] = np.arange(code.shape[0])
    # pairs with no row (dense indexing) hold zeros: where they are added does not matter
    up = np.where(rep_row >= 0, p1.row_pair[np.maximum(rep_row, 0)], 0)
    return DesignPairs(p1, p2, up)


def taylor_variance(design: TaylorDesign, z: np.ndarray, code: np.ndarray, n_domains: int) -> np.ndarray:
    """(k, D) variance of the domain totals of row influence values ``z`` (k, n).

    Rows with ``code == -1`` are outside every domain and must have ``z == 0``.
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    pairs = design_pairs(design, code, n_domains)
    T = pair_totals(pairs.finest, z)
    return variance_from_pairs(
        design, pairs, pairs.to_stage1(T), T if pairs.p2 is not None else None, code, n_domains
    )


def variance_from_pairs(
    design: TaylorDesign,
    pairs: DesignPairs,
    T1: np.ndarray,
    T2: np.ndarray | None,
    code: np.ndarray,
    n_domains: int,
    calibration=None,
    gammas: np.ndarray | None = None,
) -> np.ndarray:
    """Stage 1 plus (when the first stage has an fpc) stage 2 variance from pair totals.

    With ``calibration`` (a :class:`carepop.core.estimation.calibration.Calibration`) and the
    domains' ``gammas``, the variance is that of the calibration residuals. R keeps every row of
    a calibrated design in a domain analysis, so then every stratum counts as present.
    """
    cal1 = cal2 = None
    if calibration is not None:
        cal1 = (*calibration.unit_stats(1, design.stage1), gammas)
        if pairs.p2 is not None:
            cal2 = (*calibration.unit_stats(2, design.stage2), gammas)
    present = None
    if design.lonely_psu == "average" and calibration is None:
        present = cells_present(design, pairs.p1, code, n_domains)
    v = stage_variance(design.stage1, pairs.p1, T1, n_domains, design.lonely_psu, present=present, cal=cal1)
    if pairs.p2 is not None and T2 is not None:
        assert design.stage2 is not None and design.stage1.sampling_fraction is not None
        mult = design.stage1.sampling_fraction[design.stage1.unit_group]  # n_h/N_h per PSU
        v = v + stage_variance(design.stage2, pairs.p2, T2, n_domains, design.lonely_psu, mult=mult, cal=cal2)
    return v
