"""The ``carepop`` command line.

``carepop estimate DATA --weight W [design options] (--mean V | --total V | --proportion V |
--ratio NUM:DEN | --quantile V:P) [--by COL[,COL...]] [--ci ...] [--format json|csv|table]``

Bad input prints a short message naming the column, rows and fix, and exits with status 2;
never a traceback. See README.md for the full contract.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli_common import EXIT_INPUT, check_frame_suffix
from carepop.cli_common import fail as _fail
from carepop.cli_common import write_frame_atomic as _write_frame_atomic
from carepop.cli_common import write_text_atomic as _write_atomic
from carepop.errors import CarepopError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Survey statistics and population estimation for adult social care in England.",
)


def _add_subcommands() -> None:
    from carepop.design.cli import design_app
    from carepop.questionnaires.cli import questionnaire_app
    from carepop.sources.census_cli import census_app
    from carepop.sources.cld.cli import cld_app

    app.add_typer(design_app, name="design")
    app.add_typer(questionnaire_app, name="questionnaire")
    app.add_typer(census_app, name="census")
    app.add_typer(cld_app, name="cld")


_add_subcommands()


class Fmt(str, Enum):
    json = "json"
    csv = "csv"
    table = "table"


class CI(str, Enum):
    wald = "wald"
    t = "t"
    logit = "logit"
    wilson = "wilson"
    beta = "beta"


class Lonely(str, Enum):
    fail = "fail"
    remove = "remove"
    certainty = "certainty"
    adjust = "adjust"
    average = "average"


class CalFun(str, Enum):
    linear = "linear"
    raking = "raking"
    logit = "logit"


class RepMethod(str, Enum):
    jk1 = "jk1"
    jkn = "jkn"
    brr = "brr"
    fay = "fay"
    bootstrap = "bootstrap"
    sdr = "sdr"


# options shared by `estimate` and `weight`
DataArg = Annotated[Path, typer.Argument(help="Survey data: CSV, Parquet, SPSS .sav, Stata .dta, SAS.")]
WeightOpt = Annotated[str | None, typer.Option(help="Sampling (design) weight column.")]
StrataOpt = Annotated[str | None, typer.Option(help="Stratum column.")]
PsuOpt = Annotated[str | None, typer.Option(help="First-stage cluster (PSU) column.")]
FpcOpt = Annotated[
    str | None, typer.Option(help="First-stage fpc column: population size, or fraction if all <= 1.")
]
SsuOpt = Annotated[str | None, typer.Option(help="Second-stage unit column.")]
Fpc2Opt = Annotated[str | None, typer.Option(help="Second-stage fpc column.")]
NestOpt = Annotated[bool, typer.Option(help="PSU codes restart within strata.")]
LonelyOpt = Annotated[Lonely, typer.Option(help="Policy for strata with one PSU.")]
RepweightsOpt = Annotated[
    str | None, typer.Option(help="Prefix of replicate-weight columns (a replicate design).")
]
RepMethodOpt = Annotated[RepMethod | None, typer.Option(help="Method of the replicate weights.")]
RhoOpt = Annotated[float | None, typer.Option(help="Fay's rho.")]
PostStratOpt = Annotated[list[str] | None, typer.Option(help="Post-stratify: VAR=FILE (CSV value,total).")]
RakeOpt = Annotated[list[str] | None, typer.Option(help="Rake to a margin: VAR=FILE (repeatable).")]
CalCatOpt = Annotated[
    list[str] | None, typer.Option(help="Calibrate to a categorical margin: VAR=FILE (repeatable).")
]
CalNumOpt = Annotated[
    list[str] | None, typer.Option(help="Calibrate to a numeric total: VAR=TOTAL (repeatable).")
]
CalFunOpt = Annotated[CalFun | None, typer.Option(help="Calibration distance.")]
BoundsOpt = Annotated[str | None, typer.Option(help="Bounds L,U on the g-weights.")]
TrimOpt = Annotated[str | None, typer.Option(help="Trim weights to L,U (R trimWeights).")]
ReplicatesOpt = Annotated[
    str | None, typer.Option(help="Create replicate weights: METHOD[:R] (jk1, jkn, brr, fay, bootstrap).")
]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for bootstrap replicates.")]
NonresponseOpt = Annotated[str | None, typer.Option(help="Non-response weighting classes: COL[,COL...].")]
RespondentOpt = Annotated[str | None, typer.Option(help="Respondent indicator column (1 = responded).")]


@app.command()
def estimate(
    data: DataArg,
    weight: WeightOpt = None,
    strata: StrataOpt = None,
    psu: PsuOpt = None,
    fpc: FpcOpt = None,
    ssu: SsuOpt = None,
    fpc2: Fpc2Opt = None,
    nest: NestOpt = False,
    lonely_psu: LonelyOpt = Lonely.fail,
    repweights: RepweightsOpt = None,
    rep_method: RepMethodOpt = None,
    rho: RhoOpt = None,
    scale: Annotated[
        float | None, typer.Option(help="Replicate variance scale (overrides method's).")
    ] = None,
    rscales: Annotated[
        str | None, typer.Option(help="Replicate rscales: one number or a comma-separated list.")
    ] = None,
    mse: Annotated[bool, typer.Option(help="Centre replicates on the full-sample estimate.")] = False,
    poststratify: PostStratOpt = None,
    rake: RakeOpt = None,
    calibrate_cat: CalCatOpt = None,
    calibrate_num: CalNumOpt = None,
    calfun: CalFunOpt = None,
    bounds: BoundsOpt = None,
    trim: TrimOpt = None,
    replicates: ReplicatesOpt = None,
    seed: SeedOpt = None,
    nonresponse_classes: NonresponseOpt = None,
    respondent: RespondentOpt = None,
    mean: Annotated[str | None, typer.Option(help="Estimate the mean of this column.")] = None,
    total: Annotated[str | None, typer.Option(help="Estimate the total of this column.")] = None,
    proportion: Annotated[
        str | None, typer.Option(help="Estimate the proportion in each level of this column.")
    ] = None,
    ratio: Annotated[str | None, typer.Option(help="Estimate the ratio NUM:DEN of two totals.")] = None,
    quantile: Annotated[str | None, typer.Option(help="Estimate a quantile V:P, e.g. age:0.5.")] = None,
    by: Annotated[str | None, typer.Option(help="Domain column(s), comma-separated.")] = None,
    ci: Annotated[CI | None, typer.Option(help="Interval: wald (default), t, logit, wilson, beta.")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    deff: Annotated[bool, typer.Option(help="Add design effects.")] = False,
    na_rm: Annotated[
        bool, typer.Option(help="Leave rows with a missing variable out of the domain.")
    ] = False,
    format: Annotated[Fmt | None, typer.Option(help="Output format (default: table, or from --out).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the result to this file (atomically).")] = None,
) -> None:
    """Design-based estimates with standard errors and intervals, overall or by domain."""
    from carepop.io import read_data
    from carepop.weighting.pipeline import apply_weighting

    try:
        asked = {
            k: v
            for k, v in dict(
                mean=mean, total=total, proportion=proportion, ratio=ratio, quantile=quantile
            ).items()
            if v is not None
        }
        if len(asked) != 1:
            raise CarepopError(
                "Give exactly one of --mean, --total, --proportion, --ratio, --quantile.",
                code="bad_option",
                hint="e.g. --mean api00, or --ratio api00:api99",
            )
        if not 0 < level < 1:
            raise CarepopError(
                f"--level {level} is not between 0 and 1.", code="bad_option", hint="e.g. 0.95"
            )
        df = read_data(data)
        survey = _survey(
            df,
            weight,
            strata,
            psu,
            fpc,
            ssu,
            fpc2,
            nest,
            lonely_psu,
            repweights,
            rep_method,
            rho,
            scale,
            rscales,
            mse,
        )
        wspec = _weighting_spec(
            poststratify,
            rake,
            calibrate_cat,
            calibrate_num,
            calfun,
            bounds,
            trim,
            replicates,
            rho,
            seed,
            nonresponse_classes,
            respondent,
        )
        if not wspec.empty:
            survey, _ = apply_weighting(survey, wspec)
        kind, spec = next(iter(asked.items()))
        cimeth = ci.value if ci is not None else None
        by_cols = [b.strip() for b in by.split(",") if b.strip()] if by else None
        common = dict(by=by_cols, ci=cimeth, level=level, na_rm=na_rm)
        if kind == "ratio":
            num, den = _split_pair(spec, "--ratio", "NUM:DEN")
            result = survey.ratio(num, den, deff=deff, **common)
        elif kind == "quantile":
            var, p = _split_pair(spec, "--quantile", "V:P")
            try:
                prob = float(p)
            except ValueError:
                raise CarepopError(
                    f"--quantile probability {p!r} is not a number.",
                    code="bad_option",
                    hint="e.g. --quantile age:0.5",
                ) from None
            result = survey.quantile(var, prob, **common)
        else:
            result = getattr(survey, kind)(spec, deff=deff, **common)
    except CarepopError as err:
        _fail(err)
        return

    fmt = format or (_format_from_suffix(out) if out is not None else Fmt.table)
    text = _render(result, fmt)
    if out is None:
        if fmt == Fmt.table:
            _print_table(result)
        else:
            sys.stdout.write(text)
    else:
        _write_atomic(out, text)
        typer.echo(f"wrote {len(result)} estimate(s) to {out}", err=True)


def _survey(
    df,
    weight,
    strata,
    psu,
    fpc,
    ssu,
    fpc2,
    nest,
    lonely_psu,
    repweights,
    rep_method,
    rho,
    scale,
    rscales,
    mse,
):
    """The Survey the design options describe (Taylor, or replicate weights)."""
    from carepop.survey import Survey

    if repweights is not None or rep_method is not None:
        if repweights is None or rep_method is None:
            raise CarepopError(
                "A replicate design needs both --repweights and --rep-method.",
                code="bad_option",
                hint="e.g. --repweights repw --rep-method jk1",
            )
        for opt, val in (("--strata", strata), ("--psu", psu), ("--fpc", fpc), ("--ssu", ssu)):
            if val is not None:
                raise CarepopError(
                    f"{opt} does not apply to a replicate-weight design.",
                    code="bad_option",
                    hint="the replicate weights already carry the design",
                )
        rs = None
        if rscales is not None:
            rs = [float(x) for x in rscales.split(",")]
            rs = rs[0] if len(rs) == 1 else rs
        return Survey.replicate(
            df, repweights, rep_method.value, weight=weight, rho=rho, scale=scale, rscales=rs, mse=mse
        )
    return Survey(
        df,
        weight=weight,
        strata=strata,
        psu=psu,
        fpc=fpc,
        ssu=ssu,
        fpc2=fpc2,
        lonely_psu=lonely_psu.value,
        nest=nest,
    )


def _pairs(values: list[str] | None, opt: str, form: str) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        if "=" not in v:
            raise CarepopError(
                f"{opt} expects {form}, got {v!r}.", code="bad_option", hint=f"e.g. {opt} {form}"
            )
        key, _, val = v.partition("=")
        out.append((key.strip(), val.strip()))
    return out


def _two_numbers(text: str | None, opt: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise CarepopError(
            f"{opt} expects L,U, got {text!r}.", code="bad_option", hint=f"e.g. {opt} 0.5,2"
        ) from None
    return lo, hi


def _weighting_spec(
    poststratify,
    rake,
    calibrate_cat,
    calibrate_num,
    calfun,
    bounds,
    trim,
    replicates,
    rho,
    seed,
    nonresponse_classes,
    respondent,
):
    from carepop.weighting.pipeline import WeightingSpec

    num = []
    for var, val in _pairs(calibrate_num, "--calibrate-num", "VAR=TOTAL"):
        try:
            num.append((var, float(val)))
        except ValueError:
            raise CarepopError(
                f"--calibrate-num {var}={val}: the total is not a number.",
                code="bad_option",
                hint="e.g. --calibrate-num api99=3914069",
            ) from None
    return WeightingSpec(
        nonresponse_classes=[c.strip() for c in nonresponse_classes.split(",")]
        if nonresponse_classes
        else [],
        respondent=respondent,
        replicates=replicates,
        rho=rho,
        seed=seed,
        poststratify=_pairs(poststratify, "--poststratify", "VAR=FILE"),
        rake=_pairs(rake, "--rake", "VAR=FILE"),
        calibrate_cat=_pairs(calibrate_cat, "--calibrate-cat", "VAR=FILE"),
        calibrate_num=num,
        calfun=(calfun.value if calfun is not None else "linear"),
        bounds=_two_numbers(bounds, "--bounds"),
        trim=_two_numbers(trim, "--trim"),
    )


@app.command()
def weight(
    data: DataArg,
    out: Annotated[Path, typer.Option(help="Write the weighted data here: .csv, .parquet or .sav.")],
    weight: WeightOpt = None,
    strata: StrataOpt = None,
    psu: PsuOpt = None,
    fpc: FpcOpt = None,
    ssu: SsuOpt = None,
    fpc2: Fpc2Opt = None,
    nest: NestOpt = False,
    lonely_psu: LonelyOpt = Lonely.fail,
    repweights: RepweightsOpt = None,
    rep_method: RepMethodOpt = None,
    rho: RhoOpt = None,
    poststratify: PostStratOpt = None,
    rake: RakeOpt = None,
    calibrate_cat: CalCatOpt = None,
    calibrate_num: CalNumOpt = None,
    calfun: CalFunOpt = None,
    bounds: BoundsOpt = None,
    trim: TrimOpt = None,
    replicates: ReplicatesOpt = None,
    seed: SeedOpt = None,
    nonresponse_classes: NonresponseOpt = None,
    respondent: RespondentOpt = None,
    weight_column: Annotated[str, typer.Option(help="Name of the new weight column.")] = "weight_final",
) -> None:
    """Weight a survey (non-response, replicates, post-stratify, rake, calibrate, trim) and write
    the data with the new weight and replicate columns."""
    from carepop.io import read_data
    from carepop.weighting.pipeline import apply_weighting

    try:
        check_frame_suffix(out)
        df = read_data(data)
        survey = _survey(
            df,
            weight,
            strata,
            psu,
            fpc,
            ssu,
            fpc2,
            nest,
            lonely_psu,
            repweights,
            rep_method,
            rho,
            None,
            None,
            False,
        )
        wspec = _weighting_spec(
            poststratify,
            rake,
            calibrate_cat,
            calibrate_num,
            calfun,
            bounds,
            trim,
            replicates,
            rho,
            seed,
            nonresponse_classes,
            respondent,
        )
        if wspec.empty:
            raise CarepopError(
                "No weighting step asked for.",
                code="bad_option",
                hint="give e.g. --rake VAR=FILE, --poststratify VAR=FILE or --replicates jk1",
            )
        weighted, reports = apply_weighting(survey, wspec)
    except CarepopError as err:
        _fail(err)
        return
    frame = weighted.data
    frame[weight_column] = weighted.weights
    if weighted.weight not in (weight_column, weight) and weighted.weight in frame.columns:
        frame = frame.drop(columns=weighted.weight)
    if weighted.is_replicate:
        rep = weighted._rep
        for j, col in enumerate(rep.columns):
            frame[col] = rep.weights[:, j]
    _write_frame_atomic(out, frame, weighted.value_labels)
    for report in reports:
        typer.echo(report.to_string(index=False), err=True)
    typer.echo(f"wrote {len(frame)} rows with weight {weight_column!r} to {out}", err=True)


def _split_pair(spec: str, opt: str, form: str) -> tuple[str, str]:
    if ":" not in spec:
        raise CarepopError(f"{opt} expects {form}, got {spec!r}.", code="bad_option", hint=f"e.g. {opt} a:b")
    a, b = spec.rsplit(":", 1)
    return a, b


def _format_from_suffix(path: Path) -> Fmt:
    return Fmt.json if path.suffix.lower() == ".json" else Fmt.csv


def _render(result, fmt: Fmt) -> str:
    if fmt == Fmt.json:
        return json.dumps(result.to_records(), indent=2) + "\n"
    if fmt == Fmt.csv:
        return result.to_pandas().to_csv(index=False)
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    Console(file=buf, width=140).print(_rich_table(result))
    return buf.getvalue()


def _rich_table(result):
    from rich.table import Table

    frame = result.to_pandas()
    what = ", ".join(
        f"{s} of {v}" for s, v in frame[["statistic", "variable"]].drop_duplicates().itertuples(index=False)
    )
    table = Table(
        title=f"{what} ({result.variance} variance, {result.ci_method} {result.level:.0%} interval)"
    )
    drop = {"statistic", "variable"}
    if frame["level"].isna().all():
        drop.add("level")
    if frame["deff"].isna().all():
        drop.add("deff")
    cols = [c for c in frame.columns if c not in drop]
    for c in cols:
        numeric = c in ("estimate", "se", "ci_lower", "ci_upper", "df", "deff", "n")
        table.add_column(c, justify="right" if numeric else "left", no_wrap=numeric)
    for rec in frame[cols].itertuples(index=False):
        table.add_row(*[_fmt_cell(v) for v in rec])
    return table


def _fmt_cell(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "–"
        if abs(v) >= 1e5 or (v != 0 and abs(v) < 1e-3):
            return f"{v:.6g}"
        return f"{v:,.4f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{v:,.0f}"
    return "–" if v is None else str(v)


def _print_table(result) -> None:
    import shutil

    from rich.console import Console

    Console(width=max(shutil.get_terminal_size((120, 24)).columns, 120)).print(_rich_table(result))
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("carepop-demo"),
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic survey.")] = 2021,
) -> None:
    """Draw a synthetic carers survey from Census 2021 and estimate carers by local authority."""
    from carepop.demo import run_demo

    try:
        run_demo(out, seed=seed)
    except CarepopError as err:
        _fail(err)


def main() -> None:
    try:
        app()
    except CarepopError as err:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":  # pragma: no cover
    main()
