"""The references PostgreSQL checks per statement (``xinyong.store.references``) refuse what the
foreign keys they replace refused: a row naming a missing key, however many rows the statement
writes; a delete, truncate or key change that would leave a row naming a missing key, even
when the referencing row is written concurrently."""

import threading
from collections.abc import Iterator
from datetime import date
from itertools import count
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ForeignKeyConstraint

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.schema import METADATA
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.store.references import is_checked_per_statement
from xinyong.testing import samples
from xinyong.testing.postgres import migrated_database

pytestmark = pytest.mark.postgres
_databases = count()


@pytest.fixture(scope="module")
def store(
    postgres_admin_url: str, national: Pack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A PostgreSQL store holding two persons' records, as a psycopg connection string."""
    url = migrated_database(postgres_admin_url, f"refs{next(_databases)}")
    folder = tmp_path_factory.mktemp("references")
    path = folder / "rows.jsonl"
    organisation = samples.organisation(3)
    rows = [
        *(samples.defaulter_listing(samples.person(n), n) for n in (1, 2)),
        samples.registration(organisation, samples.person(1), 3),
    ]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    engine = make_engine(url)
    job = IngestJob(make_sessionmaker(engine), national, today=date(2026, 11, 1))
    job.run_file(path, digest=scan_file(path)[0], report_dir=folder / "reports")
    engine.dispose()
    yield url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def connection(store: str) -> Iterator[psycopg.Connection[Any]]:
    """A transaction on the store, rolled back after the test."""
    with psycopg.connect(store) as connection:
        yield connection
        connection.rollback()


def _one(connection: psycopg.Connection[Any], sql: str) -> Any:
    row = connection.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _missing(connection: psycopg.Connection[Any], table: str) -> int:
    return int(_one(connection, f"SELECT coalesce(max(id), 0) + 1000 FROM {table}"))


def _marked() -> set[tuple[str, str, str]]:
    """(referencing table, column, referenced table) of every reference checked per statement."""
    return {
        (table.name, constraint.elements[0].parent.name, constraint.referred_table.name)
        for table in METADATA.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, ForeignKeyConstraint) and is_checked_per_statement(constraint)
    }


def test_every_marked_reference_has_its_triggers_and_no_constraint(
    connection: psycopg.Connection[Any],
) -> None:
    marked = _marked()
    triggers = {
        (table, trigger, function)
        for table, trigger, function in connection.execute(
            "SELECT t.tgrelid::regclass::text, t.tgname, p.proname FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname LIKE 'xinyong_references_%'"
        )
    }
    constraints = {
        row[0]
        for row in connection.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text"
            " IN ('records', 'record_events', 'record_heads', 'legal_representatives')"
        )
    }
    assert len(marked) == 9
    assert triggers == {
        (table, f"{table}_references_{event}", f"xinyong_references_of_{table}")
        for table, _, _ in marked
        for event in ("insert", "update")
    }
    assert constraints == set()


# How a copy of a referenced row is made unique (its id is the sequence's next).
_UNIQUE = {
    "subjects": ("identifier", "'Z' || substr(identifier, 2)"),
    "records": ("document_key", "document_key || '/copy'"),
}


def _copy(connection: psycopg.Connection[Any], table: str, row_id: int) -> int:
    """A new row of ``table`` like row ``row_id``, that nothing references."""
    columns = [
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND column_name <> 'id'"
        )
    ]
    unique, value = _UNIQUE.get(table, ("", ""))
    chosen = ", ".join(value if name == unique else name for name in columns)
    return int(
        _one(
            connection,
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM {table} "
            f"WHERE id = {row_id} RETURNING id",
        )
    )


def test_deleting_a_row_any_reference_names_is_refused(
    connection: psycopg.Connection[Any],
) -> None:
    """Each marked reference in turn: a new referenced row, named by one row of the
    referencing table alone, cannot be deleted, and the refusal names that table."""
    for table, column, referenced in sorted(_marked()):
        connection.execute("SAVEPOINT attempt")
        named = _one(connection, f"SELECT {column} FROM {table} LIMIT 1")
        fresh = _copy(connection, referenced, named)
        connection.execute(
            f"UPDATE {table} SET {column} = {fresh} "
            f"WHERE ctid = (SELECT ctid FROM {table} WHERE {column} = {named} LIMIT 1)"
        )
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
            connection.execute(f"DELETE FROM {referenced} WHERE id = {fresh}")
        connection.execute("ROLLBACK TO SAVEPOINT attempt")
        assert refused.value.diag.message_detail == (
            f'Key (id)=({fresh}) is still referenced from table "{table}".'
        ), (table, column)


def test_an_update_to_a_missing_key_is_refused_for_every_reference(
    connection: psycopg.Connection[Any],
) -> None:
    """Each marked reference, on a row its table holds: the triggers check every one of them."""
    for table, column, referenced in sorted(_marked()):
        missing = _missing(connection, referenced)
        connection.execute("SAVEPOINT attempt")
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
            connection.execute(
                f"UPDATE {table} SET {column} = {missing} "
                f"WHERE ctid = (SELECT ctid FROM {table} LIMIT 1)"
            )
        connection.execute("ROLLBACK TO SAVEPOINT attempt")
        assert refused.value.diag.message_detail == (
            f'Key ({column})=({missing}) is not present in table "{referenced}".'
        )


def test_an_update_that_keeps_its_keys_looks_nothing_up(
    connection: psycopg.Connection[Any],
) -> None:
    """As with a foreign key, an update that leaves a row's keys as they were (a change of
    status) is not checked again: here it passes although the record its head names is gone,
    deleted by a hand that switched every trigger off (only a superuser can)."""
    connection.execute("SET session_replication_role = replica")
    record = _one(connection, "SELECT min(record_id) FROM record_heads")
    for table in ("record_events", "legal_representatives"):
        connection.execute(f"DELETE FROM {table} WHERE record_id = {record}")
    connection.execute(f"DELETE FROM records WHERE id = {record}")
    connection.execute("SET session_replication_role = origin")
    updated = connection.execute(
        f"UPDATE record_heads SET status = 'withdrawn' WHERE record_id = {record}"
    ).rowcount
    assert updated == 1


def test_a_record_naming_a_missing_subject_or_submission_is_refused(
    connection: psycopg.Connection[Any],
) -> None:
    columns = (
        "document_key, version, record_type, authority, document_no, subject_id, subject_name, "
        "decided_on, effective_on, severity, amount, fields, content_hash, submission_id, "
        "row_no, received_at"
    )
    missing_subject = _missing(connection, "subjects")
    copied = (
        f"INSERT INTO records ({columns}) SELECT document_key || '/copy', version, record_type, "
        "authority, document_no, {subject}, subject_name, decided_on, effective_on, severity, "
        "amount, fields, content_hash, {submission}, row_no, received_at FROM records"
    )
    connection.execute("SAVEPOINT fine")
    connection.execute(copied.format(subject="subject_id", submission="submission_id"))
    connection.execute("ROLLBACK TO SAVEPOINT fine")
    # Of the two rows the statement writes, only the one of the larger id names a missing key.
    wrong = (
        f"CASE WHEN id = (SELECT max(id) FROM records) THEN {missing_subject} ELSE subject_id END"
    )
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
        connection.execute(copied.format(subject=wrong, submission="submission_id"))
    assert refused.value.diag.message_detail == (
        f'Key (subject_id)=({missing_subject}) is not present in table "subjects".'
    )
    connection.rollback()
    missing_submission = _missing(connection, "submissions")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="submission_id -> submissions"):
        connection.execute(copied.format(subject="subject_id", submission=missing_submission))


def test_events_and_heads_naming_a_missing_record_are_refused(
    connection: psycopg.Connection[Any],
) -> None:
    missing = _missing(connection, "records")
    connection.execute("SAVEPOINT fine")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="record_id -> records"):
        connection.execute(
            "INSERT INTO record_events (record_id, kind, occurred_at) "
            f"VALUES ({missing}, 'disputed', now())"
        )
    connection.execute("ROLLBACK TO SAVEPOINT fine")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="record_id -> records"):
        connection.execute(f"UPDATE record_heads SET record_id = {missing}")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(st.tuples(st.booleans(), st.integers(0, 1)), min_size=1, max_size=12))
def test_a_statement_is_refused_exactly_when_one_of_its_rows_names_a_missing_key(
    connection: psycopg.Connection[Any], choices: list[tuple[bool, int]]
) -> None:
    """Heads written in one statement, each naming an existing or a missing subject."""
    subjects = [row[0] for row in connection.execute("SELECT id FROM subjects ORDER BY id")]
    record = _one(connection, "SELECT min(id) FROM records")
    missing = _missing(connection, "subjects")
    named = [subjects[pick] if exists else missing + pick for exists, pick in choices]
    values = ", ".join(
        f"('probe|{n}', {record}, {subject}, 1, 'active')" for n, subject in enumerate(named)
    )
    connection.execute("SAVEPOINT probe")
    try:
        connection.execute(
            "INSERT INTO record_heads (document_key, record_id, subject_id, version, status) "
            f"VALUES {values}"
        )
    except psycopg.errors.ForeignKeyViolation as refused:
        detail = refused.diag.message_detail or ""
        assert not all(exists for exists, _ in choices)
        assert any(f"=({subject})" in detail for subject in named if subject >= missing)
    else:
        assert all(exists for exists, _ in choices)
    finally:
        connection.execute("ROLLBACK TO SAVEPOINT probe")


def test_deleting_truncating_or_renumbering_a_referenced_row_is_refused(
    connection: psycopg.Connection[Any],
) -> None:
    subject = _one(connection, "SELECT min(subject_id) FROM records")
    for statement, message in (
        (f"DELETE FROM subjects WHERE id = {subject}", "still referenced from table"),
        ("DELETE FROM submissions", "still referenced from table"),
        ("DELETE FROM records", "still referenced from table"),
        ("TRUNCATE subjects CASCADE", "cannot truncate table"),
        (f"UPDATE subjects SET id = id + 1000 WHERE id = {subject}", "cannot change"),
    ):
        connection.execute("SAVEPOINT attempt")
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match=message):
            connection.execute(statement)
        connection.execute("ROLLBACK TO SAVEPOINT attempt")
    unreferenced = _new_subject(connection, "A")
    deleted = connection.execute(f"DELETE FROM subjects WHERE id = {unreferenced}").rowcount
    renamed = connection.execute(f"UPDATE subjects SET name = 'x' WHERE id = {subject}").rowcount
    assert (deleted, renamed) == (1, 1)


def _new_subject(connection: psycopg.Connection[Any], tag: str) -> int:
    """A subject that nothing references, its identifier the first one's with ``tag`` first."""
    columns = "kind, name, region, org_type, birth_date, sex, confirmed, suspect_identifier"
    return int(
        _one(
            connection,
            f"INSERT INTO subjects (identifier, {columns}, created_at) "
            f"SELECT '{tag}' || substr(identifier, 2), {columns}, created_at FROM subjects "
            "ORDER BY id LIMIT 1 RETURNING id",
        )
    )


def test_a_delete_waits_for_a_concurrent_writer_and_sees_its_row(store: str) -> None:
    """A head naming a subject is written but not committed when another transaction deletes
    the subject: the delete waits for it, then finds the head and is refused, where a check
    that did not wait would have let both commit and left the head naming nothing."""
    with psycopg.connect(store, autocommit=True) as setup:
        subject = _new_subject(setup, "B")
        record = _one(setup, "SELECT min(id) FROM records")
    outcome: dict[str, BaseException | None] = {}
    with psycopg.connect(store) as writer:
        writer.execute(
            "INSERT INTO record_heads (document_key, record_id, subject_id, version, status) "
            f"VALUES ('concurrent|1', {record}, {subject}, 1, 'active')"
        )

        def delete() -> None:
            try:
                with psycopg.connect(store) as deleter:
                    deleter.execute("SET lock_timeout = '20s'")
                    deleter.execute(f"DELETE FROM subjects WHERE id = {subject}")
                    deleter.commit()
                outcome["error"] = None
            except psycopg.Error as error:
                outcome["error"] = error

        deleting = threading.Thread(target=delete)
        deleting.start()
        deleting.join(timeout=1.0)
        waited = deleting.is_alive()
        writer.commit()
        deleting.join(timeout=30)
    with psycopg.connect(store, autocommit=True) as check:
        left = _one(check, f"SELECT count(*) FROM subjects WHERE id = {subject}")
        check.execute("DELETE FROM record_heads WHERE document_key = 'concurrent|1'")
        check.execute(f"DELETE FROM subjects WHERE id = {subject}")
    assert waited
    assert isinstance(outcome["error"], psycopg.errors.ForeignKeyViolation)
    assert left == 1
