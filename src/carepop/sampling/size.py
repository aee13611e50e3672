"""Sample sizes for a proportion or a mean, and the precision a given sample achieves.

Formulas (simple random sampling without replacement, Cochran 1977, *Sampling Techniques*, 3rd ed.,
sections 4.4-4.6):

* infinite-population size  ``n0 = z^2 * V * deff / e^2`` with ``V = p(1-p)`` for a proportion or
  ``V = sd^2`` for a mean, ``z`` the two-sided normal quantile for ``level`` and ``e`` the margin of
  error (absolute; ``e = moe * p`` or ``e = moe * mean`` when ``relative``);
* finite-population correction, the standard Cochran form ``n = n0 / (1 + (n0 - 1) / N)``;
* questionnaires to issue ``issued = ceil(respondents / response_rate)``.

The Survey of Adult Carers in England guidance example (N = 1,000, 95%, +/-5 points, p = 0.5, 40%
response) gives ``n0 = 384.1``, ``n = 277.7 -> 278`` returns and ``278 / 0.4 = 695`` questionnaires.

A design effect may be given directly (``deff``) or from an intra-cluster correlation,
``deff = 1 + (m - 1) * icc`` (Kish 1965, section 5.4); when both are given they are multiplied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt

__all__ = [
    "deff_from_icc",
    "z_value",
    "sample_size_proportion",
    "sample_size_mean",
    "sample_size_domains",
    "precision",
    "precision_mean",
]

_EPS = 1e-9


def z_value(level: float) -> float:
    """Two-sided normal quantile ``z = Phi^{-1}(1 - (1 - level) / 2)`` (1.959964 for 95%)."""
    if not (0 < level < 1):
        raise CarepopError(
            f"confidence level must be between 0 and 1, got {level}",
            code="invalid_level",
            fix=("give ", opt("level", metavar="L"), " as a fraction, e.g. 0.95"),
        )
    from carepop.core.estimation.ci import norm_ppf

    return float(norm_ppf(1 - (1 - level) / 2))


def deff_from_icc(icc: float, cluster_size: float) -> float:
    """Design effect of cluster sampling, ``deff = 1 + (m - 1) * icc`` (Kish 1965)."""
    if not (-1 < icc <= 1):
        raise CarepopError(f"icc must be in (-1, 1], got {icc}", code="invalid_icc")
    if cluster_size < 1:
        raise CarepopError(
            f"cluster size must be at least 1, got {cluster_size}", code="invalid_cluster_size"
        )
    d = 1 + (cluster_size - 1) * icc
    if d <= 0:
        raise CarepopError(
            f"icc {icc} with cluster size {cluster_size} gives deff {d} <= 0", code="invalid_icc"
        )
    return float(d)


def _check_common(
    moe: Any, deff: float, response_rate: float, icc: float | None, cluster_size: float | None
) -> float:
    if np.any(np.asarray(moe, dtype=float) <= 0):
        raise CarepopError(
            f"margin of error must be positive, got {moe}",
            code="invalid_moe",
            fix=("give ", opt("moe", metavar="M"), " as a fraction, e.g. 0.05 for +/-5 percentage points"),
        )
    if deff <= 0:
        raise CarepopError(
            f"design effect must be positive, got {deff}",
            code="invalid_deff",
            fix=("give ", opt("deff", metavar="D"), " > 0 (1 for simple random sampling)"),
        )
    if not (0 < response_rate <= 1):
        raise CarepopError(
            f"response rate must be in (0, 1], got {response_rate}",
            code="invalid_response_rate",
            fix=("give ", opt("response_rate", metavar="R"), " as a fraction, e.g. 0.4 for 40%"),
        )
    if (icc is None) != (cluster_size is None):
        raise CarepopError("icc and cluster_size must be given together", code="invalid_icc")
    if icc is not None:
        deff = deff * deff_from_icc(icc, cluster_size)  # type: ignore[arg-type]
    return float(deff)


def _check_population(population: Any) -> np.ndarray | None:
    if population is None:
        return None
    pop = np.asarray(population, dtype=float)
    if np.any(~np.isfinite(pop)) or np.any(pop < 1):
        raise CarepopError(
            f"population size must be a positive number, got {population}",
            code="invalid_population",
            fix=("give ", opt("population", metavar="N"), " >= 1, or leave it out for a large population"),
        )
    return pop


def _ceil(x: np.ndarray) -> np.ndarray:
    # guard against 278.0000000001 from floating point
    return np.ceil(np.asarray(x, dtype=float) - _EPS).astype(int)


def _finish(n0: np.ndarray, pop: np.ndarray | None, response_rate: float) -> dict[str, np.ndarray]:
    n = n0 if pop is None else n0 / (1 + (n0 - 1) / pop)
    respondents = _ceil(n)
    if pop is not None:
        respondents = np.minimum(respondents, pop.astype(int))
    issued = _ceil(respondents / response_rate)
    if pop is not None and np.any(issued > pop + _EPS):
        bad = np.flatnonzero(np.broadcast_to(issued > pop + _EPS, issued.shape)).tolist()
        raise CarepopError(
            "the precision target cannot be met: questionnaires to issue exceed the population "
            f"(issued {np.atleast_1d(issued)[bad].tolist()} vs population "
            f"{np.atleast_1d(np.broadcast_to(pop, issued.shape))[bad].tolist()})",
            code="target_unreachable",
            rows=[b + 1 for b in bad] if np.ndim(issued) else None,
            fix="relax the margin of error, raise the expected response rate, or run a census",
        )
    return {"n0": n0, "n": n, "respondents": respondents, "issued": issued}


def _proportion_n0(p: np.ndarray, moe: np.ndarray, relative: bool, z: float, deff: float) -> np.ndarray:
    if np.any((p <= 0) | (p >= 1)):
        raise CarepopError(
            f"proportion must be strictly between 0 and 1, got {p.tolist()}",
            code="invalid_proportion",
            fix=(
                "give ",
                opt("proportion", metavar="P"),
                " strictly between 0 and 1; 0.5 when unknown (the most conservative)",
            ),
        )
    e = moe * p if relative else moe
    if not relative and np.any(e >= 1):
        raise CarepopError(f"absolute margin of error must be below 1, got {moe}", code="invalid_moe")
    return z**2 * p * (1 - p) * deff / e**2


def sample_size_proportion(
    p: float,
    moe: float,
    *,
    relative: bool = False,
    level: float = 0.95,
    population: float | None = None,
    deff: float = 1.0,
    response_rate: float = 1.0,
    icc: float | None = None,
    cluster_size: float | None = None,
) -> dict[str, Any]:
    """Respondents and questionnaires needed to estimate a proportion to +/- ``moe``.

    ``n0 = z^2 p (1 - p) deff / e^2`` with ``e = moe`` (or ``moe * p`` when ``relative``); with a finite
    population ``N`` the standard Cochran finite-population form ``n = n0 / (1 + (n0 - 1) / N)``
    (Cochran 1977, eq. 4.2); ``respondents = ceil(n)``, ``issued = ceil(respondents / response_rate)``.

    Example (SACE guidance): ``sample_size_proportion(0.5, 0.05, population=1000, response_rate=0.4)``
    gives 278 respondents and 695 issued.
    """
    deff = _check_common(moe, deff, response_rate, icc, cluster_size)
    z = z_value(level)
    pop = _check_population(population)
    n0 = _proportion_n0(np.asarray(p, dtype=float), np.asarray(moe, dtype=float), relative, z, deff)
    out = _finish(n0, pop, response_rate)
    return {
        "respondents": int(out["respondents"]),
        "issued": int(out["issued"]),
        "n0": float(n0),
        "n": float(out["n"]),
        "p": float(p),
        "moe": float(moe),
        "relative": bool(relative),
        "level": float(level),
        "z": z,
        "population": None if population is None else float(population),
        "deff": deff,
        "response_rate": float(response_rate),
    }


def sample_size_mean(
    sd: float,
    moe: float,
    *,
    relative: bool = False,
    mean: float | None = None,
    level: float = 0.95,
    population: float | None = None,
    deff: float = 1.0,
    response_rate: float = 1.0,
    icc: float | None = None,
    cluster_size: float | None = None,
) -> dict[str, Any]:
    """Respondents and questionnaires needed to estimate a mean to +/- ``moe``.

    ``n0 = z^2 sd^2 deff / e^2`` with ``e = moe`` (or ``moe * mean`` when ``relative``, so ``moe`` is a
    target coefficient of variation times z); finite population: ``n = n0 / (1 + (n0 - 1) / N)``.
    """
    deff = _check_common(moe, deff, response_rate, icc, cluster_size)
    if sd <= 0:
        raise CarepopError(f"standard deviation must be positive, got {sd}", code="invalid_sd")
    if relative:
        if mean is None or mean == 0:
            raise CarepopError(
                "a relative margin of error for a mean needs a non-zero mean",
                code="invalid_mean",
                fix=("give the anticipated ", opt("mean", metavar="M"), " or use an absolute margin"),
            )
        e = moe * abs(mean)
    else:
        e = moe
    z = z_value(level)
    pop = _check_population(population)
    n0 = np.asarray(z**2 * sd**2 * deff / e**2, dtype=float)
    out = _finish(n0, pop, response_rate)
    return {
        "respondents": int(out["respondents"]),
        "issued": int(out["issued"]),
        "n0": float(n0),
        "n": float(out["n"]),
        "sd": float(sd),
        "mean": None if mean is None else float(mean),
        "moe": float(moe),
        "relative": bool(relative),
        "level": float(level),
        "z": z,
        "population": None if population is None else float(population),
        "deff": deff,
        "response_rate": float(response_rate),
    }


def sample_size_domains(
    p: float | Sequence[float] | np.ndarray,
    moe: float | Sequence[float] | np.ndarray,
    population: Sequence[float] | np.ndarray,
    *,
    domains: Sequence[Any] | None = None,
    relative: bool = False,
    level: float = 0.95,
    deff: float = 1.0,
    response_rate: float = 1.0,
    icc: float | None = None,
    cluster_size: float | None = None,
) -> pd.DataFrame:
    """Per-domain (e.g. per local authority) sizes for a proportion, vectorised, plus a total row.

    Each domain ``d`` is sized separately with the same formulas as :func:`sample_size_proportion`:
    ``n0_d = z^2 p_d (1 - p_d) deff / e_d^2``, ``n_d = n0_d / (1 + (n0_d - 1) / N_d)``. The ``"Total"``
    row sums populations, respondents and issued questionnaires.
    """
    deff = _check_common(moe, deff, response_rate, icc, cluster_size)
    z = z_value(level)
    pop = _check_population(population)
    assert pop is not None
    pop = np.atleast_1d(pop)
    p_arr = np.broadcast_to(np.asarray(p, dtype=float), pop.shape).astype(float)
    moe_arr = np.broadcast_to(np.asarray(moe, dtype=float), pop.shape).astype(float)
    n0 = _proportion_n0(p_arr, moe_arr, relative, z, deff)
    out = _finish(n0, pop, response_rate)
    names = list(domains) if domains is not None else list(range(len(pop)))
    if len(names) != len(pop):
        raise CarepopError(f"{len(names)} domain names for {len(pop)} populations", code="length_mismatch")
    df = pd.DataFrame(
        {
            "domain": names,
            "population": pop,
            "p": p_arr,
            "moe": moe_arr,
            "n0": n0,
            "respondents": out["respondents"],
            "issued": out["issued"],
        }
    )
    total = {
        "domain": "Total",
        "population": pop.sum(),
        "p": np.nan,
        "moe": np.nan,
        "n0": np.nan,
        "respondents": int(df["respondents"].sum()),
        "issued": int(df["issued"].sum()),
    }
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def _fpc_factor(n: np.ndarray, pop: np.ndarray | None) -> np.ndarray:
    if pop is None:
        return np.ones_like(n)
    if np.any(n > pop + _EPS):
        raise CarepopError(
            f"sample size {n.tolist()} is larger than the population {pop.tolist()}",
            code="n_exceeds_population",
        )
    return (pop - n) / (pop - 1)


def precision(
    n: float,
    p: float,
    *,
    relative: bool = False,
    level: float = 0.95,
    population: float | None = None,
    deff: float = 1.0,
) -> float:
    """Margin of error achieved by ``n`` respondents for a proportion ``p`` (inverse of the size formula).

    Inverting ``n = n0 / (1 + (n0 - 1) / N)`` gives ``n0 = n (N - 1) / (N - n)``, so
    ``e = z sqrt(p (1 - p) deff (N - n) / (n (N - 1)))`` (``(N - n)/(N - 1)`` is dropped without ``N``).
    With ``relative`` the result is ``e / p``.
    """
    if n <= 0:
        raise CarepopError(f"sample size must be positive, got {n}", code="invalid_n")
    if not (0 < p < 1):
        raise CarepopError(f"proportion must be strictly between 0 and 1, got {p}", code="invalid_proportion")
    if deff <= 0:
        raise CarepopError(
            f"design effect must be positive, got {deff}",
            code="invalid_deff",
            fix=("give ", opt("deff", metavar="D"), " > 0 (1 for simple random sampling)"),
        )
    z = z_value(level)
    pop = _check_population(population)
    nn = np.asarray(n, dtype=float)
    f = _fpc_factor(nn, pop) if pop is None or pop > 1 else np.zeros_like(nn)
    e = float(z * math.sqrt(p * (1 - p) * deff * float(f) / n))
    return e / p if relative else e


def precision_mean(
    n: float,
    sd: float,
    *,
    level: float = 0.95,
    population: float | None = None,
    deff: float = 1.0,
) -> float:
    """Margin of error for a mean: ``e = z sqrt(sd^2 deff (N - n) / (n (N - 1)))``."""
    if n <= 0:
        raise CarepopError(f"sample size must be positive, got {n}", code="invalid_n")
    if sd < 0:
        raise CarepopError(f"standard deviation must be non-negative, got {sd}", code="invalid_sd")
    z = z_value(level)
    pop = _check_population(population)
    nn = np.asarray(n, dtype=float)
    f = _fpc_factor(nn, pop) if pop is None or pop > 1 else np.zeros_like(nn)
    return float(z * math.sqrt(sd**2 * deff * float(f) / n))
