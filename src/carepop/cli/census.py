"""``carepop census show``: print a bundled census or area table (or a Nomis bulk file).

carepop census show TABLE [--area CODE] [--level la|msoa] [--format table|json|csv] [--wales]
    [--out FILE.csv|.parquet|.xlsx|.json] [--encoding ENC] [--sep SEP]

TABLE is one of :data:`carepop.sources.tables.TABLES` or the path of a Nomis bulk CSV file (read
and checked with :func:`carepop.sources.nomis.read_nomis`; ``--encoding`` and ``--sep`` for a file
Excel saved). ``--area`` keeps one area (at MSOA level an LA code keeps the LA's MSOAs). ``--out``
writes the table atomically, in the format its extension names, instead of printing it. Unknown
tables, levels, formats or area codes, and files that fail the checks, print ``error: ...`` and
exit with status 2 without writing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import App, command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.output import emit, prepare

census_app = App(help="Bundled census and area tables.")


@census_app.command()
@command
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
    format: FormatOpt = None,
    wales: Annotated[bool, typer.Option(help="Include Welsh areas (census tables only).")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the table here (.csv, .parquet, .xlsx or .json) instead of printing."),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Show a bundled census or area table (tidy: one row per area, codes, names and counts).

    area joins every LA table (309 English LAs); a Nomis bulk CSV path is read and checked."""
    from carepop.sources.tables import filter_area, is_table_name, load_table

    source = None if is_table_name(table) else Path(table)
    fmt = prepare(format, out, inputs=[(None, source)], what="the table")
    frame = load_table(table, level, wales=wales, encoding=encoding, sep=sep)
    if area is not None:
        frame = filter_area(frame, area, table)
    emit(frame, fmt, out, title=table, wrote=f"wrote {len(frame)} rows of {table} to {out}")
