"""What every ``carepop`` command shares: failing cleanly, in the command line's own terms.

Bad input prints ``error: <message, column, rows, got, expected, fix>`` and exits with status 2
(never a traceback). An option named in the fix is shown as this command's flag (``--harmonise``),
not as the library's parameter (``harmonise=True``): :func:`command` reads the command's flags
from its signature and renders every :class:`~carepop.errors.CarepopError` with them.

:func:`command` also

- shows the library's warnings as ``warning: ...`` lines on stderr, once each, and keeps numpy's
  floating-point RuntimeWarnings (and deprecation notices of dependencies) away from the user;
- shows progress bars for slow library work when the output is a terminal
  (:mod:`carepop.cli.progress`);
- turns an operating-system error (a file that cannot be read or written) into ``error: ...``.

:class:`App` is the Typer application class of every command group: its commands refuse an
option given twice when it takes one value (``--mean a --mean b``: the last would silently win),
and its help shows flags without a ``<bool>`` type.
"""

from __future__ import annotations

import functools
import typing
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import typer
from typer._click import Context, Parameter
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperCommand, TyperGroup
from typer.core import TyperOption as Option
from typer.models import ArgumentInfo, OptionInfo

from carepop.errors import CarepopError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_INPUT = 2


# ------------------------------------------------------------------------------ commands and groups
def _plain_flags(params: list[Parameter]) -> list[Parameter]:
    """Flags take no value: show no type for them in the help (typer shows ``<bool>``)."""
    for p in params:
        if isinstance(p, Option) and p.is_flag and p.metavar is None:
            p.metavar = ""
    return params


def _given(args: list[str], opt: Option) -> list[str]:
    """The values given to ``opt`` in ``args`` (for the message about a repeated option)."""
    names = [*opt.opts, *opt.secondary_opts]
    out = []
    for i, tok in enumerate(args):
        if tok == "--":
            break
        for name in names:
            if tok == name:
                out.append(name if opt.is_flag else (args[i + 1] if i + 1 < len(args) else ""))
            elif tok.startswith(name + "=") and name.startswith("--"):
                out.append(tok.split("=", 1)[1])
    return out


def refuse_repeated_options(command: Any, ctx: Context, args: list[str]) -> None:
    """Raise a usage error (exit 2) when an option that takes one value is given more than once."""
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    except ClickException:
        return  # the real parse reports it
    counts = Counter(id(p) for p in order)
    for p in command.get_params(ctx):
        if not isinstance(p, Option) or p.multiple or p.count or p.name == "help":
            continue
        if counts[id(p)] > 1:
            flag = max(p.opts, key=len)
            values = _given(args, p)
            shown = f" ({', '.join(map(repr, values))})" if values and not p.is_flag else ""
            raise UsageError(
                f"{flag} was given {counts[id(p)]} times{shown}; it takes one value: give it once.",
                ctx,
            )


def _unwrap(text: str | None) -> str | None:
    """Docstring paragraphs as one line each (typer's rich help keeps the source's line breaks)."""
    if not text:
        return text
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in par.splitlines()) for par in paragraphs)


class Command(TyperCommand):
    """A typer command that refuses repeated single-value options and shows flags plainly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = _unwrap(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            refuse_repeated_options(self, ctx, args)
        return super().parse_args(ctx, args)

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain_flags(super().get_params(ctx))


class Group(TyperGroup):
    """A typer group whose help shows flags (``--version``, ``--help``) without a type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = _unwrap(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain_flags(super().get_params(ctx))


class App(typer.Typer):
    """``typer.Typer`` whose commands are :class:`Command` and whose groups are :class:`Group`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any):
        return super().command(name, cls=cls or Command, **kwargs)


# ------------------------------------------------------------------------------ flags and errors
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


def _os_error(err: OSError) -> CarepopError:
    where = f"{str(err.filename)!r}: " if err.filename else ""
    return CarepopError(
        f"{where}{err.strerror or err}.",
        code="os_error",
        fix="check the path, that the file exists and that you may read (or write) it",
    )


# ------------------------------------------------------------------------------ warnings
#: what numpy's floating-point and empty-slice RuntimeWarnings say (their category is plain
#: RuntimeWarning and their location is the caller's line, so the text is what tells them apart)
_NUMPY_NOTES = (
    "encountered in",
    "Mean of empty slice",
    "empty slice",
    "Degrees of freedom <= 0",
    "All-NaN slice",
)


def _is_noise(w: warnings.WarningMessage) -> bool:
    """numpy's floating-point notes and dependencies' deprecation notices: not for the user.
    Any other warning (carepop's, or a RuntimeWarning carepop raises itself) is shown."""
    cat = w.category
    if cat.__module__.startswith("carepop"):
        return False
    if issubclass(cat, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        return True
    return issubclass(cat, RuntimeWarning) and any(note in str(w.message) for note in _NUMPY_NOTES)


def show_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print each warning the user should see as ``warning: ...`` on stderr (once), then forget them."""
    seen: set[str] = set()
    for w in caught:
        text = str(w.message).strip()
        if _is_noise(w) or text in seen:
            continue
        seen.add(text)
        typer.echo(f"warning: {text}", err=True)
    caught.clear()


# ------------------------------------------------------------------------------ the decorator
def command(fn: Callable[..., Any] | None = None, *, aliases: Mapping[str, str | None] | None = None):
    """Decorate a command function: any :class:`CarepopError` it raises is printed with the
    command's own flags and exits with status 2; warnings are shown as ``warning: ...``; slow
    library work shows a progress bar on a terminal.

    ``aliases`` maps library parameter names to this command's parameter names where they differ
    (e.g. ``{"path": "out"}``); ``None`` says the command has no option for that parameter (its
    name is then shown as the library's)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        own = flags_of(f)
        flags = dict(own)
        for lib_name, cli_name in (aliases or {}).items():
            if cli_name is None:
                flags.pop(lib_name, None)
            elif cli_name in own:
                flags[lib_name] = own[cli_name]

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from carepop.cli.progress import terminal_display
            from carepop.core.progress import showing

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with showing(terminal_display()):
                        return f(*args, **kwargs)
                except CarepopError as err:
                    show_warnings(caught)
                    fail(err, flags)
                except OSError as err:
                    show_warnings(caught)
                    fail(_os_error(err), flags)
                finally:
                    show_warnings(caught)

        return wrapper

    return decorate(fn) if fn is not None else decorate
