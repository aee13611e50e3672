"""The ``carepop estimate`` contract: options, JSON/CSV columns, errors with non-zero exit and no
traceback, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop import Survey
from carepop.cli import app

DATA = Path(__file__).parents[1] / "data"
STRAT = str(DATA / "apistrat.csv")
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def as_json(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_records_have_the_documented_keys():
    recs = as_json(
        run(
            "estimate",
            STRAT,
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--fpc",
            "fpc",
            "--mean",
            "api00",
            "--by",
            "stype",
            "--format",
            "json",
        )
    )
    assert len(recs) == 3
    assert list(recs[0]) == [
        "statistic",
        "variable",
        "level",
        "stype",
        "estimate",
        "se",
        "ci_lower",
        "ci_upper",
        "df",
        "deff",
        "n",
    ]
    assert [r["stype"] for r in recs] == ["E", "H", "M"]
    lib = Survey(pd.read_csv(STRAT), weight="pw", strata="stype", fpc="fpc").mean("api00", by="stype")
    np.testing.assert_allclose([r["se"] for r in recs], lib.se, rtol=1e-15)
    assert recs[0]["deff"] is None  # not asked for: null, never NaN in JSON


def test_every_estimator_from_the_command_line():
    base = ["estimate", STRAT, "--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--format", "json"]
    total = as_json(run(*base, "--total", "enroll"))[0]
    assert total["statistic"] == "total"
    prop = as_json(run(*base, "--proportion", "sch.wide", "--ci", "beta", "--deff"))
    assert [p["level"] for p in prop] == ["No", "Yes"] and prop[0]["deff"] is not None
    ratio = as_json(run(*base, "--ratio", "api00:api99", "--ci", "t"))[0]
    assert ratio["variable"] == "api00/api99" and ratio["df"] == 197
    q = as_json(run(*base, "--quantile", "api00:0.5", "--by", "stype,awards"))
    assert {"stype", "awards"} <= set(q[0]) and len(q) == 6


def test_two_stage_and_replicate_designs(tmp_path):
    recs = as_json(
        run(
            "estimate",
            str(DATA / "apiclus2.csv"),
            "--psu",
            "dnum",
            "--ssu",
            "snum",
            "--fpc",
            "fpc1",
            "--fpc2",
            "fpc2",
            "--mean",
            "api00",
            "--format",
            "json",
        )
    )
    assert recs[0]["se"] == pytest.approx(30.09903, rel=1e-6)
    df = pd.read_csv(DATA / "apiclus1.csv")
    rng = np.random.default_rng(1)
    for j in range(10):
        df[f"bw{j}"] = df["pw"] * rng.poisson(1.0, len(df))
    path = tmp_path / "boot.csv"
    df.to_csv(path, index=False)
    recs = as_json(
        run(
            "estimate",
            str(path),
            "--weight",
            "pw",
            "--repweights",
            "bw",
            "--rep-method",
            "bootstrap",
            "--mean",
            "api00",
            "--format",
            "json",
        )
    )
    lib = Survey.replicate(df, "bw", "bootstrap", weight="pw").mean("api00")
    assert recs[0]["se"] == pytest.approx(lib.se[0], rel=1e-12)


def test_csv_output_written_atomically(tmp_path):
    out = tmp_path / "sub" / "est.csv"
    res = run("estimate", STRAT, "--weight", "pw", "--strata", "stype", "--mean", "api00", "--out", str(out))
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert frame.loc[0, "estimate"] == pytest.approx(662.2874, rel=1e-6)
    assert [p.name for p in out.parent.iterdir()] == ["est.csv"]  # no temporary files left


def test_table_output_for_people():
    res = run("estimate", STRAT, "--weight", "pw", "--strata", "stype", "--mean", "api00", "--by", "stype")
    assert res.exit_code == 0
    assert "mean of api00" in res.stdout and "662" not in res.stdout and "674.43" in res.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--weight", "pww", "--mean", "api00"], "did you mean 'pw'"),
        (["--weight", "pw", "--mean", "stype"], "not numeric"),
        (["--weight", "pw", "--strata", "stype", "--psu", "dnum", "--mean", "api00"], "--nest"),
        (["--weight", "pw", "--mean", "api00", "--total", "enroll"], "exactly one"),
        (
            [
                "--weight",
                "pw",
                "--ratio",
                "api00",
            ],
            "NUM:DEN",
        ),
        (["--weight", "pw", "--mean", "api00", "--ci", "logit"], "for proportions"),
        (["--weight", "pw", "--mean", "acs.k3"], "--na-rm"),
        (["--weight", "pw", "--repweights", "pw", "--mean", "api00"], "--rep-method"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(args, needle, tmp_path):
    out = tmp_path / "never.json"
    res = run("estimate", STRAT, *args, "--out", str(out))
    assert res.exit_code == 2
    assert needle in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert not out.exists()


def test_missing_file_is_a_clear_error():
    res = run("estimate", str(DATA / "nope.csv"), "--weight", "pw", "--mean", "api00")
    assert res.exit_code == 2 and "nope.csv" in res.stderr


def test_console_script_runs():
    """The installed entry point, as a user runs it."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "carepop.cli",
            "estimate",
            STRAT,
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--fpc",
            "fpc",
            "--mean",
            "api00",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("statistic,variable,level,estimate,se")
