"""Raking on the margin cells equals raking the rows, as R does it.

carepop's raking passes run on the cell totals of the margin variables (one number per cell and
replicate) and its variance step forms ``H'Z`` on the cells. Here both are checked against a
row-by-row implementation of R's ``rake`` loop (post-stratify to each margin in turn; stop when no
cell of the weighted cross-table moves by ``epsilon``), for the full sample and for every replicate
of a replicate design, and against the row version of the variance step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.weighting import rake, replicate_weights
from carepop.weighting.rake import RakingCells, rake_step
from tests.golden import close

MARGINS = {
    "a": {"x": 400.0, "y": 350.0, "z": 250.0},
    "b": {"p": 600.0, "q": 400.0},
    "c": {"u": 100.0, "v": 500.0, "w": 250.0, "t": 150.0},
}


def r_rake_rows(w: np.ndarray, df: pd.DataFrame, maxit: int, epsilon: float) -> tuple[np.ndarray, int]:
    """R ``rake``'s loop on the rows (survey 4.1.1, ``rake``): returns the weights and passes."""
    codes = {v: pd.factorize(df[v], sort=True) for v in MARGINS}
    cross = pd.factorize(df["a"] + "|" + df["b"] + "|" + df["c"])[0]
    eps = epsilon * w.sum() if epsilon < 1 else epsilon
    old = np.bincount(cross, weights=w)
    cur = w.copy()
    for it in range(maxit):
        for v, (c, levels) in codes.items():
            target = np.array([MARGINS[v][lev] for lev in levels])
            cur = cur * (target / np.bincount(c, weights=cur))[c]
        new = np.bincount(cross, weights=cur)
        if np.max(np.abs(old - new)) < eps:
            return cur, it
        old = new
    return cur, maxit


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    return pd.DataFrame(
        {
            "psu": rng.integers(0, 40, n),
            "a": rng.choice(list(MARGINS["a"]), n, p=[0.5, 0.3, 0.2]),
            "b": rng.choice(list(MARGINS["b"]), n),
            "c": rng.choice(list(MARGINS["c"]), n, p=[0.1, 0.4, 0.3, 0.2]),
            "w": rng.uniform(0.5, 3.0, n),
        }
    )


@pytest.mark.parametrize("epsilon", [1.0, 1e-6, 1e-10])
def test_full_sample_equals_rows(sample, epsilon):
    s = Survey(sample, weight="w")
    got = rake(s, MARGINS, epsilon=epsilon, maxit=100)
    want, _ = r_rake_rows(sample["w"].to_numpy(), sample, 100, epsilon)
    close(got.weights, want, rtol=1e-12)


def test_every_replicate_equals_rows(sample):
    r = replicate_weights(Survey(sample, weight="w", psu="psu"), "jk1")
    got = rake(r, MARGINS, epsilon=1e-8, maxit=100).replicate_design.weights
    W = r.replicate_design.weights
    want = np.column_stack([r_rake_rows(W[:, k], sample, 100, 1e-8)[0] for k in range(W.shape[1])])
    close(got, want, rtol=1e-12)


def test_variance_step_on_cells_equals_rows(sample):
    s = Survey(sample, weight="w")
    codes = []
    for v, pop in MARGINS.items():
        c, levels = s.factor(v)
        codes.append((v, c, levels, np.array([pop[lev] for lev in levels])))
    cells = RakingCells.of(codes)
    new, step, ok, passes = cells.rake(s.weights, 100, 1e-9)
    new_rows, psw, ok_rows, passes_rows = cells.ipf_rows(s.weights, 100, 1e-9)
    rows = rake_step([c for _, c, _, _ in codes], [len(lv) for _, _, lv, _ in codes], psw)
    assert ok and ok_rows and passes == passes_rows
    close(new, new_rows, rtol=0)
    # entries near zero come out of cancellation: compare them on the scale of the matrix
    np.testing.assert_allclose(step.K, rows.K, rtol=1e-12, atol=1e-12 * np.abs(rows.K).max())
    for a, b in zip(step.blocks, rows.blocks, strict=True):
        close(a.z, b.z, rtol=0)
        close(a.h, b.h, rtol=0)
