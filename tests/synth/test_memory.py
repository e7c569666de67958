"""Generation runs in flat memory: five times the people, no more peak memory to speak of."""

import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from xinyong.synth import generate

AS_OF = date(2026, 11, 1)
ORGS = 100


def peak_bytes(out: Path, persons: int) -> int:
    tracemalloc.start()
    try:
        generate(out, persons, ORGS, 9, "jsonl", AS_OF)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# Builds two cities, one five times the other: `make test` runs it, the quick loop does not.
@pytest.mark.slow
def test_five_times_the_people_needs_no_more_memory(tmp_path: Path) -> None:
    generate(tmp_path / "warm", 200, ORGS, 9, "jsonl", AS_OF)  # name pools and the pack, once
    small = peak_bytes(tmp_path / "small", 2_000)
    # 8,000 persons more: a row kept per person (hundreds of bytes) is megabytes.
    large = peak_bytes(tmp_path / "large", 10_000)
    rows = sum(1 for path in (tmp_path / "large").glob("*.jsonl") for _ in path.open("rb"))
    assert rows > 4_000
    assert large - small < 256 * 1024, (small, large)
