"""Steps about people: unpaid and hidden carers, unmet need and its projection — thin adapters
from a ``[measures.NAME]`` table to the library call (:mod:`carepop.measures`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.pipeline.step_types import Context, Protect, Section, StepResult


def need_items(spec: dict[str, Any]) -> list[str]:
    """The items a definition of unmet need reads: each activity and its help item."""
    from carepop.measures.unmet_need import get_definition

    items = get_definition(spec.get("definition", "hse")).items
    return [c for item in items for c in (item, f"{item}_help")]


def carers_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
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


def hidden_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
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
        return _hidden_result(result, linked=("cld_counts", "carers_supported", "known"))
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


def _hidden_result(result: Any, linked: tuple[str, str, str] | None = None) -> StepResult:
    return StepResult(
        tables={"hidden_carers": result.to_pandas()},
        protect={
            "hidden_carers": Protect(
                # GP-registered carers are apportioned from practices to councils (not whole
                # numbers): rounded as estimates of people; carers the councils support are counts,
                # shown as cld_counts publishes them (linked)
                totals=(
                    "carers",
                    "carers_lower",
                    "carers_upper",
                    *(() if linked else ("known",)),
                    "hidden",
                    "hidden_lower",
                    "hidden_upper",
                ),
                rates=("share_known", "share_known_lower", "share_known_upper"),
                linked=linked,
                derived=(
                    "hidden",
                    "hidden_lower",
                    "hidden_upper",
                    "share_known",
                    "share_known_lower",
                    "share_known_upper",
                ),
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
_UNMET_LABEL = {"no_help": "with no help", "insufficient": "with no help or not enough help"}


#: the CLD signals shown beside unmet need: the waits (requests that led to no service are published
#: by council with their regions' totals in ``cld_counts``, protected together; repeating them here,
#: protected differently, could undo the secondary suppression there)
UNMET_SIGNALS = (
    "wait_request_to_assessment_median_days",
    "wait_request_to_assessment_n",
    "wait_request_to_service_median_days",
    "wait_request_to_service_n",
)


def unmet_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
    from carepop.measures.unmet_need import unmet_need_by_council

    survey = ctx.survey(spec["survey"])
    signals = ctx.raw.get("cld_signals")
    if signals is not None:  # the CLD signals beside unmet need (protected as counts and waits below)
        signals = signals[["council_code", *UNMET_SIGNALS]]
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
    beside = signals is not None
    waits = tuple(c for c in UNMET_SIGNALS if c.endswith("_median_days"))
    protect = Protect(
        totals=("population", "count", "count_lower", "count_upper", "synthetic_count", "synthetic_count_se"),
        rates=(*direct, "expected", "synthetic", "synthetic_se", "estimate", "ci_lower", "ci_upper"),
        counts=tuple(c for c in UNMET_SIGNALS if not c.endswith("_days")) if beside else (),
        base="n",
        base_columns=direct,
        withheld=tuple((w, w.replace("_median_days", "_n")) for w in waits) if beside else (),
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


def projection_step(ctx: Context, spec: dict[str, Any]) -> StepResult:
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
