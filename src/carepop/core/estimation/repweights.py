"""Replicate weights, kept at the level where they are constant.

A replicate design made from a sampling design gives row ``i`` in replicate ``r`` the weight
``W[i, r] = w_i f[psu(i), r]``: the row's sampling weight times a factor that is constant within
its PSU (or jackknife group). Weighting steps redone in every replicate keep that shape when
their adjustment is constant within cells (post-strata, non-response classes, raking cells):
each multiplies the weights by a factor per (cell, replicate). So in general

    W[i, r] = row_i * prod_k T_k[c_k(i), r]

with ``row`` one number per row, ``c_k`` a code per row and ``T_k`` a small table (levels x
replicates). :class:`FactorWeights` stores exactly that — memory O(n + R * #levels), not n x R —
and :class:`DenseWeights` stores a full matrix (replicate weights supplied with the data, or left
by a step that is not constant within cells, such as trimming or calibration on a numeric
variable).

Both give what estimation needs without forming an n x R matrix:

- :meth:`~ReplicateWeights.domain_totals`: ``sum_{i in d} W[i, r] y_i`` for every replicate,
  domain and variable. For factor weights: one pass over the rows per variable sums ``row_i y_i``
  within (unit, domain) pairs, where a *unit* is a distinct combination of the codes ``c_k``; the
  replicate totals are then the pair sums times the units' factor products, a sparse
  (domains x units) by dense (units x replicates) product;
- :meth:`~ReplicateWeights.domain_gram`: ``sum_{i in d} W_i W_i'`` (replicates x replicates) per
  domain, from which the design degrees of freedom of each domain follow (R ``degf``: the rank
  of the domain's replicate weights, minus one);
- :meth:`~ReplicateWeights.times_cells`: the weights after a step that multiplies them by a row
  factor and a factor per (cell, replicate).

Results equal those of the materialised n x R matrix up to the order of summation.
(scipy.sparse and pandas are imported where they are used, so that carepop starts quickly.)
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from carepop.core.estimation.numerics import finite_sums, readonly

#: at most this many numbers in a (units x replicates) block held at once (64 MiB)
BLOCK = 1 << 23
#: codes whose combined key space is at most this large are counted with bincount; larger ones
#: are hashed (pandas.factorize)
DIRECT_KEYS = 1 << 22


class ReplicateWeights(ABC):
    """Replicate weights of ``n_rows`` rows in ``n_replicates`` replicates (see module docstring)."""

    n_rows: int
    n_replicates: int

    @abstractmethod
    def domain_totals(
        self,
        code: np.ndarray,
        n_domains: int,
        y: np.ndarray | None = None,
        levels: tuple[np.ndarray, int] | None = None,
    ) -> np.ndarray:
        """Replicate totals, shape (R, D, k): ``sum_{i: code_i = d} W[i, r] y[i, j]``.

        ``y`` (n,) or (n, k) values, or a list of (n,) columns where None is a column of ones
        (None: ones); or ``levels=(level_code, L)`` for the L
        indicators of a categorical variable (k = L). Rows with ``code`` (or level) -1 are left
        out.
        """

    @abstractmethod
    def domain_gram(self, code: np.ndarray, n_domains: int, inside: np.ndarray) -> np.ndarray:
        """``sum_{i: code_i = d, inside_i} W_i W_i'`` for every domain, shape (D, R, R)."""

    @abstractmethod
    def column(self, r: int) -> np.ndarray:
        """The weights of replicate ``r`` (0-based), shape (n,)."""

    @abstractmethod
    def materialize(self) -> np.ndarray:
        """The full (n, R) matrix (O(n R) memory: for writing the weights out, or small data)."""

    @abstractmethod
    def times_cells(
        self, codes: np.ndarray, table: np.ndarray, row: np.ndarray | None = None
    ) -> ReplicateWeights:
        """The weights times ``row_i`` (if given) times ``table[codes_i, r]``."""

    def totals(self) -> np.ndarray:
        """Each replicate's total weight, shape (R,)."""
        return self.domain_totals(np.zeros(self.n_rows, dtype=np.int64), 1)[:, 0, 0]

    def abs_totals(self) -> np.ndarray:
        """Each replicate's total absolute weight (for overflow checks), shape (R,)."""
        return self.totals()

    @property
    def is_compact(self) -> bool:
        return False


# ------------------------------------------------------------------------------------- dense
class DenseWeights(ReplicateWeights):
    """A full (n, R) matrix of replicate weights (read-only)."""

    def __init__(self, weights: np.ndarray) -> None:
        w = np.ascontiguousarray(weights, dtype=float)
        if w.ndim != 2:
            raise ValueError("replicate weights must be a (rows, replicates) matrix")
        self.matrix = readonly(w)
        self.n_rows, self.n_replicates = w.shape

    def domain_totals(self, code, n_domains, y=None, levels=None):
        import scipy.sparse as sp

        y = _values(self.n_rows, y, levels)
        k = y.shape[1]
        keep = code >= 0
        rows = (code[keep][:, None] * k + np.arange(k)[None, :]).ravel()
        cols = np.repeat(np.flatnonzero(keep), k)
        M = sp.csr_matrix((y[keep].ravel(), (rows, cols)), shape=(n_domains * k, self.n_rows))
        out = finite_sums(np.asarray(M @ self.matrix), y)  # (D*k, R)
        return out.T.reshape(self.n_replicates, n_domains, k)

    def domain_gram(self, code, n_domains, inside):
        R = self.n_replicates
        out = np.zeros((n_domains, R, R))
        use = inside & (code >= 0)
        order = np.flatnonzero(use)
        order = order[np.argsort(code[order], kind="stable")]
        bounds = np.searchsorted(code[order], np.arange(n_domains + 1))
        W = _scaled(self.matrix[order])
        # one BLAS product per domain over its contiguous block of rows
        for d in np.flatnonzero(np.diff(bounds) > 0):
            block = W[bounds[d] : bounds[d + 1]]
            out[d] = block.T @ block
        return out

    def column(self, r):
        return self.matrix[:, r].copy()

    def materialize(self):
        return self.matrix

    def times_cells(self, codes, table, row=None):
        W = self.matrix * np.asarray(table, dtype=float)[codes]
        if row is not None:
            W = W * np.asarray(row, dtype=float)[:, None]
        return DenseWeights(W)

    def abs_totals(self):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.abs(self.matrix).sum(axis=0)


# ------------------------------------------------------------------------------------ factors
class FactorWeights(ReplicateWeights):
    """``W[i, r] = row_i * prod_k tables[k][codes[k][i], r]`` (see module docstring)."""

    def __init__(self, row: np.ndarray, codes: Sequence[np.ndarray], tables: Sequence[np.ndarray]) -> None:
        self.row = readonly(np.array(row, dtype=float))
        self.codes = tuple(readonly(np.asarray(c, dtype=np.int64)) for c in codes)
        self.tables = tuple(readonly(np.array(t, dtype=float, order="C")) for t in tables)
        if not self.tables:
            raise ValueError("factor weights need at least one table")
        self.n_rows = self.row.shape[0]
        self.n_replicates = self.tables[0].shape[1]
        self._pair_cache: list = []

    @property
    def is_compact(self) -> bool:
        return True

    # the units: distinct combinations of the codes, with their factor products
    @cached_property
    def _units(self) -> tuple[np.ndarray, np.ndarray]:
        """(unit of each row, (U, K) codes of each unit)."""
        return joint_codes(self.codes, [t.shape[0] for t in self.tables])

    @property
    def n_units(self) -> int:
        return int(self._units[1].shape[0])

    def unit_factors(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """``prod_k T_k[code_k(u), r]`` for units ``start:stop``, shape (units, R)."""
        ucodes = self._units[1][start:stop]
        out = self.tables[0][ucodes[:, 0]]
        for k in range(1, len(self.tables)):
            out = out * self.tables[k][ucodes[:, k]]
        return out

    def _unit_blocks(self):
        """(start, stop) of unit blocks small enough to hold their factors at once."""
        U = self.n_units
        step = max(1, BLOCK // max(self.n_replicates, 1))
        return [(a, min(a + step, U)) for a in range(0, U, step)] or [(0, 0)]

    def _pairing(self, code: np.ndarray, n_domains: int, levels: tuple[np.ndarray, int] | None):
        """The (unit, domain) pairs present among the rows with a domain (and level): the pair of
        each row (``n_pairs`` for rows left out), the number of pairs, and each pair's unit and
        domain (domain x level). Cached for the last few domain codings used."""
        import pandas as pd

        lev = None if levels is None else levels[0]
        key = (id(code), n_domains, None if lev is None else id(lev))
        for k, code_ref, lev_ref, value in self._pair_cache:
            if k == key and code_ref() is code and (lev is None or lev_ref() is lev):
                return value
        unit, _ = self._units
        U = self.n_units
        if levels is None:
            dom, D = code, n_domains
        else:
            L = levels[1]
            dom, D = np.where((code >= 0) & (lev >= 0), code * L + lev, -1), n_domains * L
        space = U * D
        valid = dom >= 0
        keyed = unit * D + dom if valid.all() else np.where(valid, unit * D + dom, space)
        if space + 1 <= min(DIRECT_KEYS, 8 * keyed.shape[0] + 4096):
            present = np.flatnonzero(np.bincount(keyed, minlength=space + 1)[:space])
            remap = np.full(space + 1, present.shape[0], dtype=np.int64)
            remap[present] = np.arange(present.shape[0])
            pair = remap[keyed]
        else:
            pair, present = pd.factorize(keyed)
            pair = pair.astype(np.int64)
            dummy = present == space
            if dummy.any():  # put the rows left out last, as pair n_pairs
                d = int(np.flatnonzero(dummy)[0])
                order = np.r_[np.arange(d), np.arange(d + 1, present.shape[0]), d]
                inv = np.empty_like(order)
                inv[order] = np.arange(order.shape[0])
                pair, present = inv[pair], present[order][:-1]
        pair_unit, pair_dom = np.divmod(present.astype(np.int64), D)
        value = (pair, int(present.shape[0]), pair_unit, pair_dom)
        refs = (key, weakref.ref(code), None if lev is None else weakref.ref(lev), value)
        self._pair_cache = [refs, *self._pair_cache[:3]]
        return value

    def domain_totals(self, code, n_domains, y=None, levels=None):
        import scipy.sparse as sp

        pair, P, pair_unit, pair_dom = self._pairing(code, n_domains, levels)
        columns = [None] if levels is not None else _columns(y)
        k = len(columns)
        # one pass per variable: sums of row * y within the (unit, domain) pairs
        A = np.empty((P, k))
        for j, v in enumerate(columns):
            w = self.row if v is None else self.row * v
            A[:, j] = np.bincount(pair, weights=w, minlength=P + 1)[:P]
        finite_sums(A, self.row, *(v for v in columns if v is not None))
        D = n_domains if levels is None else n_domains * levels[1]
        rows = (pair_dom[:, None] * k + np.arange(k)[None, :]).ravel()
        S = sp.csr_matrix((A.ravel(), (rows, np.repeat(pair_unit, k))), shape=(D * k, self.n_units))
        out = np.zeros((D * k, self.n_replicates))
        for a, b in self._unit_blocks():
            out += np.asarray(S[:, a:b] @ self.unit_factors(a, b))
        finite_sums(out, A)
        if levels is not None:
            return out.T.reshape(self.n_replicates, n_domains, levels[1])
        return out.T.reshape(self.n_replicates, n_domains, k)

    def domain_gram(self, code, n_domains, inside):
        import scipy.sparse as sp

        pair, P, pair_unit, pair_dom = self._pairing(code, n_domains, None)
        U, R = self.n_units, self.n_replicates
        w2 = np.where(inside, self.row, 0.0) ** 2
        s = _scaled(np.bincount(pair, weights=w2, minlength=P + 1)[:P])
        # G_d = sum_u s[d, u] M_u M_u': a (domains x units) sparse matrix times the units' outer
        # products, in blocks of units; one power of two scales every unit's factors (exact)
        S = sp.csr_matrix((s, (pair_dom, pair_unit)), shape=(n_domains, U))
        shift = sum(int(np.frexp(max(float(np.max(np.abs(t))), 1e-300))[1]) for t in self.tables)
        out = np.zeros((n_domains, R * R))
        step = max(1, BLOCK // max(R * R, 1))
        for a in range(0, U, step):
            b = min(a + step, U)
            M = np.ldexp(self.unit_factors(a, b), -shift)
            outer = (M[:, :, None] * M[:, None, :]).reshape(b - a, R * R)
            out += np.asarray(S[:, a:b] @ outer)
        return out.reshape(n_domains, R, R)

    def unit_factors_of(self, units: np.ndarray) -> np.ndarray:
        """Factor products of the given units, shape (len(units), R)."""
        ucodes = self._units[1][units]
        out = self.tables[0][ucodes[:, 0]]
        for k in range(1, len(self.tables)):
            out = out * self.tables[k][ucodes[:, k]]
        return out

    def column(self, r):
        out = self.row * self.tables[0][self.codes[0], r]
        for c, t in zip(self.codes[1:], self.tables[1:], strict=True):
            out = out * t[c, r]
        return out

    def materialize(self):
        out = self.row[:, None] * self.tables[0][self.codes[0]]
        for c, t in zip(self.codes[1:], self.tables[1:], strict=True):
            out *= t[c]
        return readonly(out)

    def times_cells(self, codes, table, row=None):
        new_row = self.row if row is None else self.row * np.asarray(row, dtype=float)
        return FactorWeights(new_row, (*self.codes, codes), (*self.tables, table))

    def abs_totals(self):
        unit, _ = self._units
        s = np.bincount(unit, weights=np.abs(self.row), minlength=self.n_units)
        out = np.zeros(self.n_replicates)
        with np.errstate(over="ignore", invalid="ignore"):
            for a, b in self._unit_blocks():
                out += s[a:b] @ np.abs(self.unit_factors(a, b))
        return out


# ------------------------------------------------------------------------------------ helpers
def _columns(y) -> list[np.ndarray | None]:
    """The value columns of ``y``: an (n,) or (n, k) array, a list of (n,) arrays and None (a
    column of ones), or None (one column of ones)."""
    if y is None:
        return [None]
    if isinstance(y, list):
        return [None if v is None else np.asarray(v, dtype=float) for v in y]
    y = np.asarray(y, dtype=float)
    return [y] if y.ndim == 1 else [y[:, j] for j in range(y.shape[1])]


def _values(n: int, y, levels: tuple[np.ndarray, int] | None) -> np.ndarray:
    """The (n, k) values: ``y`` (as :func:`_columns` reads it), the indicators of ``levels``."""
    if levels is not None:
        lev, L = levels
        out = np.zeros((n, L))
        ok = lev >= 0
        out[np.flatnonzero(ok), lev[ok]] = 1.0
        return out
    return np.column_stack([np.ones(n) if v is None else v for v in _columns(y)])


def joint_codes(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Code the combinations of several codes present in the data: (combination of each row,
    (C, K) codes of each combination). Combinations are numbered in sorted order when counted
    directly, in order of first appearance when hashed."""
    n = codes[0].shape[0]
    space = 1
    for s in sizes:
        space *= max(int(s), 1)
    if len(codes) == 1:
        present = np.flatnonzero(np.bincount(codes[0], minlength=sizes[0]))
        remap = np.full(max(int(sizes[0]), 1), -1, dtype=np.int64)
        remap[present] = np.arange(present.shape[0])
        return remap[codes[0]], present[:, None]
    if space < (1 << 62):
        key = np.zeros(n, dtype=np.int64)
        for c, s in zip(codes, sizes, strict=True):
            key = key * int(s) + c
        if space <= min(DIRECT_KEYS, 8 * n + 4096):
            present = np.flatnonzero(np.bincount(key, minlength=space))
            remap = np.full(space, -1, dtype=np.int64)
            remap[present] = np.arange(present.shape[0])
            comb, uniq = remap[key], present
        else:
            import pandas as pd

            comb, uniq = pd.factorize(key)
            comb = comb.astype(np.int64)
        out = np.empty((uniq.shape[0], len(codes)), dtype=np.int64)
        rest = np.asarray(uniq, dtype=np.int64)
        for k in range(len(codes) - 1, -1, -1):
            rest, out[:, k] = np.divmod(rest, int(sizes[k]))
        return comb, out
    # too many combinations for one integer key: combine two codes at a time
    comb, ucodes = joint_codes(codes[:2], sizes[:2])
    for c, s in zip(codes[2:], sizes[2:], strict=True):
        comb, pair = joint_codes([comb, c], [ucodes.shape[0], s])
        ucodes = np.column_stack([ucodes[pair[:, 0]], pair[:, 1]])
    return comb, ucodes


def _scaled(a: np.ndarray) -> np.ndarray:
    """``a`` times a power of two that keeps its largest magnitude near 1 (exact; ranks and
    ratios unchanged; no overflow in cross-products)."""
    if a.size == 0:
        return a
    top = float(np.max(np.abs(a)))
    if top == 0 or not np.isfinite(top):
        return a
    return np.ldexp(a, -int(np.frexp(top)[1]))
