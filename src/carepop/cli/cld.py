"""``carepop cld check|summarise|generate``: client-level data from the command line.

carepop cld check EVENTS [--engine duckdb|spark] [--report FILE.csv]
    Print the data-quality report. Exit 0 when no check finds a problem, 1 when some do, 2 when
    the file cannot be read as CLD (missing fields, dates that do not parse, unknown councils).
carepop cld summarise EVENTS --out FILE(.csv|.parquet) [--engine duckdb|spark] [--exact]
    Aggregates by council (see :mod:`carepop.sources.cld.summary`); counts 1-7 suppressed and
    others rounded to 5 unless ``--exact``. Nothing is written when the file cannot be read.
carepop cld generate OUT(.parquet|.csv) [--rows N] [--seed S]
    A synthetic event file with planted recording problems; prints what was planted (JSON).
"""

from __future__ import annotations

import shutil
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import fail as _fail
from carepop.errors import CarepopError
from carepop.io.writers import write_frame_atomic as _write_frame_atomic

cld_app = typer.Typer(no_args_is_help=True, help="Client-level data: check and summarise event files.")

EXIT_PROBLEMS = 1


class EngineName(str, Enum):
    duckdb = "duckdb"
    spark = "spark"


EventsArg = Annotated[Path, typer.Argument(help="CLD event file: CSV or Parquet, one row per event.")]
EngineOpt = Annotated[
    EngineName,
    typer.Option(help="duckdb (embedded, default) or spark (PySpark, local or a cluster session)."),
]


def _engine(name: EngineName):
    from carepop.sources.cld.engines import get_engine

    return get_engine(name.value)


def _stop(engine) -> None:
    stop = getattr(engine, "stop", None)
    if stop is not None:
        stop()


@cld_app.command()
def check(
    events: EventsArg,
    engine: EngineOpt = EngineName.duckdb,
    report: Annotated[Path | None, typer.Option(help="Also write the report to this CSV file.")] = None,
) -> None:
    """Data-quality report of a CLD event file: missing birth dates, duplicates, retired and
    invalid codes, events after death, overlapping services, people known only at first contact.
    Exit 0 when clean, 1 when a check finds problems, 2 when the file cannot be read as CLD."""
    from carepop.sources.cld.quality import problems, quality_report

    eng = None
    try:
        if report is not None and report.suffix.lower() != ".csv":
            raise CarepopError(
                f"Cannot write the report as {report.suffix or 'that'}.",
                code="unknown_format",
                fix="use --report FILE.csv",
            )
        eng = _engine(engine)
        frame = quality_report(events, eng)
    except CarepopError as err:
        _fail(err)
        return
    finally:
        if eng is not None:
            _stop(eng)
    _print_report(frame, events)
    if report is not None:
        _write_frame_atomic(report, frame)
        typer.echo(f"wrote the report ({len(frame)} checks) to {report}", err=True)
    n = problems(frame)
    if n:
        typer.echo(f"{n} check(s) found recording problems", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    typer.echo("no recording problems found", err=True)


@cld_app.command()
def summarise(
    events: EventsArg,
    out: Annotated[Path, typer.Option(help="Write the aggregates here: .csv or .parquet.")],
    engine: EngineOpt = EngineName.duckdb,
    exact: Annotated[
        bool, typer.Option(help="Exact counts: no suppression of counts 1-7, no rounding to 5.")
    ] = False,
) -> None:
    """Aggregates of a CLD event file by council x age band x sex x event type x service type x
    support reason (events and unique people), carers supported, people leaving as self-funders
    and requests that led to no service. No person-level data are written."""
    from carepop.sources.cld.summary import disclose
    from carepop.sources.cld.summary import summarise as run_summary

    eng = None
    started = time.perf_counter()
    try:
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise CarepopError(
                f"Cannot write {out.suffix or 'that'} files.",
                code="unknown_format",
                fix="use --out FILE.csv or FILE.parquet",
            )
        eng = _engine(engine)
        frame = run_summary(events, eng)
    except CarepopError as err:
        _fail(err)
        return
    finally:
        if eng is not None:
            _stop(eng)
    rows = frame.attrs.get("rows", 0)
    if not exact:
        frame = disclose(frame)
    _write_frame_atomic(out, frame)
    elapsed = time.perf_counter() - started
    tables = frame["table"].value_counts().reindex(frame["table"].unique()).to_dict()
    typer.echo(
        f"wrote {len(frame)} cells ({', '.join(f'{k} {v}' for k, v in tables.items())}) from {rows} "
        f"records to {out} [{engine.value}, {elapsed:.1f} s]",
        err=True,
    )
    if not exact:
        typer.echo("note: counts 1-7 suppressed (empty), others rounded to the nearest 5", err=True)
    else:
        typer.echo("note: exact counts; apply disclosure control before sharing", err=True)


@cld_app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Where to write the synthetic events: .parquet or .csv.")],
    rows: Annotated[int, typer.Option(help="Number of event records.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
) -> None:
    """Write a seeded synthetic CLD event file with the recording problems of real council data,
    and print what was planted (JSON)."""
    from carepop.sources.cld.generate import generate as run_generate

    try:
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise CarepopError(
                f"Cannot write {out.suffix or 'that'} files.",
                code="unknown_format",
                fix="use .parquet or .csv",
            )
        if rows < 100:
            raise CarepopError(f"--rows {rows} is too few.", code="bad_option", fix="give at least 100")
        result = run_generate(out, rows=rows, seed=seed)
    except CarepopError as err:
        _fail(err)
        return
    sys.stdout.write(result.to_json() + "\n")
    typer.echo(f"wrote {result.rows} records of {result.people} people to {out}", err=True)


def _print_report(frame, events: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    attrs = frame.attrs
    table = Table(
        title=f"CLD data quality: {events.name} — {attrs.get('rows', 0):,} records, "
        f"{attrs.get('events', 0):,} events after de-duplication, {attrs.get('persons', 0):,} people"
    )
    for col, justify in (
        ("check", "left"),
        ("level", "left"),
        ("count", "right"),
        ("share", "right"),
        ("example rows", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=col != "example rows")
    for rec in frame.itertuples(index=False):
        style = None
        if rec.count:
            style = "bold red" if rec.severity == "problem" else "cyan"
        table.add_row(
            rec.check + (" (info)" if rec.severity == "info" else ""),
            rec.level,
            f"{rec.count:,}",
            f"{rec.share:.1%}" if rec.count else "–",
            rec.example_rows or "",
            style=style,
        )
    width = max(shutil.get_terminal_size((120, 24)).columns, 120)
    Console(width=width).print(table)
