"""Carers by council: a survey's direct estimates, a small-area model, and the census beside them.

:func:`carers_by_council` takes a carers survey (a :class:`~carepop.core.survey.Survey` with a
council column and a yes/no carer variable) and gives, for each of the councils:

- ``direct``, ``direct_se``: the survey's design-based proportion of carers among residents aged 5+,
  and ``n`` its respondents (the unweighted base);
- ``estimate``, ``ci_lower``, ``ci_upper``: the Fay–Herriot model on the arcsine scale (the model
  whose intervals kept their coverage in ``validation/README.md``), with ``n_eff = n / deff`` per
  council; covariates from carepop's council table (census 2021 carer rate, IMD 2019, GP-register
  coverage by default); benchmarked (ratio) so that, weighted by residents aged 5+, the council
  estimates of each region equal the region's direct estimate;
- ``carers``, ``carers_lower``, ``carers_upper``: the same times the council's residents aged 5+
  (Census 2021, treated as known);
- ``census_carers``, ``census_rate`` and ``ratio`` (survey / census) with its interval (the census
  rate treated as known: ONS perturbation and the census question's own error are not modelled).

Region and England rows give the survey's direct estimates (Korn–Graubard intervals) and the
census beside them. ``definition`` names the survey measure of "carer" (the census question, or an
activity-based item of the carers instrument): estimates of different definitions are never mixed.

By hours band: :func:`carers_by_hours` runs the same for each of the census hours bands of TS039
(9 or less, 10–19, 20–34, 35–49, 50 or more hours a week): the survey's carers in that band among
residents 5+, the model with the census rate *of that band* as its rate covariate, and the band's
census count beside it; rows carry ``hours_band``. Bands are estimated one at a time (each its own
Fay–Herriot model), so band estimates need not add up exactly to the any-hours estimate.

Formula summary, for council ``c`` with rate ``θ̂_c``, interval ``[L_c, U_c]`` and census
population ``P_c``: ``carers_c = θ̂_c P_c``, interval ``[L_c P_c, U_c P_c]``;
``ratio_c = θ̂_c / r_c`` with ``r_c`` the census rate, interval ``[L_c / r_c, U_c / r_c]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.core.results import TableResult
from carepop.core.survey import Survey
from carepop.errors import CarepopError, opt
from carepop.sae.areas import is_category

#: default model covariates (columns of the council table)
COVARIATES = ("carer_rate", "imd_score", "gp_coverage")


@dataclass(frozen=True)
class CarerEstimates(TableResult):
    """Carers by council (and region, England): see the module docstring for the columns."""

    table: pd.DataFrame
    definition: str
    level: float
    model: object  # the AreaEstimates of the council model
    notes: tuple[str, ...] = field(default_factory=tuple)


def carers_by_council(
    survey: Survey,
    *,
    carer: str,
    council: str = "council_code",
    category: object = 1,
    definition: str = "census question (unpaid care to anyone, any hours)",
    councils: pd.DataFrame | None = None,
    census: str = "carers",
    covariates: tuple[str, ...] = COVARIATES,
    benchmark: str | None = "region",
    boot: int = 200,
    seed: int | None = None,
    level: float = 0.95,
) -> CarerEstimates:
    """Carers by council with intervals (module docstring).

    Parameters
    ----------
    survey : the carers survey; ``council`` holds 2023 council codes (``E06``/``E08``/``E09``/``E10``).
    carer : the yes/no carer variable; ``category`` its value for "carer".
    councils : the council table (default: carepop's ``council`` table, 153 councils).
    census : the council-table column with the census count of the same kind of carer (default
        ``carers``, any hours; ``h50_plus`` etc. for one hours band); its rate among residents 5+
        replaces ``carer_rate`` as a covariate.
    benchmark : ``region`` (default), ``england`` or None.
    boot, seed : the parametric bootstrap of the model MSE on the original scale.
    """
    from carepop.sae.area_level import fay_herriot
    from carepop.sources.tables import load_table

    table = load_table("council", None) if councils is None else councils
    for col in ("council_code", "region_code", "residents_5plus", census, *covariates):
        if col not in table.columns:
            raise CarepopError(
                f"The council table has no column {col!r}.",
                code="unknown_column",
                column=col,
                fix=("give a council table with it, or leave out ", opt("councils")),
            )
    if census != "carers":  # the census count of this kind of carer, and its rate as the covariate
        table = table.assign(carers=table[census], carer_rate=table[census] / table["residents_5plus"])
    table = table.rename(columns={"council_code": council}) if council != "council_code" else table
    direct = survey.proportion(carer, by=council, ci="beta", deff=True, level=level)
    d = direct.to_pandas()
    d = d[is_category(d["level"], category)].drop(columns=["statistic", "variable", "level"])
    if d.empty:
        raise CarepopError(
            f"No respondent has {carer} = {category!r}.",
            code="unknown_category",
            column=carer,
            fix=("give the value that means 'carer' with ", opt("category")),
        )
    deff = d["deff"].to_numpy(dtype=float)
    d["n_eff"] = d["n"] / np.where(np.isfinite(deff) & (deff > 0), deff, 1.0)
    target = {"region": ("aggregate", "region_code"), "england": ("aggregate", None), None: (None, None)}[
        benchmark
    ]
    model = fay_herriot(
        d[[council, "estimate", "se", "n_eff"]],
        table,
        area=council,
        covariates=list(covariates),
        se="se",
        transform="arcsin",
        n_eff="n_eff",
        benchmark=target[0],
        benchmark_by=target[1],
        sizes="residents_5plus" if benchmark else None,
        boot=boot,
        seed=seed,
        level=level,
    )
    m = model.to_pandas().merge(
        table[[council, "council_name", "region_code", "residents_5plus", "carers"]].astype({council: str}),
        on=council,
        how="left",
    )
    out = _with_census(
        pd.DataFrame(
            {
                "area_level": "council",
                "area_code": m[council],
                "area_name": m["council_name"],
                "region_code": m["region_code"],
                "direct": m["direct"],
                "direct_se": m["direct_se"],
                "estimate": m["estimate"],
                "ci_lower": m["ci_lower"],
                "ci_upper": m["ci_upper"],
                "in_sample": m["in_sample"],
                "n": m[council].map(d.set_index(d[council].astype(str))["n"]).fillna(0).astype(int),
            }
        ),
        m["residents_5plus"].to_numpy(dtype=float),
        m["carers"].to_numpy(dtype=float),
    )
    rows = [out, *_direct_rows(survey, carer, category, council, table, level)]
    result = pd.concat(rows, ignore_index=True)
    result.insert(0, "definition", definition)
    notes = (
        *model.notes,
        "counts are rates times Census 2021 residents aged 5+ (treated as known); the ratio to the "
        "census treats the census rate as known",
        "region and England rows are the survey's direct estimates (Korn–Graubard intervals)",
    )
    return CarerEstimates(table=result, definition=definition, level=level, model=model, notes=notes)


#: the census hours bands (TS039): survey code -> (label, council-table column of the census count)
HOURS_BANDS: dict[int, tuple[str, str]] = {
    1: ("9 hours or less a week", "h9_or_less"),
    2: ("10 to 19 hours a week", "h10_19"),
    3: ("20 to 34 hours a week", "h20_34"),
    4: ("35 to 49 hours a week", "h35_49"),
    5: ("50 or more hours a week", "h50_plus"),
}


def carers_by_hours(
    survey: Survey,
    *,
    hours: str,
    council: str = "council_code",
    bands: dict[object, tuple[str, str]] | None = None,
    definition: str = "census question (unpaid care to anyone), by hours a week",
    seed: int | None = None,
    **options: object,
) -> CarerEstimates:
    """Carers by council and census hours band (module docstring).

    ``hours`` holds each respondent's band (a code of ``bands``: the census bands 1–5 of the
    carers instrument's ``census_hours_band`` by default; anything else, e.g. missing, means not a
    carer). For each band ``b``: ``carer_b = (hours == b)``, estimated by :func:`carers_by_council`
    with the band's census count (``census=``). ``options`` are passed on (``benchmark``, ``boot``,
    ``level``, ``councils``, ``covariates``); ``seed`` + band index seeds each band's bootstrap.
    """
    bands = HOURS_BANDS if bands is None else bands
    codes = pd.Series(survey.column(hours))
    known = np.zeros(len(codes), dtype=bool)
    for code in bands:
        known |= np.asarray(is_category(codes, code), dtype=bool)
    if not known.any():
        raise CarepopError(
            f"No respondent has an hours band in {hours!r} (expected codes {list(bands)}).",
            code="unknown_category",
            column=hours,
            expected=list(map(str, bands)),
            fix=("name the hours-band column with ", opt("hours"), " or give the codes with ", opt("bands")),
        )
    results, frames, notes = [], [], []
    for i, (code, (label, column)) in enumerate(bands.items()):
        flag = np.asarray(is_category(codes, code), dtype=int)
        one = carers_by_council(
            survey.with_columns(_in_band=flag),
            carer="_in_band",
            council=council,
            category=1,
            definition=f"{definition}: {label}",
            census=column,
            seed=None if seed is None else seed + i,
            **options,  # type: ignore[arg-type]
        )
        frame = one.to_pandas()
        frame.insert(1, "hours_band", label)
        frames.append(frame)
        results.append(one.model)
        notes.extend(n for n in one.notes if n not in notes)
    notes.append("each hours band has its own model; the bands need not add up exactly to all carers")
    return CarerEstimates(
        table=pd.concat(frames, ignore_index=True),
        definition=definition,
        level=float(options.get("level", 0.95)),  # type: ignore[arg-type]
        model=tuple(results),
        notes=tuple(notes),
    )


def _with_census(frame: pd.DataFrame, population: np.ndarray, census_carers: np.ndarray) -> pd.DataFrame:
    """Counts (rate × population) and the ratio to the census rate, with their intervals."""
    rate = census_carers / population
    out = frame.copy()
    # a proportion's interval stays in [0, 1] (the model interval is estimate ± z·RMSE after
    # benchmarking, which can reach below 0 for a rare hours band): no negative count of carers
    for col in ("estimate", "ci_lower", "ci_upper"):
        out[col] = np.clip(out[col].to_numpy(dtype=float), 0.0, 1.0)
    for col, src in (("carers", "estimate"), ("carers_lower", "ci_lower"), ("carers_upper", "ci_upper")):
        out[col] = out[src].to_numpy(dtype=float) * population
    out["census_carers"] = census_carers
    out["census_rate"] = rate
    for col, src in (("ratio", "estimate"), ("ratio_lower", "ci_lower"), ("ratio_upper", "ci_upper")):
        out[col] = out[src].to_numpy(dtype=float) / rate
    return out


def _direct_rows(
    survey: Survey, carer: str, category: object, council: str, table: pd.DataFrame, level: float
) -> list[pd.DataFrame]:
    """The survey's direct estimates for the regions and England, with the census beside them."""
    from carepop.sources.regions import region_lookup

    region_of = table.set_index(table[council].astype(str))["region_code"]
    codes = survey.column(council).astype(str)
    regional = survey.with_columns(_region=codes.map(region_of).to_numpy())
    names = region_lookup().drop_duplicates("region_code").set_index("region_code")["region_name"]
    out = []
    for by, level_name in (("_region", "region"), (None, "england")):
        est = regional.proportion(carer, by=by, ci="beta", level=level).to_pandas()
        est = est[is_category(est["level"], category)].reset_index(drop=True)
        if by is None:
            pop, cen = table["residents_5plus"].sum(), table["carers"].sum()
            code, name = pd.Series(["E92000001"]), pd.Series(["England"])
        else:
            g = table.groupby("region_code")[["residents_5plus", "carers"]].sum()
            code = est["_region"]
            pop, cen = g.loc[code, "residents_5plus"].to_numpy(), g.loc[code, "carers"].to_numpy()
            name = code.map(names)
        frame = pd.DataFrame(
            {
                "area_level": level_name,
                "area_code": code.to_numpy(),
                "area_name": name.to_numpy(),
                "region_code": code.to_numpy() if by is not None else None,
                "direct": est["estimate"].to_numpy(),
                "direct_se": est["se"].to_numpy(),
                "estimate": est["estimate"].to_numpy(),
                "ci_lower": est["ci_lower"].to_numpy(),
                "ci_upper": est["ci_upper"].to_numpy(),
                "in_sample": True,
                "n": est["n"].to_numpy(),
            }
        )
        out.append(_with_census(frame, np.asarray(pop, dtype=float), np.asarray(cen, dtype=float)))
    return out
