"""Casts that reach the engine, whatever types Ibis infers.

Ibis drops a cast to the type it already infers for an expression, but an engine may compute
the expression in a wider type: on DuckDB a date plus months is a timestamp, a sum of BIGINT
a HUGEINT and an integer literal an INTEGER. Rows fetched through Ibis are converted back to
the inferred types; rows an engine writes itself (Parquet) are not, so the plan casts where
it matters, and the cast is always in the SQL.
"""

from __future__ import annotations

import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir


def exact_date(value: ir.Value) -> ir.DateValue:
    """``value`` cast to a date in the SQL itself."""
    result: ir.DateValue = ops.Cast(value, to=dt.date).to_expr()
    return result


def exact_int(value: ir.Value) -> ir.IntegerValue:
    """``value`` cast to a 64-bit integer in the SQL itself."""
    result: ir.IntegerValue = ops.Cast(value, to=dt.int64).to_expr()
    return result
