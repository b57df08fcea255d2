"""``results.json``: every number of the report, machine-readable, with its provenance.

Provenance: ``spec_sha256`` (the validated specification's canonical hash), ``data_fingerprint``
(SHA-256 over the registry tables' content: each table's name, row count and an
order-independent digest of its rows, see :func:`data_fingerprint`), ``software_version``,
``generated_at`` (UTC) and ``synthetic`` (from ``registry_metadata``).

The results hold exact counts and a per-patient listing, and say they are for local use only.
What may leave a site is the per-site aggregate packages (:mod:`myositis.study.site_packages`),
whose suppression also hides the complementary cells; a suppressed copy of these results is
deliberately not made, because their percentages, proportions, intervals, rates, cumulative
counts and risk tables would give back the counts it hid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis import BaseBackend
from ibis.backends.duckdb import Backend as DuckDBBackend

from myositis.registry.schema import TABLES


def data_fingerprint(con: BaseBackend) -> str:
    """SHA-256 of the registry's content, independent of storage, engine and row order.

    Each table's registry columns are cast to their registry types; each row becomes one text
    (every value as DuckDB writes it, a null marked as such, the values separated by a control
    character); the table contributes its name, its row count and the sums of the two 64-bit
    halves of the MD5 of every row text, a digest of the multiset of rows that needs no sort.
    DuckDB computes it: inside the registry when the registry is DuckDB (the rows never leave
    the engine, so memory stays bounded), otherwise over the rows fetched as Arrow (PostgreSQL,
    Spark), so every engine gives the same fingerprint for the same rows.
    """
    digest = hashlib.sha256()
    local = None if isinstance(con, DuckDBBackend) else duckdb.connect()
    for name, schema in TABLES.items():
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


def json_ready(value: Any) -> Any:
    """Plain JSON: NaN/inf -> None, dates -> ISO text, tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write results as indented, standard JSON (no NaN)."""
    path.write_text(
        json.dumps(json_ready(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    return path


def iter_numbers(node: Any) -> Iterable[float]:
    """Every number in a results tree (used by tests: the report shows them)."""
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield float(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from iter_numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_numbers(value)


__all__ = [
    "data_fingerprint",
    "iter_numbers",
    "json_ready",
    "write_json",
]
