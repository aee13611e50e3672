"""Self-funders in care homes (bed-weighted ratio estimator: hand calculation, live check against R
``survey``, bootstrap, model rows) and in the community (difference with a known count), and
refusals of bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.measures.self_funders import community_self_funders, self_funders_in_care_homes
from carepop.sources.tables import load_table

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on PATH")
COUNCILS = load_table("council", None)


def directory_and_survey(seed: int = 1, councils=None, per=(8, 30), frac=0.4):
    """A directory of homes in the given councils (default: the first 6 of the North East and
    North West) and a survey of about ``frac`` of them (at least 2 per council × type cell)."""
    rng = np.random.default_rng(seed)
    if councils is None:
        t = COUNCILS
        councils = np.concatenate(
            [t[t["region_code"] == r]["council_code"].to_numpy()[:3] for r in ("E12000001", "E12000002")]
        )
    nh = rng.integers(per[0], per[1], len(councils))
    d = pd.DataFrame({"council_code": np.repeat(councils, nh)})
    d["region_code"] = d["council_code"].map(COUNCILS.set_index("council_code")["region_code"])
    d["home_type"] = rng.choice(["nursing", "residential"], len(d))
    d["beds"] = rng.integers(10, 90, len(d))
    share = np.repeat(rng.uniform(0.2, 0.5, len(councils)), nh)
    d["residents"] = rng.binomial(d["beds"], 0.85)
    d["self_funders"] = rng.binomial(d["residents"], share)
    d["fee"] = np.round(rng.normal(1100, 150, len(d)), 2)
    rank = pd.Series(rng.random(len(d))).groupby([d["council_code"], d["home_type"]]).rank().to_numpy()
    size = d.groupby(["council_code", "home_type"])["beds"].transform("size").to_numpy()
    return d, d[rank <= np.maximum(2, frac * size)].reset_index(drop=True)


def test_hand_calculation_of_the_bed_weighted_ratio():
    directory, homes = directory_and_survey()
    res = self_funders_in_care_homes(homes, directory, fee="fee", min_homes=2).to_pandas()
    B = directory.groupby(["council_code", "home_type"])["beds"].sum()
    b = homes.groupby(["council_code", "home_type"])["beds"].sum()
    w = homes.join((B / b).rename("w"), on=["council_code", "home_type"])["w"]
    S = (w * homes["self_funders"]).groupby(homes["council_code"]).sum()
    R = (w * homes["residents"]).groupby(homes["council_code"]).sum()
    F = (w * homes["self_funders"] * homes["fee"]).groupby(homes["council_code"]).sum() / S
    c = res[res["area_level"] == "council"].set_index("area_code").loc[S.index]
    np.testing.assert_allclose(c["self_funders"], S, rtol=1e-12)
    np.testing.assert_allclose(c["self_funder_share"], S / R, rtol=1e-12)
    np.testing.assert_allclose(c["weekly_fee"], F, rtol=1e-12)
    # the weights reproduce the directory's beds in every cell
    assert (w * homes["beds"]).sum() == pytest.approx(directory["beds"].sum())
    eng = res[res["area_level"] == "england"].iloc[0]
    assert eng["self_funders"] == pytest.approx(S.sum()) and eng["homes"] == len(directory)
    assert set(c["method"]) == {"direct"}
    # t intervals, df = responding homes in the council - its cells (2 home types)
    from scipy.stats import t as student

    assert (c["df"] == c["homes_responding"] - 2).all()
    q = student.ppf(0.975, c["df"])
    np.testing.assert_allclose(
        c["self_funders_lower"], c["self_funders"] - q * c["self_funders_se"], rtol=1e-10
    )


R_CODE = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE); D <- args[1]
d <- read.csv(file.path(D, "homes.csv")); cells <- read.csv(file.path(D, "cells.csv"))
areas <- readLines(file.path(D, "areas.txt"))
des <- svydesign(ids = ~1, strata = ~cell, fpc = ~N, data = d)
k <- seq_along(areas)
vars <- c(paste0("s_", k), paste0("r_", k), paste0("f_", k), "beds")
tc <- svyby(as.formula(paste("~", paste(vars, collapse = "+"))), ~cell, des, svytotal, covmat = TRUE)
bw <- function(v) paste0("(", paste0(cells$B, " * `", cells$cell, ":", v, "` / `", cells$cell, ":beds`",
                                     collapse = " + "), ")")
ex <- list()
for (k in seq_along(areas)) {
  S <- bw(paste0("s_", k)); R <- bw(paste0("r_", k)); Fe <- bw(paste0("f_", k))
  ex[[paste0("share", k)]] <- parse(text = paste(S, "/", R))[[1]]
  ex[[paste0("count", k)]] <- parse(text = S)[[1]]
  ex[[paste0("fee", k)]] <- parse(text = paste(Fe, "/", S))[[1]]
}
e <- svycontrast(tc, ex)
write.csv(data.frame(name = names(coef(e)), est = as.numeric(coef(e)), se = as.numeric(SE(e))),
          file.path(D, "r.csv"), row.names = FALSE)
"""


@needs_r
@pytest.mark.parametrize("cells", [("council_code", "home_type"), ("region_code", "home_type")])
def test_ratio_estimator_and_linearised_se_match_r_survey(tmp_path, cells):
    """R (run live): totals per cell of ``s·1[area k]``, ``r·1[area k]``, ``s·fee·1[area k]`` and
    beds with their covariance, then the bed-weighted ratio by ``svycontrast`` (delta method)::

        des <- svydesign(ids = ~1, strata = ~cell, fpc = ~N, data = d)
        tc  <- svyby(~s_1 + ... + r_1 + ... + f_1 + ... + beds, ~cell, des, svytotal, covmat = TRUE)
        svycontrast(tc, list(share1 = quote((B1 * `c1:s_1` / `c1:beds` + ...) /
                                            (B1 * `c1:r_1` / `c1:beds` + ...)), ...))

    for each council and England; with cells nested in the councils, and with cells (region ×
    home type) that cut across them (council rows are then domains within the cells)."""
    directory, homes = directory_and_survey(seed=5)
    res = self_funders_in_care_homes(homes, directory, cells=cells, fee="fee", min_homes=2).to_pandas()
    Bc = directory.groupby(list(cells))["beds"].sum()
    Nc = directory.groupby(list(cells)).size()
    cell_id = pd.Series(np.arange(1, len(Bc) + 1), index=Bc.index)
    key = pd.MultiIndex.from_frame(homes[list(cells)])
    d = pd.DataFrame(
        {"cell": cell_id.reindex(key).to_numpy(), "N": Nc.reindex(key).to_numpy(), "beds": homes["beds"]}
    )
    areas = [*sorted(homes["council_code"].unique()), "E92000001"]
    for k, a in enumerate(areas, start=1):
        ind = np.ones(len(homes)) if a == "E92000001" else (homes["council_code"] == a).to_numpy(float)
        d[f"s_{k}"] = homes["self_funders"] * ind
        d[f"r_{k}"] = homes["residents"] * ind
        d[f"f_{k}"] = homes["self_funders"] * homes["fee"] * ind
    d.to_csv(tmp_path / "homes.csv", index=False)
    pd.DataFrame({"cell": cell_id.to_numpy(), "B": Bc.to_numpy()}).to_csv(tmp_path / "cells.csv", index=False)
    (tmp_path / "areas.txt").write_text("\n".join(areas) + "\n")
    (tmp_path / "sf.R").write_text(R_CODE)
    subprocess.run(
        ["Rscript", str(tmp_path / "sf.R"), str(tmp_path)], check=True, capture_output=True, timeout=120
    )
    r = pd.read_csv(tmp_path / "r.csv").set_index("name")
    py = res[res["area_level"] != "region"].set_index("area_code").loc[areas]
    for metric, col in (("share", "self_funder_share"), ("count", "self_funders"), ("fee", "weekly_fee")):
        names = [f"{metric}{k}" for k in range(1, len(areas) + 1)]
        np.testing.assert_allclose(
            py[col].to_numpy(), r.loc[names, "est"].to_numpy(), rtol=1e-10, err_msg=col
        )
        np.testing.assert_allclose(
            py[f"{col}_se"].to_numpy(), r.loc[names, "se"].to_numpy(), rtol=1e-8, err_msg=col
        )


def test_bootstrap_over_homes_agrees_with_linearisation():
    """The Rao–Wu–Yue rescaled bootstrap with fpc estimates the same variance as the
    linearisation (England and the regions: within 12% with 400 replicates, about the bootstrap's
    own sampling error), is seeded, and gives t intervals on its SE or percentile intervals."""
    directory, homes = directory_and_survey(seed=2, per=(30, 60))
    a = self_funders_in_care_homes(homes, directory, boot=400, seed=3, min_homes=2).to_pandas()
    b = self_funders_in_care_homes(homes, directory, boot=400, seed=3, min_homes=2, interval="bootstrap")
    b = b.to_pandas()
    top = a["area_level"] != "council"
    ratio = a.loc[top, "self_funder_share_boot_se"] / a.loc[top, "self_funder_share_se"]
    assert ((ratio > 0.88) & (ratio < 1.12)).all(), ratio
    np.testing.assert_array_equal(a["self_funder_share_boot_se"], b["self_funder_share_boot_se"])
    from scipy.stats import t as student

    q = student.ppf(0.975, b["df"])
    expected = (b["self_funder_share"] - q * b["self_funder_share_boot_se"]).clip(lower=0)
    np.testing.assert_allclose(b["self_funder_share_lower"], expected, rtol=1e-12)
    pc = self_funders_in_care_homes(homes, directory, boot=400, seed=3, min_homes=2, interval="percentile")
    pc = pc.to_pandas()
    lower = pc["self_funder_share_boot_lower"].clip(lower=0)
    np.testing.assert_array_equal(pc["self_funder_share_lower"], lower)


def test_councils_with_few_homes_get_the_model_and_say_so():
    directory, homes = directory_and_survey(seed=3, councils=COUNCILS["council_code"].to_numpy())
    res = self_funders_in_care_homes(homes, directory, min_homes=10).to_pandas()
    c = res[res["area_level"] == "council"]
    few = c["homes_responding"] < 10
    assert few.any() and (~few).any()
    assert c.loc[few, "method"].str.startswith("model").all() and (c.loc[~few, "method"] == "direct").all()
    assert c[["self_funder_share_lower", "self_funders_lower"]].notna().all().all()
    assert (c["self_funder_share_lower"] <= c["self_funder_share"]).all()
    assert (c["self_funder_share"] <= c["self_funder_share_upper"]).all()
    assert len(c) == 153 and (res["area_level"] == "region").sum() == 9


def test_share_column_instead_of_counts_gives_the_same_estimates():
    directory, homes = directory_and_survey()
    a = self_funders_in_care_homes(homes, directory, min_homes=2).to_pandas()
    h = homes.assign(sf_share=homes["self_funders"] / homes["residents"]).drop(columns="self_funders")
    b = self_funders_in_care_homes(h, directory, share="sf_share", min_homes=2).to_pandas()
    np.testing.assert_allclose(a["self_funder_share"], b["self_funder_share"], rtol=1e-12)


def test_directory_as_cell_totals():
    directory, homes = directory_and_survey()
    agg = directory.groupby(["council_code", "home_type"], as_index=False).agg(
        beds=("beds", "sum"), n_homes=("beds", "size")
    )
    a = self_funders_in_care_homes(homes, directory, min_homes=2).to_pandas()
    b = self_funders_in_care_homes(homes, agg, directory_homes="n_homes", min_homes=2).to_pandas()
    np.testing.assert_allclose(a["self_funders_se"], b["self_funders_se"], rtol=1e-12)
    np.testing.assert_allclose(a["homes"], b["homes"])


@pytest.mark.parametrize(
    ("change", "kwargs", "needle", "row"),
    [
        (lambda h: h.assign(beds=h["beds"].where(h.index != 3, 0)), {}, "more than 0 beds", 4),
        (lambda h: h.assign(self_funders=h["self_funders"].where(h.index != 1, -2)), {}, "negative", 2),
        (lambda h: h.assign(self_funders=h["residents"] + (h.index == 0)), {}, "more self-funders", 1),
        (lambda h: h.assign(residents=h["beds"] + (h.index == 5)), {}, "more residents than beds", 6),
        (
            lambda h: h.assign(p=(h["self_funders"] / h["residents"]).where(h.index != 2, 37.0)),
            {"share": "p"},
            "between 0 and 1",
            3,
        ),
        (
            lambda h: h.assign(home_type=h["home_type"].where(h.index != 0, "hospice")),
            {},
            "directory does not",
            1,
        ),
    ],
)
def test_bad_homes_are_refused(change, kwargs, needle, row):
    directory, homes = directory_and_survey()
    with pytest.raises(CarepopError, match=needle) as err:
        self_funders_in_care_homes(change(homes), directory, min_homes=2, **kwargs)
    assert err.value.rows[0] == row


def test_empty_and_thin_cells_say_collapse():
    directory, homes = directory_and_survey()
    first = homes["council_code"].iloc[0]
    drop = (homes["council_code"] == first) & (homes["home_type"] == "nursing")
    with pytest.raises(CarepopError, match="no responding home") as err:
        self_funders_in_care_homes(homes[~drop], directory, min_homes=2)
    assert f"{first} / nursing" in str(err.value) and "collapse cells" in str(err.value)
    thin = homes.drop(homes[drop].index[1:])
    with pytest.raises(CarepopError, match="single responding home"):
        self_funders_in_care_homes(thin, directory, min_homes=2)
    bad_dir = directory.assign(beds=directory["beds"].where(directory.index != 7, -1))
    with pytest.raises(CarepopError, match="more than 0 beds") as err:
        self_funders_in_care_homes(homes, bad_dir, min_homes=2)
    assert err.value.rows == [8]


def test_home_in_a_council_the_directory_does_not_list():
    directory, homes = directory_and_survey()
    other = COUNCILS[COUNCILS["region_code"] == "E12000001"]["council_code"].iloc[5]
    moved = homes.assign(council_code=homes["council_code"].where(homes.index != 2, other))
    with pytest.raises(CarepopError, match="does not list") as err:
        self_funders_in_care_homes(moved, directory, cells=("region_code", "home_type"), min_homes=2)
    assert err.value.rows == [3]


def test_inputs_not_modified():
    directory, homes = directory_and_survey()
    d0, h0 = directory.copy(), homes.copy()
    self_funders_in_care_homes(homes, directory, min_homes=2, boot=20, seed=1)
    pd.testing.assert_frame_equal(directory, d0)
    pd.testing.assert_frame_equal(homes, h0)


# ------------------------------------------------------------------------------ community
def test_community_self_funders_difference_with_known_count():
    users = pd.DataFrame(
        {
            "council_code": ["A", "B", "C"],
            "home_care_users": [1000.0, 500.0, 300.0],
            "home_care_users_se": [80.0, 60.0, 50.0],
        }
    )
    cld = pd.DataFrame(
        {
            "council_code": ["C", "A", "B"],
            "home_care_council_funded": [290, 700, 300],
            "requests_self_funded": [4, 30, 12],
        }
    )
    res = community_self_funders(users, cld)
    t = res.to_pandas().set_index("area_code")
    z = 1.959963984540054
    assert t.loc["A", "self_funders"] == 300 and t.loc["A", "self_funders_se"] == 80
    assert t.loc["A", "self_funders_lower"] == pytest.approx(300 - z * 80)
    # C: 300 - 290 = 10 with SE 50 -> the lower bound is shown from 0, flagged
    assert t.loc["C", "self_funders_lower"] == 0 and t.loc["C", "self_funders_lower_clipped"]
    # share self-funding = 1 - funded / users, delta SE = funded * se / users^2
    assert t.loc["A", "self_funder_share"] == pytest.approx(0.3)
    assert t.loc["A", "self_funder_share_se"] == pytest.approx(700 * 80 / 1000**2)
    assert t.loc["B", "cld_requests_self_funded"] == 12
    assert (t["treated_as_known"] == "council-funded (CLD)").all()
    # the total row: 1800 - 1290 users, the councils' variances added
    assert t.loc["total", "area_level"] == "total" and t.loc["total", "self_funders"] == 510
    assert t.loc["total", "self_funders_se"] == pytest.approx(np.sqrt(80**2 + 60**2 + 50**2))
    assert t.loc["total", "cld_requests_self_funded"] == 46
    assert "treated as known: council-funded (CLD)" in res.notes[0]


def test_community_with_an_se_on_the_cld_count():
    users = pd.DataFrame({"council_code": ["A"], "home_care_users": [1000.0], "home_care_users_se": [80.0]})
    cld = pd.DataFrame({"council_code": ["A"], "home_care_council_funded": [700.0], "funded_se": [60.0]})
    t = community_self_funders(users, cld, funded_se="funded_se").to_pandas().iloc[0]
    assert t["area_level"] == "area"
    assert t["self_funders_se"] == pytest.approx(100.0) and t["treated_as_known"] == "none"


@pytest.mark.parametrize(
    ("users", "cld", "needle"),
    [
        ({"home_care_users": [-1.0]}, {}, "0 or more"),
        ({}, {"home_care_council_funded": [-3]}, "0 or more"),
        ({}, {"council_code": ["Z"]}, "No council-funded count"),
        ({}, {"home_care_council_funded": None}, "no column"),
    ],
)
def test_community_refusals(users, cld, needle):
    u = pd.DataFrame({"council_code": ["A"], "home_care_users": [100.0], "home_care_users_se": [10.0]})
    c = pd.DataFrame({"council_code": ["A"], "home_care_council_funded": [50]})
    for k, v in users.items():
        u[k] = v
    for k, v in cld.items():
        c = c.drop(columns=k) if v is None else c.assign(**{k: v})
    with pytest.raises(CarepopError, match=needle):
        community_self_funders(u, c)


R_SVYRATIO = r"""
suppressMessages(library(survey))
D <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(D, "homes.csv"))
des <- svydesign(ids = ~1, strata = ~council_code, fpc = ~N, data = d)
r <- svyby(~self_funders, ~council_code, des, svyratio, denominator = ~residents)
e <- svyratio(~self_funders, ~residents, des)
write.csv(data.frame(area = c(as.character(r$council_code), "E92000001"), est = c(coef(r), coef(e)),
                     se = c(SE(r), SE(e))), file.path(D, "r.csv"), row.names = FALSE)
"""


@needs_r
def test_share_matches_svyratio_when_cells_are_councils(tmp_path):
    """With one cell per council the beds cancel within a council: its share is R's
    ``svyratio(~self_funders, ~residents)`` in the design stratified by council with fpc (run
    live). England still weights each council to its beds, so it differs from R's unweighted-by-
    beds ratio: only the councils are compared with svyratio (England is checked against
    ``svycontrast`` above)."""
    directory, homes = directory_and_survey(seed=9)
    res = self_funders_in_care_homes(homes, directory, cells=("council_code",), min_homes=2).to_pandas()
    N = directory.groupby("council_code").size()
    homes.assign(N=homes["council_code"].map(N)).to_csv(tmp_path / "homes.csv", index=False)
    (tmp_path / "r.R").write_text(R_SVYRATIO)
    subprocess.run(
        ["Rscript", str(tmp_path / "r.R"), str(tmp_path)], check=True, capture_output=True, timeout=120
    )
    r = pd.read_csv(tmp_path / "r.csv").set_index("area")
    r = r.drop(index="E92000001")
    py = res[res["area_level"] == "council"].set_index("area_code").loc[r.index]
    np.testing.assert_allclose(py["self_funder_share"], r["est"], rtol=1e-10)
    np.testing.assert_allclose(py["self_funder_share_se"], r["se"], rtol=1e-8)
