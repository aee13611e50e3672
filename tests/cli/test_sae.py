"""``carepop sae fh``: the milk model from a CSV of direct estimates, every output format, the
bundled area table as covariates, and refusals (exit 2, areas named, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import assert_refused, invoke, read_back, snapshot

MILK = Path(__file__).resolve().parents[1] / "sae" / "fixtures" / "milk" / "milk.csv"
ARGS = [
    "sae",
    "fh",
    MILK,
    "--area",
    "SmallArea",
    "--direct",
    "yi",
    "--se",
    "SD",
    "--categorical",
    "MajorArea",
]


def test_json_carries_areas_and_fit():
    res = invoke(*ARGS, "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["areas"]) == 43
    assert out["areas"][0]["estimate"] == pytest.approx(1.0219703, abs=5e-8)
    assert out["areas"][0]["mse"] == pytest.approx(0.01346022, abs=5e-9)
    fit = out["fit"]
    assert fit["sigma2_v"] == pytest.approx(0.0185502, abs=5e-8)
    assert [c["term"] for c in fit["coefficients"]] == [
        "(Intercept)",
        "MajorArea[2]",
        "MajorArea[3]",
        "MajorArea[4]",
    ]
    assert {"loglik", "aic", "bic", "iterations", "converged"} <= set(fit)
    assert out["mse_method"].startswith("analytic")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".json"])
def test_out_in_every_format(tmp_path, suffix):
    out = tmp_path / f"fh{suffix}"
    res = invoke(*ARGS, "--method", "ml", "--out", out)
    assert res.exit_code == 0, res.output
    if suffix == ".json":
        areas = pd.DataFrame(json.loads(out.read_text())["areas"])
    else:
        areas = read_back(out)
    assert len(areas) == 43
    assert list(areas.columns)[1:] == [
        "direct",
        "direct_se",
        "estimate",
        "mse",
        "rmse",
        "ci_lower",
        "ci_upper",
        "gamma",
        "in_sample",
    ]


def test_table_output_shows_the_fit():
    res = invoke(*ARGS)
    assert res.exit_code == 0, res.output
    assert "sigma2_v" in res.stdout and "MajorArea[4]" in res.stdout


def test_bundled_area_table_as_covariates(tmp_path):
    from carepop.sources.tables import load_table

    t = load_table("area", None)
    rng = np.random.default_rng(1)
    rate = (t["carers"] / t["residents_5plus"]).to_numpy()
    direct = pd.DataFrame({"la": t["la_code"], "p": rate + rng.normal(scale=0.01, size=len(t)), "se": 0.01})
    path = tmp_path / "direct.csv"
    direct.iloc[:250].to_csv(path, index=False)
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "la",
        "--direct",
        "p",
        "--se",
        "se",
        "--areas",
        "area",
        "--covariates",
        "imd_score,gp_coverage",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["areas"]) == 309
    assert sum(not a["in_sample"] for a in out["areas"]) == 59


def test_refusals_name_the_areas(tmp_path):
    bad = pd.read_csv(MILK)
    bad.loc[[4, 9], "SD"] = 0
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "fh.csv"
    before = snapshot(path)
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "SmallArea",
        "--direct",
        "yi",
        "--se",
        "SD",
        "--categorical",
        "MajorArea",
        "--out",
        out,
    )
    assert_refused(res, "5, 10", "rows: 5, 10", unchanged=before, absent=[out])
    res = invoke(*ARGS, "--covariates", "nope")
    assert_refused(res, "nope")
    res = invoke(*ARGS, "--areas", tmp_path / "missing.csv")
    assert res.exit_code == 2
    res = invoke(*ARGS, "--boot", "0", "--mse", "bootstrap")
    assert_refused(res, "--boot")


@pytest.fixture
def la_direct(tmp_path):
    from carepop.sources.tables import load_table

    t = load_table("area", None)
    rng = np.random.default_rng(2)
    rate = (t["carers"] / t["residents_5plus"]).to_numpy()
    n = rng.integers(20, 120, size=len(t))
    p = rng.binomial(n, 2 * rate) / n
    direct = pd.DataFrame({"la": t["la_code"], "p": p, "se": np.sqrt(p * (1 - p) / n), "n": n})
    path = tmp_path / "direct.csv"
    direct.to_csv(path, index=False)
    return path, direct, t


def test_benchmark_to_regions_adds_up(la_direct):
    path, direct, t = la_direct
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "la",
        "--direct",
        "p",
        "--se",
        "se",
        "--areas",
        "area",
        "--covariates",
        "carer_rate,imd_score",
        "--benchmark-to",
        "region",
        "--sizes",
        "residents_5plus",
        "--format",
        "csv",
    )
    assert res.exit_code == 0, res.output
    from io import StringIO

    out = pd.read_csv(StringIO(res.stdout)).merge(
        t[["la_code", "region_code", "residents_5plus"]], left_on="la", right_on="la_code"
    )
    out = out.merge(direct, on="la")
    w = out["residents_5plus"]
    got = (out["estimate"] * w).groupby(out["region_code"]).sum() / w.groupby(out["region_code"]).sum()
    want = (out["p"] * w).groupby(out["region_code"]).sum() / w.groupby(out["region_code"]).sum()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert len(got) == 9


def test_benchmark_file_and_transform(la_direct, tmp_path):
    path, direct, t = la_direct
    targets = tmp_path / "england.csv"
    pd.DataFrame({"target": [0.2]}).to_csv(targets, index=False)
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "la",
        "--direct",
        "p",
        "--se",
        "se",
        "--areas",
        "area",
        "--covariates",
        "carer_rate",
        "--benchmark",
        targets,
        "--sizes",
        "residents_5plus",
        "--transform",
        "arcsin",
        "--n-eff",
        "n",
        "--boot",
        "30",
        "--seed",
        "4",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    est = pd.DataFrame(out["areas"]).merge(
        t[["la_code", "residents_5plus"]], left_on="la", right_on="la_code"
    )
    w = est["residents_5plus"]
    assert float((est["estimate"] * w).sum() / w.sum()) == pytest.approx(0.2, rel=1e-12)
    assert any("arcsine" in n for n in out["notes"]) and "transform" in out["choices"]


def test_benchmark_refusals(la_direct, tmp_path):
    path, _, _ = la_direct
    base = [
        "sae",
        "fh",
        path,
        "--area",
        "la",
        "--direct",
        "p",
        "--se",
        "se",
        "--areas",
        "area",
        "--covariates",
        "carer_rate",
    ]
    assert_refused(invoke(*base, "--benchmark", "0.2", "--benchmark-to", "england"), "not both")
    assert_refused(invoke(*base, "--benchmark-to", "england"), "--sizes")
    bad = tmp_path / "t.csv"
    pd.DataFrame({"value": [1]}).to_csv(bad, index=False)
    assert_refused(invoke(*base, "--benchmark", bad), "'target'")


def test_spatial_model_on_council_adjacency(tmp_path):
    councils = pd.read_csv(
        Path(__file__).resolve().parents[2] / "src" / "carepop" / "data" / "cld" / "councils_2023.csv"
    )
    rng = np.random.default_rng(9)
    m = len(councils)
    x = rng.normal(size=m)
    direct = pd.DataFrame(
        {
            "council": councils["LA_Code"],
            "y": 0.2 + 0.05 * x + rng.normal(scale=0.03, size=m),
            "se": rng.uniform(0.01, 0.04, size=m),
            "x": x,
        }
    )
    path = tmp_path / "councils.csv"
    direct.to_csv(path, index=False)
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "council",
        "--direct",
        "y",
        "--se",
        "se",
        "--covariates",
        "x",
        "--proximity",
        "councils",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["fit"]["model"] == "spatial_fay_herriot" and len(out["areas"]) == 153
    assert -1 < out["fit"]["rho"] < 1
    assert_refused(
        invoke(
            "sae",
            "fh",
            path,
            "--area",
            "council",
            "--direct",
            "y",
            "--se",
            "se",
            "--covariates",
            "x",
            "--proximity",
            "councils",
            "--method",
            "fh",
        ),
        "--method",
    )


def test_plots_are_written_as_png(tmp_path):
    folder = tmp_path / "plots"
    res = invoke(*ARGS, "--plots", folder, "--out", tmp_path / "fh.csv")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["cv.png", "direct_vs_model.png", "residuals.png", "shrinkage.png"]
    assert all((folder / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_council_area_table_by_name(tmp_path):
    from carepop.sources.tables import load_table

    c = load_table("council", None)
    rng = np.random.default_rng(4)
    direct = pd.DataFrame(
        {
            "council": c["council_code"],
            "p": c["carer_rate"] * 2 + rng.normal(scale=0.01, size=153),
            "se": 0.01,
        }
    )
    path = tmp_path / "d.csv"
    direct.to_csv(path, index=False)
    res = invoke(
        "sae",
        "fh",
        path,
        "--area",
        "council",
        "--direct",
        "p",
        "--se",
        "se",
        "--areas",
        "council",
        "--covariates",
        "carer_rate,imd_score",
        "--benchmark-to",
        "region",
        "--sizes",
        "residents_5plus",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["areas"]) == 153 and all(a["in_sample"] for a in out["areas"])
