"""Link person-level lists by a keyed hash, and keep only the capture-pattern table.

Multiple-systems estimation needs to know, for each person, which lists they are on; it does not
need to know who they are. :func:`link_lists` replaces each person's identifier by
``HMAC-SHA-256(key, identifier)`` with a key only the user holds (:func:`read_key`), finds the
same hash in several lists, and returns

- ``table``: the capture-pattern contingency table, one row per observed pattern, one 0/1 column
  per list (in the order given) and a ``count`` column (:data:`COUNT`), rows in binary order of
  the pattern (``0..01`` first, ``1..1`` last): the layout ``carepop capture estimate`` reads;
- ``report``: rows read, rows whose identifier is unusable (1-based row numbers, by reason),
  duplicates within a list (the same hash twice: merged, counted), people per list, how many of
  them are on another list (the match rate), and the pairwise overlaps;
- ``links`` (only with ``keep_links=True``): one row per person, the hash (``link_hash``) and the
  0/1 columns, sorted by hash. It is person-level (pseudonymous, not anonymous): ask for it only
  when you need it.

The key and the identifiers (ids, names, dates of birth, postcodes) never reach any of these.

Identifier
----------
Either one pseudonymised identifier column (``id=``), or name + date of birth + postcode
(``name=``, ``dob=``, ``postcode=``; ``name`` may be several columns, e.g. forename and surname,
joined in the order given). Each value is normalised before hashing:

==========  ===================================================================================
id          the text of the value with surrounding spaces removed, otherwise exact (case and
            inner characters kept); an integral number as its digits (``123.0`` -> ``123``)
name        Unicode NFKD, case-folded, NFKD again; then everything that is not a letter or a
            digit is removed: accents (combining marks), punctuation, spaces, hyphens,
            apostrophes (``"O'Brien-José "`` -> ``obrienjose``)
dob         parsed with ``dob_format`` (a :func:`~datetime.datetime.strptime` format, default
            ISO ``%Y-%m-%d``; a date or datetime column is taken as is) and written as ISO 8601
            ``YYYY-MM-DD`` (the time of day is dropped)
postcode    Unicode NFKC, upper-cased, every space removed (``"sw1a 1aa"`` -> ``SW1A1AA``)
==========  ===================================================================================

A row is unusable when its id is missing or blank, or (name mode) when its name is empty after
normalisation, its date of birth is missing, its date of birth does not parse with the format, or
its postcode is missing or blank (with several name columns, each must be present). Unusable
rows are left out of the table and named in the report.

The hashed message (UTF-8) is ``carepop-link/1 US id US <id>`` or
``carepop-link/1 US name-dob-postcode US <name> US <dob> US <postcode>`` where US is the unit
separator ``\\x1f`` (a character normalisation removes, so the fields cannot run into each
other). Lists hashed with the same key and rules in separate runs link.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt

__all__ = ["COUNT", "LINK_HASH", "MIN_KEY_BYTES", "LinkResult", "LinkWarning", "link_lists", "read_key"]

#: the count column of the capture-pattern table
COUNT = "count"
#: the hash column of the (optional) link file
LINK_HASH = "link_hash"
#: the shortest key accepted (256 bits)
MIN_KEY_BYTES = 32
#: default date-of-birth format (ISO 8601)
DEFAULT_DOB_FORMAT = "%Y-%m-%d"

_PREFIX = "carepop-link/1"
_US = "\x1f"


class LinkWarning(UserWarning):
    """Something in the linkage the user should look at (e.g. two lists with no one in common)."""


@dataclass(frozen=True)
class LinkResult:
    """The capture-pattern table, the match-rate report and (if asked) the hashed link file."""

    table: pd.DataFrame
    report: dict[str, Any]
    links: pd.DataFrame | None = field(default=None, repr=False)


# ------------------------------------------------------------------------------ the key
def read_key(path: str | os.PathLike[str]) -> bytes:
    """The linkage key: the bytes of the file ``path`` with surrounding whitespace (spaces, tabs,
    line ends) removed, at least :data:`MIN_KEY_BYTES` of them.

    Make one with ``python -c "import secrets; print(secrets.token_hex(32))" > link.key`` (64 hex
    characters, 256 bits) and keep it apart from the data. The key's bytes are never shown in an
    error, only its length."""
    p = Path(path).expanduser()
    if not p.exists():
        raise CarepopError(
            f"No key file {str(p)!r}.",
            code="key_file_not_found",
            fix=("give ", opt("key_file", metavar="FILE"), " naming the file that holds your linkage key"),
        )
    if not p.is_file():
        raise CarepopError(
            f"The key file {str(p)!r} is not a file.",
            code="key_file_not_found",
            fix=("give ", opt("key_file", metavar="FILE"), " naming the file itself"),
        )
    key = p.read_bytes().strip()
    check_key(key)
    return key


def check_key(key: Any) -> None:
    """Refuse a key that is not bytes or is shorter than :data:`MIN_KEY_BYTES` (its value is never
    shown)."""
    if not isinstance(key, bytes | bytearray):
        raise CarepopError(
            "The linkage key must be bytes.",
            code="bad_key",
            got=type(key).__name__,
            expected="bytes",
            fix="read it with carepop.capture.link.read_key(path)",
        )
    if len(key) < MIN_KEY_BYTES:
        raise CarepopError(
            f"The linkage key is {len(key)} bytes long: too short to keep the identifiers secret.",
            code="key_too_short",
            got=f"{len(key)} bytes",
            expected=f"at least {MIN_KEY_BYTES} bytes",
            fix='make a new key, e.g. python -c "import secrets; print(secrets.token_hex(32))" > link.key',
        )


# ------------------------------------------------------------------------------ linking
def link_lists(
    frames: Mapping[str, pd.DataFrame] | Sequence[tuple[str, pd.DataFrame]],
    *,
    key: bytes,
    id: str | None = None,
    name: str | Sequence[str] | None = None,
    dob: str | None = None,
    postcode: str | None = None,
    dob_format: str | None = None,
    keep_links: bool = False,
) -> LinkResult:
    """Link person-level lists by a keyed hash; return the capture-pattern table and a report.

    ``frames`` maps each list's name to its rows (or is a sequence of ``(name, frame)`` pairs; a
    name given twice is refused). Give ``id`` (one pseudonymised identifier column) or all of
    ``name``, ``dob`` and ``postcode`` (see the module docstring for the normalisation rules).

    Raises :class:`~carepop.errors.CarepopError`: ``too_few_lists``, ``duplicate_list``,
    ``bad_list_name``, ``bad_option``, ``unknown_column``, ``no_usable_rows``, ``bad_key``,
    ``key_too_short``.
    """
    check_key(key)
    pairs = list(frames.items()) if isinstance(frames, Mapping) else list(frames)
    names = _check_names([n for n, _ in pairs])
    mode, columns = _check_mode(id, name, dob, postcode, dob_format)
    fmt = dob_format or DEFAULT_DOB_FORMAT

    messages, list_of_row, per_list = [], [], []
    for idx, (list_name, frame) in enumerate(pairs):
        _check_columns(list_name, frame, columns)
        message, reasons = _messages(frame, mode, id, name, dob, postcode, fmt)
        usable = message.notna().to_numpy()
        if not usable.any():
            raise _no_usable(list_name, len(frame), reasons, mode)
        messages.append(message[usable].to_numpy(dtype=object))
        list_of_row.append(np.full(int(usable.sum()), idx, dtype=np.int64))
        per_list.append((list_name, len(frame), usable, reasons))

    all_messages = np.concatenate(messages)
    codes, uniques = pd.factorize(all_messages)
    digests = np.array([_hmac(key, m) for m in uniques], dtype=object)  # unique values only
    lists = np.concatenate(list_of_row)
    k = len(names)
    member = np.zeros((len(uniques), k), dtype=np.int64)
    member[codes, lists] = 1

    table = _pattern_table(member, names)
    report = _report(per_list, codes, lists, member, names, mode, fmt, len(table))
    _warn_disjoint(report)
    links = None
    if keep_links:
        links = pd.DataFrame(member, columns=names)
        links.insert(0, LINK_HASH, digests)
        links = links.sort_values(LINK_HASH, kind="stable").reset_index(drop=True)
    return LinkResult(table=table, report=report, links=links)


def _hmac(key: bytes, message: str) -> str:
    return hmac.new(bytes(key), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _pattern_table(member: np.ndarray, names: list[str]) -> pd.DataFrame:
    """One row per observed capture pattern (binary order), 0/1 per list and the count."""
    k = len(names)
    weights = 1 << np.arange(k - 1, -1, -1, dtype=np.int64)  # first list = most significant bit
    code = member @ weights
    counts = np.bincount(code, minlength=1 << k)
    seen = np.flatnonzero(counts)
    bits = (seen[:, None] >> np.arange(k - 1, -1, -1)) & 1
    table = pd.DataFrame(bits.astype(np.int64), columns=names)
    table[COUNT] = counts[seen].astype(np.int64)
    return table


# ------------------------------------------------------------------------------ checks
def _check_names(names: list[Any]) -> list[str]:
    if len(names) < 2:
        raise CarepopError(
            f"Linking needs at least two lists; got {len(names)}.",
            code="too_few_lists",
            got=len(names),
            expected="2 or more lists",
            fix="give two or more list files",
        )
    for n in names:
        if not isinstance(n, str) or not n.strip() or n == COUNT:
            raise CarepopError(
                f"{n!r} cannot name a list: it becomes a column of the table beside {COUNT!r}.",
                code="bad_list_name",
                got=n,
                fix=("give each list a non-empty name other than ", repr(COUNT), " with ", opt("names")),
            )
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]
    if twice:
        raise CarepopError(
            f"The list name {twice[0]!r} is given twice; each list needs its own column.",
            code="duplicate_list",
            got=twice[0],
            fix=("give each list its own name with ", opt("names", metavar="A,B,C")),
        )
    return list(names)


def _check_mode(
    id: str | None, name: Any, dob: str | None, postcode: str | None, dob_format: str | None
) -> tuple[str, list[str]]:
    name_cols = [name] if isinstance(name, str) else list(name or [])
    person = {"name": name_cols or None, "dob": dob, "postcode": postcode}
    given = [k for k, v in person.items() if v is not None]
    if id is not None and given:
        raise CarepopError(
            "Give either an identifier column or name + date of birth + postcode, not both.",
            code="bad_option",
            got=f"id and {', '.join(given)}",
            fix=("leave out ", opt("id", metavar="COL"), " or the name, dob and postcode columns"),
        )
    if id is not None:
        if dob_format is not None:
            raise CarepopError(
                "A date-of-birth format applies to name + date of birth + postcode linkage.",
                code="bad_option",
                got=dob_format,
                fix=("leave out ", opt("dob_format", metavar="FORMAT"), " when linking by an id column"),
            )
        return "id", [id]
    if len(given) != 3:
        missing = [k for k in person if person[k] is None]
        raise CarepopError(
            "Say how people are identified: an identifier column, or all of name, date of birth "
            f"and postcode (missing: {', '.join(missing)}).",
            code="bad_option",
            expected="id, or name + dob + postcode",
            fix=(
                "give ",
                opt("id", metavar="COL"),
                ", or ",
                opt("name", metavar="COL"),
                ", ",
                opt("dob", metavar="COL"),
                " and ",
                opt("postcode", metavar="COL"),
            ),
        )
    return "name-dob-postcode", [*name_cols, dob, postcode]


def _check_columns(list_name: str, frame: pd.DataFrame, columns: list[str]) -> None:
    have = [str(c) for c in frame.columns]
    for col in columns:
        if col not in have:
            raise CarepopError(
                f"The list {list_name!r} has no column {col!r}.",
                code="unknown_column",
                column=col,
                expected=have,
                fix=f"check the column names of the list {list_name!r} (they are case-sensitive)",
            )


def _no_usable(list_name: str, n_rows: int, reasons: dict[str, np.ndarray], mode: str) -> CarepopError:
    counts = {r: int(m.sum()) for r, m in reasons.items() if m.any()}
    why = ", ".join(f"{r.replace('_', ' ')}: {c} row(s)" for r, c in counts.items()) or "the list has no rows"
    fix: Any = "check the list's file and the identifier columns"
    if counts.get("dob_unreadable"):
        fix = (
            "check the date-of-birth format: give ",
            opt("dob_format", metavar="FORMAT"),
            " as the dates are written, e.g. %d/%m/%Y",
        )
    return CarepopError(
        f"The list {list_name!r} has no row with a usable identifier ({n_rows} row(s) read; {why}).",
        code="no_usable_rows",
        got=n_rows,
        fix=fix,
    )


# ------------------------------------------------------------------------------ normalisation
def _on_uniques(s: pd.Series, fn: Any) -> np.ndarray:
    """``fn`` applied to the distinct non-missing values of ``s``, spread back over the rows
    (missing values give None). ``fn`` takes and returns a Series aligned with its input."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    out = np.full(len(s), None, dtype=object)
    if len(uniques):
        done = fn(pd.Series(uniques)).astype(object)
        done = done.where(done.notna(), None).to_numpy(dtype=object)
        ok = codes >= 0
        out[ok] = done[codes[ok]]
    return out


def _text(u: pd.Series) -> pd.Series:
    """Distinct values as text: integral numbers as digits, dates as ISO, the rest as str."""
    if pd.api.types.is_bool_dtype(u):
        return u.astype(str)
    if pd.api.types.is_integer_dtype(u):
        return u.astype(str)
    if pd.api.types.is_float_dtype(u):
        f = u.to_numpy(dtype=float)
        if np.all(np.isfinite(f) & (f == np.round(f))) and np.all(np.abs(f) < 2**53):
            return pd.Series(f.astype(np.int64).astype(str), index=u.index)
        return u.astype(str)
    if pd.api.types.is_datetime64_any_dtype(u):
        return u.dt.strftime("%Y-%m-%d")
    return pd.Series([_one_text(v) for v in u.to_numpy(dtype=object)], index=u.index, dtype=object)


def _one_text(v: Any) -> str:
    if isinstance(v, datetime | date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _blank_to_none(t: pd.Series) -> pd.Series:
    return t.where(t.str.len() > 0, None)


def norm_id(u: pd.Series) -> pd.Series:
    """An identifier: its text, surrounding spaces removed."""
    return _blank_to_none(_text(u).astype(object).str.strip())


def norm_name(u: pd.Series) -> pd.Series:
    """A name: NFKD, case-folded, NFKD, letters and digits only."""
    t = _text(u).astype(object).str.normalize("NFKD").str.casefold().str.normalize("NFKD")
    return _blank_to_none(t.str.replace(r"[\W_]+", "", regex=True))


def norm_postcode(u: pd.Series) -> pd.Series:
    """A UK postcode: NFKC, upper case, no spaces."""
    t = _text(u).astype(object).str.normalize("NFKC").str.upper()
    return _blank_to_none(t.str.replace(r"\s+", "", regex=True))


def norm_dob(u: pd.Series, fmt: str) -> pd.Series:
    """A date of birth as ISO ``YYYY-MM-DD`` (None where it does not parse with ``fmt``)."""
    if pd.api.types.is_datetime64_any_dtype(u):
        parsed = u
    else:
        values = u.to_numpy(dtype=object)
        is_date = np.array([isinstance(v, datetime | date) for v in values], dtype=bool)
        parsed = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
        if is_date.any():
            parsed[is_date] = pd.to_datetime(pd.Series(values[is_date]), errors="coerce").to_numpy()
        if (~is_date).any():
            text = _text(u[~is_date]).astype(object).str.strip()
            parsed[~is_date] = pd.to_datetime(text, format=fmt, errors="coerce").to_numpy()
    return parsed.dt.strftime("%Y-%m-%d").astype(object).where(parsed.notna(), None)


def _messages(
    frame: pd.DataFrame, mode: str, id: str | None, name: Any, dob: str | None, postcode: str | None, fmt: str
) -> tuple[pd.Series, dict[str, np.ndarray]]:
    """The message to hash for each row (None where the identifier is unusable) and, per reason,
    the rows it makes unusable."""
    if mode == "id":
        ident = _on_uniques(frame[id], norm_id)
        missing = pd.isna(ident)
        message = pd.Series(ident, dtype=object)
        message[~missing] = _PREFIX + _US + "id" + _US + message[~missing]
        return message.where(~missing, None), {"id_missing": missing}
    name_cols = [name] if isinstance(name, str) else list(name)
    parts = [_on_uniques(frame[c], norm_name) for c in name_cols]
    name_ok = np.ones(len(frame), dtype=bool)  # every name column present (forename and surname)
    joined = pd.Series([""] * len(frame), dtype=object)
    for p in parts:
        present = ~pd.isna(p)
        name_ok &= present
        joined = joined + pd.Series(np.where(present, p, ""), dtype=object)
    dob_present = ~pd.isna(_on_uniques(frame[dob], norm_id))  # not missing, not blank
    dob_iso = _on_uniques(frame[dob], lambda u: norm_dob(u, fmt))
    dob_ok = ~pd.isna(dob_iso)
    pc = _on_uniques(frame[postcode], norm_postcode)
    pc_ok = ~pd.isna(pc)
    reasons = {
        "name_missing": ~name_ok,
        "dob_missing": ~dob_present,
        "dob_unreadable": dob_present & ~dob_ok,
        "postcode_missing": ~pc_ok,
    }
    ok = name_ok & dob_ok & pc_ok
    message = pd.Series([None] * len(frame), dtype=object)
    head = _PREFIX + _US + "name-dob-postcode" + _US
    message[ok] = (
        head + joined[ok] + _US + pd.Series(dob_iso, dtype=object)[ok] + _US + pd.Series(pc, dtype=object)[ok]
    )
    return message, reasons


# ------------------------------------------------------------------------------ the report
def _rows(mask: np.ndarray) -> list[int]:
    """All 1-based row numbers where ``mask`` is true."""
    return (np.flatnonzero(mask) + 1).tolist()


def _report(
    per_list: list[tuple[str, int, np.ndarray, dict[str, np.ndarray]]],
    codes: np.ndarray,
    lists: np.ndarray,
    member: np.ndarray,
    names: list[str],
    mode: str,
    fmt: str,
    n_patterns: int,
) -> dict[str, Any]:
    on_lists = member.sum(axis=1)
    entries = []
    for idx, (list_name, n_rows, usable, reasons) in enumerate(per_list):
        mine = codes[lists == idx]
        dup = pd.Series(mine).duplicated().to_numpy()
        dup_rows = np.flatnonzero(usable)[dup] + 1  # 1-based rows repeating an earlier row's hash
        people = int(member[:, idx].sum())
        elsewhere = int(((member[:, idx] == 1) & (on_lists > 1)).sum())
        entries.append(
            {
                "list": list_name,
                "rows_read": int(n_rows),
                "unusable_rows": _rows(~usable),
                "n_unusable": int((~usable).sum()),
                "unusable_by_reason": {r: _rows(m) for r, m in reasons.items()},
                "duplicates": int(dup.sum()),
                "duplicate_rows": dup_rows.tolist(),
                "duplicates_merged": bool(dup.any()),
                "people": people,
                "on_another_list": elsewhere,
                "match_rate": elsewhere / people,
            }
        )
    both = member.T @ member
    overlaps = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            n = int(both[i, j])
            overlaps.append(
                {
                    "lists": [names[i], names[j]],
                    "both": n,
                    "share_of_first": n / int(both[i, i]),
                    "share_of_second": n / int(both[j, j]),
                }
            )
    notes = [
        "Identifiers were replaced by HMAC-SHA-256 hashes with the user's key; neither the key "
        "nor any identifier is in this report or the table.",
        "Rows with an unusable identifier are left out of the table (rows are 1-based, the header "
        "not counted).",
        "Rows whose hash repeats an earlier row of the same list are duplicates: they were merged "
        "into one person.",
    ]
    return {
        "method": "HMAC-SHA-256",
        "identifier": mode,
        "dob_format": fmt if mode != "id" else None,
        "lists": entries,
        "overlaps": overlaps,
        "people": int(member.shape[0]),
        "patterns": int(n_patterns),
        "notes": notes,
    }


def _warn_disjoint(report: dict[str, Any]) -> None:
    for ov in report["overlaps"]:
        if ov["both"] == 0:
            a, b = ov["lists"]
            warnings.warn(
                f"The lists {a!r} and {b!r} have no one in common: check that they hold the same "
                "kind of identifier in the same form (and, for dates of birth, the same format).",
                LinkWarning,
                stacklevel=3,
            )
