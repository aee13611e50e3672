"""The interval quantiles of :mod:`carepop.core.estimation.ci` come from ``scipy.special`` (so that
``import carepop`` does not load ``scipy.stats``); they must be the numbers ``scipy.stats`` gives,
to the bit, over every argument carepop can ask for: probabilities ``a/2`` and ``1 - a/2`` with
``a = 1 - level`` (level 0.5 to 0.999, and levels as close to 1 as a float allows), t degrees of
freedom from 1 to 1e6 and inf (and the ``n - 1`` of a domain with one row, 0), and Korn-Graubard beta
shapes ``n* p``, ``n* (1 - p) + 1`` from 1e-3 to 1e6 and beyond, with the bad arguments (0, negative,
NaN, inf) and the ends ``q`` = 0 and 1 handled as ``scipy.stats`` does.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from carepop.core.estimation import ci

LEVELS = np.concatenate([np.linspace(0.5, 0.999, 200), [0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999]])
#: a = 1 - level down to the smallest a level below 1 can give (2**-53)
SMALL_A = np.geomspace(2.0**-53, 1e-3, 25)
ALPHA = np.concatenate([1 - LEVELS, SMALL_A])
Q = np.unique(np.concatenate([ALPHA / 2, 1 - ALPHA / 2]))
#: bad or edge values of a shape parameter, and of q
EDGE_SHAPES = np.array([np.nan, -np.inf, -1.0, -0.0, 0.0, 1e-300, 1e-3, 0.5, 1.0, 2.0, 1e6, 1e12, np.inf])
EDGE_Q = np.array([np.nan, -0.1, 0.0, 1e-16, 0.025, 0.5, 0.975, 1.0, 1.5])


def assert_identical(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype == np.float64
    same = (ours == theirs) & (np.signbit(ours) == np.signbit(theirs)) | (np.isnan(ours) & np.isnan(theirs))
    if not same.all():
        bad = np.flatnonzero(~same.ravel())
        raise AssertionError(
            f"{bad.size} of {same.size} differ, e.g. {ours.ravel()[bad[:3]]} vs {theirs.ravel()[bad[:3]]}"
        )


def test_the_check_tells_one_ulp_and_the_sign_of_zero():
    x = stats.norm.ppf(Q)
    with pytest.raises(AssertionError):
        assert_identical(np.nextafter(x, np.inf), x)
    with pytest.raises(AssertionError):
        assert_identical(np.array([-0.0]), np.array([0.0]))
    assert_identical(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))


def test_normal_quantile_is_scipy_stats():
    assert_identical(ci.norm_ppf(Q), stats.norm.ppf(Q))
    assert_identical(ci.norm_ppf(EDGE_Q), stats.norm.ppf(EDGE_Q))
    for q in (0.975, 0.5, 0.0, 1.0, np.nan):  # scalars too
        assert_identical(ci.norm_ppf(q), stats.norm.ppf(q))


def test_t_quantile_is_scipy_stats():
    df = np.unique(np.concatenate([np.arange(0, 1001), np.geomspace(1, 1e6, 300), [np.inf]]))
    q, d = np.meshgrid(Q, df)
    assert_identical(ci.t_ppf(q, d), stats.t.ppf(q, d))
    q, d = np.meshgrid(EDGE_Q, EDGE_SHAPES)
    assert_identical(ci.t_ppf(q, d), stats.t.ppf(q, d))
    assert_identical(ci.t_ppf(0.975, 30.0), stats.t.ppf(0.975, 30.0))


@pytest.mark.parametrize("tail", ["lower", "upper"])
def test_beta_quantile_is_scipy_stats(tail):
    shapes = np.geomspace(1e-3, 1e6, 70)
    q = Q[Q < 0.5] if tail == "lower" else Q[Q > 0.5]
    a, b, qq = np.meshgrid(shapes, shapes, q[:: max(1, q.size // 40)], indexing="ij")
    assert_identical(ci.beta_ppf(qq, a, b), stats.beta.ppf(qq, a, b))


def test_beta_quantile_at_korn_graubard_shapes_is_scipy_stats():
    """The shapes the interval uses, ``(n p, n (1-p) + 1)`` and ``(n p + 1, n (1-p))``, for effective
    sizes from 1 to 1e8 and proportions over (0, 1), at the levels' tails."""
    rng = np.random.default_rng(20240611)
    n = 10 ** rng.uniform(0, 8, 100_000)
    p = rng.uniform(0, 1, n.size)
    a = rng.choice(ALPHA, n.size)
    assert_identical(
        ci.beta_ppf(a / 2, n * p, n * (1 - p) + 1), stats.beta.ppf(a / 2, n * p, n * (1 - p) + 1)
    )
    assert_identical(
        ci.beta_ppf(1 - a / 2, n * p + 1, n * (1 - p)), stats.beta.ppf(1 - a / 2, n * p + 1, n * (1 - p))
    )


def test_beta_quantile_edges_are_scipy_stats():
    q, a, b = np.meshgrid(EDGE_Q, EDGE_SHAPES, EDGE_SHAPES, indexing="ij")
    with np.errstate(all="ignore"):
        assert_identical(ci.beta_ppf(q, a, b), stats.beta.ppf(q, a, b))


def test_critical_values_are_the_scipy_stats_ones():
    df = np.array([1.0, 2.0, 29.0, 197.0, 1e6, np.inf, 0.0, np.nan])
    for level in (0.5, 0.9, 0.95, 0.99, 0.999):
        a = (1 - level) / 2
        with np.errstate(invalid="ignore"):
            expected = np.where(
                np.isinf(df), stats.norm.ppf(1 - a), stats.t.ppf(1 - a, np.where(np.isinf(df), 1, df))
            )
        assert_identical(ci.critical(level, df), expected)
