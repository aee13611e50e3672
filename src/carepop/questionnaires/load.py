"""Load instruments: bundled ones by name, or any YAML file, validated against the schema.

>>> from carepop.questionnaires import list_instruments, load_instrument
>>> list_instruments()
['self_funders', 'unpaid_carers', 'workforce']
>>> load_instrument("unpaid_carers").title
'Unpaid carers survey (with young carers module)'
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from carepop.errors import CarepopError
from carepop.questionnaires.schema import Instrument

__all__ = ["list_instruments", "load_instrument"]

_SUFFIXES = (".yaml", ".yml")


def _bundled_dir():
    """The instruments: the repository's top-level ``questionnaires/`` folder, installed as the
    package data ``carepop.questionnaires.instruments`` (see pyproject.toml)."""
    return resources.files("carepop.questionnaires.instruments")


def list_instruments() -> list[str]:
    """Names of the instruments bundled with carepop."""
    return sorted(
        p.name.rsplit(".", 1)[0]
        for p in _bundled_dir().iterdir()
        if p.name.endswith(_SUFFIXES) and not p.name.startswith(".")
    )


def load_instrument(source: str | os.PathLike[str] | Instrument) -> Instrument:
    """An :class:`Instrument` from a bundled name (``"unpaid_carers"``) or a YAML file path.

    Raises :class:`CarepopError` (``unknown_questionnaire``, ``file_not_found``,
    ``bad_questionnaire``) naming the problem and where it is in the file.
    """
    if isinstance(source, Instrument):
        return source
    text = str(source)
    path = Path(text).expanduser()
    if path.suffix.lower() in _SUFFIXES or os.sep in text or "/" in text:
        if not path.is_file():
            raise CarepopError(
                f"No such questionnaire file: {text!r}.",
                code="file_not_found",
                fix=f"check the path, or use a bundled instrument: {', '.join(list_instruments())}",
            )
        return _load_file(str(path.resolve()), path.stat().st_mtime_ns)
    if text in list_instruments():
        return _load_bundled(text)
    raise CarepopError(
        f"Unknown questionnaire {text!r}.",
        code="unknown_questionnaire",
        fix=f"use one of {', '.join(list_instruments())}, or the path of a YAML file",
    )


@lru_cache(maxsize=8)
def _load_bundled(name: str) -> Instrument:
    for suffix in _SUFFIXES:
        res = _bundled_dir() / f"{name}{suffix}"
        if res.is_file():
            return _parse(res.read_text(encoding="utf-8"), f"{name}{suffix}")
    raise CarepopError(f"Unknown questionnaire {name!r}.", code="unknown_questionnaire")  # pragma: no cover


@lru_cache(maxsize=16)
def _load_file(path: str, _mtime: int) -> Instrument:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CarepopError(
            f"Cannot read the questionnaire {path!r}: {exc}",
            code="unreadable_file",
            fix="check the file is UTF-8 YAML",
        ) from exc
    return _parse(text, path)


def _parse(text: str, where: str) -> Instrument:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise CarepopError(
            f"{where} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}",
            code="bad_questionnaire",
            fix="check the indentation and quoting around that line",
        ) from None
    if not isinstance(raw, dict):
        raise CarepopError(
            f"{where} does not describe a questionnaire (expected a mapping with name, title, sections).",
            code="bad_questionnaire",
            fix="see the bundled instruments for the format",
        )
    try:
        return Instrument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CarepopError(
            f"{where}: {_location(raw, first['loc'])}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""),
            code="bad_questionnaire",
            fix="fix the questionnaire file; `carepop questionnaire show FILE` checks it",
        ) from None


def _location(raw: dict, loc: tuple) -> str:
    """A readable path to a schema error, naming sections and items rather than indices."""
    parts: list[str] = []
    node: object = raw
    for key in loc:
        if isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
            name = node.get("name") if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{name or key}]"]
            continue
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "top level"
