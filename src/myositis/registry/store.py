"""Registry storage in DuckDB: create a registry file, append Arrow tables to any registry,
read and write its metadata.

Writers (the synthetic generator, importers, ``registry copy``) produce Arrow tables of the
registry schema (:func:`arrow_schema`) and append them here; the DuckDB specifics of writing
stay in this module. Registries are opened with :func:`myositis.registry.connect.connect`.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Final

import duckdb
import ibis
import pyarrow as pa
from ibis import BaseBackend
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.backends.sql import SQLBackend

from myositis.errors import RegistryError
from myositis.registry.schema import PROVENANCE_COLUMNS, SCHEMA_VERSION, TABLES

#: Suffixes accepted for a registry database file (DuckDB).
DATABASE_SUFFIXES: Final = (".duckdb", ".db")


def create_registry(path: str | Path, *, overwrite: bool = False) -> BaseBackend:
    """Create an empty DuckDB registry with every table of ``TABLES``.

    Writes ``registry_metadata`` rows ``schema_version`` and ``created_at``. An existing file is
    an error unless ``overwrite`` is true (then it is replaced).
    """
    target = Path(path)
    if target.exists():
        if not overwrite:
            raise RegistryError(
                f"{target} already exists; choose another path or pass overwrite "
                "(--overwrite) to replace it"
            )
        target.unlink()
        Path(f"{target}.wal").unlink(missing_ok=True)
    if target.suffix not in DATABASE_SUFFIXES:
        raise RegistryError(
            f"{target}: a registry database file must end in {' or '.join(DATABASE_SUFFIXES)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(str(target))
    for name, schema in TABLES.items():
        con.create_table(name, schema=schema)
    write_metadata(
        con,
        {
            "schema_version": SCHEMA_VERSION,
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return con


def write_metadata(con: BaseBackend, values: dict[str, str]) -> None:
    """Append key/value rows to ``registry_metadata``."""
    table = pa.table(
        {"key": list(values), "value": [str(v) for v in values.values()]},
        schema=TABLES["registry_metadata"].to_pyarrow(),
    )
    append_arrow(con, "registry_metadata", table)


def read_metadata(con: BaseBackend) -> dict[str, str]:
    """The ``registry_metadata`` table as a dictionary (a later key wins)."""
    rows = con.table("registry_metadata").to_pyarrow().to_pylist()
    return {r["key"]: r["value"] for r in rows}


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema a writer must produce for one registry table."""
    _known(table_name)
    return TABLES[table_name].to_pyarrow()


def append_arrow(con: BaseBackend, table_name: str, arrow_table: pa.Table) -> None:
    """Append an Arrow table to a registry table, conforming it to the registry schema.

    Columns are taken by name (extra columns are an error, so nothing is dropped silently),
    missing columns are an error (except the provenance columns, null when left out), and
    each column is cast safely to the registry type (a lossy cast raises
    :class:`RegistryError` naming the column).
    """
    _known(table_name)
    if not isinstance(con, SQLBackend):
        raise RegistryError(f"cannot append to a {type(con).__name__} backend")
    target = TABLES[table_name].to_pyarrow()
    names = set(arrow_table.column_names)
    for name in PROVENANCE_COLUMNS:  # provenance is the importer's: others may leave it out
        if name in target.names and name not in names:
            field = target.field(name)
            arrow_table = arrow_table.append_column(field, pa.nulls(len(arrow_table), field.type))
            names.add(name)
    missing = [f.name for f in target if f.name not in names]
    extra = sorted(names - set(target.names))
    if missing or extra:
        raise RegistryError(
            f"cannot append to '{table_name}': missing columns {missing}, unknown columns "
            f"{extra}; a writer must produce exactly the columns {target.names}"
        )
    columns = []
    for field in target:
        column = arrow_table.column(field.name)
        try:
            columns.append(column.cast(field.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise RegistryError(
                f"cannot append to '{table_name}': column '{field.name}' of type {column.type} "
                f"does not convert to {field.type} ({exc})"
            ) from None
    conformed = pa.Table.from_arrays(columns, schema=target)
    if isinstance(con, DuckDBBackend):
        append_duckdb(con, table_name, conformed)
    else:
        con.insert(table_name, conformed)


def append_duckdb(con: DuckDBBackend, table_name: str, table: pa.Table) -> None:
    """Insert an Arrow table into a DuckDB table of the same columns."""
    # DuckDB-specific: ibis 12's insert registers each Arrow table as a view and, under
    # sqlglot 30, fails to drop it, so every appended batch stayed in memory. Register,
    # insert and unregister explicitly instead.
    view = f"__append_{table_name}"
    raw = con.con
    raw.register(view, table)
    try:
        # by name: a migrated table may hold its columns in another order
        raw.execute(f'INSERT INTO "{table_name}" BY NAME SELECT * FROM "{view}"')
    except duckdb.ConstraintException as exc:  # the declared person key (registry/keys.py)
        said = str(exc).removeprefix("Constraint Error: ").rstrip(".")
        raise RegistryError(
            f"cannot append to '{table_name}': {said}; person_id is the key of 'person': each "
            "person has one row, with a person_id no other row holds; give the new persons ids "
            "not yet in the registry, and leave out persons already in it"
        ) from None
    finally:
        raw.unregister(view)


def _known(table_name: str) -> None:
    if table_name not in TABLES:
        raise RegistryError(f"unknown registry table '{table_name}'; tables: {', '.join(TABLES)}")


__all__ = [
    "DATABASE_SUFFIXES",
    "append_arrow",
    "append_duckdb",
    "arrow_schema",
    "create_registry",
    "read_metadata",
    "write_metadata",
]
