"""``carepop questionnaire list|show|validate|derive|export``.

carepop questionnaire list
carepop questionnaire show NAME|FILE
carepop questionnaire validate RESPONSES --questionnaire NAME|FILE [--report FILE.csv]
    [--allow-column COL ...]
carepop questionnaire derive RESPONSES --questionnaire NAME|FILE --out FILE.csv|.parquet|.sav
    [--allow-column COL ...] [--no-check]
carepop questionnaire export NAME|FILE --to xlsform|sav|dta|codebook --out FILE

``validate`` exits 0 when the responses are clean, 1 when it found problems (the report lists
each with its row and column), 2 when the responses or the instrument cannot be read. Outputs are
written atomically; on exit 2 nothing is written.
"""

from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import fail
from carepop.errors import CarepopError
from carepop.io.writers import check_frame_suffix, write_atomic_with, write_frame_atomic, write_text_atomic

questionnaire_app = typer.Typer(
    no_args_is_help=True, help="Survey instruments: list, show, validate, export."
)

EXIT_PROBLEMS = 1
SHOW_PROBLEMS = 20

QuestionnaireArg = Annotated[str, typer.Argument(help="A bundled instrument name or a YAML file.")]
QuestionnaireOpt = Annotated[
    str, typer.Option("--questionnaire", "-q", help="A bundled instrument name or a YAML file.")
]
AllowOpt = Annotated[
    list[str] | None,
    typer.Option("--allow-column", help="A column that is not an item but belongs in the file (repeatable)."),
]


class ExportFormat(str, Enum):
    xlsform = "xlsform"
    sav = "sav"
    dta = "dta"
    codebook = "codebook"


_SUFFIXES = {
    ExportFormat.xlsform: (".xlsx",),
    ExportFormat.sav: (".sav",),
    ExportFormat.dta: (".dta",),
    ExportFormat.codebook: (".md", ".markdown", ".html", ".htm"),
}


def _esc(text: object) -> str:
    """Text shown as is (not read as rich markup such as [bold])."""
    from rich.markup import escape

    return escape(str(text))


def _console():
    from rich.console import Console

    return Console(width=max(shutil.get_terminal_size((120, 24)).columns, 120))


@questionnaire_app.command("list")
def list_() -> None:
    """The instruments bundled with carepop."""
    from rich.table import Table

    from carepop.questionnaires.load import list_instruments, load_instrument

    table = Table(title="Bundled questionnaires")
    for col in ("name", "title", "version", "items", "derived"):
        table.add_column(col, justify="right" if col in ("items", "derived") else "left")
    for name in list_instruments():
        ins = load_instrument(name)
        table.add_row(name, _esc(ins.title), ins.version, str(len(ins.data_items)), str(len(ins.derived)))
    _console().print(table)


@questionnaire_app.command()
def show(questionnaire: QuestionnaireArg) -> None:
    """Check an instrument and show its sections, items, routing and derived variables."""
    from rich.table import Table

    from carepop.questionnaires.load import load_instrument

    try:
        ins = load_instrument(questionnaire)
    except CarepopError as err:
        fail(err)
        return
    console = _console()
    console.print(f"[bold]{_esc(ins.title)}[/bold] ({ins.name}, version {_esc(ins.version)})")
    if ins.population:
        console.print(f"Population: {_esc(ins.population)}")
    for section in ins.sections:
        table = Table(
            title=_esc(section.label + (f" — asked when {section.relevant}" if section.relevant else ""))
        )
        for col in ("item", "type", "question", "answers", "asked when", "req"):
            table.add_column(col, overflow="fold")
        for item in section.items:
            codes = ins.choices_of(item)
            answers = (
                "; ".join(f"{c.code}={c.label}" for c in codes[:4]) + (" …" if len(codes) > 4 else "")
                if codes
                else (
                    f"{item.range.min:g}–{item.range.max:g}"
                    if item.range and None not in (item.range.min, item.range.max)
                    else (item.pattern or "")
                )
            )
            label = item.label if len(item.label) <= 70 else item.label[:69] + "…"
            table.add_row(
                item.name,
                item.type,
                _esc(label),
                _esc(answers),
                _esc(item.relevant or ""),
                "yes" if item.required else "no",
            )
        console.print(table)
    if ins.derived:
        table = Table(title="Derived variables")
        for col in ("name", "type", "label", "cases"):
            table.add_column(col, overflow="fold")
        for d in ins.derived:
            cases = "; ".join(f"{c.value} if {' '.join(c.when.split())}" for c in d.cases)
            table.add_row(d.name, d.type, _esc(d.label), _esc(cases))
        console.print(table)


@questionnaire_app.command()
def validate(
    responses: Annotated[Path, typer.Argument(help="Responses: CSV, Parquet, SPSS .sav, Stata .dta.")],
    questionnaire: QuestionnaireOpt,
    report: Annotated[
        Path | None, typer.Option(help="Write every problem (row, column, value, kind, message) as CSV.")
    ] = None,
    allow_column: AllowOpt = None,
) -> None:
    """Check responses against an instrument: codes, ranges, types, routing, required answers,
    rules and columns. Exit 0 when clean, 1 when problems were found, 2 when unreadable."""
    from carepop.io import read_data
    from carepop.questionnaires.load import load_instrument
    from carepop.questionnaires.validate import validate as run_validate

    try:
        if report is not None and report.suffix.lower() != ".csv":
            raise CarepopError(
                f"The report is written as CSV, not {report.suffix or 'a file without extension'}.",
                code="unknown_format",
                fix="use --report FILE.csv",
            )
        ins = load_instrument(questionnaire)
        data = read_data(responses)
        problems = run_validate(data, ins, allow_columns=allow_column or ())
    except CarepopError as err:
        fail(err)
        return
    if report is not None:
        write_frame_atomic(report, problems.astype({"row": "Int64"}))
    _print_summary(problems, len(data), ins.name, responses)
    if report is not None:
        typer.echo(f"wrote {len(problems)} problem(s) to {report}", err=True)
    if len(problems):
        raise typer.Exit(EXIT_PROBLEMS)


def _print_summary(problems, n_rows: int, name: str, path: Path) -> None:
    import pandas as pd
    from rich.table import Table

    from carepop.questionnaires.validate import ERROR_KINDS, summarise

    console = _console()
    if problems.empty:
        console.print(f"[green]clean[/green]: {n_rows} row(s) of {_esc(path)} pass {name!r}")
        return
    rows_hit = problems["row"].dropna().nunique()
    console.print(
        f"[red]{len(problems)} problem(s)[/red] in {_esc(path)} against {name!r}: "
        f"{rows_hit} of {n_rows} row(s) affected"
    )
    table = Table(title="Problems by kind and column")
    for col, justify in (("kind", "left"), ("column", "left"), ("count", "right"), ("meaning", "left")):
        table.add_column(col, justify=justify)
    for rec in summarise(problems).itertuples(index=False):
        table.add_row(rec.error_kind, _esc(rec.column), str(rec.count), ERROR_KINDS.get(rec.error_kind, ""))
    console.print(table)
    first = Table(title=f"First {min(SHOW_PROBLEMS, len(problems))} of {len(problems)}")
    for col in ("row", "column", "value", "kind", "message"):
        first.add_column(col, overflow="fold")
    for rec in problems.head(SHOW_PROBLEMS).itertuples(index=False):
        row = "" if pd.isna(rec.row) else str(int(rec.row))  # whole-column problems have no row
        first.add_row(row, _esc(rec.column), _esc(rec.value), rec.error_kind, _esc(rec.message))
    console.print(first)


@questionnaire_app.command()
def derive(
    responses: Annotated[Path, typer.Argument(help="Responses: CSV, Parquet, SPSS .sav, Stata .dta.")],
    questionnaire: QuestionnaireOpt,
    out: Annotated[Path, typer.Option(help="Write the data with derived variables: .csv, .parquet or .sav.")],
    allow_column: AllowOpt = None,
    check: Annotated[
        bool, typer.Option(help="Refuse responses that fail validation (--no-check: invalid = missing).")
    ] = True,
) -> None:
    """Add the instrument's derived variables (census hours band, unmet need, ...) to responses."""
    from carepop.io import read_data
    from carepop.questionnaires.derive import derive as run_derive

    try:
        check_frame_suffix(out)
        data = read_data(responses)
        derived = run_derive(data, questionnaire, check=check, allow_columns=allow_column or ())
    except CarepopError as err:
        fail(err)
        return
    write_frame_atomic(
        out,
        derived,
        derived.attrs.get("value_labels", {}),
        column_labels=derived.attrs.get("column_labels"),
        missing_ranges=derived.attrs.get("missing_codes"),
    )
    typer.echo(f"wrote {len(derived)} rows with derived variables to {out}", err=True)


@questionnaire_app.command()
def export(
    questionnaire: QuestionnaireArg,
    to: Annotated[ExportFormat, typer.Option(help="xlsform (.xlsx), sav, dta, or codebook (.md / .html).")],
    out: Annotated[Path, typer.Option(help="The file to write.")],
) -> None:
    """Export an instrument: XLSForm for ODK / KoboToolbox, SPSS or Stata template, codebook."""
    from carepop.questionnaires.load import load_instrument

    try:
        if out.suffix.lower() not in _SUFFIXES[to]:
            raise CarepopError(
                f"--to {to.value} writes {' or '.join(_SUFFIXES[to])} files, "
                f"not {out.suffix or 'a file without extension'}.",
                code="unknown_format",
                fix=f"use --out FILE{_SUFFIXES[to][0]}",
            )
        ins = load_instrument(questionnaire)
        if to == ExportFormat.codebook:
            from carepop.questionnaires.codebook import codebook

            fmt = "html" if out.suffix.lower() in (".html", ".htm") else "markdown"
            write_text_atomic(out, codebook(ins, fmt))
        elif to == ExportFormat.xlsform:
            from carepop.questionnaires.export_xlsform import write_xlsform

            write_atomic_with(out, lambda tmp: write_xlsform(ins, tmp))
        else:
            from carepop.questionnaires import export_stats

            writer = export_stats.write_sav if to == ExportFormat.sav else export_stats.write_dta
            write_atomic_with(out, lambda tmp: writer(ins, tmp))
    except CarepopError as err:
        fail(err)
        return
    typer.echo(f"wrote the {to.value} of {ins.name!r} to {out}", err=True)
