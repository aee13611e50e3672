"""FH diagnostics (carepop.sae.diagnostics) against the emdi vignette model, fitted by R sae 1.3
(tests/sae/fixtures/eusilcA/make_fixtures.R), with emdi's definitions (R/compare.R, R/summary.fh.R)::

    compare(fh_std)   # Brown test W = 46.97181, df = 94; cor(synthetic, direct)
    summary(fh_std)   # skewness/kurtosis (moments), shapiro.test of the standardised residuals
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from carepop.errors import ModelError
from carepop.sae.diagnostics import (
    SAEWarning,
    brown_test,
    coefficient_of_variation,
    fh_diagnostics,
    normality,
    shrinkage,
    standardized_residuals,
)
from tests.sae._post_fixtures import eusilc_fit, eusilc_summary


def test_emdi_vignette_diagnostics():
    f, r = eusilc_fit(), eusilc_summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAEWarning)
        d = fh_diagnostics(f.direct, f.synthetic, f.fh, f.psi, r["sigma2"], f.mse)
    assert d.brown.w == pytest.approx(46.97181, abs=5e-6)  # as printed in the vignette
    assert d.brown.w == pytest.approx(r["brown_W"], rel=1e-11)
    assert d.brown.df == 94
    assert d.brown.p_value == pytest.approx(r["brown_p"], rel=1e-9)
    assert d.synthetic_direct_cor == pytest.approx(r["syndir_cor"], rel=1e-12)
    np.testing.assert_allclose(d.gamma, f.gamma, rtol=1e-13)
    for got, key in [(d.residual_normality, "res"), (d.random_effect_normality, "u")]:
        assert got.skewness == pytest.approx(r[f"skew_{key}"], rel=1e-11)
        assert got.kurtosis == pytest.approx(r[f"kurt_{key}"], rel=1e-11)
        # scipy and R run the same Shapiro-Wilk algorithm (Royston 1995) in different precisions
        assert got.shapiro_w == pytest.approx(r[f"shapiro_W_{key}"], rel=1e-8)
        assert got.shapiro_p == pytest.approx(r[f"shapiro_p_{key}"], rel=1e-6)
    assert d.notes == []
    np.testing.assert_allclose(d.cv_direct, np.sqrt(f.psi) / f.direct, rtol=1e-14)
    np.testing.assert_allclose(d.cv_model, np.sqrt(f.mse) / f.fh, rtol=1e-14)
    # the model estimates are more precise than the direct ones in every domain here
    assert (d.cv_model < d.cv_direct).all()
    s = d.summary()
    assert s["brown"]["df"] == 94 and s["outside"] == int(d.outside.sum())


def test_pieces():
    np.testing.assert_allclose(shrinkage(2.0, [2.0, 6.0, np.nan]), [0.5, 0.25, np.nan])
    assert shrinkage(0.0, [0.0])[0] == 1.0
    np.testing.assert_allclose(standardized_residuals([3.0, np.nan], [1.0, 2.0], [4.0, 1.0]), [1.0, np.nan])
    b = brown_test([1.0, 3.0, np.nan], [0.0, 1.0, 5.0], [1.0, 1.0, np.nan], [1.0, 1.0, 1.0])
    assert (b.w, b.df) == (0.5 + 2.0, 2)
    np.testing.assert_allclose(coefficient_of_variation([2.0, -4.0], [4.0, 4.0]), [1.0, 0.5])
    n = normality([1.0, 2.0])
    assert n.n == 2 and np.isnan(n.shapiro_p)


def test_warnings_boundary_tails_and_outside():
    rng = np.random.default_rng(1)
    m = 200
    syn = np.zeros(m)
    psi = np.ones(m)
    y = rng.standard_t(2, m) * 3.0
    with pytest.warns(SAEWarning) as rec:
        d = fh_diagnostics(y, syn, syn, psi, 0.0, np.full(m, 0.01))
    text = " ".join(str(w.message) for w in rec)
    assert "boundary" in text and "heavy-tailed" in text and "prediction interval" in text
    assert len(d.notes) >= 3
    # no warnings asked: none given, notes kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAEWarning)
        d2 = fh_diagnostics(y, syn, syn, psi, 0.0, warn_user=False)
    assert d2.notes == d.notes and d2.brown is None


def test_errors():
    with pytest.raises(ModelError) as e:
        standardized_residuals([1.0, 2.0], [1.0, 1.0], [1.0, 0.0])
    assert e.value.code == "bad_psi" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        shrinkage(-1.0, [1.0])
    assert e.value.code == "bad_sigma2"
    with pytest.raises(ModelError) as e:
        brown_test([1.0, 2.0], [1.0, np.nan], [1.0, 1.0], [1.0, 1.0])
    assert e.value.rows == [2]
