"""Synthetic, seeded sample and population margins for the raking benchmark (benchmarks/rake_bench.py).

One row per person of a simple (weights-only) survey:

- ``age``: 8 bands (``16-24`` .. ``85+``), ``sex``: 2 levels, ``region``: the 9 English regions;
- the sample over-represents older people and the small regions, and age depends on region and sex
  on age, so the three margins are associated and raking needs several passes;
- ``w``: design weights (log-normal, larger in the under-sampled regions), summing to about 93 % of
  the population total, so raking also moves the total;
- ``y``: weekly hours of unpaid care (0 for most people), depending on age, sex and region.

The population margins (:func:`margins`) are integers with one grand total, ``POP_TOTAL``, the same
for every sample size, and differ from the sample's weighted distribution in every margin.

Exactly ``n_rows`` rows; the same seed gives the same file. R reads the CSV, Python the Parquet.

    python benchmarks/rake_data.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORK = Path(__file__).resolve().parent / "work"
SEED = 20240917
POP_TOTAL = 45_000_000

AGE = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+")
SEX = ("Female", "Male")
REGION = (
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
)
#: population shares of each margin (census-like)
POP_SHARES = {
    "age": (0.140, 0.170, 0.160, 0.160, 0.150, 0.120, 0.070, 0.030),
    "sex": (0.512, 0.488),
    "region": (0.047, 0.131, 0.097, 0.085, 0.104, 0.110, 0.158, 0.163, 0.100),
}
LEVELS = {"age": AGE, "sex": SEX, "region": REGION}


def _integer_totals(shares, total: int) -> np.ndarray:
    """Largest-remainder rounding of ``shares * total`` to integers summing exactly to ``total``."""
    s = np.asarray(shares, dtype=float)
    exact = s / s.sum() * total
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(exact - out)[::-1][: total - out.sum()]] += 1
    return out


def margins() -> dict[str, dict[str, int]]:
    """``{variable: {level: population total}}``, every margin summing to ``POP_TOTAL``."""
    return {
        var: dict(zip(LEVELS[var], map(int, _integer_totals(POP_SHARES[var], POP_TOTAL)), strict=True))
        for var in LEVELS
    }


def generate(n_rows: int, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed + n_rows)
    # region: small regions over-sampled
    reg_p = np.array(POP_SHARES["region"]) ** 0.6
    region = rng.choice(len(REGION), size=n_rows, p=reg_p / reg_p.sum())
    # age | region: older people over-represented, London and the North West younger
    age_base = np.array([0.09, 0.12, 0.14, 0.16, 0.18, 0.16, 0.10, 0.05])
    tilt = np.array([0.15, -0.25, 0.0, 0.05, 0.0, 0.1, -0.6, 0.15, 0.3])  # per region, + = older
    x = (np.arange(len(AGE)) - 3.5) / 3.5
    p_age = age_base[None, :] * np.exp(tilt[:, None] * x[None, :])
    p_age /= p_age.sum(axis=1, keepdims=True)
    cum = np.cumsum(p_age, axis=1)[region]
    age = (rng.random(n_rows)[:, None] > cum).sum(axis=1)
    age = np.minimum(age, len(AGE) - 1)
    # sex | age: more women among the old, and women respond more
    p_female = 0.52 + 0.015 * age
    sex = (rng.random(n_rows) >= p_female).astype(np.int64)  # 0 Female, 1 Male
    # design weights: log-normal, correcting only part of the regional over-sampling;
    # total ~ 93 % of POP_TOTAL
    w = rng.lognormal(0.0, 0.45, size=n_rows) * ((np.array(POP_SHARES["region"]) / reg_p) ** 0.75)[region]
    w *= 0.93 * POP_TOTAL / w.sum()
    # unpaid care: most likely at 45-64, more for women, regional effect
    age_eff = np.array([-1.2, -0.9, -0.4, 0.1, 0.35, 0.2, 0.0, -0.3])
    reg_eff = rng.normal(0.0, 0.2, size=len(REGION))
    eta = -1.7 + age_eff[age] + np.where(sex == 0, 0.25, -0.05) + reg_eff[region]
    carer = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-eta))
    hours = np.minimum(1.0 + rng.gamma(1.1, 14.0 + 2.0 * age, size=n_rows), 168.0)
    y = np.where(carer, np.round(hours, 1), 0.0)
    return pd.DataFrame(
        {
            "age": np.asarray(AGE)[age],
            "sex": np.asarray(SEX)[sex],
            "region": np.asarray(REGION)[region],
            "w": w,
            "y": y,
        }
    )


def paths(n_rows: int) -> tuple[Path, Path]:
    return WORK / f"rake_{n_rows}.parquet", WORK / f"rake_{n_rows}.csv"


def margins_path() -> Path:
    return WORK / "rake_margins.csv"


def ensure(n_rows: int, force: bool = False) -> tuple[Path, Path]:
    """Write the Parquet and CSV for ``n_rows`` (and the margins CSV) unless they already exist."""
    WORK.mkdir(parents=True, exist_ok=True)
    mp = margins_path()
    if force or not mp.exists():
        rows = [(var, lv, tot) for var, m in margins().items() for lv, tot in m.items()]
        pd.DataFrame(rows, columns=["margin", "value", "total"]).to_csv(mp, index=False)
    pq, csv = paths(n_rows)
    if force or not (pq.exists() and csv.exists()):
        t0 = time.perf_counter()
        df = generate(n_rows)
        df.to_parquet(pq, index=False)
        df.to_csv(csv, index=False)
        print(f"generated {n_rows} rows in {time.perf_counter() - t0:.1f}s -> {pq.name}, {csv.name}")
    return pq, csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--force", action="store_true", help="regenerate even if the files exist")
    args = ap.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        ensure(n, force=args.force)


if __name__ == "__main__":
    main()
