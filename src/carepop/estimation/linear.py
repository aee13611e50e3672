"""Totals, means, proportions and ratios by domain, with Taylor or replicate variance.

All four are functions of domain totals ``T_d(v) = sum_{i in d} w_i v_i``:

- total ``T_d(y)``; influence ``z_i = w_i y_i`` (R ``svytotal``);
- ratio ``R_d = T_d(y) / T_d(x)``; influence ``z_i = w_i (y_i - R_d x_i) / T_d(x)``
  (R ``svyratio``);
- mean = ratio with ``x = 1`` (R ``svymean``); proportion = mean of a 0/1 indicator per level.

Taylor variance (:mod:`carepop.estimation.taylor`) needs the influence totals per (unit, domain)
pair, which for a ratio are ``(A - R_d B) / T_d(x)`` with ``A``, ``B`` the pair totals of ``w y``
and ``w x``: so only pair totals are ever formed, never a row-level influence array. Replicate
variance: the same function of replicate totals (:mod:`carepop.estimation.replicate`).

Design effect (R ``deff=TRUE``): the design variance over the variance under simple random
sampling without replacement of the same number of units, ``v_srs = s^2 W^2 (W - n)/(W n)`` for
the total of ``r_i = (y_i - R_d x_i)/T_d(x)`` (for a total ``r_i = y_i``), where
``s^2 = n/(n-1) sum w (r - rbar)^2 / W`` is R's ``svyvar``, ``W`` the domain's weight total and
``n`` its rows with non-zero weight.
"""

from __future__ import annotations

import numpy as np

from carepop.estimation.replicate import ReplicateDesign, replicate_sums, replicate_variance
from carepop.estimation.stages import TaylorDesign
from carepop.estimation.taylor import (
    PairIndex,
    cell_sums,
    pair_index,
    pair_totals,
    pair_totals_by_level,
    variance_from_pairs,
)


def domain_sums(code: np.ndarray, n_domains: int, values: np.ndarray) -> np.ndarray:
    """(D, k) sums of each column of ``values`` over rows of each domain (code -1 ignored)."""
    if values.ndim == 1:
        values = values[:, None]
    keep = code >= 0
    c = code[keep] if not keep.all() else code
    v = values[keep] if not keep.all() else values
    out = np.empty((n_domains, v.shape[1]))
    for j in range(v.shape[1]):
        out[:, j] = np.bincount(c, weights=v[:, j], minlength=n_domains)
    return out


def taylor_pairs(
    design: TaylorDesign, code: np.ndarray, n_domains: int
) -> tuple[PairIndex, PairIndex | None]:
    """Pair indexes for the stages that enter the variance."""
    p1 = pair_index(design.stage1, design.stage1.unit, code, n_domains)
    p2 = None
    if design.stage2 is not None and design.stage1.sampling_fraction is not None:
        p2 = pair_index(design.stage2, design.stage2.unit, code, n_domains)
    return p1, p2


def indicators(level: np.ndarray, n_levels: int) -> np.ndarray:
    """(n, L) 0/1 matrix of a level code (-1: all zero)."""
    y = np.zeros((level.shape[0], n_levels))
    ok = level >= 0
    y[np.flatnonzero(ok), level[ok]] = 1.0
    return y


def ratio_estimate(
    w: np.ndarray,
    code: np.ndarray,
    n_domains: int,
    y: np.ndarray | None,
    x: np.ndarray | None = None,
    *,
    levels: tuple[np.ndarray, int] | None = None,
    taylor: TaylorDesign | None = None,
    pairs: tuple[PairIndex, PairIndex | None] | None = None,
    rep: ReplicateDesign | None = None,
    total: bool = False,
    want_deff: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Estimate, variance and (optionally) deff, each (D, k).

    ``y`` (n, k) are the values, or ``levels=(level_code, L)`` for the L indicators of a
    categorical variable (y ignored). ``x=None`` with ``total=False`` is a mean (x = 1);
    ``total=True`` a total. Rows with ``code == -1`` are outside every domain (they stay in the
    design as zeros). ``pairs`` are the cached Taylor pair indexes for ``code``'s domains.
    """
    inside = code >= 0
    we = np.where(inside, w, 0.0)
    if y is not None and y.ndim == 1:
        y = y[:, None]
    if x is not None and x.ndim == 1:
        x = x[:, None]

    if rep is not None:
        yy = indicators(*levels) if levels is not None else y
        est, var = _replicate(rep, we, code, n_domains, yy, x, total)
    else:
        assert taylor is not None
        p1, p2 = pairs if pairs is not None else taylor_pairs(taylor, code, n_domains)
        est, var = _taylor(taylor, p1, p2, we, code, n_domains, y, x, levels, total)

    deff = None
    if want_deff:
        yy = indicators(*levels) if levels is not None else y
        deff = var / _srs_variance(we, code, n_domains, yy, x, est, total)
    return est, var, deff


def _taylor(design, p1, p2, we, code, D, y, x, levels, total):
    def num(p: PairIndex) -> np.ndarray:
        if levels is not None:
            return pair_totals_by_level(p, we, levels[0], levels[1])
        return pair_totals(p, we[:, None] * y)

    def den(p: PairIndex, A: np.ndarray) -> np.ndarray:
        if x is not None:
            return pair_totals(p, we[:, None] * x)
        if levels is not None:
            return (A @ np.ones(A.shape[1]))[:, None]  # weight of the rows that have a level
        return pair_totals(p, we)

    def by_domain(p: PairIndex, A: np.ndarray) -> np.ndarray:
        return cell_sums(p.pair_domain, A, D)

    A1 = num(p1)
    Ty = by_domain(p1, A1)
    if total:
        est, T1 = Ty, A1
        T2 = num(p2) if p2 is not None else None
    else:
        B1 = den(p1, A1)
        Tx = by_domain(p1, B1)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Ty / Tx

            def influence(p: PairIndex, A: np.ndarray, B: np.ndarray) -> np.ndarray:
                d = p.pair_domain
                return (A - est[d] * B) / Tx[d]

            T1 = influence(p1, A1, B1)
            T2 = None
            if p2 is not None:
                A2 = num(p2)
                T2 = influence(p2, A2, den(p2, A2))
    var = variance_from_pairs(design, p1, p2, T1, T2, code, D)
    return est, var


def _replicate(rep, we, code, D, y, x, total):
    Ty = domain_sums(code, D, we[:, None] * y)
    Ry = replicate_sums(rep, code, D, y)
    if total:
        est, thetas = Ty, Ry
    else:
        xx = np.ones((len(we), 1)) if x is None else x
        Tx = domain_sums(code, D, we[:, None] * xx)
        Rx = replicate_sums(rep, code, D, xx)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Ty / Tx
            thetas = Ry / Rx
    return est, replicate_variance(rep, thetas, est)


def _srs_variance(we, code, D, y, x, est, total) -> np.ndarray:
    """``svyvar(r) * W^2 * (W - n)/(W n)`` per domain (see module docstring)."""
    inside = code >= 0
    gi = np.where(inside, code, 0)
    if total:
        r = y
    else:
        xx = 1.0 if x is None else x
        Tx = domain_sums(code, D, we[:, None] * (np.ones((len(we), 1)) if x is None else x))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (y - est[gi] * xx) / Tx[gi]
    r = np.where(inside[:, None], r, 0.0)
    W = domain_sums(code, D, we)[:, 0]
    n = np.bincount(code[inside & (we != 0)], minlength=D).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rbar = domain_sums(code, D, we[:, None] * r) / W[:, None]
        dev = np.where(inside[:, None], r - rbar[gi], 0.0)
        ss = domain_sums(code, D, we[:, None] * dev**2)
        s2 = (n / (n - 1))[:, None] * ss / W[:, None]
        v = s2 * (W**2 * (W - n) / (W * n))[:, None]
    # weights summing to less than the sample size: R gives NA (weights not scaled to a population)
    v[W < n] = np.nan
    return v
