"""``carepop sae``: small-area estimation from direct estimates (area level) or unit data.

carepop sae fh DATA --area A --direct Y (--se S | --variance V) [--areas FILE|area [--areas-key COL]]
    [--covariates x1,x2] [--categorical c1] [--no-intercept] [--method reml|ml|fh]
    [--smooth none|proportion|gvf [--sample-size COL]] [--proximity FILE|councils]
    [--transform none|arcsin|logit|log [--n-eff COL]]
    [--benchmark NUMBER|FILE | --benchmark-to england|region] [--benchmark-by COL] [--sizes COL]
    [--benchmark-method ratio|additive|mse-adjusted]
    [--mse analytic|bootstrap [--boot B] [--seed N]] [--level 0.95]
    [--format json|csv|table] [--out FILE.csv|.parquet|.xlsx|.json]

DATA is a table of direct estimates, one row per area (``carepop estimate --by AREA --out d.csv``
writes one). ``--areas`` joins an area table with the covariates: a file, or ``area`` for carepop's
bundled table of the 309 English districts (census 2021 and 2011, IMD 2019, GP carers; key
``la_code``). JSON output carries the areas and the fit (variance components, coefficients with
SEs, log-likelihood, AIC/BIC); CSV and table output the areas. Bad input prints ``error: ...``
naming the areas and exits with status 2, writing nothing.

carepop sae bhf SAMPLE --area A --y Y --covariates x1,x2 --pop-means FILE --pop-size COL
    [--mse analytic|bootstrap [--boot B] [--seed N]] [--level 0.95] [--format ...] [--out FILE]
carepop sae ebp SAMPLE --area A --y Y --covariates x1,x2 --population FILE --count COL
    [--n-agq K] [--boot B] [--seed N] [--level 0.95] [--format ...] [--out FILE]

Unit-level models: SAMPLE has one row per respondent. For ``bhf`` the FILE has one row per area with
the population means of the covariates (same names) and the population size; for ``ebp`` (a 0/1
outcome) covariate patterns by area with their population counts.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import App, command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, esc, prepare
from carepop.core.vocabulary import (
    BenchmarkMethod,
    MSEMethod,
    OutputFormat,
    SAEFitMethod,
    SAETransform,
    VarianceSmoothing,
)
from carepop.errors import CarepopError


class BenchmarkLevel(str, Enum):
    england = "england"
    region = "region"


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
        key = key or ("council_code" if areas.lower() == "council" else "la_code")
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
            help="Area table with covariates: a file, 'area' (309 districts) or 'council' (153 councils)."
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
    smooth: Annotated[
        VarianceSmoothing,
        typer.Option(help="Smooth the sampling variances: proportion (pooled p(1-p)deff/n) or gvf."),
    ] = VarianceSmoothing.none,
    sample_size: Annotated[
        str | None, typer.Option(help="Respondent count column (--smooth; default n).")
    ] = None,
    transform: Annotated[
        SAETransform, typer.Option(help="Fit on the arcsin / logit (proportions) or log scale.")
    ] = SAETransform.none,
    n_eff: Annotated[
        str | None, typer.Option(help="Effective sample size column (--transform arcsin).")
    ] = None,
    benchmark: Annotated[
        str | None,
        typer.Option(help="Benchmark to a number, or to a CSV of targets (columns: group, target)."),
    ] = None,
    benchmark_to: Annotated[
        BenchmarkLevel | None,
        typer.Option(help="Benchmark to the direct estimates' aggregate for England or each region."),
    ] = None,
    benchmark_by: Annotated[
        str | None, typer.Option(help="The area-table column with the benchmark groups.")
    ] = None,
    benchmark_method: Annotated[
        BenchmarkMethod, typer.Option(help="ratio, additive or mse-adjusted.")
    ] = BenchmarkMethod.ratio,
    sizes: Annotated[
        str | None, typer.Option(help="Population size column (benchmark shares of means).")
    ] = None,
    mse: Annotated[
        MSEMethod, typer.Option(help="Analytic MSE or parametric bootstrap.")
    ] = MSEMethod.analytic,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates (--mse bootstrap).")] = 200,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    plots: Annotated[
        Path | None, typer.Option(help="Write the diagnostic plots (PNG) into this folder.")
    ] = None,
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
    _check_boot(boot)
    if benchmark is not None and benchmark_to is not None:
        raise CarepopError(
            "Give --benchmark or --benchmark-to, not both.",
            code="bad_option",
            fix="--benchmark for known targets, --benchmark-to for the direct estimates' aggregate",
        )
    table = _read(data, encoding, sep)
    area_table = _area_table(areas, areas_key, area, encoding, sep)
    prox = None
    if proximity is not None:
        prox = _proximity(proximity, encoding, sep)
    target, benchmark_by, area_table, table = _benchmark_plan(
        benchmark, benchmark_to, benchmark_by, area_table, table, area, encoding, sep
    )
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
        transform=transform.value,
        n_eff=n_eff,
        smooth=smooth.value,
        sample_size=sample_size,
        benchmark=target,
        benchmark_by=benchmark_by,
        sizes=sizes,
        benchmark_method=benchmark_method.value,
        level=level,
    )
    _emit_result(result, fmt, out)
    if plots is not None:
        _write_plots(result, plots)


def _write_plots(result, folder: Path) -> None:
    """Each diagnostic figure as ``folder/<name>.png`` (written atomically)."""
    from carepop.io.writers import write_atomic_with

    figures = result.plots()
    if not figures:
        typer.echo("note: this model has no diagnostic plots", err=True)
    for name, fig in figures.items():
        write_atomic_with(
            folder / f"{name}.png", lambda tmp, f=fig: f.savefig(tmp, format="png", dpi=120), param="plots"
        )
    if figures:
        typer.echo(f"wrote {len(figures)} plot(s) to {folder}", err=True)


def _benchmark_plan(benchmark, benchmark_to, by, area_table, table, area, encoding, sep):
    """``(target, by, area_table, table)`` for :func:`fay_herriot` from the benchmark options."""
    if benchmark_to is not None:
        if benchmark_to == BenchmarkLevel.england:
            return "aggregate", None, area_table, table
        return ("aggregate", "region_code", *_with_regions(area_table, table, area))
    if benchmark is None:
        return None, by, area_table, table
    try:
        return float(benchmark), by, area_table, table
    except ValueError:
        pass
    targets = _read(Path(benchmark), encoding, sep)
    if "target" not in targets.columns:
        raise CarepopError(
            f"The benchmark file {benchmark!r} has no 'target' column.",
            code="unknown_column",
            column="target",
            expected=list(map(str, targets.columns)),
            fix="give a CSV with the columns GROUP,target (or one row with target)",
        )
    others = [c for c in targets.columns if c != "target"]
    if not others:
        if len(targets) != 1:
            raise CarepopError(
                f"The benchmark file {benchmark!r} has {len(targets)} targets but no group column.",
                code="bad_benchmark",
                fix="add the group column (e.g. region_code) or keep one row",
            )
        return float(targets["target"].iloc[0]), None, area_table, table
    group = by or others[0]
    if group not in targets.columns:
        raise CarepopError(
            f"The benchmark file {benchmark!r} has no column {group!r}.",
            code="unknown_column",
            column=group,
            expected=list(map(str, targets.columns)),
            fix="name the group column with --benchmark-by COL",
        )
    if group == "region_code":
        area_table, table = _with_regions(area_table, table, area)
    goals = dict(zip(targets[group].astype(str), targets["target"].astype(float), strict=True))
    return goals, group, area_table, table


def _with_regions(area_table, table, area):
    """Add ``region_code`` (from the area codes) to the frame that carries the covariates."""
    from carepop.sources.regions import regions_of

    frame = area_table if area_table is not None else table
    if "region_code" in frame.columns:
        return area_table, table
    frame = frame.assign(region_code=regions_of(frame[area].astype(str), column=area).to_numpy())
    return (frame, table) if area_table is not None else (area_table, frame)


def _proximity(proximity: str, encoding: str | None, sep: str | None):
    if proximity == "councils":
        return "councils"
    return _read(Path(proximity), encoding, sep)


YOpt = Annotated[str, typer.Option("--y", help="The outcome column of the sample.")]
CovOpt = Annotated[str, typer.Option(help="Numeric covariates, comma-separated (same names in both files).")]


@sae_app.command()
@command
def bhf(
    sample: Annotated[Path, typer.Argument(help="Unit-level sample: one row per respondent.")],
    area: AreaOpt,
    y: YOpt,
    covariates: CovOpt,
    pop_means: Annotated[
        Path, typer.Option(help="One row per area: the area, the covariates' population means, the size.")
    ],
    pop_size: Annotated[str, typer.Option(help="The population size column of --pop-means.")],
    intercept: Annotated[bool, typer.Option("--intercept/--no-intercept", help="An intercept.")] = True,
    mse: Annotated[
        MSEMethod, typer.Option(help="Analytic MSE or parametric bootstrap.")
    ] = MSEMethod.analytic,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates (--mse bootstrap).")] = 200,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Unit-level nested-error (Battese–Harter–Fuller) EBLUPs of area means (R sae::eblupBHF)."""
    from carepop.sae.unit_models import bhf as fit

    _unit_model(
        fit,
        sample,
        pop_means,
        "pop_means",
        covariates,
        format,
        out,
        encoding,
        sep,
        boot,
        area=area,
        y=y,
        pop_size=pop_size,
        intercept=intercept,
        mse=mse.value,
        seed=seed,
        level=level,
    )


@sae_app.command()
@command
def ebp(
    sample: Annotated[Path, typer.Argument(help="Unit-level sample: one row per respondent, outcome 0/1.")],
    area: AreaOpt,
    y: YOpt,
    covariates: CovOpt,
    population: Annotated[
        Path,
        typer.Option(help="Covariate patterns by area with their population counts (e.g. a census table)."),
    ],
    count: Annotated[str, typer.Option(help="The population count column of --population.")],
    intercept: Annotated[bool, typer.Option("--intercept/--no-intercept", help="An intercept.")] = True,
    n_agq: Annotated[int, typer.Option(help="Gauss–Hermite points per area in the fit (1: Laplace).")] = 1,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates of the MSE.")] = 200,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Empirical best predictors of area proportions from a logistic mixed model (binary outcome)."""
    from carepop.sae.unit_models import ebp as fit

    _unit_model(
        fit,
        sample,
        population,
        "population",
        covariates,
        format,
        out,
        encoding,
        sep,
        boot,
        area=area,
        y=y,
        count=count,
        intercept=intercept,
        n_agq=n_agq,
        seed=seed,
        level=level,
    )


def _unit_model(fit, sample, table, table_param, covariates, format, out, encoding, sep, boot, **options):
    """Read the sample and the population table, fit a unit-level model and emit its result."""
    fmt = prepare(format, out, inputs=[(None, sample), (table_param, table)], what="the small-area estimates")
    _check_boot(boot)
    result = fit(
        _read(sample, encoding, sep),
        _read(table, encoding, sep),
        covariates=split_list(covariates, "covariates") or [],
        boot=boot,
        **options,
    )
    _emit_result(result, fmt, out)


def _check_boot(boot: int) -> None:
    if boot < 1:
        raise CarepopError(f"--boot {boot} must be at least 1.", code="bad_option", fix="e.g. --boot 200")
