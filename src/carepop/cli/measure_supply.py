"""``carepop measure self-funders`` and ``carepop measure workforce``: the supply side of care.

carepop measure self-funders HOMES --directory FILE [--cells council_code,home_type] [--council COL]
    [--beds COL] [--residents COL] [--self-funders COL | --share COL] [--fee COL]
    [--directory-homes COL] [--min-homes 5] [--covariates COLS] [--boot B] [--seed N]
    [--interval linear|bootstrap|percentile] [--level 0.95] [--format json|csv|table] [--out FILE]
carepop measure self-funders USERS --cld FILE [--estimate COL] [--se COL] [--funded COL]
    [--funded-se COL] [--area COL]          (community self-funders)
carepop measure workforce RETURNS --register FILE [--cells council_code,service,employer_type]
    [--area COL] [--filled COL] [--vacancies COL] [--locations COL]
    [--variance stratified|poststratified] [--lonely-psu adjust] ...
carepop measure workforce --pa-recipients N --pa-share P --pa-per-employer M [--pa-share-se S]
    [--pa-per-employer-se S] [--pa-recipients-se S] [--pa-method delta|exact|bootstrap] [--seed N]

``self-funders`` weights a survey of care homes to the directory's beds (ONS's method) and gives
the share of residents who self-fund, the number of self-funders and their weekly fees by council,
region and England (:mod:`carepop.measures.self_funders`); with ``--cld`` it subtracts the people
the council funds (client-level data) from people receiving home care. ``workforce`` grosses up
establishment returns by coverage within register cells (Skills for Care's method), or with the
``--pa-*`` options estimates personal-assistant posts (:mod:`carepop.measures.workforce`).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.cli.options import READ_ALIASES, EncodingOpt, FormatOpt, InputFormatOpt, SepOpt, read_options
from carepop.cli.output import emit, prepare
from carepop.errors import CarepopError

OutOpt = Annotated[
    Path | None, typer.Option(help="Write the result here (atomically): .csv, .parquet, .xlsx or .json.")
]
LevelOpt = Annotated[float, typer.Option(help="Confidence level.")]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed of the bootstrap (recorded in the notes).")]


class Interval(str, Enum):
    linear = "linear"
    bootstrap = "bootstrap"
    percentile = "percentile"


class Variance(str, Enum):
    stratified = "stratified"
    poststratified = "poststratified"


class PAMethod(str, Enum):
    delta = "delta"
    exact = "exact"
    bootstrap = "bootstrap"


def _columns(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _read(path: Path, fmt_args: tuple) -> object:
    from carepop.io import read_data

    return read_data(path, **read_options(*fmt_args))


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        typer.echo(f"note: {note}", err=True)


@command(aliases=READ_ALIASES)
def self_funders(
    data: Annotated[
        Path,
        typer.Argument(
            help="The survey of care homes (one row per responding home); with --cld, home-care users."
        ),
    ],
    directory: Annotated[
        Path | None,
        typer.Option(help="The care directory: one row per home (or per cell with --directory-homes)."),
    ] = None,
    cells: Annotated[
        str, typer.Option(help="Weighting cells, comma-separated columns.")
    ] = "council_code,home_type",
    council: Annotated[str, typer.Option(help="The column with 2023 council codes.")] = "council_code",
    beds: Annotated[str, typer.Option(help="Beds (in both files).")] = "beds",
    residents: Annotated[str, typer.Option(help="Residents of each home.")] = "residents",
    self_funders: Annotated[
        str, typer.Option(help="Self-funding residents of each home (a count).")
    ] = "self_funders",
    share: Annotated[
        str | None, typer.Option(help="Instead of --self-funders: the share (0-1) self-funding.")
    ] = None,
    fee: Annotated[str | None, typer.Option(help="Self-funders' mean weekly fee in each home.")] = None,
    directory_homes: Annotated[
        str | None, typer.Option(help="The directory's count of homes per row, when it holds cell totals.")
    ] = None,
    min_homes: Annotated[int, typer.Option(help="Councils with fewer responding homes get the model.")] = 5,
    covariates: Annotated[
        str, typer.Option(help="Council-table covariates of the model, comma-separated.")
    ] = "",
    boot: Annotated[int, typer.Option(help="Bootstrap replicates over homes (0: none).")] = 0,
    seed: SeedOpt = None,
    interval: Annotated[Interval, typer.Option(help="Intervals from the linearisation or the bootstrap.")] = (
        Interval.linear
    ),
    cld: Annotated[
        Path | None, typer.Option(help="Community mode: CLD signals by council (council-funded home care).")
    ] = None,
    area: Annotated[
        str, typer.Option(help="Community mode: the area-code column of both files.")
    ] = "council_code",
    estimate: Annotated[
        str, typer.Option(help="Community mode: people receiving home care.")
    ] = "home_care_users",
    se: Annotated[str, typer.Option(help="Community mode: its standard error.")] = "home_care_users_se",
    funded: Annotated[
        str, typer.Option(help="Community mode: the CLD column of council-funded people.")
    ] = "home_care_council_funded",
    funded_se: Annotated[str | None, typer.Option(help="Community mode: an SE of the funded count.")] = None,
    level: LevelOpt = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Self-funders in care homes by council (share, count, weekly fee), or in the community with --cld."""
    from carepop.measures.self_funders import community_self_funders, self_funders_in_care_homes

    fmt_args = (input_format, encoding, sep)
    if (cld is None) == (directory is None):
        raise CarepopError(
            "Give --directory (care homes) or --cld (community self-funders): one of them.",
            code="bad_option",
            fix="give --directory FILE for a survey of care homes, or --cld FILE with home-care users",
        )
    second = [("cld", cld)] if cld is not None else [("directory", directory)]
    fmt = prepare(format, out, inputs=[(None, data), *second], what="the self-funders")
    if cld is not None:
        result = community_self_funders(
            _read(data, fmt_args),
            _read(cld, (None, encoding, sep)),
            area=area,
            estimate=estimate,
            se=se,
            funded=funded,
            funded_se=funded_se,
            seed=seed,
            level=level,
        )
        title = "community self-funders"
    else:
        result = self_funders_in_care_homes(
            _read(data, fmt_args),
            _read(directory, (None, encoding, sep)),
            cells=_columns(cells),
            council=council,
            beds=beds,
            residents=residents,
            self_funders=self_funders,
            share=share,
            fee=fee,
            directory_homes=directory_homes,
            min_homes=min_homes,
            covariates=_columns(covariates),
            boot=boot,
            seed=seed,
            interval=interval.value,
            level=level,
        )
        title = "self-funders in care homes"
    emit(result.to_pandas(), fmt, out, title=title, wrote=f"wrote {len(result)} rows to {out}")
    _notes(result.notes)


@command(aliases=READ_ALIASES)
def workforce(
    data: Annotated[
        Path | None, typer.Argument(help="Establishment returns (one row per responding location).")
    ] = None,
    register: Annotated[Path | None, typer.Option(help="The register of locations (or cell counts).")] = None,
    cells: Annotated[
        str, typer.Option(help="Weighting cells, comma-separated columns.")
    ] = "council_code,service,employer_type",
    area: Annotated[str, typer.Option(help="The areas to estimate for (one of the cells).")] = "council_code",
    filled: Annotated[str, typer.Option(help="Filled posts of each location.")] = "filled_posts",
    vacancies: Annotated[str, typer.Option(help="Vacancies of each location.")] = "vacancies",
    locations: Annotated[
        str | None, typer.Option(help="The register's count of locations per row, when it holds cell counts.")
    ] = None,
    variance: Annotated[Variance, typer.Option(help="The design of the variance.")] = Variance.stratified,
    lonely_psu: Annotated[
        str, typer.Option(help="A cell with one respondent: adjust, certainty, remove, fail.")
    ] = ("adjust"),
    pa_recipients: Annotated[float | None, typer.Option(help="Direct-payment recipients (PA mode).")] = None,
    pa_recipients_se: Annotated[float, typer.Option(help="Its SE (0: known).")] = 0.0,
    pa_share: Annotated[float | None, typer.Option(help="Share of recipients employing staff (0-1).")] = None,
    pa_share_se: Annotated[float, typer.Option(help="Its SE.")] = 0.0,
    pa_per_employer: Annotated[float | None, typer.Option(help="PAs per employing recipient.")] = None,
    pa_per_employer_se: Annotated[float, typer.Option(help="Its SE.")] = 0.0,
    pa_method: Annotated[PAMethod, typer.Option(help="Interval of the PA posts.")] = PAMethod.delta,
    boot: Annotated[int, typer.Option(help="Bootstrap draws (PA mode, --pa-method bootstrap).")] = 2000,
    seed: SeedOpt = None,
    level: LevelOpt = 0.95,
    format: FormatOpt = None,
    out: OutOpt = None,
    encoding: EncodingOpt = None,
    sep: SepOpt = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Filled posts, vacancies and the vacancy rate by council (coverage-weighted), or PA posts."""
    from carepop.measures.workforce import personal_assistant_posts, workforce_by_area

    pa = (pa_recipients, pa_share, pa_per_employer)
    if any(v is not None for v in pa):
        if data is not None or register is not None or any(v is None for v in pa):
            raise CarepopError(
                "PA posts need --pa-recipients, --pa-share and --pa-per-employer (and no returns).",
                code="bad_option",
                fix="give the three --pa-* values alone, or the returns with --register",
            )
        fmt = prepare(format, out, what="the PA posts")
        result = personal_assistant_posts(
            pa_recipients,
            pa_share,
            pa_per_employer,
            recipients_se=pa_recipients_se,
            share_employing_se=pa_share_se,
            pas_per_employer_se=pa_per_employer_se,
            method=pa_method.value,
            boot=boot,
            seed=seed,
            level=level,
        )
        title = "personal-assistant posts"
    else:
        if data is None or register is None:
            raise CarepopError(
                "The workforce needs the establishment returns and --register (or the --pa-* values).",
                code="bad_option",
                fix="give RETURNS --register FILE",
            )
        fmt = prepare(format, out, inputs=[(None, data), ("register", register)], what="the workforce")
        result = workforce_by_area(
            _read(data, (input_format, encoding, sep)),
            _read(register, (None, encoding, sep)),
            cells=_columns(cells),
            area=area,
            filled=filled,
            vacancies=vacancies,
            locations=locations,
            variance=variance.value,
            lonely_psu=lonely_psu,
            level=level,
        )
        title = "workforce"
    emit(result.to_pandas(), fmt, out, title=title, wrote=f"wrote {len(result)} rows to {out}")
    _notes(result.notes)
