"""Unit-level models through the public functions (carepop.sae.unit_models) and ``carepop sae bhf``
/ ``carepop sae ebp``: the cornsoybean EBLUPs and the simulated EBP reference of R.

References (fixtures written by tests/sae/fixtures/cornsoybean/make_fixtures.R and
tests/sae/fixtures/ebp/make_fixtures.R)::

    library(sae); data(cornsoybean); data(cornsoybeanmeans)
    Xmean <- data.frame(cornsoybeanmeans[, c("CountyIndex", "MeanCornPixPerSeg", "MeanSoyBeansPixPerSeg")])
    Popn  <- data.frame(cornsoybeanmeans[, c("CountyIndex", "PopnSegments")])
    r <- eblupBHF(CornHec ~ CornPix + SoyBeansPix, dom = County, meanxpop = Xmean,
                  popnsize = Popn, data = cornsoybean)      # all 37 segments
    r$fit$refvar; r$eblup    # sigma2_e 297.7128; 122.5825, 123.5274, 113.0343, ...
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.errors import ModelError
from carepop.sae.unit_models import bhf, ebp
from tests.cli.conftest import assert_refused, invoke

CORN = Path(__file__).parent / "fixtures" / "cornsoybean"
EBP = Path(__file__).parent / "fixtures" / "ebp"


@pytest.fixture(scope="module")
def corn():
    sample = pd.read_csv(CORN / "cornsoybean.csv")
    means = pd.read_csv(CORN / "cornsoybeanmeans.csv").rename(
        columns={
            "CountyIndex": "County",
            "MeanCornPixPerSeg": "CornPix",
            "MeanSoyBeansPixPerSeg": "SoyBeansPix",
        }
    )
    return sample, means


def test_bhf_cornsoybean(corn):
    sample, means = corn
    res = bhf(
        sample,
        means,
        area="County",
        y="CornHec",
        covariates=["CornPix", "SoyBeansPix"],
        pop_size="PopnSegments",
    )
    vc = res.fit.variance_components
    assert vc["sigma2_u"] == pytest.approx(63.3149, abs=5e-5) and vc["sigma2_e"] == pytest.approx(
        297.7128, abs=5e-5
    )
    r = pd.read_csv(CORN / "eblup_sae.csv")
    t = res.to_pandas()
    np.testing.assert_allclose(t["estimate"], r["eblup"], rtol=1e-6)
    np.testing.assert_allclose(t["estimate"].iloc[:3], [122.5825, 123.5274, 113.0343], atol=5e-5)
    m = pd.read_csv(CORN / "mse_analytic_r.csv")
    np.testing.assert_allclose(t["mse"], m["mse"], rtol=1e-6)
    # the direct column is the plain sample mean of the county's segments
    np.testing.assert_allclose(t["direct"], sample.groupby("County")["CornHec"].mean().to_numpy(), rtol=1e-14)
    assert t["in_sample"].all() and len(t) == 12


def test_bhf_out_of_sample_area_is_synthetic(corn):
    sample, means = corn
    extra = pd.DataFrame(
        {
            "County": [99],
            "CountyName": ["New"],
            "SampSegments": [0],
            "PopnSegments": [500],
            "CornPix": [300.0],
            "SoyBeansPix": [200.0],
        }
    )
    res = bhf(
        sample,
        pd.concat([means, extra]),
        area="County",
        y="CornHec",
        covariates=["CornPix", "SoyBeansPix"],
        pop_size="PopnSegments",
    )
    t = res.to_pandas().set_index("County")
    beta = res.fit.coefficients["estimate"].to_numpy()
    assert t.loc["99", "estimate"] == pytest.approx(beta @ [1, 300.0, 200.0], rel=1e-13)
    assert not t.loc["99", "in_sample"] and t.loc["99", "gamma"] == 0


def test_bhf_bad_input_names_rows(corn):
    sample, means = corn
    bad = sample.copy()
    bad.loc[[3, 7], "CornPix"] = np.nan
    with pytest.raises(ModelError) as err:
        bhf(
            bad,
            means,
            area="County",
            y="CornHec",
            covariates=["CornPix", "SoyBeansPix"],
            pop_size="PopnSegments",
        )
    assert err.value.column == "CornPix" and err.value.rows == [4, 8]
    with pytest.raises(ModelError) as err:
        bhf(
            sample,
            means.drop(columns=["SoyBeansPix"]),
            area="County",
            y="CornHec",
            covariates=["CornPix", "SoyBeansPix"],
            pop_size="PopnSegments",
        )
    assert err.value.code == "unknown_column"


def test_cli_bhf(corn, tmp_path):
    sample, means = corn
    s, p = tmp_path / "s.csv", tmp_path / "p.csv"
    sample.to_csv(s, index=False)
    means.to_csv(p, index=False)
    res = invoke(
        "sae",
        "bhf",
        s,
        "--area",
        "County",
        "--y",
        "CornHec",
        "--covariates",
        "CornPix,SoyBeansPix",
        "--pop-means",
        p,
        "--pop-size",
        "PopnSegments",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["fit"]["sigma2_u"] == pytest.approx(63.3149, abs=5e-5)
    assert out["areas"][0]["estimate"] == pytest.approx(122.5825, abs=5e-5)
    assert_refused(
        invoke(
            "sae",
            "bhf",
            s,
            "--area",
            "County",
            "--y",
            "CornHec",
            "--covariates",
            "CornPix,nope",
            "--pop-means",
            p,
            "--pop-size",
            "PopnSegments",
        ),
        "nope",
    )


def test_ebp_simulated_reference():
    sample = pd.read_csv(EBP / "sim_sample.csv")
    pop = pd.read_csv(EBP / "sim_pop.csv")
    res = ebp(
        sample, pop, area="area", y="y", covariates=["female", "age2", "age3"], count="N", boot=20, seed=3
    )
    t = res.to_pandas()
    assert ((t["ci_lower"] >= 0) & (t["ci_upper"] <= 1) & (t["mse"] > 0)).all()
    fits = pd.read_csv(EBP / "glmer_fits.csv")
    lap = fits[fits["fit"] == "sim_laplace"].set_index("param")["value"]
    # glmer fitted with tight settings (fixture README); carepop's optimum agrees to ~2e-7
    np.testing.assert_allclose(res.fit.coefficients["estimate"].iloc[0], lap["beta1"], rtol=1e-6)
    ref = pd.read_csv(EBP / "ebp_integrate.csv")
    got = t.set_index("area").loc[ref["area"], "estimate"].to_numpy()
    assert np.max(np.abs(got - ref["estimate"].to_numpy())) < 1e-6
