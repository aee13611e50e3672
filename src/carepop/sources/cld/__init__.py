"""Adult social care client-level data (CLD): schema, validation, aggregation on DuckDB or Spark.

>>> from carepop.sources.cld import quality_report, summarise
>>> from carepop.sources.cld.generate import generate
>>> made = generate("events.parquet", rows=50_000, seed=1)        # doctest: +SKIP
>>> report = quality_report("events.parquet")                      # doctest: +SKIP
>>> table = summarise("events.parquet", engine="spark")            # doctest: +SKIP

Modules: :mod:`~.schema` (fields, code lists, councils), :mod:`~.sql` (the SQL both engines run),
:mod:`~.engines`, :mod:`~.inputs`, :mod:`~.quality`, :mod:`~.pipeline`, :mod:`~.generate`,
:mod:`~.cli`. Names are imported on first use, so ``carepop`` starts quickly.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["quality_report", "summarise", "validate"]

_HOME = {
    "quality_report": "carepop.sources.cld.quality",
    "validate": "carepop.sources.cld.quality",
    "summarise": "carepop.sources.cld.summary",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
