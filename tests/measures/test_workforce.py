"""Workforce: coverage-weighted filled posts, vacancies and the vacancy rate (live against R
``survey``), personal-assistant posts (Skills for Care's published figure and its interval), and
refusals of bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.measures.workforce import personal_assistant_posts, workforce_by_area

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on PATH")
CELLS = ("council_code", "service")


def register_and_returns(seed: int = 1, councils: int = 12):
    """A register of locations in ``councils`` areas × 2 services, and returns from about half."""
    rng = np.random.default_rng(seed)
    codes = np.array([f"E0600{i:04d}" for i in range(councils)])
    n_loc = rng.integers(10, 40, councils)
    reg = pd.DataFrame({"council_code": np.repeat(codes, n_loc)})
    reg["service"] = rng.choice(["care home", "home care"], len(reg))
    reg["employer_type"] = rng.choice(["private", "voluntary"], len(reg), p=[0.8, 0.2])
    reg["filled_posts"] = rng.poisson(np.where(reg["service"] == "care home", 40, 25))
    reg["vacancies"] = rng.poisson(2.5, len(reg))
    resp = reg.groupby(["council_code", "service"], group_keys=False).sample(frac=0.5, random_state=seed)
    # one cell with a single respondent out of several (a lonely PSU)
    lonely = resp[(resp["council_code"] == codes[0]) & (resp["service"] == "home care")]
    resp = pd.concat([resp.drop(lonely.index[1:])])
    return reg, resp.reset_index(drop=True)


def test_weights_reproduce_the_register_and_hand_totals():
    reg, resp = register_and_returns()
    est = workforce_by_area(resp, reg[list(CELLS)], cells=CELLS, regions=pd.Series(dtype=object))
    t = est.to_pandas()
    N = reg.groupby(list(CELLS)).size()
    n = resp.groupby(list(CELLS)).size()
    w = (N / n).rename("w")
    hand = resp.join(w, on=list(CELLS))
    f = (hand["w"] * hand["filled_posts"]).groupby(hand["council_code"]).sum()
    v = (hand["w"] * hand["vacancies"]).groupby(hand["council_code"]).sum()
    c = t[t["area_level"] == "council"].set_index("area_code")
    np.testing.assert_allclose(c["filled_posts"], f.loc[c.index], rtol=1e-12)
    np.testing.assert_allclose(c["vacancy_rate"], (v / (f + v)).loc[c.index], rtol=1e-12)
    assert (c["locations"] == reg.groupby("council_code").size().loc[c.index]).all()
    eng = t[t["area_level"] == "england"].iloc[0]
    assert eng["filled_posts"] == pytest.approx(f.sum()) and eng["locations"] == len(reg)
    # t intervals, df = respondents in the area - cells they are in (2 per council here)
    from scipy.stats import t as student

    assert (c["df"] == c["respondents"] - 2).all()
    q = student.ppf(0.975, c["df"])
    np.testing.assert_allclose(
        c["filled_posts_lower"], c["filled_posts"] - q * c["filled_posts_se"], rtol=1e-10
    )
    np.testing.assert_allclose(
        c["vacancy_rate_upper"], c["vacancy_rate"] + q * c["vacancy_rate_se"], rtol=1e-10
    )


R_CODE = r"""
library(survey)
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE); D <- args[1]
d <- read.csv(file.path(D, "resp.csv")); pop <- read.csv(file.path(D, "pop.csv"))
d$posts <- d$filled_posts + d$vacancies
des <- svydesign(ids = ~1, strata = ~cell, fpc = ~N, data = d)
d$Ntot <- sum(pop$Freq)
ps <- postStratify(svydesign(ids = ~1, fpc = ~Ntot, data = d), ~cell, pop)
for (nm in c("strat", "ps")) {
  x <- if (nm == "strat") des else ps
  t <- svyby(~filled_posts + vacancies, ~council_code, x, svytotal)
  r <- svyby(~vacancies, ~council_code, x, svyratio, denominator = ~posts)
  e <- svytotal(~filled_posts + vacancies, x); er <- svyratio(~vacancies, ~posts, x)
  out <- rbind(
    data.frame(council_code = t$council_code, f = t$filled_posts, f_se = t$se.filled_posts,
               v = t$vacancies, v_se = t$se.vacancies, r = coef(r), r_se = SE(r)),
    data.frame(council_code = "E92000001", f = coef(e)[1], f_se = SE(e)[1], v = coef(e)[2],
               v_se = SE(e)[2], r = coef(er), r_se = SE(er)))
  write.csv(out, file.path(D, paste0(nm, ".csv")), row.names = FALSE)
}
"""


@needs_r
@pytest.mark.parametrize(("variance", "r_file"), [("stratified", "strat"), ("poststratified", "ps")])
def test_totals_rate_and_ses_match_r_survey(tmp_path, variance, r_file):
    """R (run live)::

        des <- svydesign(ids = ~1, strata = ~cell, fpc = ~N, data = d)     # stratified
        ps  <- postStratify(svydesign(ids = ~1, fpc = ~Ntot, data = d), ~cell, pop)
        svyby(~filled_posts + vacancies, ~council_code, des, svytotal)
        svyby(~vacancies, ~council_code, des, svyratio, denominator = ~posts)
        svytotal(~filled_posts + vacancies, des); svyratio(~vacancies, ~posts, des)

    with ``options(survey.lonely.psu = "adjust")`` (one cell has a single respondent)."""
    reg, resp = register_and_returns(seed=3)
    est = workforce_by_area(
        resp, reg[list(CELLS)], cells=CELLS, variance=variance, regions=pd.Series(dtype=object)
    ).to_pandas()
    N = reg.groupby(list(CELLS)).size()
    cell = pd.Series(np.arange(len(N)), index=N.index)
    key = pd.MultiIndex.from_frame(resp[list(CELLS)])
    d = resp.assign(cell=cell.reindex(key).to_numpy(), N=N.reindex(key).to_numpy())
    d.to_csv(tmp_path / "resp.csv", index=False)
    pd.DataFrame({"cell": np.arange(len(N)), "Freq": N.to_numpy()}).to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "wf.R").write_text(R_CODE)
    subprocess.run(
        ["Rscript", str(tmp_path / "wf.R"), str(tmp_path)], check=True, capture_output=True, timeout=120
    )
    r = pd.read_csv(tmp_path / f"{r_file}.csv").set_index("council_code")
    py = est[est["area_level"] != "region"].set_index("area_code").loc[r.index]
    for ours, theirs in (
        ("filled_posts", "f"),
        ("filled_posts_se", "f_se"),
        ("vacancies", "v"),
        ("vacancies_se", "v_se"),
        ("vacancy_rate", "r"),
        ("vacancy_rate_se", "r_se"),
    ):
        np.testing.assert_allclose(py[ours].to_numpy(), r[theirs].to_numpy(), rtol=1e-8, err_msg=ours)


def test_region_rows_for_councils():
    from carepop.sources.tables import load_table

    t = load_table("council", None)
    rng = np.random.default_rng(4)
    reg = pd.DataFrame({"council_code": np.repeat(t["council_code"].to_numpy(), 6)})
    reg["service"] = np.tile(["a", "b"], len(reg) // 2)
    reg["filled_posts"] = rng.poisson(20, len(reg))
    reg["vacancies"] = rng.poisson(2, len(reg))
    resp = reg.groupby(list(CELLS), group_keys=False).sample(n=2, random_state=1)
    out = workforce_by_area(resp, reg, cells=CELLS).to_pandas()
    assert (out["area_level"] == "council").sum() == 153 and (out["area_level"] == "region").sum() == 9
    regions = out[out["area_level"] == "region"]
    eng = out[out["area_level"] == "england"].iloc[0]
    assert regions["filled_posts"].sum() == pytest.approx(eng["filled_posts"])
    assert regions["locations"].sum() == len(reg)


# ------------------------------------------------------------------------------ personal assistants
def test_pa_posts_reproduce_skills_for_care_figure():
    """Skills for Care, "The size and structure of the adult social care sector and workforce in
    England" (2022/23): about 215,000 direct-payment recipients × 32% employing staff × 1.87 PAs
    each ≈ 130,000 PA posts (published rounded to the nearest 5,000)."""
    pa = personal_assistant_posts(215_000, 0.32, 1.87)
    posts = pa.to_pandas()["pa_posts"].iloc[0]
    assert posts == pytest.approx(215_000 * 0.32 * 1.87)
    assert round(posts / 5_000) * 5_000 == 130_000
    assert pa.result.known == ("recipients", "share employing staff", "PAs per employer")
    assert pa.to_pandas()["pa_posts_se"].iloc[0] == 0


def test_pa_posts_interval_when_inputs_carry_survey_ses():
    """With survey SEs on the share (0.32 ± 0.015) and PAs per employer (1.87 ± 0.06), recipients
    a known count: delta SE = θ √((0.015/0.32)² + (0.06/1.87)²); Goodman's exact adds the product
    term; the bootstrap (lognormal draws) agrees with the exact SE within Monte Carlo error."""
    kw = dict(share_employing_se=0.015, pas_per_employer_se=0.06)
    theta = 215_000 * 0.32 * 1.87
    delta = personal_assistant_posts(215_000, 0.32, 1.87, **kw).to_pandas().iloc[0]
    assert delta["pa_posts_se"] == pytest.approx(theta * np.hypot(0.015 / 0.32, 0.06 / 1.87))
    assert delta["pa_posts_lower"] < 130_000 < delta["pa_posts_upper"]
    assert delta["treated_as_known"] == "recipients"
    exact = personal_assistant_posts(215_000, 0.32, 1.87, method="exact", **kw).to_pandas().iloc[0]
    va, vb = 0.015**2, 0.06**2
    assert exact["pa_posts_se"] ** 2 == pytest.approx(
        215_000**2 * ((0.32**2 + va) * (1.87**2 + vb) - (0.32 * 1.87) ** 2)
    )
    boot = (
        personal_assistant_posts(215_000, 0.32, 1.87, method="bootstrap", boot=20_000, seed=7, **kw)
        .to_pandas()
        .iloc[0]
    )
    # lognormal draws (not normal) and 20,000 of them: Monte Carlo error of an SD about 0.5%, plus
    # the lognormal's slight departure from Goodman's moments; 3% separates that from a wrong formula
    assert boot["pa_posts_se"] == pytest.approx(exact["pa_posts_se"], rel=0.03)
    assert boot["pa_posts_lower"] < theta < boot["pa_posts_upper"]


def test_pa_posts_by_area_vectorised():
    pa = personal_assistant_posts([1000, 2000], 0.3, [1.5, 2.0], share_employing_se=0.02, area=["A", "B"])
    t = pa.to_pandas()
    assert list(t["area_code"]) == ["A", "B"]
    np.testing.assert_allclose(t["pa_posts"], [450.0, 1200.0])


# ------------------------------------------------------------------------------ refusals
def test_empty_register_cell_names_the_cell_and_says_collapse():
    reg, resp = register_and_returns()
    cells = ("council_code", "service", "employer_type")
    resp = reg.groupby(list(cells), group_keys=False).sample(n=1, random_state=0)
    resp = resp[~((resp["council_code"] == "E06000002") & (resp["employer_type"] == "voluntary"))]
    with pytest.raises(CarepopError, match="no responding location") as err:
        workforce_by_area(resp, reg, cells=cells, regions=pd.Series(dtype=object))
    assert "2 cell(s)" in str(err.value) and "E06000002 / care home / voluntary" in str(err.value)
    assert "collapse cells" in str(err.value) and err.value.code == "empty_cell"


@pytest.mark.parametrize(
    ("change", "needle", "row"),
    [
        (lambda r: r.assign(vacancies=r["vacancies"].where(r.index != 2, -1)), "vacancies", 3),
        (
            lambda r: r.assign(filled_posts=r["filled_posts"].astype(float).where(r.index != 0, np.nan)),
            "filled",
            1,
        ),
        (lambda r: r.assign(service=r["service"].where(r.index != 4, "day centre")), "cell the register", 5),
    ],
)
def test_bad_returns_are_refused_with_rows(change, needle, row):
    reg, resp = register_and_returns()
    with pytest.raises(CarepopError, match=needle) as err:
        workforce_by_area(change(resp), reg, cells=CELLS, regions=pd.Series(dtype=object))
    assert err.value.rows[0] == row


def test_more_respondents_than_register_and_bad_options():
    reg, resp = register_and_returns()
    small = reg.drop(reg[(reg["council_code"] == "E06000003") & (reg["service"] == "care home")].index[1:])
    with pytest.raises(CarepopError, match="more responding locations"):
        workforce_by_area(resp, small, cells=CELLS, regions=pd.Series(dtype=object))
    with pytest.raises(CarepopError, match="must be one of the weighting cells"):
        workforce_by_area(resp, reg, cells=("service",))
    with pytest.raises(CarepopError, match="Unknown variance"):
        workforce_by_area(resp, reg, cells=CELLS, variance="jackknife")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (dict(recipients=215_000, share_employing=32, pas_per_employer=1.87), "not a percentage"),
        (dict(recipients=-5, share_employing=0.3, pas_per_employer=1.87), "negative"),
    ],
)
def test_pa_refusals(kwargs, needle):
    with pytest.raises(CarepopError, match=needle):
        personal_assistant_posts(**kwargs)


def test_inputs_not_modified():
    reg, resp = register_and_returns()
    before_r, before_e = reg.copy(), resp.copy()
    workforce_by_area(resp, reg, cells=CELLS, regions=pd.Series(dtype=object))
    pd.testing.assert_frame_equal(reg, before_r)
    pd.testing.assert_frame_equal(resp, before_e)


def test_one_cell_column():
    """Cells of one column (the council alone): the same as a stratified design by council."""
    reg, resp = register_and_returns()
    one = workforce_by_area(resp, reg, cells=("council_code",), regions=pd.Series(dtype=object)).to_pandas()
    N = reg.groupby("council_code").size()
    n = resp.groupby("council_code").size()
    f = (resp["filled_posts"].groupby(resp["council_code"]).sum() * N / n).loc[N.index]
    c = one[one["area_level"] == "council"].set_index("area_code").loc[N.index]
    np.testing.assert_allclose(c["filled_posts"], f, rtol=1e-12)
