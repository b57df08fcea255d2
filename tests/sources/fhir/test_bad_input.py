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


def test_a_gender_outside_the_fhir_value_set_is_refused_never_stored_as_unknown(
    tmp_path: Path,
) -> None:
    # Patient.gender is bound (required) to AdministrativeGender (FHIR R4); fhir.resources
    # accepts any code, so the converter checks it
    folder = tmp_path / "bulk"
    _ndjson(folder, "Patient.ndjson", [{**PATIENT, "gender": "femme"}])
    _, message = _refused(folder, tmp_path)
    assert message == (
        "Patient.ndjson, line 1, Patient/p1, field 'gender': value 'femme': not a FHIR "
        "administrative gender (female, male, other, unknown); correct it in the source"
    )


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


#: The reason given to every other resource of a person whose Patient has a problem.
OWN = "has a problem: correct it there, and this record is imported with the person"
NOT_A_DATE = (
    "not a valid FHIR Patient: Input should be a valid date or datetime, day value is outside "
    "expected range"
)


def _statement(rid: str, subject: str = "Patient/p1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "active",
        "medicationCodeableConcept": {"text": "prednisone 5 MG Oral Tablet"},
        "subject": {"reference": subject},
        "effectivePeriod": {"start": "2022-01-01"},
    }


def _bundle(path: Path, resources: list[dict[str, Any]]) -> Path:
    bundle = {"resourceType": "Bundle", "type": "collection"}
    path.write_text(json.dumps({**bundle, "entry": [{"resource": r} for r in resources]}))
    return path


def test_the_resources_of_a_patient_that_is_not_valid_fhir_are_named_with_it(
    tmp_path: Path,
) -> None:
    """A Patient that fails validation is never staged, but its id is known: the other
    resources of that person are rejected as the Patient's (checks.PERSON_FAILED, naming where
    the Patient was read), not as of a person the import and the registry lack; with --errors
    report the other persons are stored and every record is accounted for."""
    path = _bundle(
        tmp_path / "bundle.json",
        [
            _condition("c0"),  # before its Patient: the writer, not the read order, names it
            {**PATIENT, "birthDate": "1970-02-30"},
            _condition("c1"),
            _statement("m1"),
            {**PATIENT, "id": "p2"},
            _condition("c2", "Patient/p2"),
        ],
    )
    at = "bundle.json entry 2 Patient/p1"
    expected = [
        f"bundle.json, entry 2, Patient/p1, field 'birthDate': {NOT_A_DATE}",
        f"bundle.json entry 1 Condition/c0, field 'person_source_id': value 'p1': the person's "
        f"own record ({at}) {OWN}",
        f"bundle.json entry 3 Condition/c1, field 'person_source_id': value 'p1': the person's "
        f"own record ({at}) {OWN}",
        f"bundle.json entry 4 MedicationStatement/m1, field 'person_source_id': value 'p1': the "
        f"person's own record ({at}) {OWN}",
    ]
    registry = tmp_path / "r.duckdb"
    refused = write_import(Reader(path), registry)
    assert refused.status == "refused" and not registry.exists()
    assert [p.describe() for p in refused.problems] == expected
    reported = write_import(Reader(path), registry, errors="report")
    assert [p.describe() for p in reported.problems] == expected
    assert (reported.records_in, reported.stored, reported.rejected) == (6, 2, 4)
    con = duckdb.connect(str(registry), read_only=True)
    persons = con.execute("SELECT source_id FROM person").fetchall()
    diagnoses = con.execute("SELECT source_record FROM diagnosis").fetchall()
    con.close()
    assert (persons, diagnoses) == ([("p2",)], [("Condition/c2",)])


def test_the_resources_of_a_patient_in_another_ndjson_file_are_named_with_it(
    tmp_path: Path,
) -> None:
    """Bulk data: the Patient that could not be imported (here its person-id identifier is no
    whole number, which the converter refuses after validation) is named at its line."""
    folder = tmp_path / "bulk"
    person_id = {"system": "urn:myositis-outcomes:fhir:sid:person-id", "value": "A7"}
    _ndjson(folder, "Patient.ndjson", [{**PATIENT, "identifier": [person_id]}])
    _ndjson(folder, "Condition.ndjson", [_condition("c1")])
    result, _ = _refused(folder, tmp_path, count=2)
    assert [p.describe() for p in result.problems] == [
        "Patient.ndjson, line 1, Patient/p1, field 'identifier': value 'A7': "
        "urn:myositis-outcomes:fhir:sid:person-id must be a whole number",
        "Condition.ndjson:1 Condition/c1, field 'person_source_id': value 'p1': the person's "
        f"own record (Patient.ndjson:1 Patient/p1) {OWN}",
    ]
    assert (result.records_in, result.rejected) == (2, 2)


def test_the_resources_of_a_patient_without_an_id_are_of_no_person(tmp_path: Path) -> None:
    """A Patient that is not valid and has no id names no person: a resource referring to a
    person the data does not hold is reported as such, as before."""
    patient = {k: v for k, v in PATIENT.items() if k != "id"}
    invalid = {**patient, "birthDate": "1970-02-30"}
    path = _bundle(tmp_path / "bundle.json", [invalid, _condition("c1")])
    result, _ = _refused(path, tmp_path, count=2)
    assert [p.describe() for p in result.problems] == [
        f"bundle.json, entry 1, Patient, field 'birthDate': {NOT_A_DATE}",
        "bundle.json entry 2 Condition/c1, field 'person_source_id': value 'p1': no person "
        "with this source id in the import or in the registry",
    ]


def test_a_patient_given_twice_once_not_valid_fhir_is_a_duplicate(tmp_path: Path) -> None:
    """The id of a Patient that is not valid is staged as its person's source id, so a second
    Patient of that id is the same person given twice, as it would be were both valid: every
    problem in one round, and no record taken for a person whose data conflict."""
    invalid = {**PATIENT, "birthDate": "1970-02-30"}
    path = _bundle(tmp_path / "bundle.json", [invalid, PATIENT, _condition("c1")])
    result, _ = _refused(path, tmp_path, count=3)
    assert [p.describe() for p in result.problems] == [
        f"bundle.json, entry 1, Patient/p1, field 'birthDate': {NOT_A_DATE}",
        "bundle.json entry 2 Patient/p1, field 'source_id': value 'p1': the same person source "
        "id appears more than once (first at bundle.json entry 1 Patient/p1); each record must "
        "be given once",
        "bundle.json entry 3 Condition/c1, field 'person_source_id': value 'p1': the person's "
        f"own record (bundle.json entry 1 Patient/p1) {OWN}",
    ]
