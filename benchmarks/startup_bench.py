"""Start-up time of carepop (issue 11): the median wall time of fresh processes for

- ``python -c "import carepop"``
- ``carepop --help``
- ``carepop --version``
- a small estimate: ``carepop estimate tests/data/apistrat.csv --weight pw --strata stype --fpc fpc
  --mean api00 --format csv``

Run with the environment's Python (the ``carepop`` command is the one beside it)::

    .venv/bin/python benchmarks/startup_bench.py [--runs 10] [--warmup 2]

To compare checkouts with the same environment, give their ``src`` folders (each is put first on
``PYTHONPATH``, so the commands import that carepop)::

    .venv/bin/python benchmarks/startup_bench.py --src /tmp/before/src --src src

The runs of all commands (and checkouts) are interleaved, so that a busy moment of the machine does
not fall on one of them only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> dict[str, list[str]]:
    exe = Path(sys.executable).parent / "carepop"
    carepop = str(exe) if exe.exists() else shutil.which("carepop")
    if carepop is None:
        sys.exit("the carepop command is not installed beside this Python (pip install -e .)")
    data = ROOT / "tests" / "data" / "apistrat.csv"
    return {
        'python -c "import carepop"': [sys.executable, "-c", "import carepop"],
        "carepop --help": [carepop, "--help"],
        "carepop --version": [carepop, "--version"],
        "carepop estimate (apistrat, mean)": [
            carepop,
            "estimate",
            str(data),
            *("--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--mean", "api00", "--format", "csv"),
        ],
    }


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def environments(srcs: list[str]) -> dict[str, dict[str, str]]:
    """One environment per checkout (its ``src`` first on ``PYTHONPATH``), or the installed one."""
    if not srcs:
        return {"": dict(os.environ)}
    out = {}
    for src in srcs:
        path = str(Path(src).resolve())
        out[src] = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")])),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--src", action="append", default=[], help="a checkout's src folder (repeatable)")
    args = parser.parse_args()
    cmds = commands()
    envs = environments(args.src)
    for _ in range(args.warmup):
        for env in envs.values():
            for cmd in cmds.values():
                run_once(cmd, env)
    times: dict[tuple[str, str], list[float]] = {(src, name): [] for src in envs for name in cmds}
    for _ in range(args.runs):
        for src, env in envs.items():
            for name, cmd in cmds.items():
                times[src, name].append(run_once(cmd, env))
    print(f"{args.runs} fresh runs of each command, interleaved, after {args.warmup} warm-up round(s)")
    for src, env in envs.items():
        where = subprocess.run(
            [sys.executable, "-c", "import carepop; print(carepop.__file__)"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"\ncarepop from {where}")
        print(f"{'command':<36} {'median':>8} {'min':>8} {'max':>8}")
        for name in cmds:
            ts = times[src, name]
            print(f"{name:<36} {statistics.median(ts):>7.3f}s {min(ts):>7.3f}s {max(ts):>7.3f}s")


if __name__ == "__main__":
    main()
