"""Unmet need for care by council: prevalence and counts, with intervals, under named definitions.

:func:`unmet_need_by_council` takes a survey of adults answering carepop's self-funder / needs
instrument (``questionnaires/self_funders.yaml``) with a council, an age and a sex column, and gives
for each council, region and England the prevalence and the number of people with unmet need.

Indicator (the instrument's rule, derived here from the items)
--------------------------------------------------------------
For each activity ``j`` of the definition, ``d_j`` is its difficulty item (choice list ``difficulty``:
0 none, 1 some, 2 a lot / cannot without help) and ``h_j`` its help item ``<item>_help`` (list
``help``: 1 yes and enough, 2 yes but not enough, 0 no; asked only when ``d_j >= 1``). Then

- ``no_help``: 1 if some activity has ``d_j >= 1`` and ``h_j = 0``;
- ``insufficient`` (no or not enough help): 1 if some activity has ``d_j >= 1`` and ``h_j in (0, 2)``;
- 0 if neither and every difficulty item is answered (0–2) and every help item that was asked is
  answered; missing otherwise (item non-response: the row is left out of the domain, not out of the
  design — treated as missing at random within the domain).

This is exactly the instrument's derived ``unmet_adl_nohelp`` / ``unmet_adl_insufficient`` (ADL
items), ``unmet_iadl_*`` (IADL) and ``unmet_any_*`` (either); when the items are absent but the
derived column is present, the derived column is used.

Definitions (``definition=``)
-----------------------------
``hse``        Health Survey for England, *Social care for older adults* (NHS England, annual since
               2011; 2021 report: 22% of adults 65+ had unmet need with at least one ADL, 15% with an
               IADL): adults aged 65+; ADLs (the instrument's six: dressing, walking across a room,
               bathing, eating, getting in/out of bed, toilet); "unmet" = needs help and received none
               (``no_help``), with help that does not meet the need added in ``insufficient``. HSE
               asks about help in the last month and a longer ADL list (washing, stairs, medicines):
               the instrument's items are a subset.
``hse_iadl``   the same for IADLs (shopping, meals, housework, medicines, money, transport).
``ageuk``      Age UK's "unmet need for care" (analysis of ELSA wave 9 scaled to Census 2021; 2.6m
               people 50+ in England): aged 50+, difficulty with at least one ADL or IADL and no help
               with it (``no_help``; ``insufficient`` also given). ELSA's IADL list differs (map
               reading, telephone).
``ageuk65``    Age UK's 65+ series (1.4m in 2018; 2.0m of ~11m aged 65+ in 2024): as ``ageuk``, 65+.
``adults``     carepop's own: adults 18+, ADL or IADL.

Estimates
---------
Cells ``k = (a, s)`` are age band × sex; ``P_{c,k}`` the council's Census 2021 residents
(:func:`carepop.sources.population.population_by_age_sex`, treated as known), ``P_c = Σ_k P_{c,k}``.

(a) **direct**: the survey's domain proportion ``r̂_c`` in council ``c`` among respondents of the
    definition's ages (R ``svyby(~y, ~council, subset(design, !is.na(y)), svymean)``) with the
    modified Wilson interval (effective sample size, t with the domain's df; ``direct_ci="beta"``
    gives Korn–Graubard, R ``svyciprop(method = "beta")``, which covered 97.5% in the simulation:
    conservative with ~30 respondents per council; Wilson 96.3%); count ``r̂_c P_c``.
(b) **synthetic**: rates ``r̂_{g,k} = Ŷ_{g,k} / N̂_{g,k}`` by region ``g`` × age band × sex, applied to
    the council's population: ``Ĉ_c = Σ_k P_{c,k} r̂_{g(c),k}``, rate ``Ĉ_c / P_c``. Its variance is
    the design variance of the linearised total ``Σ_i w_i z_i`` with
    ``z_i = Σ_k P_{c,k} 1[i ∈ (g,k)] (y_i − r̂_{g,k}) / N̂_{g,k}`` (Woodruff 1971; Binder 1983),
    i.e. ``p_cᵀ Σ_g p_c`` with ``Σ_g`` the covariance of the cell totals of region ``g``: the
    cells of one survey share strata and PSUs and are *not* independent. ``Σ_g`` is computed
    with the survey's own total estimator (Taylor with strata, PSUs, fpc and calibration
    residuals, or replicate weights), by polarisation: ``Cov(T_k, T_l) = (V(T_k+T_l) − V(T_k) −
    V(T_l)) / 2``, exact because every design variance estimator is a quadratic form. Its interval
    carries the survey error of the rates only: not the bias of assuming the council's rates equal
    its region's (the validation shows what that costs).
(c) **model** (``model="fay_herriot"``, default): the Fay–Herriot model on the council direct rates
    (arcsine transform, ``n_eff = n / deff``, parametric bootstrap MSE; as
    :mod:`carepop.measures.carers`). Default covariates: the council's *expected* rate
    ``E_c = Σ_k P_{c,k} r̂_k / P_c`` (England's age × sex rates on the council's population:
    indirect standardisation; arcsine scale), the IMD 2019 score and the region (categorical),
    from the council table. Out-of-sample councils get the regression prediction. The covariates
    are treated as known: ``E_c`` comes from the same survey, but from all of England's
    respondents, so its error is small beside the councils' (the region × age × sex synthetic
    rate as covariate, ``covariates=("synthetic", ...)``, carries a regional error as large as the
    councils' true spread, and its intervals under-covered in the simulation: 89%). So the model
    combines the synthetic idea (age × sex structure, region) with each council's direct estimate.
    ``model="synthetic"`` publishes (b) and ``model="direct"`` (a).

Region and England rows publish ``Σ_c Ĉ_c`` — the post-stratified direct estimate
``Σ_k P_{g,k} r̂_{g,k}``, design-consistent for the region — with the linearised variance above
(England through one linearised variable over all regions), beside the plain domain proportion.

Counts: ``count = estimate × P`` with interval ``[L P, U P]`` (synthetic and post-stratified rows:
``count ± z SE``, lower end at least 0). Population counts are treated as known (Census 2021
perturbation, the age × sex split and population change since 2021 are not in the intervals).

``signals`` (e.g. client-level data: requests with no service, waiting times) is merged on the
council code and its columns passed through unchanged beside the estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepop.core.estimation.ci import norm_ppf
from carepop.core.results import TableResult
from carepop.core.survey import Survey
from carepop.errors import CarepopError, data_rows, opt
from carepop.sae.areas import is_category
from carepop.sources.census import band_label
from carepop.sources.population import SEXES, check_age_bands, population_by_age_sex

ADL_ITEMS = ("adl_dress", "adl_walk", "adl_bath", "adl_eat", "adl_bed", "adl_toilet")
IADL_ITEMS = ("iadl_shop", "iadl_meals", "iadl_housework", "iadl_meds", "iadl_money", "iadl_transport")
VARIANTS = ("no_help", "insufficient")
#: help codes that count as unmet, per variant (choice list ``help``)
UNMET_HELP = {"no_help": (0,), "insufficient": (0, 2)}
DEFAULT_BANDS: tuple[tuple[int, int | None], ...] = ((18, 64), (65, 74), (75, 84), (85, None))
AGE_RANGE = (0, 120)
MODELS = ("fay_herriot", "synthetic", "direct")


@dataclass(frozen=True)
class Definition:
    """A named definition of unmet need: the activities, the youngest age and where it comes from."""

    name: str
    label: str
    min_age: int
    items: tuple[str, ...]
    derived: str  # the instrument's derived variable stem (``unmet_adl`` -> ``unmet_adl_nohelp``)
    source: str


DEFINITIONS: dict[str, Definition] = {
    d.name: d
    for d in (
        Definition(
            "hse",
            "HSE: aged 65+, at least one ADL needing help and no help (or not enough)",
            65,
            ADL_ITEMS,
            "unmet_adl",
            "NHS England, Health Survey for England 2021, Social care for older adults",
        ),
        Definition(
            "hse_iadl",
            "HSE: aged 65+, at least one IADL needing help and no help (or not enough)",
            65,
            IADL_ITEMS,
            "unmet_iadl",
            "NHS England, Health Survey for England 2021, Social care for older adults",
        ),
        Definition(
            "ageuk",
            "Age UK: aged 50+, difficulty with at least one ADL or IADL and no help with it",
            50,
            ADL_ITEMS + IADL_ITEMS,
            "unmet_any",
            "Age UK, unmet need for care (ELSA wave 9 scaled to Census 2021)",
        ),
        Definition(
            "ageuk65",
            "Age UK: aged 65+, difficulty with at least one ADL or IADL and no help with it",
            65,
            ADL_ITEMS + IADL_ITEMS,
            "unmet_any",
            "Age UK, unmet need for care among people 65+ (ELSA)",
        ),
        Definition(
            "adults",
            "carepop: adults 18+, difficulty with at least one ADL or IADL and no help with it",
            18,
            ADL_ITEMS + IADL_ITEMS,
            "unmet_any",
            "carepop self-funders / needs instrument (questionnaires/self_funders.yaml)",
        ),
    )
}


@dataclass(frozen=True)
class UnmetNeed(TableResult):
    """Unmet need by council, region and England (module docstring for the columns).

    ``cells`` holds the survey's rates by region (and England) × age band × sex with SEs and
    intervals; ``models`` the Fay–Herriot fit of each variant (None for other models)."""

    table: pd.DataFrame
    cells: pd.DataFrame
    definition: str
    model: str
    level: float
    models: dict = field(default_factory=dict)
    notes: tuple[str, ...] = field(default_factory=tuple)


def get_definition(name: str) -> Definition:
    """The :class:`Definition` called ``name`` (an error listing the names otherwise)."""
    if name not in DEFINITIONS:
        raise CarepopError(
            f"Unknown definition of unmet need {name!r}.",
            code="unknown_definition",
            got=name,
            expected=tuple(DEFINITIONS),
            fix=("set ", opt("definition", metavar="NAME"), " to one of the expected names"),
        )
    return DEFINITIONS[name]


def unmet_indicator(data: pd.DataFrame, definition: str | Definition, variant: str) -> np.ndarray:
    """The 0/1 unmet-need indicator of each row (NaN where it cannot be told), by the rule of the
    module docstring; from the items, or the instrument's derived column where the items are absent."""
    d = get_definition(definition) if isinstance(definition, str) else definition
    if variant not in VARIANTS:
        raise CarepopError(
            f"Unknown variant {variant!r}.",
            code="bad_option",
            got=variant,
            expected=VARIANTS,
            fix=("set ", opt("variants"), " to some of the expected values"),
        )
    need = [c for j in d.items for c in (j, f"{j}_help")]
    missing = [c for c in need if c not in data.columns]
    derived = f"{d.derived}_{'nohelp' if variant == 'no_help' else 'insufficient'}"
    if missing:
        if derived in data.columns:
            return _codes(data[derived], derived, (0, 1))
        raise CarepopError(
            f"The data lack {len(missing)} item(s) that definition {d.name!r} needs: "
            f"{', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}.",
            code="missing_items",
            column=missing[0],
            expected=need,
            fix=(
                "give the instrument's items (or its derived column ",
                derived,
                "), or choose another ",
                opt("definition"),
            ),
        )
    n = len(data)
    unmet = np.zeros(n, dtype=bool)
    known = np.ones(n, dtype=bool)
    for j in d.items:  # a loop over the definition's few activities, vectorised over rows
        diff = _codes(data[j], j, (0, 1, 2))
        helped = _codes(data[f"{j}_help"], f"{j}_help", (0, 1, 2))
        asked = diff >= 1
        unmet |= asked & np.isin(helped, UNMET_HELP[variant])
        known &= ~np.isnan(diff) & (~asked | ~np.isnan(helped))
    return np.where(unmet, 1.0, np.where(known, 0.0, np.nan))


def _codes(values: pd.Series, column: str, allowed: tuple[int, ...]) -> np.ndarray:
    """Numeric codes; blanks and non-substantive codes (negative: don't know) as NaN; any other
    value is an error naming the rows."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    text = values.astype(str).str.strip()
    blank = values.isna().to_numpy() | text.isin(["", "nan", "NaN", "None", "<NA>"]).to_numpy()
    bad = (~blank & np.isnan(x)) | (~np.isnan(x) & (x >= 0) & ~np.isin(x, allowed))
    if bad.any():
        raise CarepopError(
            f"Column {column!r} has {int(bad.sum())} value(s) that are not codes of its choice list.",
            code="unknown_category",
            column=column,
            rows=data_rows(bad),
            got=values.to_numpy()[np.flatnonzero(bad)[0]],
            expected=allowed,
            fix="recode the column to the instrument's codes (or blank for no answer)",
        )
    return np.where(x < 0, np.nan, x)


def unmet_need_by_council(
    survey: Survey,
    *,
    council: str = "council_code",
    age: str = "age",
    sex: str = "sex",
    definition: str = "hse",
    variants: Sequence[str] = VARIANTS,
    age_bands: tuple[tuple[int, int | None], ...] | None = None,
    model: str = "fay_herriot",
    covariates: Sequence[str] = ("expected", "imd_score", "region_code"),
    population: pd.DataFrame | None = None,
    councils: pd.DataFrame | None = None,
    signals: pd.DataFrame | None = None,
    boot: int = 200,
    seed: int | None = None,
    level: float = 0.95,
    direct_ci: str = "wilson",
) -> UnmetNeed:
    """Unmet need by council, region and England with intervals (module docstring).

    Parameters
    ----------
    survey : the survey; ``council`` holds 2023 council codes (the 153), ``age`` ages in years,
        ``sex`` 1/2 (the instrument's codes) or Female/Male (F/M).
    definition : a name of :data:`DEFINITIONS`; ``variants`` some of ``no_help``, ``insufficient``.
    age_bands : ``(lo, hi)`` bands (``hi=None`` open); default 18-64, 65-74, 75-84, 85+ cut at the
        definition's youngest age. Every band must lie within the definition's ages.
    model : ``fay_herriot`` (default), ``synthetic`` or ``direct``: what ``estimate`` is.
    covariates : council-table columns for the model (text columns such as ``region_code`` enter as
        categorical); ``expected`` is the expected rate and ``synthetic`` the synthetic rate (both
        on the arcsine scale).
    population : residents by ``council_code``, ``age_band``, ``sex`` (``population``); default
        Census 2021 (:func:`carepop.sources.population.population_by_age_sex`).
    councils : the council table (default carepop's ``council`` table).
    signals : a frame keyed by ``council_code`` whose other columns are put beside the council rows.
    boot, seed : the parametric bootstrap of the model MSE.
    direct_ci : the interval of the direct proportions: ``wilson`` (default), ``beta``, ``logit`` ...
    """
    d = get_definition(definition)
    if model not in MODELS:
        raise CarepopError(
            f"Unknown model {model!r}.",
            code="bad_option",
            got=model,
            expected=MODELS,
            fix=("set ", opt("model"), " to one of the expected values"),
        )
    variants = tuple(variants)
    for v in variants:
        if v not in VARIANTS:
            raise CarepopError(
                f"Unknown variant {v!r}.",
                code="bad_option",
                got=v,
                expected=VARIANTS,
                fix=("set ", opt("variants"), " to some of the expected values"),
            )
    if not 0 < level < 1:
        raise CarepopError(
            "The level must be between 0 and 1.",
            code="bad_option",
            got=level,
            fix=("set ", opt("level", 0.95)),
        )
    for param, col in (("council", council), ("age", age), ("sex", sex)):
        if col not in survey.columns:
            raise CarepopError(
                f"The survey has no column {col!r}.",
                code="unknown_column",
                column=col,
                fix=("name the ", param, " column with ", opt(param, metavar="COL")),
            )
    bands = _bands(d, age_bands)
    from carepop.sources.tables import load_table

    table = load_table("council", None) if councils is None else councils
    codes = _council_codes(survey, council, table)
    band = _age_band(survey, age, bands)
    sexes = _sex(survey, sex)
    pop = _population(population, bands, table)
    sig = _signals(signals, table)
    data = survey.data
    rgn = table.set_index(table["council_code"].astype(str))["region_code"]
    region = codes.map(rgn).to_numpy()
    cell = np.where(band >= 0, band * 2 + sexes, -1)
    cols = {"_un_region": region, "_un_band": np.where(band >= 0, band, -1), "_un_sex": sexes}
    ys = {v: np.where(band >= 0, unmet_indicator(data, d, v), np.nan) for v in variants}
    s = survey.with_columns(_un_council=codes.to_numpy(), **cols, **{f"_un_y_{v}": y for v, y in ys.items()})
    frames, cell_tables, fits, notes = [], [], {}, []
    for v in variants:
        out, cells, fit, nts = _one_variant(
            s, f"_un_y_{v}", cell, bands, pop, table, d, model, covariates, boot, seed, level, direct_ci
        )
        out.insert(0, "variant", v)
        cells.insert(0, "variant", v)
        frames.append(out)
        cell_tables.append(cells)
        fits[v] = fit
        notes.extend(n for n in nts if n not in notes)
    result = pd.concat(frames, ignore_index=True)
    result.insert(0, "definition", d.name)
    if sig is not None:
        result = result.merge(
            sig, left_on="area_code", right_on="council_code", how="left", suffixes=("", "")
        )
        result = result.drop(columns="council_code")
    notes = [
        f"definition {d.name}: {d.label} (source: {d.source})",
        f"estimate = {model}"
        + (
            f" (Fay–Herriot on council direct rates, arcsine scale; covariates {', '.join(covariates)})"
            if model == "fay_herriot"
            else ""
        ),
        f"direct intervals: {direct_ci}",
        "populations by council, age band and sex (Census 2021 TS007 × TS008, sex split by national "
        "shares at each age) are treated as known; counts = rate × population",
        "synthetic intervals carry the survey error of the region × age × sex rates (their covariance "
        "included), not the bias of applying region rates to a council",
        "region and England rows: post-stratified direct estimates (age band × sex), design variance by "
        "linearisation",
        *notes,
    ]
    return UnmetNeed(
        table=result,
        cells=pd.concat(cell_tables, ignore_index=True),
        definition=d.name,
        model=model,
        level=level,
        models=fits,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- input checks
def _bands(d: Definition, age_bands) -> tuple[tuple[int, int | None], ...]:
    if age_bands is None:
        out = []
        for lo, hi in DEFAULT_BANDS:
            if hi is None or hi >= d.min_age:
                out.append((max(lo, d.min_age), hi))
        return tuple(out)
    bands = tuple((int(lo), None if hi is None else int(hi)) for lo, hi in age_bands)
    check_age_bands(bands)
    if bands[0][0] < d.min_age:
        raise CarepopError(
            f"Age band {band_label(*bands[0])} starts below the youngest age of definition "
            f"{d.name!r} ({d.min_age}).",
            code="bad_age_bands",
            got=band_label(*bands[0]),
            fix=(
                "start the first of ",
                opt("age_bands"),
                f" at {d.min_age} or later, or choose another ",
                opt("definition"),
            ),
        )
    return bands


def _council_codes(survey: Survey, council: str, table: pd.DataFrame) -> pd.Series:
    codes = survey.column(council, "council column")
    blank = codes.isna().to_numpy()
    text = codes.astype(str).str.strip()
    known = set(table["council_code"].astype(str))
    bad = blank | ~text.isin(known).to_numpy()
    if bad.any():
        raise CarepopError(
            f"{int(bad.sum())} row(s) have a council code that is not one of the "
            f"{len(known)} councils with adult social care (2023 codes).",
            code="unknown_council",
            column=council,
            rows=data_rows(bad),
            got=None if blank[bad][0] else text[bad].iloc[0],
            expected="a 2023 council code such as E06000001, E08000025 or E10000003",
            fix="map district codes to councils (carepop.sources.regions.councils_of); fix unknown codes",
        )
    return text.reset_index(drop=True)


def _age_band(survey: Survey, age: str, bands) -> np.ndarray:
    values = survey.column(age, "age column")
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(x) | (x < AGE_RANGE[0]) | (x > AGE_RANGE[1])
    if bad.any():
        first = values.to_numpy()[np.flatnonzero(bad)[0]]
        raise CarepopError(
            f"{int(bad.sum())} row(s) have an age that is missing or outside {AGE_RANGE[0]}–{AGE_RANGE[1]}.",
            code="bad_age",
            column=age,
            rows=data_rows(bad),
            got=None if pd.isna(first) else first,
            expected=f"ages in years, {AGE_RANGE[0]} to {AGE_RANGE[1]}",
            fix="correct or impute the ages (rows cannot be dropped without changing the design)",
        )
    out = np.full(len(x), -1)
    for b, (lo, hi) in enumerate(bands):
        out[(x >= lo) & ((x <= hi) if hi is not None else True)] = b
    return out


def _sex(survey: Survey, sex: str) -> np.ndarray:
    values = survey.column(sex, "sex column")
    text = values.astype(str).str.strip().str.lower().str.replace(r"\.0$", "", regex=True)
    code = text.map({"1": 0, "female": 0, "f": 0, "2": 1, "male": 1, "m": 1})
    bad = code.isna().to_numpy()
    if bad.any():
        raise CarepopError(
            f"{int(bad.sum())} row(s) have a sex code that is not Female or Male.",
            code="unknown_category",
            column=sex,
            rows=data_rows(bad),
            got=values.to_numpy()[np.flatnonzero(bad)[0]],
            expected=("1 (Female)", "2 (Male)", "Female", "Male", "F", "M"),
            fix="recode the column to the instrument's codes (1 Female, 2 Male); Census 2021 has two sexes",
        )
    return code.to_numpy(dtype=int)


def _population(population: pd.DataFrame | None, bands, table: pd.DataFrame) -> np.ndarray:
    """(councils in table order, bands, 2) residents."""
    labels = [band_label(lo, hi) for lo, hi in bands]
    if population is None:
        population = population_by_age_sex(bands)
    need = ["council_code", "age_band", "sex", "population"]
    for col in need:
        if col not in population.columns:
            raise CarepopError(
                f"The population table has no column {col!r}.",
                code="unknown_column",
                column=col,
                fix=("give ", opt("population"), " with columns " + ", ".join(need)),
            )
    p = population.assign(age_band=population["age_band"].astype(str), sex=population["sex"].astype(str))
    wide = p.pivot_table(
        index="council_code", columns=["age_band", "sex"], values="population", aggfunc="sum"
    )
    want = pd.MultiIndex.from_product([labels, list(SEXES)])
    codes = table["council_code"].astype(str)
    wide = wide.reindex(index=codes, columns=want)
    if wide.isna().to_numpy().any():
        miss = wide.isna().any(axis=1).to_numpy()
        raise CarepopError(
            "The population table lacks some council × age band × sex cells.",
            code="missing_population",
            column="population",
            got=codes[miss].iloc[0],
            expected=f"every council with bands {', '.join(labels)} and sexes Female, Male",
            fix=("give ", opt("population"), " for every cell, with the same age bands"),
        )
    return wide.to_numpy(dtype=float).reshape(len(codes), len(labels), 2)


def _signals(signals: pd.DataFrame | None, table: pd.DataFrame) -> pd.DataFrame | None:
    if signals is None:
        return None
    if "council_code" not in signals.columns:
        raise CarepopError(
            "The signals table has no column 'council_code'.",
            code="unknown_column",
            column="council_code",
            fix=("give ", opt("signals"), " keyed by council_code"),
        )
    sig = signals.copy()
    sig["council_code"] = sig["council_code"].astype(str)
    dup = sig["council_code"].duplicated().to_numpy()
    unknown = ~sig["council_code"].isin(set(table["council_code"].astype(str))).to_numpy()
    if dup.any() or unknown.any():
        bad = dup | unknown
        raise CarepopError(
            "The signals table has " + ("repeated" if dup.any() else "unknown") + " council codes.",
            code="duplicate_council" if dup.any() else "unknown_council",
            column="council_code",
            rows=data_rows(bad),
            got=sig["council_code"].to_numpy()[np.flatnonzero(bad)[0]],
            fix="give one row per council, with 2023 council codes",
        )
    return sig


# ----------------------------------------------------------------------------- estimation
def _one_variant(s, y, cell, bands, pop, table, d, model, covariates, boot, seed, level, direct_ci):
    z = norm_ppf(0.5 + level / 2)
    n_cells = 2 * len(bands)
    codes = table["council_code"].astype(str).to_numpy()
    region_of = table["region_code"].astype(str).to_numpy()
    regions = np.unique(region_of)
    G = len(regions)
    g_row = np.searchsorted(regions, np.asarray(s.column("_un_region"), dtype=str))
    yv = s.numeric(y, "the unmet-need indicator")
    w = s.weights
    m = ~np.isnan(yv) & (cell >= 0)
    k = np.where(m, g_row * n_cells + cell, -1)
    N = np.bincount(k[m], weights=w[m], minlength=G * n_cells)
    Y = np.bincount(k[m], weights=(w * np.nan_to_num(yv))[m], minlength=G * n_cells)
    empty = N <= 0
    if empty.any():
        g, c = divmod(int(np.flatnonzero(empty)[0]), n_cells)
        b, sx = divmod(c, 2)
        raise CarepopError(
            f"No respondent with an answer in region {regions[g]}, ages {band_label(*bands[b])}, "
            f"{SEXES[sx]}: its rate cannot be estimated.",
            code="empty_cell",
            fix=("use wider ", opt("age_bands"), " or a survey with respondents in every cell"),
        )
    rate = (Y / N).reshape(G, n_cells)
    e = np.zeros(len(yv))
    e[m] = (yv[m] - rate.ravel()[k[m]]) / N[k[m]]
    # ---- cell covariance within each region, by polarisation of the survey's total estimator
    onehot = {}
    for a in range(n_cells):
        onehot[f"_un_v{a}"] = np.where(cell == a, e, 0.0)
    pairs = [(a, b) for a in range(n_cells) for b in range(a + 1, n_cells)]
    for a, b in pairs:
        onehot[f"_un_v{a}_{b}"] = onehot[f"_un_v{a}"] + onehot[f"_un_v{b}"]
    P_cells = pop.reshape(len(codes), n_cells)
    g_of = np.searchsorted(regions, region_of)
    P_region = np.zeros((G, n_cells))
    np.add.at(P_region, g_of, P_cells)
    onehot["_un_vpop"] = np.where(m, e * P_region[g_row, np.clip(cell, 0, None)], 0.0)
    lin = s.with_columns(**onehot)
    tot = lin.total(list(onehot), by="_un_region").to_pandas()
    tot = tot[tot["_un_region"].astype(str).isin(regions)]
    var = tot.pivot_table(index="_un_region", columns="variable", values="se", aggfunc="first")
    var = (var.reindex(regions) ** 2).fillna(0.0)
    C = np.zeros((G, n_cells, n_cells))
    for a in range(n_cells):
        C[:, a, a] = var[f"_un_v{a}"].to_numpy()
    for a, b in pairs:
        cov = (var[f"_un_v{a}_{b}"].to_numpy() - C[:, a, a] - C[:, b, b]) / 2
        C[:, a, b] = C[:, b, a] = cov
    eng_se = float(lin.total("_un_vpop").to_pandas()["se"].iloc[0])
    # ---- synthetic council counts and their variances
    P = P_cells.sum(axis=1)
    syn_count = (P_cells * rate[g_of]).sum(axis=1)
    syn_var = np.maximum(np.einsum("ck,ckl,cl->c", P_cells, C[g_of], P_cells), 0.0)
    syn_rate, syn_se = syn_count / P, np.sqrt(syn_var) / P
    # the expected rate: England's age × sex rates on the council's population (indirect
    # standardisation), the model's covariate (far more precise than the regional rates)
    england = Y.reshape(G, n_cells).sum(axis=0) / N.reshape(G, n_cells).sum(axis=0)
    expected = (P_cells * england).sum(axis=1) / P
    # ---- direct council estimates
    with warnings.catch_warnings():  # councils with no respondent of the ages: noted below
        warnings.simplefilter("ignore")
        direct = s.proportion(
            y, by="_un_council", ci=direct_ci, deff=True, level=level, na_rm=True
        ).to_pandas()
    direct = direct[is_category(direct["level"], 1)].drop(columns=["statistic", "variable", "level"])
    direct = direct.set_index(direct["_un_council"].astype(str)).reindex(codes)
    n_dir = direct["n"].fillna(0).to_numpy()
    # ---- the published estimate
    fit = None
    model_notes: list[str] = []
    if model == "fay_herriot":
        est, lo, hi, in_sample, fit = _fay_herriot(
            direct, table, codes, {"synthetic": syn_rate, "expected": expected}, covariates, boot, seed, level
        )
        model_notes = list(fit.notes)
        cnt, cnt_lo, cnt_hi = est * P, lo * P, hi * P
    elif model == "synthetic":
        est, lo, hi = syn_rate, np.maximum(syn_rate - z * syn_se, 0), np.minimum(syn_rate + z * syn_se, 1)
        in_sample = n_dir > 0
        cnt, cnt_lo, cnt_hi = (
            syn_count,
            np.maximum(syn_count - z * np.sqrt(syn_var), 0),
            syn_count + z * np.sqrt(syn_var),
        )
    else:
        est, lo, hi = (direct[c].to_numpy(dtype=float) for c in ("estimate", "ci_lower", "ci_upper"))
        in_sample = n_dir > 0
        cnt, cnt_lo, cnt_hi = est * P, lo * P, hi * P
    names = (
        table.set_index(table["council_code"].astype(str))["council_name"]
        if "council_name" in table
        else None
    )
    council_rows = pd.DataFrame(
        {
            "area_level": "council",
            "area_code": codes,
            "area_name": names.reindex(codes).to_numpy() if names is not None else None,
            "region_code": region_of,
            "population": P,
            "n": n_dir.astype(int),
            "direct": direct["estimate"].to_numpy(dtype=float),
            "direct_se": direct["se"].to_numpy(dtype=float),
            "direct_lower": direct["ci_lower"].to_numpy(dtype=float),
            "direct_upper": direct["ci_upper"].to_numpy(dtype=float),
            "expected": expected,
            "synthetic": syn_rate,
            "synthetic_se": syn_se,
            "estimate": est,
            "ci_lower": lo,
            "ci_upper": hi,
            "method": model,
            "count": cnt,
            "count_lower": cnt_lo,
            "count_upper": cnt_hi,
            "synthetic_count": syn_count,
            "synthetic_count_se": np.sqrt(syn_var),
            "in_sample": np.asarray(in_sample, dtype=bool),
        }
    )
    above = _above(s, y, regions, P_region, rate, C, eng_se, z, level, direct_ci)
    above.insert(
        above.columns.get_loc("synthetic"),
        "expected",
        (np.vstack([P_region, P_region.sum(axis=0)]) * england).sum(axis=1) / above["population"].to_numpy(),
    )
    cells = _cells(s, y, regions, bands, level)
    return pd.concat([council_rows, above], ignore_index=True), cells, fit, model_notes


def _fay_herriot(direct, table, codes, rates, covariates, boot, seed, level):
    from carepop.sae.area_level import fay_herriot

    d = direct.dropna(subset=["estimate"]).copy()
    deff = d["deff"].to_numpy(dtype=float)
    d["n_eff"] = d["n"] / np.where(np.isfinite(deff) & (deff > 0), deff, 1.0)
    d["council_code"] = d.index.astype(str)
    areas = table.copy()
    areas["council_code"] = areas["council_code"].astype(str)
    for name, r in rates.items():  # on the model's (arcsine) scale
        areas[name] = np.arcsin(np.sqrt(np.clip(r, 0, 1)))
    for col in covariates:
        if col not in areas.columns:
            raise CarepopError(
                f"The council table has no covariate {col!r}.",
                code="unknown_column",
                column=col,
                fix=("name columns of the council table in ", opt("covariates")),
            )
    terms = {
        "covariates": [c for c in covariates if pd.api.types.is_numeric_dtype(areas[c])],
        "categorical": [c for c in covariates if not pd.api.types.is_numeric_dtype(areas[c])],
    }
    res = fay_herriot(
        d[["council_code", "estimate", "se", "n_eff"]],
        areas,
        area="council_code",
        se="se",
        transform="arcsin",
        n_eff="n_eff",
        boot=boot,
        seed=seed,
        level=level,
        **terms,
    )
    m = res.to_pandas().set_index(res.to_pandas()["council_code"].astype(str)).reindex(codes)
    est, lo, hi = (m[c].to_numpy(dtype=float) for c in ("estimate", "ci_lower", "ci_upper"))
    return est, lo, hi, m["in_sample"].to_numpy(dtype=bool), res


def _above(s, y, regions, P_region, rate, C, eng_se, z, level, direct_ci) -> pd.DataFrame:
    """Region and England rows: post-stratified estimates and the plain domain proportions."""
    from carepop.sources.regions import region_lookup

    names = region_lookup().drop_duplicates("region_code").set_index("region_code")["region_name"]
    P = P_region.sum(axis=1)
    count = (P_region * rate).sum(axis=1)
    se = np.sqrt(np.maximum(np.einsum("gk,gkl,gl->g", P_region, C, P_region), 0.0))
    d_reg = s.proportion(y, by="_un_region", ci=direct_ci, level=level, na_rm=True).to_pandas()
    d_reg = d_reg[is_category(d_reg["level"], 1)]
    d_reg = d_reg.set_index(d_reg["_un_region"].astype(str)).reindex(regions)
    d_eng = s.proportion(y, ci=direct_ci, level=level, na_rm=True).to_pandas()
    d_eng = d_eng[is_category(d_eng["level"], 1)]
    count = np.append(count, count.sum())
    se = np.append(se, eng_se)
    P = np.append(P, P.sum())
    dir_cols = {
        c: np.append(d_reg[c].to_numpy(dtype=float), d_eng[c].to_numpy(dtype=float))
        for c in ("estimate", "se", "ci_lower", "ci_upper", "n")
    }
    lo, hi = np.maximum(count - z * se, 0), count + z * se
    return pd.DataFrame(
        {
            "area_level": ["region"] * len(regions) + ["england"],
            "area_code": [*regions, "E92000001"],
            "area_name": [*names.reindex(regions).to_numpy(), "England"],
            "region_code": [*regions, None],
            "population": P,
            "n": np.nan_to_num(dir_cols["n"]).astype(int),
            "direct": dir_cols["estimate"],
            "direct_se": dir_cols["se"],
            "direct_lower": dir_cols["ci_lower"],
            "direct_upper": dir_cols["ci_upper"],
            "synthetic": count / P,
            "synthetic_se": se / P,
            "estimate": count / P,
            "ci_lower": lo / P,
            "ci_upper": np.minimum(hi / P, 1),
            "method": "post-stratified direct",
            "count": count,
            "count_lower": lo,
            "count_upper": hi,
            "synthetic_count": count,
            "synthetic_count_se": se,
            "in_sample": True,
        }
    )


def _cells(s, y, regions, bands, level) -> pd.DataFrame:
    """The survey's rates by region × age band × sex and by England × age band × sex."""
    labels = [band_label(lo, hi) for lo, hi in bands]
    out = []
    for by in (["_un_region", "_un_band", "_un_sex"], ["_un_band", "_un_sex"]):
        with warnings.catch_warnings():  # the rows outside the bands form an empty domain
            warnings.simplefilter("ignore")
            t = s.mean(y, by=by, level=level, na_rm=True).to_pandas()
        t = t[t["_un_band"].astype(int) >= 0]
        out.append(
            pd.DataFrame(
                {
                    "area_code": t["_un_region"].astype(str) if "_un_region" in t else "E92000001",
                    "age_band": [labels[int(b)] for b in t["_un_band"]],
                    "sex": [SEXES[int(x)] for x in t["_un_sex"]],
                    "rate": t["estimate"].to_numpy(),
                    "se": t["se"].to_numpy(),
                    "ci_lower": t["ci_lower"].to_numpy(),
                    "ci_upper": t["ci_upper"].to_numpy(),
                    "n": t["n"].to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)
