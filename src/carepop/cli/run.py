"""``carepop run CONFIG.toml``: the whole chain from a config file (:mod:`carepop.pipeline.run`).

carepop run CONFIG [--out FOLDER]
carepop run --init CONFIG        writes a commented starter config (never over an existing file)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.errors import CarepopError


@command
def run(
    config: Annotated[Path, typer.Argument(help="The run's config (TOML).", show_default=False)],
    out: Annotated[
        Path | None, typer.Option(help="The output folder (default: [run] out in the config).")
    ] = None,
    init: Annotated[bool, typer.Option("--init", help="Write a commented starter config to CONFIG.")] = False,
) -> None:
    """Run the whole chain from a config: tables, plots, report.html and manifest.json in one folder."""
    if init:
        from carepop.io.writers import write_text_atomic
        from carepop.pipeline.demo import starter_config

        if config.exists():
            raise CarepopError(
                f"{str(config)!r} exists; --init never overwrites a file.",
                code="cannot_write",
                got=str(config),
                fix="give --init a new file name",
            )
        write_text_atomic(config, starter_config(), param="config")
        typer.echo(f"wrote a starter config to {config}: edit the [inputs] files, then carepop run {config}")
        return
    from carepop.pipeline.run import run as run_config

    result = run_config(config, out=out, progress=lambda msg: typer.echo(f"{msg} ...", err=True))
    report = result.out / "report.html"
    typer.echo(f"wrote {len(result.tables)} tables to {result.out}/")
    if report.exists():
        typer.echo(f"report: {report} (open it in a web browser; it needs no network)")
