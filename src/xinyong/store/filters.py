"""Filters shaped for SQLite's planner, which has no statistics.

Without statistics the planner judges an index by the statement's shape, not by the data: given
an equality on a column of a handful of values (a record's type, a case's status) beside one on
a key (a subject, a document), it may search the few-valued column's index and read every row
of that value in the store, so a request or a batch costs more the larger the store.
"""

from typing import Any

from sqlalchemy import ColumnElement, String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def unindexed(column: ColumnElement[str] | QueryableAttribute[str]) -> ColumnElement[str]:
    """``column`` as an expression no index serves (text joined to nothing), for a filter on a
    few-valued column beside one on a key: the key's index is then the planner's only way in.
    Not for a read of whole values (a list's page, the review queue), where the few-valued
    column's index is the way in."""
    return column + ""


class JsonText(FunctionElement[str]):
    """The text of one top-level field of a JSON column, written with the key as a constant.

    An index on an expression serves only a query that writes the very same expression: the
    key cannot be a bound parameter (as SQLAlchemy's ``column[key].as_string()`` makes it), so
    an index and the reads it serves both use this element and compile to the same text."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any], key: str) -> None:
        if not key.isidentifier() or not key.isascii():
            raise ValueError(f"a JSON key written into SQL must be a plain name, not {key!r}")
        # The key as a clause of its own, so that it is part of the statement's cache key.
        super().__init__(column, literal_column(key))


def _parts(element: JsonText, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, key = element.clauses.clauses
    return compiler.process(column, **kw), str(getattr(key, "name", ""))


@compiles(JsonText, "sqlite")
def _json_text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element, compiler, **kw)
    return f"CAST(json_extract({column}, '$.{key}') AS VARCHAR)"


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element, compiler, **kw)
    return f"({column} ->> '{key}')"
