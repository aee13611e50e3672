"""`carepop weight` and the weighting options of `carepop estimate` (R numbers as in
tests/test_golden_weighting.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepop.cli import app
from tests.golden import DATA, close

runner = CliRunner()
SRS = str(DATA / "apisrs.csv")


@pytest.fixture()
def margins(tmp_path):
    stype = tmp_path / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(stype, index=False)
    sw = tmp_path / "sw.csv"
    pd.DataFrame({"value": ["No", "Yes"], "total": [1072, 5122]}).to_csv(sw, index=False)
    return str(stype), str(sw)


def test_estimate_after_raking(margins):
    """R: svymean(~api00, rake(d, list(~stype, ~sch.wide), list(ps, sw)))
    # 657.79167086714, 8.82570298747068"""
    stype, sw = margins
    res = runner.invoke(
        app,
        [
            "estimate",
            SRS,
            "--weight",
            "pw",
            "--fpc",
            "fpc",
            "--rake",
            f"stype={stype}",
            "--rake",
            f"sch.wide={sw}",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)[0]
    close([rec["estimate"], rec["se"]], [657.79167086714, 8.82570298747068])


def test_estimate_after_logit_calibration(margins):
    """R: svymean(~api00, calibrate(d, ~stype + api99, pop, calfun = "logit", bounds = c(0.7, 1.7)))
    # 663.515186659207, 1.85362422944891"""
    stype, _ = margins
    res = runner.invoke(
        app,
        [
            "estimate",
            SRS,
            "--weight",
            "pw",
            "--fpc",
            "fpc",
            "--calibrate-cat",
            f"stype={stype}",
            "--calibrate-num",
            "api99=3914069",
            "--calfun",
            "logit",
            "--bounds",
            "0.7,1.7",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)[0]
    close([rec["estimate"], rec["se"]], [663.515186659207, 1.85362422944891])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".sav"])
def test_weight_writes_the_new_weight(margins, tmp_path, suffix):
    stype, _ = margins
    out = tmp_path / f"weighted{suffix}"
    res = runner.invoke(
        app,
        [
            "weight",
            SRS,
            "--weight",
            "pw",
            "--fpc",
            "fpc",
            "--poststratify",
            f"stype={stype}",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    from carepop.io import read_data

    frame = read_data(out)
    totals = frame.groupby("stype")["weight_final"].sum()
    close(totals.to_numpy(), [4421, 755, 1018])
    assert len(frame) == 200 and "pw" in frame.columns


def test_weight_errors_write_nothing(margins, tmp_path):
    _, sw = margins
    out = tmp_path / "never.csv"
    res = runner.invoke(app, ["weight", SRS, "--weight", "pw", "--rake", f"stype={sw}", "--out", str(out)])
    assert res.exit_code == 2 and "no population total" in res.stderr
    assert not out.exists()
    res = runner.invoke(app, ["weight", SRS, "--weight", "pw", "--out", str(out)])
    assert res.exit_code == 2 and "No weighting step" in res.stderr
    res = runner.invoke(app, ["weight", SRS, "--weight", "pw", "--rake", "stype", "--out", str(out)])
    assert res.exit_code == 2 and "VAR=FILE" in res.stderr
    assert not out.exists()


def test_replicates_then_nonresponse_then_estimate(tmp_path):
    """Replicates are made from the design first, so the non-response adjustment is redone in
    every replicate; the written file then estimates as a replicate design."""
    d = pd.read_csv(DATA / "apistrat.csv")
    d["resp"] = (d.index % 4 != 0).astype(int)
    src = tmp_path / "nr.csv"
    d.to_csv(src, index=False)
    out = tmp_path / "weighted.csv"
    res = runner.invoke(
        app,
        [
            "weight",
            str(src),
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--nonresponse-classes",
            "stype",
            "--respondent",
            "resp",
            "--replicates",
            "jkn",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert (frame.loc[frame["resp"] == 0, "weight_final"] == 0).all()
    close(frame.groupby("stype")["weight_final"].sum().to_numpy(), d.groupby("stype")["pw"].sum().to_numpy())
    reps = [c for c in frame.columns if c.startswith("repw_")]
    assert len(reps) == 200
    # each replicate is adjusted too: its respondents carry the replicate's class totals
    for c in reps[:3]:
        assert (frame.loc[frame["resp"] == 0, c] == 0).all()
    res = runner.invoke(
        app,
        [
            "estimate",
            str(out),
            "--weight",
            "weight_final",
            "--repweights",
            "repw_",
            "--rep-method",
            "jkn",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["se"] > 0
