"""Census 2021 tables bundled with carepop (ONS via Nomis; Open Government Licence v3.0).

``load_ts039(level)`` returns TS039 *Provision of unpaid care* as a tidy frame, one row per area:

=================  ==========================================================
area_code          LA (E06/E07/E08/E09, W06) or MSOA (E02/W02) code
area_name          area name
la_code, la_name   the LA an MSOA lies in (MSOA level only)
residents_5plus    all usual residents aged 5 and over
no_care            provides no unpaid care
h9_or_less ...     9 or less, 10–19, 20–34, 35–49, 50 or more hours a week
carers             residents providing any unpaid care (= the five bands)
=================  ==========================================================

The census question and bands are those a carers survey should keep so that results can be
calibrated to and compared with the census (see README of the bundled data).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from carepop.errors import CarepopError

HOURS_BANDS = ("no_care", "h9_or_less", "h10_19", "h20_34", "h35_49", "h50_plus")
HOURS_LABELS = {
    0: "No unpaid care",
    1: "9 hours or less a week",
    2: "10 to 19 hours a week",
    3: "20 to 34 hours a week",
    4: "35 to 49 hours a week",
    5: "50 or more hours a week",
}

_TS039_COLUMNS = {
    "geography code": "area_code",
    "geography": "area_name",
    "Provision of unpaid care: Total: All usual residents aged 5 and over": "residents_5plus",
    "Provision of unpaid care: Provides no unpaid care": "no_care",
    "Provision of unpaid care: Provides 9 hours or less unpaid care a week": "h9_or_less",
    "Provision of unpaid care: Provides 10 to 19 hours unpaid care a week": "h10_19",
    "Provision of unpaid care: Provides 20 to 34 hours unpaid care a week": "h20_34",
    "Provision of unpaid care: Provides 35 to 49 hours unpaid care a week": "h35_49",
    "Provision of unpaid care: Provides 50 or more hours unpaid care a week": "h50_plus",
}


def _read_bundled(name: str) -> pd.DataFrame:
    path = resources.files("carepop") / "data" / "census2021" / name
    with resources.as_file(path) as p:
        return pd.read_csv(p)


def load_ts039(level: str = "la", england_only: bool = True) -> pd.DataFrame:
    """TS039 unpaid care by ``level`` ("la" or "msoa"), tidy (see module docstring)."""
    if level not in ("la", "msoa"):
        raise CarepopError(f"Unknown TS039 level {level!r}.", code="bad_option", hint="use 'la' or 'msoa'")
    raw = _read_bundled(f"ts039_unpaid_care_{level}.csv")
    missing = [c for c in _TS039_COLUMNS if c not in raw.columns]
    if missing:
        raise CarepopError(
            "The bundled TS039 file lacks expected columns.",
            code="bad_census_file",
            column=missing[0],
            hint="reinstall carepop",
        )
    df = raw[list(_TS039_COLUMNS)].rename(columns=_TS039_COLUMNS)
    if england_only:
        df = df[df["area_code"].str.startswith("E")].reset_index(drop=True)
    df["carers"] = df[list(HOURS_BANDS[1:])].sum(axis=1)
    if level == "msoa":
        las = load_ts039("la", england_only=england_only)[["area_code", "area_name"]]
        # MSOA names are "<LA name> NNN", with ", City of" / ", County of" dropped from the LA name
        las["key"] = las["area_name"].str.replace(r", (City|County) of$", "", regex=True)
        df["key"] = df["area_name"].str.replace(r"\s+\d{3}$", "", regex=True)
        df = df.merge(
            las.rename(columns={"area_code": "la_code", "area_name": "la_name"}),
            on="key",
            how="left",
            validate="many_to_one",
        ).drop(columns="key")
        unmatched = df["la_code"].isna()
        if unmatched.any():
            raise CarepopError(
                "Some MSOAs could not be matched to a local authority by name.",
                code="bad_census_file",
                column="area_name",
                rows=df.loc[unmatched, "area_name"].head().tolist(),
            )
        cols = ["area_code", "area_name", "la_code", "la_name"]
        df = df[cols + [c for c in df.columns if c not in cols]]
    return df


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


def load_ts007_single_years(england_only: bool = True) -> pd.DataFrame:
    """TS007 usual residents by single year of age (0 … 100, 100 meaning 100 and over) per LA:
    columns ``area_code``, ``area_name``, ``age``, ``residents``."""
    raw = _read_bundled("ts007_age_la.csv")
    ages: dict[str, int] = {}
    for col in raw.columns:
        label = col.replace("Age: ", "").replace("; measures: Value", "")
        if label == "Aged under 1 year":
            ages[col] = 0
        elif label == "Aged 100 years and over":
            ages[col] = 100
        else:
            parts = label.split()
            if (
                len(parts) == 3
                and parts[0] == "Aged"
                and parts[1].isdigit()
                and parts[2] in ("year", "years")
            ):
                ages[col] = int(parts[1])
    if sorted(ages.values()) != list(range(101)):
        raise CarepopError(
            "The bundled TS007 file lacks single years of age.",
            code="bad_census_file",
            hint="reinstall carepop",
        )
    frame = raw[["geography code", "geography", *ages]].rename(
        columns={"geography code": "area_code", "geography": "area_name"}
    )
    if england_only:
        frame = frame[frame["area_code"].str.startswith("E")]
    long = frame.melt(id_vars=["area_code", "area_name"], var_name="col", value_name="residents")
    long["age"] = long["col"].map(ages)
    return long.drop(columns="col").sort_values(["area_code", "age"]).reset_index(drop=True)


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
        raw = _read_bundled("ts008_sex_la.csv")
        raw = raw[raw["geography code"].str.startswith("E")]
        frame = pd.concat(
            [
                pd.DataFrame(
                    {
                        "area_code": raw["geography code"],
                        "sex": s,
                        "residents": raw[f"Sex: {s}; measures: Value"],
                    }
                )
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
            f"Unknown census margin {kind!r}.", code="bad_option", hint="use 'age', 'sex' or 'unpaid_care'"
        )
    if las is not None:
        unknown = sorted(set(las) - set(frame["area_code"]))
        if unknown:
            raise CarepopError(
                f"Unknown LA codes: {unknown[:5]}.",
                code="unknown_code",
                column="la_code",
                hint="use 2021 LTLA codes of English authorities, e.g. E08000001",
            )
        frame = frame[frame["area_code"].isin(las)]
    if by_la:
        out = frame.rename(columns={"area_code": "la_code", value: "total"})[["la_code", cat, "total"]]
        return out.sort_values(["la_code", cat]).reset_index(drop=True)
    nat = frame.groupby(cat, as_index=False, sort=True)[value].sum()
    return nat.rename(columns={cat: "value", value: "total"})
