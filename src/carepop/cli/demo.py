"""``carepop demo``: the whole chain on bundled data, with no set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.errors import CarepopError, opt


@command
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's inputs, config and results.")] = Path(
        "carepop-demo"
    ),
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic inputs and the models.")] = 2021,
) -> None:
    """Carers, hidden carers, unmet need, self-funders, the workforce and projections for the 153
    councils, from synthetic surveys on the bundled census data: tables, plots and a report."""
    from carepop.pipeline.demo import run_demo

    folder = out.expanduser()
    if folder.exists() and not folder.is_dir():
        raise CarepopError(
            f"{str(out)!r} is a file: the demo writes a folder of outputs.",
            code="cannot_write",
            got=str(out),
            fix=("give ", opt("out", metavar="FOLDER"), " naming a folder (it is created if needed)"),
        )
    results = run_demo(folder, seed=seed, say=lambda msg: typer.echo(f"{msg} ...", err=True))
    report = results / "report.html"
    typer.echo(f"Tables, plots and manifest: {results}/")
    typer.echo(f"Report: {report.resolve()}")
    uri = report.resolve().as_uri()
    typer.echo(f"Open it in any web browser (it needs no network): {uri}")
    typer.echo(f"Rerun the same analysis: carepop run {folder / 'carepop.toml'}")
