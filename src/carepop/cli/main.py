"""The ``carepop`` command: one Typer app, each command group from its own module."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from carepop.cli.capture import capture_app
from carepop.cli.census import census_app
from carepop.cli.cld import cld_app
from carepop.cli.common import EXIT_INPUT, App
from carepop.cli.demo import demo
from carepop.cli.disclose import disclose
from carepop.cli.estimate import estimate
from carepop.cli.measure import measure_app
from carepop.cli.measure_need import unmet_need
from carepop.cli.measure_supply import self_funders, workforce
from carepop.cli.project import project
from carepop.cli.questionnaire import questionnaire_app
from carepop.cli.run import run
from carepop.cli.sae import sae_app
from carepop.cli.sampling import design_app
from carepop.cli.weight import weight
from carepop.errors import CarepopError

app = App(help="Survey statistics and population estimation for adult social care in England.")


def _version(value: bool) -> None:
    if value:
        from carepop import __version__

        typer.echo(f"carepop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Survey statistics and population estimation for adult social care in England."""


app.command()(estimate)
app.command()(weight)
app.add_typer(design_app, name="design")
app.add_typer(questionnaire_app, name="questionnaire")
app.add_typer(census_app, name="census")
app.add_typer(cld_app, name="cld")
app.add_typer(sae_app, name="sae")
measure_app.command("unmet-need")(unmet_need)
measure_app.command("self-funders")(self_funders)
measure_app.command("workforce")(workforce)
app.add_typer(measure_app, name="measure")
app.add_typer(capture_app, name="capture")
app.command("project")(project)
app.command()(demo)
app.command("disclose")(disclose)
app.command("run")(run)


def main() -> None:
    try:
        app()
    except CarepopError as err:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INPUT)
