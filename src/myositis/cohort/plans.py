"""Compiled-plan cache: the SQL Ibis compiled for a cohort query, kept so that the same query on
the same engine and the same table schemas is neither built nor compiled again.

Why. Building a cohort's Ibis expression and compiling it to SQL costs far more than running it
(the bundled study's cohort on 100,000 synthetic persons: building 0.2 s and compiling 0.7 to
1.4 s, running 0.2 s on DuckDB), and the result of compiling depends only on

- what is compiled: the caller's *parts* (for a cohort, its canonical hash
  :func:`myositis.cohort.run.cohort_sha256` and what the query returns), never on data;
- the engine: backend name and version (not the connection's current catalog and schema:
  the SQL names the tables as the expression did, unqualified unless it qualified them, and
  the check below resolves them where the connection stands on each use);
- the tables read and their schemas (names, column names and types);
- the software: this package's version and a hash of its source and data files (a change of
  code gives a new key even without a release), Ibis's and sqlglot's versions.

A *plan* is the SQL text, the result's schema and the tables read with their schemas (on a
staged engine also the SQL of each stage, :mod:`myositis.cohort.staging`, and of any further
final query, each with its result's schema: the study builder's head and records). The key
holds the parts, the engine and the software; the tables read are known only once the
expression is built, so a plan found under its key is used only when every table it read
still has the schema it was compiled for (checked on each use: on DuckDB with one catalog
query, elsewhere through ``con.table``):
otherwise it is rebuilt and replaced. Found, it runs as ``con.sql(sql, schema=...)``, an Ibis
table (still Ibis, no driver types), so a caller can keep building on it.

Where. In the process (the last :data:`MEMORY_PLANS` plans) and on disk, one JSON file per key
under ``$MYOSITIS_CACHE_DIR``, else ``$XDG_CACHE_HOME/myositis-outcomes``, else
``~/.cache/myositis-outcomes`` (folder ``plans``), so a second ``myositis cohort run`` or
``study run`` in a new process skips compiling too. ``MYOSITIS_PLAN_CACHE=memory`` keeps
plans in the process only, ``off`` disables the cache. A plan that cannot be written (read-only
home) is simply not kept; an unreadable or foreign file is a miss. Expressions over in-memory
tables (``ibis.memtable``) are never cached: their SQL names a table of this process only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import sqlglot as sg
from ibis import BaseBackend

from myositis.cache import cache_root, keep_json, read_kept, software_digest
from myositis.registry.connect import engine_version
from myositis.registry.keys import person_key_declared

#: Plans kept in the process (least recently used dropped first).
MEMORY_PLANS: Final = 64
#: Engines whose connections get a temporary view of each plan used (see ``_table``).
#: DuckDB only: its views bind late; a PostgreSQL view depends on the tables it reads, so the
#: registry could no longer be replaced (``DROP TABLE``) on that connection.
TEMPORARY_VIEWS: Final = frozenset({"duckdb"})
#: Version of the plan file format (a change makes old files misses). 2: ``more``, the
#: further final queries of a staged run.
FORMAT: Final = 2

_memory: OrderedDict[str, Plan] = OrderedDict()
#: Attribute of a connection holding the table reading the temporary view of each plan's SQL
#: (by SHA-256 of the text): kept on the connection object itself, since Ibis backends compare
#: equal (and hash alike) when they open the same database, so a mapping keyed by connection
#: handed a new connection the tables of a closed one.
_VIEWS: Final = "_myositis_plan_views"


@dataclass(frozen=True)
class Plan:
    """One compiled query: its SQL, its result's schema, the tables it reads with their
    schemas, and whatever the caller keeps with it (JSON values)."""

    sql: str
    schema: list[tuple[str, str]]
    tables: list[tuple[str, str | None, str | None, list[tuple[str, str]]]]
    extra: dict[str, Any]
    #: staged runs (:mod:`myositis.cohort.staging`): each stage's name in the texts and the
    #: query that fills it, in order; ``sql`` reads them
    stages: list[tuple[str, str]] = field(default_factory=list)
    #: staged runs with several final queries (the study builder's head and each kind of
    #: record): the ones after ``sql``, each its SQL and its result's schema
    more: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "sql": self.sql,
            "schema": self.schema,
            "tables": self.tables,
            "extra": self.extra,
            "stages": self.stages,
            "more": self.more,
        }

    @classmethod
    def from_json(cls, data: Any) -> Plan | None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        try:
            return cls(
                sql=str(data["sql"]),
                schema=[(str(n), str(t)) for n, t in data["schema"]],
                tables=[
                    (str(n), c, d, [(str(a), str(b)) for a, b in cols])
                    for n, c, d, cols in data["tables"]
                ],
                extra=dict(data["extra"]),
                stages=[(str(n), str(q)) for n, q in data.get("stages", [])],
                more=[
                    (str(q), [(str(a), str(b)) for a, b in cols])
                    for q, cols in data.get("more", [])
                ],
            )
        except (KeyError, TypeError, ValueError):
            return None


@functools.cache
def software() -> str:
    """This package's version, a hash of its source and data files, Ibis's and sqlglot's
    versions: what the SQL of a plan was made by."""
    import sqlglot

    return f"{software_digest()} ibis {ibis.__version__} sqlglot {sqlglot.__version__}"


def cache_dir() -> Path | None:
    """Folder of the plan files (module docstring), or None when the disk cache is off."""
    if os.environ.get("MYOSITIS_PLAN_CACHE", "").lower() in {"off", "memory"}:
        return None
    return cache_root() / "plans"


def _engine(con: BaseBackend) -> dict[str, str]:
    # no query: asking the current catalog and schema took two (2 ms of a 77 ms warm study
    # cohort on 100,000 persons), and the validity check resolves the tables anyway
    return {
        "backend": str(con.name),
        "class": type(con).__qualname__,
        "version": engine_version(con),
    }


def plan_key(con: BaseBackend, parts: Mapping[str, str]) -> str:
    """The key of a plan: SHA-256 of the parts, the engine, the software and whether the
    registry declares its person key (the first attrition line is compiled on it; JSON)."""
    text = json.dumps(
        {
            "parts": dict(parts),
            "engine": _engine(con),
            "software": software(),
            "person_key": person_key_declared(con),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _columns(schema: Any) -> list[tuple[str, str]]:
    return [(str(name), str(dtype)) for name, dtype in schema.items()]


def _tables(
    *exprs: ir.Table,
) -> list[tuple[str, str | None, str | None, list[tuple[str, str]]]]:
    found = {}
    for node in (n for e in exprs for n in e.op().find(ops.DatabaseTable)):
        namespace = node.namespace
        key = (node.name, namespace.catalog, namespace.database)
        found[key] = (*key, _columns(node.schema))
    return [found[k] for k in sorted(found, key=str)]


def _still_valid(con: BaseBackend, plan: Plan) -> bool:
    """Whether every table the plan reads still has the schema it was compiled for."""
    unqualified = [name for name, catalog, database, _ in plan.tables if not (catalog or database)]
    listed = _listed_schemas(con, unqualified)
    for name, catalog, database, columns in plan.tables:
        where: Any = (catalog, database) if catalog else database
        if not where and name in listed:
            if listed[name] != columns:
                return False
            continue
        try:
            table = con.table(name, database=where) if where else con.table(name)
        except Exception:  # noqa: BLE001 -- a table gone or unreadable: compile afresh
            return False
        if _columns(table.schema()) != columns:
            return False
    return True


def _listed_schemas(con: BaseBackend, names: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The schemas of the tables and views ``names`` as ``con.table(name)`` would see them, from
    ONE catalog query, on DuckDB; empty elsewhere (each table is then described on its own).

    Why: a warm run checks every table its plan reads; described one by one (``DESCRIBE`` and
    each type parsed by sqlglot) that took 13 to 18 ms of R1's 70 ms on 100,000 persons. Names
    resolve as DuckDB resolves an unqualified name: a temporary table or view first, then the
    current database and schema."""
    run = getattr(con, "con", None)
    if con.name != "duckdb" or not names or run is None:
        return {}
    marks = ", ".join("?" for _ in names)
    # duckdb_columns(), not the information_schema view over it: 1.7 against 2.7 ms; ordered
    # here, not by the engine: 1.3 against 1.9 ms
    rows = run.execute(
        "SELECT database_name = 'temp', table_name, column_index, column_name, data_type, "
        "is_nullable FROM duckdb_columns() WHERE table_name IN (" + marks + ") AND "
        "(database_name = 'temp' OR (database_name = current_database() "
        "AND schema_name = current_schema()))",
        names,
    ).fetchall()
    found: dict[tuple[bool, str], list[tuple[str, str]]] = {}
    for temporary, table, _, column, dtype, nullable in sorted(rows, key=lambda r: r[:3]):
        found.setdefault((temporary, table), []).append(
            (column, _ibis_type(con.compiler.type_mapper, dtype, bool(nullable)))
        )
    return {table: columns for (_, table), columns in found.items()}  # temporary ones last: win


@functools.lru_cache(maxsize=1024)
def _ibis_type(mapper: Any, dtype: str, nullable: bool) -> str:
    """Ibis's type of the engine's type name ``dtype`` (``mapper``: the backend's type mapper),
    as ``get_schema`` reads it; parsed by sqlglot, so worth keeping."""
    return str(mapper.from_string(dtype, nullable=nullable))


def _read(key: str) -> Plan | None:
    folder = cache_dir()
    return None if folder is None else Plan.from_json(read_kept(folder, key))


def _write(key: str, plan: Plan) -> None:
    folder = cache_dir()
    if folder is not None:
        keep_json(folder, key, plan.as_json())


def _remember(key: str, plan: Plan) -> None:
    _memory[key] = plan
    _memory.move_to_end(key)
    while len(_memory) > MEMORY_PLANS:
        _memory.popitem(last=False)


def _table(con: BaseBackend, plan: Plan) -> ir.Table:
    """The plan's query as an Ibis table on ``con``. Ibis parses the text of ``con.sql`` with
    sqlglot on every execution (0.3 to 0.4 s for the bundled study's cohort, more than running
    it), so on DuckDB (:data:`TEMPORARY_VIEWS`) the text becomes one, once per connection,
    and later runs read the view's table, kept with it: nothing is compiled, parsed or
    described again. The view is the connection's own (``CREATE TEMPORARY VIEW``, standard
    SQL around the text Ibis compiled) and goes with it."""

    def query() -> ir.Table:
        # built only when needed: binding the text costs as much as a small query
        return con.sql(plan.sql, schema=ibis.schema(plan.schema))

    run = getattr(con, "_safe_raw_sql", None)
    if con.name not in TEMPORARY_VIEWS or run is None:
        return query()
    views: dict[str, ir.Table] = con.__dict__.setdefault(_VIEWS, {})
    digest = hashlib.sha256(plan.sql.encode("utf-8")).hexdigest()[:24]
    found = views.get(digest)
    if found is not None:
        # the view's table, kept: reading its schema again binds the whole text (0.1 s for
        # the study builder's 83 KB on 100,000 persons, as long as running it on DuckDB)
        return found
    name = f"_myositis_plan_{digest}"
    wanted = ibis.schema(plan.schema)
    # typed: the view's table has the plan's schema without describing the view, which binds
    # the whole text again (0.05 s for the study builder's 83 KB on 100,000 persons)
    view = sg.to_identifier(name, quoted=True).sql(con.dialect)
    try:
        with run(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS {typed(con, plan.sql, wanted)}"):
            pass
    except Exception:  # noqa: BLE001 -- no view made: run the text itself
        return query()
    views[digest] = ops.DatabaseTable(
        name, schema=wanted, source=con, namespace=ops.Namespace()
    ).to_expr()
    return views[digest]


def typed(con: BaseBackend, sql: str, schema: Any) -> str:
    """``SELECT`` of each column of the query ``sql`` cast to its Ibis type in ``schema``, in
    ``con``'s dialect: the engine's types where Ibis's differ (a date plus days is a timestamp
    to DuckDB, a date to Ibis) become Ibis's, and a cast to a column's own type costs
    nothing. A plan's DuckDB view and a staged table (:mod:`myositis.cohort.staging`) are
    made of it, so their Ibis tables have the expression's schema without asking the
    engine."""
    mapper = con.compiler.type_mapper

    def quoted(column: str) -> str:
        return sg.to_identifier(column, quoted=True).sql(con.dialect)

    columns = ", ".join(
        f"CAST({quoted(n)} AS {mapper.from_ibis(t).sql(con.dialect)}) AS {quoted(n)}"
        for n, t in schema.items()
    )
    return f"SELECT {columns} FROM ({sql}) AS typed"


def planned(
    con: BaseBackend,
    parts: Mapping[str, str],
    build: Callable[[], tuple[ir.Table, dict[str, Any]]],
) -> tuple[ir.Table, dict[str, Any], str]:
    """The query of ``parts`` on ``con`` as an Ibis table, the caller's extra values, and where
    it came from: ``memory`` or ``disk`` (a plan found and still valid), ``compiled`` (built
    with ``build``, compiled, kept) or ``uncached`` (built; not cacheable, or the cache is
    off). ``build`` returns the expression and JSON values to keep with it."""
    key = plan_key(con, parts) if enabled() else None
    found = lookup(con, key) if key else None
    if found is not None:
        return _table(con, found[0]), found[0].extra, found[1]
    expr, extra = build()
    if key is None or not cacheable(expr):
        return expr, extra, "uncached"
    plan = plan_of(expr, str(con.compile(expr)), extra)
    keep(key, plan)
    return _table(con, plan), extra, "compiled"


def enabled() -> bool:
    """Whether plans are kept at all (``MYOSITIS_PLAN_CACHE`` is not ``off``)."""
    return os.environ.get("MYOSITIS_PLAN_CACHE", "").lower() != "off"


def lookup(con: BaseBackend, key: str) -> tuple[Plan, str] | None:
    """The plan kept under ``key`` and where it was found (``memory`` or ``disk``), when every
    table it reads still has the schema it was compiled for; None otherwise."""
    for source, plan in (("memory", _memory.get(key)), ("disk", None)):
        if source == "disk":
            plan = _read(key)
        if plan is not None and _still_valid(con, plan):
            _remember(key, plan)
            return plan, source
    return None


def cacheable(expr: ir.Table) -> bool:
    """Whether ``expr``'s SQL can serve another run: it reads no in-memory table (named for
    this process only) and no SQL text of its own."""
    return not (expr.op().find(ops.InMemoryTable) or expr.op().find(ops.SQLQueryResult))


def plan_of(
    expr: ir.Table,
    sql: str,
    extra: dict[str, Any],
    stages: list[tuple[str, str]] | None = None,
    more: Sequence[tuple[ir.Table, str]] = (),
) -> Plan:
    """The plan of ``expr`` compiled to ``sql`` (and ``stages``, for a staged run; ``more``:
    further final queries, each an expression and its SQL): each result's schema and the
    tables they read."""
    return Plan(
        sql,
        _columns(expr.schema()),
        _tables(expr, *(e for e, _ in more)),
        extra,
        stages or [],
        [(text, _columns(e.schema())) for e, text in more],
    )


def keep(key: str, plan: Plan) -> None:
    """Keep ``plan`` under ``key``: in the process and on disk (module docstring)."""
    _remember(key, plan)
    _write(key, plan)


def clear_memory() -> None:
    """Forget the plans kept in this process (the files stay)."""
    _memory.clear()


__all__ = [
    "Plan",
    "cache_dir",
    "cacheable",
    "clear_memory",
    "enabled",
    "keep",
    "lookup",
    "plan_key",
    "plan_of",
    "planned",
    "software",
    "typed",
]
