"""Successive difference replication (SDR) made from a design (R ``svrep::as_sdr_design``).

Fay and Train (1995) made SDR for systematic samples: the PSUs, taken in the order in which the
sample was drawn, get replicate factors built from two rows of a Hadamard matrix each, so that
the replicate variance of a total is (or, with fewer replicates than PSUs, approximates) the
successive-difference variance of the PSU totals. It is the U.S. Census Bureau's method for the
American Community Survey (80 replicates). carepop follows svrep 0.9.1 (Schneider), whose
``as_sdr_design(design, replicates, sort_variable, use_normal_hadamard = FALSE)`` is the reference
for every number here:

- **Units.** The design's first-stage PSUs (each row when there is no PSU column), put in one
  sequence: strata by value (svrep: by R's factor levels, the same order except where R's locale
  collation differs from code-point order, e.g. mixed-case labels), then ``sort_by`` within a
  stratum. The sequence runs through the
  whole sample; strata do not start sequences of their own, so the difference between the last
  PSU of a stratum and the first of the next counts, as in svrep (and the ACS, whose sort order
  includes its strata). A stratum with one PSU needs no special rule.
- **Hadamard matrix** (entries +-1) of order ``R``, the number of replicates: by default svrep's
  non-normal ``H4 = [[1,-1,1,1],[-1,-1,-1,1],[1,-1,-1,-1],[1,1,-1,1]]`` doubled
  (``[[H, H], [H, -H]]``) until it has at least ``replicates`` columns, so ``R = 4 * 2^k``; with
  ``use_normal_hadamard=True`` R ``survey::hadamard(replicates - 1)`` (first row and column all
  ones; more orders: 80 for 80, 104 for 100), whose first replicate is then inactive (all
  factors 1).
- **Rows assigned to units** (svrep ``assign_hadamard_rows``; Ash 2014): with ``n <= R`` PSUs,
  unit ``i`` of the sequence takes rows ``(i, i + 1)`` and the last takes ``(n, 1)``: the circular
  assignment whose replicate variance is Ash's SD2 estimator exactly. With ``n > R``, Ash's RA1:
  the pairs ``(i, i + s mod R)`` for step sizes ``s = 1, 2, ...`` in turn, each step size's ``R``
  pairs walked along the cycles of ``+s`` (cycles of the same step starting from the smallest unused
  row), repeated if the step sizes run out, no circular closure.
- **Factors** ``1 + 2^(-3/2) (h[a_i, r] - h[b_i, r])``, i.e. ``1 - 2^(-1/2)``, ``1`` or
  ``1 + 2^(-1/2)`` (0.29, 1, 1.71, the ACS factors); with a first-stage fpc the deviation from
  1 is multiplied by ``sqrt((N_h - n_h)/N_h)`` (svrep; the ACS practice), so the scale stays
  ``4/R``. ``rscales`` are 1. The variance is centred on the full-sample estimate
  (``mse=True``, svrep's default and Fay and Train's formula): the replicate factors of a PSU
  need not average 1 (those of the PSUs given row 1 of a normal Hadamard matrix average
  ``1 +- 2^(-3/2)``).

**Identity** (tested exactly). Because ``H H' = R I``, for PSU totals ``z`` of any variable the
SDR variance of the total is ``(4/R) sum_r (sum_i (f_ir - 1) z_i)^2 = 1/2 sum_k (A_k - B_k)^2``,
where ``A_k`` (``B_k``) sums the ``z_i`` of the units given row ``k`` as their first (second) row.
With ``n <= R`` this is the circular successive-difference estimator of Fay and Train / Ash's
SD2: ``1/2 sum_{i=1..n} (z_i - z_{i+1})^2`` with ``z_{n+1} = z_1``; with an fpc, each ``z_i``
carries ``sqrt((N_h - n_h)/N_h)`` of its stratum.

**Order.** SDR's variance depends on the order of the PSUs, which should be the sort order of
the frame the sample was drawn from. svrep takes the data's row order within a stratum unless
sorted by ``sort_variable``; carepop's rule is that the order of the rows never changes a row's
weights, so:

- ``sort_by=None``: PSUs in carepop's canonical order, as for every other replicate method: by
  the PSU column's value within a stratum. Without a PSU column each row is its own PSU and the
  rows' order within a stratum is the only order there is (the file's).
- ``sort_by="col"``: by that column's value within a stratum; a PSU's key is the smallest value
  among its rows (the value itself when, as usual, it is constant within the PSU); ties are
  broken by the canonical order. A column of row numbers therefore gives the file's order of
  first appearance, which is what svrep does without sorting.

**Multistage designs.** The factors are per first-stage PSU (svrep's documentation: "only takes
into account information about the first stage"); svrep 0.9.1 itself gives a two-stage design's
factors per final-stage unit (its ``compress_design`` keeps every stage's cluster ids), so it
differs from carepop there. Later-stage fpcs are dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from carepop.core import checks as chk
from carepop.core.survey import Survey
from carepop.errors import CarepopError, DesignError, opt

#: svrep's non-normal Hadamard matrix of order 4 (``make_sdr_replicate_factors``)
_H4 = np.array([[1, -1, 1, 1], [-1, -1, -1, 1], [1, -1, -1, -1], [1, 1, -1, 1]], dtype=np.int64)
#: ``2^(-3/2)``: half of a unit's deviation ``h_a - h_b`` in {-2, 0, 2}
_C = 2.0**-1.5


def sdr_hadamard(
    replicates: int, use_normal_hadamard: bool = False, r_hadamard: Callable[[int], np.ndarray] | None = None
) -> np.ndarray:
    """The +-1 Hadamard matrix svrep's SDR uses for a target of ``replicates``; its order is the
    number of replicates.

    ``use_normal_hadamard=False``: svrep's ``H4`` doubled until it has at least ``replicates``
    columns (order ``4 * 2^k``). ``True``: ``2 * r_hadamard(replicates - 1) - 1``, where
    ``r_hadamard`` is R's ``survey::hadamard`` (:func:`carepop.weighting.replicates.hadamard`,
    passed in because that module imports this one).
    """
    if use_normal_hadamard:
        if r_hadamard is None:
            raise ValueError("use_normal_hadamard needs r_hadamard (R's survey::hadamard)")
        return 2 * np.asarray(r_hadamard(int(replicates) - 1), dtype=np.int64) - 1
    H = _H4
    while H.shape[1] < replicates:  # one doubling per pass
        H = np.block([[H, H], [H, -H]])
    return H


def sdr_row_assignment(n: int, order: int) -> np.ndarray:
    """svrep ``assign_hadamard_rows(n, order, ceiling(n/order), use_first_row = TRUE,
    circular = TRUE)``: the two Hadamard rows (0-based) of each of ``n`` units in sequence, (n, 2).

    For each step size ``s`` in turn, the ``order`` pairs ``(i, i + s mod order)``, with ``i``
    walking the cycles of ``+s`` (the cycle of 0, then of 1, ... up to ``gcd(s, order) - 1``);
    step sizes ``1..m`` with ``m`` svrep's ``max_step_size``; the pairs repeated if they are fewer
    than ``n``, cut to ``n``; with ``n <= order`` the last unit's second row is the first unit's
    first (circular).
    """
    k = int(order)
    if k % 4:
        raise ValueError("the order of a Hadamard matrix used here is a multiple of 4")
    cycles = -(-n // k)
    if ((k - 1) * cycles) % 2:
        max_step = cycles + 1
        if max_step >= k - 1:
            max_step = cycles - 1
        max_step = min(max_step, k - 1)
    else:
        max_step = min(cycles, k - 1)
    s = np.arange(1, max_step + 1, dtype=np.int64)[:, None]
    t = np.arange(k, dtype=np.int64)[None, :]
    length = k // np.gcd(s, k)  # length of each cycle of +s
    first = (t // length + (t % length) * s) % k
    pairs = np.stack([first.ravel(), ((first + s) % k).ravel()], axis=1)
    if pairs.shape[0] < n:
        pairs = np.tile(pairs, (-(-n // pairs.shape[0]), 1))
    pairs = pairs[:n].copy()
    if n <= k:
        pairs[n - 1, 1] = pairs[0, 0]
    return pairs


def sdr_unit_factors(n: int, hadamard_pm1: np.ndarray) -> np.ndarray:
    """svrep ``make_sdr_replicate_factors``: the (n, R) replicate factors of ``n`` units in
    sequence, ``1 + 2^(-3/2) (h[a_i, r] - h[b_i, r])`` for the rows :func:`sdr_row_assignment`
    gives them."""
    H = np.asarray(hadamard_pm1, dtype=np.float64)
    ab = sdr_row_assignment(n, H.shape[0])
    return 1.0 + _C * (H[ab[:, 0]] - H[ab[:, 1]])


def sdr_sequence(survey: Survey, order: np.ndarray, sort_by: str | None) -> np.ndarray:
    """The position in the SDR sequence of each PSU of ``order`` (canonical PSU order): by
    stratum, then by ``sort_by`` (a PSU's smallest value), then canonically."""
    P = order.shape[0]
    if sort_by is None:
        return np.arange(P)
    s1 = survey.taylor_design.stage1
    col = survey.column(sort_by, "sort variable")
    key_row = chk.codes(chk.check_no_missing(col.to_frame(), sort_by, "sort variable"))
    key = np.full(P, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(key, s1.unit, key_row)  # by PSU code
    seq = np.lexsort((np.arange(P), key[order], s1.unit_group[order]))  # canonical positions in sequence
    position = np.empty(P, dtype=np.int64)
    position[seq] = np.arange(P)
    return position


def check_replicates(replicates: int | None, n_psu: int) -> int:
    """The target number of SDR replicates: a whole number given by the user (svrep has no
    default either)."""
    if replicates is None:
        raise CarepopError(
            "Successive difference replication needs a number of replicates.",
            code="bad_option",
            expected="a whole number >= 1",
            fix=(
                "give ",
                opt("replicates", metavar="R"),
                f", e.g. 80 (the ACS), or {n_psu} or more (the number of PSUs) for replicates whose "
                "variance of a total is the successive-difference (SD2) estimator exactly",
            ),
        )
    if int(replicates) != replicates or replicates < 1:
        raise CarepopError(
            f"The number of SDR replicates must be a whole number of at least 1, not {replicates!r}.",
            code="bad_option",
            got=replicates,
            expected="a whole number >= 1",
            fix=("give ", opt("replicates", metavar="R"), ", e.g. 80 (the ACS)"),
        )
    return int(replicates)


def check_sdr_only(method: str, sort_by: str | None, use_normal_hadamard: bool) -> None:
    """``sort_by`` and ``use_normal_hadamard`` are for SDR only."""
    if method == "sdr":
        return
    given = "sort_by" if sort_by is not None else "use_normal_hadamard" if use_normal_hadamard else None
    if given is not None:
        raise CarepopError(
            f"{given} is an option of successive difference replication, not of {method!r}.",
            code="bad_option",
            got=method,
            fix=("use ", opt("method", "sdr"), ", or leave out ", opt(given)),
        )


def sdr_factors(
    survey: Survey,
    order: np.ndarray,
    replicates: int | None,
    *,
    sort_by: str | None = None,
    use_normal_hadamard: bool = False,
    use_fpc: bool = True,
    r_hadamard: Callable[[int], np.ndarray] | None = None,
) -> tuple[np.ndarray, float, np.ndarray]:
    """SDR replicate factors of the PSUs of ``survey``: ``(factors, scale, rscales)`` with
    ``factors`` (#PSU, R) in the canonical PSU order ``order`` (row ``j`` belongs to PSU
    ``order[j]``), ``scale = 4/R`` and ``rscales`` all 1 (svrep ``as_sdr_design``; see the module
    docstring for the order, the Hadamard matrix and the fpc)."""
    s1 = survey.taylor_design.stage1
    P = order.shape[0]
    target = check_replicates(replicates, P)
    if P < 2:
        raise DesignError(
            "Successive difference replication needs at least two PSUs.",
            code="too_few_psus",
            fix="check the PSU column",
        )
    H = sdr_hadamard(target, use_normal_hadamard, r_hadamard)
    factors = sdr_unit_factors(P, H)[sdr_sequence(survey, order, sort_by)]
    if use_fpc:
        # svrep: 1 + sqrt(1 - n_h/N_h) (factor - 1), the fpc of each PSU's stratum
        root = np.sqrt(s1.f[s1.unit_group[order]])
        factors = 1.0 + root[:, None] * (factors - 1.0)
    R = H.shape[0]
    return factors, 4.0 / R, np.ones(R)
