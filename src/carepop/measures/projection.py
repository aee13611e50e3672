"""Demand projections: a rate by age × projected population, with the rate's uncertainty carried
into the counts and the spread between projection vintages shown beside it.

Population (the POPPI / PANSI method, re-based on Census 2021)
----------------------------------------------------------------
For council ``c``, single year of age ``x`` (0 ... 99, 100 and over) in 5-year group ``a(x)``
(``0-4`` ... ``85-89``, ``90+``) and year ``t``::

    P(c, x, t) = census_2021(c, x) × S(c, a(x), t) / S(c, a(x), base)

where ``S`` is the subnational projection (bundled 2018-based SNPP on 2023 councils, or a user's
ONS bulk file) and ``census_2021`` is Census 2021 TS007 summed from districts to councils. With
the growth ratio ``g(c, a, t) = S(c, a, t) / S(c, a, 2018)`` this is ``census × g(t) / g(base)``.
The census counts are taken as the population of year ``base`` (default 2021; Census Day, 21
March 2021, is treated as mid-2021, three months' growth ignored; with a projection that starts
later, such as the 2022-based SNPP, ``base=2022`` takes the census counts as mid-2022).

Ages: TS007 gives single years 0 ... 99 and 100-and-over (besides its broad bands 0-4, 5-9,
10-15, 16-19, 20-24, 25-34, 35-49, 50-64, 65-74, 75-84, 85+, which are not used: 10-15 and 16-19
do not line up with the SNPP groups). Single year ``x`` belongs to SNPP group ``min(x // 5, 18)``:
0-4 ... 85-89, and 90+ for 90 ... 99 and 100+. Every single year grows as its 5-year group does,
so a rate band that is not a union of 5-year groups (``18-24``) is still exact at the base year.

Counts
------
Each row ``k`` of the rates gives a rate ``r_k`` (per ``per`` people) for an age band ``b_k`` and
either one council or every council (a single England rate by age, as POPPI applies it). With
``W_k(u, t)`` the population of band ``b_k`` in the councils of unit ``u`` (a council, a region, or
England) that rate ``k`` applies to::

    count(u, t) = Σ_k r_k W_k(u, t) / per
    var(u, t)   = Σ_k se_k² W_k(u, t)² / per²                                   (delta method)

Rows are independent estimates (the default for survey or small-area estimates of different
councils and age bands); one rate applied to several councils or age groups is fully correlated
across them, which is what ``W_k`` summed over those councils does. The projected population is
treated as known: its own error (projection assumptions) is not in the interval but is shown apart
as the variant spread. The interval is ``count ± z se`` (lower end at least 0) for the delta method
(the count is linear in the rates, so this is exact up to the normal approximation of each rate).
For rates near 0 or 1, ``method="bootstrap"`` draws each rate as
``logit r*_k ~ N(μ_k, se_logit_k²)`` (``se_logit = se / (r (1 − r))``, or from a given
interval ``(logit U − logit L) / (2 z)``), seeded, and takes percentile intervals of the counts.
Each rate's draws are centred on it in mean, not in median: ``logit r*_k ~ N(μ_k, se_logit_k²)``
with ``μ_k`` solving ``E[r*_k] = r_k``. (Drawn around ``logit r_k`` itself, a rate below one half
is drawn too high on average; summed over the 459 rates of 153 councils × 3 bands this bias
outgrows the noise, and the England interval covered 85.5% in the simulation.)

Variant spread
--------------
``count_2020_based`` re-expresses each council's projection with the national 2020-based interim
growth instead of the 2018-based: ``P'(c, x, t) = P(c, x, t) × R(a(x), t)`` with
``R = [N20(a, t) / N20(a, base)] / [N18(a, t) / N18(a, base)]`` from the national projections for
England (:func:`carepop.sources.projections.national_variant_ratio`); ``variant_low`` and
``variant_high`` are the smaller and larger of ``count`` and ``count_2020_based``. It is a
sensitivity range of the population assumptions, not a confidence interval, and it holds the rates
at their estimates.

R equivalent: none packaged; ``count = sum(rate * pop)``, ``se = sqrt(sum((se * pop)^2))`` by area
and year, as POPPI/PANSI tables would with an interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit, logit
from scipy.stats import norm

from carepop.core.results import TableResult
from carepop.errors import CarepopError, opt
from carepop.sources.projections import (
    ENGLAND,
    SNPP_GROUPS,
    TOP_AGE,
    age_group_of,
    census_single_years,
    load_snpp,
    national_variant_ratio,
    parse_age_band,
    projection_array,
)

__all__ = ["Projection", "project"]

_COMMON = {ENGLAND.lower(), "england", "all", "e92"}


@dataclass(frozen=True)
class Projection(TableResult):
    """Projected counts by area and year with intervals and the variant spread (module docstring).

    ``table`` columns: ``area_level`` (council, region, england), ``area_code``, ``area_name``,
    ``year``, ``population`` (projected people in the rates' age bands), ``rate`` (count /
    population × per), ``count``, ``se``, ``ci_lower``, ``ci_upper``, ``count_2020_based``,
    ``variant_low``, ``variant_high``."""

    table: pd.DataFrame
    method: str
    level: float
    base: int
    seed: int | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def project(
    rates: pd.DataFrame,
    *,
    to: int = 2040,
    base: int = 2021,
    rate: str = "estimate",
    se: str | None = None,
    ci_lower: str | None = None,
    ci_upper: str | None = None,
    rate_known: bool = False,
    area: str = "area_code",
    age: str = "age_group",
    ages: str | None = None,
    per: float = 1.0,
    projections: pd.DataFrame | None = None,
    method: str = "delta",
    boot: int = 2000,
    seed: int | None = None,
    level: float = 0.95,
    rate_level: float = 0.95,
    variant: bool = True,
) -> Projection:
    """Project counts = rate × population for every year from ``base`` to ``to`` (module docstring).

    Parameters
    ----------
    rates : one row per rate: a council code in ``area`` (or no such column, or ``E92000001`` /
        ``England`` in every row, for one rate applied to every council), an age band in ``age``
        (``65-69``, ``85+``, ``all ages``; or no such column and ``ages``), the rate in ``rate``.
    se, ci_lower, ci_upper : the rate's standard error, or its interval (at ``rate_level``);
        default the columns ``se``, else ``ci_lower`` and ``ci_upper``.
    rate_known : the rates are exact (a census rate): no interval from them.
    ages : the age band every rate applies to when the rates have no ``age`` column.
    per : the rates are per this many people (1 for proportions, 1000 for per-1000 rates).
    projections : a tidy projection frame (:func:`carepop.sources.projections.read_snpp_bulk`)
        on 2023 council codes; default the bundled 2018-based SNPP.
    method : ``delta`` or ``bootstrap`` (parametric, logit scale, ``boot`` draws, ``seed``).
    variant : add the 2020-based national variant spread.
    """
    if method not in ("delta", "bootstrap"):
        raise CarepopError(
            f"Unknown method {method!r}.",
            code="bad_option",
            got=method,
            expected=["delta", "bootstrap"],
            fix=("set ", opt("method", metavar="delta|bootstrap"), " to one of the expected values"),
        )
    for name, value in (("level", level), ("rate_level", rate_level)):
        if not 0 < value < 1:
            raise CarepopError(
                f"{name} must be between 0 and 1.",
                code="bad_option",
                got=value,
                fix=("set ", opt(name, metavar="0.95"), " between 0 and 1"),
            )
    if per <= 0:
        raise CarepopError(
            "per must be positive.", code="bad_option", got=per, fix=("set ", opt("per", metavar="N"))
        )
    frame = load_snpp() if projections is None else projections
    census = census_single_years()
    councils = census.index.to_numpy(dtype=str)
    S, years_all = projection_array(frame, list(councils), SNPP_GROUPS)
    years = _years(years_all, base, to)
    r, se_r, se_logit, council_of, band = _read_rates(
        rates, rate, se, ci_lower, ci_upper, rate_known, area, age, ages, per, rate_level, councils, method
    )

    # population by council, single year of age and year (C × 101 × T)
    grp = age_group_of(np.arange(TOP_AGE + 1))
    s0 = S[:, :, years_all == base]
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(s0 > 0, S[:, :, np.isin(years_all, years)] / s0, 1.0)
    P1 = census.to_numpy(dtype=float)[:, :, None] * G[:, grp, :]

    # (rate, council) pairs: a council's own rate, or a common rate for every council
    n_c = len(councils)
    common = council_of < 0
    pk = np.concatenate([np.flatnonzero(~common), np.repeat(np.flatnonzero(common), n_c)])
    pc = np.concatenate([council_of[~common], np.tile(np.arange(n_c), int(common.sum()))])
    _check_overlap(band, pk, pc, n_c, area if area not in rates.columns else None)
    W = np.einsum("ma,mat->mt", band[pk], P1[pc])

    units, unit_of = _units(councils, pc)
    A = _unit_matrix(W, pk, unit_of, len(r), len(units), len(years))
    count = (r @ A) / per
    pop_units = _population(W, pc, unit_of, len(units), len(years))

    z = norm.ppf(0.5 + level / 2)
    notes = [
        f"population: Census 2021 counts by single year of age (TS007, districts summed to councils) "
        f"taken as the {base} population, grown by each council's and 5-year age group's growth "
        f"ratio from {'the bundled 2018-based SNPP' if projections is None else 'the projections given'}"
        "; treated as known (no error)",
        "rates of different rows treated as independent; a rate applied to several councils or age "
        "groups is fully correlated across them",
    ]
    if rate_known:
        var = np.zeros_like(count)
        lo = hi = count.copy()
        notes.append("rates treated as known (exact): the intervals are the counts")
    elif method == "delta":
        var = (se_r**2 @ A.multiply(A)) / per**2
        lo = np.maximum(count - z * np.sqrt(var), 0.0)
        hi = count + z * np.sqrt(var)
        notes.append(f"interval: delta method, count ± {z:.3f} se (lower end at least 0)")
    else:
        lo, hi, var = _bootstrap(r / per, se_logit, A, boot, seed, level)
        notes.append(
            f"interval: parametric bootstrap of the rates on the logit scale, {boot} draws, seed {seed}"
        )

    out = units.loc[np.repeat(np.arange(len(units)), len(years))].reset_index(drop=True)
    out["year"] = np.tile(years, len(units))
    out["population"] = pop_units.ravel()
    out["count"] = count
    with np.errstate(divide="ignore", invalid="ignore"):
        out.insert(out.columns.get_loc("count"), "rate", count / out["population"].to_numpy() * per)
    out["se"] = np.sqrt(var)
    out["ci_lower"] = lo
    out["ci_upper"] = hi
    if variant:
        R = national_variant_ratio(base, list(years))
        W_alt = np.einsum("ma,mat->mt", band[pk], P1[pc] * R[grp][None, :, :])
        alt = (r @ _unit_matrix(W_alt, pk, unit_of, len(r), len(units), len(years))) / per
        out["count_2020_based"] = alt
        out["variant_low"] = np.minimum(count, alt)
        out["variant_high"] = np.maximum(count, alt)
        notes.append(
            "variant spread: count_2020_based re-expresses each council's growth with the national "
            "2020-based interim projection's growth by age instead of the 2018-based (rates at their "
            "estimates); variant_low / variant_high are the smaller and larger of the two counts: "
            "a sensitivity range, not a confidence interval"
        )
    partial = _partial_note(units)
    if partial:
        notes.append(partial)
    return Projection(
        table=out,
        method="known" if rate_known else method,
        level=level,
        base=base,
        seed=seed if method == "bootstrap" else None,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------ inputs
def _years(years_all: np.ndarray, base: int, to: int) -> np.ndarray:
    lo, hi = int(years_all.min()), int(years_all.max())
    for name, y in (("base", base), ("to", to)):
        if not lo <= y <= hi:
            raise CarepopError(
                f"The population projections have no year {y}.",
                code="year_out_of_range",
                got=y,
                expected=f"a year from {lo} to {hi}",
                fix=("choose ", opt(name, metavar="YEAR"), f" within {lo}–{hi}"),
            )
    if to < base:
        raise CarepopError(
            f"The last year ({to}) is before the base year ({base}).",
            code="bad_option",
            got=to,
            fix=("set ", opt("to", metavar="YEAR"), f" to {base} or later"),
        )
    return np.arange(base, to + 1)


def _column(rates: pd.DataFrame, col: str, param: str) -> pd.Series:
    if col not in rates.columns:
        raise CarepopError(
            f"The rates have no column {col!r}.",
            code="unknown_column",
            column=col,
            expected=list(map(str, rates.columns)),
            fix=("name the column with ", opt(param, metavar="COL")),
        )
    return rates[col]


def _numbers(rates: pd.DataFrame, col: str, param: str) -> np.ndarray:
    raw = _column(rates, col, param)
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        raise CarepopError(
            f"Column {col!r} has values that are not numbers (or are missing).",
            code="not_numeric",
            column=col,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            got=raw[bad].iloc[0],
            fix="give a number in every row",
        )
    negative = values.to_numpy(dtype=float) < 0
    if negative.any():
        raise CarepopError(
            f"Column {col!r} has negative values.",
            code="negative_value",
            column=col,
            rows=(np.flatnonzero(negative)[:5] + 1).tolist(),
            got=values[negative].iloc[0],
            fix="rates, standard errors and interval ends cannot be negative",
        )
    return values.to_numpy(dtype=float)


def _read_rates(rates, rate, se, ci_lower, ci_upper, rate_known, area, age, ages, per, rate_level,
                councils, method):  # fmt: skip
    """(rate, se, se on the logit scale, council index or −1 for every council, band indicator)."""
    if len(rates) == 0:
        raise CarepopError("The rates table has no rows.", code="empty_input", fix="give at least one rate")
    r = _numbers(rates, rate, "rate")
    n = len(r)
    z = norm.ppf(0.5 + rate_level / 2)
    p = r / per
    if (p > 1).any() and method == "bootstrap":
        bad = p > 1
        raise CarepopError(
            "A rate above 1 per person cannot be bootstrapped on the logit scale.",
            code="bad_value",
            column=rate,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            got=float(r[bad][0]),
            fix=("give proportions (or rates per ", opt("per", metavar="N"), "), or use the delta method"),
        )
    se_r = np.zeros(n)
    se_logit = np.zeros(n)
    if not rate_known:
        if se is None and ci_lower is None and ci_upper is None:
            if "se" in rates.columns:
                se = "se"
            elif {"ci_lower", "ci_upper"} <= set(rates.columns):
                ci_lower, ci_upper = "ci_lower", "ci_upper"
            else:
                raise CarepopError(
                    "The rates have no standard error or interval columns.",
                    code="unknown_column",
                    expected=["se", "ci_lower and ci_upper"],
                    fix=("name them with ", opt("se", metavar="COL"), " or ", opt("ci_lower", metavar="COL"),
                         " and ", opt("ci_upper", metavar="COL"), "; or treat the rates as exact with ",
                         opt("rate_known", True)),
                )  # fmt: skip
        if se is not None and (ci_lower is not None or ci_upper is not None):
            raise CarepopError(
                "Give a standard error or an interval, not both.",
                code="bad_option",
                fix=("leave out ", opt("se", metavar="COL"), " or the interval columns"),
            )
        if se is not None:
            se_r = _numbers(rates, se, "se")
            with np.errstate(divide="ignore", invalid="ignore"):
                se_logit = se_r / per / (p * (1 - p))
        else:
            if ci_lower is None or ci_upper is None:
                raise CarepopError(
                    "An interval needs both ends.",
                    code="bad_option",
                    fix=("give ", opt("ci_lower", metavar="COL"), " and ", opt("ci_upper", metavar="COL")),
                )
            lo = _numbers(rates, ci_lower, "ci_lower")
            hi = _numbers(rates, ci_upper, "ci_upper")
            bad = (lo > r) | (hi < r)
            if bad.any():
                raise CarepopError(
                    "An interval does not contain its rate.",
                    code="bad_value",
                    column=ci_lower if (lo > r).any() else ci_upper,
                    rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
                    fix="check the columns: ci_lower ≤ rate ≤ ci_upper in every row",
                )
            se_r = (hi - lo) / (2 * z)
            with np.errstate(divide="ignore", invalid="ignore"):
                plo, phi = np.clip(lo / per, 1e-12, 1 - 1e-12), np.clip(hi / per, 1e-12, 1 - 1e-12)
                se_logit = (logit(phi) - logit(plo)) / (2 * z)
        if method == "bootstrap":
            edge = ((p <= 0) | (p >= 1)) & (se_r > 0)
            if edge.any():
                raise CarepopError(
                    "A rate of exactly 0 or 1 has no logit; the bootstrap cannot draw it.",
                    code="bad_value",
                    column=rate,
                    rows=(np.flatnonzero(edge)[:5] + 1).tolist(),
                    fix=("use ", opt("method", "delta"), " or give an interval (its logit width is used)"),
                )
    council_of = _councils(rates, area, councils)
    band = _bands(rates, age, ages)
    return r, se_r, np.nan_to_num(se_logit), council_of, band


def _councils(rates: pd.DataFrame, area: str, councils: np.ndarray) -> np.ndarray:
    """Each row's council index, or −1 where the rate applies to every council."""
    if area not in rates.columns:
        return np.full(len(rates), -1)
    codes = rates[area].astype(str).str.strip()
    is_common = codes.str.lower().isin(_COMMON).to_numpy()
    if is_common.all():
        return np.full(len(rates), -1)
    index = pd.Series(np.arange(len(councils)), index=councils)
    idx = codes.map(index)
    bad = idx.isna().to_numpy()
    if bad.any():
        extra = (
            "; a rate for England must be the only kind in the table" if is_common.any() else ""
        )
        raise CarepopError(
            f"Area codes in {area!r} that are not one of the 153 councils (2023 codes){extra}.",
            code="unknown_area",
            column=area,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            got=codes[bad].iloc[0],
            fix=("give 2023 council codes (E06/E08/E09/E10), name the column with ",
                 opt("area", metavar="COL"), ", or give England rates only"),
        )  # fmt: skip
    return idx.to_numpy(dtype=int)


def _bands(rates: pd.DataFrame, age: str, ages: str | None) -> np.ndarray:
    """Indicator (rows × 101 single years) of each row's age band."""
    if age in rates.columns:
        if ages is not None:
            raise CarepopError(
                f"The rates have an age column {age!r} and ages={ages!r} was given too.",
                code="bad_option",
                fix=("leave out ", opt("ages", metavar="BAND"), " (each row's band is in the age column)"),
            )
        labels = rates[age].astype(str)
    elif ages is None:
        raise CarepopError(
            f"The rates have no age column {age!r}: say which ages the rates are of.",
            code="unknown_column",
            column=age,
            expected=list(map(str, rates.columns)),
            fix=("name the age-band column with ", opt("age", metavar="COL"), ", or give the band of every "
                 "rate with ", opt("ages", metavar="BAND"), " (e.g. 65+)"),
        )  # fmt: skip
    else:
        labels = pd.Series([ages] * len(rates))
    bounds = labels.map(parse_age_band)
    bad = bounds.isna().to_numpy()
    if bad.any():
        raise CarepopError(
            "Age bands that cannot be read.",
            code="bad_value",
            column=age if age in rates.columns else None,
            rows=(np.flatnonzero(bad)[:5] + 1).tolist(),
            got=labels[bad].iloc[0],
            expected="bands such as 18-64, 65-69, 85+ or 'all ages'",
            fix="write each band as lo-hi or lo+",
        )
    lo = np.array([b[0] for b in bounds])
    hi = np.array([TOP_AGE if b[1] is None else b[1] for b in bounds])
    top = (hi > TOP_AGE - 1) & (hi < 10_000) & np.array([b[1] is not None for b in bounds])
    if top.any():
        raise CarepopError(
            "An age band closes above 99; the census counts 100 and over together.",
            code="bad_value",
            column=age if age in rates.columns else None,
            rows=(np.flatnonzero(top)[:5] + 1).tolist(),
            got=labels[top].iloc[0],
            fix="write the oldest band as open (e.g. 90+)",
        )
    x = np.arange(TOP_AGE + 1)
    return ((x[None, :] >= lo[:, None]) & (x[None, :] <= hi[:, None])).astype(float)


def _check_overlap(band: np.ndarray, pk: np.ndarray, pc: np.ndarray, n_c: int, no_area: str | None) -> None:
    cover = np.zeros((n_c, band.shape[1]))
    np.add.at(cover, pc, band[pk])
    over = (cover > 1).any(axis=1)
    if over.any():
        c = int(np.flatnonzero(over)[0])
        rows = np.unique(pk[(pc == c) & (band[pk] @ (cover[c] > 1) > 0)])
        raise CarepopError(
            "Age bands of the same area overlap: some people would be counted twice.",
            code="overlapping_bands",
            rows=(rows[:5] + 1).tolist(),
            fix=[
                "give bands that do not overlap (e.g. 65-74, 75-84, 85+), or project them separately",
                *(
                    [f"; rates by council? the rates have no column {no_area!r}: name the council "
                     "column with ", opt("area", metavar="COL")]
                    if no_area
                    else []
                ),
            ],
        )  # fmt: skip


# ------------------------------------------------------------------------------ sums
def _units(councils: np.ndarray, pc: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The output units (councils with a rate, complete regions, England if complete) and, per
    pair, its unit indices (council, region or −1, England or −1)."""
    from carepop.sources.regions import region_lookup

    look = region_lookup().drop_duplicates("area_code").set_index("area_code")
    region = look.loc[councils, "region_code"].to_numpy(dtype=str)
    present = np.zeros(len(councils), dtype=bool)
    present[pc] = True
    c_idx = np.flatnonzero(present)
    reg_codes = np.unique(region)
    complete = np.array([present[region == g].all() for g in reg_codes])  # 9 regions
    regions = reg_codes[complete]
    england = bool(present.all())
    frames = [
        pd.DataFrame({"area_level": "council", "area_code": councils[c_idx],
                      "area_name": look.loc[councils[c_idx], "area_name"].to_numpy()}),
        pd.DataFrame({"area_level": "region", "area_code": regions,
                      "area_name": look.drop_duplicates("region_code").set_index("region_code")
                      .loc[regions, "region_name"].to_numpy()}),
    ]  # fmt: skip
    if england:
        england_row = {"area_level": ["england"], "area_code": [ENGLAND], "area_name": ["England"]}
        frames.append(pd.DataFrame(england_row))
    units = pd.concat(frames, ignore_index=True)
    pos_c = np.full(len(councils), -1)
    pos_c[c_idx] = np.arange(len(c_idx))
    pos_r = pd.Series(len(c_idx) + np.arange(len(regions)), index=regions)
    r_of = pd.Series(region[pc]).map(pos_r).fillna(-1).to_numpy(dtype=int)
    e_of = np.full(len(pc), len(units) - 1 if england else -1)
    return units, np.stack([pos_c[pc], r_of, e_of], axis=1)


def _unit_matrix(W: np.ndarray, pk: np.ndarray, unit_of: np.ndarray, K: int, U: int, T: int):
    """Sparse ``A`` (K × U·T): ``A[k, u·T + t]`` = population of rate ``k``'s band in unit ``u``."""
    rows, cols, vals = [], [], []
    t = np.arange(T)
    for j in range(unit_of.shape[1]):  # council, region, England: three levels
        ok = unit_of[:, j] >= 0
        rows.append(np.repeat(pk[ok], T))
        cols.append((unit_of[ok, j][:, None] * T + t[None, :]).ravel())
        vals.append(W[ok].ravel())
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(K, U * T)
    )


def _population(W: np.ndarray, pc: np.ndarray, unit_of: np.ndarray, U: int, T: int) -> np.ndarray:
    out = np.zeros((U, T))
    for j in range(unit_of.shape[1]):
        ok = unit_of[:, j] >= 0
        np.add.at(out, unit_of[ok, j], W[ok])
    return out


def _mean_matched_logit(p: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``μ`` with ``E[expit(μ + σ Z)] = p`` (Z standard normal), by bisection on a 60-node
    Gauss–Hermite rule, all rates at once. With ``μ = logit p`` the draws' mean would exceed ``p``
    below 0.5 (and fall short above), a bias that adds up over the many rates of a sum."""
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    lo = np.full(p.shape, -40.0)
    hi = np.full(p.shape, 40.0)
    for _ in range(80):  # interval halves each time: 80 steps reach float precision
        mid = (lo + hi) / 2
        mean = expit(mid[:, None] + sigma[:, None] * x[None, :]) @ w
        below = mean < p
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2


def _bootstrap(p, se_logit, A, boot, seed, level):
    rng = np.random.default_rng(seed)
    lp = _mean_matched_logit(np.clip(p, 1e-12, 1 - 1e-12), se_logit)
    draws = np.empty((boot, A.shape[1]))
    step = 250
    for start in range(0, boot, step):  # chunks of draws (memory)
        m = min(step, boot - start)
        pr = expit(lp[None, :] + se_logit[None, :] * rng.standard_normal((m, len(p))))
        pr[:, se_logit == 0] = p[se_logit == 0]
        draws[start : start + m] = (A.T @ pr.T).T
    a = (1 - level) / 2
    lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
    return lo, hi, draws.var(axis=0, ddof=1)


def _partial_note(units: pd.DataFrame) -> str | None:
    n = int((units["area_level"] == "council").sum())
    if n == 153:
        return None
    return (
        f"rates for {n} of the 153 councils: region rows only for regions whose councils all have "
        "rates, and no England row"
    )
