"""One error shape: what is wrong, where, what was found, what was expected and how to fix it.

Every error carepop raises on bad input is a :class:`CarepopError` with the fields

==========  ============================================================================
``code``    a short machine-readable name (``unknown_column``, ``lonely_psu``, ...)
``column``  the column concerned, or None
``rows``    up to a few example rows, 1-based data rows (the header is not counted)
``got``     the value found, or None
``expected`` what was expected (a description, or the allowed values), or None
``fix``     how to fix it
==========  ============================================================================

A fix often names an option the user can change. It is written once, with :func:`opt`, and
shown in the caller's own terms: ``harmonise=True`` when the error reaches Python code,
``--harmonise`` when it reaches the command line (:meth:`CarepopError.render` with the
command's flags). For example::

    raise MarginError(
        "The margins add up to different population totals.",
        code="margins_disagree",
        fix=("make the margins consistent, or ", opt("harmonise", True),
             " to scale every margin to the first's total"),
    )

prints ``fix: make the margins consistent, or harmonise=True to scale ...`` from Python and
``fix: make the margins consistent, or --harmonise to scale ...`` from ``carepop weight``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: a value the user has to supply (rendered ``size=...`` / ``--size COL``)
ASK: Any = Ellipsis


@dataclass(frozen=True)
class Opt:
    """A reference to a parameter (Python) / option (CLI) inside an error's fix.

    ``value`` is what to set it to (``True``, ``False``, a string or number), or :data:`ASK`
    for "give a value"; ``metavar`` names that value on the command line (``COL``, ``N``).
    """

    name: str
    value: Any = ASK
    metavar: str = "VALUE"

    def python(self) -> str:
        if self.value is ASK:
            return f"{self.name}=..."
        return f"{self.name}={self.value!r}"

    def cli(self, flag: str) -> str:
        if self.value is True:
            return flag
        if self.value is False:
            return "--no-" + flag[2:]
        if self.value is ASK:
            return f"{flag} {self.metavar}"
        return f"{flag} {self.value}"


def opt(name: str, value: Any = ASK, metavar: str = "VALUE") -> Opt:
    """A parameter/option reference for an error's fix (see the module docstring)."""
    return Opt(name, value, metavar)


Text = str | Sequence["str | Opt"] | None
#: maps a parameter name to the command-line flag that sets it, or None when the command has none
FlagLookup = Callable[[str], "str | None"]


def render_text(text: Text, flag_of: FlagLookup | None = None) -> str | None:
    """Join the parts of a message or fix; each :class:`Opt` in Python terms, or as the CLI flag
    ``flag_of(name)`` gives (Python terms where the command has no such flag)."""
    if text is None or isinstance(text, str):
        return text
    out = []
    for part in text:
        if isinstance(part, Opt):
            flag = flag_of(part.name) if flag_of is not None else None
            out.append(part.cli(flag) if flag else part.python())
        else:
            out.append(str(part))
    return "".join(out)


class CarepopError(ValueError):
    """A problem with the user's input or request, with enough detail to fix it."""

    def __init__(
        self,
        message: Text,
        *,
        code: str = "invalid_input",
        column: str | None = None,
        rows: Sequence[Any] | None = None,
        got: Any = None,
        expected: Any = None,
        fix: Text = None,
    ) -> None:
        self._message_parts = message
        self._fix_parts = fix
        self.code = code
        self.column = column
        self.rows = [_plain(r) for r in rows] if rows is not None else None
        self.got = _plain(got)
        self.expected = expected
        super().__init__(self.render())

    @property
    def message(self) -> str:
        """The message, with any option named in Python terms."""
        return render_text(self._message_parts) or ""

    @property
    def fix(self) -> str | None:
        """The fix, with any option named in Python terms."""
        return render_text(self._fix_parts)

    def render(self, flag_of: FlagLookup | None = None) -> str:
        """The whole error as text; options in CLI terms where ``flag_of`` knows a flag."""
        parts = [render_text(self._message_parts, flag_of) or ""]
        if self.column is not None:
            parts.append(f"column: {self.column!r}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (and {len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            parts.append(f"rows: {shown}{more}")
        if self.got is not None:
            parts.append(f"got: {self.got!r}")
        if self.expected is not None:
            parts.append(f"expected: {_expected_text(self.expected)}")
        fix = render_text(self._fix_parts, flag_of)
        if fix:
            parts.append(f"fix: {fix}")
        return "\n  ".join(parts)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self, flag_of: FlagLookup | None = None) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``code, message, column, rows, got, expected, fix``)."""
        expected = self.expected
        if isinstance(expected, (tuple, list, set, frozenset)):
            expected = [_plain(v) for v in expected]
        return {
            "code": self.code,
            "message": render_text(self._message_parts, flag_of),
            "column": self.column,
            "rows": self.rows,
            "got": self.got,
            "expected": expected,
            "fix": render_text(self._fix_parts, flag_of),
        }


class DesignError(CarepopError):
    """The survey design cannot be built or cannot support the requested variance."""


class EstimationError(CarepopError):
    """An estimate cannot be computed as asked."""


class ModelError(CarepopError):
    """A small-area model cannot be fitted as asked (its inputs, or the fit itself)."""


def example_rows(index: Any, mask: np.ndarray, limit: int = 5) -> list[Any]:
    """Labels of up to ``limit`` rows where ``mask`` is true (for error messages)."""
    import numpy as np

    pos = np.flatnonzero(mask)[:limit]
    return [_plain(v) for v in np.asarray(index)[pos]]


def data_rows(mask: np.ndarray, limit: int = 5) -> list[int]:
    """1-based data-row numbers of up to ``limit`` rows where ``mask`` is true."""
    import numpy as np

    return [int(p) + 1 for p in np.flatnonzero(mask)[:limit]]


def count_rows(mask: np.ndarray) -> int:
    import numpy as np

    return int(np.count_nonzero(mask))


def _expected_text(expected: Any) -> str:
    if isinstance(expected, (tuple, list, set, frozenset)):
        return "one of " + ", ".join(str(_plain(v)) for v in expected)
    return str(expected)


def _plain(v: Any) -> Any:
    # a numpy scalar (np.int64 ...) as a plain Python value; there is none unless numpy is loaded,
    # and an error raised by the command line before any data is read need not load it
    np = sys.modules.get("numpy")
    if np is not None and isinstance(v, np.generic):
        return v.item()
    return v
