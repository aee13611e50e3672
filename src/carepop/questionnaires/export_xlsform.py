"""Export an instrument as an XLSForm (for ODK Collect / ODK Central / KoboToolbox).

Sheets ``survey``, ``choices`` and ``settings``. Routing, ranges, patterns and rules are
translated from the same expressions carepop validates with (:func:`~.routing.to_xpath`), so the
form asks exactly the questions validation expects. The form is flat (no groups), so exported
data has one column per item named as in the instrument; each item's ``relevant`` includes its
section's. Derived variables become ``calculate`` fields (``if(case1, value1, if(...))``).
Items filled in from the sample (``prefilled``) are read-only: pass them in the form's link or
pre-load them.
"""

from __future__ import annotations

import os

import pandas as pd

from carepop.questionnaires import routing as rt
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Derived, Instrument, Item

__all__ = ["to_xlsform", "write_xlsform"]

SURVEY_COLUMNS = [
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "read_only",
]


def to_xlsform(instrument: Instrument | str) -> dict[str, pd.DataFrame]:
    """The XLSForm sheets as DataFrames: ``{"survey": ..., "choices": ..., "settings": ...}``."""
    ins = load_instrument(instrument)
    rows = [_item_row(ins, item) for item in ins.items]
    rows += [_calculate_row(ins, d) for d in ins.derived]
    survey = pd.DataFrame(rows, columns=SURVEY_COLUMNS).fillna("")
    lists: dict[str, list[dict[str, str]]] = {}
    for item in ins.items:
        if item.choices is None:
            continue
        name = ins.list_name(item)
        if name not in lists:
            lists[name] = [
                {"list_name": name, "name": str(c.code), "label": c.label} for c in ins.choices_of(item)
            ]
    choices = pd.DataFrame(
        [row for rows_ in lists.values() for row in rows_], columns=["list_name", "name", "label"]
    )
    settings = pd.DataFrame(
        [
            {
                "form_title": ins.title,
                "form_id": ins.name,
                "version": ins.version,
                "allow_choice_duplicates": "no",
            }
        ]
    )
    return {"survey": survey, "choices": choices, "settings": settings}


def write_xlsform(instrument: Instrument | str, path: str | os.PathLike[str]) -> None:
    """Write the XLSForm workbook (.xlsx) to ``path`` (use the CLI for an atomic write)."""
    sheets = to_xlsform(instrument)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)


def _item_row(ins: Instrument, item: Item) -> dict[str, str]:
    kind = item.type
    if kind in ("select_one", "select_multiple"):
        kind = f"{kind} {ins.list_name(item)}"
    relevance = ins.relevance(item.name)
    constraints, messages = _constraints(ins, item)
    hint = item.hint or ("Filled in from the sample." if item.prefilled else "")
    return {
        "type": kind,
        "name": item.name,
        "label": item.label,
        "hint": hint,
        "required": "yes" if item.required and item.has_value and not item.prefilled else "",
        "relevant": rt.to_xpath(relevance) if relevance is not None else "",
        "constraint": _all_of(constraints),
        "constraint_message": "; ".join(messages),
        "calculation": "",
        "read_only": "yes" if item.prefilled else "",
    }


def _constraints(ins: Instrument, item: Item) -> tuple[list[str], list[str]]:
    parts, messages = [], []
    if item.range is not None:
        bounds = []
        if item.range.min is not None:
            bounds.append(f". >= {_num(item.range.min)}")
        if item.range.max is not None:
            bounds.append(f". <= {_num(item.range.max)}")
        parts.append(" and ".join(bounds))
        lo, hi = _num(item.range.min), _num(item.range.max)
        messages.append(f"from {lo} to {hi}" if lo and hi else f"at least {lo}" if lo else f"at most {hi}")
    if item.pattern is not None:
        quote = '"' if "'" in item.pattern else "'"
        parts.append(f"regex(., {quote}^({item.pattern})${quote})")
        messages.append("not in the expected form")
    for choice in ins.choices_of(item):
        if item.type == "select_multiple" and choice.exclusive:
            parts.append(f"not(selected(., '{choice.code}') and count-selected(.) > 1)")
            messages.append(f"'{choice.label}' cannot be chosen with other options")
    for rule in item.rules:
        parts.append(rt.to_xpath(ins.expression(rule.expr), self_name=item.name))
        messages.append(rule.message)
    return parts, messages


def _all_of(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return " and ".join(f"({p})" for p in parts)


def _calculate_row(ins: Instrument, d: Derived) -> dict[str, str]:
    calc = "''"
    for case in reversed(d.cases):
        value = (
            rt.to_xpath(ins.expression(case.value))
            if isinstance(case.value, str)
            else _num(float(case.value))
        )
        calc = f"if({rt.to_xpath(ins.expression(case.when))}, {value}, {calc})"
    return {
        "type": "calculate",
        "name": d.name,
        "label": d.label,
        "calculation": calc,
    }


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else repr(float(v))
