"""design_matrix (carepop.sae.covariates): R's treatment contrasts and the input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop.errors import ModelError
from carepop.sae.covariates import design_matrix


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "x": [1.5, 2, 3, 4, 5, 6, 7.5, 8],
            "g": ["b", "a", "c", "a", "b", "c", "a", "b"],
            "h": [10, 2, 1, 2, 10, 10, 1, 1],
        }
    )


def test_treatment_contrasts_as_r(table):
    """As R::

    d <- data.frame(x = c(1.5, 2, 3, 4, 5, 6, 7.5, 8), g = c("b", "a", "c", "a", "b", "c", "a", "b"),
                    h = c(10, 2, 1, 2, 10, 10, 1, 1))
    model.matrix(~ x + factor(g) + factor(h), d)
    #   (Intercept)   x factor(g)b factor(g)c factor(h)2 factor(h)10
    # 1           1 1.5          1          0          0           1
    # 2           1 2.0          0          0          1           0
    # 3           1 3.0          0          1          0           0
    # 4           1 4.0          0          0          1           0
    # 5           1 5.0          1          0          0           1
    # 6           1 6.0          0          1          0           1
    # 7           1 7.5          0          0          0           0
    # 8           1 8.0          1          0          0           0
    """
    X, names = design_matrix(table, ["x"], ["g", "h"])
    assert names == ["(Intercept)", "x", "g[b]", "g[c]", "h[2]", "h[10]"]
    expected = [
        [1, 1.5, 1, 0, 0, 1],
        [1, 2.0, 0, 0, 1, 0],
        [1, 3.0, 0, 1, 0, 0],
        [1, 4.0, 0, 0, 1, 0],
        [1, 5.0, 1, 0, 0, 1],
        [1, 6.0, 0, 1, 0, 1],
        [1, 7.5, 0, 0, 0, 0],
        [1, 8.0, 1, 0, 0, 0],
    ]
    np.testing.assert_array_equal(X, expected)


def test_no_intercept_keeps_all_levels_of_the_first_factor(table):
    """As R ``model.matrix(~ 0 + factor(g) + factor(h), d)``: columns factor(g)a, factor(g)b,
    factor(g)c, factor(h)2, factor(h)10."""
    X, names = design_matrix(table, categorical=["g", "h"], intercept=False)
    assert names == ["g[a]", "g[b]", "g[c]", "h[2]", "h[10]"]
    expected = [
        [0, 1, 0, 0, 1],
        [1, 0, 0, 1, 0],
        [0, 0, 1, 0, 0],
        [1, 0, 0, 1, 0],
        [0, 1, 0, 0, 1],
        [0, 0, 1, 0, 1],
        [1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0],
    ]
    np.testing.assert_array_equal(X, expected)


def test_float_levels_named_like_r():
    X, names = design_matrix(pd.DataFrame({"k": [1.0, 2.0, 2.5, 1.0]}), categorical="k")
    assert names == ["(Intercept)", "k[2]", "k[2.5]"]


def test_missing_covariate_names_rows(table):
    table.loc[[1, 3], "x"] = np.nan
    with pytest.raises(ModelError) as e:
        design_matrix(table, ["x"])
    assert e.value.code == "missing_covariate" and e.value.rows == [2, 4] and e.value.column == "x"
    table.loc[4, "g"] = None
    with pytest.raises(ModelError) as e:
        design_matrix(table, categorical=["g"])
    assert e.value.rows == [5] and e.value.column == "g"


def test_singular_design_names_columns(table):
    table["x2"] = 2 * table["x"] + 1
    table["z"] = [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6]
    with pytest.raises(ModelError) as e:
        design_matrix(table, ["x", "z", "x2"])
    assert e.value.code == "singular_design"
    assert e.value.got == ["(Intercept)", "x", "x2"]


def test_non_numeric_numeric_covariate(table):
    table["s"] = ["1", "2", "three", "4", "5", "6", "7", "8"]
    with pytest.raises(ModelError) as e:
        design_matrix(table, ["s"])
    assert e.value.code == "not_numeric" and e.value.rows == [3] and e.value.got == "three"


def test_unknown_column_and_single_level(table):
    with pytest.raises(ModelError) as e:
        design_matrix(table, ["nope"])
    assert e.value.code == "unknown_column"
    table["one"] = "a"
    with pytest.raises(ModelError) as e:
        design_matrix(table, categorical=["one"])
    assert e.value.code == "single_level"
