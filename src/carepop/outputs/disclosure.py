r"""Disclosure control: the only place carepop suppresses, rounds and audits what it publishes.

The rules (:class:`DisclosureRules`, on by default)
---------------------------------------------------
- **Counts of people** (sub-national tables): a count from 1 to ``threshold − 1`` (1–7 with the
  default ``threshold=8``) is suppressed; zeros are published as 0; every other count is rounded
  to the nearest ``count_round`` (5), halves up; totals are computed from the exact counts and
  rounded on their own, so a published table need not add up. This is NHS England's (formerly
  NHS Digital's) rule for sub-national counts: "Disclosure control methodology for Hospital
  Episode Statistics (HES) and Emergency Care Data Set (ECDS)", NHS Digital, September 2018
  (digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-
  statistics/change-to-disclosure-control-methodology-for-hes-and-ecds-from-september-2018),
  adopted since for its other datasets (the Sexual and Reproductive Health Activity Dataset and
  the National Child Measurement Programme from 2019-20). Where NHS England leaves national
  figures unsuppressed, carepop protects every cell, the England total included (the safe side).
- **Survey estimates**: a weighted total is rounded to the nearest ``estimate_round`` (10, as the
  DHSC Adult Social Care Survey rounds estimated totals), a rate to ``rate_decimals`` (3: a tenth
  of a percentage point), and a row whose unweighted base is below ``min_base`` (50) is not
  published. 50 is carepop's choice, not a published rule: below it a proportion's 95% interval
  is wider than ±14 points even without a design effect (1.96·√(0.25/50) = 0.139), too wide to
  rank councils, and a rate on a few respondents says too much about each of them.

Secondary suppression (:func:`protect_table`)
---------------------------------------------
A table of counts by ``by`` (flat dimensions such as sex, or nested ones such as region/council,
written as a tuple ``("region", "la")``) is published with all its margins: every combination of
a category or a subtotal of each dimension (``Total`` in the label of a margin). Every published
cell is a sum of inner cells: ``t = A x`` with ``A`` the Kronecker product of each dimension's
0/1 membership matrix (node × category). Suppressing only the small cells is not enough: a margin
minus the published cells beside a suppressed cell gives it back. The complementary cells are
chosen in two steps.

1. *Every line twice* (fast, vectorised): each additive relation — a parent cell and its children
   along one dimension (a row and its total, a region and its councils) — that holds exactly one
   suppressed cell gets a second one: its cheapest published non-zero member (cost = the value,
   or 1 per cell with ``cost="count"``). Repeated until no relation holds a lone suppression.
2. *Protection patterns* (the network-flow idea of Kelly, Golden & Assad, "Cell suppression",
   Networks 22, 1992, as an LP; Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, on
   cell suppression and the attacker's problem): step 1 is necessary, not sufficient (two cycles of
   suppressed cells joined by one cell leave that cell exactly determined). For each primary cell
   ``s`` whose audited range is too narrow, solve (HiGHS, :func:`scipy.optimize.milp`; integer
   ``d`` when the LP is not exact, below)::

       minimise   Σ_i c_i (p_i + q_i)         over published non-zero cells i
       subject to (A d)_s = P                  the cell moves up by the protection width P
                  (A d)_i = f_i + p_i − q_i    f_i ∈ [lo_i − t_i, hi_i − t_i]: moves within the
                                               rounding interval are free; p, q ≥ 0
                  x_j + d_j ≥ 1                every inner cell stays non-zero

   and suppress every cell with ``p_i + q_i > 0``. Then ``x + d`` is a second table the attacker
   cannot tell from the true one, ``P`` apart in cell ``s``: the range is at least ``P`` wide.
   Each pattern only adds suppressions, and more suppression only widens ranges, so the cells
   protected stay protected. Zero cells are never suppressed (zeros are published, so an
   attacker knows a suppressed cell is at least 1).

The audit (:func:`audit`): what "protected" means
-------------------------------------------------
The attacker knows the published values, the rules and that every margin is the sum of its
inner cells; not which suppressed cells are primary (publish ``status`` only as ``suppressed``,
see ``public`` in :func:`protect_table`). For each suppressed cell ``s`` carepop solves two linear
programmes (:func:`scipy.optimize.linprog`, ``method="highs"``)::

    lower_s = min  a_s·x ,  upper_s = max  a_s·x   over x (one variable per non-zero inner cell)
    subject to  lo_i ≤ a_i·x ≤ hi_i   for every published cell i (inner cells as bounds on x)
                a_j·x ≥ 1             for every suppressed cell j (zeros are published)

where a published value ``v > 0`` rounded to base ``b`` means the true count lies in
``[max(threshold, v − ⌊b/2⌋), v + ⌊(b−1)/2⌋]`` (``[v, v]`` unrounded) and zero cells are fixed at 0.
A primary cell is **protected** when ``upper − lower ≥ protection`` (default ``threshold``). As
``lower ≥ 1``, this gives ``upper ≥ threshold + 1``: the published table does not show that the
cell is a small count at all. For one dimension (nested or not), and for two dimensions of which
at most one is nested, the constraints are the union of two laminar families, a totally unimodular
matrix, so the LP's bounds are the integer bounds; otherwise (three or more dimensions, two
nested ones) the LP is only an outer bound and the audit (and step 2) also solve the integer
programme (:func:`scipy.optimize.milp`, ``integrality=1``), whose bounds decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from carepop.core.results import TableResult
from carepop.errors import CarepopError, data_rows, opt

__all__ = [
    "TOTAL",
    "CountTable",
    "DisclosureRules",
    "ProtectedEstimates",
    "ProtectedTable",
    "audit",
    "count_table",
    "protect_counts",
    "protect_estimates",
    "protect_table",
    "rules_from",
    "suppress",
]

#: the label of a margin (a subtotal over a dimension) in a published table
TOTAL = "Total"
RULE_SOURCE = (
    "NHS Digital (2018), Disclosure control methodology for HES and ECDS: sub-national counts 1-7 "
    "suppressed, others rounded to the nearest 5; survey estimates: carepop (rounded totals, "
    "minimum unweighted base)"
)
PRIMARY, SECONDARY, PUBLISHED = "primary", "secondary", "published"


# ------------------------------------------------------------------------------ the rules
@dataclass(frozen=True)
class DisclosureRules:
    """What is suppressed and how published numbers are rounded (module docstring).

    threshold : counts 1..threshold−1 are suppressed (1 suppresses nothing).
    count_round : counts are rounded to the nearest multiple (1: unrounded).
    estimate_round : weighted totals are rounded to the nearest multiple (0: unrounded).
    rate_decimals : rates and proportions are rounded to this many decimals (None: unrounded).
    min_base : survey estimates on fewer respondents (unweighted) are not published.
    protection : the width of the range an attacker must be left with for every primary cell
        (default: ``threshold``).
    """

    threshold: int = 8
    count_round: int = 5
    estimate_round: float = 10
    rate_decimals: int | None = 3
    min_base: int = 50
    protection: int | None = None

    def __post_init__(self) -> None:
        def bad(name: str, why: str, got: Any, fix: Any) -> CarepopError:
            return CarepopError(f"{name} {why}.", code="bad_rule", got=got, fix=fix)

        if not _is_int(self.threshold) or self.threshold < 1:
            raise bad(
                "threshold",
                "must be a whole number, 1 or more (1 suppresses nothing)",
                self.threshold,
                ("give ", opt("threshold", 8), ": counts 1-7 suppressed"),
            )
        if not _is_int(self.count_round) or self.count_round < 1:
            raise bad(
                "count_round",
                "must be a whole number, 1 or more (1 leaves counts unrounded)",
                self.count_round,
                ("give ", opt("count_round", 5)),
            )
        if self.count_round > 1 and self.threshold < math.ceil(self.count_round / 2):
            raise bad(
                "threshold",
                f"must be at least {math.ceil(self.count_round / 2)} when counts are rounded to "
                f"{self.count_round}: smaller counts would be published as 0, which must mean none",
                self.threshold,
                (
                    "raise ",
                    opt("threshold", math.ceil(self.count_round / 2)),
                    " or lower ",
                    opt("count_round", 1),
                ),
            )
        if not (np.isfinite(self.estimate_round) and self.estimate_round >= 0):
            raise bad(
                "estimate_round",
                "must be 0 or more",
                self.estimate_round,
                ("give ", opt("estimate_round", 10)),
            )
        if self.rate_decimals is not None and (not _is_int(self.rate_decimals) or self.rate_decimals < 0):
            raise bad(
                "rate_decimals",
                "must be a whole number, 0 or more",
                self.rate_decimals,
                ("give ", opt("rate_decimals", 3)),
            )
        if not _is_int(self.min_base) or self.min_base < 0:
            raise bad(
                "min_base", "must be a whole number, 0 or more", self.min_base, ("give ", opt("min_base", 50))
            )
        if self.protection is not None and (not _is_int(self.protection) or self.protection < 1):
            raise bad(
                "protection",
                "must be a whole number, 1 or more",
                self.protection,
                ("give ", opt("protection", 8), " or leave it out (the threshold)"),
            )

    @property
    def width(self) -> int:
        """The protection width every primary cell's feasible range must reach."""
        return int(self.threshold if self.protection is None else self.protection)

    def interval(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The true counts a published (rounded, non-zero) ``value`` can stand for: [lo, hi]."""
        b = int(self.count_round)
        v = np.asarray(value, dtype=float)
        return np.maximum(v - b // 2, self.threshold), v + (b - 1) // 2

    def record(self) -> dict[str, Any]:
        """The rules as a JSON-ready dict (for a run manifest)."""
        return {**asdict(self), "protection": self.width, "source": RULE_SOURCE}


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def round_half_up(v: np.ndarray, base: float) -> np.ndarray:
    """``v`` rounded to the nearest multiple of ``base``, halves up (``base`` 0 or 1 on integers: as is)."""
    v = np.asarray(v, dtype=float)
    if base <= 0:
        return v
    return np.floor(v / base + 0.5) * base


def _small(v: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    return (v >= 1) & (v < rules.threshold)


# ------------------------------------------------------------------------------ primary only
def protect_counts(
    frame: pd.DataFrame, columns: Sequence[str], rules: DisclosureRules | None = None
) -> pd.DataFrame:
    """A copy of ``frame`` with each count column protected cell by cell: 1..threshold−1 missing,
    others rounded to ``count_round`` (nullable ``Int64``). For tables published without totals
    (each cell stands alone, so no cell can be recomputed): with margins use :func:`protect_table`."""
    rules = rules or DisclosureRules()
    out = frame.copy()
    for col in columns:
        v = _counts(frame, col)
        rounded = round_half_up(v, rules.count_round).astype("int64")
        out[col] = pd.array(rounded, dtype="Int64")
        out.loc[_small(v, rules), col] = pd.NA
    return out


def _counts(frame: pd.DataFrame, col: str) -> np.ndarray:
    """The column as whole non-negative numbers, or an error naming the rows."""
    if col not in frame.columns:
        raise CarepopError(
            f"There is no column {col!r}.",
            code="unknown_column",
            column=col,
            expected=[str(c) for c in frame.columns],
            fix=("name the count column with ", opt("count", metavar="COL")),
        )
    raw = frame[col]
    v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for mask, what, code in (
        (~np.isfinite(v), "must be numbers (no empty cells)", "not_a_count"),
        (np.isfinite(v) & (v < 0), "cannot be negative", "negative_count"),
        (np.isfinite(v) & (v != np.round(v)), "must be whole numbers", "not_a_count"),
    ):
        if mask.any():
            raise CarepopError(
                f"The counts in {col!r} {what}.",
                code=code,
                column=col,
                rows=data_rows(mask),
                got=raw.to_numpy()[mask][0],
                expected="a whole number, 0 or more",
                fix="give each cell's count of people (unweighted, exact)",
            )
    return v


# ------------------------------------------------------------------------------ survey estimates
@dataclass(frozen=True)
class ProtectedEstimates(TableResult):
    """A measure's table as it may be published, and what was done to it (``record``)."""

    table: pd.DataFrame
    record: dict[str, Any] = field(default_factory=dict)


def protect_estimates(
    table: pd.DataFrame,
    *,
    totals: Sequence[str] = (),
    rates: Sequence[str] = (),
    counts: Sequence[str] = (),
    base: str | None = "n",
    rules: DisclosureRules | None = None,
) -> ProtectedEstimates:
    """Apply the rules to a measure's table (one row per area or domain).

    ``totals`` (weighted estimates of people, their interval bounds) are rounded to
    ``estimate_round``; ``rates`` to ``rate_decimals``; ``counts`` (exact counts of people) as
    :func:`protect_counts`. A row whose unweighted ``base`` is below ``min_base`` has all of them
    blanked, and the column ``status`` says ``published`` or ``base below N``. The base column
    itself (respondents, not people in the population) is kept.
    """
    rules = rules or DisclosureRules()
    named = [*totals, *rates, *counts, *([base] if base else [])]
    missing = [c for c in named if c not in table.columns]
    if missing:
        raise CarepopError(
            f"The table has no column {missing[0]!r}.",
            code="unknown_column",
            column=missing[0],
            expected=[str(c) for c in table.columns],
        )
    if "status" in table.columns:
        raise CarepopError(
            "The table already has a column 'status'.",
            code="duplicate_column",
            column="status",
            fix="rename it: the protected table adds its own",
        )
    out = protect_counts(table, counts, rules)
    for col in totals:
        out[col] = round_half_up(table[col].to_numpy(dtype=float), rules.estimate_round)
    for col in rates:
        v = table[col].to_numpy(dtype=float)
        out[col] = (
            v
            if rules.rate_decimals is None  # halves up, then the nearest double (no 0.28800000000000003)
            else np.round(round_half_up(v, 10.0**-rules.rate_decimals), rules.rate_decimals)
        )
    low = np.zeros(len(table), dtype=bool)
    if base is not None:
        n = pd.to_numeric(table[base], errors="coerce").to_numpy(dtype=float)
        low = ~(n >= rules.min_base)
        for col in (*totals, *rates, *counts):
            out.loc[low, col] = pd.NA if col in counts else np.nan
    out["status"] = np.where(low, f"base below {rules.min_base}", PUBLISHED)
    record = {
        **rules.record(),
        "rows": len(table),
        "rows_suppressed_low_base": int(low.sum()),
        "totals": list(totals),
        "rates": list(rates),
        "counts": list(counts),
        "base": base,
    }
    return ProtectedEstimates(table=out, record=record)


# ------------------------------------------------------------------------------ the table of counts
@dataclass(frozen=True)
class _Dim:
    levels: tuple[str, ...]  # columns, top level first
    member: sparse.csr_matrix  # (nodes, categories) 0/1: the categories a node adds up
    labels: np.ndarray  # (nodes, levels) object
    parent: np.ndarray  # (nodes,) the parent node, −1 for the root


@dataclass(frozen=True)
class CountTable:
    """Inner cells and every margin of a table of counts (see :func:`count_table`).

    ``cells``: one row per published cell, the ``by`` columns (``Total`` in a margin), ``count``
    (exact), ``inner`` (an inner cell, not a margin); ``A`` (cells × non-zero inner cells) gives each
    cell as a sum of the non-zero inner cells ``x``; ``relations`` (relations × cells) the additive
    relations (a parent and its children along one dimension)."""

    by: tuple[tuple[str, ...], ...]
    cells: pd.DataFrame
    A: sparse.csr_matrix
    x: np.ndarray
    relations: sparse.csr_matrix

    @property
    def columns(self) -> list[str]:
        return [c for d in self.by for c in d]

    @property
    def exact_lp(self) -> bool:
        """True when the LP bounds are the integer bounds (module docstring)."""
        nested = sum(len(d) > 1 for d in self.by)
        return len(self.by) == 1 or (len(self.by) == 2 and nested <= 1)


def _by(by: str | Sequence[str | Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    items = [by] if isinstance(by, str) else list(by)
    dims = tuple((d,) if isinstance(d, str) else tuple(d) for d in items)
    flat = [c for d in dims for c in d]
    if not dims or not all(dims) or len(set(flat)) < len(flat):
        raise CarepopError(
            "Name each dimension of the table once.",
            code="bad_by",
            got=[list(d) for d in dims],
            fix=("give ", opt("by", metavar="A,B"), " with distinct columns (region/la for a nesting)"),
        )
    return dims


def _dimension(frame: pd.DataFrame, levels: tuple[str, ...]) -> tuple[_Dim, np.ndarray]:
    """One dimension's nodes (root, then each level's categories) and each row's category."""
    cols = [frame[c].astype(str).to_numpy() for c in levels]
    for j in range(1, len(levels)):
        parents = pd.Series(cols[j - 1]).groupby(cols[j]).nunique()
        if (parents > 1).any():
            child = parents.index[parents.to_numpy() > 1][0]
            raise CarepopError(
                f"{levels[j]} {child!r} is under more than one {levels[j - 1]}: the levels of a "
                "nested dimension must each sit in one category above.",
                code="not_nested",
                column=levels[j],
                rows=data_rows(cols[j] == child),
                fix=(
                    "fix the lookup, or cross the columns with ",
                    opt("by", metavar="A,B"),
                    " instead of nesting them",
                ),
            )
    key = pd.MultiIndex.from_arrays(cols) if len(cols) > 1 else pd.Index(cols[0])
    cat_of_row, cats = pd.factorize(key, sort=True)
    n_cat, k = len(cats), len(levels)
    paths = np.column_stack([np.asarray(cats.get_level_values(i), dtype=object) for i in range(k)])
    rows_m, cols_m = [np.zeros(n_cat, int)], [np.arange(n_cat)]  # the root adds up every category
    labels, parent = [np.full((1, k), TOTAL, dtype=object)], [np.array([-1])]
    prev_code = np.zeros(n_cat, int)  # each category's node at the level above (the root)
    offset = 1
    for j in range(1, k + 1):  # the levels of the dimension, top first
        code = np.unique(paths[:, :j].astype(str), axis=0, return_inverse=True)[1].ravel()
        first = np.unique(code, return_index=True)[1]  # a category under each node at this level
        rows_m.append(offset + code)
        cols_m.append(np.arange(n_cat))
        lab = np.full((len(first), k), TOTAL, dtype=object)
        lab[:, :j] = paths[first, :j]
        labels.append(lab)
        parent.append(prev_code[first])
        prev_code = offset + code
        offset += len(first)
    r, c = np.concatenate(rows_m), np.concatenate(cols_m)
    member = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(offset, n_cat))
    return _Dim(levels, member, np.vstack(labels), np.concatenate(parent)), cat_of_row


def count_table(data: pd.DataFrame, count: str, by: str | Sequence[str | Sequence[str]]) -> CountTable:
    """The inner cells (one row of ``data`` per combination of the ``by`` categories, with its
    ``count``) and every margin. A nested dimension is a tuple of columns, top level first
    (``[("region", "la"), "sex"]``: councils within regions within England, crossed with sex).
    A combination not in ``data`` is a zero the attacker is assumed to know (the safe side)."""
    dims = _by(by)
    if len(data) == 0:
        raise CarepopError("The table has no cells.", code="empty_table", fix="give one row per cell")
    for col in (c for d in dims for c in d):
        if col not in data.columns:
            raise CarepopError(
                f"There is no column {col!r}.",
                code="unknown_column",
                column=col,
                expected=[str(c) for c in data.columns],
                fix=("name the table's category columns with ", opt("by", metavar="A,B")),
            )
        values = data[col].astype(str)
        bad = (values == TOTAL).to_numpy() | data[col].isna().to_numpy()
        if bad.any():
            raise CarepopError(
                f"The column {col!r} has an empty category or one called {TOTAL!r} (the label of a margin).",
                code="reserved_category",
                column=col,
                rows=data_rows(bad),
                fix="give every cell a category, and rename a category called Total",
            )
    v = _counts(data, count)
    built = [_dimension(data, d) for d in dims]
    shape = [b[0].member.shape[1] for b in built]
    inner = np.ravel_multi_index([b[1] for b in built], shape)
    dup = pd.Series(inner).duplicated(keep=False).to_numpy()
    if dup.any():
        raise CarepopError(
            "A cell is given more than once: each combination of the by columns must be one row.",
            code="duplicate_cell",
            rows=data_rows(dup),
            got=[str(data[c].iloc[int(np.flatnonzero(dup)[0])]) for d in dims for c in d],
            fix="add up the counts of the repeated rows first",
        )
    A = built[0][0].member
    for b in built[1:]:
        A = sparse.kron(A, b[0].member, format="csr")
    A = A[:, inner].tocsr()  # cells of the full product × given inner cells (data order)
    keep = np.flatnonzero(A.getnnz(axis=1) > 0)
    A = A[keep]
    t = A @ v
    node_shape = [b[0].member.shape[0] for b in built]
    idx = np.unravel_index(keep, node_shape)
    cells = pd.DataFrame(
        {
            c: b[0].labels[idx[k], i]
            for k, (b, d) in enumerate(zip(built, dims, strict=True))
            for i, c in enumerate(d)
        }
    )
    cells["count"] = t.astype("int64")
    is_inner = np.ones(len(keep), dtype=bool)
    for k, b in enumerate(built):
        is_inner &= b[0].member[idx[k]].getnnz(axis=1) == 1
        is_inner &= np.asarray(b[0].labels[idx[k], -1] != TOTAL)
    cells["inner"] = is_inner
    nz = v > 0
    return CountTable(dims, cells, A[:, nz].tocsr(), v[nz], _relations(built, keep, node_shape))


def _relations(built: list, keep: np.ndarray, node_shape: list[int]) -> sparse.csr_matrix:
    """(relations × kept cells): for each dimension and each node with children, the node and its
    children, at every combination of the other dimensions' nodes."""
    blocks = []
    for k, (dim, _) in enumerate(built):
        internal = np.unique(dim.parent[dim.parent >= 0])
        members = np.flatnonzero(dim.parent >= 0)
        r = np.concatenate([np.searchsorted(internal, dim.parent[members]), np.arange(len(internal))])
        c = np.concatenate([members, internal])
        rel = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(internal), node_shape[k]))
        block = sparse.identity(1, format="csr")
        for j, n in enumerate(node_shape):
            block = sparse.kron(block, rel if j == k else sparse.identity(n, format="csr"), format="csr")
        blocks.append(block)
    R = sparse.vstack(blocks, format="csr")[:, keep]
    return R[R.getnnz(axis=1) > 0].tocsr()


# ------------------------------------------------------------------------------ suppression
def _published(table: CountTable, rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's published value and the interval of true counts it stands for."""
    t = table.cells["count"].to_numpy(dtype=float)
    v = round_half_up(t, rules.count_round)
    lo, hi = rules.interval(v)
    zero = t == 0
    return v, np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)


def suppress(table: CountTable, rules: DisclosureRules | None = None, *, cost: str = "value") -> np.ndarray:
    """Each cell's status: ``primary`` (a count 1..threshold−1), ``secondary`` (complementary, so
    that the audit holds) or ``published`` (module docstring, steps 1 and 2)."""
    rules = rules or DisclosureRules()
    if cost not in ("value", "count"):
        raise CarepopError(
            "cost must be 'value' or 'count'.",
            code="bad_option",
            got=cost,
            fix=("give ", opt("cost", "value")),
        )
    t = table.cells["count"].to_numpy(dtype=float)
    primary = _small(t, rules)
    s = primary.copy()
    weight = t if cost == "value" else np.ones_like(t)
    if s.any():
        s = _two_per_relation(table.relations, s, t > 0, weight)
        integer = not table.exact_lp
        for _ in range(50):  # rounds of audit and repair; each round adds patterns
            ranges = _ranges(table, s, rules, integer=integer, only=primary)
            short = primary & (ranges[:, 1] - ranges[:, 0] < rules.width - 1e-6)
            if not short.any():
                break
            for cell in np.flatnonzero(short):
                s |= _pattern(table, s, int(cell), rules, weight, integer)
        else:  # pragma: no cover - each pattern protects its cell
            raise RuntimeError("secondary suppression did not converge")
    return np.where(primary, PRIMARY, np.where(s, SECONDARY, PUBLISHED))


def _two_per_relation(
    R: sparse.csr_matrix, s: np.ndarray, eligible: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Step 1: a second suppression in every relation with exactly one (vectorised per pass)."""
    s = s.copy()
    coo = R.tocoo()
    while True:
        lone = (R @ s.astype(float)) == 1
        pick = lone[coo.row] & eligible[coo.col] & ~s[coo.col]
        if not pick.any():
            return s
        rel, cell = coo.row[pick], coo.col[pick]
        order = np.lexsort((cell, weight[cell], rel))
        first = np.unique(rel[order], return_index=True)[1]
        s[cell[order][first]] = True


def _pattern(
    table: CountTable, s: np.ndarray, cell: int, rules: DisclosureRules, weight: np.ndarray, integer: bool
) -> np.ndarray:
    """Step 2: the cells to suppress so that ``cell`` can move up by the protection width."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    A, x = table.A, table.x
    t = table.cells["count"].to_numpy(dtype=float)
    _, lo, hi = _published(table, rules)
    pub = np.flatnonzero(~s & (t > 0))
    n, m = len(x), len(pub)
    Ap = A[pub]
    eye = sparse.identity(m, format="csr")
    # variables: d (n), f (m), p (m), q (m)
    rows = sparse.vstack(
        [sparse.hstack([Ap, -eye, -eye, eye]), sparse.hstack([A[[cell]], sparse.csr_matrix((1, 3 * m))])],
        format="csr",
    )
    rhs = np.concatenate([np.zeros(m), [rules.width]])
    lower = np.concatenate([1 - x, lo[pub] - t[pub], np.zeros(2 * m)])
    upper = np.concatenate([np.full(n, np.inf), hi[pub] - t[pub], np.full(2 * m, np.inf)])
    c = np.concatenate([np.zeros(n + m), weight[pub], weight[pub]])
    res = milp(
        c,
        constraints=LinearConstraint(rows, rhs, rhs),
        bounds=Bounds(lower, upper),
        integrality=np.concatenate([np.full(n, int(integer)), np.zeros(3 * m, int)]),
    )
    if res.x is None:  # pragma: no cover - moving the cell and all its margins up is always feasible
        raise RuntimeError(f"no protection pattern for cell {cell}: {res.message}")
    moved = res.x[n + 2 * m :] + res.x[n + m : n + 2 * m]
    out = np.zeros(len(t), dtype=bool)
    out[pub[moved > 1e-7]] = True
    return out


# ------------------------------------------------------------------------------ the audit
def _ranges(
    table: CountTable,
    s: np.ndarray,
    rules: DisclosureRules,
    *,
    integer: bool = False,
    only: np.ndarray | None = None,
) -> np.ndarray:
    """(cells, 2): [min, max] of each suppressed cell over the tables the published ones allow
    (NaN for published cells, and for cells not in ``only``): the LP (linprog, HiGHS) and, with
    ``integer``, the integer programme (milp) where the LP bound is finite."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    A, x = table.A, table.x
    n = len(x)
    out = np.full((len(s), 2), np.nan)
    if not s.any():
        return out
    t = table.cells["count"].to_numpy(dtype=float)
    _, lo, hi = _published(table, rules)
    inner = table.cells["inner"].to_numpy()
    fixed = np.flatnonzero(inner & ~s & (t > 0))  # published inner cells: bounds on their variable
    xl, xu = np.ones(n), np.full(n, np.inf)
    var = A[fixed].indices  # one variable per inner cell
    xl[var], xu[var] = lo[fixed], hi[fixed]
    margins = np.flatnonzero(~inner & ~s & (t > 0))
    Am = A[margins]
    lp = {"bounds": np.column_stack([xl, xu]), "method": "highs"}
    if len(margins):
        lp.update(
            A_ub=sparse.vstack([Am, -Am], format="csr"), b_ub=np.concatenate([hi[margins], -lo[margins]])
        )
    for cell in np.flatnonzero(s if only is None else s & only):
        a = A[cell].toarray().ravel()
        for k, sign in enumerate((1.0, -1.0)):
            res = linprog(sign * a, **lp)
            if res.status == 3 and sign < 0:
                out[cell, k] = np.inf
                continue
            if res.status != 0:  # pragma: no cover - the true table is always feasible
                raise RuntimeError(f"audit LP failed for cell {cell}: {res.message}")
            out[cell, k] = sign * res.fun
            if integer:
                res = milp(
                    sign * a,
                    constraints=LinearConstraint(Am, lo[margins], hi[margins]) if len(margins) else None,
                    bounds=Bounds(xl, xu),
                    integrality=np.ones(n),
                )
                if res.status != 0:  # pragma: no cover - bounded, and the true table is feasible
                    raise RuntimeError(f"audit MIP failed for cell {cell}: {res.message}")
                out[cell, k] = sign * res.fun
    return out


def audit(
    table: CountTable,
    status: np.ndarray,
    rules: DisclosureRules | None = None,
    *,
    integer: bool | None = None,
) -> pd.DataFrame:
    """The feasible range of every suppressed cell (module docstring): the ``by`` columns,
    ``status``, ``lower``, ``upper``, ``width``, ``required`` (the protection width for a primary
    cell, 0 for a secondary one) and ``protected``. ``integer`` (default: when the LP is not
    exact for this shape of table) also solves the integer programme and judges by it."""
    rules = rules or DisclosureRules()
    status = np.asarray(status)
    s = status != PUBLISHED
    integer = (not table.exact_lp) if integer is None else integer
    r = _ranges(table, s, rules, integer=integer)
    frame = table.cells.loc[s, table.columns].reset_index(drop=True)
    frame["status"] = status[s]
    frame["lower"], frame["upper"] = r[s, 0], r[s, 1]
    frame["width"] = frame["upper"] - frame["lower"]
    frame["required"] = np.where(status[s] == PRIMARY, rules.width, 0)
    frame["protected"] = frame["width"] >= frame["required"] - 1e-6
    frame = frame.iloc[_order(frame, table.columns)].reset_index(drop=True)
    frame.attrs["method"] = (
        "integer programme (HiGHS milp)" if integer else "linear programme (HiGHS linprog)"
    )
    return frame


# ------------------------------------------------------------------------------ all together
@dataclass(frozen=True)
class ProtectedTable(TableResult):
    """A table of counts with its margins, protected: ``table`` (the ``by`` columns, ``value`` —
    missing when suppressed — and ``status``), ``audit`` (:func:`audit`) and ``record`` (the rules
    applied and what they did, for a run manifest)."""

    table: pd.DataFrame
    audit: pd.DataFrame
    record: dict[str, Any]


def protect_table(
    data: pd.DataFrame,
    count: str,
    by: str | Sequence[str | Sequence[str]],
    *,
    rules: DisclosureRules | None = None,
    cost: str = "value",
    public: bool = False,
) -> ProtectedTable:
    """Protect a table of counts and all its margins: primary suppression, secondary suppression,
    rounding and the LP audit (module docstring). ``public`` writes ``suppressed`` for both kinds
    of suppressed cell (the status to publish: the audit assumes the attacker cannot tell them
    apart); otherwise ``primary`` / ``secondary`` for the producer. ``data`` is not modified."""
    rules = rules or DisclosureRules()
    table = count_table(data, count, by)
    status = suppress(table, rules, cost=cost)
    checked = audit(table, status, rules)
    if not checked["protected"].all():  # pragma: no cover - suppress() repairs until it holds
        raise RuntimeError("the audit found an unprotected cell")
    v, _, _ = _published(table, rules)
    frame = table.cells[table.columns].copy()
    frame["value"] = pd.array(np.where(status == PUBLISHED, v, 0).astype("int64"), dtype="Int64")
    frame.loc[status != PUBLISHED, "value"] = pd.NA
    frame["status"] = np.where(public & (status != PUBLISHED), "suppressed", status)
    order = _order(frame, table.columns)
    frame = frame.iloc[order].reset_index(drop=True)
    record = {
        **rules.record(),
        "cost": cost,
        "cells": len(frame),
        "primary": int((status == PRIMARY).sum()),
        "secondary": int((status == SECONDARY).sum()),
        "audit": checked.attrs["method"],
        "min_width": float(checked.loc[checked["status"] == PRIMARY, "width"].min())
        if (status == PRIMARY).any()
        else None,
    }
    return ProtectedTable(table=frame, audit=checked, record=record)


def _order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Rows sorted by their labels, a margin after the categories it adds up."""
    keys = []
    for c in reversed(columns):
        col = frame[c].astype(str)
        keys += [col.to_numpy(), (col == TOTAL).to_numpy()]
    return np.lexsort(keys)


def rules_from(values: Mapping[str, Any] | None) -> DisclosureRules:
    """Rules from a mapping (a config section); unknown names are an error."""
    values = dict(values or {})
    known = set(DisclosureRules.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise CarepopError(
            f"Unknown disclosure rule {unknown[0]!r}.",
            code="bad_rule",
            got=unknown[0],
            expected=sorted(known),
        )
    return DisclosureRules(**values)
