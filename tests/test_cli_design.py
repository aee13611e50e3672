"""`carepop design size|allocate|select`: the contract other tools rely on."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from carepop.cli import app

runner = CliRunner()


def test_design_size_carers_survey_guidance_example():
    """Survey of Adult Carers in England guidance: 1,000 eligible carers, 95% level, ±5 points,
    40% response -> 278 returns, about 695 questionnaires issued."""
    res = runner.invoke(
        app,
        [
            "design",
            "size",
            "--proportion",
            "0.5",
            "--moe",
            "0.05",
            "--population",
            "1000",
            "--response-rate",
            "0.4",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["respondents"] == 278 and out["issued"] == 695


def test_design_size_bad_input():
    res = runner.invoke(app, ["design", "size", "--proportion", "1.5", "--moe", "0.05"])
    assert res.exit_code == 2 and "error:" in res.stderr


def test_design_allocate(tmp_path):
    frame = tmp_path / "strata.csv"
    pd.DataFrame({"la": ["A", "B", "C"], "N": [1000, 2000, 3000], "sd": [10, 20, 5]}).to_csv(
        frame, index=False
    )
    res = runner.invoke(
        app,
        [
            "design",
            "allocate",
            str(frame),
            "--strata",
            "la",
            "--size",
            "N",
            "--n",
            "130",
            "--method",
            "neyman",
            "--sd",
            "sd",
        ],
    )
    assert res.exit_code == 0, res.output
    from io import StringIO

    table = pd.read_csv(StringIO(res.stdout))
    assert list(table["n_h"]) == [20, 80, 30]  # Neyman: n_h ∝ N_h S_h = 10k : 40k : 15k


def test_design_select_keeps_frame_columns_and_adds_probabilities(tmp_path):
    frame = tmp_path / "frame.csv"
    pd.DataFrame({"unit": range(1, 101), "la": ["A"] * 50 + ["B"] * 50, "beds": range(1, 101)}).to_csv(
        frame, index=False
    )
    out = tmp_path / "sample.csv"
    res = runner.invoke(
        app,
        [
            "design",
            "select",
            str(frame),
            "--n",
            "10",
            "--method",
            "pps_systematic",
            "--size",
            "beds",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    sample = pd.read_csv(out)
    assert len(sample) == 10 and {"unit", "la", "beds", "inclusion_probability", "design_weight"} <= set(
        sample
    )
    assert (sample["design_weight"] * sample["inclusion_probability"]).round(12).eq(1).all()
    again = runner.invoke(
        app,
        [
            "design",
            "select",
            str(frame),
            "--n",
            "10",
            "--method",
            "pps_systematic",
            "--size",
            "beds",
            "--seed",
            "7",
        ],
    )
    assert list(pd.read_csv(__import__("io").StringIO(again.stdout))["unit"]) == list(sample["unit"])
    res = runner.invoke(app, ["design", "select", str(frame), "--n", "500", "--method", "srs"])
    assert res.exit_code == 2 and "error:" in res.stderr
