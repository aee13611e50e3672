"""The emdi vignette's FH example end to end with carepop's own FH fit (emdi is not installable;
its printed numbers, and R sae 1.3's fit of the same model, are the references)::

    combined_data <- combine_data(pop_data = eusilcA_popAgg, pop_domains = "Domain",
                                  smp_data = eusilcA_smpAgg, smp_domains = "Domain")
    fh_std <- fh(fixed = Mean ~ cash + self_empl, vardir = "Var_Mean", combined_data = combined_data,
                 domains = "Domain", method = "ml", MSE = TRUE)
    # sigma2_v = 1371195; compare(fh_std): Brown W = 46.97181, df = 94
    benchmark(fh_std, benchmark = 20140.09, share = eusilcA_popAgg$ratio_n, type = "ratio")
    # 14480.61, 21978.49, 12892.79 for the first three domains
"""

from __future__ import annotations

import numpy as np
import pytest

from carepop.sae.benchmark import benchmark
from carepop.sae.diagnostics import fh_diagnostics, fh_diagnostics_fit
from carepop.sae.fay_herriot import eblup, fit_fay_herriot, mse_analytic
from tests.sae._post_fixtures import eusilc_fit, eusilc_summary


def test_vignette_fh_brown_and_benchmark():
    f, r = eusilc_fit(), eusilc_summary()
    X = np.column_stack([np.ones(len(f)), f.cash, f.self_empl])
    y, psi = f.direct.to_numpy(), f.psi.to_numpy()
    fit = fit_fay_herriot(y, X, psi, "ml", tol=1e-12)
    assert round(fit.sigma2) == 1371195
    assert fit.sigma2 == pytest.approx(r["sigma2"], rel=1e-12)
    est, gamma = eblup(fit, y, X, psi)
    mse = mse_analytic(fit, X, psi, np.ones(len(f), bool))
    np.testing.assert_allclose(est, f.fh, rtol=1e-12)
    np.testing.assert_allclose(mse, f.mse, rtol=1e-12)
    d = fh_diagnostics(y, X @ fit.beta, est, psi, fit.sigma2, mse)
    assert d.brown.w == pytest.approx(46.97181, abs=5e-6) and d.brown.df == 94
    assert d.brown.w == pytest.approx(r["brown_W"], rel=1e-12)
    d2 = fh_diagnostics_fit(fit, y, X, psi, mse)
    assert d2.brown.w == d.brown.w and d2.synthetic_direct_cor == d.synthetic_direct_cor
    np.testing.assert_allclose(d.gamma, gamma, rtol=1e-14)
    b = benchmark(est, 20140.09, share=f.ratio_n, method="ratio", mse=mse)
    # printed to two decimals in the vignette
    np.testing.assert_allclose(b.estimate[:3], [14480.61, 21978.49, 12892.79], atol=0.005)
