"""Empirical best predictor (EBP) of an area proportion under the unit-level logistic mixed model,
and its MSE by parametric bootstrap.

Model (:mod:`carepop.sae.glmm`): ``logit p_ij = x_ij' beta + u_i``, ``u_i ~ N(0, sigma_u^2)``.
The target is the population proportion of area ``i``, ``P_i = (1/N_i) sum_{j in U_i} y_ij``. Its
best predictor given the sample ``y_i`` splits into the sampled and the non-sampled units
(Rao & Molina 2015, chapter 9, binary data; Jiang & Lahiri 2001, Ann. Inst. Stat. Math. 53)::

    P^_i = (1/N_i) [ sum_{j in s_i} y_ij + sum_{j in U_i - s_i} E(p_ij | y_i) ],

    E(p_ij | y_i) = \\int expit(x_ij' beta + sigma_u b) f(y_i | b) phi(b) db / \\int f(y_i | b) phi(b) db,

evaluated at the ML estimates (empirical BP). The conditional expectation is computed by adaptive
Gauss–Hermite quadrature around the conditional mode of ``b_i`` (``n_quad`` points, all areas ×
nodes at once). An area with no sample has ``E(p_ij) = \\int expit(x_ij' beta + sigma_u b) phi(b) db``
(plain Gauss–Hermite) and no sample term.

The population comes as a table of covariate patterns with counts, as census tables arrive: rows
``k`` with covariates ``pop_X[k]`` (the same columns as the sample's ``X``), area ``pop_area[k]``
and count ``pop_count[k] = N_ik`` (unit-level population covariates are the special case of
counts 1). By default (``sample_in_population=True``) the counts include the sampled units: each
sample unit is matched to the cell of its area with identical covariates, and the non-sampled
count of a cell is ``N_ik - n_ik``. With ``sample_in_population=False`` the table counts the
non-sampled units only (or the sampling fraction is negligible) and ``P^_i = (1/N_i) sum_k N_ik
E(p_ik | y_i)``.

MSE: the parametric bootstrap of González-Manteiga, Lombardía, Molina, Morales & Santamaría (2007,
Comput. Stat. Data Anal. 51, 2720–2733): from the fitted model draw ``u*_i ~ N(0, sigma_u^2)``
for every area, the sample ``y*_ij ~ Bernoulli(expit(x_ij' beta + u*_i))`` and the non-sampled
count of each cell ``~ Binomial(N_ik - n_ik, expit(x_k' beta + u*_i))``; the bootstrap population
proportion ``P*_i`` follows. Refit on ``y*`` (warm-started at the estimates), recompute the EBP
and average ``(P^*_i - P*_i)^2`` over the ``B`` replicates.

R equivalent (the conditional expectation for one area, with a glmer fit)::

    num <- integrate(function(u) plogis(xb + u) * exp(loglik_i(u)) * dnorm(u, 0, s), -Inf, Inf)
    den <- integrate(function(u) exp(loglik_i(u)) * dnorm(u, 0, s), -Inf, Inf)

(``tests/sae/fixtures/ebp/make_fixtures.R`` has the full code.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from carepop.errors import ModelError, data_rows, opt
from carepop.sae.glmm import (
    LogisticMixedFit,
    Problem,
    area_index,
    as_area_codes,
    as_matrix,
    check_inputs,
    gh_rule,
    maximise,
)

__all__ = ["EBPEstimate", "ebp_proportion", "mse_ebp_bootstrap"]

_BLOCK = 1 << 15  # population cells per block of the conditional expectations


@dataclass(frozen=True)
class EBPEstimate:
    """EBP of the proportion per area of the population table.

    ``areas`` (A,) the population table's area labels, sorted; ``estimate`` (A,) the EBP
    ``P^_i``; ``in_sample`` (A,) whether the area has sampled units; ``n_sample`` (A,) and
    ``n_population`` (A,) the sample size ``n_i`` and population size ``N_i``.
    """

    areas: np.ndarray
    estimate: np.ndarray
    in_sample: np.ndarray
    n_sample: np.ndarray
    n_population: np.ndarray
    method: str = "ebp_logistic_mixed"

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "area": self.areas,
                "estimate": self.estimate,
                "in_sample": self.in_sample,
                "n_sample": self.n_sample,
                "n_population": self.n_population,
            }
        )


@dataclass(frozen=True)
class _Layout:
    """The sample matched to the population table; built once, used by the EBP and by every
    bootstrap replicate.

    Cells ``g`` are the distinct (area, covariate pattern) rows of the population table.
    """

    areas: np.ndarray  # (P,) population areas, sorted
    s_fit: np.ndarray  # (n,) each sample unit's index among the sampled areas (fit order)
    s_pop: np.ndarray  # (n,) each sample unit's index among the population areas
    n_fit_areas: int
    pop_to_fit: np.ndarray  # (P,) index among the sampled areas, -1 when out of sample
    g_X: np.ndarray  # (G, p)
    g_area: np.ndarray  # (G,) index among the population areas
    g_N: np.ndarray  # (G,) population count of the cell
    g_rest: np.ndarray  # (G,) count of non-sampled units (g_N - g_n, or g_N)
    N_i: np.ndarray  # (P,)
    n_i: np.ndarray  # (P,)
    sample_in_population: bool


def _layout(
    fit: LogisticMixedFit,
    y: np.ndarray,
    X: np.ndarray,
    s_areas: np.ndarray,
    s_idx: np.ndarray,
    pop_X: Any,
    pop_area: Any,
    pop_count: Any,
    sample_in_population: bool,
    x_cols: list[str] | None = None,
) -> _Layout:
    p = X.shape[1]
    if fit.beta.shape[0] != p or fit.n != y.shape[0] or not np.array_equal(fit.areas, s_areas):
        raise ModelError(
            "The fit does not belong to this sample (different units, areas or covariates).",
            code="fit_mismatch",
            got=f"fit: n={fit.n}, p={fit.beta.shape[0]}, {fit.areas.size} areas",
            expected=f"n={y.shape[0]}, p={p}, {s_areas.size} areas",
            fix="pass the y, X and area_codes the model was fitted on",
        )
    try:
        pop_count_a = np.asarray(pop_count, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ModelError(
            "Population counts must be numbers.", code="bad_population_count", column="pop_count"
        ) from None
    K = pop_count_a.shape[0]
    pX, pcols = as_matrix(pop_X, K, name="pop_X")
    if x_cols is not None and hasattr(pop_X, "columns") and list(pcols) != list(x_cols):
        raise ModelError(
            "The population table's covariate columns differ from the sample's.",
            code="population_covariates_mismatch",
            column="pop_X",
            got=list(pcols),
            expected=list(x_cols),
            fix="give pop_X the same covariate columns as X, in the same order",
        )
    if pX.shape[1] != p:
        raise ModelError(
            "The population table has different covariates from the sample.",
            code="population_covariates_mismatch",
            column="pop_X",
            got=pX.shape[1],
            expected=f"{p} columns, as X",
            fix="give the population table the same covariate columns, in the same order, as X",
        )
    parea = as_area_codes(pop_area, K, name="pop_area")
    bad = ~np.isfinite(pop_count_a) | (pop_count_a < 0)
    if bad.any():
        raise ModelError(
            "Population counts must be finite and non-negative.",
            code="bad_population_count",
            column="pop_count",
            rows=data_rows(bad),
            got=float(pop_count_a[np.flatnonzero(bad)[0]]),
        )
    areas, g_pop_area = area_index(parea, "pop_area")
    P = areas.size
    N_i = np.bincount(g_pop_area, weights=pop_count_a, minlength=P)
    if np.any(N_i <= 0):
        raise ModelError(
            "Some areas of the population table have no population.",
            code="empty_population_area",
            column="pop_area",
            got=[a for a in areas[N_i <= 0][:5].tolist()],
            fix="drop these areas from the population table, or give their counts",
        )
    fit_in_pop = pd.Index(areas).get_indexer(pd.Index(s_areas))
    if np.any(fit_in_pop < 0):
        missing = s_areas[fit_in_pop < 0]
        raise ModelError(
            f"{missing.size} sampled area(s) are not in the population table.",
            code="area_not_in_population",
            column="pop_area",
            rows=data_rows(np.isin(s_idx, np.flatnonzero(fit_in_pop < 0))),
            got=missing[:5].tolist(),
            fix="add these areas to the population table (with the same area codes as the sample)",
        )
    s_pop = fit_in_pop[s_idx]
    pop_to_fit = np.full(P, -1)
    pop_to_fit[fit_in_pop] = np.arange(s_areas.size)
    n_i = np.bincount(s_pop, minlength=P)

    # cells: distinct (area, covariates) rows; sample units matched to them
    pop_keys = np.column_stack([g_pop_area.astype(float), pX])
    if sample_in_population:
        keys = np.vstack([pop_keys, np.column_stack([s_pop.astype(float), X])])
    else:
        keys = pop_keys
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    G = uniq.shape[0]
    g_N = np.bincount(inv[:K], weights=pop_count_a, minlength=G)
    if sample_in_population:
        s_g = inv[K:]
        in_pop = np.bincount(inv[:K], minlength=G) > 0
        orphan = ~in_pop[s_g]
        if orphan.any():
            raise ModelError(
                f"{int(orphan.sum())} sampled unit(s) match no cell of their area in the population table.",
                code="sample_cell_not_in_population",
                rows=data_rows(orphan),
                got=[areas[s_pop[j]] for j in np.flatnonzero(orphan)[:5]],
                fix=(
                    "code the covariates identically in X and pop_X (same dummies and values), or ",
                    opt("sample_in_population", False),
                    " if the table counts the non-sampled units only",
                ),
            )
        g_n = np.bincount(s_g, minlength=G)
        over = g_n > g_N + 1e-9
        if over.any():
            bad_areas = np.unique(uniq[over, 0].astype(int))
            raise ModelError(
                f"The sample has more units than the population table in {int(over.sum())} cell(s).",
                code="sample_exceeds_population",
                column="pop_count",
                got=areas[bad_areas][:5].tolist(),
                fix=(
                    "check the population counts of these areas, or ",
                    opt("sample_in_population", False),
                    " if the table counts the non-sampled units only",
                ),
            )
        g_rest = g_N - g_n
    else:
        g_rest = g_N
    return _Layout(
        areas=areas,
        s_fit=s_idx,
        s_pop=s_pop,
        n_fit_areas=s_areas.size,
        pop_to_fit=pop_to_fit,
        g_X=uniq[:, 1:],
        g_area=uniq[:, 0].astype(np.intp),
        g_N=g_N,
        g_rest=g_rest,
        N_i=N_i,
        n_i=n_i,
        sample_in_population=sample_in_population,
    )


def _cell_expectations(
    lay: _Layout, prob: Problem, beta: np.ndarray, sigma: float, n_quad: int
) -> np.ndarray:
    """``E(p_k | y_i)`` for every cell ``k`` (G,): adaptive quadrature over the conditional
    distribution of ``b_i`` for a sampled area, plain Gauss–Hermite over ``N(0, 1)`` otherwise."""
    eta_g = lay.g_X @ beta  # (G,)
    fa = lay.pop_to_fit[lay.g_area]
    sampled = fa >= 0
    E = np.empty(eta_g.shape[0])
    if sampled.any():
        bk, pi = prob.posterior(prob.X @ beta, sigma, n_quad)  # (A_s, M)
        rows = np.flatnonzero(sampled)
        # blocks of cells keep the (cells, M) temporaries small for a unit-level population
        for start in range(0, rows.size, _BLOCK):
            r = rows[start : start + _BLOCK]
            a = fa[r]
            E[r] = np.sum(pi[a] * expit(eta_g[r, None] + sigma * bk[a]), axis=1)
    if (~sampled).any():
        z, logw = gh_rule(n_quad)
        rows = np.flatnonzero(~sampled)
        for start in range(0, rows.size, _BLOCK):
            r = rows[start : start + _BLOCK]
            E[r] = expit(eta_g[r, None] + sigma * z[None, :]) @ np.exp(logw)
    return E


def _ebp(
    lay: _Layout, prob: Problem, y: np.ndarray, beta: np.ndarray, sigma: float, n_quad: int
) -> np.ndarray:
    P = lay.areas.size
    E = _cell_expectations(lay, prob, beta, sigma, n_quad)
    total = np.bincount(lay.g_area, weights=lay.g_rest * E, minlength=P)
    if lay.sample_in_population:
        total += np.bincount(lay.s_pop, weights=y, minlength=P)
    return total / lay.N_i


def _cols(X: Any) -> list[str] | None:
    return [str(c) for c in X.columns] if hasattr(X, "columns") else None


def _check_n_quad(n_quad: Any) -> int:
    if not isinstance(n_quad, (int, np.integer)) or not 1 <= int(n_quad) <= 200:
        raise ModelError(
            "n_quad must be a whole number of quadrature points (1 to 200).",
            code="bad_n_quad",
            got=n_quad,
            expected="1..200",
            fix=("the default ", opt("n_quad", 32), " is plenty"),
        )
    return int(n_quad)


def ebp_proportion(
    fit: LogisticMixedFit,
    y: Any,
    X: Any,
    area_codes: Any,
    pop_X: Any,
    pop_area: Any,
    pop_count: Any,
    *,
    sample_in_population: bool = True,
    n_quad: int = 32,
) -> EBPEstimate:
    """EBP ``P^_i`` of the proportion with ``y = 1`` in every area of the population table.

    ``fit`` from :func:`~carepop.sae.glmm.fit_logistic_mixed` on ``(y, X, area_codes)``;
    ``pop_X`` (K, p) covariate patterns (same columns as ``X``), ``pop_area`` (K,) their areas,
    ``pop_count`` (K,) the number of population units ``N_ik`` of each pattern (1 for unit-level
    population data). Areas of the table without sample get the synthetic (marginal) prediction.
    ``sample_in_population``: the counts include the sampled units (matched to their cell by area
    and identical covariates) — else the table counts the non-sampled units only. ``n_quad`` the
    number of Gauss–Hermite points for the conditional expectations.

    Raises :class:`~carepop.errors.ModelError` when a sampled area is not in the table, the
    table's covariates differ from ``X``, a sampled unit matches no cell, or a cell has fewer
    population units than sampled units.
    """
    n_quad = _check_n_quad(n_quad)
    y, Xm, s_areas, s_idx = check_inputs(y, X, area_codes)
    lay = _layout(fit, y, Xm, s_areas, s_idx, pop_X, pop_area, pop_count, sample_in_population, _cols(X))
    prob = Problem(y, Xm, s_idx, s_areas.size, 1)
    est = _ebp(lay, prob, y, fit.beta, fit.sigma_u, n_quad)
    return EBPEstimate(
        areas=lay.areas,
        estimate=est,
        in_sample=lay.n_i > 0,
        n_sample=lay.n_i,
        n_population=lay.N_i,
    )


def mse_ebp_bootstrap(
    fit: LogisticMixedFit,
    y: Any,
    X: Any,
    area_codes: Any,
    pop_X: Any,
    pop_area: Any,
    pop_count: Any,
    *,
    B: int = 200,
    seed: int | np.random.Generator | None = None,
    sample_in_population: bool = True,
    n_quad: int = 32,
) -> np.ndarray:
    """Parametric-bootstrap MSE (A,) of the EBP, aligned with :func:`ebp_proportion`'s ``areas``.

    González-Manteiga et al. (2007): ``B`` bootstrap populations and samples generated from the
    fitted model (``u*_i ~ N(0, sigma_u^2)``; sample ``y*`` Bernoulli; non-sampled cell counts
    Binomial), the model refitted on each bootstrap sample (same ``n_agq`` as ``fit``; BFGS
    started at the estimates with their inverse Hessian), and
    ``MSE_i = (1/B) sum_b (P^*_i(b) - P*_i(b))^2``. A replicate whose bootstrap sample has a single
    outcome value cannot be refitted and is skipped (rare; the average is over the others).
    Seeded: ``np.random.default_rng(seed)``; the population counts must be whole numbers.
    """
    n_quad = _check_n_quad(n_quad)
    if not isinstance(B, (int, np.integer)) or B < 1:
        raise ModelError("B must be a positive whole number of replicates.", code="bad_B", got=B)
    y, Xm, s_areas, s_idx = check_inputs(y, X, area_codes)
    lay = _layout(fit, y, Xm, s_areas, s_idx, pop_X, pop_area, pop_count, sample_in_population, _cols(X))
    whole = np.abs(lay.g_rest - np.rint(lay.g_rest)) < 1e-9
    if not whole.all():
        raise ModelError(
            "The bootstrap draws population units: the population counts must be whole numbers.",
            code="non_integer_count",
            column="pop_count",
            got=float(lay.g_N[~whole][0]),
            fix="round the population counts (census counts are whole numbers)",
        )
    rng = np.random.default_rng(seed)
    P = lay.areas.size
    beta, sigma = fit.beta, fit.sigma_u
    eta_s, eta_g = Xm @ beta, lay.g_X @ beta
    rest_n = np.rint(lay.g_rest).astype(np.int64)
    u = rng.normal(0.0, sigma, size=(B, P))  # every replicate's area effects

    prob = Problem(y, Xm, s_idx, s_areas.size, fit.n_agq)
    theta0 = np.concatenate([[max(sigma, 0.05)], beta])
    # BFGS starts from the fit's inverse Hessian (half the iterations of an identity start)
    h0 = np.nan_to_num(fit.theta_cov, nan=0.0)
    if not np.isfinite(fit.theta_cov[0, 0]):
        h0[0, 0] = 0.05
    try:
        np.linalg.cholesky(h0)
    except np.linalg.LinAlgError:
        h0 = None
    sq = np.zeros(P)
    used = 0
    for b in range(B):
        # bootstrap population: sample outcomes and non-sampled cell totals, given u*
        yb = (rng.random(eta_s.shape[0]) < expit(eta_s + u[b, lay.s_pop])).astype(float)
        rest = rng.binomial(rest_n, expit(eta_g + u[b, lay.g_area]))
        total = np.bincount(lay.g_area, weights=rest, minlength=P)
        if lay.sample_in_population:
            total += np.bincount(lay.s_pop, weights=yb, minlength=P)
        if np.all(yb == yb[0]):
            continue
        prob.y = yb
        prob.b = np.zeros(prob.A)
        theta, _, _ = maximise(prob, theta0.copy(), polish=False, hess_inv0=h0)
        est = _ebp(lay, prob, yb, theta[1:], float(theta[0]), n_quad)
        sq += (est - total / lay.N_i) ** 2
        used += 1
    if used == 0:
        raise ModelError(
            "No bootstrap sample could be refitted (every one had a single outcome value).",
            code="bootstrap_failed",
        )
    return sq / used
