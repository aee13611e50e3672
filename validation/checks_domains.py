"""Domains (svyby): means and totals by domain, deff, per-domain t intervals.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import WCI, Check, cols, registry, tdom

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- Taylor: domains


@check(
    "strat_by_stype",
    "domain",
    "apistrat mean api00 by stype: se, Wald CI, deff",
    "b <- svyby(~api00, ~stype, dstrat, svymean, deff = TRUE); c(vci(b), deff(b))",
)
def _py_strat_by_stype(c):
    return cols(c.dstrat().mean("api00", by="stype", ci="wald", deff=True), (*WCI, "deff"))


@check(
    "strat_by_awards",
    "domain",
    "apistrat mean api00 by awards (cuts across strata), deff",
    "b <- svyby(~api00, ~awards, dstrat, svymean, deff = TRUE); c(vci(b), deff(b))",
)
def _py_strat_by_awards(c):
    return cols(c.dstrat().mean("api00", by="awards", ci="wald", deff=True), (*WCI, "deff"))


@check(
    "clus1_by_stype",
    "domain",
    "apiclus1 mean api00 by stype (domains cut clusters), deff",
    "b <- svyby(~api00, ~stype, dclus1, svymean, deff = TRUE); c(vci(b), deff(b))",
)
def _py_clus1_by_stype(c):
    return cols(c.dclus1().mean("api00", by="stype", ci="wald", deff=True), (*WCI, "deff"))


@check(
    "clus1_by_two",
    "domain",
    "apiclus1 mean api00 by stype + awards",
    "b <- svyby(~api00, ~stype + awards, dclus1, svymean, deff = TRUE)\n"
    "b <- b[order(b$stype, b$awards), ]; c(coef(b), SE(b), deff(b))",
)
def _py_clus1_by_two(c):
    return cols(c.dclus1().mean("api00", by=["stype", "awards"], deff=True), ("estimate", "se", "deff"))


@check(
    "strat_by_two",
    "domain",
    "apistrat mean api00 by stype + awards",
    "b <- svyby(~api00, ~stype + awards, dstrat, svymean)\nb <- b[order(b$stype, b$awards), ]; v(b)",
)
def _py_strat_by_two(c):
    return cols(c.dstrat().mean("api00", by=["stype", "awards"]))


@check(
    "clus2_by_stype",
    "domain",
    "apiclus2 two-stage mean api00 by stype, deff",
    "b <- svyby(~api00, ~stype, dclus2, svymean, deff = TRUE); c(v(b), deff(b))",
)
def _py_clus2_by_stype(c):
    return cols(c.dclus2().mean("api00", by="stype", deff=True), ("estimate", "se", "deff"))


@check(
    "totals_by",
    "domain",
    "total enroll by stype (apistrat, apiclus1), deff",
    "b1 <- svyby(~enroll, ~stype, dstrat, svytotal, deff = TRUE)\n"
    "b2 <- svyby(~enroll, ~stype, dclus1, svytotal, deff = TRUE)\nc(v(b1), deff(b1), v(b2), deff(b2))",
)
def _py_totals_by(c):
    n = ("estimate", "se", "deff")
    return np.concatenate(
        [
            cols(c.dstrat().total("enroll", by="stype", deff=True), n),
            cols(c.dclus1().total("enroll", by="stype", deff=True), n),
        ]
    )


@check(
    "domain_t",
    "domain",
    "apiclus1 mean by stype: t interval with each domain's degf",
    'tdom(dclus1, "stype", function(d) svymean(~api00, d))',
)
def _py_domain_t(c):
    return tdom(c.dclus1().mean("api00", by="stype", ci="t"))


@check(
    "domain_t_total",
    "domain",
    "apistrat total by awards: t interval with each domain's degf",
    'tdom(dstrat, "awards", function(d) svytotal(~enroll, d))',
)
def _py_domain_t_total(c):
    return tdom(c.dstrat().total("enroll", by="awards", ci="t"))
