"""carepop.io.writers: each table format really is that format; outputs checked before any work;
a failed write is a clean error that leaves nothing behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from carepop.errors import CarepopError
from carepop.io import (
    DATA_SUFFIXES,
    TABLE_SUFFIXES,
    check_output,
    same_file,
    table_json,
    table_records,
    write_table_atomic,
    write_text_atomic,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": ["Bolton", "Bury", "Wigan"],
            "estimate": [0.1 + 0.2, 1 / 3, 2.0],
            "se": [np.nan, 1e-300, 12.5],
            "n": np.array([10, 20, 30], dtype=np.int64),
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-31"]),
        }
    )


def test_csv(tmp_path, frame):
    out = tmp_path / "t.csv"
    write_table_atomic(out, frame)
    back = pd.read_csv(out)
    assert back["estimate"].tolist() == frame["estimate"].tolist()


def test_parquet_keeps_types(tmp_path, frame):
    out = tmp_path / "t.parquet"
    write_table_atomic(out, frame)
    assert out.read_bytes()[:4] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(out), frame)


def test_xlsx_is_an_excel_workbook(tmp_path, frame):
    import openpyxl

    out = tmp_path / "t.xlsx"
    write_table_atomic(out, frame)
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.values)
    assert rows[0] == tuple(frame.columns)
    assert rows[1][0] == "Bolton" and rows[3][3] == 30 and rows[1][4] is True
    back = pd.read_excel(out)
    np.testing.assert_allclose(back["estimate"], frame["estimate"], rtol=1e-15)


def test_xlsx_drops_time_zones_and_refuses_too_many_rows(tmp_path):
    tz = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Europe/London")})
    write_table_atomic(tmp_path / "tz.xlsx", tz)
    assert str(pd.read_excel(tmp_path / "tz.xlsx")["t"][0]) == "2024-01-01 10:00:00"
    big = pd.DataFrame({"x": np.zeros(1_048_576)})
    with pytest.raises(CarepopError) as err:
        write_table_atomic(tmp_path / "big.xlsx", big, param="out")
    assert err.value.code == "too_large" and "out=" in err.value.fix
    assert not (tmp_path / "big.xlsx").exists()


def test_json_records_with_nulls(tmp_path, frame):
    out = tmp_path / "t.json"
    write_table_atomic(out, frame)
    recs = json.loads(out.read_text(encoding="utf-8"))
    assert recs[0] == {
        "area": "Bolton",
        "estimate": 0.1 + 0.2,
        "se": None,
        "n": 10,
        "flag": True,
        "when": "2024-01-01T00:00:00",
    }
    assert recs[1]["when"] is None and recs[1]["se"] == 1e-300
    assert table_records(frame) == recs
    assert json.loads(table_json(frame.iloc[:0])) == []


def test_json_infinite_values_are_null():
    recs = json.loads(table_json(pd.DataFrame({"x": [np.inf, -np.inf, 1.0]})))
    assert [r["x"] for r in recs] == [None, None, 1.0]


def test_sav_with_labels(tmp_path):
    frame = pd.DataFrame({"carer": [1.0, 2.0, 1.0], "w": [1.5, 2.5, 3.5]})
    out = tmp_path / "t.sav"
    write_table_atomic(out, frame, {"carer": {1: "Yes", 2: "No"}}, column_labels={"carer": "Carer"})
    _, meta = pyreadstat.read_sav(str(out))
    assert meta.variable_value_labels["carer"] == {1.0: "Yes", 2.0: "No"}
    assert meta.column_names_to_labels["carer"] == "Carer"


def test_a_value_the_format_cannot_hold_is_a_clean_error(tmp_path):
    odd = pd.DataFrame({"x": [object(), object()]})
    with pytest.raises(CarepopError) as err:
        write_table_atomic(tmp_path / "t.parquet", odd, param="out")
    assert err.value.code == "cannot_write"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".txt", ".xls", ""])
def test_check_output_refuses_other_suffixes(tmp_path, suffix):
    with pytest.raises(CarepopError) as err:
        check_output(tmp_path / f"r{suffix}", param="out")
    assert err.value.code == "unknown_format"
    assert err.value.render({"out": "--out"}.get).count("--out FILE.csv") == 1


def test_check_output_suffix_sets():
    assert TABLE_SUFFIXES == (".csv", ".parquet", ".xlsx", ".json")
    assert DATA_SUFFIXES == (*TABLE_SUFFIXES, ".sav")


def test_check_output_refuses_inputs_by_any_name(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    monkeypatch.chdir(tmp_path)
    for out in (data, link, hard, Path("data.csv"), Path("./sub/../data.csv")):
        with pytest.raises(CarepopError) as err:
            check_output(out, param="out", inputs=[("rake", data)])
        assert err.value.code == "overwrites_input"
        assert "rake=..." in err.value.message and "--rake FILE" in err.value.render({"rake": "--rake"}.get)
    assert same_file(link, data) and not same_file(tmp_path / "new.csv", data)
    check_output(tmp_path / "new.csv", param="out", inputs=[("rake", data), (None, None)])


def test_check_output_folders(tmp_path):
    (tmp_path / "f.csv").mkdir()
    with pytest.raises(CarepopError) as err:
        check_output(tmp_path / "f.csv")
    assert err.value.code == "cannot_write" and "is a folder" in err.value.message
    (tmp_path / "file").write_text("x")
    with pytest.raises(CarepopError) as err:
        check_output(tmp_path / "file" / "deeper" / "r.csv")
    assert "is a file, not a folder" in err.value.message
    check_output(tmp_path / "new" / "deeper" / "r.csv")  # folders that can be created
    assert not (tmp_path / "new").exists()  # ... are not created by the check


def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, frame):
    out = tmp_path / "r.csv"
    out.write_text("old\n")

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError(28, "No space left on device")

    from carepop.io import write_atomic_with

    with pytest.raises(CarepopError) as err:
        write_atomic_with(out, broken)
    assert err.value.code == "cannot_write" and "No space left" in err.value.message
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_unwritable_place_is_a_carepop_error():
    with pytest.raises(CarepopError) as err:
        write_text_atomic("/proc/carepop-test/x.txt", "x", param="out")
    assert err.value.code == "cannot_write"
