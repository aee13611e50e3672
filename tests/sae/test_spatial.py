"""Spatial Fay–Herriot model (SAR area effects) against R sae 1.3 on its grapes data.

Golden numbers: tests/sae/fixtures/grapes/ (README.md, make_fixtures.R), made by::

    .libPaths(c("/work/rlib", .libPaths())); library(sae)
    load("/tmp/saesrc/data/grapes.rda"); load("/tmp/saesrc/data/grapesprox.rda")
    res <- mseSFH(grapehect ~ area + workdays - 1, var, grapesprox, data = grapes,
                  method = "REML", PRECISION = 1e-12)       # also "ML", and PRECISION = 1e-4
    res$est$fit$refvar       # 69.74895626   (default PRECISION: 69.74898653)
    res$est$fit$spatialcorr  # 0.6142683013
    res$est$eblup[1]         # 31.24735856
    res$mse[1]               # 16.60956749
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from carepop.errors import ModelError
from carepop.sae.proximity import read_proximity
from carepop.sae.spatial import (
    SpatialFHFit,
    eblup_spatial,
    fit_spatial_fh,
    mse_spatial,
    sar_covariance,
)

FIX = Path(__file__).parent / "fixtures" / "grapes"
RUNS = {
    "reml_tight": ("reml", 1e-12),
    "reml_default": ("reml", 1e-4),
    "ml_tight": ("ml", 1e-12),
    "ml_default": ("ml", 1e-4),
}


@pytest.fixture(scope="module")
def grapes() -> tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    g = pd.read_csv(FIX / "grapes.csv")
    # grapesprox as stored by R (rows sum to 1 up to R's rounding of 1/3 etc.)
    W = read_proximity(FIX / "grapesprox.csv", np.arange(1, len(g) + 1), standardise=False)
    return (g["grapehect"].to_numpy(), g[["area", "workdays"]].to_numpy(), g["var"].to_numpy(), W)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(FIX / "sfh_summary.csv").set_index("run")


@pytest.fixture(scope="module")
def fits(grapes) -> dict[str, SpatialFHFit]:
    y, X, psi, W = grapes
    return {run: fit_spatial_fh(y, X, psi, W, method, tol=tol) for run, (method, tol) in RUNS.items()}


def test_quoted_r_numbers(fits, grapes) -> None:
    """The numbers quoted in the docstring (R, REML, PRECISION = 1e-12 and default)."""
    y, X, psi, W = grapes
    fit = fits["reml_tight"]
    assert fit.sigma2 == pytest.approx(69.74895626, abs=1e-8)
    assert fit.rho == pytest.approx(0.6142683013, abs=1e-10)
    assert eblup_spatial(fit, y, X, psi, W)[0] == pytest.approx(31.24735856, abs=1e-8)
    assert mse_spatial(fit, X, psi, W)[0] == pytest.approx(16.60956749, abs=1e-8)
    assert fits["reml_default"].sigma2 == pytest.approx(69.74898653, abs=1e-8)


@pytest.mark.parametrize("run", list(RUNS))
def test_fit_matches_r(run, fits, summary) -> None:
    fit, r = fits[run], summary.loc[run]
    assert fit.method == RUNS[run][0]
    assert fit.converged
    assert not fit.rho_at_bound
    assert fit.iterations == r["iterations"]
    assert fit.sigma2 == pytest.approx(r["sigma2"], rel=1e-9)
    assert fit.rho == pytest.approx(r["rho"], rel=1e-9)
    np.testing.assert_allclose(fit.beta, [r["beta_area"], r["beta_workdays"]], rtol=1e-9)
    np.testing.assert_allclose(fit.beta_se, [r["se_area"], r["se_workdays"]], rtol=1e-9)
    assert fit.loglik == pytest.approx(r["loglike"], rel=1e-10)
    assert fit.aic == pytest.approx(r["AIC"], rel=1e-10)
    assert fit.bic == pytest.approx(r["BIC"], rel=1e-10)


@pytest.mark.parametrize("run", list(RUNS))
def test_eblup_and_mse_match_r_in_every_area(run, fits, grapes) -> None:
    y, X, psi, W = grapes
    r = pd.read_csv(FIX / f"sfh_{run}.csv")
    est = eblup_spatial(fits[run], y, X, psi, W)
    mse = mse_spatial(fits[run], X, psi, W)
    assert est.shape == mse.shape == (274,)
    np.testing.assert_allclose(est, r["eblup"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(mse, r["mse"], rtol=0, atol=1e-6)
    # and much closer than the 1e-6 asked for
    np.testing.assert_allclose(mse, r["mse"], rtol=1e-9)


def test_dense_and_sparse_proximity_agree(grapes, fits) -> None:
    y, X, psi, W = grapes
    fit = fit_spatial_fh(y, X, psi, W.toarray(), "reml", tol=1e-12)
    assert fit.sigma2 == pytest.approx(fits["reml_tight"].sigma2, rel=1e-12)
    np.testing.assert_allclose(mse_spatial(fit, X, psi, W.toarray()), mse_spatial(fit, X, psi, W), rtol=1e-12)


def test_order_of_areas_does_not_matter(grapes, fits) -> None:
    y, X, psi, W = grapes
    perm = np.random.default_rng(7).permutation(len(y))
    Wp = W[perm][:, perm]
    fit = fit_spatial_fh(y[perm], X[perm], psi[perm], Wp, "reml", tol=1e-12)
    ref = fits["reml_tight"]
    assert fit.sigma2 == pytest.approx(ref.sigma2, rel=1e-9)
    assert fit.rho == pytest.approx(ref.rho, rel=1e-9)
    np.testing.assert_allclose(
        eblup_spatial(fit, y[perm], X[perm], psi[perm], Wp), eblup_spatial(ref, y, X, psi, W)[perm], rtol=1e-9
    )
    np.testing.assert_allclose(
        mse_spatial(fit, X[perm], psi[perm], Wp), mse_spatial(ref, X, psi, W)[perm], rtol=1e-8
    )


def test_sar_covariance_is_the_inverse_of_the_sar_precision(grapes) -> None:
    W = grapes[3].toarray()
    a = np.eye(len(W)) - 0.6 * W
    np.testing.assert_allclose(sar_covariance(W, 0.6) @ (a.T @ a), np.eye(len(W)), atol=1e-10)


def test_eblup_is_the_blup_formula_and_keeps_exact_direct_estimates(grapes, fits) -> None:
    """``X beta + sigma2 C V^{-1} (y - X beta)`` (dense, R's form), also when some psi are 0."""
    y, X, psi, W = grapes
    fit = fits["reml_tight"]
    psi0 = psi.copy()
    psi0[[0, 10, 20]] = 0.0
    g = fit.sigma2 * sar_covariance(W, fit.rho)
    v = g + np.diag(psi0)
    dense = X @ fit.beta + g @ np.linalg.solve(v, y - X @ fit.beta)
    est = eblup_spatial(fit, y, X, psi0, W)
    np.testing.assert_allclose(est, dense, rtol=1e-10)
    np.testing.assert_allclose(est[[0, 10, 20]], y[[0, 10, 20]], rtol=1e-12)


def test_zero_variance_gives_the_synthetic_estimate(grapes, fits) -> None:
    y, X, psi, W = grapes
    fit = dataclasses.replace(fits["reml_tight"], sigma2=0.0)
    np.testing.assert_allclose(eblup_spatial(fit, y, X, psi, W), X @ fit.beta)


def test_not_converging_warns_and_says_so(grapes) -> None:
    y, X, psi, W = grapes
    with pytest.warns(UserWarning, match="did not converge"):
        fit = fit_spatial_fh(y, X, psi, W, maxiter=2, tol=1e-12)
    assert not fit.converged
    assert fit.iterations == 2


def test_linear_trend_puts_rho_at_the_bound() -> None:
    """A linear trend along a path of areas (``(I - W) u = 0`` inside the path) with tiny sampling
    error: the REML update of rho passes 1 and is held at 0.999, flagged and warned (R would set
    rho to 1, where ``I - W`` is singular)."""
    m = 60
    off = np.ones(m - 1)
    W = sp.diags([off, off], [-1, 1]).tocsr()
    W = sp.diags(1 / np.asarray(W.sum(axis=1)).ravel()) @ W
    y = 10 + 5 * np.arange(m) / m + np.random.default_rng(2).normal(scale=0.01, size=m)
    with pytest.warns(UserWarning, match="bound"):
        fit = fit_spatial_fh(y, np.ones((m, 1)), np.full(m, 1e-4), W, "reml")
    assert fit.rho_at_bound
    assert fit.rho == 0.999


# --- bad input --------------------------------------------------------------------------------


OUT = np.arange(0, 274, 7)  # 40 areas taken out of the sample


@pytest.fixture(scope="module")
def out_of_sample(grapes):
    y, X, psi, W = grapes
    y1, psi1 = y.copy(), psi.copy()
    y1[OUT] = np.nan
    psi1[OUT] = np.nan  # not needed where there is no direct estimate
    fit = fit_spatial_fh(y1, X, psi1, W, "reml", tol=1e-12)
    return fit, y1, psi1


def test_out_of_sample_areas_get_the_spatial_blup(grapes, out_of_sample) -> None:
    """``X_i beta + sigma2 C_is V^{-1} (y_s - X_s beta)`` for every area, V on the sampled areas."""
    y, X, psi, W = grapes
    fit, y1, psi1 = out_of_sample
    s = ~np.isnan(y1)
    assert fit.n_sampled == 234 and fit.n_areas == 274
    np.testing.assert_array_equal(fit.sampled, s)
    g = fit.sigma2 * sar_covariance(W, fit.rho)
    v = g[np.ix_(s, s)] + np.diag(psi[s])
    resid = y[s] - X[s] @ fit.beta
    np.testing.assert_allclose(
        fit.beta,
        np.linalg.solve(X[s].T @ np.linalg.solve(v, X[s]), X[s].T @ np.linalg.solve(v, y[s])),
        rtol=1e-10,
    )
    dense = X @ fit.beta + g[:, s] @ np.linalg.solve(v, resid)
    np.testing.assert_allclose(eblup_spatial(fit, y1, X, psi1, W), dense, rtol=1e-10)


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_out_of_sample_is_the_limit_of_a_useless_direct_estimate(grapes, method) -> None:
    """An area whose direct estimate has variance psi -> infinity carries no information: the fit,
    the EBLUP and the MSE (R's in-sample formulas, checked against R above) tend to the
    out-of-sample ones, with differences O(1/psi)."""
    y, X, psi, W = grapes
    y1 = y.copy()
    y1[OUT] = np.nan
    fit = fit_spatial_fh(y1, X, psi, W, method, tol=1e-12)
    y2, psi2 = y.copy(), psi.copy()
    y2[OUT] = X[OUT] @ fit.beta + 3.0  # any value: it gets no weight in the limit
    psi2[OUT] = 1e10
    fit2 = fit_spatial_fh(y2, X, psi2, W, method, tol=1e-12)
    assert fit2.sigma2 == pytest.approx(fit.sigma2, rel=1e-7)
    assert fit2.rho == pytest.approx(fit.rho, rel=1e-7)
    np.testing.assert_allclose(
        eblup_spatial(fit2, y2, X, psi2, W), eblup_spatial(fit, y1, X, psi, W), rtol=1e-7
    )
    mse, mse2 = mse_spatial(fit, X, psi, W), mse_spatial(fit2, X, psi2, W)
    np.testing.assert_allclose(mse2, mse, rtol=1e-7)
    # areas out of sample are predicted with less precision than the sampled areas around them
    assert np.median(mse[OUT]) > np.median(np.delete(mse, OUT))


def test_prediction_needs_the_fitted_sample(grapes, out_of_sample) -> None:
    y, X, psi, W = grapes
    fit = out_of_sample[0]
    with pytest.raises(ModelError) as err:
        eblup_spatial(fit, y, X, psi, W)
    assert err.value.code == "fit_mismatch"
    assert err.value.rows[0] == 1


def test_too_few_sampled_areas(grapes) -> None:
    y, X, psi, W = grapes
    y1 = np.full_like(y, np.nan)
    y1[:2] = y[:2]
    with pytest.raises(ModelError) as err:
        fit_spatial_fh(y1, X, psi, W)
    assert err.value.code == "rank_deficient"


def test_proximity_must_be_row_standardised(grapes) -> None:
    y, X, psi, W = grapes
    with pytest.raises(ModelError) as err:
        fit_spatial_fh(y, X, psi, W * 2)
    assert err.value.code == "proximity_not_row_standardised"
    assert err.value.rows[0] == 1
    assert "standardise=True" in err.value.fix


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda y, X, psi, W: (y, X, -psi, W), "bad_sampling_variance"),
        (
            lambda y, X, psi, W: (np.where(np.arange(len(y)) == 3, np.inf, y), X, psi, W),
            "bad_direct_estimate",
        ),
        (lambda y, X, psi, W: (y, X, psi[:-1], W), "length_mismatch"),
        (lambda y, X, psi, W: (y[:-1], X, psi, W), "length_mismatch"),
        (lambda y, X, psi, W: (y, X, psi, W[:-1, :-1]), "bad_shape"),
        (lambda y, X, psi, W: (y, np.column_stack([X, 2 * X[:, 0]]), psi, W), "rank_deficient"),
        (
            lambda y, X, psi, W: (y, np.where(np.arange(len(y))[:, None] == 3, np.nan, X), psi, W),
            "missing_covariate",
        ),
        (lambda y, X, psi, W: (y, X, psi, W + sp.identity(W.shape[0]) * 0.5), "self_loop"),
        (lambda y, X, psi, W: (y, X, psi, -W), "negative_weight"),
        (lambda y, X, psi, W: (y, X, psi, W * np.nan), "bad_proximity"),
        (lambda y, X, psi, W: (y, X[:, :, None], psi, W), "bad_shape"),
    ],
)
def test_bad_input_raises_model_error(grapes, change, code) -> None:
    with pytest.raises(ModelError) as err:
        fit_spatial_fh(*change(*grapes))
    assert err.value.code == code


def test_bad_control(grapes) -> None:
    with pytest.raises(ModelError) as err:
        fit_spatial_fh(*grapes, maxiter=0)
    assert err.value.code == "bad_control"


def test_unknown_method(grapes) -> None:
    with pytest.raises(ModelError) as err:
        fit_spatial_fh(*grapes, method="mom")
    assert err.value.code == "unknown_method"


def test_prediction_checks_the_fit(grapes, fits) -> None:
    y, X, psi, W = grapes
    with pytest.raises(ModelError) as err:
        mse_spatial(fits["reml_tight"], X[:, :1], psi, W)
    assert err.value.code == "fit_mismatch"


def test_councils_with_an_island() -> None:
    """On the 153 English councils (2023) with simulated data: the Isle of Wight has no neighbour,
    so its effect is independent with variance sigma2 and its EBLUP is the plain Fay–Herriot
    shrinkage ``x'beta + sigma2 / (sigma2 + psi) (y - x'beta)``."""
    from carepop.sae.proximity import council_adjacency
    from carepop.sources.boundaries import bundled_councils

    c = bundled_councils()
    areas = c.loc[c["code"].str.startswith("E") & (c["start"] <= 2023) & (c["end"] >= 2023), "code"].tolist()
    with pytest.warns(UserWarning, match="no neighbours"):
        W = council_adjacency(areas)
    rng = np.random.default_rng(2023)
    m = len(areas)
    x = rng.normal(size=m)
    X = np.column_stack([np.ones(m), x])
    a = sp.identity(m, format="csc") - 0.6 * W.tocsc()
    u = spla.spsolve(a, rng.normal(scale=2.0, size=m))
    psi = rng.uniform(1, 6, size=m)
    y = 10 + 2 * x + u + rng.normal(size=m) * np.sqrt(psi)
    fit = fit_spatial_fh(y, X, psi, W)
    assert fit.converged and 0 < fit.rho < 1 and fit.sigma2 > 0
    est = eblup_spatial(fit, y, X, psi, W)
    i = areas.index("E06000046")
    xb = X[i] @ fit.beta
    assert est[i] == pytest.approx(xb + fit.sigma2 / (fit.sigma2 + psi[i]) * (y[i] - xb), rel=1e-10)
    mse = mse_spatial(fit, X, psi, W)
    assert np.all(mse > 0) and np.all(mse < psi)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_negative_rho_matches_r(grapes, method) -> None:
    """Simulated SAR data with rho = -0.6 on grapes' design (fixtures/grapes/make_negative_rho.R)::

        u <- solve(diag(m) + 0.6 * W, rnorm(m, sd = 20))
        grapes$yneg <- 10 + 0.01 * area + 0.3 * workdays + u + rnorm(m, sd = sqrt(var))
        mseSFH(yneg ~ area + workdays, var, grapesprox, data = grapes, method = method,
               PRECISION = 1e-12)

    R's stopping rule divides by the previous rho without its absolute value, so with rho < 0 it
    watches sigma2 only; carepop watches both and may take one more step (REML: 12 against 11)."""
    _, X, psi, W = grapes
    X = np.column_stack([np.ones(len(psi)), X])
    y = pd.read_csv(FIX / "negative_rho_y.csv")["yneg"].to_numpy()
    r = pd.read_csv(FIX / "negative_rho_sfh.csv")
    r = r[r["method"] == method]
    fit = fit_spatial_fh(y, X, psi, W, method.lower(), tol=1e-12)
    assert fit.iterations >= r["iterations"].iloc[0]
    assert fit.rho == pytest.approx(r["rho"].iloc[0], rel=1e-9)
    assert fit.rho < 0
    assert fit.sigma2 == pytest.approx(r["sigma2"].iloc[0], rel=1e-9)
    assert fit.loglik == pytest.approx(r["loglike"].iloc[0], rel=1e-10)
    np.testing.assert_allclose(eblup_spatial(fit, y, X, psi, W), r["eblup"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(mse_spatial(fit, X, psi, W), r["mse"], rtol=1e-8, atol=1e-6)
