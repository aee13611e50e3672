"""Synthetic responses that follow an instrument's routing and rules (for testing forms,
pipelines and weighting before fieldwork).

>>> from carepop.questionnaires import simulate_responses
>>> df = simulate_responses("unpaid_carers", 200, seed=1, fixed={"la_code": "E08000001"})

Every item is answered exactly where its routing says it is asked: choices uniformly among the
substantive codes, numbers uniformly within the range, "none of these" options sometimes alone.
``fixed`` gives values (a scalar or one per row) for chosen items — needed for text items with a
pattern, such as LA codes; a fixed value where the item is not asked is left blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from carepop.errors import CarepopError, opt
from carepop.questionnaires import routing as rt
from carepop.questionnaires.load import load_instrument
from carepop.questionnaires.schema import Instrument, Item

__all__ = ["simulate_responses"]

MAX_REDRAWS = 50


def simulate_responses(
    instrument: Instrument | str,
    n: int,
    *,
    seed: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """``n`` synthetic responses to ``instrument`` (see module docstring)."""
    ins = load_instrument(instrument)
    if n < 1:
        raise CarepopError(
            f"Cannot simulate {n} responses.",
            code="bad_option",
            fix=("give ", opt("n", metavar="N"), " >= 1"),
        )
    fixed = dict(fixed or {})
    unknown = [k for k in fixed if k not in {i.name for i in ins.data_items}]
    if unknown:
        raise CarepopError(
            f"Fixed values for {unknown} which are not items of {ins.name!r}.",
            code="unknown_item",
            column=unknown[0],
            fix=("give ", opt("fixed", metavar="{ITEM: VALUE}"), " only for items of the instrument"),
        )
    rng = np.random.default_rng(seed)
    effective: dict[str, np.ndarray] = {}
    columns: dict[str, Any] = {}
    for item in ins.data_items:
        node = ins.relevance(item.name)
        asked = np.ones(n, dtype=bool) if node is None else rt.evaluate(node, effective, n)
        if item.name in fixed:
            values = _fixed(item, fixed[item.name], n)
        else:
            values = _draw(item, ins, rng, n)
            for _ in range(MAX_REDRAWS):
                bad = asked & _rules_fail(item, ins, {**effective, item.name: values}, n)
                if not bad.any():
                    break
                values = _replace(values, bad, _draw(item, ins, rng, n))
            else:
                raise CarepopError(
                    f"Could not draw answers to {item.name!r} that pass its rules.",
                    code="simulation_failed",
                    column=item.name,
                    fix=("fix the item's values with ", opt("fixed", metavar="{ITEM: VALUE}")),
                )
        values = _replace(values, ~asked, _blank(values, n))
        effective[item.name] = values
        columns[item.name] = _output(item, values)
    return pd.DataFrame(columns)


def _fixed(item: Item, value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if arr.shape != (n,):
        raise CarepopError(
            f"Fixed values for {item.name!r} have {arr.size} entries for {n} rows.",
            code="bad_option",
            column=item.name,
            fix=("give ", opt("fixed", metavar="{ITEM: VALUE}"), " one value per item, or one per row"),
        )
    if item.type in ("text", "select_multiple"):
        return pd.Series(arr, dtype=object).where(pd.notna(arr), None).to_numpy(dtype=object)
    return pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=float)


def _draw(item: Item, ins: Instrument, rng: np.random.Generator, n: int) -> np.ndarray:
    if item.type == "select_one":
        codes = [c.code for c in ins.choices_of(item) if not c.missing] or [
            c.code for c in ins.choices_of(item)
        ]
        return rng.choice(np.asarray(codes, dtype=float), size=n)
    if item.type == "select_multiple":
        choices = ins.choices_of(item)
        open_codes = [c.code for c in choices if not c.exclusive]
        exclusive = [c.code for c in choices if c.exclusive]
        chosen = rng.random((n, len(open_codes))) < 0.3
        alone = ~chosen.any(axis=1) | (rng.random(n) < (0.2 if exclusive else 0.0))
        text = np.full(n, "", dtype=object)
        for j, code in enumerate(open_codes):
            text = text + np.where(chosen[:, j] & ~alone, f"{code} ", "")
        fallback = exclusive[0] if exclusive else open_codes[0]
        text = np.where(alone, str(fallback), np.char.strip(text.astype(str)))
        return text.astype(object)
    if item.type in ("integer", "decimal"):
        lo = item.range.min if item.range and item.range.min is not None else 0.0
        hi = item.range.max if item.range and item.range.max is not None else max(lo, 0.0) + 100.0
        if item.type == "integer":
            return rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1, size=n).astype(float)
        if lo >= 0 and hi > 1000 * max(lo, 1.0):  # wide ranges (money): log-uniform
            return np.round(np.exp(rng.uniform(np.log(max(lo, 1.0)), np.log(hi), size=n)), 2)
        return np.round(rng.uniform(lo, hi, size=n), 1)
    if item.type == "date":
        days = rng.integers(0, 366, size=n)
        return (np.datetime64("2024-01-01") + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    if item.pattern is not None:
        raise CarepopError(
            f"Cannot invent values of {item.name!r}, which must match {item.pattern!r}.",
            code="simulation_failed",
            column=item.name,
            fix=("give them with ", opt("fixed", metavar="{ITEM: VALUE}"), f" (item {item.name!r})"),
        )
    prefix = "R" if item.unique else f"{item.name} "
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object)


def _rules_fail(item: Item, ins: Instrument, frame: dict[str, np.ndarray], n: int) -> np.ndarray:
    bad = np.zeros(n, dtype=bool)
    for rule in item.rules:
        bad |= ~rt.evaluate(ins.expression(rule.expr), frame, n)
    return bad


def _blank(values: np.ndarray, n: int) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.full(n, np.nan)
    if values.dtype.kind == "M":
        return np.full(n, np.datetime64("NaT"), dtype=values.dtype)
    return np.full(n, None, dtype=object)


def _replace(values: np.ndarray, mask: np.ndarray, new: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[mask] = new[mask]
    return out


def _output(item: Item, values: np.ndarray) -> Any:
    if item.type in ("select_one", "integer"):
        return pd.array(np.where(np.isnan(values), None, values), dtype="Int64")
    return values
