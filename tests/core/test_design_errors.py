"""Bad input fails with a clear error naming the column, example rows and a fix — never a
numpy traceback or a silent NaN — and the caller's data is never modified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, DesignError, EstimationError, Survey

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture()
def strat() -> pd.DataFrame:
    return pd.read_csv(DATA / "apistrat.csv")


@pytest.fixture()
def clus1() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus1.csv")


def _raises(code: str, fn, *args, **kw) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        fn(*args, **kw)
    err = info.value
    assert err.code == code, f"expected {code}, got {err.code}: {err}"
    assert err.fix, "every error carries a fix"
    return err


def test_negative_weight_names_column_and_rows(strat):
    strat.loc[[4, 9], "pw"] = -1.0
    err = _raises("negative_weight", Survey, strat, weight="pw", strata="stype")
    assert err.column == "pw"
    assert err.rows == [5, 10]  # 1-based data rows
    assert "negative" in str(err)


def test_missing_weight(strat):
    strat.loc[2, "pw"] = np.nan
    err = _raises("missing_weight", Survey, strat, weight="pw", strata="stype")
    assert err.rows == [3]


def test_missing_stratum(strat):
    strat["stype"] = strat["stype"].astype(object)
    strat.loc[7, "stype"] = None
    err = _raises("missing_stratum", Survey, strat, weight="pw", strata="stype")
    assert err.column == "stype" and err.rows == [8]


def test_missing_psu(clus1):
    clus1.loc[0, "dnum"] = np.nan
    err = _raises("missing_PSU", Survey, clus1, weight="pw", psu="dnum")
    assert err.rows == [1]


def test_psu_in_two_strata(strat):
    # the same district number in two school types: not nested unless nest=True
    err = _raises("unit_in_two_strata", Survey, strat, weight="pw", strata="stype", psu="dnum")
    assert err.column == "dnum"
    assert "nest=True" in err.fix
    Survey(strat, weight="pw", strata="stype", psu="dnum", nest=True)  # accepted when nested


def test_lonely_psu_fails_by_default(strat):
    one = strat[(strat["stype"] != "H") | (strat.index == strat.index[strat["stype"] == "H"][0])]
    err = _raises("lonely_psu", Survey, one, weight="pw", strata="stype")
    assert err.column == "stype"
    assert "certainty" in err.fix and "adjust" in err.fix


def test_lonely_psu_is_not_lonely_when_taken_with_certainty(strat):
    one = strat[(strat["stype"] != "H") | (strat.index == strat.index[strat["stype"] == "H"][0])].copy()
    one.loc[one["stype"] == "H", "fpc"] = 1  # a population of one: sampled with certainty
    s = Survey(one, weight="pw", strata="stype", fpc="fpc")
    assert np.isfinite(s.mean("api00").se).all()


def test_unknown_lonely_policy(strat):
    _raises("bad_option", Survey, strat, weight="pw", strata="stype", lonely_psu="drop")


def test_non_numeric_mean(strat):
    s = Survey(strat, weight="pw", strata="stype")
    err = _raises("not_numeric", s.mean, "sch.wide")
    assert err.column == "sch.wide" and "proportion" in err.fix


def test_fpc_smaller_than_sample(strat):
    strat["fpc"] = np.where(strat["stype"] == "M", 10, strat["fpc"])  # 50 sampled, N=10
    err = _raises("fpc_smaller_than_sample", Survey, strat, weight="pw", strata="stype", fpc="fpc")
    assert err.column == "fpc" and "N=10" in str(err)


def test_fpc_mixing_sizes_and_fractions(strat):
    strat["fpc"] = strat["fpc"].astype(float)
    strat.loc[0, "fpc"] = 0.5
    _raises("mixed_fpc", Survey, strat, weight="pw", strata="stype", fpc="fpc")


def test_fpc_varying_within_stratum(strat):
    strat.loc[0, "fpc"] = 5000
    err = _raises("fpc_varies", Survey, strat, weight="pw", strata="stype", fpc="fpc")
    assert err.rows[0] == 1


def test_unknown_columns_suggest_names(strat):
    err = _raises("unknown_column", Survey, strat, weight="pww", strata="stype")
    assert "'pw'" in err.fix
    s = Survey(strat, weight="pw", strata="stype")
    _raises("unknown_column", s.mean, "api0")
    _raises("unknown_column", s.mean, "api00", by="styp")


def test_missing_values_in_variable_need_na_rm(strat):
    s = Survey(strat, weight="pw", strata="stype")
    err = _raises("missing_values", s.mean, "acs.k3")  # R's apistrat has NA here
    assert err.column == "acs.k3" and err.rows
    est = s.mean("acs.k3", na_rm=True).to_pandas()
    assert est["n"].iloc[0] == strat["acs.k3"].notna().sum()
    assert np.isfinite(est["se"]).all()


def test_missing_domain_values(strat):
    strat["stype"] = strat["stype"].astype(object)
    strat.loc[3, "stype"] = None
    s = Survey(strat, weight="pw")
    err = _raises("missing_domain", s.mean, "api00", by="stype")
    assert err.rows == [4]


def test_interval_methods_checked(strat):
    s = Survey(strat, weight="pw", strata="stype")
    _raises("bad_option", s.mean, "api00", ci="logit")  # logit is for proportions
    _raises("bad_option", s.mean, "api00", ci="exact")
    _raises("bad_option", s.quantile, "api00", 0.5, ci="beta")
    _raises("bad_option", s.quantile, "api00", 1.5)


def test_replicate_design_errors(strat):
    strat["rw1"] = strat["pw"]
    strat["rw2"] = strat["pw"]
    _raises("bad_option", Survey.replicate, strat, "rw", "fay", weight="pw")  # no rho
    _raises("unknown_column", Survey.replicate, strat, "zz", "jk1", weight="pw")
    _raises("bad_option", Survey.replicate, strat, "rw", "jackknife", weight="pw")
    _raises("missing_weight", Survey.replicate, strat, "rw", "jk1")  # full-sample weight needed
    strat.loc[5, "rw2"] = -3
    err = _raises("negative_weight", Survey.replicate, strat, "rw", "jk1", weight="pw")
    assert err.column == "rw2" and err.rows == [6]


def test_two_stage_needs_second_fpc():
    df = pd.read_csv(DATA / "apiclus2.csv")
    _raises("missing_fpc2", Survey, df, weight="pw", psu="dnum", ssu="snum", fpc="fpc1")
    _raises("ssu_without_psu", Survey, df, weight="pw", ssu="snum")


def test_errors_are_typed():
    assert issubclass(DesignError, CarepopError) and issubclass(EstimationError, CarepopError)
    assert issubclass(CarepopError, ValueError)


def test_inputs_never_modified(strat):
    before = strat.copy(deep=True)
    s = Survey(strat, weight="pw", strata="stype", fpc="fpc")
    s.mean("api00", by="stype")
    s.proportion("sch.wide", by="stype", ci="beta")
    s.quantile("api00", 0.5, by="stype")
    pd.testing.assert_frame_equal(strat, before)
    # and the survey does not share the caller's frame
    strat.loc[0, "api00"] = 0
    assert s.data.loc[0, "api00"] == before.loc[0, "api00"]
