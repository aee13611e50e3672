"""Quantiles (svyquantile): estimates, Woodruff intervals and SEs, overall and by domain.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import QCI, WCI, Check, cols, registry

from carepop import Survey

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- quantiles


@check(
    "median",
    "quantile",
    "svyquantile(~api00, 0.5): estimate, CI, SE (apistrat, apiclus1, apiclus2)",
    "c(vq(svyquantile(~api00, dstrat, 0.5)), vq(svyquantile(~api00, dclus1, 0.5)),\n"
    "  vq(svyquantile(~api00, dclus2, 0.5)))",
)
def _py_median(c):
    return np.concatenate([cols(d.quantile("api00", 0.5), QCI) for d in (c.dstrat(), c.dclus1(), c.dclus2())])


@check(
    "quantiles_other",
    "quantile",
    "svyquantile p = 0.1, 0.25, 0.9 (apiclus1, enroll)",
    "unlist(lapply(c(0.1, 0.25, 0.9), function(p) vq(svyquantile(~enroll, dclus1, p))))",
)
def _py_quantiles_other(c):
    d = c.dclus1()
    return np.concatenate([cols(d.quantile("enroll", p), QCI) for p in (0.1, 0.25, 0.9)])


@check(
    "median_wald",
    "quantile",
    "svyquantile(df = Inf) (normal interval), apiclus1",
    "vq(svyquantile(~api00, dclus1, 0.5, df = Inf))",
)
def _py_median_wald(c):
    return cols(c.dclus1().quantile("api00", 0.5, ci="wald"), QCI)


@check(
    "median_by",
    "quantile",
    "svyby(svyquantile) median by stype (apistrat, apiclus1)",
    "f <- function(d) vqby(svyby(~api00, ~stype, d, svyquantile, quantiles = 0.5, ci = TRUE,\n"
    '                             vartype = c("se", "ci")))\nc(f(dstrat), f(dclus1))',
)
def _py_median_by(c):
    return np.concatenate([cols(d.quantile("api00", 0.5, by="stype"), WCI) for d in (c.dstrat(), c.dclus1())])


@check(
    "median_by_twostage",
    "quantile",
    "svyby(svyquantile) median by stype, apiclus2 two-stage",
    'vqby(svyby(~api00, ~stype, dclus2, svyquantile, quantiles = 0.5, ci = TRUE, vartype = c("se", "ci")))',
)
def _py_median_by_twostage(c):
    return cols(c.dclus2().quantile("api00", 0.5, by="stype"), WCI)


@check(
    "quantile_srs_exact",
    "quantile",
    "apisrs (equal weights: p W hits a cumulative weight exactly), p = 0.25, 0.5, 0.75 overall and by stype",
    "c(unlist(lapply(c(0.25, 0.5, 0.75), function(p) vq(svyquantile(~api00, dsrs, p)))),\n"
    '  vqby(svyby(~api00, ~stype, dsrs, svyquantile, quantiles = 0.5, ci = TRUE, vartype = c("se", "ci"))))',
)
def _py_quantile_srs_exact(c):
    d = Survey(c.srs, weight="pw", fpc="fpc")
    return np.concatenate(
        [
            *(cols(d.quantile("api00", p), QCI) for p in (0.25, 0.5, 0.75)),
            cols(d.quantile("api00", 0.5, by="stype"), WCI),
        ]
    )
