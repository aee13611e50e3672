"""``carepop census show``: print a bundled census or area table (or a Nomis bulk file).

carepop census show TABLE [--area CODE] [--level la|msoa] [--format table|json|csv] [--wales]
    [--out FILE]

TABLE is one of :data:`TABLES` or the path of a Nomis bulk CSV file (read and checked with
:func:`carepop.sources.nomis.read_nomis`). ``--area`` keeps one area (at MSOA level an LA code keeps
the LA's MSOAs). ``--out`` writes the table atomically (CSV, JSON or Parquet by suffix) instead of
printing it. Unknown tables, levels, formats or area codes, and files that fail the checks, print
``error: ...`` and exit with status 2 without writing anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from carepop.cli.common import fail as _fail
from carepop.errors import CarepopError
from carepop.io.writers import write_frame_atomic as _write_frame_atomic
from carepop.io.writers import write_text_atomic as _write_text_atomic

census_app = typer.Typer(no_args_is_help=True, help="Bundled census and area tables.")

#: table name -> (description, levels)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ts039": ("Census 2021 TS039 provision of unpaid care (residents 5+, hours bands)", ("la", "msoa")),
    "ts007": ("Census 2021 TS007 age (residents, published broad age bands)", ("la", "msoa")),
    "ts008": ("Census 2021 TS008 sex", ("la",)),
    "qs301": ("Census 2011 QS301 provision of unpaid care (2011 districts, all ages)", ("la",)),
    "imd2019": ("English Indices of Deprivation 2019 by LA (2022 codes)", ("la",)),
    "gp_carers": ("GP-registered carers by LA, 2023-24 Q2, and coverage of census carers", ("la",)),
    "area": ("one row per English LA: census 2021 and 2011, IMD 2019, GP carers", ("la",)),
}
_ENGLAND_ONLY = ("imd2019", "gp_carers", "area")
FORMATS = ("table", "json", "csv")


def _choices() -> str:
    return "; ".join(f"{k} ({', '.join(v[1])})" for k, v in TABLES.items())


def load_table(table: str, level: str | None = None, *, wales: bool = False) -> pd.DataFrame:
    """The frame ``carepop census show TABLE`` prints (TABLE a name of :data:`TABLES` or the path
    of a Nomis bulk CSV file)."""
    name = table.lower()
    if name not in TABLES:
        path = Path(table)
        if path.suffix.lower() == ".csv" or path.exists():
            from carepop.sources.nomis import read_nomis

            return read_nomis(path, level=level).wide
        raise CarepopError(
            f"Unknown table {table!r}.",
            code="unknown_table",
            fix=f"choose one of: {_choices()}; or give the path of a Nomis bulk CSV file",
        )
    level = level or "la"
    levels = TABLES[name][1]
    if level not in levels:
        raise CarepopError(
            f"Table {name} is not available at level {level!r}.",
            code="bad_option",
            fix=f"{name} levels: {', '.join(levels)}",
        )
    if wales and name in _ENGLAND_ONLY:
        raise CarepopError(f"Table {name} covers England only.", code="bad_option", fix="drop --wales")
    england_only = not wales
    from carepop.sources import census

    if name == "ts039":
        return census.load_ts039(level, england_only)
    if name == "ts007":
        return census.load_ts007(level, england_only)
    if name == "ts008":
        return census.load_ts008(level, england_only)
    if name == "qs301":
        return census.load_qs301(england_only)
    if name == "imd2019":
        from carepop.sources.la_indicators import load_imd2019

        return load_imd2019()
    if name == "gp_carers":
        from carepop.sources.la_indicators import load_gp_carers

        return load_gp_carers()
    from carepop.sources.area_table import area_table

    return area_table()


def _filter_area(frame: pd.DataFrame, area: str, table: str) -> pd.DataFrame:
    code = area.strip().upper()
    cols = [c for c in ("area_code", "la_code") if c in frame.columns]
    keep = frame[cols].eq(code).any(axis=1)
    if not keep.any():
        col = cols[0]
        example = ", ".join(frame[col].head(3))
        extra = ""
        if table.lower() == "qs301":
            extra = "; qs301 uses 2011 districts (2021 councils formed by mergers are in table 'area')"
        raise CarepopError(
            f"Area code {area!r} is not in table {table}.",
            code="unknown_code",
            column=col,
            fix=f"use a code from its {col} column (e.g. {example}){extra}; Welsh areas need --wales",
        )
    return frame[keep].reset_index(drop=True)


@census_app.command()
def show(
    table: Annotated[
        str,
        typer.Argument(
            help="ts039 (unpaid care 2021), ts007 (age), ts008 (sex), qs301 (unpaid care 2011), imd2019, "
            "gp_carers, area, or the path of a Nomis bulk CSV file."
        ),
    ],
    area: Annotated[
        str | None, typer.Option(help="Keep one area code (an LA code keeps its MSOAs at --level msoa).")
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="la or msoa (ts039, ts007); default la, or detected for a file.")
    ] = None,
    format: Annotated[str, typer.Option(help="table, json or csv.")] = "table",
    wales: Annotated[bool, typer.Option(help="Include Welsh areas (census tables only).")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the table here (.csv, .json or .parquet) instead of printing.")
    ] = None,
) -> None:
    """Show a bundled census or area table (tidy: one row per area, codes, names and counts).

    area joins every LA table (309 English LAs); a Nomis bulk CSV path is read and checked."""
    try:
        if format not in FORMATS:
            raise CarepopError(
                f"Unknown format {format!r}.", code="bad_option", fix=f"use one of: {', '.join(FORMATS)}"
            )
        if level is not None and level not in ("la", "msoa"):
            raise CarepopError(f"Unknown level {level!r}.", code="bad_option", fix="use la or msoa")
        suffix = out.suffix.lower() if out is not None else None
        if suffix is not None and suffix not in (".csv", ".json", ".parquet"):
            raise CarepopError(
                f"Cannot tell the output format of {str(out)!r}.",
                code="unknown_format",
                fix="end the file name in .csv, .json or .parquet",
            )
        frame = load_table(table, level, wales=wales)
        if area is not None:
            frame = _filter_area(frame, area, table)
    except CarepopError as err:
        _fail(err)
        return
    if out is not None:
        if suffix == ".json":
            _write_text_atomic(out, _json(frame))
        else:
            _write_frame_atomic(out, frame)
        typer.echo(f"wrote {len(frame)} rows of {table} to {out}", err=True)
    elif format == "json":
        sys.stdout.write(_json(frame))
    elif format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        _print_rich(frame, table)


def _json(frame: pd.DataFrame) -> str:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return json.dumps(records, ensure_ascii=False, default=_native) + "\n"


def _native(v: object) -> object:
    return v.item() if hasattr(v, "item") else str(v)


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if float(v).is_integer():
            return f"{v:,.0f}"
        return f"{v:,.4f}" if abs(v) < 1e5 else f"{v:,.1f}"
    return str(v)


def _print_rich(frame: pd.DataFrame, title: str) -> None:
    import shutil

    from rich.console import Console
    from rich.table import Table

    records = frame.astype(object).where(frame.notna(), None)
    tab = Table(title=f"{title} ({len(frame)} rows)")
    if len(frame) == 1 and frame.shape[1] > 8:  # one area: one line per column
        tab.add_column("column")
        tab.add_column("value", justify="right")
        for col, value in records.iloc[0].items():
            tab.add_row(str(col), _cell(value))
    else:
        for col in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            tab.add_column(str(col), justify="right" if numeric else "left")
        for rec in records.itertuples(index=False):
            tab.add_row(*[_cell(v) for v in rec])
    Console(width=max(shutil.get_terminal_size((120, 24)).columns, 120)).print(tab)
