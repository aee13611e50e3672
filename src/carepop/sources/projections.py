"""Population projections for England: subnational (councils) and national, and growth ratios.

Bundled (``data/projections/``; Source: Office for National Statistics licensed under the Open
Government Licence v3.0):

=============================  =====================================================================
loader                         what
=============================  =====================================================================
:func:`load_snpp`              2018-based subnational projections (SNPP), persons, 5-year age
                               groups ``0-4`` ... ``85-89``, ``90+`` on the 153 councils (2023
                               codes) and England, 2018–2043: ``area_code, area_name, age_group,
                               year, population``
:func:`load_npp`               national projections for England by sex and single year of age:
                               ``"2018-based principal"`` (2018–2050) or ``"2020-based interim
                               principal"`` (2020–2050): ``variant, sex, age, year, population``
                               (``age`` 0 ... 104, then 105 = 105-109 and 110 = 110 and over)
:func:`read_snpp_bulk`         a user's copy of ONS's bulk SNPP CSV (``AREA_CODE, AREA_NAME,
                               COMPONENT, SEX, AGE_GROUP, 2022 ... 2047``, single years of age), as
                               the tidy frame of :func:`load_snpp` in the groups asked
=============================  =====================================================================

:func:`growth_ratios` gives ``g(c, a, t) = P(c, a, t) / P(c, a, base)`` per area ``c``, age group
``a`` and year ``t`` (the POPPI / PANSI method applies it to a recent base population);
:func:`national_variant_ratio` gives, by 5-year group, the 2020-based national growth over the
2018-based one; :func:`census_single_years` gives the Census 2021 base (TS007, single years 0 ...
99 and 100+, summed from the 309 districts to the 153 councils).

Age groups are written ``lo-hi`` (``65-69``) or ``lo+`` (``90+``); :func:`parse_age_band` also
reads ``65 to 69``, ``85 and over``, ``all ages``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt

__all__ = [
    "ENGLAND",
    "NPP_VARIANTS",
    "SNPP_GROUPS",
    "age_group_of",
    "census_single_years",
    "growth_ratios",
    "load_npp",
    "load_snpp",
    "national_variant_ratio",
    "npp_by_group",
    "parse_age_band",
    "projection_array",
    "read_snpp_bulk",
]

ENGLAND = "E92000001"
#: the 5-year age groups of the bundled SNPP (and of :func:`read_snpp_bulk` by default)
SNPP_GROUPS: tuple[str, ...] = tuple(f"{lo}-{lo + 4}" for lo in range(0, 90, 5)) + ("90+",)
#: the oldest single year of Census 2021 TS007 (``age_100`` = 100 and over)
TOP_AGE = 100
_SNPP_FILE = "snpp2018_persons_council23_5yr_2018_2043.csv"
NPP_VARIANTS: dict[str, str] = {
    "2018-based principal": "npp2018_england_principal_syoa_sex_2018_2050.csv",
    "2020-based interim principal": "npp2020interim_england_principal_syoa_sex_2020_2050.csv",
}
_BULK_COLUMNS = ("AREA_CODE", "AREA_NAME", "COMPONENT", "SEX", "AGE_GROUP")


# ------------------------------------------------------------------------------ age bands
_RANGE = re.compile(r"^(?:aged\s+)?(\d+)\s*(?:-|–|to)\s*(\d+)(?:\s*years?)?$")
_OPEN = re.compile(r"^(?:aged\s+)?(\d+)\s*(?:\+|and over|plus|or over|and older)(?:\s*years?)?$")
_ALL = ("all", "all ages", "total", "persons")


def parse_age_band(label: object) -> tuple[int, int | None] | None:
    """``(lo, hi)`` of an age-band label (``hi`` None for an open band such as ``85+``); None when
    the label is not an age band. ``all ages`` is ``(0, None)``; a single year ``7`` is ``(7, 7)``."""
    text = str(label).strip().lower().replace("years", "").replace("year", "").strip()
    if text in _ALL:
        return (0, None)
    if text.isdigit():
        return (int(text), int(text))
    m = _RANGE.match(text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return (lo, hi) if hi >= lo else None
    m = _OPEN.match(text)
    if m:
        return (int(m.group(1)), None)
    return None


def age_group_of(ages: np.ndarray, groups: Sequence[str] = SNPP_GROUPS) -> np.ndarray:
    """The index in ``groups`` (contiguous bands from 0, the last open) of each single year of age."""
    bounds = [parse_age_band(g) for g in groups]
    starts = np.array([b[0] for b in bounds])  # type: ignore[index]
    return np.searchsorted(starts, np.asarray(ages), side="right") - 1


# ------------------------------------------------------------------------------ bundled files
def _open(name: str):
    return resources.files("carepop").joinpath(f"data/projections/{name}").open("rb")


def _year_columns(columns: Iterable[object]) -> list[str]:
    return [str(c) for c in columns if str(c).strip().isdigit()]


@cache
def _snpp_wide() -> pd.DataFrame:
    with _open(_SNPP_FILE) as fh:
        return pd.read_csv(fh, dtype={"area_code": str, "area_name": str, "age_group": str})


def load_snpp(*, all_ages: bool = False) -> pd.DataFrame:
    """The bundled 2018-based SNPP, persons by 5-year age group, on the 153 councils (2023 codes)
    and England: ``area_code, area_name, age_group, year, population`` (a new frame; ``all_ages``
    keeps the ``All ages`` rows too). ONS 2018-based SNPP Table 2, re-expressed on 2023 councils
    (``data/projections/README.md`` says how)."""
    wide = _snpp_wide()
    if not all_ages:
        wide = wide[wide["age_group"] != "All ages"]
    return _long(wide, ["area_code", "area_name", "age_group"])


def _long(wide: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    years = _year_columns(wide.columns)
    out = wide.melt(id_vars=keys, value_vars=years, var_name="year", value_name="population")
    out["year"] = out["year"].astype(int)
    out["population"] = out["population"].astype(float)
    return out.reset_index(drop=True)


def load_npp(variant: str = "2018-based principal") -> pd.DataFrame:
    """A bundled national projection for England: ``variant, sex, age, year, population`` by single
    year of age (``age`` 0 ... 104; 105 stands for 105-109 and 110 for 110 and over)."""
    if variant not in NPP_VARIANTS:
        raise CarepopError(
            f"Unknown national projection {variant!r}.",
            code="bad_option",
            got=variant,
            expected=list(NPP_VARIANTS),
            fix=("set ", opt("variant"), " to one of the expected values"),
        )
    with _open(NPP_VARIANTS[variant]) as fh:
        wide = pd.read_csv(fh, dtype={"sex": str, "age": str})
    wide["age"] = wide["age"].str.replace(r"[-+].*$", "", regex=True).astype(int)
    out = _long(wide, ["sex", "age"])
    out.insert(0, "variant", variant)
    return out


def npp_by_group(variant: str, groups: Sequence[str] = SNPP_GROUPS) -> pd.DataFrame:
    """A national projection, persons, summed to ``groups`` (rows) by year (columns)."""
    npp = load_npp(variant)
    npp["group"] = np.asarray(groups)[age_group_of(npp["age"].to_numpy(), groups)]
    wide = npp.pivot_table(index="group", columns="year", values="population", aggfunc="sum")
    return wide.reindex(list(groups))


def national_variant_ratio(
    base: int,
    years: Sequence[int],
    *,
    low: str = "2018-based principal",
    high: str = "2020-based interim principal",
    groups: Sequence[str] = SNPP_GROUPS,
) -> np.ndarray:
    """``R(a, t) = [N_high(a, t) / N_high(a, base)] / [N_low(a, t) / N_low(a, base)]`` by age group
    ``a`` (rows, in ``groups``) and year ``t`` (columns, ``years``): how much faster (> 1) or slower
    group ``a`` grows from ``base`` under the national projection ``high`` than under ``low``.
    Multiplying a council's projection (made from the ``low`` vintage) by ``R`` re-expresses it
    with the ``high`` projection's national growth."""
    a = npp_by_group(low, groups)
    b = npp_by_group(high, groups)
    need = [base, *years]
    for name, frame in ((low, a), (high, b)):
        missing = sorted(set(need) - set(frame.columns))
        if missing:
            raise CarepopError(
                f"The national projection {name!r} has no year {missing[0]}.",
                code="year_out_of_range",
                got=missing[0],
                expected=f"{min(frame.columns)} to {max(frame.columns)}",
                fix=("choose ", opt("base"), " and ", opt("to"), " within those years"),
            )
    ga = a[list(years)].to_numpy() / a[[base]].to_numpy()
    gb = b[list(years)].to_numpy() / b[[base]].to_numpy()
    return gb / ga


# ------------------------------------------------------------------------------ array form
def projection_array(
    frame: pd.DataFrame, areas: Sequence[str], groups: Sequence[str] = SNPP_GROUPS
) -> tuple[np.ndarray, np.ndarray]:
    """``(population[area, group, year], years)`` of a tidy projection frame (``area_code,
    age_group, year, population``) for ``areas`` in order; an area or group missing is an error."""
    have = pd.Index(frame["area_code"].astype(str).unique())
    missing = [str(a) for a in areas if a not in have]
    if missing:
        raise CarepopError(
            f"The population projections have no rows for {len(missing)} council(s): "
            f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}.",
            code="unknown_area",
            column="area_code",
            got=missing[:5],
            fix=(
                "give projections on 2023 council codes (the 2022-based SNPP, or the bundled "
                "2018-based file: leave out ",
                opt("projections", metavar="FILE"),
                ")",
            ),
        )
    sub = frame[frame["area_code"].astype(str).isin(areas) & frame["age_group"].isin(groups)]
    cube = sub.pivot_table(
        index=["area_code", "age_group"], columns="year", values="population", aggfunc="sum"
    )
    full = pd.MultiIndex.from_product([list(areas), list(groups)], names=["area_code", "age_group"])
    cube = cube.reindex(full)
    gaps = cube.isna().any(axis=1)
    if gaps.any():
        area, group = gaps[gaps].index[0]
        raise CarepopError(
            f"The population projections have no value for area {area}, age group {group} "
            "in some year(s).",
            code="missing_value",
            column="population",
            got=f"{area} {group}",
            expected=f"every area with the age groups {', '.join(groups)} in every year",
            fix="give complete projections (every area, age group and year)",
        )
    years = cube.columns.to_numpy(dtype=int)
    return cube.to_numpy(dtype=float).reshape(len(areas), len(groups), len(years)), years


def growth_ratios(frame: pd.DataFrame | None = None, *, base: int = 2018) -> pd.DataFrame:
    """``area_code, age_group, year, growth`` with ``growth = P(c, a, t) / P(c, a, base)`` for
    every area, age group and year of a tidy projection ``frame`` (default :func:`load_snpp`).
    A group with nobody in the base year has growth NaN."""
    frame = load_snpp() if frame is None else frame
    years = sorted(frame["year"].unique())
    if base not in years:
        raise _year_error(base, years, "base")
    keys = ["area_code", "age_group"]
    at_base = frame.loc[frame["year"] == base, [*keys, "population"]].rename(columns={"population": "p0"})
    out = frame[[*keys, "year", "population"]].merge(at_base, on=keys, how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth"] = np.where(out["p0"] > 0, out["population"] / out["p0"], np.nan)
    return out[[*keys, "year", "growth"]]


def _year_error(year: int, years: Sequence[int], param: str) -> CarepopError:
    return CarepopError(
        f"The population projections have no year {year}.",
        code="year_out_of_range",
        got=year,
        expected=f"a year from {min(years)} to {max(years)}",
        fix=("choose ", opt(param, metavar="YEAR"), f" within {min(years)}–{max(years)}"),
    )


# ------------------------------------------------------------------------------ census base
@cache
def _census_by_council() -> pd.DataFrame:
    from carepop.sources.census import load_ts007
    from carepop.sources.regions import councils_of

    la = load_ts007("la", single_years=True)
    cols = [f"age_{a}" for a in range(TOP_AGE + 1)]
    la["council_code"] = councils_of(la["area_code"], column="area_code").to_numpy()
    return la.groupby("council_code", sort=True)[cols].sum()


def census_single_years() -> pd.DataFrame:
    """Census 2021 usual residents by council (153, 2023 codes; index ``council_code``) and single
    year of age ``age_0`` ... ``age_100`` (100 and over): TS007 by district summed to councils."""
    return _census_by_council().copy()


# ------------------------------------------------------------------------------ ONS bulk file
def read_snpp_bulk(
    path: str | Path | pd.DataFrame,
    *,
    groups: Sequence[str] | None = SNPP_GROUPS,
    areas: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    component: str = "population",
) -> pd.DataFrame:
    """Read ONS's bulk SNPP CSV (``AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP`` and one column
    per year; single years of age ``0`` ... ``89`` and ``90 and over``) into the tidy frame of
    :func:`load_snpp`: ``area_code, area_name, age_group, year, population``, persons.

    Persons are the file's ``persons`` rows, or males + females where it has none. ``groups`` are
    the age groups to sum to (default the 5-year groups of the bundled file; None keeps the file's
    own single years); each must be a union of the file's ages. ``areas`` and ``years`` keep those
    (each must be in the file). ``All ages`` rows are left out."""
    where = "the projections" if isinstance(path, pd.DataFrame) else f"the file {str(path)!r}"
    if isinstance(path, pd.DataFrame):
        raw = path.copy()
    else:  # text columns as text; year columns parsed by pandas (checked below)
        header = pd.read_csv(path, nrows=0).columns
        raw = pd.read_csv(path, dtype={c: str for c in header if not str(c).strip().isdigit()})
    raw.columns = [str(c).strip() for c in raw.columns]
    upper = {c.upper(): c for c in raw.columns}
    missing = [c for c in _BULK_COLUMNS if c not in upper]
    if missing:
        raise CarepopError(
            f"{where[0].upper()}{where[1:]} has no column {missing[0]!r}: it is not in the layout of "
            "ONS's bulk SNPP CSV.",
            code="unknown_column",
            column=missing[0],
            expected=[*_BULK_COLUMNS, "2022", "...", "2047"],
            fix="give ONS's bulk CSV file as downloaded (e.g. '2022-based SNPP population persons.csv')",
        )
    raw = raw.rename(columns={upper[c]: c for c in _BULK_COLUMNS})
    rest = [c for c in raw.columns if c not in _BULK_COLUMNS]
    bad = [c for c in rest if not c.isdigit()]
    if bad or not rest:
        raise CarepopError(
            f"{where[0].upper()}{where[1:]} has a column that is not a year: {bad[0] if bad else 'none'}.",
            code="bad_column",
            column=bad[0] if bad else None,
            expected="after AGE_GROUP, one column per year (2022, 2023, ...)",
            fix="remove other columns, or give the file as ONS publishes it",
        )
    year_cols = rest
    values = raw[year_cols].apply(pd.to_numeric, errors="coerce")
    nonnum = values.isna() & raw[year_cols].notna()
    nan = values.isna().to_numpy()
    if nan.any():
        r, c = np.argwhere(nan)[0]
        rows = (np.flatnonzero(nan.any(axis=1))[:5] + 1).tolist()
        raise CarepopError(
            f"{where[0].upper()}{where[1:]} has "
            f"{'a value that is not a number' if nonnum.to_numpy().any() else 'an empty value'} "
            f"in year column {year_cols[c]!r}.",
            code="not_numeric",
            column=year_cols[c],
            rows=rows,
            got=raw.iloc[r][year_cols[c]],
            fix="every year column must hold numbers (population counts)",
        )
    comp = raw["COMPONENT"].astype(str).str.strip().str.lower()
    keep = comp == component.lower()
    if not keep.any():
        raise CarepopError(
            f"{where[0].upper()}{where[1:]} has no rows with COMPONENT {component!r}.",
            code="unknown_value",
            column="COMPONENT",
            got=sorted(comp.unique())[:5],
            fix="give the population file (COMPONENT 'Population')",
        )
    sex = raw["SEX"].astype(str).str.strip().str.lower().map(
        {"persons": "persons", "all": "persons", "0": "persons", "male": "male", "males": "male",
         "1": "male", "female": "female", "females": "female", "2": "female"}
    )  # fmt: skip
    unknown_sex = sex.isna() & keep
    if unknown_sex.any():
        raise CarepopError(
            "Unknown SEX value(s).",
            code="unknown_value",
            column="SEX",
            rows=(np.flatnonzero(unknown_sex.to_numpy())[:5] + 1).tolist(),
            got=raw.loc[unknown_sex, "SEX"].iloc[0],
            expected=["persons", "male", "female"],
            fix="use the file as ONS publishes it",
        )
    has_persons = (keep & (sex == "persons")).any()
    keep &= (sex == "persons") if has_persons else sex.isin(["male", "female"])
    label = raw["AGE_GROUP"].astype(str).str.strip()
    is_all = label.str.lower().isin(_ALL)
    keep &= ~is_all
    bands = {u: parse_age_band(u) for u in label.unique()}  # a few dozen distinct labels
    lo = label.map({u: b[0] if b else -1 for u, b in bands.items()}).to_numpy()
    hi = label.map({u: (10_000 if b[1] is None else b[1]) if b else -1 for u, b in bands.items()}).to_numpy()
    bad_age = (lo < 0) & keep
    if bad_age.any():
        raise CarepopError(
            "AGE_GROUP values that are not ages.",
            code="unknown_value",
            column="AGE_GROUP",
            rows=(np.flatnonzero(bad_age.to_numpy())[:5] + 1).tolist(),
            got=label[bad_age].iloc[0],
            expected="single years 0 ... 89, '90 and over' (or bands such as '65-69', '90+')",
            fix="use the file as ONS publishes it",
        )
    codes = raw["AREA_CODE"].astype(str).str.strip()
    if areas is not None:
        absent = [a for a in areas if a not in set(codes)]
        if absent:
            raise CarepopError(
                f"Area code(s) not in {where}: {', '.join(absent[:8])}.",
                code="unknown_area",
                column="AREA_CODE",
                got=absent[:5],
                fix=("use codes of the file's AREA_CODE column (e.g. "
                     f"{', '.join(codes.drop_duplicates().head(3))}) in ", opt("areas")),
            )  # fmt: skip
        keep &= codes.isin(list(areas))
    if years is not None:
        have = [int(y) for y in year_cols]
        for y in years:
            if int(y) not in have:
                raise _year_error(int(y), have, "years")
        year_cols = [str(int(y)) for y in years]
    tidy = pd.concat([codes.rename("area_code"), raw["AREA_NAME"].rename("area_name"),
                      pd.Series(lo, name="lo"), pd.Series(hi, name="hi"), values[year_cols]],
                     axis=1)[keep.to_numpy()]  # fmt: skip
    if groups is None:
        tidy["age_group"] = label[keep.to_numpy()]
    else:
        tidy["age_group"] = _to_groups(tidy["lo"].to_numpy(), tidy["hi"].to_numpy(), groups, label[keep])
    wide = tidy.groupby(["area_code", "area_name", "age_group"], sort=False)[year_cols].sum().reset_index()
    if groups is not None:
        wide["age_group"] = pd.Categorical(wide["age_group"], categories=list(groups), ordered=True)
        wide = wide.sort_values(["area_code", "age_group"], kind="stable")
        wide["age_group"] = wide["age_group"].astype(str)
    return _long(wide.reset_index(drop=True), ["area_code", "area_name", "age_group"])


def _to_groups(lo: np.ndarray, hi: np.ndarray, groups: Sequence[str], labels: pd.Series) -> np.ndarray:
    """The group (of ``groups``) holding each file band ``[lo, hi]``; a band across two groups, or
    in none, is an error naming the groups that cannot be made."""
    bounds = [parse_age_band(g) for g in groups]
    if any(b is None for b in bounds):
        bad = [g for g, b in zip(groups, bounds, strict=True) if b is None]
        raise CarepopError(
            f"Age group {bad[0]!r} is not an age band.",
            code="bad_option",
            got=bad[0],
            expected="labels such as '0-4', '65-69', '90+'",
            fix=("write ", opt("groups"), " as lo-hi or lo+"),
        )
    glo = np.array([b[0] for b in bounds])  # type: ignore[index]
    ghi = np.array([10_000 if b[1] is None else b[1] for b in bounds])  # type: ignore[index]
    inside = (lo[:, None] >= glo[None, :]) & (hi[:, None] <= ghi[None, :])
    found = inside.any(axis=1)
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise CarepopError(
            f"The file's age group {labels.iloc[i]!r} does not fall inside one of the groups asked.",
            code="bad_option",
            column="AGE_GROUP",
            got=labels.iloc[i],
            expected=list(groups),
            fix=("choose ", opt("groups"), " that are unions of the file's ages (the last open, e.g. 90+)"),
        )
    return np.asarray(groups)[inside.argmax(axis=1)]
