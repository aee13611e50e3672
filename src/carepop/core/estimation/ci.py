"""Confidence intervals.

- ``wald``: ``est ± z se`` — R ``confint(svymean(...))`` (``df = Inf``).
- ``t``: ``est ± t_{df} se`` with the design degrees of freedom — R ``confint(..., df=degf(design))``.
- ``logit``: for a proportion, a Wald interval on the logit scale, back-transformed,
  ``expit(logit(p) ± t_{df} se_logit)`` — R ``svyciprop(method="logit")`` (which uses
  ``df = degf(design)``); ``se_logit = se / (p (1-p))`` for Taylor designs, the replicate SE
  of the replicates' logits for replicate designs (as R's ``svyglm`` gives each).
- ``beta``: Korn–Graubard: with the effective sample size
  ``n* = p(1-p)/var * (t_{n-1, a/2} / t_{df, a/2})^2``,
  ``(qbeta(a/2, n* p, n*(1-p)+1), qbeta(1-a/2, n* p+1, n*(1-p)))`` — R ``svyciprop(method="beta")``.
- ``wilson``: Wilson's score interval with the effective sample size ``n* = p(1-p)/var`` and the
  critical value ``t_{df}`` in place of ``z`` (the "modified Wilson" of design-based practice; R
  ``survey`` has no Wilson method). With ``df = Inf`` it equals ``statsmodels``'
  ``proportion_confint(p n*, n*, method="wilson")``.

The quantiles come from :mod:`scipy.special` (imported on first use, so ``import carepop`` and the
command line's ``--help`` do not pay for it), through :func:`norm_ppf`, :func:`t_ppf` and
:func:`beta_ppf`: the very functions ``scipy.stats.norm.ppf``, ``t.ppf`` and ``beta.ppf`` call,
with their handling of bad arguments and of ``q`` = 0 or 1, so the numbers are those of
``scipy.stats`` to the bit (``tests/test_startup.py`` checks it over a wide grid) without the
half second ``import scipy.stats`` takes.
"""

from __future__ import annotations

import numpy as np


def _quantile(kernel, q, shapes: tuple, lower: float, upper: float) -> np.ndarray:
    """``kernel(q, *shapes)`` where every shape is > 0 and ``0 < q < 1``; at ``q`` = 0 (1) the lower
    (upper) end of the support; NaN elsewhere: what ``rv_continuous.ppf`` of :mod:`scipy.stats` does
    around its ``_ppf`` (with loc 0 and scale 1)."""
    q = np.asarray(q, dtype=float)
    shapes = tuple(np.asarray(s, dtype=float) for s in shapes)
    valid = np.ones(np.broadcast_shapes(q.shape, *(s.shape for s in shapes)), dtype=bool)
    for s in shapes:
        valid &= s > 0
    with np.errstate(invalid="ignore"):
        x = kernel(q, *shapes)
    out = np.where(valid & (0 < q) & (q < 1), x * 1.0 + 0.0, np.nan)  # as scipy: x * scale + loc
    out = np.where(valid & (q == 0), lower, out)
    return np.where(valid & (q == 1), upper, out)


def norm_ppf(q) -> np.ndarray:
    """The standard normal quantile, as ``scipy.stats.norm.ppf`` (``scipy.special.ndtri``)."""
    from scipy.special import ndtri

    return _quantile(ndtri, q, (), -np.inf, np.inf)


def t_ppf(q, df) -> np.ndarray:
    """Student's t quantile, as ``scipy.stats.t.ppf`` (``scipy.special.stdtrit``)."""
    from scipy.special import stdtrit

    return _quantile(lambda q, df: stdtrit(df, q), q, (df,), -np.inf, np.inf)


def beta_ppf(q, a, b) -> np.ndarray:
    """The beta quantile, as ``scipy.stats.beta.ppf`` (Boost's ``ibeta_inv``, which
    ``scipy.special.betaincinv`` wraps)."""
    from scipy.special import betaincinv

    return _quantile(lambda q, a, b: betaincinv(a, b, q), q, (a, b), 0.0, 1.0)


def critical(level: float, df: np.ndarray | float) -> np.ndarray:
    """Two-sided critical value: ``t_{df}(1 - a/2)``, the normal quantile where ``df`` is inf."""
    a = (1 - level) / 2
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(df), norm_ppf(1 - a), t_ppf(1 - a, np.where(np.isinf(df), 1, df)))


def interval(
    method: str,
    est: np.ndarray,
    se: np.ndarray,
    level: float,
    df: np.ndarray,
    n_rows: np.ndarray | None = None,
    se_logit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds for ``method`` (see module docstring).

    ``se_logit`` is the standard error of ``logit(est)`` (default: delta method from ``se``).
    """
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    if method == "wald":
        c = critical(level, np.inf)
        return est - c * se, est + c * se
    if method == "t":
        c = critical(level, df)
        return est - c * se, est + c * se
    if method == "logit":
        return _logit(est, se, level, df, se_logit)
    if method == "beta":
        if n_rows is None:
            raise ValueError("beta interval needs the number of rows")
        return _korn_graubard(est, se, level, df, n_rows)
    if method == "wilson":
        return _wilson(est, se, level, df, n_rows)
    raise ValueError(f"unknown interval method {method!r}")


def _logit(p, se, level, df, se_eta=None):
    c = critical(level, df)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eta = np.log(p / (1 - p))
        if se_eta is None:
            se_eta = se / (p * (1 - p))
        lo = _expit(eta - c * se_eta)
        hi = _expit(eta + c * se_eta)
    edge = (p <= 0) | (p >= 1)
    lo = np.where(edge, p, lo)
    hi = np.where(edge, p, hi)
    return lo, hi


def _expit(x):
    return 1 / (1 + np.exp(-x))


def effective_n(p: np.ndarray, se: np.ndarray, n_rows: np.ndarray | None = None) -> np.ndarray:
    """Effective sample size ``p(1-p)/var`` (Kish).

    Where the estimate is 0 or 1 the variance is zero and ``p(1-p)/var`` is undefined (R returns
    NaN); carepop then uses the unweighted number of rows, the usual convention for an observed
    proportion of 0 or 1, so the interval is still informative.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        neff = p * (1 - p) / se**2
    if n_rows is not None:
        neff = np.where((p <= 0) | (p >= 1), np.asarray(n_rows, dtype=float), neff)
    return neff


def _korn_graubard(p, se, level, df, n_rows):
    a = 1 - level
    neff = effective_n(p, se, n_rows)
    df = np.asarray(df, dtype=float)
    n_rows = np.asarray(n_rows, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        adj = (
            t_ppf(a / 2, n_rows - 1)
            / np.where(np.isinf(df), norm_ppf(a / 2), t_ppf(a / 2, np.where(np.isinf(df), 1, df)))
        ) ** 2
        neff = neff * adj
        lo = beta_ppf(a / 2, neff * p, neff * (1 - p) + 1)
        hi = beta_ppf(1 - a / 2, neff * p + 1, neff * (1 - p))
    # qbeta with a zero first (second) shape parameter is 0 (1)
    lo = np.where(p <= 0, 0.0, lo)
    hi = np.where(p >= 1, 1.0, hi)
    return lo, hi


def _wilson(p, se, level, df, n_rows=None):
    c = critical(level, df)
    n = effective_n(p, se, n_rows)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        centre = (p + c**2 / (2 * n)) / (1 + c**2 / n)
        half = c / (1 + c**2 / n) * np.sqrt(p * (1 - p) / n + c**2 / (4 * n**2))
    return centre - half, centre + half
