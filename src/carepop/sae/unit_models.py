"""Unit-level models from survey microdata to area estimates: :func:`bhf` (a mean) and :func:`ebp`
(a proportion of a yes/no outcome), each returning :class:`~carepop.sae.results.AreaEstimates`.

- :func:`bhf`: the nested-error model of Battese, Harter & Fuller (1988),
  ``y_ij = x_ij'β + u_i + e_ij`` fitted by REML (:mod:`carepop.sae.unit_level`), with the EBLUP of
  every area's mean from the population means of the covariates and the population sizes; MSE
  analytic (Prasad–Rao type) or by parametric bootstrap. R: ``sae::eblupBHF`` / ``pbmseBHF``.
- :func:`ebp`: a logistic mixed model ``logit P(y_ij = 1) = x_ij'β + u_i`` fitted by maximum
  likelihood (Laplace or adaptive Gauss–Hermite, :mod:`carepop.sae.glmm`), and the empirical best
  predictor of every area's proportion from a population table of covariate patterns with counts
  (:mod:`carepop.sae.ebp`); MSE by parametric bootstrap. R: ``lme4::glmer(..., family = binomial)``
  for the fit.

The direct columns are the areas' plain sample mean (proportion) and its standard error
``s_i / √n_i`` (simple random sampling within the area; NaN with fewer than two respondents).
Intervals are ``estimate ± z √MSE`` (kept within [0, 1] for a proportion).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from carepop.core.estimation.ci import norm_ppf
from carepop.core.vocabulary import MSEMethod, choose
from carepop.errors import ModelError
from carepop.sae.areas import need_columns
from carepop.sae.results import AreaEstimates, ModelFit, coefficient_table


def _numeric(frame: pd.DataFrame, columns: Sequence[str], what: str) -> np.ndarray:
    out = np.empty((len(frame), len(columns)))
    for k, c in enumerate(columns):
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v)
        if bad.any():
            raise ModelError(
                f"Column {c!r} of {what} has missing or non-numeric values.",
                code="not_numeric",
                column=c,
                rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
                got=frame[c][bad].astype(str).tolist()[:5],
                fix="give a number in every row (drop or impute the rows first)",
            )
        out[:, k] = v
    return out


def _design(values: np.ndarray, intercept: bool) -> np.ndarray:
    return np.column_stack([np.ones(len(values)), values]) if intercept else values


def _direct(codes: np.ndarray, y: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and ``s/√n`` by area (in the order of ``areas``); NaN where not computable."""
    index = pd.Index(areas)
    pos = index.get_indexer(codes)
    A = len(areas)
    n = np.bincount(pos, minlength=A).astype(float)
    s1 = np.bincount(pos, weights=y, minlength=A)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / n
        ss = np.bincount(pos, weights=(y - mean[pos]) ** 2, minlength=A)
        se = np.sqrt(ss / (n - 1) / n)
    return np.where(n > 0, mean, np.nan), np.where(n > 1, se, np.nan)


def _frame(
    area: str,
    areas: np.ndarray,
    direct: np.ndarray,
    direct_se: np.ndarray,
    est: np.ndarray,
    mse: np.ndarray,
    gamma: np.ndarray,
    in_sample: np.ndarray,
    level: float,
    bounds: tuple[float, float] | None,
) -> pd.DataFrame:
    z = float(norm_ppf(1 - (1 - level) / 2))
    rmse = np.sqrt(mse)
    lower, upper = est - z * rmse, est + z * rmse
    if bounds is not None:
        lower, upper = np.clip(lower, *bounds), np.clip(upper, *bounds)
    return pd.DataFrame(
        {
            area: areas,
            "direct": direct,
            "direct_se": direct_se,
            "estimate": est,
            "mse": mse,
            "rmse": rmse,
            "ci_lower": lower,
            "ci_upper": upper,
            "gamma": gamma,
            "in_sample": in_sample,
        }
    )


def bhf(
    sample: pd.DataFrame,
    population: pd.DataFrame,
    *,
    area: str,
    y: str,
    covariates: Sequence[str],
    pop_size: str,
    intercept: bool = True,
    mse: str = "analytic",
    boot: int = 200,
    seed: int | None = None,
    level: float = 0.95,
) -> AreaEstimates:
    """Battese–Harter–Fuller EBLUPs of the area means (see the module docstring).

    Parameters
    ----------
    sample : one row per respondent: the area, ``y`` and the covariates.
    population : one row per area: the area, the population means of the covariates (same names)
        and the population size ``pop_size``. Areas without sample get the synthetic ``X̄_i'β̂``.
    mse : ``analytic`` or ``bootstrap`` (``boot`` replicates, ``seed``).
    """
    from carepop.sae.unit_level import eblup_bhf, fit_bhf, mse_bhf_analytic, mse_bhf_bootstrap

    mse = choose(mse, MSEMethod, "mse", "MSE method")
    covariates = list(covariates)
    need_columns(sample, [area, y, *covariates], "The sample", "covariates")
    need_columns(population, [area, *covariates, pop_size], "The population table", "pop_size")
    yv = _numeric(sample, [y], "the sample")[:, 0]
    X = _design(_numeric(sample, covariates, "the sample"), intercept)
    Xbar = _design(_numeric(population, covariates, "the population table"), intercept)
    N = _numeric(population, [pop_size], "the population table")[:, 0]
    codes = sample[area].astype(str).to_numpy()
    pop_codes = population[area].astype(str).to_numpy()
    fit = fit_bhf(yv, X, codes)
    pred = eblup_bhf(fit, yv, X, codes, pop_codes, Xbar, N)
    args = (fit, yv, X, codes, pop_codes, Xbar, N)
    if mse == "analytic":
        m = mse_bhf_analytic(*args)
        how = "analytic (Prasad–Rao, nested-error model)"
    else:
        m = mse_bhf_bootstrap(*args, B=boot, seed=seed)
        how = f"parametric bootstrap, {boot} replicates, seed {seed}"
    direct, direct_se = _direct(codes, yv, pred.areas)
    terms = (["(Intercept)"] if intercept else []) + covariates
    k = len(terms) + 2
    model = ModelFit(
        model="battese_harter_fuller",
        method="reml",
        variance_components={"sigma2_u": float(fit.sigma2_u), "sigma2_e": float(fit.sigma2_e)},
        coefficients=coefficient_table(terms, fit.beta, fit.beta_cov),
        loglik=float(fit.loglik),
        aic=float(-2 * fit.loglik + 2 * k),
        bic=float(-2 * fit.loglik + np.log(fit.n_obs) * k),
        iterations=int(fit.iterations),
        converged=bool(fit.converged),
        n_areas=len(pred.areas),
        n_in_sample=int(pred.sampled.sum()),
    )
    notes = ["log-likelihood, AIC and BIC are the restricted (REML) ones"]
    if fit.sigma2_u == 0:
        notes.append("the estimated area-effect variance sigma2_u is 0: every estimate is synthetic")
    table = _frame(
        area, pred.areas, direct, direct_se, pred.estimate, m, pred.gamma, pred.sampled, level, None
    )
    return AreaEstimates(table=table, area=area, fit=model, mse_method=how, level=level, notes=tuple(notes))


def ebp(
    sample: pd.DataFrame,
    population: pd.DataFrame,
    *,
    area: str,
    y: str,
    covariates: Sequence[str],
    count: str,
    intercept: bool = True,
    sample_in_population: bool = True,
    n_agq: int = 1,
    boot: int = 200,
    seed: int | None = None,
    level: float = 0.95,
) -> AreaEstimates:
    """Empirical best predictors of area proportions from a logistic mixed model (module docstring).

    Parameters
    ----------
    sample : one row per respondent: the area, the 0/1 outcome ``y`` and the covariates.
    population : covariate patterns by area with their population counts (``count``), e.g. a census
        table; one row per unit works too (count 1). ``sample_in_population``: the counts include
        the sampled respondents.
    n_agq : Gauss–Hermite points per area in the fit (1: Laplace, as ``glmer``'s default).
    boot, seed : the parametric bootstrap of the MSE.
    """
    from carepop.sae.ebp import ebp_proportion, mse_ebp_bootstrap
    from carepop.sae.glmm import fit_logistic_mixed

    covariates = list(covariates)
    need_columns(sample, [area, y, *covariates], "The sample", "covariates")
    need_columns(population, [area, *covariates, count], "The population table", "count")
    X = _design(_numeric(sample, covariates, "the sample"), intercept)
    pX = _design(_numeric(population, covariates, "the population table"), intercept)
    cnt = _numeric(population, [count], "the population table")[:, 0]
    codes = sample[area].astype(str).to_numpy()
    pop_codes = population[area].astype(str).to_numpy()
    yv = sample[y]
    fit = fit_logistic_mixed(yv, X, codes, n_agq=n_agq)
    args = (fit, yv, X, codes, pX, pop_codes, cnt)
    pred = ebp_proportion(*args, sample_in_population=sample_in_population)
    m = mse_ebp_bootstrap(*args, B=boot, seed=seed, sample_in_population=sample_in_population)
    y01 = pd.to_numeric(yv, errors="coerce").to_numpy(dtype=float)
    direct, direct_se = _direct(codes, y01, pred.areas)
    terms = (["(Intercept)"] if intercept else []) + covariates
    k = len(terms) + 1
    model = ModelFit(
        model="ebp_logistic_mixed",
        method="ml (Laplace)" if n_agq == 1 else f"ml (adaptive Gauss–Hermite, {n_agq} points)",
        variance_components={"sigma2_u": float(fit.sigma2_u)},
        coefficients=coefficient_table(terms, fit.beta, fit.beta_cov),
        loglik=float(fit.loglik),
        aic=float(-2 * fit.loglik + 2 * k),
        bic=float(-2 * fit.loglik + np.log(len(y01)) * k),
        iterations=int(fit.iterations),
        converged=bool(fit.converged),
        n_areas=len(pred.areas),
        n_in_sample=int(pred.in_sample.sum()),
    )
    gamma = np.full(len(pred.areas), np.nan)  # no linear shrinkage factor for the EBP
    table = _frame(
        area, pred.areas, direct, direct_se, pred.estimate, m, gamma, pred.in_sample, level, (0.0, 1.0)
    )
    notes = ["intervals estimate ± z·RMSE, kept within [0, 1]"]
    return AreaEstimates(
        table=table,
        area=area,
        fit=model,
        mse_method=f"parametric bootstrap, {boot} replicates, seed {seed}",
        level=level,
        notes=tuple(notes),
    )
