"""The person table's key, declared in the engine where the registry is ours to declare it.

Integrity rule 1 (docs/data-model.md, "Integrity"): ``person_id`` names one row of
``person``. A DuckDB registry file made by this software (``registry synth``, ``myositis
import``) declares it as the table's PRIMARY KEY once its rows are in. DuckDB itself then
refuses a second row of a person, and a cohort's first attrition line, the persons in the
registry, may count the table's rows instead of its distinct ``person_id`` s: the same number,
without hashing every id (R1 on 5 million persons: 355 against 620 ms, docs/benchmarks.md).

Elsewhere nothing is declared and the persons are counted distinct: a CSV folder (read into
memory; a repeated person is named by the integrity check), PostgreSQL and Spark copies, an
OMOP database read through the project's views, and DuckDB files written before this version.
"""

from __future__ import annotations

import weakref
from typing import Any, Final

from ibis import BaseBackend

from myositis.registry.omop.backend import is_omop

PERSON_KEY: Final = "person_id"

#: id(connection) -> whether its ``person`` has the key declared; read once per connection.
_declared: dict[int, bool] = {}


def declare_person_key(con: BaseBackend) -> bool:
    """Declare ``person_id`` the primary key of the DuckDB registry's ``person`` table, as its
    writers do once their rows are in (``registry synth``, ``myositis import``); DuckDB then
    refuses a missing or repeated ``person_id`` in any later write. Returns whether the key is
    declared: not when the rows already miss or repeat a ``person_id`` (the table is left as
    it is, and the integrity check names those rows), on another engine or on an OMOP CDM
    (read, never written)."""
    import duckdb

    run = _duckdb(con)
    if run is None:
        return False
    _declared.pop(id(con), None)
    if _read(con):
        return True
    try:
        run.execute(f'ALTER TABLE person ADD PRIMARY KEY ("{PERSON_KEY}")')
    except duckdb.ConstraintException:
        return False
    return True


def person_key_declared(con: BaseBackend) -> bool:
    """Whether the ``person`` table that ``con.table("person")`` reads has ``person_id`` as its
    declared primary key, so that its rows are its persons (DuckDB; False on other engines).

    A temporary table or view named ``person`` hides the database's table, as DuckDB resolves
    an unqualified name, and has no key. Read once per connection: a ``person`` table replaced
    while a connection is open is seen by the next connection."""
    key = id(con)
    if key not in _declared:
        _declared[key] = _read(con)
        weakref.finalize(con, _declared.pop, key, None)
    return _declared[key]


def _duckdb(con: BaseBackend) -> Any:
    """The DuckDB connection of a DuckDB registry, or None: another engine, or an OMOP CDM
    (its person is read through the registry's view of it, which holds no key, and the CDM is
    never written)."""
    run = getattr(con, "con", None)
    return None if con.name != "duckdb" or is_omop(con) else run


def _read(con: BaseBackend) -> bool:
    run = _duckdb(con)
    if run is None:
        return False
    ((declared, hiding),) = run.execute(
        "SELECT "
        "(SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'person' "
        "AND constraint_type = 'PRIMARY KEY' AND constraint_column_names = [?] "
        "AND database_name = current_database() AND schema_name = current_schema()), "
        "(SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'person') "
        "+ (SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'person')",
        [PERSON_KEY],
    ).fetchall()  # all: DuckDB 2 keeps a half-read result open on the connection
    return declared > 0 and hiding == 0


__all__ = ["PERSON_KEY", "declare_person_key", "person_key_declared"]
