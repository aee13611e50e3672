"""Weighting against R ``survey`` 4.1.1: post-stratification, raking and calibration (linear,
raking, logit with bounds), their weights and calibration-aware standard errors, overall and by
domain, on one- and multi-stage designs. Expected numbers were printed by the R code in each
docstring with ``sprintf("%.15g", ...)``, after::

    library(survey); data(api)
    d  <- svydesign(id = ~1, weights = ~pw, data = apisrs, fpc = ~fpc)
    ps <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
    sw <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
    pop <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, Survey
from carepop.weighting import calibrate, poststratify, rake
from tests.golden import DATA, close

STYPE = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}
POP = {"stype": STYPE, "api99": 3914069}
R_CAL_BETA = [
    0.917798786417674,
    0.767778525603769,
    0.678514985345331,
    0.868226513643156,
    0.492388693677847,
    0.391507126465108,
    0.953170640776981,
    0.93800498422485,
    0.891213815385245,
]
R_CAL_MEDIAN = [664, 696, 23.8662079146753, 9.48912119173447]


@pytest.fixture(scope="module")
def srs() -> Survey:
    return Survey(pd.read_csv(DATA / "apisrs.csv"), weight="pw", fpc="fpc")


def est_se(e) -> list[float]:
    t = e.to_pandas()
    return [*t["estimate"], *t["se"]]


def test_poststratify(srs):
    """p <- postStratify(d, ~stype, ps); svymean(~api00, p); svyby(~api00, ~awards, p, svymean)"""
    p = poststratify(srs, "stype", STYPE)
    close(est_se(p.mean("api00")), [656.781580952531, 9.15653816164697])
    close(
        est_se(p.mean("api00", by="awards")),
        [620.892581438744, 678.65903711293, 13.6167725367186, 11.8307341684301],
    )
    W = pd.Series(p.weights).groupby(p.data["stype"]).sum()
    close(W.to_numpy(), [4421, 755, 1018])


def test_rake_r_defaults(srs):
    """r <- rake(d, list(~stype, ~sch.wide), list(ps, sw))  # maxit = 10, epsilon = 1
    weights(r)[c(1, 50, 100, 200)]; svymean(~api00, r); svyby(~api00, ~awards, r, svymean)"""
    r = rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE})
    close(
        r.weights[[0, 49, 99, 199]], [29.0020089767089, 31.3966494640753, 31.3966494640753, 31.3966494640753]
    )
    close(est_se(r.mean("api00")), [657.79167086714, 8.82570298747068])
    close(
        est_se(r.mean("api00", by="awards")),
        [622.525209418946, 678.594298397648, 12.9925027267115, 11.8034778512936],
    )


def test_rake_converged(srs):
    """r2 <- rake(d, list(~stype, ~sch.wide), list(ps, sw), control = list(maxit = 50, epsilon = 1e-12))
    weights(r2)[c(1, 50, 100, 200)]; svymean(~api00, r2)   # SE 8.82568 of the issue"""
    r = rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=50, epsilon=1e-12)
    close(
        r.weights[[0, 49, 99, 199]],
        [29.003102680619, 31.3963659491043, 31.3963659491043, 31.3963659491043],
        rtol=1e-8 / 30,
    )
    close(est_se(r.mean("api00")), [657.791546332111, 8.82567854388978], rtol=1e-10)
    W = pd.Series(r.weights).groupby(r.data["sch.wide"]).sum()
    close(W.to_numpy(), [1072, 5122], rtol=1e-12)


def test_greg(srs):
    """g <- calibrate(d, ~stype + api99, pop); svymean(~api00, g); svyby(~api00, ~awards, g, svymean)"""
    g = calibrate(srs, POP)
    close(est_se(g.mean("api00")), [663.524433468266, 1.85490409095587])
    close(
        est_se(g.mean("api00", by="awards")),
        [626.560905159224, 685.896679347052, 11.5018496958368, 6.72341476664484],
    )


def test_logit_calibration_with_bounds(srs):
    """l <- calibrate(d, ~stype + api99, pop, calfun = "logit", bounds = c(0.7, 1.7))
    svymean(~api00, l); range(weights(l) / weights(d))"""
    c = calibrate(srs, POP, calfun="logit", bounds=(0.7, 1.7))
    close(est_se(c.mean("api00")), [663.515186659207, 1.85362422944891])
    g = c.weights / srs.weights
    close([g.min(), g.max()], [0.892538043469214, 1.14165493871423])
    assert ((g > 0.7) & (g < 1.7)).all()


def test_raking_calibration(srs):
    """k <- calibrate(d, ~stype + api99, pop, calfun = "raking"); svymean(~api00, k)"""
    close(est_se(calibrate(srs, POP, calfun="raking").mean("api00")), [663.519687508395, 1.8542294204513])


def test_calibrated_cluster_design():
    """d1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    g1 <- calibrate(d1, ~stype + api99, pop); svymean(~api00, g1); svyby(~enroll, ~stype, g1, svytotal)"""
    s = Survey(pd.read_csv(DATA / "apiclus1.csv"), weight="pw", psu="dnum", fpc="fpc")
    g = calibrate(s, POP)
    close(est_se(g.mean("api00")), [665.30907116578, 3.44175311640481])
    close(
        est_se(g.total("enroll", by="stype")),
        [
            1901579.89027783,
            826530.208812723,
            910377.10504133,
            69092.2794464576,
            268741.074242281,
            89563.037407021,
        ],
    )


def test_raked_two_stage_design():
    """d2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    r2 <- rake(d2, list(~stype, ~sch.wide), list(ps, sw)); svymean(~api00, r2)
    svyby(~awards, ~stype, r2, svymean)"""
    s = Survey(pd.read_csv(DATA / "apiclus2.csv"), psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")
    r = rake(s, {"stype": STYPE, "sch.wide": SCHWIDE})
    close(est_se(r.mean("api00")), [681.700653881639, 31.7290536988809])
    t = r.proportion("awards", by="stype").to_pandas()
    yes = t[t["level"] == "Yes"]
    close(
        [*yes["estimate"], *yes["se"]],
        [0.814779494117, 0.244258998587, 0.572605980951, 0.0479808309185, 0.0867887870325, 0.1512275118267],
        rtol=1e-11,
    )  # R printed these with 12 significant digits


def test_row_order_never_changes_weights_or_se(srs):
    d = pd.read_csv(DATA / "apisrs.csv")
    shuffled = d.sample(frac=1, random_state=3).reset_index(drop=True)
    for fn in (
        lambda s: rake(s, {"stype": STYPE, "sch.wide": SCHWIDE}),
        lambda s: calibrate(s, POP, calfun="logit", bounds=(0.7, 1.7)),
        lambda s: poststratify(s, "stype", STYPE),
    ):
        a = fn(Survey(d, weight="pw", fpc="fpc"))
        b = fn(Survey(shuffled, weight="pw", fpc="fpc"))
        wa = pd.Series(a.weights, index=d["cds"]).sort_index()
        wb = pd.Series(b.weights, index=shuffled["cds"]).sort_index()
        close(wa.to_numpy(), wb.to_numpy(), rtol=1e-12)
        close(est_se(a.mean("api00", by="awards")), est_se(b.mean("api00", by="awards")), rtol=1e-12)


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda s: rake(s, {"stype": STYPE, "sch.wide": {"No": 1000, "Yes": 5122}}), "margins_disagree"),
        (lambda s: poststratify(s, "stype", {"E": 4421, "H": 755}), "margin_missing_category"),
        (lambda s: poststratify(s, "stype", {**STYPE, "X": 10}), "category_not_in_sample"),
        (lambda s: calibrate(s, POP, calfun="logit", bounds=(0.99, 1.01)), "calibration_failed"),
        (lambda s: calibrate(s, POP, calfun="logit"), "bad_option"),
        (lambda s: poststratify(s, "stype", {"E": 4421, "H": -5, "M": 1018}), "bad_margin"),
    ],
)
def test_impossible_requests_fail_clearly(srs, call, code):
    with pytest.raises(CarepopError) as info:
        call(srs)
    assert info.value.code == code and info.value.fix


def test_margin_from_csv_and_labels(srs, tmp_path):
    path = tmp_path / "stype.csv"
    pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, 1018]}).to_csv(path, index=False)
    a = poststratify(srs, "stype", path)
    b = poststratify(srs, "stype", STYPE)
    close(a.weights, b.weights, rtol=0)


def test_calibrated_domain_intervals():
    """R keeps every row of a calibrated design in a domain analysis, so svyciprop's
    nrow(design) is the whole sample there. R::

        d1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
        g <- calibrate(d1, ~stype + api99, pop)
        b <- svyby(~I(sch.wide == "Yes"), ~stype, g, svyciprop, vartype = "ci", method = "beta")
        c(coef(b), b$ci_l, b$ci_u)
        q <- svyby(~api00, ~awards, g, svyquantile, quantiles = 0.5, ci = TRUE); c(coef(q), SE(q))
    """
    s = Survey(pd.read_csv(DATA / "apiclus1.csv"), weight="pw", psu="dnum", fpc="fpc")
    g = calibrate(s, POP)
    t = g.proportion("sch.wide", by="stype", ci="beta").to_pandas()
    yes = t[t["level"] == "Yes"]
    close([*yes["estimate"], *yes["ci_lower"], *yes["ci_upper"]], R_CAL_BETA)
    q = g.quantile("api00", 0.5, by="awards").to_pandas()
    close([*q["estimate"], *q["se"]], R_CAL_MEDIAN)


def test_zero_weight_cell_fails_clearly():
    d = pd.read_csv(DATA / "apisrs.csv")
    d.loc[d["stype"] == "H", "pw"] = 0.0
    s = Survey(d, weight="pw", fpc="fpc")
    for call in (
        lambda: poststratify(s, "stype", STYPE),
        lambda: rake(s, {"stype": STYPE, "sch.wide": SCHWIDE}),
    ):
        with pytest.raises(CarepopError) as info:
            call()
        assert info.value.code == "zero_weight_cell" and info.value.column == "stype" and info.value.fix


def test_raking_that_does_not_converge_names_the_margin(srs):
    with pytest.raises(CarepopError) as info:
        rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12)
    assert info.value.code == "no_convergence" and info.value.column in ("stype", "sch.wide")
    with pytest.warns(UserWarning, match="did not converge"):
        r = rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12, force=True)
    assert np.isfinite(r.weights).all()
