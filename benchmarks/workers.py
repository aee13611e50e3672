"""Benchmark workers: one tool on one data file, in a process of its own (so its memory is its own).

    python benchmarks/workers.py carepop|svy|bincount --data FILE.parquet --design twostage|onestage \
        --out PREFIX [--repeats 5] [--budget 60]

Each repeat builds the design afresh (timed as ``design``), then times the first domain mean and
domain proportion on it (``cold``: everything the estimate needs beyond the design, e.g. coding the
``by`` column) and, when that was quick, the same two calls again on the same design (``warm``:
what caches of the design object save). Best of the repeats is reported by run.py. Writes
``PREFIX.json`` (timings in seconds, memory in kB) and ``PREFIX_mean.csv`` / ``PREFIX_prop.csv``
(``la, level, estimate, se``).

Memory: ``peak_rss_kb`` is the process's high-water mark (``ru_maxrss``: imports, reading the
Parquet file and the work); ``rss_loaded_kb`` the resident size once the data is read;
``peak_work_rss_kb`` the high-water mark from then on (``/proc/self/clear_refs`` resets it).
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

#: a warm (second) call is only timed when the cold one took less than this
WARM_LIMIT_S = 20.0


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


_PEAK_BEFORE_RESET_KB = 0


def _reset_peak() -> bool:
    """Reset the high-water mark (VmHWM, and with it ``ru_maxrss``) to the current resident size,
    remembering the peak so far for :func:`process_peak_kb`."""
    global _PEAK_BEFORE_RESET_KB
    _PEAK_BEFORE_RESET_KB = max(_PEAK_BEFORE_RESET_KB, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def process_peak_kb() -> int:
    """The process's peak resident size, from before and after any :func:`_reset_peak` (the reset
    clears the kernel's ``ru_maxrss`` too)."""
    return max(_PEAK_BEFORE_RESET_KB, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _write_long(path: Path, la, level, est, se) -> None:
    pd.DataFrame({"la": np.asarray(la, dtype=object), "level": level, "estimate": est, "se": se}).to_csv(
        path, index=False
    )


# --------------------------------------------------------------------------- tools
class CarepopTool:
    name = "carepop"

    def load(self, path: str):
        return pd.read_parquet(path)

    def design(self, df, design: str):
        from carepop import Survey

        if design == "twostage":
            return Survey(df, weight="w", strata="stratum", psu="psu", fpc="fpc1", ssu="ssu", fpc2="fpc2")
        return Survey(df, weight="w", strata="stratum", psu="psu")

    def mean(self, s):
        return s.mean("y", by="la").to_pandas()

    def prop(self, s):
        return s.proportion("cat", by="la").to_pandas()

    def save(self, prefix: Path, m, p) -> None:
        _write_long(Path(f"{prefix}_mean.csv"), m["la"], "", m["estimate"], m["se"])
        _write_long(Path(f"{prefix}_prop.csv"), p["la"], p["level"].astype(str), p["estimate"], p["se"])


class SvyTool:
    name = "svy"

    def load(self, path: str):
        import polars as pl

        return pl.read_parquet(path)

    def design(self, df, design: str):
        import svy

        if design == "twostage":
            d = svy.Design(
                stratum="stratum", psu="psu", ssu="ssu", wgt="w", pop_size=svy.PopSize(psu="fpc1", ssu="fpc2")
            )
        else:
            d = svy.Design(stratum="stratum", psu="psu", wgt="w")
        return svy.Sample(df, d)

    def mean(self, s):
        return s.estimation.mean("y", by="la").to_polars()

    def prop(self, s):
        return s.estimation.prop("cat", by="la").to_polars()

    def save(self, prefix: Path, m, p) -> None:
        m, p = m.to_pandas(), p.to_pandas()
        _write_long(Path(f"{prefix}_mean.csv"), m["la"], "", m["est"], m["se"])
        _write_long(Path(f"{prefix}_prop.csv"), p["la"], p["cat"].astype(str), p["est"], p["se"])


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def warm_up(tool, design: str) -> None:
    """Import the tool and run each call once on a small sample, so the first timed repeat does not
    pay for imports or first-call set-up."""
    import generate

    small = generate.generate(5000)
    if isinstance(tool, SvyTool):
        import polars as pl

        small = pl.from_pandas(small)
    s = tool.design(small, design)
    tool.mean(s)
    tool.prop(s)


def run_tool(tool, args) -> dict:
    warm_up(tool, args.design)
    df = tool.load(args.data)
    rss_loaded = _status_kb("VmRSS")
    reset_ok = _reset_peak()
    out: dict = {"design": [], "mean": [], "prop": [], "warm_mean": [], "warm_prop": []}
    spent = 0.0
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    m = p = None
    for _ in range(args.repeats):
        gc.collect()
        t0 = time.perf_counter()
        s = tool.design(df, args.design)
        t1 = time.perf_counter()
        m = tool.mean(s)
        t2 = time.perf_counter()
        p = tool.prop(s)
        t3 = time.perf_counter()
        out["design"].append(t1 - t0)
        out["mean"].append(t2 - t1)
        out["prop"].append(t3 - t2)
        spent += t3 - t0
        if t3 - t1 < WARM_LIMIT_S:
            t4 = time.perf_counter()
            tool.mean(s)
            t5 = time.perf_counter()
            tool.prop(s)
            t6 = time.perf_counter()
            out["warm_mean"].append(t5 - t4)
            out["warm_prop"].append(t6 - t5)
            spent += t6 - t4
        del s
        if spent > args.budget:
            break
    out["cpu_per_wall"] = (_cpu_s() - cpu0) / (time.perf_counter() - wall0)
    tool.save(Path(args.out), m, p)
    out["rss_loaded_kb"] = rss_loaded
    out["peak_work_rss_kb"] = _status_kb("VmHWM") if reset_ok else None
    if args.profile:
        profile(tool, df, args)
    return out


def profile(tool, df, args) -> None:
    """One more cold round (design, then mean and proportion) under cProfile, written as text."""
    import cProfile
    import io
    import pstats

    s = tool.design(df, args.design)
    pr = cProfile.Profile()
    pr.enable()
    tool.mean(s)
    tool.prop(s)
    pr.disable()
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(30)
    Path(args.profile).write_text(buf.getvalue())


def run_bincount(args) -> dict:
    """The floor: weighted domain sums by ``np.bincount``, point estimates only, no variance.

    ``coding`` is turning the string columns ``la`` and ``cat`` into integer codes (once);
    ``mean`` and ``prop`` then are one bincount pass per weighted sum.
    """
    df = pd.read_parquet(args.data, columns=["w", "y", "la", "cat"])
    rss_loaded = _status_kb("VmRSS")
    reset_ok = _reset_peak()
    out: dict = {"coding": [], "mean": [], "prop": []}
    spent = 0.0
    for _ in range(max(args.repeats, 5)):
        t0 = time.perf_counter()
        g, la_levels = pd.factorize(df["la"], sort=True)
        c, cat_levels = pd.factorize(df["cat"], sort=True)
        t1 = time.perf_counter()
        w = df["w"].to_numpy()
        y = df["y"].to_numpy()
        D, K = len(la_levels), len(cat_levels)
        t2 = time.perf_counter()
        W = np.bincount(g, weights=w, minlength=D)
        mean = np.bincount(g, weights=w * y, minlength=D) / W
        t3 = time.perf_counter()
        W = np.bincount(g, weights=w, minlength=D)
        prop = np.bincount(g * K + c, weights=w, minlength=D * K).reshape(D, K) / W[:, None]
        t4 = time.perf_counter()
        out["coding"].append(t1 - t0)
        out["mean"].append(t3 - t2)
        out["prop"].append(t4 - t3)
        spent += t4 - t0
        if spent > args.budget:
            break
    la = np.asarray(la_levels, dtype=object)
    _write_long(Path(f"{args.out}_mean.csv"), la, "", mean, np.nan)
    _write_long(
        Path(f"{args.out}_prop.csv"),
        np.repeat(la, K),
        np.tile(np.asarray(cat_levels, dtype=object), D),
        prop.ravel(),
        np.nan,
    )
    out["rss_loaded_kb"] = rss_loaded
    out["peak_work_rss_kb"] = _status_kb("VmHWM") if reset_ok else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["carepop", "svy", "bincount"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--design", choices=["twostage", "onestage"], default="twostage")
    ap.add_argument("--out", required=True, help="output prefix")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="stop repeating after this many seconds")
    ap.add_argument("--profile", help="also write a cProfile of one cold mean + proportion to this file")
    args = ap.parse_args()
    if args.tool == "bincount":
        out = run_bincount(args)
    else:
        out = run_tool(CarepopTool() if args.tool == "carepop" else SvyTool(), args)
    out["peak_rss_kb"] = process_peak_kb()
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
