"""``carepop measure unmet-need`` end to end on a synthetic survey of the 153 councils simulated
from the self-funders / needs instrument (written as CSV, read back with its design options)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.conftest import assert_refused, invoke, read_back, snapshot
from tests.measures.test_unmet_need import simulated_survey_frame


@pytest.fixture(scope="module")
def survey_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("need") / "survey.csv"
    simulated_survey_frame(n=3000, seed=9).to_csv(path, index=False)
    return path


DESIGN = ["--weight", "w", "--strata", "council_code", "--fpc", "N"]


def test_unmet_need_json_with_signals(survey_file, tmp_path):
    signals = tmp_path / "signals.csv"
    pd.DataFrame({"council_code": ["E06000001", "E10000003"], "requests_no_service": [12, 40]}).to_csv(
        signals, index=False
    )
    before = snapshot(survey_file, signals)
    res = invoke(
        "measure",
        "unmet-need",
        survey_file,
        *DESIGN,
        "--definition",
        "ageuk65",
        "--variant",
        "no_help",
        "--boot",
        "20",
        "--model-seed",
        "1",
        "--signals",
        signals,
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout))
    assert len(rows) == 163 and (rows["area_level"] == "council").sum() == 153
    assert set(rows["variant"]) == {"no_help"} and set(rows["definition"]) == {"ageuk65"}
    assert rows.loc[rows["area_code"] == "E10000003", "requests_no_service"].item() == 40
    assert {"count", "count_lower", "count_upper", "direct", "synthetic", "synthetic_count_se"} <= set(rows)
    assert "note: definition ageuk65" in res.stderr
    assert snapshot(survey_file, signals) == before


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_out_file_is_its_format(survey_file, tmp_path, suffix):
    out = tmp_path / f"need{suffix}"
    res = invoke(
        "measure",
        "unmet-need",
        survey_file,
        *DESIGN,
        "--model",
        "synthetic",
        "--age-bands",
        "65-79,80+",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    t = read_back(out)
    assert len(t) == 2 * 163 and set(t["method"]) == {"synthetic", "post-stratified direct"}


def test_refusals(survey_file, tmp_path):
    before = snapshot(survey_file)
    out = tmp_path / "x.csv"
    base = ["measure", "unmet-need", survey_file, *DESIGN, "--model", "synthetic", "--out", out]
    assert_refused(invoke(*base, "--council", "la"), "--council", unchanged=before, absent=[out])
    assert_refused(invoke(*base, "--age-bands", "50-64,65+"), "--age-bands", unchanged=before, absent=[out])
    assert_refused(invoke(*base, "--age-bands", "old"), "--age-bands", unchanged=before, absent=[out])
    assert_refused(invoke(*base, "--definition", "oecd"), "--definition", unchanged=before, absent=[out])
    assert_refused(invoke(*base, "--sex", "age"), "sex", unchanged=before, absent=[out])
