"""Typed small-area results: one row per area, and the fitted model.

:class:`AreaEstimates` holds

- ``table``: one row per area with the columns of :data:`AREA_COLUMNS` —
  ``area`` (the area code, under the area column's own name), ``direct`` and ``direct_se`` (the
  direct estimate and its standard error; missing for areas out of the sample), ``estimate`` (the
  model-based estimate: EBLUP in the sample, synthetic prediction out of it), ``mse``, ``rmse``,
  ``ci_lower``, ``ci_upper`` (the interval at ``level``), ``gamma`` (the shrinkage factor: the weight
  of the direct estimate) and ``in_sample``;
- ``fit``: the model — variance components (``sigma2_v``; ``rho`` for the spatial model;
  ``sigma2_e`` for unit-level models), the coefficients with standard errors, the log-likelihood,
  AIC and BIC, iterations and convergence;
- ``notes``: what was assumed or chosen (variance smoothing, σ²ᵥ = 0, transformation,
  benchmarking), also kept for the run manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carepop.core.results import TableResult, jsonable

AREA_COLUMNS = (
    "direct",
    "direct_se",
    "estimate",
    "mse",
    "rmse",
    "ci_lower",
    "ci_upper",
    "gamma",
    "in_sample",
)


@dataclass(frozen=True)
class ModelFit:
    """A fitted small-area model, as reported.

    ``variance_components`` maps names (``sigma2_v``, ``rho``, ``sigma2_e``, ``sigma2_u``) to values;
    ``coefficients`` has the columns ``term, estimate, se, z, p_value``.
    """

    model: str
    method: str
    variance_components: dict[str, float]
    coefficients: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    iterations: int
    converged: bool
    n_areas: int
    n_in_sample: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the scalars, and the coefficients as records."""
        return {
            "model": self.model,
            "method": self.method,
            **{k: jsonable(v) for k, v in self.variance_components.items()},
            "coefficients": [
                {k: jsonable(v) for k, v in rec.items()}
                for rec in self.coefficients.to_dict(orient="records")
            ],
            "loglik": jsonable(self.loglik),
            "aic": jsonable(self.aic),
            "bic": jsonable(self.bic),
            "iterations": int(self.iterations),
            "converged": bool(self.converged),
            "n_areas": int(self.n_areas),
            "n_in_sample": int(self.n_in_sample),
        }


@dataclass(frozen=True)
class AreaEstimates(TableResult):
    """Model-based estimates by area with their MSE and intervals (see module docstring)."""

    table: pd.DataFrame
    area: str
    fit: ModelFit
    mse_method: str
    level: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    figures: Any = field(default=None, repr=False, compare=False)  # () -> dict[str, Figure], or None

    def plots(self) -> dict[str, Any]:
        """The diagnostic plots as matplotlib Figures by name (``residuals``, ``shrinkage``,
        ``direct_vs_model``, ``cv``); empty for a model without them."""
        return {} if self.figures is None else self.figures()

    def to_dict(self) -> dict[str, Any]:
        """The areas and the fit (what ``carepop sae ... --format json`` prints)."""
        return {
            "areas": self.to_records(),
            "fit": self.fit.to_dict(),
            "mse_method": self.mse_method,
            "level": self.level,
            "notes": list(self.notes),
            "diagnostics": _plain(self.diagnostics),
            "choices": _plain(self.records),
        }

    @property
    def mse(self) -> np.ndarray:
        return self.table["mse"].to_numpy()

    def __repr__(self) -> str:
        comps = ", ".join(f"{k} = {v:.6g}" for k, v in self.fit.variance_components.items())
        with pd.option_context("display.width", 120, "display.max_columns", 20, "display.max_rows", 20):
            return (
                f"AreaEstimates ({self.fit.model}, {self.fit.method}; {comps}; MSE {self.mse_method}, "
                f"{self.level:.0%} intervals)\n{self.table.to_string(index=False, max_rows=20)}"
            )


def _plain(obj: Any) -> Any:
    """Nested dicts / lists / numpy values as JSON-ready Python values."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    return jsonable(obj)


def coefficient_table(names: tuple[str, ...] | list[str], beta: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """``term, estimate, se, z, p_value`` (normal reference, as R ``sae``'s ``estcoef``)."""
    from scipy.special import ndtr

    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
    return pd.DataFrame(
        {"term": list(names), "estimate": beta, "se": se, "z": z, "p_value": 2.0 * ndtr(-np.abs(z))}
    )
