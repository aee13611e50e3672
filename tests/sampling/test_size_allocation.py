"""Sample size and allocation (carepop.sampling.size / allocation / commands_size)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from carepop.errors import CarepopError
from carepop.sampling.allocation import allocate, expected_precision
from carepop.sampling.frames import allocate_frame
from carepop.sampling.size import (
    deff_from_icc,
    precision,
    precision_mean,
    sample_size_domains,
    sample_size_mean,
    sample_size_proportion,
)

Z95 = 1.959963984540054


# --- sample sizes ---------------------------------------------------------------------------------------


def test_sace_guidance_example_278_returns_695_issued():
    # SACE guidance: N = 1,000, 95%, +/-5 points, p = 0.5, 40% response -> 278 returns, 695 issued.
    out = sample_size_proportion(0.5, 0.05, population=1000, response_rate=0.4)
    # hand: n0 = 1.96^2 * 0.25 / 0.0025 = 384.15; n = 384.15 / (1 + 383.15 / 1000) = 277.7 -> 278
    assert out["n0"] == pytest.approx(Z95**2 * 0.25 / 0.05**2)
    assert out["n"] == pytest.approx(out["n0"] / (1 + (out["n0"] - 1) / 1000))
    assert out["respondents"] == 278
    assert out["issued"] == 695 == math.ceil(278 / 0.4)


def test_size_without_population_and_relative_and_deff():
    assert sample_size_proportion(0.5, 0.05)["respondents"] == 385  # 384.15 rounded up
    # relative +/-10% of p = 0.2 is +/-0.02: n0 = z^2 * 0.16 / 0.0004
    rel = sample_size_proportion(0.2, 0.10, relative=True)
    assert rel["n0"] == pytest.approx(Z95**2 * 0.16 / 0.02**2)
    assert sample_size_proportion(0.5, 0.05, deff=2)["n0"] == pytest.approx(2 * Z95**2 * 0.25 / 0.0025)


def test_deff_from_icc_and_icc_option():
    assert deff_from_icc(0.05, 11) == pytest.approx(1.5)
    out = sample_size_proportion(0.5, 0.05, icc=0.05, cluster_size=11)
    assert out["deff"] == pytest.approx(1.5)
    assert out["n0"] == pytest.approx(1.5 * Z95**2 * 0.25 / 0.0025)


def test_sample_size_mean():
    out = sample_size_mean(10, 1)
    assert out["n0"] == pytest.approx(Z95**2 * 100)
    assert out["respondents"] == 385
    rel = sample_size_mean(10, 0.05, relative=True, mean=20, population=500, response_rate=0.5)
    n0 = Z95**2 * 100 / 1.0**2
    assert rel["respondents"] == math.ceil(n0 / (1 + (n0 - 1) / 500))
    assert rel["issued"] == math.ceil(rel["respondents"] / 0.5)


def test_vectorised_domains_equal_loop_of_scalar_calls():
    pops = [1000, 2_500, 40_000, 3_100, 1_750]
    ps = [0.5, 0.3, 0.12, 0.7, 0.5]
    table = sample_size_domains(ps, 0.05, pops, domains=list("ABCDE"), response_rate=0.45, deff=1.2)
    body = table.iloc[:-1]
    for i, (N, p) in enumerate(zip(pops, ps, strict=True)):
        one = sample_size_proportion(p, 0.05, population=N, response_rate=0.45, deff=1.2)
        assert body["respondents"].iloc[i] == one["respondents"]
        assert body["issued"].iloc[i] == one["issued"]
    total = table.iloc[-1]
    assert total["domain"] == "Total"
    assert total["respondents"] == body["respondents"].sum()
    assert total["issued"] == body["issued"].sum()


def test_precision_is_inverse_of_size():
    out = sample_size_proportion(0.5, 0.05, population=1000)
    e = precision(out["respondents"], 0.5, population=1000)
    assert e <= 0.05
    assert precision(out["respondents"] - 1, 0.5, population=1000) > 0.05
    # without N: e = z sqrt(pq / n)
    assert precision(400, 0.5) == pytest.approx(Z95 * math.sqrt(0.25 / 400))
    assert precision(1000, 0.5, population=1000) == 0.0  # census
    assert precision_mean(100, 10) == pytest.approx(Z95)


# --- allocation -----------------------------------------------------------------------------------------


def test_neyman_allocation_by_hand():
    # N_h = 1000, 2000, 3000; S_h = 10, 20, 5; n = 130
    # N_h S_h = 10,000, 40,000, 15,000 (sum 65,000) -> n_h = 130 * (10, 40, 15) / 65 = 20, 80, 30
    df = allocate([1000, 2000, 3000], 130, "neyman", S_h=[10, 20, 5])
    assert df["n_h"].tolist() == [20, 80, 30]
    # V = sum W_h^2 (1 - f_h) S_h^2 / n_h with W = 1/6, 1/3, 1/2
    v = (1 / 36) * 0.98 * 100 / 20 + (1 / 9) * 0.96 * 400 / 80 + (1 / 4) * 0.99 * 25 / 30
    assert df.attrs["se"] == pytest.approx(math.sqrt(v))
    assert df["var_contrib"].iloc[0] == pytest.approx((1 / 36) * 0.98 * 100 / 20)
    assert df["fraction"].tolist() == pytest.approx([0.02, 0.04, 0.01])


def test_optimal_allocation_by_hand():
    # c_h = 1, 4, 1 -> sqrt(c_h) = 1, 2, 1; N_h S_h / sqrt(c_h) = 10,000, 20,000, 15,000 (sum 45,000)
    # n = 90 -> n_h = 90 * (10, 20, 15) / 45 = 20, 40, 30
    df = allocate([1000, 2000, 3000], 90, "optimal", S_h=[10, 20, 5], cost_h=[1, 4, 1])
    assert df["n_h"].tolist() == [20, 40, 30]


# Published textbook example: Valliant, Dever & Kreuter (2018), *Practical Tools for Designing and
# Weighting Survey Samples*, 2nd ed., ch. 3 -- the smho98 hospital population in six strata; the
# numbers below are those printed by the authors' R package (PracTools vignette "Sample Size
# Calculation in Single-stage Sampling", strAlloc examples):
#   Nh <- c(215, 65, 252, 50, 149, 144)
#   Sh <- c(26787207, 10645109, 6909676, 11085034, 9817762, 44553355)
#   ch <- c(1400, 200, 300, 600, 450, 1000)
#   strAlloc(n.tot = 100, Nh = Nh, Sh = Sh, alloc = "neyman")
#   strAlloc(Nh = Nh, Sh = Sh, cost = 100000, ch = ch, alloc = "totcost")
#   strAlloc(Nh = Nh, Sh = Sh, CV0 = 0.05, ch = ch, ybarU = 11664181, alloc = "totvar")
VDK_N = [215, 65, 252, 50, 149, 144]
VDK_S = [26787207, 10645109, 6909676, 11085034, 9817762, 44553355]
VDK_C = [1400, 200, 300, 600, 450, 1000]


def test_neyman_allocation_textbook_example():
    df = allocate(VDK_N, 100, "neyman", S_h=VDK_S)
    published = [34.641683, 4.161947, 10.473487, 3.333804, 8.798970, 38.590108]
    assert df["n_h_exact"].tolist() == pytest.approx(published, abs=5e-7)
    assert df.attrs["se_exact"] == pytest.approx(1727173, abs=0.5)  # "anticipated SE of estimated mean"
    assert df["n_h"].tolist() == [35, 4, 10, 3, 9, 39] and df["n_h"].sum() == 100


def test_cost_constrained_optimal_allocation_textbook_example():
    df = allocate(VDK_N, method="optimal", S_h=VDK_S, cost_h=VDK_C, budget=100_000)
    published = [30.605403, 9.728474, 19.989127, 4.499121, 13.711619, 40.340301]
    assert df["n_h_exact"].tolist() == pytest.approx(published, abs=5e-7)
    assert df.attrs["se_exact"] == pytest.approx(1636053, abs=0.5)
    # whole units: the largest total whose rounded allocation stays within the budget
    assert df.attrs["cost"] <= 100_000
    assert float(
        np.dot(VDK_C, allocate(VDK_N, df.attrs["n"] + 1, "optimal", S_h=VDK_S, cost_h=VDK_C)["n_h"])
    ) > (100_000)


def test_precision_constrained_optimal_allocation_textbook_example():
    target = 0.05 * 11664181  # CV0 = 0.05 at ybarU = 11,664,181
    df = allocate(VDK_N, method="optimal", S_h=VDK_S, cost_h=VDK_C, target_se=target)
    published = [104.54922, 33.23283, 68.28362, 15.36917, 46.83941, 137.80400]
    assert df["n_h_exact"].tolist() == pytest.approx(published, abs=5e-6)
    # printed as 583209.1: the target itself, 0.05 * 11664181 = 583209.05, met exactly
    assert df.attrs["se_exact"] == pytest.approx(target, rel=1e-12)
    # whole units: the continuous total 406.08 rounded up, and the rounded allocation meets the target
    assert df.attrs["n"] == 407 and df.attrs["se"] <= target


def test_precision_target_neyman_is_smallest_whole_sample():
    # without costs no allocation of one unit fewer can reach the target (Neyman minimises V for fixed n)
    target = 1.1e6
    df = allocate(VDK_N, method="neyman", S_h=VDK_S, target_se=target)
    assert df.attrs["se"] <= target
    assert allocate(VDK_N, df.attrs["n"] - 1, "neyman", S_h=VDK_S).attrs["se"] > target


def test_precision_target_with_bounds_and_infeasible_targets():
    # unbounded, the target SE 1.1e6 puts about 76 units in the last stratum; a cap of 60 binds there
    # and in the first stratum, the others make up for it and the target is still met exactly
    free = allocate(VDK_N, method="neyman", S_h=VDK_S, target_se=1.1e6)
    assert free["n_h_exact"].iloc[-1] == pytest.approx(75.8, abs=0.05)
    df = allocate(VDK_N, method="neyman", S_h=VDK_S, target_se=1.1e6, max_n=60)
    assert df["n_h_exact"].iloc[[0, -1]].tolist() == pytest.approx([60, 60])
    assert df["n_h_exact"].sum() > free["n_h_exact"].sum()
    assert df.attrs["se_exact"] == pytest.approx(1.1e6, rel=1e-9)
    assert df.attrs["se"] <= 1.1e6 and (df["n_h"] <= 60).all()
    with pytest.raises(CarepopError) as info:  # 50 a stratum can give at best SE 1.21e6
        allocate(VDK_N, method="neyman", S_h=VDK_S, target_se=1.1e6, max_n=50)
    assert info.value.code == "target_not_met"
    with pytest.raises(CarepopError) as info:
        allocate(VDK_N, method="optimal", S_h=VDK_S, cost_h=VDK_C, budget=10_000, min_n=5)
    assert info.value.code == "infeasible_budget"
    with pytest.raises(CarepopError) as info:
        allocate(VDK_N, 100, "neyman", S_h=VDK_S, target_se=1e6)
    assert info.value.code == "invalid_input"


def test_proportional_equal_and_power():
    assert allocate([100, 300, 600], 50)["n_h"].tolist() == [5, 15, 30]
    assert allocate([100, 300, 600], 60, "equal")["n_h"].tolist() == [20, 20, 20]
    # power q = 0.5, S_h = 1: n_h ~ sqrt(N_h) = 10, 20, 30 -> 60 * (1, 2, 3) / 6
    assert allocate([100, 400, 900], 60, "power", power=0.5)["n_h"].tolist() == [10, 20, 30]
    # power q = 1 is Neyman
    a = allocate([1000, 2000, 3000], 130, "power", S_h=[10, 20, 5], power=1)
    assert a["n_h"].tolist() == [20, 80, 30]


def test_rounding_keeps_total_exact():
    rng = np.random.default_rng(7)
    for _ in range(50):
        N = rng.integers(5, 500, size=rng.integers(2, 12))
        S = rng.uniform(0.1, 3, size=N.size)
        n = int(rng.integers(1, N.sum()))
        for method in ("proportional", "equal", "neyman", "power"):
            df = allocate(N, n, method, S_h=S)
            assert df["n_h"].sum() == n
            assert (df["n_h"] <= df["N_h"]).all()
            assert (df["n_h"] >= 0).all()
            assert (np.abs(df["n_h"] - df["n_h_exact"]) < 1).all()
    # 10 over 3 equal strata: largest remainder gives 4, 3, 3 (ties broken by order)
    assert allocate([7, 11, 13], 10, "equal")["n_h"].tolist() == [4, 3, 3]


def test_bounds_honoured_by_hand():
    # proportional 100 over N = 10, 2000, 3000 would give 0.2, 39.9, 59.9; min 5, max 50:
    # stratum 3 fixed at 50, stratum 1 at 5, the remaining 45 go to stratum 2.
    df = allocate([10, 2000, 3000], 100, "proportional", min_n=5, max_n=50)
    assert df["n_h"].tolist() == [5, 45, 50]
    # min larger than N_h takes the whole stratum
    df = allocate([3, 500, 500], 100, min_n=10)
    assert df["n_h"].tolist() == [3, 49, 48] or df["n_h"].tolist() == [3, 48, 49]
    rng = np.random.default_rng(3)
    for _ in range(30):
        N = rng.integers(20, 400, size=6)
        n = int(rng.integers(6 * 5, 6 * 15))
        df = allocate(N, n, "neyman", S_h=rng.uniform(0.5, 2, 6), min_n=5, max_n=15)
        assert df["n_h"].sum() == n
        assert df["n_h"].between(5, 15).all()


def test_zero_sd_strata_and_census():
    df = allocate([100, 100], 50, "neyman", S_h=[0, 1])
    assert df["n_h"].tolist() == [0, 50]
    df = allocate([100, 100], 150, "neyman", S_h=[0, 1])
    assert df["n_h"].tolist() == [50, 100]
    assert allocate([10, 20], 30)["n_h"].tolist() == [10, 20]


def test_expected_precision_proportion():
    prec = expected_precision([100, 300], [10, 30], P_h=[0.5, 0.2])
    s2 = [100 * 0.25 / 99, 300 * 0.16 / 299]
    v = 0.25**2 * 0.9 * s2[0] / 10 + 0.75**2 * 0.9 * s2[1] / 30
    assert prec.attrs["se"] == pytest.approx(math.sqrt(v))


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: allocate([10, 20], 31), "n_exceeds_population"),
        (lambda: allocate([10, 0, 20], 5), "empty_stratum"),
        (lambda: allocate([10, 20], 5, "neyman", S_h=[1, -1]), "negative_sd"),
        (lambda: allocate([10, 20], 5, "optimal", S_h=[1, 1], cost_h=[1, -2]), "negative_cost"),
        (lambda: allocate([10, 20], 5, "optimal", S_h=[1, 1], cost_h=[1, 0]), "negative_cost"),
        (lambda: allocate([10, 20], 5, "neyman"), "missing_sd"),
        (lambda: allocate([10, 20], 5, "bogus"), "bad_option"),
        (lambda: allocate([10, 20, 30], 10, min_n=4), "infeasible_bounds"),
        (lambda: allocate([10, 20, 30], 40, max_n=10), "infeasible_bounds"),
        (lambda: allocate([10, 20, 30], 20, min_n=8, max_n=5), "infeasible_bounds"),
        (lambda: sample_size_proportion(0.5, 0.01, population=1000, response_rate=0.4), "target_unreachable"),
        (lambda: sample_size_domains(0.5, 0.01, [100_000, 1000], response_rate=0.4), "target_unreachable"),
        (lambda: sample_size_proportion(0.0, 0.05), "invalid_proportion"),
        (lambda: sample_size_proportion(0.5, 0), "invalid_moe"),
        (lambda: sample_size_proportion(0.5, 0.05, response_rate=0), "invalid_response_rate"),
        (lambda: sample_size_proportion(0.5, 0.05, level=95), "invalid_level"),
        (lambda: sample_size_proportion(0.5, 0.05, population=0), "invalid_population"),
        (lambda: sample_size_mean(10, 0.1, relative=True), "invalid_mean"),
        (lambda: precision(2000, 0.5, population=1000), "n_exceeds_population"),
    ],
)
def test_errors(call, code):
    with pytest.raises(CarepopError) as info:
        call()
    assert info.value.code == code


# --- command functions ----------------------------------------------------------------------------------


def test_allocate_frame(tmp_path):
    path = tmp_path / "frame.csv"
    frame = pd.DataFrame(
        {"la": ["A", "B", "C"], "N": [1000, 2000, 3000], "sd": [10, 20, 5], "cost": [1, 4, 1]}
    )
    frame.to_csv(path, index=False)
    df = allocate_frame(str(path), strata="la", size="N", n=90, method="optimal", sd="sd", cost="cost")
    assert df["stratum"].tolist() == ["A", "B", "C"]
    assert df["n_h"].tolist() == [20, 40, 30]
    with pytest.raises(CarepopError) as info:
        allocate_frame(str(path), strata="la", size="missing", n=90)
    assert info.value.code == "missing_column"
    pd.DataFrame({"la": ["A", "A"], "N": [1, 2]}).to_csv(path, index=False)
    with pytest.raises(CarepopError) as info:
        allocate_frame(str(path), strata="la", size="N", n=2)
    assert info.value.code == "duplicate_strata"


# ---------------------------------------------------------------------------- rows and fixes
def test_allocation_rows_are_1_based_strata():
    with pytest.raises(CarepopError) as e:
        allocate([100, 0, 50, -1], 20)
    assert e.value.code == "empty_stratum" and e.value.rows == [2, 4]
    with pytest.raises(CarepopError) as e:
        allocate([100, 200], 20, "neyman", S_h=[1.0, -2.0])
    assert e.value.rows == [2]
    with pytest.raises(CarepopError) as e:
        expected_precision([100, 50], [120, 10], S_h=[1, 1])
    assert e.value.rows == [1]


def test_allocation_fixes_name_parameters():
    with pytest.raises(CarepopError) as e:
        allocate([100, 200], 20, "neyman")
    assert "S_h=..." in e.value.fix
    assert "--sd COL" in e.value.render({"S_h": "--sd"}.get)
    with pytest.raises(CarepopError) as e:
        allocate([100, 200], 20, min_n=[15, 15])
    assert e.value.render({"min_n": "--min-n", "n": "--n"}.get).endswith(
        "fix: lower --min-n K or raise --n N"
    )


def test_size_fixes_name_parameters():
    with pytest.raises(CarepopError) as e:
        sample_size_proportion(1.5, 0.05)
    assert "proportion=..." in e.value.fix
    assert "--proportion P" in e.value.render({"proportion": "--proportion"}.get)


def test_allocate_frame_names_the_frames_columns(tmp_path):
    path = tmp_path / "strata.csv"
    pd.DataFrame({"la": ["A", "B", "C"], "pop": [1000, 0, 300], "sdev": [1.0, 2.0, -1.0]}).to_csv(
        path, index=False
    )
    with pytest.raises(CarepopError) as e:
        allocate_frame(str(path), strata="la", size="pop", n=50)
    assert e.value.column == "pop" and e.value.rows == [2]
    path2 = tmp_path / "strata2.csv"
    pd.DataFrame({"la": ["A", "B"], "pop": [1000, 300], "sdev": [1.0, -1.0]}).to_csv(path2, index=False)
    with pytest.raises(CarepopError) as e:
        allocate_frame(str(path2), strata="la", size="pop", n=50, method="neyman", sd="sdev")
    assert e.value.column == "sdev" and e.value.rows == [2]
