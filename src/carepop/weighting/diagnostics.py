"""Weight diagnostics: how much the weights cost in precision, how they are spread, how far they
moved from the base weights, and whether they hit the population margins.

Over the ``n`` rows with a positive weight (rows of weight 0, e.g. non-respondents, are out of
the sample)::

    Kish design effect due to weighting   deff_w = n sum(w^2) / (sum w)^2 = 1 + cv^2
    effective sample size                 n_eff  = (sum w)^2 / sum(w^2) = n / deff_w
    coefficient of variation              cv     = sd(w) / mean(w), sd with divisor n

Quantiles are R's default (type 7, ``quantile(w, c(.01, .05, .25, .5, .75, .95, .99))``).
The g-weights are ``w / base`` over the rows with a positive base weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from carepop.core.survey import Survey
from carepop.errors import CarepopError
from carepop.weighting.margins import match_margin, read_margin

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def weight_diagnostics(
    survey: Survey,
    *,
    base: Any = None,
    by: str | Sequence[str] | None = None,
    margins: Mapping[str, Any] | None = None,
) -> dict[str, pd.DataFrame | None]:
    """Diagnostics of ``survey``'s weights, as a dict of tables:

    - ``"overall"``: one row: ``n`` (rows), ``n_positive``, ``sum``, ``min``, the quantiles
      ``p1 ... p99``, ``max``, ``mean``, ``cv``, ``deff_kish``, ``n_eff``, ``max_min_ratio``;
    - ``"by"``: the same per domain of ``by`` (columns of the domain first), or None;
    - ``"g_weights"``: with ``base`` (a Survey on the same rows, a weight column name or an
      array), the same summary of the positive ``g = w / base`` plus ``n_zero`` (rows whose
      weight became 0), ``n_below_1`` and ``n_above_1``, or None;
    - ``"margins"``: with ``margins`` ``{variable: population margin}`` (as for
      :func:`~carepop.weighting.rake`), one row per category: ``variable``, ``category``,
      ``target``, ``achieved`` (the weight total), ``difference`` and ``relative_difference``;
      or None.
    """
    w = survey.weights
    out: dict[str, pd.DataFrame | None] = {"overall": pd.DataFrame([_summary(w)])}
    out["by"] = None
    if by is not None:
        dom = survey.domains(by)
        rows = []
        for k in range(dom.n):
            row = {c: survey.label(c, dom.levels[c].iloc[k]) for c in dom.columns}
            row.update(_summary(w[dom.code == k]))
            rows.append(row)
        out["by"] = pd.DataFrame(rows)
    out["g_weights"] = None
    if base is not None:
        b = _base_weights(survey, base)
        pos = b > 0
        g = w[pos] / b[pos]
        row = _summary(g)
        row["n_zero"] = int((g == 0).sum())
        row["n_below_1"] = int(((g > 0) & (g < 1)).sum())
        row["n_above_1"] = int((g > 1).sum())
        out["g_weights"] = pd.DataFrame([row])
    out["margins"] = None
    if margins is not None:
        rows = []
        for var, pop in margins.items():
            codes, levels = survey.factor(var)
            target = match_margin(codes, levels, survey.value_labels.get(var), read_margin(pop, var), var)
            achieved = np.bincount(codes, weights=w, minlength=len(levels))
            for lev, t, a in zip(levels, target, achieved, strict=True):
                rows.append(
                    {
                        "variable": var,
                        "category": survey.label(var, lev),
                        "target": float(t),
                        "achieved": float(a),
                        "difference": float(a - t),
                        "relative_difference": float((a - t) / t) if t != 0 else np.nan,
                    }
                )
        out["margins"] = pd.DataFrame(rows)
    return out


def _summary(v: np.ndarray) -> dict[str, float]:
    """Summary of the positive values of ``v`` (see module docstring)."""
    pos = v[v > 0]
    m = pos.shape[0]
    row: dict[str, float] = {"n": int(v.shape[0]), "n_positive": m, "sum": float(pos.sum())}
    if m == 0:
        nan = float("nan")
        row.update({"min": nan, **{_qname(q): nan for q in QUANTILES}, "max": nan, "mean": nan})
        row.update({"cv": nan, "deff_kish": nan, "n_eff": nan, "max_min_ratio": nan})
        return row
    qs = np.quantile(pos, QUANTILES)
    s1, s2 = float(pos.sum()), float((pos**2).sum())
    mean = s1 / m
    row["min"] = float(pos.min())
    row.update({_qname(q): float(x) for q, x in zip(QUANTILES, qs, strict=True)})
    row["max"] = float(pos.max())
    row["mean"] = mean
    row["cv"] = float(np.sqrt(((pos - mean) ** 2).mean()) / mean)
    row["deff_kish"] = m * s2 / s1**2
    row["n_eff"] = s1**2 / s2
    row["max_min_ratio"] = float(pos.max() / pos.min())
    return row


def _qname(q: float) -> str:
    return f"p{round(q * 100):d}"


def _base_weights(survey: Survey, base: Any) -> np.ndarray:
    if isinstance(base, Survey):
        b = base.weights
    elif isinstance(base, str):
        b = survey.numeric(base, "a base weight", "base weight column")
    else:
        b = np.asarray(base, dtype=float)
    if b.shape != (survey.n_rows,):
        raise CarepopError(
            f"The base weights have {b.shape[0] if b.ndim else 0} values for {survey.n_rows} rows.",
            code="bad_base_weights",
            column=survey.weight,
            fix="give base weights for the same rows in the same order (e.g. the survey before weighting)",
        )
    bad = ~np.isfinite(b) | (b < 0)
    if bad.any():
        raise CarepopError(
            f"The base weights have {int(bad.sum())} missing or negative value(s).",
            code="bad_base_weights",
            column=base if isinstance(base, str) else survey.weight,
            rows=list(np.flatnonzero(bad)[:5] + 1),
            fix="base weights are the design weights: positive numbers (0 for rows out of the sample)",
        )
    return b
