"""Raking benchmark worker: one Python tool on one data file, in a process of its own.

    python benchmarks/rake_worker.py carepop|svy --data FILE.parquet --margins MARGINS.csv --out PREFIX \
        [--repeats 7] [--budget 30] [--epsilon 1e-10] [--maxit 100] [--profile FILE]

Each repeat builds the design afresh (``design``: ``Survey(df, weight="w")`` /
``svy.Sample(df, Design(wgt="w"))``), rakes it to the three margins (``rake``), then takes the domain
mean of ``y`` by ``region`` with its calibration-aware SE on the raked design, including the result
table (``mean``). Best of the repeats is reported by rake_bench.py. Writes ``PREFIX.json`` (timings
in seconds, memory in kB), ``PREFIX_mean.csv`` (``region, estimate, se``) and ``PREFIX_weights.npy``
(the raked weights in row order).

Tolerances: carepop's ``epsilon`` is R's (below 1, a fraction of the weight total; convergence is
the largest change of the weighted age × sex × region table between passes); svy's ``tol`` is the
largest relative misfit ``|achieved - target| / target`` over the margin levels, and is given the
same number.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from workers import _reset_peak, _status_kb, process_peak_kb  # the domain benchmark's memory probes


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def read_margins(path: str) -> dict[str, dict[str, float]]:
    mg = pd.read_csv(path, dtype={"value": str})
    # in the file's order (age, sex, region), which is the order the margins are raked in, as in R
    return {
        v: dict(zip(g["value"], g["total"].astype(float), strict=True))
        for v, g in mg.groupby("margin", sort=False)
    }


# --------------------------------------------------------------------------- tools
class CarepopTool:
    name = "carepop"

    def load(self, path: str):
        return pd.read_parquet(path)

    def design(self, df):
        from carepop import Survey

        return Survey(df, weight="w")

    def rake(self, s, margins, epsilon, maxit):
        from carepop.weighting import rake

        return rake(s, margins, maxit=maxit, epsilon=epsilon)

    def mean(self, r):
        return r.mean("y", by="region").to_pandas()

    def weights(self, r) -> np.ndarray:
        return r.weights

    def table(self, m) -> pd.DataFrame:
        return pd.DataFrame({"region": m["region"].astype(str), "estimate": m["estimate"], "se": m["se"]})

    def passes(self, s, margins, epsilon, maxit) -> int | None:
        """Raking passes run (carepop's private loop, outside the timing; R's criterion)."""
        try:
            from carepop.weighting.margins import match_margin, read_margin
            from carepop.weighting.rake import ipf

            codes = []
            for var, pop in margins.items():
                c, levels = s.factor(var)
                codes.append((var, c, levels, match_margin(c, levels, None, read_margin(pop, var), var)))
            return int(ipf(s.weights, codes, maxit, epsilon)[3]) + 1
        except Exception:
            return None


class SvyTool:
    name = "svy"

    def load(self, path: str):
        import polars as pl

        return pl.read_parquet(path)

    def design(self, df):
        import svy

        return svy.Sample(df, svy.Design(wgt="w"))

    def rake(self, s, margins, epsilon, maxit):
        return s.weighting.rake(controls=margins, tol=epsilon, max_iter=maxit)

    def mean(self, r):
        return r.estimation.mean("y", by="region").to_polars()

    def weights(self, r) -> np.ndarray:
        return r.data["rk_wgt"].to_numpy()

    def table(self, m) -> pd.DataFrame:
        m = m.to_pandas()
        return pd.DataFrame({"region": m["region"].astype(str), "estimate": m["est"], "se": m["se"]})

    def passes(self, s, margins, epsilon, maxit) -> int | None:
        return None


def warm_up(tool, margins, epsilon, maxit) -> None:
    """Import the tool and run each call once on a small sample, so the first timed repeat does not
    pay for imports or first-call set-up."""
    import rake_data

    small = rake_data.generate(5000)
    if isinstance(tool, SvyTool):
        import polars as pl

        small = pl.from_pandas(small)
    tool.mean(tool.rake(tool.design(small), margins, epsilon, maxit))


def run_tool(tool, args) -> dict:
    margins = read_margins(args.margins)
    warm_up(tool, margins, args.epsilon, args.maxit)
    df = tool.load(args.data)
    rss_loaded = _status_kb("VmRSS")
    reset_ok = _reset_peak()
    out: dict = {"design": [], "rake": [], "mean": []}
    spent = 0.0
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    r = m = None
    for _ in range(args.repeats):
        del r
        gc.collect()
        t0 = time.perf_counter()
        s = tool.design(df)
        t1 = time.perf_counter()
        r = tool.rake(s, margins, args.epsilon, args.maxit)
        t2 = time.perf_counter()
        m = tool.mean(r)
        t3 = time.perf_counter()
        out["design"].append(t1 - t0)
        out["rake"].append(t2 - t1)
        out["mean"].append(t3 - t2)
        spent += t3 - t0
        del s
        if spent > args.budget:
            break
    out["cpu_per_wall"] = (_cpu_s() - cpu0) / (time.perf_counter() - wall0)
    out["rss_loaded_kb"] = rss_loaded
    out["peak_work_rss_kb"] = _status_kb("VmHWM") if reset_ok else None
    out["peak_rss_kb"] = process_peak_kb()  # before the extras below
    np.save(f"{args.out}_weights.npy", np.asarray(tool.weights(r), dtype=float))
    tool.table(m).to_csv(f"{args.out}_mean.csv", index=False)
    del r, m
    out["passes"] = tool.passes(tool.design(df), margins, args.epsilon, args.maxit)
    if args.profile:
        profile(tool, df, margins, args)
    return out


def profile(tool, df, margins, args) -> None:
    """One more round (rake, then the domain mean) on a fresh design under cProfile, written as text."""
    import cProfile
    import io
    import pstats

    s = tool.design(df)
    pr = cProfile.Profile()
    pr.enable()
    r = tool.rake(s, margins, args.epsilon, args.maxit)
    tool.mean(r)
    pr.disable()
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(40)
    Path(args.profile).write_text(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["carepop", "svy"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--margins", required=True)
    ap.add_argument("--out", required=True, help="output prefix")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--budget", type=float, default=30.0, help="stop repeating after this many seconds")
    ap.add_argument("--epsilon", type=float, default=1e-10)
    ap.add_argument("--maxit", type=int, default=100)
    ap.add_argument("--profile", help="also write a cProfile of one rake + domain mean to this file")
    args = ap.parse_args()
    out = run_tool(CarepopTool() if args.tool == "carepop" else SvyTool(), args)
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
