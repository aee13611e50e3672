"""Bundled census loaders against the published figures and the raw files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carepop import CarepopError
from carepop.sources.census import (
    HOURS_BANDS,
    bundled_path,
    load_qs301,
    load_ts007,
    load_ts007_single_years,
    load_ts008,
    load_ts039,
)
from carepop.sources.nomis import read_nomis

NOMIS = Path(__file__).parents[1] / "data" / "nomis"


def test_ts039_reproduces_the_england_figures():
    """shared/data/README.md: 53,413,087 residents 5+ over the 309 English LAs (ONS England
    53,413,098), no care 48,734,833, 50+ hours 1,404,771, carers 4,678,265; Bolton 25,980."""
    la = load_ts039("la")
    assert len(la) == 309 and la["area_code"].str.match(r"E0[6789]").all()
    assert la["residents_5plus"].sum() == 53_413_087
    # the LA sums differ from ONS's England figures only by perturbation
    published = {
        "residents_5plus": 53_413_098,
        "no_care": 48_734_833,
        "h50_plus": 1_404_771,
        "carers": 4_678_265,
    }
    got = la[list(published)].sum()
    assert got.to_dict() == {
        "residents_5plus": 53_413_087,
        "no_care": 48_734_827,
        "h50_plus": 1_404_768,
        "carers": 4_678_260,
    }
    for key, value in published.items():
        assert abs(got[key] - value) <= 11
    assert la.set_index("area_code").loc["E08000001", "carers"] == 25_980
    # columns add up: bands -> carers, carers + no care -> residents, subtotals
    assert (la["carers"] + la["no_care"] == la["residents_5plus"]).all()
    assert (la["h9_or_less"] + la["h10_19"] == la["h19_or_less"]).all()
    assert (la["h20_34"] + la["h35_49"] == la["h20_49"]).all()


def test_ts039_with_wales_and_msoa():
    assert len(load_ts039("la", england_only=False)) == 331
    msoa = load_ts039("msoa")
    assert len(msoa) == 6856 and len(load_ts039("msoa", england_only=False)) == 7264
    assert msoa["la_code"].notna().all() and msoa["la_code"].nunique() == 309
    assert list(msoa.columns[:4]) == ["area_code", "area_name", "la_code", "la_name"]
    bolton = msoa[msoa["la_code"] == "E08000001"]
    assert bolton["area_name"].str.startswith("Bolton ").all()
    assert set(HOURS_BANDS) <= set(msoa.columns)


def test_ts007_bands_single_years_and_bolton():
    la = load_ts007("la", single_years=True)
    assert len(la) == 309
    bands = [c for c in la.columns if c.startswith("age_") and not c[4:].isdigit()]
    assert len(bands) == 11
    assert (la[bands].sum(axis=1) == la["residents"]).all()
    singles = [f"age_{a}" for a in range(101)]
    assert (la[singles].sum(axis=1) == la["residents"]).all()
    # Bolton from the raw Nomis file
    raw = pd.read_csv(bundled_path("census2021", "ts007_age_la.csv")).set_index("geography code")
    b = la.set_index("area_code").loc["E08000001"]
    assert b["residents"] == raw.loc["E08000001", "Age: Total; measures: Value"] == 295_961
    assert b["age_85_plus"] == raw.loc["E08000001", "Age: Aged 85 years and over; measures: Value"]
    assert b["age_100"] == raw.loc["E08000001", "Age: Aged 100 years and over; measures: Value"]
    long = load_ts007_single_years()
    assert list(long.columns) == ["area_code", "area_name", "residents", "age"]
    assert long["residents"].sum() == la["residents"].sum()
    msoa = load_ts007("msoa")
    assert len(msoa) == 6856 and msoa["la_code"].nunique() == 309


def test_ts008_sex():
    sex = load_ts008("la")
    assert len(sex) == 309
    assert (sex["female"] + sex["male"] == sex["residents"]).all()
    assert sex.set_index("area_code").loc["E06000001"].tolist()[1:] == [92_338, 47_653, 44_685]
    with pytest.raises(CarepopError) as info:
        load_ts008("msoa")
    assert info.value.code == "not_bundled"


def test_qs301_2011_and_on_2021_las():
    q = load_qs301()
    assert len(q) == 326 and len(load_qs301(england_only=False)) == 348
    assert q["residents"].sum() == 53_012_456  # England 2011, all ages
    assert q["carers"].sum() == 5_430_016
    q21 = load_qs301(boundaries="2021")
    assert len(q21) == 309
    assert set(q21["area_code"]) == set(load_ts039("la")["area_code"])
    assert q21[["residents", "carers"]].sum().tolist() == [53_012_456, 5_430_016]
    # Buckinghamshire = Aylesbury Vale + Chiltern + South Bucks + Wycombe (raw 2011 file)
    raw = pd.read_csv(bundled_path("census2011", "qs301_unpaid_care_la.csv")).set_index("geography code")
    total = "Care Provision: All categories: Provision of unpaid care; measures: Value"
    bucks = q21.set_index("area_code").loc["E06000060"]
    assert bucks["residents"] == raw.loc[["E07000004", "E07000005", "E07000006", "E07000007"], total].sum()
    assert bucks["predecessors"] == 4 and bucks["codes_2011"] == "E07000004;E07000005;E07000006;E07000007"
    assert (q21["predecessors"] > 1).sum() == 8 and q21["predecessors"].sum() == 326
    with pytest.raises(CarepopError):
        load_qs301(boundaries="2019")


def test_loader_reads_a_users_nomis_file():
    small = load_ts039(source=NOMIS / "ts039_la_good.csv", england_only=False)
    assert small.set_index("area_code").loc["E08000001", "carers"] == 25_980
    msoa = load_ts039("msoa", source=NOMIS / "ts039_msoa_small.csv")
    assert msoa["la_code"].tolist() == ["E09000001", "E08000001", "E08000001", "E08000001"]


@pytest.mark.parametrize(
    "name,code",
    [
        ("ts039_la_missing_column.csv", "missing_columns"),
        ("ts039_la_bad_total.csv", "totals_disagree"),
        ("ts039_la_bad_subtotal.csv", "totals_disagree"),
        ("ts039_la_non_numeric.csv", "not_a_count"),
        ("ts039_la_duplicate.csv", "duplicate_area"),
        ("empty.csv", "empty_file"),
    ],
)
def test_loader_refuses_a_malformed_file(name, code):
    with pytest.raises(CarepopError) as info:
        load_ts039(source=NOMIS / name)
    assert info.value.code == code


def test_loader_names_the_missing_column():
    with pytest.raises(CarepopError) as info:
        load_ts039(source=NOMIS / "ts039_la_missing_column.csv")
    assert "Provides 50 or more hours unpaid care a week" in str(info.value)


def test_msoa_file_at_la_level_is_refused():
    with pytest.raises(CarepopError) as info:
        load_ts039("la", source=NOMIS / "ts039_msoa_small.csv")
    assert info.value.code == "unknown_geography"


def test_rows_are_file_rows_after_dropping_rural_urban_rows():
    raw = pd.read_csv(NOMIS / "qs301_la_2011_layout.csv", dtype=str)
    raw.iloc[2, 5] = "x"  # Hartlepool, data row 3 (row 2 is the dropped 'Urban' row)
    with pytest.raises(CarepopError) as info:
        read_nomis(raw)
    assert info.value.rows == [3]


def test_bad_level():
    with pytest.raises(CarepopError) as info:
        load_ts039("lsoa")
    assert info.value.code == "bad_option"
