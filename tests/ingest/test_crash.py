"""A crash mid-ingest leaves a state that a rerun completes exactly once (SIGKILL, then rerun)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from xinyong.ingest.models import Submission
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite, snapshot

ROWS = 30_000


def rows() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(1, ROWS + 1):
        if i % 97 == 0:
            out.append(samples.defaulter_listing(samples.person(i), i, severity="dreadful"))
        elif i % 50 == 0:
            out.append(
                samples.defaulter_listing(
                    samples.person(i - 1), i - 1, op="correct", amount=float(i)
                )
            )
        else:
            out.append(samples.defaulter_listing(samples.person(i), i))
    return out


def run_ingest(path: Path, url: str, var: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "XINYONG_DATABASE_URL": url,
        "XINYONG_VAR_DIR": str(var),
        "XINYONG_INGEST_BATCH_SIZE": "500",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "xinyong", "ingest", "--json", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    data = tmp_path / "court.110105.jsonl"
    data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows()))
    # Stores at the newest schema, as `xinyong init` leaves them: ingest never migrates.
    calm_url = migrated_sqlite(tmp_path / "calm.db")
    crash_url = migrated_sqlite(tmp_path / "crash.db")

    calm = run_ingest(data, calm_url, tmp_path / "calm")
    assert calm.wait(timeout=300) == 0, calm.stderr.read() if calm.stderr else ""

    crash_factory = make_sessionmaker(make_engine(crash_url))
    victim = run_ingest(data, crash_url, tmp_path / "crash")
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (0 < done < ROWS // 2):
        time.sleep(0.05)
        with crash_factory() as session:
            done = session.scalar(select(Submission.rows_done)) or 0
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    with crash_factory() as session:
        interrupted = session.scalars(select(Submission)).one()
    assert interrupted.status == "running" and 0 < interrupted.rows_done < ROWS

    rerun = run_ingest(data, crash_url, tmp_path / "crash")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    summary = orjson.loads(out)[0]
    assert summary["resumed_after"] >= interrupted.rows_done
    assert summary["rows"] == ROWS

    calm_factory = make_sessionmaker(make_engine(calm_url))
    assert snapshot(crash_factory) == snapshot(calm_factory)
    with calm_factory() as calm_session, crash_factory() as crash_session:
        calm_counts = calm_session.execute(
            select(Submission.accepted, Submission.corrected, Submission.rejected)
        ).one()
        crash_counts = crash_session.execute(
            select(Submission.accepted, Submission.corrected, Submission.rejected)
        ).one()
    assert calm_counts == crash_counts
