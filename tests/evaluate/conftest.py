"""Engines for the evaluation tests: Spark starts once per test session (it takes seconds)."""

import os
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
SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""The JVM lives for a few dozen small jobs: its quick compiler only (the optimising one spends
more processor time compiling Spark than the jobs take to run) and one garbage collector thread
instead of one a core. Neither changes what a plan computes."""


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    # Read by pyspark when it launches the JVM, so set only while the session starts (unless
    # the environment gives its own).
    with pytest.MonkeyPatch.context() as patch:
        if "PYSPARK_SUBMIT_ARGS" not in os.environ:
            patch.setenv(
                "PYSPARK_SUBMIT_ARGS", f'--driver-java-options "{SHORT_LIVED_JVM}" pyspark-shell'
            )
        engine = get_engine("spark")
    with engine:
        for key, value in TINY_TABLES.items():
            spark_session().conf.set(key, value)
        yield engine
