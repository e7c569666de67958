"""A batch reads what its own rows concern, not what the store holds.

Every statement an ingest batch runs on SQLite must reach the store's tables by a key: a table
read from end to end, or a record type's index read over all of a type's records, costs each
batch more the larger the store (a read of every relevant record per batch made a 10^7-record
ingest slow down from the first hundred thousand records). SQLite's planner has no statistics,
so its choice depends on the statement's shape, not on the data: a small store shows the plan
a large one gets.
"""

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

from .test_ingest_store import TODAY

# Indexes led by a column with a handful of values: a search through one reads a whole type.
TYPE_INDEXES = ("ix_records_record_type_",)


def _plans_of_a_job(path: Path, tmp_path: Path, national: Pack) -> dict[str, list[str]]:
    """The query plan of every read, update and delete the job ran, by statement."""
    engine = make_engine(migrated_sqlite(tmp_path / "store.db"))
    plans: dict[str, list[str]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def explain(
        _conn: Any, cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if statement in plans or not statement.lstrip().upper().startswith(
            ("SELECT", "UPDATE", "DELETE", "WITH")
        ):
            return
        bound = params[0] if many else params
        rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", bound)
        plans[statement] = [row[3] for row in rows]

    job = IngestJob(make_sessionmaker(engine), national, today=TODAY, batch_size=4)
    digest, _ = scan_file(path)
    job.run_file(path, digest=digest, report_dir=tmp_path / "reports")
    engine.dispose()
    return plans


def _reads_the_store_through(step: str) -> bool:
    table_scan = step.startswith("SCAN ") and "VIRTUAL TABLE" not in step
    return table_scan or any(index in step for index in TYPE_INDEXES)


def test_no_statement_of_a_batch_reads_a_table_or_a_whole_record_type(
    national: Pack, tmp_path: Path
) -> None:
    # Rows that take every path of a batch: new subjects and known ones, listings that start
    # entries, registrations with representatives, a correction, a withdrawal, a duplicate and
    # a refused row.
    organisation, person = samples.organisation(1), samples.person(2)
    rows = [
        samples.defaulter_listing(person, 1),
        samples.consumption_restriction(person, 1),
        samples.registration(organisation, person, 1),
        samples.registration(organisation, samples.person(3), 2, effective_on="2021-05-01"),
        samples.defaulter_listing(samples.person(4), 2),
        samples.defaulter_listing(person, 1, op="correct", amount=99.0),
        samples.defaulter_listing(samples.person(4), 2, op="withdraw"),
        samples.defaulter_listing(person, 1, op="correct", amount=99.0),
        samples.defaulter_listing(samples.with_wrong_check(person), 3),
        samples.blood_donation(samples.person(5), 1),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))

    plans = _plans_of_a_job(path, tmp_path, national)

    assert any("records" in statement and "record_heads" in statement for statement in plans)
    offenders = {
        statement: [step for step in plan if _reads_the_store_through(step)]
        for statement, plan in plans.items()
    }
    assert {statement: steps for statement, steps in offenders.items() if steps} == {}
