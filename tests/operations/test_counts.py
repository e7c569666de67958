"""Workers' counts add up across processes, and log lines are JSON with the request id."""

import io
import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from xinyong.config import get_settings
from xinyong.operations.logs import formatter
from xinyong.operations.metrics import LATENCY_BUCKETS, Publisher, Tally, _added, traffic
from xinyong.operations.serving import prepare_workers
from xinyong.tracing import REQUEST_ID

ROUTES = st.sampled_from(["/v1/checks", "/v1/subjects/{identifier}", "<unmatched>"])
REQUEST = st.tuples(ROUTES, st.sampled_from([200, 404, 503]), st.floats(0, 20))


def counted(requests: list[tuple[str, int, float]]) -> Tally:
    tally = Tally()
    for route, status, seconds in requests:
        tally.request(route, "POST", status, seconds)
    return tally


@given(st.lists(st.lists(REQUEST, max_size=30), max_size=4))
def test_workers_counts_add_up_to_the_counts_of_one(
    workers: list[list[tuple[str, int, float]]],
) -> None:
    whole = counted([request for worker in workers for request in worker])
    added = _added(counted(worker).snapshot() for worker in workers)
    assert added.requests.keys() == whole.requests.keys()
    for key, counts in whole.requests.items():
        assert added.requests[key][:-1] == counts[:-1]
        assert abs(added.requests[key][-1] - counts[-1]) <= 1e-9 * max(1.0, counts[-1])


@given(st.lists(REQUEST, min_size=1, max_size=50))
def test_the_histogram_buckets_hold_what_each_bound_says(
    requests: list[tuple[str, int, float]],
) -> None:
    families = text_string_to_metric_families(
        "".join(f"{line}\n" for family in traffic(counted(requests)) for line in _exposed(family))
    )
    for family in families:
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            bound = float(sample.labels["le"])
            route, status = sample.labels["route"], int(sample.labels["status"])
            expected = sum(
                1 for r, s, seconds in requests if (r, s) == (route, status) and seconds <= bound
            )
            assert sample.value == expected


def _exposed(family: object) -> list[str]:
    from prometheus_client import CollectorRegistry, generate_latest

    class One:
        def collect(self) -> list[object]:
            return [family]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(One())  # type: ignore[arg-type]
    return generate_latest(registry).decode().splitlines()


def published_by_another_process(folder: Path, checks: int) -> None:
    """A worker process that answered ``checks`` checks publishes its counts and ends: a fork of
    this one (a new interpreter took half a second to import what this one has)."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            tally = Tally()
            for _ in range(checks):
                tally.request("/v1/checks", "POST", 200, 0.002)
            Publisher(tally, folder).publish()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_scrape_adds_up_the_counts_other_processes_published(tmp_path: Path) -> None:
    for checks in (3, 4):
        published_by_another_process(tmp_path, checks)
    mine = Tally()
    mine.request("/v1/checks", "POST", 200, 0.002)
    publisher = Publisher(mine, tmp_path)
    assert len(publisher.others()) == 2  # one file each
    total = _added([mine.snapshot(), *publisher.others()])
    counts = total.requests[("/v1/checks", "POST", "200")]
    assert sum(counts[:-1]) == 8
    assert counts[[bound >= 0.002 for bound in LATENCY_BUCKETS].index(True)] == 8


def test_a_log_line_is_json_with_the_request_id_and_the_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter())
    logger = logging.getLogger("xinyong.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        token = REQUEST_ID.set("req-42")
        logger.info(
            "request", extra={"route": "/v1/checks", "status": 200, "color_message": "\x1b[1m"}
        )
        REQUEST_ID.reset(token)
        logger.warning("outside a request")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["event"] == "request" and inside["request_id"] == "req-42"
    assert inside["route"] == "/v1/checks" and inside["status"] == 200
    assert inside["level"] == "info" and inside["logger"] == "xinyong.test.logs"
    assert inside["time"].endswith("Z") and "color_message" not in inside
    assert "request_id" not in outside and outside["level"] == "warning"


def test_serve_clears_earlier_counts_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "4711.json").write_text("{}")
    (folder / "4712.part").write_text("{")
    (folder / "notes.txt").write_text("an operator's file")
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    # Set, then unset, so that the setting prepare_workers exports is undone after the test.
    monkeypatch.setenv("XINYONG_METRICS_DIR", "set by the test")
    monkeypatch.delenv("XINYONG_METRICS_DIR")
    get_settings.cache_clear()
    try:
        config = prepare_workers()
        assert get_settings().metrics_dir == folder.resolve()
    finally:
        get_settings.cache_clear()
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]
    assert os.environ["XINYONG_METRICS_DIR"] == str(folder.resolve())
    assert config["formatters"]["json"]["()"] == "xinyong.operations.logs.formatter"
