"""Where a command's result goes: ``--format json|csv|table`` on screen, or ``--out FILE`` whose
extension sets the format (:data:`carepop.io.TABLE_SUFFIXES`; data files also ``.sav``).

Every command that prints or writes a table uses :func:`prepare` (before any work: checks
``--out`` and ``--format`` and that ``--out`` is none of the inputs) and :func:`emit`.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer

from carepop.core.vocabulary import OutputFormat
from carepop.errors import CarepopError
from carepop.io.writers import TABLE_SUFFIXES, check_output

#: (parameter, path) pairs naming a command's inputs; parameter None for a positional argument
Inputs = Iterable[tuple[str | None, "str | Path | None"]]

_SUFFIX_FORMAT = {".json": OutputFormat.json, ".csv": OutputFormat.csv}


def prepare(
    format: OutputFormat | None,
    out: Path | None,
    *,
    default: OutputFormat = OutputFormat.table,
    suffixes: tuple[str, ...] = TABLE_SUFFIXES,
    inputs: Inputs = (),
    param: str = "out",
    what: str = "the result",
) -> OutputFormat | None:
    """Check ``--out`` (format, inputs, writable) and ``--format`` before any work; return the
    format to print in (None when the result goes to ``--out``)."""
    if out is None:
        return format or default
    check_output(out, suffixes=suffixes, param=param, inputs=inputs, what=what)
    if format is not None:
        implied = _SUFFIX_FORMAT.get(out.suffix.lower())
        if implied != format:
            raise CarepopError(
                f"--format {format.value} does not match the file {str(out)!r}: the extension of "
                "the output file sets its format.",
                code="bad_option",
                got=format.value,
                # the flag itself: on commands that read data, a library's "format" is --input-format
                fix=f"leave out --format {format.value} (the file is written as {out.suffix})",
            )
    return None


def emit(
    frame: Any,
    fmt: OutputFormat | None,
    out: Path | None,
    *,
    title: str,
    table: Callable[[Any], None] | None = None,
    wrote: str | None = None,
    param: str = "out",
    value_labels: dict[str, dict[Any, str]] | None = None,
    **sav: Any,
) -> None:
    """Write ``frame`` to ``out`` (format from its extension) or print it in ``fmt``.

    ``table`` prints the frame for people (default: :func:`print_frame` with ``title``);
    ``wrote`` is the note on stderr after writing (default: ``wrote N rows to FILE``)."""
    from carepop.io.writers import table_json, write_table_atomic

    if out is not None:
        write_table_atomic(out, frame, value_labels, param=param, **sav)
        typer.echo(wrote or f"wrote {len(frame)} row(s) to {out}", err=True)
    elif fmt == OutputFormat.json:
        sys.stdout.write(table_json(frame))
    elif fmt == OutputFormat.csv:
        sys.stdout.write(frame.to_csv(index=False))
    elif table is not None:
        table(frame)
    else:
        print_frame(frame, title)


def console() -> Any:
    """A rich console on stdout, at least 120 columns wide."""
    from rich.console import Console

    return Console(width=max(shutil.get_terminal_size((120, 24)).columns, 120))


def esc(text: object) -> str:
    """Text shown as is (not read as rich markup such as [bold])."""
    from rich.markup import escape

    return escape(str(text))


def cell(v: object) -> str:
    """A value as a table cell: missing as an en dash, counts with thousands separators."""
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if float(v).is_integer():
            return f"{v:,.0f}"
        return f"{v:,.4f}" if abs(v) < 1e5 else f"{v:,.1f}"
    return esc(v)


def print_frame(frame: Any, title: str) -> None:
    """Print a data frame as a rich table (one area with many columns: one line per column)."""
    import pandas as pd
    from rich.table import Table

    records = frame.astype(object).where(frame.notna(), None)
    tab = Table(title=esc(f"{title} ({len(frame)} rows)"))
    if len(frame) == 1 and frame.shape[1] > 8:
        tab.add_column("column")
        tab.add_column("value", justify="right")
        for col, value in records.iloc[0].items():
            tab.add_row(esc(col), cell(value))
    else:
        for col in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            tab.add_column(esc(col), justify="right" if numeric else "left")
        for rec in records.itertuples(index=False):
            tab.add_row(*[cell(v) for v in rec])
    console().print(tab)
