"""Input and output: readers for survey data files and atomic writers.

- :mod:`carepop.io.readers`: :func:`read_data` (CSV, Parquet, SPSS, Stata, SAS), keeping labels;
  CSV in UTF-8 (with or without BOM) or another encoding, separator detected;
- :mod:`carepop.io.writers`: output checks (:func:`check_output`) and atomic writers (text; tables
  as CSV / Parquet / Excel / JSON; data also as SPSS).
"""

from carepop.io.readers import FORMATS, csv_header, detect_separator, read_data, supported_formats
from carepop.io.writers import (
    DATA_SUFFIXES,
    FRAME_SUFFIXES,
    TABLE_SUFFIXES,
    check_frame_suffix,
    check_output,
    same_file,
    table_json,
    table_records,
    write_atomic_with,
    write_frame_atomic,
    write_table_atomic,
    write_text_atomic,
)

__all__ = [
    "DATA_SUFFIXES",
    "FORMATS",
    "FRAME_SUFFIXES",
    "TABLE_SUFFIXES",
    "check_frame_suffix",
    "check_output",
    "csv_header",
    "detect_separator",
    "read_data",
    "same_file",
    "supported_formats",
    "table_json",
    "table_records",
    "write_atomic_with",
    "write_frame_atomic",
    "write_table_atomic",
    "write_text_atomic",
]
