"""A worker killed with SIGKILL under load has logged every check it answered.

A real server process (uvicorn on 127.0.0.1) answers checks from concurrent clients until it
is killed; every decision a client received must have its row in the store. The next process
to start moves what the killed one's journal holds and the store lacks, and seals the groups
it left unsealed.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.checklog import CheckLog
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow
from xinyong.keys.service import create_key
from xinyong.ledger import SigningKey, verify
from xinyong.testing import samples

CLIENTS = 12
ANSWERS_BEFORE_THE_KILL = 1_500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(url: str, var: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_VAR_DIR": str(var)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "xinyong.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


# A real server under load, killed: `make test` runs it, the quick loop does not.
@pytest.mark.slow
def test_every_answered_check_is_logged_after_a_kill(
    store_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with factory.begin() as session:
        token = create_key(session, role="relying_party", authority=None, label="airline")
    port = free_port()
    server = start_server(store_url, tmp_path, port)
    answered: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            for n in range(100_000):
                body = {
                    "subject_id": samples.person(number * 100_000 + n),
                    "action": "buy_air_ticket",
                    "purpose": "ticket sale",
                }
                try:
                    response = http.post("/v1/checks", json=body, timeout=10)
                except httpx.HTTPError:
                    return  # the server is gone
                assert response.status_code == 200, response.text
                with lock:
                    answered.append(response.json()["decision_id"])
                    if len(answered) >= ANSWERS_BEFORE_THE_KILL:
                        enough.set()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(120), f"only {len(answered)} checks were answered"
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    finally:
        if server.poll() is None:
            server.kill()
        for thread in threads:
            thread.join()
    # What the killed worker had answered is in the store or in its journal; the next process
    # to start moves the journal's rows into the store.
    successor = CheckLog(factory, tmp_path / "check-journal")
    moved = successor.start()
    successor.stop()
    with factory() as session:
        logged = list(session.scalars(select(CheckLogRow.decision_id)))
    missing = [decision for decision in answered if decision not in set(logged)]
    assert len(answered) >= ANSWERS_BEFORE_THE_KILL
    assert missing == [], f"{len(missing)} of {len(answered)} answered checks have no row"
    assert len(logged) == len(set(logged)), "a row was moved into the store twice"
    assert moved <= len(logged)
    with factory() as session:
        assert not session.scalars(select(CheckLogGroup.id).where(~CheckLogGroup.sealed)).all()
        assert verify(session, SigningKey.generate().verifier).ok
