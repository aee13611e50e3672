"""Adult social care client-level data (CLD): schema, validation, aggregation on DuckDB or Spark.

>>> from carepop.sources.cld import quality_report, summarise
>>> from carepop.sources.cld.generate import generate
>>> made = generate("events.parquet", rows=50_000, seed=1)        # doctest: +SKIP
>>> report = quality_report("events.parquet")                      # doctest: +SKIP
>>> table = summarise("events.parquet", engine="spark")            # doctest: +SKIP

Modules: :mod:`~.schema` (fields, code lists of both releases and where each was checked,
councils), :mod:`~.releases` (Release 1 or 2: detected or given), :mod:`~.sql` (the SQL both
engines run), :mod:`~.engines`, :mod:`~.inputs`, :mod:`~.quality`, :mod:`~.summary`,
:mod:`~.signals` (signals by council for the measures), :mod:`~.generate`. Names are imported on
first use, so ``carepop`` starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carepop._lazy import lazy_exports

if TYPE_CHECKING:
    from carepop.sources.cld.quality import quality_report, validate
    from carepop.sources.cld.signals import signals
    from carepop.sources.cld.summary import summarise

__all__ = ["quality_report", "signals", "summarise", "validate"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "quality_report": "carepop.sources.cld.quality",
        "validate": "carepop.sources.cld.quality",
        "summarise": "carepop.sources.cld.summary",
        "signals": "carepop.sources.cld.signals",
    },
)
