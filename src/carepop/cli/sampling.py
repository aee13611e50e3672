"""``carepop design``: sample size, allocation and selection from the command line.

carepop design size --proportion P --moe M [--relative] [--level L] [--population N]
    [--deff D] [--response-rate R] [--format json|table]
carepop design allocate FRAME --strata COL --size COL (--n N | --budget C | --target-se E |
    --target-cv CV --mean M) [--method ...] [--sd COL] [--cost COL] [--min-n K] [--max-n K] [--out FILE]
carepop design select FRAME (--n N | --allocation FILE) --method srs|systematic|pps_systematic|pps_wor
    [--size COL] [--strata COL] [--sort COL[,COL]] [--psu COL --per-psu M] [--seed N] [--out FILE]
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import fail as _fail
from carepop.errors import CarepopError
from carepop.io.writers import write_frame_atomic as _write_frame_atomic

design_app = typer.Typer(no_args_is_help=True, help="Sample size, allocation over strata and selection.")


class SelectMethod(str, Enum):
    srs = "srs"
    systematic = "systematic"
    pps_systematic = "pps_systematic"
    pps_wor = "pps_wor"


class AllocMethod(str, Enum):
    equal = "equal"
    proportional = "proportional"
    neyman = "neyman"
    optimal = "optimal"
    power = "power"


@design_app.command()
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
    format: Annotated[str, typer.Option(help="json or table.")] = "json",
) -> None:
    """Respondents needed (and cases to issue) for a proportion to a given precision."""
    from carepop.sampling.size import sample_size_proportion

    try:
        result = sample_size_proportion(
            proportion,
            moe,
            relative=relative,
            level=level,
            population=population,
            deff=deff,
            response_rate=response_rate,
        )
    except CarepopError as err:
        _fail(err)
        return
    if format == "json":
        sys.stdout.write(json.dumps(result, default=float) + "\n")
    else:
        for key, value in result.items():
            typer.echo(f"{key:>14}: {value}")


@design_app.command()
def allocate(
    frame: Annotated[Path, typer.Argument(help="CSV/Parquet with one row per stratum (or per unit).")],
    strata: Annotated[str, typer.Option(help="Stratum column.")],
    size: Annotated[str, typer.Option(help="Population size column (N_h).")],
    n: Annotated[int | None, typer.Option(help="Total sample size.")] = None,
    method: Annotated[AllocMethod, typer.Option(help="Allocation method.")] = AllocMethod.proportional,
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
    out: Annotated[Path | None, typer.Option(help="Write the allocation (CSV).")] = None,
) -> None:
    """Allocate a sample over strata (a fixed --n, a --budget, or a --target-se / --target-cv),
    with the expected precision per stratum."""
    from carepop.sampling.frames import allocate_frame

    try:
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
        )
    except CarepopError as err:
        _fail(err)
        return
    summary = f"n = {table.attrs['n']}, expected SE of the mean {table.attrs['se']:.6g}"
    if "cost" in table.attrs:
        summary += f", cost {table.attrs['cost']:.6g}"
    if out is None:
        sys.stdout.write(table.to_csv(index=False))
    else:
        _write_frame_atomic(out, table, {})
        typer.echo(f"wrote the allocation over {len(table)} strata to {out}", err=True)
    typer.echo(summary, err=True)


@design_app.command()
def select(
    frame: Annotated[Path, typer.Argument(help="Sampling frame: CSV or Parquet.")],
    n: Annotated[
        int | None,
        typer.Option(help="Sample size: total (allocated over --strata), or PSUs with --psu."),
    ] = None,
    method: Annotated[SelectMethod, typer.Option(help="Selection method.")] = SelectMethod.srs,
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
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible draws).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the sample (CSV, Parquet or .sav).")] = None,
) -> None:
    """Draw a sample; the output keeps the frame's columns and adds inclusion_probability and
    design_weight."""
    from carepop.sampling.frames import select_frame

    sort_by = [c.strip() for c in sort.split(",") if c.strip()] if sort else None
    try:
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
        )
    except CarepopError as err:
        _fail(err)
        return
    if out is None:
        sys.stdout.write(sample.to_csv(index=False))
    else:
        _write_frame_atomic(out, sample, {})
        typer.echo(f"wrote {len(sample)} sampled units to {out}", err=True)
