"""``benchmarks/run.py``: what a partial run writes over the last document."""

import importlib.util
from pathlib import Path
from types import ModuleType

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_partial_run_keeps_each_row_in_its_place() -> None:
    previous = {
        "generated": "2026-12-03T06:22:10Z",
        "results": [
            {"name": "ledger.append", "value": 1},
            {"name": "search.p95", "value": 2, "measured": "2026-12-01T00:00:00Z"},
            {"name": "ingest.sqlite", "value": 3},
        ],
    }
    fresh = [
        {"name": "ingest.sqlite", "value": 30, "measured": "2026-12-07T19:40:19Z"},
        {"name": "ledger.append", "value": 10, "measured": "2026-12-07T19:40:19Z"},
        {"name": "ledger.new", "value": 40, "measured": "2026-12-07T19:40:19Z"},
    ]
    assert _run_module().with_previous(fresh, previous) == [
        {"name": "ledger.append", "value": 10, "measured": "2026-12-07T19:40:19Z"},
        {"name": "search.p95", "value": 2, "measured": "2026-12-01T00:00:00Z"},
        {"name": "ingest.sqlite", "value": 30, "measured": "2026-12-07T19:40:19Z"},
        {"name": "ledger.new", "value": 40, "measured": "2026-12-07T19:40:19Z"},
    ]
