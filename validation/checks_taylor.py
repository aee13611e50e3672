"""Taylor (linearisation) designs: whole-sample estimates, degrees of freedom, intervals, fpc forms.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import QCI, WCI, Check, cols, registry

from carepop import Survey

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- Taylor: whole-sample estimates


@check("strat_mean_fpc", "taylor", "apistrat stratified mean api00, fpc", "v(svymean(~api00, dstrat))")
def _py_strat_mean_fpc(c):
    return cols(c.dstrat().mean("api00"))


@check("strat_mean_nofpc", "taylor", "apistrat stratified mean api00, no fpc", "v(svymean(~api00, dstrat0))")
def _py_strat_mean_nofpc(c):
    return cols(c.dstrat0().mean("api00"))


@check("strat_total_ci", "taylor", "apistrat total enroll, Wald CI", "vci(svytotal(~enroll, dstrat))")
def _py_strat_total_ci(c):
    return cols(c.dstrat().total("enroll", ci="wald"), WCI)


@check(
    "clus1_total_fpc",
    "taylor",
    "apiclus1 one-stage cluster total enroll, fpc",
    "v(svytotal(~enroll, dclus1))",
)
def _py_clus1_total_fpc(c):
    return cols(c.dclus1().total("enroll"))


@check(
    "clus1_mean_two_vars", "taylor", "apiclus1 means of api00 and api99", "v(svymean(~api00 + api99, dclus1))"
)
def _py_clus1_mean_two_vars(c):
    t = c.dclus1().mean(["api00", "api99"]).to_pandas()
    return np.concatenate([t["estimate"], t["se"]])


@check(
    "clus2_twostage",
    "taylor",
    "apiclus2 two-stage (fpc1+fpc2) mean api00 and total api99",
    "c(v(svymean(~api00, dclus2)), v(svytotal(~api99, dclus2)))",
)
def _py_clus2_twostage(c):
    d = c.dclus2()
    return np.concatenate([cols(d.mean("api00")), cols(d.total("api99"))])


@check(
    "degf",
    "taylor",
    "design degrees of freedom (strat, strat no fpc, clus1, clus2)",
    "c(degf(dstrat), degf(dstrat0), degf(dclus1), degf(dclus2))",
)
def _py_degf(c):
    return np.array([c.dstrat().degf, c.dstrat0().degf, c.dclus1().degf, c.dclus2().degf])


@check(
    "t_interval",
    "taylor",
    "t interval confint(df=degf) for mean and total (apiclus1)",
    "c(confint(svymean(~api00, dclus1), df = degf(dclus1)),\n"
    "  confint(svytotal(~enroll, dclus1), df = degf(dclus1)))",
)
def _py_t_interval(c):
    d = c.dclus1()
    return np.concatenate(
        [
            cols(d.mean("api00", ci="t"), ("ci_lower", "ci_upper")),
            cols(d.total("enroll", ci="t"), ("ci_lower", "ci_upper")),
        ]
    )


@check(
    "na_rm",
    "taylor",
    "apiclus1 mean avg.ed with na.rm (overall and by stype)",
    "c(v(svymean(~avg.ed, dclus1, na.rm = TRUE)), v(svyby(~avg.ed, ~stype, dclus1, svymean, na.rm = TRUE)))",
)
def _py_na_rm(c):
    d = c.dclus1()
    return np.concatenate(
        [cols(d.mean("avg.ed", na_rm=True)), cols(d.mean("avg.ed", by="stype", na_rm=True))]
    )


@check(
    "na_rm_empty_domain",
    "taylor",
    "mean acs.k3 by stype with na.rm: H and M schools have no acs.k3 at all (empty domains)",
    "v(svyby(~acs.k3, ~stype, dclus1, svymean, na.rm = TRUE))",
    known="for a domain with no non-missing value R's svymean returns 0 with SE 0 (colSums of an "
    "empty matrix); carepop deliberately returns NaN for the estimate and SE, with a note that the "
    "domain has no data. The non-empty domain agrees.",
)
def _py_na_rm_empty_domain(c):
    return cols(c.dclus1().mean("acs.k3", by="stype", na_rm=True))


@check(
    "fpc_fraction",
    "taylor",
    "apistrat with the fpc given as sampling fractions n_h/N_h",
    "c(v(svymean(~api00, dfrac)), v(svytotal(~enroll, dfrac)), degf(dfrac))",
)
def _py_fpc_fraction(c):
    d = Survey(c.strat, weight="pw", strata="stype", fpc="frac")
    return np.concatenate([cols(d.mean("api00")), cols(d.total("enroll")), [d.degf]])


@check(
    "nest",
    "taylor",
    "PSU codes restarting within strata (nest = TRUE): mean, by stype, degf",
    "c(v(svymean(~api00, dnest)), v(svyby(~api00, ~stype, dnest, svymean)), degf(dnest))",
)
def _py_nest(c):
    d = Survey(c.clus2, weight="pw", strata="pstrat", psu="pin", nest=True)
    return np.concatenate([cols(d.mean("api00")), cols(d.mean("api00", by="stype")), [d.degf]])


@check(
    "level_90",
    "taylor",
    "90% intervals: t for a mean, Woodruff for a median, beta for a proportion",
    "c(confint(svymean(~api00, dclus1), level = 0.9, df = degf(dclus1)),\n"
    "  vq(svyquantile(~api00, dclus1, 0.5, alpha = 0.1)),\n"
    '  vcp(svyciprop(~I(sch.wide == "Yes"), dclus1, method = "beta", level = 0.9)))',
)
def _py_level_90(c):
    d = c.dclus1()
    return np.concatenate(
        [
            cols(d.mean("api00", ci="t", level=0.9), ("ci_lower", "ci_upper")),
            cols(d.quantile("api00", 0.5, level=0.9), QCI),
            cols(d.proportion("sch.wide", ci="beta", level=0.9), ("estimate", "ci_lower", "ci_upper"), "Yes"),
        ]
    )


@check(
    "weights_from_fpc",
    "taylor",
    "apiclus1 without a weight column (weights N/n from the fpc)",
    "c(v(svytotal(~enroll, dclus1w)), v(svymean(~api00, dclus1w)))",
)
def _py_weights_from_fpc(c):
    d = Survey(c.clus1, psu="dnum", fpc="fpc")
    return np.concatenate([cols(d.total("enroll")), cols(d.mean("api00"))])
