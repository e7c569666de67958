"""Driver-level bulk writes: the hot paths (ingest, ledger) insert thousands of rows per batch,
and SQLAlchemy's per-row statement processing would cost more than the writes themselves.

``BulkTable`` converts values once per column to what the driver stores for that column type,
exactly as SQLAlchemy would (so ORM reads see the same values), and ``allocate_ids`` hands out
primary keys in blocks so rows can reference each other before they are written.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Numeric, Table, text
from sqlalchemy.engine import Connection

# Placeholder per DB-API paramstyle, for the drivers the store supports (sqlite3, psycopg).
MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
Convert = Callable[[Any], Any]


def _json(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


@lru_cache(maxsize=64)
def _sqlite_datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DateTime stores naive UTC text with microseconds. Cached: a batch
    # stamps all of its rows with the same instant.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_numeric(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _identity(value: Any) -> Any:
    return value


def _converter(column_type: Any, dialect: str) -> Convert:
    if isinstance(column_type, JSON):
        return _json
    if dialect == "sqlite":
        if isinstance(column_type, DateTime):
            return _sqlite_datetime
        if isinstance(column_type, Date):
            return _sqlite_date
        if isinstance(column_type, Numeric):
            return _sqlite_numeric
    return _identity


class BulkTable:
    """One table's INSERT statement and per-column converters for one connection's dialect."""

    def __init__(
        self,
        connection: Connection,
        table: Table,
        *,
        omit: Sequence[str] = (),
        ignore_conflicts: bool = False,
    ) -> None:
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        columns = [column for column in table.columns if column.name not in omit]
        self.connection = connection
        self.columns = [column.name for column in columns]
        # Only the columns whose values the driver cannot take as they are get converted.
        self.conversions = [
            (index, convert)
            for index, column in enumerate(columns)
            if (convert := _converter(column.type, dialect.name)) is not _identity
        ]
        cast = "::json" if dialect.name == "postgresql" else ""
        markers = ", ".join(
            MARKERS[dialect.paramstyle] + (cast if isinstance(column.type, JSON) else "")
            for column in columns
        )
        names = ", ".join(quote(name) for name in self.columns)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        self.sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({markers}){conflict}"

    def insert(self, rows: Iterable[dict[str, Any]]) -> None:
        columns = self.columns
        conversions = self.conversions
        values = []
        for row in rows:
            value = [row.get(name) for name in columns]
            for index, convert in conversions:
                value[index] = convert(value[index])
            values.append(tuple(value))
        self.insert_values(values)

    def insert_values(self, values: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows already in column order with values the driver takes as they are."""
        if values:
            self.connection.exec_driver_sql(self.sql, list(values))


def allocate_ids(connection: Connection, table: Table, count: int) -> Sequence[int]:
    """``count`` fresh primary keys for ``table`` (its integer ``id`` column).

    PostgreSQL draws them from the column's sequence, safe under concurrency. SQLite has one
    writer at a time: called after the transaction's first write, the maximum cannot move.
    """
    if count == 0:
        return range(0)
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        )
        return [row[0] for row in rows]
    start = connection.execute(
        text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')
    ).scalar_one()
    return range(start + 1, start + 1 + count)
