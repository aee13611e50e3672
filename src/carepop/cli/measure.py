"""``carepop measure``: published measures by council from a carers survey.

carepop measure carers DATA [design options] [weighting options] --carer COL [--council COL]
    [--category VALUE] [--definition TEXT] [--benchmark region|england|none] [--hours COL] [--boot B]
    [--model-seed N]
    [--level 0.95] [--format json|csv|table] [--out FILE]
carepop measure hidden-carers DATA ... (as carers) [--known FILE --known-count COL [--known-area COL]
    | --known-cld EVENTS]
    [--source TEXT]

DATA is the survey (one row per respondent) with a 2023 council code per row. ``carers`` gives each
council's direct estimate, the small-area model estimate with its interval, counts, the census
count and the survey/census ratio, plus region and England rows (:mod:`carepop.measures.carers`).
``hidden-carers`` subtracts the carers known to services: GP-registered carers by default, or the
counts in ``--known`` (:mod:`carepop.measures.hidden`).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepop.cli.common import App, command
from carepop.cli.options import (
    READ_ALIASES,
    DataArg,
    EncodingOpt,
    FormatOpt,
    InputFormatOpt,
    SepOpt,
    margin_inputs,
    read_options,
    survey_options,
)
from carepop.cli.output import emit, prepare
from carepop.core.design import Design
from carepop.errors import CarepopError

if TYPE_CHECKING:
    from carepop.weighting.plan import WeightingPlan

measure_app = App(help="Measures by council: carers and hidden carers, each with an interval.")


class BenchmarkTo(str, Enum):
    region = "region"
    england = "england"
    none = "none"


CarerOpt = Annotated[str, typer.Option(help="The yes/no carer column.")]
CouncilOpt = Annotated[str, typer.Option(help="The column with 2023 council codes.")]
CategoryOpt = Annotated[str, typer.Option(help="The value of --carer that means 'carer'.")]
DefinitionOpt = Annotated[str, typer.Option(help="What the carer column measures (kept in every row).")]
BenchmarkOpt = Annotated[BenchmarkTo, typer.Option(help="Benchmark the council estimates to.")]
OutOpt = Annotated[
    Path | None, typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json.")
]


def _carers(
    data,
    design,
    weighting,
    carer,
    council,
    category,
    definition,
    benchmark,
    boot,
    seed,
    level,
    fmt_args,
    hours=None,
):
    from carepop.io import read_data
    from carepop.measures.carers import carers_by_council, carers_by_hours
    from carepop.weighting.plan import apply_weighting

    df = read_data(data, **read_options(*fmt_args))
    survey = design.survey(df)
    if not weighting.empty:
        survey, _ = apply_weighting(survey, weighting)
    if council not in survey.columns:
        raise CarepopError(
            f"The data have no column {council!r}.",
            code="unknown_column",
            column=council,
            fix="name the council column with --council COL",
        )
    options = dict(
        council=council,
        benchmark=None if benchmark == BenchmarkTo.none else benchmark.value,
        boot=boot,
        seed=seed,
        level=level,
    )
    if hours is not None:
        if hours not in survey.columns:
            raise CarepopError(
                f"The data have no column {hours!r}.",
                code="unknown_column",
                column=hours,
                fix="name the hours-band column (census bands 1-5) with --hours COL",
            )
        return carers_by_hours(survey, hours=hours, **options)
    if carer is None:
        raise CarepopError(
            "Which column says who is a carer?",
            code="missing_option",
            fix="name the yes/no carer column with --carer COL (or the hours band with --hours COL)",
        )
    return carers_by_council(survey, carer=carer, category=category, definition=definition, **options)


@measure_app.command()
@command(aliases=READ_ALIASES)
@survey_options
def carers(
    data: DataArg,
    design: Design,
    weighting: WeightingPlan,
    carer: Annotated[
        str | None, typer.Option(help="The yes/no carer column (not needed with --hours).")
    ] = None,
    council: CouncilOpt = "council_code",
    category: CategoryOpt = "1",
    definition: DefinitionOpt = "census question (unpaid care to anyone, any hours)",
    benchmark: BenchmarkOpt = BenchmarkTo.region,
    hours: Annotated[
        str | None,
        typer.Option(
            help="Estimate by census hours band instead: the column with each carer's band "
            "(1 = 9 or less, 2 = 10-19, 3 = 20-34, 4 = 35-49, 5 = 50 or more hours a week)."
        ),
    ] = None,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates of the model MSE.")] = 200,
    model_seed: Annotated[int | None, typer.Option(help="Random seed of the model's MSE bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Carers by council (with regions and England): direct, model and census, each with an interval.

    With --hours, one estimate per census hours band (TS039), each beside the band's census count."""
    fmt = prepare(format, out, inputs=[(None, data), *margin_inputs(weighting)], what="the carers by council")
    result = _carers(
        data,
        design,
        weighting,
        carer,
        council,
        category,
        definition,
        benchmark,
        boot,
        model_seed,
        level,
        (input_format, encoding, sep),
        hours=hours,
    )
    emit(result.to_pandas(), fmt, out, title="carers by council", wrote=f"wrote {len(result)} rows to {out}")
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


@measure_app.command("hidden-carers")
@command(aliases=READ_ALIASES)
@survey_options
def hidden_carers_command(
    data: DataArg,
    design: Design,
    weighting: WeightingPlan,
    carer: CarerOpt,
    council: CouncilOpt = "council_code",
    category: CategoryOpt = "1",
    definition: DefinitionOpt = "census question (unpaid care to anyone, any hours)",
    benchmark: BenchmarkOpt = BenchmarkTo.region,
    known: Annotated[
        Path | None, typer.Option(help="Known carers by area (default: GP-registered carers).")
    ] = None,
    known_cld: Annotated[
        Path | None,
        typer.Option(help="Known carers = carers supported in this CLD event file (instead of --known)."),
    ] = None,
    known_count: Annotated[str, typer.Option(help="The count column of --known.")] = "known",
    known_area: Annotated[str, typer.Option(help="The area-code column of --known.")] = "area_code",
    source: Annotated[str | None, typer.Option(help="What --known counts (kept in every row).")] = None,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates of the model MSE.")] = 200,
    model_seed: Annotated[int | None, typer.Option(help="Random seed of the model's MSE bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Hidden carers by council: estimated carers minus carers known to services, and the share known."""
    from carepop.io import read_data
    from carepop.measures.hidden import hidden_carers

    inputs = [(None, data), *margin_inputs(weighting)] + ([("known", known)] if known else [])
    inputs += [("known_cld", known_cld)] if known_cld else []
    fmt = prepare(format, out, inputs=inputs, what="the hidden carers")
    counts = None
    if known is not None and known_cld is not None:
        raise CarepopError(
            "Give one source of known carers.",
            code="bad_option",
            fix="give --known FILE or --known-cld EVENTS, not both",
        )
    if known_cld is not None:
        from carepop.measures.hidden import with_region_totals
        from carepop.sources.cld.signals import signals

        supported = signals(known_cld).set_index("council_code")["carers_supported"]
        counts = with_region_totals(supported)
        source = source or f"carers supported in client-level data ({known_cld.name})"
    if known is not None:
        table = read_data(known, encoding=encoding, sep=sep)
        for col, flag in ((known_count, "--known-count"), (known_area, "--known-area")):
            if col not in table.columns:
                raise CarepopError(
                    f"The file {str(known)!r} has no column {col!r}.",
                    code="unknown_column",
                    column=col,
                    expected=list(map(str, table.columns)),
                    fix=f"name it with {flag} COL",
                )
        counts = table.set_index(table[known_area].astype(str))[known_count]
    result = _carers(
        data,
        design,
        weighting,
        carer,
        council,
        category,
        definition,
        benchmark,
        boot,
        model_seed,
        level,
        (input_format, encoding, sep),
    )
    kwargs = {"source": source} if source else ({"source": f"known carers from {known}"} if known else {})
    hidden = hidden_carers(result, counts, **kwargs)
    emit(hidden.to_pandas(), fmt, out, title="hidden carers", wrote=f"wrote {len(hidden)} rows to {out}")
    for note in hidden.notes:
        typer.echo(f"note: {note}", err=True)
