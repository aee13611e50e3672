"""``carepop cld check|summarise|signals|generate``: client-level data from the command line.

carepop cld check EVENTS [--engine duckdb|spark] [--release r1|r2] [--report FILE] [--format ...]
    Print the data-quality report. Exit 0 when no check finds a problem, 1 when some do, 2 when
    the file cannot be read as CLD (missing fields, dates that do not parse, unknown councils).
carepop cld summarise EVENTS [--out FILE] [--engine duckdb|spark] [--exact] [--threshold 8]
    [--round 5] [--format ...]
    Aggregates by council (see :mod:`carepop.sources.cld.summary`); disclosure control by
    :func:`carepop.outputs.disclosure.protect_counts` (the tables carry no totals): counts 1-7
    suppressed and others rounded to 5 unless ``--exact``. Nothing is written when the file
    cannot be read.
carepop cld signals EVENTS [--engine duckdb|spark] [--release r1|r2] [--period START,END]
        [--exact] [--threshold 8] [--round 5] [--out FILE] [--format ...]
    Signals by council (see :mod:`carepop.sources.cld.signals`): requests, with no service,
    self-funded; long-term people by funding status; home care council-funded; carers supported;
    waits request -> assessment -> service. Disclosure control as ``summarise`` unless ``--exact``.
carepop cld generate OUT(.parquet|.csv) [--rows N] [--seed S] [--release r1|r2]
    A synthetic event file with planted recording problems; prints what was planted (JSON).

The release (r1 or r2) is detected from the wordings the file uses unless ``--release`` is given;
a file using only the other release's wordings is then refused (exit 2).

A CSV events file may be UTF-8 (with or without BOM) or, with ``--encoding cp1252``, as Excel
saves it on Windows; its separator (``,`` ``;`` tab ``|``) is detected, or given with ``--sep``.
``--report`` and ``--out`` write .csv, .parquet, .xlsx or .json; neither may be the events file.
Progress bars show on a terminal while large files are read and checked.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import EXIT_PROBLEMS, App, command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.output import console, emit, esc, prepare
from carepop.core.vocabulary import EngineName, OutputFormat
from carepop.io.writers import TABLE_SUFFIXES, check_output

cld_app = App(help="Client-level data: check and summarise event files, signals for the measures.")


EventsArg = Annotated[Path, typer.Argument(help="CLD event file: CSV or Parquet, one row per event.")]
ReleaseOpt = Annotated[
    str | None,
    typer.Option(
        help="CLD release of the file: r1 or r2 (default: detected from the wordings it uses).",
        metavar="r1|r2",
    ),
]
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
@command
def check(
    events: EventsArg,
    engine: EngineOpt = EngineName.duckdb,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the report to this file: .csv, .parquet, .xlsx or .json."),
    ] = None,
    format: FormatOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    release: ReleaseOpt = None,
) -> None:
    """Data-quality report of a CLD event file: missing birth dates, duplicates, retired and
    invalid codes, events after death, overlapping services, people known only at first contact.
    Exit 0 when clean, 1 when a check finds problems, 2 when the file cannot be read as CLD."""
    from carepop.sources.cld.quality import problems, quality_report

    if report is not None:
        check_output(
            report, suffixes=TABLE_SUFFIXES, param="report", inputs=[(None, events)], what="the report"
        )
    eng = _engine(engine)
    try:
        frame = quality_report(events, eng, release=release, encoding=encoding, sep=sep)
    finally:
        _stop(eng)
    if format in (OutputFormat.json, OutputFormat.csv):
        emit(frame, format, None, title="CLD data quality")
    else:
        _print_report(frame, events)
    if report is not None:
        emit(
            frame,
            None,
            report,
            title="CLD data quality",
            param="report",
            wrote=f"wrote the report ({len(frame)} checks) to {report}",
        )
    n = problems(frame)
    if n:
        typer.echo(f"{n} check(s) found recording problems", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    typer.echo("no recording problems found", err=True)


@cld_app.command()
@command(aliases={"count_round": "round"})
def summarise(
    events: EventsArg,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the aggregates here: .csv, .parquet, .xlsx or .json (default: print)."),
    ] = None,
    engine: EngineOpt = EngineName.duckdb,
    exact: Annotated[
        bool, typer.Option(help="Exact counts: no suppression of counts 1-7, no rounding to 5.")
    ] = False,
    threshold: Annotated[int, typer.Option(help="Suppress counts from 1 to threshold-1 (8: 1-7).")] = 8,
    round: Annotated[int, typer.Option("--round", help="Round other counts to this base (1: exact).")] = 5,
    format: FormatOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Aggregates of a CLD event file by council x age band x sex x event type x service type x
    support reason (events and unique people), carers supported, people leaving as self-funders
    and requests that led to no service. No person-level data are written."""
    from carepop.outputs.disclosure import DisclosureRules, protect_counts
    from carepop.sources.cld.summary import summarise as run_summary

    rules = None if exact else DisclosureRules(threshold=threshold, count_round=round)
    fmt = prepare(format, out, inputs=[(None, events)], what="the aggregates")
    started = time.perf_counter()
    eng = _engine(engine)
    try:
        frame = run_summary(events, eng, encoding=encoding, sep=sep)
    finally:
        _stop(eng)
    rows = frame.attrs.get("rows", 0)
    if rules is not None:
        frame = protect_counts(frame, ["events", "people"], rules)
    elapsed = time.perf_counter() - started
    tables = frame["table"].value_counts().reindex(frame["table"].unique()).to_dict()
    emit(
        frame,
        fmt,
        out,
        title="CLD aggregates",
        wrote=f"wrote {len(frame)} cells ({', '.join(f'{k} {v}' for k, v in tables.items())}) from {rows} "
        f"records to {out} [{engine.value}, {elapsed:.1f} s]",
    )
    if rules is not None:
        typer.echo(
            f"note: counts 1-{rules.threshold - 1} suppressed (empty), others rounded to the nearest "
            f"{rules.count_round}",
            err=True,
        )
    else:
        typer.echo("note: exact counts; apply disclosure control before sharing", err=True)


@cld_app.command()
@command
def signals(
    events: EventsArg,
    engine: EngineOpt = EngineName.duckdb,
    release: ReleaseOpt = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="START,END dates (YYYY-MM-DD) of the period (default: the file's reporting period).",
            metavar="START,END",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the signals here: .csv, .parquet, .xlsx or .json (default: print)."),
    ] = None,
    exact: Annotated[
        bool, typer.Option(help="Exact counts and waits: no suppression, no rounding (not for sharing).")
    ] = False,
    threshold: Annotated[int, typer.Option(help="Suppress counts from 1 to threshold-1 (8: 1-7).")] = 8,
    round: Annotated[int, typer.Option("--round", help="Round other counts to this base (1: exact).")] = 5,
    format: FormatOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Signals by council for the measures: requests for support (with no service, closed as
    self-funded), people with long-term services by funding status, home care funded by the
    council, carers supported, and waits from request to assessment and to service (DHSC's
    method). Counts 1-7 suppressed and others rounded to 5, and waits measured on fewer than 8
    people withheld, unless --exact."""
    from carepop.outputs.disclosure import DisclosureRules
    from carepop.sources.cld.signals import SIGNALS
    from carepop.sources.cld.signals import signals as run_signals

    rules = None if exact else DisclosureRules(threshold=threshold, count_round=round)

    fmt = prepare(format, out, inputs=[(None, events)], what="the signals")
    window = None if period is None else tuple(part.strip() for part in period.split(","))
    started = time.perf_counter()
    eng = _engine(engine)
    try:
        frame = run_signals(events, eng, release=release, period=window, encoding=encoding, sep=sep)
    finally:
        _stop(eng)
    elapsed = time.perf_counter() - started
    found = frame.attrs.get("release", "r1")
    if rules is not None:
        frame = _protect_signals(frame, SIGNALS, rules)
    emit(
        frame,
        fmt,
        out,
        title=f"CLD signals by council (Release {found[1:]})",
        wrote=f"wrote the signals of {len(frame)} council(s) (Release {found[1:]}) to {out} "
        f"[{engine.value}, {elapsed:.1f} s]",
    )
    if rules is not None:
        typer.echo(
            f"note: counts 1-{rules.threshold - 1} suppressed (empty), others rounded to the nearest "
            f"{rules.count_round}; waits measured on fewer than {rules.threshold} people withheld",
            err=True,
        )
    else:
        typer.echo("note: exact counts; apply disclosure control before sharing", err=True)


def _protect_signals(frame, signals, rules):
    """Counts protected cell by cell (the table has no totals); each wait statistic withheld where
    it was measured on fewer than ``threshold`` people (a median of a handful describes them)."""
    import numpy as np

    from carepop.outputs.disclosure import protect_counts

    counts = [c for c in signals if c in frame.columns and not c.startswith("wait_")]
    out = protect_counts(frame, counts, rules)
    for stem in sorted(
        {c[: -len("_n")] for c in frame.columns if c.startswith("wait_") and c.endswith("_n")}
    ):
        n = frame[f"{stem}_n"].to_numpy(dtype=float)
        few = n < rules.threshold
        for col in [c for c in frame.columns if c.startswith(stem + "_") and c.endswith("_days")]:
            out[col] = np.where(few, np.nan, frame[col].to_numpy(dtype=float))
        out = protect_counts(out, [f"{stem}_n"], rules)
    return out


@cld_app.command()
@command(aliases={"path": None})
def generate(
    out: Annotated[Path, typer.Argument(help="Where to write the synthetic events: .parquet or .csv.")],
    rows: Annotated[int, typer.Option(help="Number of event records.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2024,
    release: Annotated[
        str, typer.Option(help="CLD release whose wordings the file uses: r1 or r2.", metavar="r1|r2")
    ] = "r1",
) -> None:
    """Write a seeded synthetic CLD event file with the recording problems of real council data,
    and print what was planted (JSON)."""
    from carepop.sources.cld.generate import generate as run_generate
    from carepop.sources.cld.releases import check_release

    check_release(release)
    check_output(out, suffixes=(".parquet", ".csv"), param=None, what="the events")
    result = run_generate(out, rows=rows, seed=seed, release=release)
    sys.stdout.write(result.to_json() + "\n")
    typer.echo(f"wrote {result.rows} records of {result.people} people (seed {seed}) to {out}", err=True)


def _print_report(frame, events: Path) -> None:
    from rich.table import Table

    attrs = frame.attrs
    table = Table(
        title=esc(
            f"CLD data quality: {events.name} (Release {attrs.get('release', 'r1')[1:]}) — "
            f"{attrs.get('rows', 0):,} records, "
            f"{attrs.get('events', 0):,} events after de-duplication, {attrs.get('persons', 0):,} people"
        )
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
            esc(rec.check + (" (info)" if rec.severity == "info" else "")),
            esc(rec.level),
            f"{rec.count:,}",
            f"{rec.share:.1%}" if rec.count else "–",
            esc(rec.example_rows or ""),
            style=style,
        )
    console().print(table)
