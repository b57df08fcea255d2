"""``connect(url)``: the one way to reach a registry, whichever engine holds it.

Accepted locations (``docs/data-model.md``, "Engines", has a worked example of each):

- ``registry.duckdb`` (or ``.db``): an embedded DuckDB file, the default; no server needed;
- a folder of ``<table>.csv`` / ``<table>.parquet`` files, loaded into an in-memory DuckDB with
  every value checked (:mod:`myositis.registry.files`);
- ``postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE?schema=SCHEMA`` (``schema`` defaults to
  ``public``; a password may also come from ``PGPASSWORD`` or ``~/.pgpass``, as libpq reads);
- Apache Spark: ``spark://local[N]`` for a local session with N cores, ``spark://HOST:PORT``
  for a cluster master, ``sc://HOST:PORT`` for Spark Connect; ``?database=NAME`` names the
  metastore database (default ``default``). A local session keeps its tables and their Hive
  metastore (embedded Derby) in one folder, ``?warehouse=DIR`` (default ``./spark-warehouse``,
  as Spark's own), so a registry copied there is found again by the next process;
  ``?driver_memory=4g`` sizes the local session's one JVM (default: a quarter of the
  machine's memory, at least 1g and at most 8g; Spark's own default of 1g is too small for
  a cohort's plan, :data:`SPARK_LOCAL_SETTINGS`);
- an OMOP CDM 5.3 or 5.4 database, read live: ``omop+duckdb:///path/cdm.duckdb``,
  ``omop+postgresql://USER@HOST:PORT/DATABASE?schema=cdm``, ``omop+spark://local[2]?database=cdm``
  (``?mapping=FILE`` names a local concept mapping): the registry tables are views over the CDM
  tables (:mod:`myositis.registry.omop`, ``docs/omop.md``); nothing is copied or written.

Everything above this module holds the returned Ibis backend and writes Ibis expressions; no
other module builds a connection.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from myositis.errors import RegistryError
from myositis.registry.store import DATABASE_SUFFIXES

if TYPE_CHECKING:
    from ibis import BaseBackend

Engine = Literal["duckdb", "folder", "postgres", "spark"]

_FORMS: Final = (
    "a .duckdb file, a folder of <table>.csv / <table>.parquet files, "
    "postgresql://USER@HOST:PORT/DATABASE?schema=SCHEMA, spark://local[2], "
    "spark://HOST:PORT or sc://HOST:PORT (with ?database=NAME), or an OMOP CDM read live: "
    "omop+duckdb:///path/cdm.duckdb, omop+postgresql://...?schema=cdm, omop+spark://..."
)
#: A PostgreSQL schema or Spark database name: letters, digits and underscores (no quoting
#: games: the same name must work in SQL, in search_path and in Hive's metastore).
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


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
    warehouse: Path | None = None  # Spark local mode: tables and metastore
    driver_memory: str | None = None  # Spark local mode: the JVM's heap (e.g. "4g")
    omop: bool = False  # an OMOP CDM read live through views (myositis.registry.omop)
    mapping: Path | None = None  # OMOP: the local concept mapping file (None: the defaults)

    def describe(self) -> str:
        """The location without any password, for messages and results."""
        if self.omop:
            return f"omop+{self._describe()}"
        return self._describe()

    def _describe(self) -> str:
        if self.engine == "duckdb":
            return f"duckdb://{self.path}" if self.omop else str(self.path)
        if self.engine == "postgres":
            who = f"{self.user}@" if self.user else ""
            return f"postgresql://{who}{self.host}:{self.port}/{self.database}?schema={self.schema}"
        if self.engine == "spark":
            where = f", warehouse {self.warehouse}" if self.warehouse else ""
            return f"spark {self.master}, database {self.database}{where}"
        return str(self.path)


def parse_location(url: str | Path) -> Location:
    """Parse a registry location; raise :class:`RegistryError` saying which forms exist.

    A DuckDB file need not exist yet (``registry copy`` creates one); a folder must.
    """
    text = str(url).strip()
    if not text:
        raise RegistryError(f"no registry given; give one of: {_FORMS}")
    lower = text.lower()
    if lower.startswith("omop+"):
        from myositis.registry.omop.location import split_omop

        omop = split_omop(text)
        if omop.duckdb_file is not None:
            inner = Location(text, "duckdb", path=omop.duckdb_file)
        else:
            assert omop.engine_url is not None
            inner = parse_location(omop.engine_url)
        return replace(inner, url=text, omop=True, mapping=omop.mapping)
    if lower.startswith(("postgresql://", "postgres://")):
        return _postgres(text)
    if lower.startswith(("spark://", "sc://")):
        return _spark(text)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise RegistryError(
            f"{_hide_password(text)}: unknown registry kind {scheme!r}; give one of: {_FORMS}"
        )
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
    return re.sub(r"(://[^:/@?]*):[^@/]*@", r"\1:***@", text)


def _name(value: str, what: str, text: str) -> str:
    if not _NAME.fullmatch(value):
        raise RegistryError(
            f"{_hide_password(text)}: {what} {value!r} is not a usable name; use letters, "
            "digits and underscores, starting with a letter (at most 63 characters)"
        )
    return value


def _schema(value: str, text: str) -> str:
    """A PostgreSQL schema name; ``pg_...`` is PostgreSQL's own (its server refuses to create
    one: "the prefix pg_ is reserved for system schemas")."""
    if value.lower().startswith("pg_"):
        raise RegistryError(
            f"{_hide_password(text)}: schema {value!r} begins with pg_, which PostgreSQL "
            "reserves for its system schemas; choose another ?schema= name"
        )
    return _name(value, "schema", text)


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
        schema=_schema(options.get("schema") or "public", text),
    )


def _spark(text: str) -> Location:
    scheme, rest = text.split("://", 1)
    target = rest.split("?", 1)[0].rstrip("/")
    options = _query(text, ("database", "warehouse", "driver_memory"))
    if not target:
        raise RegistryError(
            f"{text}: give the Spark master: spark://local[2], spark://HOST:PORT or sc://HOST:PORT"
        )
    local = scheme.lower() == "spark" and target.lower().startswith("local")
    if scheme.lower() == "sc":
        master = f"sc://{target}"
    elif local:
        if not re.fullmatch(r"local(\[(\d+|\*)\])?", target):
            raise RegistryError(
                f"{text}: a local Spark session is spark://local, spark://local[N] or "
                "spark://local[*] (N cores)"
            )
        master = target
    else:
        master = f"spark://{target}"
    warehouse = options.get("warehouse")
    if warehouse and not local:
        raise RegistryError(
            f"{text}: ?warehouse= is for a local session (spark://local[N]); a cluster or "
            "Spark Connect server has its own warehouse and metastore"
        )
    memory = options.get("driver_memory")
    if memory is not None:
        if not local:
            raise RegistryError(
                f"{text}: ?driver_memory= is for a local session (spark://local[N]); a "
                "cluster's or Spark Connect server's memory is set where it is started"
            )
        if not re.fullmatch(r"\d+[kmgt]", memory.strip().lower()):
            raise RegistryError(
                f"{text}: ?driver_memory={memory} is not a size; give a number with a unit, "
                "e.g. ?driver_memory=4g or ?driver_memory=512m"
            )
        memory = memory.strip().lower()
    database = _name(options.get("database") or "default", "database", text)
    return Location(
        text,
        "spark",
        master=master,
        # Hive's metastore keeps names in lower case
        database=database.lower(),
        warehouse=Path(warehouse or "spark-warehouse").expanduser().resolve() if local else None,
        driver_memory=(memory or _default_driver_memory()) if local else None,
    )


def connect(
    url: str | Path | Location, *, read_only: bool = True, check: bool = True
) -> BaseBackend:
    """Open the registry at ``url`` (or at a location :func:`parse_location` gave) as an Ibis
    backend.

    With ``check`` (the default) every table and column of the data model must be present
    with a usable type (:func:`myositis.registry.conformance.check_conformance`); a folder's
    values are checked as they load. ``read_only`` opens a DuckDB file for reading only.
    """
    location = url if isinstance(url, Location) else parse_location(url)
    con = open_engine(location, read_only=read_only)
    if check:
        from myositis.registry.conformance import check_conformance

        check_conformance(con, where=location.describe())
    return con


def open_engine(location: Location, *, read_only: bool = True, create: bool = False) -> BaseBackend:
    """The Ibis backend of a location, without checking its tables. ``create`` makes an empty
    DuckDB file, PostgreSQL schema or Spark database where there is none. An OMOP CDM
    location gives the CDM's database with the registry tables as views over it."""
    from myositis.registry.ibis_complexity import install

    install()  # the same SQL, compiled faster (ibis_complexity.py)
    if location.omop:
        from myositis.registry.omop.backend import as_registry

        if create:
            raise RegistryError(
                f"{location.describe()}: an OMOP CDM is read live, never written; to put a "
                "registry's rows into a CDM use: myositis export REGISTRY --format omop --to DIR"
            )
        cdm = open_engine(replace(location, omop=False, mapping=None), read_only=True)
        return as_registry(cdm, location.mapping, location.describe())
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
        con = ibis.duckdb.connect(str(location.path), read_only=read_only and not create)
    except Exception as exc:  # duckdb raises several types for a damaged or locked file
        raise RegistryError(
            f"{location.path} could not be opened as a DuckDB database: {exc}"
        ) from None
    con.raw_sql("SET enable_progress_bar = false")  # DuckDB would draw on the user's terminal
    return con


def _postgres_backend(location: Location, *, create: bool) -> BaseBackend:
    try:
        import ibis
        import psycopg
    except ImportError as exc:
        raise RegistryError(
            f"PostgreSQL support is not installed (no module {exc.name!r}); install it with: "
            "pip install 'myositis-outcomes[postgres]'"
        ) from None
    try:
        con = ibis.postgres.connect(
            host=location.host,
            port=location.port or 5432,
            user=location.user,
            password=location.password,
            database=location.database,
            connect_timeout=10,
            options=f'-c search_path="{location.schema}"',  # quoted: names keep their case
        )
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise RegistryError(
            f"{location.describe()}: cannot connect to PostgreSQL ({reason}); check the host, "
            "port, user, password and database, and that the server is running"
        ) from None
    raw = con.con
    with raw.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (location.schema,))
        exists = cursor.fetchone() is not None
        if not exists and create:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{location.schema}"')
    if not exists and not create:
        con.disconnect()
        raise RegistryError(
            f"{location.describe()}: database {location.database!r} has no schema "
            f"{location.schema!r}; check ?schema=, or put a registry there with: myositis "
            f"registry copy SRC '{location.describe()}'"
        )
    return con


# -- Spark -------------------------------------------------------------------------------------

#: Spark's own log is noise on a command line (a metastore in use logs hundreds of lines of Java
#: stack traces): fatal messages only. Errors reach the user as the exception Spark raises,
#: which this module turns into a message saying what to do.
_LOG4J: Final = """\
rootLogger.level = fatal
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark: %p %c{1}: %m%n
# PySpark's gateway would otherwise announce its own default level on standard error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = fatal
"""


#: Settings of a local session (``spark://local[N]``: this process starts the JVM; a cluster or
#: Spark Connect server keeps its own). Why, measured on the 2-core test machine (4 December
#: 2026, Spark 4.0.5, Java 17, other jobs running: load average 3 to 7), benchmark cohort R1
#: (benchmarks/cohorts/r1_*.yaml) on 100,000 synthetic persons, one query of 16 KB of SQL:
#:
#: - ``spark.sql.adaptive.enabled`` false. Ibis writes an expression read more than once as a
#:   CTE and Spark plans a copy of it at each reference (R1: 9 CTEs, one read 9 times; a
#:   physical plan of 36,604 lines before exchange reuse). Adaptive execution re-plans after
#:   each shuffle stage and each time renders the whole plan as text and as the SQL
#:   listener's plan tree (``AdaptiveSparkPlanExec.onUpdatePlan``; Spark does so even with
#:   its UI off): R1's execution took 205 s, nearly all of it in that rendering (jstack), the
#:   tasks a few seconds; R2's plan text ran out of the 1 GB heap. Without it the plan is
#:   made once, its repeated exchanges reused (514 lines): execution 18 s. Adaptive
#:   execution's gains (coalescing partitions, a join turned into a broadcast) are small on
#:   one machine with few shuffle partitions.
#: - ``spark.sql.shuffle.partitions`` 4: two per core (Spark's 200 are 200 tasks per shuffle
#:   for data that fits one).
#: - not set: ``spark.sql.constraintPropagation.enabled`` (jstack showed the optimiser in
#:   ``UnionBase.validConstraints``; off, R1 ran 64 and 80 s against 74 s on: no clear gain).
#:
#: ``run_cohort`` of R1 in one process, runs in turn (load average 5 to 6.6): these settings
#: 180 s (first run: compile and the JVM's warm-up), then 80, 64 s; Spark's defaults (adaptive
#: execution on) 196 s. Measured phases of R1's query (fresh process, load 5.6): Spark's
#: analysis 7 s, optimisation 13 s, physical planning 5 s, execution 18 s (adaptive
#: execution on: 16, 25, 10 and 205 s); the hand-written query of benchmarks/cohort_sql.py:
#: 9, 9, 2.5 and 48 s. Later, load 2 to 4, fresh processes: R1 92 s first run, 46 s the
#: next; R2 (out of heap before) 106 s first run, 17 cohort periods.
SPARK_LOCAL_SETTINGS: Final = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
}


def _default_driver_memory() -> str:
    """A local session's heap: a quarter of the machine's memory, at least 1g (Spark's own
    default) and at most 8g (a cohort's plan, not its data, is what needs it locally)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): Spark's default
        return "1g"
    return f"{max(1, min(8, total // 4 // 2**30))}g"


def _spark_backend(location: Location, *, create: bool) -> BaseBackend:
    session = _spark_session(location)
    database = location.database or "default"
    try:
        names = {row[0].lower() for row in session.sql("SHOW DATABASES").collect()}
    except Exception as exc:
        raise RegistryError(_spark_failure(location, exc)) from None
    if database not in names:
        if not create:
            raise RegistryError(
                f"{location.describe()}: Spark has no database {database!r} (found: "
                f"{', '.join(sorted(names))}); check ?database=, or put a registry there with: "
                f"myositis registry copy SRC '{location.url}'"
            )
        session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    session.sql(f"USE `{database}`")
    return _spark_ibis_backend().connect(session)


def _spark_session(location: Location) -> Any:
    """The process's Spark session for ``location`` (one JVM per process, as Spark has it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RegistryError(
            f"Spark support is not installed (no module {exc.name!r}); install it with: "
            "pip install 'myositis-outcomes[spark]'"
        ) from None
    assert location.master is not None
    if location.master.startswith("sc://"):
        try:  # a session of its own on the server (its own current database)
            return SparkSession.builder.remote(location.master).create()
        except ImportError as exc:
            reason = " ".join(str(exc).split())[:200]
            raise RegistryError(
                f"{location.describe()}: Spark Connect needs its client libraries ({reason}); "
                "install them with: pip install 'pyspark[connect]'"
            ) from None
        except Exception as exc:
            raise RegistryError(_spark_failure(location, exc)) from None
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        running = SparkSession.builder.getOrCreate()
        _same_session(running, location)
        return running.newSession()  # its own current database; the engine is shared
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise RegistryError(
            f"{location.describe()}: Spark needs Java 17 or later (no 'java' on PATH and no "
            "JAVA_HOME); install a JDK or point JAVA_HOME at one"
        )
    java = _quiet_logging()
    builder = (
        SparkSession.builder.appName("myositis-outcomes")
        .master(location.master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if location.warehouse is not None:
        # Local mode: the tables and their Hive metastore (embedded Derby) in one folder, so a
        # registry written there is found again by the next process.
        warehouse = location.warehouse
        warehouse.mkdir(parents=True, exist_ok=True)
        java += f" -Dderby.system.home={warehouse}"
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse)).config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={warehouse / 'metastore_db'};create=true",
        )
        assert location.driver_memory is not None
        builder = builder.config("spark.driver.memory", location.driver_memory)
        for key, value in SPARK_LOCAL_SETTINGS.items():
            builder = builder.config(key, value)
    builder = builder.config("spark.driver.extraJavaOptions", java).enableHiveSupport()
    try:
        return builder.getOrCreate().newSession()
    except Exception as exc:
        raise RegistryError(_spark_failure(location, exc)) from None


def _quiet_logging() -> str:
    """The Java option that points Spark's logging at :data:`_LOG4J` (none if the file cannot
    be written: then Spark is merely talkative)."""
    log4j = Path(tempfile.gettempdir()) / f"myositis-{getpass.getuser()}-spark-log4j2.properties"
    try:
        if not log4j.exists() or log4j.read_text(encoding="utf-8") != _LOG4J:
            log4j.write_text(_LOG4J, encoding="utf-8")
    except OSError:
        return ""
    return f"-Dlog4j2.configurationFile=file:{log4j}"


def _same_session(running: Any, location: Location) -> None:
    """A process holds one Spark session: refuse to read another master's or warehouse's
    registry through it (Spark would silently use the running one's)."""
    conf = running.sparkContext.getConf()
    master = conf.get("spark.master")
    wanted = location.warehouse
    found = conf.get("spark.sql.warehouse.dir", "")
    found_path = Path(found.removeprefix("file:")).resolve() if found else None
    if master != location.master or (wanted is not None and found_path != wanted):
        raise RegistryError(
            f"{location.describe()}: this process already runs Spark with master {master} "
            f"and warehouse {found_path}; one process holds one Spark session, so open "
            "registries of another master or warehouse in a separate process"
        )


def _spark_failure(location: Location, exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if "Another instance of Derby" in text or "XSDB6" in text or "metastore_db" in text:
        return (
            f"{location.describe()}: the Spark metastore in {location.warehouse} is in use by "
            "another process (its embedded Derby database admits one at a time); wait for it "
            "to finish or use another ?warehouse="
        )
    if "JAVA_GATEWAY_EXITED" in text or "UnsupportedClassVersion" in text:
        return (
            f"{location.describe()}: Spark could not start its Java process; Spark 4 needs "
            f"Java 17 or later (check 'java -version' and JAVA_HOME). Spark said: {text[:300]}"
        )
    return f"{location.describe()}: Spark failed: {text[:500]}"


_SPARK_BACKEND: list[type] = []


def _spark_ibis_backend() -> Any:
    """Ibis's PySpark backend, except that disconnecting leaves the process's Spark session
    running (ibis stops it, which would end every other registry open in the process)."""
    if not _SPARK_BACKEND:
        import ibis
        from ibis.backends.pyspark import Backend

        ibis.load_backend("pyspark")  # registers the backend's options (ibis.options.pyspark)

        class SparkRegistry(Backend):
            def disconnect(self) -> None:
                """Nothing to release: the session is the process's (ends with it)."""

            @property
            def session(self) -> Any:
                """The Spark session of this registry."""
                return self._session

        _SPARK_BACKEND.append(SparkRegistry)
    return _SPARK_BACKEND[0]()


#: Attribute of a connection holding its engine's version (:func:`engine_version`).
_VERSION: Final = "_myositis_engine_version"


def engine_version(con: BaseBackend) -> str:
    """Ibis's ``version`` of the connection's engine (the DuckDB library, the PostgreSQL server,
    the Spark session), asked once per connection: it does not change, and asking costs a query
    and a package-metadata read (1 to 2 ms, as much as a small cohort's checks); "" for an
    engine without one."""
    found = con.__dict__.get(_VERSION)
    if found is None:
        try:
            found = str(con.version)
        except Exception:  # noqa: BLE001 -- an engine without the notion has none
            found = ""
        con.__dict__[_VERSION] = found
    return found


def engine_of(con: BaseBackend) -> dict[str, str]:
    """The engine a connection runs on and its version, as every run's results record them:
    ``{"engine": "duckdb" | "postgres" | "pyspark", "engine_version": ...}`` (Ibis's backend
    ``name`` and :func:`engine_version`)."""
    return {"engine": str(con.name), "engine_version": engine_version(con)}


__all__ = [
    "DATABASE_SUFFIXES",
    "Location",
    "connect",
    "engine_of",
    "engine_version",
    "open_engine",
    "parse_location",
]
