"""The unit of a measurement or an observation: the ``measurement`` and ``observation``
domains' ``units`` (unit codes, compared exactly) and the ATLAS import of Circe's ``Unit`` and
``UnitCS`` on a ``Measurement`` (an ``Observation``'s: tests/cohort/test_atlas_observation.py).

Circe's meaning (github.com/OHDSI/circe-be, ``MeasurementSqlBuilder.java``,
``ObservationSqlBuilder.java``): ``Unit`` adds ``C.unit_concept_id in (<the concepts' ids>)``
to the outer WHERE, after ``First`` numbers the rows; ``UnitCS`` adds ``C.unit_concept_id in``
the codeset's concepts (``getCodesetInExpression``). The registry keeps a unit as its code (UCUM
from the other sources); an OMOP CDM read live fills it with the ``concept_code`` of
``unit_concept_id``, whatever its vocabulary, else with ``unit_source_value``
(``myositis.registry.omop.views``), so the codes stand for the concepts (SNOMED's "g/dL",
4121395, is 258795003), except for a row whose ``unit_concept_id`` is 0 and whose
``unit_source_value`` is the code, and a row recorded in another vocabulary's unit concept of
the same code (both count here, not in Circe: the import's notes, checked live below).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from ibis import BaseBackend
from pydantic import ValidationError

from cohort.language_cases import ROWS
from cohort.test_atlas_circe import CIRCE, _build_cdm
from cohort.test_atlas_measurement import HEMOGLOBIN, M_ENTRY, _item, _other, _set, expression
from myositis.cohort.atlas import translate_atlas
from myositis.cohort.language import Cohort, Events, Range
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry import append_arrow, arrow_schema, connect, create_registry

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "examples" / "cohorts" / "registry"
HERE = Path(__file__).parent / "atlas"
D = dt.date


def _hb(pid: int, when: dt.date, value: float | None, unit: str | None) -> dict[str, Any]:
    """A hemoglobin (LOINC 718-7) with its number and unit as the source gave them."""
    return {
        "person_id": pid,
        "code_system": "LOINC",
        "code": "718-7",
        "measurement_date": when,
        "value": value,
        "unit": unit,
    }


#: Hemoglobins of persons 1, 2, 3 and 8 of tests/cohort/language_cases.py (each observed
#: through 2020), in the units sources write: the same 8.5 g/dL as g/L, a value in mmol/L, the
#: unit in lower case (not UCUM's g/dL), a number without a unit, a row without either.
HEMOGLOBINS = [
    _hb(1, D(2020, 2, 20), 8.5, "g/dL"),
    _hb(1, D(2020, 6, 1), 85.0, "g/L"),
    _hb(2, D(2020, 4, 28), 5.3, "mmol/L"),
    _hb(2, D(2020, 7, 1), 8.0, "g/dl"),
    _hb(3, D(2020, 1, 15), 8.8, "g/dL"),
    _hb(3, D(2020, 5, 25), 8.1, None),
    _hb(8, D(2020, 1, 20), None, None),
    _hb(8, D(2020, 1, 25), 13.0, "g/dL"),
]


def _temperature(pid: int, when: dt.date, value: float | None, unit: str | None) -> dict[str, Any]:
    """A body temperature (LOINC 8310-5) recorded as an observation, as the source gave it."""
    return {
        "person_id": pid,
        "code_system": "LOINC",
        "code": "8310-5",
        "observation_date": when,
        "value": value,
        "unit": unit,
    }


#: Body temperatures of persons 1, 2, 3 and 8 of tests/cohort/language_cases.py, beside its
#: other observations: in Cel and [degF], the unit in lower case (not UCUM's Cel), a number
#: without a unit, and a unit as an OMOP CDM read live gives a SNOMED unit concept (its code:
#: 258710007, degrees Celsius).
TEMPERATURES = [
    _temperature(1, D(2020, 3, 10), 38.5, "Cel"),
    _temperature(1, D(2020, 4, 10), 101.3, "[degF]"),
    _temperature(2, D(2020, 6, 1), 37.0, "Cel"),
    _temperature(3, D(2020, 2, 1), 38.2, "cel"),
    _temperature(3, D(2020, 3, 1), 38.9, None),
    _temperature(8, D(2020, 2, 5), 39.0, "258710007"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    """The registry of tests/cohort/language_cases.py with :data:`HEMOGLOBINS` as its
    measurements (its laboratory rows as they are: CK and aldolase in U/L) and
    :data:`TEMPERATURES` among its observations."""
    con = create_registry(tmp_path_factory.mktemp("units") / "r.duckdb")
    observations = ROWS["observation"] + TEMPERATURES
    for name, rows in {**ROWS, "measurement": HEMOGLOBINS, "observation": observations}.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


def _events(
    con: BaseBackend, code: str, domain: str = "measurement", **constraints: Any
) -> list[tuple[int, str]]:
    """Every event of ``domain`` of LOINC ``code`` meeting ``constraints``: (person, date)."""
    mapping = {
        "concept_sets": {"set": {"items": [{"system": "LOINC", "code": code}]}},
        "entry": {
            "events": [{"domain": domain, "concept_set": "set", **constraints}],
            "limit": "all",
        },
        "expression_limit": "all",
        "exit": {"strategy": "fixed", "offset_days": 0},
    }
    members = run_cohort(con, Cohort.model_validate(mapping)).members.to_pylist()
    return sorted((m["person_id"], str(m["index_date"])) for m in members)


@pytest.mark.parametrize(
    ("constraints", "events"),
    [
        # the rows of HEMOGLOBINS whose unit is exactly g/dL: 1's 8.5, 3's 8.8, 8's 13.0
        ({"units": ["g/dL"]}, [(1, "2020-02-20"), (3, "2020-01-15"), (8, "2020-01-25")]),
        # and below 9: 8's 13.0 is not
        ({"units": ["g/dL"], "value": {"lt": 9}}, [(1, "2020-02-20"), (3, "2020-01-15")]),
        # without units, every number below 9: 2's 5.3 mmol/L and 8.0 "g/dl", 3's 8.1 without
        # a unit too
        ({"value": {"lt": 9}}, [(1, "2020-02-20"), (2, "2020-04-28"), (2, "2020-07-01"),
                                (3, "2020-01-15"), (3, "2020-05-25")]),
        # either of two units: 1's 85 g/L and 2's 5.3 mmol/L
        ({"units": ["g/L", "mmol/L"]}, [(1, "2020-06-01"), (2, "2020-04-28")]),
        # compared case-sensitively, as UCUM codes are: g/dl is 2's row alone
        ({"units": ["g/dl"]}, [(2, "2020-07-01")]),
        # a unit no row has
        ({"units": ["mg/dL"]}, []),
    ],
)  # fmt: skip
def test_units_keep_the_rows_of_those_units(
    con: BaseBackend, constraints: dict[str, Any], events: list[tuple[int, str]]
) -> None:
    assert _events(con, "718-7", **constraints) == events


@pytest.mark.parametrize(
    ("constraints", "events"),
    [
        # the rows of TEMPERATURES whose unit is exactly Cel: 1's 38.5, 2's 37.0
        ({"units": ["Cel"]}, [(1, "2020-03-10"), (2, "2020-06-01")]),
        # and 38 or more: 2's 37.0 is not
        ({"units": ["Cel"], "value": {"gte": 38}}, [(1, "2020-03-10")]),
        # without units, every number of 38 or more: 1's 101.3 [degF], 3's 38.2 "cel" and 38.9
        # without a unit, 8's 39.0 in the SNOMED code too
        ({"value": {"gte": 38}}, [(1, "2020-03-10"), (1, "2020-04-10"), (3, "2020-02-01"),
                                  (3, "2020-03-01"), (8, "2020-02-05")]),
        # either of two units
        ({"units": ["Cel", "[degF]"]}, [(1, "2020-03-10"), (1, "2020-04-10"), (2, "2020-06-01")]),
        # an OMOP unit concept's code, as read live: 8's row alone
        ({"units": ["258710007"]}, [(8, "2020-02-05")]),
        # compared case-sensitively: cel is 3's row alone
        ({"units": ["cel"]}, [(3, "2020-02-01")]),
    ],
)  # fmt: skip
def test_units_keep_the_observations_of_those_units(
    con: BaseBackend, constraints: dict[str, Any], events: list[tuple[int, str]]
) -> None:
    assert _events(con, "8310-5", "observation", **constraints) == events


def test_a_registry_tests_results_have_its_canonical_unit(con: BaseBackend) -> None:
    """CK (LOINC 2157-6) read as measurements: the laboratory rows of language_cases.py, each
    in U/L, the canonical unit (lab_units.csv): all eight with ``units: [U/L]``, none with the
    units they may have been recorded in (ukat/L is stored converted, in U/L)."""
    assert _events(con, "2157-6", units=["U/L"]) == [
        (1, "2020-02-25"),
        (1, "2020-08-16"),
        (2, "2020-04-28"),
        (2, "2020-10-16"),
        (3, "2020-05-25"),
        (3, "2020-11-18"),
        (8, "2020-01-20"),
        (8, "2022-06-28"),
    ]
    assert _events(con, "2157-6", units=["ukat/L", "[U]/L"]) == []


def test_the_worked_example_of_the_documentation() -> None:
    """docs/cohort-language.md, "Measurements": hemoglobins below 9 g/dL on
    examples/cohorts/registry (measurement.csv: 1's 8.5 g/dL of 2020-02-20, 3's 8.8 g/dL of
    2020-01-15; 8's of 2020-01-20 has no number or unit), none in g/L or g/dl."""
    hemoglobin = {"items": [{"system": "LOINC", "code": "718-7"}]}
    con = connect(REGISTRY)
    try:
        found = {}
        for units in (["g/dL"], ["g/L"], ["g/dl"]):
            below = {"value": {"lt": 9}, "units": units}
            cohort = Cohort.model_validate(
                {
                    "concept_sets": {"hemoglobin": hemoglobin},
                    "entry": {
                        "events": [{"domain": "measurement", "concept_set": "hemoglobin", **below}]
                    },
                }
            )
            members = run_cohort(con, cohort).members.to_pylist()
            found[units[0]] = [(m["person_id"], m["index_date"]) for m in members]
    finally:
        con.disconnect()
    assert found == {
        "g/dL": [(1, D(2020, 2, 20)), (3, D(2020, 1, 15))],
        "g/L": [],
        "g/dl": [],
    }


def test_units_are_a_field_of_the_measurement_and_observation_domains_only() -> None:
    """Refused elsewhere, empty or with spaces around a code; described; left out of the dump
    when not given (Events.ADDED), so a cohort without them hashes as before."""
    with pytest.raises(ValidationError, match="units cannot be used with domain 'diagnosis'"):
        Events(domain="diagnosis", concept_set="x", units=["kg"])
    with pytest.raises(ValidationError, match="units cannot be used with domain 'laboratory'"):
        Events(domain="laboratory", test="ck", units=["U/L"])
    for domain in ("measurement", "observation"):
        for wrong in ([], [""], [" g/dL"]):
            with pytest.raises(ValidationError, match="units are unit codes as the registry"):
                Events(domain=domain, concept_set="x", units=wrong)
    events = Events(domain="measurement", concept_set="hb", value=Range(lt=9), units=["g/dL"])
    assert events.describe() == "measurement in hb < 9 in unit g/dL"
    assert events.model_dump(mode="json")["units"] == ["g/dL"]
    assert "units" not in Events(domain="measurement", concept_set="hb").model_dump(mode="json")
    fever = Events(domain="observation", concept_set="t", value=Range(gte=38), units=["Cel"])
    assert fever.describe() == "observation in t >= 38 in unit Cel"
    assert "units" not in Events(domain="observation", concept_set="t").model_dump(mode="json")


# -- the ATLAS import ---------------------------------------------------------------------------


def _ucum(concept_id: int, code: str, name: str) -> dict[str, Any]:
    return {
        "CONCEPT_ID": concept_id,
        "CONCEPT_NAME": name,
        "STANDARD_CONCEPT": "S",
        "VOCABULARY_ID": "UCUM",
        "CONCEPT_CODE": code,
        "DOMAIN_ID": "Unit",
        "CONCEPT_CLASS_ID": "Unit",
    }


G_DL = _ucum(8713, "g/dL", "gram per deciliter")
G_L = _ucum(8636, "g/L", "gram per liter")
MMOL_L = _ucum(8753, "mmol/L", "millimole per liter")
#: SNOMED's "g/dL", which ATLAS lists beside UCUM's (12 PhenotypeLibrary definitions)
SNOMED_G_DL = {
    "CONCEPT_ID": 4121395,
    "CONCEPT_NAME": "g/dL",
    "VOCABULARY_ID": "SNOMED",
    "CONCEPT_CODE": "258795003",
    "DOMAIN_ID": "Unit",
}
#: A unit concept of the Nebraska Lexicon with SNOMED's code of g/dL (made up: the Lexicon
#: shares SNOMED's codes), which an OMOP CDM read live gives the same unit
LEXICON_G_DL = SNOMED_G_DL | {"CONCEPT_ID": 9999001, "VOCABULARY_ID": "Nebraska Lexicon"}


def unit_note(noun: str = "measurement") -> str:
    """The import's note on every Unit of ``noun`` (a measurement, an observation)."""
    article = "an" if noun == "observation" else "a"
    return (
        f"Unit: {article} {noun} counts when its unit is one of the codes listed; read live "
        "from an OMOP CDM the unit is the code (concept_code) of unit_concept_id, else "
        "unit_source_value, so a row whose unit_concept_id is 0 (or a concept missing from the "
        "CDM's concept table) and whose unit_source_value is the code counts, where Circe "
        "compares unit_concept_id alone"
    )


def code_note(concept: str, code: str, noun: str = "measurement") -> str:
    """The import's note on a unit concept of another vocabulary than UCUM, read as its code."""
    return (
        f"Unit: unit concept {concept} {code}) is read as its code, {code}, the unit an OMOP "
        f"CDM (read live or imported) gives the {noun}s recorded in it, as Circe counts them, "
        "and those recorded in another vocabulary's unit concept of that code (the Nebraska "
        "Lexicon shares SNOMED's codes), which Circe does not count; a registry from FHIR, "
        "REDCap or a spreadsheet holds UCUM units, which it never matches"
    )


UNIT_NOTE = unit_note()


def test_unit_is_units_its_ucum_codes() -> None:
    """``Unit``'s concepts -> their UCUM codes, in order, once each; a note says where the
    registry's unit may differ from ``unit_concept_id``; a hemoglobin set reaches no registry
    test, so no note on them."""
    entry = {"CodesetId": 0, "ValueAsNumber": {"Value": 9, "Op": "lt"}}
    result = translate_atlas(_other(entry | {"Unit": [G_DL, G_L, G_DL]}))
    (events,) = result.cohort.entry.events
    assert (events.domain, events.concept_set, events.units) == (
        "measurement",
        "hemoglobin",
        ["g/dL", "g/L"],
    )
    assert events.value == Range(lt=9)
    assert [n for n in result.notes if n.startswith("Unit")] == [
        f"{UNIT_NOTE} (first at {M_ENTRY})"
    ]


def test_unit_concept_set_is_units_of_its_concepts() -> None:
    """``UnitCS``: the UCUM codes of that concept set's concepts; in an inclusion rule."""
    units = _set(2, "Hemoglobin units", _item(G_DL), _item(MMOL_L))
    data = _other({"CodesetId": 0}, copy.deepcopy(HEMOGLOBIN), units)
    rule = {"CodesetId": 0, "ValueAsNumber": {"Value": 9, "Op": "lt"}, "UnitCS": {"CodesetId": 2}}
    data["InclusionRules"] = expression({}, rule=rule)["InclusionRules"]
    result = translate_atlas(data)
    (criterion,) = result.cohort.inclusion[0].criteria
    assert (criterion.concept_set, criterion.units) == ("hemoglobin", ["g/dL", "mmol/L"])
    assert criterion.value == Range(lt=9)
    (events,) = result.cohort.entry.events
    assert events.units is None


def test_units_where_registry_tests_may_be_read_say_their_unit() -> None:
    """Without a concept set (every measurement, the registry tests' results among them) and
    a unit a registry test is recorded in (OMOP's [U]/L), a second note: those results are in
    U/L; not with a unit no registry test has (g/dL)."""
    per_liter = _ucum(8645, "[U]/L", "unit per liter")
    result = translate_atlas(_other({"Unit": [per_liter]}))
    (events,) = result.cohort.entry.events
    assert (events.any_code, events.units) == (True, ["[U]/L"])
    assert [n for n in result.notes if n.startswith("Unit: the results")] == [
        "Unit: the results of the registry's laboratory tests a Measurement reads (without a "
        "concept set, or among the concept set's descendants) have the test's canonical unit "
        "(U/L), converted from the unit they were recorded in: they count when U/L is listed, "
        "whatever their recorded unit, where Circe compares the unit_concept_id recorded "
        f"(OMOP's UCUM concept 8645 unit per liter is [U]/L, not U/L) (first at {M_ENTRY})"
    ]
    plain = translate_atlas(_other({"Unit": [G_DL]}))
    assert not [n for n in plain.notes if n.startswith("Unit: the results")]


def _in_rule(measurement: dict[str, Any]) -> dict[str, Any]:
    data = _other({"CodesetId": 0})
    data["InclusionRules"] = expression({}, rule=measurement)["InclusionRules"]
    return data


def _censoring(measurement: dict[str, Any]) -> dict[str, Any]:
    data = _other({"CodesetId": 0})
    data["CensoringCriteria"] = [{"Measurement": measurement}]
    return data


#: (where the Measurement is, how to put it there)
PLACES = [
    (M_ENTRY, _other),
    ("InclusionRules[0].expression.CriteriaList[0].Criteria.Measurement", _in_rule),
    ("CensoringCriteria[0].Measurement", _censoring),
]


@pytest.mark.parametrize(("where", "place"), PLACES, ids=["entry", "inclusion", "censoring"])
def test_a_unit_of_another_vocabulary_is_its_code_noted(where: str, place: Any) -> None:
    """SNOMED's g/dL beside UCUM's (12 PhenotypeLibrary definitions list them so): its code,
    258795003, the unit an OMOP CDM read live gives a row recorded in it; a note says what it
    matches and where it matches nothing."""
    result = translate_atlas(place({"CodesetId": 0, "Unit": [SNOMED_G_DL, G_DL]}))
    cohort = result.cohort
    found = [*cohort.entry.events, *cohort.exit.censor]
    found += [c for rule in cohort.inclusion for c in rule.criteria]
    (events,) = [f for f in found if f.units is not None]
    assert (events.concept_set, events.units) == ("hemoglobin", ["258795003", "g/dL"])
    assert [n for n in result.notes if n.startswith("Unit")] == [
        f"{code_note('4121395 g/dL (SNOMED', '258795003')} (first at {where}.Unit[0])",
        f"{UNIT_NOTE} (first at {where})",
    ]


def test_a_unit_concept_without_a_code_is_refused_naming_it() -> None:
    no_code = {"CONCEPT_ID": 4121395, "CONCEPT_NAME": "g/dL", "VOCABULARY_ID": "SNOMED"}
    with pytest.raises(SpecError) as caught:
        translate_atlas(_other({"CodesetId": 0, "Unit": [G_DL, no_code]}), where="c.json")
    assert str(caught.value) == (
        f"c.json: {M_ENTRY}.Unit[1]: not supported: unit concept 4121395 g/dL (SNOMED) has no "
        "code: the registry keeps a measurement's unit as its code, where Circe compares "
        "unit_concept_id (list the unit's UCUM concept instead)"
    )


def _unit_set(**flags: bool) -> dict[str, Any]:
    return _set(2, "Units", _item(G_DL), _item(SNOMED_G_DL | {"VOCABULARY_ID": "UCUM"}, **flags))


UNIT_REFUSALS = [
    ({"First": True, "Unit": [G_DL]}, [], f"{M_ENTRY}.Unit: not supported: with First: Circe "
     "bounds the unit of the person's first measurement of the concept set, where the cohort "
     "language would take the first measurement whose unit is listed (drop one of the two)"),
    ({"First": True, "UnitCS": {"CodesetId": 2}}, [_unit_set()], f"{M_ENTRY}.UnitCS: not "
     "supported: with First"),
    ({"Unit": [G_DL], "UnitCS": {"CodesetId": 2}}, [_unit_set()], f"{M_ENTRY}.UnitCS: not "
     "supported: Unit and UnitCS together: the cohort language bounds a measurement's unit by "
     "one list of unit codes (give one of them)"),
    ({"UnitCS": {"CodesetId": 2}}, [_unit_set(includeDescendants=True)],
     "ConceptSets[1].expression.items[1].includeDescendants: not supported: the unit concept "
     f"set of {M_ENTRY}.UnitCS adds a unit's descendants"),
    ({"UnitCS": {"CodesetId": 2}}, [_unit_set(isExcluded=True)],
     "ConceptSets[1].expression.items[1].isExcluded: not supported: the unit concept set of "
     f"{M_ENTRY}.UnitCS excludes a unit"),
    # a concept set of a unit without a code (ConceptSets[1]: the second set of the list, id 2)
    ({"UnitCS": {"CodesetId": 2}}, [_set(2, "Units", _item({"CONCEPT_ID": 4121395}))],
     "ConceptSets[1].expression.items[0].concept: not supported: unit concept 4121395 (no "
     "vocabulary) has no code"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "sets", "message"), UNIT_REFUSALS)
def test_unit_refusals_name_the_json_path(
    options: dict[str, Any], sets: list[dict[str, Any]], message: str
) -> None:
    data = _other({"CodesetId": 0, **options}, copy.deepcopy(HEMOGLOBIN), *sets)
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {message}"), str(caught.value)


def test_a_unit_concept_set_on_a_registry_test_is_still_refused() -> None:
    """A Measurement of one registry test's LOINC code is the ``laboratory`` domain, whose
    ``Unit`` converts the value's bound (unchanged); its ``UnitCS`` stays refused."""
    ck = _set(0, "CK", _item({"CONCEPT_ID": 0, "VOCABULARY_ID": "LOINC", "CONCEPT_CODE": "2157-6"}))
    data = _other({"CodesetId": 0, "UnitCS": {"CodesetId": 2}}, ck, _unit_set())
    with pytest.raises(SpecError, match=r"Measurement\.UnitCS: not supported: unit concept sets"):
        translate_atlas(data)


# -- live on a small OMOP CDM, against Circe's SQL ----------------------------------------------

#: Measurements of Circe's test concept 2 (a descendant of concept 1) with units, and the unit
#: concepts they name (UCUM's; SNOMED's g/dL, and the made-up Nebraska Lexicon concept of
#: :data:`LEXICON_G_DL` with its code): persons 1 to 6, each observed 2000-2001.
UNITS_CDM = {
    "cdm.concept": [
        {"concept_id": c, "concept_name": name, "domain_id": "Unit", "vocabulary_id": vocabulary,
         "concept_class_id": "Unit", "concept_code": code,
         "standard_concept": "S" if vocabulary == "UCUM" else None,
         "valid_start_date": "1970-01-01", "valid_end_date": "2099-12-31"}
        for c, vocabulary, code, name in ((8713, "UCUM", "g/dL", "gram per deciliter"),
                                          (8636, "UCUM", "g/L", "gram per liter"),
                                          (8753, "UCUM", "mmol/L", "millimole per liter"),
                                          (4121395, "SNOMED", "258795003", "g/dL"),
                                          (9999001, "Nebraska Lexicon", "258795003", "g/dL"))
    ],
    "cdm.person": [
        {"person_id": p, "gender_concept_id": 8532, "year_of_birth": 1970,
         "race_concept_id": 0, "ethnicity_concept_id": 0}
        for p in (1, 2, 3, 4, 5, 6)
    ],
    "cdm.observation_period": [
        {"observation_period_id": p, "person_id": p,
         "observation_period_start_date": "2000-01-01",
         "observation_period_end_date": "2001-12-31", "period_type_concept_id": 0}
        for p in (1, 2, 3, 4, 5, 6)
    ],
    "cdm.measurement": [
        {"measurement_id": i, "person_id": p, "measurement_concept_id": 2,
         "measurement_date": d, "measurement_type_concept_id": 44818702,
         "value_as_number": v, "unit_concept_id": unit, "unit_source_value": source}
        for i, (p, d, v, unit, source) in enumerate(
            [
                (1, "2000-02-01", 8.5, 8713, "g/dL"),
                (1, "2000-03-01", 85, 8636, "g/L"),
                (2, "2000-04-01", 5.3, 8753, "mmol/L"),
                # no unit concept, the UCUM code as the source value: g/dL here, none in Circe
                (3, "2000-05-01", 8.8, 0, "g/dL"),
                # the concept's code wins over the source's spelling
                (4, "2000-06-01", 9.0, 8713, "gm/dl"),
                (4, "2000-07-01", 7.0, None, None),
                # SNOMED's g/dL (a unit concept of another vocabulary), spelled g/dl at source
                (5, "2000-08-01", 8.0, 4121395, "g/dl"),
                # another vocabulary's concept of SNOMED's code: 258795003 here, none in Circe
                (6, "2000-09-01", 8.2, 9999001, "g/dL"),
            ],
            start=1,
        )
    ],
}  # fmt: skip

#: (the criterion's unit options, Circe's condition as SQL, the first measurement per person
#: by Circe, by the import read live)
LIVE_CASES = [
    ({"Unit": [G_DL]}, "m.unit_concept_id IN (8713)",
     [(1, "2000-02-01"), (4, "2000-06-01")],
     [(1, "2000-02-01"), (3, "2000-05-01"), (4, "2000-06-01")]),
    ({"Unit": [G_L, MMOL_L]}, "m.unit_concept_id IN (8636, 8753)",
     [(1, "2000-03-01"), (2, "2000-04-01")], [(1, "2000-03-01"), (2, "2000-04-01")]),
    ({"UnitCS": {"CodesetId": 2}}, "m.unit_concept_id IN (8636, 8753)",
     [(1, "2000-03-01"), (2, "2000-04-01")], [(1, "2000-03-01"), (2, "2000-04-01")]),
    # SNOMED's g/dL beside UCUM's: 5's row too, and (the note) 6's of the same code
    ({"Unit": [SNOMED_G_DL, G_DL]}, "m.unit_concept_id IN (4121395, 8713)",
     [(1, "2000-02-01"), (4, "2000-06-01"), (5, "2000-08-01")],
     [(1, "2000-02-01"), (3, "2000-05-01"), (4, "2000-06-01"), (5, "2000-08-01"),
      (6, "2000-09-01")]),
    ({"Unit": [SNOMED_G_DL]}, "m.unit_concept_id IN (4121395)",
     [(5, "2000-08-01")], [(5, "2000-08-01"), (6, "2000-09-01")]),
]  # fmt: skip


@pytest.mark.parametrize(("options", "condition", "circe", "here"), LIVE_CASES)
def test_units_live_on_a_cdm_as_circe_sql_gives_them_but_the_noted_row(
    tmp_path: Path,
    options: dict[str, Any],
    condition: str,
    circe: list[tuple[int, str]],
    here: list[tuple[int, str]],
) -> None:
    """A Measurement of concept 1 with descendants and a unit, every event, the first per
    person: Circe's clause by hand-written SQL, and the import read live, which agree but for
    person 3's row without a unit concept whose source value is the code and person 6's
    recorded in another vocabulary's unit concept of SNOMED's code (the notes)."""
    cdm = tmp_path / "cdm.duckdb"
    rows = tmp_path / "units.json"
    rows.write_text(json.dumps(UNITS_CDM), encoding="utf-8")
    _build_cdm(cdm, [CIRCE / "vocabulary.json", rows])
    with duckdb.connect(str(cdm), read_only=True) as raw:
        found = raw.execute(
            f"""SELECT person_id, strftime(min(measurement_date), '%Y-%m-%d')
                FROM measurement m
                WHERE m.measurement_concept_id IN (
                  SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 1
                  UNION SELECT 1)
                  AND {condition}
                GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    assert found == circe
    data = json.loads((HERE / "measurement_events.json").read_text("utf-8"))
    data["PrimaryCriteria"]["CriteriaList"][0]["Measurement"].update(options)
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
    data["ConceptSets"].append(_set(2, "Units", _item(G_L), _item(MMOL_L)))
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data.pop("EndStrategy")
    con = connect(f"omop+duckdb://{cdm}", check=False)
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    assert [(m["person_id"], str(m["index_date"])) for m in members] == here
