"""carepop: survey statistics and population estimation for adult social care in England.

The names below are imported on first use (:mod:`carepop._lazy`): ``import carepop`` loads
neither pandas nor scipy, and ``carepop.Survey`` loads what a survey needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports
from carepop.errors import CarepopError, DesignError, EstimationError

if TYPE_CHECKING:
    from carepop.core.design import Design
    from carepop.core.results import Estimates
    from carepop.core.survey import Survey

__all__ = ["CarepopError", "Design", "DesignError", "EstimationError", "Estimates", "Survey", "read_data"]
__version__ = "0.1.0"

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"Design": "carepop.core.design", "Estimates": "carepop.core.results", "Survey": "carepop.core.survey"},
)


def read_data(path, **kwargs):
    """Read survey data from CSV, Parquet, SPSS, Stata or SAS (see :mod:`carepop.io.readers`)."""
    from carepop.io import read_data as _read

    return _read(path, **kwargs)
