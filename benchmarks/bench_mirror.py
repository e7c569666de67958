"""Mirrors: local decisions, applying deltas, loading snapshots, and how fast a listing reaches
a mirror.

``mirror.check.inprocess`` answers checks with ``Mirror.check_many`` in groups of 10,000 (each
group committed to the journal before it is answered) over a feed of 10^6 listed subjects,
beside the floor of a bare ``dict.get`` on the same keys; ``mirror.check.single`` answers
them one ``Mirror.check`` at a time (each journaled alone), beside the same floor.
``mirror.cli.check`` is the wall time of one ``xinyong mirror check`` on that feed. ``mirror.delta.apply`` applies a delta
of 100,000 operations to the store and takes it into the mirror's memory.
``mirror.snapshot.load`` reloads a snapshot of 10^6 listed subjects and opens the mirror on it;
``mirror.feed.bytes`` is the snapshot's size per listed subject. ``mirror.propagation`` serves a
platform (uvicorn, SQLite) with its publisher, runs a mirror syncing every second, and times
each of 100 listings from its acceptance to the mirror's ``deny``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from bench_checks import grants, identifier
from bench_cli import XINYONG, wall
from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.datasets.publish import Publisher
from xinyong.datasets.worker import PublishWorker
from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey, write_signing_key
from xinyong.mirror import Mirror
from xinyong.mirror.store import LocalStore
from xinyong.mirror.sync import Client, Syncer
from xinyong.policy import load_shipped
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.testing import samples

SCOPE = ("buy_air_ticket", "buy_high_speed_rail_ticket")
GROUP = 10_000


def policy() -> bytes:
    pack = load_shipped("national")
    table = decision_table(pack, build_bundles(pack)).cut(SCOPE)
    return orjson.dumps({"decisions": table.as_json(), "staleness": dict.fromkeys(SCOPE, 3600)})


def feed_rows(chosen: list[int]) -> list[tuple[str, dict[str, Any]]]:
    return [(identifier(i), {"subject": identifier(i), "grants": grants(i)}) for i in chosen]


def local(subjects: int, listed_count: int, queries: int, folder: Path) -> list[dict[str, Any]]:
    chosen = random.Random(7).sample(range(subjects), listed_count)
    rows = feed_rows(chosen)
    snapshot = b"".join(orjson.dumps(row) + b"\n" for _, row in rows)
    store = LocalStore(folder)
    started = time.perf_counter()
    store.replace("feed.bench", 1, "h1", policy(), rows)
    store.confirm(time.time())
    mirror = Mirror(folder)
    loaded = time.perf_counter() - started
    rng = random.Random(1)
    keys = [
        identifier(rng.choice(chosen) if n % 10 == 0 else rng.randrange(subjects))
        for n in range(queries)
    ]
    table = mirror.rows
    assert isinstance(table, dict)
    started = time.perf_counter()
    for key in keys:
        table.get(key)
    floor = queries / (time.perf_counter() - started)
    started = time.perf_counter()
    denied = 0
    for n, start in enumerate(range(0, queries, GROUP)):
        denied += mirror.check_many(
            keys[start : start + GROUP], SCOPE[n % 2], "bench"
        ).effects.count("deny")
    rate = queries / (time.perf_counter() - started)
    assert denied, "the listed subjects are denied"
    single_keys = keys[: queries // 20]
    check = mirror.check
    started = time.perf_counter()
    for n, key in enumerate(single_keys):
        check(key, SCOPE[n % 2], "bench")
    single = len(single_keys) / (time.perf_counter() - started)
    runs = 5
    command = [str(XINYONG), "mirror", "check", keys[0], SCOPE[0], "--dir", str(folder)]
    cli_floor = wall([sys.executable, "-c", "pass"], dict(os.environ), runs)
    cli_check = wall(command, dict(os.environ), runs)
    # A delta of 100,000 operations: half new subjects, half removed.
    version = mirror.position.version
    fresh = range(subjects, subjects + 50_000)
    ops: list[tuple[str, str, Any]] = [
        ("ADD", identifier(i), {"subject": identifier(i), "grants": grants(i)}) for i in fresh
    ]
    ops += [("DEL", identifier(i), None) for i in chosen[:50_000]]
    started = time.perf_counter()
    store.apply("feed.bench", version, version + 1, "h2", policy(), ops)
    mirror.refresh()
    applying = time.perf_counter() - started
    assert identifier(subjects) in mirror.rows and identifier(chosen[0]) not in mirror.rows
    mirror.close()
    store.close()
    sizes = f"{listed_count:,} listed of {subjects:,} subjects"
    return [
        {
            "name": "mirror.check.inprocess",
            "value": round(rate),
            "unit": "decisions/s",
            "floor": round(floor),
            "ratio": round(rate / floor, 3),
            "target": ">= 1,000,000/s, ratio >= 0.3",
            "notes": f"{sizes}; {queries:,} checks with check_many in groups of {GROUP:,}, 1 in "
            "10 about a listed subject, every identifier checked, each group journaled (fsync) "
            "before its answers; floor: dict.get on the same keys, one Python call each",
        },
        {
            "name": "mirror.check.single",
            "value": round(single),
            "unit": "decisions/s",
            "floor": round(floor),
            "ratio": round(single / floor, 3),
            "target": "for information (each check is a journal commit)",
            "notes": f"{sizes}; {len(single_keys):,} checks one Mirror.check at a time, each "
            "journaled (fsync) before its answer; floor: dict.get on the same keys",
        },
        {
            "name": "mirror.cli.check",
            "value": round(cli_check, 3),
            "unit": "s",
            "floor": round(cli_floor, 3),
            "ratio": round(cli_floor / cli_check, 3),
            "target": "for information (it reads one subject from the store's index)",
            "notes": f"{sizes}; xinyong mirror check, a fresh process, median of {runs} "
            "(after one that warms the file cache); floor: python -c pass",
        },
        {
            "name": "mirror.delta.apply",
            "value": round(len(ops) / applying),
            "unit": "changes/s",
            "floor": None,
            "ratio": None,
            "target": ">= 100,000/s",
            "notes": f"a delta of {len(ops):,} operations (ADD and DEL) committed to the "
            "mirror's SQLite store and taken into its memory",
        },
        {
            "name": "mirror.snapshot.load",
            "value": round(loaded, 1),
            "unit": "s",
            "floor": None,
            "ratio": None,
            "target": "for information",
            "notes": f"a snapshot of {listed_count:,} listed subjects written to the store "
            "and loaded by a new Mirror",
        },
        {
            "name": "mirror.feed.bytes",
            "value": round(len(snapshot) / listed_count),
            "unit": "bytes/listed subject",
            "floor": None,
            "ratio": None,
            "target": "for information",
            "notes": "the snapshot's JSON Lines (1 in 10 subjects also bound as a representative)",
        },
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def propagation(listings: int, folder: Path) -> list[dict[str, Any]]:
    url = f"sqlite:///{folder / 'platform.db'}"
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    pack = load_shipped("national")
    settings = Settings(database_url=url, var_dir=folder / "var")
    write_signing_key(settings.ledger_key_path, SigningKey.generate())
    with factory.begin() as session:
        token = create_key(
            session, role="relying_party", authority=None, label="airline", actions=SCOPE
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    publisher = PublishWorker(Publisher(factory, pack, settings), 1.0)
    publisher.tick()
    publisher.start()
    syncer = Syncer(LocalStore(folder / "mirror"), Client(f"http://127.0.0.1:{port}", token))
    syncer.sync()
    stop = threading.Event()

    def sync_every_second() -> None:
        while not stop.wait(1.0):
            syncer.sync()

    threading.Thread(target=sync_every_second, daemon=True).start()
    mirror = Mirror(folder / "mirror")
    day = (china_today() - timedelta(days=10)).isoformat()
    seconds = []
    for n in range(listings):
        person = samples.person(10_000 + n)
        row = samples.defaulter_listing(person, 10_000 + n, decided_on=day, effective_on=day)
        path = folder / f"listing-{n}.jsonl"
        path.write_bytes(orjson.dumps(row) + b"\n")
        digest, _ = scan_file(path)
        job = IngestJob(factory, pack, today=china_today(), batch_size=50)
        job.run_file(path, digest=digest, report_dir=folder / "reports")
        accepted = time.perf_counter()
        while mirror.check(person, SCOPE[0], "bench").effect != "deny":
            time.sleep(0.02)
        seconds.append(time.perf_counter() - accepted)
    stop.set()
    publisher.stop()
    server.should_exit = True
    p95 = statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else seconds[0]
    return [
        {
            "name": "mirror.propagation",
            "value": round(p95, 2),
            "unit": "s (p95)",
            "floor": None,
            "ratio": None,
            "target": "< 5 s",
            "notes": f"{listings} listings, each from its acceptance by ingest to deny at a "
            f"mirror syncing every second (the platform publishing every second); median "
            f"{statistics.median(seconds):.2f} s, slowest {max(seconds):.2f} s",
        }
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-mirror-"))
    try:
        if quick:
            results = local(1_000_000, 100_000, 200_000, folder / "local")
            results += propagation(10, folder / "propagation")
            for result in results:
                result["notes"] += " (quick sizes)"
        else:
            results = local(10_000_000, 1_000_000, 1_000_000, folder / "local")
            results += propagation(100, folder / "propagation")
        # The machine may be shared: say how busy it was.
        load = f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"
        for result in results:
            result["notes"] += load
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(orjson.dumps(result).decode())
