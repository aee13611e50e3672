"""Raking benchmark: carepop's ``rake`` against R ``survey::rake`` and svy's ``rake``.

    python benchmarks/rake_bench.py [--sizes 10000,100000,1000000] [--tools carepop,svy,r]

For each size it generates (once) a synthetic, seeded, weights-only sample with three categorical
margins, age band (8) × sex (2) × region (9), and population margins with one grand total that
differ from the sample's weighted distribution (benchmarks/rake_data.py). Then each tool runs in a
process of its own on the same file:

- carepop, svy: benchmarks/rake_worker.py (design built afresh each repeat; ``rake`` timed, then the
  domain mean of ``y`` by ``region`` with its calibration-aware SE on the raked design);
- R survey: benchmarks/rake_bench.R (``rake(d, list(~age, ~sex, ~region), ..., control =
  list(maxit = 100, epsilon = 1e-10))`` and ``svyby(~y, ~region, r, svymean)``, timed inside R with
  ``system.time``; reading the CSV and ``svydesign`` apart).

Times are wall clock, best of the repeats. R is the reference for agreement (raked weights, domain
means and SEs). Writes benchmarks/RAKE_RESULTS.md; raw outputs go to benchmarks/work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import re
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

import rake_data  # noqa: E402
from run import best, fmt_diff, fmt_mb, fmt_s, fmt_x, log, machine, profile_excerpt, rel, versions  # noqa: E402

PY = sys.executable
TARGETS = {"r": 20.0, "svy": 2.0}
WEIGHT_AGREE = 1e-12  # what "agrees with R" means for the raked weights

LOADS: list[float] = []  # 1-minute load average just before each tool started


def run(cmd: list[str], timeout: float) -> float:
    LOADS.append(os.getloadavg()[0])
    log("$ " + shlex.join(cmd))
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=timeout, cwd=ROOT)
    return time.perf_counter() - t0


def max_rel(a: np.ndarray, ref: np.ndarray) -> float:
    a, ref = np.asarray(a, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != ref.shape:
        return float("inf")
    scale = np.where(np.abs(ref) > 0, np.abs(ref), 1.0)
    d = np.abs(a - ref) / scale
    return float(np.nanmax(np.where(np.isnan(d), np.inf, d))) if d.size else float("nan")


def read_mean(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"region": str}).set_index("region").sort_index()


# --------------------------------------------------------------------------- tools
def bench_python(tool: str, n: int, args, profile: bool) -> dict:
    pq, _ = rake_data.paths(n)
    prefix = WORK / f"rake_res_{tool}_{n}"
    cmd = [
        PY,
        str(HERE / "rake_worker.py"),
        tool,
        "--data",
        str(pq),
        "--margins",
        str(rake_data.margins_path()),
    ]
    cmd += ["--out", str(prefix), "--repeats", str(args.repeats), "--budget", str(args.budget)]
    cmd += ["--epsilon", repr(args.epsilon), "--maxit", str(args.maxit)]
    if profile:
        cmd += ["--profile", str(WORK / f"rake_profile_{tool}_{n}.txt")]
    wall = run(cmd, timeout=1800)
    res = json.loads(Path(f"{prefix}.json").read_text())
    res["mean_df"] = read_mean(Path(f"{prefix}_mean.csv"))
    res["weights"] = np.load(f"{prefix}_weights.npy")
    res["process_wall"] = wall
    res["command"] = shlex.join(["python", *map(rel, cmd[1:])])
    return res


def bench_r(n: int, args) -> dict:
    _, csv = rake_data.paths(n)
    prefix = WORK / f"rake_res_r_{n}"
    cmd = ["Rscript", str(HERE / "rake_bench.R"), str(csv), str(rake_data.margins_path()), str(prefix)]
    cmd += [str(args.r_repeats), str(args.budget), repr(args.epsilon), str(args.maxit)]
    wall = run(cmd, timeout=3600)
    t = pd.read_csv(f"{prefix}_timings.csv")
    get = lambda k: t.loc[t["what"] == k, "value"].astype(float).tolist()  # noqa: E731
    return {
        "read": get("read")[0],
        "design": get("design"),
        "rake": get("rake"),
        "mean": get("mean"),
        "converged": bool(get("converged")[0]),
        "peak_rss_kb": get("peak_rss_kb")[0],
        "process_wall": wall,
        "mean_df": read_mean(Path(f"{prefix}_mean.csv")),
        "weights": np.fromfile(f"{prefix}_weights.bin", dtype=np.float64),
        "command": shlex.join(["Rscript", *map(rel, cmd[1:])]),
    }


# --------------------------------------------------------------------------- agreement
def margin_misfit(n: int, weights: np.ndarray) -> float:
    """Largest relative misfit |achieved - target| / target over all margin levels."""
    pq, _ = rake_data.paths(n)
    df = pd.read_parquet(pq, columns=list(rake_data.LEVELS))
    worst = 0.0
    for var, m in rake_data.margins().items():
        codes = pd.Categorical(df[var], categories=list(m)).codes
        target = np.array(list(m.values()), dtype=float)
        got = np.bincount(codes, weights=weights, minlength=len(m))
        worst = max(worst, float(np.max(np.abs(got - target) / target)))
    return worst


def start_ratios(n: int) -> dict[str, tuple[float, float]]:
    """Range over each margin's levels of (weighted sample total) / (population total), before raking."""
    pq, _ = rake_data.paths(n)
    df = pd.read_parquet(pq, columns=[*rake_data.LEVELS, "w"])
    out = {}
    for var, m in rake_data.margins().items():
        got = df.groupby(var)["w"].sum()
        r = np.array([got.get(k, 0.0) / t for k, t in m.items()])
        out[var] = (float(r.min()), float(r.max()))
    return out


def summarise(n: int, res: dict) -> dict:
    s: dict = {"n": n}
    for tool, x in res.items():
        s[tool] = {
            "design": best(x["design"]),
            "rake": best(x["rake"]),
            "mean": best(x["mean"]),
            # R's loops are separate (rake repeated, then svyby on the raked design): best + best
            "both": best(x["rake"]) + best(x["mean"])
            if tool == "r"
            else best([a + b for a, b in zip(x["rake"], x["mean"], strict=True)]),
            "misfit": margin_misfit(n, x["weights"]),
            "total": float(np.sum(x["weights"])),
        }
    r = res.get("r")
    agree = {}
    pairs = [(t, "r") for t in ("carepop", "svy") if r and t in res]
    if "carepop" in res and "svy" in res:
        pairs.append(("svy", "carepop"))
    for tool, ref in pairs:
        a, b = res[tool], res[ref]
        joined = b["mean_df"].merge(
            a["mean_df"], left_index=True, right_index=True, how="left", suffixes=("", "_t")
        )
        agree[(tool, ref)] = {
            "weights": max_rel(a["weights"], b["weights"]),
            "est": max_rel(joined["estimate_t"], joined["estimate"]),
            "se": max_rel(joined["se_t"], joined["se"]),
        }
    s["agree"] = agree
    s["start"] = start_ratios(n)
    return s


# --------------------------------------------------------------------------- report
def profile_times(path: Path) -> dict[str, float]:
    """Cumulative seconds of a few carepop functions in the cProfile listing."""
    if not path.exists():
        return {}
    text = path.read_text().splitlines()
    starts = [i for i, ln in enumerate(text) if ln.lstrip().startswith("ncalls")]
    if len(starts) < 2:
        return {}
    out: dict[str, float] = {}
    for ln in text[starts[1] + 1 :]:
        m = re.match(r"\s*[\d/]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+(.*)$", ln)
        if not m:
            continue
        cum, where = float(m.group(1)), m.group(2)
        for key, pat in {
            "rake": "weighting/rake.py:",
            "mean": "survey.py:",
            "unit_stats": "(unit_stats)",
            "domain_hx": "(domain_hx)",
        }.items():
            if pat in where and (key not in ("rake", "mean") or where.endswith(f"({key})")):
                out.setdefault(key, cum)
        for fn in ("rake_step", "ipf_rows", "factor"):
            if where.endswith(f"({fn})"):
                out.setdefault(fn, cum)
    return out


def agree_txt(a: dict | None) -> tuple[str, str]:
    if not a:
        return "–", "–"
    return fmt_diff(a["weights"]), f"{fmt_diff(a['est'])} / {fmt_diff(a['se'])}"


def size_section(s: dict, res: dict) -> list[str]:
    n = s["n"]
    lines = [f"### {n:,} rows", ""]
    lines.append(
        "| tool | design build | **rake** | domain mean + SE on the raked design | rake + domain mean "
        "| raking passes | peak RSS | raked weights: max rel. diff vs R | domain means / SEs: max rel. "
        "diff vs R | largest margin misfit |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = {"carepop": "carepop", "svy": "svy", "r": "R survey"}
    for tool in ("carepop", "r", "svy"):
        if tool not in res:
            continue
        x, t = res[tool], s[tool]
        w, e = ("reference", "reference") if tool == "r" else agree_txt(s["agree"].get((tool, "r")))
        passes = x.get("passes")
        if tool == "r":
            passes_txt = "same criterion" + ("" if x["converged"] else " (**did not converge**)")
        else:
            passes_txt = str(passes) if passes else "– (not reported)"
        lines.append(
            f"| {names[tool]} | {fmt_s(t['design'])} | **{fmt_s(t['rake'])}** | {fmt_s(t['mean'])} "
            f"| {fmt_s(t['both'])} | {passes_txt} | {fmt_mb(x['peak_rss_kb'])} | {w} | {e} "
            f"| {fmt_diff(t['misfit'])} |"
        )
    lines.append("")
    cp, r, sv = s.get("carepop"), s.get("r"), s.get("svy")
    ratios = []
    if cp and r:
        ratios.append(
            f"R / carepop: rake **{fmt_x(r['rake'] / cp['rake'])}**, rake + domain mean "
            f"{fmt_x(r['both'] / cp['both'])}, domain mean alone {fmt_x(r['mean'] / cp['mean'])}"
        )
    if cp and sv:
        ratios.append(
            f"svy / carepop: rake **{fmt_x(sv['rake'] / cp['rake'])}**, rake + domain mean "
            f"{fmt_x(sv['both'] / cp['both'])}, domain mean alone {fmt_x(sv['mean'] / cp['mean'])}"
        )
    if ratios:
        lines += ["Ratios (best times): " + "; ".join(ratios) + ".", ""]
    a = s["agree"].get(("svy", "carepop"))
    if a:
        lines += [
            f"carepop vs svy: weights {fmt_diff(a['weights'])}, domain means {fmt_diff(a['est'])}, "
            f"SEs {fmt_diff(a['se'])} (max rel. diff, carepop as reference).",
            "",
        ]
    notes = []
    if "r" in res:
        notes.append(
            f"R read the CSV in {fmt_s(res['r']['read'])} (not counted); repeats: R rake "
            f"{len(res['r']['rake'])}, R svyby {len(res['r']['mean'])}"
            + "".join(f", {t} {len(res[t]['rake'])}" for t in ("carepop", "svy") if t in res)
        )
    spread = [
        f"{names[t]} {fmt_s(min(res[t]['rake']))}–{fmt_s(max(res[t]['rake']))}"
        for t in ("carepop", "r", "svy")
        if t in res
    ]
    if spread:
        notes.append("rake times over the repeats (best–worst): " + ", ".join(spread))
    if "carepop" in res and res["carepop"].get("peak_work_rss_kb"):
        c = res["carepop"]
        notes.append(
            f"carepop memory: {fmt_mb(c['rss_loaded_kb'])} resident after reading the Parquet file, "
            f"peak {fmt_mb(c['peak_work_rss_kb'])} while building designs, raking and estimating"
        )
    if "svy" in res and res["svy"].get("cpu_per_wall", 0) > 1.2:
        notes.append(f"svy used {res['svy']['cpu_per_wall']:.1f} cores on average (CPU time / wall time)")
    totals = {t: s[t]["total"] for t in ("carepop", "r", "svy") if t in s}
    if totals:
        notes.append(
            "weight totals after raking: "
            + ", ".join(f"{names[t]} {v:,.4f}" for t, v in totals.items())
            + f" (population {rake_data.POP_TOTAL:,})"
        )
    if notes:
        lines += ["; ".join(notes) + ".", ""]
    return lines


def write_report(path: Path, rec: dict) -> None:
    summaries, results, m, v = rec["summaries"], rec["results"], rec["machine"], rec["versions"]
    loads = rec["loads"]
    sizes = sorted(summaries)
    big = max(sizes)
    eps = rec["epsilon"]
    lines = [
        "# carepop benchmark: raking against R survey and svy",
        "",
        f"Written by `benchmarks/rake_bench.py` on {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} "
        f"(whole run {rec['minutes']:.1f} min).",
        "",
        "## Machine and versions",
        "",
        f"- {m.get('cpu', '?')}, {m['cores']} cores, {m.get('memory_gb', float('nan')):.1f} GB memory; "
        f"{m['platform']}",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- 1-minute load average just before each tool started: median {np.median(loads):.2f}, "
        f"max {max(loads):.2f} (1.0 is the benchmark itself on one core)",
        "",
        "## Commands",
        "",
        "```",
        rec["command"],
        "```",
        "",
        "which generates the data (`python benchmarks/rake_data.py --sizes ...`) and runs, per size "
        "(shown for the largest):",
        "",
        "```",
    ]
    for tool in ("carepop", "svy", "r"):
        x = results.get(big, {}).get(tool)
        if x:
            lines.append(x["command"])
    lines += [
        "```",
        "",
        "## Data and calls",
        "",
        "Synthetic, seeded (`benchmarks/rake_data.py`): a weights-only sample with `age` (8 bands), `sex` "
        "(2) and `region` (9 English regions); older people, women and small regions are over-represented "
        "and age depends on region, so the margins are associated; design weights `w` are log-normal and "
        f"sum to 93 % of the population ({rake_data.POP_TOTAL:,}); `y` is weekly hours of unpaid care "
        "(mostly 0). The population margins are integers with that one grand total and differ from the "
        f"weighted sample in every margin (at {big:,} rows, weighted sample / population ranges over "
        + ", ".join(f"{lo:.2f}–{hi:.2f} by {var}" for var, (lo, hi) in summaries[big]["start"].items())
        + "). Margins are raked in the order age, sex, region by every tool.",
        "",
        "| tool | design | rake | domain mean |",
        "|---|---|---|---|",
        '| carepop | `Survey(df, weight="w")` | `rake(s, {"age": {...}, "sex": {...}, "region": {...}}, '
        f'maxit={rec["maxit"]}, epsilon={eps:g})` | `r.mean("y", by="region").to_pandas()` |',
        "| R survey | `svydesign(id = ~1, weights = ~w, data = df)` | `rake(d, list(~age, ~sex, ~region), "
        f"list(pop_age, pop_sex, pop_region), control = list(maxit = {rec['maxit']}, epsilon = {eps:g}))` "
        "| `svyby(~y, ~region, r, svymean)` |",
        '| svy | `svy.Sample(df, svy.Design(wgt="w"))` | `s.weighting.rake(controls={...}, '
        f'tol={eps:g}, max_iter={rec["maxit"]})` | `r.estimation.mean("y", by="region").to_polars()` |',
        "",
        "Tolerances: carepop and R take the same `epsilon`; below 1 it is a fraction of the (initial) "
        f"weight total, so raking stops once no cell of the weighted age × sex × region table moves by "
        f"{eps:g} × the total (here {eps:g} × {0.93 * rake_data.POP_TOTAL:,.0f} ≈ "
        f"{eps * 0.93 * rake_data.POP_TOTAL:.2g}) between passes. svy has no such criterion: its `tol` "
        "is the largest relative misfit |achieved − target| / target over the margin levels, and it is "
        f"given the same number, {eps:g}. The *largest margin misfit* column measures every tool's "
        "result by svy's criterion.",
        "",
        "## How it is timed",
        "",
        "- Wall clock, best of the repeats; every tool runs in a fresh process of its own on the same file "
        "(Python: Parquet; R: the same data as CSV, read by `data.table::fread`, not timed); each Python "
        "worker first runs every call once on a small sample (imports, first-call set-up).",
        "- *design build* is timed apart and is not in the ratios. *rake* is the raking call on a freshly "
        "built design (including coding the three margin columns, and for carepop the calibration "
        'structure later variances use). *domain mean + SE* is the first `mean("y", by="region")` on '
        "the raked design, with its calibration-aware (raking-residual) standard error and the result "
        "table.",
        "- R rakes up to the repeat count within half the time budget, then runs `svyby` on the raked "
        "design; its *rake + domain mean* is the sum of the two best times. The Python tools time "
        "both in the same repeat.",
        "- Memory: peak resident set size of each tool's process (`ru_maxrss` for Python, VmHWM for R: "
        "both include reading the data and, for Python, the warm-up).",
        "",
    ]
    # --- targets
    s = summaries[big]
    cp, r, sv = s.get("carepop"), s.get("r"), s.get("svy")
    title = (
        "## Targets (1M rows, 3 margins, epsilon 1e-10)"
        if big >= 1_000_000
        else f"## Targets (checked at the largest size run, {big:,} rows; they are set for 1M rows)"
    )
    rows = [title, "", "| target | measured | met? |", "|---|---:|---|"]

    def row(name: str, val: str, ok: bool | None) -> None:
        rows.append(f"| {name} | {val} | {'–' if ok is None else ('yes' if ok else '**no**')} |")

    if cp and r:
        x = r["rake"] / cp["rake"]
        row(f"raking ≥ {TARGETS['r']:.0f}× faster than R survey", fmt_x(x), x >= TARGETS["r"])
    if cp and sv:
        x = sv["rake"] / cp["rake"]
        row(f"raking ≥ {TARGETS['svy']:.0f}× faster than svy", fmt_x(x), x >= TARGETS["svy"])
    if cp and r:
        x = r["both"] / cp["both"]
        row("(not a target) rake + domain mean with SE, R / carepop", fmt_x(x), None)
    if cp and sv:
        x = sv["both"] / cp["both"]
        row("(not a target) rake + domain mean with SE, svy / carepop", fmt_x(x), None)
    a = s["agree"].get(("carepop", "r"))
    if a:
        row(
            f"carepop's raked weights agree with R's (max rel. diff ≤ {WEIGHT_AGREE:g})",
            fmt_diff(a["weights"]),
            a["weights"] <= WEIGHT_AGREE,
        )
        row(
            "carepop's domain means and SEs agree with R's (max rel. diff < 1e-9)",
            f"{fmt_diff(a['est'])} / {fmt_diff(a['se'])}",
            a["est"] < 1e-9 and a["se"] < 1e-9,
        )
    lines += rows + [""]
    lines += ["## Results", ""]
    for n in sizes:
        lines += size_section(summaries[n], results[n])
    # --- profile
    prof = WORK / f"rake_profile_carepop_{big}.txt"
    pt = profile_times(prof)
    ex = profile_excerpt(prof, n_own=15, n_cum=25)
    if ex:
        lines += [
            f"## Where carepop's time goes ({big:,} rows, one rake + domain mean on a fresh design, "
            "cProfile)",
            "",
            f"Full listing: `{os.path.relpath(prof, ROOT)}` (rewritten by each run; cProfile adds some "
            "overhead).",
            "",
        ]
        if {"rake", "rake_step", "ipf_rows"} <= set(pt):
            other = pt["rake"] - pt["rake_step"] - pt["ipf_rows"] - pt.get("factor", 0.0)
            lines += [
                f"- `rake` {pt['rake']:.3f} s: `rake_step` {pt['rake_step']:.3f} s "
                f"({pt['rake_step'] / pt['rake']:.0%}; the dense rows × levels matrices `Z`, `H` of the "
                f"raking residual that later SEs use, and `Q = H'Z`), the raking passes `ipf_rows` "
                f"{pt['ipf_rows']:.3f} s ({pt['ipf_rows'] / pt['rake']:.0%}), coding the margin columns "
                f"`factor` {pt.get('factor', float('nan')):.3f} s, the rest {other:.3f} s.",
            ]
        if {"mean", "unit_stats"} <= set(pt):
            lines += [
                f"- `mean` {pt['mean']:.3f} s: `unit_stats` {pt['unit_stats']:.3f} s "
                f"({pt['unit_stats'] / pt['mean']:.0%}; the centred cross-products of the unit totals of "
                "`Z`, one `np.bincount` per pair of the 19 columns, over every row as each row is its own "
                "sampling unit here), `domain_hx` "
                f"{pt.get('domain_hx', float('nan')):.3f} s.",
            ]
        lines += ["", *ex, ""]
    lines += [
        "## Caveats",
        "",
        f"- The machine has {m['cores']} cores. carepop and R are single-threaded here; svy's Rust kernels "
        "may use more than one core (noted under a table when they did).",
        "- The split between *rake* and *domain mean* is not the same in every tool: carepop builds the "
        "raking residual's structure (`Z`, `H`, `K`) inside `rake`, R keeps the post-stratification "
        "record and sweeps the influence values inside `svyby`, svy codes the margins inside `rake` and "
        "sweeps inside `mean`. *rake + domain mean* compares the whole.",
        "- svy stops on a different criterion (relative margin misfit), so its weights stop at a different "
        "point than R's and carepop's, within the tolerance; the differences to R in its row are of that "
        "size, not errors.",
        f"- R survey is version {v.get('survey', '?')} (the Debian package on this machine).",
        "",
    ]
    path.write_text("\n".join(lines))
    log(f"wrote {path}")


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--tools", default="carepop,svy,r")
    ap.add_argument("--repeats", type=int, default=7, help="repeats for the Python tools (best is kept)")
    ap.add_argument("--r-repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds after which a tool stops repeating")
    ap.add_argument("--epsilon", type=float, default=1e-10)
    ap.add_argument("--maxit", type=int, default=100)
    ap.add_argument("--out", default=str(HERE / "RAKE_RESULTS.md"))
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the last run's record (benchmarks/work/rake_results.pkl)",
    )
    args = ap.parse_args()
    record = WORK / "rake_results.pkl"
    if args.report_only:
        with open(record, "rb") as fh:
            write_report(Path(args.out), pickle.load(fh))
        return
    started = time.perf_counter()
    info = {
        "machine": machine(),
        "versions": versions(),
        "command": "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "epsilon": args.epsilon,
        "maxit": args.maxit,
    }
    tools = args.tools.split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    summaries: dict = {}
    results: dict = {}
    for n in (int(x) for x in args.sizes.split(",")):
        rake_data.ensure(n)
        log(f"=== {n:,} rows")
        res: dict = {}
        for tool in ("carepop", "svy"):
            if tool in tools:
                res[tool] = bench_python(tool, n, args, profile=True)
        if "r" in tools:
            res["r"] = bench_r(n, args)
        results[n] = res
        summaries[n] = summarise(n, res)
        s = summaries[n]
        log("  rake: " + ", ".join(f"{t} {fmt_s(s[t]['rake'])}" for t in ("carepop", "svy", "r") if t in s))
        rec = dict(
            info,
            summaries=summaries,
            results=results,
            loads=LOADS,
            minutes=(time.perf_counter() - started) / 60,
        )
        with open(record, "wb") as fh:
            pickle.dump(rec, fh)
        write_report(Path(args.out), rec)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
