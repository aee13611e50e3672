"""Replicate designs (JK1, JKn, BRR, Fay, bootstrap, SDR) on replicate weights R generated.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import QCI, WCI, Check, cols, registry

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- replicate designs


@check(
    "jk1",
    "replicate",
    "JK1 (as.svrepdesign(dclus1)) mean, total, degf",
    "c(v(svymean(~api00, rjk1)), v(svytotal(~enroll, rjk1)), degf(rjk1))",
)
def _py_jk1(c):
    d = c.rep("jk1", "jk1")
    return np.concatenate([cols(d.mean("api00")), cols(d.total("enroll")), [d.degf]])


@check(
    "jk1_domain",
    "replicate",
    "JK1 mean and total by stype, deff",
    "b <- svyby(~api00, ~stype, rjk1, svymean, deff = TRUE); b2 <- svyby(~enroll, ~stype, rjk1, svytotal)\n"
    "c(v(b), deff(b), v(b2))",
)
def _py_jk1_domain(c):
    d = c.rep("jk1", "jk1")
    return np.concatenate(
        [
            cols(d.mean("api00", by="stype", deff=True), ("estimate", "se", "deff")),
            cols(d.total("enroll", by="stype")),
        ]
    )


@check(
    "jk1_ratio_prop",
    "replicate",
    "JK1 ratio api00/api99, proportions of sch.wide",
    "r <- svyratio(~api00, ~api99, rjk1); c(coef(r), SE(r), v(svymean(~sch.wide, rjk1)))",
)
def _py_jk1_ratio_prop(c):
    d = c.rep("jk1", "jk1")
    return np.concatenate([cols(d.ratio("api00", "api99")), cols(d.proportion("sch.wide"))])


@check(
    "jk1_quantile",
    "replicate",
    "JK1 median api00 (overall and by stype)",
    "c(vq(svyquantile(~api00, rjk1, 0.5)),\n"
    '  vqby(svyby(~api00, ~stype, rjk1, svyquantile, quantiles = 0.5, ci = TRUE, vartype = c("se", "ci"))))',
)
def _py_jk1_quantile(c):
    d = c.rep("jk1", "jk1")
    return np.concatenate(
        [cols(d.quantile("api00", 0.5), QCI), cols(d.quantile("api00", 0.5, by="stype"), WCI)]
    )


@check(
    "jk1_ciprop_beta",
    "replicate",
    "JK1 svyciprop beta",
    'vcp(svyciprop(~I(sch.wide == "Yes"), rjk1, method = "beta"))',
)
def _py_jk1_ciprop_beta(c):
    return cols(
        c.rep("jk1", "jk1").proportion("sch.wide", ci="beta"), ("estimate", "ci_lower", "ci_upper"), "Yes"
    )


@check(
    "jk1_mse",
    "replicate",
    "JK1 with mse = TRUE: mean, total",
    "c(v(svymean(~api00, rjk1m)), v(svytotal(~enroll, rjk1m)))",
)
def _py_jk1_mse(c):
    d = c.rep("jk1", "jk1", mse=True)
    return np.concatenate([cols(d.mean("api00")), cols(d.total("enroll"))])


@check(
    "jkn",
    "replicate",
    "JKn (as.svrepdesign(dstrat), R's rscales) mean, total, by awards, degf",
    "c(v(svymean(~api00, rjkn)), v(svytotal(~enroll, rjkn)),\n"
    "  v(svyby(~api00, ~awards, rjkn, svymean)), degf(rjkn))",
)
def _py_jkn(c):
    d = c.rep("jkn", "jkn")
    return np.concatenate(
        [cols(d.mean("api00")), cols(d.total("enroll")), cols(d.mean("api00", by="awards")), [d.degf]]
    )


@check(
    "jkn_shuffled",
    "replicate",
    "JKn as above with the rows shuffled",
    "c(v(svymean(~api00, rjkn)), v(svytotal(~enroll, rjkn)),\n"
    "  v(svyby(~api00, ~awards, rjkn, svymean)), degf(rjkn))",
)
def _py_jkn_shuffled(c):
    d = c.rep("jkn", "jkn", shuffle=True)
    return np.concatenate(
        [cols(d.mean("api00")), cols(d.total("enroll")), cols(d.mean("api00", by="awards")), [d.degf]]
    )


@check(
    "jkn_inferred",
    "replicate",
    "JKn without fpc, rscales inferred by carepop from the weights",
    "c(v(svymean(~api00, rjkn0)), v(svyby(~api00, ~stype, rjkn0, svymean)))",
)
def _py_jkn_inferred(c):
    d = c.rep("jkn0", "jkn", shuffle=True, pass_rscales=False, pass_scale=False)
    return np.concatenate([cols(d.mean("api00")), cols(d.mean("api00", by="stype"))])


@check(
    "brr",
    "replicate",
    "BRR (as.svrepdesign, 20 strata of 2 PSUs) mean, total, by stype, median",
    "c(v(svymean(~api00, rbrr)), v(svytotal(~enroll, rbrr, na.rm = TRUE)),\n"
    "  v(svyby(~api00, ~stype, rbrr, svymean)),\n"
    "  vq(svyquantile(~api00, rbrr, 0.5)))",
)
def _py_brr(c):
    d = c.rep("brr", "brr", pass_scale=False, pass_rscales=False)
    return np.concatenate(
        [
            cols(d.mean("api00")),
            cols(d.total("enroll", na_rm=True)),
            cols(d.mean("api00", by="stype")),
            cols(d.quantile("api00", 0.5), QCI),
        ]
    )


@check(
    "fay",
    "replicate",
    "Fay rho = 0.3: mean, ratio, by stype, proportion",
    "r <- svyratio(~api00, ~api99, rfay)\n"
    "c(v(svymean(~api00, rfay)), coef(r), SE(r), v(svyby(~api00, ~stype, rfay, svymean)),\n"
    "  v(svymean(~sch.wide, rfay)))",
)
def _py_fay(c):
    d = c.rep("fay", "fay", rho=0.3, pass_scale=False, pass_rscales=False)
    return np.concatenate(
        [
            cols(d.mean("api00")),
            cols(d.ratio("api00", "api99")),
            cols(d.mean("api00", by="stype")),
            cols(d.proportion("sch.wide")),
        ]
    )


@check(
    "bootstrap",
    "replicate",
    "bootstrap (50 replicates): mean, total, by stype, median",
    "c(v(svymean(~api00, rboot)), v(svytotal(~enroll, rboot)), v(svyby(~api00, ~stype, rboot, svymean)),\n"
    "  vq(svyquantile(~api00, rboot, 0.5)))",
)
def _py_bootstrap(c):
    d = c.rep("boot", "bootstrap")
    return np.concatenate(
        [
            cols(d.mean("api00")),
            cols(d.total("enroll")),
            cols(d.mean("api00", by="stype")),
            cols(d.quantile("api00", 0.5), QCI),
        ]
    )


@check(
    "bootstrap_mse",
    "replicate",
    "bootstrap with mse = TRUE: mean, total, by stype",
    "c(v(svymean(~api00, rbootm)), v(svytotal(~enroll, rbootm)), v(svyby(~api00, ~stype, rbootm, svymean)))",
)
def _py_bootstrap_mse(c):
    d = c.rep("boot", "bootstrap", mse=True)
    return np.concatenate([cols(d.mean("api00")), cols(d.total("enroll")), cols(d.mean("api00", by="stype"))])


@check(
    "sdr",
    "replicate",
    "successive-difference (svrepdesign type = 'successive-difference')",
    "c(v(svymean(~api00, rsdr)), v(svytotal(~api99, rsdr)), v(svyby(~api00, ~stype, rsdr, svymean)))",
)
def _py_sdr(c):
    d = c.rep("sdr", "sdr", pass_scale=False, pass_rscales=False)
    return np.concatenate([cols(d.mean("api00")), cols(d.total("api99")), cols(d.mean("api00", by="stype"))])


@check(
    "rep_deff",
    "replicate",
    "deff on replicate designs (JK1 mean and total; bootstrap mean)",
    "c(deff(svymean(~api00, rjk1, deff = TRUE)), deff(svytotal(~enroll, rjk1, deff = TRUE)),\n"
    "  deff(svymean(~api00, rboot, deff = TRUE)))",
)
def _py_rep_deff(c):
    d = c.rep("jk1", "jk1")
    b = c.rep("boot", "bootstrap")
    return np.concatenate(
        [
            cols(d.mean("api00", deff=True), ("deff",)),
            cols(d.total("enroll", deff=True), ("deff",)),
            cols(b.mean("api00", deff=True), ("deff",)),
        ]
    )


@check(
    "rep_logit",
    "replicate",
    "svyciprop logit on replicate designs (JK1 overall and by stype, bootstrap)",
    'c(vcp(svyciprop(~I(sch.wide == "Yes"), rjk1, method = "logit")),\n'
    '  vcpby(svyby(~I(sch.wide == "Yes"), ~stype, rjk1, svyciprop, vartype = "ci", method = "logit")),\n'
    '  vcp(svyciprop(~I(sch.wide == "Yes"), rboot, method = "logit")))',
    tol=1e-8,
    note="R refits a logistic svyglm by IRLS on every replicate; agreement is to its convergence "
    "tolerance (`rep_logit_closed_form` shows carepop matches R's definition to ~1e-15)",
)
def _py_rep_logit(c):
    n = ("estimate", "ci_lower", "ci_upper")
    j = c.rep("jk1", "jk1")
    b = c.rep("boot", "bootstrap")
    return np.concatenate(
        [
            cols(j.proportion("sch.wide", ci="logit"), n, "Yes"),
            cols(j.proportion("sch.wide", by="stype", ci="logit"), n, "Yes"),
            cols(b.proportion("sch.wide", ci="logit"), n, "Yes"),
        ]
    )


@check(
    "rep_logit_closed_form",
    "replicate",
    "logit interval on replicate designs from the replicates' logits computed directly in R "
    "(JK1 overall and per stype subset, bootstrap)",
    'c(logit_rep(rjk1), unlist(lapply(c("E", "H", "M"), function(l) logit_rep(subset(rjk1, stype == l)))),\n'
    "  logit_rep(rboot))",
)
def _py_rep_logit_closed_form(c):
    n = ("estimate", "ci_lower", "ci_upper")
    j = c.rep("jk1", "jk1")
    b = c.rep("boot", "bootstrap")
    by = j.proportion("sch.wide", by="stype", ci="logit").to_pandas()
    by = by[by["level"] == "Yes"][list(n)].to_numpy().ravel()
    return np.concatenate(
        [
            cols(j.proportion("sch.wide", ci="logit"), n, "Yes"),
            by,
            cols(b.proportion("sch.wide", ci="logit"), n, "Yes"),
        ]
    )


@check(
    "rep_beta_by",
    "replicate",
    "svyby(svyciprop, method = 'beta') by stype on JK1",
    'vcpby(svyby(~I(sch.wide == "Yes"), ~stype, rjk1, svyciprop, vartype = "ci", method = "beta"))',
)
def _py_rep_beta_by(c):
    return cols(
        c.rep("jk1", "jk1").proportion("sch.wide", by="stype", ci="beta"),
        ("estimate", "ci_lower", "ci_upper"),
        "Yes",
    )
