"""Checkpoints are signed as the log grows: by the worker of ``xinyong serve`` (one per half
interval however many processes tick) and at the end of every command that opened the store."""

import threading
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app as xinyong
from xinyong.config import get_settings
from xinyong.ledger import LeafInput, SigningKey, append, tree_head
from xinyong.ledger.checkpoint import read_signing_key, write_signing_key
from xinyong.ledger.models import LedgerCheckpoint
from xinyong.ledger.service import checkpoint_due, latest_checkpoint, lock_head
from xinyong.ledger.worker import Checkpointer
from xinyong.store.db import make_engine, make_sessionmaker

HOUR = 3600.0
AT_ONCE = 1e-9  # an interval so short that every tick finds a checkpoint due


def log(factory: sessionmaker[Session], count: int) -> None:
    with factory.begin() as session:
        append(
            session,
            [LeafInput("policy.published", str(i), orjson.dumps({"n": i})) for i in range(count)],
        )


def checkpoints(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(LedgerCheckpoint)) or 0


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger" / "signing.key"
    write_signing_key(path, SigningKey.generate("credit.example/ledger"))
    return path


def test_a_tick_signs_the_grown_log_once_per_interval(
    factory: sessionmaker[Session], key_path: Path
) -> None:
    worker = Checkpointer(factory, key_path, HOUR)
    assert worker.tick() is not None  # the first checkpoint of an empty log
    log(factory, 3)
    assert worker.tick() is None  # signed less than half an hour ago: not due
    eager = Checkpointer(factory, key_path, AT_ONCE)
    signed = eager.tick()
    with factory() as session:
        assert signed is not None and signed.tree_size == tree_head(session).size == 3
    assert eager.tick() is None  # nothing appended since: nothing to sign
    assert checkpoints(factory) == 2


def test_a_tick_on_a_log_that_did_not_grow_waits_for_no_writer(
    factory: sessionmaker[Session], key_path: Path
) -> None:
    eager = Checkpointer(factory, key_path, AT_ONCE)
    log(factory, 2)
    assert eager.tick() is not None
    done = threading.Event()
    with factory.begin() as writer:
        lock_head(writer)  # a batch being written holds the head until it commits
        ticker = threading.Thread(target=lambda: eager.tick() is None and done.set())
        ticker.start()
        ticker.join(timeout=60)
        assert done.is_set(), "the tick waited for the writer, with nothing to sign"
    log(factory, 1)
    assert eager.tick() is not None  # grown: signed


def test_a_checkpoint_is_due_for_a_new_key_at_the_same_size(
    factory: sessionmaker[Session], key_path: Path, tmp_path: Path
) -> None:
    log(factory, 2)
    assert Checkpointer(factory, key_path, AT_ONCE).tick() is not None
    rotated = SigningKey.generate("credit.example/ledger-2026")
    with factory() as session:
        assert not checkpoint_due(session, read_signing_key(key_path), AT_ONCE)
        assert checkpoint_due(session, rotated, AT_ONCE)
        assert not checkpoint_due(session, rotated, HOUR)  # signed a moment ago


def test_many_workers_at_once_sign_one_checkpoint(
    factory: sessionmaker[Session], key_path: Path
) -> None:
    log(factory, 5)
    workers = [Checkpointer(factory, key_path, HOUR) for _ in range(6)]
    start = threading.Barrier(len(workers))
    signed: list[object] = []

    def tick(worker: Checkpointer) -> None:
        start.wait()
        signed.append(worker.tick())

    threads = [threading.Thread(target=tick, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert checkpoints(factory) == 1
    assert sum(item is not None for item in signed) == 1


def test_a_worker_without_a_readable_key_signs_nothing_and_keeps_ticking(
    factory: sessionmaker[Session], tmp_path: Path, key_path: Path
) -> None:
    assert Checkpointer(factory, tmp_path / "missing.key", AT_ONCE).tick() is None
    key_path.write_text("PRIVATE+KEY+broken")
    assert Checkpointer(factory, key_path, AT_ONCE).tick() is None
    assert checkpoints(factory) == 0


def test_a_command_that_logs_ends_with_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(xinyong, ["ledger", "keygen"]).exit_code == 0
        result = runner.invoke(xinyong, ["init"])  # publishes the pack: an event on the ledger
        assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with make_sessionmaker(engine)() as session:
        head = tree_head(session)
        latest = latest_checkpoint(session)
    engine.dispose()
    assert head.size == 1
    assert latest is not None and (latest.tree_size, latest.root_hash) == (1, head.root_hash)
