"""Engines for the evaluation tests: Spark starts once per test session (it takes seconds)."""

from collections.abc import Iterator

import pytest

from xinyong.evaluate.engines import Engine, get_engine, spark_session

TINY_TABLES = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
"""The tests' tables have tens of rows: one partition, and no Java generated and compiled for
each plan (compiling it takes longer than interpreting a few rows). The answers do not depend
on either, and every plan still runs on Spark's own operators."""


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    with get_engine("spark") as engine:
        for key, value in TINY_TABLES.items():
            spark_session().conf.set(key, value)
        yield engine
