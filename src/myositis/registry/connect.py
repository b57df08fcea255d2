"""``connect(url)``: the one way to reach a registry, whichever engine holds it.

Accepted locations (``docs/data-model.md`` has a worked example of each):

- ``registry.duckdb`` (or ``.db``): an embedded DuckDB file, the default; no server needed;
- a folder of ``<table>.csv`` / ``<table>.parquet`` files, loaded into an in-memory DuckDB with
  every value checked (:mod:`myositis.registry.files`);
- ``postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE?schema=SCHEMA`` (``schema`` defaults to
  ``public``; a password may also come from ``PGPASSWORD`` or ``~/.pgpass``, as libpq reads);
- Apache Spark: ``spark://local[N]`` for a local session with N cores, ``spark://HOST:PORT``
  for a cluster master, ``sc://HOST:PORT`` for Spark Connect; ``?database=NAME`` names the
  metastore database (default ``default``) and, in local mode, ``?warehouse=DIR`` the folder
  that holds its tables and metastore (default ``./spark-warehouse``, as Spark's own).

Everything above this module holds the returned Ibis backend and writes Ibis expressions; no
other module names an engine's connection type or builds a connection.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from myositis.errors import RegistryError
from myositis.registry.store import DATABASE_SUFFIXES

if TYPE_CHECKING:
    from ibis import BaseBackend

Engine = Literal["duckdb", "folder", "postgres", "spark"]

_FORMS: Final = (
    "a .duckdb file, a folder of <table>.csv / <table>.parquet files, "
    "postgresql://USER@HOST:PORT/DATABASE?schema=SCHEMA, spark://local[2], "
    "spark://HOST:PORT or sc://HOST:PORT (with ?database=NAME)"
)


@dataclass(frozen=True)
class Location:
    """A parsed registry location (see the module docstring for the accepted forms)."""

    url: str
    engine: Engine
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    schema: str | None = None
    master: str | None = None  # Spark: local[N], spark://HOST:PORT or sc://HOST:PORT
    warehouse: Path | None = None

    def describe(self) -> str:
        """The location without any password, for messages and results."""
        if self.engine == "postgres":
            who = f"{self.user}@" if self.user else ""
            return f"postgresql://{who}{self.host}:{self.port}/{self.database}?schema={self.schema}"
        if self.engine == "spark":
            return f"spark {self.master}, database {self.database}"
        return str(self.path)


def parse_location(url: str | Path) -> Location:
    """Parse a registry location; raise :class:`RegistryError` saying which forms exist."""
    text = str(url).strip()
    if not text:
        raise RegistryError(f"no registry given; give one of: {_FORMS}")
    lower = text.lower()
    if lower.startswith(("postgresql://", "postgres://")):
        return _postgres(text)
    if lower.startswith(("spark://", "sc://")):
        return _spark(text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise RegistryError(f"{text}: unknown registry kind {scheme!r}; give one of: {_FORMS}")
    path = Path(text).expanduser()
    if path.is_dir():
        return Location(text, "folder", path=path)
    if path.suffix.lower() in DATABASE_SUFFIXES:
        return Location(text, "duckdb", path=path)
    if path.exists():
        raise RegistryError(
            f"{path} is neither a folder nor a DuckDB file ({', '.join(DATABASE_SUFFIXES)}); "
            f"give one of: {_FORMS}"
        )
    raise RegistryError(
        f"{path} does not exist; give an existing registry: {_FORMS} (create one with: "
        "myositis registry synth --out registry.duckdb)"
    )


def _query(text: str, allowed: tuple[str, ...]) -> dict[str, str]:
    query = text.split("?", 1)[1] if "?" in text else ""
    values = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise RegistryError(
            f"{_hide_password(text)}: unknown option(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(allowed)}"
        )
    return values


def _hide_password(text: str) -> str:
    parts = urlsplit(text) if "[" not in text else None
    if parts is not None and parts.password:
        return text.replace(f":{parts.password}@", ":***@")
    return text


def _postgres(text: str) -> Location:
    parts = urlsplit(text)
    options = _query(text, ("schema",))
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise RegistryError(
            f"{_hide_password(text)}: a PostgreSQL registry is "
            "postgresql://USER@HOST:PORT/DATABASE?schema=SCHEMA (host and database are needed)"
        )
    try:
        port = parts.port or 5432
    except ValueError:
        raise RegistryError(f"{_hide_password(text)}: the port must be a number") from None
    return Location(
        _hide_password(text),
        "postgres",
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=database,
        schema=options.get("schema") or "public",
    )


def _spark(text: str) -> Location:
    scheme, rest = text.split("://", 1)
    target = rest.split("?", 1)[0].rstrip("/")
    options = _query(text, ("database", "warehouse"))
    if scheme.lower() == "sc":
        master = f"sc://{target}"
    elif target.lower().startswith("local"):
        master = target
    else:
        master = f"spark://{target}"
    if not target:
        raise RegistryError(
            f"{text}: give the Spark master: spark://local[2], spark://HOST:PORT or sc://HOST:PORT"
        )
    warehouse = options.get("warehouse")
    return Location(
        text,
        "spark",
        master=master,
        database=options.get("database") or "default",
        warehouse=Path(warehouse).expanduser().resolve() if warehouse else None,
    )


def connect(url: str | Path, *, read_only: bool = True, check: bool = True) -> BaseBackend:
    """Open the registry at ``url`` as an Ibis backend.

    With ``check`` (the default) every table and column of the data model must be present
    with a usable type (:func:`myositis.registry.conformance.check_conformance`); a folder's
    values are checked as they load. ``read_only`` opens a DuckDB file for reading only.
    """
    location = parse_location(url)
    con = open_engine(location, read_only=read_only)
    if check:
        from myositis.registry.conformance import check_conformance

        check_conformance(con, where=location.describe())
    return con


def open_engine(location: Location, *, read_only: bool = True, create: bool = False) -> BaseBackend:
    """The Ibis backend of a location, without checking its tables. ``create`` makes an empty
    DuckDB file, PostgreSQL schema or Spark database where there is none."""
    if location.engine == "folder":
        from myositis.registry.files import open_folder

        assert location.path is not None
        return open_folder(location.path)
    if location.engine == "duckdb":
        return _duckdb(location, read_only=read_only, create=create)
    if location.engine == "postgres":
        return _postgres_backend(location, create=create)
    return _spark_backend(location, create=create)


def _duckdb(location: Location, *, read_only: bool, create: bool) -> BaseBackend:
    import ibis

    assert location.path is not None
    if not create and not location.path.exists():
        raise RegistryError(f"{location.path} does not exist; give an existing registry file")
    try:
        return ibis.duckdb.connect(str(location.path), read_only=read_only and not create)
    except Exception as exc:  # duckdb raises several types for a damaged or locked file
        raise RegistryError(
            f"{location.path} could not be opened as a DuckDB database: {exc}"
        ) from None


def _postgres_backend(location: Location, *, create: bool) -> BaseBackend:
    try:
        import ibis
        import psycopg
    except ImportError as exc:
        raise RegistryError(
            f"PostgreSQL support is not installed ({exc.name}); install it with "
            "pip install 'myositis-outcomes[postgres]'"
        ) from None
    kwargs = {
        "host": location.host,
        "port": location.port,
        "user": location.user,
        "dbname": location.database,
        "connect_timeout": 10,
    }
    if location.password:
        kwargs["password"] = location.password
    try:
        with psycopg.connect(autocommit=True, **kwargs) as admin:  # type: ignore[arg-type]
            exists = admin.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (location.schema,)
            ).fetchone()
            if not exists and create:
                admin.execute(f'CREATE SCHEMA "{location.schema}"')
            elif not exists:
                raise RegistryError(
                    f"{location.describe()}: the database has no schema {location.schema!r}; "
                    "put a registry there with: myositis registry copy SRC "
                    f"'{location.describe()}'"
                )
    except psycopg.OperationalError as exc:
        raise RegistryError(
            f"{location.describe()}: cannot connect to PostgreSQL ({str(exc).strip()}); check "
            "the host, port, user, password and database"
        ) from None
    return ibis.postgres.connect(
        host=location.host,
        port=location.port or 5432,
        user=location.user,
        password=location.password,
        database=location.database,
        options=f"-c search_path={location.schema}",
    )


def _spark_backend(location: Location, *, create: bool) -> BaseBackend:
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RegistryError(
            f"Spark support is not installed ({exc.name}); install it with "
            "pip install 'myositis-outcomes[spark]'"
        ) from None
    assert location.master is not None
    builder = SparkSession.builder.appName("myositis-outcomes")
    if location.master.startswith("sc://"):
        builder = builder.remote(location.master)
    else:
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise RegistryError(
                f"{location.describe()}: Spark needs Java 17 (no 'java' on PATH and no "
                "JAVA_HOME); install a JDK or point JAVA_HOME at one"
            )
        builder = builder.master(location.master).config("spark.ui.enabled", "false")
        builder = builder.config("spark.sql.session.timeZone", "UTC")
        if location.master.startswith("local"):
            # A local session keeps its tables and their metastore in one folder, so the
            # registry is there the next time (Spark's default folder is ./spark-warehouse).
            warehouse = location.warehouse or Path("spark-warehouse").resolve()
            builder = (
                builder.config("spark.sql.warehouse.dir", str(warehouse))
                .config(
                    "javax.jdo.option.ConnectionURL",
                    f"jdbc:derby:;databaseName={warehouse / 'metastore_db'};create=true",
                )
                .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
                .config("spark.sql.shuffle.partitions", "4")
            )
        builder = builder.enableHiveSupport()
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR") if not location.master.startswith("sc://") else None
    database = location.database or "default"
    names = {row.namespace for row in session.sql("SHOW DATABASES").collect()}
    if database not in names:
        if not create:
            raise RegistryError(
                f"{location.describe()}: Spark has no database {database!r} (found: "
                f"{', '.join(sorted(names))}); put a registry there with: myositis registry "
                f"copy SRC '{location.url}'"
            )
        session.sql(f"CREATE DATABASE `{database}`")
    session.sql(f"USE `{database}`")
    return ibis.pyspark.connect(session)


__all__ = ["DATABASE_SUFFIXES", "Location", "connect", "open_engine", "parse_location"]
