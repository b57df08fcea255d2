"""Fixtures of the conformance suite: every engine in turn, and DuckDB as the reference."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conformance.engines import Engine, duckdb_engine, postgres_engine, spark_engine


@pytest.fixture(
    scope="session",
    params=[
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("spark", marks=pytest.mark.spark),
    ],
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """Each engine in turn (session-scoped: Spark starts once)."""
    if request.param == "duckdb":
        yield from duckdb_engine()
    elif request.param == "postgres":
        yield from postgres_engine(str(os.getpid()))
    else:
        yield from spark_engine(tmp_path_factory.mktemp("spark-warehouse"))


@pytest.fixture(scope="session")
def reference() -> Iterator[Engine]:
    """DuckDB, the embedded default, that every engine's results are compared with."""
    yield from duckdb_engine()
