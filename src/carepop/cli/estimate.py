"""``carepop estimate``: design-based estimates with standard errors and intervals.

carepop estimate DATA [design options] [weighting options]
    (--mean V | --total V | --proportion V | --ratio NUM:DEN | --quantile V:P)
    [--by COL[,COL...]] [--ci wald|t|logit|wilson|beta] [--level 0.95] [--deff] [--na-rm]
    [--format json|csv|table] [--out FILE.csv|.parquet|.xlsx|.json]
    [--encoding ENC] [--sep SEP] [--input-format FORMAT]

Bad input prints a short message naming the column, rows and fix, and exits with status 2;
never a traceback. See README.md for the full contract.
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
    FormatOpt,
    InputFormatOpt,
    SepOpt,
    margin_inputs,
    read_options,
    survey_options,
)
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, esc, prepare
from carepop.core.design import Design
from carepop.core.vocabulary import CIMethod
from carepop.errors import CarepopError

if TYPE_CHECKING:
    from carepop.weighting.plan import WeightingPlan


@command(aliases=READ_ALIASES)
@survey_options
def estimate(
    data: DataArg,
    design: Design,
    weighting: WeightingPlan,
    mean: Annotated[str | None, typer.Option(help="Estimate the mean of this column.")] = None,
    total: Annotated[str | None, typer.Option(help="Estimate the total of this column.")] = None,
    proportion: Annotated[
        str | None, typer.Option(help="Estimate the proportion in each level of this column.")
    ] = None,
    ratio: Annotated[str | None, typer.Option(help="Estimate the ratio NUM:DEN of two totals.")] = None,
    quantile: Annotated[str | None, typer.Option(help="Estimate a quantile V:P, e.g. age:0.5.")] = None,
    by: Annotated[str | None, typer.Option(help="Domain column(s), comma-separated.")] = None,
    ci: Annotated[CIMethod | None, typer.Option(help="Interval (default wald).")] = None,
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    deff: Annotated[bool, typer.Option(help="Add design effects.")] = False,
    na_rm: Annotated[
        bool, typer.Option(help="Leave rows with a missing variable out of the domain.")
    ] = False,
    format: FormatOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json."),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Design-based estimates with standard errors and intervals, overall or by domain."""
    from carepop.io import read_data
    from carepop.weighting.plan import apply_weighting

    fmt = prepare(format, out, inputs=[(None, data), *margin_inputs(weighting)], what="the estimates")
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
            fix="e.g. --mean api00, or --ratio api00:api99",
        )
    if not 0 < level < 1:
        raise CarepopError(f"--level {level} is not between 0 and 1.", code="bad_option", fix="e.g. 0.95")
    by_cols = split_list(by, "by")
    kind, spec = next(iter(asked.items()))
    if kind == "ratio":
        num, den = _split_pair(spec, "--ratio", "NUM:DEN")
    elif kind == "quantile":
        var, p = _split_pair(spec, "--quantile", "V:P")
        try:
            prob = float(p)
        except ValueError:
            raise CarepopError(
                f"--quantile probability {p!r} is not a number.",
                code="bad_option",
                fix="e.g. --quantile age:0.5",
            ) from None
    df = read_data(data, **read_options(input_format, encoding, sep))
    survey = design.survey(df)
    if not weighting.empty:
        survey, _ = apply_weighting(survey, weighting)
    cimeth = ci.value if ci is not None else None
    common = dict(by=by_cols, ci=cimeth, level=level, na_rm=na_rm)
    if kind == "ratio":
        result = survey.ratio(num, den, deff=deff, **common)
    elif kind == "quantile":
        result = survey.quantile(var, prob, **common)
    else:
        result = getattr(survey, kind)(spec, deff=deff, **common)
    emit(
        result.to_pandas(),
        fmt,
        out,
        title="estimates",
        table=lambda _frame: print_table(result),
        wrote=f"wrote {len(result)} estimate(s) to {out}",
    )


def _split_pair(spec: str, opt: str, form: str) -> tuple[str, str]:
    if ":" not in spec:
        raise CarepopError(f"{opt} expects {form}, got {spec!r}.", code="bad_option", fix=f"e.g. {opt} a:b")
    a, b = spec.rsplit(":", 1)
    return a, b


def _rich_table(result):
    from rich.table import Table

    frame = result.to_pandas()
    what = ", ".join(
        f"{s} of {v}" for s, v in frame[["statistic", "variable"]].drop_duplicates().itertuples(index=False)
    )
    table = Table(
        title=esc(f"{what} ({result.variance} variance, {result.ci_method} {result.level:.0%} interval)")
    )
    drop = {"statistic", "variable"}
    if frame["level"].isna().all():
        drop.add("level")
    if frame["deff"].isna().all():
        drop.add("deff")
    cols = [c for c in frame.columns if c not in drop]
    for c in cols:
        numeric = c in ("estimate", "se", "ci_lower", "ci_upper", "df", "deff", "n")
        table.add_column(esc(c), justify="right" if numeric else "left", no_wrap=numeric)
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
    return "–" if v is None else esc(v)


def print_table(result) -> None:
    import shutil

    from rich.console import Console

    Console(width=max(shutil.get_terminal_size((120, 24)).columns, 120)).print(_rich_table(result))
