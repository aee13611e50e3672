"""Read Nomis bulk CSV files (ONS census tables) into tidy frames, checking that the file is right.

Nomis (https://www.nomisweb.co.uk) publishes every Census 2021 and 2011 table as "bulk" CSV files,
one file per geography level. Their layout is::

    date, geography, geography code, <Table title>: <category>, <Table title>: <category>, ...

for example ``Provision of unpaid care: Provides no unpaid care``; older (2011) and some 2021 files
add ``; measures: Value`` to each count column (and, for 2011, a ``Rural Urban`` column). Totals and
subtotals come *before* their parts, e.g. TS039 ``Provides 19 hours or less`` is followed by
``9 hours or less`` and ``10 to 19 hours``.

:func:`read_nomis` turns such a file (or a frame read from one) into a :class:`NomisTable`, with a
wide frame (``area_code``, ``area_name``, one integer column per category, named by the category
label) and a long frame (``area_code``, ``area_name``, ``category``, ``count``). It refuses a wrong
file with a :class:`~carepop.errors.CarepopError` that names the problem:

=====================  ============================================================================
code                   problem
=====================  ============================================================================
``file_not_found``     no such file
``empty_file``         empty file, or a header without data rows
``unreadable_file``    not a CSV file
``missing_columns``    ``geography``/``geography code``, a count column, or a category the caller
                       requires (``required=``) is missing; all missing names are listed
``bad_census_file``    a column that is not ``<title>: <category>``; columns from several tables;
                       several census dates; no ``Total`` row for ``Rural Urban``
``not_a_count``        a count that is not a whole number >= 0 (column and 1-based data rows)
``duplicate_area``     an area code on more than one row (rows)
``unknown_geography``  area codes whose GSS prefix is not a known geography, or a mix of levels,
                       or not the level the caller expects (``level=``)
``totals_disagree``    a total (or subtotal) differs from the sum of its parts by more than the
                       perturbation tolerance (column, rows, largest difference)
=====================  ============================================================================

Rows in messages are 1-based *data* rows: row 1 is the first line under the header.

Census perturbation and the tolerance
-------------------------------------
ONS protects census counts by targeted record swapping and by *cell key perturbation*, which adds
small amounts to cells. Within one Nomis table of Census 2021 the totals are the sums of their
(perturbed) cells, so in every bundled file a total equals the sum of its parts exactly; between
tables (TS007 vs TS008 totals) and between geographies (MSOA sums vs the LA count) they differ a
little. A file whose totals do not add up is therefore either a table built from separately
perturbed or rounded cells (small differences, to be tolerated) or a wrong file (a missing or
foreign category column: differences of the order of a whole category, >= ~1% of the total). The
check allows, per area, ``|total - sum(parts)| <= max(absolute, relative * total)``;
:data:`WITHIN_TABLE` (10 people or 0.1%) is the default. MSOA sums compared with LA counts use the
looser :data:`BETWEEN_GEOGRAPHIES` (50 people or 0.1%; see :mod:`carepop.sources.areas`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt

__all__ = [
    "BETWEEN_GEOGRAPHIES",
    "GEOGRAPHY_PREFIXES",
    "WITHIN_TABLE",
    "NomisTable",
    "Tolerance",
    "geography_level",
    "read_nomis",
]

CODE_COLUMN = "geography code"
NAME_COLUMN = "geography"
DATE_COLUMN = "date"
RURAL_URBAN_COLUMN = "Rural Urban"
_META = (DATE_COLUMN, NAME_COLUMN, CODE_COLUMN, RURAL_URBAN_COLUMN)
_MEASURE = re.compile(r"^(?P<name>.*?);\s*measures:\s*(?P<measure>.+)$")
_TOTAL_LABEL = re.compile(r"^(total\b|all\b)", re.IGNORECASE)

#: GSS code prefix -> geography level (2011 and 2021 statistical and administrative geographies)
GEOGRAPHY_PREFIXES: dict[str, str] = {
    "E00": "oa",
    "W00": "oa",
    "E01": "lsoa",
    "W01": "lsoa",
    "E02": "msoa",
    "W02": "msoa",
    "E05": "ward",
    "W05": "ward",
    "E06": "la",
    "E07": "la",
    "E08": "la",
    "E09": "la",
    "W06": "la",
    "E10": "county",
    "E11": "county",
    "E12": "region",
    "E92": "country",
    "W92": "country",
    "K04": "country",
}


@dataclass(frozen=True)
class Tolerance:
    """How far a total may be from the sum of its parts (census perturbation):
    ``|observed - expected| <= max(absolute, relative * |expected|)`` for each area."""

    absolute: float = 10.0
    relative: float = 0.001

    def allowed(self, expected: np.ndarray) -> np.ndarray:
        return np.maximum(self.absolute, self.relative * np.abs(np.asarray(expected, dtype=float)))

    def exceeded(self, observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Boolean mask of the areas where the difference is beyond the tolerance."""
        diff = np.abs(np.asarray(observed, dtype=float) - np.asarray(expected, dtype=float))
        return diff > self.allowed(expected)


#: totals against their parts within one table (exact in ONS 2021 tables; slack for other files)
WITHIN_TABLE = Tolerance(absolute=10.0, relative=0.001)
#: the same count from two geography levels (MSOA sums vs LA): largest difference in the bundled
#: files is 20 (TS039) and 76 people (TS007, 0.04% of the LA total)
BETWEEN_GEOGRAPHIES = Tolerance(absolute=50.0, relative=0.001)


@dataclass(frozen=True)
class NomisTable:
    """A checked Nomis table.

    ``wide`` has ``area_code``, ``area_name`` and one ``int64`` column per category (named by the
    category label, file order); ``categories`` lists them; ``total`` is the label of the total
    column (or None); ``parts`` are the categories that add up to it (subtotals left out);
    ``subtotals`` maps each subtotal to its parts; ``level`` is the geography level ("la", "msoa"
    ... see :data:`GEOGRAPHY_PREFIXES`); ``title`` the table title; ``date`` the census year.
    """

    title: str
    level: str
    wide: pd.DataFrame
    categories: tuple[str, ...]
    total: str | None
    parts: tuple[str, ...]
    subtotals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date: str | None = None
    source: str = "<frame>"

    @property
    def long(self) -> pd.DataFrame:
        """One row per area and category: ``area_code``, ``area_name``, ``category``, ``count``."""
        long = self.wide.melt(
            id_vars=["area_code", "area_name"],
            value_vars=list(self.categories),
            var_name="category",
            value_name="count",
        )
        order = pd.Categorical(long["category"], categories=list(self.categories), ordered=True)
        long = long.assign(category=order).sort_values(["area_code", "category"], kind="stable")
        return long.assign(category=long["category"].astype(str)).reset_index(drop=True)


def geography_level(codes: pd.Series) -> pd.Series:
    """The geography level of each GSS code from its three-character prefix (NaN when unknown)."""
    return codes.astype(str).str[:3].map(GEOGRAPHY_PREFIXES)


def read_nomis(
    source: str | Path | pd.DataFrame,
    *,
    required: list[str] | tuple[str, ...] | None = None,
    total: str | None = "auto",
    parts: list[str] | tuple[str, ...] | None = None,
    subtotals: dict[str, tuple[str, ...]] | None = None,
    level: str | None = None,
    tolerance: Tolerance = WITHIN_TABLE,
    encoding: str | None = None,
    sep: str | None = None,
) -> NomisTable:
    """Read and check a Nomis bulk CSV file (or a frame with its columns).

    Parameters
    ----------
    source:
        Path of the CSV file, or a DataFrame with the file's columns (values may be strings).
    required:
        Category labels (without the ``<title>: `` prefix and ``; measures: Value`` suffix) that
        must be present; missing ones are all named in the error.
    total:
        Label of the total column; ``"auto"`` takes the one category whose label starts with
        ``Total`` or ``All`` (e.g. ``Total: All usual residents aged 5 and over``, ``All persons``);
        None skips the total check.
    parts:
        Categories that add up to the total. By default carepop finds the subtotals itself (a
        column followed by a run of columns that add up to it in at least 95% of areas) and
        uses the remaining categories.
    subtotals:
        ``{subtotal: (parts...)}`` to check instead of the ones carepop would find; with
        ``parts`` this fixes the table's structure (the bundled loaders pass both).
    level:
        Expected geography level ("la", "msoa", ...); another level is an error.
    tolerance:
        Allowed difference between a total and the sum of its parts (see the module docstring).
    encoding, sep:
        Text encoding (default UTF-8, with or without BOM; ``cp1252`` for a file Excel saved) and
        field separator (default: detected, e.g. ``;`` after a European Excel) of the CSV file.
    """
    raw, where = _read_raw(source, encoding=encoding, sep=sep)
    cols = [str(c).strip() for c in raw.columns]
    raw.columns = cols
    missing_meta = [c for c in (NAME_COLUMN, CODE_COLUMN) if c not in cols]
    if missing_meta:
        raise CarepopError(
            f"{where} lacks the column(s) {', '.join(repr(c) for c in missing_meta)} of a Nomis bulk file.",
            code="missing_columns",
            column=missing_meta[0],
            fix="a Nomis bulk CSV starts with the columns date, geography, geography code, then one "
            "column per category named '<table title>: <category>'",
        )
    title, labels = _category_columns(cols, where)
    if required:
        absent = [r for r in required if r not in labels.values()]
        if absent:
            raise CarepopError(
                f"{where} lacks {len(absent)} expected column(s): "
                + "; ".join(repr(f"{title}: {a}") for a in absent)
                + ".",
                code="missing_columns",
                column=f"{title}: {absent[0]}",
                fix="check that the file is the right table (and not a different table or a cut of it)",
            )
    if len(raw) == 0:
        raise CarepopError(f"{where} has a header but no data rows.", code="empty_file")
    raw.index = pd.RangeIndex(1, len(raw) + 1)  # data row numbers, kept through the filter below
    raw = _rural_urban_total(raw, where)
    rownums = raw.index.to_numpy()
    date = _single_date(raw, where)
    codes = raw[CODE_COLUMN].astype("string").str.strip()
    names = raw[NAME_COLUMN].astype("string").str.strip()
    _check_codes(codes, where)
    found_level = _check_level(codes, level, where)
    counts = _counts(raw, labels, where)
    ids = pd.DataFrame({"area_code": codes.astype(str).to_numpy(), "area_name": names.astype(str).to_numpy()})
    wide = pd.concat([ids, counts], axis=1)
    categories = tuple(counts.columns)

    total_label = _total_label(categories, total, where)
    every = set(categories)
    named = set(parts or ()) | set(subtotals or ()) | {c for v in (subtotals or {}).values() for c in v}
    unknown = sorted(named - every)
    if unknown:
        raise CarepopError(
            f"parts=/subtotals= name categories that {where} does not have: {unknown}.",
            code="missing_columns",
            column=unknown[0],
            fix=f"categories are: {list(categories)}",
        )
    if subtotals is None:
        others = [c for c in categories if c != total_label]
        subtotals = _find_subtotals(counts[others].to_numpy(dtype=np.int64), others)
    subtotals = {k: tuple(v) for k, v in subtotals.items()}
    for sub, children in subtotals.items():
        _check_sum(wide, sub, children, tolerance, where, rownums)
    if total_label is None:
        part_labels: tuple[str, ...] = ()
    elif parts is not None:
        part_labels = tuple(parts)
    else:
        part_labels = tuple(c for c in categories if c != total_label and c not in subtotals)
    if total_label is not None:
        _check_sum(wide, total_label, part_labels, tolerance, where, rownums)
    return NomisTable(
        title=title,
        level=found_level,
        wide=wide,
        categories=categories,
        total=total_label,
        parts=part_labels,
        subtotals=subtotals,
        date=date,
        source=where,
    )


# ---------------------------------------------------------------------------------------------
# reading


def _read_raw(
    source: str | Path | pd.DataFrame, *, encoding: str | None = None, sep: str | None = None
) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        if source.shape[1] == 0:
            raise CarepopError("The Nomis frame has no columns.", code="empty_file")
        return source.copy(), "the Nomis frame"
    p = Path(source).expanduser()
    where = f"{str(p)!r}"
    if not p.exists():
        raise CarepopError(f"No such file: {where}.", code="file_not_found", fix="check the path")
    if p.is_dir():
        raise CarepopError(f"{where} is a directory.", code="unreadable_file", fix="give the CSV file")
    if p.stat().st_size == 0:
        raise CarepopError(f"{where} is empty.", code="empty_file", fix="download the Nomis bulk file again")
    from carepop.io.readers import check_encoding, check_unique_columns, csv_header, encoding_error, separator

    if encoding is not None:
        check_encoding(encoding)
    delimiter = None if sep is None else separator(sep)
    names, delimiter = csv_header(p, encoding, delimiter)
    check_unique_columns([n.strip() for n in names], p)
    try:
        # counts parse as numbers in C; a column with a blank or a symbol stays text and is reported
        raw = pd.read_csv(
            p,
            dtype={c: str for c in (DATE_COLUMN, NAME_COLUMN, CODE_COLUMN, RURAL_URBAN_COLUMN)},
            keep_default_na=False,
            na_values=[],
            encoding=encoding or "utf-8-sig",
            sep=delimiter,
        )
    except pd.errors.EmptyDataError as exc:
        raise CarepopError(f"{where} is empty.", code="empty_file") from exc
    except UnicodeDecodeError as exc:
        raise encoding_error(p, encoding, exc) from None
    except (ValueError, OSError, csv.Error) as exc:
        raise CarepopError(
            f"Cannot read {where} as CSV: {str(exc).strip() or type(exc).__name__}",
            code="unreadable_file",
            fix="give the CSV file of a Nomis bulk download (not the zip or a spreadsheet)",
        ) from exc
    return raw, where


def _category_columns(cols: list[str], where: str) -> tuple[str, dict[str, str]]:
    """Table title and {column: category label} of the count columns ('Value' measures only)."""
    labels: dict[str, str] = {}
    titles: dict[str, str] = {}
    for col in cols:
        if col in _META:
            continue
        name, measure = col, "Value"
        m = _MEASURE.match(col)
        if m:
            name, measure = m.group("name").strip(), m.group("measure").strip()
        if ": " not in name:
            raise CarepopError(
                f"{where}: column {col!r} is not a Nomis count column ('<table title>: <category>').",
                code="bad_census_file",
                column=col,
                fix="remove columns you added, or give the file exactly as Nomis published it",
            )
        if measure != "Value":  # e.g. 'Percent': derived, not counts
            continue
        title, label = name.split(": ", 1)
        titles[col] = title
        labels[col] = label
    if not labels:
        raise CarepopError(
            f"{where} has no count columns ('<table title>: <category>').",
            code="missing_columns",
            fix="a Nomis bulk CSV has one column per category after 'geography code'",
        )
    distinct = sorted(set(titles.values()))
    if len(distinct) > 1:
        raise CarepopError(
            f"{where} mixes columns from {len(distinct)} tables: {distinct}.",
            code="bad_census_file",
            column=next(c for c, t in titles.items() if t == distinct[1]),
            fix="read one Nomis table per file",
        )
    dup = pd.Series(list(labels.values()))
    if dup.duplicated().any():
        raise CarepopError(
            f"{where} repeats the category {dup[dup.duplicated()].iloc[0]!r}.",
            code="bad_census_file",
            fix="each category must appear once",
        )
    return distinct[0], labels


def _rural_urban_total(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    if RURAL_URBAN_COLUMN not in raw.columns:
        return raw
    keep = raw[RURAL_URBAN_COLUMN].astype(str).str.strip() == "Total"
    if not keep.any():
        raise CarepopError(
            f"{where} has a 'Rural Urban' column without 'Total' rows.",
            code="bad_census_file",
            column=RURAL_URBAN_COLUMN,
            fix="download the table with Rural Urban = Total",
        )
    return raw[keep].drop(columns=RURAL_URBAN_COLUMN)


def _single_date(raw: pd.DataFrame, where: str) -> str | None:
    if DATE_COLUMN not in raw.columns:
        return None
    dates = raw[DATE_COLUMN].astype(str).str.strip().unique()
    if len(dates) > 1:
        raise CarepopError(
            f"{where} mixes census dates {sorted(dates)}.",
            code="bad_census_file",
            column=DATE_COLUMN,
            fix="read one census year per file",
        )
    return str(dates[0])


def _check_codes(codes: pd.Series, where: str) -> None:
    rows = codes.index.to_numpy()
    blank = (codes.isna() | (codes == "")).to_numpy()
    if blank.any():
        raise CarepopError(
            f"{where} has rows without an area code.",
            code="missing_values",
            column=CODE_COLUMN,
            rows=rows[blank].tolist(),
        )
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        first = codes[dup].iloc[0]
        raise CarepopError(
            f"{where} has {int(codes[dup].nunique())} area code(s) on more than one row (e.g. {first!r}).",
            code="duplicate_area",
            column=CODE_COLUMN,
            rows=rows[dup].tolist(),
            fix="a bulk file has one row per area; remove the repeated rows or use the file as published",
        )


def _check_level(codes: pd.Series, expected: str | None, where: str) -> str:
    levels = geography_level(codes)
    unknown = levels.isna().to_numpy()
    if unknown.any():
        raise CarepopError(
            f"{where} has area codes that are not GSS codes of a known geography "
            f"(e.g. {codes[unknown].iloc[0]!r}).",
            code="unknown_geography",
            column=CODE_COLUMN,
            rows=codes.index[unknown].tolist(),
            fix="known prefixes: " + ", ".join(f"{k} {v}" for k, v in GEOGRAPHY_PREFIXES.items()),
        )
    found = levels.unique().tolist()
    if len(found) > 1:
        counts = levels.value_counts()
        minority = (levels != counts.index[0]).to_numpy()
        raise CarepopError(
            f"{where} mixes geography levels: {counts.to_dict()}.",
            code="unknown_geography",
            column=CODE_COLUMN,
            rows=codes.index[minority].tolist(),
            fix="a Nomis bulk file holds one geography level; use the file for one level",
        )
    level = str(found[0])
    if expected is not None and level != expected:
        raise CarepopError(
            f"{where} is at {level} level, not {expected}.",
            code="unknown_geography",
            column=CODE_COLUMN,
            fix=f"give the {expected} file of the table",
        )
    return level


def _counts(raw: pd.DataFrame, labels: dict[str, str], where: str) -> pd.DataFrame:
    out: dict[str, np.ndarray] = {}
    rows = raw.index.to_numpy()
    for col, label in labels.items():
        column = raw[col]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=float, na_value=np.nan)
        else:  # text: a blank, a symbol ('..', 'c', '-') or a thousands separator somewhere
            text = column.astype("string").str.strip()
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) | (values < 0) | (np.mod(values, 1) != 0)
        if bad.any():
            example = raw[col].to_numpy()[bad][0]
            raise CarepopError(
                f"{where}: column {col!r} has {int(bad.sum())} value(s) that are not counts "
                f"(whole numbers >= 0), e.g. {example!r}.",
                code="not_a_count",
                column=col,
                rows=rows[bad].tolist(),
                fix="rows are data rows (1 = first row under the header); census counts are whole "
                "numbers without separators or suppression symbols",
            )
        out[label] = values.astype(np.int64)
    return pd.DataFrame(out, index=raw.index).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# totals


def _total_label(categories: tuple[str, ...], total: str | None, where: str) -> str | None:
    if total is None:
        return None
    if total != "auto":
        if total not in categories:
            raise CarepopError(
                f"{where} has no category {total!r}.",
                code="missing_columns",
                column=total,
                fix=f"categories are: {list(categories)}",
            )
        return total
    found = [c for c in categories if _TOTAL_LABEL.match(c)]
    if len(found) > 1:
        raise CarepopError(
            f"{where} has several total-like categories: {found}.",
            code="bad_census_file",
            fix=("pass ", opt("total", metavar="LABEL"), " with the label of the overall total"),
        )
    return found[0] if found else None


def _find_subtotals(values: np.ndarray, labels: list[str], share: float = 0.95) -> dict[str, tuple[str, ...]]:
    """Columns that equal the sum of the columns right after them (Nomis puts subtotals first).

    Right to left, so a subtotal's parts are already known: the parts of column ``i`` are the
    top-level entries of the shortest run ``i+1 .. j`` (at least two columns) whose leaves add up
    to column ``i`` *exactly* in at least ``share`` of the areas (and it is not all zeros). Exact
    equality, not the perturbation tolerance: small cells (e.g. single years of age 97, 98, 99 in
    an MSOA) would otherwise look like sums of one another.
    """
    n_cols = values.shape[1]
    is_leaf = np.ones(n_cols, dtype=bool)
    span_end = np.arange(n_cols)  # last column covered by each column (itself for a leaf)
    subtotals: dict[str, tuple[str, ...]] = {}
    for i in range(n_cols - 3, -1, -1):
        run_sums = np.cumsum(values[:, i + 1 :] * is_leaf[i + 1 :], axis=1)  # leaves of i+1 .. j
        # a run may only end where a group ends: j such that no column in i+1 .. j spans past j
        ends = np.arange(i + 1, n_cols)
        closed = np.maximum.accumulate(span_end[i + 1 :]) == ends
        if not values[:, i].any() or not closed.any():
            continue
        match = closed & ((run_sums == values[:, [i]]).mean(axis=0) >= share)
        for j in ends[match]:
            kids, k = [], i + 1  # top-level parts: walk i+1 .. j jumping over nested groups
            while k <= j:
                kids.append(k)
                k = int(span_end[k]) + 1
            if len(kids) >= 2:
                is_leaf[i] = False
                span_end[i] = j
                subtotals[labels[i]] = tuple(labels[k] for k in kids)
                break
    return dict(sorted(subtotals.items(), key=lambda kv: labels.index(kv[0])))


def _check_sum(
    wide: pd.DataFrame, total: str, parts: Any, tolerance: Tolerance, where: str, rownums: np.ndarray
) -> None:
    parts = list(parts)
    if not parts:
        return
    expected = wide[total].to_numpy(dtype=float)
    observed = wide[parts].to_numpy(dtype=float).sum(axis=1)
    bad = tolerance.exceeded(observed, expected)
    if bad.any():
        diff = observed - expected
        worst = int(np.argmax(np.where(bad, np.abs(diff), -1)))
        raise CarepopError(
            f"{where}: {total!r} differs from the sum of its {len(parts)} categories in {int(bad.sum())} "
            f"area(s) by more than census perturbation allows (max(|diff|) = {abs(diff[worst]):,.0f} "
            f"in {wide['area_code'].iloc[worst]}; allowed there {tolerance.allowed(expected)[worst]:,.0f}).",
            code="totals_disagree",
            column=total,
            rows=rownums[bad].tolist(),
            fix="the file may lack a category column, hold one from another table, or have been "
            "edited; download the table again (or pass parts= if carepop misread its subtotals)",
        )
