"""The registry of weighting methods and the plan that runs them (``carepop weight``'s engine)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, Survey
from carepop.weighting import (
    REGISTRY,
    calibrate,
    nonresponse_classes,
    poststratify,
    rake,
    replicate_weights,
    response_propensity,
    trim_weights,
    weighting_method,
)
from carepop.weighting.plan import WeightingPlan, apply_weighting
from carepop.weighting.registry import run
from tests.golden import close

STYPE = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}


@pytest.fixture(scope="module")
def srs(apisrs) -> Survey:
    return Survey(apisrs.assign(resp=(apisrs["comp.imp"] == "Yes").astype(int)), weight="pw", fpc="fpc")


def test_registry_names_every_method_once():
    assert list(REGISTRY) == [
        "replicates",
        "nonresponse_classes",
        "response_propensity",
        "poststratify",
        "rake",
        "calibrate",
        "trim",
    ]
    functions = [m.function for m in REGISTRY.values()]
    assert functions == [
        replicate_weights,
        nonresponse_classes,
        response_propensity,
        poststratify,
        rake,
        calibrate,
        trim_weights,
    ]
    for name, method in REGISTRY.items():
        assert method.name == name and method.description
    with pytest.raises(TypeError):
        REGISTRY["mine"] = REGISTRY["rake"]  # read-only


def test_lookup_by_name_and_alias():
    assert weighting_method("rake") is REGISTRY["rake"]
    assert weighting_method("Raking") is REGISTRY["rake"]
    assert weighting_method("trim_weights") is REGISTRY["trim"]
    with pytest.raises(CarepopError) as info:
        weighting_method("winsorise")
    err = info.value
    assert err.code == "bad_option" and err.got == "winsorise"
    assert set(err.expected) == set(REGISTRY)
    assert "rake" in err.fix and "method=" in err.fix


def test_run_is_the_method(srs):
    a = run(srs, "rake", margins={"stype": STYPE, "sch.wide": SCHWIDE})
    b = rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE})
    close(a.weights, b.weights, rtol=0)
    assert a.adjustments[-1].method == "rake"


def test_every_method_records_itself(srs):
    """One return shape: every method returns a Survey whose last adjustment names it."""
    s = run(srs, "nonresponse_classes", classes="stype", respondent="resp", min_respondents=1)
    assert isinstance(s, Survey) and s.adjustments[-1].method == "nonresponse_classes"
    assert isinstance(s.adjustments[-1].report, pd.DataFrame)
    s = run(s, "poststratify", variable="stype", population=STYPE)
    s = run(s, "calibrate", population={"stype": STYPE, "api99": 3914069})
    s = run(s, "trim", lower=0.5, upper=2, relative=True)
    assert [a.method for a in s.adjustments] == ["nonresponse_classes", "poststratify", "calibrate", "trim"]
    assert [a.column for a in s.adjustments] == ["weight_nr", "weight_ps", "weight_cal", "weight_trim"]
    assert s.weight == "weight_trim"
    # trimming keeps R's variance (no linearisation step); the others enter it
    assert [bool(a.steps) for a in s.adjustments] == [True, True, True, False]
    p = run(srs, "response_propensity", covariates=["stype", "api99"], respondent="resp")
    assert p.adjustments[-1].method == "response_propensity"
    assert p.adjustments[-1].report.coefficients.index[0] == "(Intercept)"


def test_plan_runs_through_the_registry(srs):
    # margins given as objects rather than files: the plan is a plain dataclass
    plan = WeightingPlan(
        nonresponse_classes=("stype",),
        respondent="resp",
        rake=(("stype", STYPE), ("sch.wide", SCHWIDE)),
        trim=(20.0, 60.0),
    )
    weighted, reports = apply_weighting(srs, plan)
    by_hand = trim_weights(
        rake(nonresponse_classes(srs, "stype", "resp"), {"stype": STYPE, "sch.wide": SCHWIDE}),
        lower=20,
        upper=60,
    )
    assert (by_hand.weights > 60).sum() == 0 and by_hand.weights.max() == 60
    close(weighted.weights, by_hand.weights, rtol=0)
    assert len(reports) == 1
    pd.testing.assert_frame_equal(reports[0], weighted.adjustments[0].report)


def test_plan_passes_force_and_harmonise_to_calibrate(srs):
    pop = (("stype", STYPE),)
    tight = WeightingPlan(calibrate_cat=pop, calfun="logit", bounds=(0.99, 1.01), maxit=2)
    with pytest.raises(CarepopError) as info:
        apply_weighting(srs, tight)
    assert info.value.code == "calibration_failed"
    with pytest.warns(UserWarning, match="did not reach the totals"):
        forced, _ = apply_weighting(srs, WeightingPlan(**{**tight.__dict__, "force": True}))
    assert np.isfinite(forced.weights).all()
    # margins 1% apart: refused, or scaled to the first's total with harmonise
    off = (("stype", STYPE), ("sch.wide", {k: v * 1.01 for k, v in SCHWIDE.items()}))
    with pytest.raises(CarepopError) as info:
        apply_weighting(srs, WeightingPlan(calibrate_cat=off))
    assert info.value.code == "margins_disagree"
    harm, _ = apply_weighting(srs, WeightingPlan(calibrate_cat=off, harmonise=True))
    close(harm.weights.sum(), sum(STYPE.values()), rtol=1e-12)
