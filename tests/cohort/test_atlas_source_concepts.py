"""ATLAS criteria on a record's SOURCE concept (``ConditionSourceConcept``,
``DrugSourceConcept``, ``ProcedureSourceConcept``, ...) read as the cohort language's
``source_concept_set``, run live on Eunomia GiBleed against Circe's meaning written as SQL on
the CDM tables.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``ConditionOccurrenceSqlBuilder.java`` and
its siblings add ``co.condition_source_concept_id in (SELECT concept_id FROM #Codesets WHERE
codeset_id = N)`` for ``ConditionSourceConcept: N``, beside the ``CodesetId`` join on the
standard concept when both are given. The registry keeps each OMOP row's source concept
(data model version 5, :mod:`myositis.registry.omop.views`); a record whose source recorded the
code itself has no separate source code and is read by its own code.

Eunomia's source concepts: every gastrointestinal hemorrhage (SNOMED 192671, 479 persons, the
Book of OHDSI's count) was recorded as ICD-10-CM K92.2 (concept 35208414); every celecoxib
exposure (RxNorm 1118084 standard, 1,844 persons) as NDC 00025152531 (44923712), every
diclofenac one (850 persons) as NDC 00781178901 (45011828).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"

K92_2 = {"CONCEPT_ID": 35208414, "CONCEPT_CODE": "K92.2", "VOCABULARY_ID": "ICD10CM"}
CELECOXIB_NDC = {"CONCEPT_ID": 44923712, "CONCEPT_CODE": "00025152531", "VOCABULARY_ID": "NDC"}
DICLOFENAC_NDC = {"CONCEPT_ID": 45011828, "CONCEPT_CODE": "00781178901", "VOCABULARY_ID": "NDC"}
CELECOXIB = {"CONCEPT_ID": 1118084, "CONCEPT_CODE": "140587", "VOCABULARY_ID": "RxNorm"}


def _set(cid: int, concept: dict[str, Any], *, mapped: bool = False) -> dict[str, Any]:
    item = {"concept": concept, "isExcluded": False, "includeDescendants": False}
    if mapped:
        item["includeMapped"] = True
    return {"id": cid, "name": f"set {cid}", "expression": {"items": [item]}}


def _cohort(domain: str, criterion: dict[str, Any], *sets: dict[str, Any]) -> dict[str, Any]:
    """One entry criterion of ``domain``, every event (ATLAS's export of a simple cohort)."""
    return {
        "ConceptSets": list(sets),
        "PrimaryCriteria": {
            "CriteriaList": [{domain: criterion}],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "First"},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": "First"},
        "InclusionRules": [],
        "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
    }


def test_a_source_concept_alone_or_beside_a_codeset_is_read() -> None:
    alone = translate_atlas(
        _cohort("ProcedureOccurrence", {"ProcedureSourceConcept": 1}, _set(1, K92_2))
    ).cohort
    (event,) = alone.entry.events
    assert (event.domain, event.concept_set, event.source_concept_set, event.any_code) == (
        "procedure",
        None,
        "set_1",
        False,
    )
    both = translate_atlas(
        _cohort(
            "DrugExposure",
            {"CodesetId": 0, "DrugSourceConcept": 1},
            _set(0, CELECOXIB),
            _set(1, CELECOXIB_NDC),
        )
    ).cohort
    (event,) = both.entry.events
    assert (event.domain, event.concept_set, event.source_concept_set) == (
        "drug_exposure",
        "set_0",
        "set_1",
    )
    # an NDC concept is no registry code system: the OMOP concept id, as the view codes it
    (item,) = both.concept_sets["set_1"].items
    assert (item.system, item.code) == ("OMOP", "44923712")
    assert event.describe() == "drug exposure in set_0 with source code in set_1"


SOURCE_REFUSALS = [
    (
        _cohort("ConditionOccurrence", {"ConditionSourceConcept": 1}, _set(1, K92_2, mapped=True)),
        "ConceptSets[0].expression.items[0].includeMapped",
        "includeMapped adds the source concepts that map to the item",
    ),
    (
        _cohort(
            "Measurement",
            {"CodesetId": 1, "MeasurementSourceConcept": 1},
            _set(1, {"CONCEPT_ID": 3007220, "CONCEPT_CODE": "2157-6", "VOCABULARY_ID": "LOINC"}),
        ),
        "PrimaryCriteria.CriteriaList[0].Measurement.MeasurementSourceConcept",
        "a registry laboratory test's results keep no source concept",
    ),
    (
        _cohort("Death", {"DeathSourceConcept": 1}, _set(1, K92_2)),
        "PrimaryCriteria.CriteriaList[0].Death.DeathSourceConcept",
        "the registry keeps a death's cause by one code, not its source concept",
    ),
    (
        _cohort("ConditionOccurrence", {"ConditionSourceConcept": 7}, _set(1, K92_2)),
        "PrimaryCriteria.CriteriaList[0].ConditionOccurrence.ConditionSourceConcept",
        "concept set 7 is not among ConceptSets (ids: 1)",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "reason"), SOURCE_REFUSALS, ids=["mapped", "lab", "death", "unknown"]
)
def test_what_a_source_concept_cannot_say_is_refused_at_its_path(
    data: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {path}: "), str(caught.value)
    assert reason in str(caught.value)


def test_an_empty_set_used_only_as_a_source_concept_is_named() -> None:
    empty = {"id": 1, "name": "nothing", "expression": {"items": []}}
    with pytest.raises(SpecError, match=r"ConceptSets\[0\]\.expression\.items: concept set 1"):
        translate_atlas(_cohort("ConditionOccurrence", {"ConditionSourceConcept": 1}, empty))


def _sql_persons(cdm: Path, sql: str) -> int:
    with duckdb.connect(str(cdm), read_only=True) as raw:
        (found,) = raw.execute(sql).fetchone() or (None,)
    return int(found)


#: (ATLAS cohort, Circe's meaning as SQL on the CDM: persons with such a record, any date)
LIVE = {
    "K92.2 as recorded": (
        _cohort("ConditionOccurrence", {"ConditionSourceConcept": 1}, _set(1, K92_2)),
        "SELECT count(DISTINCT person_id) FROM condition_occurrence "
        "WHERE condition_source_concept_id = 35208414",
    ),
    "celecoxib as NDC": (
        _cohort("DrugExposure", {"DrugSourceConcept": 1}, _set(1, CELECOXIB_NDC)),
        "SELECT count(DISTINCT person_id) FROM drug_exposure "
        "WHERE drug_source_concept_id = 44923712",
    ),
    # both the standard concept and the source concept: the rows holding both
    "celecoxib recorded as diclofenac's NDC": (
        _cohort(
            "DrugExposure",
            {"CodesetId": 0, "DrugSourceConcept": 1},
            _set(0, CELECOXIB),
            _set(1, DICLOFENAC_NDC),
        ),
        "SELECT count(DISTINCT person_id) FROM drug_exposure "
        "WHERE drug_concept_id = 1118084 AND drug_source_concept_id = 45011828",
    ),
    # a standard concept as the source concept: Eunomia recorded NDC codes, so none
    "RxNorm celecoxib as the source": (
        _cohort("DrugExposure", {"DrugSourceConcept": 1}, _set(1, CELECOXIB)),
        "SELECT count(DISTINCT person_id) FROM drug_exposure "
        "WHERE drug_source_concept_id = 1118084",
    ),
}


@pytest.mark.parametrize("name", list(LIVE))
def test_eunomia_source_concepts_live_as_circe_counts_them(eunomia: Path, name: str) -> None:
    data, sql = LIVE[name]
    expected = _sql_persons(eunomia, sql)
    assert (
        expected
        == {
            "K92.2 as recorded": 479,
            "celecoxib as NDC": 1844,
            "celecoxib recorded as diclofenac's NDC": 0,
            "RxNorm celecoxib as the source": 0,
        }[name]
    )
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    cohort = translate_atlas(copy.deepcopy(data), any_record=True).cohort
    assert run_cohort(con, cohort).persons == expected


def test_a_phenotype_library_source_concept_definition_runs_as_its_sql(eunomia: Path) -> None:
    """PhenotypeLibrary cohort 1093 ("AAA repair", Bucher et al.: a procedure whose standard
    OR source concept is in the set of ICD-10-PCS and ICD-9-Proc codes, first per person, 18
    or older, an inpatient visit that day) imports; Eunomia records none of those procedures,
    so no one, as the SQL of its two entry criteria finds."""
    path = HERE / "phenotype_library" / "1093_aaa_repair.json"
    cohort = read_atlas(path).cohort
    entry = [(e.domain, e.concept_set, e.source_concept_set) for e in cohort.entry.events]
    (name,) = {c for _, c, s in entry for c in (c, s) if c}
    assert entry == [("procedure", name, None), ("procedure", None, name)]
    codes = json.loads(path.read_text("utf-8"))["ConceptSets"]
    ids = [
        str(item["concept"]["CONCEPT_ID"])
        for cs in codes
        if cs["id"] == 84
        for item in cs["expression"]["items"]
    ]
    found = _sql_persons(
        eunomia,
        "SELECT count(DISTINCT person_id) FROM procedure_occurrence WHERE "
        f"procedure_concept_id IN ({', '.join(ids)}) OR "
        f"procedure_source_concept_id IN ({', '.join(ids)})",
    )
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    result = run_cohort(con, cohort)
    assert (found, result.persons, result.attrition[1].remaining) == (0, 0, 0)
