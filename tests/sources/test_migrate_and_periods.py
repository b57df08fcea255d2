"""Data model v2: a version-1 registry is refused with what to do, and migrated (laboratory
values to the canonical unit, races listed); observation periods are derived by the documented
rule; units convert by the UCUM factors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from myositis.codes.units import ucum, unit_factor
from myositis.errors import RegistryError
from myositis.registry import connect
from myositis.registry.keys import person_key_declared
from myositis.registry.migrate import V1_TABLES, migrate
from myositis.registry.observation import observation_periods
from myositis.registry.schema import SCHEMA_VERSION, TABLES
from registry.broken import person, registry


def _v1(path: Path, lab_unit: str = "ukat/L") -> Path:
    con = ibis.duckdb.connect(str(path))
    for name, schema in V1_TABLES.items():
        con.create_table(name, schema=schema)
    raw = con.con
    raw.execute("INSERT INTO person VALUES (1, 's', 'F', DATE '1970-01-01', 1970, 'Asian', NULL)")
    raw.execute(
        "INSERT INTO laboratory VALUES (1, 'ck', '2157-6', DATE '2020-01-01', 2.5, ?, 3)",
        [lab_unit],
    )
    raw.execute("INSERT INTO registry_metadata VALUES ('schema_version', '1')")
    con.disconnect()
    return path


def test_a_version_1_registry_is_refused_with_the_command_and_migrated(tmp_path: Path) -> None:
    path = _v1(tmp_path / "old.duckdb")
    with pytest.raises(RegistryError, match="schema_version '1'.*myositis registry migrate"):
        connect(path)
    said = migrate(path)
    assert said.startswith("migrated") and "declared person_id the key of person" in said
    con = connect(path)
    lab = con.table("laboratory").to_pyarrow().to_pylist()[0]
    # 2.5 ukat/L x 60 = 150 U/L; ULN 3 ukat/L = 180 U/L (UCUM: 1 ukat = 60 U)
    assert (lab["value"], lab["unit"], lab["uln"], lab["uln_unit"]) == (150.0, "U/L", 180.0, "U/L")
    assert (lab["source_value"], lab["source_unit"]) == (2.5, "ukat/L")
    assert con.table("person_race").to_pyarrow().to_pylist() == [{"person_id": 1, "race": "Asian"}]
    for name, schema in TABLES.items():
        found = con.table(name).schema()  # the declared key is NOT NULL: compare types only
        assert {c: t.copy(nullable=True) for c, t in found.items()} == dict(schema.items()), name
    assert not dict(con.table("person").schema().items())["person_id"].nullable


def test_migrate_declares_the_person_key_a_current_file_lacks(tmp_path: Path) -> None:
    """A DuckDB file written before the key (here: a current one without it) gets it from
    migrate where its rows allow; one whose rows repeat a person is told why not."""
    plain = tmp_path / "plain.duckdb"
    registry(plain, person=[person(1), person(2)]).disconnect()
    assert not person_key_declared(connect(plain))
    said = migrate(plain)
    assert said == (
        f"{plain} is already at schema version {SCHEMA_VERSION}; declared person_id the key of "
        "person (cohorts now count its rows as persons)"
    )
    assert person_key_declared(connect(plain))
    assert migrate(plain).endswith("person_id is the key of person: nothing else to do")
    repeated = tmp_path / "repeated.duckdb"
    registry(repeated, person=[person(1), person(1)]).disconnect()
    assert migrate(repeated).endswith(
        "person_id is not declared the key of person: its rows repeat or miss a person_id "
        "(myositis registry check names them)"
    )
    assert not person_key_declared(connect(repeated))


def test_an_unconvertible_unit_stops_the_migration_and_changes_nothing(tmp_path: Path) -> None:
    path = _v1(tmp_path / "old.duckdb", lab_unit="mg/dL")
    with pytest.raises(RegistryError, match=r"test 'ck' in unit 'mg/dL' \(1 row"):
        migrate(path)
    con = ibis.duckdb.connect(str(path))
    assert con.table("laboratory").columns == tuple(V1_TABLES["laboratory"].names)
    con.disconnect()


def test_units() -> None:
    assert unit_factor("ck", "ukat/L") == 60
    assert unit_factor("ck", "µkat/L") == 60  # the micro sign as laboratories write it
    assert unit_factor("ck", "nkat/L") == pytest.approx(0.06)
    assert unit_factor("ck", "IU/L") == 1 and ucum("IU/L") == "[IU]/L"
    assert unit_factor("ck", "mg/dL") is None and unit_factor("crp", "mg/L") is None


def test_observation_periods_recorded_or_derived() -> None:
    con = ibis.duckdb.connect()
    for name, schema in TABLES.items():
        con.create_table(name, schema=schema)

    def put(table: str, rows: list[dict[str, object]]) -> None:
        arrow = pa.Table.from_pylist(rows, schema=TABLES[table].to_pyarrow())
        con.con.register("rows", arrow)
        con.raw_sql(f"INSERT INTO {table} SELECT * FROM rows")
        con.con.unregister("rows")

    empty = dict.fromkeys(TABLES["diagnosis"].names)
    day = dt.date
    put("person", [{**{c: None for c in TABLES["person"].names}, "person_id": p,
                    "birth_date": dt.date(1950, 1, 1)} for p in (1, 2, 3)])  # fmt: skip
    put("diagnosis", [{**empty, "person_id": 1, "diagnosis_date": day(2019, 5, 1)},
                      {**empty, "person_id": 2, "diagnosis_date": day(2018, 1, 1)}])  # fmt: skip
    drug = {c: None for c in TABLES["drug_exposure"].names}
    put("drug_exposure", [{**drug, "person_id": 1, "start_date": dt.date(2019, 1, 1),
                           "end_date": dt.date(2021, 3, 1)}])  # fmt: skip
    put("observation_period", [{"person_id": 2, "start_date": day(2010, 1, 1),
                                "end_date": day(2022, 1, 1), "period_type": "EHR"}])  # fmt: skip
    rows = observation_periods(con).order_by("person_id").to_pyarrow().to_pylist()
    assert rows == [
        # earliest to latest recorded date in any table (the birth date is no record)
        {"person_id": 1, "start_date": dt.date(2019, 1, 1), "end_date": dt.date(2021, 3, 1),
         "period_type": "derived"},
        # a recorded period is kept and no derived one is added
        {"person_id": 2, "start_date": dt.date(2010, 1, 1), "end_date": dt.date(2022, 1, 1),
         "period_type": "EHR"},
    ]  # person 3 has no dated record, so no period  # fmt: skip
