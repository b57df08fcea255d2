"""FHIR R4 Encounters (schema version 4, table ``visit``): the import maps ``class`` (HL7 v3
ActCode) to OMOP's Visit vocabulary (IMP, ACUTE, NONAC -> IP; AMB -> OP; EMER -> ER; any other
ActCode kept as ACTCODE), takes ``period`` as the visit's days and the id as its ``visit_id``,
which an assessment referencing the Encounter names too; a planned, cancelled or entered in
error Encounter is rejected, one without a start refused, one without a known class no record.
The export writes each visit row back as an Encounter (valid R4) and a second import reads the
same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from myositis.sources.contract import reader_for
from myositis.sources.export import export_registry
from myositis.sources.fhir import Reader
from myositis.sources.write import ImportResult, write_import
from sources.fhir.test_mapping import _rows

ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
VISIT = "urn:myositis-outcomes:fhir:CodeSystem:omop-visit"
LOCAL = "urn:myositis-outcomes:fhir:CodeSystem:local"
VISIT_ID = "urn:myositis-outcomes:fhir:sid:visit-id"
SNOMED = "http://snomed.info/sct"
PGA = "urn:myositis-outcomes:fhir:CodeSystem:pga"
P = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971-02-03"}

SQL = (
    "SELECT p.source_id, v.visit_id, v.code_system, v.code, v.visit_date::VARCHAR, "
    "v.end_date::VARCHAR FROM visit v JOIN person p USING (person_id) "
    "ORDER BY v.visit_date, v.visit_id"
)


def _encounter(eid: str, klass: str, start: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter", "id": eid, "status": "finished", "subject": P,
        "class": {"system": ACTCODE, "code": klass}, "period": {"start": start},
    } | more  # fmt: skip


def _import(tmp_path: Path, resources: list[dict[str, Any]], into: Path) -> ImportResult:
    source = tmp_path / "site.json"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    source.write_text(json.dumps(bundle), encoding="utf-8")
    return write_import(Reader(source), into)


def test_each_encounter_class_becomes_its_visit_code(tmp_path: Path) -> None:
    """The classes of the HL7 FHIR to OMOP guide's ConceptMap EncounterClass (IMP 9201
    Inpatient, AMB 9202 Outpatient, EMER 9203 Emergency Room) and IMP's two kinds in ActCode
    (ACUTE, NONAC) become Visit codes; every other ActCode is kept as ACTCODE (OBSENC too: the
    ConceptMap maps it only as broader than 262 ERIP). The time of day and its zone are dropped,
    as for every resource: the day is the one the source wrote."""
    classes = {
        "IMP": ("VISIT", "IP"), "ACUTE": ("VISIT", "IP"), "NONAC": ("VISIT", "IP"),
        "AMB": ("VISIT", "OP"), "EMER": ("VISIT", "ER"), "HH": ("ACTCODE", "HH"),
        "VR": ("ACTCODE", "VR"), "FLD": ("ACTCODE", "FLD"), "OBSENC": ("ACTCODE", "OBSENC"),
        "PRENC": ("ACTCODE", "PRENC"), "SS": ("ACTCODE", "SS"),
    }  # fmt: skip
    encounters = [
        _encounter(f"e{n}", klass, f"2021-03-{n:02d}T23:30:00-05:00",
                   period={"start": f"2021-03-{n:02d}T23:30:00-05:00", "end": f"2021-04-{n:02d}"})
        for n, klass in enumerate(classes, start=1)
    ]  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, *encounters], into)
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored",
        12,
        12,
        0,
    )
    assert _rows(into, SQL) == [
        ("p1", f"e{n}", system, code, f"2021-03-{n:02d}", f"2021-04-{n:02d}")
        for n, (system, code) in enumerate(classes.values(), start=1)
    ]
    assert _rows(into, "SELECT source_record, source_location FROM visit WHERE code = 'OP'") == [
        ("Encounter/e4", "site.json entry 5 Encounter/e4")
    ]


def test_statuses_kept_and_rejected_with_every_record_accounted(tmp_path: Path) -> None:
    """FHIR R4 EncounterStatus: a planned visit has not happened, a cancelled one never will,
    one entered in error is no visit: rejected, the rest stored (in = stored + rejected)."""
    kept = ["arrived", "triaged", "in-progress", "onleave", "finished", "unknown"]
    rejected = ["planned", "cancelled", "entered-in-error"]
    encounters = [
        _encounter(f"e{n}", "AMB", f"2021-05-{n:02d}", status=status)
        for n, status in enumerate(kept + rejected, start=1)
    ]
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, *encounters], into)
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored",
        10,
        7,
        3,
    )
    assert result.records_in == result.stored + result.rejected
    assert [(p.describe(), p.severity) for p in result.problems] == [
        (
            "site.json, entry 8, Encounter/e7, field 'status': value 'planned': only planned in "
            "the source: no visit",
            "rejected",
        ),
        (
            "site.json, entry 9, Encounter/e8, field 'status': value 'cancelled': marked "
            "cancelled in the source",
            "rejected",
        ),
        (
            "site.json, entry 10, Encounter/e9, field 'status': value 'entered-in-error': marked "
            "entered in error in the source",
            "rejected",
        ),
    ]
    assert [r[1] for r in _rows(into, SQL)] == ["e1", "e2", "e3", "e4", "e5", "e6"]


def test_a_class_of_another_system_reads_the_type_or_is_no_record(tmp_path: Path) -> None:
    """A class of no known code system (a site's own; a code without a system) is passed over
    as unknown codes are for Conditions and Procedures: the first type coding of a known code
    system gives the visit's code, and an Encounter with neither is no record, counted in the
    warnings. A type coding of OMOP's Visit vocabulary comes before the class (an export writes
    ERIP so, with the class EMER)."""
    site = {"system": "http://hospital.example/encounter-class", "code": "DAYCARE"}
    day_care = _encounter("e1", "AMB", "2021-06-01", **{"class": site})
    typed = _encounter(
        "e2", "AMB", "2021-06-02", **{"class": site},
        type=[{"coding": [{"system": "http://hospital.example/t", "code": "X"},
                          {"system": SNOMED, "code": "185347001"}]}],
    )  # fmt: skip
    no_system = _encounter("e3", "AMB", "2021-06-03", **{"class": {"code": "AMB"}})
    erip = _encounter(
        "e4", "EMER", "2021-06-04", type=[{"coding": [{"system": VISIT, "code": "ERIP"}]}]
    )
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, day_care, typed, no_system, erip], into)
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "stored",
        3,
        3,
        0,
    )
    assert result.warnings == [
        "2 not imported: Encounters whose class and type have no coding of a known code system"
    ]
    assert _rows(into, SQL) == [
        ("p1", "e2", "SNOMED", "185347001", "2021-06-02", None),
        ("p1", "e4", "VISIT", "ERIP", "2021-06-04", None),
    ]


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        (
            None,
            "field 'period.start': a date is required: give period.start, the day of admission "
            "or of the visit",
        ),
        (
            {"end": "2021-03-12"},
            "field 'period.start': a date is required: give period.start, the day of admission "
            "or of the visit",
        ),
        (
            {"start": "2021-03"},
            "field 'period.start': value '2021-03': the date is not precise to the day "
            "(YYYY-MM-DD needed)",
        ),
        (
            {"start": "2021-03-10", "end": "2021"},
            "field 'period.end': value '2021': the date is not precise to the day (YYYY-MM-DD "
            "needed)",
        ),
    ],
)
def test_an_encounter_without_its_first_day_is_refused(
    tmp_path: Path, period: dict[str, str] | None, problem: str
) -> None:
    encounter = {k: v for k, v in _encounter("e1", "IMP", "").items() if k != "period"}
    if period is not None:
        encounter["period"] = period
    result = _import(tmp_path, [PATIENT, encounter], tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("refused", 2, 0)
    assert [p.describe() for p in result.problems] == [
        f"site.json, entry 2, Encounter/e1, {problem}"
    ]


def test_an_end_before_the_start_refuses_the_import(tmp_path: Path) -> None:
    admission = _encounter("e1", "IMP", "2021-03-04", period={"start": "2021-03-04"})
    backwards = _encounter("e5", "IMP", "", period={"start": "2021-03-10", "end": "2021-03-01"})
    refused = _import(tmp_path, [PATIENT, admission, backwards], tmp_path / "refused.duckdb")
    # imports are all or nothing: the admission is not stored either
    assert (refused.status, refused.records_in, refused.stored) == ("refused", 3, 0)
    assert [p.describe() for p in refused.problems] == [
        "site.json entry 3 Encounter/e5, field 'end_date': value '2021-03-01': ends before it "
        "starts (2021-03-10)"
    ]


def test_an_assessment_names_its_encounter_by_the_visit_id(tmp_path: Path) -> None:
    """An Observation's or QuestionnaireResponse's ``encounter`` gives ``assessment.visit_id``
    the Encounter's id: the text of the visit row's ``visit_id``, so the two join."""
    clinic = _encounter("clinic-2021-05-06", "AMB", "2021-05-06T09:00:00Z")
    pga = {
        "resourceType": "Observation", "id": "o1", "status": "final", "subject": P,
        "code": {"coding": [{"system": PGA, "code": "score"}]},
        "encounter": {"reference": "Encounter/clinic-2021-05-06"},
        "effectiveDateTime": "2021-05-06", "valueQuantity": {"value": 4.5},
    }  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, pga, clinic], into)
    assert (result.status, result.records_in, result.stored) == ("stored", 3, 3)
    assert _rows(
        into,
        "SELECT a.visit_id, v.code_system, v.code, a.measure, a.value FROM assessment a "
        "JOIN visit v USING (person_id, visit_id)",
    ) == [("clinic-2021-05-06", "VISIT", "OP", "score", 4.5)]


# -- export and round trip ------------------------------------------------------------------

PERSON_CSV = "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n" \
    "1,p1,site-1,F,1971-02-03,,White,Not Hispanic or Latino\n"  # fmt: skip
# VISIT IP, OP, ER and ERIP, ACTCODE HH, a site's code (LOCAL) under a visit id that is no
# FHIR id, an OMOP concept (581476 Home Visit) without a visit id
VISIT_CSV = """person_id,visit_id,code_system,code,visit_date,end_date
1,V-IP,VISIT,IP,2021-03-04,2021-03-09
1,V-OP,VISIT,OP,2021-04-01,
1,V-ER,VISIT,ER,2021-05-02,2021-05-02
1,V-HH,ACTCODE,HH,2021-06-10,
1,V-ERIP,VISIT,ERIP,2021-07-01,2021-07-05
1,V 2021/8,LOCAL,DAYCARE,2021-08-03,2021-08-03
1,,OMOP,581476,2021-09-09,
"""
# one assessment at the outpatient visit, one whose visit id has no visit row
ASSESSMENT_CSV = """assessment_id,visit_id,person_id,assessment_date,instrument,measure,value
1,V-OP,1,2021-04-01,pga,score,4
2,phone-call-3,1,2021-04-20,pga,score,3
"""
VISITS = [
    ("p1", "V-IP", "VISIT", "IP", "2021-03-04", "2021-03-09"),
    ("p1", "V-OP", "VISIT", "OP", "2021-04-01", None),
    ("p1", "V-ER", "VISIT", "ER", "2021-05-02", "2021-05-02"),
    ("p1", "V-HH", "ACTCODE", "HH", "2021-06-10", None),
    ("p1", "V-ERIP", "VISIT", "ERIP", "2021-07-01", "2021-07-05"),
    ("p1", "V 2021/8", "LOCAL", "DAYCARE", "2021-08-03", "2021-08-03"),
    ("p1", None, "OMOP", "581476", "2021-09-09", None),
]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(PERSON_CSV, encoding="utf-8")
    (sheets / "visit.csv").write_text(VISIT_CSV, encoding="utf-8")
    (sheets / "assessment.csv").write_text(ASSESSMENT_CSV, encoding="utf-8")
    into = tmp_path / "r.duckdb"
    result = write_import(reader_for("csv", sheets), into)
    assert result.status == "stored", [p.describe() for p in result.problems]
    assert _rows(into, SQL) == VISITS
    return into


def _ident(value: str) -> dict[str, Any]:
    return {"identifier": [{"system": VISIT_ID, "value": value}]}


EXPECTED = [
    {"id": "V-IP", **_ident("V-IP"), "status": "finished",
     "class": {"system": ACTCODE, "code": "IMP"},
     "period": {"start": "2021-03-04", "end": "2021-03-09"}},
    {"id": "V-OP", **_ident("V-OP"), "status": "in-progress",
     "class": {"system": ACTCODE, "code": "AMB"}, "period": {"start": "2021-04-01"}},
    {"id": "V-ER", **_ident("V-ER"), "status": "finished",
     "class": {"system": ACTCODE, "code": "EMER"},
     "period": {"start": "2021-05-02", "end": "2021-05-02"}},
    {"id": "V-HH", **_ident("V-HH"), "status": "in-progress",
     "class": {"system": ACTCODE, "code": "HH"}, "period": {"start": "2021-06-10"}},
    # ERIP: the class of its start, the Visit code kept in type
    {"id": "V-ERIP", **_ident("V-ERIP"), "status": "finished",
     "class": {"system": ACTCODE, "code": "EMER"},
     "type": [{"coding": [{"system": VISIT, "code": "ERIP"}]}],
     "period": {"start": "2021-07-01", "end": "2021-07-05"}},
    # no ActCode class: v3 NullFlavor OTH, the code in type; the visit id is no FHIR id, so
    # the id is derived and the identifier carries it
    {"id": "visit-6", **_ident("V 2021/8"), "status": "finished",
     "class": {"system": NULL_FLAVOR, "code": "OTH", "display": "other"},
     "type": [{"coding": [{"system": LOCAL, "code": "DAYCARE"}]}],
     "period": {"start": "2021-08-03", "end": "2021-08-03"}},
    {"id": "visit-7", "status": "in-progress",
     "class": {"system": NULL_FLAVOR, "code": "OTH", "display": "other"},
     "type": [{"coding": [{"system": "https://fhir-terminology.ohdsi.org", "code": "581476"}]}],
     "period": {"start": "2021-09-09"}},
]  # fmt: skip


def _expected(e: dict[str, Any]) -> dict[str, Any]:
    """An expected Encounter in the order the export writes its fields."""
    order = ["resourceType", "id", "identifier", "status", "class", "type", "subject", "period"]
    full = {"resourceType": "Encounter", **e, "subject": {"reference": "Patient/p1"}}
    return {k: full[k] for k in order if k in full}


def test_visits_are_exported_as_valid_encounters_and_read_back_the_same(
    registry: Path, tmp_path: Path
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    export_registry(registry, tmp_path / "ndjson", "fhir-ndjson")
    lines = (tmp_path / "ndjson" / "Encounter.ndjson").read_text(encoding="utf-8").splitlines()
    written = [json.loads(line) for line in lines]
    assert written == [_expected(e) for e in EXPECTED]
    model = get_fhir_model_class("Encounter")
    for resource in written:  # valid FHIR R4 (the R4B models: Encounter did not change)
        assert model.model_validate(resource).model_dump(by_alias=True, exclude_none=True)

    # the assessment at a visit references its Encounter; the one whose visit id has no visit
    # row names it by identifier (an Encounter for it would come back as a visit)
    observations = [
        json.loads(line)
        for line in (tmp_path / "ndjson" / "Observation.ndjson").read_text().splitlines()
    ]
    assert [o["encounter"] for o in observations] == [
        {"reference": "Encounter/V-OP"},
        {"identifier": {"system": VISIT_ID, "value": "phone-call-3"}},
    ]

    export_registry(registry, tmp_path / "bundles", "fhir")
    [path] = sorted((tmp_path / "bundles").iterdir())
    bundle = json.loads(path.read_text(encoding="utf-8"))
    encounters = [
        (e["fullUrl"], e["resource"])
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Encounter"
    ]
    assert encounters == [(f"Encounter/{e['id']}", e) for e in written]

    assessments = "SELECT assessment_id, visit_id, assessment_date::VARCHAR FROM assessment"
    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.rejected, reread.problems) == ("stored", 0, [])
        assert reread.records_in == 1 + 7 + 2  # Patient, Encounters, Observations
        # the same visits; the one without a visit id comes back with its Encounter's id, as
        # a person's source id that is no FHIR id comes back as person-<person_id>
        assert _rows(again, SQL) == [*VISITS[:-1], (*VISITS[-1][:1], "visit-7", *VISITS[-1][2:])]
        assert sorted(_rows(again, assessments)) == sorted(_rows(registry, assessments))


def test_a_visit_id_shared_by_two_persons_keeps_encounter_ids_unique(tmp_path: Path) -> None:
    """Encounter ids are unique in an export (one NDJSON file holds every person's): a second
    person's visit of the same id gets a derived id, its visit id the identifier, and its
    assessment a logical reference by that identifier; a second import reads the same rows."""
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    persons = PERSON_CSV + "2,p2,site-1,M,1980-01-01,,White,Not Hispanic or Latino\n"
    (sheets / "person.csv").write_text(persons, encoding="utf-8")
    (sheets / "visit.csv").write_text(
        "person_id,visit_id,code_system,code,visit_date,end_date\n"
        "1,baseline,VISIT,OP,2021-04-01,\n2,baseline,VISIT,OP,2021-04-02,\n",
        encoding="utf-8",
    )
    (sheets / "assessment.csv").write_text(
        "assessment_id,visit_id,person_id,assessment_date,instrument,measure,value\n"
        "1,baseline,1,2021-04-01,pga,score,4\n2,baseline,2,2021-04-02,pga,score,6\n",
        encoding="utf-8",
    )
    registry = tmp_path / "r.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    export_registry(registry, tmp_path / "out", "fhir-ndjson")
    out = tmp_path / "out"
    encounters = [json.loads(x) for x in (out / "Encounter.ndjson").read_text().splitlines()]
    assert [(e["id"], e["identifier"][0]["value"]) for e in encounters] == [
        ("baseline", "baseline"),
        ("visit-2", "baseline"),
    ]
    observations = [json.loads(x) for x in (out / "Observation.ndjson").read_text().splitlines()]
    assert [o["encounter"] for o in observations] == [
        {"reference": "Encounter/baseline"},
        {"identifier": {"system": VISIT_ID, "value": "baseline"}},
    ]
    again = tmp_path / "again.duckdb"
    assert write_import(Reader(out), again).problems == []
    joined = (
        "SELECT p.source_id, a.visit_id, v.visit_date::VARCHAR FROM assessment a "
        "JOIN visit v USING (person_id, visit_id) JOIN person p USING (person_id) ORDER BY 1"
    )
    expected = [("p1", "baseline", "2021-04-01"), ("p2", "baseline", "2021-04-02")]
    assert _rows(registry, joined) == expected
    assert _rows(again, joined) == expected
