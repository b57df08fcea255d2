"""The engines of the conformance suite, reached as users reach them.

Each engine is a registry location, a URL: the bundled registry (examples/min2022, SYNTHETIC)
is put there with ``myositis registry copy`` run through the command line's entry point, and
opened with :func:`myositis.registry.connect` (fixtures in conftest.py). Ad-hoc tables (the
instruments' examples) are written into the same backend by the copy's own writers
(:func:`myositis.registry.copy.write_table`). Nothing here builds a connection.

- DuckDB: a file in pytest's temporary folder.
- PostgreSQL: ``MYOSITIS_TEST_POSTGRES``, a ``postgresql://`` URL without ``?schema=``
  (default: the test machines' server, ``postgresql://postgres@127.0.0.1:5432/test``); the
  session works in schemas of its own, ``engines_<pid>...``, dropped at the end.
- Spark: ``spark://local[2]`` with its warehouse (tables and Derby metastore) in pytest's
  temporary folder; one Spark session for the whole test session.

Without PostgreSQL or Spark (PySpark, Java) the tests fail in CI and are skipped elsewhere
(``tests/optional_services.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from ibis import BaseBackend

from myositis.cli import main
from myositis.errors import RegistryError
from myositis.registry.connect import connect, open_engine, parse_location
from myositis.registry.copy import STAGING, write_table
from optional_services import unavailable

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"
POSTGRES = os.environ.get("MYOSITIS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Engine:
    """One engine: its name, where the bundled registry was copied, that registry open as a
    user opens it, and a backend of the same engine for ad-hoc tables."""

    name: str
    url: str
    con: BaseBackend
    base: str  # how to name another location on this engine: base.format(name=...)
    scratch: BaseBackend

    def load(self, name: str, table: pa.Table) -> None:
        """Create table ``name`` from ``table`` in ``scratch`` (replacing one of that name)."""
        write_table(self.scratch, name, table)

    def location(self, name: str) -> str:
        """The URL of another registry location on this engine (e.g. a copy's destination)."""
        return self.base.format(name=name)


def exported_cdm(registry: Path, folder: Path) -> tuple[Path, Path]:
    """``registry`` exported as OMOP CDM CSV files (``myositis export --format omop``) and
    loaded into ``folder/cdm.duckdb`` as a site would load them: the DuckDB file and the
    mapping the export wrote (open with ``omop+duckdb://FILE?mapping=MAPPING``)."""
    run_cli("export", str(registry), "--format", "omop", "--to", str(folder / "cdm"))
    cdm = folder / "cdm.duckdb"
    with duckdb.connect(str(cdm)) as raw:
        for csv in sorted((folder / "cdm").glob("*.csv")):
            raw.execute(f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv('{csv}', header=true)")
    return cdm, folder / "cdm" / "local_concepts.yaml"


def run_cli(*args: str, code: int = 0) -> str:
    """Run ``myositis ARGS`` through the entry point; its output (stdout and stderr)."""
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(out),
        _argv(["myositis", *args]),
    ):
        try:
            main()
            status = 0
        except SystemExit as exc:
            status = int(exc.code or 0)
    text = out.getvalue()
    assert status == code, f"myositis {' '.join(args)} -> {status}:\n{text}"
    assert "Traceback" not in text
    return text


@contextlib.contextmanager
def _argv(argv: list[str]):  # type: ignore[no-untyped-def]
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


def _copied(name: str, base: str) -> Engine:
    url = base.format(name="min2022")
    run_cli("registry", "copy", str(MIN2022), url, "--quiet")
    scratch = open_engine(parse_location(base.format(name="scratch")), create=True)
    return Engine(name, url, connect(url), base, scratch)


def duckdb_engine(folder: Path) -> Engine:
    return _copied("duckdb", str(folder / "{name}.duckdb"))


def postgres_engine() -> Engine:
    base = f"{POSTGRES}?schema=engines_{os.getpid()}_{{name}}"
    try:  # reachable? (the registry's schema is made by the copy)
        open_engine(parse_location(f"{POSTGRES}?schema=public")).disconnect()
    except RegistryError as exc:
        unavailable("PostgreSQL", str(exc))
    return _copied("postgres", base)


def drop_postgres_schemas(engine: Engine) -> None:
    """Drop every schema this session made (the registry's, copies', staging ones)."""
    prefix = engine.location("").split("schema=", 1)[1]
    with engine.con.raw_sql(  # type: ignore[attr-defined]
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", params=(f"{prefix}%",)
    ) as cursor:
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        engine.con.raw_sql(f'DROP SCHEMA "{name}" CASCADE').close()  # type: ignore[attr-defined]
    engine.con.disconnect()


def spark_engine(warehouse: Path) -> Engine:
    base = f"spark://local[2]?warehouse={warehouse}&database={{name}}"
    try:  # Java and PySpark present? (starts the test session's one Spark session)
        open_engine(parse_location(base.format(name="default")))
    except RegistryError as exc:
        unavailable("Spark", str(exc))
    return _copied("spark", base)


def staging_left(engine: Engine, url: str) -> list[str]:
    """Whatever a copy to ``url`` staged and left behind (a failed copy must leave none)."""
    location = parse_location(url)
    if location.engine == "duckdb":
        assert location.path is not None
        partial = location.path.with_name(f".{location.path.name}.partial")
        return [str(p) for p in (partial, Path(f"{partial}.wal")) if p.exists()]
    if location.engine == "postgres":
        with engine.con.raw_sql(  # type: ignore[attr-defined]
            "SELECT nspname FROM pg_namespace WHERE nspname = %s",
            params=(f"{location.schema}{STAGING}",),
        ) as cursor:
            return [row[0] for row in cursor.fetchall()]
    session = engine.con.session  # type: ignore[attr-defined]
    if not session.catalog.databaseExists(location.database):
        return []
    tables = session.catalog.listTables(location.database)
    return [t.name for t in tables if t.name.endswith((STAGING, "__myositis_old"))]


def exists(engine: Engine, url: str) -> bool:
    """Whether there is anything at ``url`` (a file, a schema, a database)."""
    location = parse_location(url)
    if location.engine == "duckdb":
        assert location.path is not None
        return location.path.exists()
    if location.engine == "postgres":
        with engine.con.raw_sql(  # type: ignore[attr-defined]
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", params=(location.schema,)
        ) as cursor:
            return bool(cursor.fetchall())
    return bool(engine.con.session.catalog.databaseExists(location.database))  # type: ignore[attr-defined]
