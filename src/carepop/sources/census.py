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
