"""Atomic writers: every output is written to a temporary file beside its target and renamed, so
a run that fails leaves nothing half-written (and an earlier file of that name untouched).

- :func:`check_output` refuses, before any work, an output path that cannot be written in the
  format its extension names, that is a folder or sits under a file, or that is one of the inputs;
- :func:`write_atomic_with` runs any writer on the temporary path;
- :func:`write_text_atomic` writes UTF-8 text;
- :func:`write_table_atomic` writes a table (a data frame) in the format its extension names:
  ``.csv``, ``.parquet``, ``.xlsx`` (Excel, via openpyxl), ``.json`` (an array of records, missing
  values as null) or ``.sav`` (SPSS, with labels and user-missing codes where given);
  :func:`write_frame_atomic` is the same function under its older name.

A file that cannot be written (no permission, a full disk, a name the file system refuses) is a
:class:`~carepop.errors.CarepopError` (``cannot_write``), never an ``OSError`` traceback.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from carepop.errors import CarepopError, opt

#: table formats by suffix (every command that writes a table writes these)
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".xlsx", ".json")
#: data-file formats by suffix: tables, and SPSS with labels
DATA_SUFFIXES: tuple[str, ...] = (*TABLE_SUFFIXES, ".sav")
#: kept for callers of the first version (data files)
FRAME_SUFFIXES = DATA_SUFFIXES
#: Excel's limits on one sheet
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384


# ------------------------------------------------------------------------------ checks
def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name the same file (same path, a symlink, a relative path or a
    hard link to it)."""
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return os.path.realpath(pa) == os.path.realpath(pb)


def check_output(
    path: str | os.PathLike[str],
    *,
    suffixes: Iterable[str] = TABLE_SUFFIXES,
    param: str | None = "path",
    inputs: Iterable[tuple[str | None, str | os.PathLike[str] | None]] = (),
    what: str = "the output",
) -> Path:
    """Check, before any work, that ``path`` can be written as one of ``suffixes``; return it.

    Refused (:class:`~carepop.errors.CarepopError`, nothing written):

    - ``unknown_format``: the extension is not one of ``suffixes``;
    - ``overwrites_input``: ``path`` is one of ``inputs`` (pairs ``(parameter, path)``; the same
      file by any name), so writing would destroy the data being read;
    - ``cannot_write``: ``path`` is a folder, sits under a file, or its folder cannot be written.

    ``param`` is the parameter (command-line option) that gave ``path``; the fix names it.
    """
    p = Path(path).expanduser()
    allowed = tuple(suffixes)
    suffix = p.suffix.lower()
    ask = _ask(param, f"FILE{allowed[0]}")
    if p.is_dir():
        raise CarepopError(
            f"{str(path)!r} is a folder, not a file name.",
            code="cannot_write",
            got=str(path),
            fix=("give ", *ask, f" naming a file inside it, e.g. {str(p / ('result' + allowed[0]))!r}"),
        )
    if suffix not in allowed:
        raise CarepopError(
            f"Cannot write {what} as {suffix or 'a file without an extension'}: "
            f"this writes {_listing(allowed)} files.",
            code="unknown_format",
            got=suffix or str(path),
            expected=allowed,
            fix=("give ", *ask, f" ending in {_listing(allowed)}; the extension sets the format"),
        )
    for name, source in inputs:
        if source is None:
            continue
        if same_file(p, source):
            given = (" (given to ", opt(name, metavar="FILE"), ")") if name else ()
            raise CarepopError(
                (f"{str(path)!r} is an input of this run", *given, ": writing it would replace the data."),
                code="overwrites_input",
                got=str(path),
                fix=("write to a new file: ", *ask),
            )
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise CarepopError(
            f"Cannot write {str(path)!r}: {str(ancestor)!r} is a file, not a folder.",
            code="cannot_write",
            got=str(path),
            fix=("give ", *ask, " in a folder that exists (or can be created)"),
        )
    if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        raise CarepopError(
            f"Cannot write {str(path)!r}: the folder {str(ancestor)!r} is not writable.",
            code="cannot_write",
            got=str(path),
            fix=("give ", *ask, " in a folder you can write to"),
        )
    if p.exists() and not os.access(p, os.W_OK):
        raise CarepopError(
            f"Cannot write {str(path)!r}: the file is read-only.",
            code="cannot_write",
            got=str(path),
            fix=("give ", *ask, " naming a file you can write, or make it writable"),
        )
    return p


def check_frame_suffix(path: str | os.PathLike[str], param: str = "path") -> None:
    """Fail before any work if ``path`` is not a data file carepop writes (:data:`DATA_SUFFIXES`)."""
    check_output(path, suffixes=DATA_SUFFIXES, param=param)


def _ask(param: str | None, metavar: str) -> tuple[Any, ...]:
    return (opt(param, metavar=metavar),) if param else (f"a file name like {metavar}",)


def _listing(suffixes: tuple[str, ...]) -> str:
    return ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]


# ------------------------------------------------------------------------------ writing
def write_atomic_with(
    path: str | os.PathLike[str], writer: Callable[[str], None], *, param: str | None = "path"
) -> None:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    Folders on the way are created. An ``OSError`` (permission, full disk, a folder in the way)
    becomes a ``cannot_write`` :class:`~carepop.errors.CarepopError`; nothing is left behind."""
    path = Path(path).expanduser()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        reason = err.strerror or str(err)
        raise CarepopError(
            f"Cannot write {str(path)!r}: {reason}.",
            code="cannot_write",
            got=str(path),
            fix=("give ", *_ask(param, "FILE"), " in a folder you can write to"),
        ) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str | None) -> None:
    if tmp is not None and os.path.exists(tmp):
        os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str, *, param: str | None = "path") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    write_atomic_with(path, _write, param=param)


def table_records(frame: Any) -> list[dict[str, Any]]:
    """A data frame as a list of records of plain Python values (missing values and non-finite
    numbers as None, dates as ISO text), in column order."""
    columns = [str(c) for c in frame.columns]
    return [
        dict(zip(columns, (_plain(v) for v in row), strict=True))
        for row in frame.itertuples(index=False, name=None)
    ]


def table_json(frame: Any) -> str:
    """A data frame as JSON: an array of records (see :func:`table_records`), one line per record."""
    records = table_records(frame)
    if not records:
        return "[]\n"
    lines = ",\n".join("  " + json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records)
    return "[\n" + lines + "\n]\n"


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "isoformat") and not isinstance(v, str):
        try:
            return None if v != v else v.isoformat()  # NaT
        except (TypeError, ValueError):
            return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # numpy scalar
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (bool, int, str)):
        return v
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def write_table_atomic(
    path: str | os.PathLike[str],
    frame: Any,
    value_labels: dict[str, dict[Any, str]] | None = None,
    *,
    column_labels: dict[str, str] | None = None,
    missing_ranges: dict[str, list[Any]] | None = None,
    param: str | None = "path",
) -> None:
    """Write a data frame in the format of ``path``'s extension (:data:`DATA_SUFFIXES`), atomically.

    For SPSS, ``value_labels`` ({column: {code: label}}), ``column_labels`` ({column: variable
    label}) and ``missing_ranges`` ({column: [user-missing codes]}) are written for the columns
    the frame has; the other formats carry the values only.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        check_output(path, suffixes=DATA_SUFFIXES, param=param)
    if suffix == ".xlsx":
        rows, cols = frame.shape
        if rows + 1 > XLSX_MAX_ROWS or cols > XLSX_MAX_COLUMNS:
            raise CarepopError(
                f"{rows:,} rows x {cols:,} columns do not fit on one Excel sheet "
                f"(at most {XLSX_MAX_ROWS - 1:,} rows and {XLSX_MAX_COLUMNS:,} columns).",
                code="too_large",
                got=f"{rows} x {cols}",
                fix=("write .csv or .parquet instead: ", *_ask(param, "FILE.parquet")),
            )

    def _write(tmp: str) -> None:
        try:
            if suffix == ".csv":
                frame.to_csv(tmp, index=False)
            elif suffix == ".parquet":
                frame.to_parquet(tmp, index=False)
            elif suffix == ".json":
                with open(tmp, "w", encoding="utf-8", newline="") as fh:
                    fh.write(table_json(frame))
            elif suffix == ".xlsx":
                _write_xlsx(frame, tmp)
            else:
                _write_sav(frame, tmp, value_labels, column_labels, missing_ranges)
        except (CarepopError, OSError):
            raise
        except Exception as err:  # the format cannot hold these values (types, names, sizes)
            raise CarepopError(
                f"Cannot write the table as {suffix}: {str(err).strip() or type(err).__name__}",
                code="cannot_write",
                got=suffix,
                fix=("write another format, e.g. ", *_ask(param, "FILE.csv")),
            ) from None

    write_atomic_with(path, _write, param=param)


#: the older name of :func:`write_table_atomic`
write_frame_atomic = write_table_atomic


def _write_xlsx(frame: Any, tmp: str) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    out = frame.copy()
    for col in out.columns:  # Excel has no time zones; keep the wall-clock time
        tz = getattr(getattr(out[col], "dt", None), "tz", None)
        if tz is not None:
            out[col] = out[col].dt.tz_localize(None)
    try:
        out.to_excel(tmp, index=False, engine="openpyxl")
    except IllegalCharacterError as err:
        raise CarepopError(
            "A text value holds a control character that Excel cannot store.",
            code="cannot_write",
            got=str(err) or None,
            fix="write .csv or .parquet instead",
        ) from None


def _write_sav(
    frame: Any,
    tmp: str,
    value_labels: dict[str, dict[Any, str]] | None,
    column_labels: dict[str, str] | None,
    missing_ranges: dict[str, list[Any]] | None,
) -> None:
    import pandas as pd
    import pyreadstat

    columns = set(frame.columns)
    labels = {k: v for k, v in (value_labels or {}).items() if k in columns}
    extra: dict[str, Any] = {}
    if column_labels:
        extra["column_labels"] = {k: v for k, v in column_labels.items() if k in columns and v}
    if missing_ranges:
        extra["missing_ranges"] = {
            k: list(v)
            for k, v in missing_ranges.items()
            if k in columns and len(v) and pd.api.types.is_numeric_dtype(frame[k])
        }
    pyreadstat.write_sav(frame, tmp, variable_value_labels=labels, **extra)
