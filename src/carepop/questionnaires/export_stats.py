"""SPSS ``.sav`` and Stata ``.dta`` templates: every variable of the instrument, typed, with
variable labels and value labels, and no rows — ready to be filled or to define a data entry.

Column layout (the same as :func:`~.derive.derive` produces): one numeric column per single-choice,
integer and decimal item; a string column per text item; a date column per date item; one 0/1
column per option of a multiple-choice item (``<item>_<code>``, labelled "item: option"); then
the derived variables. Responses in this layout validate as they are (indicator columns are
recognised). In SPSS, "missing" codes (don't know, prefer not to say) are declared user-missing
and variables are marked nominal, ordinal or scale. Stata variable labels are cut to 80
characters.

Text columns are as wide as the item's ``pattern`` allows (``la_code``: 9 bytes), else 255 bytes
in SPSS (``A255``) and 244 in Stata (``str244``, shown ``%-244s``). pyreadstat sizes a string
column from its values, so the template is written with one row of placeholders of those widths
and the row is then taken out of the file (header counts and offsets adjusted); the result is
read back and checked before it is kept.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyreadstat

from carepop.errors import CarepopError
from carepop.questionnaires.derive import labels_of
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Instrument, Item

try:  # the regular-expression parser (to find the longest text a pattern allows)
    from re import _parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = ["StatsTemplate", "stats_template", "write_dta", "write_sav"]

#: width of a text column whose pattern does not bound it: SPSS's longest short string, and
#: the longest string every Stata release reads
SAV_TEXT_WIDTH = 255
DTA_TEXT_WIDTH = 244
_DTA_MAX_FIXED = 2044  # str2045 and longer would be written as strL


@dataclass
class StatsTemplate:
    """An empty frame with the instrument's columns and its labels."""

    frame: pd.DataFrame
    column_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    missing_codes: dict[str, list[int]] = field(default_factory=dict)
    measure: dict[str, str] = field(default_factory=dict)
    #: text columns -> the most bytes the item's pattern allows (None: not bounded)
    text_max: dict[str, int | None] = field(default_factory=dict)

    def text_widths(self, default: int, cap: int) -> dict[str, int]:
        """Storage width of each text column: its pattern's bound (at most ``cap``), else ``default``."""
        return {c: default if m is None else max(1, min(m, cap)) for c, m in self.text_max.items()}


def stats_template(instrument: Instrument | str, *, include_derived: bool = True) -> StatsTemplate:
    """The template's columns (0 rows), labels, user-missing codes and measurement levels."""
    ins = load_instrument(instrument)
    value_labels, column_labels = labels_of(ins)
    columns: dict[str, pd.Series] = {}
    missing: dict[str, list[int]] = {}
    measure: dict[str, str] = {}
    text_max: dict[str, int | None] = {}
    for item in ins.data_items:
        if item.type == "select_multiple":
            for col in ins.multi_columns(item):
                columns[col] = pd.Series([], dtype=float)
                measure[col] = "nominal"
            continue
        if item.type == "text":
            columns[item.name] = pd.Series([], dtype=object)
            measure[item.name] = "nominal"
            text_max[item.name] = _pattern_bytes(item)
        elif item.type == "date":
            columns[item.name] = pd.Series([], dtype="datetime64[ns]")
            measure[item.name] = "scale"
        else:
            columns[item.name] = pd.Series([], dtype=float)
            if item.type == "select_one":
                measure[item.name] = "ordinal" if ins.is_ordered(item) else "nominal"
                codes = [c.code for c in ins.choices_of(item) if c.missing]
                if codes:
                    missing[item.name] = codes
            else:
                measure[item.name] = "scale"
    if include_derived:
        for d in ins.derived:
            columns[d.name] = pd.Series([], dtype=float)
            measure[d.name] = (
                ("ordinal" if ins.is_ordered(d) else "nominal") if d.type == "select_one" else "scale"
            )
    else:
        for d in ins.derived:
            value_labels.pop(d.name, None)
            column_labels.pop(d.name, None)
    frame = pd.DataFrame(columns)
    return StatsTemplate(
        frame=frame,
        column_labels={k: v for k, v in column_labels.items() if k in frame.columns},
        value_labels={k: v for k, v in value_labels.items() if k in frame.columns},
        missing_codes=missing,
        measure=measure,
        text_max=text_max,
    )


def _pattern_bytes(item: Item) -> int | None:
    """The most UTF-8 bytes a text item's pattern lets through; None without a bounded pattern.
    A pattern that may match non-ASCII characters (``.``, ``\\w``, ``[^...]``, ...) counts 4
    bytes a character."""
    if item.pattern is None:
        return None
    chars = _sre_parse.parse(item.pattern).getwidth()[1]
    if chars >= _sre_parse.MAXREPEAT - 1:  # unbounded (+, *, {n,}): capped at MAXREPEAT - 1 or above
        return None
    ascii_only = item.pattern.isascii() and not re.search(r"\.|\\[wWsSdD]|\[\^", item.pattern)
    return int(chars) * (1 if ascii_only else 4)


def write_sav(instrument: Instrument | str, path: str | os.PathLike[str], **kwargs) -> None:
    """Write the SPSS template to ``path`` (use the CLI for an atomic write)."""
    t = stats_template(instrument, **kwargs)
    ins = load_instrument(instrument)
    path = os.fspath(path)
    widths = t.text_widths(SAV_TEXT_WIDTH, SAV_TEXT_WIDTH)
    pyreadstat.write_sav(
        _placeholder_row(t.frame, widths),
        path,
        file_label=f"{ins.title} v{ins.version}"[:64],
        column_labels=t.column_labels,
        variable_value_labels=t.value_labels,
        missing_ranges={k: list(v) for k, v in t.missing_codes.items()},
        variable_measure=t.measure,
    )
    _drop_sav_row(path, t.frame, widths)
    _check_empty(pyreadstat.read_sav, path, widths)


def write_dta(instrument: Instrument | str, path: str | os.PathLike[str], **kwargs) -> None:
    """Write the Stata template to ``path`` (use the CLI for an atomic write)."""
    t = stats_template(instrument, **kwargs)
    ins = load_instrument(instrument)
    path = os.fspath(path)
    widths = t.text_widths(DTA_TEXT_WIDTH, _DTA_MAX_FIXED)
    pyreadstat.write_dta(
        _placeholder_row(t.frame, widths),
        path,
        file_label=f"{ins.title} v{ins.version}"[:80],
        column_labels={k: v[:80] for k, v in t.column_labels.items()},
        variable_value_labels=t.value_labels,
        variable_format={c: f"%-{w}s" for c, w in widths.items()},
    )
    _drop_dta_row(path)
    _check_empty(pyreadstat.read_dta, path, widths)


# ---------------------------------------------------------------------------- empty files, wide text
def _placeholder_row(frame: pd.DataFrame, widths: dict[str, int]) -> pd.DataFrame:
    """One row: each text column a placeholder of its width (so pyreadstat sizes it), the rest missing."""
    row = {}
    for col in frame.columns:
        if col in widths:
            row[col] = pd.Series(["x" * widths[col]], dtype=object)
        elif frame[col].dtype.kind == "M":
            row[col] = pd.Series([pd.NaT], dtype=frame[col].dtype)
        else:
            row[col] = pd.Series([np.nan], dtype=frame[col].dtype)
    return pd.DataFrame(row, columns=frame.columns)


def _broken(path: str, what: str) -> CarepopError:
    return CarepopError(
        f"Could not write the empty template {path!r}: {what}.",
        code="write_failed",
        fix="report this as a carepop bug, with the pyreadstat version",
    )


def _drop_sav_row(path: str, frame: pd.DataFrame, widths: dict[str, int]) -> None:
    """Take the one data row out of an uncompressed .sav file: the case count in the header and
    in the 64-bit case-count record become 0, and the row's bytes (at the end) go."""
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    if data[:4] != b"$FL2" or len(data) < 176:
        raise _broken(path, "not an SPSS system file")
    end = "<" if struct.unpack_from("<i", data, 64)[0] in (2, 3) else ">"
    if struct.unpack_from(end + "i", data, 72)[0] != 0:
        raise _broken(path, "the file is compressed")
    # each value takes 8 bytes; a string of up to 255 bytes its width rounded up to 8
    row_bytes = sum(-(-widths[c] // 8) * 8 if c in widths else 8 for c in frame.columns)
    terminator = struct.pack(end + "ii", 999, 0)
    if struct.unpack_from(end + "i", data, 80)[0] != 1 or data[-row_bytes - 8 : -row_bytes] != terminator:
        raise _broken(path, "unexpected layout")
    struct.pack_into(end + "i", data, 80, 0)
    count = struct.pack(end + "iiii", 7, 16, 8, 2) + struct.pack(end + "q", 1)
    at = data.find(count + struct.pack(end + "q", 1))
    if at >= 0:
        struct.pack_into(end + "q", data, at + len(count), 0)
    with open(path, "wb") as fh:
        fh.write(data[:-row_bytes])


def _drop_dta_row(path: str) -> None:
    """Take the one data row out of a .dta file (format 117+): ``<N>`` becomes 0, the bytes
    between ``<data>`` and ``</data>`` go, and the section offsets after them in ``<map>`` move."""
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    release = re.match(rb"<stata_dta><header><release>(\d+)</release><byteorder>(LSF|MSF)</byteorder>", data)
    if release is None:
        raise _broken(path, "not a Stata 13+ file")
    end = "<" if release.group(2) == b"LSF" else ">"
    n_fmt = end + ("i" if int(release.group(1)) == 117 else "q")
    n_at = data.find(b"<N>") + 3
    m_at = data.find(b"<map>") + 5
    if n_at < 3 or m_at < 5 or struct.unpack_from(n_fmt, data, n_at)[0] != 1:
        raise _broken(path, "unexpected header")
    offsets = list(struct.unpack_from(end + "14Q", data, m_at))
    start, stop = offsets[9] + len(b"<data>"), offsets[10] - len(b"</data>")
    if data[offsets[9] : start] != b"<data>" or data[stop : offsets[10]] != b"</data>":
        raise _broken(path, "unexpected map")
    row_bytes = stop - start
    struct.pack_into(n_fmt, data, n_at, 0)
    offsets[10:] = [o - row_bytes for o in offsets[10:]]
    struct.pack_into(end + "14Q", data, m_at, *offsets)
    del data[start:stop]
    with open(path, "wb") as fh:
        fh.write(data)


def _check_empty(reader, path: str, widths: dict[str, int]) -> None:
    """The file reads back with no rows and its text columns at their widths."""
    try:
        df, meta = reader(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read back is ours to report
        raise _broken(path, f"it does not read back ({exc})") from exc
    short = {c: meta.variable_storage_width.get(c) for c, w in widths.items()}
    if len(df) or any((short[c] or 0) < w for c, w in widths.items()):
        raise _broken(path, f"{len(df)} row(s), text widths {short}")
