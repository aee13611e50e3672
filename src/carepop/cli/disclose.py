"""``carepop disclose``: protect a table of counts and all its margins before publishing it.

carepop disclose TABLE --count COL --by A,B [--threshold 8] [--round 5] [--protection W]
    [--cost value|count] [--public] [--audit FILE] [--format json|csv|table] [--out FILE]

TABLE has the inner cells: one row per combination of the ``--by`` columns, with its count. A
nested dimension is written with ``/``, top level first: ``--by region/la,sex`` is councils
within regions within England, crossed with sex. The margins (``Total`` in their labels) are
computed from the exact counts and protected with the inner cells: counts 1 to threshold−1
suppressed (primary), complementary cells suppressed so that no suppressed cell can be worked
out from the published ones (secondary), the rest rounded to ``--round``. Every suppressed
cell's range is checked by linear programming (:mod:`carepop.outputs.disclosure`); ``--audit``
writes those ranges. The output has the ``--by`` columns, ``value`` (empty when suppressed) and
``status``; publish it with ``--public`` (status ``suppressed`` for both kinds).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, prepare
from carepop.errors import CarepopError
from carepop.io.writers import TABLE_SUFFIXES, check_output


class Cost(str, Enum):
    value = "value"
    count = "count"


@command(aliases={"count_round": "round"})
def disclose(
    table: Annotated[
        Path, typer.Argument(help="Inner cells: one row per combination of --by, with a count.")
    ],
    count: Annotated[str, typer.Option(help="The column with each cell's count of people.")],
    by: Annotated[
        str, typer.Option(help="The category columns, comma-separated; A/B nests B within A (region/la).")
    ],
    threshold: Annotated[int, typer.Option(help="Suppress counts from 1 to threshold-1 (8: 1-7).")] = 8,
    round: Annotated[
        int, typer.Option("--round", help="Round published counts to this base (1: exact).")
    ] = 5,
    protection: Annotated[
        int | None,
        typer.Option(help="Width of the range each suppressed small count must keep (default: --threshold)."),
    ] = None,
    cost: Annotated[
        Cost, typer.Option(help="What complementary suppression minimises: the cells' values or their count.")
    ] = Cost.value,
    public: Annotated[
        bool, typer.Option(help="Status 'suppressed' for every suppressed cell (what to publish).")
    ] = False,
    audit: Annotated[
        Path | None,
        typer.Option(
            help="Write each suppressed cell's feasible range here: .csv, .parquet, .xlsx or .json."
        ),
    ] = None,
    format: FormatOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the protected table here: .csv, .parquet, .xlsx or .json.")
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Protect a table of counts and its margins: small counts suppressed, complementary cells
    suppressed so that none can be recomputed (checked by linear programming), the rest rounded."""
    from carepop.io import read_data
    from carepop.outputs.disclosure import DisclosureRules, protect_table

    rules = DisclosureRules(threshold=threshold, count_round=round, protection=protection)
    if cost not in ("value", "count"):
        raise CarepopError(
            "--cost must be value or count.", code="bad_option", got=cost, fix="give --cost value"
        )
    dims = [tuple(p.strip() for p in d.split("/")) for d in split_list(by, "by", "A,B or A/B,C") or []]
    if any(not all(d) for d in dims):
        raise CarepopError("An empty level in --by.", code="bad_option", got=by, fix="give --by as A/B,C")
    fmt = prepare(format, out, inputs=[(None, table)], what="the protected table")
    if audit is not None:
        check_output(audit, suffixes=TABLE_SUFFIXES, param="audit", inputs=[(None, table)], what="the audit")
        if out is not None and Path(audit).resolve() == Path(out).resolve():
            raise CarepopError(
                "--audit and --out name the same file.", code="bad_option", fix="give two files"
            )
    data = read_data(table, encoding=encoding, sep=sep)
    result = protect_table(data, count, dims, rules=rules, cost=cost.value, public=public)
    rec = result.record
    emit(result.table, fmt, out, title="protected table", wrote=f"wrote {len(result.table)} cells to {out}")
    if audit is not None:
        emit(
            result.audit,
            None,
            audit,
            title="audit",
            param="audit",
            wrote=f"wrote the ranges of {len(result.audit)} suppressed cells to {audit}",
        )
    narrowest = "" if rec["min_width"] is None else f"; narrowest range of a small count {rec['min_width']:g}"
    typer.echo(
        f"{rec['cells']} cells: {rec['primary']} small counts suppressed, {rec['secondary']} complementary; "
        f"every small count's range at least {rules.width} wide ({rec['audit']}){narrowest}",
        err=True,
    )
    if not public:
        typer.echo("note: status tells primary from secondary: publish with --public", err=True)
