"""``carepop capture``: capture–recapture (multiple-systems) estimates of a closed population.

carepop capture estimate LISTS --lists A,B,C [--count COL]
    [--interactions A:B,... | --select aic|bic]
    [--method loglinear|chapman|lincoln-petersen|m0|mt|mh|mth]
    [--interval normal|log|profile|bootstrap] [--level 0.95] [--boot B] [--seed N]
    [--format json|csv|table] [--out FILE.csv|.parquet|.xlsx|.json]

LISTS is a table with one 0/1 column per list and, with ``--count``, the number of people with each
capture pattern (the layout of published tables); without ``--count`` every row is one person.
Patterns not listed are zero counts; the pattern on no list is what is estimated. The default
method is a log-linear model (main effects, plus ``--interactions`` or the model ``--select``
chooses) for three or more lists and Chapman's estimator for two. Prints ``observed, hidden,
estimate, se, ci_lower, ci_upper, model, aic, bic`` (JSON adds the interval, the level and the
assumptions). Bad input prints ``error: ...`` and exits with status 2, writing nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.capture_link import link
from carepop.cli.common import App, command
from carepop.cli.options import EncodingOpt, FormatOpt, SepOpt
from carepop.cli.optiontext import split_list
from carepop.cli.output import emit, prepare
from carepop.core.vocabulary import CaptureInterval, CaptureMethod, ModelSelection, OutputFormat
from carepop.errors import CarepopError

capture_app = App(help="Capture–recapture: population size from two or more overlapping lists.")

COLUMNS = ["observed", "hidden", "estimate", "se", "ci_lower", "ci_upper", "model", "aic", "bic"]


@capture_app.command()
@command
def estimate(
    lists_file: Annotated[
        Path,
        typer.Argument(
            metavar="LISTS", help="Table of capture patterns: one 0/1 column per list (and counts)."
        ),
    ],
    lists: Annotated[str, typer.Option(help="The list columns, comma-separated (two or more).")],
    count: Annotated[
        str | None, typer.Option(help="Column with the number of people per pattern (default: one per row).")
    ] = None,
    interactions: Annotated[
        str | None, typer.Option(help="Log-linear interactions, e.g. A:B,B:C (main effects always in).")
    ] = None,
    select: Annotated[
        ModelSelection | None,
        typer.Option(help="Choose the log-linear model (two-way interactions) by AIC or BIC."),
    ] = None,
    method: Annotated[
        CaptureMethod | None,
        typer.Option(help="Estimator; default loglinear for three or more lists, chapman for two."),
    ] = None,
    interval: Annotated[
        CaptureInterval | None,
        typer.Option(
            help="Interval: profile (log-linear default), log (Chao 1987; other default), normal, bootstrap."
        ),
    ] = None,
    level: Annotated[float, typer.Option(help="Confidence level of the interval.")] = 0.95,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates (--interval bootstrap).")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Random seed of the bootstrap.")] = None,
    format: FormatOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json."),
    ] = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
) -> None:
    """Estimate a closed population seen on two or more lists (log-linear, Chapman, Rcapture models)."""
    import pandas as pd

    from carepop.capture.heterogeneity import closed_model
    from carepop.capture.loglinear import loglinear
    from carepop.capture.table import capture_table
    from carepop.capture.two_lists import chapman, lincoln_petersen
    from carepop.io import read_data

    fmt = prepare(format, out, inputs=[(None, lists_file)], what="the estimate")
    names = split_list(lists, "lists") or []
    data = read_data(lists_file, encoding=encoding, sep=sep)
    table = capture_table(data, names, count)
    how = method.value if method is not None else ("chapman" if table.k == 2 else "loglinear")
    if how != "loglinear" and (interactions is not None or select is not None):
        raise CarepopError(
            f"--interactions and --select belong to the log-linear model, not --method {how}.",
            code="bad_option",
            fix="leave them out, or use --method loglinear",
        )
    if how == "loglinear":
        result = loglinear(
            table,
            split_list(interactions, "interactions", "A:B[,B:C...]"),
            select=select.value if select is not None else None,
            level=level,
            interval=interval.value if interval is not None else "profile",
            boot=boot,
            seed=seed,
        )
    else:
        kind = interval.value if interval is not None else "log"
        if how == "chapman":
            result = chapman(table, level=level, interval=kind)
        elif how == "lincoln-petersen":
            result = lincoln_petersen(table, level=level, interval=kind)
        else:
            result = closed_model(table, how, level=level, interval=kind)
    record = result.to_dict()
    if fmt == OutputFormat.json or (out is not None and out.suffix.lower() == ".json"):
        frame = pd.DataFrame(
            [
                {
                    **{c: record[c] for c in COLUMNS},
                    "interval": result.interval,
                    "level": result.level,
                    "df": record["df"],
                    "deviance": record["deviance"],
                    "assumptions": "; ".join(result.assumptions),
                }
            ]
        )
    else:
        frame = pd.DataFrame([{c: record[c] for c in COLUMNS}])
    emit(frame, fmt, out, title="capture–recapture estimate", wrote=f"wrote the estimate to {out}")


capture_app.command("link")(link)  # carepop capture link (cli/capture_link.py)
