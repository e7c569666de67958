"""Derived state recomputed from the logged records: a clean town verifies clean, and each edit
made with SQL behind the application's back is reported with its subject, stored and
recomputed value, on SQLite and on PostgreSQL."""

from datetime import UTC, date, datetime

import pyarrow as pa
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from tests.enforcement.conftest import Decide, Ingest
from tests.integrity.conftest import BUILT_ON, COMPANY_NAME, Town, origin, verify

from xinyong.clock import utc_now
from xinyong.enforcement.models import EntryRow, IndexState, MeasureIndexRow
from xinyong.enforcement.refresh import refresh_subjects
from xinyong.integrity.report import AREAS
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject
from xinyong.testing import samples

LISTED = "court.110105|court.defaulter_listing|(2024)京0105执1号"


def subject_id(session: Session, identifier: str) -> int:
    return session.scalars(select(Subject.id).where(Subject.identifier == identifier)).one()


def entry_of(session: Session, identifier: str, list_code: str) -> EntryRow:
    return session.scalars(
        select(EntryRow).where(
            EntryRow.subject_id == subject_id(session, identifier), EntryRow.list_code == list_code
        )
    ).one()


def test_a_clean_town_verifies_clean(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    with factory() as session:
        report = verify(session, national, town)
        heads = session.scalar(select(func.count()).select_from(RecordHead))
        grants = session.scalar(select(func.count()).select_from(MeasureIndexRow))
    assert report.ok, [item.describe() for item in report.differences]
    assert (report.total, report.following_total, report.stale_total) == (0, 0, 0)
    assert set(report.checked) == set(AREAS)
    assert report.checked["record_heads"] == heads and report.checked["measure_index"] == grants
    assert report.checked["legal_representatives"] == 3  # two for the company, one for the other
    assert report.checked["search_index"] == 3  # the two companies and the public defaulter


def test_a_withdrawal_written_into_the_head_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """The issue's first edit: ``record_heads.status`` set by hand. The head now says the
    decision was revoked, which no logged event says."""
    with factory.begin() as session:
        session.execute(
            update(RecordHead).where(RecordHead.document_key == LISTED).values(status="withdrawn")
        )
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "record_heads", town.defaulter, "status")
    assert (found.row, found.stored, found.recomputed) == (LISTED, "withdrawn", "active")
    assert report.by_area == {"record_heads": 1}


def test_an_entry_ended_early_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """The issue's second edit: ``entries.ended_on`` moved forward, which would end the ban
    at the next refresh of the index; the index row, recomputed from the edited entry, is
    reported as following from it."""
    with factory.begin() as session:
        entry = entry_of(session, town.defaulter, "court.defaulters")
        entry.ended_on = date(2026, 3, 6)
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "entries", town.defaulter, "ended_on")
    assert (found.stored, found.recomputed) == (date(2026, 3, 6), date(2028, 3, 5))
    assert found.row == f"entry #{entry.id} court.defaulters {LISTED}"
    assert report.by_area == {"entries": 1, "measure_index": 1}
    [index] = [item for item in report.differences if item.area == "measure_index"]
    assert (index.subject, index.follows) == (town.defaulter, f"entries of {town.defaulter}")


def test_a_renamed_subject_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """The issue's third edit: ``subjects.name`` rewritten. The name the public pages show is
    the registered one, from the last registration record; the published search index, built
    before the edit, still shows the registered name and is reported as following from it."""
    with factory.begin() as session:
        session.execute(
            update(Subject).where(Subject.identifier == town.company).values(name="假冒公司")
        )
    with factory() as session:
        report = verify(session, national, town)
    found = origin(report, "subjects", town.company, "name")
    assert (found.stored, found.recomputed) == ("假冒公司", COMPANY_NAME)
    [search] = [item for item in report.differences if item.area == "search_index"]
    assert (search.subject, search.what, search.stored, search.recomputed) == (
        town.company,
        "name",
        COMPANY_NAME,
        "假冒公司",
    )
    assert search.follows == f"subjects of {town.company}"
    assert report.by_area == {"subjects": 1, "search_index": 1}


def test_a_deleted_index_row_turning_deny_into_allow_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town, decide: Decide
) -> None:
    """The issue's fourth edit: ``DELETE FROM measure_index WHERE subject_id=...``. Every check
    then answers allow; the verification names the subject and the grants it should hold."""
    day = date(2026, 6, 1)
    assert decide(town.defaulter, "buy_air_ticket", day).effect == "deny"
    with factory.begin() as session:
        session.execute(
            delete(MeasureIndexRow).where(
                MeasureIndexRow.subject_id == subject_id(session, town.defaulter)
            )
        )
    assert decide(town.defaulter, "buy_air_ticket", day).effect == "allow"
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "measure_index", town.defaulter, "row")
    assert found.stored is None
    assert {grant[4] for grant in found.recomputed} == {"court.defaulters"}
    assert report.by_area == {"measure_index": 1}


def test_a_representation_cut_short_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """Ending the representative's period before the registration change did frees them from
    the company's listing; the period is reported, and the person's index row follows from it."""
    with factory.begin() as session:
        period = session.scalars(
            select(LegalRepresentative).where(
                LegalRepresentative.person_id == subject_id(session, town.representative)
            )
        ).one()
        period.ended_on = date(2026, 4, 2)
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "legal_representatives", town.company, "ended_on")
    assert (found.stored, found.recomputed) == (date(2026, 4, 2), "open")
    assert town.representative in found.row and "from 2026-04-01" in found.row
    assert report.by_area == {"legal_representatives": 1, "measure_index": 1}
    [index] = [item for item in report.differences if item.area == "measure_index"]
    assert (index.subject, index.follows) == (
        town.representative,
        f"legal_representatives of {town.company}",
    )


def test_a_withdrawal_event_no_authority_sent_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town, decide: Decide
) -> None:
    """A ``withdrawn`` event row added, the head set to match, and the service's own refresh
    run over them: entries and index now agree with the forged event and checks answer allow.
    The ledger holds no such event, so the event is reported, first."""
    with factory.begin() as session:
        record_id = session.scalars(
            select(RecordHead.record_id).where(RecordHead.document_key == LISTED)
        ).one()
        session.execute(
            insert(RecordEvent).values(
                record_id=record_id, kind="withdrawn", occurred_at=datetime(2026, 3, 9, tzinfo=UTC)
            )
        )
        session.execute(
            update(RecordHead).where(RecordHead.document_key == LISTED).values(status="withdrawn")
        )
        refresh_subjects(session, national, [subject_id(session, town.defaulter)])
    assert decide(town.defaulter, "buy_air_ticket", date(2026, 6, 1)).effect == "allow"
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "record_events", town.defaulter, "ledger leaf None")
    assert (found.stored, found.recomputed) == (None, f"record.withdrawn {found.row.split()[1]}")
    assert report.differences[0] == found


def test_a_person_made_an_organisation_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """A defaulter's kind flipped to organisation would publish a person's file like a
    company's; the kind comes from the identifier itself."""
    with factory.begin() as session:
        session.execute(
            update(Subject).where(Subject.identifier == town.defaulter).values(kind="organisation")
        )
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "subjects", town.defaulter, "kind")
    assert (found.stored, found.recomputed) == ("organisation", "person")


def test_a_fabricated_subject_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """A subject row no logged record names would make checks answer ``known: true``."""
    stranger = samples.person(99)
    with factory.begin() as session:
        session.add(Subject(identifier=stranger, kind="person", name="无名", created_at=utc_now()))
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "subjects", stranger, "row")
    assert (found.stored, found.recomputed) == ({"name": "无名"}, None)


def test_an_entry_added_by_hand_is_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    with factory.begin() as session:
        record_id = session.scalars(
            select(Record.id).where(Record.subject_id == subject_id(session, town.expired))
        ).one()
        session.add(
            EntryRow(
                list_code="court.defaulters",
                subject_id=subject_id(session, town.expired),
                document_key="court.110105|court.defaulter_listing|forged",
                record_id=record_id,
                started_on=date(2026, 1, 1),
                period_ends_on=date(2028, 1, 1),
                ended_on=date(2028, 1, 1),
                end_reason="period",
                updated_at=utc_now(),
            )
        )
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "entries", town.expired, "row")
    assert found.recomputed is None and found.stored["ended_on"] == date(2028, 1, 1)


def test_a_corrected_entry_is_held_to_its_logged_end(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """An entry whose grounding record was corrected out of the list's rule ended on the day
    the correction was refreshed; the rules no longer derive it, the ledger logged its end."""
    with factory.begin() as session:
        entry = entry_of(session, town.taxpayer, "tax.a_grade_taxpayers")
        assert (entry.end_reason, entry.ended_on) == ("corrected", BUILT_ON)
        entry.ended_on = date(2027, 4, 1)
    with factory() as session:
        report = verify(session, national)
    found = origin(report, "entries", town.taxpayer, "ended_on")
    assert (found.stored, found.recomputed) == ("2027-04-01", BUILT_ON.isoformat())


def test_index_grants_and_counter_edits_are_found(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    with factory.begin() as session:
        row = session.get_one(MeasureIndexRow, subject_id(session, town.representative))
        kept = list(row.grants)
        row.grants = []
        session.execute(update(IndexState).values(policy_version="national@0.0.0+forged"))
    with factory() as session:
        report = verify(session, national)
    grants = origin(report, "measure_index", town.representative, "grants")
    assert (grants.stored, grants.recomputed) == ([], kept) and kept
    [state] = [item for item in report.differences if item.area == "measure_index_state"]
    assert (state.stored, state.recomputed) == ("national@0.0.0+forged", national.policy_version)


def test_a_forged_search_row_is_found_and_a_stale_one_is_told_apart(
    factory: sessionmaker[Session], national: Pack, town: Town, ingest: Ingest
) -> None:
    """The published search index is rebuilt for its day: a name rewritten in its files is an
    edit; a company registered after the build is a stale build, not an edit."""
    live = town.search_root / (town.search_root / "CURRENT").read_text().strip()
    table = pa.ipc.open_file(pa.BufferReader((live / "subjects.arrow").read_bytes())).read_all()
    names = table.column("name").to_pylist()
    at = table.column("ref").to_pylist().index(town.company)
    names[at] = "假冒公司"
    forged = table.set_column(table.schema.get_field_index("name"), "name", pa.array(names))
    with (
        pa.OSFile(str(live / "subjects.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, forged.schema) as writer,
    ):
        writer.write_table(forged)
    ingest(samples.registration(samples.organisation(50), samples.person(50), 50))

    with factory() as session:
        report = verify(session, national, town)
    found = origin(report, "search_index", town.company, "name")
    assert (found.stored, found.recomputed) == ("假冒公司", COMPANY_NAME)
    assert report.by_area == {"search_index": 1}
    assert report.stale_total == 1
    [stale] = report.stale
    assert (stale.subject, stale.what, stale.stored) == (samples.organisation(50), "row", None)


def test_values_no_writer_stores_are_reported_not_crashed_on(
    factory: sessionmaker[Session], national: Pack, town: Town
) -> None:
    """An end reason the code does not know, and (SQLite keeps any text in any column) a date
    that is not a date: each is reported, and every other part is still checked."""
    sqlite = factory.kw["bind"].dialect.name == "sqlite"
    with factory.begin() as session:
        entry = entry_of(session, town.defaulter, "court.defaulters")
        entry.end_reason = "forgiven"
        if sqlite:
            session.execute(
                update(LegalRepresentative)
                .where(LegalRepresentative.person_id == subject_id(session, town.representative))
                .values(started_on=text("'last spring'"))
            )
        session.execute(
            update(Subject).where(Subject.identifier == town.company).values(name="假冒公司")
        )
    with factory() as session:
        report = verify(session, national, town)
    found = origin(report, "entries", town.defaulter, "end_reason")
    assert (found.stored, found.recomputed) == ("forgiven", None)
    assert "unreadable" in found.note
    assert origin(report, "subjects", town.company, "name").stored == "假冒公司"
    if sqlite:
        unreadable = [item for item in report.differences if item.what == "unreadable"]
        # The index reads the representations too.
        assert {item.area for item in unreadable} == {"legal_representatives", "measure_index"}
        assert all("last spring" in item.stored for item in unreadable)
