"""FHIR R4 deaths (schema version 4, table ``death``): a Patient's ``deceasedDateTime`` is the
person's death, its day as written; a Patient deceased without a day (``deceasedBoolean``
true, a year or a month only) is stored without a death and counted in the warnings, since a
death needs its date; a death before the birth rejects the Patient with it (one record). The
export writes each death as its Patient's ``deceasedDateTime`` (valid R4), which a second
import reads back (a cause has no place in a Patient: it is not exported). SYNTHETIC data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from myositis.sources.contract import reader_for
from myositis.sources.export import export_registry
from myositis.sources.fhir import Reader
from myositis.sources.write import write_import
from sources.fhir.test_mapping import _rows

SQL = (
    "SELECT p.source_id, d.death_date::VARCHAR, d.cause_code_system, d.cause_code, "
    "d.source_record, d.source_location FROM death d JOIN person p USING (person_id) "
    "ORDER BY p.source_id"
)
UNDATED = (
    "Patients deceased without a day (deceasedBoolean true, or a deceasedDateTime of a year or "
    "a month only): stored without a death row, as a death needs its date (give "
    "deceasedDateTime as YYYY-MM-DD)"
)


def _patient(pid: str, **more: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female",
            "birthDate": "1970-01-01"} | more  # fmt: skip


def test_deceased_date_time_is_the_death_and_an_undated_one_is_counted(tmp_path: Path) -> None:
    """p1 died late on 2021-03-04 in her time zone (the day as written, as for every
    resource), p2 on 2020-02-01; p3 is deceased without a date and p4 in May 2020 only: stored
    without a death, counted once each in one warning; p5 is alive (deceasedBoolean false);
    p6's death, 1969-12-31, is before her birth: the Patient is one record, rejected with its
    death. 6 records read, 5 stored, 1 rejected."""
    patients = [
        _patient("p1", deceasedDateTime="2021-03-04T23:30:00-05:00"),
        _patient("p2", deceasedDateTime="2020-02-01"),
        _patient("p3", deceasedBoolean=True),
        _patient("p4", deceasedDateTime="2020-05"),
        _patient("p5", deceasedBoolean=False),
        _patient("p6", deceasedDateTime="1969-12-31"),
    ]
    source = tmp_path / "site.json"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in patients]}  # fmt: skip
    source.write_text(json.dumps(bundle), encoding="utf-8")
    into = tmp_path / "r.duckdb"
    result = write_import(Reader(source), into, errors="report")
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored", 6, 5, 1
    )  # fmt: skip
    assert [p.describe() for p in result.problems] == [
        "site.json entry 6 Patient/p6, field 'death_date': value '1969-12-31': before the "
        "person's birth (born 1970-01-01): correct the death date, or the birth date of the "
        "person"
    ]
    assert result.warnings == [f"2 {UNDATED}"]
    assert _rows(into, SQL) == [
        ("p1", "2021-03-04", None, None, "Patient/p1", "site.json entry 1 Patient/p1"),
        ("p2", "2020-02-01", None, None, "Patient/p2", "site.json entry 2 Patient/p2"),
    ]
    assert _rows(into, "SELECT source_id FROM person ORDER BY 1") == [
        ("p1",), ("p2",), ("p3",), ("p4",), ("p5",)
    ]  # fmt: skip


PERSON_CSV = """person_id,source_id,site,sex,birth_date
1,p1,a,F,1970-01-01
2,p2,a,M,1960-01-01
"""
DEATH_CSV = """person_id,death_date,cause_code_system,cause_code
1,2021-03-04,ICD10CM,J84.9
"""


def test_a_death_is_exported_as_deceased_date_time_and_read_back(tmp_path: Path) -> None:
    """Person 1 died on 2021-03-04 (of ICD-10-CM J84.9): her Patient has deceasedDateTime
    2021-03-04, person 2's none; both valid R4. Read back from NDJSON and from bundles, the
    same death, without its cause (a Patient records none)."""
    from fhir.resources.R4B import get_fhir_model_class

    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(PERSON_CSV, encoding="utf-8")
    (sheets / "death.csv").write_text(DEATH_CSV, encoding="utf-8")
    registry = tmp_path / "r.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    export_registry(registry, tmp_path / "ndjson", "fhir-ndjson")
    lines = (tmp_path / "ndjson" / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    written = [json.loads(line) for line in lines]
    assert [(p["id"], p.get("deceasedDateTime")) for p in written] == [
        ("p1", "2021-03-04"), ("p2", None)
    ]  # fmt: skip
    model = get_fhir_model_class("Patient")
    for resource in written:
        assert model.model_validate(resource).model_dump(by_alias=True, exclude_none=True)
    export_registry(registry, tmp_path / "bundles", "fhir")
    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.records_in, reread.rejected) == ("stored", 2, 0)
        assert [r[:4] for r in _rows(again, SQL)] == [("p1", "2021-03-04", None, None)]
