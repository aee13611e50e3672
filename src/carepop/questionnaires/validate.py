"""Validate collected responses against an instrument: one report row per problem, nothing dropped.

:func:`validate` returns a DataFrame with columns ``row`` (1-based data row; empty for problems
with a whole column), ``column``, ``value`` (as given), ``error_kind`` and ``message``: problems
with values first (by row, then in instrument order), then problems with whole columns. Kinds:

==================  ==========================================================================
unknown_column      a column that is not an item of the instrument (nor allowed explicitly)
missing_column      an item of the instrument with no column in the file, or one option's 0/1
                    indicator column missing when the item's other options have theirs
duplicate_column    a column name used more than once (only the first such column is read)
type_error          not a number / whole number / date, or text not of the expected form
wrong_code          a code that is not one of the item's codes
out_of_range        a number outside the item's range
routing_violation   an answer where the routing says the question is not asked
missing_required    no answer where the routing says the question is asked and it is required
rule_failed         a validity rule of the item is false (including "none of these" with others)
duplicate           an identifier used on more than one row
==================  ==========================================================================

Routing follows XForm semantics: a question that is not asked has no value, so later routing
sees it as missing. Errors do not cascade: where an item's routing (or a rule) depends on an
answer that is itself in error on a row — invalid, answered out of routing, missing though
required, or with routing that cannot be decided — the dependent item is not checked on that
row, and only the root problem is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError
from carepop.questionnaires import routing as rt
from carepop.questionnaires.coerce import REPORT_COLUMNS, Coerced, add_issue, coerce_responses
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Instrument

__all__ = ["ERROR_KINDS", "Checked", "check_responses", "summarise", "validate"]

ERROR_KINDS = {
    "unknown_column": "column not in the instrument",
    "missing_column": "item with no column",
    "duplicate_column": "column name repeated",
    "type_error": "wrong type or form",
    "wrong_code": "not a code of the item",
    "out_of_range": "outside the item's range",
    "routing_violation": "answered where routing says not asked",
    "missing_required": "required answer missing",
    "rule_failed": "validity rule failed",
    "duplicate": "identifier on several rows",
}


@dataclass
class Checked:
    """Everything validation learnt: the report, the typed values and the values routing sees."""

    report: pd.DataFrame
    coerced: Coerced
    effective: dict[str, np.ndarray | rt.Multi]
    instrument: Instrument


def validate(
    responses: Any, instrument: Instrument | str, *, allow_columns: Iterable[str] = ()
) -> pd.DataFrame:
    """The validation report of ``responses`` (a DataFrame) against ``instrument`` (an
    :class:`Instrument`, a bundled name or a YAML path); empty when the responses are clean.

    ``allow_columns``: extra columns that are not items but belong in the file (design weights,
    strata, interviewer codes); they are not reported as unknown.
    """
    return check_responses(responses, instrument, allow_columns=allow_columns).report


def check_responses(
    responses: Any, instrument: Instrument | str, *, allow_columns: Iterable[str] = ()
) -> Checked:
    """:func:`validate`, also returning the typed and effective (routing-applied) values."""
    ins = load_instrument(instrument)
    df = _as_frame(responses)
    coerced = coerce_responses(df, ins)
    n = len(df)
    issues = list(coerced.issues)
    issues.append(_column_issues(df, ins, coerced, set(allow_columns)))

    effective: dict[str, np.ndarray | rt.Multi] = {}
    uncertain: dict[str, np.ndarray] = {}
    in_error: dict[str, np.ndarray] = {}
    blank = np.zeros(n, dtype=bool)
    for item in ins.data_items:
        name = item.name
        if name not in coerced.values:  # missing column: already reported; routing unknowable
            effective[name] = _empty(item.type, n)
            uncertain[name] = ~blank
            in_error[name] = blank
            continue
        values, present, invalid = coerced.values[name], coerced.present[name], coerced.invalid[name]
        raw = coerced.raw[name]
        node = ins.relevance(name)
        if node is None:
            asked, unsure = ~blank, blank
        else:
            asked = rt.evaluate(node, effective, n)
            unsure = _depends_on_error(node, uncertain, in_error, n)
        sure = ~unsure
        extra = present & ~asked & sure
        add_issue(issues, extra, name, "routing_violation", _routing_message(ins.relevance_text(name)), raw)
        lacking = asked & sure & ~present if item.required else blank
        add_issue(issues, lacking, name, "missing_required", "required answer missing", raw)
        effective[name] = _blank_where(values, ~asked & sure)
        # an option's indicator column is missing: answers are incomplete, so routing that
        # depends on them is not checked (the missing column is the problem reported)
        uncertain[name] = ~blank if name in coerced.missing_indicators else unsure
        in_error[name] = invalid | extra | lacking
        for rule in item.rules:
            expr = ins.expression(rule.expr)
            holds = rt.evaluate(expr, effective, n)
            unsure_rule = unsure | _depends_on_error(expr, uncertain, in_error, n, skip=name)
            failed = present & ~invalid & asked & ~unsure_rule & ~holds
            add_issue(issues, failed, name, "rule_failed", rule.message, raw)
    report = _assemble(issues, ins)
    return Checked(report, coerced, effective, ins)


def summarise(report: pd.DataFrame) -> pd.DataFrame:
    """Counts of problems by ``error_kind`` and ``column`` (rows affected), largest first."""
    if report.empty:
        return pd.DataFrame({"error_kind": [], "column": [], "count": []})
    out = report.groupby(["error_kind", "column"], sort=False).size().reset_index(name="count")
    order = {k: i for i, k in enumerate(ERROR_KINDS)}
    out["_k"] = out["error_kind"].map(order).fillna(len(order))
    return out.sort_values(["_k", "count"], ascending=[True, False]).drop(columns="_k").reset_index(drop=True)


# ---------------------------------------------------------------------------- helpers
def _as_frame(responses: Any) -> pd.DataFrame:
    if isinstance(responses, pd.DataFrame):
        return responses
    if hasattr(responses, "to_pandas"):
        return responses.to_pandas()
    raise CarepopError(
        f"Responses must be a data frame, not {type(responses).__name__}.",
        code="bad_input",
        fix="read the file with carepop.read_data first",
    )


def _empty(kind: str, n: int) -> np.ndarray:
    if kind in ("text", "select_multiple"):
        return np.full(n, None, dtype=object)
    if kind == "date":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return np.full(n, np.nan)


def _blank_where(values: np.ndarray | rt.Multi, mask: np.ndarray) -> np.ndarray | rt.Multi:
    if not mask.any():
        return values
    if isinstance(values, rt.Multi):
        return values.blank(mask)
    out = values.copy()
    if out.dtype.kind == "f":
        out[mask] = np.nan
    elif out.dtype.kind == "M":
        out[mask] = np.datetime64("NaT")
    else:
        out[mask] = None
    return out


def _depends_on_error(
    node: rt.Node,
    uncertain: dict[str, np.ndarray],
    in_error: dict[str, np.ndarray],
    n: int,
    skip: str | None = None,
) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for ref in rt.references(node):
        if ref == skip:
            continue
        if ref in uncertain:
            out |= uncertain[ref] | in_error[ref]
    return out


def _routing_message(condition: str | None) -> str:
    return f"answered, but only asked when {condition}" if condition else "answered"


def _column_issues(df: pd.DataFrame, ins: Instrument, coerced: Coerced, allowed: set[str]) -> pd.DataFrame:
    known = {item.name for item in ins.items} | {d.name for d in ins.derived} | allowed
    for item in ins.data_items:
        if item.type == "select_multiple":
            known |= {f"{item.name}{sep}{c.code}" for c in ins.choices_of(item) for sep in ("_", "/")}
    columns = list(dict.fromkeys(str(c) for c in df.columns))  # each name once, in file order
    unknown = [c for c in columns if c not in known]
    rows = [
        (
            c,
            "unknown_column",
            f"not an item of {ins.name!r}; remove it, or allow it (--allow-column; allow_columns= in Python)",
        )
        for c in unknown
    ]
    for item in ins.data_items:
        if item.name not in coerced.source_columns:
            rows.append((item.name, "missing_column", f"item of {ins.name!r} with no column in the file"))
        for code, col in coerced.missing_indicators.get(item.name, {}).items():
            label = ins.value_labels(item).get(code, "")
            rows.append(
                (
                    col,
                    "missing_column",
                    f"option {code} ({label!r}) of {item.name!r} has no indicator column though its "
                    "other options have theirs, so answers choosing it cannot be read",
                )
            )
    rows += [
        (c, "duplicate_column", f"the column {c!r} appears {k} times in the file; only the first is read")
        for c, k in coerced.repeated_columns.items()
    ]
    return pd.DataFrame(
        {
            "row": pd.array([pd.NA] * len(rows), dtype="Int64"),
            "column": [r[0] for r in rows],
            "value": "",
            "error_kind": [r[1] for r in rows],
            "message": [r[2] for r in rows],
        }
    )


def _assemble(issues: list[pd.DataFrame], ins: Instrument) -> pd.DataFrame:
    frames = [f for f in issues if len(f)]
    if not frames:
        out = pd.DataFrame({c: [] for c in REPORT_COLUMNS})
        out["row"] = out["row"].astype("Int64")
        return out.astype({c: object for c in REPORT_COLUMNS if c != "row"})
    report = pd.concat(frames, ignore_index=True)
    order = {item.name: i for i, item in enumerate(ins.items)}
    base = report["column"].str.split(r"[_/]\d+$", regex=True).str[0]
    key = report["column"].map(order).fillna(base.map(order)).fillna(len(order))
    # problems with values first, by row, then problems with whole columns (no row), so that a
    # bad answer is never buried under a list of missing columns
    report = report.assign(_row=report["row"].astype("Float64").fillna(np.inf), _col=key)
    report = report.sort_values(["_row", "_col"], kind="stable").drop(columns=["_row", "_col"])
    return report.reset_index(drop=True)[list(REPORT_COLUMNS)]
