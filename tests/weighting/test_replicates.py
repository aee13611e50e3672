"""Golden tests: replicate weights made from a Taylor design (:func:`carepop.weighting.replicate_weights`)
against R ``as.svrepdesign(design, type = ..., compress = FALSE)``.

Every expected number was produced by R 4.2.2 with ``survey`` 4.1.1, printed with
``sprintf("%.15g", x)``, from the R code in the test's docstring, in a session started in the
repository root with::

    library(survey)
    apistrat <- read.csv("tests/data/apistrat.csv", stringsAsFactors = TRUE)
    apiclus1 <- read.csv("tests/data/apiclus1.csv", stringsAsFactors = TRUE)
    apiclus2 <- read.csv("tests/data/apiclus2.csv", stringsAsFactors = TRUE)
    ud <- sort(unique(apiclus2$dnum)); apiclus2$pstrat <- (match(apiclus2$dnum, ud) + 1) %/% 2
    dclus1  <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    dclus1n <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
    dstrat  <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
    dstrat0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
    dpair   <- svydesign(id = ~dnum, strata = ~pstrat, weights = ~pw, data = apiclus2)
    dclus2  <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)

R's replicate weight matrices are compared entry by entry where tests/data holds them
(``apiclus1_jk1.csv``: R's JK1 weights of dclus1; ``apiclus2_brr_fay.csv``: R's BRR and Fay
factors of dpair; see tests/data/README.md), otherwise through R-computed fingerprints of the
matrix (sums, sums of squares and bilinear forms that change if any entry or column changes).

carepop orders the jackknife replicates canonically (strata by value, PSUs by value within a
stratum) where R takes PSUs in order of first appearance, so that row order cannot change the
weights a row gets; R's jackknife columns are matched to carepop's by the PSU each one drops.
Tolerance ``RTOL = 1e-12``. The bootstrap cannot reproduce R's random numbers: it is checked for
R's scale and structure and statistically.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.errors import CarepopError
from carepop.weighting import replicate_weights
from carepop.weighting.replicates import _r_string, hadamard
from tests.golden import DATA, close, col


def repw(d: Survey) -> np.ndarray:
    """The replicate weight columns of a Survey made by replicate_weights, as an (n, R) array."""
    return d.data[[c for c in d.data.columns if str(c).startswith("repw_")]].to_numpy()


def se(est) -> list[float]:
    return [*col(est, "estimate"), *col(est, "se")]


def dropped(W: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """For each jackknife replicate (column), the id of the rows it gives weight 0."""
    zero = W == 0
    assert (zero.sum(axis=0) >= 1).all()
    first = zero.argmax(axis=0)
    return ids[first]


@pytest.fixture(scope="module")
def apiclus2():
    d = pd.read_csv(DATA / "apiclus2.csv")
    ud = np.sort(d["dnum"].unique())
    d["pstrat"] = (np.searchsorted(ud, d["dnum"].to_numpy()) + 2) // 2  # R: (match(dnum, ud) + 1) %/% 2
    return d


@pytest.fixture(scope="module")
def pairs100(apistrat):
    """apistrat sorted by snum, schools paired into 100 strata labelled "p1".."p100". R::

    s <- apistrat[order(apistrat$snum), ]; s$pair <- paste0("p", (seq_len(nrow(s)) + 1) %/% 2)
    dp100 <- svydesign(id = ~snum, strata = ~pair, weights = ~pw, data = s)
    """
    s = apistrat.sort_values("snum", kind="stable").reset_index(drop=True)
    s["pair"] = ["p" + str((i + 1) // 2) for i in range(1, len(s) + 1)]
    return s


# --------------------------------------------------------------------------- Hadamard


def test_hadamard_is_r_hadamard():
    """R's Hadamard matrix for n strata (stored orders 4, 16, 28, 36, Paley, doubling). R::

    ns <- c(1, 3, 4, 7, 12, 16, 20, 27, 28, 35, 36, 50, 100, 150, 260, 500)
    t(sapply(ns, function(n) { H <- survey:::hadamard(n); c(n, nrow(H), ncol(H),
      sum(H * outer(seq_len(nrow(H)), seq_len(ncol(H)), function(i, j) (i * 131 + j * 17) %% 1009))) }))

    (The matrices for n = 1..260, 300, 333, 400, 500, 511, 640 and 1000 were also compared with
    R's entry by entry while writing this module: all identical.)
    """
    expected = [
        (1, 4, 4, 3256), (3, 4, 4, 3256), (4, 8, 8, 15850), (7, 8, 8, 15850), (12, 16, 16, 64335),
        (16, 20, 20, 107453), (20, 24, 24, 149138), (27, 28, 28, 201580), (28, 32, 32, 259816),
        (35, 36, 36, 346126), (36, 40, 40, 417205), (50, 56, 56, 802092), (100, 104, 104, 2750513),
        (150, 152, 152, 5867603), (260, 264, 264, 17616310), (500, 504, 504, 64159629),
    ]  # fmt: skip
    for n, nr, nc, check in expected:
        H = hadamard(n)
        i, j = np.meshgrid(np.arange(1, H.shape[0] + 1), np.arange(1, H.shape[1] + 1), indexing="ij")
        assert (n, *H.shape, int((H * ((i * 131 + j * 17) % 1009)).sum())) == (n, nr, nc, check)
        # a Hadamard matrix: columns of +-1 orthogonal
        S = 2 * H.astype(float) - 1
        np.testing.assert_array_equal(S.T @ S, H.shape[0] * np.eye(H.shape[1]))


# --------------------------------------------------------------------------- JK1


def test_jk1_matrix_scale_and_se_equal_r(apiclus1):
    """R's JK1 weights of dclus1 are stored in apiclus1_jk1.csv; R's column j drops district
    unique(apiclus1$dnum)[j], carepop's column k the k-th district in dnum order. R::

    rjk1 <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE)
    c(rjk1$scale, unique(rjk1$rscales))    # 0.914839277851167, 1
    m <- svymean(~api00, rjk1); t <- svytotal(~enroll, rjk1)
    c(coef(m), SE(m), coef(t), SE(t), degf(rjk1))
    # 644.169398907104, 26.3293605895276, 3404940.13452911, 932235.027041215, 14
    b <- svyby(~api00, ~stype, rjk1, svymean); c(coef(b), SE(b))
    # 648.868055555556, 618.571428571429, 631.44, 25.3743035523982, 46.344121745186, 33.6876199986314
    """
    d = replicate_weights(Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc"), "jk1")
    W = repw(d)
    R = pd.read_csv(DATA / "apiclus1_jk1.csv").to_numpy()
    r_order = pd.unique(apiclus1["dnum"])  # the district each R column drops
    perm = np.argsort(r_order, kind="stable")
    np.testing.assert_array_equal(dropped(W, apiclus1["dnum"].to_numpy()), np.sort(r_order))
    close(W, R[:, perm])
    assert np.max(np.abs(W - R[:, perm]) / R[:, perm].max()) < 1e-15
    close([d.replicate_design.scale], [0.914839277851167])
    assert d.replicate_design.rscales.tolist() == [1.0] * 15
    assert d.replicate_design.method == "jk1" and d.degf == 14
    m, t = d.mean("api00"), d.total("enroll")
    close([*se(m), *se(t)], [644.169398907104, 26.3293605895276, 3404940.13452911, 932235.027041215])
    close(se(d.mean("api00", by="stype")),
          [648.868055555556, 618.571428571429, 631.44,
           25.3743035523982, 46.344121745186, 33.6876199986314])  # fmt: skip


def test_jk1_without_fpc(apiclus1):
    """Without an fpc (or with fpc=False) the scale is (n - 1)/n. R::

    r <- as.svrepdesign(dclus1n, type = "JK1", compress = FALSE)
    m <- svymean(~api00, r); c(r$scale, coef(m), SE(m), degf(r))
    # 0.933333333333333, 644.169398907104, 26.5941613577106, 14
    """
    expected = [0.933333333333333, 644.169398907104, 26.5941613577106]
    fpc_design = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    W_fpc = repw(replicate_weights(fpc_design, "jk1"))
    for d in (
        replicate_weights(Survey(apiclus1, weight="pw", psu="dnum"), "jk1"),
        replicate_weights(fpc_design, "jk1", fpc=False),
    ):
        m = d.mean("api00")
        close([d.replicate_design.scale, *se(m)], expected)
        np.testing.assert_array_equal(repw(d), W_fpc)  # the fpc only changes the scale


def test_jk1_two_stage_drops_later_fpc(apiclus2):
    """A two-stage design: the jackknife uses the first stage, and (as R) the second-stage fpc is
    dropped with a warning. No weight column: weights come from the fpcs. R::

    r <- as.svrepdesign(dclus2, type = "JK1", compress = FALSE)
    # Warning: Finite population corrections after first stage have been dropped
    m <- svymean(~api00, r); t <- svytotal(~enroll, r, na.rm = TRUE)
    c(r$scale, coef(m), SE(m), coef(t), SE(t))
    # 0.923480845442536, 670.811808118081, 33.9924607620136, 2639272.93, 798295.679452054
    """
    dclus2 = Survey(apiclus2, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")
    with pytest.warns(UserWarning, match="after first stage"):
        d = replicate_weights(dclus2, "jk1")
    m, t = d.mean("api00"), d.total("enroll", na_rm=True)
    close([d.replicate_design.scale, *se(m), *se(t)],
          [0.923480845442536, 670.811808118081, 33.9924607620136, 2639272.93, 798295.679452054])  # fmt: skip
    assert d.weight == "weight"
    close(d.data["weight"], dclus2.weights)


def test_jk1_rows_as_psus_without_weight_column():
    """apisrs: each school its own PSU, weights N/n from the fpc. R::

    apisrs <- read.csv("tests/data/apisrs.csv")
    d <- svydesign(id = ~1, fpc = ~fpc, data = apisrs)
    r <- as.svrepdesign(d, type = "JK1", compress = FALSE); m <- svymean(~api00, r)
    c(ncol(r$repweights), r$scale, coef(m), SE(m))
    # 200, 0.962872134323539, 656.585, 9.24972203928287
    """
    apisrs = pd.read_csv(DATA / "apisrs.csv")
    d = replicate_weights(Survey(apisrs, fpc="fpc"), "jk1")
    W = repw(d)
    assert W.shape == (200, 200) and d.weight == "weight"
    np.testing.assert_array_equal(dropped(W, np.arange(200)), np.arange(200))
    close([d.replicate_design.scale, *se(d.mean("api00"))], [0.962872134323539, 656.585, 9.24972203928287])


# --------------------------------------------------------------------------- JKn


def test_jkn_matrix_and_rscales_equal_r(apistrat):
    """dstrat has one school per PSU; R's columns are ordered by first appearance (strata E, M, H),
    carepop's by stratum then row. Matched on the school each column drops, the matrices agree
    on R's fingerprints; each column is exactly R's rule. R::

    rjkn <- as.svrepdesign(dstrat, type = "JKn", compress = FALSE)
    W <- weights(rjkn, "analysis"); del <- apistrat$snum[apply(W == 0, 2, which)]; o <- order(del)
    W2 <- W[, o]
    c(sum(W), sum(W^2), sum(apistrat$snum * (W2 %*% seq_len(ncol(W2)))),
      sum(rjkn$rscales[o] * seq_len(ncol(W2))))
    # 1238799.99160767, 45746086.0478202, 377582530504.875, 18994.4015376919
    c(rjkn$scale, unique(rjkn$rscales))     # 1, 0.967606876272337, 0.931866404715128, 0.915099337748344
    m <- svymean(~api00, rjkn); t <- svytotal(~enroll, rjkn); b <- svyby(~api00, ~awards, rjkn, svymean)
    c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b), degf(rjkn))
    # 662.287363159321, 9.40894080278461, 3687177.53243828, 114641.71610078,
    # 633.734911659413, 678.422405614438, 15.5299981251207, 11.8925465947607, 197
    """
    d = replicate_weights(Survey(apistrat, weight="pw", strata="stype", fpc="fpc"), "jkn")
    W, rs = repw(d), d.replicate_design.rscales
    snum = apistrat["snum"].to_numpy()
    o = np.argsort(dropped(W, snum))
    W2 = W[:, o]
    k = np.arange(1, W.shape[1] + 1)
    close([W.sum(), (W**2).sum(), snum @ (W2 @ k), rs[o] @ k],
          [1238799.99160767, 45746086.0478202, 377582530504.875, 18994.4015376919])  # fmt: skip
    assert d.replicate_design.scale == 1.0
    # R's unique() lists them in its column order (E, M, H); carepop's strata are E, H, M
    close(pd.unique(rs), [0.967606876272337, 0.915099337748344, 0.931866404715128])
    # R's rule exactly: 0 for the dropped school, pw n_h/(n_h - 1) in its stratum, pw elsewhere
    h = apistrat["stype"].to_numpy()
    pw = apistrat["pw"].to_numpy()
    n_h = apistrat.groupby("stype")["snum"].transform("size").to_numpy()
    j = W.argmin(axis=0)
    same = h[:, None] == h[j][None, :]
    expect = np.where(same, pw[:, None] * (n_h[j] / (n_h[j] - 1))[None, :], pw[:, None])
    expect[j, np.arange(W.shape[1])] = 0
    np.testing.assert_array_equal(W, expect)
    m, t, b = d.mean("api00"), d.total("enroll"), d.mean("api00", by="awards")
    close([*se(m), *se(t), *se(b), d.degf],
          [662.287363159321, 9.40894080278461, 3687177.53243828, 114641.71610078,
           633.734911659413, 678.422405614438, 15.5299981251207, 11.8925465947607, 197])  # fmt: skip


def test_jkn_row_order_does_not_change_weights(apistrat):
    """Shuffled rows: every school gets the same replicate weights (replicates matched by the
    school they drop; with psu='snum' the columns are identical without matching) and the same
    SEs (R numbers as in test_jkn_matrix_and_rscales_equal_r)."""
    shuffled = apistrat.sample(frac=1.0, random_state=3).reset_index(drop=True)
    results = {}
    for name, frame in (("sorted", apistrat), ("shuffled", shuffled)):
        for psu in (None, "snum"):
            d = replicate_weights(Survey(frame, weight="pw", strata="stype", psu=psu, fpc="fpc"), "jkn")
            W = repw(d)
            snum = frame["snum"].to_numpy()
            rows = np.argsort(snum)
            cols = np.argsort(dropped(W, snum)) if psu is None else np.arange(W.shape[1])
            results[name, psu] = (W[rows][:, cols], d.replicate_design.rscales[cols], se(d.mean("api00")))
            close(results[name, psu][2], [662.287363159321, 9.40894080278461])
    for psu in (None, "snum"):
        (wa, ra, sa), (wb, rb, sb) = results["sorted", psu], results["shuffled", psu]
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ra, rb)
        close(sa, sb)  # equal up to the order of floating-point sums
    # rows as PSUs or psu='snum': the same replicates (in stratum-then-row vs stratum-then-snum order)
    w_snum = results["sorted", "snum"][0]
    by_school = np.argsort(dropped(w_snum, np.sort(apistrat["snum"].to_numpy())))
    np.testing.assert_array_equal(results["sorted", None][0], w_snum[:, by_school])


def test_jkn_without_fpc(apistrat):
    """R::

    rjkn0 <- as.svrepdesign(dstrat0, type = "JKn")
    m <- svymean(~api00, rjkn0); b <- svyby(~api00, ~stype, rjkn0, svymean)
    c(coef(m), SE(m), coef(b), SE(b))
    # 662.287363159321, 9.53613229692519, 674.43, 625.82, 636.6,
    # 12.5249428313782, 15.4577420005349, 16.6282032359826
    """
    expected = [662.287363159321, 9.53613229692519, 674.43, 625.82, 636.6,
                12.5249428313782, 15.4577420005349, 16.6282032359826]  # fmt: skip
    for d in (
        replicate_weights(Survey(apistrat, weight="pw", strata="stype"), "jkn"),
        replicate_weights(Survey(apistrat, weight="pw", strata="stype", fpc="fpc"), "jkn", fpc=False),
    ):
        close([*se(d.mean("api00")), *col(d.mean("api00", by="stype"), "estimate"),
               *col(d.mean("api00", by="stype"), "se")], expected)  # fmt: skip
        close(pd.unique(d.replicate_design.rscales), [0.99, 0.98])


@pytest.mark.parametrize(
    "policy, n_rep, scale, rscales, se_mean",
    [
        ("adjust", 151, 1, [0.666666666666667, 0.931866404715128, 0.967606876272337], 10.4931234593449),
        ("average", 150, 1.00666666666667, [0.931866404715128, 0.967606876272337], 10.5182686671402),
        ("certainty", 150, 1, [0.931866404715128, 0.967606876272337], 10.4833821077944),
        ("remove", 150, 1, [0.931866404715128, 0.967606876272337], 10.4833821077944),
    ],
)
def test_jkn_lonely_psu(apistrat, policy, n_rep, scale, rscales, se_mean):
    """Stratum H cut to one school: the design's lonely-PSU policy acts as R's
    survey.lonely.psu does in jknweights. R::

    l <- apistrat[apistrat$stype != "H" | apistrat$snum == apistrat$snum[apistrat$stype == "H"][1], ]
    for (pol in c("adjust", "average", "certainty", "remove")) {
      options(survey.lonely.psu = pol)
      dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = l)
      r <- as.svrepdesign(dl, type = "JKn")
      m <- svymean(~api00, r); print(c(ncol(r$repweights$weights), r$scale, sort(unique(r$rscales)), SE(m)))
    }
    """
    first_h = apistrat.loc[apistrat["stype"] == "H", "snum"].iloc[0]
    lonely = apistrat[(apistrat["stype"] != "H") | (apistrat["snum"] == first_h)].reset_index(drop=True)
    d = replicate_weights(Survey(lonely, weight="pw", strata="stype", fpc="fpc", lonely_psu=policy), "jkn")
    assert repw(d).shape == (151, n_rep)
    close(
        [d.replicate_design.scale, *np.unique(d.replicate_design.rscales), *col(d.mean("api00"), "se")],
        [scale, *rscales, se_mean],
    )


def test_jkn_census_stratum_has_no_replicates(apistrat):
    """A stratum taken completely (fpc = n_h) gets no replicate (R survey.drop.replicates). R::

    cz <- apistrat; cz$fpc[cz$stype == "E"] <- 100
    dcz <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = cz)
    r <- as.svrepdesign(dcz, type = "JKn"); m <- svymean(~api00, r)
    c(ncol(r$repweights$weights), coef(m), SE(m), SE(svymean(~api00, dcz)))
    # 100, 662.287363159321, 3.22751700042297, 3.22751700042299
    """
    cz = apistrat.copy()
    cz.loc[cz["stype"] == "E", "fpc"] = 100
    d = replicate_weights(Survey(cz, weight="pw", strata="stype", fpc="fpc"), "jkn")
    assert repw(d).shape[1] == 100
    close(se(d.mean("api00")), [662.287363159321, 3.22751700042297])


# --------------------------------------------------------------------------- BRR and Fay


def test_brr_and_fay_equal_r(apiclus2):
    """20 pseudo-strata 1..20 (R orders them as strings "1", "10", ..., "19", "2", "20", ...), 24
    half-samples. R's factors per district are stored in apiclus2_brr_fay.csv in R's replicate
    order; carepop's weights are those factors times pw, column for column. R::

    rbrr <- as.svrepdesign(dpair, type = "BRR")
    m <- svymean(~api00, rbrr); t <- svytotal(~enroll, rbrr, na.rm = TRUE)
    b <- svyby(~api00, ~stype, rbrr, svymean); c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b))
    # 670.811808118081, 30.3559462103598, 2639272.93, 781115.566565207,
    # 692.810400866739, 598.340659340659, 642.352, 27.5358765512545, 21.1400789690072, 57.3314557462691
    rfay <- as.svrepdesign(dpair, type = "Fay", fay.rho = 0.3)
    m <- svymean(~api00, rfay); r <- svyratio(~api00, ~api99, rfay)
    c(rfay$scale, coef(m), SE(m), coef(r), SE(r))
    # 0.0850340136054422, 670.811808118081, 28.1079492137175, 1.03996357066935, 0.00515700355879923
    degf(rbrr)   # 20
    """
    fac = pd.read_csv(DATA / "apiclus2_brr_fay.csv").set_index("dnum")
    design = Survey(apiclus2, weight="pw", strata="pstrat", psu="dnum")
    pw = apiclus2["pw"].to_numpy()[:, None]
    brr = replicate_weights(design, "brr")
    np.testing.assert_array_equal(
        repw(brr), fac.loc[apiclus2["dnum"], [f"brr{i}" for i in range(1, 25)]] * pw
    )
    close([brr.replicate_design.scale], [1 / 24])
    m, t, b = brr.mean("api00"), brr.total("enroll", na_rm=True), brr.mean("api00", by="stype")
    close([*se(m), *se(t), *se(b)],
          [670.811808118081, 30.3559462103598, 2639272.93, 781115.566565207,
           692.810400866739, 598.340659340659, 642.352,
           27.5358765512545, 21.1400789690072, 57.3314557462691])  # fmt: skip
    assert brr.degf == 20 and brr.replicate_design.method == "brr"
    fay = replicate_weights(design, "fay", rho=0.3)
    np.testing.assert_array_equal(
        repw(fay), fac.loc[apiclus2["dnum"], [f"fay{i}" for i in range(1, 25)]] * pw
    )
    m, r = fay.mean("api00"), fay.ratio("api00", "api99")
    close([fay.replicate_design.scale, *se(m), *se(r)],
          [0.0850340136054422, 670.811808118081, 28.1079492137175,
           1.03996357066935, 0.00515700355879923])  # fmt: skip
    assert fay.replicate_design.method == "fay" and fay.replicate_design.rho == 0.3


def test_brr_row_order_does_not_change_weights(apiclus2):
    """Shuffled rows give every school the same BRR weights (R's would swap the half-samples of
    strata whose higher-numbered district comes first), hence the same SEs as in
    test_brr_and_fay_equal_r."""
    shuffled = apiclus2.sample(frac=1.0, random_state=5).reset_index(drop=True)
    got = []
    for frame in (apiclus2, shuffled):
        d = replicate_weights(Survey(frame, weight="pw", strata="pstrat", psu="dnum"), "fay", rho=0.3)
        rows = np.argsort(frame["snum"].to_numpy())
        got.append((repw(d)[rows], se(d.mean("api00"))))
        close(got[-1][1], [670.811808118081, 28.1079492137175])
    np.testing.assert_array_equal(got[0][0], got[1][0])


def test_brr_nested_psu_codes(apiclus2):
    """PSU codes that restart within strata (nest=True) are ordered by value within their stratum
    too, whatever the row order: the same weights as with the district numbers."""
    frame = apiclus2.assign(within=apiclus2.groupby("pstrat")["dnum"].rank(method="dense").astype(int))
    expected = repw(replicate_weights(Survey(frame, weight="pw", strata="pstrat", psu="dnum"), "brr"))
    shuffled = frame.sample(frac=1.0, random_state=8)
    for f in (frame, shuffled):
        d = replicate_weights(Survey(f, weight="pw", strata="pstrat", psu="within", nest=True), "brr")
        back = np.argsort(f.index.to_numpy())  # rows back in apiclus2's order
        np.testing.assert_array_equal(repw(d)[back], expected)


def test_stratum_labels_as_r_strings():
    """BRR orders strata by R's as.character strings. R::

    x <- c(1, 1.5, 100000, 123456, 0.0001, 0.00012, 1/3, -2.5, 1e15, 1e-20, 123456789012, 2^60,
           -100000, 1234567.1, 0.1 + 0.2)
    cat(as.character(x), sep = "|")
    # 1|1.5|1e+05|123456|1e-04|0.00012|0.333333333333333|-2.5|1e+15|1e-20|123456789012|
    # 1152921504606846976|-1e+05|1234567.1|0.3
    """
    x = [1.0, 1.5, 100000.0, 123456.0, 0.0001, 0.00012, 1 / 3, -2.5, 1e15, 1e-20, 123456789012.0,
         2.0**60, -100000.0, 1234567.1, 0.1 + 0.2]  # fmt: skip
    expected = ("1|1.5|1e+05|123456|1e-04|0.00012|0.333333333333333|-2.5|1e+15|1e-20|123456789012|"
                "1152921504606846976|-1e+05|1234567.1|0.3")  # fmt: skip
    assert "|".join(_r_string(v) for v in x) == expected
    assert [_r_string(v) for v in (3, np.int64(12), True, "E")] == ["3", "12", "TRUE", "E"]


def test_brr_100_pairs_paley_and_string_strata(pairs100):
    """100 strata labelled "p1".."p100" (sorted as strings, as R), 104 replicates from Paley's
    construction (prime 103). R::

    for (rd in list(as.svrepdesign(dp100, type = "BRR", compress = FALSE),
                    as.svrepdesign(dp100, type = "Fay", fay.rho = 0.5, compress = FALSE))) {
      W <- weights(rd, "analysis"); k <- seq_len(ncol(W)); m <- svymean(~api00, rd)
      print(c(ncol(W), rd$scale, sum(W), sum(W^2), sum(s$snum * (W %*% k)), sum(s$api00 * (W %*% k^2)),
              coef(m), SE(m)))
    }
    # 104, 0.00961538461538462, 644175.995635986, 47336511.8145093, 102731022541.583,
    #   1557880450700.38, 662.287363159321, 8.50666288693158
    # 104, 0.0384615384615385, 644175.995635986, 29585319.8840683, 102740839411.593,
    #   1559139145778.57, 662.287363159321, 8.48365533973036
    """
    design = Survey(pairs100, weight="pw", strata="pair", psu="snum")
    snum, api = pairs100["snum"].to_numpy(), pairs100["api00"].to_numpy()
    for method, rho, expected in (
        ("brr", None, [104, 0.00961538461538462, 644175.995635986, 47336511.8145093, 102731022541.583,
                       1557880450700.38, 662.287363159321, 8.50666288693158]),
        ("fay", 0.5, [104, 0.0384615384615385, 644175.995635986, 29585319.8840683, 102740839411.593,
                      1559139145778.57, 662.287363159321, 8.48365533973036]),
    ):  # fmt: skip
        d = replicate_weights(design, method, rho=rho)
        W = repw(d)
        k = np.arange(1, W.shape[1] + 1)
        got = [W.shape[1], d.replicate_design.scale, W.sum(), (W**2).sum(), snum @ (W @ k), api @ (W @ k**2)]
        close([*got, *se(d.mean("api00"))], expected)


def test_brr_drops_fpc_with_warning(apiclus2):
    """R: "Finite population correction dropped in conversion"; the weights are those without it."""
    plain = repw(replicate_weights(Survey(apiclus2, weight="pw", strata="pstrat", psu="dnum"), "brr"))
    with pytest.warns(UserWarning, match="dropped"):
        d = replicate_weights(Survey(apiclus2, weight="pw", strata="pstrat", psu="dnum", fpc="fpc1"), "brr")
    np.testing.assert_array_equal(repw(d), plain)


# --------------------------------------------------------------------------- bootstrap


def psu_counts(d: Survey, frame: pd.DataFrame, psu: str) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap factors per PSU (one row per PSU, sorted by PSU) and the PSUs' strata codes."""
    W = repw(d) / frame["pw"].to_numpy()[:, None]
    first = frame.reset_index(drop=True).drop_duplicates(psu).sort_values(psu)
    return W[first.index.to_numpy()], first


def test_bootstrap_scale_is_r_scale(apiclus1, apistrat):
    """R bootweights: scale nbar/((nbar - 1)(B - 1)) with nbar the harmonic mean of the PSUs per
    stratum; Rao-Wu (subbootstrap) 1/(B - 1). R::

    set.seed(20240601); as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)$scale  # 0.021865889212828
    c(as.svrepdesign(dstrat, type = "bootstrap", replicates = 50)$scale,
      as.svrepdesign(dstrat, type = "bootstrap", replicates = 1000)$scale)
    # 0.0207540643375994, 0.00101796711966203
    as.svrepdesign(dstrat, type = "subbootstrap", replicates = 50)$scale   # 0.0204081632653061
    """
    dclus1 = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    dstrat = Survey(apistrat, weight="pw", strata="stype", fpc="fpc")
    got = [
        replicate_weights(dclus1, "bootstrap", seed=1).replicate_design.scale,
        replicate_weights(dstrat, "bootstrap", seed=1).replicate_design.scale,
        replicate_weights(dstrat, "bootstrap", replicates=1000, seed=1).replicate_design.scale,
    ]
    with pytest.warns(UserWarning, match="fpc"):
        got.append(replicate_weights(dstrat, "subbootstrap", seed=1).replicate_design.scale)
    close(got, [0.021865889212828, 0.0207540643375994, 0.00101796711966203, 0.0204081632653061])


def test_bootstrap_structure_as_r(apiclus1):
    """Each replicate draws n_h PSUs per stratum: factors are whole numbers summing to n_h, the
    same for every school of a district, and with the fpc at most ceiling(N/n) (each PSU is in
    the pseudo-population of floor(N) units that many times). R's own bootstrap factors of dclus1
    (apiclus1_boot50.csv) have the same structure."""
    r = pd.read_csv(DATA / "apiclus1_boot50.csv").drop(columns="dnum").to_numpy()
    assert (r == np.round(r)).all() and (r.sum(axis=0) == 15).all()
    for fpc in (True, False):
        d = replicate_weights(
            Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc"), "bootstrap", 400, seed=2, fpc=fpc
        )
        F, _ = psu_counts(d, apiclus1, "dnum")
        close(F, np.round(F))
        assert (np.round(F).sum(axis=0) == 15).all() and F.shape == (15, 400)
        W = repw(d) / apiclus1["pw"].to_numpy()[:, None]
        codes = pd.factorize(apiclus1["dnum"], sort=True)[0]
        close(W, F[codes])
        assert d.replicate_design.method == "bootstrap" and d.replicate_design.rscales.tolist() == [1.0] * 400


def test_bootstrap_fpc_pseudo_population(apistrat):
    """With the fpc, PSUs are drawn without replacement from the stratum's PSUs repeated to N_h:
    a stratum taken completely (N_h = n_h) has every PSU exactly once; with N_h = 2 n_h no PSU is
    drawn more than twice. fpc=False draws with replacement."""
    f = apistrat.copy()
    f.loc[f["stype"] == "E", "fpc"] = 100  # census
    f.loc[f["stype"] == "H", "fpc"] = 100  # 2 x 50
    design = Survey(f, weight="pw", strata="stype", psu="snum", fpc="fpc")
    h = f["stype"].to_numpy()
    F = repw(replicate_weights(design, "bootstrap", 300, seed=4)) / f["pw"].to_numpy()[:, None]
    assert (F[h == "E"] == 1).all()
    assert F[h == "H"].max() == 2 and F[h == "M"].max() > 2
    F0 = repw(replicate_weights(design, "bootstrap", 300, seed=4, fpc=False)) / f["pw"].to_numpy()[:, None]
    assert F0[h == "E"].std() > 0.5 and F0[h == "H"].max() > 2
    for sub, n in (("E", 100), ("H", 50), ("M", 50)):
        close(F[h == sub].sum(axis=0), np.full(300, n))
        close(F0[h == sub].sum(axis=0), np.full(300, n))


def test_bootstrap_count_variance_is_hypergeometric(apiclus1):
    """The number of times a district is drawn: with the fpc, multivariate hypergeometric from a
    pseudo-population of 757 districts (7 districts 51 times, 8 districts 50 times), variance
    n p (1 - p) (N - n)/(N - 1); without, multinomial, variance (1 - 1/n)."""
    B, n, N = 20000, 15, 757
    design = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    F, _ = psu_counts(replicate_weights(design, "bootstrap", B, seed=11), apiclus1, "dnum")
    copies = np.sort(F.var(axis=1))  # 8 with p = 50/757, then 7 with p = 51/757
    p = np.array([50 / N] * 8 + [51 / N] * 7)
    close(copies.mean(), (n * p * (1 - p) * (N - n) / (N - 1)).mean(), rtol=0.02)
    F0, _ = psu_counts(replicate_weights(design, "bootstrap", B, seed=12, fpc=False), apiclus1, "dnum")
    close(F0.var(axis=1).mean(), 1 - 1 / n, rtol=0.02)
    close(F.mean(), 1.0, rtol=1e-12)


def boot_se(d: Survey, y: np.ndarray) -> float:
    """The replicate SE of the total of ``y`` computed straight from the weights (as svrVar),
    without the Survey's degrees of freedom, whose rank computation is slow for many replicates."""
    t = y @ repw(d)
    return float(np.sqrt(d.replicate_design.scale * np.sum((t - t.mean()) ** 2)))


def test_bootstrap_se_close_to_taylor(apiclus1, apistrat):
    """Over many replicates the bootstrap variance of a total is the Taylor variance (times
    N/(N - 1) with the fpc; per stratum (n_h-1)/n_h nbar/(nbar-1) times it without). R (Taylor)::

    c(SE(svytotal(~enroll, dclus1)), SE(svytotal(~enroll, dclus1n)), SE(svytotal(~enroll, dstrat)))
    # 932235.027041215, 941610.74091198, 114641.71610078
    """
    dclus1 = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    y = apiclus1["enroll"].to_numpy(dtype=float)
    B = 20000
    se_fpc = boot_se(replicate_weights(dclus1, "bootstrap", B, seed=21), y)
    se_wr = boot_se(replicate_weights(dclus1, "bootstrap", B, seed=22, fpc=False), y)
    close(se_fpc, 932235.027041215 * np.sqrt(757 / 756), rtol=0.03)
    close(se_wr, 941610.74091198, rtol=0.03)
    with pytest.warns(UserWarning, match="fpc"):
        rw = replicate_weights(dclus1, "subbootstrap", B, seed=23)
    close(boot_se(rw, y), 941610.74091198, rtol=0.03)
    dstrat = Survey(apistrat, weight="pw", strata="stype", fpc="fpc")
    ys = apistrat["enroll"].to_numpy(dtype=float)
    close(boot_se(replicate_weights(dstrat, "bootstrap", 5000, seed=24), ys), 114641.71610078, rtol=0.03)
    # a few replicates through the Survey's own estimator give the same formula
    d = replicate_weights(dclus1, "bootstrap", 60, seed=25)
    close(col(d.total("enroll"), "se"), [boot_se(d, y)])


def test_subbootstrap_is_rao_wu(apistrat):
    """Rao-Wu: n_h - 1 draws with replacement, factor count * n_h/(n_h - 1) (R subbootweights)."""
    d = replicate_weights(
        Survey(apistrat, weight="pw", strata="stype", psu="snum"), "subbootstrap", 200, seed=6
    )
    F = repw(d) / apistrat["pw"].to_numpy()[:, None]
    h = apistrat["stype"].to_numpy()
    for sub, n in (("E", 100), ("H", 50), ("M", 50)):
        counts = F[h == sub] * (n - 1) / n
        close(counts, np.round(counts))
        close(counts.sum(axis=0), np.full(200, n - 1))
    close([d.replicate_design.scale], [1 / 199])


def test_bootstrap_seed_and_row_order(apiclus1):
    """The same seed gives the same replicates, whatever the row order (draws are made on the
    PSUs in canonical order); another seed gives others."""
    shuffled = apiclus1.sample(frac=1.0, random_state=9).reset_index(drop=True)
    get = [
        repw(replicate_weights(Survey(f, weight="pw", psu="dnum", fpc="fpc"), "bootstrap", 30, seed=s))[
            np.argsort(f["snum"].to_numpy())
        ]
        for f, s in ((apiclus1, 5), (shuffled, 5), (apiclus1, 6))
    ]
    np.testing.assert_array_equal(get[0], get[1])
    assert not np.array_equal(get[0], get[2])
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(
        repw(
            replicate_weights(Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc"), "bootstrap", 30, seed=g)
        ),
        get[0][np.argsort(np.argsort(apiclus1["snum"].to_numpy()))],
    )


# --------------------------------------------------------------------------- result and errors


def test_result_keeps_data_and_labels(apiclus1):
    d0 = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc", value_labels={"stype": {"E": "Elementary"}})
    d = replicate_weights(d0, "jk1")
    names = [f"repw_{i:03d}" for i in range(1, 16)]
    assert list(d.data.columns) == [*apiclus1.columns, *names]
    pd.testing.assert_frame_equal(d.data[list(apiclus1.columns)], apiclus1)
    assert d.is_replicate and d.weight == "pw" and d.replicate_design.columns == tuple(names)
    assert "Elementary" in d.mean("api00", by="stype").to_pandas()["stype"].tolist()
    other = replicate_weights(d0, "jk1", prefix="jk_")
    assert [c for c in other.data.columns if c.startswith("jk_")] == [f"jk_{i:03d}" for i in range(1, 16)]
    with pytest.raises(CarepopError) as e:
        replicate_weights(Survey(d.data, weight="pw", psu="dnum", fpc="fpc"), "jk1")
    assert e.value.code == "column_exists" and e.value.column == "repw_001"


def test_mse(apiclus1):
    """mse=TRUE centres on the full-sample estimate. R::

    rjk1m <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE, mse = TRUE)
    SE(svymean(~api00, rjk1m))   # 26.3348576684592
    """
    d = replicate_weights(Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc"), "jk1", mse=True)
    close(col(d.mean("api00"), "se"), [26.3348576684592])


def test_errors(apistrat, apiclus1):
    dstrat = Survey(apistrat, weight="pw", strata="stype", fpc="fpc")
    dclus1 = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    cases = [
        (lambda: replicate_weights(dstrat, "brr"), "brr_needs_two_psus", "stype", "jkn"),
        (lambda: replicate_weights(dstrat, "fay", rho=0.5), "brr_needs_two_psus", "stype", "pseudo-strata"),
        (lambda: replicate_weights(dstrat, "jk1"), "jk1_stratified", "stype", "jkn"),
        (lambda: replicate_weights(dclus1, "jkn"), "needs_strata", None, "jk1"),
        (lambda: replicate_weights(dclus1, "brr"), "needs_strata", None, "bootstrap"),
        (lambda: replicate_weights(dclus1, "bogus"), "bad_option", None, "jkn"),
        (lambda: replicate_weights(dclus1, "jk1", replicates=10), "bad_option", None, "replicates"),
        (lambda: replicate_weights(dclus1, "bootstrap", replicates=1), "bad_option", None, "replicates"),
        (lambda: replicate_weights(dstrat, "jkn", rho=0.5), "bad_option", None, "fay"),
        (
            lambda: replicate_weights(replicate_weights(dclus1, "jk1"), "jk1"),
            "already_replicate",
            None,
            "strata",
        ),
    ]
    for call, code, column, hint in cases:
        with pytest.raises(CarepopError) as e:
            call()
        assert e.value.code == code and e.value.column == column and hint in e.value.fix, e.value
    pairs = Survey(apistrat.assign(pair=np.arange(200) // 2), weight="pw", strata="pair")
    for rho in (None, 1.0, -0.1):
        with pytest.raises(CarepopError) as e:
            replicate_weights(pairs, "fay", rho=rho)
        assert e.value.code == "bad_option" and "rho" in e.value.fix
    # BRR on one stratum with three PSUs: the rows of that stratum are named
    odd = apistrat.head(7).assign(pair=[1, 1, 2, 2, 3, 3, 3])
    with pytest.raises(CarepopError) as e:
        replicate_weights(Survey(odd, weight="pw", strata="pair"), "brr")
    assert e.value.rows == [5, 6, 7] and "[3]" in e.value.message


def test_lonely_psu_fail_and_calibrated(apistrat):
    """A lonely PSU is an error under 'fail' when fpc=False makes a certainty stratum lonely; a
    calibrated design is refused (its replicates would not carry the calibration)."""
    first_h = apistrat.index[apistrat["stype"] == "H"][0]
    one = apistrat[(apistrat["stype"] != "H") | (apistrat.index == first_h)]
    one = one.assign(fpc=np.where(one["stype"] == "H", 1, one["fpc"]))
    d = Survey(one, weight="pw", strata="stype", fpc="fpc")  # H taken with certainty: fine
    assert repw(replicate_weights(d, "jkn")).shape[1] == 150
    with pytest.raises(CarepopError) as e:
        replicate_weights(d, "jkn", fpc=False)
    assert e.value.code == "lonely_psu" and e.value.column == "stype"
    from carepop.weighting import poststratify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = poststratify(d, "stype", {"E": 4421, "H": 1, "M": 1018})
    with pytest.raises(CarepopError) as e:
        replicate_weights(cal, "jkn")
    assert e.value.code == "calibrated_design"
