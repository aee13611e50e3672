"""Overflow is an error naming the column, never an infinite or empty estimate, and no numpy
RuntimeWarning reaches the user (every test here turns warnings into errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, Survey
from carepop.weighting import poststratify, replicate_weights

N = 40


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "w": np.ones(N),
            "y": rng.normal(10, 2, N),
            "g": np.repeat(["a", "b"], N // 2),
            "psu": np.arange(N) // 2,
            "h": np.arange(N) // 20,
            "x": np.r_[np.ones(N // 2), np.zeros(N // 2)],
        }
    )


def overflow(call, column: str) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        call()
    err = info.value
    assert err.code == "overflow" and err.column == column, err
    assert err.fix
    return err


def test_weights_of_1e308(frame):
    """Every weight 1e308: their total is not a number a float can hold, so no estimate can be
    made; the design is refused, naming the weight column."""
    err = overflow(lambda: Survey(frame.assign(w=1e308), weight="w"), "w")
    assert err.got == 1e308 and "1.8e+308" in err.message


def test_one_weight_of_1e308(frame):
    """One weight of 1e308 (the total of the weights still fits): any weighted total of values
    above 1 overflows, and so do the means built on it."""
    s = Survey(frame.assign(w=np.r_[1e308, np.ones(N - 1)]), weight="w", strata="h", psu="psu")
    overflow(lambda: s.total("y"), "y")
    overflow(lambda: s.mean("y", by="g"), "y")
    overflow(lambda: s.ratio("y", "w"), "y")


def test_variance_that_overflows(frame):
    """Values of 1e200: totals fit, their squares (the variance) do not."""
    big = frame.assign(y=frame["y"] * 1e200)
    s = Survey(big, weight="w", strata="h", psu="psu")
    overflow(lambda: s.total("y"), "y")
    overflow(lambda: s.mean("y", by="g"), "y")
    overflow(lambda: s.mean("y", deff=True), "y")
    # calibrated (residual) variance
    ps = poststratify(s, "g", {"a": 100, "b": 100})
    overflow(lambda: ps.total("y", by="g"), "y")
    # replicate variance
    rep = replicate_weights(s, "jkn")
    overflow(lambda: rep.total("y"), "y")
    # the same data scaled back down estimate fine
    t = Survey(frame, weight="w", strata="h", psu="psu").total("y").to_pandas()
    assert np.isfinite(t[["estimate", "se", "ci_lower", "ci_upper"]].to_numpy()).all()


def test_replicate_weights_and_weighting_that_overflow(frame):
    rep = replicate_weights(Survey(frame, weight="w", strata="h", psu="psu"), "jkn")
    data = rep.data.assign(repw_001=1e308)
    overflow(lambda: Survey.replicate(data, repweights="repw_", method="jkn", weight="w"), "repw_001")
    # post-stratifying to totals of 1e308: the new weights' total overflows
    overflow(lambda: poststratify(Survey(frame, weight="w"), "g", {"a": 1e308, "b": 1e308}), "weight_ps")


def test_division_by_zero_is_not_overflow(frame):
    """A ratio whose denominator total is 0 in a domain is infinite there, as in R (not an
    overflow and not a warning); the other domain is unaffected."""
    s = Survey(frame, weight="w", strata="h", psu="psu")
    t = s.ratio("y", "x", by="g").to_pandas()
    assert np.isfinite(t["estimate"].iloc[0]) and np.isfinite(t["se"].iloc[0])
    assert np.isinf(t["estimate"].iloc[1])
