"""References that PostgreSQL checks once per statement rather than once per row.

A foreign key makes PostgreSQL run a query of its own for every row written, which locks the
referenced row: 4 to 6 µs a key and a row. Ingest writes a record, its event and its head for
every record, two keys each, and those six checks were two fifths of the server's work (a
registration's legal representative adds three more). The references declared with
:func:`checked_per_statement` are kept by triggers instead (migration
``0020_statement_references``), which refuse what a foreign key refuses:

- a statement that writes rows naming a key the referenced table lacks fails with
  ``foreign_key_violation`` (SQLSTATE 23503, as a foreign key's), once for the statement: the
  distinct keys of its new rows (a transition table) are looked up together, by index (of an
  update, only the keys it brings that its rows did not hold, so a change of status looks up
  nothing);
- deleting rows that such a reference names fails the same way; truncating the referenced
  table is refused while a referencing table has rows (truncate those first), and the key of
  a referenced row cannot change. A delete first takes a SHARE lock on each referencing
  table, so it waits for the transactions writing them and then sees their rows: a row written
  concurrently cannot be left naming a deleted key.

The store's own code never deletes what these references name (subjects, submissions and
records are kept for good), so the guards on the referenced side only ever stop a hand at the
database. SQLite does not enforce foreign keys (the store leaves its ``foreign_keys`` pragma
off), so on SQLite these are declarations, as every other reference is.

The model keeps each as a ``ForeignKey`` (for joins and for SQLite's schema), marked, so that
comparing the models with a PostgreSQL store (``include_object``) expects a trigger where a
constraint would be.
"""

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import ForeignKey, ForeignKeyConstraint

CHECKED_PER_STATEMENT: Final = "checked_per_statement"
# Alembic's include_object(object, name, type_, reflected, compare_to) -> include it?
IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def checked_per_statement(target: str) -> ForeignKey:
    """A reference to ``target`` (``table.column``) that PostgreSQL keeps with triggers."""
    return ForeignKey(target, info={CHECKED_PER_STATEMENT: True})


def is_checked_per_statement(constraint: ForeignKeyConstraint) -> bool:
    return any(key.info.get(CHECKED_PER_STATEMENT) for key in constraint.elements)


def include_object(dialect: str) -> IncludeObject:
    """Alembic's ``include_object`` for a store of ``dialect``: on PostgreSQL the marked
    references are triggers, not constraints, and are left out of the comparison."""

    def include(
        item: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any
    ) -> bool:
        return not (
            dialect == "postgresql"
            and type_ == "foreign_key_constraint"
            and not reflected
            and is_checked_per_statement(item)
        )

    return include
