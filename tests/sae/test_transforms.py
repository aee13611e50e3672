"""Transformations and back-transformations for FH (carepop.sae.transforms) against emdi.

Fixtures (tests/sae/fixtures/eusilcA/README.md): emdi's back-transformation functions re-run on the
models of emdi's tests/testthat/test_fh_backtransformation.R (make_transform_fixtures.R), e.g.::

    fw <- framework_FH(combined_data, fixed = Mean ~ eqsize + cash + self_empl, vardir = "Var_Mean",
                       transformation = "log", ...)
    eb <- eblup_FH(fw, sigmau2 = 0.008423, combined_data)
    log_bt(fw, 0.008423, combined_data, eb, "ml", TRUE, backtransformation = "bc_sm")

and emdi's stored fixtures (tests/testthat/FH/fh_backtransform_*.csv), which emdi's current code
itself reproduces only to ~1e-10 (log) and ~5e-8 (arcsine bc, R integrate's default tolerance),
so they are compared at those levels. Integrals: tests/sae/fixtures/post_hand/make_hand.R.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from carepop.errors import ModelError
from carepop.sae.fay_herriot import eblup, fit_fay_herriot, mse_analytic, mse_bootstrap
from carepop.sae.transforms import (
    arcsine_transform,
    back_transform,
    fh_transformed,
    log_transform,
    logit_transform,
    mse_back_bootstrap,
    mse_log_crude,
    mse_log_slud_maiti,
)
from tests.sae._post_fixtures import FIX, eusilc_pop, eusilc_smp, hand

EMDI_ARCSIN_SIGMA2 = float((FIX / "eusilcA" / "emdi_arcsin_sigma2.txt").read_text())


@pytest.fixture(scope="module")
def setup():
    smp, pop = eusilc_smp(), eusilc_pop()
    assert (smp.Domain == pop.Domain).all()
    rec = pd.read_csv(FIX / "eusilcA" / "emdi_backtransform_recomputed.csv")
    ins = rec.in_sample.to_numpy()
    assert (np.flatnonzero(~ins) + 1).tolist() == [31, 32, 33, 34, 71, 72, 73, 74]
    X = np.column_stack([np.ones(94), pop.eqsize, pop.cash, pop.self_empl])
    return smp, X, ins, rec


def _at(fit, sigma2, y, psi, X, ins):
    """The fit with sigma2 fixed (as emdi's tests fix it) and beta, Q by GLS at that value."""
    w = 1.0 / (sigma2 + psi[ins])
    Xs = X[ins]
    Q = np.linalg.inv(Xs.T @ (Xs * w[:, None]))
    return dataclasses.replace(fit, sigma2=sigma2, beta=Q @ (Xs.T @ (w * y[ins])), beta_cov=Q)


def _log_case(setup):
    smp, X, ins, rec = setup
    y, psi = log_transform(np.where(ins, smp.Mean, np.nan), np.where(ins, smp.Var_Mean, np.nan))
    pf = np.where(ins, psi, 1.0)
    fit = _at(fit_fay_herriot(y, X, pf, "ml"), 0.008423, y, psi, X, ins)
    e, g = eblup(fit, y, X, pf)
    return fit, y, pf, e, g


def test_log_slud_maiti_and_crude_as_emdi(setup):
    _, X, ins, rec = setup
    fit, y, pf, e, g = _log_case(setup)
    np.testing.assert_allclose(e, rec.log_eblup, rtol=1e-12)
    sm = back_transform("log", e, fit.sigma2, g, method="bc")
    np.testing.assert_allclose(sm[ins], rec.log_sm[ins], rtol=1e-11)
    np.testing.assert_allclose(mse_log_slud_maiti(fit, X, pf, ins)[ins], rec.log_sm_mse[ins], rtol=1e-11)
    assert np.isnan(mse_log_slud_maiti(fit, X, pf, ins)[~ins]).all()
    mt = mse_analytic(fit, X, pf, ins)
    cr = back_transform("log", e, fit.sigma2, g, method="crude", mse=mt)
    # in sample only: out of sample carepop's ML MSE subtracts the bias term that emdi adds
    np.testing.assert_allclose(cr[ins], rec.log_crude[ins], rtol=1e-11)
    np.testing.assert_allclose(mse_log_crude(e, mt)[ins], rec.log_crude_mse[ins], rtol=1e-11)
    # out of sample: the same correction with gamma = 0
    np.testing.assert_allclose(sm[~ins], np.exp(e[~ins] + fit.sigma2 / 2), rtol=1e-15)


def test_log_against_emdi_stored_fixture(setup):
    _, X, ins, _ = setup
    fit, y, pf, e, g = _log_case(setup)
    pt = pd.read_csv(FIX / "eusilcA" / "emdi_backtransform_point.csv")
    ms = pd.read_csv(FIX / "eusilcA" / "emdi_backtransform_mse.csv")
    sm = back_transform("log", e, fit.sigma2, g, method="bc")
    np.testing.assert_allclose(sm[ins], pt.log_sm[ins], rtol=2e-10)
    np.testing.assert_allclose(mse_log_slud_maiti(fit, X, pf, ins)[ins], ms.log_sm[ins], rtol=2e-9)


def test_arcsine_naive_and_bc_as_emdi(setup):
    smp, X, ins, rec = setup
    y, psi = arcsine_transform(np.where(ins, smp.MTMED, np.nan), np.where(ins, smp.n, np.nan))
    np.testing.assert_allclose(psi[ins], 0.25 / smp.n[ins], rtol=1e-15)
    pf = np.where(ins, psi, 1.0)
    fit = _at(fit_fay_herriot(y, X, pf, "ml"), EMDI_ARCSIN_SIGMA2, y, psi, X, ins)
    e, g = eblup(fit, y, X, pf)
    np.testing.assert_allclose(e, rec.arcsin_eblup, rtol=1e-12)
    nv = back_transform("arcsine", e, fit.sigma2, g, method="naive")
    np.testing.assert_allclose(nv, rec.arcsin_naive, rtol=1e-11)
    bc = back_transform("arcsine", e, fit.sigma2, g, method="bc", tails="emdi")
    np.testing.assert_allclose(bc[ins], rec.arcsin_bc[ins], rtol=1e-11)
    # the tails matter only where theta-hat is near pi/2 (p near 1): there emdi's integral drops
    # the mass above pi/2 and falls far below the naive value (domains 51 and 78)
    clip = back_transform("arcsine", e, fit.sigma2, g, method="bc")
    sd = np.sqrt(fit.sigma2 * (1 - g))
    far = e + 8 * sd < np.pi / 2
    np.testing.assert_allclose(clip[far], bc[far], rtol=1e-12)
    assert (clip[~far] > bc[~far]).all()
    assert (bc[[50, 77]] < 0.3).all() and (nv[[50, 77]] > 0.99).all() and (clip[[50, 77]] > 0.99).all()
    pt = pd.read_csv(FIX / "eusilcA" / "emdi_backtransform_point.csv")
    np.testing.assert_allclose(bc[ins], pt.arcsin_bc_boot[ins], rtol=1e-7)


def test_bias_corrected_integrals_against_r():
    h = hand()
    mu, s = np.array(h["bmu"]), np.array(h["bs"])
    np.testing.assert_allclose(back_transform("logit", mu, 1.0, 1.0 - s**2), h["logit_bc"], rtol=1e-12)
    amu, as_ = np.array(h["amu"]), np.array(h["as"])
    g = 1.0 - as_**2
    np.testing.assert_allclose(back_transform("arcsine", amu, 1.0, g, tails="emdi"), h["asin_bc"], rtol=1e-12)
    np.testing.assert_allclose(
        back_transform("arcsine", amu, 1.0, g, tails="clip"), h["asin_clip"], rtol=1e-12
    )
    # sigma2 = 0: the naive value (clipped)
    np.testing.assert_allclose(
        back_transform("arcsine", np.array([-0.1, 0.3, 2.0]), 0.0, np.zeros(3)), [0.0, np.sin(0.3) ** 2, 1.0]
    )


def test_logit_transform():
    y, psi = logit_transform([0.0, 0.2, 1.0, np.nan], [0.01, 0.01, 0.01, np.nan])
    np.testing.assert_allclose(y[:3], [np.log(0.001 / 0.999), np.log(0.25), np.log(0.999 / 0.001)])
    np.testing.assert_allclose(psi[1], 0.01 / 0.16**2)
    assert np.isnan(y[3]) and np.isnan(psi[3])


def test_bootstrap_mse_is_consistent_with_the_transformed_scale(setup):
    """The naive arcsine bootstrap MSE is, to first order, sin(2θ)² times the bootstrap MSE on the
    transformed scale (same model, different random numbers): their ratio is near 1."""
    smp, X, ins, _ = setup
    y, psi = arcsine_transform(np.where(ins, smp.MTMED, np.nan), np.where(ins, smp.n, np.nan))
    pf = np.where(ins, psi, 1.0)
    fit = fit_fay_herriot(y, X, pf, "ml")
    e, _ = eblup(fit, y, X, pf)
    a = mse_back_bootstrap(fit, X, pf, ins, "arcsine", method="naive", B=1000, seed=5)
    b = mse_bootstrap(fit, X, pf, ins, B=1000, seed=6) * np.sin(2 * e) ** 2
    assert 0.9 < np.median(a / b) < 1.1
    again = mse_back_bootstrap(fit, X, pf, ins, "arcsine", method="naive", B=1000, seed=5)
    np.testing.assert_array_equal(a, again)


def test_fh_transformed_route(setup):
    smp, X, ins, _ = setup
    p = np.where(ins, smp.MTMED, np.nan)
    r = fh_transformed(
        p, X, "arcsine", n_eff=np.where(ins, smp.n, np.nan), method="ml", mse="bootstrap", B=50, seed=1
    )
    assert r.estimate.shape == (94,) and np.isfinite(r.estimate).all() and (r.mse > 0).all()
    assert ((r.estimate > 0) & (r.estimate < 1)).all()
    assert r.record["transform"] == "arcsine" and r.record["bootstrap"] == {"B": 50, "seed": 1}
    lg = fh_transformed(
        np.where(ins, smp.Mean, np.nan),
        X,
        "log",
        var=np.where(ins, smp.Var_Mean, np.nan),
        method="ml",
        mse="sm",
    )
    assert np.isnan(lg.mse[~ins]).all() and (lg.mse[ins] > 0).all()
    with pytest.raises(ModelError) as e:
        fh_transformed(p, X, "arcsine", n_eff=smp.n, mse="sm")
    assert e.value.code == "bad_option"
    with pytest.raises(ModelError) as e:
        fh_transformed(p, X, "arcsine")
    assert e.value.code == "missing_n"


def test_transform_errors():
    with pytest.raises(ModelError) as e:
        log_transform([1.0, -2.0], [1.0, 1.0])
    assert e.value.code == "not_positive" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        arcsine_transform([0.2, 0.3], [10, 0])
    assert e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        back_transform("probit", [0.1], 0.1, [0.5])
    assert e.value.code == "unknown_option"
    with pytest.raises(ModelError) as e:
        back_transform("log", [0.1], 0.1, [0.5], method="crude")
    assert e.value.code == "missing_mse"


def test_bootstrap_replicates_and_benchmarking(setup):
    from carepop.sae.benchmark import benchmark_mse_bootstrap
    from carepop.sae.variance import proportion_variance

    smp, X, ins, _ = setup
    p = np.where(ins, smp.MTMED, np.nan)
    assert (smp.Var_MTMED[ins] == 0).sum() == 2  # two domains with MTMED 0 or 1: smooth the variances
    var, _ = proportion_variance(p, smp.n)
    y, psi = logit_transform(p, var)
    pf = np.where(ins, psi, 1.0)
    fit = fit_fay_herriot(y, X, pf, "ml")
    mse, back, truth = mse_back_bootstrap(fit, X, pf, ins, "logit", B=150, seed=9, return_replicates=True)
    assert back.shape == truth.shape == (150, 94)
    np.testing.assert_allclose(mse, ((back - truth) ** 2).mean(axis=0), rtol=1e-13)
    assert ((truth > 0) & (truth < 1)).all()
    # the first 100 replicates are one block: the same whatever B
    _, back100, _ = mse_back_bootstrap(fit, X, pf, ins, "logit", B=100, seed=9, return_replicates=True)
    np.testing.assert_array_equal(back100, back[:100])
    # benchmarking each replicate to its own national mean (known) costs little MSE
    w = np.ones(94)
    mb = benchmark_mse_bootstrap(back, truth, sizes=w, method="ratio")
    assert mb.shape == (94,) and np.isfinite(mb).all()
    assert np.median(mb / mse) < 1.5
