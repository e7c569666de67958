"""``GET /metrics``: what an operator alerts on, in the Prometheus text format.

Requests and checks are counted by each worker in plain dictionaries, on its event loop and
without a lock: prometheus-client's own multi-process mode takes a lock and writes a memory
map on every observation (6 µs each, 18 µs with a label look-up, measured here), more than a
tenth of what a check costs. A worker of ``xinyong serve`` writes its counts to
``metrics_dir`` once a second; whichever worker answers a scrape adds up every worker's file
and its own live counts. Files of workers that have ended stay, so the totals never go down
while the service runs; ``serve`` empties the folder when it starts.

Everything else (ingest, quarantine, ledger, notices, evaluations) is read from the store at
scrape time, so jobs run from the command line are counted too. No metric names a subject.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import as_utc, utc_now
from xinyong.ingest.models import QuarantinedRow, Submission
from xinyong.ledger.models import LedgerCheckpoint
from xinyong.ledger.service import latest_signed_at, ledger_size
from xinyong.rights.notices_models import NoticeRow
from xinyong.scoring.models import Evaluation

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the request latency histogram; a check takes about a millisecond."""
EVALUATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
PUBLISH_SECONDS = 1.0
INGEST_OUTCOMES = ("accepted", "duplicates", "corrected", "withdrawn", "rejected")
COUNTS = ".json"
PARTIAL = ".part"


class Decided(Protocol):
    action: str
    effect: str


class Tally:
    """One process's request and check counts.

    A request's latency goes into a bucket by bisection: ``counts[i]`` is how many took at
    most ``LATENCY_BUCKETS[i]`` and more than the bound before; the slot after the last bound
    holds the slower ones and the final slot the sum of seconds.
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], list[float]] = {}
        self.decisions: dict[tuple[str, str], int] = {}

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        counts = self.requests.get(key)
        if counts is None:
            counts = self.requests[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def decided(self, decisions: Iterable[Decided]) -> None:
        counts = self.decisions
        for decision in decisions:
            key = (decision.action, decision.effect)
            counts[key] = counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        # dict.copy() runs without yielding the interpreter lock: the loop's increments are
        # either in the copy or in the next one.
        requests = self.requests.copy()
        return {
            "requests": [[*key, *counts] for key, counts in requests.items()],
            "decisions": [[*key, count] for key, count in self.decisions.copy().items()],
        }


def _added(snapshots: Iterable[dict[str, Any]]) -> Tally:
    total = Tally()
    for snapshot in snapshots:
        for route, method, status, *counts in snapshot.get("requests", []):
            mine = total.requests.setdefault(
                (route, method, status), [0.0] * (len(LATENCY_BUCKETS) + 2)
            )
            for position, value in enumerate(counts[: len(mine)]):
                mine[position] += value
        for action, effect, count in snapshot.get("decisions", []):
            total.decisions[(action, effect)] = total.decisions.get((action, effect), 0) + count
    return total


class Publisher:
    """Writes a worker's counts to ``folder/<pid>.json`` every second, from a thread."""

    def __init__(self, tally: Tally, folder: Path) -> None:
        self.tally = tally
        self.folder = folder
        self.path = folder / f"{os.getpid()}{COUNTS}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.publish()

    def publish(self) -> None:
        partial = self.path.with_suffix(PARTIAL)
        partial.write_bytes(orjson.dumps(self.tally.snapshot()))
        partial.replace(self.path)

    def _run(self) -> None:
        while not self._stopping.wait(PUBLISH_SECONDS):
            with contextlib.suppress(OSError):  # a full disk must not stop the worker
                self.publish()

    def others(self) -> list[dict[str, Any]]:
        """The last counts every other worker published."""
        found = []
        for path in self.folder.glob(f"*{COUNTS}"):
            if path == self.path:
                continue
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                found.append(orjson.loads(path.read_bytes()))
        return found


def _cumulative(counts: Sequence[float]) -> list[tuple[str, float]]:
    buckets = []
    running = 0.0
    for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts, strict=True):
        running += count
        buckets.append((bound, running))
    return buckets


def traffic(tally: Tally) -> Iterator[Metric]:
    requests = HistogramMetricFamily(
        "xinyong_http_request_duration_seconds",
        "HTTP requests by route template, method and status, with their latency",
        labels=["route", "method", "status"],
    )
    for (route, method, status), counts in sorted(tally.requests.items()):
        requests.add_metric([route, method, status], _cumulative(counts[:-1]), sum_value=counts[-1])
    yield requests
    checks = CounterMetricFamily(
        "xinyong_checks", "decisions answered, by action and effect", labels=["action", "effect"]
    )
    for (action, effect), count in sorted(tally.decisions.items()):
        checks.add_metric([action, effect], count)
    yield checks


def store_state(factory: sessionmaker[Session]) -> Iterator[Metric]:
    """What the store says now: one short read transaction."""
    with factory() as session:
        yield from _ingest(session)
        yield from _ledger(session)
        yield from _notices(session)
        yield from _evaluations(session)


def _ingest(session: Session) -> Iterator[Metric]:
    sums = session.execute(
        select(*(func.coalesce(func.sum(getattr(Submission, name)), 0) for name in INGEST_OUTCOMES))
    ).one()
    rows = CounterMetricFamily(
        "xinyong_ingest_rows", "submitted rows by outcome, over all submissions", labels=["outcome"]
    )
    for outcome, count in zip(INGEST_OUTCOMES, sums, strict=True):
        rows.add_metric([outcome], int(count))
    yield rows
    quarantined = session.scalar(select(func.count()).select_from(QuarantinedRow)) or 0
    yield GaugeMetricFamily(
        "xinyong_quarantine_rows", "rows held in quarantine for correction", value=quarantined
    )


def _ledger(session: Session) -> Iterator[Metric]:
    size = ledger_size(session)
    yield GaugeMetricFamily("xinyong_ledger_leaves", "leaves in the ledger", value=size)
    signed = session.scalar(select(func.max(LedgerCheckpoint.tree_size))) or 0
    yield GaugeMetricFamily(
        "xinyong_ledger_unsigned_leaves",
        "leaves no signed checkpoint covers yet",
        value=max(size - signed, 0),
    )
    last = latest_signed_at(session)
    if last is not None:
        yield GaugeMetricFamily(
            "xinyong_ledger_checkpoint_age_seconds",
            "seconds since the newest checkpoint was signed",
            value=(utc_now() - as_utc(last)).total_seconds(),
        )


def _notices(session: Session) -> Iterator[Metric]:
    pending = NoticeRow.status == "pending"
    depth = session.scalar(select(func.count()).where(pending)) or 0
    failing = session.scalar(select(func.count()).where(pending, NoticeRow.attempts > 0)) or 0
    yield GaugeMetricFamily("xinyong_notices_pending", "notices waiting to be sent", value=depth)
    yield GaugeMetricFamily(
        "xinyong_notices_failing",
        "pending notices whose last delivery attempt failed",
        value=failing,
    )


def _evaluations(session: Session) -> Iterator[Metric]:
    durations = HistogramMetricFamily(
        "xinyong_evaluation_duration_seconds",
        "completed batch evaluations by engine",
        labels=["engine"],
    )
    by_engine: dict[str, list[float]] = {}
    for engine, started, completed in session.execute(
        select(Evaluation.engine, Evaluation.started_at, Evaluation.completed_at).where(
            Evaluation.status == "complete"
        )
    ):
        if completed is None:
            continue
        took = (as_utc(completed) - as_utc(started)).total_seconds()
        by_engine.setdefault(engine, []).append(took)
    for engine, durations_of_engine in sorted(by_engine.items()):
        buckets = [
            (str(bound), float(sum(1 for took in durations_of_engine if took <= bound)))
            for bound in EVALUATION_BUCKETS
        ]
        durations.add_metric(
            [engine],
            [*buckets, ("+Inf", float(len(durations_of_engine)))],
            sum_value=sum(durations_of_engine),
        )
    yield durations
    failed = session.scalar(select(func.count()).where(Evaluation.status == "failed")) or 0
    yield CounterMetricFamily("xinyong_evaluations_failed", "evaluations that failed", value=failed)


class Metrics:
    """A process's tally, its publisher when it is a worker of ``serve``, and the exposition."""

    def __init__(self, factory: sessionmaker[Session], folder: Path | None) -> None:
        self.tally = Tally()
        self.factory = factory
        self.publisher = Publisher(self.tally, folder) if folder is not None else None

    def exposition(self) -> bytes:
        others = self.publisher.others() if self.publisher is not None else []
        total = _added([self.tally.snapshot(), *others])
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collected([*traffic(total), *store_state(self.factory)]))
        return generate_latest(registry)


class _Collected:
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> list[Metric]:
        return self.metrics


def networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of a comma-separated setting (``*`` for any address)."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in filter(None, (part.strip() for part in setting.split(","))):
        if item == "*":
            found += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
        else:
            found.append(ipaddress.ip_network(item, strict=False))
    return found


def within(
    address: str | None, allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in allowed)
