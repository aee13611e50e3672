"""Margins from the bundled Census 2021 tables, and weighting a carers survey to them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError
from carepop.pipeline.demo import draw_sample, survey_of
from carepop.sources.census import census_margin, load_ts039
from carepop.weighting import poststratify, rake


def test_age_margin_adds_up_to_the_census():
    every_age = census_margin("age", by_la=False, age_bands=((0, None),))
    # TS007 England total of usual residents (sum over the 309 English LAs of the file)
    by_la = census_margin("age", age_bands=((0, None),))
    assert every_age["total"].iloc[0] == by_la["total"].sum()
    adults = census_margin("age", las=["E08000001"])  # Bolton, 18+ in the default bands
    assert list(adults["age_band"]) == sorted(
        ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+"]
    )


def test_unpaid_care_margin_is_ts039():
    m = census_margin("unpaid_care", las=["E08000001"])
    assert m["total"].iloc[1:].sum() == 25980  # Bolton's carers (shared/data/README.md)
    nat = census_margin("unpaid_care", by_la=False)
    assert nat["total"].sum() == 53_413_087


def test_sex_and_age_margins_differ_only_by_perturbation():
    sex = census_margin("sex", by_la=False)
    age = census_margin("age", by_la=False, age_bands=((0, None),))
    diff = abs(sex["total"].sum() - age["total"].sum())
    assert 0 < diff < 1e-5 * sex["total"].sum()


def test_carers_survey_raked_to_census_hours_bands():
    s = survey_of(draw_sample(7))
    margin = census_margin("unpaid_care", by_la=False)
    r = rake(s, {"hours_band": margin})
    got = pd.Series(r.weights).groupby(r.data["hours_band"]).sum().to_numpy()
    np.testing.assert_allclose(got, margin["total"].to_numpy(), rtol=1e-9)
    est = r.proportion("carer", ci="logit").to_pandas()
    truth = load_ts039("la")
    rate = truth["carers"].sum() / truth["residents_5plus"].sum()
    # calibrated to the census bands, the share of carers is the census share, with ~no variance left
    yes = est[est["level"] == "Yes"].iloc[0]
    assert yes["estimate"] == pytest.approx(rate, rel=1e-9)
    assert yes["se"] < 1e-6


def test_la_by_band_margin_needs_every_cell_in_the_sample():
    s = survey_of(draw_sample(7))
    with pytest.raises(CarepopError) as info:
        poststratify(s, ("la_code", "hours_band"), census_margin("unpaid_care"))
    assert info.value.code == "category_not_in_sample"


def test_harmonise_scales_margins_that_differ_by_perturbation():
    s = survey_of(draw_sample(3))
    bands = census_margin("unpaid_care", by_la=False)
    two_bands = pd.DataFrame(
        {"value": [0, 1], "total": [bands["total"].iloc[0], bands["total"].iloc[1:].sum() + 60]}
    )
    with pytest.raises(CarepopError) as info:
        rake(s, {"hours_band": bands, "carer": two_bands})
    assert info.value.code == "margins_disagree" and "harmonise" in info.value.fix
    r = rake(s, {"hours_band": bands, "carer": two_bands}, harmonise=True, maxit=50)
    assert r.weights.sum() == pytest.approx(bands["total"].sum(), rel=1e-9)
