"""Direct estimates joined to area covariates, and the Fay–Herriot orchestration (carepop.sae.areas,
carepop.sae.area_level): the milk numbers through the public function, out-of-sample areas,
input straight from a Survey's domain estimates, and every bad input naming the areas.

The milk reference (R sae 1.3; tests/sae/fixtures/milk/make_fixtures.R)::

    library(sae); data(milk)
    r <- mseFH(yi ~ as.factor(MajorArea), SD^2, data = milk)
    r$est$fit$refvar        # 0.0185502
    r$est$eblup[1]; r$mse[1]  # 1.0219703, 0.01346022
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.errors import ModelError
from carepop.sae.area_level import fay_herriot
from carepop.sae.areas import area_data

MILK = Path(__file__).parent / "fixtures" / "milk"


@pytest.fixture(scope="module")
def milk() -> pd.DataFrame:
    return pd.read_csv(MILK / "milk.csv")


@pytest.fixture(scope="module")
def r_areas() -> pd.DataFrame:
    return pd.read_csv(MILK / "fh_areas.csv")


def test_milk_through_the_public_function(milk, r_areas):
    res = fay_herriot(milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    t = res.to_pandas()
    assert res.fit.variance_components["sigma2_v"] == pytest.approx(0.0185502, abs=5e-8)
    np.testing.assert_allclose(
        res.fit.coefficients["estimate"], [0.968189, 0.132780, 0.226946, -0.241301], atol=5e-7
    )
    assert t["estimate"].iloc[0] == pytest.approx(1.0219703, abs=5e-8)
    assert t["mse"].iloc[0] == pytest.approx(0.01346022, abs=5e-9)
    reml = [c for c in r_areas.columns if "reml" in c.lower()]
    assert reml, r_areas.columns
    z = 1.959963984540054
    np.testing.assert_allclose(t["ci_lower"], t["estimate"] - z * np.sqrt(t["mse"]), rtol=1e-14)
    assert list(t.columns) == [
        "SmallArea",
        "direct",
        "direct_se",
        "estimate",
        "mse",
        "rmse",
        "ci_lower",
        "ci_upper",
        "gamma",
        "in_sample",
    ]
    assert t["in_sample"].all() and res.fit.n_in_sample == 43


def test_variance_column_equals_se_squared(milk):
    a = fay_herriot(milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    b = fay_herriot(
        milk.assign(v=milk["SD"] ** 2),
        area="SmallArea",
        categorical=["MajorArea"],
        estimate="yi",
        variance="v",
    )
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), rtol=1e-13)


def test_area_table_order_and_out_of_sample_areas(milk):
    direct = milk[["SmallArea", "yi", "SD"]].iloc[:40]
    areas = milk[["SmallArea", "MajorArea"]].iloc[::-1]  # the area table's order is kept
    res = fay_herriot(direct, areas, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    t = res.to_pandas()
    assert t["SmallArea"].tolist() == areas["SmallArea"].astype(str).tolist()
    out = t[~t["in_sample"]]
    assert sorted(out["SmallArea"].astype(int)) == [41, 42, 43]
    assert out["direct"].isna().all() and (out["gamma"] == 0).all()
    # synthetic x'beta: the out-of-sample areas are in MajorArea 4, so intercept + MajorArea[4]
    beta = res.fit.coefficients.set_index("term")["estimate"]
    np.testing.assert_allclose(out["estimate"], beta["(Intercept)"] + beta["MajorArea[4]"], rtol=1e-13)
    assert (out["mse"] > res.fit.variance_components["sigma2_v"]).all()
    assert res.fit.n_in_sample == 40 and res.fit.n_areas == 43


def test_straight_from_a_survey_domain_estimate():
    rng = np.random.default_rng(7)
    areas = pd.DataFrame({"la": [f"A{i:02d}" for i in range(30)], "x": rng.normal(size=30)})
    n = 40
    la = np.repeat(areas["la"], n).to_numpy()
    x = np.repeat(areas["x"], n).to_numpy()
    y = 2 + x + np.repeat(rng.normal(scale=0.5, size=30), n) + rng.normal(size=30 * n)
    survey = Survey(pd.DataFrame({"la": la, "y": y, "w": 10.0}), weight="w", strata="la")
    direct = survey.mean("y", by="la")
    res = fay_herriot(direct, areas, covariates=["x"])
    t = res.to_pandas()
    d = direct.to_pandas()
    np.testing.assert_array_equal(t["direct"], d["estimate"])
    np.testing.assert_array_equal(t["direct_se"], d["se"])
    assert res.area == "la" and t["in_sample"].all()
    assert ((t["gamma"] > 0) & (t["gamma"] < 1)).all()


def test_a_proportion_needs_its_category():
    survey = Survey(
        pd.DataFrame({"la": ["a", "a", "b", "b", "c", "c"], "c": ["y", "n", "y", "y", "n", "n"], "w": 1.0}),
        weight="w",
        strata="la",
    )
    est = survey.proportion("c", by="la")
    with pytest.raises(ModelError) as err:
        area_data(est, covariates=[])
    assert err.value.code == "several_estimates" and "category" in str(err.value)


# ------------------------------------------------------------------------------ bad input
def _fh(direct, areas=None, **kw):
    kw = {"area": "a", "estimate": "y", "se": "s", "covariates": ["x"], **kw}
    return fay_herriot(direct, areas, **kw)


GOOD = pd.DataFrame(
    {"a": list("ABCDEF"), "y": [1.0, 2.0, 1.5, 3.0, 2.5, 2.0], "s": 0.3, "x": [0.1, 0.4, 0.2, 0.9, 0.7, 0.5]}
)


def test_area_without_covariates_is_named():
    with pytest.raises(ModelError) as err:
        _fh(GOOD[["a", "y", "s"]], GOOD[["a", "x"]].iloc[:4])
    e = err.value
    assert e.code == "area_without_covariates" and e.rows == [5, 6] and e.got == ["E", "F"]
    assert "E, F" in str(e)


def test_nonpositive_variance_is_named():
    bad = GOOD.assign(s=[0.3, 0.0, 0.3, -0.1, 0.3, 0.3])
    with pytest.raises(ModelError) as err:
        _fh(bad)
    e = err.value
    assert e.code == "nonpositive_variance" and e.rows == [2, 4] and "B, D" in str(e)


def test_duplicated_areas_are_named():
    with pytest.raises(ModelError) as err:
        _fh(pd.concat([GOOD, GOOD.iloc[[2]]]))
    assert err.value.code == "duplicate_area" and err.value.rows == [3, 7] and err.value.got == ["C"]
    with pytest.raises(ModelError) as err:
        _fh(GOOD[["a", "y", "s"]], pd.concat([GOOD[["a", "x"]], GOOD[["a", "x"]].iloc[[0]]]))
    assert err.value.code == "duplicate_area" and "area table" in str(err.value)


def test_variance_without_estimate_and_text_values():
    with pytest.raises(ModelError) as err:
        _fh(GOOD.assign(y=[1.0, np.nan, 1.5, 3.0, 2.5, 2.0]))
    assert err.value.code == "missing_estimate" and err.value.rows == [2]
    with pytest.raises(ModelError) as err:
        _fh(GOOD.assign(y=["1", "2", "x", "3", "2.5", "2"]))
    assert err.value.code == "not_numeric" and err.value.rows == [3]


def test_se_or_variance_and_options():
    with pytest.raises(ModelError, match="one of the two"):
        fay_herriot(GOOD, area="a", estimate="y", covariates=["x"])
    with pytest.raises(Exception, match="method"):
        _fh(GOOD, method="bayes")
    with pytest.raises(ModelError, match="between 0 and 1"):
        _fh(GOOD, level=95)


def test_inputs_are_not_modified():
    direct = GOOD.copy()
    before = direct.copy()
    _fh(direct)
    pd.testing.assert_frame_equal(direct, before)


# ------------------------------------------------------------------------------ emdi vignette, transforms
EUSILC = Path(__file__).parent / "fixtures" / "eusilcA"


def test_emdi_vignette_through_the_public_function():
    """emdi's vignette (see test_emdi_vignette.py for the R code): ML fit, Brown's test and ratio
    benchmarking to 20140.09 with the ratio_n shares, all from one fay_herriot call."""
    smp = pd.read_csv(EUSILC / "eusilcA_smpAgg.csv")
    pop = pd.read_csv(EUSILC / "eusilcA_popAgg.csv")
    res = fay_herriot(
        smp,
        pop,
        area="Domain",
        estimate="Mean",
        variance="Var_Mean",
        covariates=["cash", "self_empl"],
        method="ml",
        tol=1e-12,
        benchmark=20140.09,
        sizes="ratio_n",
    )
    assert round(res.fit.variance_components["sigma2_v"]) == 1371195
    assert res.diagnostics["brown"]["w"] == pytest.approx(46.97181, abs=5e-6)
    assert res.diagnostics["brown"]["df"] == 94
    t = res.to_pandas().set_index("Domain")
    first = sorted(pop["Domain"])[:3]  # emdi orders domains by name
    # the vignette prints two decimals
    np.testing.assert_allclose(t.loc[first, "estimate"], [14480.61, 21978.49, 12892.79], atol=0.005)
    # the benchmark holds: share-weighted mean of the estimates equals the target
    w = pop.set_index("Domain").loc[t.index, "ratio_n"]
    assert float((w * t["estimate"]).sum() / w.sum()) == pytest.approx(20140.09, rel=1e-12)
    assert any("benchmarked (ratio)" in n for n in res.notes)


def test_benchmark_to_region_aggregates(milk):
    milk2 = milk.assign(N=milk["ni"] * 10)
    res = fay_herriot(
        milk2,
        area="SmallArea",
        categorical=["MajorArea"],
        estimate="yi",
        se="SD",
        benchmark="aggregate",
        benchmark_by="MajorArea",
        sizes="N",
        benchmark_method="additive",
    )
    t = res.to_pandas().assign(g=milk2["MajorArea"].to_numpy(), N=milk2["N"].to_numpy())
    agg = t.groupby("g").apply(lambda d: (d.N * d.direct).sum() / d.N.sum(), include_groups=False)
    got = t.groupby("g").apply(lambda d: (d.N * d.estimate).sum() / d.N.sum(), include_groups=False)
    np.testing.assert_allclose(got, agg, rtol=1e-12)
    plain = fay_herriot(milk2, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    assert (res.to_pandas()["mse"] >= plain.to_pandas()["mse"] - 1e-15).all()


def test_benchmark_errors(milk):
    with pytest.raises(ModelError) as err:
        fay_herriot(
            milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD", benchmark="aggregate"
        )
    assert err.value.code == "missing_sizes"
    with pytest.raises(ModelError) as err:
        fay_herriot(
            milk,
            area="SmallArea",
            categorical=["MajorArea"],
            estimate="yi",
            se="SD",
            benchmark=1.0,
            benchmark_by="region",
        )
    assert err.value.code == "unknown_column" and err.value.column == "region"


@pytest.mark.parametrize("transform", ["arcsin", "logit"])
def test_proportion_transforms_stay_in_the_unit_interval(transform):
    rng = np.random.default_rng(3)
    m = 40
    n = rng.integers(15, 80, size=m)
    x = rng.normal(size=m)
    p_true = 1 / (1 + np.exp(-(-1.0 + 0.8 * x + rng.normal(scale=0.3, size=m))))
    p = rng.binomial(n, p_true) / n
    p = np.clip(p, 1 / (2 * n), 1 - 1 / (2 * n))
    direct = pd.DataFrame({"a": range(m), "p": p, "v": p * (1 - p) / n, "n": n, "x": x})
    res = fay_herriot(
        direct,
        area="a",
        estimate="p",
        variance="v",
        covariates=["x"],
        transform=transform,
        n_eff="n" if transform == "arcsin" else None,
        boot=50,
        seed=1,
    )
    t = res.to_pandas()
    assert (
        (t["ci_lower"] >= 0)
        & (t["ci_lower"] <= t["estimate"])
        & (t["estimate"] <= t["ci_upper"])
        & (t["ci_upper"] <= 1)
    ).all()
    assert (t["mse"] > 0).all() and "bootstrap" in res.mse_method
    again = fay_herriot(
        direct,
        area="a",
        estimate="p",
        variance="v",
        covariates=["x"],
        transform=transform,
        n_eff="n" if transform == "arcsin" else None,
        boot=50,
        seed=1,
    )
    pd.testing.assert_frame_equal(t, again.to_pandas())


def test_transform_refuses_values_outside_its_domain(milk):
    with pytest.raises(ModelError) as err:
        fay_herriot(
            milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD", transform="logit"
        )
    assert err.value.code == "not_a_proportion"
    res = fay_herriot(
        milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD", transform="log"
    )
    assert res.mse_method.startswith("analytic (Slud")


# ------------------------------------------------------------------------------ smoothed variances
def _proportions(seed=5, m=30):
    rng = np.random.default_rng(seed)
    n = rng.integers(3, 60, size=m)
    p = rng.binomial(n, 0.15) / n
    se = np.sqrt(p * (1 - p) / n)  # 0 where p is 0 or 1
    return pd.DataFrame({"a": [f"A{i}" for i in range(m)], "p": p, "se": se, "n": n, "x": rng.normal(size=m)})


def test_smoothing_gives_areas_at_zero_a_variance():
    d = _proportions()
    assert (d["se"] == 0).any()
    with pytest.raises(ModelError):
        fay_herriot(d, area="a", estimate="p", se="se", covariates=["x"])
    res = fay_herriot(d, area="a", estimate="p", se="se", covariates=["x"], smooth="proportion")
    t = res.to_pandas()
    ok = d["se"] > 0
    deff = np.median(
        d["se"][ok] ** 2 / (d["p"][ok] * (1 - d["p"][ok]) / d["n"][ok])
    )  # 1 here by construction
    assert deff == pytest.approx(1.0, rel=1e-12)
    # step 1 (area_data): the pooled proportion
    first = area_data(d, area="a", estimate="p", se="se", covariates=["x"], smooth="proportion")
    p_bar = np.sum(d["n"] * d["p"]) / d["n"].sum()
    np.testing.assert_allclose(first.psi, p_bar * (1 - p_bar) / d["n"], rtol=1e-12)
    # step 2 (fay_herriot): each area's synthetic proportion from a REML fit on step 1's variances
    from carepop.sae.fay_herriot import fit_fay_herriot

    q = first.X @ fit_fay_herriot(first.y, first.X, first.psi, method="reml").beta
    q = np.clip(q, 0.5 / d["n"], 1 - 0.5 / d["n"])  # kept half a respondent away from 0 and 1
    np.testing.assert_allclose(t["direct_se"] ** 2, q * (1 - q) / d["n"], rtol=1e-12)
    assert any("pooled p" in n for n in res.notes) and any("re-smoothed" in n for n in res.notes)
    gvf = fay_herriot(d, area="a", estimate="p", se="se", covariates=["x"], smooth="gvf")
    assert (gvf.to_pandas()["direct_se"] > 0).all() and any("generalised variance" in n for n in gvf.notes)


def test_smoothing_needs_sample_sizes():
    d = _proportions().drop(columns=["n"])
    with pytest.raises(ModelError) as err:
        fay_herriot(d, area="a", estimate="p", se="se", covariates=["x"], smooth="proportion")
    assert err.value.code == "unknown_column" and err.value.column == "n"


# ------------------------------------------------------------------------------ spatial model
GRAPES = Path(__file__).parent / "fixtures" / "grapes"


def test_spatial_grapes_through_the_public_function_and_cli(tmp_path):
    """R sae 1.3 (tests/sae/fixtures/grapes/make_fixtures.R)::

    mseSFH(grapehect ~ area + workdays - 1, var, grapesprox, data = grapes, method = "REML",
           PRECISION = 1e-12)
    # sigma2 69.74895626, rho 0.6142683013, eblup[1] 31.24735856, mse[1] 16.60956749
    """
    grapes = pd.read_csv(GRAPES / "grapes.csv").assign(id=np.arange(1, 275))
    prox = pd.read_csv(GRAPES / "grapesprox.csv")
    res = fay_herriot(
        grapes,
        area="id",
        covariates=["area", "workdays"],
        intercept=False,
        variance="var",
        proximity=prox,
        estimate="grapehect",
        tol=1e-12,
    )
    vc = res.fit.variance_components
    assert vc["sigma2_v"] == pytest.approx(69.74895626, abs=5e-9) and vc["rho"] == pytest.approx(
        0.6142683013, abs=5e-11
    )
    r = pd.read_csv(GRAPES / "sfh_reml_tight.csv")
    t = res.to_pandas()
    np.testing.assert_allclose(t["estimate"], r["eblup"], atol=1e-6)
    np.testing.assert_allclose(t["mse"], r["mse"], atol=1e-6)
    assert res.fit.model == "spatial_fay_herriot" and t["gamma"].isna().all()
    # the same from the command line, the proximity from its file
    data = tmp_path / "grapes.csv"
    grapes.to_csv(data, index=False)
    from tests.cli.conftest import invoke

    out = invoke(
        "sae",
        "fh",
        data,
        "--area",
        "id",
        "--direct",
        "grapehect",
        "--variance",
        "var",
        "--covariates",
        "area,workdays",
        "--no-intercept",
        "--proximity",
        GRAPES / "grapesprox.csv",
        "--format",
        "json",
    )
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["fit"]["rho"] == pytest.approx(0.61426973916233507, rel=1e-9)  # R's default precision 1e-4
    assert got["areas"][0]["estimate"] == pytest.approx(
        pd.read_csv(GRAPES / "sfh_reml_default.csv")["eblup"][0], rel=1e-9
    )


def test_spatial_proximity_naming_unknown_areas():
    grapes = pd.read_csv(GRAPES / "grapes.csv").assign(id=np.arange(1, 275))
    prox = pd.concat(
        [pd.read_csv(GRAPES / "grapesprox.csv"), pd.DataFrame({"from": [1], "to": [999], "weight": [1.0]})]
    )
    with pytest.raises(ModelError) as err:
        fay_herriot(
            grapes,
            area="id",
            covariates=["area", "workdays"],
            intercept=False,
            variance="var",
            proximity=prox,
            estimate="grapehect",
        )
    assert "999" in str(err.value)


# ------------------------------------------------------------------------------ adjusted REML
def test_amrl_milk_against_the_li_lahiri_definition(milk):
    """method="amrl" (Li & Lahiri 2010, emdi's "amrl"): R code in tests/sae/fixtures/amrl/make_fixtures.R
    maximises log(A) + the restricted log-likelihood with optimize(tol = 1e-14) and forms emdi's
    li_lahiri MSE."""
    r = pd.read_csv(Path(__file__).parent / "fixtures" / "amrl" / "amrl_milk.csv")
    res = fay_herriot(
        milk, area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD", method="amrl", tol=1e-12
    )
    assert res.fit.variance_components["sigma2_v"] == pytest.approx(r["sigma2"][0], rel=1e-7)
    t = res.to_pandas()
    np.testing.assert_allclose(t["estimate"], r["eblup"], rtol=1e-8)
    np.testing.assert_allclose(t["mse"], r["mse"], rtol=1e-7)
    assert res.mse_method == "analytic (Li–Lahiri)"


def test_amrl_never_returns_zero():
    # a data set where REML truncates sigma2_v at 0
    rng = np.random.default_rng(11)
    m = 25
    x = rng.normal(size=m)
    d = pd.DataFrame({"a": range(m), "y": 1 + x + rng.normal(scale=0.5, size=m), "v": 1.0, "x": x})
    reml = fay_herriot(d, area="a", estimate="y", variance="v", covariates=["x"])
    amrl = fay_herriot(d, area="a", estimate="y", variance="v", covariates=["x"], method="amrl")
    assert reml.fit.variance_components["sigma2_v"] == 0
    assert amrl.fit.variance_components["sigma2_v"] > 0 and (amrl.to_pandas()["gamma"] > 0).all()


def test_singular_design_matrix_names_the_columns():
    d = GOOD.assign(x2=2 * GOOD["x"])
    with pytest.raises(ModelError) as err:
        _fh(d, covariates=["x", "x2"])
    assert "x2" in str(err.value) and "x" in str(err.value)


@pytest.mark.parametrize("method", ["ratio", "additive", "mse-adjusted"])
def test_benchmark_to_estimated_aggregates_adds_the_targets_variance(milk, method):
    """MSE after benchmarking to the direct aggregate t_g = Σ s_j y_j (s_j = N_j / Σ_g N) is
    MSE + adjustment² + (a_i / Σ_j s_j a_j)² Σ_j s_j² ψ_j, computed here by hand from the table
    (a_i = the model estimate for ratio, 1 for additive, the model MSE for mse-adjusted)."""
    milk2 = milk.assign(N=milk["ni"] * 10)
    common = dict(area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    plain = fay_herriot(milk2, **common).to_pandas()
    res = fay_herriot(
        milk2, **common, benchmark="aggregate", benchmark_by="MajorArea", sizes="N", benchmark_method=method
    ).to_pandas()
    g = milk2["MajorArea"].to_numpy()
    N = milk2["N"].to_numpy(dtype=float)
    s = N / pd.Series(N).groupby(g).transform("sum").to_numpy()
    psi = milk2["SD"].to_numpy() ** 2
    var_t = pd.Series(s * s * psi).groupby(g).transform("sum").to_numpy()
    m = plain["estimate"].to_numpy()
    a = {"ratio": m, "additive": np.ones_like(m), "mse-adjusted": plain["mse"].to_numpy()}[method]
    d = a / pd.Series(s * a).groupby(g).transform("sum").to_numpy()
    adj = res["estimate"].to_numpy() - m
    expected = plain["mse"].to_numpy() + adj**2 + d**2 * var_t
    np.testing.assert_allclose(res["mse"].to_numpy(), expected, rtol=1e-12)
    assert (d**2 * var_t > 0).all()


def test_benchmark_to_a_given_target_treats_it_as_known(milk):
    """A target given as a number is known: MSE after benchmarking = MSE + adjustment² only."""
    common = dict(area="SmallArea", categorical=["MajorArea"], estimate="yi", se="SD")
    plain = fay_herriot(milk, **common).to_pandas()
    res = fay_herriot(milk, **common, benchmark=1.0, sizes="ni").to_pandas()
    adj = res["estimate"].to_numpy() - plain["estimate"].to_numpy()
    np.testing.assert_allclose(res["mse"].to_numpy(), plain["mse"].to_numpy() + adj**2, rtol=1e-12)
