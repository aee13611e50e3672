"""Read survey data files into pandas, keeping SPSS/Stata/SAS labels.

:func:`read_data` picks the reader from the file extension (or ``format=``):

============  ==========================  ==================================================
format        extensions                  what is kept
============  ==========================  ==================================================
``csv``       ``.csv``, ``.txt``          values as :func:`pandas.read_csv` parses them; the
                                          separator (``,`` ``;`` tab ``|``) is detected unless
                                          ``sep=`` is given; UTF-8 with or without a byte-order
                                          mark unless ``encoding=`` is given (``cp1252`` for
                                          the CSV files Excel writes on Windows)
``parquet``   ``.parquet``, ``.pq``       column types (categoricals stay categoricals) and
                                          any ``df.attrs`` pandas stored in the file
``spss``      ``.sav``, ``.zsav``         codes as values; value and variable labels;
                                          user-missing values become NaN
``stata``     ``.dta``                    codes as values; value and variable labels;
                                          extended missing values (``.a``-``.z``) become NaN
``sas``       ``.sas7bdat``               values and variable labels (value labels only when
                                          a format catalog is passed as ``catalog_file=``)
``xport``     ``.xpt``                    values and variable labels (SAS transport, v5/v8)
============  ==========================  ==================================================

Labelled variables keep their *codes* (so a labelled numeric can still be averaged); labels go
in ``df.attrs["value_labels"] = {column: {code: label}}`` (integral codes as Python ``int``) and
``df.attrs["column_labels"] = {column: label}``. Both keys are always present (empty when the
format has no labels). :class:`carepop.Survey` uses the value labels to name domains and levels.

A CSV header that names a column twice is refused (pandas would rename the second ``x`` to
``x.1`` and analyses would silently use the first); so is a text file that is not in the
encoding asked for (the error says which line and suggests ``encoding=``).

Extra keyword arguments go to the underlying reader (:func:`pandas.read_csv`,
:func:`pandas.read_parquet` or the ``pyreadstat.read_*`` function). The input file is only read.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from carepop.errors import CarepopError, opt

__all__ = [
    "FORMATS",
    "SEPARATORS",
    "check_encoding",
    "check_unique_columns",
    "csv_header",
    "detect_separator",
    "encoding_error",
    "read_data",
    "separator",
]

#: the field separators carepop detects in delimited text, and the names a user may give them
SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}

#: format name -> file extensions it is chosen for
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".txt"),
    "parquet": (".parquet", ".pq"),
    "spss": (".sav", ".zsav"),
    "stata": (".dta",),
    "sas": (".sas7bdat",),
    "xport": (".xpt",),
}
_DESCRIPTION = {
    "csv": "CSV (delimited text)",
    "parquet": "Parquet",
    "spss": "SPSS",
    "stata": "Stata",
    "sas": "SAS (sas7bdat)",
    "xport": "SAS transport (XPORT)",
}
_ALIASES = (
    {ext.lstrip("."): fmt for fmt, exts in FORMATS.items() for ext in exts}
    | {name: name for name in FORMATS}
    | {"sas7bdat": "sas", "xpt": "xport"}
)


# errors a reader raises when the bytes are not what the format expects
def _parse_errors() -> tuple[type[BaseException], ...]:
    """The errors a reader raises when the bytes are not what the format expects (pyreadstat's
    only where it has been imported: it is imported when a SPSS/Stata/SAS file is read)."""
    import sys

    errors: tuple[type[BaseException], ...] = (
        ValueError,  # includes pandas ParserError, UnicodeDecodeError, pyarrow ArrowInvalid
        OSError,
        csv.Error,
        pa.ArrowException,
    )
    prs = sys.modules.get("pyreadstat")
    if prs is not None:
        errors += (prs.ReadstatError, prs.PyreadstatError)
    return errors


def supported_formats() -> str:
    """Human-readable list of the formats and their extensions (for messages)."""
    return "; ".join(f"{fmt} ({', '.join(exts)})" for fmt, exts in FORMATS.items())


def read_data(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV, Parquet, SPSS, Stata or SAS file into a :class:`pandas.DataFrame`.

    Parameters
    ----------
    path : the file (a directory is accepted for a partitioned Parquet dataset).
    format : one of ``csv``, ``parquet``, ``spss``, ``stata``, ``sas``, ``xport`` (or an
        extension such as ``"sav"``); by default taken from the file extension.
    encoding : text encoding of a CSV file (default UTF-8, with or without a byte-order mark;
        ``cp1252`` for Excel's Windows CSV files), or of an SPSS/Stata/SAS file's text.
    sep : field separator of a CSV file (``,`` ``;`` ``\\t`` or ``tab``, ``|``); detected from the
        header line by default.
    **kwargs : passed to the underlying reader.

    Raises
    ------
    CarepopError
        ``file_not_found``, ``unknown_format``, ``empty_file``, ``unreadable_file``,
        ``bad_encoding``, ``duplicate_columns`` or ``bad_option``.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise CarepopError(
            f"No such file: {str(p)!r}.",
            code="file_not_found",
            fix=f"check the path {str(p)!r} (relative paths start from {os.getcwd()!r})",
        )
    fmt = _resolve_format(p, format)
    if p.is_dir() and fmt != "parquet":
        raise CarepopError(
            f"{str(p)!r} is a directory, not a file.",
            code="unreadable_file",
            fix="give the path of the data file itself",
        )
    if p.is_file() and p.stat().st_size == 0:
        raise _empty(p)
    if encoding is not None:
        check_encoding(encoding)
        if fmt == "parquet":
            raise CarepopError(
                "A Parquet file records its own text encoding.",
                code="bad_option",
                got=encoding,
                fix=("leave out ", opt("encoding", encoding), " for Parquet files"),
            )
        kwargs = {**kwargs, "encoding": encoding}
    if sep is not None:
        if fmt != "csv":
            raise CarepopError(
                f"A separator applies to CSV files, not {_DESCRIPTION[fmt]}.",
                code="bad_option",
                got=sep,
                fix=("leave out ", opt("sep", sep), f" for {_DESCRIPTION[fmt]} files"),
            )
        kwargs = {**kwargs, "sep": separator(sep)}
    try:
        df = _READERS[fmt](p, kwargs)
    except CarepopError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise _empty(p) from exc
    except UnicodeDecodeError as exc:
        raise encoding_error(p, kwargs.get("encoding"), exc) from None
    except _parse_errors() as exc:
        raise CarepopError(
            f"Cannot read {str(p)!r} as {_DESCRIPTION[fmt]}: {str(exc).strip() or type(exc).__name__}",
            code="unreadable_file",
            fix=(
                f"check that the file really is {_DESCRIPTION[fmt]}, or pass ",
                opt("format", metavar="FORMAT"),
                f" to read it as another format ({supported_formats()})",
            ),
        ) from exc
    if df.shape[1] == 0:
        raise _empty(p)
    check_unique_columns([str(c) for c in df.columns], p)
    df.attrs.setdefault("value_labels", {})
    df.attrs.setdefault("column_labels", {})
    return df


# ---------------------------------------------------------------------------- format choice
def _resolve_format(p: Path, format: str | None) -> str:
    if format is not None:
        fmt = _ALIASES.get(format.lower().lstrip("."))
        if fmt is None:
            raise CarepopError(
                f"Unknown format {format!r}.",
                code="unknown_format",
                fix=(
                    "set ",
                    opt("format", metavar="FORMAT"),
                    f" to one of {', '.join(FORMATS)}; extensions: {supported_formats()}",
                ),
            )
        return fmt
    ext = p.suffix.lower()
    for fmt, exts in FORMATS.items():
        if ext in exts:
            return fmt
    if ext in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise CarepopError(
            f"{str(p)!r} is a spreadsheet; carepop reads data files, not workbooks.",
            code="unknown_format",
            got=ext,
            expected=supported_formats(),
            fix="save the sheet as CSV (in Excel: File > Save As > 'CSV UTF-8') and give that file; "
            f"carepop reads {supported_formats()}",
        )
    raise CarepopError(
        f"Cannot tell the format of {str(p)!r} from its extension {ext or '(none)'!r}.",
        code="unknown_format",
        fix=(f"supported: {supported_formats()}; or pass ", opt("format", "csv")),
    )


def _empty(p: Path) -> CarepopError:
    return CarepopError(
        f"The file {str(p)!r} is empty: it has no columns of data.",
        code="empty_file",
        fix="check the file was written completely, or point to the right file",
    )


# ---------------------------------------------------------------------------- readers
def _read_csv(p: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
    own_header = not any(k in kwargs for k in ("header", "names", "skiprows", "usecols"))
    if "sep" not in kwargs and "delimiter" not in kwargs:
        if p.suffix.lower() == ".txt":
            kwargs = {**kwargs, "sep": _sniff_delimiter(p, kwargs.get("encoding"))}
        else:
            kwargs = {**kwargs, "sep": csv_header(p, kwargs.get("encoding"))[1]}
    if own_header and p.is_file():
        sep = kwargs.get("sep", kwargs.get("delimiter"))
        if isinstance(sep, str) and len(sep) == 1:
            names, _ = csv_header(p, kwargs.get("encoding"), sep)
            check_unique_columns(names, p)
    return pd.read_csv(p, **kwargs)


def separator(sep: str) -> str:
    """The one-character field separator a user's ``sep`` means (``tab`` and ``\\t`` are a tab)."""
    value = _SEP_NAMES.get(sep.strip().lower(), sep) if sep.strip() else sep
    if len(value) != 1 or value in ('"', "\n", "\r"):
        raise CarepopError(
            f"The separator {sep!r} is not one character.",
            code="bad_option",
            got=sep,
            expected="one of , ; tab |",
            fix=("give ", opt("sep", metavar="SEP"), " as one character, e.g. ';' (or 'tab')"),
        )
    return value


def detect_separator(header: str) -> str:
    """The field separator of a delimited-text header line: the commonest of ``,`` ``;`` tab
    ``|`` outside quotes (a comma when none appears, or on a tie with a comma)."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(SEPARATORS, key=lambda c: counts[c])  # ties keep the first: the comma
    return best if counts[best] else ","


def csv_header(
    path: str | os.PathLike[str], encoding: str | None = None, sep: str | None = None
) -> tuple[list[str], str]:
    """The column names of a delimited-text file's first line and its separator (``sep``, or
    detected with :func:`detect_separator`). The encoding defaults to UTF-8 (a byte-order mark
    is skipped); a first line that does not decode is a ``bad_encoding`` error."""
    p = Path(path)
    codec = (
        "utf-8-sig"
        if encoding is None or encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else encoding
    )
    with open(p, "rb") as fh:
        raw = fh.readline()
    try:
        first = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise encoding_error(p, encoding, exc, line=1) from None
    first = first.rstrip("\r\n")
    delimiter = sep if sep is not None else detect_separator(first)
    try:
        names = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error:
        names = first.split(delimiter)
    return names, delimiter


def check_unique_columns(names: list[str], where: str | os.PathLike[str]) -> None:
    """Refuse a header that names a column more than once (``duplicate_columns``)."""
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    dupes = [n for n, k in seen.items() if k > 1]
    if dupes:
        positions = {n: [i + 1 for i, m in enumerate(names) if m == n] for n in dupes}
        detail = "; ".join(f"{n!r} (columns {', '.join(map(str, positions[n]))})" for n in dupes)
        raise CarepopError(
            f"{str(where)!r} names {'a column' if len(dupes) == 1 else 'columns'} more than once: {detail}.",
            code="duplicate_columns",
            column=dupes[0],
            got=dupes,
            fix="rename or remove the repeated columns so that each name appears once",
        )


def check_encoding(encoding: str) -> None:
    """Refuse an encoding name Python does not know (``bad_option`` naming ``encoding``)."""
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CarepopError(
            f"Unknown text encoding {encoding!r}.",
            code="bad_option",
            got=encoding,
            expected="an encoding such as utf-8, cp1252 (Excel on Windows) or latin-1",
            fix=(
                "give ",
                opt("encoding", "cp1252"),
                " for Excel files, or the encoding the file was saved in",
            ),
        ) from None


def encoding_error(
    p: str | os.PathLike[str],
    encoding: str | None,
    exc: UnicodeDecodeError | None = None,
    line: int | None = None,
) -> CarepopError:
    """The error for a file that is not in ``encoding``: on which line, and how to read it."""
    p = Path(p)
    if line is None:
        line = _first_bad_line(p, encoding)
    used = encoding or "UTF-8"
    bad = b""
    if exc is not None and isinstance(exc.object, bytes):
        bad = exc.object[exc.start : exc.start + 1]
    where = f" (line {line}" + (f", byte 0x{bad.hex()}" if bad else "") + ")" if line else ""
    if encoding is None or encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"):
        fix = (
            "files saved by Excel on Windows are usually Windows-1252: pass ",
            opt("encoding", "cp1252"),
            " (or save the file as 'CSV UTF-8')",
        )
    else:
        fix = ("pass the encoding the file was saved in: ", opt("encoding", metavar="ENCODING"))
    return CarepopError(
        f"{str(p)!r} is not {used} text{where}.",
        code="bad_encoding",
        got=used,
        expected="text in the encoding given (UTF-8 by default)",
        fix=fix,
    )


def _first_bad_line(p: Path, encoding: str | None) -> int | None:
    """1-based number of the first line of ``p`` that does not decode (None if not found)."""
    import codecs

    codec = encoding or "utf-8-sig"
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        with open(p, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    decoder.decode(raw)
                except UnicodeDecodeError:
                    return number
    except (OSError, LookupError):
        return None
    return None


def _sniff_delimiter(p: Path, encoding: str | None) -> str:
    with open(p, "rb") as fh:
        sample = fh.read(65536).decode(encoding or "utf-8", errors="replace")
    if "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _read_parquet(p: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
    df = pd.read_parquet(p, **kwargs)
    # pandas stores attrs as JSON, so integer codes come back as strings: restore them
    labels = df.attrs.get("value_labels")
    if isinstance(labels, dict):
        df.attrs["value_labels"] = {
            col: (
                {_code_from_json(k): v for k, v in lab.items()}
                if col in df.columns and pd.api.types.is_numeric_dtype(df[col])
                else lab
            )
            for col, lab in labels.items()
        }
    return df


_Reader = Callable[[Path, dict[str, Any]], pd.DataFrame]


def _readstat(reader_name: str) -> _Reader:
    """A reader through ``pyreadstat.<reader_name>`` (pyreadstat imported on first use)."""

    def read(p: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
        import pyreadstat

        df, meta = getattr(pyreadstat, reader_name)(str(p), **kwargs)
        df.attrs["value_labels"] = {
            col: {_plain_code(code): str(label) for code, label in lab.items()}
            for col, lab in (meta.variable_value_labels or {}).items()
        }
        df.attrs["column_labels"] = {
            col: label for col, label in (meta.column_names_to_labels or {}).items() if label
        }
        return df

    return read


def _plain_code(code: Any) -> Any:
    """A label code as a plain Python value: integral numbers as int."""
    if hasattr(code, "item"):  # numpy scalar
        code = code.item()
    if isinstance(code, float) and code.is_integer():
        return int(code)
    return code


def _code_from_json(code: Any) -> Any:
    """A code read back from JSON attrs (``"1"``) as the number it was written from."""
    if isinstance(code, str):
        for parse in (int, float):
            try:
                return _plain_code(parse(code))
            except ValueError:
                pass
    return _plain_code(code)


_READERS: dict[str, _Reader] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "spss": _readstat("read_sav"),
    "stata": _readstat("read_dta"),
    "sas": _readstat("read_sas7bdat"),
    "xport": _readstat("read_xport"),
}
