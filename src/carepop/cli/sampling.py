"""``carepop design``: sample size, allocation and selection from the command line.

carepop design size --proportion P --moe M [--relative] [--level L] [--population N]
    [--deff D] [--response-rate R] [--format json|csv|table] [--out FILE]
carepop design allocate FRAME --strata COL --size COL (--n N | --budget C | --target-se E |
    --target-cv CV --mean M) [--method ...] [--sd COL] [--cost COL] [--min-n K] [--max-n K]
    [--format csv|json|table] [--out FILE]
carepop design select FRAME (--n N | --allocation FILE) --method srs|systematic|pps_systematic|pps_wor
    [--size COL] [--strata COL] [--sort COL[,COL]] [--psu COL --per-psu M] [--seed N]
    [--format csv|json|table] [--out FILE]

``--out`` writes .csv, .parquet, .xlsx or .json (the sample also .sav); rows in messages are
1-based rows of the frame file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from carepop.cli.common import App, command
from carepop.cli.options import (
    READ_ALIASES,
    EncodingOpt,
    InputFormatOpt,
    SepOpt,
    read_options,
)
from carepop.cli.optiontext import split_list
from carepop.cli.output import console, emit, prepare
from carepop.core.vocabulary import AllocationMethod, OutputFormat, SelectionMethod
from carepop.errors import CarepopError
from carepop.io.writers import DATA_SUFFIXES

design_app = App(help="Sample size, allocation over strata and selection.")

OutOpt = Annotated[Path | None, typer.Option(help="Write the result here: .csv, .parquet, .xlsx or .json.")]
#: library parameter -> option of `design allocate`
ALLOCATE_ALIASES = {"N_h": "size", "S_h": "sd", "cost_h": "cost", **READ_ALIASES}


@design_app.command()
@command
def size(
    proportion: Annotated[float, typer.Option(help="Expected proportion p.")] = 0.5,
    moe: Annotated[
        float, typer.Option(help="Margin of error (absolute, or relative with --relative).")
    ] = 0.05,
    relative: Annotated[bool, typer.Option(help="The margin of error is relative to p.")] = False,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    population: Annotated[
        float | None, typer.Option(help="Population size (finite population correction).")
    ] = None,
    deff: Annotated[float, typer.Option(help="Expected design effect.")] = 1.0,
    response_rate: Annotated[float, typer.Option(help="Expected response rate.")] = 1.0,
    format: Annotated[
        OutputFormat | None,
        typer.Option(help="How to print the result: json (default), csv or table."),
    ] = None,
    out: OutOpt = None,
) -> None:
    """Respondents needed (and cases to issue) for a proportion to a given precision."""
    from carepop.sampling.size import sample_size_proportion

    fmt = prepare(format, out, default=OutputFormat.json, what="the sample size")
    result = sample_size_proportion(
        proportion,
        moe,
        relative=relative,
        level=level,
        population=population,
        deff=deff,
        response_rate=response_rate,
    )
    record = {k: _plain(v) for k, v in result.items()}
    if fmt == OutputFormat.json:  # one result: a JSON object (keys respondents, issued, ...)
        sys.stdout.write(json.dumps(record) + "\n")
    elif fmt == OutputFormat.table:
        from rich.table import Table

        table = Table(title="Sample size for a proportion")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key, value in record.items():
            table.add_row(key, "–" if value is None else str(value))
        console().print(table)
    else:
        import pandas as pd

        if out is not None and out.suffix.lower() == ".json":
            from carepop.io.writers import write_text_atomic

            write_text_atomic(out, json.dumps(record) + "\n", param="out")
            typer.echo(f"wrote the sample size to {out}", err=True)
            return
        emit(pd.DataFrame([record]), fmt, out, title="sample size", wrote=f"wrote the sample size to {out}")


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and getattr(v, "ndim", 0) == 0:
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


@design_app.command()
@command(aliases=ALLOCATE_ALIASES)
def allocate(
    frame: Annotated[Path, typer.Argument(help="CSV/Parquet with one row per stratum (or per unit).")],
    strata: Annotated[str, typer.Option(help="Stratum column.")],
    size: Annotated[str, typer.Option(help="Population size column (N_h).")],
    n: Annotated[int | None, typer.Option(help="Total sample size.")] = None,
    method: Annotated[
        AllocationMethod, typer.Option(help="Allocation method.")
    ] = AllocationMethod.proportional,
    sd: Annotated[
        str | None, typer.Option(help="Column of stratum standard deviations (Neyman, optimal).")
    ] = None,
    cost: Annotated[str | None, typer.Option(help="Column of per-unit costs (optimal, --budget).")] = None,
    budget: Annotated[
        float | None, typer.Option(help="Total variable cost instead of --n: the largest sample it buys.")
    ] = None,
    target_se: Annotated[
        float | None, typer.Option(help="SE wanted for the stratified mean, instead of --n.")
    ] = None,
    target_cv: Annotated[
        float | None, typer.Option(help="CV wanted for the stratified mean (with --mean), instead of --n.")
    ] = None,
    mean: Annotated[float | None, typer.Option(help="Anticipated population mean, for --target-cv.")] = None,
    min_n: Annotated[int | None, typer.Option(help="Minimum per stratum.")] = None,
    max_n: Annotated[int | None, typer.Option(help="Maximum per stratum.")] = None,
    format: Annotated[
        OutputFormat | None, typer.Option(help="How to print the allocation: csv (default), json or table.")
    ] = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Allocate a sample over strata (a fixed --n, a --budget, or a --target-se / --target-cv),
    with the expected precision per stratum."""
    from carepop.sampling.frames import allocate_frame

    fmt = prepare(format, out, default=OutputFormat.csv, inputs=[(None, frame)], what="the allocation")
    if target_cv is not None:
        if mean is None or target_se is not None:
            raise CarepopError(
                "--target-cv needs --mean (the anticipated population mean) and no --target-se",
                code="bad_option",
                fix="e.g. --target-cv 0.05 --mean 11664181",
            )
        target_se = target_cv * abs(mean)
    table = allocate_frame(
        str(frame),
        strata=strata,
        size=size,
        n=n,
        method=method.value,
        sd=sd,
        cost=cost,
        min_n=min_n,
        max_n=max_n,
        budget=budget,
        target_se=target_se,
        read_options=read_options(input_format, encoding, sep),
    )
    summary = f"n = {table.attrs['n']}, expected SE of the mean {table.attrs['se']:.6g}"
    if "cost" in table.attrs:
        summary += f", cost {table.attrs['cost']:.6g}"
    emit(
        table,
        fmt,
        out,
        title="allocation",
        wrote=f"wrote the allocation over {len(table)} strata to {out}",
    )
    typer.echo(summary, err=True)


@design_app.command()
@command(aliases={"sort_by": "sort", **READ_ALIASES})
def select(
    frame: Annotated[Path, typer.Argument(help="Sampling frame: CSV, Parquet, SPSS, Stata or SAS.")],
    n: Annotated[
        int | None,
        typer.Option(help="Sample size: total (allocated over --strata), or PSUs with --psu."),
    ] = None,
    method: Annotated[SelectionMethod, typer.Option(help="Selection method.")] = SelectionMethod.srs,
    size: Annotated[str | None, typer.Option(help="Size measure column (PPS).")] = None,
    strata: Annotated[str | None, typer.Option(help="Stratum column.")] = None,
    allocation: Annotated[
        Path | None, typer.Option(help="Sizes per stratum: the CSV written by `design allocate`.")
    ] = None,
    sort: Annotated[
        str | None, typer.Option(help="Sort by COL[,COL...] before systematic selection.")
    ] = None,
    psu: Annotated[str | None, typer.Option(help="Two stages: PSU column (PSUs by PPS).")] = None,
    per_psu: Annotated[int | None, typer.Option(help="Two stages: units drawn in each PSU.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (reproducible draws; drawn and printed when not given).")
    ] = None,
    format: Annotated[
        OutputFormat | None, typer.Option(help="How to print the sample: csv (default), json or table.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the sample here: .csv, .parquet, .sav, .xlsx or .json."),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Draw a sample; the output keeps the frame's columns and adds inclusion_probability and
    design_weight."""
    from carepop.sampling.frames import select_frame

    fmt = prepare(
        format,
        out,
        default=OutputFormat.csv,
        suffixes=DATA_SUFFIXES,
        inputs=[(None, frame), ("allocation", allocation)],
        what="the sample",
    )
    sort_by = split_list(sort, "sort")
    if seed is None:  # draw one, and say which, so that the sample can be drawn again
        import secrets

        seed = secrets.randbelow(2**31)
        typer.echo(f"note: random seed {seed} (give --seed {seed} to draw the same sample)", err=True)
    sample = select_frame(
        str(frame),
        n=n,
        method=method.value,
        size=size,
        strata=strata,
        seed=seed,
        sort_by=sort_by,
        allocation=None if allocation is None else str(allocation),
        psu=psu,
        per_psu=per_psu,
        read_options=read_options(input_format, encoding, sep),
    )
    emit(
        sample,
        fmt,
        out,
        title="sample",
        wrote=f"wrote {len(sample)} sampled units to {out}",
        value_labels=sample.attrs.get("value_labels"),
        column_labels=sample.attrs.get("column_labels"),
    )
