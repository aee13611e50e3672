"""What every ``carepop`` command shares: failing cleanly, in the command line's own terms.

Bad input prints ``error: <message, column, rows, got, expected, fix>`` and exits with status 2
(never a traceback). An option named in the fix is shown as this command's flag (``--harmonise``),
not as the library's parameter (``harmonise=True``): :func:`command` reads the command's flags
from its signature and renders every :class:`~carepop.errors.CarepopError` with them.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import typer
from typer.models import ArgumentInfo, OptionInfo

from carepop.errors import CarepopError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INPUT = 2


def flags_of(fn: Callable[..., Any]) -> dict[str, str]:
    """``parameter name -> long flag`` of a Typer command function (``lonely_psu`` ->
    ``--lonely-psu``; an explicit ``typer.Option("--rep-method")`` wins)."""
    sig = typing.get_type_hints(fn, include_extras=True)
    out: dict[str, str] = {}
    for name, ann in sig.items():
        if name == "return":
            continue
        meta = getattr(ann, "__metadata__", ())
        if any(isinstance(m, ArgumentInfo) for m in meta):
            continue
        flag = "--" + name.replace("_", "-")
        for m in meta:
            if isinstance(m, OptionInfo):
                # inside Annotated, typer takes a first positional "--name" as a declaration
                given = [m.default] if isinstance(m.default, str) else []
                decls = [d.split("/")[0] for d in [*given, *(m.param_decls or ())] if d.startswith("--")]
                if decls:
                    flag = decls[0]
        out[name] = flag
    return out


def fail(err: CarepopError, flags: Mapping[str, str] | None = None) -> typing.NoReturn:
    """Print ``err`` for the user (options as ``flags`` name them) and exit with status 2."""
    lookup = dict(flags or {})
    typer.echo(f"error: {err.render(lookup.get)}", err=True)
    raise typer.Exit(EXIT_INPUT)


@contextmanager
def cli_errors(flags: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn a :class:`CarepopError` raised inside the block into :func:`fail`."""
    try:
        yield
    except CarepopError as err:
        fail(err, flags)


def command(fn: Callable[..., Any] | None = None, *, aliases: Mapping[str, str] | None = None):
    """Decorate a command function: any :class:`CarepopError` it raises is printed with the
    command's own flags (``aliases`` maps library parameter names to this command's parameter
    names where they differ, e.g. ``{"path": "out"}``) and exits with status 2."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        own = flags_of(f)
        flags = dict(own)
        for lib_name, cli_name in (aliases or {}).items():
            if cli_name in own:
                flags[lib_name] = own[cli_name]

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with cli_errors(flags):
                return f(*args, **kwargs)

        return wrapper

    return decorate(fn) if fn is not None else decorate
