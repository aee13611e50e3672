"""``carepop weight``: weight a survey and write the data with the new weight and replicates.

carepop weight DATA --out FILE.csv|.parquet|.sav|.xlsx|.json [design options] [weighting options]
    [--weight-column NAME] [--encoding ENC] [--sep SEP] [--input-format FORMAT]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepop.cli.common import command
from carepop.cli.options import (
    READ_ALIASES,
    DataArg,
    EncodingOpt,
    InputFormatOpt,
    SepOpt,
    margin_inputs,
    read_options,
    survey_options,
)
from carepop.core.design import Design
from carepop.errors import CarepopError
from carepop.io.writers import DATA_SUFFIXES, check_output, write_table_atomic

if TYPE_CHECKING:
    from carepop.weighting.plan import WeightingPlan


@command(aliases={"path": "out", **READ_ALIASES})
@survey_options
def weight(
    data: DataArg,
    out: Annotated[
        Path,
        typer.Option(
            help="Write the weighted data here: .csv, .parquet, .sav (with labels), .xlsx or .json."
        ),
    ],
    design: Design,
    weighting: WeightingPlan,
    weight_column: Annotated[str, typer.Option(help="Name of the new weight column.")] = "weight_final",
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Weight a survey (non-response, replicates, post-stratify, rake, calibrate, trim) and write
    the data with the new weight and replicate columns."""
    from carepop.io import read_data
    from carepop.weighting.plan import apply_weighting

    check_output(
        out,
        suffixes=DATA_SUFFIXES,
        param="out",
        inputs=[(None, data), *margin_inputs(weighting)],
        what="the weighted data",
    )
    if weighting.empty:
        raise CarepopError(
            "No weighting step asked for.",
            code="bad_option",
            fix="give e.g. --rake VAR=FILE, --poststratify VAR=FILE or --replicates jk1",
        )
    df = read_data(data, **read_options(input_format, encoding, sep))
    survey = design.survey(df)
    weighted, reports = apply_weighting(survey, weighting)
    frame = weighted.data  # with the replicate-weight columns as weighted, for a replicate design
    frame[weight_column] = weighted.weights
    if weighted.weight not in (weight_column, design.weight) and weighted.weight in frame.columns:
        frame = frame.drop(columns=weighted.weight)
    write_table_atomic(out, frame, weighted.value_labels, param="out")
    for report in reports:
        typer.echo(report.to_string(index=False), err=True)
    typer.echo(f"wrote {len(frame)} rows with weight {weight_column!r} to {out}", err=True)
