"""Domain (subpopulation) coding: one integer code per row for one or several ``by`` columns.

Domains are estimated as subpopulations: rows outside a domain stay in the design and count as
zeros in the variance (R ``svyby``). Only combinations present in the data are domains (R's
``drop.empty.groups=TRUE``); they are ordered as R orders factor levels (sorted values, or the
category order of a pandas Categorical).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepop.core.estimation.numerics import readonly
from carepop.errors import EstimationError, example_rows


@dataclass(frozen=True)
class Domains:
    """Domain codes per row (read-only; -1 never occurs) and the values that label each domain
    (``levels``: one row per domain, one column per ``by`` column, raw values in R's order)."""

    columns: tuple[str, ...]
    code: np.ndarray  # (n,) int64, 0..D-1
    levels: pd.DataFrame  # D rows, one column per by-column, raw values

    @property
    def n(self) -> int:
        return int(self.levels.shape[0])


def whole_sample(n_rows: int) -> Domains:
    """The single domain 'everyone' used when no ``by`` is given."""
    return Domains((), readonly(np.zeros(n_rows, dtype=np.int64)), pd.DataFrame(index=range(1)))


def factor_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes 0..L-1 in sorted (R factor) order; -1 for missing values (codes read-only)."""
    codes, uniques = pd.factorize(values, sort=True)
    return readonly(codes.astype(np.int64, copy=False)), pd.Index(uniques)


def make_domains(data: pd.DataFrame, by: Sequence[str]) -> Domains:
    """Code the combinations of ``by`` columns present in ``data``.

    Raises a clear error when a by-column has missing values: carepop does not drop rows from a
    domain analysis silently.
    """
    by = tuple(by)
    n = len(data)
    combined = np.zeros(n, dtype=np.int64)
    uniques_per_col = []
    for col in by:
        codes, uniques = factor_codes(data[col])
        missing = codes < 0
        if missing.any():
            raise EstimationError(
                f"Domain column {col!r} has {int(missing.sum())} missing value(s).",
                code="missing_domain",
                column=col,
                rows=example_rows(np.arange(1, n + 1), missing),
                fix="recode the missing values to a category of their own (e.g. 'Unknown'), "
                "or remove those rows deliberately before building the survey",
            )
        combined = combined * len(uniques) + codes
        uniques_per_col.append(uniques)
    if len(by) == 1:
        # every level of a single column occurs: the factor codes are the domain codes
        present, code = np.arange(len(uniques_per_col[0])), combined
    else:
        present, code = np.unique(combined, return_inverse=True)
    # decode combination numbers back to per-column values
    levels = {}
    rem = present.copy()
    for col, uniques in zip(reversed(by), reversed(uniques_per_col), strict=True):
        levels[col] = np.asarray(uniques)[rem % len(uniques)]
        rem = rem // len(uniques)
    frame = pd.DataFrame({col: levels[col] for col in by})
    return Domains(by, readonly(code.astype(np.int64).reshape(-1)), frame)
