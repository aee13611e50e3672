"""``carepop project``: demand projections, rates × population projections by age to a future year.

carepop project RATES [--to 2040] [--base 2021] [--projections FILE] [--rate COL]
    [--se COL | --ci-lower COL --ci-upper COL | --rate-known] [--area COL] [--age COL | --ages BAND]
    [--per N] [--method delta|bootstrap] [--boot B] [--seed N] [--level 0.95] [--rate-level 0.95]
    [--format json|csv|table] [--out FILE]

RATES (CSV, Parquet, XLSX, SPSS, Stata, SAS) has one rate per row: a 2023 council code (or none /
``E92000001`` for one England rate applied to every council), an age band (``65-69``, ``85+``) and the
rate with its standard error or interval. The result has councils, complete regions and England by
year: projected population, count, se, ci_lower, ci_upper and the 2020-based variant spread
(:mod:`carepop.measures.projection`). ``--projections`` reads ONS's bulk SNPP CSV (2022-based on
2023 council codes) instead of the bundled 2018-based projections.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.cli.options import READ_ALIASES, EncodingOpt, FormatOpt, InputFormatOpt, SepOpt, read_options
from carepop.cli.output import emit, prepare


class Method(str, Enum):
    delta = "delta"
    bootstrap = "bootstrap"


RatesArg = Annotated[
    Path, typer.Argument(help="Rates by council and/or age band: CSV, Parquet, XLSX, SPSS, Stata, SAS.")
]
LowerOpt = Annotated[str | None, typer.Option(help="The lower end of the rate's interval.", metavar="COL")]
UpperOpt = Annotated[str | None, typer.Option(help="The upper end of the rate's interval.", metavar="COL")]
AgeOpt = Annotated[str, typer.Option(help="The age-band column (65-69, 85+, ...).", metavar="COL")]
AgesOpt = Annotated[str | None, typer.Option(help="The age band of every rate, without --age (e.g. 65+).")]


@command(aliases={**READ_ALIASES, "groups": None, "areas": None, "years": None, "variant": None})
def project(
    rates: RatesArg,
    to: Annotated[int, typer.Option(help="The last year projected.")] = 2040,
    base: Annotated[int, typer.Option(help="The year the Census 2021 counts stand for.")] = 2021,
    projections: Annotated[
        Path | None,
        typer.Option(help="ONS bulk SNPP CSV on 2023 council codes (default: bundled 2018-based SNPP)."),
    ] = None,
    rate: Annotated[str, typer.Option(help="The rate column.", metavar="COL")] = "estimate",
    se: Annotated[str | None, typer.Option(help="The rate's standard-error column.", metavar="COL")] = None,
    ci_lower: LowerOpt = None,
    ci_upper: UpperOpt = None,
    rate_known: Annotated[bool, typer.Option(help="The rates are exact (e.g. census rates).")] = False,
    area: Annotated[str, typer.Option(help="The 2023 council-code column.", metavar="COL")] = "area_code",
    age: AgeOpt = "age_group",
    ages: AgesOpt = None,
    per: Annotated[float, typer.Option(help="The rates are per this many people.")] = 1.0,
    method: Annotated[Method, typer.Option(help="Interval of the counts.")] = Method.delta,
    boot: Annotated[int, typer.Option(help="Bootstrap draws (with --method bootstrap).")] = 2000,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the counts' intervals.")] = 0.95,
    rate_level: Annotated[float, typer.Option(help="Confidence level of the rates' intervals.")] = 0.95,
    format: FormatOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json.")
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Project counts = rate × population by council, region and England to a future year, with
    intervals from the rates and the spread between projection vintages."""
    from carepop.measures.projection import project as run
    from carepop.sources.projections import read_snpp_bulk

    inputs = [(None, rates)] + ([("projections", projections)] if projections else [])
    fmt = prepare(format, out, inputs=inputs, what="the projections")
    table = _read_rates(rates, input_format, encoding, sep)
    frame = read_snpp_bulk(projections) if projections is not None else None
    result = run(
        table,
        to=to,
        base=base,
        rate=rate,
        se=se,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        rate_known=rate_known,
        area=area,
        age=age,
        ages=ages,
        per=per,
        projections=frame,
        method=method.value,
        boot=boot,
        seed=seed,
        level=level,
        rate_level=rate_level,
    )
    emit(
        result.to_pandas(),
        fmt,
        out,
        title="projected counts",
        table=_show,
        wrote=f"wrote {len(result)} rows to {out}",
    )
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


def _show(frame) -> None:
    """The table for people: the key columns, counts to whole people, the year as a label."""
    from carepop.cli.output import print_frame

    cols = ["area_code", "area_name", "year", "count", "ci_lower", "ci_upper", "variant_low", "variant_high"]
    shown = frame[[c for c in cols if c in frame.columns]].copy()
    shown["year"] = shown["year"].astype(str)
    num = [c for c in cols[3:] if c in shown.columns]
    shown[num] = shown[num].round(0)
    print_frame(shown, "projected counts (all columns: --format csv or json)")


def _read_rates(path: Path, input_format: str | None, encoding: str | None, sep: str | None):
    if path.suffix.lower() in (".xlsx", ".xlsm") and input_format is None:
        import pandas as pd

        return pd.read_excel(path, engine="openpyxl")
    from carepop.io import read_data

    return read_data(path, **read_options(input_format, encoding, sep))
