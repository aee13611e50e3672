"""What the ``test_r_<topic>.py`` modules share: the R marker, the parameters, the assertion.

A comparison listed as a known disagreement is an expected failure, strict (if carepop starts to
agree, the test fails and the note must go) and only for a tolerance exceeded: an R error, a
carepop exception or a shape mismatch fails the test as for any other comparison.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import r_harness as h

HAVE_R = shutil.which("Rscript") is not None
# Skipped only where R is not installed (a developer machine without it); .ci/run installs R, so
# CI always runs these comparisons. The frozen golden tests in tests/ need no R.
needs_r = pytest.mark.skipif(
    not HAVE_R, reason="Rscript is not on PATH: R with the 'survey' package is needed"
)


def params(checks: list[h.Check]) -> list:
    """One pytest parameter per comparison, with its name as the id."""
    out = []
    for c in checks:
        # A check marked known is a deliberate departure from R (R gives 0 or NaN where carepop
        # gives a documented answer; tests/core/test_golden_taylor.py checks carepop's rule).
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=c.known)] if c.known else []
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def check_matches_r(run: h.RRun, check: h.Check) -> None:
    """Fail unless carepop's numbers for ``check`` are within its tolerance of R's."""
    o = run.outcome(check)
    if o.error:
        pytest.fail(f"{check.name}: {o.error}\nR code:\n{check.r}")
    if o.r is None or o.py is None or o.py.shape != o.r.shape:
        pytest.fail(f"{check.name}: no comparable result")
    worst = int(np.argmax(h.rel_diff(o.py, o.r))) if o.r.size else 0
    assert o.max_rel <= check.tol, (
        f"{check.name}: max relative difference {o.max_rel:.3g} > {check.tol:g} "
        f"(value {worst}: carepop {o.py[worst]!r}, R {o.r[worst]!r})\nR code:\n{check.r}"
    )
