"""``carepop questionnaire list|show|validate|export``."""

from __future__ import annotations

import typer

questionnaire_app = typer.Typer(
    no_args_is_help=True, help="Survey instruments: list, show, validate, export."
)
