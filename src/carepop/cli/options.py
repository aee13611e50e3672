"""Options shared by several commands, and the bundles that turn groups of them into one object.

A command that works on a survey declares a parameter ``design: Design`` (and, if it weights,
``weighting: WeightingPlan``); :func:`survey_options` replaces that parameter by the design (and
weighting) options below and calls the command with the object built once from them. So every
command spells a design option the same way, and the library receives one
:class:`~carepop.core.design.Design` instead of fifteen positional arguments.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from carepop.cli import optiontext as text
from carepop.core.design import Design
from carepop.core.vocabulary import CalFun, LonelyPSU, OutputFormat, ReplicateMethod, ReplicateType, choose

# ------------------------------------------------------------------------------ plain options
DataArg = Annotated[Path, typer.Argument(help="Survey data: CSV, Parquet, SPSS .sav, Stata .dta, SAS.")]
FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option(help="How to print the result: json, csv or table (with --out, the extension decides)."),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="Text encoding of a CSV input (default UTF-8, with or without BOM; cp1252 for Excel on Windows)."
    ),
]
SepOpt = Annotated[
    str | None, typer.Option(help="Field separator of a CSV input: , ; tab or | (default: detected).")
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option(
        help="Read the input as csv, parquet, spss, stata, sas or xport whatever its extension "
        "(default: from the extension)."
    ),
]
#: how a command's read options reach the library (``read_data(format=...)`` is ``--input-format``)
READ_ALIASES = {"format": "input_format"}


def read_options(input_format: str | None, encoding: str | None, sep: str | None) -> dict[str, Any]:
    """The keyword arguments of :func:`carepop.io.read_data` the read options ask for."""
    out: dict[str, Any] = {}
    if input_format is not None:
        out["format"] = input_format
    if encoding is not None:
        out["encoding"] = encoding
    if sep is not None:
        out["sep"] = sep
    return out


def margin_inputs(plan: Any) -> list[tuple[str, str]]:
    """The margin files a weighting plan reads, as ``(option, path)`` (they are inputs)."""
    if plan is None:
        return []
    out = []
    for name in ("poststratify", "rake", "calibrate_cat"):
        for _var, source in getattr(plan, name, ()) or ():
            if isinstance(source, str | Path):
                out.append((name, str(source)))
    return out


# ------------------------------------------------------------------------------ design options
def _design_option(*decls: str, help: str) -> Any:
    """An option of the survey design (shown under its own heading in --help)."""
    return typer.Option(*decls, help=help, rich_help_panel="Survey design")


def _weighting_option(*decls: str, help: str) -> Any:
    """A weighting option (shown under its own heading in --help)."""
    return typer.Option(*decls, help=help, rich_help_panel="Weighting")


_DESIGN: dict[str, tuple[Any, Any]] = {
    "weight": (Annotated[str | None, _design_option(help="Sampling (design) weight column.")], None),
    "strata": (Annotated[str | None, _design_option(help="Stratum column.")], None),
    "psu": (Annotated[str | None, _design_option(help="First-stage cluster (PSU) column.")], None),
    "fpc": (
        Annotated[
            str | None,
            _design_option(help="First-stage fpc column: population size, or fraction if all <= 1."),
        ],
        None,
    ),
    "ssu": (Annotated[str | None, _design_option(help="Second-stage unit column.")], None),
    "fpc2": (Annotated[str | None, _design_option(help="Second-stage fpc column.")], None),
    "nest": (Annotated[bool, _design_option(help="PSU codes restart within strata.")], False),
    "lonely_psu": (
        Annotated[LonelyPSU, _design_option(help="Policy for strata with one PSU.")],
        LonelyPSU.fail,
    ),
    "repweights": (
        Annotated[
            str | None, _design_option(help="Prefix of replicate-weight columns (a replicate design).")
        ],
        None,
    ),
    "rep_type": (
        Annotated[
            ReplicateType | None,
            _design_option("--rep-method", help="How the replicate weights were made (R svrepdesign type)."),
        ],
        None,
    ),
    "rho": (
        Annotated[float | None, _design_option(help="Fay's rho (of given or created Fay replicates).")],
        None,
    ),
    "scale": (
        Annotated[float | None, _design_option(help="Replicate variance scale (overrides the method's).")],
        None,
    ),
    "rscales": (
        Annotated[
            str | None, _design_option(help="Replicate rscales: one number or a comma-separated list.")
        ],
        None,
    ),
    "mse": (Annotated[bool, _design_option(help="Centre replicates on the full-sample estimate.")], False),
}

# ------------------------------------------------------------------------------ weighting options
_WEIGHTING: dict[str, tuple[Any, Any]] = {
    "nonresponse_classes": (
        Annotated[str | None, _weighting_option(help="Non-response weighting classes: COL[,COL...].")],
        None,
    ),
    "respondent": (
        Annotated[str | None, _weighting_option(help="Respondent indicator column (1 = responded).")],
        None,
    ),
    "replicates": (
        Annotated[
            str | None,
            _weighting_option(
                help="Create replicate weights: METHOD[:R] (jk1, jkn, brr, fay, bootstrap, "
                "subbootstrap, sdr)."
            ),
        ],
        None,
    ),
    "seed": (Annotated[int | None, _weighting_option(help="Seed for bootstrap replicates.")], None),
    "poststratify": (
        Annotated[list[str] | None, _weighting_option(help="Post-stratify: VAR=FILE (CSV value,total).")],
        None,
    ),
    "rake": (
        Annotated[list[str] | None, _weighting_option(help="Rake to a margin: VAR=FILE (repeatable).")],
        None,
    ),
    "calibrate_cat": (
        Annotated[
            list[str] | None,
            _weighting_option(help="Calibrate to a categorical margin: VAR=FILE (repeatable)."),
        ],
        None,
    ),
    "calibrate_num": (
        Annotated[
            list[str] | None, _weighting_option(help="Calibrate to a numeric total: VAR=TOTAL (repeatable).")
        ],
        None,
    ),
    "calfun": (Annotated[CalFun | None, _weighting_option(help="Calibration distance.")], None),
    "bounds": (Annotated[str | None, _weighting_option(help="Bounds L,U on the g-weights.")], None),
    "harmonise": (
        Annotated[
            bool,
            _weighting_option(
                help="Scale every margin to the first margin's total (census tables that differ "
                "by perturbation)."
            ),
        ],
        False,
    ),
    "epsilon": (
        Annotated[
            float | None,
            _weighting_option(
                help="Convergence tolerance, as R's control epsilon. Raking (R rake, default 1): stop when "
                "no cell of the margins' cross-table moves by more than epsilon between passes "
                "(below 1: a fraction of the weight total). Calibration (R calibrate, default 1e-7): "
                "stop when every population total is missed by less than epsilon x (1 + |total|)."
            ),
        ],
        None,
    ),
    "maxit": (
        Annotated[
            int | None,
            _weighting_option(
                help="Most iterations, as R's maxit: raking passes through the margins (default 10), "
                "calibration Newton steps (default 50)."
            ),
        ],
        None,
    ),
    "force": (
        Annotated[
            bool,
            _weighting_option(
                help="Keep the last weights, with a warning, when raking or calibration does not "
                "converge in --maxit iterations (otherwise that is an error)."
            ),
        ],
        False,
    ),
    "trim": (Annotated[str | None, _weighting_option(help="Trim weights to L,U (R trimWeights).")], None),
}


def survey_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the design options (and the weighting options, if it has a ``weighting``
    parameter) in place of its ``design`` (``weighting``) parameter; see the module docstring.
    Put :func:`carepop.cli.common.command` above it so that bad options fail cleanly."""
    sig = inspect.signature(fn)
    hints = _resolved_hints(fn, skip=("design", "weighting"))
    wants_weighting = "weighting" in sig.parameters
    bundle = dict(_DESIGN)
    if wants_weighting:
        bundle.update(_WEIGHTING)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        if p.name == "design":
            params.extend(
                inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
                for k, (a, d) in bundle.items()
            )
        elif p.name != "weighting":
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name]))

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        given = {k: kwargs.pop(k) for k in bundle}
        kwargs["design"], plan = _build(given, wants_weighting)  # errors: see cli.common.command
        if wants_weighting:
            kwargs["weighting"] = plan
        return fn(**kwargs)

    # typer reads the signature and the annotations: show it the options, not design/weighting
    del wrapper.__wrapped__
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _resolved_hints(fn: Callable[..., Any], skip: tuple[str, ...]) -> dict[str, Any]:
    """The command's annotations, resolved (``Annotated`` kept), but for the parameters ``skip``:
    the bundles replace those, and their types (``WeightingPlan``) may be imported by the command
    module only for type checkers, so that ``carepop --help`` does not load pandas."""

    def shim() -> None: ...

    shim.__wrapped__ = fn  # type: ignore[attr-defined]  # get_type_hints resolves in fn's globals
    shim.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k not in skip}
    return typing.get_type_hints(shim, include_extras=True)


def _build(given: dict[str, Any], wants_weighting: bool) -> tuple[Design, Any]:
    """The Design (and WeightingPlan) the options describe."""
    rho = given.pop("rho")
    rscales = text.numbers(given.pop("rscales"), "rscales")
    replicate_design = given["repweights"] is not None or given["rep_type"] is not None
    design = Design(
        weight=given["weight"],
        strata=given["strata"],
        psu=given["psu"],
        fpc=given["fpc"],
        ssu=given["ssu"],
        fpc2=given["fpc2"],
        nest=given["nest"],
        lonely_psu=str(given["lonely_psu"]),
        repweights=given["repweights"],
        rep_type=None if given["rep_type"] is None else str(given["rep_type"]),
        rho=rho if replicate_design else None,
        scale=given["scale"],
        rscales=rscales,
        mse=given["mse"],
    )
    if not wants_weighting:
        if rho is not None and not replicate_design:
            design = Design(rho=rho)  # raises: rho needs replicate weights
        return design, None
    from carepop.weighting.plan import WeightingPlan

    method, n_rep = text.method_count(given["replicates"], "replicates")
    plan = WeightingPlan(
        nonresponse_classes=tuple(text.split_list(given["nonresponse_classes"], "nonresponse_classes") or ()),
        respondent=given["respondent"],
        replicates=None
        if method is None
        else choose(method, ReplicateMethod, "replicates", "replicate method"),
        n_replicates=n_rep,
        rho=None if replicate_design else rho,
        seed=given["seed"],
        poststratify=tuple(text.pairs(given["poststratify"], "poststratify", "VAR=FILE")),
        rake=tuple(text.pairs(given["rake"], "rake", "VAR=FILE")),
        calibrate_cat=tuple(text.pairs(given["calibrate_cat"], "calibrate_cat", "VAR=FILE")),
        calibrate_num=tuple(text.number_pairs(given["calibrate_num"], "calibrate_num", "VAR=TOTAL")),
        calfun="linear" if given["calfun"] is None else str(given["calfun"]),
        bounds=text.bounds(given["bounds"], "bounds"),
        harmonise=given["harmonise"],
        epsilon=given["epsilon"],
        maxit=given["maxit"],
        force=given["force"],
        trim=text.bounds(given["trim"], "trim"),
    )
    return design, plan
