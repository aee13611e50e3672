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
from carepop.core.vocabulary import MSEMethod, SAEFitMethod, SAETransform, choose
from carepop.errors import ModelError, opt
from carepop.sae.areas import AreaData, area_data, resmooth
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
    smooth: str = "none",
    sample_size: str | None = None,
    method: str = "reml",
    mse: str = "analytic",
    boot: int = 200,
    seed: int | None = None,
    proximity: object | None = None,
    transform: str = "none",
    n_eff: str | None = None,
    benchmark: object | None = None,
    benchmark_by: str | None = None,
    sizes: str | None = None,
    benchmark_method: str = "ratio",
    level: float = 0.95,
    maxiter: int = 100,
    tol: float = 1e-4,
) -> AreaEstimates:
    """Fay–Herriot model estimates by area (see the module docstring).

    Parameters
    ----------
    direct, areas, area, covariates, categorical, intercept, estimate, se, variance, variable, category,
    smooth, sample_size :
        the direct estimates and the area covariates, as :func:`carepop.sae.areas.area_data` takes them.
    method : ``reml`` (default), ``ml``, ``fh`` (the Fay–Herriot moment estimator; plain model only) or
        ``amrl`` (Li & Lahiri's adjusted REML: never 0, and intervals that keep their coverage when
        σ²ᵥ is small against the sampling variances; emdi's ``"amrl"``; plain model only).
    mse : ``analytic`` (Prasad–Rao for REML, Datta–Lahiri for ML, the FH-method formula for ``fh``;
        Molina, Salvati & Pratesi for the spatial model) or ``bootstrap`` (parametric, ``boot``
        replicates, ``seed``).
    proximity : fits the spatial model (SAR area effects) with this proximity: a table (or CSV file)
        ``from, to, weight`` over the area codes, ``"councils"`` (English councils sharing a
        boundary), or a row-standardised matrix over the areas in their order (scipy sparse or dense).
    transform : ``none``, ``arcsin`` (proportions; needs ``n_eff``), ``logit`` (proportions) or ``log``
        (skewed totals): the model is fitted to the transformed direct estimates and carried back
        with emdi's bias corrections; the MSE on the original scale is by parametric bootstrap
        (``arcsin``, ``logit``) or Slud–Maiti (``log`` with ``mse="analytic"``); the interval is the
        transformed-scale interval carried back (it stays inside [0, 1] for proportions).
    n_eff : the column of effective sample sizes (``arcsin``); default ``p(1-p)/ψ``.
    benchmark : benchmark the model estimates to a target: a number (one target for all areas),
        a mapping ``group -> target`` (groups in ``benchmark_by``), or ``"aggregate"`` (the
        direct estimates' own aggregate ``Σ N_i ŷ_i / Σ N_i`` per group, with ``N_i`` from ``sizes``).
    benchmark_by : the column (of the area table) with the groups (e.g. ``region_code``); None: all areas.
    sizes : the column with the areas' population sizes; shares ``N_i / Σ N_i`` within a group
        (means, proportions). Without it the estimates are totals and add up to the target.
    benchmark_method : ``ratio``, ``additive`` (emdi's "raking") or ``mse-adjusted``. The MSE after
        benchmarking is ``MSE + (benchmarked − model)²`` (Datta et al. 2011, a plug-in; a given
        target and the shares treated as known); with ``"aggregate"`` the target is itself an
        estimate, and its sampling variance ``Σ s_j² ψ_j`` enters by the delta method,
        ``+ (∂θ̂ᵇ_i/∂t_g)² Var(t_g)`` (in the simulation of ``validation/README.md`` this brings the
        council intervals of carers from 92.6% to 94.4%).
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
        smooth=smooth,
        sample_size=sample_size,
        variance_needed=not (str(transform).lower() in ("arcsin", "arcsine") and n_eff is not None),
    )
    transform = choose(transform, SAETransform, "transform", "transformation")
    if data.smoothing is not None:
        # proportions: the variances from each area's own model proportion, not the pooled one
        # (two steps: a REML fit with the pooled variances gives the synthetic proportions x'β)
        from carepop.sae import fay_herriot as fh

        first = fh.fit_fay_herriot(data.y, data.X, data.psi, method="reml", maxiter=maxiter, tol=tol)
        data = resmooth(data, data.X @ first.beta, "synthetic proportion of a first REML fit")
    if proximity is not None:
        if transform != "none":
            raise ModelError(
                "Transformations are available for the plain Fay–Herriot model, not the spatial one.",
                code="bad_option",
                fix=("leave out ", opt("transform", "none"), " or the proximity"),
            )
        result = _spatial(data, proximity, method, mse, boot, seed, level, maxiter, tol)
    elif transform != "none":
        result = _transformed(data, transform, n_eff, method, mse, boot, seed, level, maxiter, tol)
    else:
        result = _plain(data, method, mse, boot, seed, level, maxiter, tol)
    if benchmark is not None:
        result = _benchmarked(result, data, benchmark, benchmark_by, sizes, benchmark_method)
    return result


_MSE_FORMULA = {"reml": "Prasad–Rao", "ml": "Datta–Lahiri", "fh": "Datta, Rao & Smith", "amrl": "Li–Lahiri"}


def _plain(
    data: AreaData, method: str, mse: str, boot: int, seed: int | None, level: float, maxiter: int, tol: float
) -> AreaEstimates:
    from carepop.sae import fay_herriot as fh

    fit = fh.fit_fay_herriot(data.y, data.X, data.psi, method=method, maxiter=maxiter, tol=tol)
    est, gamma = fh.eblup(fit, data.y, data.X, data.psi)
    inside = data.in_sample
    if mse == "analytic":
        m = fh.mse_analytic(fit, data.X, data.psi, inside)
        how = f"analytic ({_MSE_FORMULA[method]})"
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
    diagnostics, figures = _diagnostics(data, fit, est, m, level)
    notes.extend(diagnostics.get("notes", []))
    model = _fit_record(fit, data, "fay_herriot", {"sigma2_v": float(fit.sigma2)})
    return _result(data, est, m, gamma, model, how, level, notes, diagnostics=diagnostics, figures=figures)


def _diagnostics(data: AreaData, fit, est: np.ndarray, mse: np.ndarray, level: float) -> tuple[dict, object]:
    """Brown's test, residual normality, synthetic–direct correlation, areas outside their
    intervals (:mod:`carepop.sae.diagnostics`); its warnings also become notes."""
    from carepop.sae.diagnostics import fh_diagnostics

    if int(data.in_sample.sum()) < 3:
        return {}, None
    diag = fh_diagnostics(data.y, data.X @ fit.beta, est, data.psi, fit.sigma2, mse, level=level)

    def figures() -> dict:
        from carepop.sae.plots import diagnostics_figures

        return diagnostics_figures(diag, data.y, est, data.psi)

    return diag.summary(), figures


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

    if method in ("fh", "amrl"):
        raise ModelError(
            "The spatial model is fitted by REML or ML, not by the moment method or adjusted REML.",
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
    notes = list(data.notes)
    if not fit.converged:
        notes.append(f"the fit did not converge in {fit.iterations} iterations")
    model = _fit_record(
        fit, data, "spatial_fay_herriot", {"sigma2_v": float(fit.sigma2), "rho": float(fit.rho)}
    )
    return _result(data, est, m, gamma, model, "analytic (Molina, Salvati & Pratesi)", level, notes)


def _result(
    data: AreaData,
    est: np.ndarray,
    mse: np.ndarray,
    gamma: np.ndarray,
    fit: ModelFit,
    mse_method: str,
    level: float,
    notes: list[str],
    *,
    interval: tuple[np.ndarray, np.ndarray] | None = None,
    diagnostics: dict | None = None,
    records: dict | None = None,
    figures=None,
) -> AreaEstimates:
    z = float(norm_ppf(1 - (1 - level) / 2))
    rmse = np.sqrt(mse)
    lower, upper = (est - z * rmse, est + z * rmse) if interval is None else interval
    table = pd.DataFrame(
        {
            data.area: data.areas,
            "direct": data.y,
            "direct_se": np.sqrt(data.psi),
            "estimate": est,
            "mse": mse,
            "rmse": rmse,
            "ci_lower": lower,
            "ci_upper": upper,
            "gamma": gamma,
            "in_sample": data.in_sample,
        }
    )
    return AreaEstimates(
        table=table,
        area=data.area,
        fit=fit,
        mse_method=mse_method,
        level=level,
        notes=tuple(notes),
        diagnostics=diagnostics or {},
        records=records or {},
        figures=figures,
    )


def _fit_record(fit, data: AreaData, model: str, components: dict[str, float]) -> ModelFit:
    p = data.X.shape[1]
    n_in = int(data.in_sample.sum())
    return ModelFit(
        model=model,
        method=fit.method,
        variance_components=components,
        coefficients=coefficient_table(data.terms, fit.beta, fit.beta_cov),
        loglik=float(fit.loglik),
        aic=float(-2 * fit.loglik + 2 * (p + len(components))),
        bic=float(-2 * fit.loglik + np.log(n_in) * (p + len(components))),
        iterations=int(fit.iterations),
        converged=bool(fit.converged),
        n_areas=len(data.areas),
        n_in_sample=n_in,
    )


_TRANSFORM_NAME = {"arcsin": "arcsine", "logit": "logit", "log": "log"}


def _transformed(
    data: AreaData,
    transform: str,
    n_eff: str | None,
    method: str,
    mse: str,
    boot: int,
    seed: int | None,
    level: float,
    maxiter: int,
    tol: float,
) -> AreaEstimates:
    """The model on the transformed scale (:func:`carepop.sae.transforms.fh_transformed`), carried back."""
    from carepop.sae import fay_herriot as fh
    from carepop.sae.transforms import back_transform, fh_transformed

    notes = list(data.notes)
    inside = data.in_sample
    y = np.where(inside, data.y, np.nan)
    if transform in ("arcsin", "logit"):
        bad = inside & ~((data.y >= 0) & (data.y <= 1))
        if bad.any():
            raise ModelError(
                f"The {transform} transformation is for proportions; {int(bad.sum())} direct estimate(s) "
                f"are outside [0, 1]: {', '.join(map(str, data.areas[bad][:8]))}.",
                code="not_a_proportion",
                column="direct",
                rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
                fix=("use ", opt("transform", "log"), " or none for estimates that are not proportions"),
            )
    if transform == "log" and (inside & ~(data.y > 0)).any():
        bad = inside & ~(data.y > 0)
        raise ModelError(
            f"The log transformation needs positive direct estimates; {int(bad.sum())} are not: "
            f"{', '.join(map(str, data.areas[bad][:8]))}.",
            code="not_positive",
            column="direct",
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            fix="use another transformation, or none",
        )
    neff = None
    if transform == "arcsin":
        if n_eff is not None:
            if n_eff not in data.table.columns:
                raise ModelError(
                    f"No column {n_eff!r} with effective sample sizes.",
                    code="unknown_column",
                    column=n_eff,
                    fix=("name the column with ", opt("n_eff", metavar="COL")),
                )
            neff = pd.to_numeric(data.table[n_eff], errors="coerce").to_numpy(dtype=float)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                neff = data.y * (1 - data.y) / data.psi
            degenerate = inside & ~(np.isfinite(neff) & (neff > 0))
            if degenerate.any():
                raise ModelError(
                    f"{int(degenerate.sum())} area(s) have a direct proportion of 0 or 1, so their "
                    f"effective sample size p(1-p)/variance is 0: "
                    f"{', '.join(map(str, data.areas[degenerate][:8]))}.",
                    code="effective_n",
                    fix=("give the effective sample sizes with ", opt("n_eff", metavar="COL")),
                )
        notes.append(
            f"arcsine transformation with psi = 1/(4 n_eff) (n_eff from {n_eff or 'p(1-p)/variance'})"
        )
    mse_kind = "bootstrap" if (transform != "log" or mse == "bootstrap") else "sm"
    if mse == "analytic" and transform != "log":
        notes.append(
            f"the {transform} model's MSE on the original scale is by parametric bootstrap "
            f"({boot} replicates)"
        )
    res = fh_transformed(
        y,
        data.X,
        _TRANSFORM_NAME[transform],
        var=data.psi if transform != "arcsin" else None,
        n_eff=neff,
        method=method,
        back="bc",
        mse=mse_kind,
        B=boot,
        seed=seed,
        maxiter=maxiter,
        tol=tol,
    )
    fit = res.fit
    psi_t = np.where(inside, res.psi_transformed, 1.0)
    mse_t = fh.mse_analytic(fit, data.X, psi_t, inside)
    z = float(norm_ppf(1 - (1 - level) / 2))
    half = z * np.sqrt(mse_t)
    name = _TRANSFORM_NAME[transform]
    lower = back_transform(name, res.estimate_transformed - half, 0.0, np.zeros_like(half), method="naive")
    upper = back_transform(name, res.estimate_transformed + half, 0.0, np.zeros_like(half), method="naive")
    how = (
        f"parametric bootstrap on the original scale, {boot} replicates, seed {seed}"
        if mse_kind == "bootstrap"
        else "analytic (Slud–Maiti, log scale carried back)"
    )
    model = _fit_record(fit, data, f"fay_herriot ({transform})", {"sigma2_v": float(fit.sigma2)})
    if fit.boundary:
        notes.append("the estimated area-effect variance sigma2_v is 0 on the transformed scale")
    return _result(
        data,
        res.estimate,
        res.mse,
        res.gamma,
        model,
        how,
        level,
        notes,
        interval=(lower, upper),
        records={"transform": res.record},
    )


def _benchmarked(
    result: AreaEstimates,
    data: AreaData,
    target: object,
    by: str | None,
    sizes: str | None,
    method: str,
) -> AreaEstimates:
    """Benchmark the estimates (:func:`carepop.sae.benchmark.benchmark`) and refresh MSE and intervals."""
    from carepop.core.vocabulary import BenchmarkMethod
    from carepop.sae.benchmark import benchmark as bench

    method = choose(method, BenchmarkMethod, "benchmark_method", "benchmarking method")
    table = data.table
    for col, param in ((by, "benchmark_by"), (sizes, "sizes")):
        if col is not None and col not in table.columns:
            raise ModelError(
                f"No column {col!r} in the area table for benchmarking.",
                code="unknown_column",
                column=col,
                expected=list(map(str, table.columns)),
                fix=("name an area-table column with ", opt(param, metavar="COL")),
            )
    groups = None if by is None else table[by].astype(str).to_numpy()
    N = None if sizes is None else pd.to_numeric(table[sizes], errors="coerce").to_numpy(dtype=float)
    if N is not None and not (np.isfinite(N) & (N > 0)).all():
        bad = ~(np.isfinite(N) & (N > 0))
        raise ModelError(
            f"The population sizes in {sizes!r} must be positive numbers; {int(bad.sum())} are not.",
            code="bad_sizes",
            column=sizes,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            fix="give every area its population size",
        )
    estimated = isinstance(target, str) and target == "aggregate"
    if estimated:
        target = _aggregate_target(data, groups, N, by, sizes)
    est = result.table["estimate"].to_numpy()
    mse = result.table["mse"].to_numpy()
    kind = {"ratio": "ratio", "additive": "raking", "mse-adjusted": "mse"}[method]
    out = bench(est, target, sizes=N, groups=groups, method=kind, mse=mse)
    z = float(norm_ppf(1 - (1 - result.level) / 2))
    table_out = result.table.copy()
    table_out["estimate"] = out.estimate
    if out.mse is not None:
        if estimated:
            out_mse = out.mse + _target_variance_term(out, groups, est, mse, data.psi, kind)
        else:
            out_mse = out.mse
        table_out["mse"] = out_mse
        table_out["rmse"] = np.sqrt(out_mse)
    table_out["ci_lower"] = out.estimate - z * table_out["rmse"]
    table_out["ci_upper"] = out.estimate + z * table_out["rmse"]
    where = f"the targets of each {by}" if by else "one target"
    if estimated:
        known = (
            "+ (d theta_b / d t)^2 Var(t), the variance of the direct aggregate target "
            "t = sum N_j y_j / sum N_j (delta method, the target's sampling variance "
            "sum (N_j / sum N)^2 psi_j; shares treated as known)"
        )
    else:
        known = "(targets and shares treated as known)"
    note = (
        f"benchmarked ({method}) to {where}; MSE after benchmarking = MSE + (benchmarked - model)^2 "
        f"{known}; intervals estimate ± z·RMSE"
    )
    record = dict(result.records)
    record["benchmark"] = out.record if isinstance(out.record, dict) else getattr(out.record, "__dict__", {})
    return AreaEstimates(
        table=table_out,
        area=result.area,
        fit=result.fit,
        mse_method=result.mse_method + " + benchmarking",
        level=result.level,
        notes=(*result.notes, note),
        diagnostics=result.diagnostics,
        records=record,
        figures=result.figures,
    )


def _target_variance_term(
    out, groups: np.ndarray | None, est: np.ndarray, mse: np.ndarray, psi: np.ndarray, kind: str
) -> np.ndarray:
    """``(∂θ̂ᵇ_i/∂t_g)² Var(t_g)`` for a target estimated by the direct aggregate of group g.

    ``t_g = Σ_j s_j y_j`` (shares ``s_j = N_j / Σ_g N``, independent direct estimates) has variance
    ``Σ_j s_j² ψ_j``. The benchmarked estimate ``θ̂ᵇ_i = θ̂_i + a_i (t_g − Σ s_j θ̂_j) / Σ s_j a_j``
    moves with the target by ``∂θ̂ᵇ_i/∂t_g = a_i / Σ_j s_j a_j`` (``a_i`` = θ̂_i for ratio, 1 for
    raking, MSE_i for the MSE-adjusted method); the covariance of ``t_g`` with the model estimate
    is left out (first order, delta method)."""
    s = out.share
    codes = np.zeros(est.shape[0], dtype=int) if groups is None else np.unique(groups, return_inverse=True)[1]
    var_t = np.bincount(codes, weights=s * s * np.nan_to_num(psi))
    a = {"ratio": est, "raking": np.ones_like(est), "mse": mse}[kind]
    d = a / np.bincount(codes, weights=s * a)[codes]
    return d * d * var_t[codes]


def _aggregate_target(data: AreaData, groups, N, by: str | None, sizes: str | None) -> object:
    """``Σ N_i ŷ_i / Σ N_i`` of the direct estimates per group (every area of a group needs one)."""
    if N is None:
        raise ModelError(
            "Benchmarking to the direct estimates' aggregate needs the areas' population sizes.",
            code="missing_sizes",
            fix=("name the population size column with ", opt("sizes", metavar="COL")),
        )
    missing = ~data.in_sample
    if missing.any():
        raise ModelError(
            f"{int(missing.sum())} area(s) have no direct estimate, so the direct aggregate of their "
            f"group is unknown: {', '.join(map(str, data.areas[missing][:8]))}.",
            code="aggregate_incomplete",
            column=data.area,
            fix="benchmark to known targets instead (a number, or a table of targets by group)",
        )
    if groups is None:
        return float(np.sum(N * data.y) / np.sum(N))
    labels, codes = np.unique(groups, return_inverse=True)
    num = np.bincount(codes, weights=N * data.y)
    den = np.bincount(codes, weights=N)
    return dict(zip(labels.tolist(), (num / den).tolist(), strict=True))
