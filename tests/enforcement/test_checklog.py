"""The check log: journalled before answers and moved into the store in groups, a refused
request fails alone and is kept, groups are sealed on the ledger and an edited or deleted row
shows in ``verify``, on both backends."""

import asyncio
from datetime import date
from itertools import count
from pathlib import Path

import orjson
import pytest
from alembic import command
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.checklog import KIND, Asker, CheckLog, CheckLogFailed
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.journal import REFUSED
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow, checks_about, subject_key
from xinyong.ledger import SigningKey, checkpoint, verify
from xinyong.store.db import alembic_config, make_engine, make_sessionmaker, migrate
from xinyong.testing.coroutines import run_alone
from xinyong.testing.postgres import create_database

AIRLINE = Asker("k1", "airline")
_ids = count()


def decision(subject: str = "11010519491231002X") -> Decision:
    return Decision(
        f"{next(_ids):032x}",
        subject,
        True,
        "buy_air_ticket",
        date(2026, 11, 1),
        "allow",
        (),
        (),
        (),
        "national@test",
        date(2026, 11, 2),
    )


def logged(factory: sessionmaker[Session]) -> dict[str, str]:
    """Decision id -> purpose of every row in the log."""
    with factory() as session:
        return dict(session.execute(select(CheckLogRow.decision_id, CheckLogRow.purpose)).all())


def refuse_purpose(factory: sessionmaker[Session], purpose: str) -> None:
    """Make the store itself refuse rows with ``purpose`` (a trigger), as a store refuses a
    value it cannot hold."""
    with factory.begin() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON check_log "
                    f"WHEN NEW.purpose = '{purpose}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.purpose = '{purpose}' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON check_log "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )


def serve(log: CheckLog, requests: list[tuple[Decision, str]]) -> None:
    """Answer ``requests`` as a serving loop does, one after another, and keep the loop
    running until the log has moved them into the store (at most 30 s)."""

    async def run() -> None:
        for made, purpose in requests:
            await log.write([made], AIRLINE, purpose)
        for _ in range(3000):
            await asyncio.sleep(0.01)
            if log.pending() == 0:
                return
        raise AssertionError("the journalled rows were not moved into the store")

    run_alone(run())


def kept(journals: Path) -> list[tuple[str, str]]:
    """(decision id, reason) of each row kept because the store refused it."""
    path = journals / REFUSED
    if not path.exists():
        return []
    return [
        (row[1], refusal["error"])
        for refusal in map(orjson.loads, path.read_bytes().splitlines())
        for row in refusal["entry"][7]
    ]


def test_a_request_the_store_refuses_is_kept_apart_and_logging_goes_on(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    refuse_purpose(factory, "poison")
    log = CheckLog(factory, tmp_path)
    first, poisoned, last, later = decision(), decision(), decision(), decision()
    try:
        serve(log, [(first, "ticket sale"), (poisoned, "poison"), (last, "ticket sale")])
        serve(log, [(later, "ticket sale")])
    finally:
        log.stop()
    assert logged(factory) == {
        first.decision_id: "ticket sale",
        last.decision_id: "ticket sale",
        later.decision_id: "ticket sale",
    }
    [(refused, reason)] = kept(tmp_path)
    assert refused == poisoned.decision_id and "refused" in reason
    assert list(tmp_path.glob("*.journal")) == []  # all in the store or kept: gone


@pytest.mark.postgres
def test_a_nul_that_postgresql_refuses_fails_only_its_own_request(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    url = create_database(postgres_admin_url, "checklog_nul")
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    log = CheckLog(factory, tmp_path)
    good, bad, after = decision(), decision(), decision()
    try:
        serve(log, [(good, "ticket sale"), (bad, "ticket\x00sale")])
        serve(log, [(after, "ticket sale")])
    finally:
        log.stop()
    assert set(logged(factory)) == {good.decision_id, after.decision_id}
    assert [refused for refused, _ in kept(tmp_path)] == [bad.decision_id]


def test_a_log_without_a_journal_answers_nothing(factory: sessionmaker[Session]) -> None:
    async def answer() -> None:
        await CheckLog(factory).write([decision()], AIRLINE, "ticket sale")

    with pytest.raises(RuntimeError, match="journal"):
        run_alone(answer())


def test_flush_writes_the_rest_and_says_what_it_could_not(factory: sessionmaker[Session]) -> None:
    refuse_purpose(factory, "poison")
    log = CheckLog(factory)
    kept = decision()
    log.add_all([kept], AIRLINE, "ticket sale")
    log.add_all([decision()], AIRLINE, "poison")
    with pytest.raises(CheckLogFailed, match="1 check-log rows"):
        log.flush()
    assert set(logged(factory)) == {kept.decision_id}
    assert log.flush() == 0  # the refused row is not retried for ever


def test_requests_answered_together_share_a_group(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    log = CheckLog(factory, tmp_path)
    try:
        serve(log, [(decision(), "ticket sale") for _ in range(5)])
    finally:
        log.stop()
    with factory() as session:
        groups = session.scalars(select(CheckLogRow.group_id)).all()
        assert len(groups) == 5 and len(set(groups)) == 1
        assert session.scalars(select(CheckLogGroup.sealed)).all() == [True]


def test_verify_names_the_groups_of_an_edited_and_a_deleted_row(
    factory: sessionmaker[Session],
) -> None:
    log = CheckLog(factory)
    for purpose in ("ticket sale", "rail ticket", "hotel booking"):
        log.add_all([decision(), decision("110105195102020025")], AIRLINE, purpose)
        log.flush()
    key = SigningKey.generate()
    with factory.begin() as session:
        checkpoint(session, key)
        assert verify(session, key.verifier).ok
        first, second, third = session.scalars(
            select(CheckLogGroup.id).order_by(CheckLogGroup.id)
        ).all()
        row_of = {
            group: session.scalars(
                select(CheckLogRow.id).where(CheckLogRow.group_id == group).limit(1)
            ).one()
            for group in (first, third)
        }
        session.execute(
            update(CheckLogRow).where(CheckLogRow.id == row_of[first]).values(effect="deny")
        )
        session.execute(delete(CheckLogRow).where(CheckLogRow.id == row_of[third]))
    with factory() as session:
        report = verify(session, key.verifier)
    assert {(item.kind, item.ref) for item in report.divergences} == {
        (KIND, str(first)),
        (KIND, str(third)),
    }
    assert str(second) not in {item.ref for item in report.divergences}


def test_a_subject_finds_its_rows_once_their_group_is_sealed(
    factory: sessionmaker[Session],
) -> None:
    log = CheckLog(factory)
    about = decision("110105195102020025")
    log.add_all([about, decision(), decision("110105195102020025")], AIRLINE, "ticket sale")
    log.flush()
    with factory() as session:
        found = session.scalars(checks_about("110105195102020025")).all()
    assert about.decision_id in {row.decision_id for row in found}
    assert [row.subject for row in found] == ["110105195102020025"] * 2


def test_rows_from_before_groups_are_grouped_sealed_and_found(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    command.upgrade(alembic_config(url), "0007")
    engine = make_engine(url)
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(
                text(
                    "INSERT INTO check_log (decision_id, checked_at, relying_party, "
                    "relying_party_label, purpose, subject, subject_key, action, as_of, effect, "
                    "policy_version) VALUES (:d, '2026-12-01 08:00:00.000000', 'k', 'bank', "
                    "'loan', :s, :k, 'apply_loan', '2026-12-01', 'allow', 'national@1')"
                ),
                {"d": f"d{n}", "s": "110105195102020025", "k": subject_key("110105195102020025")},
            )
    engine.dispose()
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    CheckLog(factory).start()
    with factory() as session:
        found = session.scalars(checks_about("110105195102020025")).all()
        assert sorted(row.decision_id for row in found) == ["d0", "d1", "d2"]
        assert session.scalars(select(CheckLogGroup.sealed)).all() == [True]
        assert verify(session, SigningKey.generate().verifier).ok
