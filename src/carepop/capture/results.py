"""The result of a capture–recapture estimate: one small frozen record.

Every estimator in :mod:`carepop.capture` returns a :class:`CaptureEstimate` with

==============  ===========================================================================
``observed``    individuals seen on at least one list (n)
``hidden``      the estimated number seen on none (the unobserved cell, N̂ − n)
``estimate``    the whole population N̂ = observed + hidden
``se``          standard error of N̂
``ci_lower``    the interval at ``level`` by ``interval`` (normal, log, profile, bootstrap)
``ci_upper``
``model``       the model: ``Chapman``, ``A+B+C+A:B``, ``Mth Chao (LB)``, ...
``aic, bic``    information criteria of a log-linear fit (None for the two-list formulas)
``assumptions`` what the estimate takes for granted (closed population, independence of the
                lists unless modelled, perfect matching of records between lists)
==============  ===========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: assumed by every estimate in this package
CLOSED = "closed population: no births, deaths or migration between the lists"
MATCHING = (
    "perfect matching: a person on two lists is recognised as the same person, and no two people are merged"
)
INDEPENDENCE = "the lists are independent: being on one list does not change the chance of being on another"
HOMOGENEITY = "every person has the same chance of being on a list (no unmodelled heterogeneity)"


def independence_unless(terms: tuple[str, ...]) -> str:
    """The independence assumption, stated for the interactions a model includes."""
    if not terms:
        return INDEPENDENCE
    return (
        "the lists are independent given the modelled interactions ("
        + ", ".join(terms)
        + "); in particular the highest-order interaction is zero"
    )


class CaptureWarning(UserWarning):
    """An estimate computed but doubtful: sparse cells, a (near-)saturated model, ..."""


@dataclass(frozen=True)
class CaptureEstimate:
    """A population size estimated from two or more lists (see the module docstring)."""

    observed: int
    hidden: float
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    model: str
    aic: float | None
    bic: float | None
    assumptions: tuple[str, ...]
    method: str = ""
    interval: str = ""
    level: float = 0.95
    df: int | None = None
    deviance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain floats and ints, ``assumptions`` as a list."""
        out = asdict(self)
        out["assumptions"] = list(self.assumptions)
        for key in ("hidden", "estimate", "se", "ci_lower", "ci_upper", "aic", "bic", "deviance", "level"):
            if out[key] is not None:
                out[key] = float(out[key])
        out["observed"] = int(self.observed)
        return out
