"""The two engines that run the CLD SQL: DuckDB (default, embedded) and Spark (PySpark).

Both expose ``run(steps, input_path, label=None) -> pandas.DataFrame``: register the Parquet file as the view
``cld_raw`` (all its columns plus the 1-based row number ``__cld_row``), create each step but the
last as a view (or, when the step asks, a temp table / persisted frame), and return the last
step's result. The steps are the same SQL text for both (see :mod:`carepop.sources.cld.sql`).
Each step reports its progress (:func:`carepop.core.progress.progress`, described by ``label``).

- DuckDB: in-process, no server; ``memory_limit`` (default 4 GB, or ``CAREPOP_DUCKDB_MEMORY``)
  and ``threads`` (default: the machine's cores) bound it; work beyond the limit spills to a
  temporary folder. Row numbers from ``read_parquet(..., file_row_number = true)``.
- Spark: a local session (``local[*]``, no UI) unless a session is given, e.g. the one of a
  secure environment's cluster. Row numbers from the Parquet ``_metadata.row_index`` column
  (Spark 3.5+). Steps marked ``materialize`` are computed once into a local checkpoint
  (``localCheckpoint(eager=True)``), which also cuts their lineage: later steps plan against a
  stored table, not the whole pipeline again (without it the plans of the signals pipeline, which
  reads earlier steps several times each, grow until printing them exhausts the driver's memory).
  The checkpointed blocks are released by Spark's cleaner once the frames are dropped.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from carepop.core.progress import progress
from carepop.core.vocabulary import EngineName
from carepop.errors import CarepopError, opt
from carepop.sources.cld.sql import ROW, Step, dialect, lit

__all__ = ["ENGINES", "DuckDBEngine", "Engine", "SparkEngine", "get_engine"]

ENGINES = EngineName.values()  # the names, from carepop.core.vocabulary


class Engine(ABC):
    """What the CLD code needs from an engine."""

    name: str = ""
    #: whether nanosecond timestamps must be rewritten before reading (see inputs.open_events)
    spark_safe: bool = False

    @abstractmethod
    def run(self, steps: Sequence[Step], input_path: str | Path, label: str | None = None) -> pd.DataFrame:
        """Run the SQL ``steps`` on the events file and return the last step's result (progress
        reported as ``label``, one step at a time)."""


class DuckDBEngine(Engine):
    """Run the steps in an in-memory DuckDB database (one connection per run)."""

    name = "duckdb"

    def __init__(self, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.memory_limit = memory_limit or os.environ.get("CAREPOP_DUCKDB_MEMORY", "4GB")
        self.threads = threads or os.cpu_count() or 1

    def run(self, steps: Sequence[Step], input_path: str | Path, label: str | None = None) -> pd.DataFrame:
        import duckdb

        with (
            tempfile.TemporaryDirectory(prefix="carepop-duckdb-") as spill,
            progress(label or "running the CLD queries", total=len(steps)) as advance,
        ):
            con = duckdb.connect(":memory:")
            try:
                con.execute(f"SET memory_limit = {lit(self.memory_limit)}")
                con.execute(f"SET threads = {int(self.threads)}")
                con.execute(f"SET temp_directory = {lit(spill)}")
                con.execute("SET preserve_insertion_order = false")
                try:
                    con.execute(
                        f"CREATE VIEW cld_raw AS SELECT *, file_row_number + 1 AS {ROW} "
                        f"FROM read_parquet({lit(str(input_path))}, file_row_number = true)"
                    )
                except duckdb.Error as err:
                    raise _unreadable(input_path, err) from None
                for step in steps[:-1]:
                    what = "TEMP TABLE" if step.materialize else "TEMP VIEW"
                    con.execute(f"CREATE {what} {step.name} AS {dialect(step.sql, self.name)}")
                    advance()
                result = con.execute(dialect(steps[-1].sql, self.name)).df()
                advance()
                return result
            finally:
                con.close()


class SparkEngine(Engine):
    """Run the steps with Spark SQL: on ``session`` if given, else on the active session if there
    is one, else on a local session created on first use (``master``, default ``local[*]``; no
    UI; ``shuffle_partitions`` default 8). :meth:`stop` only stops a session it created."""

    name = "spark"
    spark_safe = True

    def __init__(
        self,
        session: Any = None,
        master: str = "local[*]",
        shuffle_partitions: int = 8,
        driver_memory: str | None = None,
    ) -> None:
        self._session = session
        self._own = session is None
        self.master = master
        self.shuffle_partitions = shuffle_partitions
        self.driver_memory = driver_memory or os.environ.get("CAREPOP_SPARK_DRIVER_MEMORY")

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise CarepopError(
                    "The Spark engine needs PySpark.",
                    code="missing_dependency",
                    fix=("pip install 'carepop[spark]' (and Java 17+), or use ", opt("engine", "duckdb")),
                ) from None
            active = SparkSession.getActiveSession()
            if active is not None:  # e.g. a notebook's or a cluster's session: use it, never stop it
                self._session, self._own = active, False
                return active
            builder = (
                SparkSession.builder.master(self.master)
                .appName("carepop-cld")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", str(self.shuffle_partitions))
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            if self.driver_memory:
                builder = builder.config("spark.driver.memory", self.driver_memory)
            self._session = builder.getOrCreate()
            self._session.sparkContext.setLogLevel("ERROR")
        return self._session

    def run(self, steps: Sequence[Step], input_path: str | Path, label: str | None = None) -> pd.DataFrame:
        from pyspark.errors import PySparkException
        from pyspark.sql import functions as F

        spark = self.session
        try:
            raw = spark.read.parquet(str(input_path))
            raw = raw.select("*", (F.col("_metadata.row_index") + 1).alias(ROW))
        except PySparkException as err:
            raise _unreadable(input_path, err) from None
        raw.createOrReplaceTempView("cld_raw")
        persisted = []
        try:
            with progress(label or "running the CLD queries", total=len(steps)) as advance:
                for step in steps[:-1]:
                    frame = spark.sql(dialect(step.sql, self.name))
                    if step.materialize:
                        frame = frame.localCheckpoint(eager=True)
                        persisted.append(frame)
                    frame.createOrReplaceTempView(step.name)
                    advance()
                with warnings.catch_warnings():  # PySpark's notes about pandas versions
                    warnings.simplefilter("ignore")
                    result = spark.sql(dialect(steps[-1].sql, self.name)).toPandas()
                advance()
                return result
        finally:
            persisted.clear()  # the checkpoints go with the frames
            for step in steps[:-1]:
                spark.catalog.dropTempView(step.name)
            spark.catalog.dropTempView("cld_raw")

    def stop(self) -> None:
        """Stop the session if this engine created it."""
        if self._own and self._session is not None:
            self._session.stop()
            self._session = None


def get_engine(engine: str | Engine | None = None) -> Engine:
    """An engine by name (``duckdb``, the default, or ``spark``), or ``engine`` itself."""
    if isinstance(engine, Engine):
        return engine
    name = (engine or "duckdb").lower()
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine()
    raise CarepopError(
        f"Unknown engine {engine!r}.",
        code="bad_option",
        got=engine,
        expected=ENGINES,
        fix=("set ", opt("engine", metavar="duckdb|spark"), " to one of the expected values"),
    )


def _unreadable(path: str | Path, err: BaseException) -> CarepopError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return CarepopError(
        f"{Path(path).name} cannot be read as Parquet: {first}",
        code="unreadable",
        fix="check the file is a complete Parquet file",
    )
