"""Open a CLD event file (CSV or Parquet) for the engines, failing early on the wrong columns.

Both engines read Parquet: a CSV file is streamed into a temporary Parquet file (every column as
text, empty cells and ``NULL``/``NA`` as missing) that lives as long as the ``with`` block. The
column kinds of the file (text, integer, float, date, timestamp) decide how the SQL types each
field, so the same file gives the same typed values in DuckDB and in Spark.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from carepop.core.progress import progress
from carepop.errors import CarepopError, opt
from carepop.io.readers import check_encoding, check_unique_columns, csv_header, encoding_error, separator
from carepop.sources.cld import schema

__all__ = ["EventFile", "open_events"]

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class EventFile:
    """An event file ready for an engine: ``path`` is a Parquet file; ``kinds`` maps each CLD
    field to the kind of its column (``string``, ``int``, ``float``, ``date``, ``timestamp``,
    ``null``, or ``absent`` for an optional field the file does not have); ``rows`` is the number
    of data rows."""

    source: Path
    path: Path
    kinds: dict[str, str]
    rows: int


@contextmanager
def open_events(
    path: str | Path,
    *,
    spark_safe: bool = False,
    encoding: str | None = None,
    sep: str | None = None,
) -> Iterator[EventFile]:
    """Check ``path`` is a CSV or Parquet file with every CLD field and yield an :class:`EventFile`.

    ``spark_safe`` rewrites a Parquet file whose CLD date columns are nanosecond timestamps (what
    pandas writes), which Spark cannot read, into a temporary file with microsecond timestamps.
    A CSV file is read as ``encoding`` (default UTF-8, with or without BOM; ``cp1252`` for Excel's
    Windows files) with the field separator ``sep`` (default: detected from the header, one of
    ``,`` ``;`` tab ``|``).

    Raises :class:`CarepopError` (``file_not_found``, ``unknown_format``, ``unreadable``,
    ``missing_columns``, ``bad_type``, ``no_rows`` for a file with a header but no records)
    without writing anything the caller can see.
    """
    source = Path(path)
    if not source.is_file():
        raise CarepopError(
            f"No events file at {source}.",
            code="file_not_found",
            fix="give the path of a CSV or Parquet file",
        )
    suffix = source.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise CarepopError(
            f"Cannot read {suffix or 'that kind of'} files as CLD events.",
            code="unknown_format",
            fix="give a .csv or .parquet file",
        )
    if suffix in PARQUET_SUFFIXES and (encoding is not None or sep is not None):
        given = opt("encoding", encoding) if encoding is not None else opt("sep", sep)
        raise CarepopError(
            ("A Parquet file has no text encoding or separator to set: leave out ", given, "."),
            code="bad_option",
            fix=("leave out ", given, " for Parquet files"),
        )
    with tempfile.TemporaryDirectory(prefix="carepop-cld-") as tmp:
        if suffix in CSV_SUFFIXES:
            header, delimiter = _csv_header(source, encoding, sep)
            _check_columns(header, source)
            target = Path(tmp) / "events.parquet"
            rows = _csv_to_parquet(source, target, header, delimiter, encoding)
            _check_rows(rows, source)
            kinds = {f.name: "string" if f.name in header else "absent" for f in schema.FIELDS}
            yield EventFile(source, target, kinds, rows)
            return
        try:
            meta = pq.read_metadata(source)
            arrow_schema = meta.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as err:
            raise CarepopError(
                f"{source.name} cannot be read as Parquet: {err}",
                code="unreadable",
                fix="check the file is a complete Parquet file",
            ) from None
        _check_columns(list(arrow_schema.names), source)
        present = set(arrow_schema.names)
        kinds = {
            f.name: _kind(arrow_schema.field(f.name).type) if f.name in present else "absent"
            for f in schema.FIELDS
        }
        _check_kinds(kinds, arrow_schema)
        _check_rows(meta.num_rows, source)
        target = source
        if spark_safe and any(
            pa.types.is_timestamp(arrow_schema.field(n).type) and arrow_schema.field(n).type.unit == "ns"
            for n in schema.DATE_FIELDS
        ):
            target = Path(tmp) / "events.parquet"
            _rewrite_ns(source, target, arrow_schema)
        yield EventFile(source, target, kinds, meta.num_rows)


def _csv_header(source: Path, encoding: str | None, sep: str | None) -> tuple[list[str], str]:
    """The header's field names and the delimiter (``sep``, or detected: the commonest of
    , ; tab | outside quotes)."""
    if encoding is not None:
        check_encoding(encoding)
    delimiter = None if sep is None else separator(sep)
    try:
        with open(source, "rb") as fh:
            first = fh.readline()
    except OSError as err:
        raise CarepopError(
            f"{source.name} cannot be read: {err.strerror or err}",
            code="unreadable",
            fix="check the path and that you may read the file",
        ) from None
    if not first.strip():
        raise CarepopError(
            f"{source.name} is empty.", code="unreadable", fix="the first line must name the CLD fields"
        )
    return csv_header(source, encoding, delimiter)


def _check_columns(names: list[str], source: Path) -> None:
    check_unique_columns(names, source.name)
    missing = [n for n in schema.REQUIRED if n not in names]
    if not missing:
        return
    extra = [n for n in names if n not in schema.REQUIRED]
    close = []
    for name in missing:
        guess = difflib.get_close_matches(name, extra, n=1, cutoff=0.6) or [
            e for e in extra if e.lower() == name.lower()
        ]
        if guess:
            close.append(f"{guess[0]!r} -> {name!r}")
    hint = "rename " + ", ".join(close) if close else "the file needs every field of the CLD specification"
    raise CarepopError(
        f"{source.name} is not a CLD event file: {len(missing)} required field(s) missing: "
        + ", ".join(missing),
        code="missing_columns",
        column=missing[0],
        fix=hint,
    )


def _check_rows(rows: int, source: Path) -> None:
    if rows == 0:
        raise CarepopError(
            f"{source.name} has the CLD fields but no records.",
            code="no_rows",
            fix="check the export: the file holds only its header",
        )


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _kind(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", bool)(t):
        return "string"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_null(t):
        return "null"
    return "other"


def _check_kinds(kinds: dict[str, str], arrow_schema: pa.Schema) -> None:
    allowed = {
        "date": ("date", "timestamp", "string", "null"),
        "int": ("int", "float", "string", "null"),
    }
    for f in schema.FIELDS:
        ok = allowed.get(f.kind, ("string", "int", "float", "null"))
        if kinds[f.name] != "absent" and kinds[f.name] not in ok:
            raise CarepopError(
                f"Column {f.name} has type {arrow_schema.field(f.name).type}, which cannot hold "
                f"{'dates' if f.kind == 'date' else 'whole numbers' if f.kind == 'int' else 'codes'}.",
                code="bad_type",
                column=f.name,
                fix="write it as text (YYYY-MM-DD for dates) or as the matching Parquet type",
            )


BLOCK = 1 << 24  # bytes of CSV per batch


def _csv_to_parquet(
    source: Path, target: Path, header: list[str], delimiter: str, encoding: str | None = None
) -> int:
    """Stream ``source`` into ``target`` with every column as text; return the number of rows."""
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in header}, strings_can_be_null=True)
    codec = (
        "utf8" if encoding is None or encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding
    )
    rows = 0
    writer = None
    megabytes = max(1, -(-source.stat().st_size // (1 << 20)))
    try:
        with progress(f"reading {source.name} (MB)", total=megabytes) as advance:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=BLOCK, encoding=codec),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=convert,
            )
            done = 0
            for batch in reader:
                if writer is None:
                    writer = pq.ParquetWriter(target, batch.schema)
                writer.write_batch(batch)
                rows += batch.num_rows
                step = min(BLOCK >> 20, megabytes - done)  # about one block of the file per batch
                advance(step)
                done += step
            advance(megabytes - done)
        if writer is None:
            empty = pa.schema([(n, pa.string()) for n in header])
            writer = pq.ParquetWriter(target, empty)
    except UnicodeDecodeError as err:
        raise encoding_error(source, encoding, err) from None
    except (pa.ArrowException, OSError) as err:
        if "utf8" in str(err).lower().replace("-", ""):
            raise encoding_error(source, encoding) from None
        name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}.get(delimiter, repr(delimiter))
        raise CarepopError(
            f"{source.name} cannot be read as CSV: {err}",
            code="unreadable",
            fix=(
                f"every line needs the same number of {name}-separated fields as the header; if the "
                "separator is another, give it with ",
                opt("sep", metavar="SEP"),
            ),
        ) from None
    finally:
        if writer is not None:
            writer.close()
    return rows


def _rewrite_ns(source: Path, target: Path, arrow_schema: pa.Schema) -> None:
    fields = [
        pa.field(f.name, pa.timestamp("us"), f.nullable)
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"
        else f
        for f in arrow_schema
    ]
    new_schema = pa.schema(fields)
    pf = pq.ParquetFile(source)
    with pq.ParquetWriter(target, new_schema) as writer:
        for batch in pf.iter_batches():
            writer.write_table(pa.Table.from_batches([batch]).cast(new_schema, safe=False))
