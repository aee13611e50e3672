"""Which CLD release a file follows: Release 1 (2023-24 and 2024-25 returns) or Release 2 (the
2024-25 specification councils submit from 2025, with new wordings of event outcomes, service
types, client types, ethnicity, ...; see :mod:`carepop.sources.cld.schema`).

:func:`resolve_release` reads the distinct values of every code field (one small query) and counts
the records whose wording belongs to one release only (exact spelling): the release with more such
records is the file's; a file with none (every wording the same in both) is read as Release 1.
Given a release (``release="r2"``, ``--release r2``), the file is checked against it, and a file
that uses only the other release's wordings is refused (``release_mismatch``), naming the column,
the wordings and rows that show it. A file mixing both keeps the given (or the majority) release:
the minority wordings are recoded and reported by the ``other_release:<field>`` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from carepop.errors import CarepopError, opt
from carepop.sources.cld import schema
from carepop.sources.cld.engines import Engine
from carepop.sources.cld.inputs import EventFile
from carepop.sources.cld.sql import Step, base_steps, lit

__all__ = ["ReleaseFound", "check_release", "release_steps", "resolve_release"]


@dataclass(frozen=True)
class ReleaseFound:
    """The release used and the evidence: per release, ``(field, value, records, first row)`` of
    the wordings only that release has."""

    release: str
    given: bool
    only: dict[str, list[tuple[str, str, int, int]]] = field(default_factory=dict)

    def records(self, release: str) -> int:
        return sum(n for _, _, n, _ in self.only.get(release, []))


def release_steps(kinds: dict[str, str]) -> list[Step]:
    """Steps returning the distinct values of every code field: ``field``, ``val``, ``n``,
    ``first_row``."""
    parts = [
        f"SELECT {lit(f)} AS field, raw_{f} AS val, COUNT(*) AS n, MIN(_row) AS first_row FROM cld_typed "
        f"WHERE raw_{f} IS NOT NULL GROUP BY raw_{f}"
        for f in schema.CODE_FIELDS
    ]
    return [*base_steps(kinds), Step("rel_values", "\nUNION ALL\n".join(parts) + "\nORDER BY field, val")]


def check_release(release: str | None) -> str | None:
    """``release`` in lower case, or a :class:`CarepopError` naming the allowed values."""
    if release is None:
        return None
    name = str(release).strip().lower()
    if name not in schema.RELEASES:
        raise CarepopError(
            f"Unknown CLD release {release!r}.",
            code="bad_option",
            got=release,
            expected=schema.RELEASES,
            fix=("set ", opt("release", metavar="r1|r2"), " to r1 or r2, or leave it out to detect it"),
        )
    return name


def classify(values: pd.DataFrame) -> dict[str, list[tuple[str, str, int, int]]]:
    """Wordings of one release only, per release, from the result of :func:`release_steps`."""
    only: dict[str, list[tuple[str, str, int, int]]] = {"r1": [], "r2": []}
    for rec in values.itertuples(index=False):  # a few distinct values per field
        r1 = rec.val in schema.release_values(rec.field, "r1")
        r2 = rec.val in schema.release_values(rec.field, "r2")
        if r1 != r2:
            only["r1" if r1 else "r2"].append((rec.field, rec.val, int(rec.n), int(rec.first_row)))
    return only


def resolve_release(events: EventFile, engine: Engine, release: str | None = None) -> ReleaseFound:
    """The release to read ``events`` as (see the module docstring)."""
    given = check_release(release)
    label = f"reading codes of {events.source.name}"
    values = engine.run(release_steps(events.kinds), events.path, label=label)
    only = classify(values)
    n1 = sum(n for *_, n, _ in only["r1"])
    n2 = sum(n for *_, n, _ in only["r2"])
    if given is None:
        return ReleaseFound("r2" if n2 > n1 else "r1", False, only)
    other = "r1" if given == "r2" else "r2"
    if only[other] and not only[given]:
        shown = sorted(only[other], key=lambda t: t[3])[:5]
        col = shown[0][0]
        examples = "; ".join(f"{f} {v!r} (row {r}, {n} record(s))" for f, v, n, r in shown)
        raise CarepopError(
            f"{events.source.name} uses Release {other[1]} wordings only, not Release {given[1]}: "
            f"{examples}.",
            code="release_mismatch",
            column=col,
            rows=sorted({r for *_, r in shown}),
            got=given,
            expected=(other,),
            fix=(
                "give ",
                opt("release", other),
                " (or leave ",
                opt("release", metavar="r1|r2"),
                " out to detect it), or check the file is the extract you meant",
            ),
        )
    return ReleaseFound(given, True, only)
