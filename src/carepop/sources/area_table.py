"""One tidy table of the 309 English local authorities (2021 LTLA codes) for estimates by LA.

:func:`area_table` joins, on ``la_code``, every bundled LA source to the list of English LAs of
Census 2021 TS039; each join is checked with :func:`carepop.sources.areas.check_codes`, so an LA
missing from a source (or a source code that is not a 2021 LA) raises an error naming the codes
instead of leaving a silent gap. :func:`join_report` says, per source, how its codes matched.

=============================  ==================================================================
columns                        source
=============================  ==================================================================
``la_code``, ``la_name``       Census 2021 LAs (TS039)
``region_code``, ``_name``     the LA's English region (:mod:`carepop.sources.regions`)
``residents_5plus`` ...        TS039: residents aged 5+, ``no_care``, the five hours bands,
``carers``, ``carer_rate``     ``carers``, ``carer_rate`` = carers / residents aged 5+
``residents``, ``age_*``       TS007: residents of all ages and ``age_bands`` (default 0-17,
                               18-64, 65-74, 75-84, 85+) summed from single years
``female``, ``male``           TS008 (all ages; adds to TS008's own total, which differs from
                               TS007's by perturbation)
``c2011_*``                    Census 2011 QS301 summed to 2021 LAs: ``c2011_residents`` (all
                               ages!), ``c2011_no_care``, ``c2011_h1_19``, ``c2011_h20_49``,
                               ``c2011_h50_plus``, ``c2011_carers``, ``c2011_predecessors``
                               (number of 2011 districts; > 1 for the 8 merged councils),
                               ``c2011_carer_rate`` = 2011 carers / 2011 residents (all ages)
``imd_score`` ...              IMD 2019 overall ``imd_score``, ``imd_proportion``, ``imd_extent``
``gp_carers`` ...              GP-registered carers 2023-24 Q2, ``gp_coverage`` (GP / census
                               carers), ``gp_missing_practices``, ``gp_missing_patients``
=============================  ==================================================================

What the joins found (bundled files): TS007, TS008, IMD 2019 (ltla22) and GP carers (2022 codes)
carry exactly the 309 TS039 codes (names identical where the source has names). QS301 has 326
English 2011 districts: 301 keep their code in 2021, 25 merged into 8 new councils (Bournemouth,
Christchurch and Poole; Dorset; Buckinghamshire; North and West Northamptonshire; East and West
Suffolk; Somerset West and Taunton), summed as pure mergers; none is left unmatched, so no
``c2011_*`` value is NaN.
"""

from __future__ import annotations

import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.areas import check_codes
from carepop.sources.census import (
    HOURS_BANDS,
    HOURS_BANDS_2011,
    band_label,
    load_qs301,
    load_ts007,
    load_ts008,
    load_ts039,
)
from carepop.sources.la_indicators import load_gp_carers, load_imd2019
from carepop.sources.regions import region_lookup, regions_of

__all__ = ["AREA_AGE_BANDS", "area_table", "council_table", "join_report"]

#: broad age bands of the area table (social care: children, working age, older people)
AREA_AGE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 17), (18, 64), (65, 74), (75, 84), (85, None))


def _age_column(lo: int, hi: int | None) -> str:
    return "age_" + band_label(lo, hi).replace("-", "_").replace("+", "_plus")


def area_table(age_bands: tuple[tuple[int, int | None], ...] = AREA_AGE_BANDS) -> pd.DataFrame:
    """One row per English LA (309, 2021 LTLA codes) with census 2021, census 2011, IMD 2019 and
    GP-registered carers columns (see the module docstring). Raises ``unmatched_area`` if any
    source does not cover exactly these LAs."""
    base = load_ts039("la")
    las = base["area_code"]
    out = base.rename(columns={"area_code": "la_code", "area_name": "la_name"})
    out = out[["la_code", "la_name", "residents_5plus", *HOURS_BANDS, "carers"]]
    out["carer_rate"] = out["carers"] / out["residents_5plus"]
    regions = region_lookup().set_index("area_code")
    out.insert(2, "region_code", regions_of(out["la_code"], column="la_code").to_numpy())
    out.insert(
        3,
        "region_name",
        out["region_code"].map(
            regions.drop_duplicates("region_code").set_index("region_code")["region_name"]
        ),
    )

    ages = load_ts007("la", single_years=True)
    check_codes(ages["area_code"], las, what="TS007", against="TS039 LAs")
    _same_names(base, ages, "TS007")
    age_cols = {"la_code": ages["area_code"], "residents": ages["residents"]}
    for lo, hi in age_bands:
        top = 100 if hi is None else hi
        age_cols[_age_column(lo, hi)] = ages[[f"age_{a}" for a in range(lo, top + 1)]].sum(axis=1)
    out = _join(out, pd.DataFrame(age_cols))

    sex = load_ts008("la")
    check_codes(sex["area_code"], las, what="TS008", against="TS039 LAs")
    _same_names(base, sex, "TS008")
    out = _join(out, sex[["area_code", "female", "male"]].rename(columns={"area_code": "la_code"}))

    c11 = load_qs301(boundaries="2021")
    check_codes(c11["area_code"], las, what="Census 2011 QS301 (mapped to 2021 LAs)", against="TS039 LAs")
    c11_cols = ["residents", *HOURS_BANDS_2011, "carers", "predecessors"]
    c11 = c11[["area_code", *c11_cols]].rename(columns={c: f"c2011_{c}" for c in c11_cols})
    out = _join(out, c11.rename(columns={"area_code": "la_code"}))
    out["c2011_carer_rate"] = out["c2011_carers"] / out["c2011_residents"]

    imd = load_imd2019()  # checks its codes against TS039
    out = _join(out, imd[["la_code", "imd_score", "imd_proportion", "imd_extent"]])

    gp = load_gp_carers()  # checks its codes and names against TS039
    census = gp[["la_code", "census_carers"]].merge(out[["la_code", "carers"]], on="la_code")
    differ = census["census_carers"] != census["carers"]
    if differ.any():
        raise CarepopError(
            "The GP-registered carers file's census carers differ from Census 2021 TS039 carers.",
            code="totals_disagree",
            column="CENSUS_NO_OF_CARERS",
            rows=census.loc[differ, "la_code"].tolist(),
            fix="the GP file should divide by the TS039 carers of the same LA",
        )
    gp = gp[["la_code", "gp_carers", "coverage", "missing_practices", "missing_patients"]].rename(
        columns={
            "coverage": "gp_coverage",
            "missing_practices": "gp_missing_practices",
            "missing_patients": "gp_missing_patients",
        }
    )
    out = _join(out, gp)
    return out.sort_values("la_code").reset_index(drop=True)


#: columns of the district table that are counts (summed to councils)
_COUNTS = (
    "residents_5plus",
    "no_care",
    "h9_or_less",
    "h10_19",
    "h20_34",
    "h35_49",
    "h50_plus",
    "carers",
    "residents",
    "female",
    "male",
    "c2011_residents",
    "c2011_no_care",
    "c2011_h1_19",
    "c2011_h20_49",
    "c2011_h50_plus",
    "c2011_carers",
    "gp_carers",
    "gp_missing_practices",
    "gp_missing_patients",
)


def council_table(age_bands: tuple[tuple[int, int | None], ...] = AREA_AGE_BANDS) -> pd.DataFrame:
    """One row per council with adult social care responsibility (153 in England, 2023): the
    district table (:func:`area_table`) summed to councils (:func:`carepop.sources.regions.councils_of`).

    Counts are summed; ``carer_rate``, ``c2011_carer_rate`` and ``gp_coverage`` are recomputed
    from the sums; the IMD score, proportion and extent are the districts' values weighted by
    their residents (an approximation: the IMD's own upper-tier summaries rank LSOAs afresh).
    The key is ``council_code`` (and ``council_name``), with the region.
    """
    from carepop.sources.regions import councils_of, region_lookup

    la = area_table(age_bands)
    la["council_code"] = councils_of(la["la_code"], column="la_code").to_numpy()
    counts = [c for c in la.columns if c in _COUNTS or c.startswith("age_")]
    weighted = ["imd_score", "imd_proportion", "imd_extent"]
    la[weighted] = la[weighted].mul(la["residents"], axis=0)
    out = la.groupby("council_code", sort=True)[counts + weighted].sum()
    out[weighted] = out[weighted].div(out["residents"], axis=0)
    out["carer_rate"] = out["carers"] / out["residents_5plus"]
    out["c2011_carer_rate"] = out["c2011_carers"] / out["c2011_residents"]
    out["gp_coverage"] = out["gp_carers"] / out["carers"]
    out = out.reset_index()
    names = region_lookup().set_index("area_code")
    out.insert(1, "council_name", out["council_code"].map(names["area_name"]))
    out.insert(2, "region_code", out["council_code"].map(names["region_code"]))
    out.insert(3, "region_name", out["council_code"].map(names["region_name"]))
    return out


def _same_names(base: pd.DataFrame, other: pd.DataFrame, what: str) -> None:
    pair = base[["area_code", "area_name"]].merge(other[["area_code", "area_name"]], on="area_code")
    differ = pair["area_name_x"] != pair["area_name_y"]
    if differ.any():
        raise CarepopError(
            f"{what} names some LAs differently from TS039 for the same code.",
            code="unmatched_area",
            column="area_name",
            rows=pair.loc[differ, "area_code"].tolist(),
        )


def _join(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    check_codes(right["la_code"], left["la_code"], what="a source", against="the area table")
    return left.merge(right, on="la_code", how="left", validate="one_to_one")


def join_report() -> pd.DataFrame:
    """How each bundled LA source matches the 309 English LAs of Census 2021: ``source``,
    ``codes`` (vintage), ``rows`` (English rows in the file), ``matched`` (2021 LAs covered),
    ``same_code``, ``merged`` (rows reaching a 2021 LA through a merger), ``unmatched``."""
    las = set(load_ts039("la")["area_code"])
    rows = []
    for name, codes, frame, col in (
        ("Census 2021 TS007", "LTLA 2021", load_ts007("la"), "area_code"),
        ("Census 2021 TS008", "LTLA 2021", load_ts008("la"), "area_code"),
        ("IMD 2019", "LTLA 2022", load_imd2019(), "la_code"),
        ("GP-registered carers 2023-24 Q2", "LTLA 2022", load_gp_carers(), "la_code"),
    ):
        have = set(frame[col])
        rows.append((name, codes, len(frame), len(have & las), len(have & las), 0, sorted(have - las)))
    q = load_qs301()
    mapped = load_qs301(boundaries="2021")
    same = set(q["area_code"]) & las
    merged = int(mapped.loc[mapped["predecessors"] > 1, "predecessors"].sum())
    unmatched = sorted(set(q["area_code"]) - las - set(";".join(mapped["codes_2011"]).split(";")))
    rows.append(
        (
            "Census 2011 QS301",
            "LAD 2011 (2013 recodes)",
            len(q),
            len(set(mapped["area_code"]) & las),
            len(same),
            merged,
            unmatched,
        )
    )
    return pd.DataFrame(
        rows, columns=["source", "codes", "rows", "matched", "same_code", "merged", "unmatched"]
    )
