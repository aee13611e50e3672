"""Derived variables, defined once in the instrument and computed vectorised.

Each derived variable is a list of cases ``when: <condition> -> value``; the first true case
wins, and a row no case matches is missing. They are evaluated on the *effective* answers (routing
applied, so a question that was not asked counts as unanswered), in instrument order, so later
derived variables can use earlier ones.

>>> from carepop.questionnaires import derive, to_survey
>>> data = derive(responses, "unpaid_carers")                # doctest: +SKIP
>>> survey = to_survey(responses, "unpaid_carers", weight="design_weight")  # doctest: +SKIP

:func:`derive` returns a new frame: the responses with each item's column in its proper type
(whole-number codes as ``int64``, or ``float64`` when some are missing; multiple-choice items
keep their space-separated column and gain one 0/1 column per option, ``<item>_<code>``), then
the derived columns; ``attrs["value_labels"]`` and ``attrs["column_labels"]`` carry the labels
(as :func:`carepop.read_data` does), so a :class:`~carepop.Survey` names levels by label, and
``attrs["missing_codes"]`` the non-substantive codes (don't know, ...) that SPSS output declares
user-missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, example_rows, opt
from carepop.questionnaires import routing as rt
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Derived, Instrument
from carepop.questionnaires.validate import check_responses

__all__ = ["derive", "evaluate_derived", "labels_of", "missing_codes_of", "to_survey"]

INDICATOR_LABELS = {0: "Not chosen", 1: "Chosen"}
_DESIGN_KEYS = ("weight", "strata", "psu", "fpc", "ssu", "fpc2")


def derive(
    responses: pd.DataFrame,
    instrument: Instrument | str,
    *,
    check: bool = True,
    allow_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """The responses, typed, with the instrument's derived variables added (see module doc).

    With ``check`` (the default) the responses must pass :func:`validate` first, so no derived
    value rests on a bad answer; ``check=False`` derives from the valid answers only (invalid
    values and answers given out of routing count as missing).
    """
    ins = load_instrument(instrument)
    checked = check_responses(responses, ins, allow_columns=allow_columns)
    if check and len(checked.report):
        rep = checked.report
        first = rep.iloc[0]
        counts = ", ".join(f"{k}: {v}" for k, v in rep["error_kind"].value_counts().items())
        raise CarepopError(
            f"The responses have {len(rep)} problem(s) against {ins.name!r} ({counts}); "
            f"first: {first['message']}.",
            code="invalid_responses",
            column=str(first["column"]),
            rows=[int(r) for r in rep.loc[rep["column"] == first["column"], "row"].dropna().head(5)],
            fix=(
                f"list them with validate (carepop questionnaire validate FILE -q {ins.name}) and fix "
                "them, or derive with ",
                opt("check", False),
                " to treat invalid answers as missing",
            ),
        )
    out = responses.copy()
    n = len(out)
    for item in ins.data_items:
        if item.name not in checked.coerced.values:
            continue
        values = checked.effective[item.name]
        if item.type == "select_multiple":
            multi = values if isinstance(values, rt.Multi) else _as_multi(values, ins.multi_codes(item))
            out[item.name] = pd.Series(multi.text, index=out.index, dtype=object)
            for code, col in zip(ins.multi_codes(item), ins.multi_columns(item), strict=True):
                hit = multi.has.get(code, np.zeros(n, dtype=bool))
                out[col] = np.where(multi.answered, hit.astype(float), np.nan)
        elif item.type in ("select_one", "integer"):
            out[item.name] = _int_if_complete(values)
        else:
            out[item.name] = values
    frame = dict(checked.effective)
    for d in ins.derived:
        frame[d.name] = evaluate_derived(d, ins, frame, n)
        out[d.name] = _int_if_complete(frame[d.name]) if d.type != "decimal" else frame[d.name]
    value_labels, column_labels = labels_of(ins)
    old = responses.attrs if isinstance(responses.attrs, dict) else {}
    out.attrs = {
        **old,
        "value_labels": {**old.get("value_labels", {}), **value_labels},
        "column_labels": {**old.get("column_labels", {}), **column_labels},
        "missing_codes": {**old.get("missing_codes", {}), **missing_codes_of(ins)},
    }
    return out


def evaluate_derived(d: Derived, ins: Instrument, frame: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Values of derived variable ``d``: the first true case's value, else missing."""
    result = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    for case in d.cases:
        hit = rt.evaluate(ins.expression(case.when), frame, n) & ~done
        if isinstance(case.value, str):
            value = rt.evaluate(ins.expression(case.value), frame, n)
        else:
            value = np.full(n, float(case.value))
        result = np.where(hit, value, result)
        done |= hit
    if d.type == "select_one":
        codes = list(ins.value_labels(d))
        bad = ~np.isnan(result) & ~np.isin(result, codes)
        if bad.any():
            raise CarepopError(
                f"Derived variable {d.name!r} took values that are not its codes.",
                code="bad_derived_value",
                column=d.name,
                rows=example_rows(np.arange(1, n + 1), bad),
                fix="give select_one derived variables literal codes as values",
            )
    return result


def labels_of(ins: Instrument) -> tuple[dict[str, dict[int, str]], dict[str, str]]:
    """Value labels and variable labels of every item, indicator and derived column."""
    value_labels: dict[str, dict[int, str]] = {}
    column_labels: dict[str, str] = {}
    for item in ins.data_items:
        column_labels[item.name] = item.short_label
        if item.type == "select_one":
            value_labels[item.name] = ins.value_labels(item)
        elif item.type == "select_multiple":
            for choice, col in zip(ins.choices_of(item), ins.multi_columns(item), strict=True):
                value_labels[col] = dict(INDICATOR_LABELS)
                column_labels[col] = _indicator_label(item.short_label, choice.label)
    for d in ins.derived:
        column_labels[d.name] = d.short_label
        if d.type == "select_one":
            value_labels[d.name] = ins.value_labels(d)
    return value_labels, column_labels


def missing_codes_of(ins: Instrument) -> dict[str, list[int]]:
    """The non-substantive codes (don't know, prefer not to say: ``missing: true``) of every
    single-choice item and derived variable that has some — SPSS user-missing values."""
    out: dict[str, list[int]] = {}
    for obj in (*ins.data_items, *ins.derived):
        if obj.type == "select_one":
            codes = [c.code for c in ins.choices_of(obj) if c.missing]
            if codes:
                out[obj.name] = codes
    return out


def _indicator_label(item_label: str, option: str, limit: int = 80) -> str:
    text = f"{item_label.rstrip('?').rstrip()}: {option}"
    if len(text) <= limit:
        return text
    room = max(limit - len(option) - 3, 10)
    return f"{item_label[:room].rstrip()}…: {option}"[:limit]


def _as_multi(values: np.ndarray, codes: list[int]) -> rt.Multi:
    """A Multi from space-separated text (all missing for a column that was not in the file)."""
    n = len(values)
    answered = ~pd.isna(values)
    has = {
        c: rt.evaluate(rt.Call("selected", (rt.Ref("v"), rt.Num(c))), {"v": np.asarray(values)}, n)
        for c in codes
    }
    return rt.Multi(has, answered)


def _int_if_complete(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.size and not np.isnan(values).any() and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def to_survey(
    responses: pd.DataFrame,
    instrument: Instrument | str,
    *,
    check: bool = True,
    allow_columns: Iterable[str] = (),
    **design: Any,
):
    """A :class:`~carepop.Survey` of the responses with the derived variables and value labels.

    ``design`` goes to the Survey (``weight=``, ``strata=``, ``psu=``, ``fpc=``, ...); the
    design columns it names need not be items of the instrument.
    """
    from carepop.core.survey import Survey

    extra = set(allow_columns) | {v for k, v in design.items() if k in _DESIGN_KEYS and isinstance(v, str)}
    data = derive(responses, instrument, check=check, allow_columns=extra)
    return Survey(data, value_labels=data.attrs["value_labels"], **design)
