"""``carepop measure carers`` and ``carepop measure hidden-carers`` end to end on a synthetic carers
survey of the 153 councils (written as CSV, read back with its design options)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carepop.sources.tables import load_table
from tests.cli.conftest import assert_refused, invoke, snapshot


@pytest.fixture(scope="module")
def survey_file(tmp_path_factory):
    t = load_table("council", None)
    rng = np.random.default_rng(8)
    N = t["residents_5plus"].to_numpy()
    theta = 2 * t["carer_rate"].to_numpy()
    n_i = np.maximum(np.floor(12_000 * N / N.sum() + rng.random(len(N))).astype(int), 2)
    idx = np.repeat(np.arange(len(N)), n_i)
    df = pd.DataFrame(
        {
            "council_code": t["council_code"].to_numpy()[idx],
            "carer": np.where(rng.random(len(idx)) < theta[idx], "yes", "no"),
            "w": (N / n_i)[idx],
            "N": N[idx],
        }
    )
    path = tmp_path_factory.mktemp("measure") / "survey.csv"
    df.to_csv(path, index=False)
    return path


DESIGN = ["--weight", "w", "--strata", "council_code", "--fpc", "N"]


def test_carers_by_council(survey_file):
    res = invoke(
        "measure",
        "carers",
        survey_file,
        *DESIGN,
        "--carer",
        "carer",
        "--category",
        "yes",
        "--boot",
        "20",
        "--seed",
        "1",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout))
    assert (rows["area_level"] == "council").sum() == 153 and len(rows) == 163
    assert {"carers", "carers_lower", "carers_upper", "census_carers", "ratio", "ratio_lower"} <= set(rows)


def test_hidden_carers_default_and_own_register(survey_file, tmp_path):
    out = tmp_path / "hidden.csv"
    res = invoke(
        "measure",
        "hidden-carers",
        survey_file,
        *DESIGN,
        "--carer",
        "carer",
        "--category",
        "yes",
        "--boot",
        "20",
        "--seed",
        "1",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    h = pd.read_csv(out)
    assert h["known_source"].str.contains("GP").all() and (h["hidden_lower"] >= 0).all()
    reg = tmp_path / "register.csv"
    pd.DataFrame({"code": h["area_code"], "people": 100}).to_csv(reg, index=False)
    res = invoke(
        "measure",
        "hidden-carers",
        survey_file,
        *DESIGN,
        "--carer",
        "carer",
        "--category",
        "yes",
        "--boot",
        "20",
        "--known",
        reg,
        "--known-count",
        "people",
        "--known-area",
        "code",
        "--source",
        "carers' centre",
        "--format",
        "csv",
    )
    assert res.exit_code == 0, res.output
    assert "carers' centre" in res.stdout


def test_refusals(survey_file, tmp_path):
    before = snapshot(survey_file)
    out = tmp_path / "x.csv"
    assert_refused(
        invoke(
            "measure", "carers", survey_file, *DESIGN, "--carer", "carer", "--council", "la", "--out", out
        ),
        "--council",
        unchanged=before,
        absent=[out],
    )
    assert_refused(
        invoke("measure", "carers", survey_file, *DESIGN, "--carer", "carer", "--category", "maybe"),
        "--category",
    )
    reg = tmp_path / "register.csv"
    pd.DataFrame({"area_code": ["E06000001"], "n": [3]}).to_csv(reg, index=False)
    assert_refused(
        invoke(
            "measure",
            "hidden-carers",
            survey_file,
            *DESIGN,
            "--carer",
            "carer",
            "--category",
            "yes",
            "--known",
            reg,
        ),
        "--known-count",
    )


def test_carers_by_hours_band(tmp_path, survey_file):
    """--hours: one estimate per census hours band, beside the band's census count."""
    df = pd.read_csv(survey_file)
    rng = np.random.default_rng(2)
    df["band"] = np.where(df["carer"] == "yes", rng.integers(1, 6, len(df)), np.nan)
    path = tmp_path / "hours.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "bands.csv"
    res = invoke("measure", "carers", path, *DESIGN, "--hours", "band", "--boot", "10", "--out", out)
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(out)
    assert rows["hours_band"].nunique() == 5 and len(rows) == 5 * 163
    council = load_table("council", None).set_index("council_code")
    fifty = rows[(rows["hours_band"] == "50 or more hours a week") & (rows["area_level"] == "council")]
    np.testing.assert_array_equal(fifty["census_carers"], council.loc[fifty["area_code"], "h50_plus"])


def test_carers_needs_carer_or_hours(survey_file):
    res = invoke("measure", "carers", survey_file, *DESIGN)
    assert res.exit_code != 0
    assert "--carer COL" in res.output and "--hours COL" in res.output


def test_hidden_carers_known_from_cld(tmp_path, survey_file):
    """--known-cld: the carers the councils support (CLD signals), summed to regions and England."""
    from carepop.sources.cld.generate import generate
    from carepop.sources.cld.signals import signals

    events = tmp_path / "cld.parquet"
    generate(events, rows=3000, seed=4, release="r2")
    supported = signals(events).set_index("council_code")["carers_supported"]
    res = invoke(
        "measure",
        "hidden-carers",
        survey_file,
        *DESIGN,
        "--carer",
        "carer",
        "--category",
        "yes",
        "--boot",
        "10",
        "--known-cld",
        events,
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout)).set_index("area_code")
    councils = rows[rows["area_level"] == "council"]
    np.testing.assert_array_equal(councils["known"], supported.reindex(councils.index).fillna(0))
    assert rows.loc["E92000001", "known"] == supported.sum()
    assert rows["known_source"].str.contains("client-level data").all()
    both = invoke(
        "measure",
        "hidden-carers",
        survey_file,
        *DESIGN,
        "--carer",
        "carer",
        "--known-cld",
        events,
        "--known",
        events,
    )
    assert both.exit_code == 2 and "not both" in both.output
