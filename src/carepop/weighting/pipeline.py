"""One weighting run, in the order a statistician applies the steps.

1. replicate weights created from the design (``replicate_weights``), so that every later step
   is applied to each replicate too and the replicate variance knows about it;
2. non-response adjustment in weighting classes (``nonresponse_classes``);
3. post-stratification, raking, calibration (each records its residuals for Taylor variance);
4. trimming (R ``trimWeights``).

:class:`WeightingSpec` is what the CLI's ``carepop weight`` / ``carepop estimate`` options fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from carepop.errors import CarepopError
from carepop.survey import Survey


@dataclass
class WeightingSpec:
    nonresponse_classes: list[str] = field(default_factory=list)
    respondent: str | None = None
    replicates: str | None = None  # "method" or "method:R"
    rho: float | None = None
    seed: int | None = None
    poststratify: list[tuple[str, Any]] = field(default_factory=list)
    rake: list[tuple[str, Any]] = field(default_factory=list)
    calibrate_cat: list[tuple[str, Any]] = field(default_factory=list)
    calibrate_num: list[tuple[str, float]] = field(default_factory=list)
    calfun: str = "linear"
    bounds: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.nonresponse_classes
            or self.replicates
            or self.poststratify
            or self.rake
            or self.calibrate_cat
            or self.calibrate_num
            or self.trim
        )


def apply_weighting(survey: Survey, spec: WeightingSpec) -> tuple[Survey, list[pd.DataFrame]]:
    """Run the steps of ``spec`` on ``survey``; returns the weighted survey and any reports."""
    from carepop import weighting as wt

    reports: list[pd.DataFrame] = []
    s = survey
    if spec.replicates:
        method, _, count = spec.replicates.partition(":")
        s = wt.replicate_weights(
            s, method, replicates=int(count) if count else None, rho=spec.rho, seed=spec.seed
        )
    if spec.nonresponse_classes:
        if spec.respondent is None:
            raise CarepopError(
                "Non-response classes need the respondent indicator.",
                code="bad_option",
                hint="give --respondent COL (1/True for respondents)",
            )
        s, report = wt.nonresponse_classes(s, spec.nonresponse_classes, spec.respondent)
        reports.append(report)
    for var, pop in spec.poststratify:
        s = wt.poststratify(s, var, pop)
    if spec.rake:
        s = wt.rake(s, dict(spec.rake))
    if spec.calibrate_cat or spec.calibrate_num:
        population: dict[str, Any] = dict(spec.calibrate_cat)
        population.update({k: float(v) for k, v in spec.calibrate_num})
        s = wt.calibrate(s, population, calfun=spec.calfun, bounds=spec.bounds)
    if spec.trim:
        s = wt.trim_weights(s, lower=spec.trim[0], upper=spec.trim[1])
    return s, reports
