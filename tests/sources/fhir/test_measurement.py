"""FHIR R4 Observations that are measurements (schema version 4, table ``measurement``): an
Observation of category laboratory or vital-signs, or coded with a LOINC code of the FHIR R4
vital signs profiles, that is no registry laboratory test (CK, aldolase, LDH, ALT, AST) and no
mapped measure. The import stores its number and unit with the normal range, or its code; a
blood pressure is one row per component; a value the row cannot hold (a comparator, a text, a
titre) keeps the Observation an observation row; a grouping panel is no record. The export
writes each row back as an Observation of category laboratory or vital-signs (valid R4), and a
second import reads the same rows, in both export formats."""

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

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:myositis-outcomes:fhir:CodeSystem:local"
OBSERVATION_VALUE = "urn:myositis-outcomes:fhir:StructureDefinition:observation-value"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SITE = "http://hospital.example/codes"
P = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971-02-03"}

SQL = (
    "SELECT source_record, code_system, code, measurement_date::VARCHAR, value, unit, "
    "range_low, range_high, value_code_system, value_code FROM measurement ORDER BY ALL"
)
OBSERVATIONS = (
    "SELECT source_record, code_system, code, value, unit, value_code_system, value_code, "
    "value_text FROM observation ORDER BY ALL"
)


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY, "code": code}]}]


def _loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code}]}


def _mm_hg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}


def _observation(oid: str, code: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final", "subject": P,
        "code": code, "effectiveDateTime": "2021-03-04",
    } | more  # fmt: skip


def _import(tmp_path: Path, resources: list[dict[str, Any]], into: Path) -> ImportResult:
    source = tmp_path / "site.json"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    source.write_text(json.dumps(bundle), encoding="utf-8")
    return write_import(Reader(source), into)


def _stored(result: ImportResult) -> tuple[str, int, int, int]:
    assert result.records_in == result.stored + result.rejected  # every record accounted for
    return (result.status, result.records_in, result.stored, result.rejected)


# -- which Observations are measurements ----------------------------------------------------


def test_a_category_or_a_vital_sign_code_makes_a_measurement(tmp_path: Path) -> None:
    """Category laboratory or vital-signs (any code of a known system), or a vital-sign LOINC
    code without a category (29463-7 body weight, 8302-2 body height, 59408-5 pulse oximetry)
    -> measurement; a registry test (CK 2157-6) stays a laboratory result whatever its
    category; a LOINC code of no vital sign without a category (hemoglobin 718-7), or of
    category social-history, stays an observation."""
    resources = [
        PATIENT,
        _observation("weight", _loinc("29463-7"),
                     valueQuantity={"value": 71.2, "unit": "kg", "system": UCUM, "code": "kg"}),
        _observation("height", _loinc("8302-2"),
                     valueQuantity={"value": 165, "unit": "cm", "system": UCUM, "code": "cm"}),
        _observation("spo2", _loinc("59408-5"),
                     valueQuantity={"value": 97, "unit": "%", "system": UCUM, "code": "%"}),
        # SNOMED 271649006 Systolic blood pressure: a vital sign by its category
        _observation("sbp", {"coding": [{"system": SNOMED, "code": "271649006"}]},
                     category=_category("vital-signs"), valueQuantity=_mm_hg(128)),
        _observation("creatinine", _loinc("2160-0"), category=_category("laboratory"),
                     valueQuantity={"value": 0.9, "unit": "mg/dL", "system": UCUM,
                                    "code": "mg/dL"}),
        _observation("ck", _loinc("2157-6"), category=_category("vital-signs"),
                     valueQuantity={"value": 250, "unit": "U/L", "system": UCUM, "code": "U/L"}),
        _observation("hb", _loinc("718-7"),
                     valueQuantity={"value": 12.5, "unit": "g/dL", "system": UCUM,
                                    "code": "g/dL"}),
        # LOINC 72166-2 Tobacco smoking status, SNOMED 77176002 Smoker
        _observation("smoking", _loinc("72166-2"), category=_category("social-history"),
                     valueCodeableConcept={"coding": [{"system": SNOMED, "code": "77176002"}]}),
    ]  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, resources, into)
    assert _stored(result) == ("stored", 9, 9, 0)
    assert result.warnings == []
    assert _rows(into, SQL) == [
        ("Observation/creatinine", "LOINC", "2160-0", "2021-03-04", 0.9, "mg/dL", None, None,
         None, None),
        ("Observation/height", "LOINC", "8302-2", "2021-03-04", 165.0, "cm", None, None, None,
         None),
        ("Observation/sbp", "SNOMED", "271649006", "2021-03-04", 128.0, "mm[Hg]", None, None,
         None, None),
        ("Observation/spo2", "LOINC", "59408-5", "2021-03-04", 97.0, "%", None, None, None,
         None),
        ("Observation/weight", "LOINC", "29463-7", "2021-03-04", 71.2, "kg", None, None, None,
         None),
    ]  # fmt: skip
    assert _rows(into, "SELECT source_record, test FROM laboratory") == [("Observation/ck", "ck")]
    assert [r[:3] for r in _rows(into, OBSERVATIONS)] == [
        ("Observation/hb", "LOINC", "718-7"),
        ("Observation/smoking", "LOINC", "72166-2"),
    ]


# -- laboratory results: values and reference ranges ----------------------------------------


def test_a_laboratory_result_with_a_coded_value_and_reference_ranges(tmp_path: Path) -> None:
    """A coded result (SARS-CoV-2 RNA 94500-6: SNOMED 260373001 Detected; its text is not
    kept, the code is the value); a number with referenceRange[0] low and high in its unit
    (creatinine 2160-0, 0.6-1.2 mg/dL: the first range, not the second for another age); a
    bound without a unit read in the value's unit (CRP 1988-5, high 5); a bound in another
    unit not stored and counted in the warnings (hemoglobin 718-7 in g/dL, range in g/L); a
    range of text only (no bound); yes/no as SNOMED CT Yes/No, as observations; no value."""
    lab = {"category": _category("laboratory")}
    resources = [
        PATIENT,
        _observation("covid", _loinc("94500-6"), **lab, valueCodeableConcept={
            "coding": [{"system": SITE, "code": "POS"},
                       {"system": SNOMED, "code": "260373001", "display": "Detected"}],
            "text": "Detected"}),
        _observation("creatinine", _loinc("2160-0"), **lab,
                     valueQuantity={"value": 1.4, "unit": "mg/dL", "system": UCUM,
                                    "code": "mg/dL"},
                     referenceRange=[
                         {"low": {"value": 0.6, "unit": "mg/dL", "system": UCUM,
                                  "code": "mg/dL"},
                          "high": {"value": 1.2, "unit": "mg/dL", "system": UCUM,
                                   "code": "mg/dL"}},
                         {"high": {"value": 1.5, "unit": "mg/dL"},
                          "appliesTo": [{"text": "over 70"}]}]),
        _observation("crp", _loinc("1988-5"), **lab,
                     valueQuantity={"value": 12, "unit": "mg/L", "system": UCUM, "code": "mg/L"},
                     referenceRange=[{"high": {"value": 5}}]),
        _observation("hb", _loinc("718-7"), **lab,
                     valueQuantity={"value": 12.5, "unit": "g/dL", "system": UCUM,
                                    "code": "g/dL"},
                     referenceRange=[{"low": {"value": 120, "unit": "g/L", "system": UCUM,
                                              "code": "g/L"},
                                      "high": {"value": 16, "unit": "g/dL"}}]),
        _observation("urine", _loinc("5792-7"), **lab,  # glucose, urine test strip
                     valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009"}]},
                     referenceRange=[{"text": "negative"}]),
        _observation("hcg", _loinc("2106-3"), **lab, valueBoolean=False),
        _observation("absent", _loinc("2160-0"), **lab, dataAbsentReason={"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
             "code": "error"}]}),
    ]  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, resources, into)
    assert _stored(result) == ("stored", 8, 8, 0)
    assert result.warnings == [
        "1 reference ranges of measurements not stored, or only in part: a bound in another "
        "unit than the value (give the range in the value's unit)"
    ]
    assert _rows(into, SQL) == [
        ("Observation/absent", "LOINC", "2160-0", "2021-03-04", None, None, None, None, None,
         None),
        ("Observation/covid", "LOINC", "94500-6", "2021-03-04", None, None, None, None,
         "SNOMED", "260373001"),
        ("Observation/creatinine", "LOINC", "2160-0", "2021-03-04", 1.4, "mg/dL", 0.6, 1.2,
         None, None),
        ("Observation/crp", "LOINC", "1988-5", "2021-03-04", 12.0, "mg/L", None, 5.0, None,
         None),
        ("Observation/hb", "LOINC", "718-7", "2021-03-04", 12.5, "g/dL", None, 16.0, None,
         None),
        ("Observation/hcg", "LOINC", "2106-3", "2021-03-04", None, None, None, None, "SNOMED",
         "373067005"),
        ("Observation/urine", "LOINC", "5792-7", "2021-03-04", None, None, None, None,
         "SNOMED", "260385009"),
    ]  # fmt: skip
    assert _rows(into, "SELECT count(*) FROM observation") == [(0,)]


def test_a_value_a_measurement_cannot_hold_keeps_the_observation_row(tmp_path: Path) -> None:
    """A comparator (CRP <5 mg/L: no exact number), a titre (ANA 5048-4, 1:160), a text and a
    coded value of no known code system are no number or code: the Observation is an
    observation row, which keeps the value as text (nothing is lost), counted in the
    warnings."""
    lab = {"category": _category("laboratory")}
    resources = [
        PATIENT,
        _observation("crp", _loinc("1988-5"), **lab,
                     valueQuantity={"value": 5, "comparator": "<", "unit": "mg/L",
                                    "system": UCUM, "code": "mg/L"}),
        _observation("ana", _loinc("5048-4"), **lab,
                     valueRatio={"numerator": {"value": 1}, "denominator": {"value": 160}}),
        _observation("note", _loinc("5778-6"), **lab, valueString="straw, clear"),
        _observation("site", _loinc("5778-6"), **lab, valueCodeableConcept={
            "coding": [{"system": SITE, "code": "AMB"}], "text": "amber"}),
    ]  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, resources, into)
    assert _stored(result) == ("stored", 5, 5, 0)
    assert result.warnings == [
        "4 stored as observation rows, not measurements: laboratory or vital-sign "
        "Observations whose value is no exact number or code (a comparator such as <5, a "
        "text, a date, a range, a ratio; the observation row keeps it as text)"
    ]
    assert _rows(into, "SELECT count(*) FROM measurement") == [(0,)]
    assert _rows(into, OBSERVATIONS) == [
        ("Observation/ana", "LOINC", "5048-4", None, None, None, None, "1:160"),
        ("Observation/crp", "LOINC", "1988-5", None, "mg/L", None, None, "<5"),
        ("Observation/note", "LOINC", "5778-6", None, None, None, None, "straw, clear"),
        ("Observation/site", "LOINC", "5778-6", None, None, None, None, "amber"),
    ]


# -- vital-signs panels ---------------------------------------------------------------------


def _blood_pressure(oid: str, *components: dict[str, Any], code: str = "85354-9",
                    **more: Any) -> dict[str, Any]:  # fmt: skip
    return _observation(oid, _loinc(code), category=_category("vital-signs"),
                        component=list(components), **more)  # fmt: skip


def _component(code: str, **value: Any) -> dict[str, Any]:
    return {"code": _loinc(code), **value}


def test_a_vital_signs_panel(tmp_path: Path) -> None:
    """A blood pressure (FHIR R4 profile: 85354-9, systolic 8480-6 and diastolic 8462-4 in
    component[]) is one record giving one row per component, coded by the component's code,
    its source_record naming the component; Synthea's blood pressure (55284-4 with category
    vital-signs) the same; a component's own reference range is its row's. A component of no
    known code is left out (counted). The vital signs panel 85353-1, which only groups its
    members by hasMember, is no record; its members (heart rate 8867-4, the blood pressure)
    are records of their own. A second import of the same data changes nothing."""
    bp = _blood_pressure(
        "bp",
        _component("8480-6", valueQuantity=_mm_hg(142),
                   referenceRange=[{"high": _mm_hg(140)}]),
        _component("8462-4", valueQuantity=_mm_hg(88)),
    )  # fmt: skip
    synthea = _blood_pressure(
        "synthea",
        _component("8462-4", valueQuantity=_mm_hg(79)),
        _component("8480-6", valueQuantity=_mm_hg(121)),
        {"code": {"coding": [{"system": SITE, "code": "CUFF"}]}, "valueString": "left arm"},
        code="55284-4",
    )  # fmt: skip
    heart = _observation("hr", _loinc("8867-4"), category=_category("vital-signs"),
                         valueQuantity={"value": 72, "unit": "beats/minute", "system": UCUM,
                                        "code": "/min"})  # fmt: skip
    panel = _observation("panel", _loinc("85353-1"), category=_category("vital-signs"),
                         hasMember=[{"reference": "Observation/bp"},
                                    {"reference": "Observation/hr"}])  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, bp, synthea, heart, panel], into)
    # records: the Patient, the two blood pressures and the heart rate; the panel is none
    assert _stored(result) == ("stored", 4, 4, 0)
    assert result.warnings == [
        "1 not imported: Observations that only group others (hasMember, no value: a "
        "vital-signs or laboratory panel; each member is read as an Observation of its own)",
        "1 not imported: values of Observations with components (a component, or the "
        "Observation's own value) whose code has no coding of a known code system; the other "
        "components are stored",
    ]
    expected = [
        ("Observation/bp component 8462-4", "LOINC", "8462-4", "2021-03-04", 88.0, "mm[Hg]",
         None, None, None, None),
        ("Observation/bp component 8480-6", "LOINC", "8480-6", "2021-03-04", 142.0, "mm[Hg]",
         None, 140.0, None, None),
        ("Observation/hr", "LOINC", "8867-4", "2021-03-04", 72.0, "/min", None, None, None,
         None),
        ("Observation/synthea component 8462-4", "LOINC", "8462-4", "2021-03-04", 79.0,
         "mm[Hg]", None, None, None, None),
        ("Observation/synthea component 8480-6", "LOINC", "8480-6", "2021-03-04", 121.0,
         "mm[Hg]", None, None, None, None),
    ]  # fmt: skip
    assert _rows(into, SQL) == expected
    assert _rows(into, "SELECT count(*) FROM observation") == [(0,)]

    again = _import(tmp_path, [PATIENT, bp, synthea, heart, panel], into)
    assert _stored(again) == ("stored", 4, 4, 0)
    assert _rows(into, SQL) == expected


def test_components_without_a_category_or_vital_sign_code_are_still_no_record(
    tmp_path: Path,
) -> None:
    """A blood pressure coded only with 55284-4 (no vital sign of the R4 profiles) and without
    a category is no measurement, and an observation row cannot hold components: no record,
    counted in the warnings with what to do."""
    bp = _blood_pressure("bp", _component("8480-6", valueQuantity=_mm_hg(121)), code="55284-4")
    bp.pop("category")
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, bp], into)
    assert _stored(result) == ("stored", 1, 1, 0)
    assert result.warnings == [
        "1 not imported: Observations with components (component[]) that are no laboratory "
        "result or vital sign (give the category laboratory or vital-signs, or record each "
        "component as an Observation of its own)"
    ]


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        (
            _blood_pressure(
                "bp1",
                _component("8480-6", valueQuantity=_mm_hg(120)),
                _component("8462-4", valueString="not measured"),
            ),
            "site.json, entry 2, Observation/bp1, field 'component[1].valueString': value 'not "
            "measured': a component's value must be an exact number (valueQuantity without a "
            "comparator, valueInteger) or a code (valueCodeableConcept, valueBoolean): the "
            "measurement table holds no text; correct the component or give it as an "
            "Observation of its own",
        ),
        (
            _blood_pressure(
                "bp1", _component("8480-6", valueQuantity=_mm_hg(120) | {"comparator": ">"})
            ),
            "site.json, entry 2, Observation/bp1, field 'component[0].valueQuantity.comparator'"
            ": value '>120': a component's value must be an exact number (valueQuantity without "
            "a comparator, valueInteger) or a code (valueCodeableConcept, valueBoolean): the "
            "measurement table holds no text; correct the component or give it as an "
            "Observation of its own",
        ),
        (
            {**_observation("w1", _loinc("29463-7"), valueQuantity={"value": 70}),
             "effectiveDateTime": None},
            "site.json, entry 2, Observation/w1, field 'effectiveDateTime': a date is required: "
            "give effectiveDateTime, effectivePeriod.start or issued, the day it was measured",
        ),
        (
            _observation("w1", _loinc("29463-7"), valueQuantity={"value": 70},
                         effectiveDateTime="2021-03"),
            "site.json, entry 2, Observation/w1, field 'effectiveDateTime': value '2021-03': the "
            "date is not precise to the day (YYYY-MM-DD needed)",
        ),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_rejection_naming_the_resource_and_field(
    tmp_path: Path, resource: dict[str, Any], problem: str
) -> None:
    """Refused by default (nothing written); with --errors report the other records are
    stored and this one is rejected: 2 in = 1 stored + 1 rejected."""
    resource = {k: v for k, v in resource.items() if v is not None}
    result = _import(tmp_path, [PATIENT, resource], tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("refused", 2, 0)
    assert [p.describe() for p in result.problems] == [problem]

    reported = write_import(Reader(tmp_path / "site.json"), tmp_path / "k.duckdb", errors="report")
    assert _stored(reported) == ("stored", 2, 1, 1)
    assert _rows(tmp_path / "k.duckdb", "SELECT count(*) FROM measurement") == [(0,)]


def test_the_same_component_twice_is_refused_as_a_repeated_record(tmp_path: Path) -> None:
    """Each component row is its own record (source_record ``Observation/bp component
    8480-6``): two systolic values in one blood pressure are the same record twice."""
    bp = _blood_pressure(
        "bp",
        _component("8480-6", valueQuantity=_mm_hg(120)),
        _component("8480-6", valueQuantity=_mm_hg(124)),
    )
    result = _import(tmp_path, [PATIENT, bp], tmp_path / "r.duckdb")
    assert result.status == "refused"
    assert [(p.field, p.value) for p in result.problems] == [
        ("source_record", "Observation/bp component 8480-6")
    ]


# -- export and round trip ------------------------------------------------------------------

PERSON_CSV = "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n" \
    "1,p1,site-1,F,1971-02-03,,White,Not Hispanic or Latino\n"  # fmt: skip
# a vital sign in a UCUM unit; a laboratory number with its normal range; a range bound alone;
# a unit not written as a UCUM code; a coded result; a code of a site's own; a number and a
# code (OMOP's measurement rows may hold both); no value
MEASUREMENT_CSV = """person_id,code_system,code,measurement_date,value,unit,range_low,\
range_high,value_code_system,value_code
1,LOINC,29463-7,2021-01-10,70.5,kg,,,,
1,LOINC,2160-0,2021-01-11,0.9,mg/dL,0.6,1.2,,
1,LOINC,1988-5,2021-01-12,12,mg/L,,5,,
1,LOINC,8867-4,2021-01-13,72,beats per minute,,,,
1,LOINC,94500-6,2021-01-14,,,,,SNOMED,260373001
1,LOCAL,DIPSTICK-1,2021-01-15,,,,,LOCAL,NEG
1,LOINC,5792-7,2021-01-16,100,mg/dL,,,SNOMED,10828004
1,LOINC,2160-0,2021-01-17,,,,,,
"""
ROWS = [
    ("LOINC", "29463-7", "2021-01-10", 70.5, "kg", None, None, None, None),
    ("LOINC", "2160-0", "2021-01-11", 0.9, "mg/dL", 0.6, 1.2, None, None),
    ("LOINC", "1988-5", "2021-01-12", 12.0, "mg/L", None, 5.0, None, None),
    ("LOINC", "8867-4", "2021-01-13", 72.0, "beats per minute", None, None, None, None),
    ("LOINC", "94500-6", "2021-01-14", None, None, None, None, "SNOMED", "260373001"),
    ("LOCAL", "DIPSTICK-1", "2021-01-15", None, None, None, None, "LOCAL", "NEG"),
    ("LOINC", "5792-7", "2021-01-16", 100.0, "mg/dL", None, None, "SNOMED", "10828004"),
    ("LOINC", "2160-0", "2021-01-17", None, None, None, None, None, None),
]
ROW_SQL = (
    "SELECT code_system, code, measurement_date::VARCHAR, value, unit, range_low, range_high, "
    "value_code_system, value_code FROM measurement ORDER BY measurement_date"
)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(PERSON_CSV, encoding="utf-8")
    (sheets / "measurement.csv").write_text(MEASUREMENT_CSV, encoding="utf-8")
    into = tmp_path / "r.duckdb"
    result = write_import(reader_for("csv", sheets), into)
    assert result.status == "stored", [p.describe() for p in result.problems]
    assert _rows(into, ROW_SQL) == ROWS
    return into


def _ucum(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


#: (category, code, the value and range fields) of each exported Observation, in row order.
EXPECTED = [
    ("vital-signs", _loinc("29463-7"), {"valueQuantity": _ucum(70.5, "kg")}),
    ("laboratory", _loinc("2160-0"),
     {"valueQuantity": _ucum(0.9, "mg/dL"),
      "referenceRange": [{"low": _ucum(0.6, "mg/dL"), "high": _ucum(1.2, "mg/dL")}]}),
    ("laboratory", _loinc("1988-5"),
     {"valueQuantity": _ucum(12.0, "mg/L"), "referenceRange": [{"high": _ucum(5.0, "mg/L")}]}),
    # not written as a UCUM code (spaces): the unit as text only
    ("vital-signs", _loinc("8867-4"),
     {"valueQuantity": {"value": 72.0, "unit": "beats per minute"}}),
    ("laboratory", _loinc("94500-6"), {"valueCodeableConcept": _coded(SNOMED, "260373001")}),
    ("laboratory", _coded(LOCAL, "DIPSTICK-1"), {"valueCodeableConcept": _coded(LOCAL, "NEG")}),
    # a number and a code: the code in the profile's extension (FHIR allows one value[x])
    ("laboratory", _loinc("5792-7"),
     {"valueQuantity": _ucum(100.0, "mg/dL"),
      "extension": [{"url": OBSERVATION_VALUE,
                     "valueCodeableConcept": _coded(SNOMED, "10828004")}]}),
    ("laboratory", _loinc("2160-0"), {}),
]  # fmt: skip


def test_measurements_are_exported_as_valid_observations_and_read_back_the_same(
    registry: Path, tmp_path: Path
) -> None:
    """Category vital-signs for a vital-sign LOINC code, else laboratory; valueQuantity,
    valueCodeableConcept or both; referenceRange in the row's unit. Both export formats read
    back to the same rows."""
    from fhir.resources.R4B import get_fhir_model_class

    export_registry(registry, tmp_path / "ndjson", "fhir-ndjson")
    lines = (tmp_path / "ndjson" / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    written = [json.loads(line) for line in lines]
    assert written == [
        {
            "resourceType": "Observation",
            "id": f"measurement-{n}",
            "status": "final",
            "category": _category(category),
            "code": code,
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": row[2],
            **value,
        }
        for n, ((category, code, value), row) in enumerate(zip(EXPECTED, ROWS, strict=True), 1)
    ]
    model = get_fhir_model_class("Observation")
    for resource in written:  # valid FHIR R4 (the R4B models: Observation did not change)
        assert model.model_validate(resource).model_dump(by_alias=True, exclude_none=True)

    export_registry(registry, tmp_path / "bundles", "fhir")
    [path] = sorted((tmp_path / "bundles").iterdir())
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert [e["resource"] for e in bundle["entry"][1:]] == written

    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.rejected, reread.problems) == ("stored", 0, [])
        assert reread.records_in == 1 + len(ROWS)  # the Patient and each Observation
        assert reread.warnings == []
        assert _rows(again, ROW_SQL) == ROWS
        assert _rows(again, "SELECT count(*) FROM observation") == [(0,)]


def test_an_imported_blood_pressure_round_trips(tmp_path: Path) -> None:
    """FHIR -> registry -> FHIR -> registry: a blood pressure's component rows come back as
    Observations of their own (8480-6, 8462-4, category vital-signs) and read back to the same
    rows, with a coded laboratory result and a range."""
    bp = _blood_pressure(
        "bp",
        _component("8480-6", valueQuantity=_mm_hg(142), referenceRange=[{"high": _mm_hg(140)}]),
        _component("8462-4", valueQuantity=_mm_hg(88)),
    )
    covid = _observation(
        "covid", _loinc("94500-6"), category=_category("laboratory"),
        valueCodeableConcept=_coded(SNOMED, "260415000"),
    )  # fmt: skip
    first = tmp_path / "first.duckdb"
    assert _stored(_import(tmp_path, [PATIENT, bp, covid], first)) == ("stored", 3, 3, 0)
    every = ROW_SQL.replace("ORDER BY measurement_date", "ORDER BY ALL")
    assert len(_rows(first, every)) == 3
    for fmt in ("fhir", "fhir-ndjson"):
        export_registry(first, tmp_path / fmt, fmt)
        again = tmp_path / f"again-{fmt}.duckdb"
        reread = write_import(Reader(tmp_path / fmt), again)
        # the Patient and three Observations: each component row was written as one
        assert (reread.status, reread.records_in, reread.rejected) == ("stored", 4, 0)
        assert _rows(again, every) == _rows(first, every)


def test_the_rows_that_do_not_round_trip_are_the_documented_ones() -> None:
    """docs/fhir.md, Export: a coded value without its code system is written as LOCAL (as an
    observation's and a drug's code are), so it comes back LOCAL. (A measurement coded with
    the LOINC code of a registry laboratory test, which would come back as a laboratory
    result, is refused by the registry's checks: such results are laboratory rows.)"""
    from myositis.sources.fhir import build

    row = {"code_system": "LOINC", "code": "5792-7", "measurement_date": None, "value": None,
           "unit": None, "range_low": None, "range_high": None, "value_code_system": None,
           "value_code": "NEG"}  # fmt: skip
    written = build.measurement(row, "p1", "measurement-1")
    assert written["valueCodeableConcept"] == _coded(LOCAL, "NEG")
    assert written["category"] == _category("laboratory")


def test_a_laboratory_result_without_its_loinc_code_is_exported_with_its_tests(
    tmp_path: Path,
) -> None:
    """A spreadsheet's CK with the optional loinc column left empty is exported coded by the
    test's LOINC code, 2157-6 (as the OMOP export codes it), not a coding whose code is null
    (invalid R4); both formats read back to the same laboratory row."""
    from fhir.resources.R4B import get_fhir_model_class

    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(
        "person_id,source_id,sex,birth_date\n1,p1,F,1971-02-03\n", encoding="utf-8"
    )
    (sheets / "laboratory.csv").write_text(
        "person_id,test,loinc,result_date,value,unit,uln,uln_unit\n1,ck,,2021-03-04,300,U/L,200,\n",
        encoding="utf-8",
    )
    registry = tmp_path / "r.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    lab = "SELECT test, loinc, result_date::VARCHAR, value, unit, uln FROM laboratory"
    assert _rows(registry, lab) == [("ck", None, "2021-03-04", 300.0, "U/L", 200.0)]
    export_registry(registry, tmp_path / "ndjson", "fhir-ndjson")
    [line] = (tmp_path / "ndjson" / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    written = json.loads(line)
    assert written["code"] == {"coding": [{"system": LOINC, "code": "2157-6"}], "text": "ck"}
    assert get_fhir_model_class("Observation").model_validate(written)
    export_registry(registry, tmp_path / "bundles", "fhir")
    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.records_in, reread.rejected) == ("stored", 2, 0)
        assert reread.warnings == []
        assert _rows(again, lab) == [("ck", "2157-6", "2021-03-04", 300.0, "U/L", 200.0)]
