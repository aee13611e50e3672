"""Data governance of a run: read only the columns an analysis declares, and let no person
identifier (or a hashed one) reach any output.

- :func:`refuse_identifiers` refuses a column whose *name* says it identifies a person (NHS number,
  name, date of birth, postcode, address, e-mail, telephone, person/patient/client ID, pseudonym or
  hash) — in the columns a run would read and in every table it would write;
- :func:`refuse_hashed_values` refuses a text column of an output whose values look like keyed
  hashes or pseudonyms (32–128 hexadecimal characters, as HMAC-SHA-256 digests are).

A refused column is an error naming it and the fix; nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from carepop.errors import CarepopError

#: column names that identify people (compared in lower case, ignoring spaces, dots and hyphens)
IDENTIFIER_NAMES = re.compile(
    r"(^|_)(nhs_?(number|no|num)|chi_?(number|no)|ni_?(number|no)|national_?insurance"
    r"|person_?id|patient_?id|client_?id|der_?nhs|pseudo|hash(ed)?_?id|uprn"
    r"|first_?name|fore_?name|sur_?name|last_?name|full_?name|name_?of_?person"
    r"|date_?of_?birth|dob|birth_?date|post_?code|address|e_?mail|tele?phone|mobile)($|_)"
)
_HEX = re.compile(r"^[0-9a-fA-F]{32,128}$")


def _norm(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", str(name).strip().lower())


def is_identifier(name: str) -> bool:
    """Whether a column name says it identifies a person (module docstring)."""
    return bool(IDENTIFIER_NAMES.search(_norm(name)))


def refuse_identifiers(columns: Iterable[str], *, where: str, fix: str) -> None:
    """A CarepopError for the first column in ``columns`` that names a person identifier."""
    bad = [c for c in columns if is_identifier(c)]
    if bad:
        raise CarepopError(
            f"{where}: the column {bad[0]!r} identifies people; carepop does not read or publish "
            "person identifiers (or hashes of them).",
            code="identifier_column",
            column=bad[0],
            got=bad,
            fix=fix,
        )


def refuse_hashed_values(table: pd.DataFrame, *, where: str) -> None:
    """A CarepopError when a text column of ``table`` holds hash-like values (module docstring)."""
    for col in table.columns:
        values = table[col]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.dropna().astype(str)
        if len(text) and text.str.fullmatch(_HEX).mean() > 0.5:
            raise CarepopError(
                f"{where}: the column {col!r} holds hashed identifiers; they are never published.",
                code="identifier_column",
                column=str(col),
                fix="leave the column out of the analysis (a linkage key belongs in carepop capture "
                "link only)",
            )
