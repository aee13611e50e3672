"""Weighting: each method a plain function ``Survey -> Survey`` that records the adjustment on the
returned survey (``survey.adjustments[-1]``, with any report) so later variances use it
(calibration residuals, as R ``survey``); on a replicate design every method is redone in each
replicate (:func:`~carepop.weighting.redo.redo_in_replicates`). The methods by name:
:mod:`carepop.weighting.registry`."""

from carepop.weighting.calibrate import calibrate
from carepop.weighting.design_weights import design_weights
from carepop.weighting.diagnostics import weight_diagnostics
from carepop.weighting.nonresponse import PropensityReport, nonresponse_classes, response_propensity
from carepop.weighting.poststratify import poststratify
from carepop.weighting.rake import rake
from carepop.weighting.registry import REGISTRY, weighting_method
from carepop.weighting.replicates import replicate_weights
from carepop.weighting.trim import trim_weights

__all__ = [
    "REGISTRY",
    "PropensityReport",
    "calibrate",
    "design_weights",
    "nonresponse_classes",
    "poststratify",
    "rake",
    "replicate_weights",
    "response_propensity",
    "trim_weights",
    "weight_diagnostics",
    "weighting_method",
]
