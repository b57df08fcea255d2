"""FHIR R4 Procedures (schema version 3, table ``procedure``): the import takes the first
coding of a known code system, the day from ``performedDateTime`` or ``performedPeriod``
(its end as ``end_date``); a Procedure not done is rejected, one without a known code is no
record, one without a day or ending before it starts is refused; the export writes each row
back as a Procedure and a second import reads the same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from myositis.sources.export import export_registry
from myositis.sources.fhir import Reader
from myositis.sources.write import ImportResult, write_import
from sources.fhir.test_mapping import _rows

CPT = "http://www.ama-assn.org/go/cpt"
LOCAL = "http://hospital.example/procedures"
P = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971-02-03"}
# CPT 20206: muscle biopsy, percutaneous needle (the time of day is dropped: the registry keeps
# the day, as the source wrote it)
BIOPSY = {
    "resourceType": "Procedure", "id": "pr1", "status": "completed", "subject": P,
    "code": {"coding": [{"system": CPT, "code": "20206"}]},
    "performedDateTime": "2021-03-04T10:15:00+01:00",
}  # fmt: skip
# CPT 95886: needle EMG; the site's own code comes first and is passed over for the CPT one
EMG = {
    "resourceType": "Procedure", "id": "pr2", "status": "completed", "subject": P,
    "code": {"coding": [{"system": LOCAL, "code": "EMG-4"}, {"system": CPT, "code": "95886"}]},
    "performedPeriod": {"start": "2021-03-10", "end": "2021-03-12"},
}  # fmt: skip
NOT_DONE = {
    "resourceType": "Procedure", "id": "pr3", "status": "not-done", "subject": P,
    "code": {"coding": [{"system": CPT, "code": "20206"}]},
    "performedDateTime": "2021-04-01",
}  # fmt: skip
SITE_CODE_ONLY = {
    "resourceType": "Procedure", "id": "pr4", "status": "completed", "subject": P,
    "code": {"coding": [{"system": LOCAL, "code": "MRI-THIGH"}]},
    "performedDateTime": "2021-03-20",
}  # fmt: skip

SQL = (
    "SELECT p.source_id, r.code_system, r.code, r.procedure_date::VARCHAR, "
    "r.end_date::VARCHAR FROM procedure r JOIN person p USING (person_id) "
    "ORDER BY r.procedure_date"
)
STORED = [
    ("p1", "CPT4", "20206", "2021-03-04", None),
    ("p1", "CPT4", "95886", "2021-03-10", "2021-03-12"),
]


def _import(tmp_path: Path, resources: list[dict[str, Any]], into: Path) -> ImportResult:
    source = tmp_path / "site.json"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    source.write_text(json.dumps(bundle), encoding="utf-8")
    return write_import(Reader(source), into)


def test_procedures_are_stored_exported_and_read_back_the_same(tmp_path: Path) -> None:
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, BIOPSY, EMG, NOT_DONE, SITE_CODE_ONLY], into)
    # the Procedure not done is rejected and the rest stored, as a MedicationStatement not
    # taken; the one with the site's code only is no record, counted in the warnings
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored",
        4,
        3,
        1,
    )
    assert [(p.describe(), p.severity) for p in result.problems] == [
        (
            "site.json, entry 4, Procedure/pr3, field 'status': value 'not-done': marked not "
            "done in the source: no procedure",
            "rejected",
        )
    ]
    assert result.warnings == ["1 not imported: Procedures without a coding of a known code system"]
    assert _rows(into, SQL) == STORED
    assert _rows(into, "SELECT source_record, source_location FROM procedure ORDER BY 1") == [
        ("Procedure/pr1", "site.json entry 2 Procedure/pr1"),
        ("Procedure/pr2", "site.json entry 3 Procedure/pr2"),
    ]
    # FHIR records the code itself: no source code (data model version 5); the same bundle
    # again changes nothing
    assert _rows(into, "SELECT source_code_system, source_code FROM procedure") == [
        (None, None),
        (None, None),
    ]
    again = _import(tmp_path, [PATIENT, BIOPSY, EMG, NOT_DONE, SITE_CODE_ONLY], into)
    assert (again.rows("added"), again.rows("updated"), again.rows("unchanged")) == (0, 0, 3)

    export_registry(into, tmp_path / "ndjson", "fhir-ndjson")
    lines = (tmp_path / "ndjson" / "Procedure.ndjson").read_text(encoding="utf-8").splitlines()
    expected = [
        {
            "resourceType": "Procedure",
            "id": "procedure-1",
            "status": "completed",
            "code": {"coding": [{"system": CPT, "code": "20206"}]},
            "subject": {"reference": "Patient/p1"},
            "performedDateTime": "2021-03-04",
        },
        {
            "resourceType": "Procedure",
            "id": "procedure-2",
            "status": "completed",
            "code": {"coding": [{"system": CPT, "code": "95886"}]},
            "subject": {"reference": "Patient/p1"},
            "performedPeriod": {"start": "2021-03-10", "end": "2021-03-12"},
        },
    ]
    assert [json.loads(line) for line in lines] == expected

    export_registry(into, tmp_path / "bundles", "fhir")
    [path] = sorted((tmp_path / "bundles").iterdir())
    bundle = json.loads(path.read_text(encoding="utf-8"))
    procedures = [
        (e["fullUrl"], e["resource"])
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Procedure"
    ]
    assert procedures == [
        ("Procedure/procedure-1", expected[0]),
        ("Procedure/procedure-2", expected[1]),
    ]

    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.rejected, reread.problems) == ("stored", 0, [])
        assert _rows(again, SQL) == STORED


def test_an_end_before_the_start_refuses_the_import(tmp_path: Path) -> None:
    backwards = {**EMG, "id": "pr5"} | {
        "performedPeriod": {"start": "2021-03-10", "end": "2021-03-01"}
    }
    refused = _import(tmp_path, [PATIENT, BIOPSY, backwards], tmp_path / "refused.duckdb")
    # imports are all or nothing: the biopsy is not stored either
    assert (refused.status, refused.records_in, refused.stored) == ("refused", 3, 0)
    assert [p.describe() for p in refused.problems] == [
        "site.json entry 3 Procedure/pr5, field 'end_date': value '2021-03-01': ends before it "
        "starts (2021-03-10)"
    ]
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, BIOPSY], into)
    assert (result.status, result.records_in, result.stored) == ("stored", 2, 2)
    assert _rows(into, SQL) == STORED[:1]


@pytest.mark.parametrize(
    ("performed", "problem"),
    [
        ({}, "field 'performedDateTime': a date is required"),
        (
            {"performedPeriod": {"end": "2021-03-12"}},
            "field 'performedPeriod.start': a date is required",
        ),
        (
            {"performedString": "spring 2021"},
            "field 'performedString': value 'spring 2021': a date is required: give "
            "performedDateTime or performedPeriod.start (an age, range or text gives no day)",
        ),
        (
            {"performedDateTime": "2021-03"},
            "field 'performedDateTime': value '2021-03': the date is not precise to the day "
            "(YYYY-MM-DD needed)",
        ),
    ],
)
def test_a_procedure_without_its_day_is_refused(
    tmp_path: Path, performed: dict[str, Any], problem: str
) -> None:
    undated = {k: v for k, v in BIOPSY.items() if k != "performedDateTime"} | performed
    result = _import(tmp_path, [PATIENT, undated], tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("refused", 2, 0)
    assert [p.describe() for p in result.problems] == [
        f"site.json, entry 2, Procedure/pr1, {problem}"
    ]


def test_a_procedure_in_preparation_is_rejected(tmp_path: Path) -> None:
    """FHIR R4 EventStatus ``preparation``: the procedure has not started, so no procedure
    happened; rejected like one not done, the rest stored."""
    planned = {**NOT_DONE, "id": "pr5", "status": "preparation"}
    result = _import(tmp_path, [PATIENT, BIOPSY, planned], tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored",
        3,
        2,
        1,
    )
    assert [p.describe() for p in result.problems] == [
        "site.json, entry 3, Procedure/pr5, field 'status': value 'preparation': still in "
        "preparation in the source: no procedure"
    ]
