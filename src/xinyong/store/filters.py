"""Filters shaped for SQLite's planner, which has no statistics.

Without statistics the planner judges an index by the statement's shape, not by the data: given
an equality on a column of a handful of values (a record's type, a case's status) beside one on
a key (a subject, a document), it may search the few-valued column's index and read every row
of that value in the store, so a request or a batch costs more the larger the store.
"""

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute


def unindexed(column: ColumnElement[str] | QueryableAttribute[str]) -> ColumnElement[str]:
    """``column`` as an expression no index serves (text joined to nothing), for a filter on a
    few-valued column beside one on a key: the key's index is then the planner's only way in.
    Not for a read of whole values (a list's page, the review queue), where the few-valued
    column's index is the way in."""
    return column + ""
