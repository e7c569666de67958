"""Expiry: publicity ends at the maximum period, entries at their end; idempotent; told once."""

import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.index import MeasuresIndex
from xinyong.ledger.models import LedgerLeaf
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, RecordHead
from xinyong.rights.expiry import expire
from xinyong.rights.notices_models import NoticeRow
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.samples import blood_donation, defaulter_listing, person
from xinyong.testing.store import migrated_sqlite

from .conftest import Ingest, concurrently, ingest_rows

LOADED = date(2024, 4, 1)
# samples.defaulter_listing: decided 2024-03-01, effective 2024-03-05, serious: the record's
# maximum publicity period (60 months) ends 2029-03-01; the listing (24 months) 2026-03-05.
ENTRY_END = date(2026, 3, 5)
RECORD_END = date(2029, 3, 1)


def notices(factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with factory() as session:
        rows = session.execute(select(NoticeRow.kind, NoticeRow.reference).order_by(NoticeRow.id))
        return [(kind, reference) for kind, reference in rows]


def decide(factory: sessionmaker[Session], pack: Pack, subject: str, day: date) -> str:
    index = MeasuresIndex(pack)
    with factory() as session:
        index.load(session)
    return index.decide(subject, "buy_air_ticket", day).effect


def test_an_entry_ends_then_the_record_expires_each_told_once(
    factory: sessionmaker[Session], national: Pack, ingest: Ingest
) -> None:
    subject = person(11)
    ingest(defaulter_listing(subject, 1), today=LOADED)
    assert [kind for kind, _ in notices(factory)] == ["record", "listing"]

    before = expire(factory, national, ENTRY_END - timedelta(days=1))
    assert (before.records_expired, before.entries_ended, before.notices) == (0, 0, 0)

    ended = expire(factory, national, ENTRY_END)
    assert (ended.records_expired, ended.entries_ended, ended.notices) == (0, 1, 1)
    assert notices(factory)[-1][0] == "delisting"
    with factory() as session:
        delisting = session.scalars(select(NoticeRow).where(NoticeRow.kind == "delisting")).one()
    assert "期限届满" in delisting.body and str(ENTRY_END) in delisting.body

    assert expire(factory, national, ENTRY_END).notices == 0
    assert expire(factory, national, RECORD_END - timedelta(days=1)).records_expired == 0

    expired = expire(factory, national, RECORD_END)
    assert (expired.records_expired, expired.entries_ended, expired.notices) == (1, 0, 1)
    with factory() as session:
        record = session.scalars(select(Record)).one()
        head = session.scalars(select(RecordHead)).one()
        [event] = session.scalars(select(RecordEvent).where(RecordEvent.kind == "expired"))
        leaf = session.get(LedgerLeaf, event.ledger_leaf)
    assert head.status == "expired" and event.record_id == record.id
    assert leaf is not None and leaf.kind == "record.expired"
    assert notices(factory)[-1] == ("expiry", f"record:{record.id}")

    again = expire(factory, national, RECORD_END + timedelta(days=400))
    assert (again.records_expired, again.entries_ended, again.notices) == (0, 0, 0)
    assert len(notices(factory)) == 4


def test_a_record_past_its_maximum_period_grounds_nothing_afterwards(
    factory: sessionmaker[Session], national: Pack, ingest: Ingest
) -> None:
    subject = person(12)
    # Extended by 36 months: the listing would run to 2029-03-05, past the record's end.
    row = defaulter_listing(subject, 2)
    row["fields"] = {**row["fields"], "extension_months": 36}
    ingest(row, today=LOADED)
    assert decide(factory, national, subject, RECORD_END - timedelta(days=1)) == "deny"

    summary = expire(factory, national, RECORD_END)

    assert (summary.records_expired, summary.entries_ended) == (1, 1)
    assert sorted(kind for kind, _ in notices(factory)) == [
        "delisting",
        "expiry",
        "listing",
        "record",
    ]
    for day in (RECORD_END, RECORD_END + timedelta(days=1), date(2035, 1, 1)):
        assert decide(factory, national, subject, day) == "allow"


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory: pytest.TempPathFactory, national: Pack) -> Path:
    """A SQLite store with listings and a positive record at several dates, copied per example."""
    folder = tmp_path_factory.mktemp("expiry")
    path = folder / "store.db"
    url = migrated_sqlite(path)
    engine = make_engine(url)
    # Month ends, where adding months clips to a shorter month.
    days = ["2021-01-31", "2022-03-31", "2023-08-31", "2024-02-29"]
    rows = [
        defaulter_listing(person(20 + n), n, decided_on=day, effective_on=day)
        for n, day in enumerate(days)
    ] + [blood_donation(person(30), 1, decided_on="2022-01-31", effective_on="2022-01-31")]
    ingest_rows(make_sessionmaker(engine), national, folder, rows, date(2025, 1, 1))
    engine.dispose()
    return path


def expiry_state(factory: sessionmaker[Session]) -> tuple[object, ...]:
    with factory() as session:
        return (
            sorted(session.execute(select(RecordHead.document_key, RecordHead.status)).all()),
            session.scalar(select(func.count()).select_from(RecordEvent)),
            session.scalar(select(func.count()).select_from(LedgerLeaf)),
            sorted(notices(factory)),
        )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days=st.lists(st.dates(date(2024, 1, 1), date(2032, 12, 31)), min_size=1, max_size=3))
def test_expiry_is_idempotent_at_any_day(
    days: list[date], loaded_store: Path, tmp_path: Path, national: Pack
) -> None:
    copy = tmp_path / f"copy-{days[0]}-{len(days)}.db"
    shutil.copy(loaded_store, copy)
    engine = make_engine(f"sqlite:///{copy}")
    factory = make_sessionmaker(engine)
    try:
        for day in days:
            expire(factory, national, day)
        settled = expiry_state(factory)
        for day in days:
            summary = expire(factory, national, day)
            assert (summary.records_expired, summary.entries_ended, summary.notices) == (0, 0, 0)
        assert expiry_state(factory) == settled
        # Exactly the records whose maximum period ended by the latest day are expired, each
        # with one event, and nothing was said twice.
        latest = max(days)
        with factory() as session:
            records = session.execute(
                select(Record.id, Record.record_type, Record.severity, Record.decided_on)
            ).all()
            expired_events = Counter(
                session.scalars(select(RecordEvent.record_id).where(RecordEvent.kind == "expired"))
            )
        ends = {
            row.id: national.record_type(row.record_type).severities[row.severity].max_months
            for row in records
        }
        assert all(count == 1 for count in expired_events.values())
        for row in records:
            months = ends[row.id]
            assert months is not None
            end = _add_months(row.decided_on, months)
            assert (row.id in expired_events) == (end <= latest), (row, end, latest)
        said = notices(factory)
        assert len(said) == len(set(said))
    finally:
        engine.dispose()
        copy.unlink()


def _add_months(day: date, months: int) -> date:
    # Independent of the rules' own helper: the month's last day when the day does not exist.
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError(day)


def test_a_record_loaded_after_its_end_expires_without_a_notice(
    factory: sessionmaker[Session], national: Pack, ingest: Ingest
) -> None:
    # Decided 2019-03-01: its 60 months ended 2024-03-01, before this history was loaded.
    ingest(defaulter_listing(person(13), 3, decided_on="2019-03-01", effective_on="2019-03-05"))

    summary = expire(factory, national, date(2026, 11, 1))

    assert (summary.records_expired, summary.notices) == (1, 0)
    assert [kind for kind, _ in notices(factory)] == ["record"]
    with factory() as session:
        assert session.scalars(select(RecordHead.status)).one() == "expired"


def test_concurrent_runs_tell_each_subject_once(
    store_url: str, factory: sessionmaker[Session], national: Pack, ingest: Ingest
) -> None:
    ingest(*(defaulter_listing(person(50 + n), 10 + n) for n in range(6)), today=LOADED)
    summaries = concurrently(store_url, 2, lambda own: expire(own, national, RECORD_END, batch=1))

    assert sum(summary.records_expired for summary in summaries) == 6
    assert sum(summary.entries_ended for summary in summaries) == 6
    said = Counter(kind for kind, _ in notices(factory))
    assert said == {"record": 6, "listing": 6, "delisting": 6, "expiry": 6}
    assert len(set(notices(factory))) == 24
