"""Tests for carepop.sampling.selection (sample selection from a frame)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sampling.frames import select_frame
from carepop.sampling.selection import (
    METHODS,
    inclusion_probabilities,
    select,
    select_two_stage,
    to_survey,
)

X12 = [1, 2, 3, 4, 60, 5, 6, 7, 8, 9, 10, 2]


def test_inclusion_probabilities_match_r():
    """Golden values from R 4 / sampling:

    library(sampling)
    print(inclusionprobabilities(c(1,2,3,4,60,5,6,7,8,9,10,2), 4), digits = 17)
    print(inclusionprobabilities(c(50,45,2,3,4,5,6,7,8,9), 4), digits = 17)
    """
    r1 = [0.052631578947368418, 0.105263157894736836, 0.157894736842105227, 0.210526315789473673, 1.0,
          0.263157894736842091, 0.315789473684210453, 0.368421052631578927, 0.421052631578947345,
          0.473684210526315763, 0.526315789473684181, 0.105263157894736836]  # fmt: skip
    r2 = [1.0, 1.0, 0.090909090909090912, 0.136363636363636354, 0.181818181818181823, 0.227272727272727237,
          0.272727272727272707, 0.318181818181818121, 0.363636363636363646, 0.409090909090909061]  # fmt: skip
    np.testing.assert_allclose(inclusion_probabilities(np.array(X12, float), 4), r1, rtol=1e-14)
    got2 = inclusion_probabilities(np.array([50, 45, 2, 3, 4, 5, 6, 7, 8, 9], float), 4)
    np.testing.assert_allclose(got2, r2, rtol=1e-14)
    assert got2.sum() == pytest.approx(4)


def _frame(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 5.0, n)
    x[3] = 400.0  # a certainty unit
    return pd.DataFrame({"id": np.arange(n), "x": x, "h": np.where(np.arange(n) < 12, "a", "b"),
                         "g": rng.integers(0, 3, n)})  # fmt: skip


@pytest.mark.parametrize("method", METHODS)
def test_exact_size_reproducible_and_columns(method):
    f = _frame()
    s1 = select(f, 8, method, size="x", seed=42, sort_by=["g"])
    s2 = select(f, 8, method, size="x", seed=42, sort_by=["g"])
    assert len(s1) == 8 and s1.index.is_unique
    pd.testing.assert_frame_equal(s1, s2)
    assert set(f.columns) <= set(s1.columns)
    np.testing.assert_allclose(s1["design_weight"], 1 / s1["inclusion_probability"])
    pd.testing.assert_frame_equal(s1[f.columns], f.loc[s1.index])


@pytest.mark.parametrize("method", METHODS)
def test_empirical_inclusion_frequencies(method):
    f = _frame()
    n, reps = 8, 2000
    if method.startswith("pps"):
        pik = inclusion_probabilities(f["x"].to_numpy(), n)
    else:
        pik = np.full(len(f), n / len(f))
    assert pik.sum() == pytest.approx(n)
    counts = np.zeros(len(f))
    sort_by = ["g"] if method == "systematic" else None
    for r in range(reps):
        s = select(f, n, method, size="x", sort_by=sort_by, seed=1000 + r)
        assert len(s) == n
        np.testing.assert_allclose(s["inclusion_probability"], pik[s["id"].to_numpy()])
        counts[s["id"].to_numpy()] += 1
    freq = counts / reps
    sd = np.sqrt(pik * (1 - pik) / reps)
    assert np.all(np.abs(freq - pik) <= 4 * sd + 1e-12), np.c_[freq, pik]


def test_stratified_srs_weights_sum_to_population():
    f = _frame()
    s = select(f, {"a": 3, "b": 5}, "srs", strata="h", seed=1)
    assert s["h"].value_counts().to_dict() == {"a": 3, "b": 5}
    assert s["design_weight"].sum() == pytest.approx(len(f))
    # a total allocated proportionally: 10 of 30 -> a: 4, b: 6
    s = select(f, 10, "systematic", strata="h", seed=1)
    assert s["h"].value_counts().to_dict() == {"a": 4, "b": 6}
    assert s.groupby("h")["design_weight"].sum().to_dict() == pytest.approx({"a": 12, "b": 18})
    assert (s.groupby("h")["fpc_units"].first() == [12, 18]).all()


def test_stratified_pps_probabilities_per_stratum():
    f = _frame()
    s = select(f, pd.Series({"a": 4, "b": 6}), "pps_wor", size="x", strata="h", seed=3)
    for h, nh in (("a", 4), ("b", 6)):
        fh = f[f["h"] == h]
        pik = pd.Series(inclusion_probabilities(fh["x"].to_numpy(), nh), index=fh.index)
        sh = s[s["h"] == h]
        assert len(sh) == nh
        np.testing.assert_allclose(sh["inclusion_probability"], pik.loc[sh.index])


def _clustered(seed=0):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 15, 40)
    psu = np.repeat(np.arange(40), m)
    return pd.DataFrame({"psu": psu, "h": np.where(psu < 20, "a", "b"), "y": rng.normal(size=psu.size)})


def test_two_stage_probabilities_and_expected_weight_total():
    f = _clustered()
    s = select_two_stage(f, "psu", {"a": 4, "b": 5}, 3, strata="h", seed=7)
    assert s.groupby("h")["psu"].nunique().to_dict() == {"a": 4, "b": 5}
    sizes = f.groupby("psu").size()
    assert (s.groupby("psu").size() == np.minimum(3, sizes.loc[s["psu"].unique()])).all()
    np.testing.assert_allclose(s["inclusion_probability"], s["pi_psu"] * s["pi_within"])
    np.testing.assert_allclose(s["pi_within"], np.minimum(3, s["psu_units"]) / s["psu_units"])
    pd.testing.assert_frame_equal(s[f.columns], f.loc[s.index])
    # E[sum of weights] = N (Horvitz-Thompson estimate of the population count)
    totals = [select_two_stage(f, "psu", 6, 3, seed=r)["design_weight"].sum() for r in range(2000)]
    se = np.std(totals) / np.sqrt(len(totals))
    assert abs(np.mean(totals) - len(f)) < 4 * se


def test_two_stage_reproducible_and_survey():
    f = _clustered()
    a = select_two_stage(f, "psu", {"a": 3, "b": 3}, 2, strata="h", seed=11)
    b = select_two_stage(f, "psu", {"a": 3, "b": 3}, 2, strata="h", seed=11)
    pd.testing.assert_frame_equal(a, b)
    sv = to_survey(a)
    assert sv.psu == "psu" and sv.strata == "h" and sv.fpc is None
    sv.total("y")


def test_to_survey_srs_uses_fpc():
    s = select(_frame(), 10, "srs", strata="h", seed=2)
    sv = to_survey(s)
    assert sv.fpc == "fpc_units" and sv.weight == "design_weight"
    sv.mean("x")


def test_select_frame(tmp_path):
    p = tmp_path / "frame.csv"
    _frame().to_csv(p, index=False)
    s = select_frame(str(p), n=5, method="pps_systematic", size="x", seed=3)
    assert len(s) == 5 and "design_weight" in s


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"n": 31}, "n_too_large"),
        ({"n": {"a": 13, "b": 1}, "strata": "h"}, "n_too_large"),
        ({"n": {"a": 1, "b": 1, "zz": 1}, "strata": "h"}, "empty_stratum"),
        ({"n": {"a": 1}, "strata": "h"}, "missing_allocation"),
        ({"n": 3, "strata": "nope"}, "unknown_column"),
        ({"n": 3, "method": "pps_wor", "size": "nope"}, "unknown_column"),
        ({"n": 3, "sort_by": ["nope"], "method": "systematic"}, "unknown_column"),
        ({"n": 3, "method": "bernoulli"}, "bad_option"),
        ({"n": 3, "method": "pps_wor"}, "missing_size"),
        ({"n": -1}, "bad_n"),
    ],
)
def test_errors(kwargs, code):
    kwargs = {"method": "srs", **kwargs}
    with pytest.raises(CarepopError) as e:
        select(_frame(), **kwargs)
    assert e.value.code == code


@pytest.mark.parametrize("bad", [0.0, -2.0, np.nan])
@pytest.mark.parametrize("method", ["pps_systematic", "pps_wor"])
def test_bad_sizes_name_rows(bad, method):
    f = _frame()
    f.loc[[5, 9], "x"] = bad
    with pytest.raises(CarepopError) as e:
        select(f, 3, method, size="x", seed=1)
    # 1-based data rows: the frame's 6th and 10th rows
    assert e.value.code == "bad_size" and e.value.column == "x" and e.value.rows == [6, 10]


def test_bad_size_rows_are_frame_rows_after_sorting():
    """--sort reorders the frame before systematic PPS; the rows named are still the frame's."""
    f = _frame()
    f["order"] = np.arange(len(f))[::-1]
    f.loc[[2, 7], "x"] = 0.0
    with pytest.raises(CarepopError) as e:
        select(f, 3, "pps_systematic", size="x", sort_by=["order"], seed=1)
    assert sorted(e.value.rows) == [3, 8]


def test_two_stage_errors():
    f = _clustered()
    with pytest.raises(CarepopError) as e:
        select_two_stage(f, "nope", 3, 2)
    assert e.value.code == "unknown_column"
    with pytest.raises(CarepopError) as e:
        select_two_stage(f, "psu", 41, 2)
    assert e.value.code == "n_too_large"
    f["mos"] = np.arange(len(f)) + 1.0
    with pytest.raises(CarepopError) as e:
        select_two_stage(f, "psu", 3, 2, size="mos")
    assert e.value.code == "size_varies"


def test_brewer_high_sampling_fraction():
    """Brewer's method with n = 22 of 30 (π near 1, stresses the rejection step)."""
    rng = np.random.default_rng(5)
    f = pd.DataFrame({"id": np.arange(30), "x": rng.gamma(1.0, 5.0, 30)})
    pik = inclusion_probabilities(f["x"].to_numpy(), 22)
    counts, reps = np.zeros(30), 2000
    for r in range(reps):
        counts[select(f, 22, "pps_wor", size="x", seed=r)["id"].to_numpy()] += 1
    sd = np.sqrt(pik * (1 - pik) / reps)
    assert np.all(np.abs(counts / reps - pik) <= 4 * sd + 1e-12)
    assert len(select(f, 30, "pps_wor", size="x", seed=1)) == 30


def test_pps_total_over_strata_is_allocated_by_size_totals():
    # stratum A: 10 units of size 1 (X_A = 10); B: 10 units of size 9 (X_B = 90); n = 10 by PPS
    # -> n_A = 10 * 10 / 100 = 1 and n_B = 9: every pi = n x / X, as without strata
    frame = pd.DataFrame({"s": ["A"] * 10 + ["B"] * 10, "x": [1.0] * 10 + [9.0] * 10})
    for method in ("pps_systematic", "pps_wor"):
        sample = select(frame, 10, method, size="x", strata="s", seed=4)
        assert sample.groupby("s").size().to_dict() == {"A": 1, "B": 9}
        assert np.allclose(sample["inclusion_probability"], 10 * sample["x"] / 100)
    # never more than a stratum's units: B cannot take 19 of its 10 units, A takes the rest
    sample = select(frame, 19, "pps_wor", size="x", strata="s", seed=4)
    assert sample.groupby("s").size().to_dict() == {"A": 9, "B": 10}
    # SRS keeps allocating to unit counts
    assert select(frame, 10, "srs", strata="s", seed=4).groupby("s").size().to_dict() == {"A": 5, "B": 5}


def test_pps_without_size_names_the_size_option():
    with pytest.raises(CarepopError) as e:
        select(_frame(), 3, "pps_wor", seed=1)
    assert e.value.code == "missing_size" and "size=..." in e.value.fix
    assert "--size COL" in e.value.render({"size": "--size"}.get)


def test_missing_strata_rows_are_1_based():
    f = _frame()
    f["st"] = "a"
    f.loc[[0, 4], "st"] = None
    with pytest.raises(CarepopError) as e:
        select(f, 3, strata="st", seed=1)
    assert e.value.code == "missing_strata" and e.value.rows == [1, 5]
