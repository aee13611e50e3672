"""Live comparison of the unit-level nested-error (BHF) model with R, as it runs.

Base R only (what CI installs): R reads the data and carepop's variance estimates and recomputes,
with dense n × n matrices and ``solve``, everything that follows from them — the GLS coefficients and
their covariance, the restricted log-likelihood, the REML score (zero at the optimum), the EBLUPs of
the population areas (with and without sample) and the analytic MSE. Where ``lme4`` / ``nlme`` are
installed the REML fit itself is compared with ``lmer`` / ``lme`` (optional: skipped otherwise).

Data: ``cornsoybean`` (R package sae 1.3, fixtures in tests/sae/fixtures/cornsoybean) and a seeded
synthetic data set with unbalanced areas (1 to 9 units) and population areas without sample.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.sae.unit_level import eblup_bhf, fit_bhf, mse_bhf_analytic

FIX = Path(__file__).resolve().parent.parent / "tests" / "sae" / "fixtures" / "cornsoybean"
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not on PATH")

R_CODE = r"""
args <- commandArgs(trailingOnly = TRUE); D <- args[1]
d <- read.csv(file.path(D, "sample.csv")); pop <- read.csv(file.path(D, "pop.csv"))
est <- read.csv(file.path(D, "carepop.csv"))
s2u <- est$s2u; s2e <- est$s2e
y <- d$y; X <- as.matrix(d[, grep("^x", names(d))]); area <- d$area
n <- length(y); p <- ncol(X)
Z <- outer(area, sort(unique(area)), "==") * 1
Vu <- Z %*% t(Z); Ve <- diag(n)
V <- s2e * Ve + s2u * Vu; Vi <- solve(V)
K <- solve(t(X) %*% Vi %*% X); beta <- drop(K %*% t(X) %*% Vi %*% y)
r <- y - X %*% beta
ll <- -0.5 * ((n - p) * log(2 * pi) + determinant(V)$modulus + determinant(solve(K))$modulus +
              drop(t(r) %*% Vi %*% r))
P <- Vi - Vi %*% X %*% K %*% t(X) %*% Vi
Vd <- list(Vu, Ve)
Py <- P %*% y
score <- sapply(1:2, function(k) -0.5 * sum(diag(P %*% Vd[[k]])) + 0.5 * drop(t(Py) %*% Vd[[k]] %*% Py))
Fr <- matrix(0, 2, 2); Iml <- matrix(0, 2, 2)
for (k in 1:2) for (l in 1:2) {
  Fr[k, l] <- 0.5 * sum(diag(P %*% Vd[[k]] %*% P %*% Vd[[l]]))
  Iml[k, l] <- 0.5 * sum(diag(Vi %*% Vd[[k]] %*% Vi %*% Vd[[l]]))
}
Vs <- solve(Iml)
step <- solve(Fr, score)
Xpop <- as.matrix(pop[, grep("^x", names(pop))])
eblup <- mse <- numeric(nrow(pop))
for (i in seq_len(nrow(pop))) {
  rows <- area == pop$area[i]; ni <- sum(rows); Ni <- pop$N[i]; Xb <- Xpop[i, ]
  if (ni == 0) {
    eblup[i] <- sum(Xb * beta)
    mse[i] <- s2u + drop(t(Xb) %*% K %*% Xb) + s2e / Ni
  } else {
    f <- ni / Ni; xb <- colMeans(X[rows, , drop = FALSE]); yb <- mean(y[rows])
    gam <- s2u / (s2u + s2e / ni)
    # BLUP of u_i from the dense mixed-model equations: s2u Z' V^-1 (y - X beta)
    ui <- s2u * sum((Vi %*% r)[rows])
    eblup[i] <- f * yb + sum((Xb - f * xb) * beta) + (1 - f) * ui
    xr <- if (Ni > ni) (Ni * Xb - ni * xb) / (Ni - ni) else xb
    dd <- xr - gam * xb
    g3 <- (s2e^2 * Vs[1, 1] - 2 * s2u * s2e * Vs[1, 2] + s2u^2 * Vs[2, 2]) / (ni^2 * (s2u + s2e / ni)^3)
    mse[i] <- (1 - f)^2 * ((1 - gam) * s2u + drop(t(dd) %*% K %*% dd) + 2 * g3) + (1 - f) * s2e / Ni
  }
}
out <- list(beta = beta, beta_cov = as.vector(K), loglik = ll, step = step, info = as.vector(Fr),
            eblup = eblup, mse = mse)
if (requireNamespace("lme4", quietly = TRUE)) {
  ctl <- lme4::lmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15,
                           xtol_rel = 1e-14, ftol_rel = 1e-15, maxeval = 10000))
  m <- lme4::lmer(y ~ X - 1 + (1 | area), REML = TRUE, control = ctl)
  vc <- as.data.frame(lme4::VarCorr(m))$vcov
  out$lmer <- c(vc, lme4::fixef(m), as.numeric(logLik(m)))
}
if (requireNamespace("nlme", quietly = TRUE)) {
  m <- nlme::lme(y ~ X - 1, random = ~ 1 | area, method = "REML")
  out$lme <- as.numeric(logLik(m))
}
for (k in names(out)) writeLines(sprintf("%.17g", out[[k]]), file.path(D, paste0(k, ".txt")))
"""


def _corn():
    d = pd.read_csv(FIX / "cornsoybean.csv")
    pm = pd.read_csv(FIX / "cornsoybeanmeans.csv")
    sample = pd.DataFrame(
        {"area": d["County"], "y": d["CornHec"], "x0": 1.0, "x1": d["CornPix"], "x2": d["SoyBeansPix"]}
    )
    pop = pd.DataFrame(
        {
            "area": pm["CountyIndex"],
            "N": pm["PopnSegments"],
            "x0": 1.0,
            "x1": pm["MeanCornPixPerSeg"],
            "x2": pm["MeanSoyBeansPixPerSeg"],
        }
    )
    return sample, pop


def _synthetic():
    rng = np.random.default_rng(11)
    m = 15
    n_i = 1 + np.arange(m) % 9
    area = np.repeat(np.arange(1, m + 1), n_i)
    x1 = rng.normal(5, 2, area.size)
    x2 = rng.binomial(1, 0.4, area.size).astype(float)
    y = 3 + 0.8 * x1 - 1.5 * x2 + rng.normal(0, 1.2, m)[area - 1] + rng.normal(0, 2, area.size)
    sample = pd.DataFrame({"area": area, "y": y, "x0": 1.0, "x1": x1, "x2": x2})
    a = np.arange(1, m + 4)  # areas 16-18 have no sample
    n_pop = np.append(n_i, [0, 0, 0])
    pop = pd.DataFrame(
        {
            "area": a,
            "N": np.maximum(n_pop, 1) * rng.integers(3, 40, a.size),
            "x0": 1.0,
            "x1": rng.normal(5, 0.5, a.size),
            "x2": rng.uniform(0.2, 0.6, a.size),
        }
    )
    pop.loc[0, "N"] = n_pop[0]  # a census area (N_i = n_i)
    pop.loc[0, ["x1", "x2"]] = sample.loc[sample.area == 1, ["x1", "x2"]].mean().to_numpy()
    return sample, pop


def _run(tmp_path, sample, pop):
    y, X, area = sample["y"].to_numpy(), sample[["x0", "x1", "x2"]].to_numpy(), sample["area"].to_numpy()
    pargs = (pop["area"].to_numpy(), pop[["x0", "x1", "x2"]].to_numpy(), pop["N"].to_numpy())
    fit = fit_bhf(y, X, area)
    sample.to_csv(tmp_path / "sample.csv", index=False)
    pop.to_csv(tmp_path / "pop.csv", index=False)
    pd.DataFrame({"s2u": [repr(fit.sigma2_u)], "s2e": [repr(fit.sigma2_e)]}).to_csv(
        tmp_path / "carepop.csv", index=False
    )
    (tmp_path / "bhf.R").write_text(R_CODE)
    subprocess.run(
        ["Rscript", str(tmp_path / "bhf.R"), str(tmp_path)], check=True, capture_output=True, timeout=120
    )

    def r(name):
        path = tmp_path / f"{name}.txt"
        return np.loadtxt(path, ndmin=1) if path.exists() else None

    return fit, eblup_bhf(fit, y, X, area, *pargs), mse_bhf_analytic(fit, y, X, area, *pargs), r


DATASETS = {"cornsoybean": _corn, "synthetic": _synthetic}


@pytest.fixture(scope="module", params=list(DATASETS))
def run(request, tmp_path_factory):
    """carepop's fit and R's numbers for one data set (one Rscript run per data set)."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    return _run(tmp_path_factory.mktemp(request.param), *DATASETS[request.param]())


@needs_r
def test_bhf_matches_dense_r(run):
    fit, pred, mse, r = run
    np.testing.assert_allclose(fit.beta, r("beta"), rtol=1e-9)
    np.testing.assert_allclose(fit.beta_cov.ravel(), r("beta_cov"), rtol=1e-9)
    np.testing.assert_allclose(fit.loglik, r("loglik"), rtol=1e-12)
    np.testing.assert_allclose(fit.information.ravel(), r("info"), rtol=1e-9)
    # the REML optimum: R's Fisher-scoring step from carepop's estimate is negligible
    assert np.all(np.abs(r("step")) < 1e-8 * (fit.sigma2_u + fit.sigma2_e)), r("step")
    np.testing.assert_allclose(pred.estimate, r("eblup"), rtol=1e-10)
    np.testing.assert_allclose(mse, r("mse"), rtol=1e-10, atol=1e-12)


@needs_r
def test_bhf_reml_matches_lme4_and_nlme(run):
    """lme4 with tight optimiser tolerances agrees to 1e-6 (its optimiser locates the variances to
    about 1e-8 relative); nlme's default optimiser stops earlier (1e-5 relative on cornsoybean), so
    against nlme the check is that carepop's restricted log-likelihood is at least as high."""
    fit, _, _, r = run
    lmer, lme = r("lmer"), r("lme")
    if lmer is None and lme is None:
        pytest.skip("neither lme4 nor nlme is installed in R")
    if lmer is not None:
        np.testing.assert_allclose([fit.sigma2_u, fit.sigma2_e], lmer[:2], rtol=1e-6)
        np.testing.assert_allclose(fit.beta, lmer[2:5], rtol=1e-6)
        assert fit.loglik >= lmer[5] - 1e-10 * abs(lmer[5])
    if lme is not None:
        assert fit.loglik >= lme[0] - 1e-10 * abs(lme[0])
