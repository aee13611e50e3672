"""The Nomis bulk CSV parser: tidy frames, geography levels, subtotals, and each malformed file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError
from carepop.sources.census import _SPECS, bundled_path
from carepop.sources.nomis import WITHIN_TABLE, Tolerance, geography_level, read_nomis

NOMIS = Path(__file__).parents[1] / "data" / "nomis"
TOTAL = "Total: All usual residents aged 5 and over"
H19 = "Provides 19 hours or less unpaid care a week"
H20_49 = "Provides 20 to 49 hours unpaid care a week"


def fails(name: str, **kwargs) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        read_nomis(NOMIS / name, **kwargs)
    return info.value


def test_good_file_wide_and_long():
    t = read_nomis(NOMIS / "ts039_la_good.csv")
    assert t.title == "Provision of unpaid care" and t.level == "la" and t.date == "2021"
    assert t.total == TOTAL
    assert list(t.wide["area_code"]) == ["E06000001", "E08000001", "W06000001"]
    assert t.wide.shape == (3, 2 + 9) and (t.wide.dtypes.iloc[2:] == np.int64).all()
    assert t.subtotals == {
        H19: ("Provides 9 hours or less unpaid care a week", "Provides 10 to 19 hours unpaid care a week"),
        H20_49: ("Provides 20 to 34 hours unpaid care a week", "Provides 35 to 49 hours unpaid care a week"),
    }
    assert len(t.parts) == 6 and H19 not in t.parts
    bolton = t.wide.set_index("area_code").loc["E08000001"]
    assert bolton[TOTAL] - bolton["Provides no unpaid care"] == 25_980
    long = t.long
    assert list(long.columns) == ["area_code", "area_name", "category", "count"]
    assert len(long) == 3 * 9
    assert (
        long.loc[(long["area_code"] == "E08000001") & (long["category"] == TOTAL), "count"].item() == 277_505
    )
    # categories keep the file order within each area
    assert list(long["category"].iloc[:9]) == list(t.categories)


def test_frame_input_with_text_values():
    raw = pd.read_csv(NOMIS / "ts039_la_good.csv", dtype=str)
    t = read_nomis(raw)
    assert t.wide[TOTAL].sum() == 87_356 + 277_505 + 65_667


def test_2011_layout_measures_rural_urban_and_percent():
    t = read_nomis(NOMIS / "qs301_la_2011_layout.csv")
    assert t.title == "Care Provision" and t.date == "2011"
    assert t.total == "All categories: Provision of unpaid care"
    assert list(t.wide["area_code"]) == ["E06000005", "E06000001"]  # the 'Urban' row is dropped
    assert "Provides 50 or more hours unpaid care a week" in t.categories  # Value kept, Percent dropped
    assert len(t.categories) == 5


def test_perturbation_within_tolerance_is_accepted():
    t = read_nomis(NOMIS / "ts039_la_perturbed.csv")
    w = t.wide.set_index("area_code")
    assert w.loc["E08000001", TOTAL] - w.loc["E08000001", list(t.parts)].sum() == 4
    # a stricter tolerance refuses it
    e = fails("ts039_la_perturbed.csv", tolerance=Tolerance(absolute=2, relative=0))
    assert e.code == "totals_disagree" and e.rows == [2]


def test_tolerance_rule():
    tol = Tolerance(absolute=10, relative=0.001)
    expected = np.array([100.0, 50_000.0, 500_000.0])
    assert tol.allowed(expected).tolist() == [10.0, 50.0, 500.0]
    assert tol.exceeded(expected + [11, 49, 600], expected).tolist() == [True, False, True]
    assert WITHIN_TABLE == tol


def test_total_not_adding_up():
    e = fails("ts039_la_bad_total.csv")
    assert e.code == "totals_disagree" and e.column == TOTAL and e.rows == [2]
    assert "5,000" in e.message and "E08000001" in e.message


def test_subtotal_not_adding_up_with_known_structure():
    spec = _SPECS["ts039"]
    e = fails("ts039_la_bad_subtotal.csv", subtotals=spec[3], parts=spec[4])
    assert e.code == "totals_disagree" and e.column == H19 and e.rows == [2]


def test_subtotal_not_adding_up_auto_still_fails():
    # auto-detection no longer sees the broken subtotal as one (1 of 3 rows differs), so it is
    # counted as a category and the total no longer adds up: still refused
    assert fails("ts039_la_bad_subtotal.csv").code == "totals_disagree"


def test_missing_required_column_is_named():
    e = fails("ts039_la_missing_column.csv", required=[TOTAL, "Provides 50 or more hours unpaid care a week"])
    assert e.code == "missing_columns"
    assert e.column == "Provision of unpaid care: Provides 50 or more hours unpaid care a week"
    assert "50 or more hours" in e.message


def test_missing_category_breaks_the_total_even_without_required():
    assert fails("ts039_la_missing_column.csv").code == "totals_disagree"


def test_missing_geography_code():
    e = fails("ts039_la_no_code.csv")
    assert e.code == "missing_columns" and e.column == "geography code"


def test_non_numeric_counts_name_column_and_rows():
    e = fails("ts039_la_non_numeric.csv")
    assert e.code == "not_a_count"
    assert e.column == "Provision of unpaid care: Provides no unpaid care"
    assert e.rows == [2, 3] and "abc" in e.message


@pytest.mark.parametrize("bad", ["-3", "12.5", "1,234"])
def test_negative_fractional_or_formatted_counts(bad):
    raw = pd.read_csv(NOMIS / "ts039_la_good.csv", dtype=str)
    raw.iloc[0, 4] = bad
    with pytest.raises(CarepopError) as info:
        read_nomis(raw)
    assert info.value.code == "not_a_count" and info.value.rows == [1]


def test_duplicate_area_codes():
    e = fails("ts039_la_duplicate.csv")
    assert e.code == "duplicate_area" and e.rows == [1, 3] and "E06000001" in e.message


def test_empty_and_header_only():
    assert fails("empty.csv").code == "empty_file"
    assert fails("header_only.csv").code == "empty_file"


def test_missing_file():
    assert fails("no_such_file.csv").code == "file_not_found"


def test_geography_levels():
    codes = pd.Series(
        ["E06000001", "E07000244", "E08000001", "E09000001", "W06000001", "E02000001", "W02000001"]
    )
    assert geography_level(codes).tolist() == ["la"] * 5 + ["msoa"] * 2
    assert read_nomis(NOMIS / "ts039_msoa_small.csv").level == "msoa"
    e = fails("ts039_mixed_levels.csv")
    assert e.code == "unknown_geography" and e.rows == [3]
    e = fails("ts039_unknown_code.csv")
    assert e.code == "unknown_geography" and e.rows == [2]
    e = fails("ts039_la_good.csv", level="msoa")
    assert e.code == "unknown_geography" and "not msoa" in e.message


def test_columns_of_another_table_or_date():
    e = fails("mixed_tables.csv")
    assert e.code == "bad_census_file" and e.column == "Sex: Female"
    assert fails("two_dates.csv").code == "bad_census_file"
    raw = pd.read_csv(NOMIS / "ts039_la_good.csv", dtype=str).assign(notes="x")
    with pytest.raises(CarepopError) as info:
        read_nomis(raw)
    assert info.value.code == "bad_census_file" and info.value.column == "notes"


def test_explicit_total_and_parts_are_checked():
    with pytest.raises(CarepopError) as info:
        read_nomis(NOMIS / "ts039_la_good.csv", total="No such total")
    assert info.value.code == "missing_columns"
    with pytest.raises(CarepopError):
        read_nomis(NOMIS / "ts039_la_good.csv", parts=["nope"])
    t = read_nomis(NOMIS / "ts039_la_good.csv", total=None)
    assert t.total is None and t.parts == ()


@pytest.mark.parametrize(
    "folder,name",
    [
        ("census2021", "ts039_unpaid_care_la.csv"),
        ("census2021", "ts007_age_la.csv"),
        ("census2021", "ts008_sex_la.csv"),
        ("census2011", "qs301_unpaid_care_la.csv"),
    ],
)
def test_bundled_files_parse_and_auto_structure_matches_the_loaders(folder, name):
    t = read_nomis(bundled_path(folder, name))
    table = name.split("_")[0]
    _, _, required, subtotals, parts = _SPECS[table]
    assert set(required) <= set(t.categories)
    assert t.subtotals == {k: tuple(v) for k, v in subtotals.items()}
    assert set(t.parts) == set(parts)


# ---------------------------------------------------------------------------- files as Excel saves them
def _resaved(tmp_path: Path, sep: str = ",", encoding: str = "utf-8", name: str = "Brontë") -> Path:
    """ts039_la_good.csv as a spreadsheet user would save it: another separator or encoding,
    and an area name with a non-ASCII letter."""
    text = (NOMIS / "ts039_la_good.csv").read_text(encoding="utf-8").replace("Bolton", name)
    rows = [r.split(",") for r in text.splitlines()]
    path = tmp_path / "resaved.csv"
    path.write_bytes(("\n".join(sep.join(r) for r in rows) + "\n").encode(encoding))
    return path


def test_semicolon_file_reads_as_the_comma_file(tmp_path):
    good = read_nomis(NOMIS / "ts039_la_good.csv").wide
    got = read_nomis(_resaved(tmp_path, sep=";", name="Bolton")).wide
    pd.testing.assert_frame_equal(got, good)
    got = read_nomis(_resaved(tmp_path, sep=";", name="Bolton"), sep=";").wide
    pd.testing.assert_frame_equal(got, good)


def test_windows_1252_file_needs_its_encoding(tmp_path):
    path = _resaved(tmp_path, encoding="cp1252")
    e = fails_at(path)
    assert e.code == "bad_encoding" and "line 3" in e.message and "encoding='cp1252'" in e.fix
    t = read_nomis(path, encoding="cp1252")
    assert "Brontë" in set(t.wide["area_name"])


def test_repeated_columns_are_refused(tmp_path):
    text = (NOMIS / "ts039_la_good.csv").read_text(encoding="utf-8").splitlines()
    cols = text[0].split(",")
    head = ",".join([*cols, cols[4]])
    body = [f"{line},{line.split(',')[4]}" for line in text[1:]]
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([head, *body]) + "\n", encoding="utf-8")
    e = fails_at(path)
    assert e.code == "duplicate_columns" and e.column == cols[4]


def fails_at(path: Path, **kwargs) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        read_nomis(path, **kwargs)
    return info.value
