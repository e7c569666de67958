"""The auditor's search of the logs: by subject, staff member, relying party and period, page by
page with the true total; each search logged with its ledger leaf; the ledger's quick checks;
criteria that cannot be searched are refused with the reason."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.deps import Person
from xinyong.accounts.service import create_account
from xinyong.audit.models import AccessLogRow, AuditSearch
from xinyong.audit.search import (
    CHECKS,
    PAGE_SIZE,
    STAFF_READS,
    Criteria,
    SearchRefused,
    ledger_state,
    log_search,
    search,
)
from xinyong.audit.service import record_access
from xinyong.clock import CHINA, china_midnight
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.decisions import Decision
from xinyong.ledger import SigningKey, checkpoint
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import ledger_size
from xinyong.policy import Pack
from xinyong.records.models import Subject
from xinyong.testing import samples
from xinyong.testing.ingest import ingest


def staff(session: Session, username: str, role: str) -> Person:
    account_id = create_account(session, username=username, password="a long password", role=role)
    return Person(account_id, username, role, None, None, None)


@pytest.fixture
def subjects(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> list[str]:
    people = [samples.person(n) for n in (1, 2)]
    ingest(
        factory,
        national,
        tmp_path,
        [samples.defaulter_listing(person, n) for n, person in enumerate(people, start=1)],
    )
    return people


def _read(factory: sessionmaker[Session], subjects: list[str]) -> None:
    """60 reads by one reviewer of the first subject, 3 by an operator of the second, and
    the reviewer's first read moved to 10 days ago."""
    with factory.begin() as session:
        ids = {
            identifier: subject_id
            for identifier, subject_id in session.execute(select(Subject.identifier, Subject.id))
        }
        reviewer = staff(session, "wang.reviewer", "reviewer")
        operator = staff(session, "zhao.operator", "operator")
        for n in range(PAGE_SIZE + 10):
            record_access(
                session, person=reviewer, subject_id=ids[subjects[0]], purpose="case", what=f"r{n}"
            )
        for n in range(3):
            record_access(
                session, person=operator, subject_id=ids[subjects[1]], purpose="fix", what=f"o{n}"
            )
        first = session.scalars(select(AccessLogRow.id).order_by(AccessLogRow.id)).first()
        session.execute(
            update(AccessLogRow)
            .where(AccessLogRow.id == first)
            .values(accessed_at=china_midnight(date.today() - timedelta(days=10)))
        )


def test_staff_reads_are_found_by_subject_staff_and_period_page_by_page(
    factory: sessionmaker[Session], subjects: list[str]
) -> None:
    _read(factory, subjects)
    today = datetime.now(CHINA).date()
    with factory() as session:
        by_subject = search(session, Criteria(STAFF_READS, subject=subjects[0].lower()))
        assert (by_subject["total"], by_subject["pages"]) == (PAGE_SIZE + 10, 2)
        assert len(by_subject["rows"]) == PAGE_SIZE
        assert by_subject["rows"][0]["what"] == f"r{PAGE_SIZE + 9}"  # newest first
        second = search(session, Criteria(STAFF_READS, subject=subjects[0], page=2))
        assert [row["what"] for row in second["rows"]][-1] == "r0"
        seen = {row["what"] for row in by_subject["rows"] + second["rows"]}
        assert len(seen) == PAGE_SIZE + 10
        by_staff = search(session, Criteria(STAFF_READS, staff="zhao.operator"))
        assert [row["what"] for row in by_staff["rows"]] == ["o2", "o1", "o0"]
        assert {row["subject"] for row in by_staff["rows"]} == {subjects[1]}
        recent = search(session, Criteria(STAFF_READS, first=today - timedelta(days=1)))
        assert recent["total"] == PAGE_SIZE + 9 + 3
        old = search(session, Criteria(STAFF_READS, last=today - timedelta(days=5)))
        assert [row["what"] for row in old["rows"]] == ["r0"]
        nobody = search(session, Criteria(STAFF_READS, relying_party="airline"))
        assert nobody["total"] == 0 and nobody["pages"] == 1


def test_checks_are_found_by_relying_party_and_subject(
    factory: sessionmaker[Session], subjects: list[str]
) -> None:
    log = CheckLog(factory)
    today = datetime.now(CHINA).date()
    for subject, asker in (
        (subjects[0], Asker("k1", "airline")),
        (subjects[1], Asker("k2", "rail")),
    ):
        decision = Decision(
            f"{subject[-6:]:0>32}",
            subject,
            True,
            "buy_air_ticket",
            today,
            "deny",
            (),
            (),
            (),
            "national@1",
            today,
        )
        log.add_all([decision], asker, "ticket sale")
    assert log.flush() == 2
    with factory() as session:
        airline = search(session, Criteria(CHECKS, relying_party="airline"))
        assert [(row["subject"], row["who"]) for row in airline["rows"]] == [(subjects[0], "k1")]
        assert search(session, Criteria(CHECKS, relying_party="k2"))["rows"][0]["who_label"] == (
            "rail"
        )
        about = search(session, Criteria(CHECKS, subject=subjects[1]))
        assert [row["who_label"] for row in about["rows"]] == ["rail"]
        assert search(session, Criteria(CHECKS, staff="wang.reviewer"))["total"] == 0


def test_each_search_is_logged_on_the_ledger(
    factory: sessionmaker[Session], subjects: list[str]
) -> None:
    with factory.begin() as session:
        auditor = staff(session, "li.auditor", "auditor")
        before = ledger_size(session)
        criteria = Criteria(STAFF_READS, subject=subjects[0])
        entry = log_search(session, auditor, "search", criteria.as_json(), 0)
        assert entry.ledger_leaf == before and ledger_size(session) == before + 1
    with factory() as session:
        [kept] = session.scalars(select(AuditSearch)).all()
        assert (kept.username, kept.action, kept.criteria["subject"]) == (
            "li.auditor",
            "search",
            subjects[0],
        )
        leaf = session.get_one(LedgerLeaf, kept.ledger_leaf)
        assert leaf.kind == "audit.search" and leaf.payload is not None
        assert subjects[0].encode() in leaf.payload


def test_the_ledger_state_checks_the_latest_checkpoint(
    factory: sessionmaker[Session], subjects: list[str]
) -> None:
    key = SigningKey.generate()
    other = SigningKey.generate("another.example/log")
    with factory.begin() as session:
        unsigned = ledger_state(session, key.verifier)
        assert unsigned["checkpoint"] is None
        assert unsigned["checks"] == {"signed": None, "extends": None}
        checkpoint(session, key)
        size = ledger_size(session)
    _read(factory, subjects)
    with factory() as session:
        state = ledger_state(session, key.verifier)
        assert state["checkpoint"]["size"] == size
        assert state["size"] == size + PAGE_SIZE + 13
        assert state["checkpoint"]["behind"] == PAGE_SIZE + 13
        assert state["checks"] == {"signed": True, "extends": True}
        assert ledger_state(session, other.verifier)["checks"]["signed"] is False


@given(
    text=st.text(max_size=120),
    page=st.integers(min_value=-5, max_value=2_000_000),
    first=st.dates(),
    last=st.dates(),
)
def test_criteria_are_searchable_or_refused_with_a_reason(
    text: str, page: int, first: date, last: date
) -> None:
    try:
        criteria = Criteria(CHECKS, text, text, text, first, last, page)
    except SearchRefused as refused:
        assert str(refused)
        return
    assert len(criteria.subject) <= 100 and 1 <= criteria.page <= 1_000_000
    assert first <= last and first.year >= 2000 and last.year <= 2100
    assert not any(ord(char) < 0x20 for char in text)
