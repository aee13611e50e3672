"""Synthetic stratified two-stage survey data for the carepop speed/memory benchmark.

The design mimics a household care survey:

- ``H`` strata (default 80); stratum ``h`` has ``N_h`` PSUs (areas) in the population, of which
  ``n_h`` (3..9) are sampled without replacement (``fpc1 = N_h``);
- in each sampled PSU ``i``, ``m_hi`` of its ``M_hi`` households are sampled without replacement
  (``fpc2 = M_hi``, ``ssu`` = household); every person of a sampled household is a row;
- ``w = (N_h / n_h) * (M_hi / m_hi)``, the inverse inclusion probability;
- ``la``: one of 150 local-authority codes (``E06000001`` .. ``E06000150``) per household, mostly
  from a block of authorities tied to the stratum but with a quarter drawn from all of them, so
  domains cut across strata and PSUs;
- ``y``: weekly hours of unpaid care (0 for most people), ``cat``: its census band
  (``None``, ``1-19``, ``20-49``, ``50+``);
- ``jkgroup``: the PSU's delete-a-group jackknife group, 1..50 (the PSUs shuffled with their own
  seeded generator, then dealt round-robin, so 9 or 10 PSUs a group; the same for every ``n_rows``
  and drawn apart from the other columns, which it leaves unchanged).

Exactly ``n_rows`` rows; the same seed gives the same file. R reads the CSV, Python the Parquet.

    python benchmarks/generate.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORK = Path(__file__).resolve().parent / "work"
N_STRATA = 80
N_LA = 150
N_JK_GROUPS = 50
CAT_LEVELS = ("None", "1-19", "20-49", "50+")


def la_codes() -> np.ndarray:
    return np.array([f"E0600{i:04d}" for i in range(1, N_LA + 1)])


def generate(n_rows: int, seed: int = 20240601, n_strata: int = N_STRATA) -> pd.DataFrame:
    """One synthetic sample of exactly ``n_rows`` persons."""
    # ---- stage 1: strata and PSUs (the same for every n_rows)
    frame_rng = np.random.default_rng(seed)
    n_h = frame_rng.integers(3, 10, size=n_strata)  # PSUs sampled per stratum
    N_h = np.ceil(n_h * frame_rng.uniform(2.0, 12.0, size=n_strata)).astype(np.int64)  # PSUs in population
    psu_stratum = np.repeat(np.arange(n_strata), n_h)
    n_psu = psu_stratum.size
    size = frame_rng.lognormal(0.0, 0.35, size=n_psu)  # relative PSU sizes
    rng = np.random.default_rng(seed + n_rows)
    # ---- rows per PSU: exactly n_rows in total, at least 4 rows per PSU
    spare = n_rows - 4 * n_psu
    if spare < 0:
        raise ValueError(f"n_rows={n_rows} is too small for {n_psu} PSUs")
    share = spare * size / size.sum()
    rows_psu = 4 + np.floor(share).astype(np.int64)
    left = n_rows - rows_psu.sum()
    rows_psu[np.argsort(share - np.floor(share))[::-1][:left]] += 1
    assert rows_psu.sum() == n_rows
    # ---- stage 2: households (1 + Poisson(1.4) persons; the PSU's last one is cut to fit)
    hh_psu_parts, hh_size_parts = [], []
    for i in range(n_psu):
        r = int(rows_psu[i])
        sizes = 1 + rng.poisson(1.4, size=r)  # more than enough households
        cum = np.cumsum(sizes)
        k = int(np.searchsorted(cum, r)) + 1  # households needed to reach r persons
        sizes = sizes[:k].copy()
        sizes[-1] -= cum[k - 1] - r
        if k < 2:  # at least two households per PSU (no lonely SSU)
            sizes = np.array([r - r // 2, r // 2])
        hh_psu_parts.append(np.full(sizes.size, i))
        hh_size_parts.append(sizes)
    hh_psu = np.concatenate(hh_psu_parts)
    hh_size = np.concatenate(hh_size_parts)
    n_hh = hh_psu.size
    m_hi = np.bincount(hh_psu, minlength=n_psu)
    M_hi = np.ceil(m_hi * rng.uniform(1.5, 25.0, size=n_psu)).astype(np.int64)  # households in PSU
    # ---- local authority of each household: the stratum's block of LAs, or anywhere
    block = 2 + (np.arange(n_strata) % 4)  # 2..5 LAs per stratum
    first = (np.arange(n_strata) * N_LA) // n_strata
    hh_stratum = psu_stratum[hh_psu]
    home = (first[hh_stratum] + rng.integers(0, 1 << 30, size=n_hh) % block[hh_stratum]) % N_LA
    anywhere = rng.integers(0, N_LA, size=n_hh)
    hh_la = np.where(rng.random(n_hh) < 0.75, home, anywhere)
    # ---- persons
    person_hh = np.repeat(np.arange(n_hh), hh_size)
    psu = hh_psu[person_hh]
    stratum = psu_stratum[psu]
    la = hh_la[person_hh]
    la_eff = rng.normal(0.0, 0.35, size=N_LA)
    psu_eff = rng.normal(0.0, 0.25, size=n_psu)
    hh_eff = rng.normal(0.0, 0.5, size=n_hh)
    eta = -1.6 + la_eff[la] + psu_eff[psu] + hh_eff[person_hh]
    carer = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-eta))
    hours = np.minimum(1.0 + rng.gamma(1.1, 17.0, size=n_rows) * np.exp(0.5 * la_eff[la]), 168.0)
    y = np.where(carer, np.round(hours, 1), 0.0)
    cat_code = np.where(~carer, 0, np.where(y < 20, 1, np.where(y < 50, 2, 3)))
    w = (N_h[stratum] / n_h[stratum]) * (M_hi[psu] / m_hi[psu])
    jk = jk_groups(n_psu, seed)
    return pd.DataFrame(
        {
            "stratum": np.array([f"S{h:03d}" for h in range(1, n_strata + 1)])[stratum],
            "psu": (psu + 1).astype(np.int64),
            "ssu": (person_hh + 1).astype(np.int64),
            "fpc1": N_h[stratum].astype(float),
            "fpc2": M_hi[psu].astype(float),
            "w": w,
            "la": la_codes()[la],
            "y": y,
            "cat": np.asarray(CAT_LEVELS)[cat_code],
            "jkgroup": jk[psu],
        }
    )


def jk_groups(n_psu: int, seed: int, n_groups: int = N_JK_GROUPS) -> np.ndarray:
    """Jackknife group (1..n_groups) of each PSU: PSUs shuffled, then dealt round-robin."""
    order = np.random.default_rng([seed, n_groups]).permutation(n_psu)
    group = np.empty(n_psu, dtype=np.int64)
    group[order] = np.arange(n_psu) % n_groups + 1
    return group


def paths(n_rows: int) -> tuple[Path, Path]:
    return WORK / f"survey_{n_rows}.parquet", WORK / f"survey_{n_rows}.csv"


def ensure(n_rows: int, force: bool = False) -> tuple[Path, Path]:
    """Write the Parquet and CSV for ``n_rows`` unless they already exist."""
    pq, csv = paths(n_rows)
    if force or not (pq.exists() and csv.exists()):
        WORK.mkdir(parents=True, exist_ok=True)
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
    for n in (int(s) for s in args.sizes.split(",")):
        ensure(n, force=args.force)


if __name__ == "__main__":
    main()
