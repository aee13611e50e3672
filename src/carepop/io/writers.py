"""Atomic writers: every output is written to a temporary file beside its target and renamed, so
a run that fails leaves nothing half-written (and an earlier file of that name untouched).

- :func:`write_atomic_with` runs any writer on the temporary path;
- :func:`write_text_atomic` writes UTF-8 text;
- :func:`write_frame_atomic` writes a data frame as CSV, Parquet or SPSS ``.sav`` by suffix
  (:data:`FRAME_SUFFIXES`), with SPSS labels and user-missing codes where given.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carepop.errors import CarepopError

#: the data-file formats carepop writes, by suffix
FRAME_SUFFIXES = (".csv", ".parquet", ".sav")


def write_atomic_with(path: str | os.PathLike[str], writer: Callable[[str], None]) -> None:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    write_atomic_with(path, _write)


def check_frame_suffix(path: str | os.PathLike[str], param: str = "path") -> None:
    """Fail before any work if ``path`` is not a data file carepop writes (CSV, Parquet, SPSS)."""
    from carepop.errors import opt

    suffix = Path(path).suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise CarepopError(
            f"Cannot write {suffix or 'files without an extension'} as data.",
            code="unknown_format",
            got=suffix or str(path),
            expected=FRAME_SUFFIXES,
            fix=("give ", opt(param, metavar="FILE.csv"), " ending in .csv, .parquet or .sav"),
        )


def write_frame_atomic(
    path: str | os.PathLike[str],
    frame: Any,
    value_labels: dict[str, dict[Any, str]] | None = None,
    *,
    column_labels: dict[str, str] | None = None,
    missing_ranges: dict[str, list[Any]] | None = None,
) -> None:
    """Write a data frame as CSV, Parquet or SPSS (by suffix) atomically.

    For SPSS, ``value_labels`` ({column: {code: label}}), ``column_labels`` ({column: variable
    label}) and ``missing_ranges`` ({column: [user-missing codes]}) are written for the columns
    the frame has; CSV and Parquet ignore them.
    """
    suffix = Path(path).suffix.lower()

    def _write(tmp: str) -> None:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            import pandas as pd
            import pyreadstat

            columns = set(frame.columns)
            labels = {k: v for k, v in (value_labels or {}).items() if k in columns}
            extra: dict[str, Any] = {}
            if column_labels:
                extra["column_labels"] = {k: v for k, v in column_labels.items() if k in columns and v}
            if missing_ranges:
                extra["missing_ranges"] = {
                    k: list(v)
                    for k, v in missing_ranges.items()
                    if k in columns and len(v) and pd.api.types.is_numeric_dtype(frame[k])
                }
            pyreadstat.write_sav(frame, tmp, variable_value_labels=labels, **extra)

    write_atomic_with(path, _write)
