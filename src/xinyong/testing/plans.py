"""SQLite's plan of every statement a piece of work runs, and the steps that read a whole table.

SQLite's planner has no statistics, so its choice depends on a statement's shape, not on the
data: a small store shows the plan a large one gets. A request or a batch about a few subjects
must reach the store's tables by a key; a table read from end to end, or a few-valued column's
index read over all the rows of a value (every record of a type), costs it more the larger
the store.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

FEW_VALUED_INDEXES = (
    "ix_records_record_type_",
    "ix_entries_list_code_",
    "ix_rights_cases_status_",
    "ix_notices_status_",
)
"""Indexes led by a column with a handful of values (a record's type, a list, a case's status):
a search through one reads every row of the value."""
SUBJECT_RECORD_TABLES = ("records", "record_heads")
"""Tables of a subject's records: one organisation may hold thousands of them."""


@dataclass
class Plans:
    """The plan steps of each statement run, and the store's tables."""

    steps: dict[str, list[str]] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)
    tables: set[str] = field(default_factory=set)

    def whole_store_reads(self, *, repeated: bool = False) -> dict[str, list[str]]:
        """The statements that read a table from end to end, or all the rows of a few-valued
        column's value, with those steps (a scan of a subquery's rows is not one). With
        ``repeated``, only statements run more than once count: a job over the whole store
        may read it once, never once per batch."""
        found: dict[str, list[str]] = {}
        for statement, plan in self.steps.items():
            if repeated and self.runs[statement] < 2:
                continue
            steps = [step for step in plan if self._reads_the_store_through(step)]
            if steps:
                found[statement] = steps
        return found

    def whole_subject_reads(self) -> dict[str, list[str]]:
        """The statements that read every record (or record head) of a subject, with those
        steps: a search of the subjects' records by the subject alone. Work about a few of a
        subject's records (a batch re-deriving entries from the lists' types) must reach them
        by the subject and the type, or it costs more the more records the subject holds."""
        found: dict[str, list[str]] = {}
        for statement, plan in self.steps.items():
            steps = [
                step
                for step in plan
                if step.split()[:2] in (["SEARCH", table] for table in SUBJECT_RECORD_TABLES)
                and step.endswith("(subject_id=?)")
            ]
            if steps:
                found[statement] = steps
        return found

    def _reads_the_store_through(self, step: str) -> bool:
        words = step.split()
        if words[:1] == ["SCAN"] and len(words) > 1:
            table = words[2] if words[1] == "TABLE" and len(words) > 2 else words[1]
            return table in self.tables
        return any(index in step for index in FEW_VALUED_INDEXES)


@contextmanager
def statement_plans(engine: Engine) -> Iterator[Plans]:
    """The plans of every read, update and delete run on the SQLite ``engine`` inside the
    block, by statement (each planned once, with the parameters of its first run)."""
    plans = Plans()

    def explain(
        _conn: Any, cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            return
        plans.runs[statement] += 1
        if statement in plans.steps:
            return
        connection = cursor.connection
        if not plans.tables:
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            plans.tables.update(name for (name,) in tables)
        bound = params[0] if many else params
        rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", bound)
        plans.steps[statement] = [row[3] for row in rows]

    event.listen(engine, "before_cursor_execute", explain)
    try:
        yield plans
    finally:
        event.remove(engine, "before_cursor_execute", explain)
