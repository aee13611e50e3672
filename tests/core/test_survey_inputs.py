"""Survey accepts pandas, pyarrow and column-oriented dicts alike, with the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from carepop import Survey

DATA = Path(__file__).parents[1] / "data"


def test_pyarrow_table_and_dict_give_the_same_estimates():
    df = pd.read_csv(DATA / "apistrat.csv")
    ref = Survey(df, weight="pw", strata="stype", fpc="fpc").mean("api00", by="stype").to_pandas()
    table = pa.Table.from_pandas(df)
    got = Survey(table, weight="pw", strata="stype", fpc="fpc").mean("api00", by="stype").to_pandas()
    pd.testing.assert_frame_equal(ref, got)
    as_dict = {c: df[c].to_numpy() for c in ["pw", "stype", "fpc", "api00"]}
    got = Survey(as_dict, weight="pw", strata="stype", fpc="fpc").mean("api00", by="stype").to_pandas()
    pd.testing.assert_frame_equal(ref, got)


def test_weights_from_fpc_when_no_weight_column():
    """R: svydesign(id=~1, strata=~stype, fpc=~fpc, data=apistrat) gives weights N_h/n_h."""
    df = pd.read_csv(DATA / "apistrat.csv")
    a = Survey(df, strata="stype", fpc="fpc").mean("api00").to_pandas()
    b = Survey(df, weight="pw", strata="stype", fpc="fpc").mean("api00").to_pandas()
    # the data's pw is N_h/n_h stored in single precision (44.2099990844727 for 4421/100)
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-6)


def test_categorical_and_boolean_columns():
    df = pd.read_csv(DATA / "apistrat.csv")
    df["stype"] = pd.Categorical(df["stype"], categories=["M", "H", "E"])  # category order is kept
    df["high"] = df["api00"] > 700
    s = Survey(df, weight="pw", strata="stype")
    assert list(s.mean("api00", by="stype").to_pandas()["stype"]) == ["M", "H", "E"]
    p = s.proportion("high").to_pandas()
    m = s.mean("high").to_pandas()
    assert list(p["level"]) == [False, True]
    np.testing.assert_allclose(p["estimate"].iloc[1], m["estimate"].iloc[0], rtol=1e-14)
