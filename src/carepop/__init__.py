"""carepop: survey statistics and population estimation for adult social care in England."""

from carepop.core import Design, Estimates, Survey
from carepop.errors import CarepopError, DesignError, EstimationError

__all__ = ["CarepopError", "Design", "DesignError", "EstimationError", "Estimates", "Survey", "read_data"]
__version__ = "0.1.0"


def read_data(path, **kwargs):
    """Read survey data from CSV, Parquet, SPSS, Stata or SAS (see :mod:`carepop.io.readers`)."""
    from carepop.io import read_data as _read

    return _read(path, **kwargs)
