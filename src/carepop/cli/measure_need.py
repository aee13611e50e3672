"""``carepop measure unmet-need``: unmet need for care by council, region and England.

carepop measure unmet-need DATA [design options] [weighting options] [--council COL] [--age COL]
    [--sex COL] [--definition hse|hse_iadl|ageuk|ageuk65|adults] [--variant no_help|insufficient]
    [--model fay_herriot|synthetic|direct] [--age-bands 65-74,75-84,85+] [--signals FILE]
    [--boot B] [--model-seed N] [--level 0.95] [--format json|csv|table] [--out FILE]

DATA is a survey answering the self-funders / needs instrument (its ADL and IADL difficulty and help
items, or its derived unmet-need variables) with a 2023 council code, an age and a sex per row. The
result has, per variant, council, region and England: the direct prevalence, the synthetic rate
(region × age × sex rates on the council's census population), the published estimate (``--model``)
and counts with intervals (:mod:`carepop.measures.unmet_need`). ``--signals`` puts the columns of a
table keyed by ``council_code`` (e.g. client-level data: requests with no service, waits) beside
the council rows, unchanged.

This module registers nothing itself: ``carepop.cli.main`` adds the command to ``measure``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepop.cli.common import command
from carepop.cli.measure import OutOpt
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


class DefinitionName(str, Enum):
    hse = "hse"
    hse_iadl = "hse_iadl"
    ageuk = "ageuk"
    ageuk65 = "ageuk65"
    adults = "adults"


class Variant(str, Enum):
    no_help = "no_help"
    insufficient = "insufficient"


class Model(str, Enum):
    fay_herriot = "fay_herriot"
    synthetic = "synthetic"
    direct = "direct"


def parse_age_bands(text: str) -> tuple[tuple[int, int | None], ...]:
    """``"65-74,75-84,85+"`` as ``((65, 74), (75, 84), (85, None))``."""
    out: list[tuple[int, int | None]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            if part.endswith("+"):
                out.append((int(part[:-1]), None))
            else:
                lo, hi = part.split("-")
                out.append((int(lo), int(hi)))
        except ValueError:
            raise CarepopError(
                f"Cannot read the age band {part!r}.",
                code="bad_option",
                got=part,
                expected="bands like 65-74,75-84,85+",
                fix="give --age-bands as comma-separated LO-HI bands, the last may be LO+",
            ) from None
    return tuple(out)


@command(aliases={**READ_ALIASES, "seed": "model_seed", "variants": "variant"})
@survey_options
def unmet_need(
    data: DataArg,
    design: Design,
    weighting: WeightingPlan,
    council: Annotated[str, typer.Option(help="The column with 2023 council codes.")] = "council_code",
    age: Annotated[str, typer.Option(help="The column with age in years.")] = "age",
    sex: Annotated[str, typer.Option(help="The column with sex (1/2 or Female/Male).")] = "sex",
    definition: Annotated[
        DefinitionName, typer.Option(help="Which definition of unmet need (ages and activities).")
    ] = DefinitionName.hse,
    variant: Annotated[
        list[Variant] | None, typer.Option(help="no_help and/or insufficient (default both).")
    ] = None,
    model: Annotated[Model, typer.Option(help="What the published estimate is.")] = Model.fay_herriot,
    age_bands: Annotated[
        str | None, typer.Option(help="Age bands, e.g. 65-74,75-84,85+ (default: the definition's).")
    ] = None,
    signals: Annotated[
        Path | None, typer.Option(help="A table keyed by council_code to put beside the council rows.")
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
    """Unmet need for care by council (with regions and England): prevalence and counts, with intervals."""
    from carepop.io import read_data
    from carepop.measures.unmet_need import unmet_need_by_council
    from carepop.weighting.plan import apply_weighting

    inputs = [(None, data), *margin_inputs(weighting)] + ([("signals", signals)] if signals else [])
    fmt = prepare(format, out, inputs=inputs, what="the unmet need by council")
    bands = parse_age_bands(age_bands) if age_bands else None
    df = read_data(data, **read_options(input_format, encoding, sep))
    survey = design.survey(df)
    if not weighting.empty:
        survey, _ = apply_weighting(survey, weighting)
    sig = read_data(signals, encoding=encoding, sep=sep) if signals is not None else None
    if sig is not None and "council_code" in sig.columns:
        sig = sig.astype({"council_code": str})
    result = unmet_need_by_council(
        survey,
        council=council,
        age=age,
        sex=sex,
        definition=definition.value,
        variants=tuple(v.value for v in variant) if variant else ("no_help", "insufficient"),
        age_bands=bands,
        model=model.value,
        signals=sig,
        boot=boot,
        seed=model_seed,
        level=level,
    )
    emit(
        result.to_pandas(),
        fmt,
        out,
        title="unmet need by council",
        wrote=f"wrote {len(result)} rows to {out}",
    )
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
