"""The compact replicate weights (factors per PSU and cell) give the numbers of the materialised
rows x replicates matrix.

For random stratified cluster designs, every replicate method carepop makes is built twice: the
compact design :func:`~carepop.weighting.replicate_weights` returns, and the same replicate
weights written out as columns and read back as a supplied (dense) design. Estimates, standard
errors and degrees of freedom (overall and by domain, for means, totals, ratios, proportions and
quantiles), and after each weighting step redone in every replicate (the compact design keeps its
factors where the step is constant within cells, the dense one adjusts every column) the
weights themselves, must agree to 1e-12 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import Survey
from carepop.weighting import (
    calibrate,
    nonresponse_classes,
    poststratify,
    rake,
    replicate_weights,
    trim_weights,
)

RTOL = 1e-12
pytestmark = pytest.mark.filterwarnings("ignore:Some quantile intervals reach beyond the data")
METHODS = ["jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr"]


def random_design(seed: int, method: str) -> pd.DataFrame:
    """A stratified cluster sample (JK1: the strata are ignored, and the fpc is the number of PSUs
    in the population): 2 PSUs per stratum for BRR/Fay, 2-6 otherwise; domains,
    categories and numbers that cut across PSUs; a response flag."""
    rng = np.random.default_rng(seed)
    H = int(rng.integers(3, 9))
    per = np.full(H, 2) if method in ("brr", "fay") else rng.integers(2, 7, size=H)
    N = per * rng.integers(2, 6, size=H)  # PSUs in the population of each stratum
    rows = []
    for h in range(H):
        for p in range(per[h]):
            m = int(rng.integers(2, 12))
            rows.append(
                pd.DataFrame(
                    {
                        "stratum": f"s{h}",
                        "psu": f"s{h}p{p}",
                        "fpc": int(N[h]),
                        "w": rng.uniform(1, 30, m),
                        "y": rng.gamma(2.0, 5.0, m),
                        "x": rng.uniform(1, 3, m),
                        "cat": rng.choice(["a", "b", "c"], m, p=[0.5, 0.3, 0.2]),
                        "dom": rng.choice(["d1", "d2", "d3", "d4"], m),
                        "sex": rng.choice(["f", "m"], m),
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True)
    df["resp"] = (rng.random(len(df)) < 0.8).astype(int)
    df["fpc_all"] = int(N.sum())  # the population's PSUs, for the unstratified JK1
    return df


def both(seed: int, method: str) -> tuple[Survey, Survey]:
    """The compact design and the same replicate weights supplied as columns (dense)."""
    df = random_design(seed, method)
    strata = None if method == "jk1" else "stratum"  # JK1 is for unstratified designs (as R)
    fpc = {"jk1": "fpc_all", "jkn": "fpc"}.get(method)
    s = Survey(df, weight="w", strata=strata, psu="psu", fpc=fpc)
    kw = {"rho": 0.5} if method == "fay" else {}
    if method in ("bootstrap", "subbootstrap", "sdr"):
        kw["replicates"] = 20
    compact = replicate_weights(s, method, seed=seed, mse=bool(seed % 2), **kw)
    rep = compact.replicate_design
    assert rep.is_compact
    dense = Survey.replicate(
        compact.data,
        repweights=list(rep.columns),
        method=rep.method,
        weight="w",
        rho=rep.rho,
        scale=rep.scale,
        rscales=rep.rscales,
        mse=rep.mse,
    )
    assert not dense.replicate_design.is_compact
    return compact, dense


def numbers(s: Survey, by) -> list[np.ndarray]:
    """Estimate, SE, interval and df of each statistic (one array per statistic)."""
    parts = [
        s.mean("y", by=by, ci="t"),
        s.total("y", by=by),
        s.ratio("y", "x", by=by),
        s.proportion("cat", by=by, ci="logit"),
        s.quantile("y", 0.5, by=by),
    ]
    cols = ["estimate", "se", "ci_lower", "ci_upper", "df"]
    return [p.to_pandas()[cols].to_numpy(dtype=float) for p in parts]


def agree(a, b, rtol=RTOL):
    """Relative agreement; a quantity that is zero in exact arithmetic (the SE of a proportion
    fixed by post-stratification) is compared on the scale of its statistic's estimates."""
    if isinstance(a, list):
        for x, y in zip(a, b, strict=True):
            scale = np.nanmax(np.abs(y[:, 0])) if np.isfinite(y[:, 0]).any() else 1.0
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, equal_nan=True)
        return
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(4))
def test_estimates_agree_with_the_materialised_matrix(seed, method):
    compact, dense = both(seed, method)
    agree(compact.replicate_design.weights, dense.replicate_design.weights, rtol=0)
    for by in (None, "dom", ["dom", "sex"]):
        agree(numbers(compact, by), numbers(dense, by))
    assert compact.degf == dense.degf


STEPS = {
    "poststratify": lambda s: poststratify(s, "cat", {"a": 5000.0, "b": 3000.0, "c": 2000.0}),
    "nonresponse": lambda s: nonresponse_classes(s, "sex", "resp", min_respondents=1),
    "rake": lambda s: rake(
        s,
        {"cat": {"a": 5000.0, "b": 3000.0, "c": 2000.0}, "sex": {"f": 5200.0, "m": 4800.0}},
        epsilon=1e-9,
        maxit=200,
    ),
    "calibrate_categorical": lambda s: calibrate(
        s,
        {"cat": {"a": 5000.0, "b": 3000.0, "c": 2000.0}, "sex": {"f": 5200.0, "m": 4800.0}},
        calfun="raking",
    ),
    "calibrate_numeric": lambda s: calibrate(s, {"sex": {"f": 5200.0, "m": 4800.0}, "x": 19000.0}),
    "trim": lambda s: trim_weights(s, lower=2.0, upper=40.0),
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("method", ["jk1", "jkn", "brr", "bootstrap"])
def test_weighting_steps_agree_with_the_materialised_matrix(step, method):
    seed = 11 + METHODS.index(method)
    compact, dense = both(seed, method)
    a, b = STEPS[step](compact), STEPS[step](dense)
    agree(a.weights, b.weights)
    agree(a.replicate_design.weights, b.replicate_design.weights)
    # cell-constant steps keep the factors; the others leave a full matrix
    expect_compact = step not in ("calibrate_numeric", "trim")
    assert a.replicate_design.is_compact == expect_compact
    for by in (None, "dom"):
        agree(numbers(a, by), numbers(b, by))
    # and a second step on top of the first
    a2, b2 = STEPS["poststratify"](a), STEPS["poststratify"](b)
    agree(a2.replicate_design.weights, b2.replicate_design.weights)
    agree(numbers(a2, "dom"), numbers(b2, "dom"))


def test_compact_memory_is_per_psu_not_per_row():
    """The factors of 50 replicates of a 20,000-row design take #PSU x 50 numbers, not 20,000 x 50."""
    rng = np.random.default_rng(5)
    n = 20_000
    df = pd.DataFrame({"g": rng.integers(0, 50, n), "w": rng.uniform(1, 5, n), "y": rng.normal(size=n)})
    r = replicate_weights(Survey(df, weight="w", psu="g"), "jk1")
    store = r.replicate_design.store
    assert store.is_compact and [t.shape for t in store.tables] == [(50, 50)]
    assert store.row.shape == (n,)
