"""Weighting: postStratify, rake, calibrate (linear, logit bounded, raking), trimWeights.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import Check, cols, registry

from carepop import Survey

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- weighting (post-stratification, raking, calibration, trimming)

_R_MARGINS = (
    'ps <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)); '
    'sw <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122)); '
    "pop <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)\n"
)
_STYPE = {"E": 4421, "H": 755, "M": 1018}
_SCHWIDE = {"No": 1072, "Yes": 5122}
_POP = {"stype": _STYPE, "api99": 3914069}


@check(
    "weight_poststratify",
    "weighting",
    "postStratify apisrs by stype: mean api00, and by awards (domains across post-strata)",
    _R_MARGINS
    + "p <- postStratify(dsrs, ~stype, ps); c(v(svymean(~api00, p)), v(svyby(~api00, ~awards, p, svymean)))",
)
def _py_weight_poststratify(c):
    from carepop.weighting import poststratify

    p = poststratify(Survey(c.srs, weight="pw", fpc="fpc"), "stype", _STYPE)
    return np.concatenate([cols(p.mean("api00")), cols(p.mean("api00", by="awards"))])


@check(
    "weight_rake",
    "weighting",
    "rake apisrs and two-stage apiclus2 to stype and sch.wide: weights, mean api00 (R defaults)",
    _R_MARGINS
    + "r <- rake(dsrs, list(~stype, ~sch.wide), list(ps, sw)); r2 <- rake(dclus2, list(~stype, ~sch.wide), "
    "list(ps, sw)); c(weights(r)[c(1, 50, 100, 200)], v(svymean(~api00, r)), v(svymean(~api00, r2)), "
    "v(svyby(~api00, ~awards, r2, svymean)))",
)
def _py_weight_rake(c):
    from carepop.weighting import rake

    m = {"stype": _STYPE, "sch.wide": _SCHWIDE}
    r = rake(Survey(c.srs, weight="pw", fpc="fpc"), m)
    r2 = rake(c.dclus2(), m)
    return np.concatenate(
        [
            r.weights[[0, 49, 99, 199]],
            cols(r.mean("api00")),
            cols(r2.mean("api00")),
            cols(r2.mean("api00", by="awards")),
        ]
    )


@check(
    "weight_calibrate",
    "weighting",
    "calibrate to stype + api99: GREG on apiclus1 (mean, totals by stype), logit (0.7, 1.7) and "
    "raking on apisrs",
    _R_MARGINS + "g <- calibrate(dclus1, ~stype + api99, pop); "
    'l <- calibrate(dsrs, ~stype + api99, pop, calfun = "logit", bounds = c(0.7, 1.7)); '
    'k <- calibrate(dsrs, ~stype + api99, pop, calfun = "raking"); '
    "c(v(svymean(~api00, g)), v(svyby(~enroll, ~stype, g, svytotal)), v(svymean(~api00, l)), "
    "range(weights(l) / weights(dsrs)), v(svymean(~api00, k)))",
)
def _py_weight_calibrate(c):
    from carepop.weighting import calibrate

    srs = Survey(c.srs, weight="pw", fpc="fpc")
    g = calibrate(c.dclus1(), _POP)
    lo = calibrate(srs, _POP, calfun="logit", bounds=(0.7, 1.7))
    k = calibrate(srs, _POP, calfun="raking")
    ratio = lo.weights / srs.weights
    return np.concatenate(
        [
            cols(g.mean("api00")),
            cols(g.total("enroll", by="stype")),
            cols(lo.mean("api00")),
            [ratio.min(), ratio.max()],
            cols(k.mean("api00")),
        ]
    )


@check(
    "weight_trim",
    "weighting",
    "trimWeights(apistrat, lower = 16, upper = 40): weights and mean api00",
    "t <- trimWeights(dstrat, upper = 40, lower = 16); c(range(weights(t)), v(svymean(~api00, t)))",
)
def _py_weight_trim(c):
    from carepop.weighting import trim_weights

    t = trim_weights(c.dstrat(), lower=16, upper=40)
    return np.concatenate([[t.weights.min(), t.weights.max()], cols(t.mean("api00"))])
