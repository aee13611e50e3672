"""The core: the survey design object and design-based estimation.

- :mod:`~carepop.core.design`: :class:`Design`, the column roles and variance policies;
- :mod:`~carepop.core.survey`: :class:`Survey`, data plus design (immutable), and its estimators;
- :mod:`~carepop.core.coding` and :mod:`~carepop.core.checks`: design columns checked and coded;
- :mod:`~carepop.core.estimation`: Taylor and replicate variance, domains, quantiles, intervals;
- :mod:`~carepop.core.results`: :class:`Estimates`, the result record;
- :mod:`~carepop.core.vocabulary`: the names of methods and policies.

The three names are imported on first use (:mod:`carepop._lazy`), so that the light modules
(:mod:`~carepop.core.design`, :mod:`~carepop.core.vocabulary`) load without pandas or scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports

if TYPE_CHECKING:
    from carepop.core.design import Design
    from carepop.core.results import Estimates
    from carepop.core.survey import Survey

__all__ = ["Design", "Estimates", "Survey"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"Design": "carepop.core.design", "Estimates": "carepop.core.results", "Survey": "carepop.core.survey"},
)
