"""The data fingerprint: its definition implemented a second time here, in plain Python, must
give what the engine computes (DuckDB here; tests/conformance shows PostgreSQL and Spark give
DuckDB's); row order and the time of writing do not matter; a recorded fingerprint is used
while the rows' counts and sums are unchanged, computed again when they change, and
``registry check`` finds the changes those cheap aggregates cannot see."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from myositis.cli import main
from myositis.registry.connect import connect
from myositis.registry.fingerprint import (
    DATA_TABLES,
    check_fingerprint,
    data_fingerprint,
    record_fingerprint,
    verified_fingerprint,
)
from myositis.registry.schema import PROVENANCE_COLUMNS, TABLES
from myositis.registry.store import append_arrow, arrow_schema, create_registry, read_metadata

#: Values that engines print differently or that a careless text form would confuse.
DOSES = [
    0.1, 1 / 3, 0.30000000000000004, 123.456, 8.0, 0.5, -2.5, 1e20, 2.0**53 + 2,
    1e-300, 5e-324, 2.0**-1022, 1.7976931348623157e308, -0.0, 0.0,
    math.inf, -math.inf, math.nan, None,
]  # fmt: skip
SITES = ["a", "", None, "ä€😀", "NULL", "x\x1fy", 'c,"d', "line\nbreak"]


def _write(path: Path, *, reverse: bool = False, record: bool = True) -> None:
    con = create_registry(path)
    people = [
        {"person_id": i, "site": s, "sex": "F", "birth_date": dt.date(1900 + i, 2, 28),
         "birth_year": 1900 + i, "race": None, "ethnicity": "N"}
        for i, s in enumerate(SITES, start=1)
    ]  # fmt: skip
    exposures = [
        {"exposure_id": i, "person_id": 1, "ingredient": "tofacitinib", "code_system": "RXNORM",
         "code": "1357536", "start_date": dt.date(1969, 12, 31), "end_date": None, "dose": d,
         "dose_unit": "mg", "frequency": "BID", "formulation": "IR", "route": "oral"}
        for i, d in enumerate(DOSES)
    ]  # fmt: skip
    events = [
        {"person_id": 1, "term": "herpes zoster", "onset_date": dt.date(2021, 3, 1),
         "grade": g, "serious": s, "outcome": None, "suspected_drug": "tofacitinib",
         "led_to_discontinuation": None if s is None else not s}
        for g, s in [(2, True), (1, False), (None, None)]
    ]  # fmt: skip
    # a diagnosis's end (added by schema version 3) with and without a value
    diagnoses = [
        {"person_id": 1, "code_system": "ICD10CM", "code": "M33.10",
         "diagnosis_date": dt.date(2019, 1, 1), "end_date": end}
        for end in (None, dt.date(2019, 3, 1))
    ]  # fmt: skip
    # a table added by schema version 3
    procedures = [
        {"person_id": 1, "code_system": "CPT4", "code": "20206",
         "procedure_date": dt.date(2019, 2, 1), "end_date": None}
    ]  # fmt: skip
    # a table added by schema version 4
    visits = [
        {"person_id": 1, "visit_id": "V1", "code_system": "VISIT", "code": "IP",
         "visit_date": dt.date(2019, 2, 1), "end_date": dt.date(2019, 2, 6)}
    ]  # fmt: skip
    observations = [
        {"person_id": 1, "code_system": "SNOMED", "code": "161501007",
         "observation_date": dt.date(2019, 2, 1), "value": None, "unit": None,
         "value_code_system": None, "value_code": None, "value_text": None},
        {"person_id": 1, "code_system": "LOINC", "code": "72166-2",
         "observation_date": dt.date(2019, 2, 1), "value": 12.5, "unit": "{pack-years}",
         "value_code_system": "SNOMED", "value_code": "77176002", "value_text": "x\x1fy"},
    ]  # fmt: skip
    measurements = [
        {"person_id": 1, "code_system": "LOINC", "code": "29463-7",
         "measurement_date": dt.date(2019, 2, 1), "value": 71.5, "unit": "kg",
         "range_low": None, "range_high": None, "value_code_system": None, "value_code": None},
        {"person_id": 1, "code_system": "LOINC", "code": "94500-6",
         "measurement_date": dt.date(2020, 3, 1), "value": None, "unit": None,
         "range_low": 0.5, "range_high": 1.5, "value_code_system": "SNOMED",
         "value_code": "260373001"},
    ]  # fmt: skip
    # deaths, with and without a cause (a table added by schema version 4)
    deaths = [
        {"person_id": 1, "death_date": dt.date(2022, 1, 31), "cause_code_system": "ICD10CM",
         "cause_code": "J84.9"},
        {"person_id": 2, "death_date": dt.date(2023, 7, 4), "cause_code_system": None,
         "cause_code": None},
    ]  # fmt: skip
    tables = (("person", people), ("drug_exposure", exposures), ("adverse_event", events),
              ("diagnosis", diagnoses), ("procedure", procedures),
              ("visit", visits), ("observation", observations),
              ("measurement", measurements), ("death", deaths))  # fmt: skip
    for name, rows in tables:
        rows = rows[::-1] if reverse else rows
        append_arrow(con, name, pa.Table.from_pylist(rows, schema=arrow_schema(name)))
    if record:
        record_fingerprint(con)
    con.disconnect()


def _canonical(value: Any, dtype: Any) -> str:
    """A value's text in the fingerprint's definition (registry/fingerprint.py docstring)."""
    if dtype.is_floating():
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        if value == 0:
            return "0"
        mantissa, exponent = math.frexp(abs(value))  # |x| = m * 2^e, 1/2 <= m < 1
        sign = "-" if value < 0 else ""
        return f"{sign}{int(mantissa * 2**53)}p{exponent - 1}"
    if dtype.is_date():
        return str((value - dt.date(1970, 1, 1)).days)
    if dtype.is_boolean():
        return "1" if value else "0"
    return str(value)


#: Columns added by schema versions 3 (a diagnosis's end) and 5 (the source codes): in a row's
#: text, at its end, in this order, only where they hold a value.
SOURCE_CODES = ("source_code_system", "source_code")
ADDED = {
    "diagnosis": ("end_date", *SOURCE_CODES),
    **{t: SOURCE_CODES for t in ("procedure", "visit", "observation", "measurement",
                                 "drug_exposure")},
}  # fmt: skip
#: Tables added by schema versions 3 and 4: counted only when they hold rows.
ADDED_TABLES = ("procedure", "visit", "observation", "measurement", "death")


def _python_fingerprint(path: Path, *, without: tuple[str, ...] = ()) -> str:
    """The fingerprint by its definition; ``without``: columns and tables left out (the
    version-2 definition)."""
    con = connect(path)
    digest = hashlib.sha256()
    for name in DATA_TABLES:
        if name in without or (name in ADDED_TABLES and con.table(name).count().execute() == 0):
            continue
        # every column but the provenance ones (where a row came from, not what it holds)
        schema = {c: t for c, t in TABLES[name].items() if c not in PROVENANCE_COLUMNS}
        added = [c for c in ADDED.get(name, ()) if c not in without]
        kept = {c: t for c, t in schema.items() if c not in ADDED.get(name, ())}
        rows = con.table(name).to_pyarrow().to_pylist()
        first = second = 0
        for row in rows:
            text = "\x1f".join(
                "N" if row[c] is None else "V" + _canonical(row[c], t) for c, t in kept.items()
            )
            text += "".join(
                f"\x1fV{_canonical(row[c], schema[c])}" for c in added if row[c] is not None
            )
            md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
            first += int(md5[0:15], 16)
            second += int(md5[15:30], 16)
        digest.update(f"{name}\x00{len(rows)}\x00{first}\x00{second}\x00".encode())
    con.disconnect()
    return digest.hexdigest()


def test_the_engine_computes_the_definition(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    _write(path, record=False)
    con = connect(path)
    assert data_fingerprint(con) == _python_fingerprint(path)


def test_a_column_added_later_counts_only_where_it_holds_a_value(tmp_path: Path) -> None:
    """A registry whose diagnoses have no end and that has no procedures, visits, other
    observations, measurements or deaths keeps the fingerprint of version 2, which had neither
    the column nor the tables (so a migrated registry keeps its recorded fingerprint); one end,
    procedure, visit, observation, measurement or death recorded changes it."""
    path = tmp_path / "r.duckdb"
    _write(path, record=False)
    with_end = _python_fingerprint(path)
    con = connect(path)
    assert data_fingerprint(con) == with_end
    con.disconnect()
    # a source code (version 5) changes it where one is recorded: on a procedure, then on a
    # diagnosis with an end too; without them, the fingerprint is version 4's (no such columns)
    sourced = []
    for change in (
        "UPDATE procedure SET source_code_system = 'OMOP', source_code = '2002608'",
        "UPDATE diagnosis SET source_code_system = 'ICD10CM', source_code = 'M33.10'",
    ):
        writable = duckdb.connect(str(path))
        writable.execute(change)
        writable.close()
        con = connect(path)
        sourced.append(data_fingerprint(con))
        con.disconnect()
        assert sourced[-1] == _python_fingerprint(path)
        assert _python_fingerprint(path, without=SOURCE_CODES) == with_end
    assert len({with_end, *sourced}) == 3
    writable = duckdb.connect(str(path))
    for table in ADDED:
        writable.execute(f"UPDATE {table} SET source_code_system = NULL, source_code = NULL")
    writable.close()
    found = [with_end]
    changes = (
        "UPDATE diagnosis SET end_date = NULL",
        "DELETE FROM procedure",
        "DELETE FROM visit",
        "DELETE FROM observation",
        "DELETE FROM measurement",
        "DELETE FROM death",
    )
    for change in changes:
        writable = duckdb.connect(str(path))
        writable.execute(change)
        writable.close()
        con = connect(path)
        found.append(data_fingerprint(con))
        con.disconnect()
    version_2 = ("end_date", "procedure", "visit", "observation", "measurement", "death")
    assert found[6] == _python_fingerprint(path, without=version_2)
    assert len(set(found)) == 7


def test_row_order_and_time_of_writing_do_not_matter_every_value_does(tmp_path: Path) -> None:
    _write(tmp_path / "a.duckdb")
    _write(tmp_path / "b.duckdb", reverse=True)
    a, b = connect(tmp_path / "a.duckdb"), connect(tmp_path / "b.duckdb")
    assert read_metadata(a)["data_fingerprint"] == read_metadata(b)["data_fingerprint"]
    assert data_fingerprint(a) == data_fingerprint(b) == read_metadata(a)["data_fingerprint"]
    # registry_metadata (created_at, the record's own time) is not part of it
    assert read_metadata(a)["created_at"] and "data_fingerprint_recorded_at" in read_metadata(b)


def test_recorded_while_unchanged_computed_again_when_the_rows_change(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    _write(path)
    con = connect(path, read_only=False)
    recorded = read_metadata(con)["data_fingerprint"]
    found = verified_fingerprint(con, read_metadata(con))
    assert (found.value, found.method) == (recorded, "recorded")
    assert "verified now by its row counts and per-column aggregates" in found.detail
    con.raw_sql("UPDATE drug_exposure SET dose = 10 WHERE exposure_id = 4")  # was 8
    found = verified_fingerprint(con, read_metadata(con))
    assert found.method == "computed" and "changed after it was written" in found.detail
    assert found.value == data_fingerprint(con) != recorded
    check = check_fingerprint(con, read_metadata(con))
    assert check.ok and "out of date" in check.message


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0)


def test_registry_check_finds_what_the_cheap_verification_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.duckdb"
    _write(path)
    assert _cli(monkeypatch, "registry", "check", str(path)) == 0
    recorded = read_metadata(connect(path))["data_fingerprint"]
    out = capsys.readouterr().out
    assert f"data fingerprint {recorded} (computed from every row; equals the one recorded" in out
    # one birth date a day later, another a day earlier: counts and sums stay the same
    con = connect(path, read_only=False)
    con.raw_sql("UPDATE person SET birth_date = birth_date + 1 WHERE person_id = 1")
    con.raw_sql("UPDATE person SET birth_date = birth_date - 1 WHERE person_id = 2")
    con.disconnect()
    con = connect(path)
    assert verified_fingerprint(con, read_metadata(con)).method == "recorded"  # not seen
    con.disconnect()
    assert _cli(monkeypatch, "registry", "check", str(path)) == 2
    err = capsys.readouterr().err
    assert "does not match the rows, although their counts and sums do" in err
    assert "myositis registry copy SRC DEST --replace" in err
