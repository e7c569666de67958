"""The subject is told of a new negative record, a listing and a delisting, as they commit."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.models import EntryRow
from xinyong.records.models import Record
from xinyong.rights.notices_models import NoticeRow
from xinyong.testing.samples import blood_donation, defaulter_listing, person

from .conftest import Ingest

TODAY = date(2026, 11, 1)


def notices(factory: sessionmaker[Session]) -> list[tuple[str, str | None, str]]:
    with factory() as session:
        return [
            (row.kind, row.reference, row.title)
            for row in session.scalars(select(NoticeRow).order_by(NoticeRow.id))
        ]


def ids(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return session.scalars(select(Record.id)).one(), session.scalars(select(EntryRow.id)).one()


def test_a_listing_tells_of_the_record_and_the_entry_then_of_its_withdrawal(
    factory: sessionmaker[Session], ingest: Ingest
) -> None:
    subject = person(1)
    row = defaulter_listing(subject, 1, decided_on="2026-10-01", effective_on="2026-10-05")
    ingest(row)
    record_id, entry_id = ids(factory)

    assert notices(factory) == [
        ("record", f"record:{record_id}", "新增失信信息：失信被执行人名单信息"),
        ("listing", f"entry:{entry_id}", "列入名单：失信被执行人名单"),
    ]
    with factory() as session:
        listing = session.scalars(select(NoticeRow).where(NoticeRow.kind == "listing")).one()
    assert "2026-10-05" in listing.body and row["document_no"] in listing.body

    ingest({**row, "op": "withdraw"})
    kinds = [kind for kind, _, _ in notices(factory)]
    assert kinds == ["record", "listing", "delisting"]
    with factory() as session:
        delisting = session.scalars(select(NoticeRow).where(NoticeRow.kind == "delisting")).one()
    assert delisting.reference == f"entry:{entry_id}" and "撤销" in delisting.body

    # Ingesting the same file again changes nothing, so it tells nothing new.
    ingest(row)
    assert len(notices(factory)) == 3


def test_a_positive_record_sends_nothing(factory: sessionmaker[Session], ingest: Ingest) -> None:
    ingest(blood_donation(person(2), 1, decided_on="2026-06-01", effective_on="2026-06-01"))
    assert notices(factory) == []


def test_a_listing_already_over_is_recorded_but_not_announced(
    factory: sessionmaker[Session], ingest: Ingest
) -> None:
    # Decided in 2019: the two-year listing ended in 2021, before this history was loaded.
    ingest(defaulter_listing(person(3), 2, decided_on="2019-03-01", effective_on="2019-03-05"))
    assert [kind for kind, _, _ in notices(factory)] == ["record"]
