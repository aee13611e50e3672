"""MSOA -> LA lookup and aggregation, 2011 -> 2021 LAs, checked joins, IMD, GP carers, area table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError
from carepop.sources.area_table import area_table, join_report
from carepop.sources.areas import (
    LA_MERGERS_2011_2021,
    aggregate_to_la,
    check_codes,
    compare_with_la,
    la_2011_to_2021,
    msoa_la_lookup,
)
from carepop.sources.census import bundled_path, load_qs301, load_ts007, load_ts039
from carepop.sources.la_indicators import load_gp_carers, load_imd2019
from carepop.sources.nomis import BETWEEN_GEOGRAPHIES

LAS = pd.DataFrame(
    {
        "area_code": ["E06000010", "E06000019", "E08000001", "W06000016"],
        "area_name": [
            "Kingston upon Hull, City of",
            "Herefordshire, County of",
            "Bolton",
            "Rhondda Cynon Taff",
        ],
    }
)


def frame(codes, names):
    return pd.DataFrame({"area_code": codes, "area_name": names})


def test_msoa_lookup_from_names_with_suffixes_and_alias():
    msoas = frame(
        ["E02002653", "E02000001", "E02000984", "W02000001"],
        ["Kingston upon Hull 002", "Herefordshire 001", "Bolton 001", "Rhondda Cynon Taf 001"],
    )
    look = msoa_la_lookup(msoas, LAS)
    assert look["la_code"].tolist() == ["E06000010", "E06000019", "E08000001", "W06000016"]
    assert look["la_name"].iloc[0] == "Kingston upon Hull, City of"


def test_msoa_lookup_reports_msoas_that_match_no_la():
    msoas = frame(["E02000984", "E02000985", "E02009999"], ["Bolton 001", "Boltonn 002", "Nowhere 001"])
    with pytest.raises(CarepopError) as info:
        msoa_la_lookup(msoas, LAS, complete=False)
    assert info.value.code == "unmatched_area" and info.value.rows == [2, 3]
    assert "Boltonn 002" in info.value.message


def test_msoa_lookup_other_failures():
    with pytest.raises(CarepopError) as info:  # no 'NNN' number
        msoa_la_lookup(frame(["E02000984"], ["Bolton"]), LAS, complete=False)
    assert info.value.rows == [1]
    with pytest.raises(CarepopError) as info:  # an English MSOA named after a Welsh LA
        msoa_la_lookup(frame(["E02000984"], ["Rhondda Cynon Taff 001"]), LAS, complete=False)
    assert info.value.code == "unmatched_area"
    with pytest.raises(CarepopError) as info:  # complete: every LA needs an MSOA
        msoa_la_lookup(frame(["E02000984"], ["Bolton 001"]), LAS)
    assert "have no MSOA" in info.value.message
    dup = pd.concat([LAS, frame(["E08000099"], ["Bolton"])], ignore_index=True)
    with pytest.raises(CarepopError) as info:  # two LAs with one name
        msoa_la_lookup(frame(["E02000984"], ["Bolton 001"]), dup, complete=False)
    assert "match several" in info.value.message


def test_every_bundled_msoa_maps_to_one_la():
    msoa = load_ts039("msoa", england_only=False)
    assert len(msoa) == 7264 and msoa["la_code"].notna().all()
    assert msoa["la_code"].nunique() == 331
    assert (msoa["area_code"].str[0] == msoa["la_code"].str[0]).all()


def test_msoa_sums_reproduce_the_la_tables_within_perturbation():
    """Largest |MSOA sum - LA count| over LAs and columns: 20 people for TS039 (Cornwall's residents
    aged 5+, 544,772), 76 for TS007 (Telford and Wrekin's total residents, 185,523)."""
    cols = ["residents_5plus", "no_care", "h9_or_less", "h10_19", "h20_34", "h35_49", "h50_plus", "carers"]
    msoa, la = load_ts039("msoa", england_only=False), load_ts039("la", england_only=False)
    diff = compare_with_la(aggregate_to_la(msoa, cols), la, cols)
    assert len(diff) == 331 * len(cols)
    worst = diff.loc[diff["diff"].abs().idxmax()]
    assert abs(worst["diff"]) == 20 and worst["area_code"] == "E06000052"
    # England totals of the two geographies
    eng = diff[diff["area_code"].str.startswith("E") & (diff["column"] == "residents_5plus")]
    assert eng["la_count"].sum() == 53_413_087 and abs(eng["diff"].sum()) < 100

    age_cols = ["residents", "age_0_4", "age_65_74", "age_85_plus"]
    d7 = compare_with_la(aggregate_to_la(load_ts007("msoa"), age_cols), load_ts007("la"), age_cols)
    worst7 = d7.loc[d7["diff"].abs().idxmax()]
    assert abs(worst7["diff"]) == 76 and worst7["area_code"] == "E06000020"
    assert (d7["diff"].abs() <= d7["allowed"]).all()


def test_aggregation_check_catches_a_wrong_la_table():
    cols = ["residents_5plus", "carers"]
    msoa, la = load_ts039("msoa"), load_ts039("la")
    la_bad = la.copy()
    la_bad.loc[la_bad["area_code"] == "E08000001", "carers"] += 500
    with pytest.raises(CarepopError) as info:
        compare_with_la(aggregate_to_la(msoa, cols), la_bad, cols)
    assert info.value.code == "totals_disagree" and info.value.rows == ["E08000001"]
    with pytest.raises(CarepopError) as info:  # an LA on one side only
        compare_with_la(aggregate_to_la(msoa, cols), la[la["area_code"] != "E08000001"], cols)
    assert info.value.code == "unmatched_area" and "E08000001" in info.value.message
    assert BETWEEN_GEOGRAPHIES.absolute == 50


def test_2011_to_2021_lookup():
    q = load_qs301(england_only=False)[["area_code", "area_name"]]
    las = load_ts039("la")[["area_code", "area_name"]]
    look = la_2011_to_2021(q, las)
    assert len(look) == 326 and look["la_code"].nunique() == 309
    assert (look["change"] == "same").sum() == 301
    merged = look[look["change"] != "same"]
    assert len(merged) == 25 and merged["la_code"].nunique() == 8
    assert set(merged["la_code"]) == set(LA_MERGERS_2011_2021)
    assert merged.set_index("code_2011").loc["E07000154", "la_name"] == "West Northamptonshire"


def test_2011_to_2021_refuses_what_it_cannot_map():
    q = load_qs301()[["area_code", "area_name"]]
    las = load_ts039("la")[["area_code", "area_name"]]
    with pytest.raises(CarepopError) as info:  # a 2011 code that is neither a 2021 code nor merged
        la_2011_to_2021(pd.concat([q, frame(["E07000999"], ["Atlantis"])]), las)
    assert "E07000999 Atlantis" in info.value.message
    with pytest.raises(CarepopError) as info:  # a 2021 LA without its predecessors
        la_2011_to_2021(q[~q["area_code"].isin(["E07000004", "E07000005", "E07000006", "E07000007"])], las)
    assert "E06000060" in info.value.message
    renamed = q.copy()
    renamed.loc[renamed["area_code"] == "E07000150", "area_name"] = "Kettering"
    with pytest.raises(CarepopError) as info:  # a predecessor code carrying another district's name
        la_2011_to_2021(renamed, las)
    assert "E07000150" in info.value.message


def test_check_codes_names_both_sides():
    check_codes(["A", "B"], ["B", "A"], what="x")
    with pytest.raises(CarepopError) as info:
        check_codes(["A", "C", "C"], ["A", "B"], what="x")
    msg = info.value.message
    assert "['B']" in msg and "['C']" in msg and "repeated" in msg


def test_imd2019():
    imd = load_imd2019()
    assert len(imd) == 309 and imd.notna().all().all()
    raw = pd.read_csv(bundled_path("imd2019", "imd2019_ltla22.csv")).set_index("ltla22_code")
    assert imd.set_index("la_code").loc["E06000001", "imd_score"] == raw.loc["E06000001", "Score"]
    assert imd.set_index("la_code").loc["E06000001", "la_name"] == "Hartlepool"
    assert "housing_and_access_extent" in imd.columns


def test_gp_carers():
    gp = load_gp_carers()
    assert len(gp) == 309
    luton = gp.set_index("la_code").loc["E06000032"]
    assert luton["census_carers"] == 16_099
    assert luton["coverage"] == pytest.approx(0.133846151272111)
    assert luton["missing_practices"] == 1
    assert gp["missing_practices"].dtype == np.int64 and (gp["missing_practices"] >= 0).all()
    assert gp["gp_carers"].sum() == pytest.approx(1_580_101, abs=1)
    ts039 = load_ts039("la").set_index("area_code")["carers"]
    assert (gp.set_index("la_code")["census_carers"] == ts039.reindex(gp["la_code"])).all()


def test_indicator_files_that_are_wrong(tmp_path: Path):
    raw = pd.read_csv(bundled_path("gp_carers", "gp_registered_carers_la_2023q2.csv"))
    bad = tmp_path / "gp.csv"
    raw.drop(columns="Coverage").to_csv(bad, index=False)
    with pytest.raises(CarepopError) as info:
        load_gp_carers(source=bad)
    assert info.value.code == "missing_columns" and info.value.column == "Coverage"
    raw.assign(Coverage=raw["Coverage"] * 1.1).to_csv(bad, index=False)
    with pytest.raises(CarepopError) as info:
        load_gp_carers(source=bad)
    assert info.value.code == "totals_disagree"
    raw.iloc[:-1].to_csv(bad, index=False)  # an LA missing
    with pytest.raises(CarepopError) as info:
        load_gp_carers(source=bad)
    assert info.value.code == "unmatched_area" and raw["LA_CODE"].iloc[-1] in info.value.message
    imd = pd.read_csv(bundled_path("imd2019", "imd2019_ltla22.csv"))
    imd.loc[0, "ltla22_code"] = "E06000063"  # a 2023 code (Cumberland)
    imd.to_csv(bad, index=False)
    with pytest.raises(CarepopError) as info:
        load_imd2019(source=bad)
    msg = info.value.message
    assert "E06000063" in msg and "E06000001" in msg


def test_area_table():
    t = area_table()
    assert len(t) == 309 and t["la_code"].is_unique
    assert t.notna().all().all()  # every join matched: nothing NaN, nothing dropped
    ages = [c for c in t.columns if c.startswith("age_")]
    assert ages == ["age_0_17", "age_18_64", "age_65_74", "age_75_84", "age_85_plus"]
    assert (t[ages].sum(axis=1) == t["residents"]).all()
    bolton = t.set_index("la_code").loc["E08000001"]
    assert bolton["la_name"] == "Bolton" and bolton["carers"] == 25_980
    assert bolton["residents"] == 295_961 and bolton["female"] == 150_056
    assert bolton["c2011_carers"] == 30_649 and bolton["c2011_predecessors"] == 1
    assert bolton["imd_score"] == pytest.approx(30.691097, rel=1e-6)
    assert bolton["gp_coverage"] == pytest.approx(8489.929946 / 25_980, rel=1e-6)
    bucks = t.set_index("la_code").loc["E06000060"]
    assert bucks["c2011_predecessors"] == 4
    q = load_qs301().set_index("area_code")
    assert (
        bucks["c2011_carers"] == q.loc[["E07000004", "E07000005", "E07000006", "E07000007"], "carers"].sum()
    )
    assert t["c2011_carers"].sum() == 5_430_016 and t["carers"].sum() == 4_678_260
    custom = area_table(age_bands=((0, 64), (65, None)))
    assert (custom["age_0_64"] + custom["age_65_plus"] == custom["residents"]).all()


def test_join_report():
    r = join_report().set_index("source")
    assert (r["matched"] == 309).all()
    assert r["unmatched"].map(len).sum() == 0
    assert r.loc["Census 2011 QS301", "rows"] == 326
    assert r.loc["Census 2011 QS301", "same_code"] == 301 and r.loc["Census 2011 QS301", "merged"] == 25
