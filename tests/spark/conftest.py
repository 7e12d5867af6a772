"""One local Spark session for the Spark tests, per pytest-xdist worker: under ``-n 2`` both workers may
run Spark tests, each with its own local JVM (pytest-xdist 3.8's ``loadgroup`` cannot keep them on one
worker under pytest 9: it renames node ids through an attribute pytest 9 no longer reads)."""

from __future__ import annotations

import signal

import pytest

from data.spark import spark_session

# Small data: two shuffle partitions, no adaptive re-planning, a JVM that starts fast (C1 compiler only).
TEST_CONFIG = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="session")
def spark():
    """A local-mode SparkSession (UI off, 127.0.0.1, UTC); `data.spark.spark_session` returns it to the code
    under test as the active session."""
    session = spark_session("local[2]", TEST_CONFIG)
    yield session
    session.stop()
    # PySpark's SIGINT handler cancels the stopped context's jobs (None now): Python's own handler again
    signal.signal(signal.SIGINT, signal.default_int_handler)
