"""Ratios, proportions and their intervals (svyratio, svymean of a factor, svyciprop).

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import WCI, Check, by_level, cols, registry

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- ratios


@check(
    "ratio",
    "ratio",
    "svyratio api00/api99 with deff (apistrat, apiclus1)",
    "r1 <- svyratio(~api00, ~api99, dstrat, deff = TRUE)\n"
    "r2 <- svyratio(~api00, ~api99, dclus1, deff = TRUE)\n"
    "c(coef(r1), SE(r1), deff(r1), coef(r2), SE(r2), deff(r2))",
)
def _py_ratio(c):
    n = ("estimate", "se", "deff")
    return np.concatenate(
        [
            cols(c.dstrat().ratio("api00", "api99", deff=True), n),
            cols(c.dclus1().ratio("api00", "api99", deff=True), n),
        ]
    )


@check(
    "ratio_by",
    "ratio",
    "svyratio api00/api99 by stype, deff (apistrat, apiclus1)",
    "b1 <- svyby(~api00, ~stype, dstrat, svyratio, denominator = ~api99, deff = TRUE)\n"
    "b2 <- svyby(~api00, ~stype, dclus1, svyratio, denominator = ~api99, deff = TRUE)\n"
    "c(v(b1), deff(b1), v(b2), deff(b2))",
)
def _py_ratio_by(c):
    n = ("estimate", "se", "deff")
    return np.concatenate(
        [
            cols(c.dstrat().ratio("api00", "api99", by="stype", deff=True), n),
            cols(c.dclus1().ratio("api00", "api99", by="stype", deff=True), n),
        ]
    )


@check(
    "ratio_ci_t",
    "ratio",
    "apiclus2 two-stage ratio with t interval",
    "r <- svyratio(~api00, ~api99, dclus2); c(coef(r), SE(r), confint(r, df = degf(dclus2)))",
)
def _py_ratio_ci_t(c):
    return cols(c.dclus2().ratio("api00", "api99", ci="t"), WCI)


# ---- proportions


@check(
    "prop",
    "proportion",
    "svymean(~sch.wide) with deff (apiclus1, apistrat)",
    "p1 <- svymean(~sch.wide, dclus1, deff = TRUE); p2 <- svymean(~sch.wide, dstrat, deff = TRUE)\n"
    "c(v(p1), deff(p1), v(p2), deff(p2))",
)
def _py_prop(c):
    n = ("estimate", "se", "deff")
    return np.concatenate(
        [
            cols(c.dclus1().proportion("sch.wide", deff=True), n),
            cols(c.dstrat().proportion("sch.wide", deff=True), n),
        ]
    )


@check(
    "prop_by",
    "proportion",
    "svyby(~sch.wide, ~stype, svymean) with deff (apiclus1)",
    "b <- svyby(~sch.wide, ~stype, dclus1, svymean, deff = TRUE); c(v(b), unlist(deff(b)))",
)
def _py_prop_by(c):
    return by_level(c.dclus1().proportion("sch.wide", by="stype", deff=True), ("estimate", "se", "deff"))


@check(
    "ciprop_logit",
    "proportion",
    "svyciprop logit, sch.wide == Yes (apiclus1, apistrat, apiclus2)",
    'c(vcp(svyciprop(~I(sch.wide == "Yes"), dclus1, method = "logit")),\n'
    '  vcp(svyciprop(~I(sch.wide == "Yes"), dstrat, method = "logit")),\n'
    '  vcp(svyciprop(~I(sch.wide == "Yes"), dclus2, method = "logit")))',
    tol=1e-8,
    note="R fits a logistic svyglm by IRLS; agreement is to its convergence tolerance",
)
def _py_ciprop_logit(c):
    n = ("estimate", "ci_lower", "ci_upper")
    return np.concatenate(
        [
            cols(d.proportion("sch.wide", ci="logit"), n, level="Yes")
            for d in (c.dclus1(), c.dstrat(), c.dclus2())
        ]
    )


@check(
    "ciprop_beta",
    "proportion",
    "svyciprop beta (Korn-Graubard), sch.wide == Yes",
    'c(vcp(svyciprop(~I(sch.wide == "Yes"), dclus1, method = "beta")),\n'
    '  vcp(svyciprop(~I(sch.wide == "Yes"), dstrat, method = "beta")),\n'
    '  vcp(svyciprop(~I(sch.wide == "Yes"), dclus2, method = "beta")))',
)
def _py_ciprop_beta(c):
    n = ("estimate", "ci_lower", "ci_upper")
    return np.concatenate(
        [
            cols(d.proportion("sch.wide", ci="beta"), n, level="Yes")
            for d in (c.dclus1(), c.dstrat(), c.dclus2())
        ]
    )


@check(
    "ciprop_by",
    "proportion",
    "svyby(svyciprop) by stype, logit and beta (apiclus1, apistrat)",
    'c(vcpby(svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, vartype = "ci", method = "logit")),\n'
    '  vcpby(svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, vartype = "ci", method = "beta")),\n'
    '  vcpby(svyby(~I(sch.wide == "Yes"), ~stype, dstrat, svyciprop, vartype = "ci", method = "logit")),\n'
    '  vcpby(svyby(~I(sch.wide == "Yes"), ~stype, dstrat, svyciprop, vartype = "ci", method = "beta")))',
    tol=1e-8,
    note="logit via IRLS, as above",
)
def _py_ciprop_by(c):
    n = ("estimate", "ci_lower", "ci_upper")
    out = []
    for d in (c.dclus1(), c.dstrat()):
        for m in ("logit", "beta"):
            out.append(cols(d.proportion("sch.wide", by="stype", ci=m), n, level="Yes"))
    return np.concatenate(out)


@check(
    "prop_by_two",
    "proportion",
    "svyby(~sch.wide, ~stype + awards, svymean), apiclus1",
    "b <- svyby(~sch.wide, ~stype + awards, dclus1, svymean)\nb <- b[order(b$stype, b$awards), ]; v(b)",
)
def _py_prop_by_two(c):
    return by_level(c.dclus1().proportion("sch.wide", by=["stype", "awards"]))


@check(
    "prop_t_twostage",
    "proportion",
    "apiclus2 two-stage proportion: t interval, deff",
    "p <- svymean(~sch.wide, dclus2, deff = TRUE); ci <- confint(p, df = degf(dclus2))\n"
    "c(v(p), ci[, 1], ci[, 2], deff(p))",
)
def _py_prop_t_twostage(c):
    return cols(c.dclus2().proportion("sch.wide", ci="t", deff=True), (*WCI, "deff"))


@check(
    "ciprop_edge_logit",
    "proportion",
    "svyciprop logit by awards on apistrat: every award school has sch.wide == Yes (p = 1)",
    'vcpby(svyby(~I(sch.wide == "Yes"), ~awards, dstrat, svyciprop, vartype = "ci", method = "logit"))',
    tol=1e-8,
    note="at p = 1 R's IRLS stops short of an infinite logit (bounds 1 - 3e-12); carepop gives exactly 1",
)
def _py_ciprop_edge_logit(c):
    est = c.dstrat().proportion("sch.wide", by="awards", ci="logit")
    return cols(est, ("estimate", "ci_lower", "ci_upper"), "Yes")


@check(
    "ciprop_edge_beta",
    "proportion",
    "svyciprop beta by awards on apistrat, with a domain where p = 1",
    'vcpby(svyby(~I(sch.wide == "Yes"), ~awards, dstrat, svyciprop, vartype = "ci", method = "beta"))',
    known="where the estimated proportion is 0 or 1 its variance is 0 and R's effective sample size "
    "p(1-p)/var is 0/0, so R's Korn-Graubard interval is NaN; carepop deliberately uses the domain's "
    "row count as the effective sample size there (documented in carepop.core.estimation.ci) and gives "
    "[0.96787, 1]. The other domain agrees to 1e-15.",
)
def _py_ciprop_edge_beta(c):
    est = c.dstrat().proportion("sch.wide", by="awards", ci="beta")
    return cols(est, ("estimate", "ci_lower", "ci_upper"), "Yes")
