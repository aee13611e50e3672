"""Live comparison with R ``survey``: post-stratification, raking, calibration, trimming
(``checks_weighting.py``)."""

import pytest
from r_crosscheck import TOPICS
from r_testing import check_matches_r, needs_r, params


@needs_r
@pytest.mark.parametrize("check", params(TOPICS["weighting"]))
def test_matches_r(r_run, check):
    check_matches_r(r_run, check)
