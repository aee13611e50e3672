"""Totals, means, proportions and ratios by domain, with Taylor or replicate variance.

All four are functions of domain totals ``T_d(v) = sum_{i in d} w_i v_i``:

- total ``T_d(y)``; influence ``z_i = w_i y_i`` (R ``svytotal``);
- ratio ``R_d = T_d(y) / T_d(x)``; influence ``z_i = w_i (y_i - R_d x_i) / T_d(x)`` (R ``svyratio``);
- mean = ratio with ``x = 1`` (R ``svymean``); proportion = mean of a 0/1 indicator per level.

Taylor variance: :func:`carepop.estimation.taylor.taylor_variance` of the influence values.
Replicate variance: the same function of replicate totals, :func:`replicate_variance`.

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
from carepop.estimation.taylor import taylor_variance


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


def ratio_estimate(
    w: np.ndarray,
    code: np.ndarray,
    n_domains: int,
    y: np.ndarray,
    x: np.ndarray | None,
    *,
    taylor: TaylorDesign | None,
    rep: ReplicateDesign | None,
    total: bool = False,
    want_deff: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Estimate, variance and (optionally) deff, each (D, k).

    ``x=None`` with ``total=False`` is a mean (x = 1); ``total=True`` a total of ``y``.
    Rows with ``code == -1`` are outside every domain (they stay in the design as zeros).
    """
    if y.ndim == 1:
        y = y[:, None]
    inside = code >= 0
    wy = np.where(inside[:, None], w[:, None] * y, 0.0)
    Ty = domain_sums(code, n_domains, wy)
    if total:
        est = Ty
        Tx = None
    else:
        if x is None:
            Tx = domain_sums(code, n_domains, w)  # (D, 1)
        else:
            if x.ndim == 1:
                x = x[:, None]
            Tx = domain_sums(code, n_domains, np.where(inside[:, None], w[:, None] * x, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Ty / Tx

    gi = np.where(inside, code, 0)
    if total:
        resid = y
    else:
        xx = 1.0 if x is None else x
        resid = y - est[gi] * xx
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = resid / Tx[gi]
    resid = np.where(inside[:, None], resid, 0.0)

    if rep is not None:
        Ry = replicate_sums(rep, code, n_domains, y)
        if total:
            thetas = Ry
        else:
            Rx = replicate_sums(rep, code, n_domains, np.ones(len(w)) if x is None else x)
            with np.errstate(divide="ignore", invalid="ignore"):
                thetas = Ry / Rx
        var = replicate_variance(rep, thetas, est)
    else:
        assert taylor is not None
        var = taylor_variance(taylor, w[:, None] * resid, code, n_domains)

    deff = None
    if want_deff:
        deff = var / _srs_variance(w, code, n_domains, resid)
    return est, var, deff


def _srs_variance(w: np.ndarray, code: np.ndarray, n_domains: int, r: np.ndarray) -> np.ndarray:
    """``svyvar(r) * W^2 * (W - n)/(W n)`` per domain (see module docstring)."""
    inside = code >= 0
    W = domain_sums(code, n_domains, np.where(inside, w, 0.0))[:, 0]
    n = np.bincount(code[inside & (w != 0)], minlength=n_domains).astype(float)
    gi = np.where(inside, code, 0)
    wr = np.where(inside[:, None], w[:, None] * r, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rbar = domain_sums(code, n_domains, wr) / W[:, None]
        dev = np.where(inside[:, None], r - rbar[gi], 0.0)
        ss = domain_sums(code, n_domains, w[:, None] * dev**2)
        s2 = (n / (n - 1))[:, None] * ss / W[:, None]
        v = s2 * (W**2 * (W - n) / (W * n))[:, None]
    # weights that sum to less than the sample size: R gives NA (weights not scaled to the population)
    v[W < n] = np.nan
    return v
