"""A sign-in flood beside check traffic: do checks and ``/healthz`` keep answering?

The server (uvicorn, 2 workers, SQLite) answers ``POST /v1/checks`` from ``wrk`` (16
connections) for a minute. Five seconds in, 200 wrong-password sign-ins arrive at once from
50 connections, each from its own address (127.0.0.10-59), spread over 10 real accounts:
every one of them would cost a password check (about 64 MiB and a fifth of a second of CPU)
if nothing stopped it. A prober asks ``/healthz`` every 0.1 s throughout. After the flood one
of the attacked accounts signs in with its right password, waiting as ``Retry-After`` says.

``signin.flood.checks_p99`` is the checks' 99th percentile latency during that minute, beside
the same traffic without a flood (measured first, in the same run); ``signin.flood.healthz``
is the slowest ``/healthz`` answer during the minute, and the notes say how many failed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench_checks import build_store, free_port, latency, listed, serve, warm, wrk, wrk_script
from xinyong.accounts.service import create_account
from xinyong.store.db import make_engine, make_sessionmaker

ACCOUNTS = 10
ATTEMPTS = 200
CONNECTIONS = 50
PASSWORD = "the right password"
SUBJECTS, LISTED = 100_000, 10_000


def add_accounts(url: str) -> list[str]:
    engine = make_engine(url)
    names = [f"staff{n}" for n in range(ACCOUNTS)]
    with make_sessionmaker(engine).begin() as session:
        for name in names:
            create_account(session, username=name, password=PASSWORD, role="operator")
    engine.dispose()
    return names


def flood(port: int, names: list[str]) -> tuple[Counter[int], float]:
    """200 wrong passwords from 50 addresses at once: answers by status, and how long it took."""
    answers: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CONNECTIONS)

    def attacker(number: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{10 + number}")
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=300
        ) as client:
            start.wait()
            for attempt in range(ATTEMPTS // CONNECTIONS):
                name = names[(number + attempt * CONNECTIONS) % len(names)]
                body = {"username": name, "password": f"guess {number} {attempt}"}
                status = client.post("/v1/auth/login", json=body).status_code
                with lock:
                    answers[status] += 1

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(CONNECTIONS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - began


def sign_in_after(port: int, name: str) -> tuple[float, int]:
    """Seconds until ``name`` signs in with the right password, obeying Retry-After; tries."""
    began = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
        for tries in range(1, 100):
            response = client.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
            if response.status_code == 200:
                return time.perf_counter() - began, tries
            time.sleep(float(response.headers.get("retry-after", "1")))
    raise RuntimeError(f"{name} could not sign in after the flood")


class HealthProbe(threading.Thread):
    """Asks /healthz every 0.1 s until stopped: the slowest answer, and how many failed."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.slowest = 0.0
        self.asked = 0
        self.failed = 0

    def run(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self.stopping.wait(0.1):
                began = time.perf_counter()
                try:
                    client.get(f"http://127.0.0.1:{self.port}/healthz").raise_for_status()
                except httpx.HTTPError:
                    self.failed += 1
                self.asked += 1
                self.slowest = max(self.slowest, time.perf_counter() - began)


def checks_under_load(port: int, script: Path, seconds: int) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 (ms) of wrk's check traffic."""
    output = wrk(port, "/v1/checks", script, seconds, "-c16", "--latency")
    rate = float(output.split("Requests/sec:")[1].split()[0])
    return rate, latency(output, "50%"), latency(output, "99%")


def run(quick: bool) -> list[dict[str, Any]]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package wrk; `make bench` installs it)")
    seconds = 20 if quick else 60
    folder = Path(tempfile.mkdtemp(prefix="xinyong-bench-signin-"))
    try:
        url, token = build_store(folder, SUBJECTS, LISTED)
        names = add_accounts(url)
        env = {**os.environ, "XINYONG_DATABASE_URL": url, "XINYONG_VAR_DIR": str(folder)}
        script = wrk_script(folder, token, SUBJECTS, sorted(listed(SUBJECTS, LISTED)))
        port = free_port()
        server = serve(["--factory", "xinyong.app:create_app"], env, port)
        try:
            warm(port, {"Authorization": f"Bearer {token}"}, SUBJECTS)
            calm_rate, calm_p50, calm_p99 = checks_under_load(port, script, 10)
            probe = HealthProbe(port)
            probe.start()
            results: dict[str, Any] = {}
            traffic = threading.Thread(
                target=lambda: results.update(
                    zip(
                        ("rate", "p50", "p99"),
                        checks_under_load(port, script, seconds),
                        strict=True,
                    )
                )
            )
            traffic.start()
            time.sleep(5)
            answers, flood_seconds = flood(port, names)
            back_after, tries = sign_in_after(port, names[0])
            traffic.join()
            probe.stopping.set()
            probe.join()
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    statuses = ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))
    setting = (
        f"uvicorn 2 workers, SQLite, {SUBJECTS:,} subjects; wrk -t2 -c16 on POST /v1/checks "
        f"for {seconds} s; at 5 s, {ATTEMPTS} wrong-password sign-ins from {CONNECTIONS} "
        f"connections on {CONNECTIONS} addresses against {ACCOUNTS} accounts"
    )
    return [
        {
            "name": "signin.flood.checks_p99",
            "value": round(results["p99"], 2),
            "unit": "ms",
            "floor": round(calm_p99, 2),
            "ratio": round(calm_p99 / results["p99"], 3),
            "target": "value < 50",
            "notes": f"{setting}; checks p50 {results['p50']:.2f} ms, {results['rate']:,.0f} "
            f"requests/s during the flood; floor: the same traffic without a flood (p50 "
            f"{calm_p50:.2f} ms, {calm_rate:,.0f} requests/s); the flood's answers: {statuses} "
            f"in {flood_seconds:.1f} s",
        },
        {
            "name": "signin.flood.healthz",
            "value": round(probe.slowest * 1000, 1),
            "unit": "ms (slowest)",
            "floor": None,
            "ratio": None,
            "target": "no failure",
            "notes": f"{setting}; /healthz every 0.1 s: {probe.asked} asked, {probe.failed} "
            f"failed (2 s timeout); an attacked account signed in {back_after:.1f} s after the "
            f"flood ended, on try {tries} (waiting as Retry-After said)",
        },
    ]


if __name__ == "__main__":
    import sys

    import orjson

    for result in run("--quick" in sys.argv):
        print(orjson.dumps(result).decode())
