"""``carepop census show``."""

from __future__ import annotations

import typer

census_app = typer.Typer(no_args_is_help=True, help="Bundled census and area tables.")
