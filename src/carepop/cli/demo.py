"""``carepop demo``: the whole chain on bundled data, with no set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command
from carepop.errors import CarepopError, opt


@command
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("carepop-demo"),
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic survey.")] = 2021,
) -> None:
    """Draw a synthetic carers survey from Census 2021 and estimate carers by local authority."""
    from carepop.pipeline.demo import run_demo

    folder = out.expanduser()
    if folder.exists() and not folder.is_dir():
        raise CarepopError(
            f"{str(out)!r} is a file: the demo writes a folder of outputs.",
            code="cannot_write",
            got=str(out),
            fix=("give ", opt("out", metavar="FOLDER"), " naming a folder (it is created if needed)"),
        )
    run_demo(out, seed=seed)
