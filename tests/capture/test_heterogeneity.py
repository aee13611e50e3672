"""Rcapture's closedp.t on its HIV data (fixtures/rcapture_hiv.R produced the reference numbers:

    .libPaths(c("/work/rlib", .libPaths())); library(Rcapture); data(HIV)
    closedp.t(HIV, dfreq = TRUE, control = glm.control(epsilon = 1e-14, maxit = 100))$results

Data: Rcapture package, from Abeni, Brancato & Perucci (1994)."""

from pathlib import Path

import pandas as pd
import pytest

from carepop.capture.heterogeneity import closed_model
from carepop.capture.table import capture_table, from_counts
from carepop.errors import ModelError

FIX = Path(__file__).parent / "fixtures"
HIV = capture_table(pd.read_csv(FIX / "hiv.csv"), ["c1", "c2", "c3", "c4"], "freq")
MODELS = ["m0", "mt", "mh", "mth"]


@pytest.mark.parametrize("i, model", list(enumerate(MODELS)))
def test_rcapture_hiv_tight(i, model):
    ref = pd.read_csv(FIX / "rcapture_hiv_closedp_tight.csv").iloc[i]
    r = closed_model(HIV, model)
    assert r.model == ref["model"]
    assert r.estimate == pytest.approx(ref["abundance"], rel=1e-6)
    assert r.se == pytest.approx(ref["stderr"], rel=1e-6)
    assert r.deviance == pytest.approx(ref["deviance"], rel=1e-8)
    assert r.df == ref["df"]
    assert r.aic == pytest.approx(ref["AIC"], rel=1e-8)
    assert r.bic == pytest.approx(ref["BIC"], rel=1e-8)


@pytest.mark.parametrize("i, model", list(enumerate(MODELS)))
def test_rcapture_hiv_default_estimates(i, model):
    """With R's default glm tolerance the estimates agree too (the SEs to 2e-6: R stops early)."""
    ref = pd.read_csv(FIX / "rcapture_hiv_closedp.csv").iloc[i]
    r = closed_model(HIV, model)
    assert r.estimate == pytest.approx(ref["abundance"], rel=1e-6)
    assert r.se == pytest.approx(ref["stderr"], rel=2e-6)


def test_brief_numbers():
    got = {m: closed_model(HIV, m) for m in MODELS}
    assert round(got["m0"].estimate, 2) == 11576.70 and round(got["m0"].se, 2) == 946.07
    assert round(got["mt"].estimate, 2) == 11124.58 and round(got["mt"].se, 2) == 904.75
    assert round(got["mh"].estimate, 2) == 12145.15 and round(got["mh"].se, 2) == 1076.25
    assert round(got["mth"].estimate, 2) == 11700.99 and round(got["mth"].se, 2) == 1030.92


def test_chao_models_need_three_lists():
    t = from_counts({"11": 3, "10": 4, "01": 5}, ["A", "B"])
    with pytest.raises(ModelError) as e:
        closed_model(t, "mh")
    assert e.value.code == "too_few_lists"
    assert closed_model(t, "mt").estimate > 12


def test_unknown_model():
    with pytest.raises(ModelError):
        closed_model(HIV, "mb")


@pytest.mark.parametrize("model", ["m0", "mth"])
def test_profile_interval_matches_rcapture_closedpci(model):
    """fixtures/rcapture_hiv_ci.R: ``closedpCI.t(HIV, dfreq = TRUE, m = "Mth", h = "Chao")$CI``.
    Rcapture uses Stirling's formula for Cormack's correction and uniroot(tol = 1e-4), hence 1e-7."""
    ref = pd.read_csv(FIX / "rcapture_hiv_ci.csv").set_index("model").loc[model]
    r = closed_model(HIV, model, interval="profile")
    assert r.ci_lower == pytest.approx(ref["infCL"], rel=1e-7)
    assert r.ci_upper == pytest.approx(ref["supCL"], rel=1e-7)
    assert r.ci_lower < r.estimate < r.ci_upper


def test_bootstrap_interval_refused():
    with pytest.raises(ModelError) as e:
        closed_model(HIV, "mt", interval="bootstrap")
    assert e.value.code == "bad_option"
