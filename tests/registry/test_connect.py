"""Registry locations: every accepted form parses to the engine and settings it names, and
every mistake a user can make in one gets a message naming the location and saying what to
give instead (docs/data-model.md, "Engines"). Parsing needs no server; the errors of engines
that are not there are checked without one (a closed port, a missing module, no Java)."""

from __future__ import annotations

import importlib
import os
import socket
import sys
from pathlib import Path

import pytest

from myositis.errors import RegistryError
from myositis.registry.connect import Location, connect, parse_location


def test_postgres_url_with_its_parts_and_public_as_the_default_schema() -> None:
    location = parse_location("postgresql://alice:s%40cret@db.example.org:6543/registry")
    assert location == Location(
        "postgresql://alice:***@db.example.org:6543/registry",
        "postgres",
        host="db.example.org",
        port=6543,
        user="alice",
        password="s@cret",
        database="registry",
        schema="public",
    )
    # no password in what is shown (messages, results.json)
    assert location.describe() == "postgresql://alice@db.example.org:6543/registry?schema=public"
    demo = parse_location("postgres://postgres@127.0.0.1/test?schema=demo")
    assert (demo.port, demo.schema, demo.password) == (5432, "demo", None)
    # a schema name keeps its case (it is quoted in SQL and in search_path alike)
    assert parse_location("postgresql://u@h/db?schema=Clinic_A").schema == "Clinic_A"


def test_spark_local_cluster_and_connect_urls() -> None:
    local = parse_location("spark://local[2]?database=Registry&warehouse=wh")
    assert (local.engine, local.master, local.database) == ("spark", "local[2]", "registry")
    assert local.warehouse == Path("wh").resolve()  # Hive keeps database names in lower case
    default = parse_location("spark://local[*]")
    assert (default.database, default.warehouse) == ("default", Path("spark-warehouse").resolve())
    cluster = parse_location("spark://spark-master.example.org:7077?database=myositis")
    assert (cluster.master, cluster.warehouse) == ("spark://spark-master.example.org:7077", None)
    assert (
        parse_location("sc://connect.example.org:15002").master == "sc://connect.example.org:15002"
    )


def test_spark_local_driver_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_location("spark://local[2]?driver_memory=4G").driver_memory == "4g"
    assert parse_location("spark://master:7077").driver_memory is None  # the cluster's own
    # default: a quarter of the machine's memory, between 1g and 8g
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", pages.__getitem__)
    assert parse_location("spark://local[2]").driver_memory == "6g"
    pages["SC_PHYS_PAGES"] = 2 * 2**30 // 4096
    assert parse_location("spark://local[2]").driver_memory == "1g"
    pages["SC_PHYS_PAGES"] = 256 * 2**30 // 4096
    assert parse_location("spark://local[2]").driver_memory == "8g"


def test_files_and_folders(tmp_path: Path) -> None:
    assert parse_location(tmp_path).engine == "folder"
    # a DuckDB file need not exist yet (registry copy creates one), a folder must
    assert parse_location(tmp_path / "new.duckdb").engine == "duckdb"
    assert parse_location(str(tmp_path / "old.db")).path == tmp_path / "old.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no registry given"),
        ("mysql://host/db", "unknown registry kind 'mysql'; give one of: a .duckdb file"),
        ("postgresql://u:pw@host:5432/db?schema=x&shema=y", "unknown option(s) shema"),
        ("postgresql://host:port/db", "the port must be a number"),
        ("postgresql://user@host:5432", "host and database are needed"),
        ("postgresql://u@h/db?schema=my-schema", "schema 'my-schema' is not a usable name"),
        ("postgresql://u@h/db?schema=pg_cohorts", "reserves for its system schemas"),
        ("spark://local[two]", "spark://local, spark://local[N] or spark://local[*]"),
        ("spark://?database=x", "give the Spark master"),
        ("spark://local[2]?database=1st", "database '1st' is not a usable name"),
        ("spark://master:7077?warehouse=/w", "?warehouse= is for a local session"),
        ("sc://host:15002?warehouse=/w", "?warehouse= is for a local session"),
        ("spark://master:7077?driver_memory=4g", "?driver_memory= is for a local session"),
        ("spark://local[2]?driver_memory=lots", "e.g. ?driver_memory=4g"),
        ("no/such/folder", "does not exist; give an existing registry"),
    ],
)
def test_each_mistake_has_its_message(url: str, message: str) -> None:
    with pytest.raises(RegistryError) as info:
        parse_location(url)
    assert message in str(info.value)
    assert "pw" not in str(info.value)  # a password is never repeated


def test_a_file_that_is_no_registry(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("x", encoding="utf-8")
    with pytest.raises(RegistryError, match="neither a folder nor a DuckDB file"):
        connect(text)
    with pytest.raises(RegistryError, match="does not exist; give an existing registry file"):
        connect(tmp_path / "missing.duckdb")
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(RegistryError, match="could not be opened as a DuckDB database"):
        connect(broken)
    with pytest.raises(RegistryError, match="could not be opened as a DuckDB database"):
        connect(parse_location(broken))  # a location parsed already (cohort run) alike


def test_unreachable_postgres_server_is_named() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RegistryError) as info:
        connect(f"postgresql://someone:pw@127.0.0.1:{port}/test?schema=demo")
    text = str(info.value)
    assert text.startswith(f"postgresql://someone@127.0.0.1:{port}/test?schema=demo: ")
    assert "cannot connect to PostgreSQL" in text and "Connection refused" in text
    assert "pw" not in text


def test_missing_client_libraries_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(RegistryError, match=r"pip install 'myositis-outcomes\[postgres\]'"):
        connect("postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(RegistryError, match=r"pip install 'myositis-outcomes\[spark\]'"):
        connect("spark://local[1]")


def test_spark_without_java_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    from pyspark import SparkContext

    module = importlib.import_module("myositis.registry.connect")  # not the function

    # as in a fresh process (the conformance suite may have started Spark in this one)
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(RegistryError, match="Spark needs Java 17 or later"):
        connect("spark://local[1]")


def test_spark_connect_without_its_client_libraries() -> None:
    pytest.importorskip("pyspark")
    try:
        import grpc  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the Spark Connect client libraries are installed here")
    with pytest.raises(RegistryError, match=r"pip install 'pyspark\[connect\]'"):
        connect("sc://127.0.0.1:15002")
