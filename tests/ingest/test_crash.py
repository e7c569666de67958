"""A crash mid-ingest leaves a state that a rerun completes exactly once (SIGKILL, then rerun)."""

import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from xinyong.ingest.models import Submission
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.processes import launch, run
from xinyong.testing.store import migrated_sqlite, snapshot

ROWS = 12_000


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


def ingest_command(path: Path, workers: int) -> list[str]:
    return ["ingest", "--json", "--workers", str(workers), str(path)]


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (its children, theirs, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def environment(url: str, var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XINYONG_DATABASE_URL": url,
        "XINYONG_VAR_DIR": str(var),
        "XINYONG_INGEST_BATCH_SIZE": "200",
    }


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, workers: int) -> None:
    """With ``workers``, the job is killed while its validation workers check the next batches:
    they end with it, and the rerun completes the file exactly once."""
    data = tmp_path / "court.110105.jsonl"
    data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows()))
    # Stores at the newest schema, as `xinyong init` leaves them: ingest never migrates.
    calm_url = migrated_sqlite(tmp_path / "calm.db")
    crash_url = migrated_sqlite(tmp_path / "crash.db")

    # The ingests are processes forked from one that imported the command line once.
    calm = run(ingest_command(data, 0), environment(calm_url, tmp_path / "calm"), timeout=300)
    assert calm.returncode == 0, calm.stderr

    crash_factory = make_sessionmaker(make_engine(crash_url))
    victim = launch(
        ingest_command(data, workers),
        environment(crash_url, tmp_path / "crash"),
        Path(os.devnull),
        tmp_path / "victim.log",
    )
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (0 < done < ROWS // 2):
        time.sleep(0.05)
        with crash_factory() as session:
            done = session.scalar(select(Submission.rows_done)) or 0
    assert victim.pid is not None
    helpers = descendants(victim.pid)  # its forkserver and validation workers
    assert len(helpers) >= (workers + 1 if workers else 0)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    while time.monotonic() < deadline and any(running(pid) for pid in helpers):
        time.sleep(0.05)
    assert not any(running(pid) for pid in helpers)
    with crash_factory() as session:
        interrupted = session.scalars(select(Submission)).one()
    assert interrupted.status == "running" and 0 < interrupted.rows_done < ROWS

    rerun = run(
        ingest_command(data, workers), environment(crash_url, tmp_path / "crash"), timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    summary = orjson.loads(rerun.stdout)[0]
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
