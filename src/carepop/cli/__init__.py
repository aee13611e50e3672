"""The command line: the only code that imports typer; nothing imports this package.

One module per command group: :mod:`~.estimate`, :mod:`~.weight`, :mod:`~.sampling` (``carepop
design``), :mod:`~.questionnaire`, :mod:`~.census`, :mod:`~.cld`, :mod:`~.demo`; shared options in
:mod:`~.options`, failing cleanly in :mod:`~.common`; :mod:`~.main` puts them together.
"""

from carepop.cli.main import app, main

__all__ = ["app", "main"]
