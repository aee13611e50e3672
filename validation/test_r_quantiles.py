"""Live comparison with R ``survey``: quantiles (``checks_quantiles.py``)."""

import pytest
from r_crosscheck import TOPICS
from r_testing import check_matches_r, needs_r, params


@needs_r
@pytest.mark.parametrize("check", params(TOPICS["quantiles"]))
def test_matches_r(r_run, check):
    check_matches_r(r_run, check)
