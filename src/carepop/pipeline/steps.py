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
    from carepop.measures.hidden import hidden_carers

    if "carers" not in ctx.raw:
        raise CarepopError(
            "Hidden carers need the carers measure.",
            code="bad_config",
            fix="add a [measures.carers] table before [measures.hidden_carers]",
        )
    known = spec.get("known", "gp")
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


def _schema(**keys: tuple[tuple[type, ...], bool, str]) -> Schema:
    return dict(keys)


_TEXT, _INT, _NUM, _BOOL = (str,), (int,), (int, float), (bool,)

STEPS: tuple[Step, ...] = (
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
            known=(_TEXT, False, "gp (GP-registered carers, bundled) or the name of an input with counts"),
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
