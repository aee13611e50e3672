"""``carepop sae``: small-area estimation from direct estimates (area level) or unit data.

carepop sae fh DATA --area A --direct Y (--se S | --variance V) [--areas FILE|area [--areas-key COL]]
    [--covariates x1,x2] [--categorical c1] [--no-intercept] [--method reml|ml|fh]
    [--proximity FILE|councils] [--mse analytic|bootstrap [--boot B] [--seed N]] [--level 0.95]
    [--format json|csv|table] [--out FILE.csv|.parquet|.xlsx|.json]

DATA is a table of direct estimates, one row per area (``carepop estimate --by AREA --out d.csv``
writes one). ``--areas`` joins an area table with the covariates: a file, or ``area`` for carepop's
bundled table of the 309 English districts (census 2021 and 2011, IMD 2019, GP carers; key
``la_code``). JSON output carries the areas and the fit (variance components, coefficients with
SEs, log-likelihood, AIC/BIC); CSV and table output the areas. Bad input prints ``error: ...``
naming the areas and exits with status 2, writing nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import App, command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, esc, prepare
from carepop.core.vocabulary import MSEMethod, OutputFormat, SAEFitMethod
from carepop.errors import CarepopError

sae_app = App(help="Small-area estimation: Fay–Herriot (plain and spatial) and unit-level models.")

AreaOpt = Annotated[str, typer.Option(help="The area column (the same name in DATA and --areas).")]
OutOpt = Annotated[
    Path | None,
    typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json."),
]


def _read(path: Path, encoding: str | None, sep: str | None):
    from carepop.io import read_data

    return read_data(path, encoding=encoding, sep=sep)


def _area_table(areas: str | None, key: str | None, area: str, encoding: str | None, sep: str | None):
    """The area table named by ``--areas`` with its key column named as ``--area``."""
    if areas is None:
        return None
    from carepop.sources.tables import is_table_name, load_table

    if is_table_name(areas):
        frame = load_table(areas, None)
        key = key or "la_code"
    else:
        frame = _read(Path(areas), encoding, sep)
        key = key or area
    if key not in frame.columns:
        raise CarepopError(
            f"The area table {areas!r} has no column {key!r}.",
            code="unknown_column",
            column=key,
            expected=list(map(str, frame.columns)),
            fix="name its area column with --areas-key COL",
        )
    if key != area:
        if area in frame.columns:
            frame = frame.drop(columns=[area])
        frame = frame.rename(columns={key: area})
    return frame


def _print_fit(result) -> None:
    from rich.table import Table

    from carepop.cli.output import console, print_frame

    fit = result.fit
    comps = ", ".join(f"{k} = {v:.6g}" for k, v in fit.variance_components.items())
    print_frame(result.to_pandas(), f"{fit.model} ({fit.method}); MSE {result.mse_method}")
    tab = Table(
        title=esc(f"fit: {comps}; log-likelihood {fit.loglik:.6g}, AIC {fit.aic:.6g}, BIC {fit.bic:.6g}")
    )
    for c in ("term", "estimate", "se", "z", "p_value"):
        tab.add_column(c, justify="left" if c == "term" else "right")
    for rec in fit.coefficients.itertuples(index=False):
        tab.add_row(esc(rec[0]), *[f"{v:.6g}" for v in rec[1:]])
    console().print(tab)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


def _emit_result(result, fmt: OutputFormat | None, out: Path | None) -> None:
    from carepop.io.writers import write_text_atomic

    payload = result.to_dict()
    if out is not None and out.suffix.lower() == ".json":
        write_text_atomic(
            out, json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=1) + "\n", param="out"
        )
        typer.echo(f"wrote {len(result)} area(s) and the fit to {out}", err=True)
    elif fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=1) + "\n")
    else:
        emit(
            result.to_pandas(),
            fmt,
            out,
            title="small-area estimates",
            table=lambda _frame: _print_fit(result),
            wrote=f"wrote {len(result)} area(s) to {out}",
        )


@sae_app.command()
@command
def fh(
    data: Annotated[Path, typer.Argument(help="Direct estimates: one row per area.")],
    area: AreaOpt,
    direct: Annotated[str, typer.Option(help="The direct estimate column.")],
    se: Annotated[
        str | None, typer.Option(help="The column of the direct estimates' standard errors.")
    ] = None,
    variance: Annotated[
        str | None, typer.Option(help="The column of the direct estimates' variances (instead of --se).")
    ] = None,
    areas: Annotated[
        str | None,
        typer.Option(
            help="Area table with the covariates: a file, or 'area' (carepop's 309 English districts)."
        ),
    ] = None,
    areas_key: Annotated[
        str | None, typer.Option(help="The area column of --areas when named differently (default: --area).")
    ] = None,
    covariates: Annotated[str | None, typer.Option(help="Numeric covariates, comma-separated.")] = None,
    categorical: Annotated[str | None, typer.Option(help="Categorical covariates, comma-separated.")] = None,
    intercept: Annotated[
        bool, typer.Option("--intercept/--no-intercept", help="Include an intercept.")
    ] = True,
    method: Annotated[
        SAEFitMethod, typer.Option(help="Fit by REML, ML or the FH moment method.")
    ] = SAEFitMethod.reml,
    proximity: Annotated[
        str | None,
        typer.Option(
            help="Spatial model: a from,to,weight file, or 'councils' (adjacency of English councils)."
        ),
    ] = None,
    mse: Annotated[
        MSEMethod, typer.Option(help="MSE by the analytic formula or a parametric bootstrap.")
    ] = MSEMethod.analytic,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates (--mse bootstrap).")] = 200,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Fay–Herriot area-level model: EBLUP, MSE and intervals by area (R sae::mseFH / mseSFH, emdi::fh)."""
    from carepop.sae.area_level import fay_herriot

    inputs = [(None, data)]
    if areas is not None and Path(areas).suffix:
        inputs.append(("areas", Path(areas)))
    if proximity is not None and proximity != "councils":
        inputs.append(("proximity", Path(proximity)))
    fmt = prepare(format, out, inputs=inputs, what="the small-area estimates")
    if boot < 1:
        raise CarepopError(f"--boot {boot} must be at least 1.", code="bad_option", fix="e.g. --boot 200")
    table = _read(data, encoding, sep)
    area_table = _area_table(areas, areas_key, area, encoding, sep)
    prox = None
    if proximity is not None:
        prox = _proximity(proximity, encoding, sep)
    result = fay_herriot(
        table,
        area_table,
        area=area,
        covariates=split_list(covariates, "covariates") or (),
        categorical=split_list(categorical, "categorical") or (),
        intercept=intercept,
        estimate=direct,
        se=se,
        variance=variance,
        method=method.value,
        mse=mse.value,
        boot=boot,
        seed=seed,
        proximity=prox,
        level=level,
    )
    _emit_result(result, fmt, out)


def _proximity(proximity: str, encoding: str | None, sep: str | None):
    if proximity == "councils":
        return "councils"
    return _read(Path(proximity), encoding, sep)
