"""Checks: decisions from the measures index, in process, over HTTP and in batches.

``checks.inprocess`` decides over an index of 10^7 subjects with 10^6 listed, beside the floor
of a bare ``dict.get`` on the same keys. ``checks.http`` serves ``POST /v1/checks`` with uvicorn
(2 workers) under ``wrk`` for 10 s, beside a bare Starlette endpoint that parses the same body
and does a dict look-up, measured in the same run. ``checks.batch`` has ``wrk`` send 10,000-item
batches (a load generator in C, so the figure is the server's and not a Python client's),
beside the same bare endpoint doing 10,000 look-ups per request. ``checks.index_memory`` is the
resident memory the index takes per listed subject.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xinyong.enforcement.index import KnownSubjects, MeasuresIndex
from xinyong.enforcement.models import IndexState, MeasureIndexRow
from xinyong.identifiers import resident_id
from xinyong.keys.service import create_key
from xinyong.policy import load_shipped
from xinyong.records.models import Subject
from xinyong.store.base import Base
from xinyong.store.bulk import BulkTable
from xinyong.store.db import make_engine, make_sessionmaker, migrate

HERE = Path(__file__).parent
TODAY = date(2026, 11, 22)
ACTIONS = ("buy_air_ticket", "buy_high_speed_rail_ticket", "apply_loan", "bid_public_procurement")
PURPOSE = "ticket sale"
BATCH = 10_000
ROUNDS = 3


@cache
def _born(days: int) -> str:
    return f"110105{date(1950, 1, 1) + timedelta(days=days):%Y%m%d}"


def identifier(i: int) -> str:
    """The ``i``-th person: a valid resident identity number (1,000 born on each day)."""
    body = f"{_born(i // 1000)}{i % 1000:03d}"
    return body + resident_id.check_character(body)


def grants(i: int) -> list[list[Any]]:
    """A defaulter's grants; every tenth also binds it as a listed company's representative."""
    start = TODAY - timedelta(days=i % 700)
    end = start + timedelta(days=730)
    rows: list[list[Any]] = [
        [
            "court.defaulters|self|",
            start.isoformat(),
            end.isoformat(),
            i,
            "court.defaulters",
            start.isoformat(),
            end.isoformat(),
            None,
        ],
    ]
    if i % 10 == 0:
        rows.append(
            [
                "court.defaulters|while_representing|",
                start.isoformat(),
                end.isoformat(),
                -i,
                "court.defaulters",
                start.isoformat(),
                end.isoformat(),
                "91110105000000019Q",
            ]
        )
    return rows


def listed(subjects: int, listed_count: int) -> list[int]:
    return random.Random(7).sample(range(subjects), listed_count)


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def inprocess(subjects: int, listed_count: int, queries: int) -> list[dict[str, Any]]:
    pack = load_shipped("national")
    index = MeasuresIndex(pack)
    chosen = listed(subjects, listed_count)
    gc.collect()
    before = rss()
    for i in chosen:
        index.put(identifier(i), grants(i))
    gc.collect()
    per_listed = (rss() - before) / listed_count
    index.known = KnownSubjects(identifier(i) for i in range(subjects))
    rng = random.Random(1)
    # One query in ten about a listed subject, the rest about unlisted ones.
    keys = [
        identifier(rng.choice(chosen) if n % 10 == 0 else rng.randrange(subjects))
        for n in range(queries)
    ]
    actions = [ACTIONS[n % len(ACTIONS)] for n in range(queries)]
    started = time.perf_counter()
    table = index.grants
    for key in keys:
        table.get(key)
    floor = queries / (time.perf_counter() - started)
    started = time.perf_counter()
    decide = index.decide
    for key, action in zip(keys, actions, strict=True):
        decide(key, action, TODAY)
    rate = queries / (time.perf_counter() - started)
    sizes = f"{subjects:,} subjects, {listed_count:,} listed"
    return [
        {
            "name": "checks.inprocess",
            "value": round(rate),
            "unit": "decisions/s",
            "floor": round(floor),
            "ratio": round(rate / floor, 3),
            "target": "for information (one core)",
            "notes": f"{sizes}; {queries:,} random checks, 1 in 10 about a listed subject; "
            "floor: dict.get on the same keys",
        },
        {
            "name": "checks.index_memory",
            "value": round(per_listed),
            "unit": "bytes/listed subject",
            "floor": None,
            "ratio": None,
            "target": "for information",
            "notes": f"resident memory of the grants of {listed_count:,} listed subjects "
            f"(1 in 10 also as representative), plus 8 bytes per known subject "
            f"({subjects * 8 / 2**20:,.0f} MiB for {subjects:,})",
        },
    ]


def floor_app() -> Starlette:
    """The floor: Starlette alone, parsing the same bodies and looking subjects up in a dict."""
    table = {identifier(i): True for i in range(0, 200_000, 10)}

    async def check(request: Request) -> Response:
        body = orjson.loads(await request.body())
        found = table.get(body["subject_id"], False)
        return Response(
            orjson.dumps({"subject_id": body["subject_id"], "listed": found}),
            media_type="application/json",
        )

    async def batch(request: Request) -> Response:
        body = orjson.loads(await request.body())
        answers = [
            {"subject_id": item["subject_id"], "listed": table.get(item["subject_id"], False)}
            for item in body["items"]
        ]
        return Response(orjson.dumps({"decisions": answers}), media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/checks", check, methods=["POST"]),
            Route("/v1/checks/batch", batch, methods=["POST"]),
        ]
    )


def build_store(folder: Path, subjects: int, listed_count: int) -> tuple[str, str]:
    url = f"sqlite:///{folder / 'store.db'}"
    migrate(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    chosen = set(listed(subjects, listed_count))
    with factory.begin() as session:
        connection = session.connection()
        people = BulkTable(connection, Base.metadata.tables[Subject.__tablename__])
        index = BulkTable(connection, Base.metadata.tables[MeasureIndexRow.__tablename__])
        for start in range(0, subjects, 100_000):
            block = range(start, min(subjects, start + 100_000))
            people.insert(
                {
                    "id": i + 1,
                    "identifier": identifier(i),
                    "kind": "person",
                    "name": "张三",
                    "confirmed": False,
                    "suspect_identifier": False,
                    "created_at": now,
                }
                for i in block
            )
            index.insert(
                {"subject_id": i + 1, "identifier": identifier(i), "seq": 1, "grants": grants(i)}
                for i in block
                if i in chosen
            )
        session.add(IndexState(id=1, seq=1, policy_version=load_shipped().policy_version))
        token = create_key(session, role="relying_party", authority=None, label="benchmark")
    engine.dispose()
    return url, token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(arguments: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *arguments,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env, cwd=HERE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {command}")


def warm(port: int, headers: dict[str, str], subjects: int) -> None:
    """Until both workers answer quickly: each loads its snapshot on its first check.

    Every request opens a new connection, so the kernel spreads them over both workers.
    """
    fast = 0
    deadline = time.monotonic() + 300
    # One client (a fresh connection per request, but no per-request client set-up to time).
    with httpx.Client(timeout=300, headers={**headers, "Connection": "close"}) as client:
        while fast < 60:
            if time.monotonic() > deadline:
                raise RuntimeError("the check workers did not settle within 5 minutes")
            body = {
                "subject_id": identifier(random.randrange(subjects)),
                "action": ACTIONS[0],
                "purpose": PURPOSE,
            }
            started = time.perf_counter()
            client.post(f"http://127.0.0.1:{port}/v1/checks", json=body).raise_for_status()
            fast = fast + 1 if time.perf_counter() - started < 0.05 else 0


def lua_script(path: Path, token: str, route: str, bodies: list[str]) -> Path:
    """A wrk script posting ``bodies`` to ``route`` in turn, with the API key."""
    path.write_text(
        "local bodies = {" + ",\n".join(f"[[{body}]]" for body in bodies) + "}\n"
        "local i = 0\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  i = i + 1\n"
        f'  return wrk.format("POST", "{route}", nil, bodies[(i % #bodies) + 1])\n'
        "end\n"
    )
    return path


def wrk_script(folder: Path, token: str, subjects: int, listed_ids: list[int]) -> Path:
    rng = random.Random(3)
    bodies = []
    for n in range(2_000):
        subject = rng.choice(listed_ids) if n % 10 == 0 else rng.randrange(subjects)
        body = {"subject_id": identifier(subject), "action": ACTIONS[n % 4], "purpose": PURPOSE}
        bodies.append(orjson.dumps(body).decode())
    return lua_script(folder / "checks.lua", token, "/v1/checks", bodies)


def wrk(port: int, route: str, script: Path, seconds: int, *options: str) -> str:
    """wrk's report of ``seconds`` of ``script`` against ``route``; no failed request allowed."""
    url = f"http://127.0.0.1:{port}{route}"
    output = subprocess.run(
        ["wrk", "-t2", *options, f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} failed requests:\n{output}")
    return output


def requests_per_second(output: str) -> float:
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


def run_wrk(port: int, script: Path, seconds: int) -> tuple[float, float, float]:
    output = wrk(port, "/v1/checks", script, seconds, "-c64", "--latency")
    return requests_per_second(output), latency(output, "50%"), latency(output, "99%")


def latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def batch_script(folder: Path, token: str, subjects: int) -> Path:
    """wrk posting four 10,000-item batches in turn (about 0.7 MB each)."""
    rng = random.Random(5)
    bodies = [
        orjson.dumps(
            {
                "purpose": PURPOSE,
                "items": [
                    {"subject_id": identifier(rng.randrange(subjects)), "action": ACTIONS[n % 4]}
                    for n in range(BATCH)
                ],
            }
        ).decode()
        for _ in range(4)
    ]
    return lua_script(folder / "batch.lua", token, "/v1/checks/batch", bodies)


def batch_rate(port: int, script: Path, seconds: int) -> float:
    """Subjects/s: 10,000-item batches from wrk (4 connections, so both workers get some)."""
    output = wrk(port, "/v1/checks/batch", script, seconds, "-c4", "--timeout", "30s")
    return requests_per_second(output) * BATCH


def http(subjects: int, listed_count: int, seconds: int) -> list[dict[str, Any]]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package wrk; `make bench` installs it)")
    folder = Path(tempfile.mkdtemp(prefix="xinyong-bench-checks-"))
    try:
        url, token = build_store(folder, subjects, listed_count)
        headers = {"Authorization": f"Bearer {token}"}
        env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_VAR_DIR": str(folder)}
        script = wrk_script(folder, token, subjects, sorted(listed(subjects, listed_count)))
        batches = batch_script(folder, token, subjects)
        port, floor_port = free_port(), free_port()
        server = serve(["--factory", "xinyong.app:create_app"], env, port)
        floor_server = serve(["--factory", "bench_checks:floor_app"], env, floor_port)
        try:
            warm(port, headers, subjects)
            run_wrk(port, script, 2)
            run_wrk(floor_port, script, 2)
            # Rounds alternate between the two servers and each keeps its best, so a burst of
            # other load on the machine cannot make either figure, or the ratio, by itself.
            singles: dict[int, list[tuple[float, float, float]]] = {port: [], floor_port: []}
            batched: dict[int, list[float]] = {port: [], floor_port: []}
            for _ in range(ROUNDS):
                for target in (port, floor_port):
                    singles[target].append(run_wrk(target, script, seconds))
                    batched[target].append(batch_rate(target, batches, seconds))
        finally:
            for process in (server, floor_server):
                process.terminate()
                process.wait()
        rate, p50, p99 = max(singles[port])
        floor, floor_p50, floor_p99 = max(singles[floor_port])
        batch, floor_batch = max(batched[port]), max(batched[floor_port])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sizes = f"store of {subjects:,} subjects, {listed_count:,} listed (SQLite)"
    return [
        {
            "name": "checks.http",
            "value": round(rate),
            "unit": "requests/s",
            "floor": round(floor),
            "ratio": round(rate / floor, 3),
            "target": "ratio >= 0.7",
            "notes": f"POST /v1/checks, uvicorn 2 workers, wrk -t2 -c64 {seconds} s on 127.0.0.1, "
            f"best of {ROUNDS} rounds alternating with the floor; "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (floor p50 {floor_p50:.2f} ms, p99 "
            f"{floor_p99:.2f} ms); API key, validation and check log included; {sizes}",
        },
        {
            "name": "checks.batch",
            "value": round(batch),
            "unit": "subjects/s",
            "floor": round(floor_batch),
            "ratio": round(batch / floor_batch, 3),
            "target": "value >= 100000",
            "notes": f"POST /v1/checks/batch, 10,000 items a request, wrk -t2 -c4 {seconds} s on "
            f"127.0.0.1, best of {ROUNDS} rounds; check log included; floor: bare Starlette parsing the same batches and "
            f"looking them up; {sizes}",
        },
    ]


def inprocess_apart(subjects: int, listed_count: int, queries: int) -> list[dict[str, Any]]:
    """``inprocess`` in a process of its own: the gigabytes its index takes go back to the
    system before the HTTP servers are measured, instead of staying with this process."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(inprocess, subjects, listed_count, queries).result()


def run(quick: bool) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    if quick:
        results += inprocess_apart(1_000_000, 100_000, 200_000)
        results += http(100_000, 10_000, 3)
        for result in results:
            result["notes"] += " (quick sizes)"
    else:
        results += inprocess_apart(10_000_000, 1_000_000, 2_000_000)
        results += http(1_000_000, 100_000, 10)
    return results


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(orjson.dumps(result).decode())
