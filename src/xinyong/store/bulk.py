"""Driver-level bulk writes: the hot paths (ingest, ledger) insert thousands of rows per batch,
and SQLAlchemy's per-row statement processing would cost more than the writes themselves.

``BulkTable`` converts values once per column to what the driver stores for that column type,
exactly as SQLAlchemy would (so ORM reads see the same values), and writes them with one
``executemany`` (SQLite) or ``COPY`` (PostgreSQL); ``allocate_ids`` hands out primary keys in
blocks so rows can reference each other before they are written; ``among`` is the set lookup
the writers resolve a batch with.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    DateTime,
    Numeric,
    String,
    Table,
    Text,
    any_,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import TypeDecorator

from xinyong.store.driver import sqlite_day, sqlite_instant

# Placeholder per DB-API paramstyle, for the drivers the store supports (sqlite3, psycopg).
MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
Convert = Callable[[Any], Any]


def _json(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_numeric(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _identity(value: Any) -> Any:
    return value


def _converter(column_type: Any, dialect: str) -> Convert:
    if isinstance(column_type, TypeDecorator):
        # Bulk writes bypass the decorator: convert as its stored type would be.
        column_type = column_type.impl_instance
    if isinstance(column_type, JSON):
        return _json
    if dialect == "sqlite":
        if isinstance(column_type, DateTime):
            return sqlite_instant
        if isinstance(column_type, Date):
            return sqlite_day
        if isinstance(column_type, Numeric):
            return _sqlite_numeric
    return _identity


def _picker(names: Sequence[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values in column order (``itemgetter`` gives a bare value for a single name)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


class BulkTable:
    """One table's INSERT statement and per-column converters for one connection's dialect."""

    def __init__(
        self,
        connection: Connection,
        table: Table,
        *,
        omit: Sequence[str] = (),
        columns: Sequence[str] | None = None,
        ignore_conflicts: bool = False,
    ) -> None:
        """``columns`` names the columns written and their order (default: all but ``omit``)."""
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        written = (
            [column for column in table.columns if column.name not in omit]
            if columns is None
            else [table.columns[name] for name in columns]
        )
        self.connection = connection
        self.columns = [column.name for column in written]
        # Only the columns whose values the driver cannot take as they are get converted.
        self.conversions = [
            (index, convert)
            for index, column in enumerate(written)
            if (convert := _converter(column.type, dialect.name)) is not _identity
        ]
        cast = "::json" if dialect.name == "postgresql" else ""
        markers = ", ".join(
            MARKERS[dialect.paramstyle] + (cast if isinstance(column.type, JSON) else "")
            for column in written
        )
        names = ", ".join(quote(name) for name in self.columns)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        self.sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({markers}){conflict}"
        # COPY is PostgreSQL's fast path for appends; it has no ON CONFLICT, so a table whose
        # rows may already be there keeps the INSERT.
        self.copy_sql = (
            f"COPY {quote(table.name)} ({names}) FROM STDIN"
            if dialect.name == "postgresql" and not ignore_conflicts
            else None
        )
        self.pick = _picker(self.columns)
        self.table = table
        self.dialect = dialect.name
        self._converters = {
            column.name: _converter(column.type, dialect.name) for column in written
        }

    def converter(self, name: str) -> Convert:
        """What ``insert`` does to column ``name``'s values, for callers that build tuples."""
        return self._converters[name]

    def insert(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        try:
            values = list(map(self.pick, rows))
        except KeyError:  # a row may leave out columns that default to NULL
            columns = self.columns
            values = [tuple(map(row.get, columns)) for row in rows]
        if self.conversions and values:
            # Converted column by column: one C-level map per column instead of a loop per row.
            by_column = list(zip(*values, strict=True))
            for index, convert in self.conversions:
                by_column[index] = tuple(map(convert, by_column[index]))
            values = list(zip(*by_column, strict=True))
        self.insert_values(values)

    def insert_values(self, values: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows already in column order with values the driver takes as they are."""
        if not values:
            return
        if self.copy_sql is None:
            self.connection.exec_driver_sql(self.sql, list(values))
            return
        # The DB-API connection under SQLAlchemy's: the COPY runs in the caller's transaction.
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(self.copy_sql) as copy:
            for value in values:
                copy.write_row(value)


LOOKUP_CHUNK = 10_000  # values per set lookup (one bound parameter each): bounds a query's size


def chunked(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    """``values`` in slices of at most ``size``, for set lookups with ``among``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Joins a PostgreSQL lookup's values into one text: the unit separator, a control character
# no stored text holds (validation refuses it), so a value that holds it is a rare lookup.
SEPARATOR = "\x1f"


def among(
    connection: Connection,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
) -> Any:
    """``column IN values`` as one bound parameter however many the values (strings or ints).

    An IN list of thousands of parameters costs more to compile and to send than the lookup
    itself, and cannot be cached. SQLite takes a JSON array it unpacks. PostgreSQL takes the
    values joined into one text and split by ``string_to_array``, which the planner folds into
    a constant array: it sees how many values there are, as with an array parameter, and
    chooses between the index and a hashed scan accordingly. An array parameter would cost the
    job more: psycopg formats it element by element in Python (4 to 5 ms for 5,000
    identifiers, where joining them takes a tenth of a millisecond).
    """
    if isinstance(column, QueryableAttribute):  # a mapped attribute: its column
        column = column.expression
    if connection.dialect.name == "postgresql":
        # Text is cast to no length: CAST AS VARCHAR(18) would cut a longer value to 18
        # characters, which would then match a stored one it merely begins with.
        value_type = String() if isinstance(column.type, String) else column.type
        joined = "" if None in values else SEPARATOR.join(map(str, values))
        if joined and joined.count(SEPARATOR) == len(values) - 1:
            split = func.string_to_array(literal(joined, Text), literal(SEPARATOR, Text))
            return column == any_(cast(split, ARRAY(value_type)))
        # No values, one empty value (an empty text splits into none), a value that holds the
        # separator, or a missing value (a NULL, which matches nothing, where its text "None"
        # would match a stored "None").
        return column == any_(literal(list(values), ARRAY(value_type)))
    unpacked = func.json_each(literal(orjson.dumps(list(values)).decode(), String)).table_valued(
        "value"
    )
    return column.in_(select(unpacked.c.value))


def allocate_ids(connection: Connection, table: Table, count: int) -> Sequence[int]:
    """``count`` fresh primary keys for ``table`` (its integer ``id`` column).

    PostgreSQL draws them from the column's sequence, safe under concurrency. SQLite has one
    writer at a time: called after the transaction's first write, the maximum cannot move.
    """
    if count == 0:
        return range(0)
    if connection.dialect.name == "postgresql":
        # The sequence is looked up once (an InitPlan), not once per key, and the keys come
        # back as one array rather than a row each: a fifth of the time for a batch's keys.
        keys: list[int] = connection.execute(
            text(
                "SELECT array_agg(nextval("
                "(SELECT pg_get_serial_sequence(:table, 'id')::regclass))) "
                "FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        ).scalar_one()
        return keys
    start = connection.execute(
        text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')
    ).scalar_one()
    return range(start + 1, start + 1 + count)
