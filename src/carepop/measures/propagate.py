"""Uncertainty of sums, differences, products and ratios of estimates from several sources.

Every measure that combines estimates (a survey count minus a register count, recipients × a
share × a rate, a projection's rate × population) uses the same few rules, vectorised over areas:
each input is a :class:`Source` — an estimate per area with its standard error (0: treated as
known; or an interval, turned into an SE as ``(U − L) / (2 z)``) — and, optionally, the
covariance between two inputs.

**Delta method** (first order): for ``θ = f(x₁, …, x_k)`` with gradient ``g`` at the estimates and
covariance ``Σ`` of the inputs, ``var θ̂ ≈ g' Σ g``. For the four operations

- sum ``Σ xᵢ``: ``g = 1`` (exact, not an approximation); difference ``a − b``: ``g = (1, −1)``;
- product ``Π xᵢ``: ``gᵢ = Π_{l≠i} x_l``, i.e. ``var ≈ θ² Σᵢ var xᵢ / xᵢ²`` when independent;
- ratio ``a / b``: ``g = (1/b, −a/b²)``.

**Exact variance of a product of independent estimates** (Goodman 1960, *JASA* 55, 708–713):
``var(Π xᵢ) = Π (μᵢ² + σᵢ²) − Π μᵢ²``; for two factors ``a² var b + b² var a + var a var b``.
Estimated by plugging in the estimates (Goodman's unbiased version subtracts the last term
instead; the plug-in is used here, as most published calculations do). Only for independent factors.

**Parametric bootstrap** (seeded): ``B`` draws of every input for every area at once (a
``B × M × k`` array), normal — jointly normal with the given covariances — or lognormal for
positive quantities (moments matched: ``s² = log(1 + σ²/μ²)``, ``m = log μ − s²/2``, covariances
``log(1 + σ_ab/(μ_a μ_b))`` on the log scale); the operation applied to each draw; the SE is the
draws' standard deviation and the interval their percentiles. The estimate stays the plug-in one.

Intervals from the delta method are normal, ``θ̂ ± z SE`` (or ``θ̂ ± t_df SE`` given degrees of
freedom, as for a survey estimate from a small sample). Every :class:`Propagated` result
records the inputs treated as known (SE 0 in every area) and the method, so a published table can
say what its interval leaves out.

R equivalents: ``survey::svycontrast`` (delta method for a nonlinear function of estimates with
their covariance), ``msm::deltamethod``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.core.estimation.ci import critical, norm_ppf
from carepop.errors import CarepopError, opt

OPERATIONS = ("sum", "difference", "product", "ratio")
METHODS = ("delta", "exact", "bootstrap")


@dataclass(frozen=True)
class Source:
    """An estimate per area (``M`` values) with its standard error (0 where treated as known)."""

    name: str
    estimate: np.ndarray
    se: np.ndarray

    @property
    def known(self) -> bool:
        """Treated as known (SE 0) in every area."""
        return bool(np.all(self.se == 0))


def source(
    name: str,
    estimate: object,
    se: object = None,
    *,
    lower: object = None,
    upper: object = None,
    level: float = 0.95,
) -> Source:
    """An input of a calculation: ``estimate`` with ``se`` (None or 0: known), or with an interval
    ``[lower, upper]`` at ``level`` turned into ``se = (upper − lower) / (2 z)`` (symmetric
    normal intervals only: an asymmetric interval is refused rather than misread)."""
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    if lower is not None or upper is not None:
        if se is not None or lower is None or upper is None:
            raise CarepopError(
                f"{name}: give an SE or an interval (both ends), not both.",
                code="bad_option",
                column=name,
                fix=("give ", opt("se"), " or ", opt("lower"), " and ", opt("upper")),
            )
        lo = np.broadcast_to(np.asarray(lower, dtype=float), est.shape)
        hi = np.broadcast_to(np.asarray(upper, dtype=float), est.shape)
        z = float(norm_ppf(0.5 + level / 2))
        mid = (lo + hi) / 2
        asym = np.abs(mid - est) > 1e-6 * np.maximum(np.abs(est), 1.0) + 0.01 * (hi - lo)
        if np.any(asym) or np.any(hi < lo):
            rows = (np.flatnonzero(asym | (hi < lo))[:5] + 1).tolist()
            raise CarepopError(
                f"{name}: the interval is not centred on the estimate (or upper < lower), so it is "
                "not a normal interval an SE can be read from.",
                code="bad_interval",
                column=name,
                rows=rows,
                fix="give the standard error instead",
            )
        sd = (hi - lo) / (2 * z)
    else:
        sd = np.zeros_like(est) if se is None else np.broadcast_to(np.asarray(se, dtype=float), est.shape)
    sd = np.array(sd, dtype=float)
    bad = ~np.isfinite(est) | ~np.isfinite(sd) | (sd < 0)
    if bad.any():
        raise CarepopError(
            f"{name}: estimates and SEs must be finite and SEs not negative.",
            code="bad_value",
            column=name,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            got=float(sd[bad][0]) if np.isfinite(est[bad][0]) else float(est[bad][0]),
            fix="check the inputs (an SE of 0 means 'treated as known')",
        )
    return Source(name, est, sd)


@dataclass(frozen=True)
class Propagated:
    """The result of :func:`propagate`: estimate, SE and interval per area."""

    estimate: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    operation: str
    method: str
    inputs: tuple[str, ...]
    known: tuple[str, ...]
    level: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def frame(self, name: str) -> pd.DataFrame:
        """Columns ``name, name_se, name_lower, name_upper``."""
        return pd.DataFrame(
            {
                name: self.estimate,
                f"{name}_se": self.se,
                f"{name}_lower": self.lower,
                f"{name}_upper": self.upper,
            }
        )

    @property
    def description(self) -> str:
        """One line for a result's notes: what was combined, how, and what was treated as known."""
        known = ", ".join(self.known) if self.known else "none"
        return f"{self.operation} of {', '.join(self.inputs)} by {self.method}; treated as known: {known}"


def propagate(
    operation: str,
    sources: Sequence[Source],
    *,
    cov: Mapping[tuple[str, str], object] | None = None,
    method: str = "delta",
    dist: str = "normal",
    boot: int = 2000,
    seed: int | None = None,
    level: float = 0.95,
    df: object = None,
) -> Propagated:
    """Combine ``sources`` by ``operation`` with an interval (module docstring).

    Parameters
    ----------
    operation : ``sum`` (any number of inputs), ``difference`` (first − second), ``product`` (any
        number) or ``ratio`` (first / second).
    sources : the inputs (:func:`source`), each with the same number of areas (or 1, broadcast).
    cov : covariances between pairs of inputs, ``{(name_a, name_b): values}``; others are 0.
    method : ``delta`` (first order), ``exact`` (Goodman's variance; ``product`` of independent
        inputs only) or ``bootstrap`` (parametric, ``boot`` draws, ``seed``).
    dist : the bootstrap's distribution of the inputs: ``normal`` or ``lognormal`` (positive inputs).
    df : degrees of freedom of the delta-method interval (one per area, or one): ``θ̂ ± t_df SE``
        (e.g. a survey estimate's design degrees of freedom); None: normal.
    """
    if operation not in OPERATIONS:
        raise CarepopError(
            f"Unknown operation {operation!r}.", code="bad_option", got=operation, expected=OPERATIONS
        )
    if method not in METHODS:
        raise CarepopError(
            f"Unknown method {method!r}.",
            code="bad_option",
            got=method,
            expected=METHODS,
            fix=("choose ", opt("method"), " among delta, exact, bootstrap"),
        )
    if dist not in ("normal", "lognormal"):
        raise CarepopError(
            f"Unknown distribution {dist!r}.", code="bad_option", got=dist, expected=("normal", "lognormal")
        )
    sources = list(sources)
    k = len(sources)
    if k < 2 or (operation in ("difference", "ratio") and k != 2):
        raise CarepopError(
            f"A {operation} takes {'two' if operation in ('difference', 'ratio') else 'two or more'} "
            f"inputs; got {k}.",
            code="bad_option",
            got=k,
        )
    names = [s.name for s in sources]
    if len(set(names)) != k:
        raise CarepopError("Inputs need distinct names.", code="bad_option", got=names)
    M = max(s.estimate.shape[0] for s in sources)
    for s in sources:
        if s.estimate.shape[0] not in (1, M):
            raise CarepopError(
                f"{s.name} has {s.estimate.shape[0]} values; the others have {M}.",
                code="shape_mismatch",
                column=s.name,
                fix="give one value per area, or one for all",
            )
    mu = np.stack([np.broadcast_to(s.estimate, (M,)) for s in sources], axis=1)  # (M, k)
    sd = np.stack([np.broadcast_to(s.se, (M,)) for s in sources], axis=1)
    S = _covariance(sd, names, cov)  # (M, k, k)
    correlated = cov is not None and any(np.any(np.asarray(v, dtype=float) != 0) for v in cov.values())
    est = _apply(operation, mu[None])[0]
    notes: list[str] = []
    if method == "bootstrap":
        draws = _draws(mu, S, boot, seed, dist)
        values = _apply(operation, draws)  # (B, M)
        se = values.std(axis=0, ddof=1)
        a = (1 - level) / 2
        lower, upper = np.quantile(values, [a, 1 - a], axis=0)
        notes.append(f"parametric bootstrap, {boot} {dist} draws, seed {seed}; percentile interval")
    else:
        if method == "exact":
            if operation != "product" or correlated:
                raise CarepopError(
                    "The exact (Goodman) variance is for a product of independent estimates.",
                    code="bad_option",
                    got=(operation, "correlated" if correlated else "independent"),
                    fix=("use ", opt("method", "delta"), " or ", opt("method", "bootstrap")),
                )
            var = np.prod(mu**2 + sd**2, axis=1) - np.prod(mu**2, axis=1)
        else:
            g = _gradient(operation, mu)  # (M, k)
            var = np.einsum("mi,mij,mj->m", g, S, g)
        se = np.sqrt(np.maximum(var, 0.0))
        z = critical(level, np.inf if df is None else np.maximum(np.asarray(df, dtype=float), 1.0))
        lower, upper = est - z * se, est + z * se
    known = tuple(s.name for s in sources if s.known)
    return Propagated(
        estimate=est,
        se=se,
        lower=np.asarray(lower),
        upper=np.asarray(upper),
        operation=operation,
        method=method,
        inputs=tuple(names),
        known=known,
        level=level,
        notes=tuple(notes),
    )


def _covariance(sd: np.ndarray, names: list[str], cov: Mapping[tuple[str, str], object] | None) -> np.ndarray:
    M, k = sd.shape
    S = np.zeros((M, k, k))
    idx = np.arange(k)
    S[:, idx, idx] = sd**2
    for (a, b), v in (cov or {}).items():
        if a not in names or b not in names or a == b:
            raise CarepopError(
                f"A covariance is given for ({a!r}, {b!r}), which are not two of the inputs.",
                code="unknown_column",
                expected=names,
            )
        i, j = names.index(a), names.index(b)
        S[:, i, j] = S[:, j, i] = np.broadcast_to(np.asarray(v, dtype=float), (M,))
    corr_ok = (
        np.abs(S)
        <= np.sqrt(np.einsum("mii->mi", S)[:, :, None] * np.einsum("mii->mi", S)[:, None, :]) * (1 + 1e-9)
        + 1e-300
    )
    if not corr_ok.all():
        rows = (np.flatnonzero(~corr_ok.all(axis=(1, 2)))[:5] + 1).tolist()
        raise CarepopError(
            "A covariance is larger than the product of the two SEs (a correlation beyond ±1).",
            code="bad_covariance",
            rows=rows,
            fix="check the covariances and SEs",
        )
    return S


def _apply(operation: str, x: np.ndarray) -> np.ndarray:
    """The operation on the last axis of ``x`` (``(..., k)`` -> ``(...)``)."""
    if operation == "sum":
        return x.sum(axis=-1)
    if operation == "difference":
        return x[..., 0] - x[..., 1]
    if operation == "product":
        return x.prod(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x[..., 0] / x[..., 1]


def _gradient(operation: str, mu: np.ndarray) -> np.ndarray:
    M, k = mu.shape
    if operation == "sum":
        return np.ones((M, k))
    if operation == "difference":
        return np.tile([1.0, -1.0], (M, 1))
    if operation == "product":
        # the product of the others: no division, so a zero factor is fine
        return np.stack([np.prod(np.delete(mu, i, axis=1), axis=1) for i in range(k)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([1 / mu[:, 1], -mu[:, 0] / mu[:, 1] ** 2], axis=1)


def _draws(mu: np.ndarray, S: np.ndarray, boot: int, seed: int | None, dist: str) -> np.ndarray:
    """``boot × M × k`` draws of the inputs (jointly normal or lognormal, moments matched)."""
    if int(boot) < 2:
        raise CarepopError("The bootstrap needs at least 2 draws.", code="bad_option", got=boot)
    M, k = mu.shape
    if dist == "lognormal":
        if np.any((mu <= 0) & (np.einsum("mii->mi", S) > 0)):
            raise CarepopError(
                "Lognormal draws need positive estimates.",
                code="bad_option",
                fix=("use ", opt("dist", "normal"), " for inputs that can be 0 or negative"),
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            S_log = np.log1p(
                np.where(mu[:, :, None] * mu[:, None, :] > 0, S / (mu[:, :, None] * mu[:, None, :]), 0)
            )
        centre = np.log(np.where(mu > 0, mu, 1.0)) - np.einsum("mii->mi", S_log) / 2
        L = _cholesky(S_log)
        z = np.random.default_rng(seed).standard_normal((boot, M, k))
        out = np.exp(centre[None] + np.einsum("mij,bmj->bmi", L, z))
        return np.where(np.einsum("mii->mi", S)[None] > 0, out, mu[None])
    L = _cholesky(S)
    z = np.random.default_rng(seed).standard_normal((boot, M, k))
    return mu[None] + np.einsum("mij,bmj->bmi", L, z)


def _cholesky(S: np.ndarray) -> np.ndarray:
    """Lower factor of each area's covariance (known inputs have zero rows and columns)."""
    k = S.shape[-1]
    jitter = np.eye(k) * (np.einsum("mii->m", S)[:, None, None] * 1e-12 + 1e-300)
    return np.linalg.cholesky(S + jitter) * (np.einsum("mii->mi", S) > 0)[:, :, None]
