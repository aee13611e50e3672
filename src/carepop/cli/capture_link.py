"""``carepop capture link``: the capture-pattern table of person-level lists, linked by a keyed hash.

carepop capture link FILE FILE [FILE ...] --key-file KEY
    (--id COL | --name COL[,COL...] --dob COL --postcode COL [--dob-format %d/%m/%Y])
    [--names A,B,C] [--out TABLE.csv|.parquet|.xlsx|.json] [--format table|json|csv]
    [--report REPORT.json] [--link-file LINKS.csv|.parquet|.xlsx|.json]
    [--encoding ENC] [--sep SEP] [--input-format FORMAT]

Each FILE is one list (CSV, Parquet, SPSS, Stata, SAS); ``--names`` names them (default: the file
stems). People are matched by ``HMAC-SHA-256`` of their identifier with the key in ``--key-file``
(see :mod:`carepop.capture.link` for the normalisation). The result is the aggregate table only:
one 0/1 column per list and ``count``, one row per observed pattern, written to ``--out`` (or
printed). ``--report`` writes the match rates (rows read, unusable rows by number, duplicates
merged, overlaps) as JSON; a short summary goes to stderr. No person-level output is written
unless ``--link-file`` asks for the hashed link file. The key and the identifiers never appear in
any output, message or error. CSV lists are read as text (leading zeros kept; only empty fields
are missing, so that names such as "Nan" or "NA" are kept). Every output is written atomically;
bad input prints ``error: ...`` and exits with status 2 without writing anything.

Registered in the ``capture`` group as ``capture_app.command("link")(link)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from carepop.cli.common import command
from carepop.cli.options import READ_ALIASES, EncodingOpt, FormatOpt, InputFormatOpt, SepOpt, read_options
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, prepare
from carepop.errors import CarepopError, opt


@command(aliases=READ_ALIASES)
def link(
    files: Annotated[
        list[Path],
        typer.Argument(help="The person-level lists, two or more: CSV, Parquet, SPSS .sav, Stata .dta, SAS."),
    ],
    key_file: Annotated[
        Path,
        typer.Option(
            help="File holding the secret linkage key (at least 32 bytes; e.g. 64 hex characters). "
            "Never written or shown."
        ),
    ],
    names: Annotated[
        str | None,
        typer.Option(help="Names of the lists, comma-separated, in file order (default: file stems)."),
    ] = None,
    id: Annotated[str | None, typer.Option(help="Link by this pseudonymised identifier column.")] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Link by name (COL or COL,COL e.g. forename,surname) + --dob + --postcode."),
    ] = None,
    dob: Annotated[str | None, typer.Option(help="Date-of-birth column (with --name).")] = None,
    postcode: Annotated[str | None, typer.Option(help="Postcode column (with --name).")] = None,
    dob_format: Annotated[
        str | None, typer.Option(help="How the dates of birth are written, e.g. %d/%m/%Y (default %Y-%m-%d).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the capture-pattern table here (atomically): .csv, .parquet, .xlsx or .json."
        ),
    ] = None,
    format: FormatOpt = None,
    report: Annotated[Path | None, typer.Option(help="Write the match-rate report here (.json).")] = None,
    link_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write the hashed link file (one row per person: hash and 0/1 per list). "
            "Person-level: only if you need it."
        ),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Link person-level lists by a keyed hash (HMAC-SHA-256) and write only the capture-pattern
    table: one 0/1 column per list and a count, one row per observed pattern."""
    from carepop.capture.link import link_lists, read_key
    from carepop.io import TABLE_SUFFIXES, check_output, read_data, same_file, write_table_atomic

    list_names = _list_names(files, names)
    inputs: list[tuple[str | None, Any]] = [(None, f) for f in files] + [("key_file", key_file)]
    fmt = prepare(format, out, inputs=inputs, what="the capture table")
    outputs = [("out", out)]
    if report is not None:
        check_output(report, suffixes=(".json",), param="report", inputs=inputs, what="the report")
        outputs.append(("report", report))
    if link_file is not None:
        check_output(
            link_file, suffixes=TABLE_SUFFIXES, param="link_file", inputs=inputs, what="the link file"
        )
        outputs.append(("link_file", link_file))
    _distinct_outputs(outputs, same_file)
    _distinct_files(files, list_names, same_file)
    key = read_key(key_file)

    read = read_options(input_format, encoding, sep)
    frames = [
        (n, read_data(f, **read, **_as_text(f, input_format))) for n, f in zip(list_names, files, strict=True)
    ]
    result = link_lists(
        frames,
        key=key,
        id=id,
        name=split_list(name, "name"),
        dob=dob,
        postcode=postcode,
        dob_format=dob_format,
        keep_links=link_file is not None,
    )
    _summary(result.report)
    if report is not None:
        from carepop.io import write_text_atomic

        write_text_atomic(
            report, json.dumps(result.report, indent=2, ensure_ascii=False) + "\n", param="report"
        )
        typer.echo(f"wrote the linkage report to {report}", err=True)
    if link_file is not None and result.links is not None:
        write_table_atomic(link_file, result.links, param="link_file")
        typer.echo(f"wrote the hashed link file ({len(result.links)} people) to {link_file}", err=True)
    emit(
        result.table,
        fmt,
        out,
        title="capture patterns",
        wrote=f"wrote {len(result.table)} capture pattern(s) of {len(list_names)} lists to {out}",
    )


def _list_names(files: list[Path], names: str | None) -> list[str]:
    if names is None:
        return [Path(f).stem for f in files]
    given = split_list(names, "names", "A,B,C") or []
    if len(given) != len(files):
        raise CarepopError(
            f"{len(given)} list name(s) for {len(files)} file(s).",
            code="bad_option",
            got=names,
            expected=f"{len(files)} names, one per file, in file order",
            fix=("give ", opt("names", metavar="A,B,C"), " with one name per file"),
        )
    return given


def _distinct_files(files: list[Path], list_names: list[str], same_file: Any) -> None:
    for i in range(len(files)):
        for j in range(i):
            if same_file(files[i], files[j]):
                raise CarepopError(
                    f"The same file is given twice ({str(files[j])!r} and {str(files[i])!r}): "
                    "its people would be counted as found on two lists.",
                    code="duplicate_list",
                    got=str(files[i]),
                    fix="give each list's file once",
                )


def _distinct_outputs(outputs: list[tuple[str, Path | None]], same_file: Any) -> None:
    given = [(p, path) for p, path in outputs if path is not None]
    for i in range(len(given)):
        for j in range(i):
            if same_file(given[i][1], given[j][1]):
                raise CarepopError(
                    f"{str(given[i][1])!r} is given to two outputs: one would replace the other.",
                    code="bad_option",
                    got=str(given[i][1]),
                    fix=("write ", opt(given[i][0], metavar="FILE"), " to another file"),
                )


def _as_text(path: Path, input_format: str | None) -> dict[str, Any]:
    """Read a CSV list as text: identifiers keep their leading zeros, and only an empty field is
    missing (a name such as "Nan" or "NA" is a name)."""
    from carepop.io import FORMATS

    fmt = (input_format or "").lower().lstrip(".")
    is_csv = fmt in ("csv", "txt") if fmt else Path(path).suffix.lower() in FORMATS["csv"]
    return {"dtype": str, "keep_default_na": False, "na_values": [""]} if is_csv else {}


def _summary(report: dict[str, Any]) -> None:
    """Per list: rows read, unusable rows, duplicates merged, people, match rate (stderr)."""
    for entry in report["lists"]:
        rows = entry["unusable_rows"]
        shown = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        unusable = f"{entry['n_unusable']} unusable" + (f" (rows {shown})" if rows else "")
        typer.echo(
            f"{entry['list']}: {entry['rows_read']} rows read, {unusable}, "
            f"{entry['duplicates']} duplicate(s) merged, {entry['people']} people, "
            f"{entry['match_rate']:.1%} also on another list",
            err=True,
        )
    for ov in report["overlaps"]:
        a, b = ov["lists"]
        typer.echo(f"{a} & {b}: {ov['both']} people on both", err=True)
