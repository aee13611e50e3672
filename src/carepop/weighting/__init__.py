"""Weighting: each method a plain function ``Survey -> Survey`` that records the adjustment on the
returned survey (``survey.adjustments[-1]``, with any report) so later variances use it
(calibration residuals, as R ``survey``); on a replicate design every method is redone in each
replicate (:func:`~carepop.weighting.redo.redo_in_replicates`). The methods by name:
:mod:`carepop.weighting.registry`.

The names are imported on first use (:mod:`carepop._lazy`); ``carepop.weighting.rake`` (and
``calibrate``, ``poststratify``, ``design_weights``) is the function, as with eager imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports

if TYPE_CHECKING:
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

_HOMES = {
    "calibrate": "carepop.weighting.calibrate",
    "design_weights": "carepop.weighting.design_weights",
    "weight_diagnostics": "carepop.weighting.diagnostics",
    "PropensityReport": "carepop.weighting.nonresponse",
    "nonresponse_classes": "carepop.weighting.nonresponse",
    "response_propensity": "carepop.weighting.nonresponse",
    "poststratify": "carepop.weighting.poststratify",
    "rake": "carepop.weighting.rake",
    "REGISTRY": "carepop.weighting.registry",
    "weighting_method": "carepop.weighting.registry",
    "replicate_weights": "carepop.weighting.replicates",
    "trim_weights": "carepop.weighting.trim",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
