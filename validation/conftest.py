"""Let the validation tests import the scripts that sit beside them; run R once per session."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def r_run(tmp_path_factory):
    """R's numbers for every comparison of every topic, from one Rscript run (about 2 s); the
    carepop side of each comparison is computed in its own test."""
    import r_crosscheck
    import r_harness

    if shutil.which("Rscript") is None:  # the tests using this fixture are marked needs_r
        pytest.skip("Rscript is not on PATH")
    return r_harness.RRun(r_crosscheck.CHECKS, tmp_path_factory.mktemp("r_crosscheck"))
