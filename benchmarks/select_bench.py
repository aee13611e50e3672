"""Time PPS selection of 10,000 units from a 5M-row synthetic frame.

Run: ``.venv/bin/python benchmarks/select_bench.py`` (target: under 5 s per method).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from carepop.sampling.selection import select


def main(n_frame: int = 5_000_000, n: int = 10_000) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(n_frame), "x": rng.lognormal(3.0, 1.0, n_frame)})
    for method in ("pps_systematic", "pps_wor", "srs"):
        t0 = time.perf_counter()
        s = select(frame, n, method, size="x", seed=1)
        dt = time.perf_counter() - t0
        print(f"{method:15s} N={n_frame:,} n={len(s):,}: {dt:.2f} s")


if __name__ == "__main__":
    main()
