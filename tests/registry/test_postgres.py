"""PostgreSQL registries a hospital makes itself, and a replacement PostgreSQL refuses.

A registry not written by this software (tables made by hand with other, compatible column
types, no recorded fingerprint) gets the same fingerprint as the CSV folder its rows came
from, computed inside PostgreSQL. A ``registry copy --replace`` onto tables that a view of the
hospital depends on fails at publication, inside its one transaction: the registry is left as
it was and nothing staged remains. Needs the PostgreSQL server (fails in CI, skipped elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from myositis.errors import RegistryError
from myositis.registry.connect import connect, open_engine, parse_location
from myositis.registry.copy import PERSON_TABLES, STAGING, copy_registry
from myositis.registry.fingerprint import data_fingerprint, verified_fingerprint
from myositis.registry.schema import TABLES
from myositis.registry.store import read_metadata
from optional_services import unavailable

pytestmark = pytest.mark.postgres

MIN2022 = Path(__file__).resolve().parents[2] / "examples" / "min2022"
SERVER = os.environ.get("MYOSITIS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PREFIX = f"engines_{os.getpid()}_reg"


def _sql(con: Any, sql: str) -> list[tuple[Any, ...]]:
    with con.raw_sql(sql) as cursor:
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    try:
        con = open_engine(parse_location(f"{SERVER}?schema=public"))
    except RegistryError as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        yield con
    finally:
        mine = f"SELECT nspname FROM pg_namespace WHERE nspname LIKE '{PREFIX}%'"
        for (name,) in _sql(con, mine):
            _sql(con, f'DROP SCHEMA "{name}" CASCADE')
        con.disconnect()


def test_hand_made_registry_gets_the_folder_fingerprint(admin: Any) -> None:
    source = f"{PREFIX}_src"
    copy_registry(MIN2022, f"{SERVER}?schema={source}")
    hand = f"{PREFIX}_hand"
    _sql(admin, f'CREATE SCHEMA "{hand}"')
    # other integer widths, timestamps for dates, numeric for floats, varchar for text
    casts = {
        "person": {"person_id": "integer", "site": "varchar(60)", "birth_date": "timestamp"},
        "diagnosis": {"person_id": "integer", "diagnosis_date": "timestamp"},
        "assessment": {"value": "numeric"},
        "laboratory": {"value": "numeric", "uln": "numeric"},
    }
    for (name,) in _sql(
        admin, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{source}'"
    ):
        cast = casts.get(name, {})
        columns = ", ".join(
            f'"{c}"::{cast[c]} AS "{c}"' if c in cast else f'"{c}"' for c in TABLES[name].names
        )
        where = " WHERE key NOT LIKE 'data_fingerprint%'" if name == "registry_metadata" else ""
        _sql(
            admin,
            f'CREATE TABLE "{hand}"."{name}" AS SELECT {columns} FROM "{source}"."{name}"{where}',
        )
    con = connect(f"{SERVER}?schema={hand}")
    assert con.table("person").schema()["birth_date"].is_timestamp()
    found = verified_fingerprint(con, read_metadata(con))
    assert found.method == "computed"
    assert found.value == data_fingerprint(connect(MIN2022))
    con.disconnect()


def test_a_replacement_postgres_refuses_changes_nothing(admin: Any) -> None:
    schema = f"{PREFIX}_viewed"
    url = f"{SERVER}?schema={schema}"
    copy_registry(MIN2022, url)
    before = read_metadata(connect(url))
    women = f"SELECT * FROM \"{schema}\".person WHERE sex = 'F'"
    _sql(admin, f'CREATE VIEW "{schema}".women AS {women}')
    with pytest.raises(RegistryError) as info:
        copy_registry(MIN2022, url, replace_existing=True)
    assert "could not replace the registry's tables" in str(info.value)
    assert "depend" in str(info.value) and "nothing was changed" in str(info.value)
    assert read_metadata(connect(url)) == before
    staged = f"{schema}{STAGING}"
    assert _sql(admin, f"SELECT 1 FROM pg_namespace WHERE nspname = '{staged}'") == []


def test_a_copy_leaves_planner_statistics(admin: Any) -> None:
    # PostgreSQL's planner reads pg_class.reltuples (-1: never analysed, since PostgreSQL 14)
    schema = f"{PREFIX}_analysed"
    copy_registry(MIN2022, f"{SERVER}?schema={schema}")
    rows = _sql(
        admin,
        "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = "
        f"c.relnamespace WHERE n.nspname = '{schema}' AND c.relname = 'person'",
    )
    persons = len((MIN2022 / "person.csv").read_text().strip().splitlines()) - 1
    assert rows == [("person", float(persons))]


def test_a_copy_indexes_every_table_on_person_id(admin: Any) -> None:
    # as the OMOP CDM's DDL does: a cohort reads a few persons' records through the index
    schema = f"{PREFIX}_indexed"
    copy_registry(MIN2022, f"{SERVER}?schema={schema}")
    rows = _sql(
        admin,
        f"SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = '{schema}' "
        "ORDER BY tablename",
    )
    assert [table for table, _ in rows] == sorted(PERSON_TABLES)
    assert all(definition.endswith("USING btree (person_id)") for _, definition in rows)
    # a copy replaced keeps one index per table
    copy_registry(MIN2022, f"{SERVER}?schema={schema}", replace_existing=True)
    assert len(_sql(admin, f"SELECT 1 FROM pg_indexes WHERE schemaname = '{schema}'")) == len(
        PERSON_TABLES
    )
