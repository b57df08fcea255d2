"""Data model v2 to v5: a registry of version 1, 2, 3 or 4 is refused with what to do, and
migrated (laboratory values to the canonical unit, races listed; a diagnosis's end, the
procedure and visit tables, the source codes added, the data fingerprint kept); observation
periods are derived by the documented rule; units convert by the UCUM factors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from myositis.codes.units import ucum, unit_factor
from myositis.errors import RegistryError
from myositis.registry import connect
from myositis.registry.fingerprint import (
    check_fingerprint,
    data_fingerprint,
    record_fingerprint,
    verified_fingerprint,
)
from myositis.registry.keys import person_key_declared
from myositis.registry.migrate import V1_TABLES, migrate
from myositis.registry.observation import observation_periods
from myositis.registry.schema import (
    SCHEMA_VERSION,
    SOURCE_CODE_COLUMNS,
    SOURCE_CODED_TABLES,
    TABLES,
)
from myositis.registry.store import read_metadata
from registry.broken import dx, exposure, person, registry

ROOT = Path(__file__).resolve().parents[2]


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


DIAGNOSES = [(1, "ICD10CM", "M33.10", "2019-01-01"), (1, "ICD10CM", "M3310", "2019-06-01")]


def _drop_source_codes(raw: object, tables: tuple[str, ...] = SOURCE_CODED_TABLES) -> None:
    """Drop the columns version 5 added (``source_code_system``, ``source_code``)."""
    for table in tables:
        for column in SOURCE_CODE_COLUMNS:
            raw.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # type: ignore[attr-defined]


def _v2_duckdb(path: Path) -> str:
    """A version-2 DuckDB registry with its fingerprint recorded, as the version-2 software
    wrote it: made as the current version with no diagnosis end, then the column and the
    tables of versions 3 and 4 dropped. Returns the recorded fingerprint."""
    con = registry(path, person=[person(1)])
    for row in DIAGNOSES:
        con.con.execute("INSERT INTO diagnosis (person_id, code_system, code, diagnosis_date) "
                        "VALUES (?, ?, ?, ?)", list(row))  # fmt: skip
    recorded = record_fingerprint(con)
    con.con.execute("ALTER TABLE diagnosis DROP COLUMN end_date")
    _drop_source_codes(con.con, ("diagnosis", "drug_exposure"))
    for table in ("procedure", "visit", "observation", "measurement", "death"):
        con.con.execute(f"DROP TABLE {table}")
    con.con.execute("UPDATE registry_metadata SET value = '2' WHERE key = 'schema_version'")
    con.disconnect()
    return recorded


def test_a_version_2_file_is_refused_with_the_command_and_keeps_its_fingerprint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.duckdb"
    recorded = _v2_duckdb(path)
    with pytest.raises(RegistryError, match="schema_version '2', this software reads '5'; "
                       "migrate it once with: myositis registry migrate"):  # fmt: skip
        connect(path)
    said = migrate(path)
    assert said.startswith(f"migrated {path} from schema version 2 to 5")
    con = connect(path)
    assert con.table("diagnosis").columns == tuple(TABLES["diagnosis"].names)
    rows = con.table("diagnosis").select("code", "diagnosis_date", "end_date").to_pyarrow()
    assert rows.to_pylist() == [
        {"code": "M33.10", "diagnosis_date": dt.date(2019, 1, 1), "end_date": None},
        {"code": "M3310", "diagnosis_date": dt.date(2019, 6, 1), "end_date": None},
    ]
    meta = read_metadata(con)
    assert (meta["schema_version"], meta["migrated_from_schema_version"]) == ("5", "2")
    for table in ("procedure", "visit", "observation", "measurement", "death"):
        assert con.table(table).count().execute() == 0
    # the same rows, the same fingerprint: recorded again with the new column's aggregates
    assert meta["data_fingerprint"] == recorded
    check = check_fingerprint(con, meta)
    assert check.value == recorded and "equals the one recorded" in check.message
    con.disconnect()
    assert migrate(path).startswith(f"{path} is already at schema version 5")


def test_a_version_3_file_gets_the_new_tables_and_keeps_its_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "v3.duckdb"
    con = registry(path, person=[person(1)])
    for row in DIAGNOSES:
        con.con.execute("INSERT INTO diagnosis (person_id, code_system, code, diagnosis_date) "
                        "VALUES (?, ?, ?, ?)", list(row))  # fmt: skip
    recorded = record_fingerprint(con)
    for table in ("visit", "observation", "measurement", "death"):
        con.con.execute(f"DROP TABLE {table}")
    _drop_source_codes(con.con, ("diagnosis", "procedure", "drug_exposure"))
    con.con.execute("UPDATE registry_metadata SET value = '3' WHERE key = 'schema_version'")
    con.disconnect()
    with pytest.raises(RegistryError, match="schema_version '3', this software reads '5'"):
        connect(path)
    assert migrate(path).startswith(f"migrated {path} from schema version 3 to 5")
    con = connect(path)
    for table in ("visit", "observation", "measurement", "death"):
        assert con.table(table).columns == tuple(TABLES[table].names)
        assert con.table(table).count().execute() == 0
    meta = read_metadata(con)
    assert (meta["schema_version"], meta["migrated_from_schema_version"]) == ("5", "3")
    assert meta["data_fingerprint"] == recorded
    assert "equals the one recorded" in check_fingerprint(con, meta).message
    con.disconnect()


def test_a_version_2_folder_is_migrated_and_its_diagnosis_file_gets_the_end(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "v2"
    folder.mkdir()
    for name, schema in TABLES.items():
        if name in ("procedure", "visit", "observation", "measurement", "death"):
            continue  # added by versions 3 and 4
        added = ("end_date", *SOURCE_CODE_COLUMNS) if name == "diagnosis" else SOURCE_CODE_COLUMNS
        columns = [c for c in schema.names if c not in added]
        (folder / f"{name}.csv").write_text(",".join(columns) + "\n")
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n"
        "1,s1,a,F,1970-01-01,1970,,\n"
    )
    (folder / "diagnosis.csv").write_text(
        "person_id,code_system,code,diagnosis_date\n"
        + "".join(f"{p},{s},{c},{d}\n" for p, s, c, d in DIAGNOSES)
    )
    (folder / "registry_metadata.csv").write_text("key,value\nschema_version,2\n")
    with pytest.raises(RegistryError, match="schema_version '2'.*myositis registry migrate"):
        connect(folder)
    assert migrate(folder) == f"migrated {folder} from schema version 2 to 5"
    for name in ("procedure", "visit", "observation", "measurement", "death"):  # written, empty
        header = (folder / f"{name}.csv").read_text().splitlines()
        assert [h.replace('"', "").split(",") for h in header] == [list(TABLES[name].names)]
    header = (folder / "diagnosis.csv").read_text().splitlines()[0]
    assert header.replace('"', "").split(",") == list(TABLES["diagnosis"].names)
    con = connect(folder)
    assert con.table("diagnosis").end_date.count().execute() == 0
    assert con.table("diagnosis").count().execute() == 2


def test_units() -> None:
    assert unit_factor("ck", "ukat/L") == 60
    assert unit_factor("ck", "µkat/L") == 60  # the micro sign as laboratories write it
    assert unit_factor("ck", "nkat/L") == pytest.approx(0.06)
    assert unit_factor("ck", "IU/L") == 1 and ucum("IU/L") == "[IU]/L"
    # OMOP concept 8645 "unit per liter" is coded [U]/L in the OMOP vocabulary (Athena)
    assert unit_factor("ck", "[U]/L") == 1 and ucum("[U]/L") == "U/L"
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
                    "birth_date": dt.date(1950, 1, 1)} for p in (1, 2, 3, 4)])  # fmt: skip
    put("diagnosis", [{**empty, "person_id": 1, "diagnosis_date": day(2019, 5, 1)},
                      {**empty, "person_id": 2, "diagnosis_date": day(2018, 1, 1)}])  # fmt: skip
    drug = {c: None for c in TABLES["drug_exposure"].names}
    put("drug_exposure", [{**drug, "person_id": 1, "start_date": dt.date(2019, 1, 1),
                           "end_date": dt.date(2021, 3, 1)}])  # fmt: skip
    put("observation_period", [{"person_id": 2, "start_date": day(2010, 1, 1),
                                "end_date": day(2022, 1, 1), "period_type": "EHR"}])  # fmt: skip
    # deaths are recorded dates: person 1's after the end of her drug, person 2's after her
    # recorded period, person 4's her only record
    put("death", [{"person_id": p, "death_date": d, "cause_code_system": None,
                   "cause_code": None, "import_id": None, "source_record": None,
                   "source_location": None}
                  for p, d in ((1, day(2022, 6, 30)), (2, day(2023, 1, 1)),
                               (4, day(2020, 2, 2)))])  # fmt: skip
    rows = observation_periods(con).order_by("person_id").to_pyarrow().to_pylist()
    assert rows == [
        # earliest to latest recorded date in any table (the birth date is no record; the
        # death date is): to the death, 2022-06-30, not the drug's end, 2021-03-01
        {"person_id": 1, "start_date": dt.date(2019, 1, 1), "end_date": dt.date(2022, 6, 30),
         "period_type": "derived"},
        # a recorded period is kept and no derived one is added (the death after it too)
        {"person_id": 2, "start_date": dt.date(2010, 1, 1), "end_date": dt.date(2022, 1, 1),
         "period_type": "EHR"},
        # a death alone: a period of its one day
        {"person_id": 4, "start_date": dt.date(2020, 2, 2), "end_date": dt.date(2020, 2, 2),
         "period_type": "derived"},
    ]  # person 3 has no dated record, so no period  # fmt: skip


def test_a_current_file_without_a_table_version_4_added_gets_it(tmp_path: Path) -> None:
    """A file of the current version that lacks the observation, measurement and death tables
    (as one written while version 4 was in development did) is refused with the command,
    which creates the tables and changes nothing else."""
    path = tmp_path / "early.duckdb"
    con = registry(path, person=[person(1)])
    recorded = record_fingerprint(con)
    con.con.execute("DROP TABLE observation")
    con.con.execute("DROP TABLE measurement")
    con.con.execute("DROP TABLE death")
    con.disconnect()
    with pytest.raises(RegistryError, match=r"missing registry table\(s\) observation, "
                       "measurement, death .*myositis registry migrate .* "
                       "creates them"):  # fmt: skip
        connect(path)
    said = migrate(path)
    assert said.startswith(
        f"{path} is already at schema version 5; created the empty table(s) observation, "
        "measurement, death; "
    )
    con = connect(path)
    assert con.table("observation").count().execute() == 0
    assert con.table("measurement").count().execute() == 0
    assert con.table("death").columns == tuple(TABLES["death"].names)
    assert con.table("death").count().execute() == 0
    assert check_fingerprint(con, read_metadata(con)).value == recorded


#: The data fingerprint that the version-4 software (commit 2c4df0d) recorded for the rows of
#: ``_v4_duckdb``: computed with that commit's code on the same rows.
V4_FINGERPRINT = "714ca43b1089575749d07cd90ae48d0bd94895139876018793c3245fb332498c"


def _v4_duckdb(path: Path) -> str:
    """A version-4 DuckDB registry as the version-4 software wrote it, fingerprint recorded: a
    row in each of the six coded tables (a diagnosis with its end), made as the current version
    without source codes, then their columns dropped. Returns the recorded fingerprint."""
    day = dt.date
    con = registry(
        path,
        person=[person(1)],
        diagnosis=[dx(1, day(2019, 1, 1)) | {"end_date": day(2019, 2, 1)}, dx(1, day(2019, 6, 1))],
        procedure=[{"person_id": 1, "code_system": "CPT4", "code": "20206",
                    "procedure_date": day(2019, 3, 9)}],
        visit=[{"person_id": 1, "visit_id": "V1", "code_system": "VISIT", "code": "OP",
                "visit_date": day(2019, 3, 9), "end_date": day(2019, 3, 9)}],
        observation=[{"person_id": 1, "code_system": "SNOMED", "code": "161501007",
                      "observation_date": day(2019, 3, 9)}],
        measurement=[{"person_id": 1, "code_system": "LOINC", "code": "29463-7",
                      "measurement_date": day(2019, 3, 9), "value": 71.5, "unit": "kg"}],
        drug_exposure=[exposure(1, 1, day(2020, 1, 6), day(2020, 6, 30))],
    )  # fmt: skip
    recorded = record_fingerprint(con)
    _drop_source_codes(con.con)
    con.con.execute("UPDATE registry_metadata SET value = '4' WHERE key = 'schema_version'")
    con.disconnect()
    return recorded


def test_a_version_4_file_gets_the_source_codes_null_and_keeps_its_fingerprint(
    tmp_path: Path,
) -> None:
    """Version 4 -> 5: the six coded tables get source_code_system and source_code right after
    code, null on every row; nothing else changes, so the fingerprint is the one the version-4
    software recorded, recorded again with a stamp that study runs verify."""
    path = tmp_path / "v4.duckdb"
    assert _v4_duckdb(path) == V4_FINGERPRINT
    with pytest.raises(RegistryError, match="schema_version '4', this software reads '5'; "
                       "migrate it once with: myositis registry migrate"):  # fmt: skip
        connect(path)
    said = migrate(path)
    assert said.startswith(f"migrated {path} from schema version 4 to 5")
    con = connect(path)
    counts = {"diagnosis": 2, "procedure": 1, "visit": 1, "observation": 1, "measurement": 1,
              "drug_exposure": 1}  # fmt: skip
    for table, rows in counts.items():
        columns = list(con.table(table).columns)
        assert columns == list(TABLES[table].names), table
        at = columns.index("code")
        assert columns[at + 1 : at + 3] == ["source_code_system", "source_code"], table
        t = con.table(table)
        found = t.aggregate(n=t.count(), system=t.source_code_system.count(),
                            code=t.source_code.count()).to_pyarrow().to_pylist()  # fmt: skip
        assert found == [{"n": rows, "system": 0, "code": 0}], table
    ends = con.table("diagnosis").order_by("diagnosis_date").end_date.to_pyarrow().to_pylist()
    assert ends == [dt.date(2019, 2, 1), None]
    meta = read_metadata(con)
    assert (meta["schema_version"], meta["migrated_from_schema_version"]) == ("5", "4")
    assert meta["data_fingerprint"] == V4_FINGERPRINT
    assert data_fingerprint(con) == V4_FINGERPRINT
    assert verified_fingerprint(con, meta).method == "recorded"
    assert "equals the one recorded" in check_fingerprint(con, meta).message
    con.disconnect()
    assert migrate(path).startswith(f"{path} is already at schema version 5")


def test_a_version_4_folder_is_migrated_with_the_source_codes_and_its_fingerprint(
    tmp_path: Path,
) -> None:
    """examples/min2022 as a version-4 folder (its files lack the source codes, which a folder
    may leave out): refused with the command; migrated, its diagnosis and drug exposure files
    get the two columns, empty, and the data fingerprint is that of the committed folder."""
    import shutil

    folder = tmp_path / "min2022"
    shutil.copytree(ROOT / "examples" / "min2022", folder)
    meta = folder / "registry_metadata.csv"
    meta.write_bytes(meta.read_bytes().replace(b"schema_version,5", b"schema_version,4"))
    with pytest.raises(RegistryError, match="schema_version '4', this software reads '5'; "
                       "migrate it once with: myositis registry migrate"):  # fmt: skip
        connect(folder)
    assert migrate(folder) == f"migrated {folder} from schema version 4 to 5"
    for name in ("diagnosis", "drug_exposure"):
        header = (folder / f"{name}.csv").read_text().splitlines()[0]
        assert header.replace('"', "").split(",") == list(TABLES[name].names)
    con = connect(folder)
    assert con.table("diagnosis").source_code.count().execute() == 0
    assert read_metadata(con)["schema_version"] == "5"
    assert data_fingerprint(con) == data_fingerprint(connect(ROOT / "examples" / "min2022"))
