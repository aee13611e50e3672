"""Census tables bundled with carepop (ONS via Nomis bulk downloads; Open Government Licence v3.0).

Every loader reads its Nomis file with :func:`carepop.sources.nomis.read_nomis` (so the checks on
columns, counts, area codes and totals are written once) and returns a tidy frame, one row per
area, with ``area_code`` and ``area_name`` (plus ``la_code``, ``la_name`` at MSOA level; see
:func:`carepop.sources.areas.msoa_la_lookup`). ``england_only`` (default) keeps E-codes; ``source=``
reads a newer or re-downloaded Nomis bulk file of the same table instead of the bundled one.

=====================  =====================================================================
loader                 table, geography, columns
=====================  =====================================================================
:func:`load_ts039`     Census 2021 TS039 *Provision of unpaid care*, LA or MSOA:
                       ``residents_5plus`` (all usual residents aged 5+), ``no_care``,
                       ``h9_or_less``, ``h10_19``, ``h20_34``, ``h35_49``, ``h50_plus`` (hours a
                       week), ``carers`` (= the five bands), ``h19_or_less``, ``h20_49``
                       (the published subtotals, comparable with 2011)
:func:`load_ts007`     Census 2021 TS007 *Age by single year*, LA or MSOA: ``residents`` (all
                       ages), the broad bands ``age_0_4`` ... ``age_85_plus``; with
                       ``single_years`` also ``age_0`` ... ``age_100`` (100 = 100 and over)
:func:`load_ts008`     Census 2021 TS008 *Sex*, LA: ``residents``, ``female``, ``male``
:func:`load_qs301`     Census 2011 QS301 *Provision of unpaid care*, LA on 2011 boundaries (or
                       summed to 2021 LAs): ``residents`` (all usual residents, *all ages*),
                       ``no_care``, ``h1_19``, ``h20_49``, ``h50_plus``, ``carers``
=====================  =====================================================================

Checked facts (TS039, the 309 English LAs): residents aged 5+ 53,413,087 (ONS England figure
53,413,098: cells are perturbed, so areas do not add up exactly to the published total); no care
48,734,827 (published 48,734,833); 50+ hours 1,404,768 (1,404,771); carers 4,678,260 (4,678,265);
Bolton (E08000001) 25,980 carers. Census 2011 QS301, England (326 districts): 53,012,456 residents of
all ages, 5,430,016 carers.

The 2021 question (usual residents aged 5+) and bands are those a carers survey should keep so that
results can be calibrated to and compared with the census; 2011 asked everyone (all ages), named
"family members, friends, neighbours or others" and banded hours 1-19 / 20-49 / 50+.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.areas import la_2011_to_2021, msoa_la_lookup
from carepop.sources.nomis import NomisTable, read_nomis

HOURS_BANDS = ("no_care", "h9_or_less", "h10_19", "h20_34", "h35_49", "h50_plus")
HOURS_LABELS = {
    0: "No unpaid care",
    1: "9 hours or less a week",
    2: "10 to 19 hours a week",
    3: "20 to 34 hours a week",
    4: "35 to 49 hours a week",
    5: "50 or more hours a week",
}
#: Census 2011 hours bands (QS301)
HOURS_BANDS_2011 = ("no_care", "h1_19", "h20_49", "h50_plus")

# category label (Nomis column without "<title>: " and "; measures: Value") -> column name
_TS039_COLUMNS = {
    "Total: All usual residents aged 5 and over": "residents_5plus",
    "Provides no unpaid care": "no_care",
    "Provides 9 hours or less unpaid care a week": "h9_or_less",
    "Provides 10 to 19 hours unpaid care a week": "h10_19",
    "Provides 20 to 34 hours unpaid care a week": "h20_34",
    "Provides 35 to 49 hours unpaid care a week": "h35_49",
    "Provides 50 or more hours unpaid care a week": "h50_plus",
    "Provides 19 hours or less unpaid care a week": "h19_or_less",
    "Provides 20 to 49 hours unpaid care a week": "h20_49",
}
_TS039_SUBTOTALS = {
    "Provides 19 hours or less unpaid care a week": (
        "Provides 9 hours or less unpaid care a week",
        "Provides 10 to 19 hours unpaid care a week",
    ),
    "Provides 20 to 49 hours unpaid care a week": (
        "Provides 20 to 34 hours unpaid care a week",
        "Provides 35 to 49 hours unpaid care a week",
    ),
}
_TS039_PARTS = tuple(list(_TS039_COLUMNS)[1:7])

_QS301_COLUMNS = {
    "All categories: Provision of unpaid care": "residents",
    "Provides no unpaid care": "no_care",
    "Provides 1 to 19 hours unpaid care a week": "h1_19",
    "Provides 20 to 49 hours unpaid care a week": "h20_49",
    "Provides 50 or more hours unpaid care a week": "h50_plus",
}

_TS008_COLUMNS = {"All persons": "residents", "Female": "female", "Male": "male"}


def _age_label(age: int) -> str:
    if age == 0:
        return "Aged under 1 year"
    if age == 100:
        return "Aged 100 years and over"
    return f"Aged {age} year" if age == 1 else f"Aged {age} years"


#: TS007 broad bands as published: (label, first age, last age, column)
TS007_BANDS: tuple[tuple[str, int, int, str], ...] = (
    ("Aged 4 years and under", 0, 4, "age_0_4"),
    ("Aged 5 to 9 years", 5, 9, "age_5_9"),
    ("Aged 10 to 15 years", 10, 15, "age_10_15"),
    ("Aged 16 to 19 years", 16, 19, "age_16_19"),
    ("Aged 20 to 24 years", 20, 24, "age_20_24"),
    ("Aged 25 to 34 years", 25, 34, "age_25_34"),
    ("Aged 35 to 49 years", 35, 49, "age_35_49"),
    ("Aged 50 to 64 years", 50, 64, "age_50_64"),
    ("Aged 65 to 74 years", 65, 74, "age_65_74"),
    ("Aged 75 to 84 years", 75, 84, "age_75_84"),
    ("Aged 85 years and over", 85, 100, "age_85_plus"),
)
_TS007_SINGLE = tuple(_age_label(a) for a in range(101))
_TS007_SUBTOTALS = {
    label: tuple(_age_label(a) for a in range(lo, hi + 1)) for label, lo, hi, _ in TS007_BANDS
}

# table -> (folder, file name pattern, required labels, subtotals, parts)
_SPECS: dict[str, tuple[str, str, tuple[str, ...], dict, tuple[str, ...] | None]] = {
    "ts039": (
        "census2021",
        "ts039_unpaid_care_{level}.csv",
        tuple(_TS039_COLUMNS),
        _TS039_SUBTOTALS,
        _TS039_PARTS,
    ),
    "ts007": (
        "census2021",
        "ts007_age_{level}.csv",
        ("Total", *(b[0] for b in TS007_BANDS), *_TS007_SINGLE),
        _TS007_SUBTOTALS,
        _TS007_SINGLE,
    ),
    "ts008": ("census2021", "ts008_sex_{level}.csv", tuple(_TS008_COLUMNS), {}, ("Female", "Male")),
    "qs301": (
        "census2011",
        "qs301_unpaid_care_{level}.csv",
        tuple(_QS301_COLUMNS),
        {},
        tuple(_QS301_COLUMNS)[1:],
    ),
}
#: geography levels bundled per table (other levels: download from Nomis and pass ``source=``)
BUNDLED_LEVELS = {"ts039": ("la", "msoa"), "ts007": ("la", "msoa"), "ts008": ("la",), "qs301": ("la",)}


def bundled_path(folder: str, name: str) -> Path:
    """Path of a file bundled in ``carepop/data/<folder>/``."""
    return Path(str(resources.files("carepop") / "data" / folder / name))


def _check_level(table: str, level: str, source: object) -> None:
    if level not in ("la", "msoa"):
        raise CarepopError(
            f"Unknown {table.upper()} level {level!r}.", code="bad_option", fix="use 'la' or 'msoa'"
        )
    if source is None and level not in BUNDLED_LEVELS[table]:
        raise CarepopError(
            f"{table.upper()} by {level} is not bundled with carepop "
            f"(bundled: {', '.join(BUNDLED_LEVELS[table])}).",
            code="not_bundled",
            fix=f"download the Nomis bulk file of {table.upper()} at {level} level and pass it as source=",
        )


@lru_cache(maxsize=16)
def _bundled(table: str, level: str) -> NomisTable:
    return _read(table, level, None)


def _read(table: str, level: str, source: str | Path | pd.DataFrame | None) -> NomisTable:
    folder, pattern, required, subtotals, parts = _SPECS[table]
    path = bundled_path(folder, pattern.format(level=level)) if source is None else source
    return read_nomis(path, required=required, subtotals=subtotals, parts=parts, level=level)


def _table(table: str, level: str, source: str | Path | pd.DataFrame | None) -> NomisTable:
    _check_level(table, level, source)
    return _bundled(table, level) if source is None else _read(table, level, source)


@lru_cache(maxsize=1)
def _bundled_msoa_lookup() -> pd.DataFrame:
    return msoa_la_lookup(_bundled("ts039", "msoa").wide, _bundled("ts039", "la").wide)


def _with_la(frame: pd.DataFrame, source: object) -> pd.DataFrame:
    """Add ``la_code``, ``la_name`` to an MSOA frame (after ``area_code``, ``area_name``)."""
    if source is None:
        lookup = _bundled_msoa_lookup()
    else:
        lookup = msoa_la_lookup(frame, _bundled("ts039", "la").wide, complete=False)
    look = lookup.rename(columns={"msoa_code": "area_code"}).drop(columns="msoa_name")
    out = frame.merge(look, on="area_code", how="left", validate="one_to_one")
    missing = out["la_code"].isna().to_numpy()
    if missing.any():
        raise CarepopError(
            "Some MSOAs are not in the 2021 MSOA -> LA lookup.",
            code="unmatched_area",
            column="area_code",
            rows=out.loc[missing, "area_code"].head(10).tolist(),
            fix="the MSOA file must use 2021 MSOAs (E02/W02 codes of Census 2021)",
        )
    cols = ["area_code", "area_name", "la_code", "la_name"]
    return out[cols + [c for c in out.columns if c not in cols]]


def _finish(frame: pd.DataFrame, level: str, england_only: bool, source: object) -> pd.DataFrame:
    if level == "msoa":
        frame = _with_la(frame, source)
    if england_only:
        frame = frame[frame["area_code"].str.startswith("E")]
    return frame.reset_index(drop=True)


def load_ts039(
    level: str = "la", england_only: bool = True, *, source: str | Path | pd.DataFrame | None = None
) -> pd.DataFrame:
    """Census 2021 TS039 *Provision of unpaid care* by ``level`` ("la" or "msoa"), one row per
    area (columns in the module docstring). Source: ONS, Census 2021, Nomis bulk download."""
    t = _table("ts039", level, source)
    df = t.wide[["area_code", "area_name", *_TS039_COLUMNS]].rename(columns=_TS039_COLUMNS)
    df["carers"] = df[list(HOURS_BANDS[1:])].sum(axis=1)
    first = ["area_code", "area_name", "residents_5plus", *HOURS_BANDS, "carers"]
    df = df[first + ["h19_or_less", "h20_49"]]
    return _finish(df, level, england_only, source)


def load_ts007(
    level: str = "la",
    england_only: bool = True,
    *,
    single_years: bool = False,
    source: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Census 2021 TS007 *Age by single year*: ``residents`` (all ages) and the published broad bands
    ``age_0_4`` ... ``age_85_plus``; ``single_years`` adds ``age_0`` ... ``age_100`` (100 and over).
    Source: ONS, Census 2021, Nomis bulk download."""
    t = _table("ts007", level, source)
    names = {"Total": "residents"} | {b[0]: b[3] for b in TS007_BANDS}
    if single_years:
        names |= {label: f"age_{a}" for a, label in enumerate(_TS007_SINGLE)}
    df = t.wide[["area_code", "area_name", *names]].rename(columns=names)
    return _finish(df, level, england_only, source)


def load_ts008(
    level: str = "la", england_only: bool = True, *, source: str | Path | pd.DataFrame | None = None
) -> pd.DataFrame:
    """Census 2021 TS008 *Sex* (usual residents, all ages): ``residents``, ``female``, ``male``.
    Bundled by LA only. Source: ONS, Census 2021, Nomis bulk download."""
    t = _table("ts008", level, source)
    df = t.wide[["area_code", "area_name", *_TS008_COLUMNS]].rename(columns=_TS008_COLUMNS)
    return _finish(df, level, england_only, source)


def load_qs301(
    england_only: bool = True,
    *,
    boundaries: str = "2011",
    source: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Census 2011 QS301 *Provision of unpaid care* by LA (usual residents of all ages):
    ``residents``, ``no_care``, ``h1_19``, ``h20_49``, ``h50_plus``, ``carers``.

    ``boundaries="2011"``: the 348 districts of England and Wales as published (326 English).
    ``boundaries="2021"``: summed to 2021 LAs (309 English) through
    :func:`carepop.sources.areas.la_2011_to_2021`, with ``predecessors`` (number of 2011 districts)
    and ``codes_2011``. Source: ONS, Census 2011, Nomis bulk download.
    """
    if boundaries not in ("2011", "2021"):
        raise CarepopError(
            f"Unknown boundaries {boundaries!r}.", code="bad_option", fix="use '2011' or '2021'"
        )
    t = _table("qs301", "la", source)
    df = t.wide[["area_code", "area_name", *_QS301_COLUMNS]].rename(columns=_QS301_COLUMNS)
    df["carers"] = df[list(HOURS_BANDS_2011[1:])].sum(axis=1)
    if boundaries == "2021":
        las = load_ts039("la", england_only=england_only)[["area_code", "area_name"]]
        lookup = la_2011_to_2021(df[["area_code", "area_name"]], las)
        values = ["residents", *HOURS_BANDS_2011, "carers"]
        joined = lookup.merge(
            df, left_on="code_2011", right_on="area_code", how="left", validate="one_to_one"
        )
        df = joined.groupby(["la_code", "la_name"], as_index=False, sort=True).agg(
            **{c: (c, "sum") for c in values},
            predecessors=("code_2011", "size"),
            codes_2011=("code_2011", ";".join),
        )
        df = df.rename(columns={"la_code": "area_code", "la_name": "area_name"})
    if england_only:
        df = df[df["area_code"].str.startswith("E")]
    return df.reset_index(drop=True)


DEFAULT_AGE_BANDS: tuple[tuple[int, int | None], ...] = (
    (18, 24),
    (25, 34),
    (35, 44),
    (45, 54),
    (55, 64),
    (65, 74),
    (75, 84),
    (85, None),
)


def load_ts007_single_years(england_only: bool = True, *, level: str = "la") -> pd.DataFrame:
    """TS007 usual residents by single year of age (0 … 100, 100 meaning 100 and over) per area:
    columns ``area_code``, ``area_name``, ``age``, ``residents`` (long form)."""
    wide = load_ts007(level, england_only, single_years=True)
    ages = {f"age_{a}": a for a in range(101)}
    long = wide[["area_code", "area_name", *ages]].melt(
        id_vars=["area_code", "area_name"], var_name="col", value_name="residents"
    )
    long["age"] = long["col"].map(ages)
    long = long[["area_code", "area_name", "residents", "age"]]
    return long.sort_values(["area_code", "age"]).reset_index(drop=True)


def band_label(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


def census_margin(
    kind: str,
    *,
    by_la: bool = True,
    age_bands: tuple[tuple[int, int | None], ...] = DEFAULT_AGE_BANDS,
    las: list[str] | None = None,
) -> pd.DataFrame:
    """A population margin from the bundled Census 2021 tables, ready for ``rake``/``calibrate``.

    ``kind``: ``"age"`` (TS007, column ``age_band`` labelled like ``"18-24"``, ``"85+"``; ages
    outside the bands are left out), ``"sex"`` (TS008, ``sex`` = Female/Male, all ages) or
    ``"unpaid_care"`` (TS039, residents aged 5+, ``hours_band`` coded 0–5 as
    :data:`HOURS_LABELS`). With ``by_la`` the frame has ``la_code``, the category column and
    ``total`` (a margin for the pair of columns ``("la_code", <category>)``); without it, the
    England total per category as ``value,total``. ``las`` keeps only those LA codes.

    Margins must describe the same population: the age bands of TS007 and the all-ages TS008
    do not add up to the same total unless the bands cover every age (carepop checks).
    """
    if kind == "age":
        long = load_ts007_single_years()
        long = long.assign(age_band=None)
        for lo, hi in age_bands:
            inside = (long["age"] >= lo) & ((long["age"] <= hi) if hi is not None else True)
            long.loc[inside, "age_band"] = band_label(lo, hi)
        long = long[long["age_band"].notna()]
        frame = long.groupby(["area_code", "age_band"], as_index=False, sort=False)["residents"].sum()
        cat, value = "age_band", "residents"
    elif kind == "sex":
        t = load_ts008("la")
        frame = pd.concat(
            [
                pd.DataFrame({"area_code": t["area_code"], "sex": s, "residents": t[s.lower()]})
                for s in ("Female", "Male")
            ],
            ignore_index=True,
        )
        cat, value = "sex", "residents"
    elif kind == "unpaid_care":
        t = load_ts039("la")
        frame = pd.concat(
            [
                pd.DataFrame({"area_code": t["area_code"], "hours_band": code, "residents": t[col]})
                for code, col in enumerate(HOURS_BANDS)
            ],
            ignore_index=True,
        )
        cat, value = "hours_band", "residents"
    else:
        raise CarepopError(
            f"Unknown census margin {kind!r}.", code="bad_option", fix="use 'age', 'sex' or 'unpaid_care'"
        )
    if las is not None:
        unknown = sorted(set(las) - set(frame["area_code"]))
        if unknown:
            raise CarepopError(
                f"Unknown LA codes: {unknown[:5]}.",
                code="unknown_code",
                column="la_code",
                fix="use 2021 LTLA codes of English authorities, e.g. E08000001",
            )
        frame = frame[frame["area_code"].isin(las)]
    if by_la:
        out = frame.rename(columns={"area_code": "la_code", value: "total"})[["la_code", cat, "total"]]
        return out.sort_values(["la_code", cat]).reset_index(drop=True)
    nat = frame.groupby(cat, as_index=False, sort=True)[value].sum()
    return nat.rename(columns={cat: "value", value: "total"})
