"""The SQL of each plan shape, compiled once per process and dialect.

Compiling a plan (Ibis rewrites its graph, then sqlglot writes the SQL) takes longer than
DuckDB takes to run it on a city. A plan is built again for every run, but the same pack on
the same day over tables of the same names and columns gives the same expression (Ibis
expressions are compared by structure), so its SQL is kept, keyed by the expression with its
tables' connections left out: the SQL names a table, never the connection that holds it.
What changes from run to run is data (the facts, and the small policy tables named by their
content, ``Engine.policy_table``); whatever changes the answer otherwise (a threshold, a
grade, the day) is in the expression, and so in the key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir

CAPACITY = 256
"""Plans kept; the least recently used is dropped first (a test run draws many packs)."""

_SQL: OrderedDict[tuple[str, ops.Node], str] = OrderedDict()
_KEEPING = threading.Lock()
"""Held while the kept plans are read or changed (evaluations may run on several threads),
never while a plan compiles."""


@dataclass
class Counts:
    """How often a plan's SQL was found, and how often it was compiled."""

    found: int = 0
    compiled: int = 0


COUNTS = Counts()


def shape(expression: ir.Expr) -> ops.Node:
    """``expression`` with its tables' connections left out: a key that held them would keep
    every closed engine, and the facts it was handed, alive for as long as the plan is kept."""
    node: ops.Node = expression.op()
    tables = node.find(ops.DatabaseTable)
    detached: ops.Node = node.replace({table: table.copy(source=None) for table in tables})
    return detached


def compiled_sql(dialect: str, expression: ir.Expr, compile_anew: Callable[[], str]) -> str:
    """The SQL of ``expression`` in ``dialect``: kept from an earlier compile of the same
    shape, or compiled now by ``compile_anew``."""
    key = (dialect, shape(expression))
    with _KEEPING:
        sql = _SQL.get(key)
        if sql is not None:
            _SQL.move_to_end(key)
            COUNTS.found += 1
            return sql
    sql = compile_anew()
    with _KEEPING:
        _SQL[key] = sql
        COUNTS.compiled += 1
        if len(_SQL) > CAPACITY:
            _SQL.popitem(last=False)
    return sql


def remember_compiled(backend: Any) -> None:
    """Make ``backend`` (an Ibis SQL backend) compile each plan shape once for the process."""
    compile_anew = backend.compile
    dialect = str(backend.name)

    def compile(
        expression: ir.Expr,
        /,
        *,
        limit: int | None = None,
        params: Mapping[ir.Expr, Any] | None = None,
        pretty: bool = False,
    ) -> str:
        if limit is not None or params or pretty:
            return str(compile_anew(expression, limit=limit, params=params, pretty=pretty))
        return compiled_sql(dialect, expression, lambda: str(compile_anew(expression)))

    backend.compile = compile
