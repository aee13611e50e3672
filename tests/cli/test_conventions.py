"""The conventions every command keeps (issue 10, "CLI conventions"): ``--out`` in the format its
extension names, refused before any work when it cannot be written or would replace an input;
``--format`` with strict choices; ``--version``; group help; options given twice refused."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import WRITERS, Inputs, assert_refused, invoke, read_back, snapshot

BY_NAME = {w.name: w for w in WRITERS}


def _inputs_of(files: Inputs) -> list[Path]:
    return [p for p in vars(files).values() if isinstance(p, Path) and p.is_file()]


# ------------------------------------------------------------------------------ --out formats
@pytest.mark.parametrize(
    "writer, suffix",
    [(w, s) for w in WRITERS for s in w.suffixes],
    ids=[f"{w.name}-{s}" for w in WRITERS for s in w.suffixes],
)
def test_out_is_the_format_its_extension_names(inputs, tmp_path, writer, suffix):
    out = tmp_path / "result" / f"out{suffix}"
    before = snapshot(*_inputs_of(inputs))
    res = invoke(*writer.command(inputs), writer.flag, out)
    assert res.exit_code in writer.ok_codes, res.output
    frame = read_back(out)
    assert len(frame) > 0 and len(frame.columns) > 1
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left
    assert all(p.read_bytes() == b for p, b in before.items())


def test_estimate_file_holds_the_same_numbers_as_the_screen(inputs, tmp_path):
    """The JSON, Parquet, CSV and Excel files carry the records --format json prints: the same
    doubles, except that Excel files hold 16 significant digits (openpyxl writes %.16g)."""
    cmd = BY_NAME["estimate"].command(inputs)
    shown = json.loads(invoke(*cmd, "--format", "json").stdout)
    for suffix in (".json", ".parquet", ".xlsx", ".csv"):
        out = tmp_path / f"est{suffix}"
        assert invoke(*cmd, "--out", out).exit_code == 0
        frame = read_back(out)
        assert list(frame.columns) == list(shown[0])
        for col in ("estimate", "se", "ci_lower", "ci_upper"):
            expected = [r[col] for r in shown]
            if suffix == ".xlsx":
                assert frame[col].tolist() == pytest.approx(expected, rel=1e-15, abs=0)
            else:
                assert frame[col].tolist() == expected
    assert json.loads((tmp_path / "est.json").read_text()) == shown


@pytest.mark.parametrize("writer", WRITERS, ids=[w.name for w in WRITERS])
@pytest.mark.parametrize("name", ["out.txt", "out", "out.sav.bak"])
def test_an_extension_it_cannot_write_is_refused_before_any_work(inputs, tmp_path, writer, name):
    out = tmp_path / name
    res = invoke(*writer.command(inputs), writer.flag, out)
    assert_refused(res, writer.flag, unchanged=snapshot(*_inputs_of(inputs)), absent=[out])


def test_estimate_refuses_sav_and_names_what_it_writes(inputs, tmp_path):
    out = tmp_path / "r.sav"
    res = invoke(*BY_NAME["estimate"].command(inputs), "--out", out)
    assert_refused(res, "--out FILE.csv", ".csv, .parquet, .xlsx or .json", absent=[out])


def test_format_that_contradicts_the_extension_is_refused(inputs, tmp_path):
    out = tmp_path / "r.csv"
    res = invoke(*BY_NAME["estimate"].command(inputs), "--format", "json", "--out", out)
    assert_refused(res, "fix: leave out --format json", absent=[out])
    assert "--input-format" not in res.stderr


# ------------------------------------------------------------------------------ never overwrite an input
@pytest.mark.parametrize("writer", [w for w in WRITERS if w.main_input], ids=lambda w: w.name)
@pytest.mark.parametrize("how", ["same path", "symlink", "relative path", "hard link"])
def test_out_that_is_an_input_is_refused_before_reading(inputs, tmp_path, monkeypatch, writer, how):
    source: Path = getattr(inputs, writer.main_input)
    target = source.with_suffix(writer.suffixes[0]) if source.suffix not in writer.suffixes else source
    if target != source:  # e.g. a CSV input and a command whose first suffix is .csv: same file
        pytest.skip("the input cannot be named with a suffix this command writes")
    before = snapshot(*_inputs_of(inputs))
    if how == "same path":
        out = source
    elif how == "symlink":
        out = tmp_path / f"link{source.suffix}"
        out.symlink_to(source)
    elif how == "hard link":
        out = tmp_path / f"hard{source.suffix}"
        os.link(source, out)
    else:
        monkeypatch.chdir(inputs.folder / "..")
        out = Path("in") / ".." / "in" / source.name
    res = invoke(*writer.command(inputs), writer.flag, out)
    assert_refused(res, "input", writer.flag, unchanged=before)


@pytest.mark.parametrize(
    "command, flag, given",
    [
        ("estimate", "--out", "--rake"),
        ("estimate", "--out", "--poststratify"),
        ("estimate", "--out", "--calibrate-cat"),
        ("weight", "--out", "--rake"),
        ("weight", "--out", "--poststratify"),
        ("weight", "--out", "--calibrate-cat"),
    ],
)
def test_margin_files_are_inputs(inputs, command, flag, given):
    margin = inputs.folder / "stype_margin.csv"
    margin.write_bytes(inputs.margin.read_bytes())
    before = snapshot(margin, inputs.strat)
    args = [command, inputs.strat, "--weight", "pw", given, f"stype={margin}"]
    if command == "estimate":
        args += ["--mean", "api00"]
    res = invoke(*args, flag, margin)
    assert_refused(res, "input", "--out", given, unchanged=before)


def test_select_allocation_file_is_an_input(inputs):
    before = snapshot(inputs.allocation, inputs.frame)
    res = invoke(
        "design", "select", inputs.frame, "--strata", "la", "--allocation", inputs.allocation,
        "--out", inputs.allocation,
    )  # fmt: skip
    assert_refused(res, "input", "--allocation", "--out", unchanged=before)


def test_validate_report_cannot_replace_the_questionnaire_file(inputs, tmp_path):
    from carepop.questionnaires.load import _bundled_dir

    yaml_file = tmp_path / "carers.yaml"
    yaml_file.write_text((_bundled_dir() / "unpaid_carers.yaml").read_text(encoding="utf-8"))
    before = snapshot(yaml_file, inputs.responses)
    res = invoke("questionnaire", "validate", inputs.responses, "-q", yaml_file, "--report", yaml_file)
    assert_refused(res, "--report", unchanged=before)  # a .yaml report: refused by its extension
    link = tmp_path / "report.csv"
    link.symlink_to(inputs.responses)
    res = invoke("questionnaire", "validate", inputs.responses, "-q", "unpaid_carers", "--report", link)
    assert_refused(res, "input", "--report", unchanged=before)


# ------------------------------------------------------------------------------ unwritable --out
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
def test_out_that_is_a_folder(inputs, tmp_path, writer):
    folder = tmp_path / f"folder{writer.suffixes[0]}"
    folder.mkdir()
    res = invoke(*writer.command(inputs), writer.flag, folder)
    assert_refused(res, "is a folder", writer.flag, unchanged=snapshot(*_inputs_of(inputs)))
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
def test_out_under_a_file(inputs, tmp_path, writer):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "sub" / f"out{writer.suffixes[0]}"
    res = invoke(*writer.command(inputs), writer.flag, out)
    assert_refused(res, "is a file, not a folder", writer.flag, unchanged=snapshot(blocker))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
def test_out_that_cannot_be_written(inputs, writer):
    """Even root cannot create files in /proc: the write fails, and that is a clean error."""
    out = Path("/proc") / "carepop-test" / f"out{writer.suffixes[0]}"
    res = invoke(*writer.command(inputs), writer.flag, out)
    assert_refused(res, "Cannot write", writer.flag, unchanged=snapshot(*_inputs_of(inputs)))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder(inputs, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = invoke(*BY_NAME["estimate"].command(inputs), "--out", locked / "r.csv")
        assert_refused(res, "not writable", "--out")
    finally:
        locked.chmod(0o700)


def test_demo_out_that_is_a_file(tmp_path):
    blocker = tmp_path / "demo.csv"
    blocker.write_text("x")
    res = invoke("demo", "--out", blocker)
    assert_refused(res, "--out FOLDER", unchanged=snapshot(blocker))


def test_cld_generate_to_a_folder_or_unknown_suffix(tmp_path):
    res = invoke("cld", "generate", tmp_path, "--rows", "200")
    assert_refused(res, "is a folder")
    res = invoke("cld", "generate", tmp_path / "g.txt", "--rows", "200")
    assert_refused(res, ".parquet or .csv", absent=[tmp_path / "g.txt"])
    res = invoke("cld", "generate", tmp_path / "g.csv", "--rows", "5")
    assert_refused(res, "--rows N", absent=[tmp_path / "g.csv"])


# ------------------------------------------------------------------------------ --format
PRINTERS = [
    ["estimate", "STRAT", "--weight", "pw", "--mean", "api00"],
    ["design", "size"],
    ["design", "allocate", "STRATA", "--strata", "la", "--size", "N", "--n", "60"],
    ["design", "select", "FRAME", "--n", "5", "--seed", "1"],
    ["census", "show", "ts008"],
    ["cld", "check", "EVENTS"],
    ["cld", "summarise", "EVENTS"],
    ["cld", "signals", "EVENTS"],
    ["questionnaire", "list"],
    ["questionnaire", "show", "workforce"],
    ["questionnaire", "validate", "RESPONSES", "-q", "unpaid_carers"],
]


def _fill(args: list[str], files: Inputs) -> list:
    names = {"STRAT": files.strat, "STRATA": files.strata, "FRAME": files.frame}
    names |= {"EVENTS": files.events, "RESPONSES": files.responses}
    return [names.get(a, a) for a in args]


@pytest.mark.parametrize("args", PRINTERS, ids=lambda a: " ".join(a[:2]))
def test_format_choices_are_strict(inputs, args):
    res = invoke(*_fill(args, inputs), "--format", "xml")
    assert_refused(res, "--format")
    assert "json" in res.stderr and "csv" in res.stderr and "table" in res.stderr


@pytest.mark.parametrize("args", PRINTERS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_every_printing_command_prints_json_csv_and_table(inputs, args, fmt):
    res = invoke(*_fill(args, inputs), "--format", fmt)
    assert res.exit_code in (0, 1), res.output
    text = res.stdout
    if fmt == "json":
        json.loads(text)
    elif fmt == "csv":
        from io import StringIO

        assert len(pd.read_csv(StringIO(text)).columns) > 1
    else:
        assert text.strip() and "Traceback" not in res.output


# ------------------------------------------------------------------------------ help and version
def test_version_is_shown_cleanly():
    from carepop import __version__

    res = invoke("--version")
    assert res.exit_code == 0 and res.stdout == f"carepop {__version__}\n"
    helped = invoke("--help").stdout
    assert "--version" in helped and "<bool>" not in helped


GROUPS = {
    "": ["estimate", "weight", "demo", "design", "questionnaire", "census", "cld"]
    + ["sae", "capture", "measure", "disclose", "project", "run"],
    "design": ["size", "allocate", "select"],
    "questionnaire": ["list", "show", "validate", "derive", "export"],
    "census": ["show"],
    "cld": ["check", "summarise", "signals", "generate"],
    "sae": ["fh", "bhf", "ebp"],
    "capture": ["estimate", "link"],
    "measure": ["carers", "hidden-carers", "unmet-need", "self-funders", "workforce"],
}


@pytest.mark.parametrize("group", list(GROUPS))
def test_group_help_lists_every_subcommand(group):
    from typer.main import get_command

    from carepop.cli import app

    res = invoke(*([group] if group else []), "--help")
    assert res.exit_code == 0
    for name in GROUPS[group]:
        assert f" {name} " in res.stdout, name
    click_group = get_command(app)
    if group:
        click_group = click_group.commands[group]
    assert sorted(click_group.commands) == sorted(GROUPS[group])  # nothing missing from the list


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "--help"],
        ["weight", "--help"],
        ["design", "select", "--help"],
        ["cld", "summarise", "--help"],
        ["questionnaire", "derive", "--help"],
    ],
)
def test_flags_show_no_bool_type(args):
    res = invoke(*args)
    assert res.exit_code == 0 and "<bool>" not in res.stdout


def test_help_of_raking_controls_states_r_meanings():
    text = " ".join(invoke("weight", "--help").stdout.split())
    for needle in ("R's control epsilon", "R rake, default 1", "R calibrate, default 1e-7", "R's maxit"):
        assert needle in text.replace("│ ", "").replace(" │", ""), needle


# ------------------------------------------------------------------------------ options given twice
@pytest.mark.parametrize(
    "args, flag",
    [
        (["estimate", "STRAT", "--weight", "pw", "--mean", "api00", "--mean", "enroll"], "--mean"),
        (["estimate", "STRAT", "--weight", "pw", "--weight", "fpc", "--mean", "api00"], "--weight"),
        (["estimate", "STRAT", "--weight", "pw", "--mean=api00", "--mean=enroll"], "--mean"),
        (["design", "select", "FRAME", "--n", "5", "--n", "6"], "--n"),
        (["census", "show", "ts008", "--format", "csv", "--format", "json"], "--format"),
        (
            ["questionnaire", "validate", "RESPONSES", "-q", "unpaid_carers", "-q", "workforce"],
            "--questionnaire",
        ),
        (["estimate", "STRAT", "--weight", "pw", "--mean", "api00", "--nest", "--no-nest"], "--nest"),
    ],
)
def test_an_option_given_twice_is_refused(inputs, tmp_path, args, flag):
    out = tmp_path / "never.csv"
    res = (
        invoke(*_fill(args, inputs), "--out", out) if args[0] == "estimate" else invoke(*_fill(args, inputs))
    )
    assert_refused(res, flag, "given 2 times", absent=[out])


def test_repeatable_options_may_repeat(inputs, tmp_path):
    res = invoke(
        "estimate", inputs.strat, "--weight", "pw", "--rake", f"stype={inputs.margin}",
        "--rake", f"stype={inputs.margin}", "--mean", "api00",
    )  # fmt: skip
    assert "given 2 times" not in res.stderr  # refused for another reason (the same margin twice) or not


# ------------------------------------------------------------------------------ empty lists
@pytest.mark.parametrize(
    "args, flag",
    [
        (["estimate", "STRAT", "--weight", "pw", "--mean", "api00", "--by", ","], "--by"),
        (["estimate", "STRAT", "--weight", "pw", "--mean", "api00", "--by", "stype,,awards"], "--by"),
        (["estimate", "STRAT", "--weight", "pw", "--mean", "api00", "--by", ""], "--by"),
        (
            ["weight", "STRAT", "--weight", "pw", "--nonresponse-classes", ",", "--respondent", "pw"],
            "--nonresponse-classes",
        ),
        (["design", "select", "FRAME", "--n", "5", "--method", "systematic", "--sort", ","], "--sort"),
        (
            ["questionnaire", "validate", "RESPONSES", "-q", "unpaid_carers", "--allow-column", ""],
            "--allow-column",
        ),
        (
            ["questionnaire", "derive", "RESPONSES", "-q", "unpaid_carers", "--allow-column", " "],
            "--allow-column",
        ),
    ],
)
def test_empty_list_values_are_refused(inputs, tmp_path, args, flag):
    out = tmp_path / "never.csv"
    if args[0] in ("weight", "estimate", "design") or args[1] == "derive":
        args = [*args, "--out", out]
    res = invoke(*_fill(args, inputs))
    assert_refused(res, flag, "empty", unchanged=snapshot(*_inputs_of(inputs)), absent=[out])
