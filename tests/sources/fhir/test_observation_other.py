"""FHIR R4 Observations that are no laboratory result, assessment or measurement (schema version
4, table ``observation``): a history of cancer, a smoking status, an allergy (laboratory
results and vital signs are measurements: test_measurement.py). The import
codes each by the first coding of a known code system and stores its value as a number and
unit, a coded value or a text (every value[x] of R4 has its rule); a cancelled or entered in
error Observation is rejected, one without a date refused, one of components, of sampled data
or of no known code is no record (counted in the warnings). Laboratory results, mapped
measures and measurements keep their own tables. The export writes each row back as an
Observation (valid R4) and a second import reads the same rows, in both export formats."""

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
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:myositis-outcomes:fhir:CodeSystem:local"
OBSERVATION_VALUE = "urn:myositis-outcomes:fhir:StructureDefinition:observation-value"
PGA = "urn:myositis-outcomes:fhir:CodeSystem:pga"
CDASI = "urn:myositis-outcomes:fhir:CodeSystem:cdasi"
SITE = "http://hospital.example/codes"
P = {"reference": "Patient/p1"}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1971-02-03"}

SQL = (
    "SELECT o.source_record, o.code_system, o.code, o.observation_date::VARCHAR, o.value, "
    "o.unit, o.value_code_system, o.value_code, o.value_text FROM observation o "
    "ORDER BY o.source_record"
)
#: LOINC 72166-2 Tobacco smoking status; SNOMED 161501007 History of malignant neoplasm.
SMOKING = {"coding": [{"system": LOINC, "code": "72166-2"}]}
CANCER_HISTORY = {"coding": [{"system": SNOMED, "code": "161501007"}]}


def _observation(oid: str, code: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final", "subject": P,
        "code": code or SMOKING, "effectiveDateTime": "2021-03-04",
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


# -- import --------------------------------------------------------------------------------

#: (Observation id, its value fields, the row's value, unit, value code system and code, text)
VALUES: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    # valueQuantity: the UCUM code, else the unit text (LOINC 8339-4 birth weight, without a
    # category: no vital sign of the FHIR R4 profiles, so an observation; a body weight,
    # 29463-7, was one before the measurement table and is a measurement now)
    ("o01", {"code": {"coding": [{"system": LOINC, "code": "8339-4"}]},
             "valueQuantity": {"value": 3.45, "unit": "kilogram", "system": UCUM, "code": "kg"}},
     (3.45, "kg", None, None, None)),
    ("o02", {"code": {"coding": [{"system": SNOMED, "code": "401201003"}]},
             "valueQuantity": {"value": 40, "unit": "pack-years"}},
     (40.0, "pack-years", None, None, None)),
    ("o03", {"valueQuantity": {"value": 12}}, (12.0, None, None, None, None)),
    # a comparator: no exact number, the text keeps it; the unit stays
    ("o04", {"valueQuantity": {"value": 5, "comparator": "<", "system": UCUM, "code": "/d"}},
     (None, "/d", None, None, "<5")),
    ("o05", {"valueInteger": 20}, (20.0, None, None, None, None)),
    # valueCodeableConcept: the first coding of a known system, its text kept
    ("o06", {"valueCodeableConcept": {
        "coding": [{"system": SITE, "code": "S1"},
                   {"system": SNOMED, "code": "77176002", "display": "Smoker"}],
        "text": "smokes 10 a day"}},
     (None, None, "SNOMED", "77176002", "smokes 10 a day")),
    ("o07", {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "8517006"}]}},
     (None, None, "SNOMED", "8517006", None)),
    # no coding of a known system: the text, else the display
    ("o08", {"valueCodeableConcept": {"coding": [{"system": SITE, "code": "EX"}],
                                      "text": "ex-smoker since 2015"}},
     (None, None, None, None, "ex-smoker since 2015")),
    ("o09", {"valueCodeableConcept": {"coding": [{"system": SITE, "code": "N",
                                                  "display": "never smoked"}]}},
     (None, None, None, None, "never smoked")),
    ("o10", {"valueString": "pipe, occasionally"}, (None, None, None, None, "pipe, occasionally")),
    # valueBoolean: SNOMED CT Yes / No (OMOP's value concepts 4188539, 4188540)
    ("o11", {"code": CANCER_HISTORY, "valueBoolean": True},
     (None, None, "SNOMED", "373066001", None)),
    ("o12", {"code": CANCER_HISTORY, "valueBoolean": False},
     (None, None, "SNOMED", "373067005", None)),
    # values held as text
    ("o13", {"valueDateTime": "2015-06"}, (None, None, None, None, "2015-06")),
    ("o14", {"valueDateTime": "2015-06-01T08:30:00+02:00"},
     (None, None, None, None, "2015-06-01T08:30:00+02:00")),
    ("o15", {"valueTime": "07:45:00"}, (None, None, None, None, "07:45:00")),
    ("o16", {"valuePeriod": {"start": "2010-01-01", "end": "2015-06-01"}},
     (None, None, None, None, "2010-01-01/2015-06-01")),
    ("o17", {"valuePeriod": {"start": "2010-01-01"}}, (None, None, None, None, "2010-01-01/..")),
    ("o18", {"valueRange": {"low": {"value": 5, "unit": "mg/L"},
                            "high": {"value": 10, "unit": "mg/L"}}},
     (None, None, None, None, "5 mg/L to 10 mg/L")),
    ("o19", {"valueRange": {"high": {"value": 10}}}, (None, None, None, None, "<=10")),
    ("o20", {"code": {"coding": [{"system": LOINC, "code": "5048-4"}]},
             "valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 160}}},
     (None, None, None, None, "1:160")),
    # no value: the code states the observation, or the source says why it is absent
    ("o21", {"code": CANCER_HISTORY}, (None, None, None, None, None)),
    ("o22", {"dataAbsentReason": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
         "code": "asked-declined"}]}},
     (None, None, None, None, None)),
]  # fmt: skip


def test_each_value_becomes_its_columns(tmp_path: Path) -> None:
    """Every value[x] of an R4 Observation: a number and unit (the UCUM code, else the unit),
    an integer, a coded value (first coding of a known system, the text kept; the text or
    display when no coding is of a known system), a text, yes/no as SNOMED CT Yes/No, dates,
    times, periods, ranges and ratios as text, and none."""
    observations = [_observation(oid, **fields) for oid, fields, _ in VALUES]
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, *observations], into)
    assert _stored(result) == ("stored", 23, 23, 0)
    assert result.warnings == []
    codes = {"o01": ("LOINC", "8339-4"), "o02": ("SNOMED", "401201003"),
             "o11": ("SNOMED", "161501007"), "o12": ("SNOMED", "161501007"),
             "o20": ("LOINC", "5048-4"), "o21": ("SNOMED", "161501007")}  # fmt: skip
    assert _rows(into, SQL) == [
        (f"Observation/{oid}", *codes.get(oid, ("LOINC", "72166-2")), "2021-03-04", *row)
        for oid, _, row in VALUES
    ]


def test_the_code_and_the_date(tmp_path: Path) -> None:
    """The code is the first coding of a known code system (a site's own coding before it is
    passed over, as for Conditions and Procedures); the date is effectiveDateTime, else
    effectivePeriod.start, else issued, the time of day and its zone dropped."""
    allergy = {"coding": [{"system": SITE, "code": "PEN-ALL"},
                          {"system": ICD10CM, "code": "Z88.0"},
                          {"system": SNOMED, "code": "91936005"}]}  # fmt: skip
    dated = _observation("a1", allergy, effectiveDateTime="2021-03-04T23:30:00-05:00")
    period = _observation("a2", CANCER_HISTORY, effectivePeriod={"start": "2020-01-02"})
    period.pop("effectiveDateTime")
    issued = _observation("a3", CANCER_HISTORY, issued="2019-05-06T10:00:00Z")
    issued.pop("effectiveDateTime")
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, dated, period, issued], into)
    assert _stored(result) == ("stored", 4, 4, 0)
    assert [r[:4] for r in _rows(into, SQL)] == [
        ("Observation/a1", "ICD10CM", "Z88.0", "2021-03-04"),
        ("Observation/a2", "SNOMED", "161501007", "2020-01-02"),
        ("Observation/a3", "SNOMED", "161501007", "2019-05-06"),
    ]
    assert _rows(into, "SELECT source_location FROM observation WHERE code = 'Z88.0'") == [
        ("site.json entry 2 Observation/a1",)
    ]


def test_laboratory_results_and_measures_keep_their_tables(tmp_path: Path) -> None:
    """A LOINC code of a registry laboratory test is a laboratory result and a code of the
    mapping an assessment, as before; a CDASI score is still never taken from the source. A
    LOINC code of another test (hemoglobin 718-7) without a category is an observation (with
    the category laboratory a measurement: test_measurement.py)."""
    ck = _observation(
        "ck", {"coding": [{"system": LOINC, "code": "2157-6"}]},
        valueQuantity={"value": 250, "unit": "U/L", "system": UCUM, "code": "U/L"},
    )  # fmt: skip
    pga = _observation("pga", {"coding": [{"system": PGA, "code": "score"}]},
                       valueQuantity={"value": 4.5})  # fmt: skip
    cdasi = _observation("cdasi", {"coding": [{"system": CDASI, "code": "activity"}]},
                         valueQuantity={"value": 12})  # fmt: skip
    hb = _observation(
        "hb", {"coding": [{"system": LOINC, "code": "718-7"}]},
        valueQuantity={"value": 12.5, "unit": "g/dL", "system": UCUM, "code": "g/dL"},
    )  # fmt: skip
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, ck, pga, cdasi, hb], into)
    assert _stored(result) == ("stored", 4, 4, 0)
    assert result.warnings == [
        "1 not imported: Observations of CDASI scores (computed from the items, never taken "
        "from the source)"
    ]
    assert _rows(into, "SELECT test, value FROM laboratory") == [("ck", 250.0)]
    assert _rows(into, "SELECT instrument, measure, value FROM assessment") == [
        ("pga", "score", 4.5)
    ]
    assert [r[:6] for r in _rows(into, SQL)] == [
        ("Observation/hb", "LOINC", "718-7", "2021-03-04", 12.5, "g/dL")
    ]


def test_components_sampled_data_and_unknown_codes_are_no_records(tmp_path: Path) -> None:
    """Components that are no measurement (a blood pressure coded 55284-4, no vital sign of the
    FHIR R4 profiles, without a category: with one, or coded 85354-9, it is measurement rows,
    test_measurement.py) and a sampled series hold values an observation row cannot; an
    Observation with no coding of a known code system holds nothing a code set can match. None
    is a record: the warnings count them, by kind."""
    bp = _observation(
        "bp", {"coding": [{"system": LOINC, "code": "55284-4"}]},
        component=[
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
             "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
             "valueQuantity": {"value": 80, "system": UCUM, "code": "mm[Hg]"}},
        ],
    )  # fmt: skip
    ecg = _observation(
        "ecg", {"coding": [{"system": LOINC, "code": "131328"}]},
        valueSampledData={"origin": {"value": 0}, "period": 10, "dimensions": 1,
                          "data": "1 2 3"},
    )  # fmt: skip
    site = _observation("site", {"coding": [{"system": SITE, "code": "FRAILTY"}]},
                        valueInteger=3)  # fmt: skip
    text_only = _observation("text", {"text": "walks with a stick"})
    kept = _observation("kept", CANCER_HISTORY)
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, bp, ecg, site, text_only, kept], into)
    assert _stored(result) == ("stored", 2, 2, 0)
    assert result.warnings == [
        "1 not imported: Observations of sampled data (valueSampledData: a waveform, a series)",
        "2 not imported: Observations whose code is no laboratory test, mapped measure or "
        "coding of a known code system",
        "1 not imported: Observations with components (component[]) that are no laboratory "
        "result or vital sign (give the category laboratory or vital-signs, or record each "
        "component as an Observation of its own)",
    ]
    assert [r[0] for r in _rows(into, SQL)] == ["Observation/kept"]


def test_statuses_kept_and_rejected_with_every_record_accounted(tmp_path: Path) -> None:
    """FHIR R4 ObservationStatus: cancelled and entered-in-error are rejected, as for every
    resource (and as laboratory results and assessments are); the rest are stored."""
    kept = ["registered", "preliminary", "final", "amended", "corrected", "unknown"]
    rejected = ["cancelled", "entered-in-error"]
    observations = [
        _observation(f"s{n}", CANCER_HISTORY, status=status)
        for n, status in enumerate(kept + rejected, start=1)
    ]
    into = tmp_path / "r.duckdb"
    result = _import(tmp_path, [PATIENT, *observations], into)
    assert _stored(result) == ("stored", 9, 7, 2)
    assert [(p.describe(), p.severity) for p in result.problems] == [
        (
            "site.json, entry 8, Observation/s7, field 'status': value 'cancelled': marked "
            "cancelled in the source",
            "rejected",
        ),
        (
            "site.json, entry 9, Observation/s8, field 'status': value 'entered-in-error': "
            "marked entered in error in the source",
            "rejected",
        ),
    ]
    assert [r[0] for r in _rows(into, SQL)] == [f"Observation/s{n}" for n in range(1, 7)]


def _undated() -> dict[str, Any]:
    o = _observation("o1", CANCER_HISTORY)
    o.pop("effectiveDateTime")
    return o


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        (
            {},
            "field 'effectiveDateTime': a date is required: give effectiveDateTime, "
            "effectivePeriod.start or issued, the day it was observed",
        ),
        (
            {"effectivePeriod": {"end": "2021-03-12"}},
            "field 'effectiveDateTime': a date is required: give effectiveDateTime, "
            "effectivePeriod.start or issued, the day it was observed",
        ),
        (
            {"effectiveDateTime": "2021-03"},
            "field 'effectiveDateTime': value '2021-03': the date is not precise to the day "
            "(YYYY-MM-DD needed)",
        ),
        (
            {"effectivePeriod": {"start": "2021"}},
            "field 'effectivePeriod.start': value '2021': the date is not precise to the day "
            "(YYYY-MM-DD needed)",
        ),
        (
            {"effectiveDateTime": "2021-03-04",
             "valueCodeableConcept": {"coding": [{"system": SITE, "code": "Y"}]}},
            "field 'valueCodeableConcept': value 'http://hospital.example/codes|Y': a coded "
            "value of no known code system and without a text or display: give a coding of a "
            "known code system (SNOMED, LOINC, ...; docs/fhir.md) or the value's text",
        ),
        (
            {"effectiveDateTime": "2021-03-04", "subject": {"reference": "Group/g1"}},
            "field 'subject': value 'Group/g1': refers to a Group, not a Patient",
        ),
    ],
)  # fmt: skip
def test_an_observation_without_its_day_or_readable_value_is_refused(
    tmp_path: Path, fields: dict[str, Any], problem: str
) -> None:
    observation = _undated() | fields
    result = _import(tmp_path, [PATIENT, observation], tmp_path / "r.duckdb")
    assert (result.status, result.records_in, result.stored) == ("refused", 2, 0)
    assert [p.describe() for p in result.problems] == [
        f"site.json, entry 2, Observation/o1, {problem}"
    ]


# -- export and round trip ------------------------------------------------------------------

PERSON_CSV = "person_id,source_id,site,sex,birth_date,birth_year,race,ethnicity\n" \
    "1,p1,site-1,F,1971-02-03,,White,Not Hispanic or Latino\n"  # fmt: skip
# a number in a UCUM unit, one in a unit written otherwise, a number alone, a unit alone, a
# coded value, a coded value with its text, a text, a number with a coded value and one with a
# text (as OMOP's observation rows may hold), an observation without a value
OBSERVATION_CSV = """person_id,code_system,code,observation_date,value,unit,value_code_system,\
value_code,value_text
1,LOINC,8339-4,2021-01-10,3.45,kg,,,
1,SNOMED,401201003,2021-01-11,40,pack years,,,
1,LOINC,72166-2,2021-01-12,3,,,,
1,LOCAL,ARM-SPAN,2021-01-13,,cm,,,
1,LOINC,72166-2,2021-01-14,,,SNOMED,77176002,
1,LOINC,72166-2,2021-01-15,,,SNOMED,8517006,ex-smoker since 2015
1,LOCAL,SOCIAL-1,2021-01-16,,,,,lives alone
1,OMOP,4275495,2021-01-17,2,,SNOMED,373066001,
1,SNOMED,229819007,2021-01-18,1.5,/d,,,packs
1,SNOMED,161501007,2021-01-19,,,,,
"""
ROWS = [
    ("LOINC", "8339-4", "2021-01-10", 3.45, "kg", None, None, None),
    ("SNOMED", "401201003", "2021-01-11", 40.0, "pack years", None, None, None),
    ("LOINC", "72166-2", "2021-01-12", 3.0, None, None, None, None),
    ("LOCAL", "ARM-SPAN", "2021-01-13", None, "cm", None, None, None),
    ("LOINC", "72166-2", "2021-01-14", None, None, "SNOMED", "77176002", None),
    ("LOINC", "72166-2", "2021-01-15", None, None, "SNOMED", "8517006", "ex-smoker since 2015"),
    ("LOCAL", "SOCIAL-1", "2021-01-16", None, None, None, None, "lives alone"),
    ("OMOP", "4275495", "2021-01-17", 2.0, None, "SNOMED", "373066001", None),
    ("SNOMED", "229819007", "2021-01-18", 1.5, "/d", None, None, "packs"),
    ("SNOMED", "161501007", "2021-01-19", None, None, None, None, None),
]
ROW_SQL = (
    "SELECT code_system, code, observation_date::VARCHAR, value, unit, value_code_system, "
    "value_code, value_text FROM observation ORDER BY observation_date"
)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(PERSON_CSV, encoding="utf-8")
    (sheets / "observation.csv").write_text(OBSERVATION_CSV, encoding="utf-8")
    into = tmp_path / "r.duckdb"
    result = write_import(reader_for("csv", sheets), into)
    assert result.status == "stored", [p.describe() for p in result.problems]
    assert _rows(into, ROW_SQL) == ROWS
    return into


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _value(concept: dict[str, Any]) -> dict[str, Any]:
    return {"extension": [{"url": OBSERVATION_VALUE, "valueCodeableConcept": concept}]}


#: (code, the value fields) of each exported Observation, in the rows' order.
EXPECTED = [
    (_coding(LOINC, "8339-4"),
     {"valueQuantity": {"value": 3.45, "unit": "kg", "system": UCUM, "code": "kg"}}),
    # not written as a UCUM code (a space): the unit as text only
    (_coding(SNOMED, "401201003"), {"valueQuantity": {"value": 40.0, "unit": "pack years"}}),
    (_coding(LOINC, "72166-2"), {"valueQuantity": {"value": 3.0}}),
    (_coding(LOCAL, "ARM-SPAN"),
     {"valueQuantity": {"unit": "cm", "system": UCUM, "code": "cm"}}),
    (_coding(LOINC, "72166-2"), {"valueCodeableConcept": _coding(SNOMED, "77176002")}),
    (_coding(LOINC, "72166-2"),
     {"valueCodeableConcept": _coding(SNOMED, "8517006") | {"text": "ex-smoker since 2015"}}),
    (_coding(LOCAL, "SOCIAL-1"), {"valueString": "lives alone"}),
    # a number and a coded value, or a number and a text: the coded value or text in the
    # profile's extension (FHIR allows one value[x])
    (_coding("https://fhir-terminology.ohdsi.org", "4275495"),
     {"valueQuantity": {"value": 2.0}, **_value(_coding(SNOMED, "373066001"))}),
    (_coding(SNOMED, "229819007"),
     {"valueQuantity": {"value": 1.5, "unit": "/d", "system": UCUM, "code": "/d"},
      **_value({"text": "packs"})}),
    (_coding(SNOMED, "161501007"), {}),
]  # fmt: skip


def test_observations_are_exported_as_valid_observations_and_read_back_the_same(
    registry: Path, tmp_path: Path
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    export_registry(registry, tmp_path / "ndjson", "fhir-ndjson")
    lines = (tmp_path / "ndjson" / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    written = [json.loads(line) for line in lines]
    assert written == [
        {
            "resourceType": "Observation",
            "id": f"observation-{n}",
            "status": "final",
            "code": code,
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": row[2],
            **value,
        }  # fmt: skip
        for n, ((code, value), row) in enumerate(zip(EXPECTED, ROWS, strict=True), start=1)
    ]
    model = get_fhir_model_class("Observation")
    for resource in written:  # valid FHIR R4 (the R4B models: Observation did not change)
        assert model.model_validate(resource).model_dump(by_alias=True, exclude_none=True)

    export_registry(registry, tmp_path / "bundles", "fhir")
    [path] = sorted((tmp_path / "bundles").iterdir())
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ] == written

    for form in ("ndjson", "bundles"):
        again = tmp_path / f"again-{form}.duckdb"
        reread = write_import(Reader(tmp_path / form), again)
        assert (reread.status, reread.rejected, reread.problems) == ("stored", 0, [])
        assert reread.records_in == 1 + len(ROWS)  # the Patient and each Observation
        assert reread.warnings == []
        assert _rows(again, ROW_SQL) == ROWS


def test_an_imported_observation_round_trips(tmp_path: Path) -> None:
    """FHIR -> registry -> FHIR -> registry: the rows of every value kind of the import (a
    comparator's text and unit, yes/no codes, a text kept beside its code) come back equal."""
    observations = [_observation(oid, **fields) for oid, fields, _ in VALUES]
    first = tmp_path / "first.duckdb"
    assert _import(tmp_path, [PATIENT, *observations], first).status == "stored"
    for fmt in ("fhir", "fhir-ndjson"):
        export_registry(first, tmp_path / fmt, fmt)
        again = tmp_path / f"again-{fmt}.duckdb"
        reread = write_import(Reader(tmp_path / fmt), again)
        assert (reread.status, reread.records_in, reread.rejected) == ("stored", 23, 0)
        every = ROW_SQL.replace("ORDER BY observation_date", "ORDER BY ALL")
        assert _rows(again, every) == _rows(first, every)
        assert len(_rows(again, every)) == 22


def test_the_rows_that_do_not_round_trip_are_the_documented_ones(tmp_path: Path) -> None:
    """docs/fhir.md, Export: a coded value without its code system is written as LOCAL (as a
    drug's code is); an observation coded with the LOINC code of a registry laboratory test
    comes back as a laboratory result, and one coded with a vital sign of the FHIR R4 profiles
    (29463-7 body weight) whose value a measurement holds as a measurement: the import's rules
    for those codes. A vital sign whose value is text stays an observation."""
    from myositis.sources.fhir import build

    row = {"code_system": "SNOMED", "code": "161501007", "observation_date": None,
           "value": None, "unit": None, "value_code_system": None, "value_code": "Y",
           "value_text": None}  # fmt: skip
    assert build.observation(row, "p1", "observation-1")["valueCodeableConcept"] == _coding(
        LOCAL, "Y"
    )

    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "person.csv").write_text(PERSON_CSV, encoding="utf-8")
    (sheets / "observation.csv").write_text(
        "person_id,code_system,code,observation_date,value,unit,value_text\n"
        "1,LOINC,2157-6,2021-02-01,250,U/L,\n"
        "1,LOINC,29463-7,2021-02-02,70.5,kg,\n"
        "1,LOINC,29463-7,2021-02-03,,kg,<3\n",
        encoding="utf-8",
    )
    registry = tmp_path / "r.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    export_registry(registry, tmp_path / "out", "fhir-ndjson")
    again = tmp_path / "again.duckdb"
    assert write_import(Reader(tmp_path / "out"), again).status == "stored"
    assert _rows(again, "SELECT test, value, unit FROM laboratory") == [("ck", 250.0, "U/L")]
    assert _rows(again, "SELECT code, value, unit FROM measurement") == [("29463-7", 70.5, "kg")]
    assert _rows(again, "SELECT code, value, unit, value_text FROM observation") == [
        ("29463-7", None, "kg", "<3")
    ]
