"""Objection and repair services on SQLite and PostgreSQL, with the clock set by the test."""

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.clock import CHINA
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob
from xinyong.ledger.checkpoint import SigningKey
from xinyong.ledger.verification import verify
from xinyong.policy import Pack
from xinyong.records.models import RecordEvent, RecordHead, Subject
from xinyong.rights.calendar import add_working_days
from xinyong.rights.cases import CaseRefused, subject_requests
from xinyong.rights.events import disputed_records
from xinyong.rights.objections import MAX_GROUNDS, file_objection
from xinyong.rights.repairs import apply_for_repair, eligibility
from xinyong.rights.reviews import Decision, Reviewer, decide, overdue_cases
from xinyong.testing import samples

REVIEWER = Reviewer(900, "reviewer", None)
LISTING = "court.110105|court.defaulter_listing|(2024)京0105执1号"


def at(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=CHINA).astimezone(UTC)


def ingest(factory: sessionmaker[Session], pack: Pack, *rows: dict[str, Any]) -> None:
    items = [(n, orjson.dumps(row).decode(), row) for n, row in enumerate(rows, start=1)]
    summary = IngestJob(factory, pack, today=date(2026, 11, 1)).run_rows(
        items, source_name="test", digest=f"test-{rows[0]['document_no']}", key_id="test"
    )
    assert summary.rejected == 0, summary.outcomes


def subject_id(factory: sessionmaker[Session], identifier: str) -> int:
    with factory() as session:
        found = session.query(Subject.id).filter(Subject.identifier == identifier).scalar()
        assert found is not None
        return int(found)


def test_deadlines_cross_national_day_and_the_case_goes_overdue(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    person = samples.person(1)
    ingest(factory, national, samples.defaulter_listing(person, 1))
    owner = subject_id(factory, person)
    with factory.begin() as session:
        case = file_objection(
            session,
            national,
            subject_id=owner,
            account_id=1,
            record=LISTING,
            entry=None,
            grounds="paid in full",
            evidence=[],
            var_dir=tmp_path,
            now=at(date(2026, 9, 29)),
        )
        # Received Tuesday 29 Sep 2026: 1-7 Oct are the National Day holiday and Saturday
        # 10 Oct is an adjusted working day.
        assert case.mark_due_on == date(2026, 9, 30)
        assert case.due_on == date(2026, 10, 12)
        assert case.limit_on == add_working_days(date(2026, 9, 29), 20) == date(2026, 11, 2)
        record_id, case_id = case.record_id, case.id
    with factory() as session:
        assert disputed_records(session, [record_id]) == {record_id}
        assert overdue_cases(session, date(2026, 10, 12)) == []
        [late] = overdue_cases(session, date(2026, 10, 14))
        assert late["id"] == case_id and late["working_days_overdue"] == 2
        assert late["beyond_limit"] is False
        [mine] = subject_requests(session, owner, date(2026, 10, 14))
        assert mine["overdue"] is True and mine["working_days_left"] == 0

    decide(
        factory,
        national,
        REVIEWER,
        case_id,
        Decision("rejected", "no proof of payment"),
        at(date(2026, 10, 14)),
    )
    with factory() as session:
        assert disputed_records(session, [record_id]) == set()
        assert overdue_cases(session, date(2026, 10, 14)) == []
        report = verify(session, SigningKey.generate().verifier)
        assert report.ok, report.divergences


def test_a_second_objection_to_an_open_case_is_refused(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    person = samples.person(2)
    ingest(factory, national, samples.defaulter_listing(person, 1))
    owner = subject_id(factory, person)
    arguments: dict[str, Any] = {
        "subject_id": owner,
        "account_id": 1,
        "record": LISTING,
        "entry": None,
        "grounds": "wrong person",
        "evidence": [],
        "var_dir": tmp_path,
        "now": at(date(2026, 11, 2)),
    }
    with factory.begin() as session:
        file_objection(session, national, **arguments)
    with factory.begin() as session, pytest.raises(CaseRefused) as refused:
        file_objection(session, national, **arguments)
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"grounds": "  "}, "say why"),
        ({"grounds": "x" * (MAX_GROUNDS + 1)}, f"at most {MAX_GROUNDS}"),
        ({"record": None}, "either a record or an entry"),
        ({"entry": 1}, "either a record or an entry"),
    ],
)
def test_an_objection_without_grounds_or_one_thing_to_contest_is_refused(
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path: Path,
    changes: dict[str, Any],
    said: str,
) -> None:
    person = samples.person(3)
    ingest(factory, national, samples.defaulter_listing(person, 1))
    arguments: dict[str, Any] = {
        "subject_id": subject_id(factory, person),
        "account_id": 1,
        "record": LISTING,
        "entry": None,
        "grounds": "x" * MAX_GROUNDS,
        "evidence": [],
        "var_dir": tmp_path,
        "now": at(date(2026, 11, 2)),
    }
    with factory.begin() as session, pytest.raises(CaseRefused) as refused:
        file_objection(session, national, **{**arguments, **changes})
    assert (refused.value.status, said in refused.value.message) == (422, True)
    with factory() as session:
        disputes = select(func.count()).where(RecordEvent.kind == "disputed")
        assert session.scalar(disputes) == 0
    with factory.begin() as session:
        assert file_objection(session, national, **arguments).kind == "objection"


def repairable_court_lists(national: Pack) -> Pack:
    repair = national.rights["repair"].model_copy(update={"unrepairable": ()})
    return national.model_copy(update={"rights": {**national.rights, "repair": repair}})


def test_a_performance_record_meets_the_obligations_condition(
    factory: sessionmaker[Session], national: Pack
) -> None:
    pack = repairable_court_lists(national)
    person = samples.person(3)
    ingest(
        factory,
        pack,
        samples.defaulter_listing(person, 1, decided_on="2024-03-01", effective_on="2024-03-05"),
    )
    owner = subject_id(factory, person)
    today = date(2026, 11, 2)
    with factory() as session:
        before = eligibility(session, pack, owner, LISTING, today)
    assert before.possible_from == date(2026, 3, 1)
    assert [c.met for c in before.conditions if c.code == "obligations_performed"] == [False]
    assert not before.eligible
    ingest(
        factory,
        pack,
        {
            "record_type": "court.obligation_performed",
            "subject_id": person,
            "subject_name": "张三",
            "authority": "court.110105",
            "document_no": "(2024)京0105执1号之一",
            "decided_on": "2026-10-01",
            "effective_on": "2026-10-01",
            "fields": {"case_no": "(2024)京0105执1号", "how": "performed"},
        },
    )
    with factory() as session:
        after = eligibility(session, pack, owner, LISTING, today)
    assert after.eligible and after.obligation_record_id is not None
    with factory.begin() as session:
        case = apply_for_repair(
            session,
            pack,
            subject_id=owner,
            account_id=1,
            record=LISTING,
            statement="paid",
            obligations_performed=False,
            commitment_signed=True,
            commitment="I promise the materials are true.",
            now=at(today),
        )
        assert case.obligation_record_id == after.obligation_record_id
        assert case.obligations_declared is False
        # Received Monday 2 Nov 2026: 3 working days to decide, 10 for the whole case.
        assert (case.due_on, case.limit_on) == (date(2026, 11, 5), date(2026, 11, 16))
        case_id = case.id
    decide(factory, pack, REVIEWER, case_id, Decision("granted", "performed"), at(today))
    with factory() as session:
        head = session.query(RecordHead).filter(RecordHead.document_key == LISTING).one()
        assert head.status == "repaired"
        kinds = [
            kind
            for (kind,) in session.query(RecordEvent.kind)
            .filter(RecordEvent.record_id == head.record_id)
            .order_by(RecordEvent.id)
        ]
        assert kinds == ["submitted", "repaired"]
        # The repaired event is on the ledger and rebuilds from the store byte for byte.
        report = verify(session, SigningKey.generate().verifier)
        assert report.ok, report.divergences
        assert report.tree_size > 0


def test_rights_overdue_command(
    factory: sessionmaker[Session],
    store_url: str,
    national: Pack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    person = samples.person(4)
    ingest(factory, national, samples.defaulter_listing(person, 1))
    with factory.begin() as session:
        file_objection(
            session,
            national,
            subject_id=subject_id(factory, person),
            account_id=1,
            record=LISTING,
            entry=None,
            grounds="not me",
            evidence=[],
            var_dir=tmp_path,
            now=at(date(2026, 11, 2)),
        )
    monkeypatch.setenv("XINYONG_DATABASE_URL", store_url)
    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(app, ["rights", "overdue", "--as-of", "2026-11-20", "--json"])
    assert result.exit_code == 0, result.output
    [late] = orjson.loads(result.output)["overdue"]
    assert late["due_on"] == "2026-11-09" and late["working_days_overdue"] == 9
    table = runner.invoke(app, ["rights", "overdue", "--as-of", "2026-11-03"])
    assert table.exit_code == 0 and "no overdue" in table.output
    get_settings.cache_clear()
