"""What the steps of a run share: the :class:`Context` they read, the :class:`StepResult` they
return, how each published table is protected (:class:`Protect`), what the report shows of it
(:class:`Section`), and the :class:`Step` that registers a measure (:mod:`carepop.pipeline.steps`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

Schema = dict[str, tuple[tuple[type, ...], bool, str]]


@dataclass
class Context:
    """What the steps share: the config, the surveys and inputs read, earlier steps' results."""

    config: Any  # carepop.pipeline.config.Config
    surveys: dict[str, Any]  # name -> Survey
    inputs: dict[str, pd.DataFrame]  # name -> data frame (non-survey inputs, read whole)
    results: dict[str, StepResult] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # measure name -> the library's result object
    seeds_used: dict[str, int] = field(default_factory=dict)  # every seed a step drew

    def seed(self, name: str) -> int:
        """The seed of step ``name``: the run's seed plus a fixed offset per name (stable)."""
        base = int(self.config.run.get("seed", 2021))
        seed = base + zlib.crc32(name.encode()) % 100_000
        self.seeds_used[name] = seed  # for the manifest
        return seed

    def survey(self, name: str) -> Any:
        return self.surveys[name]


@dataclass(frozen=True)
class Protect:
    """How disclosure control treats one published table (:mod:`carepop.outputs.disclosure`).

    ``totals``: weighted estimates of people (rounded to ``estimate_round``); ``rates``: rates and
    proportions (rounded to ``rate_decimals``); ``counts``: exact counts of people (1..threshold−1
    suppressed, others rounded). ``base`` and ``base_columns``: the survey's unweighted base and
    the direct-estimate columns blanked where it is below ``min_base`` (model estimates borrow
    strength and are published). ``nested``: for a table of counts by council with regions and
    England, the count columns are protected with their margins (secondary suppression and the LP
    audit, :func:`carepop.outputs.disclosure.protect_table`) instead. ``withheld``: statistics of
    people (e.g. a median wait) blanked where they describe fewer than ``threshold`` people.
    ``linked``: a column holding counts that another table publishes with its margins (``nested``)
    shows exactly the values published there (suppressed where they are), so that no table undoes
    another's secondary suppression; ``derived`` columns (a difference or share computed from it)
    are blanked where it is suppressed, as they would give it back."""

    totals: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    base: str | None = None
    base_columns: tuple[str, ...] = ()
    nested: bool = False
    withheld: tuple[tuple[str, str], ...] = ()  # (statistic, its count of people): blank under threshold
    linked: tuple[str, str, str] | None = None  # (nested table, its measure, our column): same values
    derived: tuple[str, ...] = ()  # columns computed from the linked one: blanked where it is suppressed


@dataclass(frozen=True)
class Section:
    """A measure's section of the report: the council rows of ``table`` mapped and charted."""

    key: str
    title: str
    table: str
    value: str = "estimate"
    lower: str = "ci_lower"
    upper: str = "ci_upper"
    label: str = ""
    value_format: str = "{:.3g}"
    description: str = ""
    direct: bool = False  # the table has direct, direct_se (adds the direct-vs-model chart)
    where: tuple[tuple[str, object], ...] = ()  # rows of the table to use (column, value)


@dataclass(frozen=True)
class StepResult:
    """One measure's published tables, how each is protected, its notes and report sections."""

    tables: dict[str, pd.DataFrame]
    protect: dict[str, Protect] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    projections: tuple[Section, ...] = ()  # fan charts: table with year, estimate, ci, variant


@dataclass(frozen=True)
class Step:
    """A measure a config can name: its keys, the library call, and which keys name columns of
    its survey (only those columns are read), with the defaults of those that have one."""

    name: str
    title: str
    schema: Schema
    run: Callable[[Context, dict[str, Any]], StepResult]
    columns: tuple[str, ...] = ()
    default_columns: tuple[tuple[str, str], ...] = ()
    more_columns: Callable[[dict[str, Any]], list[str]] | None = None  # columns implied by the keys
    input_keys: tuple[str, ...] = ()  # keys whose value names an [inputs.NAME] table
    requires: tuple[tuple[str, tuple[str, ...]], ...] = ()  # a key and the keys that must come with it
    reads_file: bool = False  # the step reads its ``input`` file itself (by SQL: only the columns it needs)
