"""The bundled census and area tables by name (what ``carepop census show TABLE`` prints).

:func:`load_table` returns one tidy frame (one row per area: codes, names, counts) for a name of
:data:`TABLES` at a geography level, or reads and checks a Nomis bulk CSV file
(:func:`carepop.sources.nomis.read_nomis`); :func:`filter_area` keeps one area.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError, opt

__all__ = ["LEVELS", "TABLES", "filter_area", "is_table_name", "load_table", "table_choices"]

#: table name -> (description, levels)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ts039": ("Census 2021 TS039 provision of unpaid care (residents 5+, hours bands)", ("la", "msoa")),
    "ts007": ("Census 2021 TS007 age (residents, published broad age bands)", ("la", "msoa")),
    "ts008": ("Census 2021 TS008 sex", ("la",)),
    "qs301": ("Census 2011 QS301 provision of unpaid care (2011 districts, all ages)", ("la",)),
    "imd2019": ("English Indices of Deprivation 2019 by LA (2022 codes)", ("la",)),
    "gp_carers": ("GP-registered carers by LA, 2023-24 Q2, and coverage of census carers", ("la",)),
    "area": ("one row per English LA: census 2021 and 2011, IMD 2019, GP carers", ("la",)),
    "council": ("the area table summed to the 153 councils with adult social care (2023)", ("la",)),
}
#: geography levels a table can be shown at
LEVELS = ("la", "msoa")
_ENGLAND_ONLY = ("imd2019", "gp_carers", "area", "council")


def table_choices() -> str:
    """The tables and their levels, for messages."""
    return "; ".join(f"{k} ({', '.join(v[1])})" for k, v in TABLES.items())


def is_table_name(table: str) -> bool:
    """Whether ``table`` names a bundled table (otherwise it is taken as a file path)."""
    return table.lower() in TABLES


def load_table(
    table: str,
    level: str | None = None,
    *,
    wales: bool = False,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """The frame of table ``table`` (a name of :data:`TABLES`, or the path of a Nomis bulk CSV
    file, read with ``encoding`` and ``sep``) at ``level`` (``la`` by default; detected for a file).

    ``wales`` keeps Welsh areas (census tables only)."""
    if level is not None and level not in LEVELS:
        raise CarepopError(
            f"Unknown level {level!r}.",
            code="bad_option",
            got=level,
            expected=LEVELS,
            fix=("set ", opt("level", metavar="la|msoa"), " to one of the expected values"),
        )
    name = table.lower()
    if name not in TABLES:
        path = Path(table)
        if path.suffix.lower() == ".csv" or path.exists():
            from carepop.sources.nomis import read_nomis

            return read_nomis(path, level=level, encoding=encoding, sep=sep).wide
        raise CarepopError(
            f"Unknown table {table!r}.",
            code="unknown_table",
            fix=f"choose one of: {table_choices()}; or give the path of a Nomis bulk CSV file",
        )
    if encoding is not None or sep is not None:
        given = opt("encoding", encoding) if encoding is not None else opt("sep", sep)
        raise CarepopError(
            f"Table {name} is bundled with carepop: there is no file to read with another encoding "
            "or separator.",
            code="bad_option",
            fix=("leave out ", given, " (it is for Nomis files you downloaded)"),
        )
    level = level or "la"
    levels = TABLES[name][1]
    if level not in levels:
        raise CarepopError(
            f"Table {name} is not available at level {level!r}.",
            code="bad_option",
            got=level,
            expected=levels,
            fix=("set ", opt("level", metavar="|".join(levels)), f" ({name} levels: {', '.join(levels)})"),
        )
    if wales and name in _ENGLAND_ONLY:
        raise CarepopError(
            f"Table {name} covers England only.",
            code="bad_option",
            fix=("leave out ", opt("wales", True)),
        )
    england_only = not wales
    from carepop.sources import census

    if name == "ts039":
        return census.load_ts039(level, england_only)
    if name == "ts007":
        return census.load_ts007(level, england_only)
    if name == "ts008":
        return census.load_ts008(level, england_only)
    if name == "qs301":
        return census.load_qs301(england_only)
    if name == "imd2019":
        from carepop.sources.la_indicators import load_imd2019

        return load_imd2019()
    if name == "gp_carers":
        from carepop.sources.la_indicators import load_gp_carers

        return load_gp_carers()
    from carepop.sources.area_table import area_table, council_table

    return council_table() if name == "council" else area_table()


def filter_area(frame: pd.DataFrame, area: str, table: str) -> pd.DataFrame:
    """The rows of ``frame`` for area code ``area`` (its ``area_code`` or ``la_code``: an LA code
    keeps the LA's MSOAs)."""
    code = area.strip().upper()
    cols = [c for c in ("area_code", "la_code", "council_code") if c in frame.columns]
    keep = frame[cols].eq(code).any(axis=1)
    if not keep.any():
        col = cols[0]
        example = ", ".join(frame[col].head(3))
        extra = ""
        if table.lower() == "qs301":
            extra = "; qs301 uses 2011 districts (2021 councils formed by mergers are in table 'area')"
        raise CarepopError(
            f"Area code {area!r} is not in table {table}.",
            code="unknown_code",
            column=col,
            got=area,
            fix=(
                f"use a code from its {col} column (e.g. {example}){extra}; Welsh areas need ",
                opt("wales", True),
            ),
        )
    return frame[keep].reset_index(drop=True)
