"""Integer coding of a multi-stage design, built once when a :class:`~carepop.Survey` is made.

The Taylor variance needs, per row, the stratum, the first-stage unit (PSU) and, for two-stage
designs, the second-stage unit (SSU); per stratum the number of PSUs sampled ``n_h`` and the finite
population correction ``f_h = (N_h - n_h) / N_h`` (1 when sampled with replacement); per PSU the
number of SSUs ``n_hi``, their correction ``f_hi`` and the first-stage sampling fraction
``n_h / N_h`` that multiplies the second-stage term. This is what R ``survey`` stores in
``design$cluster``, ``design$strata`` and ``design$fpc`` (``as.fpc``).

PSU codes are assigned so that the PSUs of one stratum are contiguous (stratum-major order); the
variance code relies on it to sum over PSUs within strata with ``np.add.reduceat``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepop.core.estimation.numerics import readonly


@dataclass(frozen=True)
class Stage:
    """One sampling stage: units grouped into (sub-)strata.

    Attributes
    ----------
    unit : (n,) int64
        Code of the sampled unit at this stage for each row, ``0..U-1``, units of one group
        contiguous.
    unit_group : (U,) int64
        The group (stratum at stage 1, PSU at stage 2) each unit belongs to.
    group_start : (G,) int64
        First unit code of each group (units are sorted by group).
    n_units : (G,) int64
        Units sampled in each group (``n_h``; R's ``fpc$sampsize``).
    f : (G,) float64
        Finite population correction ``(N - n) / N`` per group; 1 without fpc.
    sampling_fraction : (G,) float64 or None
        ``n / N`` per group, or None when the stage has no fpc.
    population : (G,) float64 or None
        Population size ``N`` per group (from the fpc), or None when the stage has no fpc.

    The arrays are read-only.
    """

    unit: np.ndarray
    unit_group: np.ndarray
    group_start: np.ndarray
    n_units: np.ndarray
    f: np.ndarray
    sampling_fraction: np.ndarray | None
    population: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return int(self.n_units.shape[0])

    @property
    def n_total_units(self) -> int:
        return int(self.unit_group.shape[0])


@dataclass(frozen=True)
class TaylorDesign:
    """Coded strata and stages of a design for Taylor-linearisation variance.

    ``stage1`` groups PSUs by stratum. ``stage2`` (optional) groups SSUs by PSU; it only
    contributes when stage 1 has an fpc, as in R ``survey:::multistage`` (with-replacement first
    stages make the later stages irrelevant: the ultimate-cluster estimator).
    """

    stratum: np.ndarray  # (n,) stratum code per row
    stage1: Stage
    stage2: Stage | None
    lonely_psu: str
    n_strata: int

    @property
    def psu(self) -> np.ndarray:
        return self.stage1.unit


def code_units(group_codes: np.ndarray, unit_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code units so that units of one group are contiguous.

    ``group_codes`` are integer group codes per row; ``unit_keys`` integer codes that identify a
    unit uniquely (globally). Returns ``(unit_code per row, group per unit)``.
    """
    n_keys = int(unit_keys.max()) + 1 if unit_keys.size else 0
    # one representative group per unit key (validated upstream to be unique)
    grp_of_key = np.full(n_keys, -1, dtype=np.int64)
    grp_of_key[unit_keys] = group_codes
    present = np.flatnonzero(np.bincount(unit_keys, minlength=n_keys) > 0)
    order = present[np.argsort(grp_of_key[present], kind="stable")]
    new_code = np.empty(n_keys, dtype=np.int64)
    new_code[order] = np.arange(order.size, dtype=np.int64)
    return new_code[unit_keys], grp_of_key[order]


def make_stage(
    group_per_row: np.ndarray,
    unit_key_per_row: np.ndarray,
    n_groups: int,
    popsize_per_group: np.ndarray | None,
) -> Stage:
    """Build a :class:`Stage` from row-level group and unit codes and optional population sizes."""
    unit, unit_group = code_units(group_per_row, unit_key_per_row)
    n_units = np.bincount(unit_group, minlength=n_groups).astype(np.int64)
    group_start = np.concatenate([[0], np.cumsum(n_units)[:-1]]).astype(np.int64)
    pop = None
    if popsize_per_group is None:
        f = np.ones(n_groups)
        frac = None
    else:
        pop = popsize_per_group.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.isinf(pop), 1.0, (pop - n_units) / pop)
            frac = n_units / pop
    arrays = (unit, unit_group, group_start, n_units, f, frac, pop)
    return Stage(*(None if a is None else readonly(a) for a in arrays))
