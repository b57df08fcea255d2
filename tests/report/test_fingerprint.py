"""The data fingerprint hashes content: not storage, not row order, but every value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from myositis.registry import append_arrow, arrow_schema, create_registry
from myositis.registry.fingerprint import data_fingerprint

PEOPLE = [
    {"person_id": 1, "site": "a", "sex": "F", "birth_date": dt.date(1970, 6, 15)},
    {"person_id": 2, "site": "a", "sex": "M", "birth_year": 1981},
    {"person_id": 3, "site": "b", "sex": "F", "race": "NULL"},  # the text, not a missing value
]


def _fingerprint(path: Path, people: list[dict[str, Any]]) -> str:
    con = create_registry(path)
    # registry_metadata is content too: its created_at would tell registries made a second
    # apart from each other, so these test registries carry none
    con.raw_sql("DELETE FROM registry_metadata WHERE key = 'created_at'")
    schema = arrow_schema("person")
    rows = [{f.name: p.get(f.name) for f in schema} for p in people]
    append_arrow(con, "person", pa.Table.from_pylist(rows, schema=schema))
    return data_fingerprint(con)


def test_row_order_does_not_matter_but_every_value_does(tmp_path: Path) -> None:
    base = _fingerprint(tmp_path / "a.duckdb", PEOPLE)
    assert len(base) == 64
    assert _fingerprint(tmp_path / "b.duckdb", PEOPLE[::-1]) == base
    changed = [*PEOPLE[:2], PEOPLE[2] | {"sex": "M"}]
    assert _fingerprint(tmp_path / "c.duckdb", changed) != base
    missing = [*PEOPLE[:2], PEOPLE[2] | {"race": None}]  # null is not the text 'NULL'
    assert _fingerprint(tmp_path / "d.duckdb", missing) != base
    twice = [*PEOPLE, PEOPLE[0]]  # a duplicated row is a different registry
    assert _fingerprint(tmp_path / "e.duckdb", twice) != base
