"""Engines that execute the plan: DuckDB (embedded, the default) and Apache Spark.

An engine is one small class behind one interface: take named inputs (Arrow tables or
Parquet files), hand them to the plan as Ibis tables, and run the plan's expressions to
Arrow or to Parquet. The plan itself never knows which engine runs it.
"""

from __future__ import annotations

import hashlib
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.config import get_settings
from xinyong.evaluate.compiled import remember_compiled

Source: TypeAlias = "pa.Table | Path"
"""An input of the plan: an Arrow table in memory or a Parquet file (or folder of them)."""


class Engine(ABC):
    name: ClassVar[str]

    def __init__(self) -> None:
        self._materialised: list[ir.Table] = []
        self._policy: dict[str, ir.Table] = {}

    @abstractmethod
    def table(self, name: str, source: Source) -> ir.Table:
        """Make ``source`` available to the plan as the table ``name``."""

    @abstractmethod
    def to_arrow(self, expression: ir.Table) -> pa.Table:
        """Run ``expression`` and return its rows."""

    def policy_table(self, name: str, table: pa.Table) -> ir.Table:
        """A small table a plan builds from policy, named by its content.

        The same rows get the same name on every run, so a plan built again from the same
        pack on the same day is the same expression (and its compiled SQL is found again,
        ``xinyong.evaluate.compiled``); within one engine the rows are handed over once.
        """
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        named = (
            f"{name}_{hashlib.blake2b(sink.getvalue().to_pybytes(), digest_size=10).hexdigest()}"
        )
        found = self._policy.get(named)
        if found is None:
            found = self._policy[named] = self.table(named, table)
        return found

    def policy_rows(
        self, name: str, schema: pa.Schema, rows: Sequence[Sequence[object]]
    ) -> ir.Table:
        """``policy_table`` of ``rows``, each a tuple in the order of ``schema``'s columns."""
        records = [dict(zip(schema.names, row, strict=True)) for row in rows]
        return self.policy_table(name, pa.Table.from_pylist(records, schema=schema))

    def materialise(self, expression: ir.Table) -> ir.Table:
        """Compute ``expression`` once, as a table later expressions read (temporary)."""
        cached: ir.Table = expression.cache()
        self._materialised.append(cached)
        return cached

    def share(self, expression: ir.Table) -> ir.Table:
        """``expression`` as several parts of one query read it. DuckDB computes such a
        common part once by itself; an engine that would compute it again for each reader
        materialises it instead."""
        return expression

    def release(self) -> None:
        """Drop the tables ``materialise`` made."""
        while self._materialised:
            self._materialised.pop().release()

    @abstractmethod
    def to_parquet(self, expression: ir.Table, path: Path) -> None:
        """Run ``expression`` and write its rows to ``path`` (a file or, on Spark, a folder)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the engine holds (Spark keeps its session for the process)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBEngine(Engine):
    """Embedded DuckDB: Arrow tables are scanned in place and Parquet files as views."""

    name = "duckdb"

    def __init__(self, *, memory_limit: str | None = None, threads: int | None = None) -> None:
        config: dict[str, Any] = {}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        if threads is not None:
            config["threads"] = threads
        super().__init__()
        self.backend = ibis.duckdb.connect(**config)
        remember_compiled(self.backend)
        # The command shows its own progress; DuckDB's bar would write over it.
        self.backend.raw_sql("SET enable_progress_bar = false")
        # No result of the plan has an order of its own (readers sort where they need one):
        # without it, DuckDB writes tables and Parquet files from every thread at once.
        self.backend.raw_sql("SET preserve_insertion_order = false")
        self._temporary: list[str] = []

    def table(self, name: str, source: Source) -> ir.Table:
        if isinstance(source, Path):
            return self.backend.read_parquet(source, table_name=name)
        self.backend.con.register(name, source)
        return self.backend.table(name)

    def to_arrow(self, expression: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(expression)

    def materialise(self, expression: ir.Table) -> ir.Table:
        # A temporary table named by its place in the run, not ``cache()``'s random name, so
        # that what reads it is the same expression on the next run; it is made from the
        # expression's kept SQL (``compile``), which ``create_table`` would compile again.
        name = f"materialised_{len(self._temporary)}"
        self._temporary.append(name)
        self.backend.raw_sql(
            f'CREATE OR REPLACE TEMP TABLE "{name}" AS {self.backend.compile(expression)}'
        )
        return self.backend.table(name)

    def release(self) -> None:
        super().release()
        while self._temporary:
            self.backend.drop_table(self._temporary.pop(), force=True)

    def to_parquet(self, expression: ir.Table, path: Path) -> None:
        self.backend.to_parquet(expression, path)

    def close(self) -> None:
        self.release()
        self.backend.disconnect()


class SparkEngine(Engine):
    """Apache Spark, in local mode by default or on the cluster at ``master``.

    Arrow inputs are staged as Parquet under ``staging`` (a temporary folder by default; give
    a path every executor can read when running on a cluster).
    """

    name = "spark"

    def __init__(self, *, master: str | None = None, staging: Path | None = None) -> None:
        super().__init__()
        self.session = spark_session(master)
        self.backend = ibis.pyspark.connect(self.session)
        remember_compiled(self.backend)
        self._temporary = None if staging is not None else tempfile.TemporaryDirectory()
        self.staging = staging or Path(self._temporary.name if self._temporary else ".")

    def table(self, name: str, source: Source) -> ir.Table:
        if isinstance(source, pa.Table):
            path = self.staging / f"{name}.parquet"
            pq.write_table(source, path)
            source = path
        return self.backend.read_parquet(str(source), table_name=name)

    def share(self, expression: ir.Table) -> ir.Table:
        # Spark computes a common part of a query again for each part that reads it; cached,
        # it is computed once, on first use.
        return self.materialise(expression)

    def to_arrow(self, expression: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(expression)

    def to_parquet(self, expression: ir.Table, path: Path) -> None:
        self.backend.to_parquet(expression, str(path), mode="overwrite")

    def close(self) -> None:
        self.release()
        if self._temporary is not None:
            self._temporary.cleanup()


_SESSIONS: dict[str, Any] = {}


def spark_session(master: str | None = None) -> Any:
    """One Spark session per master for the process: starting one takes seconds."""
    key = master or "local[*]"
    session = _SESSIONS.get(key)
    if session is None:
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(key)
            .appName("xinyong evaluate")
            # Dates are calendar days: no time zone may shift them on the way in or out.
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.driver.memory", get_settings().spark_driver_memory)
            .getOrCreate()
        )
        # Our own progress bars say what is happening; Spark's warnings would drown them.
        session.sparkContext.setLogLevel("ERROR")
        _SESSIONS[key] = session
    return session


ENGINES: dict[str, Callable[..., Engine]] = {
    DuckDBEngine.name: DuckDBEngine,
    SparkEngine.name: SparkEngine,
}


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name`` (``duckdb`` or ``spark``), opened with ``options``."""
    try:
        factory = ENGINES[name]
    except KeyError:
        raise ValueError(f"no engine {name!r}; choose one of {', '.join(ENGINES)}") from None
    return factory(**options)
