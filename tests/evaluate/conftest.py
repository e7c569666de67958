"""Engines for the evaluation tests: Spark starts once per test session (it takes seconds)."""

from collections.abc import Iterator

import pytest

from xinyong.evaluate.engines import Engine, get_engine


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    with get_engine("spark") as engine:
        yield engine
