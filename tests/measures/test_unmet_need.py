"""Unmet need by council (carepop.measures.unmet_need) on a synthetic survey simulated from the
self-funders / needs instrument (carepop.questionnaires.simulate_responses, seeded): 153 councils,
stratified by council (proportional to adults, at least 6 each), fpc the council's adults.

References: the instrument's own derived variables (carepop.questionnaires.derive), hand
arithmetic (count = Σ population × rate), and R ``survey`` live (direct prevalence and SE with
``svyby``; the synthetic count's SE with ``svyby(covmat = TRUE)`` and the cell covariance), skipped
when Rscript is absent.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.errors import CarepopError
from carepop.measures.unmet_need import DEFINITIONS, unmet_indicator, unmet_need_by_council
from carepop.questionnaires import derive, simulate_responses
from carepop.sources.population import population_by_age_sex
from carepop.sources.tables import load_table

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on PATH")


def simulated_survey_frame(n: int = 6000, seed: int = 5) -> pd.DataFrame:
    """Instrument responses (everyone consents; ages 18–99) with a council, weight and fpc."""
    t = load_table("council", None)
    rng = np.random.default_rng(seed)
    N = t["residents"].to_numpy(dtype=float) - t["age_0_17"].to_numpy(dtype=float)
    n_c = np.maximum(np.floor(n * N / N.sum() + rng.random(len(N))).astype(int), 6)
    c = np.repeat(np.arange(len(N)), n_c)
    ages = rng.integers(18, 100, len(c))
    df = simulate_responses(
        "self_funders", len(c), seed=seed, fixed={"consent": 1, "la_code": "E06000001", "age": ages}
    )
    df["council_code"] = t["council_code"].to_numpy()[c]
    df["w"] = (N / n_c)[c]
    df["N"] = N[c]
    return df


@pytest.fixture(scope="module")
def frame():
    return simulated_survey_frame()


@pytest.fixture(scope="module")
def survey(frame):
    return Survey(frame, weight="w", strata="council_code", fpc="N")


@pytest.fixture(scope="module")
def result(survey):
    return unmet_need_by_council(survey, definition="hse", seed=1, boot=30)


@pytest.mark.parametrize("name", list(DEFINITIONS))
def test_indicator_is_the_instrument_derived_variable(frame, name):
    d = DEFINITIONS[name]
    derived = derive(frame.drop(columns=["council_code", "w", "N"]), "self_funders")
    for variant, suffix in (("no_help", "nohelp"), ("insufficient", "insufficient")):
        got = unmet_indicator(frame, name, variant)
        np.testing.assert_array_equal(got, derived[f"{d.derived}_{suffix}"].to_numpy(dtype=float))


def test_indicator_by_hand_with_missing_answers():
    rows = pd.DataFrame(
        {  # dressing difficulty + help; the other five ADLs no difficulty except where set
            "adl_dress": [0, 1, 2, 1, np.nan, 0, 1],
            "adl_dress_help": [np.nan, 0, 2, 1, np.nan, np.nan, np.nan],
            **{f"adl_{a}": 0 for a in ("walk", "bath", "eat", "bed", "toilet")},
            **{f"adl_{a}_help": np.nan for a in ("walk", "bath", "eat", "bed", "toilet")},
        }
    )
    rows.loc[5, "adl_walk"], rows.loc[5, "adl_walk_help"] = 2, -8  # help: don't know
    no_help = unmet_indicator(rows, "hse", "no_help")
    insufficient = unmet_indicator(rows, "hse", "insufficient")
    np.testing.assert_array_equal(no_help, [0, 1, 0, 0, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(insufficient, [0, 1, 1, 0, np.nan, np.nan, np.nan])
    # only the instrument's derived column: used as it is
    only = pd.DataFrame({"unmet_adl_nohelp": [1, 0, None]})
    np.testing.assert_array_equal(unmet_indicator(only, "hse", "no_help"), [1, 0, np.nan])


def test_every_council_region_and_england(result):
    t = result.to_pandas()
    for v in ("no_help", "insufficient"):
        s = t[t["variant"] == v]
        assert (s["area_level"] == "council").sum() == 153
        assert (s["area_level"] == "region").sum() == 9 and (s["area_level"] == "england").sum() == 1
    assert (t["definition"] == "hse").all()
    assert ((t["ci_lower"] <= t["estimate"]) & (t["estimate"] <= t["ci_upper"])).all()
    assert ((t["count_lower"] <= t["count"]) & (t["count"] <= t["count_upper"])).all()
    np.testing.assert_allclose(t["count"], t["estimate"] * t["population"], rtol=1e-12)
    # no help is part of no-or-not-enough help, respondent by respondent
    a = t[t["variant"] == "no_help"].set_index("area_code")
    b = t[t["variant"] == "insufficient"].set_index("area_code")
    assert (a["direct"].dropna() <= b["direct"].dropna() + 1e-12).all()


def test_counts_are_population_times_rates_by_hand(result):
    """count = Σ_k P_{c,k} r̂_{g(c),k} with the cells' own rates and Census 2021 populations."""
    t = result.to_pandas()
    pop = population_by_age_sex(((65, 74), (75, 84), (85, None)))
    cells = result.cells[result.cells["variant"] == "no_help"]
    merged = pop.merge(
        cells.rename(columns={"area_code": "region_code"}).astype({"age_band": str}),
        on=["region_code", "age_band", "sex"],
    ).astype({"population": float})
    by_hand = (merged["population"] * merged["rate"]).groupby(merged["council_code"]).sum()
    c = t[(t["variant"] == "no_help") & (t["area_level"] == "council")].set_index("area_code")
    np.testing.assert_allclose(c.loc[by_hand.index, "synthetic_count"], by_hand, rtol=1e-10)
    assert c.loc["E06000001", "population"] == pytest.approx(
        pop.loc[pop["council_code"] == "E06000001", "population"].sum()
    )
    # regions are the sums of their councils' synthetic counts, England the sum of the regions
    r = t[(t["variant"] == "no_help") & (t["area_level"] == "region")].set_index("area_code")
    np.testing.assert_allclose(c.groupby("region_code")["synthetic_count"].sum(), r["count"], rtol=1e-10)
    e = t[(t["variant"] == "no_help") & (t["area_level"] == "england")].iloc[0]
    assert e["count"] == pytest.approx(r["count"].sum(), rel=1e-12)


def test_covariance_between_cells_is_used(survey):
    """With one PSU holding people of several cells, cells covary: the synthetic SE is the
    design's, not the independent-cells one. Checked against R below; here, two designs of the
    same data with different SEs (strata by council vs none) give different synthetic SEs."""
    a = unmet_need_by_council(survey, definition="hse", model="synthetic").to_pandas()
    flat = Survey(survey.data, weight="w")
    b = unmet_need_by_council(flat, definition="hse", model="synthetic").to_pandas()
    np.testing.assert_allclose(a["synthetic_count"], b["synthetic_count"], rtol=1e-12)
    assert not np.allclose(a["synthetic_count_se"], b["synthetic_count_se"], rtol=1e-3)


def test_models_and_signals(survey, result):
    syn = unmet_need_by_council(survey, definition="hse", model="synthetic")
    direct = unmet_need_by_council(survey, definition="hse", model="direct").to_pandas()
    s = syn.to_pandas()
    c = s[s["area_level"] == "council"]
    np.testing.assert_allclose(c["estimate"], c["synthetic"], rtol=1e-12)
    d = direct[direct["area_level"] == "council"]
    np.testing.assert_allclose(d["estimate"], d["direct"], rtol=1e-12)
    assert result.models["no_help"] is not None and syn.models["no_help"] is None
    signals = pd.DataFrame(
        {
            "council_code": ["E06000001", "E09000033", "E10000003"],
            "requests_no_service": [120, 45, 310],
            "median_wait_days": [21.5, np.nan, 40.0],
        }
    )
    before = signals.copy()
    t = unmet_need_by_council(survey, definition="hse", model="synthetic", signals=signals).to_pandas()
    pd.testing.assert_frame_equal(signals, before)  # the input is not modified
    row = t[(t["area_code"] == "E10000003") & (t["variant"] == "no_help")].iloc[0]
    assert row["requests_no_service"] == 310 and row["median_wait_days"] == 40.0
    assert t.loc[t["area_code"] == "E06000002", "requests_no_service"].isna().all()
    assert t.loc[t["area_level"] != "council", "median_wait_days"].isna().all()


def test_definitions_select_ages(survey):
    t = unmet_need_by_council(survey, definition="ageuk", model="synthetic")
    assert set(t.cells["age_band"]) == {"50-64", "65-74", "75-84", "85+"}
    t = unmet_need_by_council(survey, definition="adults", model="direct", age_bands=((18, 49), (50, None)))
    assert set(t.cells["age_band"]) == {"18-49", "50+"}


def _refused(code, survey, **kw):
    with pytest.raises(CarepopError) as err:
        unmet_need_by_council(survey, **{"model": "synthetic", **kw})
    assert err.value.code == code, err.value
    return err.value


def test_bad_input(frame):
    def s(change):
        df = frame.copy()
        change(df)
        return Survey(df, weight="w")  # no strata: a planted council code is no lonely stratum

    err = _refused("bad_age", s(lambda d: d.__setitem__("age", d["age"].where(d.index != 3, 130))))
    assert err.column == "age" and err.rows == [4] and err.got == 130
    err = _refused("unknown_category", s(lambda d: d.__setitem__("sex", d["sex"].where(d.index != 0, 3))))
    assert err.column == "sex" and err.rows == [1]
    err = _refused(
        "unknown_council",
        s(lambda d: d.__setitem__("council_code", d["council_code"].where(d.index != 9, "E07000008"))),
    )
    assert err.column == "council_code" and err.rows == [10] and err.got == "E07000008"
    ok = s(lambda d: None)
    err = _refused("unknown_definition", ok, definition="oecd")
    assert "hse" in err.expected and "ageuk" in err.expected
    err = _refused("missing_items", s(lambda d: d.drop(columns=["adl_bath_help"], inplace=True)))
    assert err.column == "adl_bath_help"
    _refused("bad_age_bands", ok, age_bands=((50, 64), (65, None)))  # HSE starts at 65
    _refused("bad_age_bands", ok, age_bands=((65, 80), (75, None)))  # overlapping
    _refused("unknown_council", ok, signals=pd.DataFrame({"council_code": ["E99999999"], "x": [1]}))
    _refused("unknown_column", ok, signals=pd.DataFrame({"la": ["E06000001"], "x": [1]}))


R_CODE = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
A <- as.matrix(read.csv(args[2], check.names = FALSE))
des <- svydesign(ids = ~1, strata = ~council_code, fpc = ~N, weights = ~w, data = d)
dir <- svyby(~y, ~council_code, des, svymean, na.rm = TRUE, keep.var = TRUE)
write.csv(data.frame(council = dir$council_code, est = coef(dir), se = SE(dir)), args[3], row.names = FALSE)
cells <- svyby(~y, ~cell, subset(des, cell != "out"), svymean, na.rm = TRUE, covmat = TRUE)
V <- vcov(cells)
b <- coef(cells)[colnames(A)]
V <- V[colnames(A), colnames(A)]
write.csv(data.frame(count = drop(A %*% b), se = sqrt(diag(A %*% V %*% t(A)))), args[4], row.names = FALSE)
"""


@needs_r
def test_direct_and_synthetic_against_r_survey(frame, result, tmp_path):
    """Direct council prevalence and SE = R svyby(svymean, na.rm=TRUE); the synthetic count's SE =
    sqrt(a' V a) with V the covariance of the region × age × sex means from svyby(covmat=TRUE)."""
    y = unmet_indicator(frame, "hse", "no_help")
    t = load_table("council", None).set_index("council_code")
    band = pd.cut(frame["age"], [64, 74, 84, 200], labels=["65-74", "75-84", "85+"]).astype(str)
    sex = frame["sex"].map({1: "Female", 2: "Male"})
    region = frame["council_code"].map(t["region_code"])
    cell = np.where(frame["age"] >= 65, region + "|" + band + "|" + sex, "out")
    d = frame[["council_code", "w", "N"]].assign(y=np.where(frame["age"] >= 65, y, np.nan), cell=cell)
    d.to_csv(tmp_path / "d.csv", index=False)
    pop = population_by_age_sex(((65, 74), (75, 84), (85, None)))
    pop["cell"] = pop["region_code"] + "|" + pop["age_band"].astype(str) + "|" + pop["sex"]
    A = pop.pivot_table(index="council_code", columns="cell", values="population", fill_value=0.0)
    A.to_csv(tmp_path / "A.csv", index=False)
    script = tmp_path / "check.R"
    script.write_text(R_CODE)
    args = [str(tmp_path / f) for f in ("d.csv", "A.csv", "direct.csv", "syn.csv")]
    subprocess.run(["Rscript", str(script), *args], check=True, capture_output=True, timeout=120)
    r_dir = pd.read_csv(tmp_path / "direct.csv").set_index("council")
    r_syn = pd.read_csv(tmp_path / "syn.csv")
    r_syn.index = A.index
    got = result.to_pandas()
    got = got[(got["variant"] == "no_help") & (got["area_level"] == "council")].set_index("area_code")
    sampled = got.loc[r_dir.index]
    np.testing.assert_allclose(sampled["direct"], r_dir["est"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sampled["direct_se"], r_dir["se"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(got.loc[A.index, "synthetic_count"], r_syn["count"], rtol=1e-9)
    np.testing.assert_allclose(got.loc[A.index, "synthetic_count_se"], r_syn["se"], rtol=1e-7)


def test_replicate_design_against_full_recomputation(frame):
    """A bootstrap replicate design (80 replicates): the synthetic count's SE (the replicate variance
    of its linearised total) against recomputing the cell rates and counts in every replicate.
    The two differ only at second order (O(1/n) in the cells); all councils within 5%."""
    from carepop.weighting.replicates import replicate_weights

    rep = replicate_weights(
        Survey(frame, weight="w", strata="council_code", fpc="N"), "bootstrap", 80, seed=3
    )
    got = unmet_need_by_council(rep, definition="hse", model="synthetic", variants=("no_help",)).to_pandas()
    got = got[got["area_level"] == "council"].set_index("area_code")
    y = unmet_indicator(frame, "hse", "no_help")
    region = frame["council_code"].map(load_table("council", None).set_index("council_code")["region_code"])
    band = pd.cut(frame["age"], [64, 74, 84, 200], labels=["65-74", "75-84", "85+"]).astype(str)
    cell = (region + "|" + band + "|" + frame["sex"].map({1: "Female", 2: "Male"})).where(frame["age"] >= 65)
    ok = cell.notna().to_numpy()
    codes, labels = pd.factorize(cell[ok])
    rd = rep.replicate_design
    W = np.column_stack([rep.weights, rd.weights])[ok]
    rates = np.array(
        [np.bincount(codes, W[:, j] * y[ok]) / np.bincount(codes, W[:, j]) for j in range(W.shape[1])]
    )
    pop = population_by_age_sex(((65, 74), (75, 84), (85, None)))
    pop["cell"] = pop["region_code"] + "|" + pop["age_band"].astype(str) + "|" + pop["sex"]
    A = pop.pivot_table(index="council_code", columns="cell", values="population", fill_value=0.0)[
        list(labels)
    ]
    counts = A.to_numpy() @ rates.T
    assert not rd.mse
    reps = counts[:, 1:]
    var = rd.scale * ((reps - reps.mean(axis=1, keepdims=True)) ** 2 * np.asarray(rd.rscales)).sum(axis=1)
    np.testing.assert_allclose(got.loc[A.index, "synthetic_count"], counts[:, 0], rtol=1e-10)
    # linearised SE against recomputing the rates in each of 80 bootstrap replicates: two different
    # variance estimators of the same ratio, measured 3.2% apart at most (first-order agreement only)
    np.testing.assert_allclose(got.loc[A.index, "synthetic_count_se"], np.sqrt(var), rtol=0.05)
