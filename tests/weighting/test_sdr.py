"""Successive difference replication made from a design (``replicate_weights(survey, "sdr")``,
:mod:`carepop.weighting.sdr`) against svrep's ``as_sdr_design`` / ``make_sdr_replicate_factors``,
and the identities SDR satisfies exactly.

The reference is the R package svrep (Schneider) at GitHub ``bschneidr/svrep`` commit
``c1362229538f3441a5132ccc94f4d37496c88604`` (version 0.9.1.9000; its SDR code, the row
assignment, ``compress_design`` and the Hadamard helpers are unchanged since the CRAN release
0.9.1), installed from source into a scratch library with R 4.2.2, ``survey`` 4.1.1 and Debian's
r-cran-mvtnorm. CI cannot install it, so its numbers are carried here. Every R session started in
the repository root with::

    suppressMessages({library(survey); library(svrep, lib.loc = "/tmp/rlib")})
    # svrep 0.9.1's fallback sort_by() for R < 4.4 calls base R 4.4's internal .formula2varlist,
    # which R 4.2.2 lacks (as_sdr_design fails without it): a minimal stand-in for its formulas
    .formula2varlist <- function(formula, data)
      lapply(attr(terms(formula), "term.labels"), function(v) eval(str2lang(v), data, environment(formula)))
    apistrat <- read.csv("tests/data/apistrat.csv", stringsAsFactors = TRUE)
    apiclus1 <- read.csv("tests/data/apiclus1.csv", stringsAsFactors = TRUE)
    apistrat$rowid <- seq_len(nrow(apistrat)); apiclus1$rowid <- seq_len(nrow(apiclus1))
    dstrat  <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
    dstrat0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
    dclus1  <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    # the sign pattern of a factor matrix (rows "-0+" joined by "/") and its md5
    sig <- function(F) {
      s <- paste(apply(sign(round(F - 1, 12)), 1, function(x) paste(c("-", "0", "+")[x + 2], collapse = "")),
                 collapse = "/")
      f <- tempfile(); writeLines(s, f, sep = ""); unname(tools::md5sum(f))
    }
    g <- function(x) cat(paste(sprintf("%.15g", x), collapse = ", "), "\\n")
    show <- function(r, d, id) {      # a replicate design r made from d; id: a row identifier
      W <- weights(r, "analysis")
      cat(ncol(W), r$scale, unique(r$rscales), r$mse, sig(W / weights(d)), "\\n")
      g(c(sum(W), sum(W^2), sum(id * (W %*% seq_len(ncol(W))))))
      m <- svymean(~api00, r); t <- svytotal(~enroll, r); b <- svyby(~api00, ~awards, r, svymean)
      g(c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b), degf(r)))
    }

The factor values take three levels, so a factor matrix is compared whole and exactly through its
sign pattern (md5 of the same string built in Python), and its values, weights and SEs to
``RTOL = 1e-12`` (measured agreement: about 1e-15).
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepop import Survey
from carepop.errors import CarepopError
from carepop.weighting import replicate_weights
from carepop.weighting.replicates import hadamard
from carepop.weighting.sdr import sdr_hadamard, sdr_row_assignment, sdr_unit_factors
from tests.golden import close

LOW, HIGH = 1 - 2**-0.5, 1 + 2**-0.5


def repw(d: Survey) -> np.ndarray:
    return d.data[[c for c in d.data.columns if str(c).startswith("repw_")]].to_numpy()


def signs(F: np.ndarray) -> str:
    """R's ``sig()``: the rows of sign(F - 1) as "-0+" strings joined by "/"."""
    s = np.sign(np.round(F - 1, 12)).astype(int) + 1
    return "/".join("".join("-0+"[v] for v in row) for row in s)


def md5(F: np.ndarray) -> str:
    return hashlib.md5(signs(F).encode()).hexdigest()


def r_show(d: Survey, base: Survey, ids: np.ndarray) -> tuple[list[float], list[float]]:
    """carepop's side of R's ``show()``: fingerprints of the weights, then estimates and SEs."""
    W = repw(d)
    fp = [W.sum(), (W**2).sum(), ids @ (W @ np.arange(1, W.shape[1] + 1))]
    out: list[float] = []
    for e in (d.mean("api00"), d.total("enroll"), d.mean("api00", by="awards")):
        t = e.to_pandas()
        out += [*t["estimate"], *t["se"]]
    return fp, [*out, d.degf]


@pytest.fixture(scope="module")
def strat(apistrat):
    return apistrat.assign(rowid=np.arange(1, len(apistrat) + 1))


@pytest.fixture(scope="module")
def clus1(apiclus1):
    return apiclus1.assign(rowid=np.arange(1, len(apiclus1) + 1))


# --------------------------------------------------------------------------- factors of n units

# (n, replicates, use_normal_hadamard, R, md5 of the sign pattern). R::
#
#   cases <- list(c(2,4,0), c(3,4,0), c(4,4,0), c(4,4,1), c(5,4,0), c(9,4,0), c(13,4,1), c(17,8,0),
#                 c(40,8,1), c(60,8,0), c(15,16,0), c(16,16,1), c(17,16,0), c(50,16,1), c(20,20,1),
#                 c(45,20,1), c(27,28,1), c(100,28,1), c(31,36,1), c(200,20,0), c(200,80,1),
#                 c(101,100,1), c(150,5,0))
#   for (x in cases) {
#     F <- suppressMessages(make_sdr_replicate_factors(x[1], x[2], use_normal_hadamard = x[3] == 1))
#     cat(x[1], x[2], x[3], ncol(F), sig(F), "\n")
#   }
#
# They cover n <= R (circular, SD2), n > R with one step size per cycle, the step sizes capped at
# R - 1 with the pairs repeated (n = 9 and 13 on 4 rows, 60 on 8, 150 on 8), step sizes sharing a
# factor with R (cycles of +2, +4 on 8 rows), svrep's doubled H4 (4, 8, 16, 32) and R's normal
# matrices (stored 16, 28, 36; doubled 4; Paley 20, 80, 104).
SVREP_FACTORS = [
    (2, 4, False, 4, "cac27354f0154f84f86c5cc6afa3a5b3"),
    (3, 4, False, 4, "b9cfbed2d7caa1353a92807e47c82363"),
    (4, 4, False, 4, "43e21b69121ab44527a87d4b6383d132"),
    (4, 4, True, 4, "21016e0cc56031cf588809a18b0095cd"),
    (5, 4, False, 4, "33f6fbf2fdd68c823e4547ffdb0b2a07"),
    (9, 4, False, 4, "0e3906d5d0fa5f03abe1a4e206de53e8"),
    (13, 4, True, 4, "8d6beb1daa0c5539bda065d2bb475c28"),
    (17, 8, False, 8, "f7b8e03345f5b624b5937bdc35e4cf46"),
    (40, 8, True, 8, "0a78399a17e76d4a3f39ea0fd0a5eb44"),
    (60, 8, False, 8, "eee034d02c8e8cd5278a8ecaf3ef749f"),
    (15, 16, False, 16, "5841c12eaf845483caf934b191cdb4d7"),
    (16, 16, True, 16, "21698b602f17ac006ebe1960f3d32be1"),
    (17, 16, False, 16, "09638e457082de1b25875e9b9cdd0fbd"),
    (50, 16, True, 16, "c36899975c49ee2b8fb112bb88ea2d6a"),
    (20, 20, True, 20, "f17e7033ff4cdc28731b43aefc91551d"),
    (45, 20, True, 20, "0e6bcf88ebca4b91af3b0b1a10f692c3"),
    (27, 28, True, 28, "87b0efea3d53d4f43ce87aa80a495d19"),
    (100, 28, True, 28, "3ea0905c84c2101a08b7b1c8490b37ce"),
    (31, 36, True, 36, "a29b4ddcd1d6a890ad844da6e4d9c307"),
    (200, 20, False, 32, "6f3b09f3163447b0677d0c27ce9ef397"),
    (200, 80, True, 80, "82083bae467b19afdde697019e196721"),
    (101, 100, True, 104, "b64bb4f23b9559550b1cfab0e36e56e3"),
    (150, 5, False, 8, "c1065ead7d441e79c78aef0b163ec17e"),
]


@pytest.mark.parametrize(("n", "target", "normal", "R", "digest"), SVREP_FACTORS)
def test_unit_factors_equal_svrep(n, target, normal, R, digest):
    F = sdr_unit_factors(n, sdr_hadamard(target, normal, hadamard))
    assert F.shape == (n, R)
    assert md5(F) == digest


def test_factor_values_and_small_matrices_equal_svrep():
    """R (svrep's own examples; the normal one is Table 1 of Ash 2014)::

    F <- make_sdr_replicate_factors(4, 4, use_normal_hadamard = TRUE); sig(F) written out
    F <- make_sdr_replicate_factors(4, 4); cat(sprintf("%.17g", sort(unique(as.vector(F)))))
    # 0.29289321881345243 1 1.7071067811865475
    """
    normal = sdr_unit_factors(4, sdr_hadamard(4, True, hadamard))
    assert signs(normal) == "0+0+/0-+0/0+0-/0--0"
    F = sdr_unit_factors(4, sdr_hadamard(4))
    assert signs(F) == "+0+0/-00+/0-0-/0+-0"
    assert sorted(set(F.ravel().tolist())) == [0.29289321881345243, 1.0, 1.7071067811865475]


def test_row_assignment_is_ash_ra1():
    """n <= R: rows (i, i+1), the last (n, 1) (circular, SD2). n > R: the pairs (i, i + s) of step
    sizes s = 1, 2, ... walked along the cycles of +s, repeated when the step sizes (at most
    R - 1) run out."""
    np.testing.assert_array_equal(sdr_row_assignment(5, 8) + 1, [[1, 2], [2, 3], [3, 4], [4, 5], [5, 1]])
    # 13 units on 4 rows: step 1; step 2 (cycles 1-3-1, 2-4-2); step 3; then step 1 again
    np.testing.assert_array_equal(
        sdr_row_assignment(13, 4) + 1,
        [[1, 2], [2, 3], [3, 4], [4, 1], [1, 3], [3, 1], [2, 4], [4, 2], [1, 4], [4, 3], [3, 2], [2, 1],
         [1, 2]],
    )  # fmt: skip


@pytest.mark.parametrize("target", [1, 4, 5, 20, 64, 80, 100])
def test_hadamard_orders(target):
    """svrep's choice of R: 4 * 2^k >= target (doubled H4), or R's normal matrix of
    survey::hadamard(target - 1) (first row and column all ones); H H' = R I either way."""
    H = sdr_hadamard(target)
    R = H.shape[0]
    assert R >= max(target, 4) and R // 4 & (R // 4 - 1) == 0 and R < 2 * max(target, 4)
    np.testing.assert_array_equal(H @ H.T, R * np.eye(R))
    N = sdr_hadamard(target, True, hadamard)
    assert N.shape[0] == {1: 4, 4: 4, 5: 8, 20: 20, 64: 64, 80: 80, 100: 104}[target]
    np.testing.assert_array_equal(N @ N.T, N.shape[0] * np.eye(N.shape[0]))
    assert (N[0] == 1).all() and (N[:, 0] == 1).all()


# --------------------------------------------------------------------------- designs, svrep


def test_cluster_design_equals_svrep(clus1):
    """dclus1: 15 districts, one fpc; the default order (districts by value) is svrep's
    ``sort_variable = "dnum"``; 16 replicates, so n <= R (SD2). R::

    r <- as_sdr_design(dclus1, replicates = 16, sort_variable = "dnum"); show(r, dclus1, apiclus1$snum)
    # 16 0.25 1 TRUE 5cbfb7acfbf58d0a678292f4ec4b46f7
    # 101663.079542323, 4349583.30790558, 3266962153.57561
    # 644.169398907104, 23.9932545155681, 3404940.13452911, 968447.497750779, 625.415094339623,
    # 651.815384615385, 29.4071902525605, 22.3146989873416, 13
    F <- (weights(r, "analysis") / weights(dclus1))[!duplicated(apiclus1$dnum), ]
    F <- F[order(apiclus1$dnum[!duplicated(apiclus1$dnum)]), ]   # one row per district, by dnum
    cat(apply(sign(round(F - 1, 12)), 1, ...), sep = "\\n"); g(sort(unique(as.vector(F))))
    # 0.299933952917719, 1, 1.70006604708228
    r <- as_sdr_design(dclus1, replicates = 16, sort_variable = "dnum", mse = FALSE); show(...)
    # 644.169398907104, 22.7484083364003, 3404940.13452911, 950797.264134028, 625.415094339623,
    # 651.815384615385, 28.2053755414797, 21.1800729845792, 13
    """
    by_district = (
        "+0+0+0+0+0+0+0+0/-00+-00+-00+-00+/0-0-0-0-0-0-0-0-/0+-0+00+0+-0+00+/+0+0-0-0+0+0-0-0/"
        "-00++00--00++00-/0-0-0+0+0-0-0+0+/0+-0-00-+00+0-+0/+0+0+0+0-0-0-0-0/-00+-00++00-+00-/"
        "0-0-0-0-0+0+0+0+/0+-0+00+0-+0-00-/+0+0-0-0-0-0+0+0/-00++00-+00--00+/00---+00-+0000--"
    )
    base = Survey(clus1, weight="pw", psu="dnum", fpc="fpc")
    ids = clus1["snum"].to_numpy()
    for sort_by in (None, "dnum"):
        d = replicate_weights(base, "sdr", replicates=16, sort_by=sort_by)
        rep = d.replicate_design
        assert rep.method == "sdr" and rep.scale == 0.25 and (rep.rscales == 1).all() and rep.mse
        F = repw(d) / base.weights[:, None]
        assert md5(F) == "5cbfb7acfbf58d0a678292f4ec4b46f7"
        first = ~clus1["dnum"].duplicated().to_numpy()
        per_district = F[first][np.argsort(clus1["dnum"].to_numpy()[first])]
        assert signs(per_district) == by_district
        close(np.unique(F), [0.299933952917719, 1, 1.70006604708228])
        fp, est = r_show(d, base, ids)
        close(fp, [101663.079542323, 4349583.30790558, 3266962153.57561])
        close(est, [644.169398907104, 23.9932545155681, 3404940.13452911, 968447.497750779,
                    625.415094339623, 651.815384615385, 29.4071902525605, 22.3146989873416, 13])  # fmt: skip
    d = replicate_weights(base, "sdr", replicates=16, mse=False)
    close(r_show(d, base, ids)[1],
          [644.169398907104, 22.7484083364003, 3404940.13452911, 950797.264134028, 625.415094339623,
           651.815384615385, 28.2053755414797, 21.1800729845792, 13])  # fmt: skip


def test_cluster_design_in_order_of_first_appearance_equals_svrep(clus1):
    """``sort_by`` a column of row numbers: a district's key is its first row, so the districts
    go in the file's order of first appearance, svrep's order; R's normal Hadamard matrix of
    order 16 (target 15). R::

    r <- as_sdr_design(dclus1, replicates = 15, sort_variable = "rowid", use_normal_hadamard = TRUE)
    show(r, dclus1, apiclus1$snum)
    # 16 0.25 1 TRUE 501332f6f3f7cafddb5d0f82b92f14e2
    # 98914.4441247042, 4163517.20224463, 3094824500.64274
    # 644.169398907104, 24.5767751140211, 3404940.13452911, 727482.347421147, 625.415094339623,
    # 651.815384615385, 31.9117757028948, 22.3758069410744, 14
    """
    base = Survey(clus1, weight="pw", psu="dnum", fpc="fpc")
    d = replicate_weights(base, "sdr", replicates=15, sort_by="rowid", use_normal_hadamard=True)
    W = repw(d)
    assert W.shape[1] == 16 and md5(W / base.weights[:, None]) == "501332f6f3f7cafddb5d0f82b92f14e2"
    assert (W[:, 0] == base.weights).all()  # the normal matrix's first column: an inactive replicate
    fp, est = r_show(d, base, clus1["snum"].to_numpy())
    close(fp, [98914.4441247042, 4163517.20224463, 3094824500.64274])
    close(est, [644.169398907104, 24.5767751140211, 3404940.13452911, 727482.347421147, 625.415094339623,
                651.815384615385, 31.9117757028948, 22.3758069410744, 14])  # fmt: skip


def test_stratified_ra1_equals_svrep(strat):
    """dstrat: 200 schools in 3 strata (stratum fpcs), sorted by snum within stype, 20 -> 32
    replicates: more units than replicates (Ash's RA1, 7 cycles). R::

    r <- as_sdr_design(dstrat, replicates = 20, sort_variable = "snum"); show(r, dstrat, apistrat$snum)
    # 32 0.125 1 TRUE ce351924f203d78c567e0f62a4fea7b2
    # 198455.243573591, 9075484.74466773, 9968609251.7526
    # 662.287363159321, 9.18166866830661, 3687177.53243828, 99647.6705325546, 633.734911659413,
    # 678.422405614438, 13.6149992058974, 12.587225086216, 30
    """
    base = Survey(strat, weight="pw", strata="stype", fpc="fpc")
    d = replicate_weights(base, "sdr", replicates=20, sort_by="snum")
    assert d.replicate_design.scale == 4 / 32
    assert md5(repw(d) / base.weights[:, None]) == "ce351924f203d78c567e0f62a4fea7b2"
    fp, est = r_show(d, base, strat["snum"].to_numpy())
    close(fp, [198455.243573591, 9075484.74466773, 9968609251.7526])
    close(est, [662.287363159321, 9.18166866830661, 3687177.53243828, 99647.6705325546, 633.734911659413,
                678.422405614438, 13.6149992058974, 12.587225086216, 30])  # fmt: skip


def test_acs_80_replicates_in_file_order_equals_svrep(strat):
    """dstrat0 (no fpc) with 80 replicates from R's normal Hadamard matrix (the ACS's number and
    factors); without ``sort_by`` and without a PSU column the rows are the units, in the file's
    order within strata: svrep's ``sort_variable = "rowid"``. R::

    r <- as_sdr_design(dstrat0, replicates = 80, sort_variable = "rowid", use_normal_hadamard = TRUE)
    show(r, dstrat0, apistrat$snum)
    # 80 0.05 1 TRUE ff9502b10b2b06001120710c5ecd7cca
    # 496919.219522257, 22879054.0900621, 61521344270.5633
    # 662.287363159321, 8.83641762947872, 3687177.53243828, 110184.390545109, 633.734911659413,
    # 678.422405614438, 14.5022485566613, 11.2496283160001, 79
    """
    base = Survey(strat, weight="pw", strata="stype")
    for sort_by in (None, "rowid"):
        d = replicate_weights(base, "sdr", replicates=80, use_normal_hadamard=True, sort_by=sort_by)
        F = repw(d) / base.weights[:, None]
        assert F.shape[1] == 80 and d.replicate_design.scale == 0.05
        assert md5(F) == "ff9502b10b2b06001120710c5ecd7cca"
        close(np.unique(np.round(F, 12)), np.round([LOW, 1.0, HIGH], 12))
        fp, est = r_show(d, base, strat["snum"].to_numpy())
        close(fp, [496919.219522257, 22879054.0900621, 61521344270.5633])
        close(est, [662.287363159321, 8.83641762947872, 3687177.53243828, 110184.390545109,
                    633.734911659413, 678.422405614438, 14.5022485566613, 11.2496283160001, 79])  # fmt: skip


def test_sorted_by_outcome_with_ties_equals_svrep(strat):
    """Sorted by api00 itself (19 ties within strata, broken by file order in both), 200
    replicates for 200 schools (SD2 exactly): a small SE for the mean of the sort variable, as
    successive differences of a sorted variable are small. R::

    r <- as_sdr_design(dstrat, replicates = 200, sort_variable = "api00", use_normal_hadamard = TRUE)
    show(r, dstrat, apistrat$snum)
    # 200 0.02 1 TRUE b7b555e6d7b25a2b66ea7105c1313cc1
    # 1240486.68408039, 56801247.8265957, 379434675317.522
    # 662.287363159321, 2.61702208794257, 3687177.53243828, 117338.672675488, 633.734911659413,
    # 678.422405614438, 13.6774463594085, 7.43018998412459, 199
    """
    base = Survey(strat, weight="pw", strata="stype", fpc="fpc")
    d = replicate_weights(base, "sdr", replicates=200, sort_by="api00", use_normal_hadamard=True)
    assert md5(repw(d) / base.weights[:, None]) == "b7b555e6d7b25a2b66ea7105c1313cc1"
    fp, est = r_show(d, base, strat["snum"].to_numpy())
    close(fp, [1240486.68408039, 56801247.8265957, 379434675317.522])
    close(est, [662.287363159321, 2.61702208794257, 3687177.53243828, 117338.672675488, 633.734911659413,
                678.422405614438, 13.6774463594085, 7.43018998412459, 199])  # fmt: skip


# --------------------------------------------------------------------------- exact identities


def _sequence_totals(base: Survey, y: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSU totals of w*y in the SDR sequence (strata by value, then a PSU's smallest ``key``),
    and the PSU codes in that sequence."""
    s1 = base.taylor_design.stage1
    z = np.bincount(s1.unit, weights=base.weights * y)
    k = np.full(z.shape[0], np.inf)
    np.minimum.at(k, s1.unit, key)
    seq = np.lexsort((k, s1.unit_group))
    return z[seq], seq


@settings(max_examples=40, deadline=None)
@given(
    n_strata=st.integers(1, 4),
    n_psu=st.integers(2, 60),
    target=st.sampled_from([4, 8, 12, 16, 20, 28, 36, 64]),
    normal=st.booleans(),
    with_fpc=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_identities(n_strata, n_psu, target, normal, with_fpc, seed):
    """Exact for every design (Fay and Train 1995; Ash 2014), from H H' = R I:

    - every factor is ``1`` or ``1 +- sqrt((N_h - n_h)/N_h) 2^(-1/2)``: every replicate weight
      is positive;
    - the SDR variance of a total (``mse=True``) is ``1/2 sum_k (A_k - B_k)^2``, with ``A_k``
      (``B_k``) the PSU totals ``z_i sqrt(f_h)`` of the units given Hadamard row ``k`` first
      (second); with at least as many replicates as PSUs it is the circular
      successive-difference estimator ``1/2 sum_i (z_i - z_{i+1})^2``, ``z_{n+1} = z_1`` (SD2),
      and zero when every PSU total is the same;
    - ``scale = 4/R``; the factors of a PSU average ``1 + 2^(-3/2)(m_a - m_b)`` (``m`` the row
      means of H): 1 for a normal matrix except the units given its first row.
    """
    rng = np.random.default_rng(seed)
    n_psu = max(n_psu, n_strata)
    psu_stratum = np.sort(np.r_[np.arange(n_strata), rng.integers(0, n_strata, n_psu - n_strata)])
    rows_per_psu = rng.integers(1, 4, n_psu)
    psu = np.repeat(rng.permutation(n_psu) * 7 + 3, rows_per_psu)
    frame = pd.DataFrame(
        {
            "h": np.repeat(psu_stratum, rows_per_psu),
            "psu": psu,
            "w": rng.uniform(1, 5, psu.shape[0]),
            "y": rng.normal(10, 3, psu.shape[0]),
            "key": np.repeat(rng.permutation(n_psu), rows_per_psu),
        }
    ).sample(frac=1.0, random_state=seed % 1000)
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    frame["N"] = (n_h * rng.uniform(1.2, 4, n_strata))[frame["h"]]
    base = Survey(
        frame, weight="w", strata="h", psu="psu", fpc="N" if with_fpc else None, lonely_psu="certainty"
    )
    d = replicate_weights(base, "sdr", replicates=target, use_normal_hadamard=normal, sort_by="key")
    W = repw(d)
    R = W.shape[1]
    F = W / base.weights[:, None]
    s1 = base.taylor_design.stage1
    root = np.sqrt(s1.f)[s1.unit_group[s1.unit]]
    dev = np.round((F - 1) / (root[:, None] * 2**-0.5), 9)
    assert set(np.unique(dev)) <= {-1.0, 0.0, 1.0} and (W > 0).all()
    assert d.replicate_design.scale == 4 / R and d.replicate_design.mse
    # the variance of a total: replicate SE^2 against the quadratic forms
    y = frame["y"].to_numpy()
    z, seq = _sequence_totals(base, y, frame["key"].to_numpy())
    z = z * np.sqrt(s1.f[s1.unit_group[seq]])
    H = sdr_hadamard(target, normal, hadamard)
    ab = sdr_row_assignment(n_psu, R)
    A = np.bincount(ab[:, 0], weights=z, minlength=R)
    B = np.bincount(ab[:, 1], weights=z, minlength=R)
    v = d.total("y").to_pandas()["se"].iloc[0] ** 2
    close(v, 0.5 * ((A - B) ** 2).sum(), rtol=1e-10)
    if n_psu <= R:
        close(v, 0.5 * ((z - np.roll(z, -1)) ** 2).sum(), rtol=1e-10)
    # the mean factor of each unit in the sequence
    m = H.mean(axis=1)
    close(sdr_unit_factors(n_psu, H).mean(axis=1), 1 + 2**-1.5 * (m[ab[:, 0]] - m[ab[:, 1]]), rtol=1e-13)


def test_constant_psu_totals_have_no_sdr_variance(strat):
    """With R >= n (SD2) every successive difference of a constant is 0: y = 1/pw (each school's
    weighted value 1) has a total of exactly n and an SDR variance of 0; with fewer replicates
    than schools (RA1) only the complete cycles cancel."""
    base = Survey(strat.assign(c=1 / strat["pw"]), weight="pw", strata="stype")
    se = replicate_weights(base, "sdr", replicates=200).total("c").to_pandas()["se"].iloc[0]
    assert se < 1e-12
    se = replicate_weights(base, "sdr", replicates=64).total("c").to_pandas()["se"].iloc[0]
    assert se > 1  # 200 = 3 * 64 + 8 units: the last, incomplete step size does not cancel


# --------------------------------------------------------------------------- row order


def test_row_order(strat, clus1):
    """Shuffled rows: with a PSU column or with ``sort_by``, every row gets the same replicate
    weights (the order of the PSUs comes from values, never from the file). Without either, the
    rows are the units and their file order within a stratum is the sequence (documented): it
    then equals ``sort_by`` a column of row numbers."""
    for frame, design, sort_by, R in (
        (clus1, dict(weight="pw", psu="dnum", fpc="fpc"), None, 16),
        (clus1, dict(weight="pw", psu="dnum", fpc="fpc"), "api00", 8),
        (strat, dict(weight="pw", strata="stype", fpc="fpc"), "snum", 20),
        (strat, dict(weight="pw", strata="stype", psu="snum", fpc="fpc"), None, 20),
    ):
        out = []
        for seed in (None, 1, 2):
            f = frame if seed is None else frame.sample(frac=1.0, random_state=seed)
            d = replicate_weights(Survey(f, **design), "sdr", replicates=R, sort_by=sort_by)
            W = pd.DataFrame(repw(d), index=f.index).sort_index().to_numpy()
            out.append((W, d.total("enroll").to_pandas()["se"].iloc[0]))
        for W, s in out[1:]:
            np.testing.assert_array_equal(W, out[0][0])
            close(s, out[0][1])
    shuffled = strat.sample(frac=1.0, random_state=5)
    a = replicate_weights(Survey(shuffled, weight="pw", strata="stype"), "sdr", replicates=32)
    b = replicate_weights(
        Survey(shuffled.assign(rowid=np.arange(200)), weight="pw", strata="stype"),
        "sdr",
        replicates=32,
        sort_by="rowid",
    )
    np.testing.assert_array_equal(repw(a), repw(b))
    c = replicate_weights(Survey(strat, weight="pw", strata="stype"), "sdr", replicates=32)
    assert not np.array_equal(pd.DataFrame(repw(a), index=shuffled.index).sort_index().to_numpy(), repw(c))


# --------------------------------------------------------------------------- other designs, errors


def test_multistage_factors_per_psu_and_fpc2_warning(apiclus2):
    """Two-stage design: the factors are per district (the first stage), the second-stage fpc is
    dropped with a warning, the first-stage fpc goes into the factors. (svrep 0.9.1 gives the
    schools of a district different factors: its compress_design keeps every stage's ids.)"""
    base = Survey(apiclus2, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")
    with pytest.warns(UserWarning, match="after first stage"):
        d = replicate_weights(base, "sdr", replicates=40)
    F = pd.DataFrame(np.round(repw(d) / base.weights[:, None], 12)).assign(dnum=apiclus2["dnum"].to_numpy())
    assert (F.groupby("dnum").nunique() == 1).all().all()
    f = base.taylor_design.stage1.f[0]
    close(
        np.unique(F.drop(columns="dnum")),
        np.round([1 - np.sqrt(f) * 2**-0.5, 1, 1 + np.sqrt(f) * 2**-0.5], 12),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replicate_weights(base, "sdr", replicates=40, fpc=False)


def test_lonely_psu_strata_and_vocabulary(strat):
    """A stratum with one PSU needs no rule (the sequence runs through the strata); the method's
    other name is R's type, "successive-difference"."""
    one_h = strat[(strat["stype"] != "H") | (strat["snum"] == strat.loc[strat["stype"] == "H", "snum"].min())]
    base = Survey(one_h, weight="pw", strata="stype", lonely_psu="certainty")
    d = replicate_weights(base, "successive-difference", replicates=160, use_normal_hadamard=True)
    assert d.replicate_design.method == "sdr" and repw(d).shape == (151, 160)
    assert np.isfinite(d.mean("api00").to_pandas()["se"]).all()


def test_weighting_plan(clus1):
    """The weighting plan (and so the CLI's --replicates sdr:R) passes the number of replicates."""
    from carepop.weighting.plan import WeightingPlan, apply_weighting

    base = Survey(clus1, weight="pw", psu="dnum", fpc="fpc")
    d, _ = apply_weighting(base, WeightingPlan(replicates="sdr", n_replicates=16))
    np.testing.assert_array_equal(repw(d), repw(replicate_weights(base, "sdr", replicates=16)))


def test_errors(strat, clus1):
    dclus1 = Survey(clus1, weight="pw", psu="dnum", fpc="fpc")
    dstrat = Survey(strat, weight="pw", strata="stype", fpc="fpc")
    gap = clus1.assign(k=np.where(clus1["snum"] == clus1["snum"].iloc[4], np.nan, 1.0))
    dgap = Survey(gap, weight="pw", psu="dnum")
    one = Survey(clus1[clus1["dnum"] == 61], weight="pw", psu="dnum", lonely_psu="certainty")
    cases = [
        (lambda: replicate_weights(dclus1, "sdr"), "bad_option", None, "80"),
        (lambda: replicate_weights(dclus1, "sdr", replicates=0), "bad_option", None, "replicates"),
        (lambda: replicate_weights(dclus1, "sdr", replicates=2.5), "bad_option", None, "replicates"),
        (lambda: replicate_weights(dstrat, "jkn", sort_by="snum"), "bad_option", None, "sort_by"),
        (lambda: replicate_weights(dclus1, "jk1", use_normal_hadamard=True), "bad_option", None, "sdr"),
        (lambda: replicate_weights(dclus1, "sdr", replicates=16, rho=0.5), "bad_option", None, "fay"),
        (
            lambda: replicate_weights(dclus1, "sdr", replicates=16, sort_by="bogus"),
            "unknown_column",
            "bogus",
            None,
        ),
        (
            lambda: replicate_weights(dgap, "sdr", replicates=16, sort_by="k"),
            "missing_sort_variable",
            "k",
            None,
        ),
        (lambda: replicate_weights(one, "sdr", replicates=4), "too_few_psus", None, "PSU"),
    ]
    for call, code, column, hint in cases:
        with pytest.raises(CarepopError) as e:
            call()
        assert e.value.code == code, e.value
        if column is not None:
            assert e.value.column == column
        if hint is not None:
            assert hint in e.value.fix, e.value
