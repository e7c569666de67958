"""The refresh an ingest batch runs leaves entries and the measures index exactly as the reference
rebuild of every subject does: sparing the subjects whose new records no list reads, and who
hold no entry, changes nothing."""

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.enforcement.refresh import rebuild_all
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ledger.models import LedgerLeaf
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

TODAY = date(2026, 11, 1)
PEOPLE = [samples.person(index) for index in range(1, 4)]
ORGANISATIONS = [samples.organisation(index) for index in range(1, 3)]
DAYS = ["2024-03-05", "2025-09-01", "2026-10-20"]
_stores = itertools.count()


@st.composite
def submission(draw: st.DrawFn) -> dict[str, Any]:
    """A row about one of a few subjects: a defaulter listing (which the lists read), or a
    registration naming a representative or a blood donation (which no list reads); a
    submission, correction or withdrawal of one of a few documents."""
    number = draw(st.integers(1, 3))
    op = draw(st.sampled_from(["submit", "submit", "correct", "withdraw"]))
    day = draw(st.sampled_from(DAYS))
    kind = draw(st.sampled_from(["listing", "registration", "donation"]))
    if kind == "registration":
        return samples.registration(
            draw(st.sampled_from(ORGANISATIONS)),
            draw(st.sampled_from(PEOPLE)),
            number,
            op=op,
            decided_on=day,
            effective_on=day,
        )
    if kind == "donation":
        return samples.blood_donation(draw(st.sampled_from(PEOPLE)), number, op=op)
    subject = draw(st.sampled_from(PEOPLE + ORGANISATIONS))
    return samples.defaulter_listing(subject, number, op=op, decided_on=day, effective_on=day)


def ingest(factory: sessionmaker[Session], pack: Pack, folder: Path, rows: list[Any]) -> None:
    """``rows`` as one file, in batches of two rows (refused rows are quarantined as usual)."""
    path = folder / f"rows-{next(_stores)}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    IngestJob(factory, pack, today=TODAY, batch_size=2, workers=0).run_file(
        path, digest=digest, report_dir=folder
    )


def derived_state(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Entries, index rows and the ledger's size: everything a refresh writes."""
    with factory() as session:
        return {
            "entries": sorted(
                tuple(row)
                for row in session.execute(
                    select(
                        EntryRow.id,
                        EntryRow.list_code,
                        EntryRow.subject_id,
                        EntryRow.record_id,
                        EntryRow.started_on,
                        EntryRow.ended_on,
                        EntryRow.end_reason,
                    )
                )
            ),
            "index": sorted(
                (subject_id, seq, orjson.dumps(grants))
                for subject_id, seq, grants in session.execute(
                    select(MeasureIndexRow.subject_id, MeasureIndexRow.seq, MeasureIndexRow.grants)
                )
            ),
            "leaves": session.scalar(select(func.count()).select_from(LedgerLeaf)),
        }


def assert_rebuild_changes_nothing(factory: sessionmaker[Session], pack: Pack) -> None:
    ingested = derived_state(factory)
    summary = rebuild_all(factory, pack)
    assert (summary.started, summary.changed, summary.ended, summary.index_rows) == (0, 0, 0, 0)
    assert derived_state(factory) == ingested


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(st.lists(submission(), min_size=1, max_size=8), min_size=1, max_size=3))
def test_a_rebuild_after_ingest_changes_nothing(
    national: Pack, tmp_path: Path, files: list[list[dict[str, Any]]]
) -> None:
    folder = tmp_path / f"store-{next(_stores)}"
    engine = make_engine(migrated_sqlite(folder / "store.db"))
    factory = make_sessionmaker(engine)
    try:
        for rows in files:
            ingest(factory, national, folder, rows)
        assert_rebuild_changes_nothing(factory, national)
    finally:
        engine.dispose()


def test_a_new_representative_of_a_listed_organisation_is_indexed_by_a_batch_no_list_reads(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """The organisation's registration is read by no list, but the organisation holds an entry,
    so its new representative's index row takes the extension at once."""
    organisation, before, after = ORGANISATIONS[0], PEOPLE[0], PEOPLE[1]
    ingest(
        factory,
        national,
        tmp_path,
        [
            samples.registration(organisation, before, 1, effective_on="2020-05-01"),
            samples.defaulter_listing(organisation, 7, effective_on="2026-03-01"),
        ],
    )
    ingest(
        factory,
        national,
        tmp_path,
        [
            samples.blood_donation(before, 1),
            samples.registration(organisation, after, 1, op="correct", effective_on="2026-06-01"),
        ],
    )
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(LegalRepresentative)) == 2
        indexed = set(
            session.scalars(
                select(Subject.identifier).join(
                    MeasureIndexRow, MeasureIndexRow.subject_id == Subject.id
                )
            )
        )
    assert indexed == {organisation, before, after}
    assert_rebuild_changes_nothing(factory, national)
