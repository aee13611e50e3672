"""Live comparison with R ``survey``: replicate designs (``checks_replicate.py``)."""

import pytest
from r_crosscheck import TOPICS
from r_testing import check_matches_r, needs_r, params


@needs_r
@pytest.mark.parametrize("check", params(TOPICS["replicate"]))
def test_matches_r(r_run, check):
    check_matches_r(r_run, check)
