"""Benchmarking (carepop.sae.benchmark) against emdi's vignette and R hand examples.

emdi vignette (emdi is not installable here; the FH ML fit comes from R sae 1.3, see
tests/sae/fixtures/eusilcA/make_fixtures.R, and emdi's formulas from R/benchmark.R)::

    fh_std <- fh(fixed = Mean ~ cash + self_empl, vardir = "Var_Mean", combined_data = combined_data,
                 domains = "Domain", method = "ml", MSE = TRUE)
    benchmark(fh_std, benchmark = 20140.09, share = eusilcA_popAgg$ratio_n, type = "ratio")
    # FH_Bench of the first three domains: 14480.61, 21978.49, 12892.79
"""

from __future__ import annotations

import numpy as np
import pytest

from carepop.errors import ModelError
from carepop.sae.benchmark import benchmark, benchmark_mse_bootstrap, benchmark_two_level
from tests.sae._post_fixtures import eusilc_bench, eusilc_fit, hand

TAU = 20140.09


def test_emdi_vignette_ratio_first_three_domains():
    f = eusilc_fit()
    r = benchmark(f.fh, TAU, share=f.ratio_n, method="ratio")
    # the vignette prints two decimals
    np.testing.assert_allclose(r.estimate[:3], [14480.61, 21978.49, 12892.79], atol=0.005)
    assert r.group_target[0] == TAU
    np.testing.assert_allclose(np.sum(f.ratio_n * r.estimate), TAU, rtol=1e-13)


@pytest.mark.parametrize(("method", "column"), [("ratio", "ratio"), ("raking", "raking"), ("mse", "mse_adj")])
def test_emdi_formulas_all_domains(method, column):
    f, b = eusilc_fit(), eusilc_bench()
    assert (f.Domain == b.Domain).all()
    r = benchmark(f.fh, TAU, share=f.ratio_n, method=method, mse=f.mse)
    np.testing.assert_allclose(r.estimate, b[column], rtol=1e-12)
    np.testing.assert_allclose(r.adjustment, r.estimate - f.fh, rtol=1e-9)


@pytest.mark.parametrize(("method", "key"), [("ratio", "ratio"), ("raking", "raking"), ("mse", "msew")])
def test_grouped_against_r_datta_form(method, key):
    h = hand()
    r = benchmark(h["theta"], h["tg"], sizes=h["N"], groups=h["g"], method=method, mse=h["mse"])
    np.testing.assert_allclose(r.estimate, h[key], rtol=1e-13)
    # each group meets its target with the normalised shares
    s = r.share
    for lab, t in h["tg"].items():
        i = np.asarray(h["g"]) == lab
        assert np.sum(s[i] * r.estimate[i]) == pytest.approx(t, rel=1e-13)


def test_totals_one_group():
    h = hand()
    np.testing.assert_allclose(
        benchmark(h["theta"], h["T"], method="ratio").estimate, h["tot_ratio"], rtol=1e-13
    )
    np.testing.assert_allclose(
        benchmark(h["theta"], h["T"], method="raking").estimate, h["tot_raking"], rtol=1e-13
    )


def test_two_levels_consistent_and_as_r():
    h = hand()
    areas, regions = benchmark_two_level(
        h["theta"], h["g"], h["greg"], h["top"], sizes=h["N"], group_sizes={"a": 400, "b": 400, "c": 100}
    )
    np.testing.assert_allclose(regions.estimate, h["greg_b"], rtol=1e-13)
    np.testing.assert_allclose(areas.estimate, h["two"], rtol=1e-13)
    n = np.asarray(h["N"], float)
    # councils add up to England directly, too
    assert np.sum(n * areas.estimate) / n.sum() == pytest.approx(h["top"], rel=1e-13)


def test_two_levels_rejects_inconsistent_sizes():
    h = hand()
    with pytest.raises(ModelError) as e:
        benchmark_two_level(
            h["theta"], h["g"], h["greg"], h["top"], sizes=h["N"], group_sizes={"a": 400, "b": 401, "c": 100}
        )
    assert e.value.code == "inconsistent_sizes"


def test_mse_after_benchmarking():
    f = eusilc_fit()
    r = benchmark(f.fh, TAU, share=f.ratio_n, method="ratio", mse=f.mse)
    np.testing.assert_allclose(r.mse, f.mse + (r.estimate - f.fh) ** 2, rtol=1e-13)
    assert (r.mse >= f.mse).all()
    sc = benchmark(f.fh, TAU, share=f.ratio_n, method="ratio", mse=f.mse, mse_method="scaled")
    np.testing.assert_allclose(sc.mse, (TAU / np.sum(f.ratio_n * f.fh)) ** 2 * f.mse, rtol=1e-13)
    assert r.record["known"] == ["target", "share"]
    with pytest.raises(ModelError):
        benchmark(f.fh, TAU, share=f.ratio_n, method="raking", mse=f.mse, mse_method="scaled")


def test_bootstrap_mse_matches_a_direct_loop():
    rng = np.random.default_rng(3)
    m, b = 7, 50
    truth = 10 + rng.standard_normal((b, m))
    est = truth + 0.5 * rng.standard_normal((b, m))
    g = np.array([1, 1, 2, 2, 2, 3, 3])
    sizes = np.arange(1.0, m + 1)
    got = benchmark_mse_bootstrap(est, truth, sizes=sizes, groups=g, method="ratio")
    ref = np.zeros(m)
    for k in range(b):  # loop only in the reference
        tg = {lab: np.sum(sizes[g == lab] * truth[k, g == lab]) / sizes[g == lab].sum() for lab in (1, 2, 3)}
        ref += (benchmark(est[k], tg, sizes=sizes, groups=g).estimate - truth[k]) ** 2
    np.testing.assert_allclose(got, ref / b, rtol=1e-12)


def test_errors_name_the_areas():
    with pytest.raises(ModelError) as e:
        benchmark([1.0, np.nan, 2.0], 3.0)
    assert e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        benchmark([1.0, 2.0], 3.0, sizes=[1.0, 0.0])
    assert e.value.code == "bad_size" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        benchmark([1.0, 2.0], 3.0, method="mse")
    assert e.value.code == "missing_mse"
    with pytest.raises(ModelError) as e:
        benchmark([1.0, 2.0], {"a": 1.0}, groups=["a", "b"])
    assert e.value.code == "missing_target"
    with pytest.raises(ModelError) as e:
        benchmark([1.0, 2.0], 3.0, method="rake")
    assert e.value.code == "unknown_option"
    with pytest.raises(ModelError) as e:
        benchmark([1.0, 2.0], 3.0, share=[0.5, 0.5], sizes=[1, 1])
    assert e.value.code == "conflicting_options"


def test_per_area_targets_and_degenerate_groups():
    est = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array(["x", "x", "y", "y"])
    r = benchmark(est, [6.0, 6.0, 14.0, 14.0], groups=g)
    np.testing.assert_allclose(r.estimate, [2.0, 4.0, 6.0, 8.0])
    assert r.record["targets"] == {"x": 6.0, "y": 14.0}
    with pytest.raises(ModelError) as e:
        benchmark(est, [6.0, 7.0, 14.0, 14.0], groups=g)
    assert e.value.code == "inconsistent_target" and e.value.rows == [2]
    with pytest.raises(ModelError) as e:
        benchmark(np.array([1.0, -1.0, 3.0, 4.0]), {"x": 1.0, "y": 2.0}, groups=g, method="ratio")
    assert e.value.code == "degenerate_group" and e.value.rows == [1, 2]
    with pytest.raises(ModelError) as e:
        benchmark(est, 1.0, groups=g)
    assert e.value.code == "missing_target"


def test_two_levels_totals():
    est = np.array([10.0, 20.0, 30.0, 40.0])
    g = ["a", "a", "b", "b"]
    areas, groups = benchmark_two_level(est, g, {"a": 33.0, "b": 66.0}, 110.0, method="raking")
    # totals: regions 33 + 66 = 99 raised to 110 additively (5.5 each), councils spread equally
    np.testing.assert_allclose(groups.estimate, [38.5, 71.5])
    np.testing.assert_allclose(areas.estimate, [10 + 4.25, 20 + 4.25, 30 + 0.75, 40 + 0.75])
    assert areas.estimate.sum() == pytest.approx(110.0)
    assert areas.record["levels"] == 2
