"""federation.propagation and federation.throughput: a city, its province and the nation as real
``xinyong serve`` processes on 127.0.0.1 (city and province on SQLite, the nation on PostgreSQL),
links polling every second.

propagation: seconds from a record's acceptance at the city (its ``received_at`` there) to its
presence at the nation (its ``received_at`` there), over records submitted at a steady pace.
throughput: records per second arriving at the nation from a city that holds a backlog, through
a province that holds it by the time the nation starts, beside the nation's own ingest rate of
the same rows through the same pipeline (the floor). Both are taken over the same middle part of
the work: the first batch and the last left out, so that what is measured is the steady state
(the nation fed batch after batch), not its first batch in a fresh process, nor the last.
"""

import hashlib
import os
import tempfile
import time
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from xinyong.clock import as_utc, china_today
from xinyong.federation.models import ReceivedBatch
from xinyong.ingest.readers import ReadItem
from xinyong.ingest.service import IngestJob
from xinyong.policy import load_shipped
from xinyong.records.models import Record
from xinyong.store.db import make_engine, make_sessionmaker, migrate
from xinyong.testing import samples
from xinyong.testing.network import Node, connect, eventually
from xinyong.testing.postgres import create_database, postgres_server


def _rows(start: int, count: int) -> list[dict[str, Any]]:
    decided = (china_today() - timedelta(days=30)).isoformat()
    return [
        samples.defaulter_listing(
            samples.person(start + n),
            start + n,
            document_no=f"(2026)京0105执{start + n}号",
            decided_on=decided,
            effective_on=decided,
        )
        for n in range(count)
    ]


def _network(admin: str, root: Path, name: str, batch: int = 5_000) -> dict[str, Node]:
    city = Node("chaoyang", "city", f"sqlite:///{root / 'city.db'}", root / "city", ("110105",))
    province = Node(
        "beijing", "province", f"sqlite:///{root / 'province.db'}", root / "province", ("110000",)
    )
    nation = Node("national", "national", create_database(admin, name), root / "nation")
    connect(province, city)
    connect(nation, province)
    for node in (city, province, nation):
        node.env["XINYONG_FEDERATION_INTERVAL"] = "1"
        node.env["XINYONG_FEDERATION_BATCH_SIZE"] = str(batch)
    return {"city": city, "province": province, "nation": nation}


def _received(node: Node) -> dict[str, Any]:
    with node.factory() as session:
        return {
            key: as_utc(at)
            for key, at in session.execute(select(Record.document_key, Record.received_at))
        }


def _count(node: Node) -> int:
    with node.factory() as session:
        return session.scalar(select(func.count()).select_from(Record)) or 0


def _stored_from_batches(node: Node) -> int:
    """Records the node stored from its neighbours' batches: read from the batch receipts, a
    handful of rows, so that polling does not load the node being measured (counting its
    records would scan a table that grows by thousands a second)."""
    with node.factory() as session:
        return session.scalar(select(func.coalesce(func.sum(ReceivedBatch.stored), 0))) or 0


def _stop(nodes: dict[str, Node]) -> None:
    for node in nodes.values():
        node.kill()
        node.engine.dispose()


def _propagation(admin: str, root: Path, count: int) -> dict[str, object]:
    nodes = _network(admin, root, "propagation")
    city, nation = nodes["city"], nodes["nation"]
    token = city.issue("authority", authority="court.110105")
    try:
        for node in nodes.values():
            node.start()
        load = os.getloadavg()[0]
        per_request = 50
        for start in range(0, count, per_request):
            answer = httpx.post(
                f"{city.url}/v1/submissions",
                json=_rows(start, per_request),
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            answer.raise_for_status()
            time.sleep(0.5)
        eventually(lambda: _count(nation) >= count, 300, "every record at the nation")
        accepted, present = _received(city), _received(nation)
    finally:
        _stop(nodes)
    delays = sorted((present[key] - at).total_seconds() for key, at in accepted.items())
    p50, p95 = delays[len(delays) // 2], delays[int(len(delays) * 0.95) - 1]
    return {
        "name": "federation.propagation",
        "value": round(p95, 2),
        "unit": "s (p95)",
        "floor": None,
        "ratio": None,
        "target": "p95 < 5 s",
        "notes": f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s over {count:,} "
        f"records submitted at the city in requests of {per_request} every 0.5 s, reaching the "
        f"nation through the province; links poll every 1 s; load average {load:.1f} at the start",
    }


def _middle_rate(spans: list[tuple[float, int]]) -> float:
    """Records per second over the middle of a run of batches, first and last left out:
    ``spans`` are (seconds from the start of one batch to the start of the next, its records)."""
    middle = spans[1:-1]
    return sum(size for _, size in middle) / max(sum(seconds for seconds, _ in middle), 1e-6)


def _throughput(admin: str, root: Path, batches: int, batch: int) -> dict[str, object]:
    count = batches * batch
    pack = load_shipped("national")
    rows = _rows(1_000_000, count)
    items: list[ReadItem] = [(n, "", row) for n, row in enumerate(rows, start=1)]
    # The floor: the nation's own ingest of the same rows through the same pipeline, in the
    # pipeline's transactions of one batch each.
    floor_url = create_database(admin, "own_ingest")
    migrate(floor_url)
    engine = make_engine(floor_url)
    own = make_sessionmaker(engine)
    spans: list[tuple[float, int]] = []
    for start in range(0, count, batch):
        began = time.perf_counter()
        with own.begin() as session:
            IngestJob(own, pack).run_in(
                session,
                items[start : start + batch],
                channel="file",
                source_name="own",
                digest=hashlib.sha256(f"own {start}".encode()).hexdigest(),
                key_id=None,
            )
        spans.append((time.perf_counter() - began, batch))
    floor = _middle_rate(spans)
    engine.dispose()

    nodes = _network(admin, root, "throughput", batch)
    city, nation = nodes["city"], nodes["nation"]
    with city.factory.begin() as session:
        IngestJob(city.factory, pack).run_in(
            session,
            items,
            channel="file",
            source_name="backlog",
            digest=hashlib.sha256(b"backlog").hexdigest(),
            key_id=None,
        )
    # Today's public datasets of the backlog, as a city that has served all day has them:
    # published at its start, they would be a once-a-day job running beside the exchange.
    published = city.cli("publish", "--public-only")
    assert published.returncode == 0, published.stderr
    province = nodes["province"]
    try:
        # The nation starts once the province holds the backlog. Three platforms share two
        # cores here: were the province still storing the city's batches, its ingest would take
        # half of the nation's processor, which on a network (each platform on its own
        # machines) it does not. The nation is then fed by its child as fast as it takes
        # batches in, which is the rate measured.
        for node in (province, city):
            node.start()
        eventually(
            lambda: _stored_from_batches(province) >= count, 900, "the backlog at the province"
        )
        nation.start()
        load = os.getloadavg()[0]
        eventually(lambda: _stored_from_batches(nation) >= count, 900, "the backlog at the nation")
        arrived = Counter(_received(nation).values())
    finally:
        _stop(nodes)
    # A batch's records arrive at one instant, when the nation begins to apply it: each batch
    # spans from its arrival to the next one's. The last batch has no next, and is left out as
    # the floor's last transaction is.
    instants = sorted(arrived)
    rate = _middle_rate(
        [((following - at).total_seconds(), arrived[at]) for at, following in pairwise(instants)]
        + [(0.0, arrived[instants[-1]])]
    )
    return {
        "name": "federation.throughput",
        "value": round(rate),
        "unit": "records/s",
        "floor": round(floor),
        "ratio": round(rate / floor, 3),
        "target": "ratio >= 0.8",
        "notes": f"{count:,} records held at the city, forwarded in {batches} batches of "
        f"{batch:,} through the province (SQLite) to the nation (PostgreSQL), the city's daily "
        "public datasets published before the nodes start, the nation started once the province "
        "held them (on these two cores the province's own ingest would otherwise take half the "
        "nation's processor); floor: the nation's own ingest of "
        f"the same rows in transactions of {batch:,}; both over the batches between the first "
        "and the last (the steady state: not a fresh process's first batch, nor the pipeline "
        f"filling and draining); load average {load:.1f} at the start",
    }


def run(quick: bool) -> list[dict[str, object]]:
    with postgres_server() as admin, tempfile.TemporaryDirectory(prefix="bench-fed-") as folder:
        root = Path(folder)
        (root / "p").mkdir()
        (root / "t").mkdir()
        return [
            _propagation(admin, root / "p", 200 if quick else 1_000),
            _throughput(admin, root / "t", 8, 500 if quick else 5_000),
        ]
