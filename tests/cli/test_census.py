"""`carepop census show`: tables, formats, filters, exit codes, atomic output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli import app

NOMIS = Path(__file__).parents[1] / "data" / "nomis"
runner = CliRunner()


def show(*args: str):
    return runner.invoke(app, ["census", "show", *args])


def test_ts039_bolton_json():
    res = show("ts039", "--area", "E08000001", "--format", "json")
    assert res.exit_code == 0, res.output
    (rec,) = json.loads(res.stdout)
    assert rec["area_name"] == "Bolton" and rec["carers"] == 25_980 and rec["residents_5plus"] == 277_505


def test_ts039_csv_all_las_and_wales():
    res = show("ts039", "--format", "csv")
    assert res.exit_code == 0
    frame = pd.read_csv(io.StringIO(res.stdout))
    assert len(frame) == 309 and frame["residents_5plus"].sum() == 53_413_087
    res = show("ts039", "--format", "csv", "--wales")
    assert len(pd.read_csv(io.StringIO(res.stdout))) == 331


def test_msoa_level_filtered_by_la():
    res = show("ts039", "--level", "msoa", "--area", "e08000001", "--format", "csv")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(io.StringIO(res.stdout))
    assert (frame["la_code"] == "E08000001").all() and len(frame) == 35
    assert frame["carers"].sum() == pytest.approx(25_980, abs=50)


def test_table_format_and_one_area_view():
    res = show("ts039", "--area", "E08000001")
    assert res.exit_code == 0 and "Bolton" in res.stdout and "25,980" in res.stdout
    res = show("qs301", "--area", "E06000005")
    assert res.exit_code == 0 and "Darlington" in res.stdout


@pytest.mark.parametrize("table", ["ts007", "ts008", "qs301", "imd2019", "gp_carers", "area"])
def test_every_table_in_json(table):
    res = show(table, "--format", "json")
    assert res.exit_code == 0, res.output
    recs = json.loads(res.stdout)
    assert len(recs) == (326 if table == "qs301" else 309)


def test_area_table_one_la():
    res = show("area", "--area", "E06000060", "--format", "json")
    (rec,) = json.loads(res.stdout)
    assert rec["la_name"] == "Buckinghamshire" and rec["c2011_predecessors"] == 4


def test_unknown_table_names_the_choices():
    res = show("ts999")
    assert res.exit_code == 2 and "Unknown table 'ts999'" in res.stderr
    for name in ("ts039", "ts007", "ts008", "qs301", "imd2019", "gp_carers", "area"):
        assert name in res.stderr
    assert "Traceback" not in res.output


def test_unknown_area_code_is_named():
    res = show("ts039", "--area", "E99999999")
    assert res.exit_code == 2 and "E99999999" in res.stderr
    res = show("qs301", "--area", "E06000060")  # a 2021 council formed by merger
    assert res.exit_code == 2 and "2011 districts" in res.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["ts008", "--level", "msoa"],
        ["ts039", "--level", "lsoa"],
        ["imd2019", "--wales"],
        ["ts039", "--out", "x.txt"],
    ],
)
def test_bad_options_exit_2(args):
    res = show(*args)
    assert res.exit_code == 2 and res.stderr.startswith("error:")


def test_unknown_format_is_a_usage_error_naming_the_option():
    res = show("ts039", "--format", "xml")
    assert res.exit_code == 2 and "--format" in res.stderr and "Traceback" not in res.output


def test_out_writes_atomically(tmp_path):
    out = tmp_path / "ts039.csv"
    res = show("ts039", "--out", str(out))
    assert res.exit_code == 0 and res.stdout == ""
    assert len(pd.read_csv(out)) == 309
    js = tmp_path / "bolton.json"
    assert show("area", "--area", "E08000001", "--out", str(js)).exit_code == 0
    assert json.loads(js.read_text())[0]["carers"] == 25_980
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bolton.json", "ts039.csv"]


def test_a_users_nomis_file():
    res = show(str(NOMIS / "ts039_la_good.csv"), "--format", "json", "--area", "E08000001")
    assert res.exit_code == 0, res.output
    (rec,) = json.loads(res.stdout)
    assert rec["Total: All usual residents aged 5 and over"] == 277_505


@pytest.mark.parametrize(
    "name,needle",
    [
        ("ts039_la_missing_column.csv", "does not equal|differs"),
        ("ts039_la_no_code.csv", "geography code"),
        ("ts039_la_non_numeric.csv", "abc"),
        ("ts039_la_duplicate.csv", "E06000001"),
        ("ts039_la_bad_total.csv", "E08000001"),
        ("empty.csv", "empty"),
        ("no_such.csv", "No such file"),
    ],
)
def test_a_malformed_file_gives_a_clear_error_and_writes_nothing(tmp_path, name, needle):
    out = tmp_path / "out.csv"
    res = show(str(NOMIS / name), "--out", str(out))
    assert res.exit_code == 2
    assert res.stderr.startswith("error:") and "Traceback" not in res.output
    assert any(n in res.stderr for n in needle.split("|"))
    assert list(tmp_path.iterdir()) == []
