"""Speed and memory of carepop against R ``survey``, the Python package ``svy`` and a bare ``np.bincount``.

    python benchmarks/run.py [--sizes 10000,100000,1000000] [--designs twostage,onestage]

For each size it generates (once) a synthetic stratified two-stage sample (benchmarks/generate.py),
then runs each tool in a process of its own on the same file:

- carepop, svy: benchmarks/workers.py (design built afresh each repeat; first domain mean and
  domain proportion on it timed as *cold*, a second call as *warm*);
- R survey: benchmarks/survey_bench.R (``svyby(~y, ~la, d, svymean)`` and ``svyby(~cat, ~la, d,
  svymean)``, timed inside R with ``system.time``; reading the CSV and ``svydesign`` apart);
- bincount: the weighted domain sums behind the point estimates (no variance), the floor.

Times are wall clock, best of the repeats. R is the reference for agreement. Writes
benchmarks/RESULTS.md; raw outputs go to benchmarks/work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

PY = sys.executable
TARGETS = {"r": 20.0, "svy": 5.0, "bincount": 10.0, "memory_gb": 2.0}
DESIGN_TEXT = {
    "twostage": (
        "Two-stage, stratified, without replacement at both stages: R "
        "`svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~fpc1 + fpc2, weights = ~w)`; carepop "
        '`Survey(df, weight="w", strata="stratum", psu="psu", fpc="fpc1", ssu="ssu", fpc2="fpc2")`; svy '
        '`Design(stratum="stratum", psu="psu", ssu="ssu", wgt="w", '
        'pop_size=PopSize(psu="fpc1", ssu="fpc2"))`.'
    ),
    "onestage": (
        "One-stage (ultimate cluster), stratified, PSUs with replacement, same data and weights: R "
        "`svydesign(ids = ~psu, strata = ~stratum, weights = ~w)`; carepop "
        '`Survey(df, weight="w", strata="stratum", psu="psu")`; svy '
        '`Design(stratum="stratum", psu="psu", wgt="w")`.'
    ),
}


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


LOADS: list[float] = []  # 1-minute load average just before each tool started


def run(cmd: list[str], timeout: float) -> float:
    LOADS.append(os.getloadavg()[0])
    log("$ " + shlex.join(cmd))
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=timeout, cwd=ROOT)
    return time.perf_counter() - t0


def rel(arg: str) -> str:
    return os.path.relpath(arg, ROOT) if arg.startswith("/") else arg


def read_long(path: Path) -> pd.DataFrame:
    """la, level, estimate, se; level strings kept as written (``None`` is a level, not NA)."""
    df = pd.read_csv(path, dtype={"la": str, "level": str}, keep_default_na=False)
    for col in ("estimate", "se"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df.set_index(["la", "level"]).sort_index()


def max_rel_diff(a: pd.Series, ref: pd.Series) -> float:
    """Largest |a - ref| / |ref| (absolute difference where ref is 0)."""
    a = a.to_numpy(dtype=float)
    r = ref.to_numpy(dtype=float)
    both_nan = np.isnan(a) & np.isnan(r)
    d = np.abs(a - r)
    scale = np.where(np.abs(r) > 1e-12, np.abs(r), 1.0)
    rel = np.where(both_nan, 0.0, d / scale)
    rel = np.where(np.isnan(rel), np.inf, rel)
    return float(rel.max()) if rel.size else float("nan")


def agreement(tool: pd.DataFrame, ref: pd.DataFrame, se: bool = True) -> dict:
    joined = ref.join(tool.add_suffix("_t"), how="left")
    missing = int(joined["estimate_t"].isna().sum() - ref["estimate"].isna().sum())
    out = {
        "cells": len(ref),
        "missing": max(missing, 0),
        "est": max_rel_diff(joined["estimate_t"], joined["estimate"]),
    }
    if se:
        out["se"] = max_rel_diff(joined["se_t"], joined["se"])
    return out


def best(xs) -> float:
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and np.isnan(x))]
    return min(xs) if xs else float("nan")


def best_pair(a, b) -> float:
    """Best over repeats of the sum of two timings taken in the same repeat."""
    sums = [x + y for x, y in zip(a, b, strict=False)]
    return min(sums) if sums else float("nan")


def fmt_s(x: float) -> str:
    """A time with its unit: ``1,234 s``, ``12.3 s``, ``1.23 s``, ``0.123 s``, ``4.56 ms``."""
    if x is None or np.isnan(x):
        return "–"
    if x >= 100:
        return f"{x:,.0f} s"
    if x >= 10:
        return f"{x:.1f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 0.01:
        return f"{x:.3f} s"
    return f"{x * 1000:.2f} ms"


def fmt_x(x: float) -> str:
    if x is None or np.isnan(x):
        return "–"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×"


def fmt_mb(kb) -> str:
    return "–" if kb is None or (isinstance(kb, float) and np.isnan(kb)) else f"{kb / 1024:,.0f} MB"


def fmt_diff(x) -> str:
    if x is None or np.isnan(x):
        return "–"
    return "0" if x == 0 else f"{x:.1e}"


# --------------------------------------------------------------------------- one size, one design
def bench_python(tool: str, n: int, design: str, repeats: int, budget: float, profile: bool) -> dict:
    pq, _ = generate.paths(n)
    prefix = WORK / f"res_{tool}_{design}_{n}"
    cmd = [PY, str(HERE / "workers.py"), tool, "--data", str(pq), "--design", design]
    cmd += ["--out", str(prefix), "--repeats", str(repeats), "--budget", str(budget)]
    if profile:
        cmd += ["--profile", str(WORK / f"profile_{tool}_{design}_{n}.txt")]
    wall = run(cmd, timeout=3600)
    res = json.loads(Path(f"{prefix}.json").read_text())
    res["mean_df"] = read_long(Path(f"{prefix}_mean.csv"))
    res["prop_df"] = read_long(Path(f"{prefix}_prop.csv"))
    res["process_wall"] = wall
    res["command"] = shlex.join(["python", *map(rel, cmd[1:])])
    return res


def bench_r(n: int, design: str, repeats: int, budget: float, n_domains: int) -> dict:
    _, csv = generate.paths(n)
    prefix = WORK / f"res_r_{design}_{n}"
    cmd = ["Rscript", str(HERE / "survey_bench.R"), str(csv), str(prefix), design]
    cmd += [str(repeats), str(budget), str(n_domains)]
    wall = run(cmd, timeout=4 * 3600)
    t = pd.read_csv(f"{prefix}_timings.csv")
    get = lambda k: t.loc[t["what"] == k, "value"].astype(float).tolist()  # noqa: E731
    res = {
        "read": get("read")[0],
        "design": [get("design")[0]],
        "mean": get("mean"),
        "prop": get("prop"),
        "sub_mean": get("sub_mean")[0],
        "sub_prop": get("sub_prop")[0],
        "n_timed": int(get("n_domains_timed")[0]),
        "n_domains": int(get("n_domains")[0]),
        "peak_rss_kb": get("peak_rss_kb")[0],
        "process_wall": wall,
        "mean_df": read_long(Path(f"{prefix}_mean.csv")),
        "prop_df": read_long(Path(f"{prefix}_prop.csv")),
        "command": shlex.join(["Rscript", *map(rel, cmd[1:])]),
    }
    scale = res["n_domains"] / res["n_timed"]
    res["scale"] = scale
    res["mean_full"] = [x * scale for x in res["mean"]]
    res["prop_full"] = [x * scale for x in res["prop"]]
    return res


def summarise(n: int, design: str, res: dict) -> dict:
    """Best times, ratios and agreement of one (size, design)."""
    s: dict = {"n": n, "design": design}
    cp = res.get("carepop")
    r = res.get("r")
    sv = res.get("svy")
    bc = res.get("bincount")
    if cp:
        s["cp_design"] = best(cp["design"])
        s["cp_mean"], s["cp_prop"] = best(cp["mean"]), best(cp["prop"])
        s["cp_cold"] = best_pair(cp["mean"], cp["prop"])
        s["cp_warm"] = best_pair(cp["warm_mean"], cp["warm_prop"])
    if r:
        s["r_design"] = r["design"][0]
        s["r_mean"], s["r_prop"] = best(r["mean_full"]), best(r["prop_full"])
        s["r_cold"] = best_pair(r["mean_full"], r["prop_full"])
        s["r_extrapolated"] = r["n_timed"] < r["n_domains"]
        s["r_measured"] = best_pair(r["mean"], r["prop"])
    if sv:
        s["svy_design"] = best(sv["design"])
        s["svy_mean"], s["svy_prop"] = best(sv["mean"]), best(sv["prop"])
        s["svy_cold"] = best_pair(sv["mean"], sv["prop"])
        s["svy_warm"] = best_pair(sv["warm_mean"], sv["warm_prop"])
    if bc:
        s["bc_coding"] = best(bc["coding"])
        s["bc_mean"], s["bc_prop"] = best(bc["mean"]), best(bc["prop"])
        s["bc_bare"] = best_pair(bc["mean"], bc["prop"])
        s["bc_coded"] = best(
            [a + b + c for a, b, c in zip(bc["coding"], bc["mean"], bc["prop"], strict=False)]
        )
    # agreement (R the reference; on the domains R estimated)
    agree = {}
    if r:
        for tool in ("carepop", "svy", "bincount"):
            if res.get(tool):
                agree[tool] = {
                    "mean": agreement(res[tool]["mean_df"], r["mean_df"], se=tool != "bincount"),
                    "prop": agreement(res[tool]["prop_df"], r["prop_df"], se=tool != "bincount"),
                }
    if cp and sv:
        agree["carepop_vs_svy"] = {
            "mean": agreement(cp["mean_df"], sv["mean_df"]),
            "prop": agreement(cp["prop_df"], sv["prop_df"]),
        }
    s["agree"] = agree
    return s


# --------------------------------------------------------------------------- report
def machine() -> dict:
    info = {"cores": os.cpu_count(), "platform": platform.platform()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_gb"] = int(line.split()[1]) / 1024**2
                break
    except OSError:
        pass
    return info


def versions() -> dict:
    import carepop

    v = {"python": platform.python_version(), "carepop": carepop.__version__}
    for mod in ("numpy", "pandas", "pyarrow", "polars", "svy", "svy_rs", "samplics"):
        try:
            from importlib.metadata import version

            v[mod] = version(mod.replace("_", "-"))
        except Exception:
            v[mod] = "not installed"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        v["carepop"] += f" (git {head}{', src/ modified' if dirty else ''})"
    except Exception:
        pass
    try:
        out = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version$major, ".", R.version$minor, " ", as.character(packageVersion("survey")), '
                'sep = "")',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        v["R"], v["survey"] = out[0], out[1]
    except Exception:
        v["R"] = v["survey"] = "not available"
    return v


def agree_cell(a: dict | None, se: bool = True) -> str:
    if not a:
        return "–"
    parts = []
    for what in ("mean", "prop"):
        x = a[what]
        txt = f"{what} est {fmt_diff(x['est'])}"
        if se:
            txt += f", SE {fmt_diff(x['se'])}"
        if x["missing"]:
            txt += f", {x['missing']} of {x['cells']} cells missing"
        parts.append(txt)
    return "; ".join(parts)


def size_section(s: dict, res: dict) -> list[str]:
    n = s["n"]
    r = res.get("r")
    cp = res.get("carepop")
    sv = res.get("svy")
    bc = res.get("bincount")
    ag = s["agree"]
    lines = [f"### {n:,} rows", ""]
    lines.append(
        "| tool | design build | domain mean | domain proportion | mean + proportion, cold "
        "| mean + proportion, warm | peak RSS | max rel. diff vs R |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    if cp:
        lines.append(
            f"| carepop | {fmt_s(s['cp_design'])} | {fmt_s(s['cp_mean'])} | {fmt_s(s['cp_prop'])} "
            f"| **{fmt_s(s['cp_cold'])}** | {fmt_s(s['cp_warm'])} | {fmt_mb(cp['peak_rss_kb'])} "
            f"| {agree_cell(ag.get('carepop'))} |"
        )
    if r:
        mark = "≈ " if s["r_extrapolated"] else ""
        dagger = " †" if s["r_extrapolated"] else ""
        lines.append(
            f"| R survey{dagger} | {fmt_s(s['r_design'])} | {mark}{fmt_s(s['r_mean'])} "
            f"| {mark}{fmt_s(s['r_prop'])} | **{mark}{fmt_s(s['r_cold'])}** | (no cache: = cold) "
            f"| {fmt_mb(r['peak_rss_kb'])} | reference |"
        )
    if sv:
        warm_txt = fmt_s(s["svy_warm"]) if not np.isnan(s["svy_warm"]) else "not run (cold > 20 s)"
        lines.append(
            f"| svy | {fmt_s(s['svy_design'])} | {fmt_s(s['svy_mean'])} | {fmt_s(s['svy_prop'])} "
            f"| **{fmt_s(s['svy_cold'])}** | {warm_txt} | {fmt_mb(sv['peak_rss_kb'])} "
            f"| {agree_cell(ag.get('svy'))} |"
        )
    if bc:
        lines.append(
            f"| np.bincount, bare (point estimates only) | – | {fmt_s(s['bc_mean'])} | {fmt_s(s['bc_prop'])} "
            f"| **{fmt_s(s['bc_bare'])}** | – | {fmt_mb(bc['peak_rss_kb'])} "
            f"| {agree_cell(ag.get('bincount'), se=False)} |"
        )
        lines.append(
            f"| np.bincount + coding `la`/`cat` strings | – | – | – | {fmt_s(s['bc_coded'])} | – | – | |"
        )
    lines.append("")
    ratios = []
    if cp and r:
        ratios.append(
            f"R / carepop = **{fmt_x(s['r_cold'] / s['cp_cold'])}** (warm carepop: "
            f"{fmt_x(s['r_cold'] / s['cp_warm'])}); svydesign / Survey() = "
            f"{fmt_x(s['r_design'] / s['cp_design'])}"
        )
    if cp and sv:
        ratios.append(
            f"svy / carepop = **{fmt_x(s['svy_cold'] / s['cp_cold'])}** (warm: "
            f"{fmt_x(s['svy_warm'] / s['cp_warm']) if not np.isnan(s['svy_warm']) else '–'})"
        )
    if cp and bc:
        ratios.append(
            f"carepop / bincount = **{fmt_x(s['cp_cold'] / s['bc_bare'])}** (warm: "
            f"{fmt_x(s['cp_warm'] / s['bc_bare'])}; against bincount including the string coding: "
            f"{fmt_x(s['cp_cold'] / s['bc_coded'])})"
        )
    if ratios:
        lines.append("Ratios: " + "; ".join(ratios) + ".")
        lines.append("")
    if cp:
        lines.append(
            f"carepop memory: {fmt_mb(cp['rss_loaded_kb'])} resident after reading the Parquet file, "
            f"peak {fmt_mb(cp['peak_work_rss_kb'])} while building designs and estimating, "
            f"process peak (`ru_maxrss`, imports and reading included) {fmt_mb(cp['peak_rss_kb'])}."
        )
    if ag.get("carepop_vs_svy"):
        x = ag["carepop_vs_svy"]
        lines.append(
            f"carepop vs svy on all {x['mean']['cells']} domains (svy as reference): {agree_cell(x)}."
        )
    if r:
        extra = (
            f"† R's estimation time is extrapolated: svyby's per-domain calls for {r['n_timed']} of "
            f"{r['n_domains']} domains (evenly spaced) took {fmt_s(s['r_measured'])}, scaled by "
            f"{r['scale']:.0f}; agreement is checked on those {r['n_timed']} domains. "
            if s["r_extrapolated"]
            else ""
        )
        check = ""
        if not np.isnan(r["sub_mean"]):
            est = (r["sub_mean"] + r["sub_prop"]) * r["n_domains"] / 2
            check = (
                f"Scaling check: svyby's per-domain calls for 2 domains took "
                f"{fmt_s(r['sub_mean'] + r['sub_prop'])}, × {r['n_domains'] / 2:.0f} = {fmt_s(est)} against "
                f"{fmt_s(s['r_cold'])} measured for all {r['n_domains']} (ratio {est / s['r_cold']:.2f}; "
                "below 1, scaling under-states R). "
            )
        lines.append(
            f"{extra}{check}R read the CSV in {fmt_s(r['read'])} (not counted); repeats: R "
            f"{len(r['mean'])}"
            + (f", carepop {len(cp['mean'])}" if cp else "")
            + (f", svy {len(sv['mean'])}" if sv else "")
            + "."
        )
    if sv and sv.get("cpu_per_wall", 0) > 1.2:
        lines.append(f"svy used {sv['cpu_per_wall']:.1f} cores on average (CPU time / wall time).")
    lines.append("")
    return lines


def scaling_caveat(summaries: dict, results: dict) -> list[str]:
    """How far scaling R's per-domain calls from 2 domains was from the full two-stage runs."""
    checks = []
    for (n, d), res in sorted(summaries.items()):
        r = results[(n, d)].get("r")
        if d == "twostage" and r and not np.isnan(r["sub_mean"]):
            est = (r["sub_mean"] + r["sub_prop"]) * r["n_domains"] / 2
            checks.append(f"{est / res['r_cold']:.2f} at {n:,} rows")
    extrap = [
        (n, s["r_cold"] / s["cp_cold"])
        for (n, d), s in summaries.items()
        if d == "twostage" and s.get("r_extrapolated") and "cp_cold" in s
    ]
    if not extrap:
        return []
    check = (
        f"where R's two-stage svyby also ran in full, scaling from 2 domains gave {', '.join(checks)} "
        "times the measured time. An error of that size does not"
        if checks
        else "no size ran in full to check the scaling against. Such an error would not"
    )
    text = (
        "- The extrapolated R time leaves out svyby's once-per-call work, and it carries the timing "
        f"noise of 2 domains on a shared machine: {check} change the verdict against the 20× target "
        "(R / carepop = " + ", ".join(f"{fmt_x(x)} at {n:,} rows" for n, x in extrap) + ")."
    )
    return [text]


def profile_excerpt(path: Path, n_own: int = 15, n_cum: int = 18) -> list[str]:
    """Top of the tottime listing, and the carepop functions of the cumulative listing."""
    if not path.exists():
        return []
    text = path.read_text().splitlines()
    starts = [i for i, ln in enumerate(text) if ln.lstrip().startswith("ncalls")]
    if len(starts) < 2:
        return []
    site = str(Path(np.__file__).parents[1]) + "/"

    def clean(ln: str) -> str:
        return ln.replace(str(ROOT) + "/", "").replace(site, "")

    head = next((ln.strip() for ln in text if "function calls" in ln), "")
    own = [clean(ln) for ln in text[starts[0] : starts[0] + n_own + 1] if ln.strip()]
    cum = [text[starts[1]]] + [ln for ln in text[starts[1] + 1 :] if "carepop/" in ln][:n_cum]
    return [
        "By own time:",
        "",
        "```",
        head,
        *own,
        "```",
        "",
        "carepop functions by cumulative time:",
        "",
        "```",
        *map(clean, cum),
        "```",
    ]


def write_report(path: Path, run: dict) -> None:
    """RESULTS.md from a run's record (see :func:`main`; also kept in work/results.pkl)."""
    summaries, results, m, v = run["summaries"], run["results"], run["machine"], run["versions"]
    loads = run["loads"]
    sizes = sorted({n for n, _ in summaries})
    designs = [d for d in run["designs"] if any(dd == d for _, dd in summaries)]
    lines = [
        "# carepop benchmark: domain means and proportions against R survey, svy and np.bincount",
        "",
        f"Written by `benchmarks/run.py` on {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} "
        f"(whole run {run['minutes']:.1f} min).",
        "",
        "## Machine and versions",
        "",
        f"- {m.get('cpu', '?')}, {m['cores']} cores, {m.get('memory_gb', float('nan')):.1f} GB memory; "
        f"{m['platform']}",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- 1-minute load average just before each tool started: median {np.median(loads):.2f}, "
        f"max {max(loads):.2f} (other work on the machine shows here; 1.0 is the benchmark itself "
        "on one core)",
        "- OPENBLAS_CORETYPE="
        + os.environ.get("OPENBLAS_CORETYPE", "(unset)")
        + " (numpy BLAS is not on the timed paths: they are bincount/reduction kernels)",
        "",
        "## Commands",
        "",
        "```",
        run["command"],
        "```",
        "",
        "which generates the data (`python benchmarks/generate.py --sizes ...`) and runs, per size and "
        "design (examples for the largest size):",
        "",
        "```",
    ]
    big = max(sizes)
    for d in designs:
        for tool in ("carepop", "svy", "bincount", "r"):
            x = results.get((big, d), {}).get(tool)
            if x and not (tool == "bincount" and d != "twostage"):
                lines.append(x["command"])
    lines += [
        "```",
        "",
        "## Data",
        "",
        "Synthetic, seeded (`benchmarks/generate.py`): 80 strata, 3–9 PSUs sampled per stratum (471 PSUs) "
        "out of 2–12 times as many (`fpc1`), households sampled within PSUs out of 1.5–25 times as many "
        "(`fpc2`, `ssu` = household, ~2.4 persons each, all persons in the sample), weights = 1 / inclusion "
        "probability; 150 local authorities `la` (E06000001–E06000150), mostly a block tied to the "
        "stratum but a quarter drawn from all, so domains cut across strata and PSUs; `y` weekly hours "
        "of unpaid care (≈ 18 % non-zero), `cat` its census band (None, 1-19, 20-49, 50+). Estimates: "
        "domain mean of `y` by `la` (150 rows) and domain proportions of `cat` by `la` (600 rows), with "
        "Taylor-linearised standard errors.",
        "",
        "## How it is timed",
        "",
        "- Wall clock, best of the repeats; every tool runs in a fresh process of its own on the same file "
        "(Python: Parquet; R: the same data as CSV, read by `data.table::fread`, not timed).",
        "- *design build*: `Survey(...)`, `svy.Sample(data, Design(...))`, R `svydesign(...)`; "
        "timed apart and not in the ratios.",
        '- *cold*: the first `mean(by="la")` + `proportion("cat", by="la")` on a freshly built design, '
        "including the result tables (`to_pandas()` / `to_polars()`). This includes per-design work that "
        "carepop caches (coding the `by` column, unit × domain pair index), and is the number the ratios "
        "use. *warm*: the same two calls again on the same design object (R keeps nothing between calls).",
        "- R: `svyby(~y, ~la, d, svymean)` + `svyby(~cat, ~la, d, svymean)` timed with `system.time` "
        "inside R. † marks an R time scaled up from a few domains: svyby calls "
        "`svymean(formula, design[la == level, ])` once per domain, so the benchmark makes exactly those "
        "calls for k evenly spaced domains (agreement is checked on them) and multiplies their time by "
        "150 / k. That leaves out svyby's once-per-call work, so it under-states R's time; every size "
        "where R ran in full shows the same scaling from 2 domains against the full run.",
        "- bincount: `np.bincount` of `w` and `w*y` by `la` code and of `w` by (`la`, `cat`) code, divided "
        "(point estimates only, no variance) on integer codes made beforehand; the line below it adds "
        "`pd.factorize` of the two string columns.",
        "- Memory: peak resident set size of each tool's process (`ru_maxrss` for Python, VmHWM for R: "
        "both include reading the data).",
        "",
    ]
    # --- targets
    key = (big, "twostage") if (big, "twostage") in summaries else None
    if key:
        s = summaries[key]
        cp = results[key].get("carepop")
        rows = [
            "## Targets (1M rows, 150 domains, two-stage design)"
            if big >= 1_000_000
            else f"## Targets (checked at the largest size run, {big:,} rows; they are set for 1M rows)",
            "",
        ]
        rows += ["| target | measured (cold) | warm | met? |", "|---|---:|---:|---|"]

        def row(name, val, warm, ok):
            rows.append(f"| {name} | {val} | {warm} | {'yes' if ok else '**no**'} |")

        if "r_cold" in s and "cp_cold" in s:
            x, w = s["r_cold"] / s["cp_cold"], s["r_cold"] / s["cp_warm"]
            row(
                f"carepop ≥ {TARGETS['r']:.0f}× faster than R survey"
                + (" († R extrapolated)" if s["r_extrapolated"] else ""),
                fmt_x(x),
                fmt_x(w),
                x >= TARGETS["r"],
            )
        if "svy_cold" in s and "cp_cold" in s:
            x = s["svy_cold"] / s["cp_cold"]
            w = s["svy_warm"] / s["cp_warm"] if not np.isnan(s["svy_warm"]) else float("nan")
            row(f"carepop ≥ {TARGETS['svy']:.0f}× faster than svy", fmt_x(x), fmt_x(w), x >= TARGETS["svy"])
        if "bc_bare" in s and "cp_cold" in s:
            x, w = s["cp_cold"] / s["bc_bare"], s["cp_warm"] / s["bc_bare"]
            row(
                f"carepop within {TARGETS['bincount']:.0f}× of bare bincount on integer codes made "
                "beforehand "
                "(cold: carepop also codes the string columns; warm: both start from coded data)",
                fmt_x(x),
                fmt_x(w),
                w <= TARGETS["bincount"],
            )
        if "bc_coded" in s and "cp_cold" in s:
            x = s["cp_cold"] / s["bc_coded"]
            row(
                f"carepop within {TARGETS['bincount']:.0f}× of bincount over the same (string) columns, "
                "both coding them",
                fmt_x(x),
                "",
                x <= TARGETS["bincount"],
            )
        if cp:
            gb = cp["peak_rss_kb"] / 1024**2
            row(
                f"carepop peak memory < {TARGETS['memory_gb']:.0f} GB",
                f"{gb:.2f} GB",
                "",
                gb < TARGETS["memory_gb"],
            )
        ok_agree = all(
            a[w]["est"] < 1e-9 and a[w]["se"] < 1e-9 and not a[w]["missing"]
            for t, a in s["agree"].items()
            if t == "carepop"
            for w in ("mean", "prop")
        )
        s1 = summaries.get((big, "onestage"))
        if s1 and "r_cold" in s1 and "cp_cold" in s1:
            x, w = s1["r_cold"] / s1["cp_cold"], s1["r_cold"] / s1["cp_warm"]
            row(
                f"(one-stage design, R measured in full) carepop ≥ {TARGETS['r']:.0f}× faster than R",
                fmt_x(x),
                fmt_x(w),
                x >= TARGETS["r"],
            )
        if s1 and "svy_cold" in s1 and "cp_cold" in s1:
            x = s1["svy_cold"] / s1["cp_cold"]
            w = s1["svy_warm"] / s1["cp_warm"] if not np.isnan(s1["svy_warm"]) else float("nan")
            row(
                f"(one-stage design) carepop ≥ {TARGETS['svy']:.0f}× faster than svy",
                fmt_x(x),
                fmt_x(w),
                x >= TARGETS["svy"],
            )
        if s1 and "bc_bare" in s1 and "cp_cold" in s1:
            x, w = s1["cp_cold"] / s1["bc_bare"], s1["cp_warm"] / s1["bc_bare"]
            row(
                f"(one-stage design) carepop within {TARGETS['bincount']:.0f}× of bare bincount",
                fmt_x(x),
                fmt_x(w),
                x <= TARGETS["bincount"],
            )
        verdict = "yes" if ok_agree else "**no**"
        rows.append(f"| carepop agrees with R (max rel. diff < 1e-9) | see tables | | {verdict} |")
        lines += rows + [""]
    # --- per design
    for d in designs:
        title = "Two-stage design" if d == "twostage" else "One-stage (with-replacement) design"
        lines += [f"## {title}", ""]
        lines += [DESIGN_TEXT[d], ""]
        for n in sizes:
            if (n, d) in summaries:
                lines += size_section(summaries[(n, d)], results[(n, d)])
    # --- profile
    prof = WORK / f"profile_carepop_twostage_{big}.txt"
    ex = profile_excerpt(prof)
    if ex:
        lines += [
            f"## Where carepop's time goes ({big:,} rows, two-stage, one cold mean + proportion, cProfile)",
            "",
            f"Full listing: `{os.path.relpath(prof, ROOT)}` (rewritten by each run; cProfile adds some "
            "overhead).",
            "",
            *ex,
            "",
        ]
    for n in sizes:
        if n == big:
            continue
        small = WORK / f"profile_carepop_twostage_{n}.txt"
        ex = profile_excerpt(small, n_own=8, n_cum=0)
        if ex:
            block = ex[2 : ex.index("```", 3) + 1]  # the own-time listing, fenced
            lines += [f"At {n:,} rows (`{os.path.relpath(small, ROOT)}`), by own time:", "", *block, ""]
    lines += [
        "## Caveats",
        "",
        f"- The machine has {m['cores']} cores. carepop, R and the bincount floor are single-threaded here; "
        "svy's Rust kernel may use more than one core (noted under a table when it did).",
        "- Synthetic data: the timings depend on the number of domains, PSUs and SSUs (here 150, 471, "
        "~0.42 × rows) more than on the values.",
        "- R survey's two-stage variance (`survey:::multistage`) loops over the PSUs in R code for every "
        "domain, and each step's `rowsum()` calls `unique()` on the SSU factor, which rebuilds all its "
        "levels (`svydesign` makes the SSU ids an interaction factor with one level per household, "
        "~0.42 × rows): the time per domain grows with PSUs × SSUs. That is why the two-stage svyby "
        "is extrapolated at 1M (run in full it would take hours) and why R's one-stage design, where "
        "this does not arise, is far faster. The one-stage design is run in full at every size.",
        *scaling_caveat(summaries, results),
        f"- R survey is version {v['survey']} (the Debian package on this machine); later releases of "
        "survey may be faster on multistage designs.",
        "",
    ]
    lines += side_summaries()
    path.write_text("\n".join(lines))
    log(f"wrote {path}")


SIDE_RESULTS = (
    # (file, section copied, title in RESULTS.md, script that writes the file)
    ("TASKS_RESULTS.md", "## Summary", "The four tasks of issue 11", "benchmarks/tasks_bench.py"),
    ("RAKE_RESULTS.md", "## Targets", "Raking", "benchmarks/rake_bench.py"),
    (
        "CALIBRATED_RESULTS.md",
        "## Results",
        "Calibrated domain estimates at national scale",
        "benchmarks/calibrated_bench.py",
    ),
    ("CLD_RESULTS.md", "## Results", "Client-level data on DuckDB and Spark", "benchmarks/cld_bench.py"),
)


def side_summaries() -> list[str]:
    """The headline section of each of the other benchmarks' results files, when it has been run."""
    lines: list[str] = []
    for name, section, title, script in SIDE_RESULTS:
        path = Path(__file__).resolve().parent / name
        if not path.exists():
            continue
        text = path.read_text().splitlines()
        start = next((i for i, t in enumerate(text) if t.startswith(section)), None)
        if start is None:
            continue
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
        lines += [
            f"## {title} (from {name}, written by `{script}`)",
            "",
            "#" + text[start],
            *text[start + 1 : end],
        ]
    return lines


def rewrite_side_summaries(path: Path) -> None:
    """Refresh only the side summaries at the end of RESULTS.md (after a side benchmark has run)."""
    text = path.read_text().splitlines()
    first = next((i for i, t in enumerate(text) if t.startswith("## ") and "(from " in t), len(text))
    path.write_text("\n".join(text[:first] + side_summaries()))


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--designs", default="twostage,onestage", help="twostage and/or onestage")
    ap.add_argument("--tools", default="carepop,r,svy,bincount")
    ap.add_argument("--repeats", type=int, default=7, help="repeats for the Python tools (best is kept)")
    ap.add_argument("--r-repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds after which a tool stops repeating")
    ap.add_argument(
        "--r-domains",
        type=int,
        default=2,
        help="domains R's two-stage svyby is timed on above --r-full-max rows (0 = all)",
    )
    ap.add_argument("--r-full-max", type=int, default=200_000, help="largest size R runs in full (two-stage)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument(
        "--summaries-only", action="store_true", help="only refresh the other benchmarks' summaries in --out"
    )
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the last run's record (benchmarks/work/results.pkl), running nothing",
    )
    args = ap.parse_args()
    if args.summaries_only:
        rewrite_side_summaries(Path(args.out))
        return
    record = WORK / "results.pkl"
    if args.report_only:
        with open(record, "rb") as fh:
            write_report(Path(args.out), pickle.load(fh))
        return
    started = time.perf_counter()
    run_info = {
        "machine": machine(),
        "versions": versions(),
        "command": "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "designs": args.designs.split(","),
    }
    sizes = [int(x) for x in args.sizes.split(",")]
    tools = args.tools.split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    summaries: dict = {}
    results: dict = {}
    for n in sizes:
        generate.ensure(n)
        for d in args.designs.split(","):
            res: dict = {}
            log(f"=== {n:,} rows, {d}")
            for tool in ("carepop", "bincount", "svy"):
                if tool in tools and not (tool == "bincount" and d != "twostage"):
                    res[tool] = bench_python(
                        tool, n, d, args.repeats, args.budget, profile=(tool == "carepop" and d == "twostage")
                    )
            if "bincount" in tools and d != "twostage" and (n, "twostage") in results:
                res["bincount"] = results[(n, "twostage")].get("bincount")
            if "r" in tools:
                k = 0 if (d == "onestage" or n <= args.r_full_max) else args.r_domains
                res["r"] = bench_r(n, d, args.r_repeats, args.budget, k)
            results[(n, d)] = res
            summaries[(n, d)] = summarise(n, d, res)
            s = summaries[(n, d)]
            keys = [k for k in ("cp_cold", "r_cold", "svy_cold", "bc_bare") if k in s]
            log("  cold: " + ", ".join(f"{k} {fmt_s(s[k])}" for k in keys))
            run = dict(
                run_info,
                summaries=summaries,
                results=results,
                loads=LOADS,
                minutes=(time.perf_counter() - started) / 60,
            )
            with open(record, "wb") as fh:
                pickle.dump(run, fh)
            write_report(Path(args.out), run)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
