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
lonely. Everything is vectorised: one ``bincount`` pass over the rows per column, then work on
(unit × domain) totals; no loop over rows, strata or domains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carepop.estimation.stages import Stage, TaylorDesign

#: above this many (unit x domain) cells, unit totals are formed sparsely (hash on the pairs
#: present) instead of as a dense array
DENSE_CELLS = 4_000_000
CERTAINTY_TOL = 1e-7


def taylor_variance(design: TaylorDesign, z: np.ndarray, g: np.ndarray, n_domains: int) -> np.ndarray:
    """Variance of the domain totals of influence values ``z``.

    Parameters
    ----------
    design : coded design.
    z : (n, k) influence values (already weighted), zero where a row does not count.
    g : (n,) domain code per row, ``-1`` for rows outside every domain.
    n_domains : number of domains ``D``.

    Returns
    -------
    (D, k) array of variances (the diagonal of R's ``svyrecvar`` for each domain).
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    keep = g >= 0
    if not keep.all():
        z = z[keep]
        g = g[keep]
        rows = np.flatnonzero(keep)
    else:
        rows = None
    unit1 = design.stage1.unit if rows is None else design.stage1.unit[rows]
    v = _stage_variance(design.stage1, unit1, z, g, n_domains, design.lonely_psu, mult=None)
    s2 = design.stage2
    if s2 is not None and design.stage1.sampling_fraction is not None:
        unit2 = s2.unit if rows is None else s2.unit[rows]
        mult = design.stage1.sampling_fraction[design.stage1.unit_group]  # n_h/N_h per PSU
        v = v + _stage_variance(s2, unit2, z, g, n_domains, design.lonely_psu, mult=mult)
    return v


def _stage_variance(
    stage: Stage,
    unit: np.ndarray,
    z: np.ndarray,
    g: np.ndarray,
    n_domains: int,
    lonely: str,
    mult: np.ndarray | None,
) -> np.ndarray:
    """One stage's contribution: sum over groups of f n/(n-1) * centred sum of squares."""
    k = z.shape[1]
    D = n_domains
    U = stage.n_total_units
    key = unit.astype(np.int64) * D + g
    if U * D <= DENSE_CELLS:
        # dense (unit, domain) totals; every (group, domain) cell exists
        T = np.empty((U * D, k))
        for j in range(k):
            T[:, j] = np.bincount(key, weights=z[:, j], minlength=U * D)
        T = T.reshape(U, D, k)
        S1 = np.add.reduceat(T, stage.group_start, axis=0)  # (G, D, k)
        n = stage.n_units[:, None, None].astype(float)
        mean = S1 / n
        dev = T - mean[stage.unit_group]
        SS = np.add.reduceat(dev * dev, stage.group_start, axis=0)
        present = (
            np.bincount(stage.unit_group[unit] * D + g, minlength=stage.n_groups * D).reshape(
                stage.n_groups, D
            )
            > 0
        )
        cell_group = np.repeat(np.arange(stage.n_groups), D)
        cell_domain = np.tile(np.arange(D), stage.n_groups)
        S1 = S1.reshape(-1, k)
        SS = SS.reshape(-1, k)
        present = present.reshape(-1)
    else:
        # sparse: only the (unit, domain) pairs that occur
        pair_idx, pair_key = pd.factorize(key, sort=False)
        P = pair_key.shape[0]
        Tp = np.empty((P, k))
        for j in range(k):
            Tp[:, j] = np.bincount(pair_idx, weights=z[:, j], minlength=P)
        pair_unit = pair_key // D
        pair_domain = pair_key % D
        pair_group = stage.unit_group[pair_unit]
        cell_idx, cell_key = pd.factorize(pair_group * D + pair_domain, sort=False)
        C = cell_key.shape[0]
        cell_group = cell_key // D
        cell_domain = cell_key % D
        S1 = np.empty((C, k))
        for j in range(k):
            S1[:, j] = np.bincount(cell_idx, weights=Tp[:, j], minlength=C)
        n_cell = stage.n_units[cell_group].astype(float)
        mean = S1 / n_cell[:, None]
        dev = Tp - mean[cell_idx]
        SS = np.empty((C, k))
        for j in range(k):
            SS[:, j] = np.bincount(cell_idx, weights=dev[:, j] ** 2, minlength=C)
        # units of the group with no row in the domain are zeros: each adds mean^2
        pairs_in_cell = np.bincount(cell_idx, minlength=C)
        SS += (n_cell - pairs_in_cell)[:, None] * mean**2
        present = np.ones(C, dtype=bool)

    n = stage.n_units[cell_group].astype(float)
    f = stage.f[cell_group]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where((n > 1)[:, None], (f * n / np.maximum(n - 1, 1))[:, None] * SS, 0.0)
    single = n == 1
    if lonely == "adjust":
        v = np.where(single[:, None], f[:, None] * S1**2, v)
    certain = f < CERTAINTY_TOL
    v[certain] = 0.0
    ok = ~(single & ~certain) if lonely == "average" else np.ones_like(single)
    if mult is not None:
        v = v * mult[cell_group][:, None]
    out = np.zeros((D, k))
    for j in range(k):
        out[:, j] = np.bincount(cell_domain[ok], weights=v[ok, j], minlength=D)
    if lonely == "average":
        n_present = np.bincount(cell_domain[present], minlength=D).astype(float)
        n_ok = np.bincount(cell_domain[present & ok], minlength=D).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(n_present > 0, n_present / n_ok, 1.0)
        out = out * scale[:, None]
    return out
