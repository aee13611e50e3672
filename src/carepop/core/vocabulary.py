"""carepop's vocabulary: the names of methods and policies, defined once.

The library checks its arguments against these lists and the command line offers exactly these
choices, so a name accepted in one is accepted in the other.

================================  ==========================================================
:class:`ReplicateType`            how given replicate weights were made (R ``svrepdesign(type=)``)
:class:`ReplicateMethod`          how carepop makes replicate weights (R ``as.svrepdesign``)
:class:`LonelyPSU`                strata with one PSU (R ``options(survey.lonely.psu=)``)
:class:`CalFun`                   calibration distance (R ``calibrate(calfun=)``)
:class:`CIMethod`                 confidence intervals (R ``confint``, ``svyciprop(method=)``)
:class:`PropensityMethod`         use of response propensities
:class:`SelectionMethod`          sample selection
:class:`AllocationMethod`         allocation of a sample over strata
:class:`EngineName`               the SQL engine of the client-level data pipeline
:class:`OutputFormat`             what a command prints
:class:`SAEFitMethod`             estimation of a small-area model's variance (R ``sae`` ``method=``)
:class:`MSEMethod`                a small-area estimate's MSE: analytic formula or bootstrap
:class:`SAETransform`             transformation of direct estimates before an area model (emdi)
:class:`BenchmarkMethod`          benchmarking of model estimates to known totals (emdi)
:class:`VarianceSmoothing`        smoothed sampling variances of direct estimates for area models
:class:`CaptureMethod`            capture–recapture estimators (two lists, log-linear, Rcapture)
:class:`CaptureInterval`          intervals for a population size (normal, log, profile, bootstrap)
:class:`ModelSelection`           information criterion for choosing a log-linear model
================================  ==========================================================
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from carepop.errors import CarepopError, Opt

E = TypeVar("E", bound="Choice")


class Choice(str, Enum):
    """A named choice; ``str(choice)`` is its value."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @classmethod
    def aliases(cls) -> dict[str, str]:
        """Other accepted spellings (lower case) -> value."""
        return {}


class ReplicateType(Choice):
    jk1 = "jk1"
    jkn = "jkn"
    brr = "brr"
    fay = "fay"
    bootstrap = "bootstrap"
    sdr = "sdr"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"successive-difference": "sdr"}


class ReplicateMethod(Choice):
    jk1 = "jk1"
    jkn = "jkn"
    brr = "brr"
    fay = "fay"
    bootstrap = "bootstrap"
    subbootstrap = "subbootstrap"
    sdr = "sdr"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"jackknife": "jk1", "boot": "bootstrap", "successive-difference": "sdr"}


class LonelyPSU(Choice):
    fail = "fail"
    remove = "remove"
    certainty = "certainty"
    adjust = "adjust"
    average = "average"


class CalFun(Choice):
    linear = "linear"
    raking = "raking"
    logit = "logit"


class CIMethod(Choice):
    wald = "wald"
    t = "t"
    logit = "logit"
    wilson = "wilson"
    beta = "beta"


#: intervals defined for proportions only
PROPORTION_ONLY_CI = (CIMethod.logit.value, CIMethod.wilson.value, CIMethod.beta.value)
#: intervals for quantiles (Woodruff's, with t or normal critical values)
QUANTILE_CI = (CIMethod.t.value, CIMethod.wald.value)


class PropensityMethod(Choice):
    inverse = "inverse"
    classes = "classes"


class SelectionMethod(Choice):
    srs = "srs"
    systematic = "systematic"
    pps_systematic = "pps_systematic"
    pps_wor = "pps_wor"


class AllocationMethod(Choice):
    proportional = "proportional"
    equal = "equal"
    neyman = "neyman"
    optimal = "optimal"
    power = "power"


class EngineName(Choice):
    duckdb = "duckdb"
    spark = "spark"


class OutputFormat(Choice):
    json = "json"
    csv = "csv"
    table = "table"


class SAEFitMethod(Choice):
    reml = "reml"
    ml = "ml"
    fh = "fh"
    amrl = "amrl"


class MSEMethod(Choice):
    analytic = "analytic"
    bootstrap = "bootstrap"


class SAETransform(Choice):
    none = "none"
    arcsin = "arcsin"
    logit = "logit"
    log = "log"


class BenchmarkMethod(Choice):
    ratio = "ratio"
    additive = "additive"
    mse_adjusted = "mse-adjusted"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"raking": "additive", "mse_adjusted": "mse-adjusted", "mse_adj": "mse-adjusted"}


class VarianceSmoothing(Choice):
    none = "none"
    proportion = "proportion"
    gvf = "gvf"


def choose(value: Any, vocabulary: type[Choice], param: str, what: str | None = None) -> str:
    """``value`` as a name of ``vocabulary`` (case-insensitive, aliases accepted), or an error.

    ``param`` is the parameter (CLI option) the value came from; the error names it.
    """
    if isinstance(value, Choice):
        value = value.value
    key = str(value).strip().lower()
    if key in vocabulary.values():
        return key
    alias = vocabulary.aliases().get(key)
    if alias is not None:
        return alias
    label = what or param.replace("_", " ")
    raise CarepopError(
        f"Unknown {label} {value!r}.",
        code="bad_option",
        got=value,
        expected=vocabulary.values(),
        fix=(
            "set ",
            Opt(param, metavar="|".join(vocabulary.values())),
            f" to one of {', '.join(vocabulary.values())}",
        ),
    )


class CaptureMethod(Choice):
    """Capture–recapture estimators (:mod:`carepop.capture`)."""

    loglinear = "loglinear"
    chapman = "chapman"
    lincoln_petersen = "lincoln-petersen"
    m0 = "m0"
    mt = "mt"
    mh = "mh"
    mth = "mth"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        lp = "lincoln-petersen"
        return {"lincoln_petersen": lp, "petersen": lp, "lp": lp}


class CaptureInterval(Choice):
    """Confidence intervals for a population size: normal (N ± z·SE), log-transformed with the
    observed count as floor (Chao 1987), profile likelihood (Cormack 1992), parametric bootstrap."""

    normal = "normal"
    log = "log"
    profile = "profile"
    bootstrap = "bootstrap"


class ModelSelection(Choice):
    """Information criterion for choosing a log-linear model."""

    aic = "aic"
    bic = "bic"
