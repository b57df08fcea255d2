"""ATLAS ``Measurement`` criteria (myositis.cohort.atlas): read as laboratory events of one
registry test, field by field, every refusal, and run live on an OMOP CDM.

Circe's meaning (github.com/OHDSI/circe-be, commit 9a80aa7, ``MeasurementSqlBuilder.java``):
``ValueAsNumber`` bounds ``value_as_number``; ``RangeHighRatio`` bounds
``value_as_number / NULLIF(range_high, 0)``; ``Unit`` keeps the rows whose ``unit_concept_id``
is listed. The run below counts the persons of each cohort with that SQL, written here against
the CDM tables, and requires the imported cohort, run through the OMOP views, to find the same
persons, as does the same cohort written in the cohort language on the registry the CDM was
exported from (examples/cohorts/registry, SYNTHETIC).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conformance.engines import exported_cdm
from myositis.cohort.atlas import translate_atlas
from myositis.cohort.language import Range
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "examples" / "cohorts" / "registry"


def _concept(code: str, concept_id: int = 0, vocabulary: str = "LOINC") -> dict[str, Any]:
    # the importer reads VOCABULARY_ID and CONCEPT_CODE (docs/atlas.md, "Concepts")
    return {
        "CONCEPT_ID": concept_id,
        "CONCEPT_NAME": code,
        "STANDARD_CONCEPT": "S",
        "VOCABULARY_ID": vocabulary,
        "CONCEPT_CODE": code,
        "DOMAIN_ID": "Measurement",
        "CONCEPT_CLASS_ID": "Lab Test",
    }


def _set(cid: int, name: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "name": name, "expression": {"items": list(items)}}


def _item(concept: dict[str, Any], **flags: bool) -> dict[str, Any]:
    return {"concept": concept, "isExcluded": False, "includeDescendants": False} | flags


def expression(
    entry: dict[str, Any], *, rule: dict[str, Any] | None = None, ck_id: int = 0
) -> dict[str, Any]:
    """An ATLAS cohort expression (the form of its Export tab) with concept sets 0 (CK, LOINC
    2157-6) and 1 (aldolase, LOINC 1761-6), the entry ``entry`` (a Measurement), all events,
    observed 0 days before and after, and an optional inclusion rule of one criterion."""
    data: dict[str, Any] = {
        "ConceptSets": [
            _set(0, "CK", _item(_concept("2157-6", ck_id))),
            _set(1, "Aldolase", _item(_concept("1761-6"))),
        ],
        "PrimaryCriteria": {
            "CriteriaList": [{"Measurement": entry}],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "All"},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": "First"},
        "InclusionRules": [],
        "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
        "CensorWindow": {},
        "cdmVersionRange": ">=5.0.0",
    }
    if rule is not None:
        data["InclusionRules"] = [
            {
                "name": "aldolase above the ULN on the index day",
                "expression": {
                    "Type": "ALL",
                    "CriteriaList": [
                        {
                            "Criteria": {"Measurement": rule},
                            "StartWindow": {
                                "Start": {"Days": 0, "Coeff": -1},
                                "End": {"Days": 0, "Coeff": 1},
                            },
                            "Occurrence": {"Type": 2, "Count": 1},
                        }
                    ],
                    "DemographicCriteriaList": [],
                    "Groups": [],
                },
            }
        ]
    return data


CK_ABOVE_2_ULN = {"CodesetId": 0, "RangeHighRatio": {"Value": 2, "Op": "gt"}}
ALDOLASE_ABOVE_ULN = {"CodesetId": 1, "RangeHighRatio": {"Value": 1, "Op": "gt"}}
# 8 ukat/L is 480 U/L (lab_units.csv: 1 ukat/L = 60 U/L)
CK_AT_LEAST_8_UKAT = {
    "CodesetId": 0,
    "ValueAsNumber": {"Value": 8, "Op": "gte"},
    "Unit": [_concept("ukat/L", 0, "UCUM") | {"DOMAIN_ID": "Unit", "CONCEPT_CLASS_ID": "Unit"}],
}
CK_600_TO_800 = {"CodesetId": 0, "ValueAsNumber": {"Value": 600, "Op": "bt", "Extent": 800}}


def test_translation_field_by_field() -> None:
    imported = translate_atlas(expression(CK_ABOVE_2_ULN, rule=ALDOLASE_ABOVE_ULN))
    cohort = imported.cohort
    event = cohort.entry.events[0]
    assert (event.domain, event.test, event.times_uln, event.value, event.concept_set) == (
        "laboratory",
        "ck",
        Range(gt=2),
        None,
        None,
    )
    criterion = cohort.inclusion[0].criteria[0]
    assert (criterion.domain, criterion.test, criterion.times_uln) == (
        "laboratory",
        "aldolase",
        Range(gt=1),
    )
    assert any("with or without a value" in note for note in imported.notes)

    unit = translate_atlas(expression(CK_AT_LEAST_8_UKAT)).cohort.entry.events[0]
    assert unit.value == Range(gte=480)
    # 1 nkat/L = 0.06 U/L (lab_units.csv): 8,000 nkat/L is 480 U/L, 19,990 nkat/L 1,199.4 U/L
    # (in floating point 19990 * 0.06 is 1199.3999999999999: the bound is rounded)
    for value, expected in ((8000, 480), (19990, 1199.4)):
        nkat = {**CK_AT_LEAST_8_UKAT, "ValueAsNumber": {"Value": value, "Op": "gte"}}
        nkat["Unit"] = [_concept("nkat/L", 0, "UCUM")]
        assert translate_atlas(expression(nkat)).cohort.entry.events[0].value == Range(gte=expected)
    between = translate_atlas(expression(CK_600_TO_800))
    assert between.cohort.entry.events[0].value == Range(gte=600, lte=800)
    assert any("whatever its unit" in note for note in between.notes)


def _entry_with(**changes: Any) -> dict[str, Any]:
    return {**CK_ABOVE_2_ULN, **changes}


def _with_sets(*sets: dict[str, Any]) -> dict[str, Any]:
    data = expression(CK_ABOVE_2_ULN)
    data["ConceptSets"] = list(sets)
    return data


ENTRY = "PrimaryCriteria.CriteriaList[0].Measurement"
REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "not a registry test",
        _with_sets(_set(0, "Creatinine", _item(_concept("2160-0")))),
        f"{ENTRY}.CodesetId: not supported: concept set 'creatinine' holds LOINC 2160-0, which "
        "is not a laboratory test of the registry",
    ),
    (
        "a SNOMED measurement concept",
        _with_sets(_set(0, "CK", _item(_concept("166720001", 4008000, "SNOMED")))),
        f"{ENTRY}.CodesetId: not supported: concept set 'ck' holds SNOMED 166720001",
    ),
    (
        "two tests",
        _with_sets(_set(0, "CK", _item(_concept("2157-6")), _item(_concept("1761-6")))),
        f"{ENTRY}.CodesetId: not supported: concept set 'ck' holds the LOINC codes of aldolase "
        "and ck; a laboratory criterion reads one test",
    ),
    (
        "excluded concepts",
        _with_sets(
            _set(0, "CK", _item(_concept("2157-6")), _item(_concept("1761-6"), isExcluded=True))
        ),
        f"{ENTRY}.CodesetId: not supported: concept set 'ck' excludes concepts",
    ),
    (
        "abnormal flag",
        expression(_entry_with(Abnormal=True)),
        f"{ENTRY}.Abnormal: not supported: the abnormal flag is not in the cohort language",
    ),
    (
        "lower limit",
        expression(_entry_with(RangeLow={"Value": 10, "Op": "gt"})),
        f"{ENTRY}.RangeLow: not supported: the lower limit of normal is not in the registry",
    ),
    (
        "categorical result",
        expression(_entry_with(ValueAsConcept=[{"CONCEPT_ID": 4126681}])),
        f"{ENTRY}.ValueAsConcept: not supported: categorical results",
    ),
    (
        "unit the registry does not convert",
        expression(_entry_with(Unit=[_concept("mg/dL", 8840, "UCUM")])),
        f"{ENTRY}.Unit[0]: not supported: unit 'mg/dL' is not one the registry converts for ck "
        "(to U/L)",
    ),
    (
        "units of two scales",
        expression(
            _entry_with(
                ValueAsNumber={"Value": 500, "Op": "gt"},
                Unit=[_concept("U/L", 8645, "UCUM"), _concept("ukat/L", 0, "UCUM")],
            )
        ),
        f"{ENTRY}.Unit: not supported: units of different scales",
    ),
    (
        "unit concept set",
        expression(_entry_with(UnitCS={"CodesetId": 1})),
        f"{ENTRY}.UnitCS: not supported: unit concept sets",
    ),
    (
        "not between",
        expression(_entry_with(ValueAsNumber={"Value": 1, "Op": "!bt", "Extent": 5})),
        f"{ENTRY}.ValueAsNumber.Op: not supported: 'not between' (!bt)",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_json_path(case: str, data: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        translate_atlas(copy.deepcopy(data), where="cohort.json")
    assert str(caught.value).startswith(f"cohort.json: {message}"), str(caught.value)


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, duckdb.DuckDBPyConnection, int]:
    """examples/cohorts/registry exported as an OMOP CDM into a DuckDB file (as a site loads
    the CSV files): its URL, a connection for the hand-written counts, and the concept id the
    export gave LOINC 2157-6."""
    path, mapping = exported_cdm(REGISTRY, tmp_path_factory.mktemp("omop"))
    raw = duckdb.connect(str(path), read_only=True)
    (ck_id,) = raw.execute(
        "SELECT concept_id FROM concept WHERE vocabulary_id = 'LOINC' AND concept_code = '2157-6'"
    ).fetchone() or (None,)
    return f"omop+duckdb://{path}?mapping={mapping}", raw, int(ck_id)


def _circe_persons(raw: duckdb.DuckDBPyConnection, condition: str, rule: bool = False) -> int:
    """Persons with a CK row (LOINC 2157-6) meeting ``condition`` inside an observation period
    (Circe's entry), and with ``rule``, an aldolase row (1761-6) above its ULN on that day."""
    aldolase = """AND EXISTS (SELECT 1 FROM measurement a JOIN concept ca
                    ON ca.concept_id = a.measurement_concept_id
                  WHERE ca.vocabulary_id = 'LOINC' AND ca.concept_code = '1761-6'
                    AND a.person_id = m.person_id AND a.measurement_date = m.measurement_date
                    AND a.value_as_number / NULLIF(a.range_high, 0) > 1)"""
    (count,) = raw.execute(
        f"""SELECT count(DISTINCT m.person_id) FROM measurement m
            JOIN concept c ON c.concept_id = m.measurement_concept_id
            JOIN observation_period op ON op.person_id = m.person_id
             AND m.measurement_date BETWEEN op.observation_period_start_date
                                        AND op.observation_period_end_date
            WHERE c.vocabulary_id = 'LOINC' AND c.concept_code = '2157-6' AND {condition}
            {aldolase if rule else ""}"""
    ).fetchone() or (None,)
    return int(count)


CASES = [
    # (entry, rule, Circe's condition on the entry's measurement row, persons)
    (CK_ABOVE_2_ULN, None, "m.value_as_number / NULLIF(m.range_high, 0) > 2", 3),
    (CK_ABOVE_2_ULN, ALDOLASE_ABOVE_ULN, "m.value_as_number / NULLIF(m.range_high, 0) > 2", 1),
    (CK_AT_LEAST_8_UKAT, None, "m.value_as_number >= 480", 3),
    (CK_600_TO_800, None, "m.value_as_number BETWEEN 600 AND 800", 1),
]


@pytest.mark.parametrize(("entry", "rule", "condition", "persons"), CASES)
def test_runs_live_as_circe_counts(
    cdm: tuple[str, duckdb.DuckDBPyConnection, int],
    entry: dict[str, Any],
    rule: dict[str, Any] | None,
    condition: str,
    persons: int,
) -> None:
    url, raw, ck_id = cdm
    assert _circe_persons(raw, condition, rule is not None) == persons
    cohort = translate_atlas(expression(entry, rule=rule, ck_id=ck_id)).cohort
    live = run_cohort(connect(url, check=False), cohort)
    assert live.persons == persons
    assert live.attrition[0].remaining == 8  # the registry's 8 persons
    # the same cohort, in the cohort language, on the registry the CDM was exported from
    native = run_cohort(connect(REGISTRY), cohort)
    assert [s.remaining for s in native.attrition] == [s.remaining for s in live.attrition]
    assert native.members.sort_by("person_id").equals(live.members.sort_by("person_id"))
