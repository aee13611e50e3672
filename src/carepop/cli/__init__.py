"""The command line: the only code that imports typer; nothing imports this package.

One module per command group: :mod:`~.estimate`, :mod:`~.weight`, :mod:`~.sampling` (``carepop
design``), :mod:`~.questionnaire`, :mod:`~.census`, :mod:`~.cld`, :mod:`~.demo`; shared options in
:mod:`~.options`; failing cleanly, warnings and the command classes in :mod:`~.common`; where
results go (``--format``, ``--out``) in :mod:`~.output`; progress bars in :mod:`~.progress`;
:mod:`~.main` puts them together.
"""

from carepop.cli.main import app, main

__all__ = ["app", "main"]
