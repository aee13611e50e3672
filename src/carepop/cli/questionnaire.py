"""``carepop questionnaire list|show|validate|derive|export``.

carepop questionnaire list [--format table|json|csv]
carepop questionnaire show NAME|FILE [--format table|json|csv]
carepop questionnaire validate RESPONSES --questionnaire NAME|FILE [--report FILE]
    [--allow-column COL ...] [--format table|json|csv]
carepop questionnaire derive RESPONSES --questionnaire NAME|FILE --out FILE.csv|.parquet|.sav|.xlsx|.json
    [--allow-column COL ...] [--no-check]
carepop questionnaire export NAME|FILE --to xlsform|sav|dta|codebook --out FILE

``validate`` exits 0 when the responses are clean, 1 when it found problems (the report lists
each with its row and column; problems with values come before problems with whole columns),
2 when the responses or the instrument cannot be read. Outputs are written atomically; on exit 2
nothing is written. Responses in CSV take ``--encoding``, ``--sep`` and ``--input-format``.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import EXIT_PROBLEMS, App, command
from carepop.cli.options import (
    READ_ALIASES,
    EncodingOpt,
    FormatOpt,
    InputFormatOpt,
    SepOpt,
    read_options,
)
from carepop.cli.optiontext import no_empty
from carepop.cli.output import console, emit, esc
from carepop.core.vocabulary import OutputFormat
from carepop.errors import CarepopError, opt
from carepop.io.writers import (
    DATA_SUFFIXES,
    TABLE_SUFFIXES,
    check_output,
    write_atomic_with,
    write_text_atomic,
)

questionnaire_app = App(help="Survey instruments: list, show, validate, derive, export.")

SHOW_PROBLEMS = 20
#: problems with a whole column (no row), shown after the problems with values
COLUMN_KINDS = ("missing_column", "unknown_column", "duplicate_column")

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


def _instrument_file(questionnaire: str) -> Path | None:
    """The questionnaire's YAML file when it is given as a path (an input of the run)."""
    path = Path(questionnaire).expanduser()
    return path if path.is_file() else None


@questionnaire_app.command("list")
@command
def list_(format: FormatOpt = None) -> None:
    """The instruments bundled with carepop."""
    import pandas as pd

    from carepop.questionnaires.load import list_instruments, load_instrument

    rows = []
    for name in list_instruments():
        ins = load_instrument(name)
        rows.append(
            {
                "name": name,
                "title": ins.title,
                "version": ins.version,
                "items": len(ins.data_items),
                "derived": len(ins.derived),
            }
        )
    emit(pd.DataFrame(rows), format or OutputFormat.table, None, title="Bundled questionnaires")


@questionnaire_app.command()
@command
def show(questionnaire: QuestionnaireArg, format: FormatOpt = None) -> None:
    """Check an instrument and show its sections, items, routing and derived variables
    (json: the whole instrument; csv: one row per item)."""
    from rich.table import Table

    from carepop.questionnaires.load import load_instrument

    ins = load_instrument(questionnaire)
    if format == OutputFormat.json:
        sys.stdout.write(ins.model_dump_json(indent=2, exclude_none=True) + "\n")
        return
    if format == OutputFormat.csv:
        sys.stdout.write(_items_frame(ins).to_csv(index=False))
        return
    screen = console()
    screen.print(f"[bold]{esc(ins.title)}[/bold] ({ins.name}, version {esc(ins.version)})")
    if ins.population:
        screen.print(f"Population: {esc(ins.population)}")
    for section in ins.sections:
        table = Table(
            title=esc(section.label + (f" — asked when {section.relevant}" if section.relevant else ""))
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
                esc(label),
                esc(answers),
                esc(item.relevant or ""),
                "yes" if item.required else "no",
            )
        screen.print(table)
    if ins.derived:
        table = Table(title="Derived variables")
        for col in ("name", "type", "label", "cases"):
            table.add_column(col, overflow="fold")
        for d in ins.derived:
            cases = "; ".join(f"{c.value} if {' '.join(c.when.split())}" for c in d.cases)
            table.add_row(d.name, d.type, esc(d.label), esc(cases))
        screen.print(table)


@questionnaire_app.command()
@command(aliases=READ_ALIASES)
def validate(
    responses: Annotated[Path, typer.Argument(help="Responses: CSV, Parquet, SPSS .sav, Stata .dta.")],
    questionnaire: QuestionnaireOpt,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write every problem (row, column, value, kind, message): .csv, .parquet, .xlsx or .json."
        ),
    ] = None,
    allow_column: AllowOpt = None,
    format: Annotated[
        OutputFormat | None,
        typer.Option(help="How to print the problems: table (a summary, default), json or csv (all)."),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Check responses against an instrument: codes, ranges, types, routing, required answers,
    rules and columns. Exit 0 when clean, 1 when problems were found, 2 when unreadable."""
    from carepop.io import read_data
    from carepop.questionnaires.load import load_instrument
    from carepop.questionnaires.validate import validate as run_validate

    inputs = [(None, responses), ("questionnaire", _instrument_file(questionnaire))]
    if report is not None:
        check_output(report, suffixes=TABLE_SUFFIXES, param="report", inputs=inputs, what="the report")
    allowed = no_empty(allow_column, "allow_column")
    ins = load_instrument(questionnaire)
    data = read_data(responses, **read_options(input_format, encoding, sep))
    problems = run_validate(data, ins, allow_columns=allowed).astype({"row": "Int64"})
    if report is not None:
        emit(
            problems,
            None,
            report,
            title="problems",
            param="report",
            wrote=f"wrote {len(problems)} problem(s) to {report}",
        )
    if format in (OutputFormat.json, OutputFormat.csv):
        emit(problems, format, None, title="problems")
    else:
        _print_summary(problems, len(data), ins.name, responses)
    if len(problems):
        raise typer.Exit(EXIT_PROBLEMS)


def _print_summary(problems, n_rows: int, name: str, path: Path) -> None:
    """Problems with values first (a planted bad code shows on screen), then the problems with
    whole columns, each kind in one line."""
    import pandas as pd
    from rich.table import Table

    from carepop.questionnaires.validate import ERROR_KINDS, summarise

    out = console()
    if problems.empty:
        out.print(f"[green]clean[/green]: {n_rows} row(s) of {esc(path)} pass {name!r}")
        return
    whole = problems["error_kind"].isin(COLUMN_KINDS) & problems["row"].isna()
    values, columns = problems[~whole], problems[whole]
    rows_hit = values["row"].dropna().nunique()
    out.print(
        f"[red]{len(problems)} problem(s)[/red] in {esc(path)} against {name!r}: "
        f"{len(values)} with values on {rows_hit} of {n_rows} row(s), {len(columns)} with whole columns"
    )
    table = Table(title="Problems by kind and column")
    for col, justify in (("kind", "left"), ("column", "left"), ("count", "right"), ("meaning", "left")):
        table.add_column(col, justify=justify)
    for rec in summarise(values).itertuples(index=False):
        table.add_row(rec.error_kind, esc(rec.column), str(rec.count), ERROR_KINDS.get(rec.error_kind, ""))
    for kind in COLUMN_KINDS:
        names = columns.loc[columns["error_kind"] == kind, "column"].astype(str).tolist()
        if names:
            table.add_row(kind, esc(_names(names)), str(len(names)), ERROR_KINDS.get(kind, ""))
    out.print(table)
    if len(values):
        first = Table(title=f"First {min(SHOW_PROBLEMS, len(values))} of {len(values)} problems with values")
        for col in ("row", "column", "value", "kind", "message"):
            first.add_column(col, overflow="fold")
        for rec in values.head(SHOW_PROBLEMS).itertuples(index=False):
            row = "" if pd.isna(rec.row) else str(int(rec.row))
            first.add_row(row, esc(rec.column), esc(rec.value), rec.error_kind, esc(rec.message))
        out.print(first)
    for kind in COLUMN_KINDS:
        names = columns.loc[columns["error_kind"] == kind, "column"].astype(str).tolist()
        if names:
            out.print(f"{kind.replace('_', ' ')}s ({len(names)}): {esc(_names(names, 8))}", soft_wrap=True)


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … (+{len(names) - limit} more)" if len(names) > limit else "")


def _items_frame(ins):
    import pandas as pd

    rows = []
    for section in ins.sections:
        for item in section.items:
            rows.append(
                {
                    "section": section.label,
                    "item": item.name,
                    "type": item.type,
                    "question": item.label,
                    "codes": "; ".join(f"{c.code}={c.label}" for c in ins.choices_of(item)),
                    "asked_when": item.relevant or "",
                    "required": bool(item.required),
                }
            )
    return pd.DataFrame(rows)


@questionnaire_app.command()
@command(aliases={"path": "out", **READ_ALIASES})
def derive(
    responses: Annotated[Path, typer.Argument(help="Responses: CSV, Parquet, SPSS .sav, Stata .dta.")],
    questionnaire: QuestionnaireOpt,
    out: Annotated[
        Path,
        typer.Option(help="Write the data with derived variables: .csv, .parquet, .sav, .xlsx or .json."),
    ],
    allow_column: AllowOpt = None,
    check: Annotated[
        bool, typer.Option(help="Refuse responses that fail validation (--no-check: invalid = missing).")
    ] = True,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Add the instrument's derived variables (census hours band, unmet need, ...) to responses."""
    from carepop.io import read_data
    from carepop.io.writers import write_table_atomic
    from carepop.questionnaires.derive import derive as run_derive

    check_output(
        out,
        suffixes=DATA_SUFFIXES,
        param="out",
        inputs=[(None, responses), ("questionnaire", _instrument_file(questionnaire))],
        what="the derived data",
    )
    allowed = no_empty(allow_column, "allow_column")
    data = read_data(responses, **read_options(input_format, encoding, sep))
    derived = run_derive(data, questionnaire, check=check, allow_columns=allowed)
    write_table_atomic(
        out,
        derived,
        derived.attrs.get("value_labels", {}),
        column_labels=derived.attrs.get("column_labels"),
        missing_ranges=derived.attrs.get("missing_codes"),
        param="out",
    )
    typer.echo(f"wrote {len(derived)} rows with derived variables to {out}", err=True)


@questionnaire_app.command()
@command(aliases={"path": "out"})
def export(
    questionnaire: QuestionnaireArg,
    to: Annotated[ExportFormat, typer.Option(help="xlsform (.xlsx), sav, dta, or codebook (.md / .html).")],
    out: Annotated[Path, typer.Option(help="The file to write.")],
) -> None:
    """Export an instrument: XLSForm for ODK / KoboToolbox, SPSS or Stata template, codebook."""
    from carepop.questionnaires.load import load_instrument

    if out.suffix.lower() not in _SUFFIXES[to]:
        raise CarepopError(
            (
                f"--to {to.value} writes {' or '.join(_SUFFIXES[to])} files, "
                f"not {out.suffix or 'a file without extension'}."
            ),
            code="unknown_format",
            got=out.suffix or str(out),
            expected=_SUFFIXES[to],
            fix=("give ", opt("out", metavar=f"FILE{_SUFFIXES[to][0]}")),
        )
    check_output(
        out,
        suffixes=_SUFFIXES[to],
        param="out",
        inputs=[("questionnaire", _instrument_file(questionnaire))],
        what=f"the {to.value}",
    )
    ins = load_instrument(questionnaire)
    if to == ExportFormat.codebook:
        from carepop.questionnaires.codebook import codebook

        fmt = "html" if out.suffix.lower() in (".html", ".htm") else "markdown"
        write_text_atomic(out, codebook(ins, fmt), param="out")
    elif to == ExportFormat.xlsform:
        from carepop.questionnaires.export_xlsform import write_xlsform

        write_atomic_with(out, lambda tmp: write_xlsform(ins, tmp), param="out")
    else:
        from carepop.questionnaires import export_stats

        writer = export_stats.write_sav if to == ExportFormat.sav else export_stats.write_dta
        write_atomic_with(out, lambda tmp: writer(ins, tmp), param="out")
    typer.echo(f"wrote the {to.value} of {ins.name!r} to {out}", err=True)
