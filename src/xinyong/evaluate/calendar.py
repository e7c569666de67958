"""Calendar arithmetic as Ibis expressions, the same on every engine.

A month added to a date gives the same day of the later month, or that month's last day if
it is shorter: ``xinyong.enforcement.rules.add_months``. DuckDB's ``date + INTERVAL n MONTH``
and Spark's month intervals both do exactly this (checked day by day in the tests), so the
plan uses them rather than integer arithmetic, which would repeat its operands many times
in the generated SQL.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from xinyong.evaluate.casts import exact_date


def add_months(day: ir.DateValue, months: ir.IntegerValue | int) -> ir.DateValue:
    """``day`` plus ``months`` calendar months, clamped to the end of the month."""
    interval = ibis.interval(months=months) if isinstance(months, int) else months.as_interval("M")
    # DuckDB's sum of a date and months is a timestamp.
    return exact_date(day + interval)


def earliest(first: ir.DateValue, second: ir.DateValue) -> ir.DateValue:
    """The earlier of two days, either of which may be NULL (no end): NULL only if both are."""
    result: ir.DateValue = ibis.least(first.fill_null(second), second.fill_null(first))
    return result
