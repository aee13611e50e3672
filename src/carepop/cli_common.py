"""What every ``carepop`` sub-command shares: failing cleanly and writing outputs atomically.

Bad input prints ``error: <message, column, rows, fix>`` and exits with status 2 (never a
traceback). Outputs are written to a temporary file in the target folder and renamed, so a failed
run leaves nothing half-written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import typer

from carepop.errors import CarepopError

EXIT_INPUT = 2


def fail(err: CarepopError) -> None:
    """Print ``err`` for the user and exit with status 2."""
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(EXIT_INPUT)


def write_atomic_with(path: Path, writer: Callable[[str], None]) -> None:
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


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    write_atomic_with(path, _write)


FRAME_SUFFIXES = (".csv", ".parquet", ".sav")


def check_frame_suffix(path: Path) -> None:
    """Fail before any work if ``path`` is not a data file carepop writes (CSV, Parquet, SPSS)."""
    if Path(path).suffix.lower() not in FRAME_SUFFIXES:
        raise CarepopError(
            f"Cannot write {Path(path).suffix or 'that'} files.",
            code="unknown_format",
            hint="use --out FILE.csv, FILE.parquet or FILE.sav",
        )


def write_frame_atomic(
    path: Path, frame, value_labels=None, *, column_labels=None, missing_ranges=None
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
            extra = {}
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
