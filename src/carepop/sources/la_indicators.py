"""Local authority indicators bundled with carepop: IMD 2019 and GP-registered carers.

Both files are public-sector information under the Open Government Licence v3.0 and use 2022 LTLA
codes, which for England are the 2021 codes of the census tables (no English district changed
between April 2021 and April 2022; see :mod:`carepop.sources.areas`).

:func:`load_imd2019`
    English Indices of Deprivation 2019 (MHCLG), LSOA results summarised to the 309 LTLAs (2022
    codes), in the layout of the IMD R package (humaniverse/IMD): for the overall index and each
    domain, ``*_score`` (population-weighted average of LSOA scores), ``*_proportion`` (share of the
    LA's LSOAs in the most deprived 10% nationally) and ``*_extent`` (share of the population in the
    most deprived 30% of LSOAs, with the sliding weights of the IoD technical report). The file has
    no names: ``la_name`` comes from Census 2021 TS039 after checking that the codes agree.
:func:`load_gp_carers`
    NHS Digital, GP Contract Services 2023-24 Q2: unpaid carers registered at GP practices,
    apportioned to LAs through patients' LSOA of residence (so ``gp_carers`` is not a whole
    number), beside Census 2021 carers (``census_carers``, equal to TS039 carers for every LA) and
    ``coverage`` = ``gp_carers / census_carers``; ``missing_practices`` / ``missing_patients``: GP
    practices (and their patients) in the LA that did not report (0 where the file has none).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.sources.areas import check_codes
from carepop.sources.census import bundled_path, load_ts039

IMD_DOMAINS = (
    "IMD",
    "Income",
    "Employment",
    "Education",
    "Health",
    "Crime",
    "Housing_and_Access",
    "Environment",
)
_GP_COLUMNS = {
    "LA_CODE": "la_code",
    "LA_NAME.x": "la_name",
    "EST_CARERS_IN_LA": "gp_carers",
    "CENSUS_NO_OF_CARERS": "census_carers",
    "Difference": "difference",
    "Coverage": "coverage",
    "MISSING_PRACTICES": "missing_practices",
    "MISSING_PATIENTS": "missing_patients",
}


def _imd_columns() -> dict[str, str]:
    out: dict[str, str] = {"ltla22_code": "la_code"}
    for d in IMD_DOMAINS:
        prefix = "" if d == "IMD" else f"{d}_"
        for m in ("Score", "Proportion", "Extent"):
            out[f"{prefix}{m}"] = f"{d.lower()}_{m.lower()}"
    return out


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise CarepopError(f"No such file: {str(p)!r}.", code="file_not_found", fix="check the path")
    try:
        frame = pd.read_csv(p)
    except pd.errors.EmptyDataError as exc:
        raise CarepopError(f"{str(p)!r} ({what}) is empty.", code="empty_file") from exc
    except (ValueError, OSError) as exc:
        raise CarepopError(f"Cannot read {str(p)!r} ({what}) as CSV: {exc}", code="unreadable_file") from exc
    if frame.empty:
        raise CarepopError(f"{str(p)!r} ({what}) has no data rows.", code="empty_file")
    return frame


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CarepopError(
            f"The {what} file lacks the column(s) {missing}.",
            code="missing_columns",
            column=missing[0],
            fix="give the file in the layout carepop bundles (see carepop/data/README.md)",
        )


def _numeric(frame: pd.DataFrame, columns: list[str], what: str, *, allow_na: tuple[str, ...] = ()) -> None:
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna().to_numpy() & (frame[col].notna().to_numpy() | (col not in allow_na))
        if bad.any():
            raise CarepopError(
                f"The {what} file has values in {col!r} that are not numbers.",
                code="not_a_number",
                column=col,
                rows=(np.flatnonzero(bad) + 1).tolist(),
            )
        frame[col] = values


def _england_las() -> pd.DataFrame:
    las = load_ts039("la")[["area_code", "area_name"]]
    return las.rename(columns={"area_code": "la_code", "area_name": "la_name"})


@lru_cache(maxsize=1)
def _bundled_imd() -> pd.DataFrame:
    return _load_imd(bundled_path("imd2019", "imd2019_ltla22.csv"))


def load_imd2019(*, source: str | Path | None = None) -> pd.DataFrame:
    """IMD 2019 by LA (see the module docstring): ``la_code``, ``la_name``, ``imd_score``,
    ``imd_proportion``, ``imd_extent`` and the same three for each domain (``income_score`` ...
    ``environment_extent``). One row per English LTLA (309). Source: MHCLG, English Indices of
    Deprivation 2019, summarised to LTLA 2022."""
    return (_bundled_imd() if source is None else _load_imd(Path(source))).copy()


def _load_imd(path: Path) -> pd.DataFrame:
    names = _imd_columns()
    raw = _read_csv(path, "IMD 2019")
    _require(raw, list(names), "IMD 2019")
    frame = raw[list(names)].rename(columns=names)
    _numeric(frame, [c for c in frame.columns if c != "la_code"], "IMD 2019")
    las = _england_las()
    check_codes(frame["la_code"], las["la_code"], what="IMD 2019 (ltla22 codes)", against="Census 2021 LAs")
    frame = las.merge(frame, on="la_code", how="left", validate="one_to_one")
    return frame


@lru_cache(maxsize=1)
def _bundled_gp() -> pd.DataFrame:
    return _load_gp(bundled_path("gp_carers", "gp_registered_carers_la_2023q2.csv"))


def load_gp_carers(*, source: str | Path | None = None) -> pd.DataFrame:
    """GP-registered carers by LA (see the module docstring): ``la_code``, ``la_name``,
    ``gp_carers``, ``census_carers``, ``coverage``, ``missing_practices``, ``missing_patients``.
    One row per English LTLA (309). Source: NHS Digital, GP Contract Services 2023-24 Q2."""
    return (_bundled_gp() if source is None else _load_gp(Path(source))).copy()


def _load_gp(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, "GP-registered carers")
    _require(raw, list(_GP_COLUMNS), "GP-registered carers")
    frame = raw[list(_GP_COLUMNS)].rename(columns=_GP_COLUMNS)
    _numeric(
        frame,
        ["gp_carers", "census_carers", "difference", "coverage", "missing_practices", "missing_patients"],
        "GP-registered carers",
        allow_na=("missing_practices",),
    )
    # practices not reporting: NA in the file where no patients are missing
    none_missing = frame["missing_practices"].isna() & (frame["missing_patients"] == 0)
    frame.loc[none_missing, "missing_practices"] = 0
    bad = frame["missing_practices"].isna().to_numpy()
    if bad.any():
        raise CarepopError(
            "The GP-registered carers file has missing patients but no count of missing practices.",
            code="missing_values",
            column="MISSING_PRACTICES",
            rows=(np.flatnonzero(bad) + 1).tolist(),
        )
    frame["missing_practices"] = frame["missing_practices"].astype("int64")
    frame["missing_patients"] = frame["missing_patients"].astype("int64")
    inconsistent = ~np.isclose(
        frame["coverage"], frame["gp_carers"] / frame["census_carers"], rtol=1e-9
    ) | ~np.isclose(frame["difference"], frame["census_carers"] - frame["gp_carers"], rtol=1e-9, atol=1e-6)
    if inconsistent.any():
        raise CarepopError(
            "The GP-registered carers file's Coverage or Difference does not follow from its counts.",
            code="totals_disagree",
            column="Coverage",
            rows=(np.flatnonzero(inconsistent) + 1).tolist(),
            fix="Coverage = EST_CARERS_IN_LA / CENSUS_NO_OF_CARERS; Difference = census - GP",
        )
    las = _england_las()
    check_codes(frame["la_code"], las["la_code"], what="GP carers (2022 codes)", against="Census 2021 LAs")
    names = frame.merge(las, on="la_code", suffixes=("", "_census"))
    differ = names["la_name"] != names["la_name_census"]
    if differ.any():
        raise CarepopError(
            "LA names in the GP-registered carers file differ from Census 2021 for the same codes: "
            + ", ".join(
                f"{r.la_code} {r.la_name!r} vs {r.la_name_census!r}"
                for r in names[differ].head().itertuples()
            ),
            code="unmatched_area",
            column="LA_NAME.x",
        )
    frame = frame.drop(columns="difference")
    return frame.sort_values("la_code").reset_index(drop=True)
