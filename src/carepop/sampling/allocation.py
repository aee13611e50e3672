"""Allocation of a total sample ``n`` over strata, and the precision it is expected to give.

Methods (``W_h = N_h / N``; Cochran 1977, *Sampling Techniques*, 3rd ed., ch. 5; Lohr 2022, *Sampling:
Design and Analysis*, 3rd ed., section 3.4):

* ``"proportional"``: ``n_h = n N_h / N``;
* ``"equal"``: ``n_h = n / H``;
* ``"neyman"``: ``n_h = n N_h S_h / sum_k N_k S_k`` (Cochran eq. 5.26);
* ``"optimal"``: ``n_h = n (N_h S_h / sqrt(c_h)) / sum_k (N_k S_k / sqrt(c_k))`` (Cochran eq. 5.25, fixed
  total ``n``);
* ``"power"``: ``n_h = n S_h N_h^q / sum_k S_k N_k^q`` with ``q = power`` -- Bankier's power allocation
  (Bankier 1988, *The American Statistician* 42, 174-177) with size measure ``X_h = N_h`` and the
  stratum coefficient of variation taken proportional to ``S_h``; ``q = 1`` is Neyman, ``q = 0`` gives
  sizes that equalise the precision of the stratum estimates. Without ``S_h`` all ``S_h = 1``.

Instead of a fixed ``n`` (Cochran 1977, section 5.5; R ``PracTools::strAlloc``):

* ``budget = C``: the largest sample whose variable cost ``sum_h c_h n_h`` is ``C``. With ``n_h = lambda a_h``
  (``a_h`` the method's weights above), ``lambda = C / sum_h a_h c_h``; for ``"optimal"`` this is
  ``n_h = C (N_h S_h / sqrt(c_h)) / sum_k N_k S_k sqrt(c_k)`` (``strAlloc(alloc = "totcost")``);
* ``target_se = e``: the smallest sample whose stratified mean has standard error ``e``:
  ``sum_h W_h^2 S_h^2 (1 / n_h - 1 / N_h) = e^2`` gives
  ``lambda = sum_h (W_h^2 S_h^2 / a_h) / (e^2 + sum_h W_h^2 S_h^2 / N_h)`` (``strAlloc(alloc = "totvar")``
  with ``V0 = e^2``; a target CV is ``e = CV0 * ybar_U``).

When bounds bind, ``lambda`` is found by bisection on the clipped allocation. The integer allocation
is then the smallest total whose rounded allocation meets the SE target, or the largest whose cost
stays within the budget; ``n_h_exact`` keeps the continuous optimum.

Bounds: each ``n_h`` is kept in ``[lo_h, hi_h]`` with ``lo_h = min(min_n, N_h)`` and
``hi_h = min(max_n, N_h)``. The constrained allocation is ``n_h = clip(lambda a_h, lo_h, hi_h)`` with
``lambda`` chosen so that ``sum n_h = n``; this is the fixed point of the usual procedure of fixing the
strata that cross a bound at that bound and re-allocating the rest in proportion to ``a_h``.

Rounding: largest remainder (Hamilton) -- floor every ``n_h`` and give the units left over, one each, to
the strata with the largest fractional parts (never above ``hi_h``), so the total is exactly ``n``.

Expected precision (stratified SRSWOR, Cochran eq. 5.6):
``V(ybar_st) = sum_h W_h^2 (1 - n_h / N_h) S_h^2 / n_h``; for a proportion use ``S_h^2 = N_h P_h (1 - P_h) /
(N_h - 1)``. When no ``S_h`` is given the worst-case proportion ``P_h = 0.5`` is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.core.vocabulary import AllocationMethod, choose
from carepop.errors import CarepopError, data_rows, opt

__all__ = ["METHODS", "allocate", "expected_precision", "round_allocation"]

METHODS = AllocationMethod.values()  # the names, from carepop.core.vocabulary


def _as_array(x: Any, name: str, size: int | None = None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(x, dtype=float))
    if size is not None:
        if arr.size == 1:
            arr = np.full(size, float(arr[0]))
        elif arr.size != size:
            raise CarepopError(
                f"{name} has {arr.size} values for {size} strata", code="length_mismatch", column=name
            )
    if np.any(~np.isfinite(arr)):
        raise CarepopError(
            f"{name} has missing or infinite values",
            code="missing_values",
            column=name,
            rows=_rows(~np.isfinite(arr)),
        )
    return arr


def _rows(mask: np.ndarray) -> list[int]:
    """1-based numbers of the strata (rows of the stratum table) where ``mask`` holds."""
    mask = np.asarray(mask)
    return data_rows(mask, limit=max(mask.size, 1))


def _check_inputs(N_h: Any, n: int | None, method: str, S_h: Any, cost_h: Any) -> tuple[np.ndarray, ...]:
    method = choose(method, AllocationMethod, "method", "allocation method")
    N = _as_array(N_h, "N_h")
    H = N.size
    if H == 0:
        raise CarepopError("no strata given", code="no_strata")
    if np.any(N <= 0):
        raise CarepopError(
            "a stratum has population size N_h = 0 (or negative)",
            code="empty_stratum",
            column="N_h",
            rows=_rows(N <= 0),
            fix="drop empty strata from the frame or merge them with a neighbour",
        )
    if np.any(N != np.round(N)):
        raise CarepopError(
            "stratum sizes N_h must be whole numbers",
            code="invalid_population",
            column="N_h",
            rows=_rows(N != np.round(N)),
        )
    if n is not None and (int(n) != n or n < 0):
        raise CarepopError(f"sample size n must be a non-negative whole number, got {n}", code="invalid_n")
    if n is not None and n > N.sum():
        raise CarepopError(
            f"sample size {int(n)} is larger than the population {int(N.sum())}",
            code="n_exceeds_population",
            fix=("reduce ", opt("n", metavar="N"), " (n = sum N_h is a census)"),
        )
    S = None if S_h is None else _as_array(S_h, "S_h", H)
    if S is not None and np.any(S < 0):
        raise CarepopError(
            "stratum standard deviations S_h must be non-negative",
            code="negative_sd",
            column="S_h",
            rows=_rows(S < 0),
        )
    c = None if cost_h is None else _as_array(cost_h, "cost_h", H)
    if c is not None and np.any(c <= 0):
        raise CarepopError(
            "per-unit costs c_h must be positive",
            code="negative_cost",
            column="cost_h",
            rows=_rows(c <= 0),
        )
    if method in ("neyman", "optimal") and S is None:
        raise CarepopError(
            f"{method} allocation needs stratum standard deviations S_h",
            code="missing_sd",
            fix=(
                "give the stratum standard deviations ",
                opt("S_h", metavar="COL"),
                " (e.g. sqrt(P(1-P)) for a proportion)",
            ),
        )
    if method == "optimal" and c is None:
        raise CarepopError(
            "optimal allocation needs per-unit costs c_h",
            code="missing_cost",
            fix=("give the per-unit costs ", opt("cost_h", metavar="COL")),
        )
    return N, S, c


def _weights(
    N: np.ndarray, method: str, S: np.ndarray | None, c: np.ndarray | None, power: float
) -> np.ndarray:
    S1 = np.ones_like(N) if S is None else S
    if method == "proportional":
        return N.copy()
    if method == "equal":
        return np.ones_like(N)
    if method == "neyman":
        return N * S1
    if method == "optimal":
        return N * S1 / np.sqrt(c)  # type: ignore[arg-type]
    return S1 * N**power  # power (Bankier)


def _bounded_continuous(a: np.ndarray, n: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Solve ``sum clip(lambda a_h, lo_h, hi_h) = n`` for ``lambda`` (bisection; monotone in lambda)."""
    pos = a > 0
    # strata with a_h = 0 stay at lo_h unless the others cannot absorb n; then they share the rest ~ hi_h
    if lo.sum() + (hi[pos] - lo[pos]).sum() < n - 1e-9:
        x = np.where(pos, hi, lo).astype(float)
        rest = n - x.sum()
        x[~pos] += _bounded_continuous(hi[~pos] - lo[~pos], rest, np.zeros((~pos).sum()), hi[~pos] - lo[~pos])
        return x
    if not pos.any():
        return lo.astype(float)

    def total(lam: float) -> float:
        return float(np.clip(lam * a, lo, hi).sum())

    lo_lam, hi_lam = 0.0, 1.0
    while total(hi_lam) < n:
        hi_lam *= 2.0
    for _ in range(200):
        mid = (lo_lam + hi_lam) / 2
        if total(mid) < n:
            lo_lam = mid
        else:
            hi_lam = mid
    x = np.clip(hi_lam * a, lo, hi)
    # remove the tiny bisection residual from the free strata
    free = (x > lo) & (x < hi)
    if free.any():
        x[free] += (n - x.sum()) * a[free] / a[free].sum()
    return x


def _largest_remainder(x: np.ndarray, n: int, hi: np.ndarray) -> np.ndarray:
    x = np.round(x, 9)
    base = np.floor(x).astype(int)
    left = int(n - base.sum())
    if left > 0:
        frac = np.where(base < hi, x - base, -1.0)
        order = np.argsort(-frac, kind="stable")
        base[order[:left]] += 1
    return base


def _scale(a: np.ndarray, lo: np.ndarray, hi: np.ndarray, closed: float, g, target: float) -> np.ndarray:
    """``clip(lambda a, lo, hi)`` with ``g(clip(lambda a)) = target``, ``g`` increasing in ``lambda``.

    ``closed`` is the unbounded solution; it is used when no bound binds, otherwise bisection."""
    x = closed * a
    if np.all((x >= lo) & (x <= hi)):
        return x
    lam_lo, lam_hi = 0.0, 1.0
    while g(np.clip(lam_hi * a, lo, hi)) < target and lam_hi < 1e300:
        lam_hi *= 2.0
    for _ in range(300):
        mid = (lam_lo + lam_hi) / 2
        if g(np.clip(mid * a, lo, hi)) < target:
            lam_lo = mid
        else:
            lam_hi = mid
    return np.clip(lam_hi * a, lo, hi)


def _variance(N: np.ndarray, S2: np.ndarray, x: np.ndarray) -> float:
    """``sum_h W_h^2 S_h^2 (1/n_h - 1/N_h)`` (Cochran eq. 5.6)."""
    W = N / N.sum()
    with np.errstate(divide="ignore"):
        inv = np.where(x > 0, 1 / np.where(x > 0, x, 1), np.where(S2 > 0, np.inf, 0.0))
    return float(np.sum(W**2 * S2 * (inv - 1 / N)))


def _total_for_target(
    N: np.ndarray,
    S2: np.ndarray,
    c: np.ndarray,
    a: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    budget: float | None,
    target_se: float | None,
) -> tuple[np.ndarray, int]:
    """Continuous optimum for a budget or an SE target, and the integer total to round it to."""
    pos = a > 0
    if budget is not None:
        if budget <= 0 or not np.isfinite(budget):
            raise CarepopError(f"budget must be positive, got {budget}", code="invalid_budget")
        if float(c @ lo) > budget:
            raise CarepopError(
                f"the minimum per stratum costs {float(c @ lo):g}, more than the budget {budget:g}",
                code="infeasible_budget",
                fix=("lower ", opt("min_n", metavar="K"), " or raise ", opt("budget", metavar="C")),
            )
        closed = budget / float(a @ c)
        exact = _scale(a, lo, hi, closed, lambda x: float(c @ x), budget)

        def ok(total: int) -> bool:
            return float(c @ round_allocation(a, total, lo, hi)) <= budget * (1 + 1e-12)

        total = min(int(np.floor(exact.sum() + 1e-9)), int(hi.sum()))
        while total > lo.sum() and not ok(total):
            total -= 1
        return exact, total
    assert target_se is not None
    if target_se <= 0 or not np.isfinite(target_se):
        raise CarepopError(f"the target SE must be positive, got {target_se}", code="invalid_target")
    V = target_se**2
    if _variance(N, S2, hi) > V * (1 + 1e-12):
        raise CarepopError(
            f"the precision target SE = {target_se:g} cannot be met: even the largest sample allowed "
            f"({int(hi.sum())} units) gives SE = {np.sqrt(_variance(N, S2, hi)):g}",
            code="target_not_met",
            fix=(
                "relax the target, raise ",
                opt("max_n", metavar="K"),
                ", or accept a census of the small strata",
            ),
        )
    W = N / N.sum()
    closed = float(np.sum(W[pos] ** 2 * S2[pos] / a[pos])) / (V + float(np.sum(W**2 * S2 / N)))
    exact = _scale(a, lo, hi, closed, lambda x: -_variance(N, S2, x), -V)

    def ok(total: int) -> bool:
        return _variance(N, S2, round_allocation(a, total, lo, hi)) <= V * (1 + 1e-12)

    total = max(int(np.ceil(exact.sum() - 1e-9)), int(lo.sum()))
    while total < hi.sum() and not ok(total):
        total += 1
    return exact, total


def round_allocation(a: np.ndarray, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integer allocation of ``n`` in proportion to ``a`` inside ``[lo, hi]`` (largest remainder)."""
    return _largest_remainder(_bounded_continuous(a, float(n), lo, hi), n, hi.astype(int))


def allocate(
    N_h: Sequence[float] | np.ndarray | pd.Series,
    n: int | None = None,
    method: str = "proportional",
    S_h: Sequence[float] | np.ndarray | pd.Series | None = None,
    cost_h: Sequence[float] | np.ndarray | pd.Series | None = None,
    power: float = 0.5,
    min_n: int | Sequence[int] | None = None,
    max_n: int | Sequence[int] | None = None,
    *,
    strata: Sequence[Any] | None = None,
    budget: float | None = None,
    target_se: float | None = None,
) -> pd.DataFrame:
    """Allocate ``n`` over strata of sizes ``N_h`` (see the module docstring for the formulas).

    Give exactly one of ``n`` (fixed total), ``budget`` (total variable cost, with ``cost_h``) or
    ``target_se`` (SE wanted for the stratified mean; for a proportion pass ``S_h = sqrt(P(1-P))``).

    Returns one row per stratum with ``stratum``, ``N_h``, ``n_h`` (integers summing exactly to ``n``,
    ``lo_h <= n_h <= hi_h <= N_h``), ``n_h_exact`` (the unrounded allocation), ``fraction = n_h / N_h``,
    ``S_h`` used, ``se_h`` (SE of the stratum mean, ``sqrt((1 - f_h) S_h^2 / n_h)``) and ``var_contrib``
    (``W_h^2 (1 - f_h) S_h^2 / n_h``, its share of the variance of the stratified mean). The overall
    SE is in ``df.attrs["se"]``.
    """
    if strata is None and isinstance(N_h, pd.Series):
        strata = list(N_h.index)
    given = [name for name, v in (("n", n), ("budget", budget), ("target_se", target_se)) if v is not None]
    if len(given) != 1:
        raise CarepopError(
            "give exactly one of n, budget or target_se" + (f" (got {', '.join(given)})" if given else ""),
            code="invalid_input",
            fix=(
                "give one of ",
                opt("n", metavar="N"),
                ", ",
                opt("budget", metavar="C"),
                " or ",
                opt("target_se", metavar="E"),
            ),
        )
    if budget is not None and cost_h is None:
        raise CarepopError(
            "a budget needs per-unit costs c_h",
            code="missing_cost",
            fix=("give the per-unit costs ", opt("cost_h", metavar="COL")),
        )
    N, S, c = _check_inputs(N_h, n, method, S_h, cost_h)
    H = N.size
    if power < 0 and method == "power":
        raise CarepopError(f"power must be non-negative, got {power}", code="invalid_power")
    lo = np.zeros(H) if min_n is None else np.minimum(_as_array(min_n, "min_n", H), N)
    hi = N.copy() if max_n is None else np.minimum(_as_array(max_n, "max_n", H), N)
    if np.any(lo < 0) or np.any(hi < 0):
        raise CarepopError("min_n and max_n must be non-negative", code="infeasible_bounds")
    if np.any(lo != np.round(lo)) or np.any(hi != np.round(hi)):
        raise CarepopError("min_n and max_n must be whole numbers", code="infeasible_bounds")
    if np.any(lo > hi):
        raise CarepopError("min_n is larger than max_n", code="infeasible_bounds", rows=_rows(lo > hi))
    a = _weights(N, method, S, c, power)
    S_used = S if S is not None else np.sqrt(N * 0.25 / np.maximum(N - 1, 1))
    if n is None:
        exact, n = _total_for_target(
            N, S_used**2, np.ones(H) if c is None else c, a, lo, hi, budget, target_se
        )
        n_h = round_allocation(a, n, lo, hi)
        return _allocation_frame(N, n_h, exact, S_used, c, strata, method)
    n = int(n)
    if lo.sum() > n:
        raise CarepopError(
            f"the minimum per stratum needs {int(lo.sum())} units but n = {n}",
            code="infeasible_bounds",
            fix=("lower ", opt("min_n", metavar="K"), " or raise ", opt("n", metavar="N")),
        )
    if hi.sum() < n:
        raise CarepopError(
            f"the maximum per stratum allows only {int(hi.sum())} units but n = {n}",
            code="infeasible_bounds",
            fix=("raise ", opt("max_n", metavar="K"), " or lower ", opt("n", metavar="N")),
        )
    exact = _bounded_continuous(a, float(n), lo, hi)
    n_h = _largest_remainder(exact, n, hi.astype(int))
    return _allocation_frame(N, n_h, exact, S_used, c, strata, method)


def _allocation_frame(
    N: np.ndarray,
    n_h: np.ndarray,
    exact: np.ndarray,
    S_used: np.ndarray,
    c: np.ndarray | None,
    strata: Sequence[Any] | None,
    method: str,
) -> pd.DataFrame:
    H = N.size
    prec = expected_precision(N, n_h, S_used)
    df = pd.DataFrame(
        {
            "stratum": list(strata) if strata is not None else list(range(H)),
            "N_h": N.astype(int),
            "n_h": n_h,
            "n_h_exact": exact,
            "fraction": n_h / N,
            "S_h": S_used,
            "se_h": prec["se_h"].to_numpy(),
            "var_contrib": prec["var_contrib"].to_numpy(),
        }
    )
    df.attrs["method"] = method
    df.attrs["n"] = int(n_h.sum())
    df.attrs["se"] = prec.attrs["se"]
    df.attrs["se_exact"] = float(np.sqrt(_variance(N, S_used**2, exact)))
    if c is not None:
        df.attrs["cost"] = float(c @ n_h)
    return df


def expected_precision(
    N_h: Sequence[float] | np.ndarray,
    n_h: Sequence[float] | np.ndarray,
    S_h: Sequence[float] | np.ndarray | None = None,
    *,
    P_h: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Expected SE per stratum and of the stratified mean (or proportion), with fpc.

    ``se_h = sqrt((1 - n_h/N_h) S_h^2 / n_h)``, ``var_contrib_h = W_h^2 se_h^2`` and
    ``SE(ybar_st) = sqrt(sum_h var_contrib_h)`` (Cochran 1977, eq. 5.6). For proportions give ``P_h``:
    ``S_h^2 = N_h P_h (1 - P_h) / (N_h - 1)``. Strata with ``n_h = 0`` (and ``N_h > 0``) make the SE
    infinite. The overall SE is returned in ``attrs["se"]`` and in the row-independent column ``se``.
    """
    N = _as_array(N_h, "N_h")
    nn = _as_array(n_h, "n_h", N.size)
    if np.any(N <= 0):
        raise CarepopError(
            "a stratum has population size N_h = 0",
            code="empty_stratum",
            column="N_h",
            rows=_rows(N <= 0),
        )
    if np.any(nn > N):
        raise CarepopError(
            "a stratum sample is larger than its population",
            code="n_exceeds_population",
            rows=_rows(nn > N),
        )
    if (S_h is None) == (P_h is None):
        raise CarepopError("give exactly one of S_h or P_h", code="invalid_input")
    if P_h is not None:
        P = _as_array(P_h, "P_h", N.size)
        if np.any((P < 0) | (P > 1)):
            raise CarepopError("P_h must be between 0 and 1", code="invalid_proportion", column="P_h")
        S2 = N * P * (1 - P) / np.maximum(N - 1, 1)
    else:
        S = _as_array(S_h, "S_h", N.size)
        if np.any(S < 0):
            raise CarepopError(
                "stratum standard deviations S_h must be non-negative",
                code="negative_sd",
                column="S_h",
                rows=_rows(S < 0),
            )
        S2 = S**2
    W = N / N.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        v_h = np.where(nn > 0, (1 - nn / N) * S2 / np.where(nn > 0, nn, 1), np.where(S2 > 0, np.inf, 0.0))
    contrib = W**2 * v_h
    se = math.sqrt(float(contrib.sum()))
    df = pd.DataFrame({"N_h": N, "n_h": nn, "se_h": np.sqrt(v_h), "var_contrib": contrib, "se": se})
    df.attrs["se"] = se
    return df
