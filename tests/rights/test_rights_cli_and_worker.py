"""``xinyong rights contact|expire|notify`` end to end, and the background worker of ``serve``."""

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.config import Settings, get_settings
from xinyong.policy import Pack
from xinyong.rights.notices import set_contact
from xinyong.rights.transports import get_transport
from xinyong.rights.worker import RightsWorker, start_rights_worker
from xinyong.testing.samples import defaulter_listing, person
from xinyong.testing.store import migrated_store

from .conftest import ingest_rows

runner = CliRunner()
SUBJECT = person(41)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("XINYONG_NOTICE_TRANSPORT", "file")
    get_settings.cache_clear()
    yield migrated_store()
    get_settings.cache_clear()


def listed(factory: sessionmaker[Session], pack: Pack, folder: Path) -> None:
    """A defaulter listed in 2024 (the listing ran out on 2026-03-05)."""
    ingest_rows(factory, pack, folder, [defaulter_listing(SUBJECT, 1)], date(2024, 4, 1))


def mailbox(path: Path) -> list[dict[str, str]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_contact_expire_and_notify_from_the_command_line(
    store: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    listed(store, national, tmp_path)
    held = runner.invoke(app, ["rights", "notify", "--json"])
    assert held.exit_code == 0, held.output
    assert orjson.loads(held.output) == {"sent": 0, "failed": 0, "no_address": 2, "waiting": 0}

    contact = runner.invoke(app, ["rights", "contact", SUBJECT.lower(), "zhang@example.cn"])
    assert contact.exit_code == 0 and "2 held notices released" in contact.output
    assert runner.invoke(app, ["rights", "contact", person(42), "x@example.cn"]).exit_code == 1
    assert runner.invoke(app, ["rights", "contact", SUBJECT, "not-an-address"]).exit_code == 2

    expired = runner.invoke(app, ["rights", "expire", "--as-of", "2026-03-05", "--json"])
    assert expired.exit_code == 0, expired.output
    assert orjson.loads(expired.output)["entries_ended"] == 1
    again = runner.invoke(app, ["rights", "expire", "--as-of", "2026-03-05", "--json"])
    assert orjson.loads(again.output)["notices"] == 0
    assert runner.invoke(app, ["rights", "expire", "--as-of", "March"]).exit_code == 2

    sent = runner.invoke(app, ["rights", "notify"])
    assert sent.exit_code == 0 and "sent 3" in sent.output
    kinds = [notice["kind"] for notice in mailbox(tmp_path / "notices.jsonl")]
    assert kinds == ["record", "listing", "delisting"]
    assert runner.invoke(app, ["rights", "notify", "--transport", "pigeon"]).exit_code == 2


def test_the_worker_expires_and_delivers_in_the_background(
    store: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    listed(store, national, tmp_path)
    with store.begin() as session:
        set_contact(session, 1, "zhang@example.cn")
    settings = Settings(notice_file=tmp_path / "box.jsonl")
    worker = RightsWorker(store, national, get_transport(settings), interval=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while len(mailbox(tmp_path / "box.jsonl")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a few more rounds: they must not repeat anything
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert not worker.is_alive()
    # Today is past the listing's end (2026-03-05): the worker's expiry told of the delisting.
    kinds = [notice["kind"] for notice in mailbox(tmp_path / "box.jsonl")]
    assert kinds == ["record", "listing", "delisting"]


def test_the_worker_can_be_switched_off() -> None:
    assert start_rights_worker(Settings(rights_worker=False)) is None
