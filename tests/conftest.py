"""Fixtures shared by the tests: R's ``data(api)`` school samples and the designs the golden tests
use (the same as in R; see tests/data/README.md)::

    dstrat  <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
    dstrat0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
    dclus1  <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
    dclus2  <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    dsrs    <- svydesign(id = ~1, weights = ~pw, fpc = ~fpc, data = apisrs)

Data fixtures are read once per test module (a module may override one with a variant).
"""

from __future__ import annotations

import pandas as pd
import pytest

from carepop import Survey
from tests.golden import DATA


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(DATA / "apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus1.csv")


@pytest.fixture(scope="module")
def apiclus2() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus2.csv")


@pytest.fixture(scope="module")
def apisrs() -> pd.DataFrame:
    return pd.read_csv(DATA / "apisrs.csv")


@pytest.fixture(scope="module")
def dstrat(apistrat) -> Survey:
    return Survey(apistrat, weight="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat0(apistrat) -> Survey:
    return Survey(apistrat, weight="pw", strata="stype")


@pytest.fixture(scope="module")
def dclus1(apiclus1) -> Survey:
    return Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dclus2(apiclus2) -> Survey:
    return Survey(apiclus2, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")


@pytest.fixture(scope="module")
def dsrs(apisrs) -> Survey:
    return Survey(apisrs, weight="pw", fpc="fpc")
