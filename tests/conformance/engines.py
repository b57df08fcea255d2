"""The engines of the conformance suite, as ibis's own suite does it: each loads Arrow tables
and hands back an Ibis backend, so a test runs the same definition on DuckDB, PostgreSQL and
Spark (the fixtures are in conftest.py).

PostgreSQL: ``MYOSITIS_TEST_POSTGRES`` (a libpq connection string; default the test machines'
server, ``host=127.0.0.1 port=5432 dbname=test user=postgres``); every session works in a schema
of its own, dropped at the end. Spark: PySpark in local mode (one core), which needs Java.
Without them the tests fail in CI and are skipped elsewhere (``tests/optional_services.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from optional_services import unavailable

POSTGRES = os.environ.get(
    "MYOSITIS_TEST_POSTGRES", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
#: Spark column types for the registry's Ibis types (Spark infers none from Arrow reliably).
SPARK_TYPES = {
    "int64": "bigint",
    "int32": "int",
    "string": "string",
    "date": "date",
    "float64": "double",
    "boolean": "boolean",
}


@dataclass
class Engine:
    """One engine: its name, its Ibis backend and how to put a table into it."""

    name: str
    con: BaseBackend
    put: Callable[[str, pa.Table, ibis.Schema | None], None]

    def load(self, name: str, table: pa.Table, schema: ibis.Schema | None = None) -> None:
        """Create table ``name`` from ``table`` (replacing one of that name)."""
        self.put(name, table, schema)


def duckdb_engine() -> Iterator[Engine]:
    con = ibis.duckdb.connect()

    def put(name: str, table: pa.Table, schema: ibis.Schema | None) -> None:
        # through DuckDB itself: ibis 12's create_table(obj=arrow) fails on DuckDB 2.0.1
        con.con.register("_arrow", table)
        con.raw_sql(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _arrow')
        con.con.unregister("_arrow")

    yield Engine("duckdb", con, put)


def postgres_engine(tag: str) -> Iterator[Engine]:
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        unavailable("PostgreSQL", f"{exc} (install with '.[postgres]')")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        problem = f"cannot connect with '{POSTGRES}': {exc}".strip()
    else:
        problem = ""
    if problem:
        unavailable("PostgreSQL", problem)
    schema = f"myositis_test_{tag}"
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    params = conninfo_to_dict(POSTGRES)
    con = ibis.postgres.connect(
        host=params.get("host"),
        port=int(str(params.get("port", 5432))),
        user=params.get("user"),
        password=params.get("password"),
        database=params.get("dbname"),
        options=f"-c search_path={schema}",
    )

    def put(name: str, table: pa.Table, schema_: ibis.Schema | None) -> None:
        # the Arrow types become the column types (the registry's tables carry its schema)
        con.raw_sql(f'DROP TABLE IF EXISTS "{name}"').close()
        con.create_table(name, table)

    try:
        yield Engine("postgres", con, put)
    finally:
        con.disconnect()
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def spark_engine(warehouse: Path) -> Iterator[Engine]:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        unavailable("Spark", f"{exc} (install with '.[spark]')")
    if shutil.which("java") is None:
        unavailable("Spark", "no 'java' on PATH (Spark in local mode needs Java 17)")
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )

    def put(name: str, table: pa.Table, schema: ibis.Schema | None) -> None:
        if schema is None:
            spark.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)
            return
        ddl = ", ".join(f"{c} {SPARK_TYPES[str(t).lstrip('!')]}" for c, t in schema.items())
        spark.createDataFrame(table.to_pylist(), schema=ddl).createOrReplaceTempView(name)

    try:
        yield Engine("spark", ibis.pyspark.connect(spark), put)
    finally:
        spark.stop()
