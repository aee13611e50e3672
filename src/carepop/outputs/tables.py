"""Published tables: one CSV and one Parquet file per table, and one Excel workbook with a sheet per
table and a ``notes`` sheet — written so that the same tables give the same bytes.

Reproducible bytes: CSV is plain text (floats at full precision, ``\\n`` line ends); Parquet is
written by pyarrow without the pandas index and with fixed writer options; Excel files are ZIP
archives whose entries carry a date and whose ``docProps/core.xml`` carries creation and
modification times, so the workbook is built in memory and re-packed with a fixed date (1 Jan 2000)
and fixed document times. A run's tables can then be compared byte for byte with another run's
(``carepop run`` on the demo's config reproduces the demo's tables).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError

#: the table formats a run can write
TABLE_FORMATS = ("csv", "parquet", "xlsx")
_FIXED_ZIP_DATE = (2000, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime(2000, 1, 1)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="snappy", write_statistics=True)


def sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """An Excel sheet name for ``name``: at most 31 characters, none of ``[]:*?/\\``, unique."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    out, i, taken = base, 2, set(taken)
    while out in taken:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    return out


def workbook_bytes(tables: Mapping[str, pd.DataFrame], notes: Iterable[str]) -> bytes:
    """An .xlsx with one sheet per table and a ``notes`` sheet, with fixed dates (module docstring)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    names: list[str] = []
    for name, frame in tables.items():
        if len(frame) + 1 > 1_048_576 or len(frame.columns) > 16_384:
            raise CarepopError(
                f"The table {name!r} is too large for an Excel sheet ({len(frame):,} rows).",
                code="too_large",
                fix='write CSV or Parquet only ([outputs] tables = ["csv", "parquet"])',
            )
        ws = wb.create_sheet(sheet_name(name, names))
        names.append(ws.title)
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
    ws = wb.create_sheet(sheet_name("notes", names))
    ws.append(["note"])
    for note in notes:
        ws.append([str(note)])
    wb.properties.created = _FIXED_DOC_TIME
    wb.properties.modified = _FIXED_DOC_TIME
    wb.properties.creator = "carepop"
    raw = io.BytesIO()
    wb.save(raw)
    return _repack(raw.getvalue())


def _cell(v: object) -> object:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item"):
        return v.item()  # numpy scalars
    return v


def _repack(data: bytes) -> bytes:
    """The same ZIP with every entry dated 1 Jan 2000 and fixed document times in core.xml."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2000-01-01T00:00:00Z", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def write_tables(
    folder: Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    formats: Iterable[str] = TABLE_FORMATS,
    notes: Iterable[str] = (),
    workbook: str = "tables.xlsx",
) -> list[Path]:
    """Write every table in every format into ``folder`` (which exists); return the files written."""
    formats = list(formats)
    unknown = [f for f in formats if f not in TABLE_FORMATS]
    if unknown:
        raise CarepopError(
            f"Unknown table format(s): {', '.join(map(repr, unknown))}.",
            code="unknown_format",
            got=unknown,
            expected=list(TABLE_FORMATS),
            fix="use csv, parquet and/or xlsx",
        )
    written = []
    for name, frame in tables.items():
        if "csv" in formats:
            write_csv(frame, folder / f"{name}.csv")
            written.append(folder / f"{name}.csv")
        if "parquet" in formats:
            write_parquet(frame, folder / f"{name}.parquet")
            written.append(folder / f"{name}.parquet")
    if "xlsx" in formats:
        (folder / workbook).write_bytes(workbook_bytes(tables, notes))
        written.append(folder / workbook)
    return written
