"""Seber (1982) example: 167 on both lists, 781 on the first only, 254 on the second only."""

import pytest

from carepop.capture.intervals import log_interval, z_value
from carepop.capture.table import from_counts
from carepop.capture.two_lists import chapman, chapman_estimate, lincoln_petersen, lincoln_petersen_estimate
from carepop.errors import ModelError

SEBER = from_counts({"11": 167, "10": 781, "01": 254}, ["A", "B"])


def test_lincoln_petersen_seber():
    r = lincoln_petersen(SEBER)
    assert round(r.estimate, 2) == 2389.87
    assert round(r.se, 1) == 130.4
    assert r.observed == 1202 and r.hidden == pytest.approx(r.estimate - 1202, rel=1e-15)
    n1, n2, m = 948, 421, 167
    assert r.estimate == pytest.approx(n1 * n2 / m, rel=1e-15)


def test_chapman_seber():
    r = chapman(SEBER)
    assert round(r.estimate, 2) == 2382.80
    est, var = chapman_estimate(948, 421, 167)
    assert var == pytest.approx(949 * 422 * 781 * 254 / (168**2 * 169), rel=1e-15)
    assert r.se == pytest.approx(var**0.5, rel=1e-15)


def test_intervals():
    r = chapman(SEBER, interval="normal")
    z = z_value(0.95)
    assert r.ci_lower == pytest.approx(r.estimate - z * r.se) and r.ci_upper == pytest.approx(
        r.estimate + z * r.se
    )
    lg = chapman(SEBER, interval="log")
    f0 = lg.estimate - 1202
    import math

    c = math.exp(z * math.sqrt(math.log(1 + lg.se**2 / f0**2)))
    assert lg.ci_lower == pytest.approx(1202 + f0 / c, rel=1e-14)
    assert lg.ci_upper == pytest.approx(1202 + f0 * c, rel=1e-14)
    assert lg.ci_lower > 1202


def test_log_interval_floor_is_observed():
    lo, hi = log_interval(100, 100.5, 50.0)
    assert lo >= 100 and hi > 100.5


def test_assumptions_and_dict():
    d = chapman(SEBER).to_dict()
    assert any("closed" in a for a in d["assumptions"]) and any("matching" in a for a in d["assumptions"])
    assert d["aic"] is None and isinstance(d["estimate"], float)


def test_no_recaptures():
    t = from_counts({"10": 5, "01": 4}, ["A", "B"])
    with pytest.raises(ModelError) as e:
        lincoln_petersen(t)
    assert e.value.code == "no_recaptures"
    assert chapman(t).estimate == pytest.approx(6 * 5 / 1 - 1)
    assert lincoln_petersen_estimate(10, 10, 5)[0] == 20


def test_three_lists_refused():
    t = from_counts({"111": 1, "100": 4}, ["A", "B", "C"])
    with pytest.raises(ModelError) as e:
        chapman(t)
    assert e.value.code == "not_two_lists"


def test_profile_interval_refused_for_two_lists():
    with pytest.raises(ModelError) as e:
        chapman(SEBER, interval="profile")
    assert e.value.code == "bad_option"
