"""Totals, means, proportions and ratios by domain, with Taylor or replicate variance.

All four are functions of domain totals ``T_d(v) = sum_{i in d} w_i v_i``:

- total ``T_d(y)``; influence ``z_i = w_i y_i`` (R ``svytotal``);
- ratio ``R_d = T_d(y) / T_d(x)``; influence ``z_i = w_i (y_i - R_d x_i) / T_d(x)``
  (R ``svyratio``);
- mean = ratio with ``x = 1`` (R ``svymean``); proportion = mean of a 0/1 indicator per level.

Taylor variance (:mod:`carepop.core.estimation.taylor`) needs the influence totals per (unit, domain)
pair, which for a ratio are ``(A - R_d B) / T_d(x)`` with ``A``, ``B`` the pair totals of ``w y``
and ``w x``: so only pair totals are ever formed, never a row-level influence array. Replicate
variance: the same function of replicate totals (:mod:`carepop.core.estimation.replicate`).

Design effect (R ``deff=TRUE``): the design variance over the variance under simple random
sampling without replacement of the same number of units, ``v_srs = s^2 W^2 (W - n)/(W n)`` for
the total of ``r_i = (y_i - R_d x_i)/T_d(x)`` (for a total ``r_i = y_i``), where
``s^2 = n/(n-1) sum w (r - rbar)^2 / W`` is R's ``svyvar``, ``W`` the domain's weight total and
``n`` its rows with non-zero weight.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from carepop.core.estimation.calibration import Calibration
from carepop.core.estimation.numerics import finite_sums
from carepop.core.estimation.replicate import ReplicateDesign, replicate_variance
from carepop.core.estimation.stages import TaylorDesign
from carepop.core.estimation.taylor import (
    DesignPairs,
    PairIndex,
    cell_sums,
    design_pairs,
    pair_totals,
    pair_totals_by_level,
    variance_from_pairs,
)


class Linear(NamedTuple):
    """Estimates of a linear statistic by domain, each (D, k)."""

    est: np.ndarray
    var: np.ndarray
    deff: np.ndarray | None
    logit_var: np.ndarray | None


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
    return finite_sums(out, v)


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
    pairs: DesignPairs | None = None,
    rep: ReplicateDesign | None = None,
    total: bool = False,
    want_deff: bool = False,
    want_logit: bool = False,
    calibration: Calibration | None = None,
) -> Linear:
    """Estimate, variance and (optionally) deff and logit-scale variance, each (D, k).

    ``y`` (n, k) are the values, or ``levels=(level_code, L)`` for the L indicators of a
    categorical variable (y ignored). ``x=None`` with ``total=False`` is a mean (x = 1);
    ``total=True`` a total. Rows with ``code == -1`` are outside every domain (they stay in the
    design as zeros). ``pairs`` are the cached Taylor pair indexes for ``code``'s domains.

    ``want_logit`` adds the variance of ``logit(estimate)`` as R's ``svyciprop(method="logit")``
    gets it from ``svyglm``: the delta method ``var / (p(1-p))^2`` for Taylor designs (exactly
    the sandwich variance of an intercept-only logistic model), and for replicate designs the
    replicate variance of the replicates' logits (svyglm refits each replicate).
    """
    we = np.where(code >= 0, w, 0.0) if (code < 0).any() else w
    if y is not None and y.ndim == 1:
        y = y[:, None]
    if x is not None and x.ndim == 1:
        x = x[:, None]

    logit_var = None
    if rep is not None:
        est, var, thetas = _replicate(rep, we, code, n_domains, y, x, total, levels)
        if want_logit:
            with np.errstate(divide="ignore", invalid="ignore"):
                logit_var = replicate_variance(rep, _logit(thetas), _logit(est))
    else:
        assert taylor is not None
        if pairs is None:
            pairs = design_pairs(taylor, code, n_domains, all_cells=calibration is not None)
        est, var = _taylor(taylor, pairs, we, code, n_domains, y, x, levels, total, calibration)
        if want_logit:
            with np.errstate(divide="ignore", invalid="ignore"):
                logit_var = var / (est * (1 - est)) ** 2

    deff = None
    if want_deff:
        yy = indicators(*levels) if levels is not None else y
        # 0/0 = NaN where a domain has no variation, as R gives
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = var / _srs_variance(we, code, n_domains, yy, x, est, total)
    return Linear(est, var, deff, logit_var)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _taylor(design, pairs: DesignPairs, we, code, D, y, x, levels, total, calibration=None):
    """Pair-level work in (k, P) layout: one contiguous array per variable or level."""
    base = pairs.finest  # the one pass over the rows: totals for the finest (unit, domain) pairs
    if levels is not None:
        A = pair_totals_by_level(base, we, levels[0], levels[1])
    else:
        A = pair_totals(base, (we[:, None] * y).T)
    if total:
        B = None
    elif x is not None:
        B = pair_totals(base, (we[:, None] * x).T)
    elif levels is not None:
        B = A.sum(axis=0, keepdims=True)  # weight of the rows that have a level
    else:
        B = pair_totals(base, we)
    A1 = pairs.to_stage1(A)
    B1 = None if B is None else pairs.to_stage1(B)
    p1 = pairs.p1
    Ty = cell_sums(p1.pair_domain, A1, D)
    if total:
        est, T1, T2 = Ty, A1, (A if pairs.p2 is not None else None)
    else:
        Tx = cell_sums(p1.pair_domain, B1, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Ty / Tx
            inv = 1.0 / Tx

        def influence(p: PairIndex, A_: np.ndarray, B_: np.ndarray) -> np.ndarray:
            d = p.pair_domain
            out = np.empty_like(A_)
            for j in range(A_.shape[0]):
                b = B_[j if B_.shape[0] > 1 else 0]
                i = inv[j if inv.shape[0] > 1 else 0]
                out[j] = (A_[j] - est[j][d] * b) * i[d]
            return out

        # a domain whose denominator total is 0 has an infinite or NaN ratio (as R): its
        # influence values are NaN, and so is its variance
        with np.errstate(invalid="ignore"):
            T1 = influence(p1, A1, B1)
            T2 = influence(pairs.p2, A, B) if pairs.p2 is not None else None
    gammas = None
    if calibration is not None:
        gammas = _calibration_gammas(
            calibration, we, code, D, y, x, levels, total, est, Tx if not total else None
        )
    var = variance_from_pairs(design, pairs, T1, T2, code, D, calibration, gammas)
    return est.T, var.T


def _calibration_gammas(calibration, we, code, D, y, x, levels, total, est, Tx):
    """``G_d`` of the calibration steps for the influence of each domain's estimate."""
    if levels is not None:
        num = indicators(*levels).T * we
    else:
        num = (we[:, None] * y).T
    hy = calibration.domain_hx(code, D, num)
    if total:
        return calibration.gammas(hy)
    den = (
        (we[:, None] * x).T
        if x is not None
        else (num.sum(axis=0, keepdims=True) if levels is not None else we[None, :])
    )
    hxd = calibration.domain_hx(code, D, den)
    with np.errstate(divide="ignore", invalid="ignore"):
        hx = [(a - est[:, None, :] * b) / Tx[:, None, :] for a, b in zip(hy, hxd, strict=True)]
    return calibration.gammas(hx)


def _replicate(rep, we, code, D, y, x, total, levels=None):
    """Full-sample and replicate estimates (one pass over the rows per variable for each), and
    the replicate variance. A categorical variable's levels are counted without forming their
    n x L indicator matrix."""
    store = rep.store
    if levels is not None:
        lev, L = levels
        keep = (code >= 0) & (lev >= 0)
        Ty = np.bincount((code * L + lev)[keep], weights=we[keep], minlength=D * L).reshape(D, L)
        finite_sums(Ty, we)
        Ry = store.domain_totals(code, D, levels=levels)
    elif total:
        Ty = domain_sums(code, D, we[:, None] * y)
        Ry = store.domain_totals(code, D, y)
    else:
        # numerator and denominator together (one coding of the domains for both)
        k = y.shape[1]
        cols = [y[:, j] for j in range(k)] + ([None] if x is None else [x[:, j] for j in range(x.shape[1])])
        T = np.column_stack([domain_sums(code, D, we if c is None else we * c) for c in cols])
        Rb = store.domain_totals(code, D, cols)
        Ty, Tx, Ry, Rx = T[:, :k], T[:, k:], Rb[:, :, :k], Rb[:, :, k:]
    if total:
        est, thetas = Ty, Ry
    else:
        if levels is not None and x is None:
            # the denominator of a proportion: the weight of the rows that have a level
            Tx, Rx = Ty.sum(axis=1, keepdims=True), Ry.sum(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Ty / Tx
            thetas = Ry / Rx
    return est, replicate_variance(rep, thetas, est), thetas


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
