"""``xinyong backup`` under write load and ``xinyong restore`` into a fresh store, on both
backends; the restored store passes ``xinyong ledger verify``."""

import itertools
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ledger import SigningKey, checkpoint
from xinyong.ledger.checkpoint import (
    RetiredKey,
    read_retired_keys,
    read_signing_key,
    retire_key,
    write_signing_key,
)
from xinyong.policy import Pack
from xinyong.records.models import Record
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.postgres import create_database

runner = CliRunner()
_fresh = itertools.count()
ROWS = 1500  # enough batches that the backup runs while the writer still writes
FEW = 100  # where no writer runs beside the backup


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    get_settings.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, url: str, var: Path) -> None:
    monkeypatch.setenv("XINYONG_DATABASE_URL", url)
    monkeypatch.setenv("XINYONG_VAR_DIR", str(var))
    get_settings.cache_clear()


def fresh_store(store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty store of the same backend, never migrated."""
    if store_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'fresh{next(_fresh)}.db'}"
    admin = request.getfixturevalue("postgres_admin_url")
    return create_database(admin, f"restored{next(_fresh)}")


def ingest_file(
    factory: sessionmaker[Session], pack: Pack, path: Path, first: int, count: int = ROWS
) -> None:
    rows = [samples.defaulter_listing(samples.person(i), i) for i in range(first, first + count)]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=date(2026, 11, 1), batch_size=50)
    job.run_file(path, digest=digest, report_dir=path.parent)


def records(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Record)) or 0
    engine.dispose()
    return count


def test_a_backup_under_write_load_restores_and_verifies(
    store_url: str,
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path: Path,
    environment: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    var = tmp_path / "var"
    key_path = var / "ledger" / "signing.key"
    # The first ingest is signed by a key since rotated: the retired key goes with the signing
    # key, or the restored ledger's first checkpoint would vouch for nothing.
    old, key = SigningKey.generate(), SigningKey.generate()
    ingest_file(factory, national, tmp_path / "first.jsonl", 0)
    with factory.begin() as session:
        retired = RetiredKey(old.verifier, checkpoint(session, old).tree_size)
    retire_key(key_path, retired)
    write_signing_key(key_path, key)
    # A second ingest writes while the backup runs; the backup holds the first for certain
    # and any whole batches of the second (each batch commits with its ledger leaves).
    writer = threading.Thread(
        target=ingest_file, args=(factory, national, tmp_path / "second.jsonl", ROWS)
    )
    writer.start()
    use(environment, store_url, var)
    made = runner.invoke(app, ["backup", str(tmp_path / "backup"), "--with-signing-key", "--json"])
    writer.join()
    assert made.exit_code == 0, made.output
    manifest = orjson.loads(made.stdout)
    assert manifest["signing_key_included"] is True and manifest["ledger_leaves"] >= ROWS

    target = fresh_store(store_url, tmp_path, request)
    restored_var = tmp_path / "restored-var"
    use(environment, target, restored_var)
    restored = runner.invoke(
        app, ["restore", str(tmp_path / "backup"), "--with-signing-key", "--json"]
    )
    assert restored.exit_code == 0, restored.output
    assert orjson.loads(restored.stdout)["ledger_leaves"] == manifest["ledger_leaves"]
    assert read_signing_key(restored_var / "ledger" / "signing.key").encode() == key.encode()
    assert read_retired_keys(restored_var / "ledger" / "signing.key") == [retired]
    assert ROWS <= records(target) <= 2 * ROWS
    verified = runner.invoke(app, ["ledger", "verify", "--json"])
    assert verified.exit_code == 0, verified.output
    report = orjson.loads(verified.stdout)
    assert report["ok"] is True and report["signed_by"][old.verifier.encode()] == 1


def test_a_restore_refuses_a_store_with_rows_unless_forced(
    store_url: str,
    factory: sessionmaker[Session],
    national: Pack,
    tmp_path: Path,
    environment: pytest.MonkeyPatch,
) -> None:
    var = tmp_path / "var"
    ingest_file(factory, national, tmp_path / "rows.jsonl", 0, FEW)
    use(environment, store_url, var)
    made = runner.invoke(app, ["backup", str(tmp_path / "backup")])
    assert made.exit_code == 0, made.output
    assert "signing key is NOT in this backup" in made.output
    assert not (tmp_path / "backup" / "ledger").exists()
    again = runner.invoke(app, ["backup", str(tmp_path / "backup")])
    assert again.exit_code == 2 and "not empty" in again.output

    refused = runner.invoke(app, ["restore", str(tmp_path / "backup")])
    assert refused.exit_code == 2 and "not empty" in refused.output and "--force" in refused.output
    no_key = runner.invoke(app, ["restore", str(tmp_path / "backup"), "--with-signing-key"])
    assert no_key.exit_code == 2 and "holds no signing key" in no_key.output

    ingest_file(factory, national, tmp_path / "later.jsonl", FEW, FEW)  # after the backup
    assert records(store_url) == 2 * FEW
    forced = runner.invoke(app, ["restore", str(tmp_path / "backup"), "--force"])
    assert forced.exit_code == 0, forced.output
    assert records(store_url) == FEW


def test_a_damaged_backup_is_refused(
    store_url: str, tmp_path: Path, environment: pytest.MonkeyPatch
) -> None:
    use(environment, store_url, tmp_path / "var")
    assert runner.invoke(app, ["backup", str(tmp_path / "backup")]).exit_code == 0
    manifest = orjson.loads((tmp_path / "backup" / "manifest.json").read_bytes())
    dump = tmp_path / "backup" / manifest["dump"]
    damaged = bytearray(dump.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged))
    refused = runner.invoke(app, ["restore", str(tmp_path / "backup"), "--force"])
    assert refused.exit_code == 2 and "SHA-256" in refused.output
    missing = runner.invoke(app, ["restore", str(tmp_path / "nothing-here")])
    assert missing.exit_code == 2 and "not a backup" in missing.output
