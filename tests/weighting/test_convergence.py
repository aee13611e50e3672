"""Convergence controls of raking and calibration (R's ``maxit`` and ``epsilon``), ``force``,
``harmonise``, margins that are not numbers, the helper that redoes a step in every replicate,
and fixes that name options in the caller's terms (``maxit=...`` from Python, ``--maxit N``
from the command line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepop import CarepopError, Survey
from carepop.core.progress import showing
from carepop.weighting import calibrate, poststratify, rake, trim_weights
from carepop.weighting.margins import read_margin
from carepop.weighting.redo import redo_in_replicates
from tests.golden import DATA, close

STYPE = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}
POP = {"stype": STYPE, "api99": 3914069}
CLI = {
    "maxit": "--maxit",
    "epsilon": "--epsilon",
    "force": "--force",
    "bounds": "--bounds",
    "harmonise": "--harmonise",
}.get


@pytest.fixture(scope="module")
def srs(apisrs) -> Survey:
    return Survey(apisrs, weight="pw", fpc="fpc")


@pytest.fixture(scope="module")
def rjk1(apiclus1) -> Survey:
    frame = pd.concat([apiclus1, pd.read_csv(DATA / "apiclus1_jk1.csv")], axis=1)
    return Survey.replicate(frame, repweights="rw", method="jk1", weight="pw")


def fails(call, code: str) -> CarepopError:
    with pytest.raises(CarepopError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


# =========================================================================== raking


def test_rake_not_converging_names_margin_and_options(srs):
    err = fails(
        lambda: rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12), "no_convergence"
    )
    assert err.column in ("stype", "sch.wide") and repr(err.column) in err.message
    assert isinstance(err.got, float) and err.got > 0
    for text in ("maxit=...", "epsilon=...", "force=True"):
        assert text in err.fix
    cli = err.render(CLI)
    for text in ("--maxit N", "--epsilon E", "--force"):
        assert text in cli
    assert "maxit=" not in cli and "force=True" not in cli


def test_rake_force_keeps_the_last_pass_and_warns(srs, apisrs):
    """One pass of raking by hand: post-stratify to stype, then to sch.wide."""
    with pytest.warns(
        UserWarning, match=r"did not converge in 1 passes.*margin '(stype|sch\.wide)'.*as forced"
    ):
        r = rake(srs, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12, force=True)
    w = apisrs["pw"].to_numpy(dtype=float)
    w = w * apisrs["stype"].map(STYPE).to_numpy() / pd.Series(w).groupby(apisrs["stype"]).transform("sum")
    w = (
        w
        * apisrs["sch.wide"].map(SCHWIDE).to_numpy()
        / pd.Series(w).groupby(apisrs["sch.wide"]).transform("sum")
    )
    close(r.weights, w.to_numpy(), rtol=1e-14)
    assert r.adjustments[-1].method == "rake"


def test_rake_replicates_use_the_same_controls(rjk1):
    """Each replicate is raked to the same tolerance: forced, the full sample and the
    replicates that stop short each give a warning (the replicates one in all)."""
    with pytest.warns(UserWarning) as record:
        r = rake(rjk1, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12, force=True)
    messages = [str(w.message) for w in record]
    assert any("did not converge in 1 passes" in m for m in messages)
    assert any("in 15 replicate(s)" in m for m in messages)
    assert np.isfinite(r.replicate_design.weights).all()
    err = fails(
        lambda: rake(rjk1, {"stype": STYPE, "sch.wide": SCHWIDE}, maxit=1, epsilon=1e-12), "no_convergence"
    )
    assert "force=True" in err.fix


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"maxit": 0}, "maxit"),
        ({"maxit": 2.5}, "maxit"),
        ({"epsilon": 0}, "epsilon"),
        ({"epsilon": -1}, "epsilon"),
    ],
)
def test_controls_are_checked(srs, options, name):
    for call in (
        lambda: rake(srs, {"stype": STYPE}, **options),
        lambda: calibrate(srs, POP, calfun="raking", **options),
    ):
        err = fails(call, "bad_option")
        assert err.got == options[name] and f"{name}=..." in err.fix


# =========================================================================== calibration


def test_calibrate_not_converging_and_force(srs):
    """Linear calibration with g truncated to [0.95, 1.05] cannot reach the totals (the H share
    needs larger g-weights): an error, or, forced, a warning naming the term furthest off."""
    err = fails(lambda: calibrate(srs, POP, bounds=(0.95, 1.05)), "calibration_failed")
    assert "in 50 iterations" in err.message and "'stypeH'" in err.message
    assert err.got > 1e-7 and f"{err.got:.3g}" in err.message
    for text in ("bounds=...", "maxit=...", "epsilon=...", "force=True"):
        assert text in err.fix
    assert "--bounds L,U" in err.render(CLI) and "--force" in err.render(CLI)
    with pytest.warns(
        UserWarning,
        match=r"did not reach the totals in 50 iterations: the relative misfit of the total of 'stypeH'",
    ):
        c = calibrate(srs, POP, bounds=(0.95, 1.05), force=True)
    g = c.weights / srs.weights
    assert ((g >= 0.95 - 1e-12) & (g <= 1.05 + 1e-12)).all()  # truncated as R
    assert c.adjustments[-1].method == "calibrate"


def test_calibrate_that_diverges_cannot_be_forced(srs):
    """Logit bounds of [0.99, 1.01]: the Newton steps diverge; there are no weights to keep."""
    for force in (False, True):
        err = fails(
            lambda force=force: calibrate(srs, POP, calfun="logit", bounds=(0.99, 1.01), force=force),
            "calibration_failed",
        )
        assert "diverged" in err.message and err.got is None


def test_calibrate_tolerance_is_rs(srs):
    """A looser epsilon stops earlier (fewer Newton steps) but still within it."""
    tight = calibrate(srs, POP, calfun="raking", epsilon=1e-12)
    loose = calibrate(srs, POP, calfun="raking", epsilon=1e-2)
    W = lambda s: pd.Series(s.weights).groupby(s.data["stype"]).sum().to_numpy()  # noqa: E731
    close(W(tight), list(STYPE.values()), rtol=1e-11)
    assert np.max(np.abs(W(loose) - list(STYPE.values())) / (1 + np.array(list(STYPE.values())))) < 1e-2
    fails(lambda: calibrate(srs, POP, calfun="raking", maxit=1, epsilon=1e-14), "calibration_failed")


def test_calibrate_replicates_force(rjk1):
    with pytest.warns(UserWarning) as record:
        c = calibrate(rjk1, POP, bounds=(0.95, 1.05), force=True)
    messages = [str(w.message) for w in record]
    assert any("did not reach the totals in 50 iterations:" in m for m in messages)
    assert any("stopped unconverged after 50 iterations in" in m and "replicate(s)" in m for m in messages)
    assert np.isfinite(c.replicate_design.weights).all()


def test_calibrate_harmonise(srs):
    """Margins 1% apart are refused, or scaled to the first's total (as rake does)."""
    off = {"stype": STYPE, "sch.wide": {k: v * 1.01 for k, v in SCHWIDE.items()}}
    err = fails(lambda: calibrate(srs, off), "margins_disagree")
    assert "harmonise=True" in err.fix and "--harmonise" in err.render(CLI)
    h = calibrate(srs, off, harmonise=True)
    scaled = {"stype": STYPE, "sch.wide": {k: v * 1.01 * 6194 / (6194 * 1.01) for k, v in SCHWIDE.items()}}
    close(h.weights, calibrate(srs, scaled).weights, rtol=1e-13)
    close(h.weights.sum(), 6194, rtol=1e-12)
    # with the population size given, every categorical margin is scaled to it
    t = calibrate(srs, off, harmonise=True, total=6000)
    close(t.weights.sum(), 6000, rtol=1e-12)
    W = pd.Series(t.weights).groupby(t.data["stype"]).sum().to_numpy()
    close(W, np.array(list(STYPE.values())) * 6000 / 6194, rtol=1e-12)
    err = fails(lambda: calibrate(srs, {"stype": STYPE}, total=6000), "margins_disagree")
    assert err.got == 6000 and err.expected == 6194 and "harmonise=True" in err.fix


def test_calibration_function_names_checked(srs):
    err = fails(lambda: calibrate(srs, POP, calfun="probit"), "bad_option")
    assert err.got == "probit" and set(err.expected) == {"linear", "raking", "logit"}
    close(calibrate(srs, POP, calfun="RAKING").weights, calibrate(srs, POP, calfun="raking").weights, rtol=0)


# =========================================================================== margins


@pytest.mark.parametrize(
    ("margin", "category", "found"),
    [
        ({"E": "4,421", "H": 755, "M": 1018}, "E", "4,421"),
        ({"E": 4421, "H": "755*", "M": 1018}, "H", "755*"),
        (pd.DataFrame({"value": ["E", "H", "M"], "total": [4421, 755, "n/a"]}), "M", "n/a"),
    ],
)
def test_margin_total_that_is_not_a_number(margin, category, found):
    err = fails(lambda: read_margin(margin, "stype"), "bad_margin")
    assert f"category {category!r}" in err.message and repr(found) in err.message
    assert err.got == found and err.column == "stype"


def test_margin_total_from_csv_that_is_not_a_number(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("value,total\nE,4421\nH,755 (est.)\nM,1018\n")
    err = fails(lambda: read_margin(path, "stype"), "bad_margin")
    assert "'H'" in err.message and "'755 (est.)'" in err.message


def test_margin_missing_or_negative_total():
    err = fails(lambda: read_margin({"E": None, "H": 755}, "stype"), "bad_margin")
    assert "no total" in err.message and "'E'" in err.message
    err = fails(lambda: read_margin({"E": 4421, "H": -5}, "stype"), "bad_margin")
    assert "negative" in err.message and err.got == -5


# =========================================================================== redo in replicates


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, description, total):
        self.events.append(("start", description, total))
        return description

    def advance(self, task, steps):
        self.events.append(("advance", task, steps))

    def finish(self, task):
        self.events.append(("finish", task))


def test_redo_in_replicates_reports_progress(rjk1, srs):
    shown = Recorder()
    with showing(shown):
        ps = poststratify(rjk1, "stype", STYPE)  # constant within post-strata: no loop to show
        assert shown.events == []
        trim_weights(ps, upper=1e9)  # trimming is redone replicate by replicate
    assert shown.events[0] == ("start", "trimming in 15 replicates", 15)
    assert shown.events[1:-1] == [("advance", "trimming in 15 replicates", 1)] * 15
    assert shown.events[-1] == ("finish", "trimming in 15 replicates")
    # the helper itself: each replicate's column and index, the new matrix back
    seen = []

    def adjust(w, r):
        seen.append(r)
        return w * (r + 1)

    out = redo_in_replicates(ps, adjust, "scaling")
    assert seen == list(range(15))
    close(out, ps.replicate_design.weights * np.arange(1, 16), rtol=0)
    with pytest.raises(ValueError, match="replicate design"):
        redo_in_replicates(srs, adjust, "scaling")
