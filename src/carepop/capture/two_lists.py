"""Two lists: the Lincoln–Petersen and Chapman estimators.

With n₁ on list 1, n₂ on list 2 and m on both (Seber 1982, sections 3.1.1–3.1.2):

- Lincoln–Petersen: N̂ = n₁ n₂ / m, Var(N̂) = n₁ n₂ (n₁ − m)(n₂ − m) / m³ (Seber 1982, eq. 3.3).
- Chapman (1951): N̂ = (n₁ + 1)(n₂ + 1)/(m + 1) − 1, nearly unbiased and finite when m = 0, with
  Var(N̂) = (n₁ + 1)(n₂ + 1)(n₁ − m)(n₂ − m) / ((m + 1)²(m + 2)) (Seber 1970; Wittes 1972).

Intervals: normal, or the log-transformed interval of Chao (1987) whose lower end is the observed
count n = n₁ + n₂ − m at least (:mod:`carepop.capture.intervals`).

R equivalent: ``Rcapture`` has no Petersen estimator; ``FSA::mrClosed(M, n, m, method =
"Petersen"|"Chapman")`` (its ``summary(..., incl.SE = TRUE)``) gives the same numbers.
"""

from __future__ import annotations

from carepop.capture.intervals import log_interval, normal_interval
from carepop.capture.results import CLOSED, INDEPENDENCE, MATCHING, CaptureEstimate
from carepop.capture.table import CaptureTable
from carepop.core.vocabulary import CaptureInterval, choose
from carepop.errors import ModelError, opt


def lincoln_petersen_estimate(n1: float, n2: float, m: float) -> tuple[float, float]:
    """(N̂, Var N̂) = (n₁n₂/m, n₁n₂(n₁ − m)(n₂ − m)/m³)."""
    if m <= 0:
        raise ModelError(
            "Lincoln–Petersen needs at least one person on both lists (it divides by their number).",
            code="no_recaptures",
            got=m,
            fix=("use Chapman's estimator: ", opt("method", "chapman")),
        )
    return n1 * n2 / m, n1 * n2 * (n1 - m) * (n2 - m) / m**3


def chapman_estimate(n1: float, n2: float, m: float) -> tuple[float, float]:
    """(N̂, Var N̂) = ((n₁+1)(n₂+1)/(m+1) − 1, (n₁+1)(n₂+1)(n₁−m)(n₂−m)/((m+1)²(m+2)))."""
    return (
        (n1 + 1) * (n2 + 1) / (m + 1) - 1,
        (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2)),
    )


def _margins(table: CaptureTable) -> tuple[float, float, float]:
    if table.k != 2:
        raise ModelError(
            f"The two-list estimators take exactly two lists; got {table.k}.",
            code="not_two_lists",
            got=list(table.lists),
            fix="use a log-linear model (method='loglinear') for three or more lists",
        )
    both, first_only, second_only = table.counts  # patterns 11, 10, 01
    return first_only + both, second_only + both, both


def _result(
    table: CaptureTable, name: str, est: float, var: float, level: float, interval: str
) -> CaptureEstimate:
    how = choose(interval, CaptureInterval, "interval")
    est, se = float(est), float(var) ** 0.5
    n = table.observed
    if how == "normal":
        lo, hi = normal_interval(est, se, level)
    elif how == "log":
        lo, hi = log_interval(n, est, se, level)
    else:
        raise ModelError(
            f"The {name} estimator has normal and log intervals, not {how}.",
            code="bad_option",
            got=how,
            expected=("normal", "log"),
        )
    return CaptureEstimate(
        observed=n,
        hidden=est - n,
        estimate=est,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        model=name,
        aic=None,
        bic=None,
        assumptions=(CLOSED, INDEPENDENCE, MATCHING),
        method=name.lower(),
        interval=how,
        level=level,
    )


def lincoln_petersen(table: CaptureTable, *, level: float = 0.95, interval: str = "log") -> CaptureEstimate:
    """Lincoln–Petersen estimate from a two-list table (module docstring)."""
    n1, n2, m = _margins(table)
    est, var = lincoln_petersen_estimate(n1, n2, m)
    return _result(table, "Lincoln-Petersen", est, var, level, interval)


def chapman(table: CaptureTable, *, level: float = 0.95, interval: str = "log") -> CaptureEstimate:
    """Chapman's estimate from a two-list table (module docstring)."""
    n1, n2, m = _margins(table)
    est, var = chapman_estimate(n1, n2, m)
    return _result(table, "Chapman", est, var, level, interval)
