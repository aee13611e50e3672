"""Weighting adjustments: design weights, nonresponse (weighting classes, response propensity),
trimming and weight diagnostics.

Golden tests against R 4.2.2 with ``survey`` 4.1.1 where R has the method: ``trimWeights``, the
class adjustment as ``postStratify`` of the respondents to the full sample's class totals, and
``glm(..., family = quasibinomial, weights = pw)`` for the propensity model. Where carepop's
variance is its own (the class and propensity adjustments are linearised with the adjustment
factors estimated), R computes the variance of the hand-derived linearised values with
``svytotal`` on the same design. Replicate designs: R redoes the adjustment on each replicate
column by hand and ``svrepdesign`` gives the variance. Expected numbers were printed with
``sprintf("%.15g", ...)`` by the R code in each docstring, in a session started in the
repository root with::

    library(survey)
    apistrat <- read.csv("tests/data/apistrat.csv", stringsAsFactors = TRUE)
    apiclus1 <- read.csv("tests/data/apiclus1.csv", stringsAsFactors = TRUE)
    apiclus2 <- read.csv("tests/data/apiclus2.csv", stringsAsFactors = TRUE)
    apistrat$resp <- as.integer(apistrat$comp.imp == "Yes")
    apiclus1$resp <- as.integer(apiclus1$comp.imp == "Yes")
    dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
    dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)

(R's ``subset`` drops the non-respondents' rows, so R weights are put back in a vector of the
full length with zeros: ``w <- rep(0, nrow(d)); w[d$resp == 1] <- weights(ps)``.)
Other tests are by hand computation (numpy / statsmodels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from carepop import CarepopError, Survey
from carepop.weighting import (
    PropensityReport,
    design_weights,
    nonresponse_classes,
    poststratify,
    response_propensity,
    trim_weights,
    weight_diagnostics,
)
from tests.golden import DATA, close

JK1_SCALE = 0.914839277851167  # R: as.svrepdesign(dclus1, type = "JK1", compress = FALSE)$scale
ROWS = [0, 1, 100, 150, 199]  # R: c(1, 2, 101, 151, 200)
STRAT_COVS = ["stype", "meals", "api99"]


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    d = pd.read_csv(DATA / "apistrat.csv")
    d["resp"] = (d["comp.imp"] == "Yes").astype(int)
    return d


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    d = pd.read_csv(DATA / "apiclus1.csv")
    d["resp"] = (d["comp.imp"] == "Yes").astype(int)
    return d


@pytest.fixture(scope="module")
def dstrat(apistrat) -> Survey:
    return Survey(apistrat, weight="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def dclus1(apiclus1) -> Survey:
    return Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dclus2() -> Survey:
    return Survey(pd.read_csv(DATA / "apiclus2.csv"), psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")


@pytest.fixture(scope="module")
def rjk1(apiclus1) -> Survey:
    frame = pd.concat([apiclus1, pd.read_csv(DATA / "apiclus1_jk1.csv")], axis=1)
    return Survey.replicate(frame, repweights="rw", method="jk1", weight="pw", scale=JK1_SCALE, rscales=1.0)


def est_se(e) -> list[float]:
    t = e.to_pandas()
    return [*t["estimate"], *t["se"]]


def raises(fn, code, column, *args, **kw) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        fn(*args, **kw)
    err = info.value
    assert err.code == code, err
    assert err.column == column, err
    assert err.fix, err
    return err


# =========================================================================== design weights


def test_design_weights_inverse_probability(apistrat):
    frame = apistrat.assign(p=1 / apistrat["pw"]).set_index(np.arange(200) + 1000)
    before = frame.copy()
    w = design_weights(frame, "p")
    close(w.to_numpy(), frame["pw"].to_numpy(), rtol=1e-15)
    assert w.name == "design_weight" and (w.index == frame.index).all()
    pd.testing.assert_frame_equal(frame, before)


def test_design_weights_two_stage_product():
    """Two-stage selection: 1 / (p1 p2), by hand."""
    df = pd.DataFrame({"p1": [0.5, 0.5, 0.1, 1.0], "p2": [0.2, 1.0, 0.25, 1.0]})
    close(design_weights(df, ["p1", "p2"], name="w").to_numpy(), [10.0, 2.0, 40.0, 1.0], rtol=1e-15)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ([0.5, np.nan, 0.2], "missing_probability"),
        ([0.5, 0.0, 0.2], "zero_probability"),
        ([0.5, 1.5, 0.2], "bad_probability"),
        ([0.5, -0.1, 0.2], "bad_probability"),
        ([0.5, np.inf, 0.2], "bad_probability"),
    ],
)
def test_design_weights_bad_probabilities(values, code):
    df = pd.DataFrame({"p1": [1.0, 1.0, 1.0], "p2": values})
    err = raises(design_weights, code, "p2", df, ["p1", "p2"])
    assert err.rows == [2]


def test_design_weights_not_numeric_or_unknown():
    df = pd.DataFrame({"p": ["0.5", "half"]})
    raises(design_weights, "not_numeric", "p", df, "p")
    raises(design_weights, "unknown_column", "q", df, "q")


# =========================================================================== trimming (R trimWeights)


def test_trim_stratified(dstrat):
    """t1 <- trimWeights(dstrat, upper = 40, lower = 20); unique(weights(t1)); svymean(~api00, t1)
    t2 <- trimWeights(dstrat, upper = 32, strict = TRUE); unique(weights(t2)); svymean(~api00, t2)
    t3 <- trimWeights(dstrat, upper = 32); unique(weights(t3))"""
    t1 = trim_weights(dstrat, lower=20, upper=40)
    close(np.unique(t1.weights), [20, 23.8799991607666, 40])
    close(est_se(t1.mean("api00")), [659.289699863109, 8.91786480580555])
    t2 = trim_weights(dstrat, upper=32, strict=True)
    close(np.unique(t2.weights), [27.8799991607666, 32])
    close(est_se(t2.mean("api00")), [653.717965962326, 8.35272411042988])
    t3 = trim_weights(dstrat, upper=32)  # one pass: the raised weights exceed 32 again
    close(np.unique(t3.weights), [27.3099994659424, 32, 32.5699996948242])
    for t in (t1, t2, t3):
        close(t.weights.sum(), dstrat.weights.sum())
        assert t.weight == "weight_trim"


def test_trim_two_stage(dclus2):
    """t4 <- trimWeights(dclus2, upper = 50, lower = 10); w4 <- weights(t4)
    w4[c(1, 50, 100, 126)]; sum(w4); range(w4); svymean(~api00, t4)
    mw <- mean(weights(dclus2))
    t5 <- trimWeights(dclus2, upper = 1.5 * mw, lower = 0.5 * mw, strict = TRUE); w5 <- weights(t5)
    w5[c(1, 50, 100, 126)]; range(w5); svytotal(~enroll, t5, na.rm = TRUE)"""
    t4 = trim_weights(dclus2, 10, 50)
    w = t4.weights
    close(w[[0, 49, 99, 125]], [36.2716981132075] * 4)
    close([w.sum(), w.min(), w.max()], [5128.675, 36.2716981132075, 58.9816981132076], rtol=1e-14)
    close(est_se(t4.mean("api00")), [701.548008896704, 22.4835538752058])
    t5 = trim_weights(dclus2, 0.5, 1.5, relative=True, strict=True)
    w = t5.weights
    close(w[[0, 49, 99, 125]], [29.3971671075838] * 4)
    close([w.min(), w.max()], [29.3971671075838, 61.0556547619048])
    close(est_se(t5.total("enroll", na_rm=True)), [2511983.40670194, 429204.419948372])


def test_trim_nothing_outside_is_unchanged(dstrat):
    t = trim_weights(dstrat, lower=1, upper=100)
    close(t.weights, dstrat.weights, rtol=0)
    close(est_se(t.mean("api00")), est_se(dstrat.mean("api00")), rtol=0)


def test_trim_zero_weights_stay_zero():
    """Hand computation: rows of weight 0 are out of the sample and get no share."""
    df = pd.DataFrame({"w": [0.0, 1.0, 2.0, 3.0, 10.0], "y": [1.0, 2, 3, 4, 5]})
    t = trim_weights(Survey(df, weight="w"), upper=6)
    close(t.weights, [0.0, 1 + 4 / 3, 2 + 4 / 3, 3 + 4 / 3, 6.0], rtol=1e-15)
    # relative bounds are multiples of the mean positive weight (16 / 4 = 4)
    t = trim_weights(Survey(df, weight="w"), upper=1.5, relative=True)
    close(t.weights, [0.0, 1 + 4 / 3, 2 + 4 / 3, 3 + 4 / 3, 6.0], rtol=1e-15)


def _trim_by_hand(w, lo, up):
    """One pass of R's trimWeights written out in a loop, zero weights left alone."""
    w = list(w)
    out = [min(max(x, lo), up) if x > 0 else x for x in w]
    inside = [x > 0 and lo <= x <= up for x in w]
    share = sum(a - b for a, b in zip(w, out, strict=True)) / sum(inside)
    return np.array([b + share if i else b for b, i in zip(out, inside, strict=True)])


def test_trim_replicate_columns(rjk1):
    """Each replicate column is trimmed the same way (R's svyrep method is broken, see trim.py):
    checked by hand after a post-stratification that makes the weights vary."""
    ps = poststratify(rjk1, "stype", {"E": 4421, "H": 755, "M": 1018})
    t = trim_weights(ps, lower=20, upper=60)
    close(t.weights, _trim_by_hand(ps.weights, 20, 60), rtol=1e-14)
    reps = ps.replicate_design.weights
    assert ((reps > 60) | ((reps > 0) & (reps < 20))).any()
    hand = np.column_stack([_trim_by_hand(reps[:, k], 20, 60) for k in range(reps.shape[1])])
    close(t.replicate_design.weights, hand, rtol=1e-14)
    close(t.replicate_design.weights.sum(axis=0), reps.sum(axis=0), rtol=1e-14)
    assert (t.replicate_design.weights[reps == 0] == 0).all()
    # the variance is R's JK1 variance of the trimmed replicates
    again = Survey.replicate(
        ps.data.assign(**{f"tr{k}": hand[:, k] for k in range(hand.shape[1])}).assign(tw=t.weights),
        repweights="tr",
        method="jk1",
        weight="tw",
        scale=JK1_SCALE,
        rscales=1.0,
    )
    close(est_se(t.total("api00")), est_se(again.total("api00")), rtol=1e-13)


def test_trim_errors(dstrat):
    raises(trim_weights, "bad_option", "pw", dstrat, lower=50, upper=40)
    raises(trim_weights, "bad_option", "pw", dstrat, lower=np.nan)
    # the mean weight (30.97) is above 25: no weights within the bounds keep the total
    raises(trim_weights, "infeasible_bounds", "pw", dstrat, upper=25, strict=True)
    raises(trim_weights, "infeasible_bounds", "pw", dstrat, lower=50, upper=60)


# =========================================================================== weighting classes


def test_classes_equal_r_poststratify_of_respondents(dstrat):
    """tot <- aggregate(pw ~ stype, data = apistrat, FUN = sum); names(tot)[2] <- "Freq"
    ps <- postStratify(subset(dstrat, resp == 1), ~stype, tot)
    w <- rep(0, 200); w[apistrat$resp == 1] <- weights(ps); w[c(1, 2, 101, 151, 200)]
    svytotal(~api00, ps)
    ## carepop's linearisation (class totals estimated), its variance by R:
    W <- ave(apistrat$pw, apistrat$stype, FUN = sum); wy <- w * apistrat$api00
    z <- wy - (w - apistrat$pw) * ave(wy, apistrat$stype, FUN = sum) / W
    m <- sum(wy) / sum(w); zm <- (z - m * apistrat$pw) / sum(w)
    yes <- apistrat$awards == "Yes"
    zd <- wy * yes - (w - apistrat$pw) * ave(wy * yes, apistrat$stype, FUN = sum) / W
    dz <- update(dstrat, u = z / pw, um = zm / pw, ud = zd / pw)
    c(sum(wy), SE(svytotal(~u, dz)), m, SE(svytotal(~um, dz)), sum(wy * yes), SE(svytotal(~ud, dz)))

    Here the classes are the strata, so R's postStratify SE (which takes the class totals as
    known) is the same: the extra term d_i ybar_c is constant within each stratum."""
    nr = nonresponse_classes(dstrat, "stype", "resp", min_respondents=1)
    report = nr.adjustments[-1].report
    close(nr.weights[ROWS], [0, 58.9466654459635, 58.9466654459635, 0, 44.4117658278521])
    close(est_se(nr.total("api00")), [4186608.89869682, 68561.7582901814])
    close(est_se(nr.mean("api00")), [675.913614313737, 11.0690601799576])
    t = nr.total("api00", by="awards").to_pandas()
    close([t["estimate"].iloc[1], t["se"].iloc[1]], [4085212.64040098, 91845.1205515316])
    assert report["merged_into"].isna().all()
    assert nr.weight == "weight_nr"


def test_classes_collapsed_equal_r(dstrat, apistrat):
    """H has 17 respondents (< 20): it is merged with the next class, M. R::

    apistrat$cls <- factor(ifelse(apistrat$stype == "E", "E", "H + M"))
    dstrat2 <- update(dstrat, cls = apistrat$cls)
    tot2 <- aggregate(pw ~ cls, data = apistrat, FUN = sum); names(tot2)[2] <- "Freq"
    ps2 <- postStratify(subset(dstrat2, resp == 1), ~cls, tot2)
    w2 <- rep(0, 200); w2[apistrat$resp == 1] <- weights(ps2); w2[c(1, 2, 101, 151, 200)]"""
    nr = nonresponse_classes(dstrat, "stype", "resp")
    report = nr.adjustments[-1].report
    close(nr.weights[ROWS], [0, 58.9466654459635, 58.9466654459635, 0, 35.9195812193995])
    # the report, by hand
    g = apistrat.assign(rw=apistrat["pw"] * apistrat["resp"]).groupby("stype")
    assert report["class"].tolist() == ["E", "H", "M"]
    assert report["eligible_n"].tolist() == [100, 50, 50]
    assert report["respondents_n"].tolist() == [75, 17, 24]
    close(report["eligible_weight"], g["pw"].sum())
    close(report["respondent_weight"], g["rw"].sum())
    W, R = g["pw"].sum().to_numpy(), g["rw"].sum().to_numpy()
    close(report["factor"], [W[0] / R[0], *[(W[1] + W[2]) / (R[1] + R[2])] * 2])
    assert report["merged_into"].tolist() == [None, "H + M", "H + M"]
    Wnew = pd.Series(nr.weights).groupby(apistrat["stype"]).sum().to_numpy()
    close([Wnew[0], Wnew[1] + Wnew[2]], [W[0], W[1] + W[2]])


def test_classes_cluster_design(dclus1, apiclus1):
    """Classes cut across the clusters, so the class totals' sampling error counts. R::

    tot <- aggregate(pw ~ stype, data = apiclus1, FUN = sum); names(tot)[2] <- "Freq"
    pc <- postStratify(subset(dclus1, resp == 1), ~stype, tot)
    w <- rep(0, 183); w[apiclus1$resp == 1] <- weights(pc); unique(w)
    W <- ave(apiclus1$pw, apiclus1$stype, FUN = sum); wy <- w * apiclus1$api00
    z <- wy - (w - apiclus1$pw) * ave(wy, apiclus1$stype, FUN = sum) / W
    m <- sum(wy) / sum(w); zm <- (z - m * apiclus1$pw) / sum(w)
    dz <- update(dclus1, u = z / pw, um = zm / pw)
    c(sum(wy), SE(svytotal(~u, dz)), m, SE(svytotal(~um, dz)))

    (R's own SE(svytotal(~api00, pc)), 145101.2, takes the class totals as known; the JK1
    replicates of test_classes_replicate_design, which redo the adjustment, give 904597.)"""
    nr = nonresponse_classes(dclus1, "stype", "resp", min_respondents=1)
    close(np.unique(nr.weights), [0, 43.5175666809082, 60.4410648345947, 67.6939926147461])
    close(est_se(nr.total("api00")), [4003862.73418808, 905309.892062844])
    close(est_se(nr.mean("api00")), [646.409836065574, 23.4891534718805])


def test_classes_degf_whichever_is_read_first(apiclus1):
    """District 815 has no respondent, so after the adjustment its weights are all zero and the
    design has 14 PSUs with weight in one stratum: 13 df. It used to be 14 when the parent's
    degf had been read first (a cached value copied to the new survey). R::

    ps <- postStratify(subset(dclus1, resp == 1), ~stype, tot)   # tot as above, for apiclus1
    w <- rep(0, 183); w[apiclus1$resp == 1] <- weights(ps)
    dz <- svydesign(id = ~dnum, weights = ~w, fpc = ~fpc, data = transform(apiclus1, w = w))
    c(degf(dclus1), degf(ps), degf(dz))   # 14 13 13"""
    assert apiclus1.loc[apiclus1["dnum"] == 815, "resp"].sum() == 0
    for read_parent_first in (True, False):
        d = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
        if read_parent_first:
            assert d.degf == 14
        nr = nonresponse_classes(d, "stype", "resp", min_respondents=1)
        assert nr.degf == 13
        assert nr.mean("api00", ci="t").to_pandas()["df"].tolist() == [13.0]
        assert d.degf == 14


def test_classes_replicate_design(rjk1):
    """The adjustment is redone on every JK1 replicate. R::

    W <- as.matrix(read.csv("tests/data/apiclus1_jk1.csv")); r <- apiclus1$resp
    adj <- function(w) w * r * ave(w, apiclus1$stype, FUN = sum) / ave(w * r, apiclus1$stype, FUN = sum)
    rd <- svrepdesign(data = apiclus1, repweights = apply(W, 2, adj), weights = adj(apiclus1$pw),
                      type = "JK1", scale = 0.914839277851167, rscales = 1, combined.weights = TRUE)
    svytotal(~api00, rd); svymean(~api00, rd)"""
    nr = nonresponse_classes(rjk1, "stype", "resp", min_respondents=1)
    close(est_se(nr.total("api00")), [4003862.73418808, 904597.428587036])
    close(est_se(nr.mean("api00")), [646.409836065574, 26.4936241825097])


def test_classes_two_variables_collapse_within_first(dstrat, apistrat):
    """Classes stype x yr.rnd, min_respondents = 5 (hand computation). Respondents: E/No 60,
    E/Yes 15, H/No 17, H/Yes 0, M/No 23, M/Yes 1: H/Yes and M/Yes are the last of their stype,
    so each merges with the previous class of the same stype."""
    nr = nonresponse_classes(dstrat, ["stype", "yr.rnd"], "resp", min_respondents=5)
    report = nr.adjustments[-1].report
    assert report["class"].tolist() == ["E / No", "E / Yes", "H / No", "H / Yes", "M / No", "M / Yes"]
    assert report["respondents_n"].tolist() == [60, 15, 17, 0, 23, 1]
    assert report["merged_into"].tolist() == [
        None,
        None,
        "H / No + H / Yes",
        "H / No + H / Yes",
        "M / No + M / Yes",
        "M / No + M / Yes",
    ]
    cls = np.where(apistrat["stype"] == "E", apistrat["stype"] + apistrat["yr.rnd"], apistrat["stype"])
    d, r = apistrat["pw"].to_numpy(), apistrat["resp"].to_numpy()
    W = pd.Series(d).groupby(cls).transform("sum").to_numpy()
    R = pd.Series(d * r).groupby(cls).transform("sum").to_numpy()
    close(nr.weights, d * r * W / R)
    # min_respondents = 20: E/Yes (15) merges with E/No; H/No + H/Yes has 17 and nowhere to go
    err = raises(
        nonresponse_classes,
        "cannot_collapse",
        "yr.rnd",
        dstrat,
        ["stype", "yr.rnd"],
        "resp",
        min_respondents=20,
    )
    assert "H / No + H / Yes" in err.message


def test_classes_max_adjustment_collapses(dstrat):
    """Factors E 1.333, H 2.941, M 2.083 (report above); max_adjustment 2.5 merges H with M."""
    nr = nonresponse_classes(dstrat, "stype", "resp", min_respondents=1, max_adjustment=2.5)
    report = nr.adjustments[-1].report
    assert report["merged_into"].tolist() == [None, "H + M", "H + M"]
    assert (report["factor"] <= 2.5).all()
    raises(nonresponse_classes, "cannot_collapse", "stype", dstrat, "stype", "resp", max_adjustment=1.2)


def test_classes_full_response_changes_nothing(dclus1, apiclus1):
    s = Survey(apiclus1.assign(all=1), weight="pw", psu="dnum", fpc="fpc")
    nr = nonresponse_classes(s, "stype", "all")
    report = nr.adjustments[-1].report
    close(nr.weights, dclus1.weights, rtol=1e-15)
    close(report["factor"], 1.0, rtol=1e-15)
    close(est_se(nr.mean("api00", by="awards")), est_se(dclus1.mean("api00", by="awards")), rtol=1e-12)


def test_classes_boolean_flag_and_nonrespondent_outcomes(apistrat):
    """True/False flags work; an outcome missing for non-respondents is estimated with na_rm."""
    frame = apistrat.assign(
        flag=apistrat["resp"] == 1, y=np.where(apistrat["resp"] == 1, apistrat["api00"], np.nan)
    )
    s = Survey(frame, weight="pw", strata="stype", fpc="fpc")
    nr = nonresponse_classes(s, "stype", "flag", min_respondents=1)
    close(est_se(nr.total("y", na_rm=True)), [4186608.89869682, 68561.7582901814])


def test_classes_errors(apistrat, dstrat, rjk1, apiclus1):
    miss = Survey(apistrat.assign(resp=apistrat["resp"].where(apistrat.index != 3)), weight="pw")
    err = raises(nonresponse_classes, "missing_values", "resp", miss, "stype", "resp")
    assert err.rows == [4]
    bad = Survey(apistrat.assign(resp=apistrat["resp"].replace({0: 2})), weight="pw")
    raises(nonresponse_classes, "bad_respondent_flag", "resp", bad, "stype", "resp")
    text = Survey(apistrat.assign(resp=np.where(apistrat["resp"] == 1, "yes", "no")), weight="pw")
    raises(nonresponse_classes, "bad_respondent_flag", "resp", text, "stype", "resp")
    none = Survey(apistrat.assign(resp=0), weight="pw")
    raises(nonresponse_classes, "no_respondents", "resp", none, "stype", "resp")
    raises(nonresponse_classes, "unknown_column", "respondent", dstrat, "stype", "respondent")
    # one class variable, every class merged and still too few respondents
    raises(nonresponse_classes, "cannot_collapse", "stype", dstrat, "stype", "resp", min_respondents=500)
    # no respondent in any class of stype M: merging within M cannot help (never across stype)
    only = Survey(apistrat.assign(resp=(apistrat["stype"] != "M").astype(int)), weight="pw")
    err = raises(
        nonresponse_classes, "cannot_collapse", "awards", only, ["stype", "awards"], "resp", min_respondents=1
    )
    assert "M / No + M / Yes" in err.message
    gap = Survey(apistrat.assign(cls=apistrat["awards"].where(apistrat.index != 7)), weight="pw")
    raises(nonresponse_classes, "missing_values", "cls", gap, "cls", "resp")
    raises(nonresponse_classes, "bad_option", "pw", dstrat, "stype", "resp", min_respondents=-1)
    raises(nonresponse_classes, "bad_option", "pw", dstrat, "stype", "resp", max_adjustment=0.5)
    # a replicate that drops the only PSU with respondents of a class
    first = apiclus1["dnum"] == apiclus1.loc[apiclus1["stype"] == "H", "dnum"].iloc[0]
    rep1 = Survey.replicate(
        pd.concat([apiclus1, pd.read_csv(DATA / "apiclus1_jk1.csv")], axis=1).assign(
            r1=((apiclus1["stype"] != "H") | first).astype(int)
        ),
        repweights="rw",
        method="jk1",
        weight="pw",
        scale=JK1_SCALE,
    )
    raises(nonresponse_classes, "replicate_no_respondents", "r1", rep1, "stype", "r1", min_respondents=1)


# =========================================================================== response propensity


def test_propensity_coefficients_equal_r_glm(dstrat, apistrat):
    """f <- glm(resp ~ stype + meals + api99, family = quasibinomial, weights = pw, data = apistrat,
    control = glm.control(epsilon = 1e-15, maxit = 100)); coef(f)"""
    nr = response_propensity(dstrat, STRAT_COVS, "resp")
    rep = nr.adjustments[-1].report
    assert isinstance(rep, PropensityReport)
    assert rep.coefficients.index.tolist() == ["(Intercept)", "stypeH", "stypeM", "meals", "api99"]
    close(
        rep.coefficients,
        [4.69880559141437, -2.30290479665847, -1.41596534371412, -0.0203609507415719, -0.00397650029612384],
        rtol=1e-10,
    )
    # and, trivially, statsmodels' own fit of the same model
    X = np.column_stack(
        [
            np.ones(200),
            apistrat["stype"] == "H",
            apistrat["stype"] == "M",
            apistrat["meals"],
            apistrat["api99"],
        ]
    ).astype(float)
    fit = sm.GLM(apistrat["resp"], X, family=sm.families.Binomial(), var_weights=apistrat["pw"]).fit()
    close(rep.coefficients, fit.params, rtol=1e-7)
    close(rep.propensity, rep.model.predict(X), rtol=1e-15)


def test_propensity_inverse_weights_and_variance(dstrat):
    """Inverse-propensity weights and the Kim & Kim (2007) linearised variance. R::

    p <- fitted(f); X <- model.matrix(f); d <- apistrat$pw; r <- apistrat$resp; y <- apistrat$api00
    w <- d * r / p
    h <- colSums(w * (1 - p) * X * y); I <- crossprod(X * (d * p * (1 - p)), X)
    z <- w * y - d * (r - p) * drop(X %*% solve(I, h))
    dz <- update(dstrat, u = z / pw); c(sum(w * y), SE(svytotal(~u, dz))); w[c(1, 2, 101, 151, 200)]"""
    nr = response_propensity(dstrat, STRAT_COVS, "resp")
    rep = nr.adjustments[-1].report
    close(nr.weights[ROWS], [0, 63.8650177659762, 59.054643527187, 0, 42.5012679906122], rtol=1e-10)
    close(est_se(nr.total("api00")), [4218125.67547472, 76763.6038045398], rtol=1e-10)
    assert rep.n_trimmed == 0 and rep.classes is None
    close(rep.factors, nr.weights / dstrat.weights, rtol=1e-14)


def test_propensity_classes_equal_r(dstrat):
    """Quintile classes of the propensity; class 1 (16 respondents) merged with class 2. R::

    q <- quantile(p, (1:4) / 5); cl <- findInterval(p, q, left.open = TRUE) + 1
    table(cl, r)   # respondents 16, 13, 23, 33, 31
    cl[cl == 1] <- 2
    dstrat3 <- update(dstrat, pcl = factor(cl))
    tot3 <- aggregate(d ~ cl, FUN = sum); names(tot3) <- c("pcl", "Freq")
    ps3 <- postStratify(subset(dstrat3, resp == 1), ~pcl, tot3)
    w3 <- rep(0, 200); w3[r == 1] <- weights(ps3); w3[c(1, 2, 101, 151, 200)]"""
    nr = response_propensity(dstrat, STRAT_COVS, "resp", method="classes")
    rep = nr.adjustments[-1].report
    close(nr.weights[ROWS], [0, 77.8235880764508, 53.5878776781487, 0, 41.3217167385591])
    assert rep.classes["respondents_n"].tolist() == [16, 13, 23, 33, 31]
    assert rep.classes["merged_into"].tolist() == ["1 + 2", "1 + 2", None, None, None]


def test_propensity_replicate_design_refits(rjk1):
    """The model is refitted on every replicate's weights. R::

    padj <- function(w) {
      f <- glm(resp ~ stype + api99, family = quasibinomial, weights = w, data = apiclus1,
               control = glm.control(epsilon = 1e-15, maxit = 100))
      w * r / fitted(f)
    }
    rp <- svrepdesign(data = apiclus1, repweights = apply(W, 2, padj), weights = padj(apiclus1$pw),
                      type = "JK1", scale = 0.914839277851167, rscales = 1, combined.weights = TRUE)
    svytotal(~api00, rp); coef(glm(resp ~ stype + api99, quasibinomial, weights = pw, data = apiclus1))"""
    nr = response_propensity(rjk1, ["stype", "api99"], "resp")
    rep = nr.adjustments[-1].report
    close(est_se(nr.total("api00")), [4044531.51433844, 897267.125291203], rtol=1e-10)
    close(
        rep.coefficients,
        [2.52806684351986, -1.29290217316397, -1.02213995673224, -0.0020728430224139],
        rtol=1e-10,
    )


def _total_se_of(survey: Survey, z: np.ndarray) -> float:
    """SE of sum(z) under ``survey``'s design (z as the influence values, by hand)."""
    d = survey.weights
    s = Survey(survey.data.assign(_u=z / d), weight=survey.weight, strata=survey.strata, fpc=survey.fpc)
    return float(s.total("_u").to_pandas()["se"].iloc[0])


def test_propensity_trimmed_factors_by_hand(dstrat, apistrat):
    """trim=(1, 3): factors clipped; trimmed rows have a fixed factor and leave h (hand)."""
    nr = response_propensity(dstrat, STRAT_COVS, "resp", trim=(1, 3))
    rep = nr.adjustments[-1].report
    p, d, r = rep.propensity, apistrat["pw"].to_numpy(), apistrat["resp"].to_numpy()
    f = np.where(r == 1, np.clip(1 / p, 1, 3), 0)
    assert rep.n_trimmed == int(((r == 1) & (1 / p > 3)).sum()) > 0
    close(nr.weights, d * f, rtol=1e-15)
    X = np.column_stack(
        [
            np.ones(200),
            apistrat["stype"] == "H",
            apistrat["stype"] == "M",
            apistrat["meals"],
            apistrat["api99"],
        ]
    ).astype(float)
    y, w = apistrat["api00"].to_numpy(), d * f
    free = (r == 1) & (1 / p <= 3)
    h = (X * (w * (1 - p) * y * free)[:, None]).sum(axis=0)
    info = (X * (d * p * (1 - p))[:, None]).T @ X
    z = w * y - d * (r - p) * (X @ np.linalg.solve(info, h))
    close(nr.total("api00").to_pandas()["se"], _total_se_of(dstrat, z), rtol=1e-10)


def test_propensity_classes_trimmed_by_hand(dstrat, apistrat):
    """Class factors clipped at 2: a clipped class has a fixed factor, so its rows drop out of
    the linearisation (hand computation)."""
    nr = response_propensity(dstrat, STRAT_COVS, "resp", method="classes", trim=(1, 2))
    rep = nr.adjustments[-1].report
    free = response_propensity(dstrat, STRAT_COVS, "resp", method="classes").adjustments[-1].report.classes
    close(rep.classes["factor"], np.minimum(free["factor"], 2), rtol=1e-15)
    clipped = (free["factor"] > 2).to_numpy()
    assert clipped.any() and not clipped.all()
    assert rep.n_trimmed == int(clipped @ free["respondents_n"].to_numpy())
    d, r, y = apistrat["pw"].to_numpy(), apistrat["resp"].to_numpy(), apistrat["api00"].to_numpy()
    close(nr.weights, d * rep.factors, rtol=1e-15)
    # each row's final class (after merging), and whether its factor was clipped
    labels = rep.classes["merged_into"].fillna(rep.classes["class"]).to_numpy()
    cuts = np.quantile(rep.propensity, [0.2, 0.4, 0.6, 0.8])
    k = np.searchsorted(cuts, rep.propensity, side="left")
    row_cls, fixed = labels[k], clipped[k]
    w = nr.weights
    W = pd.Series(w).groupby(row_cls).transform("sum").to_numpy()
    ybar = pd.Series(w * y).groupby(row_cls).transform("sum").to_numpy() / W
    z = w * y - np.where(fixed, 0.0, (w - d) * ybar)
    close(nr.total("api00").to_pandas()["se"], _total_se_of(dstrat, z), rtol=1e-12)
    assert (r[fixed] >= 0).all()


def test_propensity_errors(apistrat, dstrat):
    # an unknown method is an option error (not about a column)
    raises(response_propensity, "bad_option", None, dstrat, STRAT_COVS, "resp", method="logit")
    raises(response_propensity, "bad_option", "pw", dstrat, STRAT_COVS, "resp", trim=(3, 1))
    raises(
        response_propensity, "bad_option", "resp", dstrat, STRAT_COVS, "resp", method="classes", n_classes=0
    )
    sep = Survey(apistrat.assign(resp=(apistrat["stype"] == "E").astype(int)), weight="pw")
    raises(response_propensity, "perfect_separation", "resp", sep, ["stype"], "resp")
    twin = Survey(apistrat.assign(m2=apistrat["meals"] * 2), weight="pw")
    raises(response_propensity, "collinear_covariates", "resp", twin, ["meals", "m2"], "resp")
    raises(response_propensity, "missing_values", "acs.k3", dstrat, ["acs.k3"], "resp")
    miss = Survey(apistrat.assign(resp=apistrat["resp"].where(apistrat.index != 0)), weight="pw")
    raises(response_propensity, "missing_values", "resp", miss, ["meals"], "resp")


# =========================================================================== diagnostics


def test_diagnostics_by_hand():
    df = pd.DataFrame(
        {
            "w": [1.0, 2.0, 3.0, 4.0, 0.0, 10.0],
            "base": [1.0, 1.0, 2.0, 4.0, 5.0, 5.0],
            "g": ["a", "a", "a", "b", "b", "b"],
        }
    )
    s = Survey(df, weight="w")
    out = weight_diagnostics(s, base="base", by="g", margins={"g": {"a": 5, "b": 15}})
    o = out["overall"].iloc[0]
    pos = np.array([1.0, 2, 3, 4, 10])
    assert o["n"] == 6 and o["n_positive"] == 5
    close([o["sum"], o["min"], o["max"], o["mean"]], [20, 1, 10, 4])
    close(o["deff_kish"], 5 * (pos**2).sum() / 400, rtol=1e-15)
    close(o["n_eff"], 400 / (pos**2).sum(), rtol=1e-15)
    close(o["cv"], np.sqrt(((pos - 4) ** 2).mean()) / 4, rtol=1e-15)
    close(o["deff_kish"], 1 + o["cv"] ** 2, rtol=1e-14)
    close(o["p50"], 3.0)  # R quantile(c(1, 2, 3, 4, 10), 0.5)
    close(o["p25"], 2.0)
    close(o["p95"], 4 + 0.8 * 6)  # type 7: 4 * 0.95 = 3.8 -> x[4] + 0.8 (x[5] - x[4])
    close(o["max_min_ratio"], 10.0)
    by = out["by"]
    assert by["g"].tolist() == ["a", "b"]
    close(by["deff_kish"], [3 * 14 / 36, 2 * 116 / 196], rtol=1e-15)
    close(by["n_eff"], [36 / 14, 196 / 116], rtol=1e-15)
    gw = out["g_weights"].iloc[0]
    # g = 1, 2, 1.5, 1, 0, 2
    assert (gw["n_zero"], gw["n_below_1"], gw["n_above_1"]) == (1, 0, 3)
    close([gw["min"], gw["max"], gw["mean"]], [1, 2, 7.5 / 5])
    m = out["margins"]
    assert m["category"].tolist() == ["a", "b"]
    close(m["achieved"], [6, 14])
    close(m["difference"], [1, -1])
    close(m["relative_difference"], [0.2, -1 / 15], rtol=1e-15)


def test_diagnostics_base_as_survey_and_defaults(dstrat):
    ps = poststratify(dstrat, "awards", {"No": 2000, "Yes": 4194})
    out = weight_diagnostics(ps, base=dstrat)
    assert out["by"] is None and out["margins"] is None
    g = ps.weights / dstrat.weights
    close([out["g_weights"]["min"].iloc[0], out["g_weights"]["max"].iloc[0]], [g.min(), g.max()], rtol=1e-15)
    raises(weight_diagnostics, "bad_base_weights", "pw", dstrat, base=np.ones(3))


# =========================================================================== invariants


def test_inputs_never_modified(apistrat):
    frame = apistrat.copy()
    s = Survey(frame, weight="pw", strata="stype", fpc="fpc")
    data, w = s.data, s.weights
    trim_weights(s, 20, 40)
    nonresponse_classes(s, "stype", "resp")
    response_propensity(s, STRAT_COVS, "resp")
    response_propensity(s, STRAT_COVS, "resp", method="classes", trim=(1, 2))
    weight_diagnostics(s, base="pw", by="stype", margins={"stype": {"E": 4421, "H": 755, "M": 1018}})
    design_weights(frame.assign(p=1 / frame["pw"]), "p")
    pd.testing.assert_frame_equal(frame, apistrat)
    pd.testing.assert_frame_equal(s.data, data)
    close(s.weights, w, rtol=0)
    assert s.weight == "pw"


@pytest.mark.parametrize("seed", [1, 2])
def test_row_order_does_not_change_weights(apistrat, seed):
    perm = np.random.default_rng(seed).permutation(len(apistrat))
    back = np.argsort(perm)
    shuffled = apistrat.iloc[perm].reset_index(drop=True)
    a = Survey(apistrat, weight="pw", strata="stype", fpc="fpc")
    b = Survey(shuffled, weight="pw", strata="stype", fpc="fpc")
    cases = [
        (lambda s: trim_weights(s, upper=32, strict=True), 1e-13),
        (lambda s: trim_weights(s, 0.5, 1.3, relative=True), 1e-13),
        (lambda s: nonresponse_classes(s, ["stype", "yr.rnd"], "resp", min_respondents=5), 1e-13),
        (lambda s: response_propensity(s, STRAT_COVS, "resp"), 1e-10),
        (lambda s: response_propensity(s, STRAT_COVS, "resp", method="classes"), 1e-13),
    ]
    for fn, rtol in cases:
        wa, wb = fn(a), fn(b)
        close(wb.weights[back], wa.weights, rtol=rtol)
        close(est_se(wb.total("api00")), est_se(wa.total("api00")), rtol=rtol)
    ra = nonresponse_classes(a, ["stype", "yr.rnd"], "resp", min_respondents=5).adjustments[-1].report
    rb = nonresponse_classes(b, ["stype", "yr.rnd"], "resp", min_respondents=5).adjustments[-1].report
    pd.testing.assert_frame_equal(ra, rb, rtol=1e-13)
