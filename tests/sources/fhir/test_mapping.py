"""The FHIR mapping file and the resources besides the example's: a site's own codes through
examples/fhir/site-mapping.yaml, several races, MMT-8 items with the total computed, visit ids
from Encounters, MedicationStatement, AdverseEvent with its CTCAE grade."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.errors import SourceError
from myositis.sources.export import export_registry
from myositis.sources.fhir import Reader
from myositis.sources.fhir.mapping import load_mapping
from myositis.sources.write import write_import

ROOT = Path(__file__).resolve().parents[3]
SITE_MAPPING = ROOT / "examples" / "fhir" / "site-mapping.yaml"
P = {"reference": "Patient/p1"}
MMT8 = "urn:myositis-outcomes:fhir:Questionnaire:mmt8"
RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
CDC = "urn:oid:2.16.840.1.113883.6.238"


def _bundle() -> dict[str, Any]:
    race = [
        {"url": "ombCategory", "valueCoding": {"system": CDC, "code": "2106-3"}},
        {"url": "ombCategory", "valueCoding": {"system": CDC, "code": "2028-9"}},
        {"url": "text", "valueString": "White, Asian"},
    ]
    right = ["deltoid", "biceps", "gluteus_maximus", "gluteus_medius", "quadriceps",
             "wrist_extensors", "ankle_dorsiflexors"]  # fmt: skip
    mmt8 = [
        {"linkId": "neck_flexors", "answer": [{"valueInteger": 10}]},
        {"linkId": "total", "answer": [{"valueInteger": 80}]},  # the source's: not used
    ]
    for group in right:
        mmt8 += [
            {"linkId": f"{group}_right", "answer": [{"valueInteger": 9}]},
            {"linkId": f"{group}_left", "answer": [{"valueInteger": 8}]},
        ]
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971",
         "extension": [{"url": RACE, "extension": race}]},
        {"resourceType": "Encounter", "id": "e1", "status": "finished",
         "class": {"code": "AMB"}, "subject": P},
        {"resourceType": "Condition", "id": "c1", "subject": P, "onsetDateTime": "2020-02-03",
         "code": {"coding": [{"system": "http://hospital.example/dm-subtype", "code": "ADM"}]}},
        {"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed",
         "questionnaire": "http://hospital.example/Questionnaire/cdasi-form|2.0",
         "subject": P, "encounter": {"reference": "Encounter/e1"}, "authored": "2021-05-06",
         "item": [{"linkId": "section-1", "item": [
             {"linkId": "1.1", "answer": [{"valueInteger": 2}]},
             {"linkId": "1.2", "answer": [{"valueInteger": 1}]}]},
             {"linkId": "2.1", "answer": [{"valueInteger": 3}]},
             {"linkId": "activity", "answer": [{"valueInteger": 99}]}]},
        {"resourceType": "Observation", "id": "o1", "status": "final", "subject": P,
         "code": {"coding": [{"system": "http://hospital.example/codes", "code": "MD-GLOBAL"}]},
         "encounter": {"reference": "Encounter/e1"}, "effectiveDateTime": "2021-05-06",
         "valueQuantity": {"value": 4.5}},
        {"resourceType": "QuestionnaireResponse", "id": "q2", "status": "completed",
         "questionnaire": MMT8, "subject": P, "authored": "2021-05-06", "item": mmt8},
        {"resourceType": "MedicationStatement", "id": "m1", "status": "completed", "subject": P,
         "medicationCodeableConcept": {"coding": [{
             "system": "http://www.whocc.no/atc", "code": "L04AA29",
             "display": "tofacitinib"}]},
         "effectivePeriod": {"start": "2021-05-06", "end": "2021-11-06"},
         "dosage": [{"timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
                     "route": {"coding": [{"display": "Oral"}]},
                     "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}]}]},
        {"resourceType": "AdverseEvent", "id": "a1", "actuality": "actual", "subject": P,
         "event": {"coding": [{"display": "herpes zoster"}]}, "date": "2021-08-01",
         "extension": [{"url": "http://hospital.example/StructureDefinition/ctcae-grade",
                        "valueInteger": 2}],
         "seriousness": {"coding": [{"code": "non-serious"}]},
         "outcome": {"coding": [{"code": "resolved"}]},
         "suspectEntity": [{"instance": {"display": "tofacitinib 5 MG Oral Tablet"}}]},
        {"resourceType": "MedicationStatement", "id": "m3", "status": "not-taken",
         "subject": P, "effectiveDateTime": "2021-04-01",
         "medicationCodeableConcept": {"text": "methotrexate"}},
        {"resourceType": "MedicationRequest", "id": "m2", "status": "cancelled",
         "intent": "order", "subject": P, "authoredOn": "2021-04-01",
         "medicationCodeableConcept": {"text": "prednisone"}},
    ]  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}  # fmt: skip


def _rows(registry: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(registry), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    source = tmp_path / "site.json"
    source.write_text(json.dumps(_bundle()), encoding="utf-8")
    into = tmp_path / "r.duckdb"
    result = write_import(Reader(source, mapping=SITE_MAPPING), into)
    assert result.status == "stored", [p.describe() for p in result.problems]
    # Patient, Condition, 2 QuestionnaireResponses, Observation, MedicationStatement,
    # AdverseEvent stored; the cancelled MedicationRequest and the MedicationStatement not
    # taken rejected; the Encounter no record (its class AMB has no code system: no visit row,
    # tests/sources/fhir/test_encounter.py has the visits)
    assert (result.records_in, result.stored, result.rejected) == (9, 7, 2)
    assert [p.reason for p in result.problems] == [
        "marked not taken in the source: no exposure",
        "marked cancelled in the source",
    ]
    return into


def test_several_races_and_a_partial_birth_date(registry: Path) -> None:
    assert _rows(registry, "SELECT source_id, sex, birth_date, birth_year, race FROM person") == [
        ("p1", "F", None, 1971, "More than one race")
    ]
    assert _rows(registry, "SELECT race FROM person_race ORDER BY race") == [("Asian",), ("White",)]


def test_site_codes_read_through_the_mapping(registry: Path) -> None:
    assert _rows(registry, "SELECT subtype, classified_date::VARCHAR FROM dm_subtype") == [
        ("amyopathic", "2020-02-03")
    ]
    found = _rows(
        registry,
        "SELECT instrument, measure, value, visit_id FROM assessment "
        "WHERE instrument IN ('cdasi', 'pga') ORDER BY measure",
    )
    # the source's CDASI activity (99) is left out: scores are computed from the items
    assert found == [
        ("cdasi", "malar_erythema", 3.0, "e1"),
        ("cdasi", "scalp_erythema", 2.0, "e1"),
        ("cdasi", "scalp_scale", 1.0, "e1"),
        ("pga", "score", 4.5, "e1"),
    ]


def test_mmt8_total_is_computed_from_the_items(registry: Path) -> None:
    # unilateral MMT-8 (0-80): neck flexors + the right side of the 7 bilateral groups
    # (instruments/data/mmt8_groups.csv): 10 + 7 x 9 = 73; visit id = the response's id
    assert _rows(registry, "SELECT value, visit_id FROM assessment WHERE measure = 'total'") == [
        (73.0, "q2")
    ]


def test_medication_statement_and_adverse_event(registry: Path) -> None:
    assert _rows(
        registry,
        "SELECT ingredient, code_system, code, start_date::VARCHAR, end_date::VARCHAR, dose, "
        "dose_unit, frequency, route FROM drug_exposure",
    ) == [("tofacitinib", "ATC", "L04AA29", "2021-05-06", "2021-11-06", 5.0, "mg", "BID", "oral")]
    assert _rows(
        registry,
        "SELECT term, onset_date::VARCHAR, grade, serious, outcome, suspected_drug "
        "FROM adverse_event",
    ) == [("herpes zoster", "2021-08-01", 2, False, "resolved", "tofacitinib")]


def test_a_mapping_naming_no_item_of_the_instrument_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "questionnaires:\n  - {url: 'http://x/q', instrument: cdasi, items: {a: scalp_red}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match=r"bad.yaml: 'scalp_red' is no item or score of cdasi"):
        load_mapping(path)


def test_a_resolved_condition_keeps_its_end_through_import_and_export(tmp_path: Path) -> None:
    """``Condition.abatementDateTime`` is the diagnosis's end (schema version 3); an end before
    the onset is rejected with its field; the export writes the end back as
    ``abatementDateTime`` with the clinical status FHIR R4 requires of an abated condition
    (invariant con-4: resolved), and a second import reads the same end."""
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    resources = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971-02-03"},
        {"resourceType": "Condition", "id": "c1", "subject": P, "onsetDateTime": "2020-02-03",
         "abatementDateTime": "2020-05-01", "code": {"coding": [{"system": icd, "code": "L40.0"}]}},
        {"resourceType": "Condition", "id": "c2", "subject": P, "onsetDateTime": "2020-02-03",
         "code": {"coding": [{"system": icd, "code": "M33.10"}]}},
        {"resourceType": "Condition", "id": "c3", "subject": P, "onsetDateTime": "2020-02-03",
         "abatementDateTime": "2020-01-01", "code": {"coding": [{"system": icd, "code": "J84.9"}]}},
    ]  # fmt: skip

    def imported(kept: list[dict[str, Any]], into: Path) -> Any:
        source = tmp_path / "site.json"
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for r in kept]}  # fmt: skip
        source.write_text(json.dumps(bundle), encoding="utf-8")
        return write_import(Reader(source), into)

    refused = imported(resources, tmp_path / "refused.duckdb")  # all or nothing
    assert (refused.status, refused.records_in, refused.stored) == ("refused", 4, 0)
    assert [p.describe() for p in refused.problems] == [
        "site.json entry 4 Condition/c3, field 'end_date': value '2020-01-01': ends before it "
        "starts (2020-02-03)"
    ]
    into = tmp_path / "r.duckdb"
    result = imported(resources[:3], into)
    assert (result.records_in, result.stored, result.rejected) == (3, 3, 0)
    sql = "SELECT code, diagnosis_date, end_date FROM diagnosis ORDER BY code"
    stored = _rows(into, sql)
    assert [(c, str(d), e and str(e)) for c, d, e in stored] == [
        ("L40.0", "2020-02-03", "2020-05-01"),
        ("M33.10", "2020-02-03", None),
    ]
    export_registry(into, tmp_path / "out", "fhir-ndjson")
    lines = (tmp_path / "out" / "Condition.ndjson").read_text(encoding="utf-8").splitlines()
    by_code = {c["code"]["coding"][0]["code"]: c for c in map(json.loads, lines)}
    resolved, ongoing = by_code["L40.0"], by_code["M33.10"]
    assert resolved["abatementDateTime"] == "2020-05-01"
    assert resolved["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert "abatementDateTime" not in ongoing and "clinicalStatus" not in ongoing
    again = tmp_path / "again.duckdb"
    assert write_import(Reader(tmp_path / "out"), again).rejected == 0
    assert _rows(again, sql) == stored
