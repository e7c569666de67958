"""A batch reads what its own rows concern, not what the store holds.

Every statement an ingest batch runs on SQLite must reach the store's tables by a key: a table
read from end to end, or a record type's index read over all of a type's records, costs each
batch more the larger the store (a read of every relevant record per batch made a 10^7-record
ingest slow down from the first hundred thousand records). Nor may it read every record of a
subject to pick a few types: one organisation may hold thousands of penalties (reading them
all for each batch made a 10^6-row penalty workbook four times slower). Rows named by an old
code find their subject through the codes' own indexes. SQLite's planner has no statistics,
so its choice depends on the statement's shape, not on the data: a small store shows the plan
a large one gets.
"""

import csv
from pathlib import Path

import orjson
import xlsxwriter

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.plans import Plans, statement_plans
from xinyong.testing.store import migrated_sqlite

from .test_ingest_store import TODAY
from .test_legacy_codes import (
    COLUMNS,
    KNOWN,
    ORG_COLUMN,
    REG_COLUMN,
    REGISTRATION_NO,
    TWINS,
    penalty_rows,
    registrations,
)


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
    assert plans.whole_subject_reads() == {}


def test_a_profile_batch_finds_legacy_codes_and_its_subjects_records_by_key(
    national: Pack, tmp_path: Path
) -> None:
    # A GBK CSV and a workbook through the penalty profile, into a store that already holds
    # registrations and penalties: rows named only by an organisation code or a registration
    # number (one subject, none, several), beside rows with the USCC.
    engine = make_engine(migrated_sqlite(tmp_path / "store.db"))
    factory = make_sessionmaker(engine)
    profile = "double_publicity.penalty"
    codes = [
        {ORG_COLUMN: KNOWN[8:17]},
        {REG_COLUMN: REGISTRATION_NO},
        {ORG_COLUMN: "MA0000093"},
        {ORG_COLUMN: TWINS[0][8:17]},
        {"行政相对人代码_1(统一社会信用代码)": KNOWN},
    ]
    known = registrations(tmp_path)
    IngestJob(factory, national, today=TODAY).run_file(
        known, digest=scan_file(known)[0], report_dir=tmp_path
    )
    gbk = tmp_path / "penalties.gbk.csv"
    with gbk.open("w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS, *penalty_rows(1, codes)])
    workbook = tmp_path / "penalties.xlsx"
    book = xlsxwriter.Workbook(str(workbook))
    sheet = book.add_worksheet()
    for row_no, row in enumerate([COLUMNS, *penalty_rows(len(codes) + 1, codes)]):
        sheet.write_row(row_no, 0, row)
    book.close()

    for path, encoding in ((gbk, "gbk"), (workbook, None)):
        job = IngestJob(factory, national, today=TODAY, batch_size=3, profile=profile)
        digest, _ = scan_file(path)
        with statement_plans(engine) as plans:
            summary = job.run_file(
                path, digest=digest, report_dir=tmp_path / "reports", encoding=encoding
            )
        # Two rows linked by an old code, and two refused by what the look-ups found.
        assert (summary.accepted, summary.rejected) == (3, 2)
        assert plans.whole_store_reads() == {}
        assert plans.whole_subject_reads() == {}
    engine.dispose()
