"""``myositis import csv``: atomic, idempotent, every record accounted for; round trips keep
the data fingerprint. Data: the SYNTHETIC examples/min2022 folder and small hand-made files."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from myositis.registry import connect
from myositis.registry.fingerprint import data_fingerprint, verified_fingerprint
from myositis.registry.observation import observation_periods
from myositis.registry.store import read_metadata
from myositis.sources.contract import reader_for
from myositis.sources.export import export_registry
from myositis.sources.write import ImportResult, write_import

from .conftest import MIN2022


def _import(source: Path, into: Path, **kwargs: object) -> ImportResult:
    return write_import(reader_for("csv", source), into, **kwargs)  # type: ignore[arg-type]


def _rows(registry: Path, table: str) -> list[dict[str, object]]:
    con = connect(registry)
    rows = con.table(table).to_pyarrow().to_pylist()
    con.disconnect()
    return rows


def test_min2022_imports_whole_and_twice_adds_nothing(tmp_path: Path) -> None:
    registry = tmp_path / "r.duckdb"
    first = _import(MIN2022, registry)
    # 18 persons + 18 races + 35 diagnoses + 11 subtypes + 99 exposures + 82 assessments
    # + 6 laboratory results + 1 adverse event (the row counts of the CSV files)
    assert (first.status, first.records_in, first.stored, first.rejected) == ("stored", 270, 270, 0)
    assert first.rows("added") == 270 and first.import_id == 1
    folder_fingerprint = data_fingerprint(connect(MIN2022))
    assert data_fingerprint(connect(registry)) == folder_fingerprint
    again = _import(MIN2022, registry)
    assert (again.import_id, again.rows("added"), again.rows("updated")) == (2, 0, 0)
    assert again.rows("unchanged") == 270
    assert data_fingerprint(connect(registry)) == folder_fingerprint
    log = _rows(registry, "import_log")
    assert [(r["records_in"], r["stored"], r["rejected"]) for r in log] == [(270, 270, 0)] * 2
    # ids of the source are kept where free; provenance names file and line
    person = {r["person_id"]: r for r in _rows(registry, "person")}
    assert sorted(person) == [*range(1, 12), *range(101, 108)]
    assert person[6]["source_id"] == "SYN-0006" and person[6]["import_id"] == 1
    assert person[6]["source_location"] == "person.csv:7"


def test_an_import_records_the_fingerprint_that_study_runs_verify(tmp_path: Path) -> None:
    """Each import ends by recording the fingerprint of every row, so a study run verifies it
    by cheap aggregates instead of hashing every row (myositis.registry.fingerprint)."""
    registry = tmp_path / "r.duckdb"
    _import(MIN2022, registry)
    con = connect(registry)
    recorded = read_metadata(con)["data_fingerprint"]
    assert recorded == data_fingerprint(con) == data_fingerprint(connect(MIN2022))
    assert verified_fingerprint(con, read_metadata(con)).method == "recorded"
    con.disconnect()
    # a second import that changes rows records the new fingerprint
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "person.csv").write_text(
        "site,source_id,sex,birth_date\nsynthetic-site-1,SYN-9999,F,1970-01-01\n"
    )
    assert _import(extra, registry).status == "stored"
    con = connect(registry)
    assert read_metadata(con)["data_fingerprint"] == data_fingerprint(con) != recorded
    assert verified_fingerprint(con, read_metadata(con)).method == "recorded"
    con.disconnect()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_export_import_gives_the_same_registry(tmp_path: Path, fmt: str) -> None:
    first = tmp_path / "a.duckdb"
    _import(MIN2022, first)
    export_registry(first, tmp_path / "out", fmt)
    assert data_fingerprint(connect(tmp_path / "out")) == data_fingerprint(connect(first))
    if fmt == "csv":
        second = tmp_path / "b.duckdb"
        result = _import(tmp_path / "out", second)
        assert result.status == "stored" and result.balanced
        assert data_fingerprint(connect(second)) == data_fingerprint(connect(first))
        # and the second registry is the first one, row for row (provenance aside)
        keep = ["source_record"]
        for table in ("person", "assessment", "laboratory"):
            a = sorted(
                map(
                    repr,
                    (
                        {k: r[k] for k in r if k not in ("import_id", "source_location")}
                        for r in _rows(first, table)
                    ),
                )
            )
            b = sorted(
                map(
                    repr,
                    (
                        {k: r[k] for k in r if k not in ("import_id", "source_location")}
                        for r in _rows(second, table)
                    ),
                )
            )
            assert a == b, (table, keep)


def test_a_changed_record_updates_its_row(sheets: Path, tmp_path: Path) -> None:
    registry = tmp_path / "r.duckdb"
    _import(sheets, registry)
    lab = sheets / "laboratory.csv"
    old, new = "2017-10-31,950,U/L,190,U/L,950,U/L", "2017-10-31,960,U/L,190,U/L,960,U/L"
    assert old in lab.read_text()
    lab.write_text(lab.read_text().replace(old, new))
    result = _import(sheets, registry)
    assert (result.rows("added"), result.rows("updated")) == (0, 1)
    values = sorted(r["value"] for r in _rows(registry, "laboratory") if r["person_id"] == 6)
    assert values == [120.0, 240.0, 960.0]  # replaced, not added beside the old value
    assert len(_rows(registry, "laboratory")) == 6


def _person_files(folder: Path, person: str, lab: str | None = None) -> Path:
    folder.mkdir()
    (folder / "person.csv").write_text(
        "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n" + person
    )
    if lab is not None:
        (folder / "laboratory.csv").write_text(
            "person_id,test,loinc,result_date,value,unit,uln,uln_unit\n" + lab
        )
    return folder


def test_units_are_converted_and_the_source_kept(tmp_path: Path) -> None:
    """CK 2 ukat/L = 120 U/L and an ULN of 3.2 ukat/L = 192 U/L (1 ukat/L = 60 U/L, UCUM)."""
    source = _person_files(
        tmp_path / "in",
        "1,MRN-1,a,F,1970-01-01,,,\n",
        "1,ck,2157-6,2020-01-02,2,ukat/L,3.2,\n1,ck,2157-6,2020-02-02,150,IU/L,190,U/L\n",
    )
    registry = tmp_path / "r.duckdb"
    assert _import(source, registry).status == "stored"
    rows = sorted(_rows(registry, "laboratory"), key=lambda r: r["result_date"])
    assert [(r["value"], r["unit"], r["uln"], r["uln_unit"]) for r in rows] == [
        (120.0, "U/L", pytest.approx(192.0), "U/L"),
        (150.0, "U/L", 190.0, "U/L"),
    ]
    assert [(r["source_value"], r["source_unit"]) for r in rows] == [
        (2.0, "ukat/L"),
        (150.0, "IU/L"),
    ]


def _refused(result: ImportResult, registry: Path) -> list[str]:
    assert result.status == "refused" and not registry.exists()
    assert result.stored == 0 and result.rejected == result.records_in
    return [p.describe() for p in result.problems if p.severity == "error"]


BAD = {
    "a date that does not exist": (
        "1,MRN-1,a,F,1970-02-30,,,\n",
        None,
        "person.csv, line 2, field 'birth_date': value '1970-02-30': this date does not exist",
    ),
    "a birth date in the future": (
        "1,MRN-1,a,F,2999-01-01,,,\n",
        None,
        "person.csv:2, field 'birth_date': value '2999-01-01': a date in the future",
    ),
    "an unknown unit": (
        "1,MRN-1,a,F,1970-01-01,,,\n",
        "1,ck,2157-6,2020-01-02,12,mg/dL,190,\n",
        "laboratory.csv:2, field 'source_unit': value 'mg/dL': this unit does not convert",
    ),
    "a duplicate record id": (
        "1,MRN-1,a,F,1970-01-01,,,\n2,MRN-1,a,M,1980-01-01,,,\n",
        None,
        "person.csv:3, field 'source_id': value 'MRN-1': the same person source id appears "
        "more than once (first at person.csv:2)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_named_and_nothing_is_imported(tmp_path: Path, case: str) -> None:
    person, lab, expected = BAD[case]
    source = _person_files(tmp_path / "in", person, lab)
    registry = tmp_path / "r.duckdb"
    messages = _refused(_import(source, registry), registry)
    assert any(m.startswith(expected) for m in messages), messages


def test_an_unknown_drug_code_is_stored_and_unknown_columns_are_named(tmp_path: Path) -> None:
    source = _person_files(tmp_path / "in", "1,MRN-1,a,F,1970-01-01,,,\n")
    (source / "drug_exposure.csv").write_text(
        "person_id,ingredient,code_system,code,start_date,comment\n"
        "1,tofacitinib,RXNORM,99999999,2020-01-01,free text\n"
    )
    result = _import(source, tmp_path / "r.duckdb")
    assert result.status == "stored"
    assert _rows(tmp_path / "r.duckdb", "drug_exposure")[0]["code"] == "99999999"
    assert any("column(s) comment are not in the data model" in w for w in result.warnings)


def test_entered_in_error_is_rejected_and_counted(tmp_path: Path) -> None:
    source = _person_files(tmp_path / "in", "1,MRN-1,a,F,1970-01-01,,,\n")
    (source / "diagnosis.csv").write_text(
        "person_id,code_system,code,diagnosis_date,status\n"
        "1,ICD10CM,M33.10,2020-01-01,\n"
        "1,ICD10CM,M33.12,2020-02-01,entered-in-error\n"
        "1,ICD10CM,M33.13,2020-03-01,Cancelled\n"
    )
    result = _import(source, tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 4, 2, 2)
    assert sorted(p.reason for p in result.problems) == [
        "marked cancelled in the source",
        "marked entered in error in the source",
    ]
    assert [r["code"] for r in _rows(tmp_path / "r.duckdb", "diagnosis")] == ["M33.10"]


def test_errors_report_stores_the_valid_records(tmp_path: Path) -> None:
    source = _person_files(
        tmp_path / "in", "1,MRN-1,a,F,1970-01-01,,,\n2,MRN-2,a,F,1970-02-30,,,\n"
    )
    (source / "diagnosis.csv").write_text(
        "person_id,code_system,code,diagnosis_date\n1,ICD10CM,M33.10,2020-01-01\n"
        "2,ICD10CM,M33.10,2020-01-01\n"
    )
    result = _import(source, tmp_path / "r.duckdb", errors="report")
    # person 2 is rejected for the date, and so is their diagnosis, saying why
    assert (result.records_in, result.stored, result.rejected) == (4, 2, 2)
    assert [p.describe() for p in result.problems] == [
        "person.csv, line 3, field 'birth_date': value '1970-02-30': this date does not exist "
        "(check the day and the month)",
        "diagnosis.csv, line 3, field 'person_id': value '2': the person's own record "
        "(person.csv:3) has a problem: correct it there, and this record is imported with the "
        "person",
    ]
    assert [r["source_id"] for r in _rows(tmp_path / "r.duckdb", "person")] == ["MRN-1"]


def test_bom_and_windows_line_endings_import_and_latin1_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    text = "person_id,source_id,site,sex\r\n1,MRN-1,a,F\r\n2,MRN-2,b,M\r\n"
    (source / "person.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = _import(source, tmp_path / "r.duckdb")
    assert (result.status, result.stored) == ("stored", 2)
    assert [r["sex"] for r in _rows(tmp_path / "r.duckdb", "person")] == ["F", "M"]
    (source / "person.csv").write_bytes("person_id,site\n1,Zürich\n".encode("latin-1"))
    with pytest.raises(Exception, match="person.csv: is not UTF-8 text .*save it as UTF-8"):
        _import(source, tmp_path / "s.duckdb")
    assert not (tmp_path / "s.duckdb").exists()


def test_xlsx_workbook_and_files_read_like_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    person = book.active
    person.title = "person"
    person.append(["person_id", "source_id", "site", "sex", "birth_date"])
    person.append([1, "MRN-1", "a", "F", dt.datetime(1970, 1, 1)])
    diagnosis = book.create_sheet("diagnosis")
    diagnosis.append(["person_id", "code_system", "code", "diagnosis_date"])
    diagnosis.append([1, "ICD10CM", "M33.10", dt.date(2020, 1, 1)])
    book.create_sheet("notes").append(["anything"])
    path = tmp_path / "registry.xlsx"
    book.save(path)
    result = _import(path, tmp_path / "r.duckdb")
    assert (result.status, result.stored) == ("stored", 2)
    assert any("notes" in w for w in result.warnings)
    assert _rows(tmp_path / "r.duckdb", "person")[0]["birth_date"] == dt.date(1970, 1, 1)
    assert (
        _rows(tmp_path / "r.duckdb", "diagnosis")[0]["source_location"]
        == "registry.xlsx[diagnosis]:2"
    )


def test_cli_import_refuses_with_exit_2_and_writes_the_report(tmp_path: Path) -> None:
    source = _person_files(tmp_path / "in", "1,MRN-1,a,F,1970-02-30,,,\n")
    out = subprocess.run(
        [sys.executable, "-m", "myositis.cli", "import", "csv", str(source), "--into",
         str(tmp_path / "r.duckdb"), "--report", str(tmp_path / "rep")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "person.csv, line 2, field 'birth_date': value '1970-02-30'" in out.stderr
    assert not (tmp_path / "r.duckdb").exists()
    report = json.loads(next((tmp_path / "rep").glob("refused-*.json")).read_text())
    assert (report["kind"], report["status"], report["records_in"], report["rejected"]) == (
        "import",
        "refused",
        1,
        1,
    )
    html = next((tmp_path / "rep").glob("refused-*.html")).read_text()
    assert "nothing was written" in html and "1970-02-30" in html


def test_a_source_kind_whose_module_is_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # every kind on the command line has its reader in this version; a kind whose module is
    # not installed (a trimmed build, a later importer) must still be refused in words
    from myositis.errors import SourceError
    from myositis.sources import contract

    monkeypatch.setitem(contract.READERS, "i2b2", "myositis.sources.i2b2")
    with pytest.raises(SourceError, match="the i2b2 importer is not available yet"):
        reader_for("i2b2", "export/")


def test_measurements_are_stored_as_given_and_a_registry_test_is_sent_to_laboratory(
    tmp_path: Path,
) -> None:
    """measurement.csv: a body weight, a coded result with its normal range; a CK result
    (LOINC 2157-6, a registry test: a laboratory row, in U/L with its ULN) and a measurement
    dated after the import day are each rejected with the row, field and what to do."""
    source = _person_files(tmp_path / "in", "1,MRN-1,a,F,1970-01-01,,,\n")
    (source / "measurement.csv").write_text(
        "person_id,code_system,code,measurement_date,value,unit,range_low,range_high,"
        "value_code_system,value_code\n"
        "1,LOINC,29463-7,2020-01-02,71.5,kg,,,,\n"
        "1,loinc,94500-6,2020-03-01,,,,,SNOMED,260373001\n"
        "1,LOINC,2160-0,2020-03-01,0.9,mg/dL,0.5,1.1,,\n"
        "1,LOINC,2157-6,2020-03-01,350,U/L,,190,,\n"
        "1,LOINC,29463-7,2999-01-01,70,kg,,,,\n"
    )
    registry = tmp_path / "r.duckdb"
    result = _import(source, registry, errors="report")
    assert (result.records_in, result.stored, result.rejected) == (6, 4, 2)
    assert sorted(p.describe() for p in result.problems) == [
        "measurement.csv:5, field 'code': value 'LOINC 2157-6': a result of the registry test "
        "ck, which is a laboratory row (in its canonical unit, with the upper limit of "
        "normal): give it in the laboratory table",
        "measurement.csv:6, field 'measurement_date': value '2999-01-01': a date in the "
        f"future (after {dt.date.today().isoformat()}); correct the date",
    ]
    rows = sorted(_rows(registry, "measurement"), key=lambda r: r["source_location"])
    assert [
        (r["code_system"], r["code"], r["value"], r["unit"], r["range_low"], r["range_high"],
         r["value_code_system"], r["value_code"])
        for r in rows
    ] == [
        ("LOINC", "29463-7", 71.5, "kg", None, None, None, None),
        # stored as given; code sets compare code systems in upper case (registry/vocabulary.py)
        ("loinc", "94500-6", None, None, None, None, "SNOMED", "260373001"),
        ("LOINC", "2160-0", 0.9, "mg/dL", 0.5, 1.1, None, None),
    ]  # fmt: skip


#: Six SYNTHETIC persons: born on a day (1, 2, 3, 5, 6) or in a year only (4).
DEATH_PERSONS = """1,MRN-1,a,F,1950-01-01,,,
2,MRN-2,a,M,1960-01-01,,,
3,MRN-3,a,F,1970-01-01,,,
4,MRN-4,a,M,,1980,,
5,MRN-5,a,F,1990-01-01,,,
6,MRN-6,a,M,1990-01-01,,,
"""


def test_a_death_is_one_per_person_after_the_birth_and_of_a_known_person(tmp_path: Path) -> None:
    """death.csv: two deaths stored (one with its ICD-10-CM cause); rejected, each naming the
    line, field and value: a death before the birth day (line 3) and before the birth year
    (line 7), a second death of one person (line 5), a death of a person neither in person.csv
    nor in the registry (line 6), one after the import day (line 8), one without its date
    (line 9). 6 persons + 8 deaths read = 8 stored + 6 rejected."""
    source = _person_files(tmp_path / "in", DEATH_PERSONS)
    (source / "death.csv").write_text(
        "person_id,death_date,cause_code_system,cause_code\n"
        "1,2020-03-01,ICD10CM,J84.9\n"
        "2,1959-12-31,,\n"
        "3,2021-01-01,,\n"
        "3,2021-02-01,,\n"
        "9,2021-01-01,,\n"
        "4,1979-12-31,,\n"
        "5,2999-01-01,,\n"
        "6,,,\n"
    )
    registry = tmp_path / "r.duckdb"
    result = _import(source, registry, errors="report")
    assert (result.records_in, result.stored, result.rejected) == (14, 8, 6)
    problems = sorted(p.describe() for p in result.problems)
    assert problems == [
        "death.csv:3, field 'death_date': value '1959-12-31': before the person's birth (born "
        "1960-01-01): correct the death date, or the birth date of the person",
        "death.csv:5, field 'person_id': value '3': a second death of this person "
        "in the import (first at death.csv:4): a person dies once; keep the one death row "
        "that is right",
        "death.csv:6, field 'person_id': value '9': no person with this person_id in the "
        "import or in the registry",
        "death.csv:7, field 'death_date': value '1979-12-31': before the person's birth (born "
        "in 1980): correct the death date, or the birth date of the person",
        "death.csv:8, field 'death_date': value '2999-01-01': a date in the future (after "
        f"{dt.date.today().isoformat()}); correct the date",
        "death.csv:9, field 'death_date': a value is required",
    ]
    rows = sorted(_rows(registry, "death"), key=lambda r: r["person_id"])
    assert [
        (r["person_id"], r["death_date"], r["cause_code_system"], r["cause_code"],
         r["source_location"])
        for r in rows
    ] == [
        (1, dt.date(2020, 3, 1), "ICD10CM", "J84.9", "death.csv:2"),
        (3, dt.date(2021, 1, 1), None, None, "death.csv:4"),
    ]  # fmt: skip
    # by default the problems refuse the import, nothing written: the same ones, all at once
    refused = _import(source, tmp_path / "stop.duckdb")
    assert (refused.status, refused.stored, refused.rejected) == ("refused", 0, 14)
    assert sorted(p.describe() for p in refused.problems) == problems
    assert not (tmp_path / "stop.duckdb").exists()


def test_a_second_death_names_the_person_as_death_csv_does(tmp_path: Path) -> None:
    """death.csv names its person by person_id, which person.csv links to the person's
    source id: a second death of one person, in the files or in the registry, is refused
    naming death.csv's line, its field person_id and its value as written (never the source
    id the import links it to), and what to do."""
    source = _person_files(tmp_path / "in", DEATH_PERSONS)
    (source / "death.csv").write_text("person_id,death_date\n3,2021-01-01\n3,2021-02-01\n")
    registry = tmp_path / "r.duckdb"
    refused = _import(source, registry)
    assert [p.as_dict() for p in refused.problems] == [
        {"file": None, "record": "death.csv:3", "field": "person_id", "value": "3",
         "reason": "a second death of this person in the import (first at death.csv:2): a "
         "person dies once; keep the one death row that is right", "severity": "error"},
    ]  # fmt: skip
    (source / "death.csv").write_text("person_id,death_date\n3,2021-01-01\n")
    assert _import(source, registry).status == "stored"
    # another source (a source_record of its own) gives her (site a, MRN-3) person_id 7
    other = _person_files(tmp_path / "other", "7,MRN-3,a,F,1970-01-01,,,\n")
    (other / "death.csv").write_text("person_id,death_date,source_record\n7,2021-02-01,D-7\n")
    again = _import(other, registry)
    assert [p.describe() for p in again.problems] == [
        "death.csv:2, field 'person_id': value '7': the registry holds a death of this person "
        "already (death_date 2021-01-01, import 1): a person dies once; give the death in one "
        "source only (a re-import of the same source and record updates it)"
    ]


def test_every_problem_is_reported_in_one_refusal(tmp_path: Path) -> None:
    """With --errors stop, bad dates in diagnosis.csv (one that does not exist, one in the
    future) and the death problems (a person neither in person.csv nor in the registry, a
    second death) are reported in the one refusal, nothing written; once they are corrected
    the same files import with no new problem. 6 persons + 4 diagnoses + 3 deaths read."""
    source = _person_files(tmp_path / "in", DEATH_PERSONS)
    diagnoses = "person_id,code_system,code,diagnosis_date\n{}3,ICD10CM,M33.10,2020-01-01\n"
    (source / "diagnosis.csv").write_text(
        diagnoses.format("1,ICD10CM,M33.10,2020-02-30\n2,ICD10CM,M33.10,2999-01-01\n")
    )
    (source / "death.csv").write_text(
        "person_id,death_date\n9,2021-01-01\n5,2021-01-01\n5,2021-02-01\n"
    )
    registry = tmp_path / "r.duckdb"
    refused = _import(source, registry)
    assert refused.records_in == 12
    assert _refused(refused, registry) == [
        "diagnosis.csv, line 2, field 'diagnosis_date': value '2020-02-30': this date does not "
        "exist (check the day and the month)",
        "diagnosis.csv:3, field 'diagnosis_date': value '2999-01-01': a date in the future "
        f"(after {dt.date.today().isoformat()}); correct the date",
        "death.csv:2, field 'person_id': value '9': no person with this person_id in the "
        "import or in the registry",
        "death.csv:4, field 'person_id': value '5': a second death of this person in the "
        "import (first at death.csv:3): a person dies once; keep the one death row that is "
        "right",
    ]
    (source / "diagnosis.csv").write_text(
        diagnoses.format("1,ICD10CM,M33.10,2020-02-28\n2,ICD10CM,M33.10,2020-01-01\n")
    )
    (source / "death.csv").write_text("person_id,death_date\n6,2021-01-01\n5,2021-01-01\n")
    stored = _import(source, registry)
    assert (stored.status, stored.records_in, stored.stored, stored.problems) == (
        "stored", 11, 11, []
    )  # fmt: skip


def test_a_record_of_a_person_whose_own_row_is_bad_says_so(tmp_path: Path) -> None:
    """A person's own row with a bad value (a date that does not exist, found at reading; one
    in the future, found by the checks) takes the person's other records with it, each saying
    so in the same refusal, none called a record of an unknown person. With --errors report
    the others are stored, and person 2's diagnosis is not given to the registry's person 2
    (another person, MRN-9)."""
    registry = tmp_path / "r.duckdb"
    first = _person_files(tmp_path / "first", "2,MRN-9,b,M,1940-01-01,,,\n")
    assert _import(first, registry).status == "stored"
    source = _person_files(
        tmp_path / "in",
        "1,MRN-1,a,F,1950-01-01,,,\n2,MRN-2,a,F,1970-02-30,,,\n3,MRN-3,a,F,2999-01-01,,,\n",
    )
    (source / "diagnosis.csv").write_text(
        "person_id,code_system,code,diagnosis_date\n1,ICD10CM,M33.10,2020-01-01\n"
        "2,ICD10CM,M33.10,2020-01-01\n3,ICD10CM,M33.10,2020-01-01\n"
    )
    (source / "death.csv").write_text("person_id,death_date\n3,2021-01-01\n")
    own = "has a problem: correct it there, and this record is imported with the person"
    expected = [
        "person.csv, line 3, field 'birth_date': value '1970-02-30': this date does not exist "
        "(check the day and the month)",
        f"diagnosis.csv, line 3, field 'person_id': value '2': the person's own record "
        f"(person.csv:3) {own}",
        "person.csv:4, field 'birth_date': value '2999-01-01': a date in the future (after "
        f"{dt.date.today().isoformat()}); correct the date",
        f"diagnosis.csv:4, field 'person_id': value '3': the person's own record "
        f"(person.csv:4) {own}",
        f"death.csv:2, field 'person_id': value '3': the person's own record (person.csv:4) {own}",
    ]
    refused = _import(source, registry)
    assert refused.status == "refused" and [p.describe() for p in refused.problems] == expected
    reported = _import(source, registry, errors="report")
    assert (reported.records_in, reported.stored, reported.rejected) == (7, 2, 5)
    assert [p.describe() for p in reported.problems] == expected
    assert [(r["person_id"], r["source_id"]) for r in _rows(registry, "person")] == [
        (2, "MRN-9"), (1, "MRN-1")
    ]  # fmt: skip
    assert [r["person_id"] for r in _rows(registry, "diagnosis")] == [1]


def test_a_death_again_updates_it_and_a_second_record_of_it_is_refused(tmp_path: Path) -> None:
    """The person alone names a spreadsheet's death (IMPORT_KEYS): importing death.csv again
    with another date updates the row; a death of the same person under another record (a
    source_record of its own) is a second death, refused naming the stored one."""
    source = _person_files(tmp_path / "in", "1,MRN-1,a,F,1950-01-01,,,\n")
    (source / "death.csv").write_text("person_id,death_date\n1,2020-03-01\n")
    registry = tmp_path / "r.duckdb"
    assert _import(source, registry).status == "stored"
    (source / "death.csv").write_text("person_id,death_date\n1,2020-03-02\n")
    again = _import(source, registry)
    assert (again.status, again.import_id, again.rows("updated"), again.rows("added")) == (
        "stored", 2, 1, 0
    )  # fmt: skip
    assert [(r["death_date"], r["import_id"]) for r in _rows(registry, "death")] == [
        (dt.date(2020, 3, 2), 2)
    ]
    other = tmp_path / "other"
    other.mkdir()
    (other / "death.csv").write_text("person_id,death_date,source_record\n1,2020-03-02,D-7\n")
    refused = _import(other, registry)
    assert refused.status == "refused"
    assert [p.describe() for p in refused.problems] == [
        "death.csv:2, field 'person_id': value '1': the registry holds a death of this person "
        "already (death_date 2020-03-02, import 2): a person dies once; give the death in one "
        "source only (a re-import of the same source and record updates it)"
    ]
    assert len(_rows(registry, "death")) == 1


def test_records_more_than_60_days_after_a_death_are_counted_not_refused(tmp_path: Path) -> None:
    """Person 1 died on 2020-03-01: a CK of 2020-04-30 (day 60) is not counted, those of
    2020-05-01 (day 61) and 2021-05-01 are, and a diagnosis of 2020-06-01: every record is
    stored, and the import's warnings count them per table (OHDSI DQD plausibleBeforeDeath);
    a later import adding a CK of that person counts every late row of hers again.
    `registry check` prints the same warnings; person 1's derived observation period runs from
    her death, her first recorded date, to her last record, the CK of 2022-01-01."""
    source = _person_files(
        tmp_path / "in",
        "1,MRN-1,a,F,1950-01-01,,,\n2,MRN-2,a,M,1960-01-01,,,\n",
        "1,ck,2157-6,2020-04-30,100,U/L,190,U/L\n"
        "1,ck,2157-6,2020-05-01,100,U/L,190,U/L\n"
        "1,ck,2157-6,2021-05-01,100,U/L,190,U/L\n"
        "2,ck,2157-6,2021-05-01,100,U/L,190,U/L\n",
    )
    (source / "death.csv").write_text("person_id,death_date\n1,2020-03-01\n")
    (source / "diagnosis.csv").write_text(
        "person_id,code_system,code,diagnosis_date\n1,ICD10CM,J84.9,2020-06-01\n"
    )
    registry = tmp_path / "r.duckdb"
    result = _import(source, registry)
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored", 8, 8, 0
    )  # fmt: skip
    advice = (
        "Records shortly after a death are usual (results reported, bills closed) and are not "
        "counted; these are later: check the death date (the right person and day?) and these "
        "records, and correct whichever is wrong (OHDSI DQD plausibleBeforeDeath; not refused)."
    )
    diagnosis = (
        "diagnosis.diagnosis_date: 1 row(s) of 1 person(s) dated more than 60 days after the "
        "person's death (first: person_id 1, diagnosis_date 2020-06-01 at diagnosis.csv:2, "
        f"death_date 2020-03-01). {advice}"
    )
    laboratory = (
        "laboratory.result_date: 2 row(s) of 1 person(s) dated more than 60 days after the "
        "person's death (first: person_id 1, result_date 2020-05-01 at laboratory.csv:3, "
        f"death_date 2020-03-01). {advice}"
    )
    assert result.warnings == [diagnosis, laboratory]
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "laboratory.csv").write_text(
        "person_id,test,loinc,result_date,value,unit,uln,uln_unit,source_record\n"
        "1,ck,2157-6,2022-01-01,90,U/L,190,U/L,late-1\n"
    )
    later = _import(extra, registry)
    assert later.warnings == [diagnosis, laboratory.replace("2 row(s)", "3 row(s)")]
    out = subprocess.run(
        [sys.executable, "-m", "myositis.cli", "registry", "check", str(registry)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"warning: {diagnosis}" in out.stderr
    assert f"warning: {laboratory.replace('2 row(s)', '3 row(s)')}" in out.stderr
    assert out.stdout.splitlines()[12] == "death                         1 rows"
    assert out.stdout.rstrip().endswith(
        "rows keep its integrity rules; 4 record(s) dated more than 60 days after the "
        "person's death"
    )
    con = connect(registry)
    periods = observation_periods(con).order_by("person_id").to_pyarrow().to_pylist()
    con.disconnect()
    assert [(p["person_id"], p["start_date"], p["end_date"]) for p in periods] == [
        (1, dt.date(2020, 3, 1), dt.date(2022, 1, 1)),
        (2, dt.date(2021, 5, 1), dt.date(2021, 5, 1)),
    ]


def test_the_templates_hold_death_csv_and_a_filled_one_imports(tmp_path: Path) -> None:
    """``myositis template`` writes 16 files (13 tables, death.csv among them, and the data
    dictionary as CSV and Markdown): death.csv's header is the death columns, death_date is
    required; the template filled with one death imports it."""
    from myositis.sources.templates import data_dictionary, write_templates

    written = write_templates(tmp_path / "sheets")
    assert len(written) == 16 and tmp_path / "sheets" / "death.csv" in written
    header = (tmp_path / "sheets" / "death.csv").read_text().splitlines()
    assert header == ["person_id,death_date,cause_code_system,cause_code,source_record"]
    rows = {(r["column"], r["required"]) for r in data_dictionary() if r["table"] == "death"}
    assert rows == {("person_id", "yes"), ("death_date", "yes"), ("cause_code_system", "no"),
                    ("cause_code", "no"), ("source_record", "no")}  # fmt: skip
    sheets = tmp_path / "sheets"
    (sheets / "person.csv").write_text(
        (sheets / "person.csv").read_text() + "1,MRN-1,a,F,1950-01-01,,,,\n"
    )
    (sheets / "death.csv").write_text(header[0] + "\n1,2023-02-14,ICD10CM,J84.9,\n")
    result = _import(sheets, tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("stored", 2, 2)
    assert [(r["death_date"], r["cause_code"]) for r in _rows(tmp_path / "r.duckdb", "death")] == [
        (dt.date(2023, 2, 14), "J84.9")
    ]


def test_spreadsheet_rows_have_no_source_code_and_a_changed_one_updates_the_row(
    sheets: Path, tmp_path: Path
) -> None:
    """A spreadsheet records its codes as they are: its coded rows are stored with null
    ``source_code_system`` and ``source_code`` (data model version 5) and the same sheets
    again are unchanged. A sheet that gives a source code (a registry exported from a CDM
    keeps them) stores it, and a record whose source code changed is updated, not added."""
    registry = tmp_path / "r.duckdb"
    assert _import(sheets, registry).status == "stored"
    for table, rows in (("diagnosis", 35), ("drug_exposure", 99)):
        found = _rows(registry, table)
        assert len(found) == rows
        assert {(r["source_code_system"], r["source_code"]) for r in found} == {(None, None)}
    again = _import(sheets, registry)
    assert (again.rows("added"), again.rows("updated"), again.rows("unchanged")) == (0, 0, 270)
    diagnoses = sheets / "diagnosis.csv"
    lines = diagnoses.read_text().splitlines()
    assert lines[:2] == ["person_id,code_system,code,diagnosis_date", "1,ICD10CM,M33.10,2014-09-18"]
    lines[0] += ",source_code_system,source_code"
    lines[1] += ",ICD9CM,710.3"
    lines[2:] = [line + ",," for line in lines[2:]]
    diagnoses.write_text("\n".join(lines) + "\n")
    changed = _import(sheets, registry)
    assert (changed.rows("added"), changed.rows("updated")) == (0, 1)
    coded = [r for r in _rows(registry, "diagnosis") if r["source_code"] is not None]
    assert [(r["person_id"], r["code"], r["source_code_system"], r["source_code"])
            for r in coded] == [(1, "M33.10", "ICD9CM", "710.3")]  # fmt: skip
    assert len(_rows(registry, "diagnosis")) == 35
    assert _import(sheets, registry).rows("updated") == 0
