"""Bundled population projections (2018-based SNPP on 2023 councils, national 2018- and 2020-based
projections), growth ratios, the Census 2021 base by council and ONS's bulk SNPP CSV."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sources.projections import (
    ENGLAND,
    SNPP_GROUPS,
    census_single_years,
    growth_ratios,
    load_npp,
    load_snpp,
    national_variant_ratio,
    npp_by_group,
    parse_age_band,
    projection_array,
    read_snpp_bulk,
)

DATA = resources.files("carepop").joinpath("data/projections")


def _raw(name: str) -> list[list[str]]:
    with DATA.joinpath(name).open("r", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# ------------------------------------------------------------------------------ bundled SNPP
def test_snpp_has_153_councils_and_england_every_group_and_year():
    s = load_snpp()
    assert list(s.columns) == ["area_code", "area_name", "age_group", "year", "population"]
    assert s["area_code"].nunique() == 154 and ENGLAND in set(s["area_code"])
    assert tuple(s["age_group"].drop_duplicates()) == SNPP_GROUPS
    assert sorted(s["year"].unique()) == list(range(2018, 2044))
    assert len(s) == 154 * 19 * 26


def test_councils_add_up_to_england_within_rounding_every_group_and_year():
    """Unrounded, the 153 councils add up to England within 2 persons (the derivation's check);
    each council value was then rounded to a whole person, an error uniform on ±0.5, so a sum of
    153 carries rounding error of sd sqrt(153 / 12) = 3.57 and mean 0. Over the 520 cells (20 age
    groups incl. All ages × 26 years) the differences must look like that: none beyond 4.5 sd
    (16 persons), sd between 3.0 and 4.2, mean within ±0.5."""
    s = load_snpp(all_ages=True)
    councils = s[s["area_code"] != ENGLAND].groupby(["age_group", "year"])["population"].sum()
    england = s[s["area_code"] == ENGLAND].set_index(["age_group", "year"])["population"]
    diff = councils - england.reindex(councils.index)
    assert len(diff) == 20 * 26 and diff.notna().all()
    sd = np.sqrt(153 / 12)
    assert diff.abs().max() <= 4.5 * sd
    assert 3.0 <= diff.std() <= 4.2
    assert abs(diff.mean()) <= 0.5


def test_age_groups_add_up_to_all_ages_within_rounding():
    s = load_snpp(all_ages=True)
    total = s[s["age_group"] == "All ages"].set_index(["area_code", "year"])["population"]
    parts = s[s["age_group"] != "All ages"].groupby(["area_code", "year"])["population"].sum()
    assert (parts - total.reindex(parts.index)).abs().max() <= 10  # 19 rounded parts


def test_england_snpp_equals_the_national_projection_by_group():
    """England's SNPP rows are the 2018-based national projection (README: 55,977,178 in 2018,
    61,744,098 in 2043), here checked for every 5-year group and year."""
    s = load_snpp()
    eng = s[s["area_code"] == ENGLAND].pivot(index="age_group", columns="year", values="population")
    npp = npp_by_group("2018-based principal")
    assert np.array_equal(eng.reindex(list(SNPP_GROUPS)).to_numpy(), npp[eng.columns].to_numpy())
    assert eng[2018].sum() == 55_977_178 and eng[2043].sum() == 61_744_098


def test_snpp_value_is_the_csv_row():
    rows = _raw("snpp2018_persons_council23_5yr_2018_2043.csv")
    header = rows[0]
    row = next(r for r in rows if r[0] == "E06000065" and r[2] == "85-89")  # North Yorkshire
    s = load_snpp()
    got = s.query("area_code == 'E06000065' and age_group == '85-89' and year == 2035")["population"]
    assert got.item() == float(row[header.index("2035")])


# ------------------------------------------------------------------------------ national
def test_npp_variants_and_ages():
    a = load_npp()
    b = load_npp("2020-based interim principal")
    assert set(a["variant"]) == {"2018-based principal"}
    assert sorted(a["year"].unique()) == list(range(2018, 2051))
    assert sorted(b["year"].unique()) == list(range(2020, 2051))
    assert sorted(a["age"].unique()) == [*range(105), 105, 110]
    rows = _raw("npp2020interim_england_principal_syoa_sex_2020_2050.csv")
    row = next(r for r in rows if r[0] == "female" and r[1] == "110+")
    got = b.query("sex == 'female' and age == 110 and year == 2050")["population"].item()
    assert got == float(row[-1])


def test_unknown_npp_variant():
    with pytest.raises(CarepopError, match="Unknown national projection") as e:
        load_npp("2016-based")
    assert "variant=" in e.value.fix


def test_variant_ratio_by_hand_for_90_plus():
    """R(90+, 2040) = [N20(2040)/N20(2021)] / [N18(2040)/N18(2021)], N summed over both sexes
    and ages 90 ... 104, 105-109, 110+ straight from the CSV rows."""

    def n90(name: str, year: str) -> float:
        rows = _raw(name)
        i = rows[0].index(year)
        return sum(float(r[i]) for r in rows[1:] if int(r[1].split("-")[0].rstrip("+")) >= 90)

    a = "npp2018_england_principal_syoa_sex_2018_2050.csv"
    b = "npp2020interim_england_principal_syoa_sex_2020_2050.csv"
    expected = (n90(b, "2040") / n90(b, "2021")) / (n90(a, "2040") / n90(a, "2021"))
    R = national_variant_ratio(2021, [2021, 2040])
    assert R[-1, 1] == pytest.approx(expected, rel=1e-12)
    assert np.allclose(R[:, 0], 1.0)


def test_variant_ratio_year_outside():
    with pytest.raises(CarepopError, match="no year 2019") as e:
        national_variant_ratio(2019, [2030])
    assert e.value.code == "year_out_of_range"


# ------------------------------------------------------------------------------ growth and census base
def test_growth_ratio_by_hand():
    g = growth_ratios(base=2021).set_index(["area_code", "age_group", "year"])["growth"]
    assert g[("E06000001", "65-69", 2030)] == pytest.approx(6614 / 5252)  # Hartlepool CSV row
    assert g[("E06000001", "65-69", 2021)] == 1.0
    with pytest.raises(CarepopError, match="no year 2017") as e:
        growth_ratios(base=2017)
    assert "base=" in e.value.fix


def test_census_base_by_council():
    c = census_single_years()
    assert c.shape == (153, 101)
    assert list(c.columns[[0, -1]]) == ["age_0", "age_100"]
    # Hartlepool (a unitary council): ages 65-69 of its TS007 row, 1121 + 1053 + 1010 + 1043 + 1020
    assert c.loc["E06000001", [f"age_{a}" for a in range(65, 70)]].sum() == 5247
    from carepop.sources.census import load_ts007

    assert c.to_numpy().sum() == load_ts007("la")["residents"].sum()
    # a two-tier county is the sum of its districts: Kent E10000016, 1,576,069 in Census 2021
    from carepop.sources.regions import councils_of

    la = load_ts007("la")
    kent = la.loc[councils_of(la["area_code"]).to_numpy() == "E10000016", "residents"].sum()
    assert c.loc["E10000016"].sum() == kent


def test_projection_array_missing_council():
    s = load_snpp()
    with pytest.raises(CarepopError, match="no rows for 1 council") as e:
        projection_array(s[s["area_code"] != "E06000001"], ["E06000001", "E06000002"])
    assert e.value.code == "unknown_area" and "projections=" in e.value.fix


# ------------------------------------------------------------------------------ age bands
@pytest.mark.parametrize(
    "label, band",
    [("65-69", (65, 69)), ("65 to 69", (65, 69)), ("85+", (85, None)), ("90 and over", (90, None)),
     ("All ages", (0, None)), ("7", (7, 7)), ("Aged 18-24 years", (18, 24)), ("old", None), ("70-65", None)],
)  # fmt: skip
def test_parse_age_band(label, band):
    assert parse_age_band(label) == band


# ------------------------------------------------------------------------------ ONS bulk file
YEARS = list(range(2022, 2048))


def synthetic_bulk(path: Path, areas=("E06000001", "E06000002"), persons: bool = True, seed: int = 1) -> Path:
    """A small file in the layout of ONS's bulk 2022-based SNPP CSV: single years 0 ... 89 and
    '90 and over', an 'All ages' row, males and females (and persons), 2022 ... 2047."""
    rng = np.random.default_rng(seed)
    ages = [str(a) for a in range(90)] + ["90 and over"]
    rows = []
    for code in areas:
        by_sex = {s: rng.integers(100, 1000, size=(len(ages), len(YEARS))) for s in ("male", "female")}
        if persons:
            by_sex["persons"] = by_sex["male"] + by_sex["female"]
        for sex, values in by_sex.items():
            for label, v in zip([*ages, "All ages"], [*values, values.sum(axis=0)], strict=True):
                rows.append([code, f"Area {code}", "Population", sex, label, *v])
    columns = ["AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP", *map(str, YEARS)]
    frame = pd.DataFrame(rows, columns=columns)
    frame.to_csv(path, index=False)
    return path


def test_bulk_file_to_five_year_groups(tmp_path):
    path = synthetic_bulk(tmp_path / "snpp.csv")
    raw = pd.read_csv(path)
    got = read_snpp_bulk(path)
    assert list(got.columns) == ["area_code", "area_name", "age_group", "year", "population"]
    assert tuple(got["age_group"].drop_duplicates()) == SNPP_GROUPS
    p = raw[(raw.SEX == "persons") & (raw.AREA_CODE == "E06000002")]
    expected = p[p.AGE_GROUP.isin(["65", "66", "67", "68", "69"])]["2030"].sum()
    one = got.query("area_code == 'E06000002' and age_group == '65-69' and year == 2030")
    assert one["population"].item() == expected
    top = got.query("area_code == 'E06000001' and age_group == '90+' and year == 2047")["population"].item()
    q = raw[(raw.SEX == "persons") & (raw.AREA_CODE == "E06000001") & (raw.AGE_GROUP == "90 and over")]
    assert top == q["2047"].item()


def test_bulk_file_males_plus_females_without_persons(tmp_path):
    a = read_snpp_bulk(synthetic_bulk(tmp_path / "a.csv", persons=True))
    b = read_snpp_bulk(synthetic_bulk(tmp_path / "b.csv", persons=False))
    pd.testing.assert_frame_equal(a, b)


def test_bulk_file_own_groups_single_years_areas_and_years(tmp_path):
    path = synthetic_bulk(tmp_path / "snpp.csv")
    broad = read_snpp_bulk(path, groups=["0-17", "18-64", "65+"], areas=["E06000001"], years=[2025, 2040])
    assert set(broad["area_code"]) == {"E06000001"} and sorted(broad["year"].unique()) == [2025, 2040]
    five = read_snpp_bulk(path).query("area_code == 'E06000001' and year == 2040")
    old = five[five["age_group"].isin(SNPP_GROUPS[13:])]["population"].sum()
    assert broad.query("age_group == '65+' and year == 2040")["population"].item() == old
    single = read_snpp_bulk(path, groups=None)
    assert single["age_group"].nunique() == 91


def test_bulk_file_errors(tmp_path):
    path = synthetic_bulk(tmp_path / "snpp.csv")
    raw = pd.read_csv(path, dtype=str)
    with pytest.raises(CarepopError, match="no column 'SEX'") as e:
        read_snpp_bulk(raw.drop(columns="SEX"))
    assert e.value.column == "SEX"
    bad = raw.copy()
    bad.loc[4, "2030"] = "n/a"
    with pytest.raises(CarepopError, match="not a number") as e:
        read_snpp_bulk(bad)
    assert e.value.column == "2030" and e.value.rows == [5] and e.value.got == "n/a"
    bad.loc[4, "2030"] = "12,5"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CarepopError, match="not a number") as e:
        read_snpp_bulk(tmp_path / "bad.csv")
    assert e.value.column == "2030" and e.value.rows == [5] and e.value.got == "12,5"
    with pytest.raises(CarepopError, match="not a year") as e:
        read_snpp_bulk(raw.assign(notes="x"))
    assert e.value.column == "notes"
    with pytest.raises(CarepopError, match="E09000001") as e:
        read_snpp_bulk(path, areas=["E09000001"])
    assert e.value.code == "unknown_area" and "areas=" in e.value.fix
    with pytest.raises(CarepopError, match="no year 2050") as e:
        read_snpp_bulk(path, years=[2030, 2050])
    assert "2022" in e.value.expected and "2047" in e.value.expected
    odd = raw.copy()
    odd.loc[200, "AGE_GROUP"] = "old"  # rows 1-92 male, 93-184 female, 185-276 persons
    with pytest.raises(CarepopError, match="not ages") as e:
        read_snpp_bulk(odd)
    assert e.value.column == "AGE_GROUP" and e.value.rows == [201]
    with pytest.raises(CarepopError, match="COMPONENT 'Births'"):
        read_snpp_bulk(path, component="Births")


def test_bulk_file_groups_that_split_a_band(tmp_path):
    path = synthetic_bulk(tmp_path / "snpp.csv")
    raw = pd.read_csv(path, dtype=str)
    raw.loc[raw["AGE_GROUP"] == "90 and over", "AGE_GROUP"] = "90-120"
    with pytest.raises(CarepopError, match="does not fall inside") as e:
        read_snpp_bulk(raw, groups=["0-89", "90-99", "100+"])
    assert e.value.column == "AGE_GROUP" and e.value.got == "90-120"
