"""A batch reads what its own rows concern, not what the store holds.

Every statement an ingest batch runs on SQLite must reach the store's tables by a key: a table
read from end to end, or a record type's index read over all of a type's records, costs each
batch more the larger the store (a read of every relevant record per batch made a 10^7-record
ingest slow down from the first hundred thousand records). SQLite's planner has no statistics,
so its choice depends on the statement's shape, not on the data: a small store shows the plan
a large one gets.
"""

from pathlib import Path

import orjson

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.plans import Plans, statement_plans
from xinyong.testing.store import migrated_sqlite

from .test_ingest_store import TODAY


def _plans_of_a_job(path: Path, tmp_path: Path, national: Pack) -> Plans:
    """The query plan of every read, update and delete the job ran, by statement."""
    engine = make_engine(migrated_sqlite(tmp_path / "store.db"))
    job = IngestJob(make_sessionmaker(engine), national, today=TODAY, batch_size=4)
    digest, _ = scan_file(path)
    with statement_plans(engine) as plans:
        job.run_file(path, digest=digest, report_dir=tmp_path / "reports")
    engine.dispose()
    return plans


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

    assert any("records" in statement and "record_heads" in statement for statement in plans.steps)
    assert plans.whole_store_reads() == {}
