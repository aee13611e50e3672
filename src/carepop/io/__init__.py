"""Input and output: readers for survey data files and atomic writers.

- :mod:`carepop.io.readers`: :func:`read_data` (CSV, Parquet, SPSS, Stata, SAS), keeping labels;
  CSV in UTF-8 (with or without BOM) or another encoding, separator detected;
- :mod:`carepop.io.writers`: output checks (:func:`check_output`) and atomic writers (text; tables
  as CSV / Parquet / Excel / JSON; data also as SPSS).

The names are imported on first use (:mod:`carepop._lazy`): the writers are light, the readers
load pandas, pyarrow and pyreadstat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports

if TYPE_CHECKING:
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

_HOMES = {
    "FORMATS": "carepop.io.readers",
    "csv_header": "carepop.io.readers",
    "detect_separator": "carepop.io.readers",
    "read_data": "carepop.io.readers",
    "supported_formats": "carepop.io.readers",
    "DATA_SUFFIXES": "carepop.io.writers",
    "FRAME_SUFFIXES": "carepop.io.writers",
    "TABLE_SUFFIXES": "carepop.io.writers",
    "check_frame_suffix": "carepop.io.writers",
    "check_output": "carepop.io.writers",
    "same_file": "carepop.io.writers",
    "table_json": "carepop.io.writers",
    "table_records": "carepop.io.writers",
    "write_atomic_with": "carepop.io.writers",
    "write_frame_atomic": "carepop.io.writers",
    "write_table_atomic": "carepop.io.writers",
    "write_text_atomic": "carepop.io.writers",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
