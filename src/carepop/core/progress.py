"""Progress of long work, reported by the library and shown by whoever is listening.

Library code that may take more than a couple of seconds (replicate weighting, large CLD files,
simulations) wraps its loop in :func:`progress`::

    with progress("replicate weights", total=R) as advance:
        for r in range(R):
            ...
            advance()

Nothing is shown unless a caller has installed a display with :func:`showing` (the command line
installs a rich progress bar when its output is a terminal); the library itself never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Display(Protocol):
    """What a progress display does: start a task, move it on, finish it."""

    def start(self, description: str, total: int | None) -> object: ...

    def advance(self, task: object, steps: int) -> None: ...

    def finish(self, task: object) -> None: ...


_display: ContextVar[Display | None] = ContextVar("carepop_progress_display", default=None)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A task of ``total`` steps (None if unknown); yields ``advance(steps=1)``."""
    display = _display.get()
    if display is None:
        yield _nothing
        return
    task = display.start(description, total)
    try:
        yield lambda steps=1: display.advance(task, steps)
    finally:
        display.finish(task)


@contextmanager
def showing(display: Display | None) -> Iterator[None]:
    """Show the progress of the library's work inside the block on ``display``."""
    token = _display.set(display)
    try:
        yield
    finally:
        _display.reset(token)


def _nothing(steps: int = 1) -> None:
    return None
