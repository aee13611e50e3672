"""Lonely PSUs: every survey.lonely.psu policy at stage 1 and stage 2.

Part of the live R cross-check: see ``r_crosscheck.py``."""

from __future__ import annotations

import numpy as np
from r_harness import Check, cols, fails, registry

CHECKS: list[Check] = []
check = registry(CHECKS)

# ---- lonely PSUs

for _pol in ("remove", "certainty", "adjust", "average"):

    def _mk(pol):
        @check(
            f"lonely_strat_{pol}",
            "lonely",
            f"apistrat with a 1-row stratum (fpc), {pol}: mean, total, by awards",
            f'with_lonely("{pol}", {{ d <- lonely_design(1)\n'
            "  c(v(svymean(~api00, d)), v(svytotal(~enroll, d)), v(svyby(~api00, ~awards, d, svymean))) })",
        )
        def _(c):
            d = c.lonely(1, pol)
            return np.concatenate(
                [cols(d.mean("api00")), cols(d.total("enroll")), cols(d.mean("api00", by="awards"))]
            )

        @check(
            f"lonely_clus_{pol}",
            "lonely",
            f"apiclus1 in 3 strata, one with a single PSU, {pol}: mean, total, by stype",
            f'with_lonely("{pol}", {{ d <- lonely_design(2)\n'
            "  c(v(svymean(~api00, d)), v(svytotal(~enroll, d)), v(svyby(~api00, ~stype, d, svymean))) })",
        )
        def _(c):
            d = c.lonely(2, pol)
            return np.concatenate(
                [cols(d.mean("api00")), cols(d.total("enroll")), cols(d.mean("api00", by="stype"))]
            )

    _mk(_pol)


@check(
    "lonely_fail",
    "lonely",
    "policy fail: R stops, carepop raises CarepopError (1 = error)",
    'with_lonely("fail", c(inherits(try(svymean(~api00, lonely_design(1)), silent = TRUE), "try-error"),\n'
    '                      inherits(try(svymean(~api00, lonely_design(2)), silent = TRUE), "try-error")))',
)
def _py_lonely_fail(c):
    return np.concatenate(
        [fails(lambda: c.lonely(1, "fail").mean("api00")), fails(lambda: c.lonely(2, "fail").mean("api00"))]
    )


for _pol in ("remove", "certainty", "adjust"):

    def _mk2(pol):
        @check(
            f"lonely_stage2_{pol}",
            "lonely",
            f"apiclus2 two-stage with one PSU down to a single SSU, {pol}",
            f'with_lonely("{pol}", {{ d <- lonely_design(3)\n'
            "  c(v(svymean(~api00, d)), v(svytotal(~enroll, d, na.rm = TRUE)),\n"
            "    v(svyby(~api00, ~stype, d, svymean)))"
            " })",
        )
        def _py(c):
            d = c.lonely(3, pol)
            return np.concatenate(
                [
                    cols(d.mean("api00")),
                    cols(d.total("enroll", na_rm=True)),
                    cols(d.mean("api00", by="stype")),
                ]
            )

    _mk2(_pol)


@check(
    "lonely_stage2_fail_average",
    "lonely",
    "stage-2 lonely SSU: fail (R stops) and average (R gives NaN); carepop raises for both (1 = yes)",
    'c(with_lonely("fail", inherits(try(svymean(~api00, lonely_design(3)), silent = TRUE), "try-error")),\n'
    '  with_lonely("average", is.nan(SE(svymean(~api00, lonely_design(3))))))',
)
def _py_lonely_stage2_fail_average(c):
    return np.concatenate(
        [
            fails(lambda: c.lonely(3, "fail").mean("api00")),
            fails(lambda: c.lonely(3, "average").mean("api00")),
        ]
    )
