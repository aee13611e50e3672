"""The public Survey API that other layers use, its immutability, and derived surveys that never
reuse cached design facts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, Survey
from carepop.core.adjustments import Adjustment
from tests.golden import close


@pytest.fixture()
def clus1(apiclus1) -> Survey:
    """A fresh design per test (nothing cached)."""
    return Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def rep1(apiclus1) -> Survey:
    from tests.golden import DATA

    frame = pd.concat([apiclus1, pd.read_csv(DATA / "apiclus1_jk1.csv")], axis=1)
    return Survey.replicate(frame, repweights="rw", method="jk1", weight="pw")


# =========================================================================== immutability


@pytest.mark.parametrize(
    "name", ["weight", "strata", "value_labels", "lonely_psu", "degf", "_w", "_data", "new"]
)
def test_no_attribute_can_be_assigned(clus1, name):
    with pytest.raises(AttributeError, match="cannot be changed"):
        setattr(clus1, name, 1)
    with pytest.raises(AttributeError, match="cannot be changed"):
        delattr(clus1, name)
    assert clus1.weight == "pw" and clus1.psu == "dnum"


def test_derived_survey_is_immutable_too(clus1):
    new = clus1.adjusted(clus1.weights * 2, column="w2", method="double")
    with pytest.raises(AttributeError):
        new.weight = "pw"
    with pytest.raises(AttributeError):
        new._rep = None


def test_arrays_handed_out_are_copies_or_read_only(clus1, rep1):
    w = clus1.weights
    w[:] = 0
    assert (clus1.weights > 0).all()
    col = clus1.column("api00")
    col[:] = 0
    assert clus1.column("api00").iloc[0] != 0
    with pytest.raises(ValueError, match="read-only"):
        clus1.factor("stype").codes[0] = 2
    with pytest.raises(ValueError, match="read-only"):
        clus1.domains("stype").code[0] = 2
    with pytest.raises(ValueError, match="read-only"):
        clus1.taylor_design.stage1.unit[0] = 3
    with pytest.raises(ValueError, match="read-only"):
        rep1.replicate_design.weights[0, 0] = 1.0


# =========================================================================== accessors


def test_factor_is_r_factor_coding(clus1, apiclus1):
    codes, levels = clus1.factor("stype")
    assert list(levels) == ["E", "H", "M"]  # R: levels(factor(apiclus1$stype))
    assert (levels[codes] == apiclus1["stype"].to_numpy()).all()
    assert clus1.factor("stype") is clus1.factor("stype")  # coded once
    codes2, levels2 = clus1.factor(("stype", "awards"))
    assert levels2[0] == ("E", "No") and len(levels2) == 6
    assert [levels2[c] for c in codes2[:3]] == list(
        apiclus1[["stype", "awards"]].head(3).itertuples(index=False, name=None)
    )
    with pytest.raises(CarepopError) as info:
        clus1.factor("stipe", "class column")
    assert info.value.code == "unknown_column" and "class column" in info.value.message
    assert "'stype'" in info.value.fix


def test_domains_label_columns(apiclus1):
    s = Survey(apiclus1, weight="pw", psu="dnum", value_labels={"stype": {"E": "Elementary"}})
    dom = s.domains("stype, awards")
    assert dom.columns == ("stype", "awards") and dom.n == 6
    assert s.domains(["stype", "awards"]) is dom
    assert s.domains(None).n == 1
    assert s.label("stype", "E") == "Elementary" and s.label("stype", "H") == "H"
    assert isinstance(s.label("api00", np.int64(3)), int)
    assert s.columns == tuple(apiclus1.columns)
    assert s.design_columns == ("dnum",)
    x = s.numeric("api00", "a test variable")
    close(x, apiclus1["api00"], rtol=0)
    with pytest.raises(CarepopError) as info:
        s.numeric("stype", "a base weight")
    assert info.value.code == "not_numeric" and "a base weight" in info.value.message


def test_design_accessors(clus1, rep1, apiclus1):
    t = clus1.taylor_design
    assert clus1.replicate_design is None and t is not None
    assert t.stage1.n_total_units == 15 and t.n_strata == 1
    close(t.stage1.population, [757])  # the fpc: 757 districts
    rd = rep1.replicate_design
    assert rep1.taylor_design is None and rd.method == "jk1" and rd.n_replicates == 15
    assert rd.columns == tuple(f"rw{i}" for i in range(1, 16))
    assert rep1.design_columns == rd.columns
    assert not clus1.is_calibrated and clus1.adjustments == ()


# =========================================================================== derived surveys


def test_adjusted_records_the_step(clus1):
    w = clus1.weights * 1.5
    new = clus1.adjusted(w, column="w15", method="scale", report={"factor": 1.5})
    assert new.weight == "w15" and "w15" in new.columns and "w15" not in clus1.columns
    close(new.weights, w, rtol=0)
    close(new.column("w15"), w, rtol=0)
    assert new.adjustments == (Adjustment("scale", "w15", (), False, {"factor": 1.5}),)
    assert new.taylor_design is clus1.taylor_design  # the coded design is shared
    assert clus1.weight == "pw" and clus1.adjustments == ()
    close(new.total("api00").estimate, 1.5 * clus1.total("api00").estimate, rtol=1e-15)


def test_derived_degf_never_comes_from_the_parent(apiclus1):
    """A PSU whose weights all become zero leaves the design's df, whichever degf is read first
    (it used to be 14 when the parent's degf had been read: a copied cached_property). By hand:
    14 PSUs with weight - 1 stratum = 13 (R's degf counts PSUs with non-zero weight)."""
    zero = (apiclus1["dnum"] == 815).to_numpy()
    for read_parent_first in (True, False):
        s = Survey(apiclus1, weight="pw", psu="dnum", fpc="fpc")
        if read_parent_first:
            assert s.degf == 14
            s.mean("api00", by="stype")  # fill the count and pair caches too
        new = s.adjusted(np.where(zero, 0.0, s.weights), column="w0", method="drop")
        assert new.degf == 13
        assert new.mean("api00").to_pandas()["df"].iloc[0] == 13
        assert s.degf == 14


def test_adjusted_refuses_bad_input(clus1, rep1):
    w = clus1.weights
    cases = [
        (lambda: clus1.adjusted(w, column="dnum", method="x"), "design_column", "dnum"),
        (lambda: clus1.adjusted(w, column="fpc", method="x"), "design_column", "fpc"),
        (lambda: clus1.adjusted(w[:-1], column="w", method="x"), "bad_weights", "w"),
        (lambda: clus1.adjusted(np.where(w > 30, np.nan, w), column="w", method="x"), "missing_weight", "w"),
        (lambda: clus1.adjusted(np.where(w > 30, np.inf, w), column="w", method="x"), "overflow", "w"),
        (lambda: clus1.adjusted(np.full_like(w, 1e307), column="w", method="x"), "overflow", "w"),
        (
            lambda: clus1.adjusted(w, column="w", method="x", replicate_weights=np.ones((183, 2))),
            "bad_adjustment",
            "w",
        ),
        (lambda: rep1.adjusted(rep1.weights, column="w", method="x"), "bad_adjustment", "w"),
        (
            lambda: rep1.adjusted(
                rep1.weights, column="w", method="x", replicate_weights=rep1.replicate_design.weights[:, :3]
            ),
            "bad_weights",
            "w",
        ),
        (lambda: rep1.adjusted(rep1.weights, column="rw3", method="x"), "design_column", "rw3"),
    ]
    for call, code, column in cases:
        with pytest.raises(CarepopError) as info:
            call()
        assert info.value.code == code and info.value.column == column, info.value
        assert info.value.fix
    err = pytest.raises(CarepopError, clus1.adjusted, w, column="dnum", method="x").value
    assert "column=..." in err.fix and "--weight-column NAME" in err.render({"column": "--weight-column"}.get)


def test_adjusted_replicates(rep1):
    reps = rep1.replicate_design.weights * 2
    new = rep1.adjusted(rep1.weights * 2, column="w2", method="double", replicate_weights=reps)
    assert new.adjustments[-1].replicates_redone
    close(new.replicate_design.weights, reps, rtol=0)
    assert new.replicate_design.scale == rep1.replicate_design.scale
    a, b = rep1.total("api00").to_pandas(), new.total("api00").to_pandas()
    close(b[["estimate", "se"]].to_numpy(), 2 * a[["estimate", "se"]].to_numpy(), rtol=1e-14)
    with pytest.raises(ValueError, match="read-only"):
        new.replicate_design.weights[0, 0] = 0.0
    reps[0, 0] = -1.0  # the survey keeps its own copy
    assert new.replicate_design.weights[0, 0] >= 0


# =========================================================================== fixes in the caller's terms


def test_fixes_name_parameters_from_python_and_flags_from_the_cli(apistrat):
    """One fix, two renderings: ``lonely_psu='certainty'`` from Python, ``--lonely-psu certainty`` from the
    command line (the CLI passes its flags); never both, never a literal ``--flag`` in Python."""
    flags = {"lonely_psu": "--lonely-psu", "na_rm": "--na-rm", "nest": "--nest"}.get
    one = apistrat[
        (apistrat["stype"] != "H") | (apistrat.index == apistrat.index[apistrat["stype"] == "H"][0])
    ]
    err = pytest.raises(CarepopError, Survey, one, weight="pw", strata="stype").value
    assert err.code == "lonely_psu" and err.got == "fail"
    assert err.expected == ("remove", "certainty", "adjust", "average")
    assert "lonely_psu='certainty'" in err.fix and "--" not in err.fix
    assert "--lonely-psu certainty" in err.render(flags) and "lonely_psu=" not in err.render(flags)
    s = Survey(apistrat, weight="pw", strata="stype")
    err = pytest.raises(CarepopError, s.mean, "acs.k3").value
    assert "na_rm=True" in err.fix and "--na-rm" in err.render(flags) and "na_rm=" not in err.render(flags)
    clash = apistrat.assign(dnum=apistrat.index % 3)
    err = pytest.raises(CarepopError, Survey, clash, weight="pw", strata="stype", psu="dnum").value
    assert "nest=True" in err.fix and "pass --nest so" in err.render(flags)


def test_later_changes_to_the_callers_frame_never_reach_the_survey(apistrat):
    """The survey's copy costs nothing under pandas' copy-on-write, and is still its own: writes
    to the caller's frame (by label, position, whole columns, in place) and to the frame
    ``Survey.data`` returns leave the survey's estimates as they were."""
    df = apistrat.copy()
    s = Survey(df, weight="pw", strata="stype", fpc="fpc")
    before = s.mean("api00").to_pandas()
    df.loc[0, "api00"] = 10**6
    df.iloc[1, df.columns.get_loc("api00")] = -5
    df["pw"] = df["pw"] * 3
    df["api00"] += 1
    del df["enroll"]
    out = s.data
    out.loc[2, "api00"] = 0
    pd.testing.assert_frame_equal(s.mean("api00").to_pandas(), before)
    assert "enroll" in s.columns and s.weights[0] == apistrat["pw"].iloc[0]
