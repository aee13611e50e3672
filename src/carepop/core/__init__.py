"""The core: the survey design object and design-based estimation.

- :mod:`~carepop.core.design`: :class:`Design`, the column roles and variance policies;
- :mod:`~carepop.core.survey`: :class:`Survey`, data plus design (immutable), and its estimators;
- :mod:`~carepop.core.coding` and :mod:`~carepop.core.checks`: design columns checked and coded;
- :mod:`~carepop.core.estimation`: Taylor and replicate variance, domains, quantiles, intervals;
- :mod:`~carepop.core.results`: :class:`Estimates`, the result record;
- :mod:`~carepop.core.vocabulary`: the names of methods and policies.
"""

from carepop.core.design import Design
from carepop.core.results import Estimates
from carepop.core.survey import Survey

__all__ = ["Design", "Estimates", "Survey"]
