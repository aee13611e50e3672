"""``carepop project``: rates × population projections from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.measures.projection import project
from carepop.sources.projections import SNPP_GROUPS, load_snpp
from tests.cli.conftest import assert_refused, invoke, snapshot

RATES = pd.DataFrame(
    {"age_group": ["65-74", "75-84", "85+"], "estimate": [0.05, 0.15, 0.4], "se": [0.005, 0.01, 0.03]}
)


@pytest.fixture
def rates(tmp_path) -> Path:
    path = tmp_path / "rates.csv"
    RATES.to_csv(path, index=False)
    return path


def bulk_from_bundled(path: Path, drop: str | None = None) -> Path:
    """The bundled 2018-based SNPP written in the layout of ONS's bulk CSV (single years: each
    5-year group split evenly; 90+ as '90 and over'; years 2022 ... 2043), for --projections."""
    s = load_snpp().query("year >= 2022")
    if drop:
        s = s[s["area_code"] != drop]
    wide = s.pivot_table(index=["area_code", "area_name", "age_group"], columns="year", values="population")
    wide = wide.reset_index()
    lo = wide["age_group"].str.extract(r"^(\d+)")[0].astype(int)
    is_top = wide["age_group"] == "90+"
    parts = []
    for k in range(5):  # five single years per group (90+ once)
        part = wide[~is_top].copy()
        part["AGE_GROUP"] = (lo[~is_top] + k).astype(str)
        part[wide.columns[3:]] = part[wide.columns[3:]] / 5
        parts.append(part)
    parts.append(wide[is_top].assign(AGE_GROUP="90 and over"))
    out = pd.concat(parts).rename(columns={"area_code": "AREA_CODE", "area_name": "AREA_NAME"})
    out = out.assign(COMPONENT="Population", SEX="persons").drop(columns="age_group")
    out.columns = [str(c) for c in out.columns]
    years = [str(y) for y in range(2022, 2044)]
    out = out[["AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP", *years]]
    out.to_csv(path, index=False)
    return path


def test_prints_json_with_the_library_numbers(rates):
    res = invoke("project", rates, "--to", "2030", "--format", "json")
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout))
    expected = project(RATES, to=2030).to_pandas()
    shown = ("area_code", "area_name", "year", "count", "ci_lower", "ci_upper", "variant_low", "variant_high")
    assert set(shown) <= set(got.columns)
    assert np.allclose(got["count"], expected["count"], rtol=1e-15)
    assert np.allclose(got["ci_upper"], expected["ci_upper"], rtol=1e-15)
    assert "note: population: Census 2021" in res.stderr


def test_table_and_csv(rates):
    res = invoke("project", rates, "--to", "2022")
    assert res.exit_code == 0 and "Hartlepool" in res.stdout and "variant_high" in res.stdout
    res = invoke("project", rates, "--to", "2022", "--format", "csv")
    frame = pd.read_csv(pd.io.common.StringIO(res.stdout))
    assert len(frame) == (153 + 9 + 1) * 2


def test_interval_columns_bootstrap_and_out(tmp_path):
    z = 1.959963984540054
    src = RATES.assign(lo=RATES["estimate"] - z * RATES["se"], hi=RATES["estimate"] + z * RATES["se"])
    path = tmp_path / "rates.xlsx"
    src = src.drop(columns="se").rename(columns={"estimate": "prev", "age_group": "band"})
    src.to_excel(path, index=False)
    out = tmp_path / "p.parquet"
    cols = ["--rate", "prev", "--age", "band", "--ci-lower", "lo", "--ci-upper", "hi", "--to", "2025"]
    res = invoke("project", path, *cols, "--out", out)
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out)
    assert np.allclose(got["se"], project(RATES, to=2025).to_pandas()["se"], rtol=1e-12)
    boot = ["--method", "bootstrap", "--boot", "300", "--seed", "5"]
    res = invoke("project", path, *cols, *boot, "--format", "json")
    assert res.exit_code == 0, res.output
    assert "seed 5" in res.stderr


def test_council_rates_with_ages(tmp_path):
    path = tmp_path / "council.csv"
    pd.DataFrame({"la": ["E06000001", "E08000001"], "estimate": [0.2, 0.25], "se": [0.02, 0.03]}).to_csv(path)
    res = invoke("project", path, "--area", "la", "--ages", "65+", "--to", "2024", "--format", "json")
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout))
    assert set(got["area_code"]) == {"E06000001", "E08000001"}
    assert "2 of the 153 councils" in res.stderr


def test_projections_file_reproduces_the_bundled_growth(rates, tmp_path):
    """A bulk file holding the bundled SNPP split into single years gives the same projection
    (the groups are summed back), with --base 2022 since the file starts in 2022."""
    bulk = bulk_from_bundled(tmp_path / "snpp.csv")
    args = ["--projections", bulk, "--base", "2022", "--to", "2030", "--format", "json"]
    res = invoke("project", rates, *args)
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout))
    expected = project(RATES, base=2022, to=2030).to_pandas()
    assert np.allclose(got["count"], expected["count"], rtol=1e-9)
    assert np.allclose(got["count_2020_based"], expected["count_2020_based"], rtol=1e-9)
    assert len(SNPP_GROUPS) == 19


def test_projections_file_errors(rates, tmp_path):
    bulk = bulk_from_bundled(tmp_path / "snpp.csv", drop="E06000001")
    before = snapshot(rates, bulk)
    res = invoke("project", rates, "--projections", bulk, "--base", "2022")
    assert_refused(res, "E06000001", "--projections", unchanged=before)
    full = bulk_from_bundled(tmp_path / "full.csv")
    res = invoke("project", rates, "--projections", full)  # the file starts in 2022
    assert_refused(res, "no year 2021", "--base YEAR")
    bad = tmp_path / "bad.csv"
    pd.read_csv(bulk).drop(columns="SEX").to_csv(bad, index=False)
    assert_refused(invoke("project", rates, "--projections", bad), "no column 'SEX'")


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--to", "2050"], ["no year 2050", "--to YEAR"]),
        (["--se", "nope"], ["no column 'nope'", "--se COL"]),
        (["--rate", "x"], ["no column 'x'", "--rate COL"]),
        (["--age", "band"], ["no age column", "--age COL", "--ages"]),
        (["--method", "mcmc"], ["mcmc"]),
        (["--level", "95"], ["between 0 and 1", "--level"]),
    ],
)
def test_refused(rates, tmp_path, args, needles):
    out = tmp_path / "o.csv"
    res = invoke("project", rates, *args, "--out", out)
    assert_refused(res, *needles, unchanged=snapshot(rates), absent=[out])


def test_unknown_council_names_rows_and_flag(tmp_path):
    path = tmp_path / "r.csv"
    frame = pd.DataFrame({"area_code": ["E06000001", "E07000026"], "estimate": [0.1, 0.2], "se": [0.01] * 2})
    frame.to_csv(path, index=False)
    res = invoke("project", path, "--ages", "65+")
    assert_refused(res, "rows: 2", "E07000026", "--area COL")
