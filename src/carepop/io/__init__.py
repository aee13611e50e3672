"""Input and output: readers for survey data files and atomic writers.

- :mod:`carepop.io.readers`: :func:`read_data` (CSV, Parquet, SPSS, Stata, SAS), keeping labels;
- :mod:`carepop.io.writers`: atomic writers (text, CSV / Parquet / SPSS data).
"""

from carepop.io.readers import FORMATS, read_data, supported_formats
from carepop.io.writers import (
    FRAME_SUFFIXES,
    check_frame_suffix,
    write_atomic_with,
    write_frame_atomic,
    write_text_atomic,
)

__all__ = [
    "FORMATS",
    "FRAME_SUFFIXES",
    "check_frame_suffix",
    "read_data",
    "supported_formats",
    "write_atomic_with",
    "write_frame_atomic",
    "write_text_atomic",
]
