"""Errors that tell the user what is wrong, where, and how to fix it.

Every error carepop raises on bad input is a :class:`CarepopError` carrying a short ``code``,
the ``column`` concerned, a few example ``rows`` and a ``hint``. The CLI prints these without a
traceback and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class CarepopError(ValueError):
    """A problem with the user's input or request, with enough detail to fix it."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_input",
        column: str | None = None,
        rows: Sequence[Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.column = column
        self.rows = list(rows) if rows is not None else None
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [self.message]
        if self.column is not None:
            parts.append(f"column: {self.column!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (and {len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            parts.append(f"rows: {shown}{more}")
        if self.hint:
            parts.append(f"fix: {self.hint}")
        return "\n  ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "column": self.column,
            "rows": self.rows,
            "hint": self.hint,
        }


class DesignError(CarepopError):
    """The survey design cannot be built or cannot support the requested variance."""


class EstimationError(CarepopError):
    """An estimate cannot be computed as asked."""


def example_rows(index: Any, mask: np.ndarray, limit: int = 5) -> list[Any]:
    """Labels of up to ``limit`` rows where ``mask`` is true (for error messages)."""
    pos = np.flatnonzero(mask)[:limit]
    return [_plain(v) for v in np.asarray(index)[pos]]


def count_rows(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v
