"""Weighting: each method a plain function ``Survey -> Survey`` that records the adjustment so
later variances use it (calibration residuals, as R ``survey``)."""

from carepop.weighting.calibrate import calibrate
from carepop.weighting.poststratify import poststratify
from carepop.weighting.rake import rake

__all__ = ["calibrate", "poststratify", "rake"]
