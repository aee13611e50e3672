"""The cross-check harness itself (no R needed): the topics, the tolerances, the difference."""

from pathlib import Path

import numpy as np
import pytest
import r_crosscheck as rc
import r_harness as h

HERE = Path(__file__).parent


def test_every_topic_module_is_gathered_and_tested():
    """A checks_<topic>.py that r_crosscheck does not gather, or that no test_r_<topic>.py runs,
    would be a comparison that silently never runs."""
    on_disk = {p.stem.removeprefix("checks_") for p in HERE.glob("checks_*.py")}
    tested = {p.stem.removeprefix("test_r_") for p in HERE.glob("test_r_*.py")} - {"harness"}
    assert on_disk == set(rc.TOPICS) == tested
    for topic in rc.TOPICS:
        assert f'TOPICS["{topic}"]' in (HERE / f"test_r_{topic}.py").read_text()
    assert rc.CHECKS == [c for checks in rc.TOPICS.values() for c in checks]


def test_checks_are_named_once_and_meet_the_requirement():
    """Every comparison is at least as strict as the project's 1e-6 relative requirement."""
    assert rc.CHECKS, "no comparisons gathered"
    assert all(c.tol <= h.REQUIRED_TOL for c in rc.CHECKS)
    assert len({c.name for c in rc.CHECKS}) == len(rc.CHECKS)


def test_r_script_has_every_check():
    script = h.r_script(rc.CHECKS)
    assert script.startswith(h.R_PREAMBLE) and script.endswith(h.R_FOOTER)
    for c in rc.CHECKS:
        assert f'.res[["{c.name}"]] <- tryCatch({{\n{c.r.strip()}\n}}' in script


def test_rel_diff():
    r = np.array([1.0, 0.0, np.nan, 2.0, np.nan])
    p = np.array([1.0 + 1e-12, 1e-15, np.nan, np.nan, 1.0])
    d = h.rel_diff(p, r)
    assert d[0] == pytest.approx(1e-12, rel=1e-3)
    assert d[1] == pytest.approx(1e-15)
    assert d[2] == 0.0
    assert np.isinf(d[3]) and np.isinf(d[4])
