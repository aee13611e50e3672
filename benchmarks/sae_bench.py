"""Fay–Herriot benchmark: REML fit + EBLUP + analytic (Prasad–Rao) MSE at 150 / 7,000 / 35,000 areas.

    python benchmarks/sae_bench.py [--sizes 150,7000,35000] [--tools carepop,samplics,r]
                                   [--repeats 3] [--timeout 900] [--mem-gb 8]

Data: seeded simulated areas (``--sizes``), p = 5 (intercept + 4 standard-normal covariates),
sigma2_u = 1, sampling variances psi uniform on [0.5, 2], every area with a direct estimate; written once
to benchmarks/work/sae_<M>.csv (git-ignored).

Each tool runs in fresh processes (``--repeats``, the median task time reported; a tool whose first
run takes longer than ``--slow`` seconds runs once), under an address-space cap of ``--mem-gb`` GB
(so a tool that needs m × m matrices fails fast instead of exhausting the shared machine) and a
``--timeout``:

- carepop: ``fit_fay_herriot(y, X, psi, "reml")``, ``eblup``, ``mse_analytic`` (this file, ``--worker``);
- samplics: ``EblupAreaModel("REML").fit(...)`` + ``.predict(...)`` (this file, ``--worker``);
- R sae 1.3: ``mseFH(y ~ x1 + x2 + x3 + x4, psi, method = "REML")`` (fits eblupFH and adds the MSE),
  benchmarks/sae_bench.R, timed with ``system.time`` inside R.

Task time is measured inside the process (reading the data and importing packages excluded). Peak
memory is the process's maximum resident set size (``/usr/bin/time -v``), and for carepop also the
task's own peak allocation (``tracemalloc``, in one extra process). Agreement: max |difference| of the
EBLUPs and MSEs against R (where R finished), else against carepop.
Writes benchmarks/SAE_RESULTS.md (``--out``). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
PY = sys.executable
P_COVARIATES = 4
TARGET_S = 0.5  # carepop at 35,000 areas
LOADS: list[float] = []  # 1-minute load average just before each process started


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------- data
def data_path(M: int) -> Path:
    return WORK / f"sae_{M}.csv"


def generate(M: int) -> Path:
    path = data_path(M)
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12_000 + M)
    x = rng.standard_normal((M, P_COVARIATES))
    psi = rng.uniform(0.5, 2.0, M)
    theta = 1.0 + x @ np.array([0.5, -0.3, 0.2, 0.1]) + rng.normal(0.0, 1.0, M)
    y = theta + rng.normal(0.0, np.sqrt(psi))
    df = pd.DataFrame({"area": np.arange(1, M + 1), "y": y, "psi": psi})
    for j in range(P_COVARIATES):
        df[f"x{j + 1}"] = x[:, j]
    df.to_csv(path, index=False, float_format="%.17g")
    return path


# ----------------------------------------------------------------------------------------- worker
def worker(tool: str, data: Path, out: Path, trace: bool) -> None:
    df = pd.read_csv(data)
    xcols = [f"x{j + 1}" for j in range(P_COVARIATES)]
    y, psi = df["y"].to_numpy(), df["psi"].to_numpy()
    Xc = df[xcols].to_numpy()
    if tool == "carepop":
        sys.path.insert(0, str(ROOT / "src"))
        from carepop.sae.fay_herriot import eblup, fit_fay_herriot, mse_analytic

        X = np.column_stack([np.ones(len(df)), Xc])
        if trace:
            import tracemalloc

            tracemalloc.start()
        t0 = time.perf_counter()
        fit = fit_fay_herriot(y, X, psi, "reml")
        est, _ = eblup(fit, y, X, psi)
        mse = mse_analytic(fit, X, psi, np.isfinite(y))
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        sigma2, iterations = fit.sigma2, fit.iterations
    elif tool == "samplics":
        import warnings

        warnings.simplefilter("ignore")
        from samplics.sae import EblupAreaModel
        from samplics.utils.types import FitMethod

        area = df["area"].to_numpy()
        t0 = time.perf_counter()
        model = EblupAreaModel(method=FitMethod.reml)
        model.fit(yhat=y, X=Xc, area=area, error_std=np.sqrt(psi), intercept=True, tol=1e-4, maxiter=100)
        model.predict(X=Xc, area=area, intercept=True)
        seconds = time.perf_counter() - t0
        est = np.array([model.area_est[a] for a in area])
        mse = np.array([model.area_mse[a] for a in area])
        sigma2, iterations, peak = model.re_std**2, model.convergence["iterations"], None
    else:
        raise SystemExit(f"unknown tool {tool}")
    pd.DataFrame({"est": est, "mse": mse}).to_csv(out, index=False, float_format="%.17g")
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    info = {
        "seconds": seconds,
        "sigma2": float(sigma2),
        "iterations": int(iterations),
        "trace_peak_bytes": peak,
        "ru_maxrss_kb": rss_kb,
    }
    out.with_suffix(".json").write_text(json.dumps(info))


# ------------------------------------------------------------------------------------------- runs
def _cap(mem_gb: float):
    def set_limit() -> None:
        limit = int(mem_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return set_limit


def one_run(tool: str, M: int, args, k: int, trace: bool = False) -> dict:
    data = data_path(M)
    out = WORK / f"sae_res_{tool}_{M}_{k}{'_trace' if trace else ''}.csv"
    for f in (out, out.with_suffix(".json")):
        f.unlink(missing_ok=True)
    if tool == "r":
        inner = ["Rscript", str(HERE / "sae_bench.R"), str(data), str(out)]
    else:
        inner = [PY, str(Path(__file__).resolve()), "--worker", tool, "--data", str(data), "--res", str(out)]
        if trace:
            inner.append("--trace")
    cmd = ["/usr/bin/time", "-v", *inner]
    log(f"{tool} M={M} run {k + 1}{' (tracemalloc)' if trace else ''}")
    env = dict(os.environ, R_LIBS="/work/rlib")
    LOADS.append(os.getloadavg()[0])
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=args.timeout,
            cwd=ROOT,
            env=env,
            preexec_fn=_cap(args.mem_gb),
        )
    except subprocess.TimeoutExpired:
        return {"status": f"did not finish: over {args.timeout:.0f} s", "wall": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(m.group(1)) if m else None
    if proc.returncode != 0 or not out.exists():
        err = proc.stderr
        memory = re.search(r"MemoryError|cannot allocate|Unable to allocate|std::bad_alloc", err)
        why = "out of memory" if memory else f"failed (exit {proc.returncode})"
        tail = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("\t")][-3:]
        return {
            "status": f"did not finish: {why} (cap {args.mem_gb:g} GB)",
            "wall": wall,
            "rss_kb": rss,
            "stderr": " | ".join(tail)[-300:],
        }
    res = pd.read_csv(out)
    if tool == "r":
        info = {
            "seconds": float(res["seconds"].iloc[0]),
            "sigma2": float(res["sigma2"].iloc[0]),
            "iterations": int(res["iterations"].iloc[0]),
        }
    else:
        info = json.loads(out.with_suffix(".json").read_text())
    info.update(status="ok", wall=wall, rss_kb=rss, est=res["est"].to_numpy(), mse=res["mse"].to_numpy())
    return info


def bench(tool: str, M: int, args) -> dict:
    runs = []
    for k in range(args.repeats):
        r = one_run(tool, M, args, k)
        runs.append(r)
        if r["status"] != "ok":
            break
        if r["seconds"] > args.slow:
            log(f"  {tool} took {r['seconds']:.1f} s > {args.slow:g} s: one run only")
            break
    ok = [r for r in runs if r["status"] == "ok"]
    summary = {
        "runs": len(ok),
        "status": runs[-1]["status"] if not ok else "ok",
        "detail": runs[-1].get("stderr", ""),
    }
    if ok:
        summary.update(
            seconds=float(np.median([r["seconds"] for r in ok])),
            seconds_all=[r["seconds"] for r in ok],
            rss_kb=float(np.median([r["rss_kb"] for r in ok if r["rss_kb"]])),
            sigma2=ok[0]["sigma2"],
            iterations=ok[0]["iterations"],
            est=ok[0]["est"],
            mse=ok[0]["mse"],
        )
    else:
        summary.update(wall=runs[-1]["wall"], rss_kb=runs[-1].get("rss_kb"))
    if tool == "carepop" and ok:
        t = one_run(tool, M, args, 0, trace=True)
        summary["trace_peak_bytes"] = t.get("trace_peak_bytes")
    return summary


# ----------------------------------------------------------------------------------------- report
def fmt_s(x) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    if x >= 100:
        return f"{x:,.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 0.01:
        return f"{x:.3f} s"
    return f"{x * 1000:.2f} ms"


def fmt_mb(kb) -> str:
    return "–" if kb is None or not np.isfinite(kb) else f"{kb / 1024:,.0f} MB"


def versions() -> dict:
    from importlib.metadata import version

    v = {"python": platform.python_version()}
    for mod in ("numpy", "scipy", "samplics"):
        try:
            v[mod] = version(mod)
        except Exception:
            v[mod] = "not installed"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        v["carepop"] = f"git {head}"
    except Exception:
        v["carepop"] = "?"
    try:
        v["R"] = subprocess.run(
            [
                "Rscript",
                "-e",
                '.libPaths(c("/work/rlib", .libPaths())); cat(R.version$major, ".", '
                'R.version$minor, " sae ", as.character(packageVersion("sae")), " BLAS ", '
                'basename(extSoftVersion()["BLAS"]), sep = "")',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except Exception:
        v["R"] = "not available"
    return v


def write_report(path: Path, results: dict, args, started: str) -> None:
    v = versions()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?"
    )
    lines = [
        "# Fay–Herriot benchmark (carepop.sae)",
        "",
        f"Written by `benchmarks/sae_bench.py` ({started} UTC). Task: Fay–Herriot REML fit + EBLUP + "
        "analytic (Prasad–Rao) MSE for M simulated areas, p = 5 (intercept + 4 covariates), every area "
        "with a direct estimate. Task time measured inside each process (data reading and imports "
        f"excluded), median of up to {args.repeats} fresh processes (a tool slower than {args.slow:g} s "
        f"runs once); peak RSS = the whole process (`/usr/bin/time -v`), including the interpreter and "
        f"the data; address space capped at {args.mem_gb:g} GB, timeout {args.timeout:.0f} s.",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu}; shared with other jobs. Versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + ".",
        "",
        f"1-minute load average just before each process: {min(LOADS):.1f}–{max(LOADS):.1f} "
        "(2 cores: above 2 the tools compete with other jobs, and the times are upper bounds)."
        if LOADS
        else "",
        "",
        "| areas | tool | task time (median) | runs | peak RSS | carepop task peak alloc. | "
        "max abs diff EBLUP / MSE vs R | iterations | status |",
        "|---:|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for M, by_tool in results.items():
        ref = by_tool.get("r") if by_tool.get("r", {}).get("status") == "ok" else None
        for tool, s in by_tool.items():
            diff = "–"
            if s.get("status") == "ok" and ref is not None and tool != "r":
                diff = (
                    f"{np.max(np.abs(s['est'] - ref['est'])):.1e} / "
                    f"{np.max(np.abs(s['mse'] - ref['mse'])):.1e}"
                )
            elif tool == "r" and s.get("status") == "ok":
                diff = "reference"
            elif (
                s.get("status") == "ok"
                and tool == "samplics"
                and by_tool.get("carepop", {}).get("est") is not None
            ):
                c = by_tool["carepop"]
                diff = (
                    f"(vs carepop {np.max(np.abs(s['est'] - c['est'])):.1e} / "
                    f"{np.max(np.abs(s['mse'] - c['mse'])):.1e})"
                )
            tp = s.get("trace_peak_bytes")
            status = s.get("status", "")
            if s.get("detail") and status != "ok":
                status += f" — `{s['detail'][:160]}`"
            alloc = "–" if not tp else f"{tp / 1024**2:,.1f} MB"
            cells = [
                f"{M:,}",
                tool,
                fmt_s(s.get("seconds")),
                str(s.get("runs", 0)),
                fmt_mb(s.get("rss_kb")),
                alloc,
                diff,
                str(s.get("iterations", "–")),
                status,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    cp = {M: r.get("carepop", {}) for M, r in results.items()}
    big = cp.get(max(cp)) if cp else None
    lines += ["", "## Target", ""]
    if big and big.get("status") == "ok":
        verdict = "met" if big["seconds"] < TARGET_S else "NOT met"
        lines.append(
            f"carepop at {max(cp):,} areas: {fmt_s(big['seconds'])} task time (target < {TARGET_S} s: "
            f"{verdict})."
        )
    per_area = [(M, s["trace_peak_bytes"] / M) for M, s in cp.items() if s.get("trace_peak_bytes")]
    if per_area:
        lines.append(
            "carepop task peak allocation per area: "
            + ", ".join(f"{M:,}: {b:,.0f} bytes" for M, b in per_area)
            + " (linear in M when these are about equal; there is no m × m matrix)."
        )
    lines += [
        "",
        "Raw per-run times (s): "
        + "; ".join(
            f"{tool} {M:,}: {', '.join(f'{x:.4g}' for x in s.get('seconds_all', []))}"
            for M, r in results.items()
            for tool, s in r.items()
            if s.get("seconds_all")
        ),
        "",
    ]
    path.write_text("\n".join(lines))
    log(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="150,7000,35000")
    ap.add_argument("--tools", default="carepop,samplics,r")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--slow", type=float, default=60.0)
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--out", default=str(HERE / "SAE_RESULTS.md"))
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--res")
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, Path(args.data), Path(args.res), args.trace)
        return
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    results: dict = {}
    for M in [int(s) for s in args.sizes.split(",")]:
        generate(M)
        results[M] = {}
        for tool in args.tools.split(","):
            results[M][tool] = bench(tool, M, args)
            s = results[M][tool]
            log(f"  {tool} M={M}: {s.get('status')} {fmt_s(s.get('seconds'))} {fmt_mb(s.get('rss_kb'))}")
        write_report(Path(args.out), results, args, started)


if __name__ == "__main__":
    main()
