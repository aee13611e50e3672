"""Read each item's column of a responses frame into its proper type, noting every value that
cannot be used (type errors, wrong codes, values out of range or not in the expected form).

Columns are found by item name. A multiple-choice item is one column of space-separated codes
(ODK Central's and KoboToolbox's default, e.g. ``"1 3"``) or, as in carepop's SPSS/Stata
templates and Kobo's split export, one 0/1 column per option, ``<item>_<code>`` or
``<item>/<code>``. Blank cells (empty or only spaces) are missing. The input is never modified.
When a column name is repeated, the first column of that name is read (the repeat is reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.questionnaires.routing import Multi
from carepop.questionnaires.schema import Instrument, Item

#: columns of a validation report
REPORT_COLUMNS = ("row", "column", "value", "error_kind", "message")
_INT64_LIMIT = 2.0**63  # whole numbers at or beyond this do not fit an int64


@dataclass
class Coerced:
    """Typed item values plus what was wrong with the raw ones.

    ``values[name]``: float (numbers and codes, NaN missing), object (text, None missing),
    datetime64 (dates) or :class:`~.routing.Multi` (multiple choice). Invalid values are missing.
    ``present[name]``: a (non-blank) value was given. ``invalid[name]``: it could not be used.
    ``raw[name]``: the values as given, turned into text only for rows that are reported.
    """

    n: int
    values: dict[str, np.ndarray | Multi] = field(default_factory=dict)
    present: dict[str, np.ndarray] = field(default_factory=dict)
    invalid: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, pd.Series] = field(default_factory=dict)
    source_columns: dict[str, list[str]] = field(default_factory=dict)
    issues: list[pd.DataFrame] = field(default_factory=list)
    #: multiple-choice items read from indicator columns with some indicators absent:
    #: item -> {code: the missing column's name}
    missing_indicators: dict[str, dict[int, str]] = field(default_factory=dict)
    #: column names the file repeats -> how many times (only the first of each is read)
    repeated_columns: dict[str, int] = field(default_factory=dict)

    def add(self, mask: np.ndarray, column: str, kind: str, message: str, raw: pd.Series) -> None:
        """Record one issue per row where ``mask`` is true, with the value as given."""
        add_issue(self.issues, mask, column, kind, message, raw)


def add_issue(
    issues: list[pd.DataFrame], mask: np.ndarray, column: str, kind: str, message: str, raw: pd.Series
) -> None:
    """Append report rows for the rows where ``mask`` is true."""
    if not mask.any():
        return
    idx = np.flatnonzero(mask)
    issues.append(
        pd.DataFrame(
            {
                "row": pd.array(idx + 1, dtype="Int64"),
                "column": column,
                "value": text_of(raw.iloc[idx]),
                "error_kind": kind,
                "message": message,
            }
        )
    )


def text_of(series: pd.Series) -> np.ndarray:
    """Values as stripped text for messages and parsing: integral numbers without ``.0``,
    missing as ``""``. Whole numbers too large for a 64-bit integer keep their float form
    (``1e+20``)."""
    s = pd.Series(series, copy=False)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(object)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":  # exact, whatever the size
        return s.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(num) & (num == np.round(num)) & (np.abs(num) < _INT64_LIMIT)
            as_int = np.where(integral, num, 0).astype(np.int64).astype(str)
        out = np.where(integral, as_int, num.astype(str))
        return np.where(np.isnan(num), "", out).astype(object)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
    text = s.astype(object).where(s.notna(), "").astype(str).str.strip()
    return text.to_numpy(dtype=object)


def coerce_responses(responses: pd.DataFrame, instrument: Instrument) -> Coerced:
    """Typed values of every item found in ``responses`` with cell-level issues recorded."""
    out = Coerced(n=len(responses))
    counts = pd.Series([str(c) for c in responses.columns], dtype=object).value_counts(sort=False)
    out.repeated_columns = {str(c): int(k) for c, k in counts.items() if k > 1}
    columns = set(counts.index)
    for item in instrument.data_items:
        if item.name in columns:
            series = _column(responses, item.name)
            out.source_columns[item.name] = [item.name]
            out.raw[item.name] = series
            if item.type == "select_multiple":
                _multi(out, item, instrument, series)
            else:
                _single_column(out, item, instrument, series)
        elif item.type == "select_multiple":
            split = _split_columns(item, instrument, columns)
            if split:
                sep = next(iter(split.values()))[len(item.name)]
                absent = {
                    code: f"{item.name}{sep}{code}"
                    for code in instrument.multi_codes(item)
                    if code not in split
                }
                if absent:
                    out.missing_indicators[item.name] = absent
                _multi_from_split(out, item, instrument, responses, split, complete=not absent)
    return out


def _column(responses: pd.DataFrame, name: str) -> pd.Series:
    """The column called ``name``; the first of them when the name is repeated."""
    series = responses[name]
    return series.iloc[:, 0] if isinstance(series, pd.DataFrame) else series


def _split_columns(item: Item, instrument: Instrument, columns: set[str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for choice in instrument.choices_of(item):
        for sep in ("_", "/"):
            col = f"{item.name}{sep}{choice.code}"
            if col in columns:
                found[choice.code] = col
                break
    return found


def _numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, present, not-a-number) of a column, read as given or parsed from text."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        present = ~np.isnan(num)
        return num, present, ~np.isfinite(np.where(present, num, 0.0))
    text = pd.Series(text_of(series), dtype=object)
    present = (text != "").to_numpy()
    num = pd.to_numeric(text.where(present, np.nan), errors="coerce").to_numpy(dtype=float)
    return num, present, present & ~np.isfinite(num)


def _single_column(out: Coerced, item: Item, instrument: Instrument, series: pd.Series) -> None:
    name = item.name
    invalid = np.zeros(out.n, dtype=bool)
    if item.type == "text":
        raw = text_of(series)
        present = raw != ""
        values = np.where(present, raw, None).astype(object)
        if item.pattern is not None:
            ok = pd.Series(raw, dtype=object).str.fullmatch(item.pattern).to_numpy(dtype=bool)
            bad = present & ~ok
            out.add(bad, name, "type_error", f"not of the expected form (pattern {item.pattern})", series)
            invalid |= bad
        if item.unique:
            dup = present & pd.Series(raw).duplicated(keep=False).to_numpy()
            out.add(dup, name, "duplicate", "the same identifier is on more than one row", series)
    elif item.type == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed = pd.to_datetime(series).to_numpy()
            present = ~pd.isna(parsed)
        else:
            raw = text_of(series)
            present = raw != ""
            parsed = pd.to_datetime(pd.Series(raw), errors="coerce", format="ISO8601").to_numpy()
        bad = present & pd.isna(parsed)
        out.add(bad, name, "type_error", "not a date (use YYYY-MM-DD)", series)
        invalid |= bad
        values = np.where(bad, np.datetime64("NaT"), parsed).astype("datetime64[ns]")
    else:
        num, present, not_num = _numbers(series)
        out.add(not_num, name, "type_error", "not a number", series)
        invalid |= not_num
        number = present & ~not_num
        if item.type in ("integer", "select_one"):
            frac = number & (num != np.round(np.where(number, num, 0)))
            what = "codes are whole numbers" if item.type == "select_one" else "must be a whole number"
            out.add(frac, name, "type_error", f"not a whole number ({what})", series)
            invalid |= frac
            number &= ~frac
        if item.type == "select_one":
            codes = [c.code for c in instrument.choices_of(item)]
            wrong = number & ~np.isin(num, codes)
            out.add(
                wrong, name, "wrong_code", f"not a code of this item (codes: {_codes_text(codes)})", series
            )
            invalid |= wrong
        elif item.range is not None:
            lo = -np.inf if item.range.min is None else item.range.min
            hi = np.inf if item.range.max is None else item.range.max
            outside = number & ((num < lo) | (num > hi))
            out.add(outside, name, "out_of_range", f"outside the range {_range_text(lo, hi)}", series)
            invalid |= outside
        if item.unique:
            dup = number & pd.Series(num).duplicated(keep=False).to_numpy()
            out.add(dup, name, "duplicate", "the same identifier is on more than one row", series)
        values = np.where(invalid | ~present, np.nan, num)
    out.present[name] = present
    out.invalid[name] = invalid
    out.values[name] = values


def _multi(out: Coerced, item: Item, instrument: Instrument, series: pd.Series) -> None:
    name = item.name
    raw = pd.Series(text_of(series), dtype=object)
    present = (raw != "").to_numpy()
    codes = [c.code for c in instrument.choices_of(item)]
    tokens = raw[present].str.replace(",", " ", regex=False).str.split().explode()
    tokens = tokens[tokens.notna() & (tokens != "")]
    rows = tokens.index.to_numpy(dtype=np.int64)
    num = pd.to_numeric(tokens, errors="coerce").to_numpy(dtype=float)
    good = np.isin(num, codes)
    invalid = np.zeros(out.n, dtype=bool)
    invalid[rows[~good]] = True
    message = f"has an option that is not a code (codes: {_codes_text(codes)})"
    out.add(invalid, name, "wrong_code", message, series)
    has = {}
    for code in codes:
        mask = np.zeros(out.n, dtype=bool)
        mask[rows[good & (num == code)]] = True
        has[code] = mask
    _finish_multi(out, item, instrument, has, present, invalid, series)


def _multi_from_split(
    out: Coerced,
    item: Item,
    instrument: Instrument,
    responses: pd.DataFrame,
    split: dict[int, str],
    *,
    complete: bool = True,
) -> None:
    """Combine 0/1 indicator columns into one multiple-choice answer. With some indicator
    columns absent (``complete`` false), a row whose indicators are all 0 may have chosen an
    option that cannot be seen, so it counts as answered rather than empty."""
    out.source_columns[item.name] = list(split.values())
    has: dict[int, np.ndarray] = {}
    present = np.zeros(out.n, dtype=bool)
    invalid = np.zeros(out.n, dtype=bool)
    for code, col in split.items():
        series = _column(responses, col)
        num, given, _ = _numbers(series)
        bad = given & ~np.isin(num, [0, 1])
        out.add(bad, col, "wrong_code", "an option indicator must be 0 (not chosen) or 1 (chosen)", series)
        invalid |= bad
        present |= given
        has[code] = num == 1
    chosen = np.logical_or.reduce(list(has.values()))
    # every indicator 0 means nothing was chosen: an empty answer
    answered = present & chosen if complete else present
    _finish_multi(out, item, instrument, has, answered | invalid, invalid, None)


def _finish_multi(
    out: Coerced,
    item: Item,
    instrument: Instrument,
    has: dict[int, np.ndarray],
    present: np.ndarray,
    invalid: np.ndarray,
    raw: pd.Series | None,
) -> None:
    """The :class:`Multi` value (codes in code order) and the exclusive-option rule."""
    keep = present & ~invalid
    value = Multi({code: mask & keep for code, mask in has.items()}, keep)
    if raw is None:
        raw = pd.Series(np.where(present, value.text, ""), dtype=object)
        out.raw[item.name] = raw
    count = np.sum(list(has.values()), axis=0)
    for choice in instrument.choices_of(item):
        if choice.exclusive and choice.code in has:
            clash = has[choice.code] & (count > 1)
            message = f"{choice.label!r} cannot be chosen with other options"
            out.add(clash, item.name, "rule_failed", message, raw)
    out.present[item.name] = present
    out.invalid[item.name] = invalid
    out.values[item.name] = value


def _codes_text(codes: list[int]) -> str:
    codes = sorted(codes)
    return ", ".join(map(str, codes)) if len(codes) <= 12 else f"{codes[0]} … {codes[-1]}"


def _range_text(lo: float, hi: float) -> str:
    def f(v: float) -> str:
        return f"{v:g}"

    if np.isinf(lo):
        return f"at most {f(hi)}"
    if np.isinf(hi):
        return f"at least {f(lo)}"
    return f"{f(lo)} to {f(hi)}"
