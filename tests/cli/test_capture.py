"""``carepop capture estimate``: Rcapture's HIV table and Seber's two-list example, every output
format, and refusals (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import assert_refused, invoke, read_back

HIV = Path(__file__).resolve().parents[1] / "capture" / "fixtures" / "hiv.csv"
ARGS = ["capture", "estimate", HIV, "--lists", "c1,c2,c3,c4", "--count", "freq"]
COLUMNS = ["observed", "hidden", "estimate", "se", "ci_lower", "ci_upper", "model", "aic", "bic"]


@pytest.fixture
def seber(tmp_path):
    path = tmp_path / "two.csv"
    pd.DataFrame({"A": [1, 1, 0], "B": [1, 0, 1], "n": [167, 781, 254]}).to_csv(path, index=False)
    return path


def test_default_is_loglinear_for_four_lists():
    res = invoke(*ARGS, "--format", "json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)[0]
    assert list(rec)[:9] == COLUMNS
    assert rec["model"] == "c1+c2+c3+c4"
    assert rec["estimate"] == pytest.approx(11124.5784691849, rel=1e-8)  # = Rcapture's Mt
    assert rec["ci_lower"] < rec["estimate"] < rec["ci_upper"]
    assert "warning:" in res.stderr  # sparse cells


@pytest.mark.parametrize(
    "method, estimate", [("m0", 11576.70), ("mt", 11124.58), ("mh", 12145.15), ("mth", 11700.99)]
)
def test_rcapture_models(method, estimate):
    res = invoke(*ARGS, "--method", method, "--format", "json")
    assert res.exit_code == 0, res.output
    assert round(json.loads(res.stdout)[0]["estimate"], 2) == estimate


def test_interactions_and_select():
    res = invoke(*ARGS, "--interactions", "c1:c2", "--interval", "log", "--format", "json")
    assert json.loads(res.stdout)[0]["estimate"] == pytest.approx(12318.4676767856, rel=1e-8)
    res = invoke(*ARGS, "--select", "aic", "--interval", "log", "--format", "json")
    assert json.loads(res.stdout)[0]["model"] == "c1+c2+c3+c4+c1:c2"


def test_two_lists_default_chapman(seber):
    res = invoke("capture", "estimate", seber, "--lists", "A,B", "--count", "n", "--format", "csv")
    assert res.exit_code == 0, res.output
    from io import StringIO

    frame = pd.read_csv(StringIO(res.stdout))
    assert list(frame.columns) == COLUMNS and frame["model"][0] == "Chapman"
    assert round(frame["estimate"][0], 2) == 2382.80
    res = invoke(
        "capture", "estimate", seber, "--lists", "A,B", "--count", "n", "--method", "lincoln-petersen"
    )
    assert res.exit_code == 0 and "2,389.8683" in res.stdout


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet", ".xlsx"])
def test_out(tmp_path, suffix):
    out = tmp_path / f"est{suffix}"
    res = invoke(*ARGS, "--method", "mt", "--out", out)
    assert res.exit_code == 0, res.output
    frame = read_back(out)
    shown = json.loads(invoke(*ARGS, "--method", "mt", "--format", "json").stdout)[0]
    assert frame["estimate"][0] == pytest.approx(shown["estimate"], rel=1e-15)
    assert shown["estimate"] == pytest.approx(11124.5784692241, rel=1e-12)  # R glm, epsilon 1e-14


def test_bad_pattern_refused(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"A": [1, 2], "B": [1, 0], "n": [3, 4]}).to_csv(path, index=False)
    out = tmp_path / "r.csv"
    res = invoke("capture", "estimate", path, "--lists", "A,B", "--count", "n", "--out", out)
    assert_refused(res, "'A'", "rows: 2", absent=[out])


def test_interactions_with_two_list_method_refused(seber):
    res = invoke("capture", "estimate", seber, "--lists", "A,B", "--count", "n", "--interactions", "A:B")
    assert_refused(res, "--method loglinear")


def test_unknown_method_refused():
    res = invoke(*ARGS, "--method", "mb")
    assert res.exit_code == 2
