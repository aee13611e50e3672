"""``carepop cld check|summarise``."""

from __future__ import annotations

import typer

cld_app = typer.Typer(no_args_is_help=True, help="Client-level data: check and summarise event files.")
