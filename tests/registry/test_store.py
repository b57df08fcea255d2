"""Registry storage: round trips through DuckDB, CSV and Parquet, and the errors a user sees
for a registry that does not fit the data model."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from myositis.errors import InvalidInputError, RegistryError
from myositis.registry.connect import connect
from myositis.registry.schema import (
    PROVENANCE_COLUMNS,
    SCHEMA_VERSION,
    SOURCE_CODE_COLUMNS,
    TABLES,
)
from myositis.registry.store import (
    append_arrow,
    arrow_schema,
    create_registry,
    read_metadata,
    write_metadata,
)

PEOPLE = pa.table(
    {
        "person_id": [1, 2, 3],
        "source_id": ["MRN-1", "12-3", None],
        "site": ["a", "a", "b"],
        "sex": ["F", "M", "U"],
        "birth_date": [dt.date(1980, 2, 29), None, dt.date(2001, 12, 31)],
        "birth_year": [1980, 1975, 2001],
        "race": ["White", None, "Asian"],
        "ethnicity": ["Unknown", "Hispanic or Latino", None],
    }
)


def _export(source: Path, folder: Path, fmt: str) -> None:
    con = connect(source, read_only=True)
    folder.mkdir()
    for name in TABLES:
        table = con.table(name).to_pyarrow()
        if fmt == "csv":
            pacsv.write_csv(table, folder / f"{name}.csv")
        else:
            pq.write_table(table, folder / f"{name}.parquet")
    con.disconnect()


def test_create_append_reopen_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    con = create_registry(path)
    append_arrow(con, "person", PEOPLE)
    write_metadata(con, {"note": "x"})
    con.disconnect()
    again = connect(path)
    got = again.table("person").order_by("person_id").to_pyarrow()
    # the provenance columns a writer leaves out are null
    assert got.select(PEOPLE.column_names).to_pylist() == PEOPLE.to_pylist()
    assert got.column("import_id").null_count == 3
    assert got.schema == arrow_schema("person")
    meta = read_metadata(again)
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["note"] == "x"
    for name, schema in TABLES.items():
        assert again.table(name).schema() == schema, name


def test_create_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    create_registry(path).disconnect()
    with pytest.raises(RegistryError, match="already exists.*--overwrite"):
        create_registry(path)
    con = create_registry(path, overwrite=True)
    assert con.table("person").count().execute() == 0


def test_append_conforms_and_rejects(tmp_path: Path) -> None:
    con = create_registry(tmp_path / "r.duckdb")
    narrow = PEOPLE.set_column(5, "birth_year", pa.array([1980, 1975, 2001], pa.int16()))
    append_arrow(con, "person", narrow.select(list(reversed(PEOPLE.column_names))))
    assert con.table("person").birth_year.sum().execute() == 1980 + 1975 + 2001
    with pytest.raises(RegistryError, match=r"missing columns \['ethnicity'\]"):
        append_arrow(con, "person", PEOPLE.drop_columns(["ethnicity"]))
    with pytest.raises(RegistryError, match=r"unknown columns \['extra'\]"):
        append_arrow(con, "person", PEOPLE.append_column("extra", pa.array([1, 2, 3])))
    lossy = PEOPLE.set_column(0, "person_id", pa.array([1.5, 2.0, 3.0]))
    with pytest.raises(RegistryError, match="column 'person_id' of type double"):
        append_arrow(con, "person", lossy)
    with pytest.raises(RegistryError, match="unknown registry table 'people'"):
        append_arrow(con, "people", PEOPLE)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_directory_round_trip(small_registry: Path, tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / fmt
    _export(small_registry, folder, fmt)
    original = connect(small_registry, read_only=True)
    loaded = connect(folder)
    for name, schema in TABLES.items():
        assert loaded.table(name).schema() == schema, name
        assert loaded.table(name).count().execute() == original.table(name).count().execute()
    # values survive, not only counts: the same dose total and the same dates
    assert loaded.table("drug_exposure").dose.sum().execute() == pytest.approx(
        original.table("drug_exposure").dose.sum().execute(), rel=1e-12
    )
    first = ibis.desc("start_date")
    assert (
        loaded.table("drug_exposure").order_by([first, "exposure_id"]).limit(5).to_pyarrow()
        == original.table("drug_exposure").order_by([first, "exposure_id"]).limit(5).to_pyarrow()
    )


def _csv_registry(tmp_path: Path) -> Path:
    """A minimal valid CSV registry: header-only files plus a few person rows."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, schema in TABLES.items():
        (folder / f"{name}.csv").write_text(",".join(schema.names) + "\n")
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n"
        "1,MRN-1,a,F,1980-02-29,1980,White,Unknown\n"
        "2,,a,M,,1975,,\n"
    )
    return folder


def test_csv_folder_with_empty_tables_and_blanks(tmp_path: Path) -> None:
    con = connect(_csv_registry(tmp_path))
    rows = con.table("person").order_by("person_id").to_pyarrow().to_pylist()
    assert rows[0]["birth_date"] == dt.date(1980, 2, 29)
    assert rows[1]["birth_date"] is None and rows[1]["race"] is None
    assert con.table("assessment").count().execute() == 0


def test_missing_table_is_named(tmp_path: Path) -> None:
    folder = _csv_registry(tmp_path)
    (folder / "adverse_event.csv").unlink()
    with pytest.raises(RegistryError) as info:
        connect(folder)
    message = str(info.value)
    assert "missing registry table 'adverse_event'" in message
    assert "adverse_event.csv or adverse_event.parquet" in message
    assert "header-only" in message


def test_missing_table_in_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    con = ibis.duckdb.connect(str(path))
    for name, schema in TABLES.items():
        if name != "dm_subtype":
            con.create_table(name, schema=schema)
    con.disconnect()
    with pytest.raises(RegistryError, match=r"missing registry table\(s\) dm_subtype"):
        connect(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    folder = _csv_registry(tmp_path)
    (folder / "person.csv").write_text("person_id,source_id,site,sex,birth_date,race,ethnicity\n")
    with pytest.raises(RegistryError) as info:
        connect(folder)
    message = str(info.value)
    assert "person.csv lacks column(s) birth_year" in message
    assert "found: person_id, source_id, site, sex, birth_date, race, ethnicity" in message
    assert "add them" in message


def test_wrong_type_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name in TABLES:
        pq.write_table(arrow_schema(name).empty_table(), folder / f"{name}.parquet")
    people = PEOPLE.set_column(0, "person_id", pa.array(["1", "2", "3"]))
    pq.write_table(people, folder / "person.parquet")
    with pytest.raises(RegistryError) as info:
        connect(folder)
    message = str(info.value)
    assert "person.parquet" in message
    assert "column 'person_id': found type string, expected int64" in message
    assert "convert the column to int64" in message


def test_bad_values_in_csv_are_all_reported(tmp_path: Path) -> None:
    folder = _csv_registry(tmp_path)
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n"
        "1,,a,F,1980-02-30,1980,White,Unknown\n"  # 30 February
        "2,,a,M,,19x5,,\n"
        "3,,b,F,2001-12-31,2001.5,,\n"  # not a whole number
        "4,,b,F,2001-12-31,2001,,\n"
    )
    # the provenance and source code columns left out, as a folder's file may
    left_out = (*PROVENANCE_COLUMNS, *SOURCE_CODE_COLUMNS)
    header = ",".join(c for c in TABLES["drug_exposure"].names if c not in left_out)
    (folder / "drug_exposure.csv").write_text(
        f"{header}\n"
        "1,1,prednisone,LOCAL,prednisone,2020-01-01,2020-02-01,ten,mg,QD,IR,oral\n"
        "2,1,prednisone,LOCAL,prednisone,01/03/2020,,5,mg,QD,IR,oral\n"
        "3,1,prednisone,LOCAL,prednisone,2020-01-01,,NaN,mg,QD,IR,oral\n"  # parses as a float
        "4,1,prednisone,LOCAL,prednisone,2020-01-01,,inf,mg,QD,IR,oral\n"
    )
    with pytest.raises(InvalidInputError) as info:
        connect(folder)
    found = {(p.source, p.row, p.column, p.value) for p in info.value.problems}
    assert found == {
        ("person.csv", 1, "birth_date", "1980-02-30"),
        ("person.csv", 2, "birth_year", "19x5"),
        ("person.csv", 3, "birth_year", "2001.5"),
        ("drug_exposure.csv", 1, "dose", "ten"),
        ("drug_exposure.csv", 2, "start_date", "01/03/2020"),
        ("drug_exposure.csv", 3, "dose", "NaN"),
        ("drug_exposure.csv", 4, "dose", "inf"),
    }
    reasons = {(p.source, p.row): p.reason for p in info.value.problems}
    # a date that does not exist is not "the wrong format"; a fraction is not a whole number
    assert reasons["person.csv", 1] == (
        "not a date that exists: February 1980 has 29 days (dates are YYYY-MM-DD)"
    )
    assert reasons["person.csv", 3] == "not a whole number; expected a whole number"
    assert reasons["drug_exposure.csv", 2] == "expected a date as YYYY-MM-DD (e.g. 2020-03-01)"
    assert reasons["drug_exposure.csv", 3].startswith("not a finite number")
    message = str(info.value)
    assert "person.csv, row 1, column 'birth_date': value '1980-02-30': not a date that" in message
    assert "drug_exposure.csv, row 1, column 'dose': value 'ten': expected a number" in message


def test_schema_version_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    con = create_registry(path)
    write_metadata(con, {"schema_version": "0"})
    con.disconnect()
    with pytest.raises(RegistryError, match="schema_version '0'"):
        connect(path)


def test_paths_that_are_not_registries(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        connect(tmp_path / "none.duckdb")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(RegistryError, match="neither a folder nor a DuckDB file"):
        connect(other)
    fake = tmp_path / "fake.duckdb"
    fake.write_text("not a database")
    with pytest.raises(RegistryError, match="could not be opened as a DuckDB database"):
        connect(fake)


def test_cli_reports_without_traceback(tmp_path: Path) -> None:
    folder = _csv_registry(tmp_path)
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n"
        "1,,a,F,1980-13-01,1980,,\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "myositis.cli", "registry-check", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "person.csv, row 1, column 'birth_date': value '1980-13-01'" in result.stderr


def test_append_leaves_no_registered_arrow_views(tmp_path: Path) -> None:
    """Every appended batch must be released: ibis 12's insert left one Arrow-backed view per
    call under sqlglot 30, so memory grew with the registry (docs/benchmarks.md)."""
    con = create_registry(tmp_path / "r.duckdb")
    for _ in range(3):
        append_arrow(con, "person", PEOPLE)
    views = con.con.execute(
        "select count(*) from information_schema.tables where table_type = 'VIEW'"
    ).fetchall()
    assert views == [(0,)]
    assert con.table("person").count().execute() == 3 * PEOPLE.num_rows


def test_ragged_csv_names_the_row(tmp_path: Path) -> None:
    folder = _csv_registry(tmp_path)
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n"
        "1,,a,F,1980-01-01,1980\n"
    )
    with pytest.raises(
        InvalidInputError, match="person.csv, row 1: 6 cells, but the header has 8 columns"
    ):
        connect(folder)


def test_parquet_timestamps_and_narrow_integers_are_read_as_registry_types(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name in TABLES:
        pq.write_table(arrow_schema(name).empty_table(), folder / f"{name}.parquet")
    people = PEOPLE.set_column(
        4, "birth_date", pa.array([dt.datetime(1980, 2, 29, 13, 5), None, None], pa.timestamp("s"))
    ).set_column(0, "person_id", pa.array([1, 2, 3], pa.int32()))
    pq.write_table(people, folder / "person.parquet")
    con = connect(folder)
    assert con.table("person").schema() == TABLES["person"]
    first = con.table("person").order_by("person_id").to_pyarrow().to_pylist()[0]
    assert first["birth_date"] == dt.date(1980, 2, 29) and first["person_id"] == 1
