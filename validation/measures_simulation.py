"""Simulation with a known truth for the measures of issue 13: carers and hidden carers by council,
and capture–recapture from three lists, with and without list dependence.

**Carers and hidden carers.** The synthetic population of the 153 councils (Census 2021 residents
aged 5+; true carer rate ``θ_c`` with ``logit θ_c = logit(2 r_c) + u_c``, ``u_c ~ N(0, 0.2²)``,
seed 3; ``r_c`` the census rate). Each replicate draws a national survey of 15,000 residents
(stratified by council, simple random sampling within, proportional allocation, at least 2 per
council) and runs :func:`carepop.measures.carers.carers_by_council` and
:func:`carepop.measures.hidden.hidden_carers` (GP-registered carers as the known count, exact).
Truth: carers ``θ_c P_c`` and hidden carers ``θ_c P_c − K_c``. Treated as known: the census
population and the register counts.

**Capture–recapture.** A closed population of 2,000 carers, each on list A, B and C with
probabilities 0.3, 0.25, 0.2. *Independent*: the lists are drawn independently (the log-linear
independence model holds). *Dependent*: being on B is three times as likely for people on A (a
GP who refers to the carers' centre), so the independence model underestimates; the model with
the A:B interaction is fitted beside it. Intervals: profile likelihood.

Run ``python validation/measures_simulation.py [replicates]``; ``test_measures_simulation.py``
runs a small seeded version.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from carepop import Survey
from carepop.capture.loglinear import loglinear
from carepop.capture.table import capture_table
from carepop.measures.carers import carers_by_council
from carepop.measures.hidden import hidden_carers
from carepop.sources.tables import load_table


def council_population(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    t = load_table("council", None)
    r = t["carer_rate"].to_numpy()
    u = np.random.default_rng(seed).normal(scale=0.2, size=len(r))
    return t, 1 / (1 + np.exp(-(np.log(2 * r / (1 - 2 * r)) + u)))


def council_survey(t: pd.DataFrame, theta: np.ndarray, rng: np.random.Generator, n: int = 15_000) -> Survey:
    N = t["residents_5plus"].to_numpy()
    n_i = np.maximum(np.floor(n * N / N.sum() + rng.random(len(N))).astype(int), 2)
    idx = np.repeat(np.arange(len(N)), n_i)
    y = (rng.random(len(idx)) < theta[idx]).astype(int)
    frame = pd.DataFrame(
        {"council_code": t["council_code"].to_numpy()[idx], "carer": y, "w": (N / n_i)[idx], "N": N[idx]}
    )
    return Survey(frame, weight="w", strata="council_code", fpc="N")


def carers_coverage(replicates: int, seed: int = 100) -> dict[str, float]:
    t, theta = council_population()
    P = t["residents_5plus"].to_numpy(dtype=float)
    K = t["gp_carers"].to_numpy(dtype=float)
    truth_carers, truth_hidden = theta * P, theta * P - K
    rng = np.random.default_rng(seed)
    cover_c, cover_h, err_direct, err_model = [], [], [], []
    for b in range(replicates):
        result = carers_by_council(council_survey(t, theta, rng), carer="carer", boot=30, seed=seed + b)
        c = result.to_pandas()
        c = c[c["area_level"] == "council"].set_index("area_code").loc[t["council_code"]]
        h = hidden_carers(result).to_pandas()
        h = h[h["area_level"] == "council"].set_index("area_code").loc[t["council_code"]]
        cover_c.append((c["carers_lower"] <= truth_carers) & (truth_carers <= c["carers_upper"]))
        cover_h.append((h["hidden_lower"] <= truth_hidden) & (truth_hidden <= h["hidden_upper"]))
        err_direct.append((c["direct"].to_numpy() - theta) / theta)
        err_model.append((c["estimate"].to_numpy() - theta) / theta)
    return {
        "carers: coverage": float(np.mean(cover_c)),
        "hidden carers: coverage": float(np.mean(cover_h)),
        "relative RMSE, direct": float(np.mean(np.sqrt(np.nanmean(np.square(err_direct), axis=0)))),
        "relative RMSE, model": float(np.mean(np.sqrt(np.mean(np.square(err_model), axis=0)))),
    }


def capture_runs(
    replicates: int, dependent: bool, seed: int = 7, size: int = 2000
) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"independence": [], "A:B": []}
    for _ in range(replicates):
        a = rng.random(size) < 0.3
        pb = np.where(a, 0.6, 0.2) if dependent else np.full(size, 0.25)
        b = rng.random(size) < pb
        c = rng.random(size) < 0.2
        seen = a | b | c
        frame = pd.DataFrame({"A": a[seen], "B": b[seen], "C": c[seen]}).astype(int)
        table = capture_table(frame, ["A", "B", "C"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, terms in (("independence", None), ("A:B", ["A:B"])):
                e = loglinear(table, terms)
                out[name].append((e.estimate, e.ci_lower, e.ci_upper))
    summary = {}
    for name, rows in out.items():
        arr = np.asarray(rows)
        summary[name] = {
            "coverage": float(np.mean((arr[:, 1] <= size) & (size <= arr[:, 2]))),
            "relative bias": float(arr[:, 0].mean() / size - 1),
        }
    return summary


def table(replicates: int = 100) -> str:
    c = carers_coverage(max(replicates // 4, 5))
    lines = ["| measure | coverage of 95% intervals | relative bias / RMSE |", "|---|---:|---:|"]
    lines.append(
        f"| carers by council (arcsine FH, benchmarked) | {c['carers: coverage']:.3f} | "
        f"RMSE {c['relative RMSE, model']:.3f} (direct {c['relative RMSE, direct']:.3f}) |"
    )
    lines.append(f"| hidden carers by council (GP register exact) | {c['hidden carers: coverage']:.3f} | – |")
    for dependent in (False, True):
        runs = capture_runs(replicates, dependent)
        for name, r in runs.items():
            lists = "dependent A, B" if dependent else "independent lists"
            cover, bias = r["coverage"], r["relative bias"]
            lines.append(f"| capture–recapture, {lists}, model {name} | {cover:.3f} | bias {bias:+.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
