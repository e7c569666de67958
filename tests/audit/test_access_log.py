"""The access log: each read is a row and a ledger leaf; deleting or editing a row is caught;
the retention setting cannot go below five years; the auditor's export covers a period."""

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.accounts.deps import Person
from xinyong.accounts.service import create_account
from xinyong.audit.export import accesses, period
from xinyong.audit.models import AccessLogRow
from xinyong.audit.service import accesses_of, record_access
from xinyong.cli import app
from xinyong.clock import CHINA
from xinyong.config import Settings, get_settings
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.decisions import Decision
from xinyong.ledger import SigningKey, checkpoint, verify
from xinyong.policy import Pack
from xinyong.records.models import Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.ingest import ingest

runner = CliRunner()


def auditor(session: Session) -> Person:
    account_id = create_account(
        session, username="li.auditor", password="a long password", role="auditor"
    )
    return Person(account_id, "li.auditor", "auditor", None, None, None)


@pytest.fixture
def subject_id(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> int:
    ingest(factory, national, tmp_path, [samples.defaulter_listing(samples.person(4), 4)])
    with factory() as session:
        return session.scalars(select(Subject.id)).one()


def test_each_read_is_logged_and_on_the_ledger(
    factory: sessionmaker[Session], subject_id: int
) -> None:
    key = SigningKey.generate()
    with factory.begin() as session:
        person = auditor(session)
        for purpose in ("annual audit", "complaint 17"):
            record_access(
                session, person=person, subject_id=subject_id, purpose=purpose, what="file"
            )
        checkpoint(session, key)
    with factory() as session:
        rows = accesses_of(session, subject_id)
        assert [row.purpose for row in rows] == ["complaint 17", "annual audit"]
        assert all(row.username == "li.auditor" and row.role == "auditor" for row in rows)
        assert all(row.ledger_leaf is not None for row in rows)
        assert verify(session, key.verifier).ok

    # An edit or a deletion behind the application's back no longer matches the signed tree.
    with factory.begin() as session:
        session.execute(
            update(AccessLogRow).where(AccessLogRow.purpose == "complaint 17").values(purpose="x")
        )
    with factory() as session:
        report = verify(session, key.verifier)
        assert not report.ok and report.first is not None and report.first.kind == "access.read"
    with factory.begin() as session:
        session.execute(delete(AccessLogRow).where(AccessLogRow.purpose == "x"))
    with factory() as session:
        report = verify(session, key.verifier)
        assert report.first is not None and "deleted" in report.first.reason


def test_a_read_needs_a_purpose(factory: sessionmaker[Session], subject_id: int) -> None:
    with factory.begin() as session:
        person = auditor(session)
        with pytest.raises(ValueError, match="purpose"):
            record_access(session, person=person, subject_id=subject_id, purpose="  ", what="file")


def test_retention_below_five_years_is_refused() -> None:
    assert Settings().access_log_retention_years == 5
    assert Settings(access_log_retention_years=7).access_log_retention_years == 7
    with pytest.raises(ValidationError, match="greater than or equal to 5"):
        Settings(access_log_retention_years=4)


def test_a_period_is_china_days_inclusive() -> None:
    start, end = period(date(2026, 11, 1), date(2026, 11, 2))
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 2, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="before it starts"):
        period(date(2026, 11, 2), date(2026, 11, 1))


@pytest.fixture
def env_store(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv("XINYONG_DATABASE_URL", store_url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


def test_the_export_merges_staff_reads_and_checks_of_the_period(
    env_store: str, national: Pack, tmp_path: Path
) -> None:
    factory = make_sessionmaker(make_engine(env_store))
    person = samples.person(4)
    ingest(factory, national, tmp_path, [samples.defaulter_listing(person, 4)])
    with factory.begin() as session:
        reader = auditor(session)
        subject = session.scalars(select(Subject.id)).one()
        record_access(session, person=reader, subject_id=subject, purpose="audit", what="file")
    log = CheckLog(factory)
    today = datetime.now(CHINA).date()
    log.add_all(
        [
            Decision(
                "d" * 32,
                person,
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
        ],
        Asker("k1", "airline"),
        "flight CA1234",
    )
    assert log.flush() == 1

    with factory() as session:
        start, end = period(today - timedelta(days=1), today)
        rows = list(accesses(session, start, end))
        assert [row["kind"] for row in rows] == ["staff_read", "check"]
        assert all(start <= row["at"] < end for row in rows)
        assert (
            list(accesses(session, *period(today - timedelta(days=9), today - timedelta(days=2))))
            == []
        )

    day = today.isoformat()
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app, ["audit", "export", "--from", day, "--to", day, "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {
        "from": day,
        "to": day,
        "staff_reads": 1,
        "checks": 1,
        "out": str(out),
        "retention_years": 5,
    }
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [(line["kind"], line["who"], line["purpose"], line["subject"]) for line in lines] == [
        ("staff_read", "li.auditor", "audit", person),
        ("check", "k1", "flight CA1234", person),
    ]

    table = tmp_path / "audit.csv"
    assert (
        runner.invoke(
            app, ["audit", "export", "--from", day, "--to", day, "--out", str(table)]
        ).exit_code
        == 0
    )
    with table.open(encoding="utf-8") as handle:
        assert [row["what"] for row in csv.DictReader(handle)] == [
            "file",
            "check buy_air_ticket: deny",
        ]

    to_stdout = runner.invoke(app, ["audit", "export", "--from", day, "--to", day])
    assert to_stdout.exit_code == 0
    assert len(to_stdout.stdout.splitlines()) == 2
    assert "1 staff reads and 1 checks" in to_stdout.stderr

    backwards = runner.invoke(app, ["audit", "export", "--from", day, "--to", "2020-01-01"])
    assert backwards.exit_code == 2 and "before it starts" in backwards.stderr
