"""Properties every design-based estimate must have, whatever the data: independent of row
order, of how (unit x domain) totals are stored, and consistent across estimators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepop import Survey
from carepop.core.estimation import taylor

DATA = Path(__file__).parents[1] / "data"
COLS = ["estimate", "se", "ci_lower", "ci_upper", "df", "n"]


def synthetic(seed: int, n_strata: int = 6, psus: int = 4, per_psu: int = 7) -> pd.DataFrame:
    """A stratified two-stage sample with fpc at both stages and 5 domains cutting across PSUs."""
    rng = np.random.default_rng(seed)
    h = np.repeat(np.arange(n_strata), psus * per_psu)
    p = np.repeat(np.arange(n_strata * psus), per_psu)
    df = pd.DataFrame(
        {
            "h": h,
            "psu": p,
            "ssu": np.tile(np.arange(per_psu), n_strata * psus),
            "dom": rng.integers(0, 5, h.size),
            "y": rng.gamma(2.0, 3.0, h.size) + h,
            "x": rng.uniform(1, 3, h.size),
            "cat": rng.choice(["a", "b", "c"], h.size),
        }
    )
    df["N1"] = psus * 3 + df["h"]
    df["N2"] = per_psu * 5 + df["psu"] % 4
    df["w"] = df["N1"] / psus * df["N2"] / per_psu
    return df


def design(df: pd.DataFrame) -> Survey:
    return Survey(df, weight="w", strata="h", psu="psu", ssu="ssu", fpc="N1", fpc2="N2")


def all_estimates(s: Survey) -> list[pd.DataFrame]:
    return [
        s.mean("y", by="dom", deff=True).to_pandas(),
        s.total("y", by=["dom", "cat"]).to_pandas(),
        s.ratio("y", "x", by="dom").to_pandas(),
        s.proportion("cat", by="dom", ci="beta").to_pandas(),
        s.quantile("y", 0.5, by="dom").to_pandas(),
        s.mean("y").to_pandas(),
    ]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000))
def test_row_order_never_changes_a_number(seed, perm_seed):
    df = synthetic(seed)
    shuffled = df.sample(frac=1, random_state=perm_seed).reset_index(drop=True)
    for a, b in zip(all_estimates(design(df)), all_estimates(design(shuffled)), strict=True):
        np.testing.assert_allclose(a[COLS].to_numpy(float), b[COLS].to_numpy(float), rtol=1e-10, atol=1e-12)


def test_dense_and_sparse_unit_totals_agree(monkeypatch):
    s = design(synthetic(3))
    dense = all_estimates(s)
    monkeypatch.setattr(taylor, "DENSE_CELLS", 0)
    sparse = all_estimates(design(synthetic(3)))
    for a, b in zip(dense, sparse, strict=True):
        np.testing.assert_allclose(a[COLS].to_numpy(float), b[COLS].to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize("policy", ["remove", "certainty", "adjust", "average"])
def test_dense_and_sparse_agree_under_lonely_policies(monkeypatch, policy):
    df = synthetic(5)
    df = df[~((df["h"] == 2) & (df["psu"] != df.loc[df["h"] == 2, "psu"].min()))]  # stratum 2: one PSU
    a = Survey(df, weight="w", strata="h", psu="psu", lonely_psu=policy).mean("y", by="dom").to_pandas()
    monkeypatch.setattr(taylor, "DENSE_CELLS", 0)
    b = Survey(df, weight="w", strata="h", psu="psu", lonely_psu=policy).mean("y", by="dom").to_pandas()
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-12)


def test_domain_mean_is_a_ratio_of_domain_totals():
    """A domain mean is the ratio of totals of y·1{d} and 1{d} over the whole sample (R identity:
    svyby(~y, ~d, des, svymean) = svyratio(~I(y*(d==k)), ~I(d==k), des))."""
    df = synthetic(11)
    for k in range(5):
        df[f"y{k}"] = df["y"] * (df["dom"] == k)
        df[f"i{k}"] = (df["dom"] == k).astype(float)
    s = design(df)
    by = s.mean("y", by="dom").to_pandas()
    for k in range(5):
        r = s.ratio(f"y{k}", f"i{k}").to_pandas().iloc[0]
        row = by[by["dom"] == k].iloc[0]
        np.testing.assert_allclose([row["estimate"], row["se"]], [r["estimate"], r["se"]], rtol=1e-12)


def test_proportions_sum_to_one_with_equal_se_for_a_binary():
    s = Survey(pd.read_csv(DATA / "apistrat.csv"), weight="pw", strata="stype", fpc="fpc")
    p = s.proportion("sch.wide", by="stype").to_pandas()
    sums = p.groupby("stype")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    se = p.pivot(index="stype", columns="level", values="se")
    np.testing.assert_allclose(se["No"], se["Yes"], rtol=1e-12)


def test_census_of_psus_has_only_second_stage_variance():
    """Every PSU taken (fpc1 = n): the first stage adds nothing; the variance is the second
    stage's, with factor n/N = 1 (R survey:::multistage)."""
    df = synthetic(2)
    df["N1"] = 4
    df["w"] = df["N2"] / 7
    full = design(df).mean("y").to_pandas()["se"].iloc[0]
    one_stage_per_psu = Survey(df, weight="w", strata="psu", fpc="N2").mean("y").to_pandas()["se"].iloc[0]
    assert full > 0
    np.testing.assert_allclose(full, one_stage_per_psu, rtol=1e-12)


def test_total_of_a_constant_in_a_census_has_zero_variance():
    df = synthetic(4)
    df["one"] = 1.0
    df["N1"] = 4
    df["N2"] = 7
    df["w"] = 1.0
    s = design(df)
    t = s.total("one").to_pandas().iloc[0]
    assert t["estimate"] == len(df) and t["se"] == 0.0


def test_replicate_shuffle_invariance():
    df = synthetic(8)
    rng = np.random.default_rng(0)
    reps = df["w"].to_numpy()[:, None] * rng.uniform(0.5, 1.5, (len(df), 20))
    for j in range(20):
        df[f"rep{j:02d}"] = reps[:, j]
    a = Survey.replicate(df, "rep", "bootstrap", weight="w").mean("y", by="dom").to_pandas()
    b = (
        Survey.replicate(df.sample(frac=1, random_state=1), "rep", "bootstrap", weight="w")
        .mean("y", by="dom")
        .to_pandas()
    )
    np.testing.assert_allclose(a[COLS].to_numpy(float), b[COLS].to_numpy(float), rtol=1e-12)


def _raked(df: pd.DataFrame) -> Survey:
    from carepop.weighting import poststratify, rake

    s = design(df)
    w = df["w"].to_numpy()
    cat = {c: 1.1 * w[df["cat"].to_numpy() == c].sum() for c in ("a", "b", "c")}
    h = {v: 1.1 * w[df["h"].to_numpy() == v].sum() * (1 + 0.05 * (v % 3 - 1)) for v in range(6)}
    total = sum(cat.values())
    h = {v: t * total / sum(h.values()) for v, t in h.items()}
    raked = rake(s, {"cat": cat, "h": h}, maxit=50, epsilon=1e-9)
    return poststratify(raked, "dom", df.groupby("dom")["w"].sum().to_dict())


def test_calibrated_variance_routes_agree(monkeypatch):
    """Raking then post-stratification: the residual totals formed directly (in one-domain chunks)
    and through per-group cross-products give the same SEs, with dense and sparse pair indexes."""
    df = synthetic(11)
    default = all_estimates(_raked(df))[:4]
    monkeypatch.setattr(taylor, "DENSE_CELLS", 120)  # stage-2 (PSU, domain) pairs sparse, cells dense
    monkeypatch.setattr(taylor, "DIRECT_CHUNK", 1)
    monkeypatch.setattr(taylor, "DECOMPOSE_MAX", 0)
    direct = all_estimates(_raked(df))[:4]
    monkeypatch.setattr(
        taylor, "_direct_is_cheaper", lambda stage, pairs, q, D: pairs.n_pairs == stage.n_total_units * D
    )
    decomposed = all_estimates(_raked(df))[:4]
    for a, b, c in zip(default, direct, decomposed, strict=True):
        assert (a["se"] > 0).all()
        np.testing.assert_allclose(a[COLS].to_numpy(float), b[COLS].to_numpy(float), rtol=1e-11)
        np.testing.assert_allclose(a[COLS].to_numpy(float), c[COLS].to_numpy(float), rtol=1e-11)
