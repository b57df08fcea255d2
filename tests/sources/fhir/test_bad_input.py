"""Bad FHIR input (issue 11, item 6): each refused with one message naming the file and the
line or resource, and nothing imported; a UTF-8 BOM is fine; an unknown drug code is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from myositis.sources.fhir import Reader
from myositis.sources.write import ImportResult, write_import

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-05-01"}


def _condition(rid: str, subject: str = "Patient/p1") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M33.10"}]},
        "subject": {"reference": subject},
        "onsetDateTime": "2021-03-04",
    }


def _ndjson(folder: Path, name: str, resources: list[dict[str, Any]]) -> None:
    folder.mkdir(exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in resources)
    (folder / name).write_text(text, encoding="utf-8")


def _refused(source: Path, tmp_path: Path, count: int = 1) -> tuple[ImportResult, str]:
    registry = tmp_path / "r.duckdb"
    result = write_import(Reader(source), registry)
    assert result.status == "refused"
    assert not registry.exists()  # nothing imported
    errors = [p for p in result.problems if p.severity == "error"]
    assert len(errors) == count, [p.describe() for p in result.problems]
    return result, errors[0].describe()


def test_malformed_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text('{"resourceType": "Bundle",\n "entry": [ {"resource": }]}', encoding="utf-8")
    _, message = _refused(path, tmp_path)
    assert message.startswith("bundle.json, line 2, column 26: is not valid JSON")


def test_a_truncated_ndjson_line_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    _ndjson(folder, "Patient.ndjson", [PATIENT])
    _ndjson(folder, "Condition.ndjson", [_condition("c1")])
    with (folder / "Condition.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(_condition("c2"))[:40] + "\n")
    result, message = _refused(folder, tmp_path)
    assert message.startswith("Condition.ndjson, line 2: is not valid JSON")
    assert "truncated" in message
    assert (result.records_in, result.rejected) == (3, 3)


def test_a_condition_whose_subject_is_no_patient_in_the_data(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    _ndjson(folder, "Patient.ndjson", [PATIENT])
    _ndjson(folder, "Condition.ndjson", [_condition("c1"), _condition("c2", "Patient/p9")])
    _, message = _refused(folder, tmp_path)
    assert message == (
        "Condition.ndjson:2 Condition/c2, field 'person_source_id': value 'p9': no person with "
        "this source id in the import or in the registry"
    )


def test_a_birth_date_in_the_future(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    _ndjson(folder, "Patient.ndjson", [{**PATIENT, "birthDate": "2999-01-01"}])
    _, message = _refused(folder, tmp_path, count=2)  # the birth date, and its year
    assert message.startswith("Patient.ndjson:1 Patient/p1, field 'birth_date': value '2999-01-01'")
    assert "a date in the future" in message


def test_duplicate_resource_ids(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    _ndjson(folder, "Patient.ndjson", [PATIENT])
    _ndjson(folder, "Condition.ndjson", [_condition("c1"), _condition("c1")])
    _, message = _refused(folder, tmp_path)
    assert message.startswith("Condition.ndjson:2 Condition/c1, field 'source_record'")
    assert "appears more than once (first at Condition.ndjson:1 Condition/c1)" in message


def test_an_unknown_unit_is_refused_never_stored_as_u_per_litre(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    ck = {
        "resourceType": "Observation",
        "id": "ck1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-03-04",
        "valueQuantity": {"value": 3, "unit": "mg/dL"},
    }
    _ndjson(folder, "Patient.ndjson", [PATIENT])
    _ndjson(folder, "Observation.ndjson", [ck])
    _, message = _refused(folder, tmp_path)
    assert message.startswith(
        "Observation.ndjson:1 Observation/ck1, field 'source_unit': value 'mg/dL'"
    )


def test_a_latin1_file_is_told_to_be_saved_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(
        json.dumps({**PATIENT, "name": [{"family": "Müller"}]}, ensure_ascii=False).encode(
            "latin-1"
        )
    )
    _, message = _refused(path, tmp_path)
    assert message.startswith("bundle.json: is not UTF-8 text")
    assert "save it as UTF-8" in message


def test_a_bom_is_fine_and_an_unknown_drug_code_is_stored(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": PATIENT},
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "m1",
                    "status": "active",
                    "medicationCodeableConcept": {
                        "coding": [
                            {
                                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                "code": "99999999",
                                "display": "zz-new-drug 10 MG Oral Tablet",
                            }
                        ]
                    },
                    "subject": {"reference": "Patient/p1"},
                    "effectivePeriod": {"start": "2022-01-01"},
                }
            },
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(bundle).encode("utf-8"))
    result = write_import(Reader(path), tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("stored", 2, 2)
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    row = con.execute("SELECT ingredient, code_system, code FROM drug_exposure").fetchall()
    con.close()
    assert row == [("zz-new-drug", "RXNORM", "99999999")]


def test_an_ndjson_file_with_a_bom_and_windows_line_endings_imports(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    (folder / "Patient.ndjson").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(PATIENT).encode() + b"\r\n"
    )
    (folder / "Condition.ndjson").write_bytes(json.dumps(_condition("c1")).encode() + b"\r\n\r\n")
    result = write_import(Reader(folder), tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("stored", 2, 2)
