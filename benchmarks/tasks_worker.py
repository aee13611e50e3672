"""Issue-11 task benchmark worker: one Python tool, one task, once, in a fresh process.

    python benchmarks/tasks_worker.py carepop|svy|samplics|numpy t1|t2|t3|t4 --data FILE.parquet \
        --out PREFIX [--margins MARGINS.csv --epsilon 1e-8 --maxit 100] [--profile FILE]

Tasks (each from the data frame read from the Parquet file; the timed region includes building the
design, and for T4 the replicate weights, and the result tables):

- ``t1``: mean of ``y`` and proportions of ``cat``, stratified design with PSUs sampled with
  replacement (strata ``stratum``, PSUs ``psu``, weights ``w``), with Taylor SEs;
- ``t2``: the same by the 150 domains ``la``;
- ``t3``: raking the weights-only sample (benchmarks/rake_data.py) to the age × sex × region margins;
- ``t4``: JK1 jackknife over the 50 groups of PSUs ``jkgroup`` with ``mse = TRUE``, then T2 with
  replicate SEs.

``numpy`` is the one-pass floor: the same estimates and SEs (T3: raked weights) computed directly
with ``pd.factorize`` and ``np.bincount`` (the coding of the string columns is timed too).

The worker imports the tool and runs the task once on a small sample (imports and first-call
set-up), reads the data, then right away (no idle gap: this machine reclaims memory left idle for a
few seconds) records the resident size, resets the high-water mark (``/proc/self/clear_refs``) and
times the task. Writes ``PREFIX.json`` (seconds, kB: ``task``, ``phases``, ``task_cpu``,
``rss_loaded_kb``, ``peak_task_kb`` = VmHWM after the task, ``peak_rss_kb`` = the process's peak
including start-up and reading) and ``PREFIX_est.csv`` (``part, la, level, estimate, se``; T1, T2,
T4) or ``PREFIX_weights.npy`` (T3).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from rake_worker import read_margins  # the raking benchmark's margins file
from workers import _cpu_s, _reset_peak, _status_kb, process_peak_kb  # the domain benchmark's probes

TASKS = ("t1", "t2", "t3", "t4")
COLUMNS = ["part", "la", "level", "estimate", "se"]


class Clock:
    """Phase times within the timed task: ``mark(name)`` closes the phase begun at the last mark."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.phases: dict[str, float] = {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.t
        self.t = now


def long(part: str, la, level, est, se) -> pd.DataFrame:
    n = len(np.atleast_1d(est))
    la = np.broadcast_to(np.asarray(la, dtype=object), (n,))
    level = np.broadcast_to(np.asarray(level, dtype=object), (n,))
    return pd.DataFrame(
        {"part": part, "la": la.astype(str), "level": level.astype(str), "estimate": est, "se": se}
    )


# --------------------------------------------------------------------------- carepop
class Carepop:
    def load(self, path: str):
        return pd.read_parquet(path)

    def t1(self, df, c: Clock, by: str | None = None, **_):
        from carepop import Survey

        s = Survey(df, weight="w", strata="stratum", psu="psu")
        c.mark("design")
        m = s.mean("y", by=by).to_pandas()
        c.mark("mean")
        p = s.proportion("cat", by=by).to_pandas()
        c.mark("prop")
        return m, p

    def t2(self, df, c: Clock, **kw):
        return self.t1(df, c, by="la")

    def t3(self, df, c: Clock, margins, epsilon, maxit):
        from carepop import Survey
        from carepop.weighting import rake

        s = Survey(df, weight="w")
        c.mark("design")
        r = rake(s, margins, epsilon=epsilon, maxit=maxit)
        c.mark("rake")
        return r.weights

    def t4(self, df, c: Clock, **_):
        from carepop import Survey
        from carepop.weighting import replicate_weights

        s = Survey(df, weight="w", psu="jkgroup")
        c.mark("design")
        r = replicate_weights(s, "jk1", mse=True)
        c.mark("replicates")
        m = r.mean("y", by="la").to_pandas()
        c.mark("mean")
        p = r.proportion("cat", by="la").to_pandas()
        c.mark("prop")
        return m, p

    def table(self, res) -> pd.DataFrame:
        m, p = res
        la_m = m["la"] if "la" in m else ""
        la_p = p["la"] if "la" in p else ""
        return pd.concat(
            [
                long("mean", la_m, "", m["estimate"].to_numpy(), m["se"].to_numpy()),
                long("prop", la_p, p["level"].astype(str), p["estimate"].to_numpy(), p["se"].to_numpy()),
            ]
        )


# --------------------------------------------------------------------------- svy
class Svy:
    def load(self, path: str):
        import polars as pl

        return pl.read_parquet(path)

    def t1(self, df, c: Clock, by: str | None = None, **_):
        import svy

        s = svy.Sample(df, svy.Design(stratum="stratum", psu="psu", wgt="w"))
        c.mark("design")
        m = s.estimation.mean("y", by=by).to_polars()
        c.mark("mean")
        p = s.estimation.prop("cat", by=by).to_polars()
        c.mark("prop")
        return m, p

    def t2(self, df, c: Clock, **kw):
        return self.t1(df, c, by="la")

    def t3(self, df, c: Clock, margins, epsilon, maxit):
        import svy

        s = svy.Sample(df, svy.Design(wgt="w"))
        c.mark("design")
        r = s.weighting.rake(controls=margins, tol=epsilon, max_iter=maxit)
        c.mark("rake")
        return r.data["rk_wgt"].to_numpy()

    def t4(self, df, c: Clock, **_):
        import svy

        s = svy.Sample(df, svy.Design(psu="jkgroup", wgt="w"))
        c.mark("design")
        r = s.weighting.create_jk_wgts()  # JK1: one stratum, a replicate per group
        c.mark("replicates")
        # variance_center="estimate": centred on the full-sample estimate, R's mse = TRUE
        m = r.estimation.mean("y", by="la", method="replication", variance_center="estimate").to_polars()
        c.mark("mean")
        p = r.estimation.prop("cat", by="la", method="replication", variance_center="estimate").to_polars()
        c.mark("prop")
        return m, p

    def table(self, res) -> pd.DataFrame:
        m, p = (x.to_pandas() for x in res)
        return pd.concat(
            [
                long("mean", m["la"] if "la" in m else "", "", m["est"].to_numpy(), m["se"].to_numpy()),
                long(
                    "prop",
                    p["la"] if "la" in p else "",
                    p["cat"].astype(str),
                    p["est"].to_numpy(),
                    p["se"].to_numpy(),
                ),
            ]
        )


# --------------------------------------------------------------------------- samplics
def _samplics_replicate_estimator():
    """samplics' ``ReplicateEstimator`` with a coefficient of variation that is NaN where the estimate
    is 0, instead of raising ``ZeroDivisionError`` after all the work is done (a level absent from
    a domain); nothing else changes."""
    from samplics.estimation import ReplicateEstimator

    class Estimator(ReplicateEstimator):
        def _get_coefvar(self, param, estimate, variance):
            return {k: (variance[k] ** 0.5 / estimate[k] if estimate[k] else np.nan) for k in variance}

    return Estimator


class Samplics:
    """samplics 0.6 (archived). T4's proportions with replicate SEs are taken as means of the levels'
    0/1 indicators (the same estimator): ``ReplicateEstimator("proportion")`` by domain raises
    ``KeyError`` when a level is absent from a domain (as some are here), and its coefficient of
    variation divides by a zero estimate (see :func:`_samplics_replicate_estimator`)."""

    def load(self, path: str):
        return pd.read_parquet(path)

    def t1(self, df, c: Clock, by: str | None = None, **_):
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam

        dom = {} if by is None else {"domain": df[by].to_numpy()}
        kw = dict(samp_weight=df["w"].to_numpy(), stratum=df["stratum"].to_numpy(), psu=df["psu"].to_numpy())
        m = TaylorEstimator(PopParam.mean)
        m.estimate(y=df["y"].to_numpy(), **kw, **dom)
        c.mark("mean")
        p = TaylorEstimator(PopParam.prop)
        p.estimate(y=df["cat"].to_numpy(), **kw, **dom)
        c.mark("prop")
        return ("t1" if by is None else "t2"), m, p

    def t2(self, df, c: Clock, **kw):
        return self.t1(df, c, by="la")

    def t3(self, df, c: Clock, margins, epsilon, maxit):
        from samplics.weighting import SampleWeight

        cols = {var: df[var].to_numpy() for var in margins}
        # tol: largest relative change of a margin total between passes; ctrl_tol: largest relative
        # misfit to the margins; both given epsilon
        w = SampleWeight().rake(
            samp_weight=df["w"].to_numpy(),
            margins=cols,
            control=margins,
            tol=epsilon,
            ctrl_tol=epsilon,
            max_iter=maxit,
        )
        c.mark("rake")
        return w

    def t4(self, df, c: Clock, **_):
        from samplics.utils.types import PopParam, RepMethod
        from samplics.weighting import ReplicateWeight

        ReplicateEstimator = _samplics_replicate_estimator()

        w = df["w"].to_numpy()
        rw = ReplicateWeight(method=RepMethod.jackknife, strat=False)
        reps = rw.replicate(w, df["jkgroup"].to_numpy())
        reps = reps[[col for col in reps.columns if col.startswith("_jk_wgt_")]].to_numpy()
        c.mark("replicates")
        la = df["la"].to_numpy()
        # conservative=True: centred on the full-sample estimate (R's mse = TRUE)
        kw = dict(samp_weight=w, rep_weights=reps, domain=la, conservative=True)
        m = ReplicateEstimator(RepMethod.jackknife, PopParam.mean, rep_weight_cls=rw)
        m.estimate(y=df["y"].to_numpy(), **kw)
        c.mark("mean")
        cat = df["cat"].to_numpy()
        p = {}
        for level in np.unique(cat):
            e = ReplicateEstimator(RepMethod.jackknife, PopParam.mean, rep_weight_cls=rw)
            p[level] = e.estimate(y=(cat == level).astype(float), **kw)
        c.mark("prop")
        return "t4", m, p

    def table(self, res) -> pd.DataFrame:
        kind, m, p = res
        if kind == "t1":
            mean = long("mean", "", "", [m.point_est], [m.stderror])
            lv = list(p.point_est)
            prop = long("prop", "", lv, [p.point_est[k] for k in lv], [p.stderror[k] for k in lv])
            return pd.concat([mean, prop])
        dom = list(m.point_est)
        mean = long("mean", dom, "", [m.point_est[d] for d in dom], [m.stderror[d] for d in dom])
        if kind == "t2":
            rows = [(d, k, p.point_est[d][k], p.stderror[d][k]) for d in p.point_est for k in p.point_est[d]]
        else:
            rows = [(d, k, e.point_est[d], e.stderror[d]) for k, e in p.items() for d in e.point_est]
        d, k, est, se = zip(*rows, strict=True)
        return pd.concat([mean, long("prop", list(d), list(k), list(est), list(se))])


# --------------------------------------------------------------------------- numpy, the floor
class Numpy:
    """The one-pass floor: codes by ``pd.factorize``, sums by ``np.bincount``, then small arrays."""

    def load(self, path: str):
        return pd.read_parquet(path)

    @staticmethod
    def _taylor(S_wy: np.ndarray, S_w: np.ndarray, strat: np.ndarray, n_h: np.ndarray):
        """Ratio estimates and with-replacement Taylor SEs from PSU × cell sums (P × C)."""
        W = S_w.sum(axis=0)
        est = S_wy.sum(axis=0) / W
        order = np.argsort(strat, kind="stable")  # PSUs stratum by stratum
        starts = np.concatenate([[0], np.cumsum(n_h[:-1])]).astype(np.intp)
        Z = (S_wy[order] - est * S_w[order]) / W  # PSU totals of the linearised variable
        dev = Z - np.repeat(np.add.reduceat(Z, starts, axis=0) / n_h[:, None], n_h.astype(np.intp), axis=0)
        var = (n_h / (n_h - 1)) @ np.add.reduceat(dev * dev, starts, axis=0)
        return est, np.sqrt(var)

    def t1(self, df, c: Clock, by: str | None = None, **_):
        psu, _ = pd.factorize(df["psu"])
        st, _ = pd.factorize(df["stratum"])
        cat, cat_lv = pd.factorize(df["cat"], sort=True)
        if by is None:
            d, d_lv = np.zeros(len(df), dtype=np.int64), np.array([""], dtype=object)
        else:
            d, d_lv = pd.factorize(df[by], sort=True)
        c.mark("coding")
        P, D, K = int(psu.max()) + 1, len(d_lv), len(cat_lv)
        strat = np.zeros(P, dtype=np.int64)
        strat[psu] = st  # stratum of each PSU
        n_h = np.bincount(strat).astype(float)
        w = df["w"].to_numpy()
        key = psu * D + d
        S_w = np.bincount(key, weights=w, minlength=P * D).reshape(P, D)
        S_wy = np.bincount(key, weights=w * df["y"].to_numpy(), minlength=P * D).reshape(P, D)
        m = self._taylor(S_wy, S_w, strat, n_h)
        c.mark("mean")
        S_wk = np.bincount(key * K + cat, weights=w, minlength=P * D * K).reshape(P, D * K)
        p = self._taylor(S_wk, np.repeat(S_w, K, axis=1), strat, n_h)
        c.mark("prop")
        return d_lv, cat_lv, m, p

    def t2(self, df, c: Clock, **kw):
        return self.t1(df, c, by="la")

    def t3(self, df, c: Clock, margins, epsilon, maxit):
        codes = []
        for var, m in margins.items():
            code, seen = pd.factorize(df[var])
            code = pd.Index(list(m)).get_indexer(seen)[code]  # in the margin's order
            codes.append((code, np.array(list(m.values()), dtype=float)))
        c.mark("coding")
        w = df["w"].to_numpy().copy()
        for _ in range(maxit):
            worst = 0.0
            for code, target in codes:
                f = target / np.bincount(code, weights=w, minlength=target.shape[0])
                worst = max(worst, float(np.max(np.abs(f - 1.0))))
                w *= f[code]
            if worst <= epsilon:  # every margin was within epsilon (relative) when it was raked
                break
        c.mark("rake")
        return w

    def t4(self, df, c: Clock, **_):
        g, _ = pd.factorize(df["jkgroup"])
        d, d_lv = pd.factorize(df["la"], sort=True)
        cat, cat_lv = pd.factorize(df["cat"], sort=True)
        c.mark("coding")
        G, D, K = int(g.max()) + 1, len(d_lv), len(cat_lv)
        w = df["w"].to_numpy()
        key = g * D + d
        S_w = np.bincount(key, weights=w, minlength=G * D).reshape(G, D)
        S_wy = np.bincount(key, weights=w * df["y"].to_numpy(), minlength=G * D).reshape(G, D)
        S_wk = np.bincount(key * K + cat, weights=w, minlength=G * D * K).reshape(G, D, K)
        c.mark("sums")

        def jk1(num: np.ndarray, den: np.ndarray):
            # replicate r drops group r and multiplies the rest by G / (G - 1), which cancels
            est = num.sum(axis=0) / den.sum(axis=0)
            rep = (num.sum(axis=0) - num) / (den.sum(axis=0) - den)
            return est, np.sqrt((G - 1) / G * ((rep - est) ** 2).sum(axis=0))

        m = jk1(S_wy, S_w)
        p = jk1(S_wk.reshape(G, D * K), np.repeat(S_w, K, axis=1))
        c.mark("variance")
        return d_lv, cat_lv, m, p

    def table(self, res) -> pd.DataFrame:
        d_lv, cat_lv, (m_est, m_se), (p_est, p_se) = res
        K = len(cat_lv)
        return pd.concat(
            [
                long("mean", d_lv, "", m_est, m_se),
                long("prop", np.repeat(d_lv, K), np.tile(np.asarray(cat_lv), len(d_lv)), p_est, p_se),
            ]
        )


TOOLS = {"carepop": Carepop, "svy": Svy, "samplics": Samplics, "numpy": Numpy}


# --------------------------------------------------------------------------- run
def small_sample(task: str, tool) -> object:
    if task == "t3":
        import rake_data

        df = rake_data.generate(5000)
    else:
        import generate

        df = generate.generate(5000)
    if isinstance(tool, Svy):
        import polars as pl

        df = pl.from_pandas(df)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=list(TOOLS))
    ap.add_argument("task", choices=TASKS)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, help="output prefix")
    ap.add_argument("--margins", help="raking margins CSV (t3)")
    ap.add_argument("--epsilon", type=float, default=1e-8)
    ap.add_argument("--maxit", type=int, default=100)
    ap.add_argument("--profile", help="afterwards, also write a cProfile of the task to this file")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # samplics: archived
    tool = TOOLS[args.tool]()
    run = getattr(tool, args.task)
    kw = {}
    if args.task == "t3":
        kw = dict(margins=read_margins(args.margins), epsilon=args.epsilon, maxit=args.maxit)
    try:  # warm-up on a small sample: imports, first calls
        res = run(small_sample(args.task, tool), Clock(), **kw)
        if args.task != "t3":
            tool.table(res)
    except Exception as e:  # a peer may fail on a small sample (e.g. a domain mean of 0)
        print(f"warm-up on the small sample raised {e!r}; going on", file=sys.stderr)

    df = tool.load(args.data)
    gc.collect()
    hwm_start = _status_kb("VmHWM")
    rss_loaded = _status_kb("VmRSS")
    reset_ok = _reset_peak()
    cpu0 = _cpu_s()
    clock = Clock()
    t0 = clock.t
    res = run(df, clock, **kw)
    task = time.perf_counter() - t0
    out = {
        "task": task,
        "phases": clock.phases,
        "task_cpu": _cpu_s() - cpu0,
        "rss_loaded_kb": rss_loaded,
        "peak_task_kb": _status_kb("VmHWM") if reset_ok else None,
        "hwm_before_reset_kb": hwm_start,
    }
    out["peak_rss_kb"] = process_peak_kb()
    if args.task == "t3":
        np.save(f"{args.out}_weights.npy", np.asarray(res, dtype=float))
    else:
        tool.table(res).to_csv(f"{args.out}_est.csv", index=False)
    del res
    if args.profile:
        import cProfile
        import io
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        run(df, Clock(), **kw)
        pr.disable()
        buf = io.StringIO()
        st = pstats.Stats(pr, stream=buf)
        st.sort_stats("tottime").print_stats(25)
        st.sort_stats("cumulative").print_stats(30)
        Path(args.profile).write_text(buf.getvalue())
    Path(f"{args.out}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
