"""Live comparison with R ``lme4``: the logistic mixed model and the EBP (``carepop.sae.glmm``,
``carepop.sae.ebp``).

Runs ``tests/sae/fixtures/ebp/make_fixtures.R`` on the frozen data sets of that folder (R fits
glmer and integrates the EBP afresh; about 3 s) and compares carepop with what this R gives, at
the tolerances of the frozen golden tests in ``tests/sae/test_ebp.py`` (whose docstring explains
them). Skipped where R or lme4 is not installed.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.sae

from carepop.sae.ebp import ebp_proportion  # noqa: E402
from carepop.sae.glmm import fit_logistic_mixed  # noqa: E402
from tests.sae import ebp_fixtures as fx  # noqa: E402


def _have_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True, timeout=60)
    return r.returncode == 0


needs_lme4 = pytest.mark.skipif(not _have_lme4(), reason="Rscript with the 'lme4' package is needed")


@pytest.fixture(scope="module")
def r_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("r_ebp")
    script = fx.FIXTURES / "make_fixtures.R"
    r = subprocess.run(
        ["Rscript", str(script), str(out), str(fx.FIXTURES)], capture_output=True, text=True, timeout=300
    )
    if r.returncode != 0:
        pytest.fail(f"R failed:\n{r.stderr}")
    return out


@needs_lme4
@pytest.mark.parametrize("name", list(fx.FITS))
def test_fit_matches_live_glmer(r_out, name):
    which, k = fx.FITS[name]
    y, X, a = fx.load()[which]
    fit = fit_logistic_mixed(y, X, a, n_agq=k)
    beta, se, sigma, loglik = fx.glmer_vector(fx.glmer(r_out, name), X.shape[1])
    d = {
        "beta": np.max(np.abs(fit.beta - beta) / np.abs(beta)),
        "sigma_u": abs(fit.sigma_u - sigma) / sigma,
        "loglik": abs(fit.loglik - loglik) / abs(loglik),
        "se": np.max(np.abs(fit.beta_se - se) / se),
    }
    assert d["beta"] < 1e-6 and d["sigma_u"] < 1e-6 and d["loglik"] < 1e-9 and d["se"] < 1e-4, d


@needs_lme4
def test_ebp_matches_live_integrate(r_out):
    y, X, a = fx.load()["sim"]
    fit = fit_logistic_mixed(y, X, a)
    beta, _, sigma, _ = fx.glmer_vector(fx.glmer(r_out, "sim_laplace"), 4)
    ref = fx.ebp_integrate(r_out)
    pop = fx.population()
    est = ebp_proportion(dataclasses.replace(fit, beta=beta, sigma2_u=sigma**2), y, X, a, *pop)
    assert list(est.areas) == list(ref["area"])
    np.testing.assert_allclose(est.estimate, ref["estimate"], rtol=1e-12, atol=0)
    own = ebp_proportion(fit, y, X, a, *pop)
    assert np.max(np.abs(own.estimate - ref["estimate"])) < 1e-6
