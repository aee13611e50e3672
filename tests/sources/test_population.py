"""Census 2021 residents by council × age band × sex (carepop.sources.population): the split keeps
every district's TS007 count at each age and its TS008 female share, and the council sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.census import load_ts007, load_ts008
from carepop.sources.population import population_by_age_sex, sex_by_single_year
from carepop.sources.tables import load_table


@pytest.fixture(scope="module")
def single():
    return sex_by_single_year()


def test_split_keeps_the_census_margins(single):
    ages = load_ts007("la", single_years=True).set_index("area_code")
    sex = load_ts008("la").set_index("area_code")
    by_age = single.groupby(["la_code", "age"])["population"].sum().unstack()
    np.testing.assert_allclose(
        by_age.to_numpy(), ages.loc[by_age.index, [f"age_{a}" for a in range(101)]], rtol=1e-9
    )
    female = single[single["sex"] == "Female"].groupby("la_code")["population"].sum()
    share = sex.loc[female.index, "female"] / sex.loc[female.index, "residents"]
    np.testing.assert_allclose(female / by_age.sum(axis=1).loc[female.index], share, rtol=1e-9)
    assert (single["population"] >= 0).all()
    # older ages are mostly women (national shares): 85+ in Hartlepool
    h = single[(single["la_code"] == "E06000001") & (single["age"] >= 85)].groupby("sex")["population"].sum()
    assert 0.58 < h["Female"] / h.sum() < 0.70


def test_councils_and_bands():
    p = population_by_age_sex(((18, 64), (65, 74), (75, 84), (85, None)))
    assert p["council_code"].nunique() == 153 and len(p) == 153 * 4 * 2
    c = load_table("council", None).set_index("council_code")
    got = p.groupby(["council_code", "age_band"], observed=True)["population"].sum().unstack()
    for band, col in (("18-64", "age_18_64"), ("65-74", "age_65_74"), ("85+", "age_85_plus")):
        np.testing.assert_allclose(got[band], c.loc[got.index, col], rtol=1e-9)
    assert list(p["age_band"].cat.categories) == ["18-64", "65-74", "75-84", "85+"]


def test_own_table_and_bad_bands():
    own = pd.DataFrame(
        {
            "council_code": ["E06000001"] * 2,
            "age": [70, 90],
            "sex": ["Female", "Male"],
            "population": [10.0, 5.0],
        }
    )
    p = population_by_age_sex(((65, 84), (85, None)), table=own)
    assert p["population"].tolist() == [10.0, 5.0] and p["age_band"].astype(str).tolist() == ["65-84", "85+"]
    with pytest.raises(CarepopError) as err:
        population_by_age_sex(((65, 84), (80, None)))
    assert err.value.code == "bad_age_bands"
    with pytest.raises(CarepopError) as err:
        population_by_age_sex(table=own.drop(columns="sex"))
    assert err.value.code == "unknown_column" and err.value.column == "sex"
