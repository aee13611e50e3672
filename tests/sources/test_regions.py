"""Areas -> regions (carepop.sources.regions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.regions import build_region_table, region_lookup, regions_of
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
