"""Quantiles by domain and their Woodruff interval (R ``svyquantile``, survey >= 4.1 defaults).

Point estimate, R's default ``qrule="math"`` (the inverse of the weighted distribution function):
sort the domain's values (zero weights dropped), ``C_k`` the cumulative weights, ``W`` their total;
``k* = max{k : C_k <= p W}`` (1 if none); the quantile is ``x_(k*)`` when ``C_k* / W == p`` exactly,
otherwise ``x_(k*+1)``.

Interval, R's default ``interval.type="mean"`` (Woodruff 1952): estimate ``p_hat``, the mean of
``1{x <= q_hat}``, with its design standard error; ``p_hat ± t_{df} se`` is mapped back through the
same quantile rule; a bound outside [0, 1] gives NaN as in R. The reported standard error is
``(upper - lower) / (2 t_{df})``. ``df`` defaults to the design degrees of freedom of the domain
(R ``df = degf(design)``); ``df = inf`` gives normal quantiles.

Cumulative sums are accumulated in extended precision and rounded, as R's ``cumsum``/``sum`` do,
so the exact-equality test above gives R's answer.
"""

from __future__ import annotations

import numpy as np


class SortedDomains:
    """Values sorted within domains with cumulative weights, for repeated quantile look-ups."""

    def __init__(self, x: np.ndarray, w: np.ndarray, code: np.ndarray, n_domains: int) -> None:
        keep = (code >= 0) & (w != 0)
        idx = np.flatnonzero(keep)
        order = idx[np.lexsort((x[idx], code[idx]))]  # stable: ties keep row order, as R's order()
        self.x = x[order]
        self.code = code[order]
        ws = w[order].astype(np.longdouble)
        cum = np.cumsum(ws)
        counts = np.bincount(self.code, minlength=n_domains)
        self.end = np.cumsum(counts)  # one past the last position of each domain
        self.start = self.end - counts
        before = np.concatenate([[np.longdouble(0)], cum])[self.start]
        self.cum = (cum - before[self.code]).astype(float)
        last = np.maximum(self.end - 1, 0)
        self.total = np.where(counts > 0, (cum[last] - before).astype(float), np.nan)
        self.counts = counts

    def quantile(self, p: np.ndarray) -> np.ndarray:
        """R ``qrule_math`` for a probability per domain (NaN for empty domains or NaN p)."""
        p = np.asarray(p, dtype=float)
        with np.errstate(invalid="ignore"):
            thr = p * self.total
            below = self.cum <= thr[self.code]
        n_below = np.bincount(self.code, weights=below, minlength=len(self.counts)).astype(np.int64)
        pos = self.start + np.maximum(n_below - 1, 0)
        has = self.counts > 0
        pos = np.where(has, pos, 0)
        nxt = np.where(pos + 1 < self.end, pos + 1, pos)
        if self.x.size == 0:
            return np.full(len(self.counts), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            wlow = p - self.cum[pos] / self.total
        q = np.where(wlow == 0, self.x[pos], self.x[nxt])
        return np.where(has & np.isfinite(p), q, np.nan)
