"""`carepop design size|allocate|select`: the contract other tools rely on."""

from __future__ import annotations

import json

import numpy as np
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


def _run(*args):
    return runner.invoke(app, ["design", *map(str, args)])


def test_design_allocate_budget_and_cv_target(tmp_path):
    """Valliant, Dever & Kreuter (2018) ch. 3 hospital strata (PracTools strAlloc examples): a budget of
    100,000 and a CV target of 0.05 at mean 11,664,181, as in tests/test_design_size.py."""
    frame = tmp_path / "strata.csv"
    pd.DataFrame(
        {
            "stratum": list("ABCDEF"),
            "N": [215, 65, 252, 50, 149, 144],
            "S": [26787207, 10645109, 6909676, 11085034, 9817762, 44553355],
            "c": [1400, 200, 300, 600, 450, 1000],
        }
    ).to_csv(frame, index=False)
    common = [frame, "--strata", "stratum", "--size", "N", "--sd", "S", "--cost", "c", "--method", "optimal"]
    res = _run("allocate", *common, "--budget", 100000)
    assert res.exit_code == 0, res.output
    from io import StringIO

    table = pd.read_csv(StringIO(res.stdout))
    assert table["n_h_exact"].round(6).tolist() == [
        30.605403,
        9.728474,
        19.989127,
        4.499121,
        13.711619,
        40.340301,
    ]
    assert (table["n_h"] * [1400, 200, 300, 600, 450, 1000]).sum() <= 100000
    res = _run("allocate", *common, "--target-cv", 0.05, "--mean", 11664181)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(StringIO(res.stdout))
    assert table["n_h_exact"].round(3).tolist() == [104.549, 33.233, 68.284, 15.369, 46.839, 137.804]
    assert _run("allocate", *common, "--target-cv", 0.05).exit_code == 2  # no --mean
    assert _run("allocate", *common, "--n", 10, "--budget", 5).exit_code == 2


def _frame(tmp_path, n_la=4, per_la=300):
    rng = np.random.default_rng(3)
    la = np.repeat([f"E0{i}" for i in range(n_la)], per_la)
    msoa = np.array([f"{a}-{k // 30:02d}" for a, k in zip(la, np.tile(np.arange(per_la), n_la), strict=True)])
    df = pd.DataFrame(
        {"unit": np.arange(la.size), "la": la, "msoa": msoa, "age": rng.integers(18, 90, la.size)}
    )
    df["households"] = df.groupby("msoa")["unit"].transform("size") * 2
    path = tmp_path / "frame.csv"
    df.to_csv(path, index=False)
    return df, path


def test_design_select_with_allocation_file_from_allocate(tmp_path):
    df, frame = _frame(tmp_path)
    strata = tmp_path / "strata.csv"
    df.groupby("la").size().rename("N").reset_index().to_csv(strata, index=False)
    alloc = tmp_path / "alloc.csv"
    res = _run(
        "allocate", strata, "--strata", "la", "--size", "N", "--n", 40, "--method", "equal", "--out", alloc
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "s.csv"
    res = _run("select", frame, "--strata", "la", "--allocation", alloc, "--seed", 1, "--out", out)
    assert res.exit_code == 0, res.output
    sample = pd.read_csv(out)
    assert sample.groupby("la").size().tolist() == [10, 10, 10, 10]
    assert sample["design_weight"].round(9).eq(30).all()  # 300 units, 10 drawn in each LA
    assert _run("select", frame, "--allocation", alloc).exit_code == 2  # needs --strata
    assert _run("select", frame, "--strata", "la", "--allocation", alloc, "--n", 5).exit_code == 2


def test_design_select_systematic_sorted_is_implicitly_stratified(tmp_path):
    df, frame = _frame(tmp_path, n_la=1, per_la=600)
    res = _run("select", frame, "--n", 60, "--method", "systematic", "--sort", "age", "--seed", 5)
    assert res.exit_code == 0, res.output
    from io import StringIO

    sample = pd.read_csv(StringIO(res.stdout))
    # every 10th unit in age order: each tenth of the sorted frame gives exactly 6 units
    ranks = (
        df.sort_values("age", kind="stable").reset_index(drop=True).reset_index().set_index("unit")["index"]
    )
    decile = ranks.loc[sample["unit"]].to_numpy() // 60
    assert np.bincount(decile, minlength=10).tolist() == [6] * 10
    assert _run("select", frame, "--n", 60, "--method", "systematic", "--sort", "nope").exit_code == 2


def test_design_select_two_stage(tmp_path):
    df, frame = _frame(tmp_path)
    out = tmp_path / "two.parquet"
    res = _run(
        "select", frame, "--strata", "la", "--psu", "msoa", "--n", 8, "--per-psu", 5,
        "--size", "households", "--seed", 11, "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    sample = pd.read_parquet(out)
    assert sample["msoa"].nunique() == 8 and sample.groupby("msoa").size().eq(5).all()
    assert sample.groupby("la")["msoa"].nunique().eq(2).all()  # 8 PSUs over 4 equal LAs
    # each LA has 10 MSOAs of 30 units and equal size: pi = 2/10 * 5/30, weight 30
    assert np.allclose(sample["design_weight"], 30.0)
    assert _run("select", frame, "--psu", "msoa", "--n", 8).exit_code == 2  # no --per-psu
    assert (
        _run("select", frame, "--psu", "msoa", "--n", 8, "--per-psu", 5, "--method", "pps_wor").exit_code == 2
    )
    assert not (tmp_path / "bad.csv").exists()


def test_select_without_a_seed_prints_the_seed_it_drew(tmp_path):
    import re

    frame = tmp_path / "frame.csv"
    pd.DataFrame({"unit": range(1, 101)}).to_csv(frame, index=False)
    res = runner.invoke(app, ["design", "select", str(frame), "--n", "10"])
    assert res.exit_code == 0, res.output
    seed = re.search(r"--seed (\d+)", res.stderr).group(1)
    again = runner.invoke(app, ["design", "select", str(frame), "--n", "10", "--seed", seed])
    assert again.stdout == res.stdout and "random seed" not in again.stderr
