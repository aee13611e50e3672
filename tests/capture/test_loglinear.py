"""Log-linear models against R ``glm(family = poisson)`` (fixtures/glm_hiv.R, rerun live below):

    d <- read.csv("hiv.csv")
    f <- glm(freq ~ c1+c2+c3+c4+c1:c2, family = poisson, data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
    f0 <- exp(coef(f)[[1]]); se <- sqrt(f0 + f0^2 * vcov(f)[1, 1])
    AIC(f); AIC(f) + (log(sum(d$freq)) - 2) * length(coef(f))

Data: Rcapture's HIV (Abeni, Brancato & Perucci 1994)."""

import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepop.capture.glm import poisson_fit
from carepop.capture.intervals import cormack_correction
from carepop.capture.loglinear import (
    SparseTableWarning,
    candidate_models,
    design,
    loglinear,
    parse_terms,
    profile_deviance,
)
from carepop.capture.results import CaptureWarning
from carepop.capture.table import capture_table, from_counts
from carepop.errors import ModelError

FIX = Path(__file__).parent / "fixtures"
LISTS = ["c1", "c2", "c3", "c4"]
HIV = capture_table(pd.read_csv(FIX / "hiv.csv"), LISTS, "freq")
# a well-filled three-list table (no sparse cells)
DENSE = from_counts(
    {"111": 40, "110": 60, "101": 55, "100": 300, "011": 70, "010": 280, "001": 260}, ["A", "B", "C"]
)


def _terms(model: str) -> list[str]:
    return [t for t in model.split("+") if ":" in t]


def _check(ref: pd.DataFrame) -> None:
    for row in ref.itertuples():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SparseTableWarning)
            r = loglinear(HIV, _terms(row.model), interval="log")
        assert r.model == row.model
        for got, want in [
            (r.hidden, row.hidden),
            (r.estimate, row.estimate),
            (r.se, row.se),
            (r.deviance, row.deviance),
            (r.aic, row.aic),
            (r.bic, row.bic),
        ]:
            assert got == pytest.approx(want, rel=1e-8)
        assert r.df == row.df


def test_glm_fixture():
    _check(pd.read_csv(FIX / "glm_hiv.csv"))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")
def test_glm_live(tmp_path):
    shutil.copy(FIX / "hiv.csv", tmp_path / "hiv.csv")
    shutil.copy(FIX / "glm_hiv.R", tmp_path / "glm_hiv.R")
    subprocess.run(["Rscript", "glm_hiv.R"], cwd=tmp_path, check=True, capture_output=True)
    _check(pd.read_csv(tmp_path / "glm_hiv.csv"))


def test_independence_model_equals_mt():
    # main effects only = Rcapture's Mt
    ref = pd.read_csv(FIX / "rcapture_hiv_closedp_tight.csv").iloc[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        r = loglinear(HIV, interval="log")
    assert r.estimate == pytest.approx(ref["abundance"], rel=1e-8)


def test_profile_interval_brackets_and_is_likelihood_based():
    r = loglinear(DENSE, interval="profile")
    assert r.ci_lower < r.estimate < r.ci_upper and r.ci_lower >= r.observed
    dev = profile_deviance(DENSE, ())
    n = DENSE.observed

    def ll(f0):
        return -0.5 * dev(f0) + cormack_correction(f0, n + f0)

    grid = np.linspace(r.hidden * 0.5, r.hidden * 1.5, 2001)
    lmax = max(ll(f) for f in grid)
    # both ends sit at lmax - chi2_1(0.95)/2
    for end in (r.ci_lower, r.ci_upper):
        assert ll(end - n) == pytest.approx(lmax - 3.841458820694124 / 2, abs=1e-4)


def test_profile_deviance_zero_at_fitted_cell_for_saturated_full_fit():
    # adding the fitted unobserved count to the table leaves the fit unchanged
    fit = poisson_fit(DENSE.counts, design(DENSE, ()))
    f0 = float(np.exp(fit.beta[0]))
    assert profile_deviance(DENSE, ())(f0) == pytest.approx(fit.deviance, rel=1e-9)


def test_bootstrap_is_seeded():
    a = loglinear(DENSE, interval="bootstrap", boot=200, seed=3)
    b = loglinear(DENSE, interval="bootstrap", boot=200, seed=3)
    c = loglinear(DENSE, interval="bootstrap", boot=200, seed=4)
    assert (a.ci_lower, a.ci_upper) == (b.ci_lower, b.ci_upper)
    assert (a.ci_lower, a.ci_upper) != (c.ci_lower, c.ci_upper)
    assert a.ci_lower < a.estimate < a.ci_upper


def test_selection_picks_lowest_criterion():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        chosen = loglinear(HIV, select="aic", interval="log")
        scores = [
            loglinear(HIV, [":".join(p) for p in terms], interval="log").aic
            for terms in candidate_models(LISTS)
        ]
    assert chosen.aic == pytest.approx(min(scores), rel=1e-12)
    assert len(candidate_models(LISTS)) == 2**6  # four lists: even all six pairs leave 4 df
    assert len(candidate_models(["A", "B", "C"])) == 7  # three lists: the saturated set is left out


def test_sparse_warning():
    with pytest.warns(SparseTableWarning):
        loglinear(HIV, interval="log")
    assert issubclass(SparseTableWarning, CaptureWarning) and issubclass(CaptureWarning, UserWarning)


def test_saturated_warning_for_three_lists():
    with pytest.warns(SparseTableWarning, match="saturated"):
        loglinear(DENSE, ["A:B", "A:C", "B:C"], interval="log")


def test_too_many_parameters():
    with pytest.raises(ModelError) as e:
        loglinear(DENSE, ["A:B", "A:C", "B:C", "A:B:C"], interval="log")
    assert e.value.code == "too_many_parameters"


def test_bad_interaction_name():
    with pytest.raises(ModelError) as e:
        parse_terms(["A:Z"], ["A", "B", "C"])
    assert e.value.code == "bad_interaction"


def test_interactions_and_select_conflict():
    with pytest.raises(ModelError):
        loglinear(DENSE, ["A:B"], select="aic")


def test_assumptions_name_the_interactions():
    r = loglinear(DENSE, ["A:B"], interval="log")
    assert any("A:B" in a for a in r.assumptions)
    assert any("closed" in a for a in r.assumptions)


@pytest.mark.parametrize("model", ["c1+c2+c3+c4", "c1+c2+c3+c4+c1:c2"])
def test_profile_interval_matches_rcapture_closedpci(model):
    """fixtures/rcapture_hiv_ci.R: ``closedpCI.t(HIV, dfreq = TRUE, mX = ~ c1+c2+c3+c4+c1:c2)$CI``
    (Stirling's approximation and uniroot(tol = 1e-4) there, hence 1e-7)."""
    ref = pd.read_csv(FIX / "rcapture_hiv_ci.csv").set_index("model").loc[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseTableWarning)
        r = loglinear(HIV, _terms(model), interval="profile")
    assert r.ci_lower == pytest.approx(ref["infCL"], rel=1e-7)
    assert r.ci_upper == pytest.approx(ref["supCL"], rel=1e-7)
