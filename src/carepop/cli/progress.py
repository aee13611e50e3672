"""Progress bars for the library's slow work (:mod:`carepop.core.progress`), drawn with rich on
stderr, and only when both stdout and stderr are terminals: a redirected or piped run (a script, a
CI log, ``> result.csv``) shows none. ``CAREPOP_PROGRESS=0`` turns them off, ``=1`` on."""

from __future__ import annotations

import os
import sys
from typing import Any


class RichDisplay:
    """A :class:`carepop.core.progress.Display` on a rich console: one bar per running task;
    the bars disappear when the last task finishes."""

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._progress: Any = None
        self._running = 0

    def start(self, description: str, total: int | None) -> object:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            console = self._console or Console(stderr=True)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
        self._running += 1
        task = self._progress.add_task(description, total=total)
        self._progress.refresh()  # draw every step at least once, however quick
        return task

    def advance(self, task: object, steps: int) -> None:
        if self._progress is not None:
            self._progress.advance(task, steps)

    def finish(self, task: object) -> None:
        if self._progress is None:
            return
        self._progress.remove_task(task)
        self._running -= 1
        if self._running <= 0:
            self._progress.stop()
            self._progress = None
            self._running = 0


def wants_progress(stdout: Any = None, stderr: Any = None) -> bool:
    """Whether to draw progress bars: both streams are terminals (or ``CAREPOP_PROGRESS`` says)."""
    setting = os.environ.get("CAREPOP_PROGRESS", "").strip().lower()
    if setting in ("0", "no", "off", "false"):
        return False
    if setting in ("1", "yes", "on", "true"):
        return True
    out, err = stdout or sys.stdout, stderr or sys.stderr
    return bool(_isatty(out) and _isatty(err))


def terminal_display() -> RichDisplay | None:
    """A display for the command's run, or None when progress is not wanted."""
    return RichDisplay() if wants_progress() else None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
