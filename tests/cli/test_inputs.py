"""CSV inputs as people make them, read the same way by every command: UTF-8 with or without a
byte-order mark, Windows-1252 from Excel (``--encoding``; otherwise a clear error naming it), ``;``
as the separator (detected, or ``--sep``), and repeated column names refused with the names."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.conftest import assert_refused, invoke, snapshot
from tests.golden import DATA
from tests.sources.cld.fixtures import story

ESTIMATE = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--mean", "api00", "--by", "stype"]


def _resave(frame: pd.DataFrame, path, sep=",", encoding="utf-8"):
    path.write_bytes(frame.to_csv(index=False, sep=sep).encode(encoding))
    return path


@pytest.fixture
def strat() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "apistrat.csv")
    frame["head"] = "Mrs Brontë"  # a letter outside ASCII, as in names and addresses
    return frame


def _estimates(*args) -> list[dict]:
    res = invoke("estimate", *args, *ESTIMATE, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize(
    "sep, encoding, options",
    [
        (",", "utf-8-sig", []),
        (";", "utf-8", []),
        (";", "utf-8", ["--sep", ";"]),
        ("\t", "utf-8", ["--sep", "tab"]),
        (";", "cp1252", ["--encoding", "cp1252"]),
        (",", "latin-1", ["--encoding", "latin-1"]),
    ],
)
def test_estimate_reads_every_form_the_same(tmp_path, strat, sep, encoding, options):
    original = _estimates(_resave(strat, tmp_path / "plain.csv"))
    assert _estimates(_resave(strat, tmp_path / "saved.csv", sep, encoding), *options) == original


@pytest.mark.parametrize("command", ["estimate", "weight", "design select", "questionnaire validate"])
def test_excel_file_without_encoding_is_refused_naming_the_flag(tmp_path, strat, command):
    path = _resave(strat, tmp_path / "excel.csv", ";", "cp1252")
    out = tmp_path / "never.csv"
    margin = tmp_path / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(margin, index=False)
    args = {
        "estimate": ["estimate", path, *ESTIMATE, "--out", out],
        "weight": ["weight", path, "--weight", "pw", "--poststratify", f"stype={margin}", "--out", out],
        "design select": ["design", "select", path, "--n", "5", "--out", out],
        "questionnaire validate": ["questionnaire", "validate", path, "-q", "unpaid_carers"],
    }[command]
    res = invoke(*args)
    assert_refused(res, "--encoding cp1252", "line 2", unchanged=snapshot(path, margin), absent=[out])
    assert "encoding=" not in res.stderr  # the flag, not the Python parameter


def test_unknown_encoding_names_the_flag(tmp_path, strat):
    path = _resave(strat, tmp_path / "s.csv")
    res = invoke("estimate", path, *ESTIMATE, "--encoding", "klingon")
    assert_refused(res, "Unknown text encoding", "--encoding cp1252")


def test_weight_reads_a_semicolon_excel_file(tmp_path, strat):
    margin = tmp_path / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(margin, index=False)
    path = _resave(strat, tmp_path / "excel.csv", ";", "cp1252")
    out = tmp_path / "weighted.parquet"
    res = invoke(
        "weight", path, "--weight", "pw", "--poststratify", f"stype={margin}", "--encoding", "cp1252",
        "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert frame.groupby("stype")["weight_final"].sum().round(6).tolist() == [4421, 755, 1018]
    assert frame.loc[0, "head"] == "Mrs Brontë"


def test_census_show_reads_a_resaved_nomis_file(tmp_path):
    text = (DATA / "nomis" / "ts039_la_good.csv").read_text(encoding="utf-8").replace("Bolton", "Boltoñ")
    path = tmp_path / "nomis.csv"
    path.write_bytes(text.replace(",", ";").encode("cp1252"))
    res = invoke("census", "show", path, "--format", "json")
    assert_refused(res, "--encoding cp1252")
    res = invoke("census", "show", path, "--format", "json", "--encoding", "cp1252")
    assert res.exit_code == 0, res.output
    names = [r["area_name"] for r in json.loads(res.stdout)]
    assert "Boltoñ" in names


@pytest.mark.parametrize("command", ["check", "summarise"])
def test_cld_reads_a_resaved_file_like_estimate_does(tmp_path, command):
    frame = story()
    frame.loc[0, "Ethnicity"] = "Any other Whité background"
    path = _resave(frame, tmp_path / "events.csv", ";", "cp1252")
    res = invoke("cld", command, path, "--format", "csv")
    assert_refused(res, "--encoding cp1252", unchanged=snapshot(path))
    res = invoke("cld", command, path, "--format", "csv", "--encoding", "cp1252")
    assert res.exit_code in (0, 1), res.output
    assert "Traceback" not in res.output


def test_sep_for_a_parquet_file_is_refused(tmp_path, strat):
    path = tmp_path / "s.parquet"
    strat.to_parquet(path)
    res = invoke("estimate", path, *ESTIMATE, "--sep", ";")
    assert_refused(res, "--sep")


def test_input_format_reads_a_file_with_another_extension(tmp_path, strat):
    path = tmp_path / "export.dat"
    _resave(strat, path, ";")
    res = invoke("estimate", path, *ESTIMATE)
    assert_refused(res, "Cannot tell the format", "--input-format csv")
    assert _estimates(path, "--input-format", "csv") == _estimates(_resave(strat, tmp_path / "plain.csv"))


@pytest.mark.parametrize(
    "command",
    [
        "estimate",
        "weight",
        "design allocate",
        "design select",
        "questionnaire validate",
        "census show",
        "cld",
    ],
)
def test_repeated_column_names_are_refused_with_the_names(tmp_path, command):
    path = tmp_path / "dup.csv"
    if command == "census show":
        head, *rest = (DATA / "nomis" / "ts039_la_good.csv").read_text().splitlines()
        cols = head.split(",")
        lines = [",".join([*cols, cols[3]]), *[f"{r},{r.split(',')[3]}" for r in rest]]
        path.write_text("\n".join(lines) + "\n")
        name = cols[3]
    elif command == "cld":
        frame = story()
        frame.insert(3, "Gender", frame["Gender"], allow_duplicates=True)
        frame.to_csv(path, index=False)
        name = "Gender"
    else:
        frame = pd.read_csv(DATA / "apistrat.csv")[["stype", "pw", "api00", "enroll"]]
        frame.columns = ["stype", "pw", "api00", "api00"]
        frame["N"] = 1000
        frame.to_csv(path, index=False)
        name = "api00"
    out = tmp_path / "never.csv"
    args = {
        "estimate": ["estimate", path, "--weight", "pw", "--mean", "api00", "--out", out],
        "weight": ["weight", path, "--weight", "pw", "--replicates", "jk1", "--out", out],
        "design allocate": ["design", "allocate", path, "--strata", "stype", "--size", "N", "--n", "5"],
        "design select": ["design", "select", path, "--n", "5", "--out", out],
        "questionnaire validate": ["questionnaire", "validate", path, "-q", "unpaid_carers"],
        "census show": ["census", "show", path, "--out", out],
        "cld": ["cld", "summarise", path, "--out", out],
    }[command]
    res = invoke(*args)
    assert_refused(res, "more than once", repr(name), unchanged=snapshot(path), absent=[out])
