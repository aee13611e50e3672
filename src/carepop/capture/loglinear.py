"""Log-linear models for three or more lists (multiple-systems estimation).

The 2^k − 1 observed cells y_ω (every pattern ω with at least one list) follow a Poisson GLM

    log E y_ω = λ + Σ_j λ_j ω_j + Σ_{(j,l) ∈ I} λ_jl ω_j ω_l (+ chosen higher terms),

main effects plus the interactions I named like ``"A:B"`` (Fienberg 1972; Bishop, Fienberg &
Holland 1975, ch. 6; Cormack 1989). The unobserved cell ω = 0 has log E = λ, so the hidden number
is f̂₀ = exp(λ̂), N̂ = n + f̂₀, and SE(N̂) = √(f̂₀ + f̂₀² Var λ̂) (Cormack 1989; Rcapture's
``getN``). The highest-order interaction must be zero for N to be identified, so a model may have
at most 2^k − 1 parameters (the saturated model for three lists has all two-way terms).

:func:`select_model` fits every hierarchical model with all main effects and any set of two-way
interactions (saturated ones left out: they have no residual degrees of freedom) and keeps the
lowest AIC or BIC; BIC = AIC + (log n − 2)·p with n the number observed (Rcapture ``closedpMS``).

Intervals: ``profile`` (Cormack 1992, :func:`carepop.capture.intervals.profile_interval`),
``bootstrap`` (parametric, Buckland & Garthwaite 1991: B tables drawn from the multinomial with N̂
trials and the fitted cell probabilities, the observed part refitted; the percentile interval of
the B estimates, the SE staying the analytic one), ``log`` (Chao 1987), ``normal``.

R equivalent: ``glm(count ~ A + B + C + A:B, family = poisson, data = observed_cells)`` and
``exp(coef(fit)[1])``; ``Rcapture::closedpCI.t(X, dfreq = TRUE, mX = ~ A + B + C + A:B)``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np

from carepop.capture.glm import PoissonFit, poisson_fit, poisson_fit_batch
from carepop.capture.intervals import log_interval, normal_interval, profile_interval
from carepop.capture.results import CLOSED, MATCHING, CaptureEstimate, CaptureWarning, independence_unless
from carepop.capture.table import CaptureTable
from carepop.core.vocabulary import CaptureInterval, ModelSelection, choose
from carepop.errors import ModelError, opt

#: a cell count below this is "sparse" for the warning
SPARSE_COUNT = 5


class SparseTableWarning(CaptureWarning):
    """Sparse cells or a (near-)saturated model: the estimate leans on few people."""


def parse_terms(terms: Sequence[str] | str | None, lists: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """``["A:B", "B:C"]`` (or ``"A:B,B:C"``) as tuples of list names in the lists' order."""
    if terms is None:
        return ()
    if isinstance(terms, str):
        terms = [t for t in terms.split(",") if t.strip()]
    order = {name: i for i, name in enumerate(lists)}
    out: list[tuple[str, ...]] = []
    for term in terms:
        names = [p.strip() for p in str(term).split(":")]
        unknown = [p for p in names if p not in order]
        if unknown or len(names) < 2 or len(set(names)) < len(names):
            raise ModelError(
                f"{term!r} is not an interaction of two or more different lists.",
                code="bad_interaction",
                got=term,
                expected=f"names from {', '.join(lists)} joined by ':' (A:B)",
                fix=("name interactions like A:B with ", opt("interactions", metavar="A:B,...")),
            )
        key = tuple(sorted(names, key=order.__getitem__))
        if key not in out:
            out.append(key)
    return tuple(out)


def term_label(lists: Sequence[str], terms: Sequence[tuple[str, ...]]) -> str:
    return "+".join([*lists, *(":".join(t) for t in terms)])


def design(table: CaptureTable, terms: Sequence[tuple[str, ...]]) -> np.ndarray:
    """[1, ω₁ … ω_k, Π_{j∈t} ω_j for each term t] for the 2^k − 1 observed cells."""
    pat = table.patterns.astype(float)
    idx = {name: i for i, name in enumerate(table.lists)}
    cols = [np.ones(len(pat)), *pat.T]
    cols += [np.prod(pat[:, [idx[n] for n in t]], axis=1) for t in terms]
    return np.column_stack(cols)


def fit(table: CaptureTable, terms: Sequence[tuple[str, ...]]) -> PoissonFit:
    """The Poisson GLM on the observed cells; more parameters than cells is an error."""
    X = design(table, terms)
    return poisson_fit(table.counts, X)


def information_criteria(fitted: PoissonFit, observed: int) -> tuple[float, float]:
    """(AIC, BIC) = (−2ℓ + 2p, AIC + (log n − 2)p)."""
    return float(fitted.aic), float(fitted.aic + (np.log(observed) - 2.0) * fitted.rank)


def candidate_models(lists: Sequence[str], max_models: int = 4096) -> list[tuple[tuple[str, ...], ...]]:
    """Every set of two-way interactions whose model keeps ≥ 1 residual degree of freedom."""
    pairs = list(itertools.combinations(lists, 2))
    k = len(lists)
    most = 2**k - 1 - (1 + k) - 1
    if 2 ** len(pairs) > max_models:
        raise ModelError(
            f"Selecting among all {2 ** len(pairs)} models of {k} lists is too slow.",
            code="too_many_models",
            fix=("name the interactions with ", opt("interactions", metavar="A:B,...")),
        )
    return [combo for r in range(0, min(len(pairs), most) + 1) for combo in itertools.combinations(pairs, r)]


def select_model(table: CaptureTable, criterion: str = "aic") -> tuple[tuple[str, ...], ...]:
    """The two-way interactions of the model with the lowest AIC or BIC (module docstring)."""
    which = choose(criterion, ModelSelection, "select")
    best: tuple[float, tuple[tuple[str, ...], ...]] | None = None
    for terms in candidate_models(table.lists):
        try:
            fitted = fit(table, terms)
        except ModelError:
            continue
        aic, bic = information_criteria(fitted, table.observed)
        score = aic if which == "aic" else bic
        if best is None or score < best[0] - 1e-12:
            best = (score, terms)
    assert best is not None
    return best[1]


def _warn_sparse(table: CaptureTable, fitted: PoissonFit) -> None:
    sparse = int(np.sum(table.counts < SPARSE_COUNT))
    if fitted.df <= 1:
        warnings.warn(
            f"The model has {fitted.df} residual degree(s) of freedom: it is (nearly) saturated and "
            "its estimate of the unobserved cell rests on the absence of the highest-order interaction.",
            SparseTableWarning,
            stacklevel=3,
        )
    if sparse * 5 > len(table.counts):
        warnings.warn(
            f"{sparse} of the {len(table.counts)} observed cells have fewer than {SPARSE_COUNT} people: "
            "the log-linear estimate and its interval are unreliable (Chan, Silverman & Vincent 2021).",
            SparseTableWarning,
            stacklevel=3,
        )


def profile_deviance(table: CaptureTable, terms: Sequence[tuple[str, ...]]):
    """D(f₀): deviance of the model fitted to all 2^k cells, the unobserved one set to f₀."""
    X = design(table, terms)
    X_all = np.vstack([X, np.eye(1, X.shape[1])])

    def at(f0: float) -> float:
        return poisson_fit(np.append(table.counts, f0), X_all).deviance

    return at


def bootstrap_estimates(
    table: CaptureTable, terms: Sequence[tuple[str, ...]], fitted: PoissonFit, *, boot: int, seed: int | None
) -> np.ndarray:
    """N̂* (B,) from B multinomial tables with N̂ trials and the fitted probabilities (all 2^k cells)."""
    X = design(table, terms)
    f0 = float(np.exp(fitted.beta[0]))
    mu = np.append(fitted.mu, f0)
    total = int(round(mu.sum()))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, mu / mu.sum(), size=boot)[:, :-1].astype(float)
    beta = poisson_fit_batch(draws, X)
    return draws.sum(axis=1) + np.exp(beta[:, 0])


def loglinear(
    table: CaptureTable,
    interactions: Sequence[str] | str | None = None,
    *,
    select: str | None = None,
    level: float = 0.95,
    interval: str = "profile",
    boot: int = 1000,
    seed: int | None = None,
) -> CaptureEstimate:
    """N̂ from a log-linear model: main effects plus ``interactions`` (``["A:B"]``), or the model
    chosen by ``select="aic"|"bic"`` (module docstring)."""
    how = choose(interval, CaptureInterval, "interval")
    if select is not None:
        if interactions:
            raise ModelError(
                "Give either the interactions or a selection criterion, not both.",
                code="conflicting_options",
                fix=("leave out ", opt("interactions"), " or ", opt("select")),
            )
        terms = select_model(table, select)
    else:
        terms = parse_terms(interactions, table.lists)
    fitted = fit(table, terms)
    if not fitted.converged:
        warnings.warn(
            f"The log-linear fit did not converge in {fitted.iterations} iterations.",
            CaptureWarning,
            stacklevel=2,
        )
    _warn_sparse(table, fitted)
    n = table.observed
    f0 = float(np.exp(fitted.beta[0]))
    est = n + f0
    se = float(np.sqrt(f0 + f0**2 * fitted.cov[0, 0]))
    if how == "normal":
        lo, hi = normal_interval(est, se, level)
    elif how == "log":
        lo, hi = log_interval(n, est, se, level)
    elif how == "profile":
        lo, hi = profile_interval(n, f0, profile_deviance(table, terms), level)
    else:
        reps = bootstrap_estimates(table, terms, fitted, boot=boot, seed=seed)
        lo, hi = (float(v) for v in np.quantile(reps, [0.5 - level / 2, 0.5 + level / 2]))
    aic, bic = information_criteria(fitted, n)
    label = " ".join(":".join(t) for t in terms)
    result = CaptureEstimate(
        observed=n,
        hidden=f0,
        estimate=est,
        se=se,
        ci_lower=lo,
        ci_upper=hi,
        model=term_label(table.lists, terms),
        aic=aic,
        bic=bic,
        assumptions=(CLOSED, independence_unless(tuple(label.split()) if label else ()), MATCHING),
        method="loglinear",
        interval=how,
        level=level,
        df=fitted.df,
        deviance=fitted.deviance,
    )
    return result
