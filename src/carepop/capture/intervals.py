"""Confidence intervals for a population size N = n + f₀ (n observed, f₀ hidden).

- :func:`normal_interval`: N̂ ± z·SE.
- :func:`log_interval`: Chao (1987), the hidden part log-normal: with
  C = exp(z √log(1 + Var(N̂)/f̂₀²)) the interval is [n + f̂₀/C, n + f̂₀·C]; its lower end is never
  below the observed count n. R: ``Rcapture``'s ``closedpCI`` gives profile intervals instead; the
  log interval is what ``SPADE``/``CARE`` (Chao) report.
- :func:`profile_interval`: Cormack (1992): the multinomial profile log-likelihood of N,
  ℓ(N) = −D(N)/2 + c(N) with D(N) the Poisson deviance of the model fitted to all 2^k cells, the
  unobserved one set to f₀ = N − n, and Cormack's correction
  c(N) = f₀ log f₀ − N log N + log N! − log f₀!; the interval is {N : ℓ(N) ≥ max ℓ − χ²₁,₁₋α/2},
  floored at n. R: ``Rcapture::closedpCI.t(..., mX = ...)`` ``$CI`` (which uses Stirling's
  approximation of c(N) when N > 100; here log-gamma exactly).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, stats
from scipy.special import gammaln, xlogy


def z_value(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def normal_interval(estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """N̂ ∓ z_{1−α/2} SE."""
    z = z_value(level)
    return estimate - z * se, estimate + z * se


def log_interval(observed: float, estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """Chao (1987): [n + f̂₀/C, n + f̂₀·C], C = exp(z √log(1 + SE²/f̂₀²)), f̂₀ = N̂ − n."""
    f0 = estimate - observed
    if f0 <= 0:
        return float(observed), float(observed)
    c = np.exp(z_value(level) * np.sqrt(np.log1p(se**2 / f0**2)))
    return float(observed + f0 / c), float(observed + f0 * c)


def cormack_correction(hidden: float, total: float) -> float:
    """c(N) = f₀ log f₀ − N log N + log Γ(N + 1) − log Γ(f₀ + 1)."""
    return float(xlogy(hidden, hidden) - xlogy(total, total) + gammaln(total + 1.0) - gammaln(hidden + 1.0))


def profile_interval(
    observed: float,
    hidden: float,
    deviance_at: Callable[[float], float],
    level: float = 0.95,
) -> tuple[float, float]:
    """Cormack's profile interval (module docstring); ``deviance_at(f0)`` is D with cell 0 = f0."""

    def loglik(f0: float) -> float:
        return -0.5 * deviance_at(f0) + cormack_correction(f0, observed + f0)

    hi = max(4.0 * hidden, hidden + 10.0 * np.sqrt(hidden + 1.0) + 10.0)
    best = optimize.minimize_scalar(
        lambda f: -loglik(f), bounds=(0.0, hi), method="bounded", options={"xatol": 1e-10 * (hidden + 1.0)}
    )
    f_max = float(best.x)
    target = loglik(f_max) - stats.chi2.ppf(level, 1) / 2.0

    def gap(f: float) -> float:
        return loglik(f) - target

    lower = observed if gap(0.0) > 0 else observed + optimize.brentq(gap, 0.0, f_max, xtol=1e-10)
    upper_end = max(hi, 2.0 * f_max + 1.0)
    while gap(upper_end) > 0:
        upper_end *= 2.0
        if upper_end > 1e12:
            return float(lower), float("inf")
    upper = observed + optimize.brentq(gap, f_max, upper_end, xtol=1e-10)
    return float(lower), float(upper)
