"""The four tasks of issue 11: carepop against R ``survey``, ``svy``, ``samplics`` and a numpy floor.

    python benchmarks/tasks_bench.py [--sizes 100000,1000000] [--tasks t1,t2,t3,t4] \
        [--tools carepop,r,svy,samplics,numpy] [--repeats 3] [--save-baseline]

- T1 mean of ``y`` and proportions of ``cat``, strata + PSUs sampled with replacement, overall;
- T2 the same by the 150 domains ``la``;
- T3 raking to the age × sex × region margins to epsilon 1e-8 (benchmarks/rake_data.py);
- T4 JK1 jackknife over 50 groups of PSUs (``jkgroup``) with ``mse = TRUE``, then T2 with replicate SEs.

Every run is one task, once, in a fresh process (benchmarks/tasks_worker.py for the Python tools,
benchmarks/tasks_bench.R for R), timed inside the process with the design built in the timed region;
repeats go round-robin over the tools (the starting tool rotating), and the report gives medians with
min/max and the peak memory of every run. R is the reference for agreement. Writes
benchmarks/TASKS_RESULTS.md and the summary section of benchmarks/RESULTS.md; the record of the run
goes to benchmarks/work/<out>.pkl (TASKS_RESULTS.pkl by default). ``--save-baseline`` also keeps
this run's carepop numbers in benchmarks/TASKS_BASELINE.json (and the record in
benchmarks/work/tasks_before.pkl): later runs compare carepop with them ("T1 and T2 no slower than
before").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import rake_data  # noqa: E402
import run as domain_bench  # noqa: E402
from rake_bench import margin_misfit, max_rel  # noqa: E402
from run import fmt_diff, fmt_mb, fmt_s, fmt_x, log, machine, profile_excerpt, rel, versions  # noqa: E402

PY = sys.executable
TOOLS = ("carepop", "r", "svy", "samplics", "numpy")
NAMES = {
    "carepop": "carepop",
    "r": "R survey",
    "svy": "svy",
    "samplics": "samplics",
    "numpy": "numpy one-pass bound",
}
TASK_TITLES = {
    "t1": "T1: mean and proportion, strata + PSUs (with replacement), overall",
    "t2": "T2: mean and proportion by 150 domains",
    "t3": "T3: raking to age × sex × region margins, epsilon 1e-8",
    "t4": "T4: JK1 jackknife over 50 groups of PSUs (mse = TRUE), then T2 with replicate SEs",
}
#: issue 11's targets at 1M rows (tool time / carepop time, and carepop's peak memory)
TARGETS = {"t4_svy": 20.0, "t4_r": 100.0, "t4_memory_gb": 1.0, "t3_svy": 3.0, "t3_r": 30.0}
AGREE = 1e-12  # what "carepop agrees with R" means (max relative difference)
BASELINE = HERE / "TASKS_BASELINE.json"


def profile_path(out: str, task: str, n: int) -> Path:
    return WORK / f"{Path(out).stem}_profile_{task}_{n}.txt"


def record_path(out: str) -> Path:
    """The run's record, named after its report (so trial runs with their own --out keep theirs)."""
    return WORK / f"{Path(out).stem}.pkl"


RECLAIM_NOTE = (
    "This machine (a VM) takes back memory left idle for a few seconds and charges about 2 s per GiB "
    "to touch it again, so a process that frees memory and waits pays again for it. Every worker reads "
    "the data and starts the task at once, and nothing inside the timed region waits; times can still "
    "include page faults on memory the previous process gave back."
)


# --------------------------------------------------------------------------- running
def fmt_ratio(x: float) -> str:
    """tool / carepop: two significant digits below 1 (the numpy bound is a fraction of carepop)."""
    return f"{x:.2g}×" if 0 < x < 1 else fmt_x(x)


def git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except Exception:
        return "?"


def code_state() -> dict:
    """Which carepop is measured: HEAD, the last commit that changed src/, the tree of src/."""
    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "src_commit": git("log", "-1", "--format=%h", "--", "src"),
        "src_tree": git("rev-parse", "--short", "HEAD:src"),
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def ensure_data(n: int, tasks: list[str]) -> None:
    if any(t != "t3" for t in tasks):
        import pyarrow.parquet as pq

        path, _ = generate.paths(n)
        stale = path.exists() and "jkgroup" not in pq.read_schema(path).names  # written before jkgroup
        generate.ensure(n, force=stale)
    if "t3" in tasks:
        rake_data.ensure(n)


def command(tool: str, task: str, n: int, prefix: Path, args, profile: Path | None) -> list[str]:
    pq, csv = rake_data.paths(n) if task == "t3" else generate.paths(n)
    if tool == "r":
        cmd = ["Rscript", str(HERE / "tasks_bench.R"), task, str(csv), str(prefix)]
        if task == "t3":
            cmd += [str(rake_data.margins_path()), repr(args.epsilon), str(args.maxit)]
        return cmd
    cmd = [PY, str(HERE / "tasks_worker.py"), tool, task, "--data", str(pq), "--out", str(prefix)]
    if task == "t3":
        cmd += ["--margins", str(rake_data.margins_path()), "--epsilon", repr(args.epsilon)]
        cmd += ["--maxit", str(args.maxit)]
    if profile:
        cmd += ["--profile", str(profile)]
    return cmd


def read_est(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"la": str, "level": str}, keep_default_na=False)
    for col in ("estimate", "se"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def run_one(tool: str, task: str, n: int, rep: int, args, profile: Path | None = None) -> dict:
    """One fresh process; its timings and memory, and its estimates (or raked weights)."""
    prefix = WORK / f"task_{task}_{tool}_{n}"
    cmd = command(tool, task, n, prefix, args, profile)
    load = os.getloadavg()[0]
    shown = shlex.join(["python" if tool != "r" else "Rscript", *map(rel, cmd[1:])])
    log(f"[{task} {n:,} #{rep + 1}] $ {shown}")
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=ROOT, timeout=args.timeout, capture_output=True, text=True, check=True)
    except subprocess.TimeoutExpired:
        return {
            "failed": f"killed after the {args.timeout:.0f} s time-out",
            "wall": args.timeout,
            "load": load,
        }
    except subprocess.CalledProcessError as e:
        tail = [ln for ln in (e.stderr or "").strip().splitlines() if ln.strip()][-1:] or ["?"]
        fail = f"exit {e.returncode}: {tail[0][:300]}"
        return {"failed": fail, "wall": time.perf_counter() - t0, "load": load}
    wall = time.perf_counter() - t0
    if tool == "r":
        t = pd.read_csv(f"{prefix}_timings.csv")
        get = dict(zip(t["what"], t["value"].astype(float), strict=True))
        out = {k: get[k] for k in ("task", "task_cpu", "rss_loaded_kb", "peak_task_kb", "peak_rss_kb")}
        out["phases"] = {}
        out["read"] = get["read"]
        if task == "t3":
            out["converged"] = bool(get["converged"])
            out["weights"] = np.fromfile(f"{prefix}_weights.bin", dtype=np.float64)
    else:
        out = json.loads(Path(f"{prefix}.json").read_text())
        if task == "t3":
            out["weights"] = np.load(f"{prefix}_weights.npy")
    if task != "t3":
        out["est"] = read_est(Path(f"{prefix}_est.csv"))
    out.update(wall=wall, load=load, command=shown)
    log(f"    {tool}: task {fmt_s(out['task'])}, peak {fmt_mb(out['peak_rss_kb'])}")
    return out


def bench(task: str, n: int, tools: list[str], args, last_size: bool) -> dict:
    """All runs of one task at one size: ``{tool: {"runs": [...], "output": ..., "failed": [...]}}``."""
    res = {t: {"runs": [], "failed": [], "output": None} for t in tools}
    stop: set[str] = set()
    for rep in range(args.repeats):
        k = rep % len(tools)
        for tool in tools[k:] + tools[:k]:  # round-robin, the first tool rotating
            if tool in stop:
                continue
            profile = None
            if tool == "carepop" and last_size and rep == args.repeats - 1 and task in ("t3", "t4"):
                profile = profile_path(args.out, task, n)
            out = run_one(tool, task, n, rep, args, profile)
            if "failed" in out:
                log(f"    {tool} FAILED: {out['failed']}")
                res[tool]["failed"].append(out["failed"])
                stop.add(tool)  # a failure repeats; do not spend the time again
                continue
            res[tool]["output"] = out.pop("weights" if task == "t3" else "est")
            res[tool]["runs"].append(out)
            if out["wall"] > args.slow:
                stop.add(tool)
    return res


# --------------------------------------------------------------------------- summaries
def by_key(df: pd.DataFrame, part: str) -> pd.DataFrame:
    return df[df["part"] == part].set_index(["la", "level"])[["estimate", "se"]].sort_index()


def summarise(task: str, n: int, res: dict) -> dict:
    s: dict = {"task": task, "n": n, "tools": {}}
    for tool, x in res.items():
        runs = x["runs"]
        if not runs:
            s["tools"][tool] = {"failed": x["failed"]}
            continue
        times = [r["task"] for r in runs]
        phases = {p: float(np.median([r["phases"].get(p, np.nan) for r in runs])) for p in runs[0]["phases"]}
        s["tools"][tool] = {
            "median": float(np.median(times)),
            "min": min(times),
            "max": max(times),
            "runs": len(runs),
            "peak_rss_kb": max(r["peak_rss_kb"] for r in runs),
            "above_kb": max((r["peak_task_kb"] or np.nan) - r["rss_loaded_kb"] for r in runs),
            "rss_loaded_kb": float(np.median([r["rss_loaded_kb"] for r in runs])),
            "cpu_per_wall": float(np.median([r["task_cpu"] / r["task"] for r in runs if r["task"] > 0])),
            "phases": phases,
            "failed": x["failed"],
            "converged": all(r.get("converged", True) for r in runs),
        }
    ref = res.get("r", {}).get("output")
    agree: dict = {}
    for tool, x in res.items():
        if x["output"] is None:
            continue
        if task == "t3":
            agree[tool] = {"misfit": margin_misfit(n, x["output"]), "total": float(np.sum(x["output"]))}
            if ref is not None and tool != "r":
                agree[tool]["weights"] = max_rel(x["output"], ref)
        elif ref is not None and tool != "r":
            agree[tool] = {
                part: domain_bench.agreement(by_key(x["output"], part), by_key(ref, part))
                for part in ("mean", "prop")
            }
    s["agree"] = agree
    if task == "t4" and ref is not None and res.get("carepop", {}).get("output") is not None:
        s["exact"] = exact_check(n, res)
    return s


def exact_jk1(n: int, la: str, level: str) -> tuple[float, float]:
    """One T4 cell's estimate and JK1 (mse) SE in exact rational arithmetic, the data's doubles taken
    as exact values (only the final square root is rounded)."""
    pq, _ = generate.paths(n)
    df = pd.read_parquet(pq, columns=["w", "y", "la", "cat", "jkgroup"])
    d = df[df["la"] == la]
    y = (d["cat"] == level).astype(float) if level else d["y"]
    s_w: dict[int, Fraction] = {}
    s_y: dict[int, Fraction] = {}
    for w, v, g in zip(d["w"].to_numpy(), y.to_numpy(), d["jkgroup"].to_numpy(), strict=True):
        fw = Fraction(float(w))
        s_w[g] = s_w.get(g, Fraction(0)) + fw
        s_y[g] = s_y.get(g, Fraction(0)) + fw * Fraction(float(v))
    G = int(df["jkgroup"].nunique())
    t_w, t_y = sum(s_w.values()), sum(s_y.values())
    est = t_y / t_w
    # groups without rows of this domain give replicates equal to the estimate (no term)
    var = Fraction(G - 1, G) * sum(((t_y - s_y[g]) / (t_w - s_w[g]) - est) ** 2 for g in s_w)
    return float(est), float(var) ** 0.5


def exact_check(n: int, res: dict) -> dict:
    """Where carepop's T4 SE is furthest from R's: every tool's relative error against the exact SE."""
    ref = res["r"]["output"]
    best = None
    for part in ("mean", "prop"):
        j = by_key(ref, part).join(by_key(res["carepop"]["output"], part).add_suffix("_cp"))
        d = ((j["se_cp"] - j["se"]).abs() / j["se"].abs().where(j["se"].abs() > 0, 1.0)).fillna(0.0)
        if best is None or d.max() > best[0]:
            best = (float(d.max()), part, d.idxmax())
    _, part, (la, level) = best
    est, se = exact_jk1(n, la, level)
    errors = {}
    for tool, x in res.items():
        if x["output"] is not None:
            got = by_key(x["output"], part)["se"].get((la, level), np.nan)
            errors[tool] = abs(got - se) / se
    return {"la": la, "level": level, "part": part, "se": se, "est": est, "errors": errors}


def worst(a: dict | None, task: str) -> float:
    """The largest relative difference to R of a tool's estimates and SEs (T3: raked weights)."""
    if not a:
        return float("nan")
    if task == "t3":
        return a.get("weights", float("nan"))
    if any(a[p]["missing"] for p in ("mean", "prop")):
        return float("inf")
    return max(a[p][k] for p in ("mean", "prop") for k in ("est", "se"))


# --------------------------------------------------------------------------- report
def agree_text(a: dict | None, task: str) -> str:
    if not a:
        return "–"
    if task == "t3":
        return fmt_diff(a["weights"]) if "weights" in a else "–"
    parts = []
    for p in ("mean", "prop"):
        x = a[p]
        txt = f"{p} {fmt_diff(x['est'])} / {fmt_diff(x['se'])}"
        if x["missing"]:
            txt += f" ({x['missing']} of {x['cells']} cells missing)"
        parts.append(txt)
    return "; ".join(parts)


def mem_text(t: dict) -> tuple[str, str]:
    return fmt_mb(t["peak_rss_kb"]), fmt_mb(t["above_kb"])


def task_section(s: dict, before: dict | None, rec: dict) -> list[str]:
    task, n = s["task"], s["n"]
    tt, ag = s["tools"], s["agree"]
    cp = tt.get("carepop", {}).get("median")
    lines = [f"### {TASK_TITLES[task].split(':')[0]}, {n:,} rows", ""]
    head = (
        "| tool | median task time | min – max | runs | peak RSS (process) | peak above the loaded data "
        "| tool / carepop | "
    )
    if task == "t3":
        lines += [head + "raked weights vs R (max rel. diff) | largest margin misfit |"]
        lines += ["|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    else:
        lines += [head + "max rel. diff vs R: estimates / SEs |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for tool in TOOLS:
        if tool not in tt:
            continue
        t = tt[tool]
        if "median" not in t:
            fail = "; ".join(t["failed"])
            empty = " |" * (7 if task == "t3" else 6)
            lines.append(f"| {NAMES[tool]} | could not run: {fail} |{empty}")
            continue
        rss, above = mem_text(t)
        ratio = fmt_ratio(t["median"] / cp) if cp else "–"
        a = ag.get(tool)
        ref = "reference" if tool == "r" else agree_text(a, task)
        row = (
            f"| {NAMES[tool]} | **{fmt_s(t['median'])}** | {fmt_s(t['min'])} – {fmt_s(t['max'])} "
            f"| {t['runs']} | {rss} | {above} | {ratio} | "
        )
        if task == "t3":
            conv = "" if t["converged"] else " (**did not converge**)"
            row += f"{ref} | {fmt_diff(a['misfit']) if a else '–'}{conv} |"
        else:
            row += f"{ref} |"
        lines.append(row)
    if before and cp and not rec.get("is_baseline"):
        b = before
        lines.append(
            f"| carepop before (git {rec['baseline']['code']['src_commit']}, baseline run) "
            f"| {fmt_s(b['median'])} | {fmt_s(b['min'])} – {fmt_s(b['max'])} | {b['runs']} "
            f"| {fmt_mb(b['peak_rss_kb'])} | {fmt_mb(b['above_kb'])} | {fmt_ratio(b['median'] / cp)} | |"
            + (" |" if task == "t3" else "")
        )
    lines.append("")
    notes = []
    for tool in TOOLS:
        t = tt.get(tool)
        if t and t.get("phases"):
            ph = ", ".join(f"{k} {fmt_s(v)}" for k, v in t["phases"].items())
            notes.append(f"{NAMES[tool]}: {ph}")
    if notes:
        lines += ["Phases (medians): " + "; ".join(notes) + ".", ""]
    cpu = {k: t["cpu_per_wall"] for k, t in tt.items() if "cpu_per_wall" in t}
    multi = [f"{NAMES[k]} {x:.1f}" for k, x in cpu.items() if x > 1.2]
    if multi:
        lines += ["Cores used on average (CPU time / task time): " + ", ".join(multi) + ".", ""]
    waited = [f"{NAMES[k]} {x:.2f}" for k, x in cpu.items() if x < 0.8]
    if waited:
        lines += [
            "CPU time / task time below 0.8 (the process waited: other work on the machine, or memory "
            "the host had taken back): " + ", ".join(waited) + ".",
            "",
        ]
    ex = s.get("exact")
    if ex:
        cell = f"{ex['la']}" + (f", level {ex['level']}" if ex["level"] else "")
        lines += [
            f"Exact check: in the cell where carepop's SE is furthest from R's (the {ex['part']} of {cell}), "
            f"the JK1 SE in exact rational arithmetic on the data is {ex['se']:.17g}; relative errors "
            "against it: " + ", ".join(f"{NAMES[k]} {fmt_diff(v)}" for k, v in ex["errors"].items()) + ".",
            "",
        ]
    if task == "t3" and ag:
        lines += [
            "Weight totals after raking: "
            + ", ".join(f"{NAMES[k]} {a['total']:,.4f}" for k, a in ag.items())
            + f" (population {rake_data.POP_TOTAL:,}).",
            "",
        ]
    return lines


def targets(rec: dict) -> list[str]:
    summ, big = rec["summaries"], max(n for _, n in rec["summaries"])
    base = rec.get("baseline")
    rows = [
        "**Targets of issue 11"
        + ("**" if big >= 1_000_000 else f" (checked at {big:,} rows; they are set for 1M rows)**"),
        "",
        "| target | measured | met? |",
        "|---|---:|---|",
    ]

    def row(name: str, val: str, ok: bool | None) -> None:
        rows.append(f"| {name} | {val} | {'–' if ok is None else ('yes' if ok else '**no**')} |")

    def med(task: str, tool: str) -> float:
        return summ.get((task, big), {}).get("tools", {}).get(tool, {}).get("median", float("nan"))

    for task, peer in (("t4", "svy"), ("t4", "r"), ("t3", "svy"), ("t3", "r")):
        key = f"{task}_{peer}"
        x = med(task, peer) / med(task, "carepop")
        tag = f"{task.upper()}: carepop ≥ {TARGETS[key]:.0f}× faster than {NAMES[peer]}"
        row(tag, "not run" if np.isnan(x) else fmt_x(x), None if np.isnan(x) else bool(x >= TARGETS[key]))
    t4 = summ.get(("t4", big), {}).get("tools", {}).get("carepop")
    if t4 and "median" in t4:
        gb = t4["peak_rss_kb"] / 1024**2
        row(
            f"T4: carepop peak memory < {TARGETS['t4_memory_gb']:.0f} GB (process peak RSS, data and imports "
            f"included; above the loaded data: {t4['above_kb'] / 1024**2:.2f} GB)",
            f"{gb:.2f} GB",
            bool(gb < TARGETS["t4_memory_gb"]),
        )
    for task in ("t1", "t2"):
        now = med(task, "carepop")
        b = (base or {}).get("carepop", {}).get(task, {}).get(str(big))
        name = f"{task.upper()}: carepop no slower than before (median ≤ {1 + rec['tolerance']:.2f} × before)"
        if np.isnan(now):
            row(name, "not run", None)
        elif not b:
            row(name, "no baseline recorded", None)
        elif base["code"]["src_tree"] == rec["code"]["src_tree"] and not rec["code"]["src_dirty"]:
            row(name + "; this run is of the baseline code", f"{now / b['median']:.2f} × before", None)
        else:
            row(name, f"{now / b['median']:.2f} × before", bool(now <= (1 + rec["tolerance"]) * b["median"]))
    for task in ("t1", "t2", "t3", "t4"):
        a = summ.get((task, big), {}).get("agree", {}).get("carepop")
        if a:
            w = worst(a, task)
            what = "raked weights" if task == "t3" else "estimates and SEs"
            name = f"{task.upper()}: carepop's {what} agree with R (max rel. diff ≤ {AGREE:g})"
            row(name, fmt_diff(w), bool(w <= AGREE))
    return rows + [""]


def overview(rec: dict) -> list[str]:
    summ = rec["summaries"]
    tools = [t for t in TOOLS if any(t in s["tools"] for s in summ.values())]
    lines = [
        "**Median task time (tool / carepop) · peak RSS of the process**",
        "",
        "| task | rows | " + " | ".join(NAMES[t] for t in tools) + " |",
        "|---|---:|" + "---:|" * len(tools),
    ]
    for (task, n), s in sorted(summ.items()):
        cp = s["tools"].get("carepop", {}).get("median")
        cells = []
        for t in tools:
            x = s["tools"].get(t)
            if not x:
                cells.append("–")
            elif "median" not in x:
                cells.append("could not run")
            else:
                ratio = f" ({fmt_ratio(x['median'] / cp)})" if cp and t != "carepop" else ""
                cells.append(f"{fmt_s(x['median'])}{ratio} · {fmt_mb(x['peak_rss_kb'])}")
        lines.append(f"| {task.upper()} | {n:,} | " + " | ".join(cells) + " |")
    base = rec.get("baseline")
    lines.append("")
    if base:
        lines.append(
            f"carepop before: git {base['code']['src_commit']} (src tree {base['code']['src_tree']}), run on "
            f"{base['date']} (load {base['load']}); full numbers in the per-task tables of TASKS_RESULTS.md."
        )
        lines.append("")
    return lines


def write_report(path: Path, rec: dict) -> None:
    m, v, loads = rec["machine"], rec["versions"], rec["loads"]
    summ = rec["summaries"]
    sizes = sorted({n for _, n in summ})
    big = max(sizes)
    lines = [
        "# carepop benchmark: the four tasks of issue 11 against R survey, svy, samplics and numpy",
        "",
        f"Written by `benchmarks/tasks_bench.py` on {rec['date']} (whole run {rec['minutes']:.1f} min). "
        f"carepop measured: git {rec['code']['head']} (src/ last changed in {rec['code']['src_commit']}, "
        f"tree {rec['code']['src_tree']}{', **src/ modified**' if rec['code']['src_dirty'] else ''}).",
        "",
        "## Machine and versions",
        "",
        f"- {m.get('cpu', '?')}, {m['cores']} cores, {m.get('memory_gb', float('nan')):.1f} GB memory; "
        f"{m['platform']}",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Load: `uptime` at the start: {rec['uptime_start']}; at the end: {rec['uptime_end']}. "
        f"1-minute load average just before each process: median {np.median(loads):.2f}, "
        f"max {max(loads):.2f} (1.0 is the benchmark itself on one core).",
        f"- {RECLAIM_NOTE}",
        "",
        "## Summary",
        "",
        *targets(rec),
        *overview(rec),
        "## Commands",
        "",
        "```",
        rec["command"],
        "```",
        "",
        "which generates the data (`python benchmarks/generate.py --sizes ...`, "
        "`python benchmarks/rake_data.py --sizes ...`) and runs one process per tool, task and repeat, "
        "e.g. at the largest size:",
        "",
        "```",
    ]
    for task in ("t1", "t2", "t3", "t4"):
        for tool in TOOLS:
            c = rec["commands"].get((task, big, tool))
            if c:
                lines.append(c)
    lines += ["```", "", *CALLS, "", *HOW_TIMED, ""]
    lines += ["## Results", ""]
    for (task, n), s in sorted(summ.items()):
        before = (rec.get("baseline") or {}).get("carepop", {}).get(task, {}).get(str(n))
        lines += task_section(s, before, rec)
    for task in ("t4", "t3"):
        prof, ex = rec.get("profiles", {}).get((task, big), (None, None))
        if ex and (task, big) in summ:
            lines += [
                f"## Where carepop's time goes in {task.upper()} ({big:,} rows, one more run under cProfile)",
                "",
                f"Full listing: `{prof}` (rewritten by each run). The profiled run "
                "is the task again in the same process after the timed one, so the memory the timed run "
                "touched is already mapped: its total leaves out the page faults the task time includes "
                "(and adds cProfile's overhead).",
                "",
                *ex,
                "",
            ]
    lines += [*CAVEATS, ""]
    path.write_text("\n".join(lines))
    log(f"wrote {path}")


CALLS = [
    "## Data and calls",
    "",
    "T1, T2, T4: `benchmarks/generate.py` (the domain benchmark's seeded data): 80 strata, 471 PSUs "
    "(3–9 per stratum), weights `w`, 150 local authorities `la` cutting across strata and PSUs, `y` "
    "weekly hours of unpaid care, `cat` its band (4 levels), and `jkgroup`, each PSU's jackknife group "
    "(the PSUs shuffled with a seeded generator of their own and dealt round-robin into 50 groups of 9 "
    "or 10). T3: `benchmarks/rake_data.py` (the raking benchmark's seeded weights-only sample, "
    "`age` 8 × `sex` 2 × `region` 9, integer population margins summing to 45,000,000, different from "
    "the weighted sample in every margin).",
    "",
    "| task | carepop | R survey | svy | samplics 0.6 | numpy bound |",
    "|---|---|---|---|---|---|",
    '| T1 | `s = Survey(df, weight="w", strata="stratum", psu="psu")`; `s.mean("y")`, `s.proportion("cat")` '
    "| `d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w)`; `svymean(~y, d)`, `svymean(~cat, d)` "
    '| `Sample(df, Design(stratum="stratum", psu="psu", wgt="w"))`; `estimation.mean("y")`, '
    '`estimation.prop("cat")` | `TaylorEstimator("mean" / "proportion").estimate(y, w, stratum=, psu=)` '
    "| codes by `pd.factorize`, PSU totals by `np.bincount`, with-replacement Taylor SEs |",
    '| T2 | as T1 with `by="la"` | `svyby(~y, ~la, d, svymean)`, `svyby(~cat, ~la, d, svymean)` '
    '| as T1 with `by="la"` | as T1 with `domain=la` | PSU × domain (× level) totals, one bincount each |',
    '| T3 | `rake(Survey(df, weight="w"), margins, epsilon=1e-8, maxit=100)` '
    "| `rake(svydesign(ids = ~1, weights = ~w), list(~age, ~sex, ~region), pops, control = "
    'list(epsilon = 1e-8, maxit = 100))` | `Sample(df, Design(wgt="w")).weighting.rake(controls=margins, '
    "tol=1e-8, max_iter=100)` | `SampleWeight().rake(w, margins=, control=, tol=1e-8, ctrl_tol=1e-8, "
    "max_iter=100)` | raking passes with `np.bincount` on codes, until every margin fits to 1e-8 "
    "(relative) |",
    '| T4 | `s = Survey(df, weight="w", psu="jkgroup")`; `r = replicate_weights(s, "jk1", mse=True)`; '
    '`r.mean("y", by="la")`, `r.proportion("cat", by="la")` | `r <- as.svrepdesign(svydesign(ids = '
    '~jkgroup, weights = ~w), type = "JK1", mse = TRUE)`; `svyby(~y, ~la, r, svymean)`, `svyby(~cat, '
    '~la, r, svymean)` | `Sample(df, Design(psu="jkgroup", wgt="w")).weighting.create_jk_wgts()`; '
    '`estimation.mean("y", by="la", method="replication", variance_center="estimate")`, the same `prop` '
    '| `ReplicateWeight("jackknife", strat=False).replicate(w, jkgroup)`; `ReplicateEstimator("jackknife", '
    '"mean").estimate(..., domain=la, conservative=True)`, proportions as means of each level\'s 0/1 '
    "indicator (see below) | group × domain (× level) sums by bincount; replicate r = totals minus group "
    "r; JK1 variance (49/50) Σ (θ_r − θ)² |",
    "",
    "Convergence criteria differ in T3: carepop and R stop once no cell of the weighted age × sex × region "
    "table moves by more than epsilon × the weight total between passes; svy once every margin level is "
    "within `tol` of its target (relative); samplics once every margin total changes by at most `tol` "
    "(relative) between passes and is within `ctrl_tol` of its target; the numpy bound once every margin "
    "was within epsilon of its target (relative) when raked. The *largest margin misfit* column measures "
    "every tool's raked weights by the same yardstick, max |achieved − target| / target.",
    "",
    'What samplics cannot do as asked: its `ReplicateEstimator("proportion")` by domain raises '
    "`KeyError` when a level of `cat` is absent from a domain (as some are at 10k and 100k rows), and its "
    "coefficient of variation divides by a zero estimate (`ZeroDivisionError`) after the work is done; T4 "
    "therefore estimates each level's proportion as the mean of its 0/1 indicator (the same estimator, "
    'one `ReplicateEstimator("mean")` per level) with the coefficient of variation made NaN-safe (nothing '
    "else changed). Its Taylor domain mean raises the same `ZeroDivisionError` when a domain's mean is 0, "
    "which happens only on small samples (the warm-up sample).",
]

HOW_TIMED = [
    "## How it is timed",
    "",
    "- Every run is one task, once, in a fresh process; the tools take turns (round-robin within each "
    "repeat, the first tool rotating), so slow drifts of the machine hit all of them alike. The tables "
    "give the median of the runs with the fastest and slowest. A tool whose run took longer than the "
    "`--slow` limit is not repeated at that task and size (its *runs* column says so).",
    "- The task time is wall clock inside the process, from the data frame in memory to the result "
    "tables (`to_pandas()` / `to_polars()` / the estimator objects), **design construction included** "
    "(and T4's replicate weights). Reading the data is not timed (Python: Parquet into pandas, or polars "
    "for svy; R: the same data as CSV, `data.table::fread`, then `factor()`). Each Python worker first "
    "runs the task once on a small sample (imports and first-call set-up are not timed); R loads "
    "`survey` before reading.",
    "- Memory: *peak RSS* is the process's high-water mark (start-up, imports, reading and the task); "
    "*peak above the loaded data* is the high-water mark during the task (reset through "
    "`/proc/self/clear_refs` just before it) minus the resident size once the data was read. Both are "
    "the largest over the runs.",
    "- Agreement: every tool's estimates and SEs (T3: raked weights) against R's, as the largest "
    "relative difference (absolute where R's value is 0); proportions over every domain × level cell.",
]

CAVEATS = [
    "## Caveats",
    "",
    "- The machine has 2 cores and is shared; the load averages above say how busy it was. carepop, R, "
    "samplics and the numpy bound are single-threaded on the timed paths; svy's Rust kernels and "
    "polars may use both cores (noted under a table when they did on average).",
    "- Medians of a few fresh processes, not of many calls in one process: the numbers include "
    "page faults and first-touch costs that a long-running process would amortise.",
    "- svy, samplics and the numpy bound stop raking on their own criteria (see *Data and calls*), so "
    "their raked weights differ from R's at about the tolerance, not through error.",
]


# --------------------------------------------------------------------------- baseline
def baseline_from(rec: dict) -> dict:
    out: dict = {
        "code": rec["code"],
        "date": rec["date"],
        "load": f"median {np.median(rec['loads']):.2f}, max {max(rec['loads']):.2f}",
        "command": rec["command"],
        "carepop": {},
    }
    keep = ("median", "min", "max", "runs", "peak_rss_kb", "above_kb")
    for (task, n), s in rec["summaries"].items():
        t = s["tools"].get("carepop")
        if t and "median" in t:
            out["carepop"].setdefault(task, {})[str(n)] = {k: t[k] for k in keep}
    return out


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--tasks", default="t1,t2,t3,t4")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per tool, task and size")
    ap.add_argument("--slow", type=float, default=240.0, help="a run longer than this (s) is not repeated")
    ap.add_argument("--timeout", type=float, default=3600.0, help="a run is killed after this many seconds")
    ap.add_argument("--epsilon", type=float, default=1e-8)
    ap.add_argument("--maxit", type=int, default=100)
    ap.add_argument(
        "--tolerance", type=float, default=0.10, help="'no slower than before': now ≤ (1 + this) × before"
    )
    ap.add_argument("--out", default=str(HERE / "TASKS_RESULTS.md"))
    ap.add_argument("--baseline", default=str(BASELINE), help="carepop's earlier numbers to compare with")
    ap.add_argument(
        "--save-baseline", action="store_true", help="keep this run's carepop numbers as the baseline"
    )
    ap.add_argument("--no-summary", action="store_true", help="do not refresh the summary in RESULTS.md")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the reports from the record of the last run with this --out",
    )
    args = ap.parse_args()
    if args.report_only:
        with open(record_path(args.out), "rb") as fh:
            rec = pickle.load(fh)
        finish(rec, args)
        return
    started = time.perf_counter()
    tools = [t for t in TOOLS if t in args.tools.split(",")]
    tasks = args.tasks.split(",")
    sizes = [int(x) for x in args.sizes.split(",")]
    rec: dict = {
        "machine": machine(),
        "versions": versions(),
        "code": code_state(),
        "command": "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "uptime_start": uptime(),
        "tolerance": args.tolerance,
        "summaries": {},
        "commands": {},
        "loads": [],
    }
    bpath = Path(args.baseline)
    if bpath.exists() and not args.save_baseline:
        rec["baseline"] = json.loads(bpath.read_text())
    WORK.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        ensure_data(n, tasks)
        for task in tasks:
            log(f"=== {task} at {n:,} rows")
            res = bench(task, n, tools, args, last_size=n == max(sizes))
            for tool, x in res.items():
                rec["loads"] += [r["load"] for r in x["runs"]]
                if x["runs"]:
                    rec["commands"][(task, n, tool)] = x["runs"][0]["command"]
            rec["summaries"][(task, n)] = summarise(task, n, res)
            prof = profile_path(args.out, task, n)
            if n == max(sizes) and prof.exists():  # the excerpt is kept: the file is rewritten by each run
                ex = profile_excerpt(prof, n_own=12, n_cum=15)
                rec.setdefault("profiles", {})[(task, n)] = (os.path.relpath(prof, ROOT), ex)
            s = rec["summaries"][(task, n)]["tools"]
            log("  medians: " + ", ".join(f"{t} {fmt_s(x['median'])}" for t, x in s.items() if "median" in x))
            rec.update(minutes=(time.perf_counter() - started) / 60, uptime_end=uptime())
            rec["date"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
            with open(record_path(args.out), "wb") as fh:
                pickle.dump(rec, fh)
            finish(rec, args, final=False)
    finish(rec, args)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        la = os.getloadavg()
        return f"load average: {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}"


def finish(rec: dict, args, final: bool = True) -> None:
    if final and args.save_baseline and not args.report_only:
        base = baseline_from(rec)
        Path(args.baseline).write_text(json.dumps(base, indent=1) + "\n")
        shutil.copyfile(record_path(args.out), WORK / "tasks_before.pkl")
        rec["baseline"] = base
        rec["is_baseline"] = True
        with open(record_path(args.out), "wb") as fh:
            pickle.dump(rec, fh)
        log(f"kept carepop's numbers as the baseline in {rel(str(args.baseline))}")
    write_report(Path(args.out), rec)
    results = HERE / "RESULTS.md"
    if not args.no_summary and results.exists():
        domain_bench.rewrite_side_summaries(results)


if __name__ == "__main__":
    main()
