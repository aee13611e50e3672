"""`carepop questionnaire list|show|validate|derive|export`: exit codes 0 / 1 / 2 and outputs
written only when the command succeeds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from carepop.cli import app

runner = CliRunner()
CLEAN = Path(__file__).parents[1] / "data" / "questionnaires" / "unpaid_carers_clean.csv"


def run(*args: str):
    return runner.invoke(app, ["questionnaire", *map(str, args)])


@pytest.fixture
def planted(tmp_path) -> Path:
    df = pd.read_csv(CLEAN, dtype=str)
    df.loc[0, "cf_relationship"] = "9"
    df.loc[1, "self_identify"] = "1"
    df["notes"] = "x"
    path = tmp_path / "planted.csv"
    df.to_csv(path, index=False)
    return path


def test_list_and_show():
    res = run("list")
    assert res.exit_code == 0
    for name in ("unpaid_carers", "workforce", "self_funders"):
        assert name in res.stdout
    res = run("show", "self_funders")
    assert res.exit_code == 0 and "adl_dress_help" in res.stdout and "unmet_any_nohelp" in res.stdout


def test_show_a_broken_file_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntitle: X\nversion: 1\nsections: []\n", encoding="utf-8")
    res = run("show", path)
    assert res.exit_code == 2 and "error:" in res.stderr and "sections" in res.stderr


def test_validate_clean_exits_0_and_writes_an_empty_report(tmp_path):
    report = tmp_path / "report.csv"
    res = run("validate", CLEAN, "--questionnaire", "unpaid_carers", "--report", report)
    assert res.exit_code == 0, res.output
    assert "clean" in res.stdout
    assert list(pd.read_csv(report).columns) == ["row", "column", "value", "error_kind", "message"]
    assert len(pd.read_csv(report)) == 0


def test_validate_problems_exits_1_with_report(planted, tmp_path):
    report = tmp_path / "out" / "report.csv"
    res = run("validate", planted, "-q", "unpaid_carers", "--report", report)
    assert res.exit_code == 1
    assert "3 problem(s)" in res.stdout and "wrong_code" in res.stdout
    got = pd.read_csv(report)
    assert set(zip(got["row"].fillna(0).astype(int), got["column"], got["error_kind"], strict=True)) == {
        (0, "notes", "unknown_column"),
        (1, "cf_relationship", "wrong_code"),
        (2, "self_identify", "routing_violation"),
    }
    res = run("validate", planted, "-q", "unpaid_carers", "--allow-column", "notes")
    assert res.exit_code == 1 and "2 problem(s)" in res.stdout


def test_validate_against_a_yaml_file(tmp_path):
    src = Path(__file__).parents[2] / "questionnaires"
    res = run("validate", CLEAN, "--questionnaire", src / "unpaid_carers.yaml")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "args",
    [
        ["missing.csv", "-q", "unpaid_carers"],
        ["CLEAN", "-q", "no_such_questionnaire"],
        ["CLEAN", "-q", "unpaid_carers", "--report", "REPORT.txt"],
    ],
)
def test_validate_unreadable_exits_2_and_writes_nothing(tmp_path, args):
    args = [
        str(CLEAN) if a == "CLEAN" else str(tmp_path / a) if a.endswith((".csv", ".txt")) else a for a in args
    ]
    report = tmp_path / "report.csv"
    if "--report" not in args:
        args += ["--report", str(report)]
    res = run("validate", *args)
    assert res.exit_code == 2 and "error:" in res.stderr
    assert not report.exists() and not (tmp_path / "REPORT.txt").exists()


def test_derive_writes_spss_with_labels(tmp_path):
    out = tmp_path / "derived.sav"
    res = run("derive", CLEAN, "-q", "unpaid_carers", "--out", out)
    assert res.exit_code == 0, res.output
    df, meta = pyreadstat.read_sav(str(out))
    assert df["hours_band"].tolist()[:4] == [5, 0, 0, 2]
    assert meta.variable_value_labels["hours_band"][5.0] == "50 or more hours a week"


def test_derive_refuses_invalid_responses(planted, tmp_path):
    out = tmp_path / "derived.csv"
    res = run("derive", planted, "-q", "unpaid_carers", "--out", out)
    assert res.exit_code == 2 and "problem(s)" in res.stderr and "validate" in res.stderr
    assert not out.exists()
    res = run("derive", planted, "-q", "unpaid_carers", "--out", out, "--no-check", "--allow-column", "notes")
    assert res.exit_code == 0 and out.exists()


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("xlsform", ".xlsx"), ("sav", ".sav"), ("dta", ".dta"), ("codebook", ".md"), ("codebook", ".html")],
)
def test_export_each_format(tmp_path, fmt, suffix):
    out = tmp_path / f"workforce{suffix}"
    res = run("export", "workforce", "--to", fmt, "--out", out)
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind
    if suffix == ".html":
        assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_export_errors_exit_2_and_write_nothing(tmp_path):
    res = run("export", "workforce", "--to", "sav", "--out", tmp_path / "t.dta")
    assert res.exit_code == 2 and ".sav" in res.stderr
    res = run("export", "nope", "--to", "codebook", "--out", tmp_path / "c.md")
    assert res.exit_code == 2
    res = run("export", "workforce", "--to", "pdf", "--out", tmp_path / "c.pdf")
    assert res.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_validate_with_only_a_whole_column_problem_prints_the_summary(tmp_path):
    df = pd.read_csv(CLEAN, dtype=str).assign(weight="1")
    path = tmp_path / "extra.csv"
    df.to_csv(path, index=False)
    res = run("validate", path, "-q", "unpaid_carers")
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit)  # not a crash
    assert "1 problem(s)" in res.stdout and "unknown columns (1): weight" in res.stdout
    assert "Traceback" not in res.output


def test_derive_to_spss_keeps_variable_labels_and_user_missing(tmp_path):
    out = tmp_path / "derived.sav"
    res = run("derive", CLEAN, "-q", "unpaid_carers", "--out", out)
    assert res.exit_code == 0, res.output
    df, meta = pyreadstat.read_sav(str(out), user_missing=True)
    labels = meta.column_names_to_labels
    assert labels["hours_band"] == "Unpaid care, hours a week (Census 2021 TS039 bands)"
    assert labels["care_tasks_1"].startswith("Caring tasks in the last 4 weeks: Helped them wash")
    assert meta.missing_ranges["known_gp"] == [{"lo": -8.0, "hi": -8.0}]  # don't know
    assert df["known_gp"].tolist()[2:4] == [0, -8]
    plain, _ = pyreadstat.read_sav(str(out))  # SPSS reads the user-missing code as missing
    assert plain["known_gp"].isna().tolist()[2:4] == [False, True]
