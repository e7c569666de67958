"""Backups of the store, consistent while the service writes, and their restoring.

A backup is a folder: the store (``store.sqlite``, made with SQLite's online backup API, or
``store.pgdump``, ``pg_dump`` in its custom format, both one consistent snapshot), and
``manifest.json`` (backend, schema revision, ledger size, the dump's SHA-256, whether the
signing key is in it). The ledger's signing key is left out unless asked for: whoever holds it
can sign checkpoints in the platform's name, so it is kept apart from the data by default. With
it go the keys it replaced (``ledger/retired.keys``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from xinyong import __version__
from xinyong.clock import utc_now
from xinyong.ledger.checkpoint import read_signing_key, retired_keys_path, write_signing_key
from xinyong.ledger.models import LedgerCheckpoint
from xinyong.ledger.service import ledger_size
from xinyong.store.db import make_engine, stored_revisions

MANIFEST = "manifest.json"
KEY = Path("ledger") / "signing.key"
FORMAT = 1
DUMPS = {"sqlite": "store.sqlite", "postgresql": "store.pgdump"}


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    format: int
    backend: str
    dump: str
    sha256: str
    revision: list[str]
    ledger_leaves: int
    signed_leaves: int
    signing_key_included: bool
    created_at: str
    xinyong: str


def _backend(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in DUMPS:
        raise BackupError(f"no backup for a {backend} store (SQLite and PostgreSQL only)")
    return backend


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for ``pg_dump``/``pg_restore`` without its password, and an environment
    carrying it (a password on the command line is visible to every user of the machine)."""
    parsed: URL = make_url(url)
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools")
    return found


def _run(arguments: list[str], environment: dict[str, str]) -> None:
    done = subprocess.run(arguments, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(arguments[0]).name} failed: {done.stderr.strip()}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite store has nothing to back up or restore into")
    return Path(database)


def _state(connection: Connection) -> tuple[list[str], int, int]:
    """The schema revision, ledger size and signed size, as ``connection`` sees the store."""
    revision = sorted(stored_revisions(connection))
    session = Session(bind=connection)
    size = ledger_size(session)
    signed = session.scalar(select(func.max(LedgerCheckpoint.tree_size))) or 0
    return revision, size, signed


def _pg_dump(engine: Engine, url: str, dump: Path) -> tuple[list[str], int, int]:
    """``pg_dump`` of the snapshot of a transaction that reads the figures of the manifest, so
    that the figures are the dump's even while the service writes."""
    plain, environment = _libpq(url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            state = _state(connection)
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    plain,
                ],
                environment,
            )
    return state


def _copy_retired(key_path: Path, to_key_path: Path) -> None:
    """The keys the signing key replaced go where it goes: without them the checkpoints they
    signed no longer verify under the key's default trust (``ledger verify``)."""
    retired = retired_keys_path(key_path)
    if retired.is_file():
        shutil.copyfile(retired, retired_keys_path(to_key_path))
    else:
        retired_keys_path(to_key_path).unlink(missing_ok=True)


def backup(url: str, destination: Path, key_path: Path, *, with_signing_key: bool) -> Manifest:
    """Back up the store at ``url`` into the new folder ``destination``."""
    backend = _backend(url)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: back up into a new folder")
    if with_signing_key and not key_path.is_file():
        raise BackupError(f"--with-signing-key: there is no signing key at {key_path}")
    destination.mkdir(parents=True, exist_ok=True)
    dump = destination / DUMPS[backend]
    engine = make_engine(url)
    try:
        if backend == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(dump)
            try:
                # All pages in one step, under one read transaction: a consistent snapshot that
                # writers (in WAL mode) never wait for, where a step-by-step copy would start
                # over whenever another connection writes.
                source.backup(target)
                # One self-contained file, whatever the journal mode of the store it came from.
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
                source.close()
            copy = create_engine(f"sqlite:///file:{dump}?mode=ro&uri=true")
            try:
                with copy.connect() as connection:
                    revision, size, signed = _state(connection)
            finally:
                copy.dispose()
        else:
            revision, size, signed = _pg_dump(engine, url, dump)
    finally:
        engine.dispose()
    if with_signing_key:
        write_signing_key(destination / KEY, read_signing_key(key_path))
        _copy_retired(key_path, destination / KEY)
    manifest = Manifest(
        format=FORMAT,
        backend=backend,
        dump=dump.name,
        sha256=_digest(dump),
        revision=revision,
        ledger_leaves=size,
        signed_leaves=signed,
        signing_key_included=with_signing_key,
        created_at=utc_now().isoformat(),
        xinyong=__version__,
    )
    (destination / MANIFEST).write_bytes(orjson.dumps(asdict(manifest), option=orjson.OPT_INDENT_2))
    return manifest


def read_manifest(source: Path) -> Manifest:
    try:
        document: dict[str, Any] = orjson.loads((source / MANIFEST).read_bytes())
        manifest = Manifest(**document)
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except (orjson.JSONDecodeError, TypeError) as error:
        raise BackupError(f"{source / MANIFEST} is damaged: {error}") from None
    if manifest.format != FORMAT or manifest.dump not in DUMPS.values():
        raise BackupError(f"{source} is a backup format this version does not read")
    return manifest


def filled_tables(engine: Engine) -> list[str]:
    """The tables of the store that hold rows (the schema's version aside)."""
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    filled = []
    with engine.connect() as connection:
        for name in sorted(names):
            quoted = engine.dialect.identifier_preparer.quote(name)
            if connection.exec_driver_sql(f"SELECT 1 FROM {quoted} LIMIT 1").first():
                filled.append(name)
    return filled


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    revision: list[str]
    ledger_leaves: int
    signing_key_restored: bool


def restore(
    source: Path, url: str, key_path: Path, *, force: bool, with_signing_key: bool
) -> Restored:
    """Restore the backup in ``source`` into the store at ``url``."""
    manifest = read_manifest(source)
    backend = _backend(url)
    if manifest.backend != backend:
        raise BackupError(
            f"the backup is of a {manifest.backend} store and the target is {backend}: "
            "restore into the same kind of store"
        )
    dump = source / manifest.dump
    if not dump.is_file() or _digest(dump) != manifest.sha256:
        raise BackupError(f"{dump} is missing or does not match its manifest's SHA-256")
    if with_signing_key:
        if not manifest.signing_key_included:
            raise BackupError("the backup holds no signing key (it was made without one)")
        if key_path.exists() and not force:
            raise BackupError(f"a signing key exists at {key_path}: --force replaces it")
    engine = make_engine(url)
    try:
        filled = filled_tables(engine)
        if filled and not force:
            raise BackupError(
                f"the store at {make_url(url).render_as_string()} is not empty "
                f"({', '.join(filled[:5])}{'…' if len(filled) > 5 else ''} hold rows): "
                "--force replaces its contents with the backup's"
            )
        if backend == "sqlite":
            engine.dispose()
            source_connection = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
            target = sqlite3.connect(_sqlite_path(url))
            try:
                source_connection.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
                source_connection.close()
        else:
            plain, environment = _libpq(url)
            _run(
                [
                    _tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={plain}",
                    str(dump),
                ],
                environment,
            )
        with engine.connect() as connection:
            revision, size, _ = _state(connection)
    finally:
        engine.dispose()
    if with_signing_key:
        write_signing_key(key_path, read_signing_key(source / KEY))
        _copy_retired(source / KEY, key_path)
    return Restored(manifest, revision, size, with_signing_key)
