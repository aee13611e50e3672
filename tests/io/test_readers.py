"""Tests for carepop.io.read_data: round-trips, labels, labels in estimates, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import carepop
from carepop import CarepopError, Survey
from carepop.io import read_data

DATA = Path(__file__).parents[1] / "data"

VALUE_LABELS = {
    "region": {1: "North", 2: "Midlands", 3: "South"},
    "carer": {1: "Yes", 2: "No"},
}
COLUMN_LABELS = {
    "region": "Region of residence",
    "carer": "Provides unpaid care",
    "y": "Outcome score",
    "score": "Score with gaps",
    "w": "Sampling weight",
    "st": "Stratum",
    "name": "Respondent name",
}


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(20240601)
    n = 60
    st = np.repeat([1, 2, 3], n // 3)
    score = rng.normal(10, 2, n)
    score[[3, 17, 41]] = np.nan
    return pd.DataFrame(
        {
            "region": rng.integers(1, 4, n).astype(float),
            "carer": rng.integers(1, 3, n).astype(float),
            "y": np.round(rng.normal(50, 10, n), 6) + 1 / 3,
            "score": score,
            "w": np.where(st == 1, 12.5, np.where(st == 2, 30.0, 7.25)),
            "st": st.astype(float),
            "name": [f"person {i}" for i in range(n)],
        }
    )


def _write_labelled(df: pd.DataFrame, path: Path) -> None:
    labels = [COLUMN_LABELS[c] for c in df.columns]
    if path.suffix == ".dta":
        pyreadstat.write_dta(df, str(path), variable_value_labels=VALUE_LABELS, column_labels=labels)
    else:
        pyreadstat.write_sav(
            df,
            str(path),
            variable_value_labels=VALUE_LABELS,
            column_labels=labels,
            compress=path.suffix == ".zsav",
        )


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _weighted_mean(df: pd.DataFrame, var: str, mask: pd.Series) -> float:
    return float((df.loc[mask, var] * df.loc[mask, "w"]).sum() / df.loc[mask, "w"].sum())


# ---------------------------------------------------------------------------- CSV
def test_csv_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    df = read_data(path)
    pd.testing.assert_frame_equal(df, pd.read_csv(path))
    np.testing.assert_array_equal(df["y"].to_numpy(), frame["y"].to_numpy())
    assert df["score"].isna().sum() == 3
    assert df.attrs == {"value_labels": {}, "column_labels": {}}


@pytest.mark.parametrize("sep", ["\t", ";", "|", ","])
def test_txt_delimiter_is_sniffed(tmp_path: Path, frame: pd.DataFrame, sep: str) -> None:
    path = tmp_path / "survey.txt"
    frame.to_csv(path, index=False, sep=sep)
    df = read_data(path)
    assert list(df.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(df, pd.read_csv(path, sep=sep))


def test_csv_kwargs_and_format_override(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "survey.dat"
    frame.to_csv(path, index=False, sep=";")
    df = read_data(path, format=".CSV", sep=";", usecols=["y", "w"])
    assert list(df.columns) == ["y", "w"]
    np.testing.assert_array_equal(df["y"].to_numpy(), frame["y"].to_numpy())
    # the package-level function delegates, format= included
    pd.testing.assert_frame_equal(carepop.read_data(path, format="csv", sep=";"), pd.read_csv(path, sep=";"))


def test_header_only_csv_gives_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")
    df = read_data(path)
    assert list(df.columns) == ["a", "b"] and len(df) == 0


# ---------------------------------------------------------------------------- Parquet
@pytest.mark.parametrize("ext", [".parquet", ".pq"])
def test_parquet_round_trip_keeps_types(tmp_path: Path, frame: pd.DataFrame, ext: str) -> None:
    frame = frame.assign(band=pd.Categorical(["low", "high"] * 30, categories=["low", "high"]))
    path = tmp_path / f"survey{ext}"
    frame.to_parquet(path)
    df = read_data(path)
    pd.testing.assert_frame_equal(df, frame, check_dtype=False)
    assert isinstance(df["band"].dtype, pd.CategoricalDtype)
    assert list(df["band"].cat.categories) == ["low", "high"]
    assert df["y"].dtype == np.float64
    assert df.attrs["value_labels"] == {} and df.attrs["column_labels"] == {}


def test_parquet_restores_integer_label_codes(tmp_path: Path, frame: pd.DataFrame) -> None:
    # e.g. a .sav read with carepop and saved as parquet: pandas stores attrs as JSON (string keys)
    frame.attrs["value_labels"] = VALUE_LABELS
    frame.attrs["column_labels"] = {"region": "Region of residence"}
    path = tmp_path / "labelled.parquet"
    frame.to_parquet(path)
    df = read_data(path)
    assert df.attrs["value_labels"] == VALUE_LABELS
    assert all(isinstance(k, int) for k in df.attrs["value_labels"]["region"])
    assert df.attrs["column_labels"] == {"region": "Region of residence"}
    s = Survey(df, weight="w", strata="st")
    assert list(s.mean("y", by="region").to_pandas()["region"]) == ["North", "Midlands", "South"]


# ---------------------------------------------------------------------------- SPSS and Stata
@pytest.mark.parametrize("ext", [".sav", ".zsav"])
def test_spss_round_trip_keeps_codes_and_labels(tmp_path: Path, frame: pd.DataFrame, ext: str) -> None:
    path = tmp_path / f"survey{ext}"
    _write_labelled(frame, path)
    df = read_data(path)
    # codes, not labels, are the values: same numbers as pandas' own reader without labels applied
    pd.testing.assert_frame_equal(df, pd.read_spss(path, convert_categoricals=False), check_dtype=False)
    np.testing.assert_array_equal(df["y"].to_numpy(), frame["y"].to_numpy())
    np.testing.assert_array_equal(df["region"].to_numpy(), frame["region"].to_numpy())
    assert pd.api.types.is_numeric_dtype(df["region"])
    assert df["region"].mean() == pytest.approx(frame["region"].mean())
    assert df.attrs["value_labels"] == VALUE_LABELS
    assert all(type(k) is int for lab in df.attrs["value_labels"].values() for k in lab)
    assert df.attrs["column_labels"] == COLUMN_LABELS


def test_stata_round_trip_keeps_codes_and_labels(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "survey.dta"
    _write_labelled(frame, path)
    df = read_data(path)
    expected = pd.read_stata(path, convert_categoricals=False)
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)
    np.testing.assert_array_equal(df["y"].to_numpy(), frame["y"].to_numpy())
    assert df["score"].isna().sum() == 3
    assert df.attrs["value_labels"] == VALUE_LABELS
    assert all(type(k) is int for lab in df.attrs["value_labels"].values() for k in lab)
    assert df.attrs["column_labels"] == COLUMN_LABELS


def test_spss_non_integral_and_string_codes_kept(tmp_path: Path) -> None:
    df = pd.DataFrame({"dose": [0.5, 1.0, 1.5], "sex": ["f", "m", "f"]})
    path = tmp_path / "codes.sav"
    pyreadstat.write_sav(
        df, str(path), variable_value_labels={"dose": {0.5: "half", 1.0: "one"}, "sex": {"f": "Female"}}
    )
    labels = read_data(path).attrs["value_labels"]
    assert labels == {"dose": {0.5: "half", 1: "one"}, "sex": {"f": "Female"}}
    assert type(next(iter(labels["dose"]))) is float
    assert type(list(labels["dose"])[1]) is int


def test_readstat_kwargs_pass_through(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "survey.sav"
    _write_labelled(frame, path)
    df = read_data(path, usecols=["region", "y"])
    assert list(df.columns) == ["region", "y"]
    assert df.attrs["value_labels"] == {"region": VALUE_LABELS["region"]}


@pytest.mark.parametrize("ext", [".sav", ".dta"])
def test_labels_shown_in_estimates(tmp_path: Path, frame: pd.DataFrame, ext: str) -> None:
    path = tmp_path / f"survey{ext}"
    _write_labelled(frame, path)
    df = read_data(path)
    s = Survey(df, weight="w", strata="st")

    by_region = s.mean("y", by="region").to_pandas()
    assert list(by_region["region"]) == ["North", "Midlands", "South"]
    for code, label in VALUE_LABELS["region"].items():
        row = by_region[by_region["region"] == label].iloc[0]
        expected = _weighted_mean(frame, "y", frame["region"] == code)
        assert row["estimate"] == pytest.approx(expected, rel=1e-12)
        assert row["n"] == int((frame["region"] == code).sum())

    # same numbers as the design built on the unlabelled frame, only the names differ
    plain = Survey(frame, weight="w", strata="st").mean("y", by="region").to_pandas()
    assert list(plain["region"]) == [1, 2, 3]
    np.testing.assert_allclose(by_region["estimate"], plain["estimate"], rtol=1e-12)
    np.testing.assert_allclose(by_region["se"], plain["se"], rtol=1e-12)

    prop = s.proportion("carer").to_pandas()
    assert list(prop["level"]) == ["Yes", "No"]
    share_yes = float(frame.loc[frame["carer"] == 1, "w"].sum() / frame["w"].sum())
    assert prop.loc[prop["level"] == "Yes", "estimate"].iloc[0] == pytest.approx(share_yes, rel=1e-12)

    both = s.proportion("carer", by="region").to_pandas()
    assert set(both["level"]) == {"Yes", "No"}
    assert set(both["region"]) == {"North", "Midlands", "South"}


# ---------------------------------------------------------------------------- SAS
def test_sas7bdat_fixture() -> None:
    path = DATA / "small.sas7bdat"  # made with R haven::write_sas, see tests/data/README.md
    df = read_data(path)
    assert list(df.columns) == ["id", "region", "y", "name", "day"]
    np.testing.assert_array_equal(df["id"].to_numpy(), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(df["region"].to_numpy(), [1, 2, 2, 3, 1])
    y = df["y"].to_numpy()
    assert y[0] == 1 / 3 and np.isnan(y[1]) and y[2] == 2.25 and y[3] == -0.1 and y[4] == 1e10
    assert list(df["name"]) == ["a", "bb", "", "d", "e e"]
    days = pd.to_datetime(df["day"])
    assert days[0] == pd.Timestamp("2024-01-31") and days[4] == pd.Timestamp("1959-12-31")
    assert pd.isna(days[2])
    assert df.attrs["column_labels"] == {"region": "Region", "y": "Outcome score"}
    assert df.attrs["value_labels"] == {}
    # numbers agree with pandas' own SAS reader
    theirs = pd.read_sas(path, encoding="utf-8")
    pd.testing.assert_frame_equal(df[["id", "region", "y"]], theirs[["id", "region", "y"]])


def test_xport_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "survey.xpt"
    labels = [COLUMN_LABELS[c] for c in frame.columns]
    pyreadstat.write_xport(frame, str(path), file_format_version=5, column_labels=labels)
    df = read_data(path)
    np.testing.assert_array_equal(df["y"].to_numpy(), frame["y"].to_numpy())
    np.testing.assert_array_equal(df["score"].to_numpy(), frame["score"].to_numpy())
    assert list(df["name"]) == list(frame["name"])
    assert df.attrs["column_labels"] == COLUMN_LABELS
    theirs = pd.read_sas(path, format="xport", encoding="utf-8")
    pd.testing.assert_frame_equal(df.drop(columns="name"), theirs.drop(columns="name"), check_dtype=False)


# ---------------------------------------------------------------------------- input untouched
@pytest.mark.parametrize("ext", [".csv", ".parquet", ".sav", ".dta", ".xpt"])
def test_input_file_not_modified(tmp_path: Path, frame: pd.DataFrame, ext: str) -> None:
    path = tmp_path / f"survey{ext}"
    if ext == ".csv":
        frame.to_csv(path, index=False)
    elif ext == ".parquet":
        frame.to_parquet(path)
    elif ext == ".xpt":
        pyreadstat.write_xport(frame, str(path))
    else:
        _write_labelled(frame, path)
    before = _digest(path)
    df = read_data(path)
    df.iloc[0, 0] = -999
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_sas_fixture_not_modified() -> None:
    path = DATA / "small.sas7bdat"
    before = _digest(path)
    read_data(path)
    assert _digest(path) == before


# ---------------------------------------------------------------------------- errors
def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sav"
    with pytest.raises(CarepopError) as err:
        read_data(missing)
    assert err.value.code == "file_not_found"
    assert str(missing) in err.value.fix


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "survey.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "unknown_format"
    for ext in (".csv", ".txt", ".parquet", ".pq", ".sav", ".zsav", ".dta", ".sas7bdat", ".xpt"):
        assert ext in err.value.fix


def test_no_extension(tmp_path: Path) -> None:
    path = tmp_path / "survey"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "unknown_format"
    assert read_data(path, format="csv")["b"].tolist() == [2]


def test_unknown_format_name(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text("a\n1\n")
    with pytest.raises(CarepopError) as err:
        read_data(path, format="excel")
    assert err.value.code == "unknown_format"
    assert "spss" in err.value.fix and "parquet" in err.value.fix


@pytest.mark.parametrize("ext", [".sav", ".zsav", ".dta", ".sas7bdat", ".xpt", ".parquet"])
def test_unreadable_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"survey{ext}"
    path.write_text("region,y\n1,2.5\n2,3.5\n" * 50)
    before = _digest(path)
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "unreadable_file"
    assert "format=" in err.value.fix
    assert _digest(path) == before


def test_unreadable_csv(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_bytes(b"a,b\n\xff\xfe\x00\x81,\x90\n")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "bad_encoding"
    assert "line 2" in err.value.message and "encoding='cp1252'" in err.value.fix


def test_ragged_csv_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "unreadable_file"


def test_directory_is_not_a_csv(tmp_path: Path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(CarepopError) as err:
        read_data(folder)
    assert err.value.code == "unreadable_file"


@pytest.mark.parametrize("ext", [".csv", ".txt", ".parquet", ".sav", ".dta", ".sas7bdat", ".xpt"])
def test_empty_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"empty{ext}"
    path.touch()
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "empty_file"


def test_blank_csv_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n   \n")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "empty_file"


# ---------------------------------------------------------------------------- CSV as people write it
TEXT = "name,town,amount\nZoë,Bexhill-on-Sea,£12.50\nRené,Saint-Étienne,€3\n"


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_bytes(TEXT.encode("utf-8"))
    bom.write_bytes(TEXT.encode("utf-8-sig"))
    a, b = read_data(plain), read_data(bom)
    assert list(b.columns) == ["name", "town", "amount"]
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[0, "name"] == "Zoë" and a.loc[0, "amount"] == "£12.50"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_excel_windows_csv_needs_its_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "excel.csv"
    text = TEXT.replace("€", "") if encoding == "latin-1" else TEXT
    path.write_bytes(text.encode(encoding))
    before = _digest(path)
    with pytest.raises(CarepopError) as err:
        read_data(path)
    e = err.value
    assert e.code == "bad_encoding" and "line 2" in e.message and "byte 0xeb" in e.message
    assert "encoding='cp1252'" in e.fix
    assert "--encoding cp1252" in e.render({"encoding": "--encoding"}.get)
    df = read_data(path, encoding=encoding)
    assert df.loc[0, "name"] == "Zoë" and df.loc[1, "town"] == "Saint-Étienne"
    assert _digest(path) == before


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(CarepopError) as err:
        read_data(path, encoding="windows-12520")
    assert err.value.code == "bad_option" and "encoding=" in err.value.fix


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_csv_separator_is_detected(tmp_path: Path, frame: pd.DataFrame, sep: str) -> None:
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False, sep=sep)
    pd.testing.assert_frame_equal(read_data(path), pd.read_csv(path, sep=sep))


def test_semicolon_with_commas_in_quoted_text(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text('"name, full";age;town\n"Smith, J";40;"Leeds, W Yorks"\n')
    df = read_data(path)
    assert list(df.columns) == ["name, full", "age", "town"] and df.loc[0, "age"] == 40


@pytest.mark.parametrize("given, meant", [(";", ";"), ("tab", "\t"), ("\\t", "\t"), ("semicolon", ";")])
def test_separator_given(tmp_path: Path, given: str, meant: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(f"a{meant}b\n1{meant}2\n")
    assert list(read_data(path, sep=given).columns) == ["a", "b"]


def test_bad_separator_and_separator_for_other_formats(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CarepopError) as err:
        read_data(path, sep=";;")
    assert err.value.code == "bad_option" and "sep=" in err.value.fix
    pq_path = tmp_path / "s.parquet"
    frame.to_parquet(pq_path)
    for kwargs in ({"sep": ";"}, {"encoding": "cp1252"}):
        with pytest.raises(CarepopError) as err:
            read_data(pq_path, **kwargs)
        assert err.value.code == "bad_option"


def test_detect_separator_rules() -> None:
    from carepop.io import detect_separator

    assert detect_separator("a,b,c") == ","
    assert detect_separator("a;b;c") == ";"
    assert detect_separator("a\tb") == "\t"
    assert detect_separator('"a;b",c') == ","  # inside quotes does not count
    assert detect_separator("single") == ","
    assert detect_separator("a;b,c") == ","  # a tie keeps the comma


@pytest.mark.parametrize("sep", [",", ";"])
def test_duplicate_column_names_are_refused(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(sep.join(["x", "y", "x", "z", "y"]) + "\n" + sep.join("12345") + "\n")
    before = _digest(path)
    with pytest.raises(CarepopError) as err:
        read_data(path)
    e = err.value
    assert e.code == "duplicate_columns" and e.column == "x" and e.got == ["x", "y"]
    assert "'x' (columns 1, 3)" in e.message and "'y' (columns 2, 5)" in e.message
    assert _digest(path) == before


def test_duplicate_names_in_a_txt_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.txt"
    path.write_text("a\tb\ta\n1\t2\t3\n")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "duplicate_columns"


@pytest.mark.parametrize("ext", [".xlsx", ".xls", ".ods"])
def test_a_spreadsheet_gets_advice_to_save_as_csv(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"data{ext}"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CarepopError) as err:
        read_data(path)
    assert err.value.code == "unknown_format" and "CSV UTF-8" in err.value.fix
