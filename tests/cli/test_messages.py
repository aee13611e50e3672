"""What the user reads: errors that name this command's flags (never a Python parameter), carepop
warnings as ``warning: ...`` lines and never a raw numpy RuntimeWarning, progress bars only on a
terminal, the raking / calibration controls, and validation problems in the order that shows a
planted bad value on screen."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import CLEAN_RESPONSES, assert_refused, invoke, snapshot
from tests.golden import DATA
from tests.sources.cld.fixtures import story, write

SRS = DATA / "apisrs.csv"
STRAT = DATA / "apistrat.csv"


@pytest.fixture
def margins(tmp_path):
    stype = tmp_path / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(stype, index=False)
    sw = tmp_path / "sw.csv"
    pd.DataFrame({"value": ["No", "Yes"], "total": [1072, 5122]}).to_csv(sw, index=False)
    return stype, sw


# ------------------------------------------------------------------------------ flags in messages
@pytest.mark.parametrize(
    "args, flag, python",
    [
        (
            ["questionnaire", "derive", "PLANTED", "-q", "unpaid_carers", "--out", "OUT.csv"],
            "--no-check",
            "check=False",
        ),
        (
            ["design", "select", "FRAME", "--n", "3", "--method", "pps_wor", "--out", "OUT.csv"],
            "--size COL",
            "size=",
        ),
        (
            [
                "design",
                "allocate",
                "STRATA",
                "--strata",
                "la",
                "--size",
                "N",
                "--n",
                "9",
                "--method",
                "neyman",
            ],
            "--sd COL",
            "S_h=",
        ),
        (
            ["design", "allocate", "STRATA", "--strata", "la", "--size", "N", "--n", "9", "--min-n", "5"],
            "--min-n K",
            "min_n=",
        ),
        (["design", "size", "--proportion", "1.5"], "--proportion P", "proportion="),
        (["design", "size", "--moe", "-1"], "--moe M", "moe="),
        (
            ["design", "select", "FRAME", "--strata", "la", "--allocation", "ALLOC", "--n", "4"],
            "--allocation FILE",
            "allocation=",
        ),
        (["census", "show", "imd2019", "--wales"], "--wales", "wales="),
        (["census", "show", "ts039", "--level", "lsoa"], "--level la|msoa", "level="),
        (
            [
                "estimate",
                "STRAT",
                "--weight",
                "pw",
                "--mean",
                "api00",
                "--scale",
                "0",
                "--repweights",
                "pw",
                "--rep-method",
                "jk1",
            ],
            "--scale S",
            "scale=",
        ),
    ],
)
def test_errors_name_the_flag_not_the_parameter(tmp_path, args, flag, python):
    planted = tmp_path / "planted.csv"
    bad = pd.read_csv(CLEAN_RESPONSES, dtype=str)
    bad.loc[0, "cf_relationship"] = "9"
    bad.to_csv(planted, index=False)
    frame = tmp_path / "frame.csv"
    pd.DataFrame({"unit": range(20), "la": ["A", "B"] * 10, "beds": range(1, 21)}).to_csv(frame, index=False)
    strata = tmp_path / "strata.csv"
    pd.DataFrame({"la": ["A", "B"], "N": [10, 20]}).to_csv(strata, index=False)
    alloc = tmp_path / "alloc.csv"
    pd.DataFrame({"stratum": ["A", "B"], "n_h": [2, 2]}).to_csv(alloc, index=False)
    names = {"PLANTED": planted, "FRAME": frame, "STRATA": strata, "ALLOC": alloc, "STRAT": STRAT}
    names["OUT.csv"] = tmp_path / "out.csv"
    res = invoke(*[names.get(a, a) for a in args])
    assert_refused(res, flag, absent=[tmp_path / "out.csv"])
    assert python not in res.stderr


# ------------------------------------------------------------------------------ replicate multipliers
JK1 = ["--weight", "pw", "--repweights", "rw", "--rep-method", "jk1", "--mean", "api00"]


@pytest.fixture
def jk1(tmp_path) -> Path:
    data = pd.read_csv(DATA / "apiclus1.csv")
    reps = pd.read_csv(DATA / "apiclus1_jk1.csv")
    path = tmp_path / "jk1.csv"
    pd.concat([data, reps], axis=1).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "option, needle",
    [
        (["--scale", "0"], "--scale S"),
        (["--scale", "-0.5"], "--scale S"),
        (["--rscales", "1,1,1"], "--rscales"),
        (["--rscales", "a,b"], "--rscales"),
        (["--rscales", ",".join(["1"] * 16)], "--rscales"),
    ],
)
def test_bad_replicate_multipliers_are_refused(jk1, tmp_path, option, needle):
    out = tmp_path / "never.csv"
    res = invoke("estimate", jk1, *JK1, *option, "--out", out)
    assert_refused(res, needle, unchanged=snapshot(jk1), absent=[out])
    assert "scale=" not in res.stderr and "rscales=" not in res.stderr


def test_good_replicate_multipliers_still_work(jk1):
    res = invoke(
        "estimate", jk1, *JK1, "--scale", str(14 / 15), "--rscales", ",".join(["1"] * 15), "--format", "json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["se"] > 0


# ------------------------------------------------------------------------------ warnings
def test_numpy_runtime_warnings_never_reach_the_user(tmp_path):
    """A constant variable with --deff divides 0 by 0 inside numpy: the design effect is missing,
    and the user sees no RuntimeWarning."""
    data = pd.read_csv(STRAT).assign(one=1.0)
    path = tmp_path / "one.csv"
    data.to_csv(path, index=False)
    res = invoke(
        "estimate", path, "--weight", "pw", "--strata", "stype", "--mean", "one", "--deff", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["se"] == 0
    assert "RuntimeWarning" not in res.output and "invalid value" not in res.output
    # the installed command, as a user runs it, shows none either
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "carepop.cli",
            "estimate",
            str(path),
            "--weight",
            "pw",
            "--mean",
            "one",
            "--deff",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "RuntimeWarning" not in proc.stderr and "Warning" not in proc.stderr


def test_carepop_warnings_are_warning_lines(tmp_path):
    out = tmp_path / "w.csv"
    res = invoke(
        "weight", SRS, "--weight", "pw", "--fpc", "fpc", "--replicates", "subbootstrap:5", "--seed", "1",
        "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stderr.splitlines() if "fpc" in line]
    assert lines == ["warning: The Rao-Wu bootstrap does not use the fpc (R ignores it too)."]
    assert "UserWarning" not in res.stderr and "replicates.py" not in res.stderr


def test_empty_domain_warning_is_shown_once(tmp_path):
    data = pd.read_csv(STRAT)
    data.loc[data["stype"] == "H", "api00"] = np.nan
    path = tmp_path / "gap.csv"
    data.to_csv(path, index=False)
    res = invoke("estimate", path, "--weight", "pw", "--mean", "api00", "--by", "stype", "--na-rm")
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "missing, not zero" in warned[0]
    assert "UserWarning" not in res.stderr


# ------------------------------------------------------------------------------ raking and calibration
RAKE = ["--weight", "pw", "--fpc", "fpc", "--mean", "api00", "--format", "json"]


def test_raking_controls_reach_the_library(margins):
    stype, sw = margins
    rake = ["--rake", f"stype={stype}", "--rake", f"sch.wide={sw}"]
    default = invoke("estimate", SRS, *RAKE, *rake)
    assert default.exit_code == 0, default.output
    one_pass = invoke("estimate", SRS, *RAKE, *rake, "--maxit", "1")
    assert one_pass.exit_code == 2 and "did not converge in 1 passes" in one_pass.stderr
    loose = invoke("estimate", SRS, *RAKE, *rake, "--maxit", "1", "--epsilon", "1000")
    assert loose.exit_code == 0, loose.output
    assert json.loads(loose.stdout)[0]["estimate"] != json.loads(default.stdout)[0]["estimate"]


@pytest.mark.parametrize("value, flag", [("0", "--maxit N"), ("-1", "--maxit N")])
def test_bad_maxit(margins, value, flag):
    stype, _ = margins
    res = invoke("estimate", SRS, *RAKE, "--rake", f"stype={stype}", "--maxit", value)
    assert_refused(res, flag)


def test_bad_epsilon(margins):
    stype, _ = margins
    res = invoke("estimate", SRS, *RAKE, "--rake", f"stype={stype}", "--epsilon", "0")
    assert_refused(res, "--epsilon E")


def test_unconverged_raking_names_the_flags(margins, tmp_path):
    stype, sw = margins
    out = tmp_path / "never.csv"
    res = invoke(
        "weight", SRS, "--weight", "pw", "--rake", f"stype={stype}", "--rake", f"sch.wide={sw}",
        "--maxit", "1", "--out", out,
    )  # fmt: skip
    assert_refused(res, "--maxit", "--epsilon", "--force", absent=[out])
    assert "force=True" not in res.stderr and "maxit=" not in res.stderr


def test_forced_raking_warns(margins):
    stype, sw = margins
    res = invoke(
        "estimate",
        SRS,
        *RAKE,
        "--rake",
        f"stype={stype}",
        "--rake",
        f"sch.wide={sw}",
        "--maxit",
        "1",
        "--force",
    )
    assert res.exit_code == 0, res.output
    assert any(line.startswith("warning:") and "converge" in line for line in res.stderr.splitlines())


def test_unconverged_calibration_names_the_flags_and_force_warns(margins):
    stype, _ = margins
    cal = ["--calibrate-cat", f"stype={stype}", "--calibrate-num", "api99=3914069", "--calfun", "logit"]
    cal += ["--bounds", "0.7,1.7", "--maxit", "1"]
    res = invoke("estimate", SRS, *RAKE, *cal)
    assert_refused(res, "--maxit", "--epsilon", "--force")
    res = invoke("estimate", SRS, *RAKE, *cal, "--force")
    assert res.exit_code == 0, res.output
    assert any(line.startswith("warning:") for line in res.stderr.splitlines())


def test_margins_that_disagree_name_harmonise(tmp_path, margins):
    stype, _ = margins
    sw = tmp_path / "sw2.csv"
    pd.DataFrame({"value": ["No", "Yes"], "total": [1000, 5122]}).to_csv(sw, index=False)
    res = invoke("estimate", SRS, *RAKE, "--rake", f"stype={stype}", "--rake", f"sch.wide={sw}")
    assert_refused(res, "--harmonise")
    assert "harmonise=True" not in res.stderr


def test_margin_total_that_is_not_a_number(tmp_path):
    margin = tmp_path / "stype.csv"
    margin.write_text("value,total\nE,4421\nH,seven hundred\nM,1018\n")
    res = invoke("estimate", SRS, *RAKE, "--poststratify", f"stype={margin}")
    assert_refused(res, "not a number")


def test_lonely_psu_names_the_flag(tmp_path):
    data = pd.read_csv(STRAT)
    first_h = data.index[data["stype"] == "H"][0]
    data = data[(data["stype"] != "H") | (data.index == first_h)]  # one PSU in stratum H
    path = tmp_path / "lonely.csv"
    data.to_csv(path, index=False)
    res = invoke("estimate", path, "--weight", "pw", "--strata", "stype", "--psu", "snum", "--mean", "api00")
    assert_refused(res, "--lonely-psu certainty")
    assert "lonely_psu=" not in res.stderr


# ------------------------------------------------------------------------------ progress
def _run_in_a_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """Run ``python -m carepop.cli ARGS`` with stdout and stderr on a pseudo-terminal."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CAREPOP_PROGRESS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "carepop.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**env, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=timeout), out.decode("utf-8", errors="replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
@pytest.mark.parametrize("command", ["check", "summarise"])
def test_progress_bars_on_a_terminal(tmp_path, command):
    path = write(story(), tmp_path / "events.csv")
    code, text = _run_in_a_terminal("cld", command, str(path))
    assert code in (0, 1), text
    assert "reading events.csv" in text and "validating events.csv" in text
    assert ("checking events.csv" if command == "check" else "summarising events.csv") in text
    assert "━" in text  # a bar was drawn


@pytest.mark.parametrize("command", ["check", "summarise"])
def test_no_progress_bars_when_output_is_not_a_terminal(tmp_path, command):
    path = write(story(), tmp_path / "events.csv")
    res = invoke("cld", command, path)  # captured output: not a terminal
    assert res.exit_code in (0, 1)
    assert "validating" not in res.output and "reading events.csv" not in res.output
    env = {k: v for k, v in os.environ.items() if k != "CAREPOP_PROGRESS"}
    proc = subprocess.run(
        [sys.executable, "-m", "carepop.cli", "cld", command, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert "validating" not in proc.stdout + proc.stderr


def test_progress_switch(monkeypatch):
    from carepop.cli.progress import wants_progress

    class Terminal:
        def isatty(self) -> bool:
            return True

    class Pipe:
        def isatty(self) -> bool:
            return False

    monkeypatch.delenv("CAREPOP_PROGRESS", raising=False)
    assert wants_progress(Terminal(), Terminal())
    assert not wants_progress(Pipe(), Terminal()) and not wants_progress(Terminal(), Pipe())
    monkeypatch.setenv("CAREPOP_PROGRESS", "0")
    assert not wants_progress(Terminal(), Terminal())
    monkeypatch.setenv("CAREPOP_PROGRESS", "1")
    assert wants_progress(Pipe(), Pipe())


def test_replicate_weighting_reports_progress_when_the_library_does(tmp_path):
    """Progress is installed around every command: whatever the library reports reaches the
    display (here, with CAREPOP_PROGRESS=1, drawn into the captured stderr)."""
    from io import StringIO

    from rich.console import Console

    from carepop.cli.progress import RichDisplay
    from carepop.core.progress import progress, showing

    buf = StringIO()
    display = RichDisplay(Console(file=buf, force_terminal=True, width=100))
    with showing(display), progress("replicate weights", total=3) as advance:
        for _ in range(3):
            advance()
    assert "replicate weights" in buf.getvalue()


# ------------------------------------------------------------------------------ validate on screen
def test_a_planted_bad_value_shows_on_screen_above_missing_columns(tmp_path):
    """An older export: 12 columns missing and one wrong code. The screen shows the wrong code
    in the table of problems and lists the missing columns on one line."""
    df = pd.read_csv(CLEAN_RESPONSES, dtype=str)
    df = df.drop(columns=list(df.columns[-12:]))
    df.loc[3, "cf_relationship"] = "9"
    path = tmp_path / "old_export.csv"
    df.to_csv(path, index=False)
    res = invoke("questionnaire", "validate", path, "-q", "unpaid_carers")
    assert res.exit_code == 1, res.output
    screen = res.stdout
    assert "wrong_code" in screen and "cf_relationship" in screen
    assert screen.index("cf_relationship") < screen.index("missing columns (")
    missing_lines = [line for line in screen.splitlines() if line.startswith("missing columns (")]
    assert len(missing_lines) == 1 and "more)" in missing_lines[0]
    assert "First 1 of 1 problems with values" in screen


def test_which_warnings_are_shown(capsys):
    import warnings

    from carepop.cli.common import show_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.log(np.zeros(1))  # numpy: divide by zero encountered in log
        np.nanmean(np.full(2, np.nan))  # numpy: Mean of empty slice
        warnings.warn(
            "Raking did not converge in 10 passes; keeping the last weights.", RuntimeWarning, stacklevel=2
        )
        warnings.warn("Finite population correction dropped in conversion (as R).", UserWarning, stacklevel=2)
        warnings.warn("Finite population correction dropped in conversion (as R).", UserWarning, stacklevel=2)
        warnings.warn("old API", DeprecationWarning, stacklevel=2)
    show_warnings(caught)
    assert capsys.readouterr().err.splitlines() == [
        "warning: Raking did not converge in 10 passes; keeping the last weights.",
        "warning: Finite population correction dropped in conversion (as R).",
    ]
    assert caught == []
