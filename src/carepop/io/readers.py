"""Read survey data files into pandas, keeping SPSS/Stata/SAS labels.

:func:`read_data` picks the reader from the file extension (or ``format=``):

============  ==========================  ==================================================
format        extensions                  what is kept
============  ==========================  ==================================================
``csv``       ``.csv``, ``.txt``          values as :func:`pandas.read_csv` parses them; for
                                          ``.txt`` the delimiter (``,`` tab ``;`` ``|``) is
                                          sniffed unless ``sep=`` is given
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
import pyreadstat

from carepop.errors import CarepopError

__all__ = ["FORMATS", "read_data"]

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
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes pandas ParserError, UnicodeDecodeError, pyarrow ArrowInvalid
    OSError,
    csv.Error,
    pa.ArrowException,
    pyreadstat.ReadstatError,
    pyreadstat.PyreadstatError,
)


def supported_formats() -> str:
    """Human-readable list of the formats and their extensions (for messages)."""
    return "; ".join(f"{fmt} ({', '.join(exts)})" for fmt, exts in FORMATS.items())


def read_data(path: str | os.PathLike[str], *, format: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV, Parquet, SPSS, Stata or SAS file into a :class:`pandas.DataFrame`.

    Parameters
    ----------
    path : the file (a directory is accepted for a partitioned Parquet dataset).
    format : one of ``csv``, ``parquet``, ``spss``, ``stata``, ``sas``, ``xport`` (or an
        extension such as ``"sav"``); by default taken from the file extension.
    **kwargs : passed to the underlying reader.

    Raises
    ------
    CarepopError
        ``file_not_found``, ``unknown_format``, ``empty_file`` or ``unreadable_file``.
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
    try:
        df = _READERS[fmt](p, kwargs)
    except pd.errors.EmptyDataError as exc:
        raise _empty(p) from exc
    except _PARSE_ERRORS as exc:
        raise CarepopError(
            f"Cannot read {str(p)!r} as {_DESCRIPTION[fmt]}: {str(exc).strip() or type(exc).__name__}",
            code="unreadable_file",
            fix=f"check that the file really is {_DESCRIPTION[fmt]}, or pass format= to read it as "
            f"another format ({supported_formats()})",
        ) from exc
    if df.shape[1] == 0:
        raise _empty(p)
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
                fix=f"use one of {', '.join(FORMATS)}; extensions: {supported_formats()}",
            )
        return fmt
    ext = p.suffix.lower()
    for fmt, exts in FORMATS.items():
        if ext in exts:
            return fmt
    raise CarepopError(
        f"Cannot tell the format of {str(p)!r} from its extension {ext or '(none)'!r}.",
        code="unknown_format",
        fix=f"supported: {supported_formats()}; or pass format= (e.g. format='csv')",
    )


def _empty(p: Path) -> CarepopError:
    return CarepopError(
        f"The file {str(p)!r} is empty: it has no columns of data.",
        code="empty_file",
        fix="check the file was written completely, or point to the right file",
    )


# ---------------------------------------------------------------------------- readers
def _read_csv(p: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
    if p.suffix.lower() == ".txt" and "sep" not in kwargs and "delimiter" not in kwargs:
        kwargs = {**kwargs, "sep": _sniff_delimiter(p, kwargs.get("encoding"))}
    return pd.read_csv(p, **kwargs)


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


def _readstat(reader: Callable[..., tuple[pd.DataFrame, Any]]) -> _Reader:
    def read(p: Path, kwargs: dict[str, Any]) -> pd.DataFrame:
        df, meta = reader(str(p), **kwargs)
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
    "spss": _readstat(pyreadstat.read_sav),
    "stata": _readstat(pyreadstat.read_dta),
    "sas": _readstat(pyreadstat.read_sas7bdat),
    "xport": _readstat(pyreadstat.read_xport),
}
