"""Census 2021 usual residents by age band and sex for the 153 councils with adult social care.

:func:`population_by_age_sex` gives one row per (council, age band, sex) with ``population``:

1. each district's Census 2021 TS007 count at every single year of age ``P_{d,a}`` is split by sex
   with the national female share at that age ``f_a`` (ONS 2020-based interim national
   projections, England, mid-2021: ``data/population/``), on the odds scale, and raked to the
   district's TS008 female total: ``F_{d,a} = P_{d,a} k_d f_a / (k_d f_a + 1 - f_a)`` with ``k_d``
   solved (Newton, vectorised over districts) so that ``Σ_a F_{d,a}`` equals the TS008 female
   count scaled to TS007's total (the two tables differ by ONS perturbation). This is iterative
   proportional fitting of the age × sex table to the district's age and sex margins from the
   national age × sex table as seed (its fixed point has exactly this form);
2. districts are summed to their 2023 council (:func:`carepop.sources.regions.councils_of`) and
   single years to the bands.

Census 2021 publishes sex by single year of age by district in tables carepop does not bundle
(e.g. RM121/TS009 by LTLA); where a user has one, pass it as ``table`` (columns ``la_code`` or
``council_code``, ``age``, ``sex``, ``population``) and it is used instead of step 1.
Age bands are ``(lo, hi)`` pairs, ``hi=None`` open-ended (85+ takes 85 … 100+).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt
from carepop.sources.census import band_label, bundled_path, load_ts007, load_ts008

__all__ = ["SEXES", "check_age_bands", "population_by_age_sex", "sex_by_single_year"]

#: sex labels as Census 2021 TS008
SEXES = ("Female", "Male")


@cache
def _national_share() -> np.ndarray:
    """Female share at ages 0 … 100 (100 and over), England mid-2021 (NPP 2020-based interim)."""
    t = pd.read_csv(bundled_path("population", "npp2020_england_sex_by_age_2021.csv"))
    return (t["female"] / (t["female"] + t["male"])).to_numpy(dtype=float)


def check_age_bands(age_bands: tuple[tuple[int, int | None], ...], *, name: str = "age_bands") -> None:
    """Bands are ``(lo, hi)`` with ``0 <= lo <= hi <= 120``, in order, not overlapping; only the
    last may be open (``hi=None``)."""
    if not age_bands:
        raise CarepopError("No age bands were given.", code="bad_option", fix=("give ", opt(name)))
    prev = -1
    for k, band in enumerate(age_bands):
        lo, hi = band
        last = k == len(age_bands) - 1
        bad = lo < 0 or lo <= prev or (hi is None and not last) or (hi is not None and (hi < lo or hi > 120))
        if bad:
            raise CarepopError(
                f"Age band {band_label(lo, hi)} is not valid here.",
                code="bad_age_bands",
                got=str(band),
                expected="bands (lo, hi) in increasing order, not overlapping, only the last open (hi=None)",
                fix=("give ", opt(name), " like ((18, 64), (65, 74), (75, 84), (85, None))"),
            )
        prev = lo if hi is None else hi


def sex_by_single_year() -> pd.DataFrame:
    """Districts' Census 2021 residents by single year of age (0 … 100) and sex (module docstring,
    step 1): ``la_code``, ``age``, ``sex``, ``population`` (not rounded to whole persons)."""
    ages = load_ts007("la", single_years=True).set_index("area_code")
    sex = load_ts008("la").set_index("area_code").loc[ages.index]
    P = ages[[f"age_{a}" for a in range(101)]].to_numpy(dtype=float)
    f = _national_share()
    target = sex["female"].to_numpy(dtype=float) * P.sum(axis=1) / sex["residents"].to_numpy(dtype=float)
    log_k = np.zeros(P.shape[0])
    for _ in range(50):  # Newton on log k_d, all districts at once
        k = np.exp(log_k)[:, None]
        share = k * f / (k * f + 1 - f)
        gap = (P * share).sum(axis=1) - target
        slope = (P * share * (1 - share)).sum(axis=1)
        step = gap / slope
        log_k -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    k = np.exp(log_k)[:, None]
    female = P * k * f / (k * f + 1 - f)
    n, A = P.shape
    codes = np.repeat(ages.index.to_numpy(), A)
    age = np.tile(np.arange(A), n)
    return pd.concat(
        [
            pd.DataFrame({"la_code": codes, "age": age, "sex": "Female", "population": female.ravel()}),
            pd.DataFrame({"la_code": codes, "age": age, "sex": "Male", "population": (P - female).ravel()}),
        ],
        ignore_index=True,
    )


def population_by_age_sex(
    age_bands: tuple[tuple[int, int | None], ...] = ((18, 64), (65, 74), (75, 84), (85, None)),
    *,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Residents by council, age band and sex (module docstring): ``council_code``, ``region_code``,
    ``age_band`` (``"18-64"``, ``"85+"``), ``sex`` (Female/Male), ``population``; councils in
    code order, bands in the given order, Female before Male. Ages outside the bands are left out."""
    from carepop.sources.regions import councils_of, region_lookup

    check_age_bands(age_bands)
    if table is None:
        table = sex_by_single_year()
    else:
        need = {"age", "sex", "population"}
        key = "la_code" if "la_code" in table.columns else "council_code"
        missing = sorted(need - set(table.columns)) or ([] if key in table.columns else [key])
        if missing:
            raise CarepopError(
                f"The population table has no column {missing[0]!r}.",
                code="unknown_column",
                column=missing[0],
                fix="give columns la_code (or council_code), age, sex, population",
            )
    frame = table.copy()
    if "council_code" not in frame.columns:
        frame["council_code"] = councils_of(frame["la_code"], column="la_code").to_numpy()
    age = frame["age"].to_numpy(dtype=float)
    band = np.full(len(frame), -1)
    for b, (lo, hi) in enumerate(age_bands):
        band[(age >= lo) & ((age <= hi) if hi is not None else True)] = b
    labels = [band_label(lo, hi) for lo, hi in age_bands]
    frame = frame[band >= 0].assign(_band=band[band >= 0])
    out = frame.groupby(["council_code", "_band", "sex"], as_index=False, sort=True)["population"].sum()
    out["age_band"] = pd.Categorical.from_codes(out["_band"], labels)
    regions = region_lookup().set_index("area_code")["region_code"]
    out.insert(1, "region_code", out["council_code"].map(regions).to_numpy())
    return out[["council_code", "region_code", "age_band", "sex", "population"]].reset_index(drop=True)
