"""The measures a run config can name, each a thin adapter from a ``[measures.NAME]`` table to a
library call (the same call a user would make in Python, so a run's numbers are the library's).

Every step takes the run's :class:`Context` and its table of keys and returns a
:class:`StepResult`: the published tables (name → data frame, by council with region and England
rows where the measure has them), the notes (what was treated as known, the model's choices) and
the row set to map (``estimate``, ``ci_lower``, ``ci_upper`` by council) if any.

:data:`STEPS` lists them in the order they run (a measure may use an earlier one's result: hidden
carers use carers; projections use a rate measure).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError

Schema = dict[str, tuple[tuple[type, ...], bool, str]]


@dataclass
class Context:
    """What the steps share: the config, the surveys and inputs read, earlier steps' results."""

    config: Any  # carepop.pipeline.config.Config
    surveys: dict[str, Any]  # name -> Survey
    inputs: dict[str, pd.DataFrame]  # name -> data frame (non-survey inputs, read whole)
    results: dict[str, StepResult] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # measure name -> the library's result object

    def seed(self, name: str) -> int:
        """The seed of step ``name``: the run's seed plus a fixed offset per name (stable)."""
        base = int(self.config.run.get("seed", 2021))
        return base + zlib.crc32(name.encode()) % 100_000

    def survey(self, name: str) -> Any:
        return self.surveys[name]


@dataclass(frozen=True)
class Protect:
    """How disclosure control treats one published table (:mod:`carepop.outputs.disclosure`).

    ``totals``: weighted estimates of people (rounded to ``estimate_round``); ``rates``: rates and
    proportions (rounded to ``rate_decimals``); ``counts``: exact counts of people (1..threshold−1
    suppressed, others rounded). ``base`` and ``base_columns``: the survey's unweighted base and
    the direct-estimate columns blanked where it is below ``min_base`` (model estimates borrow
    strength and are published). ``nested``: for a table of counts by council with regions and
    England, the count columns are protected with their margins (secondary suppression and the LP
    audit, :func:`carepop.outputs.disclosure.protect_table`) instead."""

    totals: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    base: str | None = None
    base_columns: tuple[str, ...] = ()
    nested: bool = False


@dataclass(frozen=True)
class Section:
    """A measure's section of the report: the council rows of ``table`` mapped and charted."""

    key: str
    title: str
    table: str
    value: str = "estimate"
    lower: str = "ci_lower"
    upper: str = "ci_upper"
    label: str = ""
    value_format: str = "{:.3g}"
    description: str = ""
    direct: bool = False  # the table has direct, direct_se (adds the direct-vs-model chart)
    where: tuple[tuple[str, object], ...] = ()  # rows of the table to use (column, value)


@dataclass(frozen=True)
class StepResult:
    """One measure's published tables, how each is protected, its notes and report sections."""

    tables: dict[str, pd.DataFrame]
    protect: dict[str, Protect] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    projections: tuple[Section, ...] = ()  # fan charts: table with year, estimate, ci, variant


@dataclass(frozen=True)
class Step:
    """A measure a config can name: its keys, the library call, and which keys name columns of
    its survey (only those columns are read), with the defaults of those that have one."""

    name: str
    title: str
    schema: Schema
    run: Callable[[Context, dict[str, Any]], StepResult]
    columns: tuple[str, ...] = ()
    default_columns: tuple[tuple[str, str], ...] = ()
    more_columns: Callable[[dict[str, Any]], list[str]] | None = None  # columns implied by the keys
    reads_file: bool = False  # the step reads its ``input`` file itself (by SQL: only the columns it needs)


def _need_items(spec: dict[str, Any]) -> list[str]:
    """The items a definition of unmet need reads: each activity and its help item."""
    from carepop.measures.unmet_need import get_definition

    items = get_definition(spec.get("definition", "hse")).items
    return [c for item in items for c in (item, f"{item}_help")]


def _carers(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.carers import carers_by_council, carers_by_hours

    survey = ctx.survey(spec["survey"])
    common = {
        "council": spec.get("council", "council_code"),
        "benchmark": None if spec.get("benchmark", "region") == "none" else spec.get("benchmark", "region"),
        "boot": int(spec.get("boot", 200)),
        "level": float(spec.get("level", 0.95)),
    }
    result = carers_by_council(
        survey,
        carer=spec["carer"],
        category=spec.get("category", 1),
        definition=spec.get("definition", "census question (unpaid care to anyone, any hours)"),
        seed=ctx.seed("carers"),
        **common,
    )
    ctx.raw["carers"] = result
    tables = {"carers": result.to_pandas()}
    notes = list(result.notes)
    if spec.get("hours"):
        bands = carers_by_hours(survey, hours=spec["hours"], seed=ctx.seed("carers_by_hours"), **common)
        tables["carers_by_hours"] = bands.to_pandas()
        notes.extend(n for n in bands.notes if n not in notes)
    rates = (
        "direct",
        "direct_se",
        "estimate",
        "ci_lower",
        "ci_upper",
        "census_rate",
        "ratio",
        "ratio_lower",
        "ratio_upper",
    )
    protect = Protect(
        totals=("carers", "carers_lower", "carers_upper"),
        rates=rates,
        counts=("census_carers",),
        base="n",
        base_columns=("direct", "direct_se"),
    )
    return StepResult(
        tables=tables,
        protect={name: protect for name in tables},
        notes=tuple(notes),
        sections=(
            Section(
                "carers",
                "Unpaid carers",
                "carers",
                label="share of residents aged 5+ who provide unpaid care",
                value_format="{:.1%}",
                description=(
                    "The share of residents aged 5 and over who provide unpaid care, as the survey "
                    "counts carers: the survey's direct estimate where a council's sample allows, "
                    "and a small-area model (Fay–Herriot on the arcsine scale, with the census "
                    "carer rate, deprivation and GP-register coverage) benchmarked to each region."
                ),
                direct=True,
            ),
            Section(
                "carer-counts",
                "Number of unpaid carers",
                "carers",
                value="carers",
                lower="carers_lower",
                upper="carers_upper",
                label="unpaid carers (residents aged 5+)",
                value_format="{:,.0f}",
                description="The model's share times the council's residents aged 5 and over (Census 2021).",
            ),
        ),
    )


def _hidden(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.hidden import hidden_carers, with_region_totals

    if "carers" not in ctx.raw:
        raise CarepopError(
            "Hidden carers need the carers measure.",
            code="bad_config",
            fix="add a [measures.carers] table before [measures.hidden_carers]",
        )
    known = spec.get("known", "gp")
    if known == "cld":
        if "cld_signals" not in ctx.raw:
            raise CarepopError(
                'known = "cld" needs the CLD signals.',
                code="bad_config",
                column="known",
                fix="add a [measures.cld_signals] table (the councils' client-level data)",
            )
        sig = ctx.raw["cld_signals"]
        counts = with_region_totals(sig.set_index("council_code")["carers_supported"])
        result = hidden_carers(
            ctx.raw["carers"],
            counts,
            source=spec.get("source", "carers supported by councils (client-level data)"),
        )
        return _hidden_result(result)
    if known != "gp" and known not in ctx.inputs:
        raise CarepopError(
            f"[measures.hidden_carers] known = {known!r}: no input of that name.",
            code="unknown_input",
            column="known",
            fix='known = "gp" (GP-registered carers) or the name of an [inputs.NAME] table',
        )
    if known == "gp":
        result = hidden_carers(ctx.raw["carers"])
    else:
        table = ctx.inputs[known]
        count, area = spec.get("known_count", "known"), spec.get("known_area", "area_code")
        for col in (count, area):
            if col not in table.columns:
                raise CarepopError(
                    f"The input {known!r} has no column {col!r}.",
                    code="unknown_column",
                    column=col,
                    expected=list(map(str, table.columns)),
                    fix="name it with known_count / known_area in [measures.hidden_carers]",
                )
        counts = table.set_index(table[area].astype(str))[count]
        result = hidden_carers(
            ctx.raw["carers"], counts, source=spec.get("source", f"known carers ({known})")
        )
    return _hidden_result(result)


def _hidden_result(result: Any) -> StepResult:
    return StepResult(
        tables={"hidden_carers": result.to_pandas()},
        protect={
            "hidden_carers": Protect(
                # GP-registered carers are apportioned from practices to councils (not whole
                # numbers): rounded as estimates of people
                totals=(
                    "carers",
                    "carers_lower",
                    "carers_upper",
                    "known",
                    "hidden",
                    "hidden_lower",
                    "hidden_upper",
                ),
                rates=("share_known", "share_known_lower", "share_known_upper"),
            )
        },
        notes=tuple(result.notes),
        sections=(
            Section(
                "hidden-carers",
                "Hidden carers",
                "hidden_carers",
                value="hidden",
                lower="hidden_lower",
                upper="hidden_upper",
                label="carers not known to services",
                value_format="{:,.0f}",
                description=(
                    "Estimated unpaid carers minus the carers known to services "
                    f"({result.source}); an interval reaching below zero is shown from zero."
                ),
            ),
            Section(
                "share-known",
                "Share of carers known to services",
                "hidden_carers",
                value="share_known",
                lower="share_known_lower",
                upper="share_known_upper",
                label="share of carers known to services",
                value_format="{:.0%}",
                description=f"Carers known to services ({result.source}) as a share of the estimated carers.",
            ),
        ),
    )


#: CLD signals published as counts by council (with region and England totals, protected together)
CLD_COUNTS = (
    "requests_people",
    "requests_no_service_people",
    "requests_self_funded_people",
    "long_term_people",
    "long_term_fully_client_funded",
    "home_care_people",
    "home_care_council_funded",
    "home_care_self_funded",
    "carers_supported",
)
WAITS = ("request_to_assessment", "request_to_service")


def _cld(ctx: Context, spec: dict[str, Any]) -> StepResult:
    """The councils' client-level data: signals by council (:mod:`carepop.sources.cld.signals`)."""
    from carepop.sources.cld.signals import signals
    from carepop.sources.tables import load_table

    path = ctx.config.file(spec["input"])
    sig = signals(path, engine=spec.get("engine", "duckdb"), release=spec.get("release"))
    ctx.raw["cld_signals"] = sig
    regions = load_table("council", None)[["council_code", "region_code"]]
    counts = regions.merge(sig[["council_code", *CLD_COUNTS]], on="council_code", how="left").fillna(0)
    counts[list(CLD_COUNTS)] = counts[list(CLD_COUNTS)].astype("int64")
    waits = pd.concat(
        [
            pd.DataFrame(
                {
                    "council_code": sig["council_code"],
                    "wait": w.replace("_", " "),
                    "median_days": sig[f"wait_{w}_median_days"],
                    "p25_days": sig[f"wait_{w}_p25_days"],
                    "p75_days": sig[f"wait_{w}_p75_days"],
                    "n": sig[f"wait_{w}_n"].astype("int64"),
                }
            )
            for w in WAITS
        ],
        ignore_index=True,
    )
    period = f"{sig['period_start'].min()} to {sig['period_end'].max()}"
    return StepResult(
        tables={"cld_counts": counts, "cld_waits": waits},
        protect={
            "cld_counts": Protect(counts=CLD_COUNTS, nested=True),
            "cld_waits": Protect(
                rates=("median_days", "p25_days", "p75_days"),
                counts=("n",),
                base="n",
                base_columns=("median_days", "p25_days", "p75_days"),
            ),
        },
        notes=(
            f"client-level data {period} ({sig.attrs.get('release', 'release detected')}); distinct people "
            "counted once per council; waiting times after DHSC's method (carepop.sources.cld.signals)",
        ),
    )


_UNMET_LABEL = {"no_help": "with no help", "insufficient": "with no help or not enough help"}


def _unmet(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.unmet_need import unmet_need_by_council

    survey = ctx.survey(spec["survey"])
    signals = ctx.raw.get("cld_signals")
    result = unmet_need_by_council(
        survey,
        council=spec.get("council", "council_code"),
        age=spec.get("age", "age"),
        sex=spec.get("sex", "sex"),
        definition=spec.get("definition", "hse"),
        variants=tuple(spec.get("variants", ("no_help", "insufficient"))),
        model=spec.get("model", "fay_herriot"),
        signals=signals,
        boot=int(spec.get("boot", 200)),
        seed=ctx.seed("unmet_need"),
        level=float(spec.get("level", 0.95)),
    )
    ctx.raw["unmet_need"] = result
    direct = ("direct", "direct_se", "direct_lower", "direct_upper")
    protect = Protect(
        totals=("population", "count", "count_lower", "count_upper", "synthetic_count", "synthetic_count_se"),
        rates=(*direct, "expected", "synthetic", "synthetic_se", "estimate", "ci_lower", "ci_upper"),
        base="n",
        base_columns=direct,
    )
    cells = Protect(
        rates=("rate", "se", "ci_lower", "ci_upper"),
        base="n",
        base_columns=("rate", "se", "ci_lower", "ci_upper"),
    )
    sections = tuple(
        Section(
            f"unmet-{v.replace('_', '-')}",
            f"Unmet need {_UNMET_LABEL[v]} ({result.definition})",
            "unmet_need",
            label=f"share of people ({result.definition}) with a difficulty {_UNMET_LABEL[v]}",
            value_format="{:.1%}",
            description=(
                f"People of the definition's ages with difficulty in at least one activity of daily living "
                f"{_UNMET_LABEL[v]} (definition {result.definition!r}): the council's survey estimate "
                "combined "
                "with a model on its age and sex structure, deprivation and region (Fay–Herriot)."
            ),
            direct=True,
            where=(("variant", v),),
        )
        for v in result.table["variant"].drop_duplicates()
    )
    return StepResult(
        tables={"unmet_need": result.to_pandas(), "unmet_need_cells": result.cells},
        protect={"unmet_need": protect, "unmet_need_cells": cells},
        notes=tuple(result.notes),
        sections=sections,
    )


def _projection(ctx: Context, spec: dict[str, Any]) -> StepResult:
    """Unmet need projected to ``to``: England's rates by age band (from the unmet-need survey,
    with their SEs) × each council's projected population (POPPI style)."""
    from carepop.measures.projection import project
    from carepop.measures.unmet_need import get_definition, unmet_indicator

    if "unmet_need" not in ctx.raw:
        raise CarepopError(
            "The projection needs the unmet-need measure.",
            code="bad_config",
            fix="add a [measures.unmet_need] table before [measures.projection]",
        )
    need_spec = ctx.config.measures["unmet_need"]
    survey = ctx.survey(need_spec["survey"])
    name = need_spec.get("definition", "hse")
    variant = spec.get("variant", "no_help")
    definition = get_definition(name)
    y = unmet_indicator(survey.data, name, variant)
    age = pd.to_numeric(survey.column(need_spec.get("age", "age")), errors="coerce").to_numpy(dtype=float)
    bands = (
        [(65, 74), (75, 84), (85, None)]
        if definition.min_age >= 65
        else [(18, 64), (65, 74), (75, 84), (85, None)]
    )
    labels = [f"{lo}-{hi}" if hi is not None else f"{lo}+" for lo, hi in bands]
    band = np.full(len(age), labels[0], dtype=object)  # younger people: y is NaN, left out by na_rm
    for (lo, hi), label in zip(bands, labels, strict=True):
        band[(age >= lo) & (age <= (hi if hi is not None else np.inf))] = label
    y = np.where(age >= definition.min_age, np.asarray(y, dtype=float), np.nan)  # the domain: R subset()
    rates = survey.with_columns(_y=y, _band=band).mean("_y", by="_band", na_rm=True).to_pandas()
    rates = pd.DataFrame(
        {
            "area_code": "E92000001",
            "age_group": rates["_band"],
            "estimate": rates["estimate"],
            "se": rates["se"],
        }
    )
    result = project(
        rates,
        to=int(spec.get("to", 2040)),
        se="se",
        method=spec.get("method", "delta"),
        seed=ctx.seed("projection"),
        level=float(spec.get("level", 0.95)),
    )
    table = result.to_pandas()
    england = table[table["area_level"] == "england"]
    fan = pd.DataFrame(
        {
            "year": england["year"].to_numpy(),
            "estimate": england["count"].to_numpy(),
            "ci_lower": england["ci_lower"].to_numpy(),
            "ci_upper": england["ci_upper"].to_numpy(),
            "variant_lower": england["variant_low"].to_numpy(),
            "variant_upper": england["variant_high"].to_numpy(),
        }
    )
    return StepResult(
        tables={"projection": table, "projection_rates": rates, "projection_england": fan},
        protect={
            "projection": Protect(
                totals=(
                    "population",
                    "count",
                    "se",
                    "ci_lower",
                    "ci_upper",
                    "count_2020_based",
                    "variant_low",
                    "variant_high",
                ),
                rates=("rate",),
            ),
            "projection_rates": Protect(rates=("estimate", "se")),
            "projection_england": Protect(
                totals=("estimate", "ci_lower", "ci_upper", "variant_lower", "variant_upper")
            ),
        },
        notes=(
            f"England's rates of unmet need {_UNMET_LABEL[variant]} ({name}) by age band, from the survey "
            "with their "
            "standard errors, applied to every council's projected population (POPPI style): councils' own "
            "departures from England's rates are not projected",
            *result.notes,
        ),
        projections=(
            Section(
                "projection-england",
                f"Unmet need {_UNMET_LABEL[variant]}, England, projected",
                "projection_england",
                label=f"people with unmet need ({name})",
                value_format="{:,.0f}",
                description=(
                    "Rates by age band times the projected population of each age (2018-based "
                    "projections re-based on Census 2021); the lighter band is the range between the "
                    "2018- and 2020-based national projections."
                ),
            ),
        ),
    )


def _named(table: pd.DataFrame) -> pd.DataFrame:
    """``area_name`` beside ``area_code`` (councils, regions, England) when a table lacks it."""
    if "area_name" in table.columns:
        return table
    from carepop.sources.tables import load_table

    t = load_table("council", None)
    names = pd.concat(
        [
            t.set_index("council_code")["council_name"],
            t.drop_duplicates("region_code").set_index("region_code")["region_name"],
            pd.Series({"E92000001": "England"}),
        ]
    )
    out = table.copy()
    out.insert(out.columns.get_loc("area_code") + 1, "area_name", out["area_code"].astype(str).map(names))
    return out


def _share_section(key: str, title: str, table: str, stem: str, label: str, fmt: str, text: str) -> Section:
    return Section(
        key,
        title,
        table,
        value=stem,
        lower=f"{stem}_lower",
        upper=f"{stem}_upper",
        label=label,
        value_format=fmt,
        description=text,
    )


def _self_funders(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.self_funders import community_self_funders, self_funders_in_care_homes

    tables, protect, notes, sections = {}, {}, [], []
    if "homes" in spec:
        homes = self_funders_in_care_homes(
            ctx.inputs[spec["homes"]],
            ctx.inputs[spec["directory"]],
            min_homes=int(spec.get("min_homes", 5)),
            boot=int(spec.get("boot", 0)),
            seed=ctx.seed("self_funders"),
            level=float(spec.get("level", 0.95)),
        )
        tables["care_home_self_funders"] = _named(homes.to_pandas())
        people = [
            c for c in tables["care_home_self_funders"].columns if c.startswith(("residents", "self_funders"))
        ]
        shares = [c for c in tables["care_home_self_funders"].columns if c.startswith("self_funder_share")]
        protect["care_home_self_funders"] = Protect(totals=tuple(people), rates=tuple(shares))
        notes.extend(homes.notes)
        sections.append(
            _share_section(
                "care-home-self-funders",
                "Self-funders in care homes",
                "care_home_self_funders",
                "self_funder_share",
                "share of care-home residents who pay for their own care",
                "{:.0%}",
                "The share of care-home residents who fund their own care, from a survey of homes weighted "
                "to the care directory's beds within council and home type (ONS's method).",
            )
        )
    if "users" in spec:
        funded_from = spec.get("funded", "cld")
        if funded_from == "cld":
            if "cld_signals" not in ctx.raw:
                raise CarepopError(
                    'funded = "cld" needs the CLD signals.',
                    code="bad_config",
                    column="funded",
                    fix="add [measures.cld_signals], or name an input with home_care_council_funded by "
                    "council",
                )
            funded = ctx.raw["cld_signals"]
        else:
            funded = ctx.inputs[funded_from]
        users = ctx.inputs[spec["users"]]
        community = community_self_funders(
            users,
            funded,
            df="df" if "df" in users.columns else None,
            seed=ctx.seed("community"),
            level=float(spec.get("level", 0.95)),
        )
        tables["community_self_funders"] = _named(community.to_pandas())
        cols = tables["community_self_funders"].columns
        protect["community_self_funders"] = Protect(
            totals=tuple(
                c for c in cols if c.startswith(("home_care_users", "self_funders_")) or c == "self_funders"
            ),
            rates=tuple(c for c in cols if c.startswith("self_funder_share")),
            counts=("council_funded",),
        )
        notes.extend(community.notes)
        sections.append(
            _share_section(
                "community-self-funders",
                "Self-funders of home care",
                "community_self_funders",
                "self_funders",
                "people paying for their own home care",
                "{:,.0f}",
                "People receiving home care (estimated from a survey of providers) minus those whose care "
                "the council funds (client-level data), with the interval of the difference.",
            )
        )
    return StepResult(tables=tables, protect=protect, notes=tuple(notes), sections=tuple(sections))


def _workforce(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.workforce import personal_assistant_posts, workforce_by_area

    tables, protect, notes, sections = {}, {}, [], []
    if "returns" in spec:
        wf = workforce_by_area(
            ctx.inputs[spec["returns"]],
            ctx.inputs[spec["register"]],
            cells=tuple(spec.get("cells", ("council_code", "service"))),
            level=float(spec.get("level", 0.95)),
        )
        tables["workforce"] = _named(wf.to_pandas())
        cols = tables["workforce"].columns
        protect["workforce"] = Protect(
            totals=tuple(c for c in cols if c.startswith(("filled_posts", "vacancies"))),
            rates=tuple(c for c in cols if c.startswith("vacancy_rate")),
        )
        notes.extend(wf.notes)
        sections.append(
            _share_section(
                "vacancy-rate",
                "Vacancy rate in adult social care",
                "workforce",
                "vacancy_rate",
                "vacancies as a share of filled posts and vacancies",
                "{:.1%}",
                "From a survey of care providers' returns weighted to the register of locations within "
                "council and service (Skills for Care's method).",
            )
        )
    if "pa_recipients" in spec:
        pa = personal_assistant_posts(
            spec["pa_recipients"],
            spec["pa_share"],
            spec["pa_per_employer"],
            recipients_se=spec.get("pa_recipients_se", 0.0),
            share_employing_se=spec.get("pa_share_se", 0.0),
            pas_per_employer_se=spec.get("pa_per_employer_se", 0.0),
            method=spec.get("pa_method", "delta"),
            seed=ctx.seed("pa_posts"),
            level=float(spec.get("level", 0.95)),
        )
        tables["pa_posts"] = pa.to_pandas()
        protect["pa_posts"] = Protect(
            totals=("recipients", "pa_posts", "pa_posts_se", "pa_posts_lower", "pa_posts_upper"),
            rates=("share_employing", "share_employing_se", "pas_per_employer", "pas_per_employer_se"),
        )
        notes.extend(pa.notes)
    return StepResult(tables=tables, protect=protect, notes=tuple(notes), sections=tuple(sections))


def _schema(**keys: tuple[tuple[type, ...], bool, str]) -> Schema:
    return dict(keys)


_TEXT, _INT, _NUM, _BOOL = (str,), (int,), (int, float), (bool,)

STEPS: tuple[Step, ...] = (
    Step(
        "cld_signals",
        "Client-level data",
        _schema(
            input=(_TEXT, True, "the name of an [inputs.NAME] table with the CLD event file"),
            engine=(_TEXT, False, "duckdb or spark"),
            release=(_TEXT, False, "r1 or r2 (default: detected)"),
        ),
        _cld,
        reads_file=True,
    ),
    Step(
        "carers",
        "Unpaid carers",
        _schema(
            survey=(_TEXT, True, "the name of a [surveys.NAME] table"),
            carer=(_TEXT, True, "the yes/no carer column"),
            category=((str, int), False, "the value of the carer column that means 'carer'"),
            council=(_TEXT, False, "the column with 2023 council codes"),
            definition=(_TEXT, False, "what the carer column measures"),
            hours=(_TEXT, False, "the census hours band column (1-5), for estimates by band"),
            benchmark=(_TEXT, False, "region, england or none"),
            boot=(_INT, False, "bootstrap replicates of the model MSE"),
            level=(_NUM, False, "the confidence level"),
        ),
        _carers,
        columns=("carer", "council", "hours"),
        default_columns=(("council", "council_code"),),
    ),
    Step(
        "hidden_carers",
        "Hidden carers",
        _schema(
            known=(
                _TEXT,
                False,
                "gp (GP-registered carers, bundled), cld (carers supported in the CLD signals) or the "
                "name of an input with counts",
            ),
            known_count=(_TEXT, False, "the count column of the known input"),
            known_area=(_TEXT, False, "the area-code column of the known input"),
            source=(_TEXT, False, "what the known counts count"),
        ),
        _hidden,
    ),
    Step(
        "unmet_need",
        "Unmet need",
        _schema(
            survey=(_TEXT, True, "the name of a [surveys.NAME] table (the needs survey)"),
            council=(_TEXT, False, "the column with 2023 council codes"),
            age=(_TEXT, False, "the age column (years)"),
            sex=(_TEXT, False, "the sex column (1 female, 2 male)"),
            definition=(_TEXT, False, "hse, hse_iadl, ageuk, ageuk65 or adults"),
            variants=((list,), False, "no_help and/or insufficient"),
            model=(_TEXT, False, "fay_herriot, synthetic or direct"),
            boot=(_INT, False, "bootstrap replicates of the model MSE"),
            level=(_NUM, False, "the confidence level"),
        ),
        _unmet,
        columns=("council", "age", "sex"),
        default_columns=(("council", "council_code"), ("age", "age"), ("sex", "sex")),
        more_columns=_need_items,
    ),
    Step(
        "self_funders",
        "Self-funders",
        _schema(
            homes=(_TEXT, False, "the input with the survey of care homes"),
            directory=(_TEXT, False, "the input with the care directory (beds by home)"),
            min_homes=(_INT, False, "councils with fewer responding homes get the model estimate"),
            boot=(_INT, False, "bootstrap replicates over homes (0: none)"),
            users=(_TEXT, False, "the input with home-care users by council (estimate and SE)"),
            funded=(_TEXT, False, "cld (the CLD signals) or an input with council-funded home care"),
            level=(_NUM, False, "the confidence level"),
        ),
        _self_funders,
    ),
    Step(
        "workforce",
        "The care workforce",
        _schema(
            returns=(_TEXT, False, "the input with providers' returns (filled posts, vacancies)"),
            register=(_TEXT, False, "the input with the register of locations"),
            cells=((list,), False, "the weighting cells (columns)"),
            pa_recipients=(_NUM, False, "direct-payment recipients"),
            pa_recipients_se=(_NUM, False, "their SE (0: known)"),
            pa_share=(_NUM, False, "the share of recipients employing staff"),
            pa_share_se=(_NUM, False, "its SE"),
            pa_per_employer=(_NUM, False, "personal assistants per employing recipient"),
            pa_per_employer_se=(_NUM, False, "its SE"),
            pa_method=(_TEXT, False, "delta, exact or bootstrap"),
            level=(_NUM, False, "the confidence level"),
        ),
        _workforce,
    ),
    Step(
        "projection",
        "Projected unmet need",
        _schema(
            variant=(_TEXT, False, "no_help or insufficient"),
            to=(_INT, False, "the last year (up to 2043)"),
            method=(_TEXT, False, "delta or bootstrap"),
            level=(_NUM, False, "the confidence level"),
        ),
        _projection,
    ),
)


def measure_schemas() -> dict[str, Schema]:
    return {s.name: s.schema for s in STEPS}
