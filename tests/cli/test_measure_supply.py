"""``carepop measure self-funders`` and ``carepop measure workforce`` end to end on synthetic,
seeded data for the 153 councils (a care directory and a survey of homes; a register of locations
and establishment returns; home-care users and CLD signals), with refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carepop.sources.tables import load_table
from tests.cli.conftest import assert_refused, invoke, read_back, snapshot

COUNCILS = load_table("council", None)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("supply")
    rng = np.random.default_rng(14)
    codes = COUNCILS["council_code"].to_numpy()
    # care directory and a survey of about 40% of homes (at least 2 per council x type; 4 councils thin)
    nh = rng.integers(12, 50, len(codes))
    d = pd.DataFrame({"council_code": np.repeat(codes, nh)})
    d["home_type"] = rng.choice(["nursing", "residential"], len(d))
    d["beds"] = rng.integers(10, 90, len(d))
    d["residents"] = rng.binomial(d["beds"], 0.86)
    d["self_funders"] = rng.binomial(d["residents"], np.repeat(rng.uniform(0.2, 0.5, len(codes)), nh))
    d["fee"] = np.round(rng.normal(1150, 150, len(d)), 2)
    rank = pd.Series(rng.random(len(d))).groupby([d["council_code"], d["home_type"]]).rank().to_numpy()
    size = d.groupby(["council_code", "home_type"])["beds"].transform("size").to_numpy()
    keep = rank <= np.where(d["council_code"].isin(codes[:4]), 2, np.maximum(2, 0.4 * size))
    d[["council_code", "home_type", "beds"]].to_csv(folder / "directory.csv", index=False)
    d[keep].to_csv(folder / "homes.csv", index=False)
    # community: home-care users (survey estimate with SE) and CLD council-funded counts
    users = rng.integers(800, 6000, len(codes)).astype(float)
    pd.DataFrame(
        {"council_code": codes, "home_care_users": users, "home_care_users_se": 0.08 * users}
    ).to_csv(folder / "users.csv", index=False)
    pd.DataFrame(
        {
            "council_code": codes,
            "home_care_council_funded": np.round(users * rng.uniform(0.6, 0.85, len(codes))),
            "requests_self_funded": rng.integers(0, 80, len(codes)),
        }
    ).to_csv(folder / "cld.csv", index=False)
    # register of locations and returns from about half
    nl = rng.integers(20, 60, len(codes))
    reg = pd.DataFrame({"council_code": np.repeat(codes, nl)})
    reg["service"] = rng.choice(["care home", "home care"], len(reg))
    reg["employer_type"] = rng.choice(["private", "voluntary"], len(reg), p=[0.75, 0.25])
    reg["filled_posts"] = rng.poisson(30, len(reg))
    reg["vacancies"] = rng.poisson(2.5, len(reg))
    rank = pd.Series(rng.random(len(reg))).groupby([reg["council_code"], reg["service"]]).rank().to_numpy()
    size = reg.groupby(["council_code", "service"])["filled_posts"].transform("size").to_numpy()
    reg[["council_code", "service", "employer_type"]].to_csv(folder / "register.csv", index=False)
    reg[rank <= np.maximum(2, 0.5 * size)].to_csv(folder / "returns.csv", index=False)
    return {p.stem: p for p in folder.iterdir()}


def test_self_funders_in_care_homes_for_153_councils(files, tmp_path):
    res = invoke(
        "measure",
        "self-funders",
        files["homes"],
        "--directory",
        files["directory"],
        "--fee",
        "fee",
        "--boot",
        "50",
        "--seed",
        "3",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout))
    c = rows[rows["area_level"] == "council"]
    assert len(c) == 153 and (rows["area_level"] == "region").sum() == 9 and len(rows) == 163
    model = c["method"].str.startswith("model")
    assert (model == (c["homes_responding"] < 5)).all() and model.iloc[:4].all()  # the 4 thin councils
    assert (c["self_funder_share_lower"] >= 0).all() and (c["self_funder_share_upper"] <= 1).all()
    assert {"self_funders", "weekly_fee", "self_funder_share_boot_se"} <= set(rows)
    assert "Rao–Wu–Yue" in res.stderr and "seed 3" in res.stderr
    out = tmp_path / "sf.parquet"
    again = invoke(
        "measure",
        "self-funders",
        files["homes"],
        "--directory",
        files["directory"],
        "--fee",
        "fee",
        "--boot",
        "50",
        "--seed",
        "3",
        "--out",
        out,
    )
    assert again.exit_code == 0, again.output
    back = read_back(out)
    np.testing.assert_allclose(
        back["self_funder_share_boot_se"], rows["self_funder_share_boot_se"].astype(float)
    )


def test_community_self_funders(files):
    res = invoke("measure", "self-funders", files["users"], "--cld", files["cld"], "--format", "csv")
    assert res.exit_code == 0, res.output
    from io import StringIO

    t = pd.read_csv(StringIO(res.stdout))
    assert (
        len(t) == 154 and (t["area_level"] == "council").sum() == 153 and (t["self_funders_lower"] >= 0).all()
    )
    eng = t[t["area_level"] == "england"].iloc[0]
    c = t[t["area_level"] == "council"]
    assert eng["self_funders"] == pytest.approx(c["self_funders"].sum())
    assert eng["self_funders_se"] == pytest.approx(np.sqrt((c["home_care_users_se"] ** 2).sum()))
    assert "cld_requests_self_funded" in t and (t["treated_as_known"] == "council-funded (CLD)").all()


def test_workforce_for_153_councils(files, tmp_path):
    out = tmp_path / "wf.csv"
    res = invoke(
        "measure",
        "workforce",
        files["returns"],
        "--register",
        files["register"],
        "--cells",
        "council_code,service",
        "--out",
        out,
    )
    assert res.exit_code == 0, res.output
    t = read_back(out)
    assert (t["area_level"] == "council").sum() == 153 and (t["area_level"] == "region").sum() == 9
    eng = t[t["area_level"] == "england"].iloc[0]
    assert eng["vacancy_rate_lower"] < eng["vacancy_rate"] < eng["vacancy_rate_upper"]
    ps = invoke(
        "measure",
        "workforce",
        files["returns"],
        "--register",
        files["register"],
        "--cells",
        "council_code,service",
        "--variance",
        "poststratified",
        "--format",
        "json",
    )
    assert ps.exit_code == 0, ps.output
    p = pd.DataFrame(json.loads(ps.stdout))
    np.testing.assert_allclose(p["filled_posts"], t["filled_posts"], rtol=1e-10)


def test_pa_posts_reproduce_the_published_figure():
    res = invoke(
        "measure",
        "workforce",
        "--pa-recipients",
        "215000",
        "--pa-share",
        "0.32",
        "--pa-per-employer",
        "1.87",
        "--pa-share-se",
        "0.015",
        "--pa-per-employer-se",
        "0.06",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    assert round(row["pa_posts"] / 5000) * 5000 == 130_000
    assert row["pa_posts_lower"] < row["pa_posts"] < row["pa_posts_upper"]
    assert row["treated_as_known"] == "recipients"


def test_refusals(files, tmp_path):
    before = snapshot(files["homes"], files["directory"], files["returns"], files["register"])
    out = tmp_path / "x.csv"
    # the employer-type cells of the register have no returns in some councils: collapse cells
    assert_refused(
        invoke("measure", "workforce", files["returns"], "--register", files["register"], "--out", out),
        "no responding location",
        "--cells",
        unchanged=before,
        absent=[out],
    )
    assert_refused(
        invoke("measure", "self-funders", files["homes"], "--out", out),
        "--directory",
        unchanged=before,
        absent=[out],
    )
    assert_refused(
        invoke(
            "measure", "self-funders", files["homes"], "--directory", files["directory"], "--beds", "nope"
        ),
        "'nope'",
        unchanged=before,
    )
    assert_refused(
        invoke(
            "measure",
            "self-funders",
            files["homes"],
            "--directory",
            files["directory"],
            "--out",
            files["homes"],
        ),
        unchanged=before,
    )
    assert_refused(
        invoke(
            "measure",
            "workforce",
            "--pa-recipients",
            "215000",
            "--pa-share",
            "32",
            "--pa-per-employer",
            "1.87",
        ),
        "not a percentage",
    )
    assert_refused(invoke("measure", "workforce", "--pa-recipients", "215000"), "--pa-share")
    bad = tmp_path / "bad_homes.csv"
    h = pd.read_csv(files["homes"])
    h.loc[4, "beds"] = 0
    h.to_csv(bad, index=False)
    assert_refused(
        invoke("measure", "self-funders", bad, "--directory", files["directory"]), "rows: 5", "beds"
    )
