"""The description of a survey design: which columns play which role, and the variance policies.

A :class:`Design` is built once (from Python arguments, a config file or the command line's
options) and turned into a :class:`~carepop.core.survey.Survey` for any data with
:meth:`Design.survey`. It holds names and policies only, never data, and checks that they fit
together before any file is read.

Two kinds of design, as in R ``survey``:

- **Taylor linearisation** (R ``svydesign``): ``weight``, ``strata``, ``psu``, ``fpc``, ``ssu``,
  ``fpc2``, ``nest``, ``lonely_psu``;
- **replicate weights** (R ``svrepdesign``): ``weight``, ``repweights`` (a prefix or a list of
  columns), ``rep_type`` (how they were made), ``rho`` (Fay), ``scale``, ``rscales``, ``mse``,
  ``combined_weights``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carepop.core.vocabulary import LonelyPSU, ReplicateType, choose
from carepop.errors import DesignError, opt

if TYPE_CHECKING:
    from carepop.core.survey import Survey

_TAYLOR_ONLY = ("strata", "psu", "fpc", "ssu", "fpc2")


@dataclass(frozen=True)
class Design:
    """Column roles and variance policies of a survey design (see the module docstring).

    Equivalent R::

        svydesign(ids = ~psu + ssu, strata = ~strata, fpc = ~fpc + fpc2, weights = ~weight,
                  nest = nest, data = df)           # options(survey.lonely.psu = lonely_psu)
        svrepdesign(data = df, weights = ~weight, repweights = "prefix", type = rep_type,
                    rho = rho, scale = scale, rscales = rscales, mse = mse,
                    combined.weights = combined_weights)
    """

    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    ssu: str | None = None
    fpc2: str | None = None
    nest: bool = False
    lonely_psu: str = "fail"
    repweights: str | tuple[str, ...] | None = None
    rep_type: str | None = None
    rho: float | None = None
    scale: float | None = None
    rscales: float | tuple[float, ...] | None = None
    mse: bool = False
    combined_weights: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "lonely_psu", choose(self.lonely_psu, LonelyPSU, "lonely_psu", "lonely-PSU policy")
        )
        if isinstance(self.repweights, Sequence) and not isinstance(self.repweights, str):
            object.__setattr__(self, "repweights", tuple(self.repweights))
        if isinstance(self.rscales, Sequence) and not isinstance(self.rscales, str):
            object.__setattr__(self, "rscales", tuple(self.rscales))
        if (self.repweights is None) != (self.rep_type is None):
            raise DesignError(
                "A replicate design needs both the replicate-weight columns and how they were made.",
                code="bad_option",
                fix=(
                    "give ",
                    opt("repweights", metavar="PREFIX"),
                    " and ",
                    opt("rep_type", metavar="jk1"),
                    " together",
                ),
            )
        if self.rep_type is not None:
            object.__setattr__(
                self, "rep_type", choose(self.rep_type, ReplicateType, "rep_type", "replicate type")
            )
            for name in _TAYLOR_ONLY:
                if getattr(self, name) is not None:
                    raise DesignError(
                        f"{name} does not apply to a replicate-weight design: the replicate weights "
                        "already carry the design.",
                        code="bad_option",
                        column=getattr(self, name),
                        fix=(
                            "drop ",
                            opt(name, metavar="COL"),
                            ", or drop ",
                            opt("repweights", metavar="PREFIX"),
                            " to use the Taylor design",
                        ),
                    )
        else:
            for name in ("rho", "scale", "rscales"):
                if getattr(self, name) is not None:
                    raise DesignError(
                        f"{name} applies to replicate-weight designs only.",
                        code="bad_option",
                        fix=(
                            "drop ",
                            opt(name),
                            ", or give ",
                            opt("repweights", metavar="PREFIX"),
                            " and ",
                            opt("rep_type", metavar="jk1"),
                        ),
                    )
        _check_multipliers(self.scale, self.rscales)

    @property
    def is_replicate(self) -> bool:
        """Whether the design is given by replicate weights."""
        return self.rep_type is not None

    def survey(self, data: Any, value_labels: dict[str, dict[Any, str]] | None = None) -> Survey:
        """The :class:`~carepop.core.survey.Survey` of ``data`` under this design."""
        from carepop.core.survey import Survey

        return Survey.from_design(data, self, value_labels=value_labels)


def _check_multipliers(scale: float | None, rscales: float | tuple[float, ...] | None) -> None:
    """``scale`` > 0 and finite; ``rscales`` finite numbers >= 0."""
    if scale is not None:
        ok = (
            isinstance(scale, (int, float))
            and not isinstance(scale, bool)
            and math.isfinite(scale)
            and scale > 0
        )
        if not ok:
            raise DesignError(
                f"The replicate variance scale must be a positive number, not {scale!r}.",
                code="bad_option",
                got=scale,
                expected="a number > 0",
                fix=(
                    "give ",
                    opt("scale", metavar="S"),
                    " > 0 (e.g. (R-1)/R for JK1), or leave it out for the method's own scale",
                ),
            )
    if rscales is not None:
        values = rscales if isinstance(rscales, tuple) else (rscales,)
        bad = [
            v
            for v in values
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0
        ]
        if bad:
            raise DesignError(
                f"The replicate rscales must be numbers >= 0; got {bad[0]!r}.",
                code="bad_option",
                got=bad[0],
                expected="numbers >= 0, one per replicate (or one for all)",
                fix=("give ", opt("rscales", metavar="R1,R2,..."), " as one number or one per replicate"),
            )
