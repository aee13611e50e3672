"""``carepop demo``: the whole chain on bundled data, with no set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from carepop.cli.common import command


@command
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("carepop-demo"),
    seed: Annotated[int, typer.Option(help="Random seed for the synthetic survey.")] = 2021,
) -> None:
    """Draw a synthetic carers survey from Census 2021 and estimate carers by local authority."""
    from carepop.pipeline.demo import run_demo

    run_demo(out, seed=seed)
