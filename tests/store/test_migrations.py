"""The Alembic history builds exactly the schema the models declare, on SQLite and PostgreSQL."""

import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from xinyong.enforcement.models import subject_key
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.schema import METADATA
from xinyong.store.db import (
    alembic_config,
    at_newest_schema,
    make_engine,
    make_sessionmaker,
    migrate,
    stored_revisions,
)
from xinyong.store.driver import newest_revisions
from xinyong.store.references import include_object
from xinyong.testing import samples


def test_migrated_schema_matches_the_models(store_url: str) -> None:
    engine = make_engine(store_url)
    with engine.connect() as connection:
        differences = compare_metadata(_comparing(connection), METADATA)
    engine.dispose()
    assert differences == []


def _comparing(connection: Connection) -> MigrationContext:
    """How Alembic compares this store with the models (as ``migrations/env.py`` does)."""
    return MigrationContext.configure(
        connection, opts={"include_object": include_object(connection.dialect.name)}
    )


def test_migrating_twice_is_harmless(store_url: str) -> None:
    """A second run on a current store changes neither its revision, its schema, nor its rows."""
    engine = make_engine(store_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sign_in_throttle (key, failures, blocked_until, last_at) "
                "VALUES ('account:zhang', 3, '2026-12-01 08:00:00.000000', "
                "'2026-12-01 08:00:00.000000')"
            )
        )
    migrate(store_url)
    migrate(store_url)
    head = ScriptDirectory.from_config(alembic_config(store_url)).get_current_head()
    with engine.connect() as connection:
        revisions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        rows = connection.execute(text("SELECT key, failures FROM sign_in_throttle")).all()
        differences = compare_metadata(_comparing(connection), METADATA)
    engine.dispose()
    assert [tuple(row) for row in revisions] == [(head,)]
    assert [tuple(row) for row in rows] == [("account:zhang", 3)]
    assert differences == []


def test_check_log_rows_get_their_subject_key_on_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    command.upgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    subjects = [f"11010519900101{n:04d}" for n in range(3)]
    with engine.begin() as connection:
        for n, subject in enumerate(subjects):
            connection.execute(
                text(
                    "INSERT INTO check_log (decision_id, checked_at, relying_party, "
                    "relying_party_label, purpose, subject, action, as_of, effect, "
                    "policy_version) VALUES (:d, '2026-12-01 08:00:00.000000', 'k', 'bank', "
                    "'loan', :s, 'apply_loan', '2026-12-01', 'allow', 'national@1')"
                ),
                {"d": f"d{n}", "s": subject},
            )
    migrate(url)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT subject, subject_key FROM check_log")).all())
    engine.dispose()
    assert keys == {subject: subject_key(subject) for subject in subjects}


def test_the_newest_revisions_are_read_as_alembic_reads_them(store_url: str) -> None:
    """Commands check the revision without Alembic: the heads they read from the migration
    files, and the revision they read from the store, are Alembic's own."""
    heads = ScriptDirectory.from_config(alembic_config(store_url)).get_heads()
    assert newest_revisions() == frozenset(heads)
    engine = make_engine(store_url)
    with engine.connect() as connection:
        stored = MigrationContext.configure(connection).get_current_heads()
        assert stored_revisions(connection) == frozenset(stored) == frozenset(heads)
    engine.dispose()
    assert at_newest_schema(store_url)


def test_an_empty_or_older_store_is_not_at_the_newest_revision(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    make_engine(empty).dispose()
    engine = make_engine(empty)
    with engine.connect() as connection:
        assert stored_revisions(connection) == frozenset()
    engine.dispose()
    assert not at_newest_schema(empty)
    older = f"sqlite:///{tmp_path / 'older.db'}"
    command.upgrade(alembic_config(older), "0014_operations")
    assert not at_newest_schema(older)


def test_record_heads_keep_their_rows_across_the_fewer_btrees_revision(
    store_url: str, national: Pack, tmp_path: Path
) -> None:
    """0019 drops the heads' index by subject and the records' by type and effective day and,
    on SQLite, rebuilds the heads WITHOUT ROWID: every head survives it both ways, and the
    tables end as the models declare them."""
    person, organisation = samples.person(1), samples.organisation(2)
    rows = [
        samples.defaulter_listing(person, 1),
        samples.registration(organisation, person, 1),
        samples.defaulter_listing(samples.person(3), 2),
        samples.defaulter_listing(person, 1, op="correct", amount=99.0),
        samples.defaulter_listing(samples.person(3), 2, op="withdraw"),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    engine = make_engine(store_url)
    job = IngestJob(make_sessionmaker(engine), national, today=date(2026, 11, 1))
    job.run_file(path, digest=scan_file(path)[0], report_dir=tmp_path / "reports")
    heads = "SELECT document_key, record_id, subject_id, version, status FROM record_heads"

    def stored() -> list[tuple[Any, ...]]:
        with engine.connect() as connection:
            return sorted(tuple(row) for row in connection.execute(text(heads)))

    before = stored()
    command.downgrade(alembic_config(store_url), "0018_xlsxreg")
    downgraded = stored()
    migrate(store_url)
    with engine.connect() as connection:
        differences = compare_metadata(_comparing(connection), METADATA)
        indexes = {
            table: {index["name"] for index in inspect(connection).get_indexes(table)}
            for table in ("record_heads", "records")
        }
    after = stored()
    engine.dispose()
    assert len(before) == 3 and {row[4] for row in before} == {"active", "withdrawn"}
    assert downgraded == before == after
    assert differences == []
    assert indexes["record_heads"] == {"ix_record_heads_record_id_status"}
    assert "ix_records_record_type_effective_on" not in indexes["records"]
    if store_url.startswith("sqlite"):
        database = store_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(database)) as raw:
            (sql,) = raw.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'record_heads'"
            ).fetchone()
        assert sql.rstrip().endswith("WITHOUT ROWID")
