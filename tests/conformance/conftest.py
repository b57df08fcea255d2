"""Fixtures of the conformance suite: every engine in turn, each holding a copy of the bundled
registry made with ``myositis registry copy``, and the bundled registry itself (a folder of
CSV files, read by the embedded DuckDB) as the reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engines import (
    MIN2022,
    Engine,
    drop_postgres_schemas,
    duckdb_engine,
    postgres_engine,
    spark_engine,
)
from myositis.registry.connect import connect


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
        yield duckdb_engine(tmp_path_factory.mktemp("duckdb"))
    elif request.param == "postgres":
        found = postgres_engine()
        try:
            yield found
        finally:
            drop_postgres_schemas(found)
    else:
        yield request.getfixturevalue("spark")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The Spark engine on its own, for tests of Spark alone. One instance for the whole
    session, shared with ``engine``: a process holds one Spark session, so a second instance
    (another warehouse) would be refused."""
    return spark_engine(tmp_path_factory.mktemp("spark-warehouse"))


@pytest.fixture(scope="session")
def reference() -> Engine:
    """The bundled registry as it is (CSV files in the embedded DuckDB), that every engine's
    results are compared with."""
    con = connect(MIN2022)
    return Engine("folder", str(MIN2022), con, "", con)
