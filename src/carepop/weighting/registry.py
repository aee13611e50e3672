"""The weighting methods by name: what a plan (:mod:`carepop.weighting.plan`) or a configuration
file runs.

Every method is a plain function ``Survey -> Survey`` with its options as keyword arguments; it
records what it did on the returned survey (``survey.adjustments[-1]``, with any report), and on
a replicate design it is redone in every replicate. :func:`weighting_method` looks a name up
(unknown names are an error listing the known ones) and :func:`run` applies it::

    from carepop.weighting.registry import run
    s = run(s, "rake", margins={"stype": {"E": 4421, "H": 755, "M": 1018}}, harmonise=True)

================================  ==========================================================
``replicates``                    replicate weights from the design (R ``as.svrepdesign``)
``nonresponse_classes``           non-response adjustment in weighting classes
``response_propensity``           non-response adjustment by a response-propensity model
``poststratify``                  post-stratification (R ``postStratify``)
``rake``                          raking to several margins (R ``rake``)
``calibrate``                     calibration: GREG, raking, logit (R ``calibrate``)
``trim``                          weight trimming (R ``trimWeights``)
================================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from carepop.core.survey import Survey
from carepop.core.vocabulary import Choice, choose
from carepop.weighting.calibrate import calibrate
from carepop.weighting.nonresponse import nonresponse_classes, response_propensity
from carepop.weighting.poststratify import poststratify
from carepop.weighting.rake import rake
from carepop.weighting.replicates import replicate_weights
from carepop.weighting.trim import trim_weights


class WeightingStep(Choice):
    """The names of the weighting methods."""

    replicates = "replicates"
    nonresponse_classes = "nonresponse_classes"
    response_propensity = "response_propensity"
    poststratify = "poststratify"
    rake = "rake"
    calibrate = "calibrate"
    trim = "trim"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {
            "replicate_weights": "replicates",
            "nonresponse": "nonresponse_classes",
            "propensity": "response_propensity",
            "calibration": "calibrate",
            "raking": "rake",
            "trim_weights": "trim",
        }


@dataclass(frozen=True)
class WeightingMethod:
    """A weighting method: its name, the function (``function(survey, **options) -> Survey``)
    and a one-line description."""

    name: str
    function: Callable[..., Survey]
    description: str


def _entry(name: WeightingStep, function: Callable[..., Survey], description: str) -> tuple:
    return name.value, WeightingMethod(name.value, function, description)


#: every weighting method, by name, in the order a plan applies them
REGISTRY: Mapping[str, WeightingMethod] = MappingProxyType(
    dict(
        [
            _entry(
                WeightingStep.replicates,
                replicate_weights,
                "replicate weights from the design: jk1, jkn, brr, fay, bootstrap, subbootstrap, sdr "
                "(R as.svrepdesign, svrep as_sdr_design)",
            ),
            _entry(
                WeightingStep.nonresponse_classes,
                nonresponse_classes,
                "non-response adjustment in weighting classes, small classes collapsed",
            ),
            _entry(
                WeightingStep.response_propensity,
                response_propensity,
                "non-response adjustment by a logistic response model (inverse or classes)",
            ),
            _entry(WeightingStep.poststratify, poststratify, "post-stratification (R postStratify)"),
            _entry(WeightingStep.rake, rake, "raking to several margins (R rake)"),
            _entry(
                WeightingStep.calibrate,
                calibrate,
                "calibration to totals: linear (GREG), raking or logit distance (R calibrate)",
            ),
            _entry(WeightingStep.trim, trim_weights, "weight trimming with redistribution (R trimWeights)"),
        ]
    )
)


def weighting_method(name: str) -> WeightingMethod:
    """The method called ``name`` (or an accepted alias); an unknown name is an error that
    lists the methods."""
    return REGISTRY[choose(name, WeightingStep, "method", "weighting method")]


def run(survey: Survey, name: str, **options: Any) -> Survey:
    """Apply the weighting method ``name`` to ``survey`` with ``options``."""
    return weighting_method(name).function(survey, **options)
