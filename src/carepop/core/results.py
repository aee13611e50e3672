"""Typed estimation results.

:class:`Estimates` holds one row per (statistic, variable, level, domain) with its estimate,
standard error, confidence interval, degrees of freedom, design effect and unweighted count.
``to_pandas()`` gives the columns every other part of carepop (and the CLI's JSON) relies on::

    statistic, variable, level, <domain columns>, estimate, se, ci_lower, ci_upper, df, deff, n
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

VALUE_COLUMNS = ("estimate", "se", "ci_lower", "ci_upper", "df", "deff", "n")


class TableResult:
    """What every carepop result held as a table shares: a copy as pandas, JSON-ready records,
    ``len``, column access and the ``estimate`` column as an array (subclasses hold ``table``)."""

    table: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the result table with the documented columns."""
        return self.table.copy()

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready records: NaN becomes None, numpy scalars become Python numbers."""
        return [{k: jsonable(v) for k, v in rec.items()} for rec in self.table.to_dict(orient="records")]

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key: str) -> pd.Series:
        return self.table[key]

    @property
    def estimate(self) -> np.ndarray:
        return self.table["estimate"].to_numpy()


@dataclass(frozen=True)
class Estimates(TableResult):
    """Estimates with their uncertainty, by domain.

    Attributes
    ----------
    table : the rows (see module docstring); use :meth:`to_pandas` for a copy.
    by : domain columns, in order.
    ci_method, level : how the intervals were made.
    variance : ``"taylor"`` or the replicate method.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    ci_method: str
    level: float
    variance: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def se(self) -> np.ndarray:
        return self.table["se"].to_numpy()

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return (
                f"Estimates ({self.variance} variance, {self.ci_method} {self.level:.0%} CI)\n"
                f"{self.table.to_string(index=False)}"
            )


def jsonable(v: Any) -> Any:
    """A value as JSON takes it: numpy scalars as Python numbers, NaN / inf / NA as None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v
