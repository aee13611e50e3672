"""Areas -> regions (carepop.sources.regions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.regions import build_region_table, councils_of, region_lookup, regions_of
from carepop.sources.tables import load_table

BOUNDARIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "boundaries"


def test_every_census_district_has_a_region():
    codes = load_table("area", None)["la_code"]
    regions = regions_of(codes)
    assert len(regions) == 309 and regions.notna().all()
    # nine English regions; London has 33 boroughs, the North East 12 districts (Census 2021)
    counts = regions.value_counts()
    assert len(counts) == 9
    assert counts["E12000007"] == 33 and counts["E12000001"] == 12


def test_councils_of_2023_and_mergers():
    codes = ["E06000063", "E06000065", "E06000066", "E10000014", "E08000038"]
    got = dict(zip(codes, regions_of(codes), strict=True))
    # Cumberland: North West; North Yorkshire: Yorkshire and The Humber; Somerset: South West;
    # Hampshire county council: South East; Barnsley (2025 code): Yorkshire and The Humber
    assert got == {
        "E06000063": "E12000002",
        "E06000065": "E12000003",
        "E06000066": "E12000009",
        "E10000014": "E12000008",
        "E08000038": "E12000003",
    }


def test_unknown_codes_are_named():
    with pytest.raises(CarepopError) as err:
        regions_of(["E06000001", "E92000001", "W06000001"], column="la")
    e = err.value
    assert e.code == "unknown_area" and e.column == "la" and e.rows == [2, 3]
    assert "E92000001" in str(e) and "W06000001" in str(e)


@pytest.mark.skipif(not BOUNDARIES.exists(), reason="the shared ONS lookups are not beside the project")
def test_bundled_table_is_the_build_of_the_ons_lookups():
    built = build_region_table(BOUNDARIES)
    pd.testing.assert_frame_equal(built.reset_index(drop=True), region_lookup().reset_index(drop=True))


def test_the_309_districts_make_the_153_councils_of_2023():
    """Every Census 2021 district belongs to exactly one of the 153 councils with adult social care
    responsibility in 2023 (the councils of the bundled CLD list), two-tier districts to their county
    and the districts merged in 2023 to the new unitary councils."""
    from importlib import resources

    districts = load_table("area", None)["la_code"]
    councils = councils_of(districts)
    with resources.files("carepop").joinpath("data/cld/councils_2023.csv").open("rb") as fh:
        expected = set(pd.read_csv(fh)["LA_Code"])
    assert set(councils) == expected and len(expected) == 153
    got = dict(zip(districts, councils, strict=True))
    assert got["E07000026"] == "E06000063"  # Allerdale -> Cumberland (2023)
    assert got["E07000027"] == "E06000064"  # Barrow-in-Furness -> Westmorland and Furness
    assert got["E07000246"] == "E06000066"  # Somerset West and Taunton -> Somerset (2023)
    assert got["E07000244"] == "E10000029"  # East Suffolk (2019) -> Suffolk county council
    assert got["E08000016"] == "E08000016"  # Barnsley keeps its 2023 code (recoded only in 2025)
    assert got["E09000001"] == "E09000001"


def test_council_table_adds_up_to_the_district_table():
    area, council = load_table("area", None), load_table("council", None)
    assert len(council) == 153 and council["council_code"].is_unique
    for col in ("carers", "residents_5plus", "residents", "c2011_carers", "gp_carers"):
        assert council[col].sum() == pytest.approx(area[col].sum(), rel=1e-12)
    hants = council.set_index("council_code").loc["E10000014"]
    districts = area[councils_of(area["la_code"]).to_numpy() == "E10000014"]
    assert len(districts) == 11 and hants["carers"] == districts["carers"].sum()
    assert hants["carer_rate"] == pytest.approx(
        districts["carers"].sum() / districts["residents_5plus"].sum()
    )
    w = districts["residents"] / districts["residents"].sum()
    assert hants["imd_score"] == pytest.approx(float((w * districts["imd_score"]).sum()), rel=1e-12)
    assert hants["region_name"] == "South East"
