"""Sampling variances (carepop.sae.variance): p(1-p)/n_eff with smoothed p, and GVFs checked
against R ``lm`` (tests/sae/fixtures/post_hand/make_hand.R)::

    f1 <- lm(log(psi) ~ log(n)); exp(predict(f1) + summary(f1)$sigma^2 / 2)
    f2 <- lm(I(psi / est^2) ~ I(1 / est)); predict(f2) * est^2
"""

from __future__ import annotations

import numpy as np
import pytest

from carepop.errors import ModelError
from carepop.sae.diagnostics import SAEWarning
from carepop.sae.variance import effective_sample_size, gvf_variance, proportion_variance
from tests.sae._post_fixtures import eusilc_smp, hand


def test_pooled_proportion_gives_every_sampled_area_a_variance():
    p = np.array([0.0, 0.25, 1.0, np.nan, 0.5])
    n = np.array([4.0, 20.0, 2.0, 0.0, 10.0])
    psi, rec = proportion_variance(p, n, deff=2.0)
    neff = n / 2.0
    pbar = (0 * 2 + 0.25 * 10 + 1.0 * 1 + 0.5 * 5) / (2 + 10 + 1 + 5)
    np.testing.assert_allclose(psi[[0, 1, 2, 4]], pbar * (1 - pbar) / neff[[0, 1, 2, 4]], rtol=1e-14)
    assert np.isnan(psi[3])
    assert rec.method == "proportion" and rec.parameters["pooled_p"] == pytest.approx(pbar)
    assert rec.to_dict()["parameters"]["deff"] == 2.0


def test_pooled_within_groups():
    p = np.array([0.1, 0.3, 0.6, 0.8])
    n = np.array([10.0, 30.0, 20.0, 20.0])
    psi, rec = proportion_variance(p, n, groups=["N", "N", "S", "S"])
    pn, ps = (1 + 9) / 40, 0.7
    np.testing.assert_allclose(
        psi, [pn * (1 - pn) / 10, pn * (1 - pn) / 30, ps * (1 - ps) / 20, ps * (1 - ps) / 20]
    )
    assert rec.parameters["pooled_p"] == {"N": pytest.approx(pn), "S": pytest.approx(ps)}


def test_model_and_none():
    p = np.array([0.0, 0.5])
    n = np.array([5.0, 8.0])
    psi, _ = proportion_variance(p, n, smooth="model", p_smooth=[0.1, 0.4], deff=[1.0, 2.0])
    np.testing.assert_allclose(psi, [0.09 / 5, 0.24 / 4])
    with pytest.warns(SAEWarning, match="rows \\[1\\]"):
        psi, rec = proportion_variance(p, n, smooth="none")
    np.testing.assert_allclose(psi, [0.0, 0.25 / 8])
    assert rec.parameters["zero_variance_rows"] == [1]


def test_proportion_errors():
    with pytest.raises(ModelError) as e:
        proportion_variance([0.2, 20.0], [5, 5])
    assert e.value.code == "bad_proportion" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        proportion_variance([0.2, 0.3], [5, 0])
    assert e.value.code == "bad_n" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        proportion_variance([0.2, 0.3], [5, 5], smooth="model")
    assert e.value.code == "missing_p_smooth"
    with pytest.raises(ModelError) as e:
        effective_sample_size([5, 5], [1.0, 0.0])
    assert e.value.code == "bad_deff" and e.value.rows == [2]


def test_gvf_log_against_r():
    h = hand()
    psi, rec = gvf_variance(h["est"], h["psi"], h["n"], model="log", terms=("log_n",))
    np.testing.assert_allclose(psi, h["gvf_log"], rtol=1e-12)
    np.testing.assert_allclose(list(rec.parameters["coefficients"].values()), h["gvf_log_coef"], rtol=1e-12)
    assert rec.method == "gvf-log" and rec.parameters["areas_fitted"] == 8


def test_gvf_relvar_against_r():
    h = hand()
    psi, rec = gvf_variance(h["est"], h["psi"], model="relvar")
    np.testing.assert_allclose(psi, h["gvf_rel"], rtol=1e-12)
    np.testing.assert_allclose(list(rec.parameters["coefficients"].values()), h["gvf_rel_coef"], rtol=1e-12)


def test_gvf_smooths_areas_without_a_variance():
    d = eusilc_smp()
    var = d.Var_Mean.to_numpy().copy()
    var[[3, 7]] = [np.nan, 0.0]
    psi, rec = gvf_variance(d.Mean, var, d.n, terms=("log_n", "log_estimate"))
    assert np.isfinite(psi).all() and (psi > 0).all()
    assert rec.parameters["rows_not_fitted"] == [4, 8]
    assert rec.parameters["areas_fitted"] == len(d) - 2
    # smearing and lognormal corrections differ only by a constant factor
    psi2, _ = gvf_variance(d.Mean, var, d.n, terms=("log_n", "log_estimate"), correction="smearing")
    ratio = psi2 / psi
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)


def test_gvf_errors():
    h = hand()
    with pytest.raises(ModelError) as e:
        gvf_variance(h["est"], h["psi"], model="log", terms=("log_n",))
    assert e.value.code == "missing_n"
    est = np.array(h["est"], float)
    est[2] = 0.0
    with pytest.raises(ModelError) as e:
        gvf_variance(est, h["psi"], h["n"], terms=("log_estimate",))
    assert e.value.code == "gvf_undefined" and e.value.rows == [3]
    with pytest.raises(ModelError) as e:
        gvf_variance(h["est"][:2], h["psi"][:2], h["n"][:2])
    assert e.value.code == "too_few_areas"
    with pytest.raises(ModelError) as e:
        gvf_variance(h["est"], h["psi"], h["n"], model="loglin")
    assert e.value.code == "unknown_option"
