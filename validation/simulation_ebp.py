"""Model-based simulation of the EBP's bootstrap MSE (``carepop.sae.ebp.mse_ebp_bootstrap``).

    PYTHONPATH=src python validation/simulation_ebp.py [RUNS] [B] [SEED] [ORACLE]

Design and code: ``tests/sae/ebp_simulation.py`` (30 areas, two covariate cells each, beta =
(-1, 0.8), sigma_u = 0.8, 6-28 sampled units per area; every run draws new area effects, sample
and non-sampled population). Prints the ratio of the mean bootstrap MSE to the empirical MSE
(per area and pooled) and the coverage of the 95% intervals ``EBP +- 1.96 sqrt(mse)``. The unit
test runs 12 runs with B = 20; the figures in ``simulation_ebp.md`` come from this script.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sae.ebp_simulation import simulate  # noqa: E402


def main(runs: int = 200, B: int = 100, seed: int = 2026, oracle: int = 0) -> None:
    """``oracle = 1``: bootstrap from the true parameters (checks the bootstrap machinery alone)."""
    t0 = time.perf_counter()
    r = simulate(runs=runs, B=B, seed=seed, oracle=bool(oracle))
    ratio = r.boot_mse / r.emp_mse
    se_cov = np.std(r.covered.mean(axis=1), ddof=1) / np.sqrt(runs)  # runs are independent
    print(f"runs {runs}, B {B}, seed {seed}, oracle {oracle}: {time.perf_counter() - t0:.0f} s")
    print(f"sigma_u^: mean {r.sigma_hat.mean():.3f} (true 0.8), sd {r.sigma_hat.std(ddof=1):.3f}")
    print(f"pooled mean bootstrap MSE / empirical MSE: {r.ratio:.3f}")
    print(f"per-area ratio: median {np.median(ratio):.3f}, range {ratio.min():.3f}-{ratio.max():.3f}")
    print(f"coverage of EBP +- 1.96 sqrt(mse): {r.coverage:.4f} (SE {se_cov:.4f})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
