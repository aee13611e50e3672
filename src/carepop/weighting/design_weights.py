"""Design (base) weights from selection probabilities.

The design weight of a sampled unit is the inverse of its probability of selection,
``d_i = 1 / pi_i`` (Horvitz-Thompson). With multi-stage selection the unconditional probability
is the product of the stage probabilities, ``pi_i = pi_1i pi_2i ...`` (each stage's probability
conditional on the earlier stages), so ``d_i = 1 / (pi_1i pi_2i ...)``.

R equivalent: ``svydesign(..., probs = ~p)`` (or ``probs = ~p1 + p2``, whose weights are
``1 / (p1 p2)``), or simply ``df$w <- 1 / df$p``.

Every probability must be a number in ``(0, 1]``: a missing, zero, negative or larger-than-one
value is an error naming the column and the rows (a zero-probability unit cannot be in a
sample; percentages must be divided by 100 first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.core import checks as chk
from carepop.errors import CarepopError, example_rows


def design_weights(data: Any, probability: str | Sequence[str] = "p", *, name: str = "design_weight"):
    """Design weights ``1 / (p_1 p_2 ...)`` from one or several stage probability columns.

    ``data`` is a DataFrame (polars/pyarrow frames are converted); the result is a float
    :class:`pandas.Series` called ``name`` with ``data``'s index, so ``df["w"] =
    design_weights(df, ["p1", "p2"])`` adds it as a column. ``data`` is not changed.
    """
    df = chk.as_pandas(data)
    columns = [probability] if isinstance(probability, str) else list(probability)
    if not columns:
        raise CarepopError(
            "No probability column given.",
            code="bad_option",
            fix="give the column of selection probabilities, or one column per stage",
        )
    chk.check_columns(df, columns, "probability column")
    rows = chk.row_numbers(len(df))
    pi = np.ones(len(df))
    for col in columns:
        p = chk.numeric_column(df, col, "a selection probability")
        miss = np.isnan(p)
        if miss.any():
            raise CarepopError(
                f"Probability column {col!r} has {int(miss.sum())} missing value(s).",
                code="missing_probability",
                column=col,
                rows=example_rows(rows, miss),
                fix="every sampled unit needs its selection probability; fill it in from the sample file",
            )
        zero = p == 0
        if zero.any():
            raise CarepopError(
                f"Probability column {col!r} is zero in {int(zero.sum())} row(s).",
                code="zero_probability",
                column=col,
                rows=example_rows(rows, zero),
                fix="a unit with selection probability 0 cannot have been sampled: check the values "
                "(certainty units have probability 1)",
            )
        bad = ~np.isfinite(p) | (p < 0) | (p > 1)
        if bad.any():
            raise CarepopError(
                f"Probability column {col!r} has {int(bad.sum())} value(s) outside (0, 1] "
                f"(e.g. {p[bad][0]:g}).",
                code="bad_probability",
                column=col,
                rows=example_rows(rows, bad),
                fix="probabilities lie in (0, 1]: divide percentages by 100; if the column holds "
                "weights already, use it as the weight directly",
            )
        pi = pi * p
    return pd.Series(1.0 / pi, index=df.index, name=name)
