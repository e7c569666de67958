"""The portal's pages on the demo city: ``web.pages.p95`` is the slowest page's 95th
percentile, in-process (the app called through its ASGI interface, no network), beside the
floor of ``/healthz`` answered the same way. The notes name each page's p95 and the heaviest
page's HTML."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.testing.demo import build_demo

PAGES = (
    "/",
    "/search?q=有限公司",
    "/publicity",
    "/defaulters",
    "/lists",
    "/lists/court.defaulters",
    "/lists/tax.a_grade_taxpayers",
    "/commitments",
    "/stats",
    "/rules",
    "/help",
    "/help/objections-and-repair",
    "/announcements",
    "/announcements/samr-credit-repair-2025",
    "/sign-in",
)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def _timings(client: TestClient, path: str, rounds: int) -> list[float]:
    client.get(path)  # warm: templates compiled, the index mapped
    timings = []
    for _ in range(rounds):
        begun = time.perf_counter()
        answer = client.get(path)
        timings.append(time.perf_counter() - begun)
        assert answer.status_code == 200, (path, answer.status_code)
    return timings


def run(quick: bool) -> list[dict[str, Any]]:
    persons, orgs = (2_000, 200) if quick else (50_000, 5_000)
    rounds = 10 if quick else 50
    with tempfile.TemporaryDirectory() as folder:
        var = Path(folder)
        built = build_demo(var, persons=persons, orgs=orgs)
        assert built.returncode == 0, built.stderr
        with TestClient(create_app(Settings(var_dir=var, database_url=""))) as client:
            per_page = {path: _p95(_timings(client, path, rounds)) for path in PAGES}
            sizes = {path: len(client.get(path).content) for path in PAGES}
            floor = _p95(_timings(client, "/healthz", rounds))
    value = max(per_page.values())
    heaviest = max(sizes, key=lambda path: sizes[path])
    listed = ", ".join(f"{path} {ms:.1f}" for path, ms in per_page.items())
    return [
        {
            "name": "web.pages.p95",
            "value": round(value, 3),
            "unit": "ms",
            "floor": round(floor, 3),
            "ratio": round(floor / value, 3),
            "target": "every page p95 < 100 ms on the demo city",
            "notes": f"demo city of {persons:,} persons and {orgs:,} organisations, {rounds} "
            f"requests a page in process (p95 ms: {listed}); heaviest HTML {heaviest} "
            f"{sizes[heaviest] / 1024:.0f} KiB; floor: /healthz the same way",
        }
    ]
