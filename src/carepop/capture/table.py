"""The input of capture–recapture: one 0/1 column per list and a count per capture pattern.

Published multiple-systems tables give the observed capture patterns (``A B C count`` with
``1 0 1 23`` meaning 23 people on lists A and C and not B). :func:`capture_table` turns such a
table into the full incomplete 2^k contingency table: every pattern with at least one 1, in a fixed
order, a pattern not listed being a zero count (a structural part of the data: a log-linear model
must fit it), and the all-zero pattern — people on no list — left out as the unobserved cell.

Order of the cells: the patterns of R Rcapture's ``histpos.t`` (the binary numbers 2^k − 1 down to
1, the first list the highest bit), so that the frequencies line up with Rcapture's ``closedp``
(``dfreq = TRUE``). Without ``count`` every row is one person (a linked person-level file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepop.errors import ModelError, data_rows, opt


@dataclass(frozen=True)
class CaptureTable:
    """The 2^k − 1 observable cells: ``patterns`` (cells, k) 0/1 ints, ``counts`` (cells,) floats."""

    lists: tuple[str, ...]
    patterns: np.ndarray
    counts: np.ndarray

    @property
    def k(self) -> int:
        return len(self.lists)

    @property
    def observed(self) -> int:
        """n: people on at least one list."""
        return int(round(float(self.counts.sum())))

    def on_list(self) -> np.ndarray:
        """(k,) the number of people on each list, n_j = Σ over patterns with list j."""
        return self.counts @ self.patterns

    def to_pandas(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.patterns, columns=list(self.lists))
        frame["count"] = self.counts
        return frame


def all_patterns(k: int) -> np.ndarray:
    """(2^k − 1, k): every capture pattern but the all-zero one, Rcapture ``histpos.t`` order."""
    codes = np.arange(2**k - 1, 0, -1)
    return ((codes[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1).astype(int)


def capture_table(data: pd.DataFrame, lists: Sequence[str], count: str | None = None) -> CaptureTable:
    """The full incomplete 2^k table from a table of capture patterns (see the module docstring).

    R equivalent: ``Rcapture::closedp.t(X, dfreq = TRUE)`` takes the same layout (without the
    zero patterns, which it fills in too).
    """
    lists = tuple(str(c) for c in lists)
    if len(lists) < 2:
        raise ModelError(
            "Capture–recapture needs at least two lists.",
            code="too_few_lists",
            got=list(lists),
            fix=("name two or more 0/1 list columns with ", opt("lists", metavar="A,B,C")),
        )
    if len(set(lists)) < len(lists):
        raise ModelError("A list is named twice.", code="duplicate_list", got=list(lists))
    for col in (*lists, *([count] if count is not None else [])):
        if col not in data.columns:
            raise ModelError(
                f"There is no column {col!r}.",
                code="unknown_column",
                column=col,
                expected=[str(c) for c in data.columns],
            )
    flags = data[list(lists)]
    for col in lists:
        values = pd.to_numeric(flags[col], errors="coerce")
        bad = ~values.isin([0, 1]).to_numpy()
        if bad.any():
            raise ModelError(
                f"The list column {col!r} must hold 0 (not on the list) or 1 (on it).",
                code="not_binary",
                column=col,
                rows=data_rows(bad),
                got=data[col].to_numpy()[bad][0],
                expected=(0, 1),
            )
    pat = flags.apply(pd.to_numeric).to_numpy(dtype=int)
    k = len(lists)
    weights = 2 ** np.arange(k - 1, -1, -1)
    code = pat @ weights
    if count is None:
        n = np.ones(len(data))
    else:
        n = pd.to_numeric(data[count], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(n) | (n < 0)
        if bad.any():
            raise ModelError(
                f"The counts in {count!r} must be numbers, zero or more.",
                code="negative_count",
                column=count,
                rows=data_rows(bad),
                got=data[count].to_numpy()[bad][0],
                expected="a count >= 0",
            )
        seen = pd.Series(code).duplicated(keep=False).to_numpy()
        if seen.any():
            raise ModelError(
                "A capture pattern is listed twice; give each pattern once with its count.",
                code="duplicate_pattern",
                rows=data_rows(seen),
                got="".join(map(str, pat[seen][0])),
                fix="add up the counts of the repeated patterns",
            )
        zero = (code == 0) & (n > 0)
        if zero.any():
            raise ModelError(
                "The pattern on no list is the unobserved cell: it cannot have a count.",
                code="unobserved_cell_given",
                column=count,
                rows=data_rows(zero),
                got=float(n[zero][0]),
                fix="drop the all-zero row (it is what is being estimated)",
            )
    keep = code > 0
    if count is None and (~keep).any():
        raise ModelError(
            "A person is on no list; every row of a person-level file must be on at least one.",
            code="unobserved_cell_given",
            rows=data_rows(~keep),
        )
    cells = np.bincount((2**k - 1) - code[keep], weights=n[keep], minlength=2**k - 1)[: 2**k - 1]
    if cells.sum() <= 0:
        raise ModelError(
            "Nobody was observed: every count is zero.",
            code="empty_table",
            column=count,
            fix="check the count column",
        )
    return CaptureTable(lists, all_patterns(k), cells.astype(float))


def from_counts(counts: dict[str, float] | Sequence[float], lists: Sequence[str]) -> CaptureTable:
    """A table from counts by pattern string (``{"110": 5, ...}``) or in ``all_patterns`` order."""
    k = len(lists)
    if isinstance(counts, dict):
        bad = [key for key in counts if len(key) != k or set(key) - {"0", "1"}]
        if bad:
            raise ModelError(
                f"A pattern must be {k} characters 0 or 1, one per list.",
                code="not_binary",
                got=bad[0],
                expected=f"{k} characters 0/1 ({', '.join(lists)})",
            )
        frame = pd.DataFrame(
            [[int(ch) for ch in key] + [value] for key, value in counts.items()],
            columns=[*lists, "__count"],
        )
        return capture_table(frame, lists, "__count")
    frame = pd.DataFrame(all_patterns(k), columns=list(lists))
    frame["__count"] = list(counts)
    return capture_table(frame, lists, "__count")
