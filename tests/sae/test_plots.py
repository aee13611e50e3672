"""Diagnostic plots (carepop.sae.plots): built without pyplot, saved with Agg; matplotlib is not
loaded by importing carepop.sae. Skipped where matplotlib is not installed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from tests.sae._post_fixtures import eusilc_fit, eusilc_smp, eusilc_summary


def test_importing_the_sae_modules_does_not_load_matplotlib():
    code = (
        "import sys, carepop.sae.plots, carepop.sae.diagnostics, carepop.sae.benchmark, "
        "carepop.sae.variance; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_figures(tmp_path):
    from matplotlib.figure import Figure

    from carepop.sae.diagnostics import fh_diagnostics
    from carepop.sae.plots import diagnostics_figures, plot_residuals

    f, r = eusilc_fit(), eusilc_summary()
    n = eusilc_smp().set_index("Domain").loc[f.Domain, "n"].to_numpy()
    d = fh_diagnostics(f.direct, f.synthetic, f.fh, f.psi, r["sigma2"], f.mse)
    figs = diagnostics_figures(d, f.direct, f.fh, f.psi, n=n)
    assert set(figs) == {"residuals", "shrinkage", "direct_vs_model", "cv"}
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.stat().st_size > 1000
    # the Q-Q plot shows every residual, sorted
    ax = plot_residuals(d.std_residuals).axes[0]
    pts = ax.collections[0].get_offsets()
    np.testing.assert_allclose(np.asarray(pts)[:, 1], np.sort(d.std_residuals))
