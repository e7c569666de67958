"""Any one edit of derived state, of any kind, on any row, is reported where it starts.

Each example edits one row of the town with SQL inside a transaction, verifies in that same
transaction and rolls back, so the examples share one store per backend.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.integrity.conftest import Town, verify

from xinyong.enforcement.models import EntryRow, MeasureIndexRow
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject

STATUSES = ("active", "withdrawn", "repaired", "expired")
DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
NAMES = st.text(st.characters(categories=["Lo", "Lu", "Ll", "Nd"]), min_size=1, max_size=30)

Expected = tuple[str, str, str]
"""(area, subject, what) of the difference the edit must produce."""
Edit = Callable[[Session, st.DataObject], Expected]


def identifier(session: Session, subject_id: int) -> str:
    return session.scalars(select(Subject.identifier).where(Subject.id == subject_id)).one()


def pick(
    session: Session, data: st.DataObject, query: Any, keep: Callable[[Any], bool] = bool
) -> Any:
    return data.draw(st.sampled_from([row for row in session.scalars(query) if keep(row)]))


def head_status(session: Session, data: st.DataObject) -> Expected:
    head = pick(session, data, select(RecordHead))
    status = data.draw(st.sampled_from([item for item in STATUSES if item != head.status]))
    session.execute(
        update(RecordHead).where(RecordHead.document_key == head.document_key).values(status=status)
    )
    return "record_heads", identifier(session, head.subject_id), "status"


def entry_day(column: str) -> Edit:
    def edit(session: Session, data: st.DataObject) -> Expected:
        entry = pick(session, data, select(EntryRow))
        day = data.draw(DAYS.filter(lambda value: value != getattr(entry, column)))
        session.execute(update(EntryRow).where(EntryRow.id == entry.id).values({column: day}))
        return "entries", identifier(session, entry.subject_id), column

    return edit


def subject_name(session: Session, data: st.DataObject) -> Expected:
    subject = pick(session, data, select(Subject))
    name = data.draw(NAMES.filter(lambda value: value != subject.name))
    session.execute(update(Subject).where(Subject.id == subject.id).values(name=name))
    return "subjects", subject.identifier, "name"


def subject_kind(session: Session, data: st.DataObject) -> Expected:
    subject = pick(session, data, select(Subject))
    kind = "person" if subject.kind == "organisation" else "organisation"
    session.execute(update(Subject).where(Subject.id == subject.id).values(kind=kind))
    return "subjects", subject.identifier, "kind"


def granting(row: MeasureIndexRow) -> bool:
    """A row that grants something (a subject whose grants all ended keeps an empty row)."""
    return bool(row.grants)


def index_row_deleted(session: Session, data: st.DataObject) -> Expected:
    row = pick(session, data, select(MeasureIndexRow), granting)
    session.execute(delete(MeasureIndexRow).where(MeasureIndexRow.subject_id == row.subject_id))
    return "measure_index", row.identifier, "row"


def index_grants_emptied(session: Session, data: st.DataObject) -> Expected:
    row = pick(session, data, select(MeasureIndexRow), granting)
    session.execute(
        update(MeasureIndexRow)
        .where(MeasureIndexRow.subject_id == row.subject_id)
        .values(grants=[])
    )
    return "measure_index", row.identifier, "grants"


def representation_end(session: Session, data: st.DataObject) -> Expected:
    period = pick(session, data, select(LegalRepresentative))
    day = data.draw(st.none() | DAYS.filter(lambda value: value != period.ended_on))
    if day is None and period.ended_on is None:
        day = date(2030, 1, 1)
    session.execute(
        update(LegalRepresentative).where(LegalRepresentative.id == period.id).values(ended_on=day)
    )
    return "legal_representatives", identifier(session, period.organisation_id), "ended_on"


def representation_deleted(session: Session, data: st.DataObject) -> Expected:
    period = pick(session, data, select(LegalRepresentative))
    session.execute(delete(LegalRepresentative).where(LegalRepresentative.id == period.id))
    return "legal_representatives", identifier(session, period.organisation_id), "row"


def forged_event(session: Session, data: st.DataObject) -> Expected:
    record = pick(session, data, select(Record))
    kind = data.draw(st.sampled_from(("withdrawn", "repaired", "expired", "corrected")))
    at = data.draw(st.datetimes(datetime(2020, 1, 1), datetime(2026, 10, 31)))
    session.execute(
        insert(RecordEvent).values(
            record_id=record.id, kind=kind, occurred_at=at.replace(tzinfo=UTC)
        )
    )
    return "record_events", identifier(session, record.subject_id), "ledger leaf None"


EDITS: dict[str, Edit] = {
    "record_heads.status": head_status,
    "entries.started_on": entry_day("started_on"),
    "entries.ended_on": entry_day("ended_on"),
    "entries.period_ends_on": entry_day("period_ends_on"),
    "subjects.name": subject_name,
    "subjects.kind": subject_kind,
    "measure_index deleted": index_row_deleted,
    "measure_index.grants": index_grants_emptied,
    "legal_representatives.ended_on": representation_end,
    "legal_representatives deleted": representation_deleted,
    "record_events forged": forged_event,
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_one_edit_is_found_where_it_starts(
    factory: sessionmaker[Session], national: Pack, town: Town, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(EDITS)), label="edit")
    with factory() as session:
        try:
            area, subject, what = EDITS[kind](session, data)
            session.flush()
            report = verify(session, national, town)
        finally:
            session.rollback()
    assert not report.ok
    origins = [
        (item.area, item.subject, item.what) for item in report.differences if item.follows is None
    ]
    assert (area, subject, what) in origins, [item.describe() for item in report.differences]
