"""Area-level models from direct estimates to published area estimates: :func:`fay_herriot`.

One call takes a survey's domain estimates (or any table of direct estimates with SEs), joins the
area covariates (:mod:`carepop.sae.areas`), fits the Fay–Herriot model — plain
(:mod:`carepop.sae.fay_herriot`) or spatial with SAR area effects (:mod:`carepop.sae.spatial`) —
and returns :class:`~carepop.sae.results.AreaEstimates`: for every area the direct estimate, the
model estimate (EBLUP in the sample, synthetic x'β out of it), its MSE, RMSE, interval and
shrinkage factor, with the fit and notes of every choice made.

R equivalent: ``sae::mseFH(y ~ x, vardir, method = "REML")`` / ``sae::mseSFH`` /
``emdi::fh(fixed = y ~ x, vardir = "v", combined_data = ..., domains = "area", MSE = TRUE)``.

Intervals are ``estimate ± z_{1-a/2} √MSE`` (normal, as emdi's ``fh``); they treat the sampling
variances ψᵢ as known, as the model does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from carepop.core.estimation.ci import norm_ppf
from carepop.core.results import Estimates
from carepop.core.vocabulary import MSEMethod, SAEFitMethod, choose
from carepop.errors import ModelError, opt
from carepop.sae.areas import AreaData, area_data
from carepop.sae.results import AreaEstimates, ModelFit, coefficient_table


def fay_herriot(
    direct: Estimates | pd.DataFrame,
    areas: pd.DataFrame | None = None,
    *,
    area: str | None = None,
    covariates: Sequence[str] = (),
    categorical: Sequence[str] = (),
    intercept: bool = True,
    estimate: str = "estimate",
    se: str | None = None,
    variance: str | None = None,
    variable: str | None = None,
    category: object | None = None,
    method: str = "reml",
    mse: str = "analytic",
    boot: int = 200,
    seed: int | None = None,
    proximity: object | None = None,
    level: float = 0.95,
    maxiter: int = 100,
    tol: float = 1e-4,
) -> AreaEstimates:
    """Fay–Herriot model estimates by area (see the module docstring).

    Parameters
    ----------
    direct, areas, area, covariates, categorical, intercept, estimate, se, variance, variable, category :
        the direct estimates and the area covariates, as :func:`carepop.sae.areas.area_data` takes them.
    method : ``reml`` (default), ``ml``, or ``fh`` (the Fay–Herriot moment estimator; plain model only).
    mse : ``analytic`` (Prasad–Rao for REML, Datta–Lahiri for ML, the FH-method formula for ``fh``;
        Molina, Salvati & Pratesi for the spatial model) or ``bootstrap`` (parametric, ``boot``
        replicates, ``seed``).
    proximity : fits the spatial model (SAR area effects) with this proximity: a table (or CSV file)
        ``from, to, weight`` over the area codes, ``"councils"`` (English councils sharing a
        boundary), or a row-standardised matrix over the areas in their order (scipy sparse or dense).
    level : the interval's confidence level.
    maxiter, tol : the Fisher-scoring iterations and stopping tolerance (R ``sae``'s ``MAXITER``,
        ``PRECISION``).
    """
    method = choose(method, SAEFitMethod, "method", "model fitting method")
    mse = choose(mse, MSEMethod, "mse", "MSE method")
    if not 0 < level < 1:
        raise ModelError(
            f"The confidence level must be between 0 and 1; got {level}.",
            code="bad_option",
            got=level,
            fix=("set ", opt("level", 0.95)),
        )
    data = area_data(
        direct,
        areas,
        area=area,
        covariates=covariates,
        categorical=categorical,
        intercept=intercept,
        estimate=estimate,
        se=se,
        variance=variance,
        variable=variable,
        category=category,
    )
    if proximity is not None:
        return _spatial(data, proximity, method, mse, boot, seed, level, maxiter, tol)
    return _plain(data, method, mse, boot, seed, level, maxiter, tol)


def _plain(
    data: AreaData, method: str, mse: str, boot: int, seed: int | None, level: float, maxiter: int, tol: float
) -> AreaEstimates:
    from carepop.sae import fay_herriot as fh

    fit = fh.fit_fay_herriot(data.y, data.X, data.psi, method=method, maxiter=maxiter, tol=tol)
    est, gamma = fh.eblup(fit, data.y, data.X, data.psi)
    inside = data.in_sample
    if mse == "analytic":
        m = fh.mse_analytic(fit, data.X, data.psi, inside)
        how = {
            "reml": "analytic (Prasad–Rao)",
            "ml": "analytic (Datta–Lahiri)",
            "fh": "analytic (Datta, Rao & Smith)",
        }[method]
    else:
        m = fh.mse_bootstrap(fit, data.X, data.psi, inside, B=boot, seed=seed)
        how = f"parametric bootstrap, {boot} replicates, seed {seed}"
    notes = list(data.notes)
    if fit.boundary:
        notes.append(
            "the estimated area-effect variance sigma2_v is 0: every estimate is the synthetic "
            "regression prediction (the covariates explain all between-area variation the data can show)"
        )
    if not fit.converged:
        notes.append(f"the fit did not converge in {fit.iterations} iterations")
    p = data.X.shape[1]
    n_in = int(inside.sum())
    return _result(
        data,
        est,
        m,
        gamma,
        ModelFit(
            model="fay_herriot",
            method=method,
            variance_components={"sigma2_v": float(fit.sigma2)},
            coefficients=coefficient_table(data.terms, fit.beta, fit.beta_cov),
            loglik=float(fit.loglik),
            aic=float(-2 * fit.loglik + 2 * (p + 1)),
            bic=float(-2 * fit.loglik + np.log(n_in) * (p + 1)),
            iterations=int(fit.iterations),
            converged=bool(fit.converged),
            n_areas=len(data.areas),
            n_in_sample=n_in,
        ),
        how,
        level,
        notes,
    )


def _spatial(
    data: AreaData,
    proximity: object,
    method: str,
    mse: str,
    boot: int,
    seed: int | None,
    level: float,
    maxiter: int,
    tol: float,
) -> AreaEstimates:
    from carepop.sae import spatial
    from carepop.sae.proximity import council_adjacency, read_proximity

    if method == "fh":
        raise ModelError(
            "The spatial model is fitted by REML or ML, not by the Fay–Herriot moment method.",
            code="bad_option",
            got=method,
            expected=["reml", "ml"],
            fix=("set ", opt("method", "reml")),
        )
    if mse == "bootstrap":
        raise ModelError(
            "The spatial model's MSE is analytic (Molina, Salvati & Pratesi 2009); no bootstrap.",
            code="bad_option",
            fix=("set ", opt("mse", "analytic")),
        )
    if isinstance(proximity, str) and proximity == "councils":
        W = council_adjacency(data.areas)
    elif isinstance(proximity, pd.DataFrame | str | Path):
        W = read_proximity(proximity, data.areas)
    else:  # a matrix over the areas, in their order
        W = proximity
    fit = spatial.fit_spatial_fh(data.y, data.X, data.psi, W, method=method, maxiter=maxiter, tol=tol)
    est = spatial.eblup_spatial(fit, data.y, data.X, data.psi, W)
    m = spatial.mse_spatial(fit, data.X, data.psi, W)
    gamma = np.full(len(est), np.nan)  # no single shrinkage factor under correlated area effects
    p = data.X.shape[1]
    n_in = int(data.in_sample.sum())
    notes = list(data.notes)
    if not fit.converged:
        notes.append(f"the fit did not converge in {fit.iterations} iterations")
    return _result(
        data,
        est,
        m,
        gamma,
        ModelFit(
            model="spatial_fay_herriot",
            method=method,
            variance_components={"sigma2_v": float(fit.sigma2), "rho": float(fit.rho)},
            coefficients=coefficient_table(data.terms, fit.beta, fit.beta_cov),
            loglik=float(fit.loglik),
            aic=float(-2 * fit.loglik + 2 * (p + 2)),
            bic=float(-2 * fit.loglik + np.log(n_in) * (p + 2)),
            iterations=int(fit.iterations),
            converged=bool(fit.converged),
            n_areas=len(data.areas),
            n_in_sample=n_in,
        ),
        "analytic (Molina, Salvati & Pratesi)",
        level,
        notes,
    )


def _result(
    data: AreaData,
    est: np.ndarray,
    mse: np.ndarray,
    gamma: np.ndarray,
    fit: ModelFit,
    mse_method: str,
    level: float,
    notes: list[str],
) -> AreaEstimates:
    z = float(norm_ppf(1 - (1 - level) / 2))
    rmse = np.sqrt(mse)
    table = pd.DataFrame(
        {
            data.area: data.areas,
            "direct": data.y,
            "direct_se": np.sqrt(data.psi),
            "estimate": est,
            "mse": mse,
            "rmse": rmse,
            "ci_lower": est - z * rmse,
            "ci_upper": est + z * rmse,
            "gamma": gamma,
            "in_sample": data.in_sample,
        }
    )
    return AreaEstimates(
        table=table, area=data.area, fit=fit, mse_method=mse_method, level=level, notes=tuple(notes)
    )
