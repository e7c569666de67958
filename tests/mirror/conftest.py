"""A platform served by uvicorn on 127.0.0.1 over a store on each backend, with a signing key,
a publisher, and a relying party's scoped key: what a mirror syncs from."""

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from xinyong.app import create_app
from xinyong.clock import china_today, utc_now
from xinyong.config import Settings
from xinyong.datasets.publish import Publisher
from xinyong.enforcement import api
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.index import MeasuresIndex
from xinyong.ingest.rows import document_key
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey, write_signing_key
from xinyong.mirror.store import LocalStore
from xinyong.mirror.sync import Client, Syncer
from xinyong.policy import Pack
from xinyong.rights.repairs import end_publicity

SCOPE = ("buy_air_ticket", "buy_high_speed_rail_ticket")


@dataclass
class Platform:
    url: str
    factory: sessionmaker[Session]
    pack: Pack
    settings: Settings
    publisher: Publisher
    token: str
    folder: Path
    files: Iterator[int] = field(default_factory=itertools.count)
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def list_person(self, person: str, days_ago: int = 30) -> None:
        """A new defaulter listing of ``person`` that took effect ``days_ago`` days ago."""
        row = listing(person, 50_000 + next(self.files), days_ago=days_ago)
        self.ingest(row)
        self.listed.setdefault(person, []).append(row)

    def withdraw(self, person: str) -> bool:
        """Withdraw the person's latest listing still standing; False when none is."""
        rows = self.listed.get(person)
        if not rows:
            return False
        self.ingest({**rows.pop(), "op": "withdraw"})
        return True

    def repair(self, person: str) -> bool:
        """Grant credit repair of the person's latest listing still standing: its publicity
        ends today, and with it every entry and measure it grounds. False when none stands."""
        rows = self.listed.get(person)
        if not rows:
            return False
        row = rows.pop()
        key = document_key(row["authority"], row["record_type"], row["document_no"])
        with self.factory.begin() as session:
            ended = end_publicity(session, self.pack, key, utc_now())
        assert not isinstance(ended, str), f"the listing was {ended}, not active"
        return True

    def ingest(self, *rows: dict[str, Any], today: date | None = None) -> None:
        """Rows as one file, accepted by the ingest job (as an authority's upload is)."""
        path = self.folder / f"rows-{next(self.files)}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        digest, _ = scan_file(path)
        job = IngestJob(self.factory, self.pack, today=today or china_today(), batch_size=50)
        summary = job.run_file(path, digest=digest, report_dir=self.folder / "reports")
        assert summary.rejected == 0

    def decide(self, subject: str, action: str, day: date) -> Decision:
        """The central decision: the check service's index, loaded fresh from the store."""
        index = MeasuresIndex(self.pack)
        with self.factory() as session:
            index.load(session)
        return index.decide(subject, action, day)

    def syncer(self, folder: Path, token: str | None = None) -> Syncer:
        return Syncer(LocalStore(folder), Client(self.url, token or self.token), site="PEK T3")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def platform(
    factory: sessionmaker[Session],
    store_url: str,
    national: Pack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Platform]:
    monkeypatch.setattr(api, "POLL_SECONDS", 0.0)
    settings = Settings(database_url=store_url, var_dir=tmp_path / "var")
    write_signing_key(settings.ledger_key_path, SigningKey.generate())
    with factory.begin() as session:
        token = create_key(
            session, role="relying_party", authority=None, label="Air China", actions=SCOPE
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield Platform(
            f"http://127.0.0.1:{port}",
            factory,
            national,
            settings,
            Publisher(factory, national, settings),
            token,
            tmp_path,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def listing(person: str, number: int, days_ago: int = 30, **overrides: Any) -> dict[str, Any]:
    from xinyong.testing import samples

    day = (china_today() - timedelta(days=days_ago)).isoformat()
    return samples.defaulter_listing(person, number, decided_on=day, effective_on=day, **overrides)
