"""The data fingerprint: one SHA-256 over a registry's content, independent of storage, engine
and row order.

Each data table's registry columns are cast to their registry types; each row becomes one text
(every value as DuckDB writes it, a null marked as such, the values separated by a control
character); the table contributes its name, its row count and the sums of the two 64-bit
halves of the MD5 of every row text, a digest of the multiset of rows that needs no sort.
``registry_metadata`` and ``import_log`` are not part of it, nor are the provenance columns
(``PROVENANCE_COLUMNS``: import id, source record, source location): two registries with the
same rows have the same fingerprint whenever, however and from whichever files they were
written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ibis import BaseBackend

from myositis.registry.schema import PROVENANCE_COLUMNS, REGISTRY_TABLES, TABLES

#: The tables whose rows the fingerprint covers (the data, not the registry's own metadata).
DATA_TABLES = tuple(name for name in TABLES if name not in REGISTRY_TABLES)

#: Row count and the sums of the halves of each row text's MD5 (DuckDB SQL).
_ROW_DIGEST = (
    "SELECT count(*), sum(md5_number_upper(t)), sum(md5_number_lower(t)) "
    "FROM (SELECT {text} AS t FROM {source} AS r)"
)


def _row_text(columns: Iterable[str]) -> str:
    # 'N' for a null, 'V' and the value's text otherwise: a null and the text 'NULL' differ.
    values = [
        f"CASE WHEN r.\"{c}\" IS NULL THEN 'N' ELSE 'V' || CAST(r.\"{c}\" AS VARCHAR) END"
        for c in columns
    ]
    return " || chr(31) || ".join(values)


def data_fingerprint(con: BaseBackend) -> str:
    """SHA-256 of the registry's data tables (see the module docstring).

    DuckDB computes it: inside the registry when the registry is DuckDB (the rows never leave
    the engine), otherwise over the rows fetched as Arrow, so every engine gives the same
    fingerprint for the same rows.
    """
    import duckdb
    import ibis
    from ibis.backends.duckdb import Backend as DuckDBBackend

    digest = hashlib.sha256()
    local = None if isinstance(con, DuckDBBackend) else duckdb.connect()
    for name in DATA_TABLES:
        # provenance says where a row came from, not what it holds: left out
        schema = ibis.schema({c: t for c, t in TABLES[name].items() if c not in PROVENANCE_COLUMNS})
        table = con.table(name)
        typed = table.select(*[table[c].cast(t).name(c) for c, t in schema.items()])
        if local is None:
            source = f"({ibis.to_sql(typed, dialect='duckdb')})"
            row = con.raw_sql(_ROW_DIGEST.format(text=_row_text(schema.names), source=source))
        else:
            local.register("rows", typed.to_pyarrow().cast(schema.to_pyarrow()))
            row = local.execute(_ROW_DIGEST.format(text=_row_text(schema.names), source="rows"))
        ((count, upper, lower),) = row.fetchall()
        digest.update(f"{name}\x00{count}\x00{upper or 0}\x00{lower or 0}\x00".encode())
    if local is not None:
        local.close()
    return digest.hexdigest()


__all__ = ["DATA_TABLES", "data_fingerprint"]
