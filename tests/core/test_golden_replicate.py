"""Golden tests: carepop's replicate-weight estimates against R ``survey``.

Every expected number was produced by R 4.2.2 with ``survey`` 4.1.1, printed with
``sprintf("%.15g", x)``, from the R code in the test's docstring, in a session started in the
repository root with::

    library(survey)
    apistrat <- read.csv("tests/data/apistrat.csv", stringsAsFactors = TRUE)
    apiclus1 <- read.csv("tests/data/apiclus1.csv", stringsAsFactors = TRUE)
    apiclus2 <- read.csv("tests/data/apiclus2.csv", stringsAsFactors = TRUE)
    dstrat  <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
    dstrat0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
    dclus1  <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    ud <- sort(unique(apiclus2$dnum)); apiclus2$pstrat <- (match(apiclus2$dnum, ud) + 1) %/% 2
    dpair   <- svydesign(id = ~dnum, strata = ~pstrat, weights = ~pw, data = apiclus2)

R's replicate weights are loaded from the CSVs in tests/data (their R code is in
tests/data/README.md), or, for JKn, rebuilt here exactly as R builds them, so carepop's variance
is checked on exactly R's replicates:

- ``apiclus1_jk1.csv``: ``weights(as.svrepdesign(dclus1, type = "JK1", compress = FALSE), "analysis")``
- ``apiclus1_boot50.csv``: bootstrap factors per district (``set.seed(20240601)``, 50 replicates)
- ``apiclus2_brr_fay.csv``: BRR and Fay (rho = 0.3) factors per district of ``dpair``

Tolerance ``RTOL = 1e-12`` (carepop agrees with R to about 1e-14; see test_golden_taylor.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from tests.golden import DATA, RTOL, close, col, nan  # noqa: F401  (shared golden-test helpers)


def vals(est, names=("estimate", "se")):
    return np.concatenate([col(est, n) for n in names])


# --------------------------------------------------------------------------- JK1


#: R: c(rjk1$scale, unique(rjk1$rscales)) with rjk1 <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE)
JK1_SCALE = 0.914839277851167


@pytest.fixture(scope="module")
def rjk1_frame(apiclus1):
    return pd.concat([apiclus1, pd.read_csv(DATA / "apiclus1_jk1.csv")], axis=1)


@pytest.fixture(scope="module")
def rjk1(rjk1_frame):
    return Survey.replicate(
        rjk1_frame, repweights="rw", method="jk1", weight="pw", scale=JK1_SCALE, rscales=1.0
    )


def test_jk1_scale_is_r_scale():
    """R's JK1 scale for dclus1 is (n - 1)/n times the fpc correction (N - n)/N. R::

    rjk1 <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE)
    c(rjk1$scale, unique(rjk1$rscales))   # 0.914839277851167, 1
    """
    close([(757 - 15) / 757 * (15 - 1) / 15], [JK1_SCALE])


def test_jk1_mean_total_degf(rjk1):
    """R::

    m <- svymean(~api00, rjk1); t <- svytotal(~enroll, rjk1)
    c(coef(m), SE(m), coef(t), SE(t), degf(rjk1))
    # 644.169398907104, 26.3293605895276, 3404940.13452911, 932235.027041215, 14
    """
    m, t = rjk1.mean("api00"), rjk1.total("enroll")
    close([*m.estimate, *m.se, *t.estimate, *t.se, rjk1.degf],
          [644.169398907104, 26.3293605895276, 3404940.13452911, 932235.027041215, 14])  # fmt: skip
    assert col(m, "df").tolist() == [14.0]


def test_jk1_domains_and_deff(rjk1):
    """R::

    b <- svyby(~api00, ~stype, rjk1, svymean, deff = TRUE); c(coef(b), SE(b), deff(b))
    b <- svyby(~enroll, ~stype, rjk1, svytotal); c(coef(b), SE(b))
    c(deff(svymean(~api00, rjk1, deff = TRUE)), deff(svytotal(~enroll, rjk1, deff = TRUE)))
    # 11.6897370921388, 31.3106560943494
    """
    b = rjk1.mean("api00", by="stype", deff=True)
    close(vals(b, ("estimate", "se", "deff")),
          [648.868055555556, 618.571428571429, 631.44,
           25.3743035523982, 46.344121745186, 33.6876199986314,
           8.47655492189362, 3.31074035133399, 2.45778275617921])  # fmt: skip
    t = rjk1.total("enroll", by="stype")
    close(vals(t),
          [2109717.12683487, 535594.869567871, 759628.138126373,
           631349.38627511, 226716.59470641, 213635.484268131])  # fmt: skip
    close([*col(rjk1.mean("api00", deff=True), "deff"), *col(rjk1.total("enroll", deff=True), "deff")],
          [11.6897370921388, 31.3106560943494])  # fmt: skip


def test_jk1_ratio_proportion_and_beta_interval(rjk1):
    """R::

    r <- svyratio(~api00, ~api99, rjk1); c(coef(r), SE(r))
    # 1.0612728107529, 0.00643877385069782
    p <- svymean(~sch.wide, rjk1, deff = TRUE); c(coef(p), SE(p), deff(p))
    # 0.12568306010929, 0.87431693989071, 0.0205560142539666, 0.0205560142539666,
    # 0.721154041038225, 0.721154041038226
    p <- svyciprop(~I(sch.wide == "Yes"), rjk1, method = "beta"); c(coef(p), attr(p, "ci"))
    # 0.87431693989071, 0.823142071302854, 0.915061597348425
    """
    close(vals(rjk1.ratio("api00", "api99")), [1.0612728107529, 0.00643877385069782])
    p = rjk1.proportion("sch.wide", deff=True)
    close(vals(p, ("estimate", "se", "deff")),
          [0.12568306010929, 0.87431693989071, 0.0205560142539666, 0.0205560142539666,
           0.721154041038225, 0.721154041038226])  # fmt: skip
    b = rjk1.proportion("sch.wide", ci="beta")
    close([col(b, c, "Yes")[0] for c in ("estimate", "ci_lower", "ci_upper")],
          [0.87431693989071, 0.823142071302854, 0.915061597348425])  # fmt: skip


def test_jk1_logit_interval(rjk1):
    """On a replicate design R's svyciprop(method = "logit") fits svyglm(y ~ 1, quasibinomial) on
    every replicate, so the SE of the logit is the replicate SE of the replicates' logits (not the
    delta method). R::

    p <- svyciprop(~I(sch.wide == "Yes"), rjk1, method = "logit"); c(coef(p), attr(p, "ci"))
    # 0.87431693988704, 0.823463548270105, 0.912085364512058
    b <- svyby(~I(sch.wide == "Yes"), ~stype, rjk1, svyciprop, vartype = "ci", method = "logit")
    c(coef(b), b$ci_l, b$ci_u)
    # 0.916666666666661, 0.785714285714142, 0.679999999999901,
    # 0.840110744087651, 0.464950491314861, 0.399205492690501,
    # 0.958382979962498, 0.939288772783796, 0.87172753259148

    Those come from IRLS fits (accurate to ~1e-9), so they are met to 1e-8. The same interval in
    closed form, without IRLS, is met to RTOL. R::

    logit_rep <- function(d, level = 0.95) {
      m <- svymean(~as.numeric(sch.wide == "Yes"), d, return.replicates = TRUE)
      eta <- qlogis(as.numeric(m$mean))
      v <- survey:::svrVar(qlogis(m$replicates), d$scale, d$rscales, mse = d$mse, coef = eta)
      c(plogis(eta), plogis(eta + c(-1, 1) * qt(1 - (1 - level) / 2, degf(d)) * sqrt(as.numeric(v))))
    }
    logit_rep(rjk1)     # 0.87431693989071, 0.823463547350986, 0.912085365024393
    sapply(c("E", "H", "M"), function(l) logit_rep(subset(rjk1, stype == l)))   # columns E, H, M
    # 0.916666666666667, 0.840110744204649, 0.958382979927763,
    # 0.785714285714286, 0.464950488109891, 0.939288773518562,
    # 0.68, 0.399205492654631, 0.871727532608305
    """
    names = ("estimate", "ci_lower", "ci_upper")
    p = rjk1.proportion("sch.wide", ci="logit")
    overall = [col(p, c, "Yes")[0] for c in names]
    close(overall, [0.87431693988704, 0.823463548270105, 0.912085364512058], rtol=1e-8)
    close(overall, [0.87431693989071, 0.823463547350986, 0.912085365024393])
    b = rjk1.proportion("sch.wide", by="stype", ci="logit")
    by = np.concatenate([col(b, c, "Yes") for c in names])
    close(by,
          [0.916666666666661, 0.785714285714142, 0.679999999999901,
           0.840110744087651, 0.464950491314861, 0.399205492690501,
           0.958382979962498, 0.939288772783796, 0.87172753259148], rtol=1e-8)  # fmt: skip
    close(by,
          [0.916666666666667, 0.785714285714286, 0.68,
           0.840110744204649, 0.464950488109891, 0.399205492654631,
           0.958382979927763, 0.939288773518562, 0.871727532608305])  # fmt: skip


def test_jk1_median_overall_and_by_domain(rjk1):
    """Woodruff interval with the replicate SE of the estimated CDF; df = rank of the weights - 1.
    For stype H the lower bound of p falls below 0, so R's interval (and SE) is NaN. R::

    svyquantile(~api00, rjk1, 0.5)$api00      # 652, 552, 720, 39.1647339444971
    b <- svyby(~api00, ~stype, rjk1, svyquantile, quantiles = 0.5, ci = TRUE, vartype = c("se", "ci"))
    c(coef(b), SE(b), b$ci_l, b$ci_u)
    # 652, 608, 642, 41.9622149405326, NaN, 43.6168320171695, 553, NaN, 528, 733, NaN, 720
    sapply(c("E", "H", "M"), function(l) degf(subset(rjk1, stype == l)))   # 14, 7, 11
    """
    q = rjk1.quantile("api00", 0.5)
    close(vals(q, ("estimate", "ci_lower", "ci_upper", "se")), [652, 552, 720, 39.1647339444971])
    with pytest.warns(UserWarning, match="beyond the data"):
        b = rjk1.quantile("api00", 0.5, by="stype")
    close(vals(b, ("estimate", "se", "ci_lower", "ci_upper")),
          [652, 608, 642, 41.9622149405326, nan, 43.6168320171695, 553, nan, 528, 733, nan, 720])  # fmt: skip
    assert col(b, "df").tolist() == [14.0, 7.0, 11.0]


def test_jk1_mse(rjk1_frame):
    """mse = TRUE centres the replicates on the full-sample estimate. R::

    W <- as.matrix(read.csv("tests/data/apiclus1_jk1.csv"))
    rjk1m <- svrepdesign(data = apiclus1, repweights = W, weights = ~pw, type = "JK1",
                         scale = rjk1$scale, rscales = rjk1$rscales, combined.weights = TRUE, mse = TRUE)
    m <- svymean(~api00, rjk1m); t <- svytotal(~enroll, rjk1m); c(coef(m), SE(m), coef(t), SE(t))
    # 644.169398907104, 26.3348576684592, 3404940.13452911, 932235.027041215
    """
    d = Survey.replicate(rjk1_frame, "rw", "jk1", weight="pw", scale=JK1_SCALE, mse=True)
    m, t = d.mean("api00"), d.total("enroll")
    close([*m.estimate, *m.se, *t.estimate, *t.se],
          [644.169398907104, 26.3348576684592, 3404940.13452911, 932235.027041215])  # fmt: skip


# --------------------------------------------------------------------------- JKn


def jkn_weights(df: pd.DataFrame, fpc: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """R ``as.svrepdesign(svydesign(id = ~1, strata = ~stype, ...), type = "JKn", compress = FALSE)``:
    the replicate dropping row j of stratum h has weight 0 for j, ``pw * n_h/(n_h - 1)`` for the
    rest of h and ``pw`` elsewhere (``survey:::jknweights``); its rscale is
    ``(N_h - n_h)/N_h * (n_h - 1)/n_h`` with an fpc, ``(n_h - 1)/n_h`` without."""
    h = df["stype"].to_numpy()
    pw = df["pw"].to_numpy()
    reps, rscales = [], []
    for s in pd.unique(h):
        idx = np.flatnonzero(h == s)
        n = len(idx)
        if fpc is None:
            rs = (n - 1) / n
        else:
            N = float(df[fpc].to_numpy()[idx[0]])
            rs = (N - n) / N * (n - 1) / n
        for j in idx:
            f = np.ones(len(df))
            f[idx] = n / (n - 1)
            f[j] = 0.0
            reps.append(f * pw)
            rscales.append(rs)
    w = pd.DataFrame(np.column_stack(reps), columns=[f"jk{i + 1}" for i in range(len(reps))], index=df.index)
    return w, np.array(rscales)


#: R: unique(as.svrepdesign(dstrat, type = "JKn")$rscales) (strata E, H, M)
JKN_RSCALES = [0.967606876272337, 0.931866404715128, 0.915099337748344]


def test_jkn_with_fpc_sorted_and_shuffled(apistrat):
    """R's rscales carry the fpc, so they are given. Shuffling the rows changes nothing. R::

    rjkn <- as.svrepdesign(dstrat, type = "JKn")
    unique(rjkn$rscales)      # 0.967606876272337, 0.931866404715128, 0.915099337748344
    m <- svymean(~api00, rjkn); t <- svytotal(~enroll, rjkn); b <- svyby(~api00, ~awards, rjkn, svymean)
    c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b), degf(rjkn))
    # 662.287363159321, 9.40894080278461, 3687177.53243828, 114641.71610078,
    # 633.734911659413, 678.422405614438, 15.5299981251207, 11.8925465947607, 197
    """
    expected = [662.287363159321, 9.40894080278461, 3687177.53243828, 114641.71610078,
                633.734911659413, 678.422405614438, 15.5299981251207, 11.8925465947607, 197]  # fmt: skip
    results = []
    for frame in (apistrat, apistrat.sample(frac=1.0, random_state=7).reset_index(drop=True)):
        w, rscales = jkn_weights(frame, "fpc")
        close(np.unique(rscales)[::-1], JKN_RSCALES)
        d = Survey.replicate(pd.concat([frame, w], axis=1), "jk", "jkn", weight="pw", rscales=rscales)
        m, t, b = d.mean("api00"), d.total("enroll"), d.mean("api00", by="awards")
        got = [*m.estimate, *m.se, *t.estimate, *t.se, *b.estimate, *b.se, d.degf]
        close(got, expected)
        results.append(got)
    close(results[1], results[0])


def test_jkn_without_fpc_infers_rscales(apistrat):
    """Without rscales carepop infers (n_h - 1)/n_h from the weights (R does so for
    non-combined weights). R::

    rjkn0 <- as.svrepdesign(dstrat0, type = "JKn")
    m <- svymean(~api00, rjkn0); b <- svyby(~api00, ~stype, rjkn0, svymean)
    c(coef(m), SE(m), coef(b), SE(b))
    # 662.287363159321, 9.53613229692519, 674.43, 625.82, 636.6,
    # 12.5249428313782, 15.4577420005349, 16.6282032359826
    """
    frame = apistrat.sample(frac=1.0, random_state=11).reset_index(drop=True)
    w, _ = jkn_weights(frame, None)
    d = Survey.replicate(pd.concat([frame, w], axis=1), list(w.columns), "jkn", weight="pw")
    m, b = d.mean("api00"), d.mean("api00", by="stype")
    close([*m.estimate, *m.se, *b.estimate, *b.se],
          [662.287363159321, 9.53613229692519, 674.43, 625.82, 636.6,
           12.5249428313782, 15.4577420005349, 16.6282032359826])  # fmt: skip


# --------------------------------------------------------------------------- BRR, Fay, SDR


@pytest.fixture(scope="module")
def pair_frame(apiclus2):
    """apiclus2 with the BRR and Fay factors of its district (non-combined replicate weights)."""
    fac = pd.read_csv(DATA / "apiclus2_brr_fay.csv")
    out = apiclus2.merge(fac, on="dnum", how="left", validate="many_to_one")
    assert len(out) == len(apiclus2) and (out["dnum"].to_numpy() == apiclus2["dnum"].to_numpy()).all()
    return out


def test_brr(pair_frame):
    """20 strata of 2 districts, 24 half-samples; scale 1/24. R::

    rbrr <- as.svrepdesign(dpair, type = "BRR")
    m <- svymean(~api00, rbrr); t <- svytotal(~enroll, rbrr, na.rm = TRUE)
    b <- svyby(~api00, ~stype, rbrr, svymean)
    c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b))
    # 670.811808118081, 30.3559462103598, 2639272.93, 781115.566565207,
    # 692.810400866739, 598.340659340659, 642.352, 27.5358765512545, 21.1400789690072, 57.3314557462691
    svyquantile(~api00, rbrr, 0.5)$api00    # 653, 580, 756, 42.1867411508789
    degf(rbrr)                              # 20
    """
    d = Survey.replicate(pair_frame, "brr", "brr", weight="pw", combined_weights=False)
    m, t, b = d.mean("api00"), d.total("enroll", na_rm=True), d.mean("api00", by="stype")
    close([*m.estimate, *m.se, *t.estimate, *t.se, *b.estimate, *b.se],
          [670.811808118081, 30.3559462103598, 2639272.93, 781115.566565207,
           692.810400866739, 598.340659340659, 642.352,
           27.5358765512545, 21.1400789690072, 57.3314557462691])  # fmt: skip
    close(vals(d.quantile("api00", 0.5), ("estimate", "ci_lower", "ci_upper", "se")),
          [653, 580, 756, 42.1867411508789])  # fmt: skip
    assert d.degf == 20


def test_fay(pair_frame):
    """Fay's method with rho = 0.3: factors 1.7 / 0.3, scale 1/(24 (1 - 0.3)^2). R::

    rfay <- as.svrepdesign(dpair, type = "Fay", fay.rho = 0.3)
    m <- svymean(~api00, rfay); r <- svyratio(~api00, ~api99, rfay)
    b <- svyby(~api00, ~stype, rfay, svymean); p <- svymean(~sch.wide, rfay)
    c(coef(m), SE(m), coef(r), SE(r), coef(b), SE(b), coef(p), SE(p))
    """
    d = Survey.replicate(pair_frame, "fay", "fay", weight="pw", rho=0.3, combined_weights=False)
    m, r = d.mean("api00"), d.ratio("api00", "api99")
    b, p = d.mean("api00", by="stype"), d.proportion("sch.wide")
    close([*m.estimate, *m.se, *r.estimate, *r.se, *b.estimate, *b.se, *p.estimate, *p.se],
          [670.811808118081, 28.1079492137175, 1.03996357066935, 0.00515700355879923,
           692.810400866739, 598.340659340659, 642.352, 25.3400460046672, 17.3832004609068, 50.9623560221148,
           0.248708487084871, 0.751291512915129, 0.0714853105359642, 0.0714853105359642])  # fmt: skip


def test_successive_difference(pair_frame):
    """Any replicate weights will do to check the SDR formula (scale 4/R, rscales 1); here the
    Fay factors. R::

    fac <- read.csv("tests/data/apiclus2_brr_fay.csv")
    rwF <- as.matrix(fac[match(apiclus2$dnum, fac$dnum), paste0("fay", 1:24)])
    rsdr <- svrepdesign(data = apiclus2, repweights = rwF, weights = ~pw,
                        type = "successive-difference", combined.weights = FALSE)
    m <- svymean(~api00, rsdr); t <- svytotal(~api99, rsdr); b <- svyby(~api00, ~stype, rsdr, svymean)
    c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b))
    """
    d = Survey.replicate(pair_frame, "fay", "successive-difference", weight="pw", combined_weights=False)
    m, t, b = d.mean("api00"), d.total("api99"), d.mean("api00", by="stype")
    close([*m.estimate, *m.se, *t.estimate, *t.se, *b.estimate, *b.se],
          [670.811808118081, 39.3511288992046, 3308169.485, 1166860.17966292,
           692.810400866739, 598.340659340659, 642.352,
           35.4760644065341, 24.3364806452696, 71.3472984309608])  # fmt: skip


# --------------------------------------------------------------------------- bootstrap


#: R: c(rboot$scale, unique(rboot$rscales))
BOOT_SCALE = 0.021865889212828


@pytest.fixture(scope="module")
def boot_frame(apiclus1):
    fac = pd.read_csv(DATA / "apiclus1_boot50.csv")
    return apiclus1.merge(fac, on="dnum", how="left", validate="many_to_one")


@pytest.mark.parametrize("mse", [False, True])
def test_bootstrap(boot_frame, mse):
    """R::

    set.seed(20240601)
    rboot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
    c(rboot$scale, unique(rboot$rscales))    # 0.021865889212828, 1
    m <- svymean(~api00, rboot); t <- svytotal(~enroll, rboot); b <- svyby(~api00, ~stype, rboot, svymean)
    c(coef(m), SE(m), coef(t), SE(t), coef(b), SE(b))
    # 644.169398907104, 22.3440038604494, 3404940.13452911, 790115.297460005,
    # 648.868055555556, 618.571428571429, 631.44, 22.3714474889158, 36.042381868379, 26.2495576638827
    svyquantile(~api00, rboot, 0.5)$api00    # 652, 555, 717, 37.7659934464794
    rbootm <- rboot; rbootm$mse <- TRUE
    m <- svymean(~api00, rbootm); t <- svytotal(~enroll, rbootm); c(coef(m), SE(m), coef(t), SE(t))
    # 644.169398907104, 24.0821193760942, 3404940.13452911, 808486.622033691
    """
    d = Survey.replicate(boot_frame, "bw", "bootstrap", weight="pw", scale=BOOT_SCALE, mse=mse,
                         combined_weights=False)  # fmt: skip
    m, t = d.mean("api00"), d.total("enroll")
    got = [*m.estimate, *m.se, *t.estimate, *t.se]
    if mse:
        close(got, [644.169398907104, 24.0821193760942, 3404940.13452911, 808486.622033691])
        return
    close(got, [644.169398907104, 22.3440038604494, 3404940.13452911, 790115.297460005])
    b = d.mean("api00", by="stype")
    close(vals(b),
          [648.868055555556, 618.571428571429, 631.44,
           22.3714474889158, 36.042381868379, 26.2495576638827])  # fmt: skip
    close(vals(d.quantile("api00", 0.5), ("estimate", "ci_lower", "ci_upper", "se")),
          [652, 555, 717, 37.7659934464794])  # fmt: skip
