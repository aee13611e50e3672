"""Result assembly: from the arrays of an estimate to the rows of an
:class:`~carepop.core.results.Estimates` table.

One row per (domain, level) with the columns ``statistic, variable, level, <domain columns>,
estimate, se, ci_lower, ci_upper, df, deff, n``; domains first, levels within a domain (as R
``svyby``). Domain values and levels are shown with their value labels where the data has them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.core.estimation import ci as ci_mod
from carepop.core.estimation.domains import Domains
from carepop.core.estimation.linear import Linear
from carepop.core.results import Estimates

#: ``label(column, value)``: the value label of a value (or the value)
Labeller = Callable[[str, Any], Any]


def linear_frame(
    kind: str,
    vname: str,
    level_names: Sequence[Any],
    dom: Domains,
    lin: Linear,
    n: np.ndarray,
    df: np.ndarray,
    ci: str,
    level: float,
    rows: np.ndarray,
    label: Labeller,
) -> pd.DataFrame:
    """Rows of a total, mean, ratio or proportion: standard errors and intervals from ``lin``.

    ``rows`` is the number of rows of each domain's design that R's ``svyciprop(method="beta")``
    uses (``nrow(design)``)."""
    est, deff = lin.est, lin.deff
    se = np.sqrt(np.maximum(lin.var, 0.0))  # a zero variance can come out as -1e-20
    nrows = np.broadcast_to(rows[:, None], est.shape)
    se_logit = None if lin.logit_var is None else np.sqrt(np.maximum(lin.logit_var, 0.0))
    lo, hi = ci_mod.interval(ci, est, se, level, df[:, None], n_rows=nrows, se_logit=se_logit)
    if deff is None:
        deff = np.full(est.shape, np.nan)
    return estimate_frame(kind, vname, level_names, dom, est, se, lo, hi, df, deff, n, label)


def estimate_frame(
    kind: str,
    vname: str,
    level_names: Sequence[Any],
    dom: Domains,
    est: np.ndarray,
    se: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    df: np.ndarray,
    deff: np.ndarray,
    n: np.ndarray,
    label: Labeller,
) -> pd.DataFrame:
    """The rows of one statistic of one variable; every array is (domains, levels)."""
    D, k = est.shape
    out = {
        "statistic": np.repeat(kind, D * k),
        "variable": np.repeat(vname, D * k),
        "level": np.tile(np.asarray(level_names, dtype=object), D),
    }
    for col in dom.columns:
        vals = [label(col, v) for v in dom.levels[col]]
        out[col] = np.repeat(np.asarray(vals, dtype=object), k)
    out["estimate"] = est.ravel()
    out["se"] = se.ravel()
    out["ci_lower"] = lo.ravel()
    out["ci_upper"] = hi.ravel()
    out["df"] = np.repeat(df, k).astype(float)
    out["deff"] = deff.ravel()
    out["n"] = np.repeat(n, k).astype(np.int64)
    return pd.DataFrame(out)


def make_result(
    table: pd.DataFrame,
    dom: Domains,
    ci: str,
    level: float,
    variance: str,
    notes: Sequence[str] = (),
) -> Estimates:
    """The :class:`Estimates`, with a note (and a warning) for domains with no rows."""
    notes = list(notes)
    empty = table["n"] == 0
    if empty.any():
        where = table.loc[empty, list(dom.columns)].drop_duplicates().head(5).to_dict(orient="records")
        notes.append(
            f"{int(empty.sum())} estimate(s) are for domains with no rows with a value "
            f"(e.g. {where}); they are missing, not zero."
        )
        warnings.warn(notes[-1], stacklevel=4)
    return Estimates(table, dom.columns, ci, level, variance, tuple(notes))
