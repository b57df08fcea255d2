"""``myositis export --format omop``: a registry as OMOP CDM tables that ``omop+URL`` reads back
as the same registry rows (ignoring provenance and what OMOP has no place for: adverse events,
dose, frequency, formulation, visit ids, assessment ids; docs/omop.md, "Export").

The registry is examples/min2022 (SYNTHETIC); the CSV files are loaded into a DuckDB file as a
site would load them into its CDM database, and opened with the mapping the export wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.engines import exported_cdm
from myositis.registry.connect import connect

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"

#: Registry table -> the columns a round trip keeps.
KEPT = {
    # birth_year: the CDM requires year_of_birth, so a person with a birth date reads back
    # with its year filled in (checked below)
    "person": ("person_id", "source_id", "site", "sex", "birth_date", "race", "ethnicity"),
    "person_race": ("person_id", "race"),
    "diagnosis": ("person_id", "code_system", "code", "diagnosis_date"),
    "dm_subtype": ("person_id", "subtype", "classified_date"),
    "drug_exposure": ("exposure_id", "person_id", "ingredient", "code_system", "code",
                      "start_date", "end_date", "route"),
    "assessment": ("person_id", "assessment_date", "instrument", "measure", "value"),
    "laboratory": ("person_id", "test", "loinc", "result_date", "value", "unit", "uln",
                   "uln_unit", "source_value", "source_unit"),
    "observation_period": ("person_id", "start_date", "end_date"),
}  # fmt: skip


def _rows(con: Any, table: str) -> list[tuple[Any, ...]]:
    t = con.table(table).select(*KEPT[table])
    rows = t.to_pyarrow().to_pylist()
    return sorted(
        (tuple(round(v, 9) if isinstance(v, float) else v for v in r.values()) for r in rows),
        key=repr,
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("omop")
    exported_cdm(MIN2022, folder)
    return folder


def test_files_written(exported: Path) -> None:
    names = sorted(p.name for p in (exported / "cdm").iterdir())
    assert names == [
        "cdm_source.csv", "concept.csv", "concept_ancestor.csv", "condition_occurrence.csv",
        "drug_exposure.csv", "local_concepts.yaml", "measurement.csv", "observation.csv",
        "observation_period.csv", "person.csv",
    ]  # fmt: skip


def test_round_trip_gives_the_same_rows(exported: Path) -> None:
    before = connect(MIN2022)
    mapping = exported / "cdm" / "local_concepts.yaml"
    after = connect(f"omop+duckdb://{exported / 'cdm.duckdb'}?mapping={mapping}")
    for table in KEPT:
        assert _rows(after, table) == _rows(before, table), table
    # min2022 has 18 persons, 35 diagnoses, 99 exposures, 82 assessment rows (its CSV files)
    counts = [int(after.table(t).count().execute()) for t in
              ("person", "diagnosis", "drug_exposure", "assessment")]  # fmt: skip
    assert counts == [18, 35, 99, 82]
    people = after.table("person").to_pyarrow().to_pylist()
    assert all(p["birth_year"] == p["birth_date"].year for p in people)
    # the one adverse event of min2022 has no OMOP table to go to
    assert int(after.table("adverse_event").count().execute()) == 0


def test_results_without_loinc_or_source_value_read_back(tmp_path: Path) -> None:
    """examples/cohorts/registry (SYNTHETIC) records its 9 CK and aldolase results with their
    test, value and ULN in U/L but no LOINC code and no source value: each is exported coded by
    its test's LOINC code (codes/data/lab_units.csv), with its value, and reads back the same
    (before, coded 0 without a value, no result read back)."""
    source = ROOT / "examples" / "cohorts" / "registry"
    cdm, mapping = exported_cdm(source, tmp_path)
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    columns = ("person_id", "test", "result_date", "value", "unit", "uln", "uln_unit")

    def rows(con: Any) -> list[tuple[Any, ...]]:
        found = con.table("laboratory").select(*columns).to_pyarrow().to_pylist()
        return sorted(tuple(r.values()) for r in found)

    before = rows(connect(source))
    assert len(before) == 9
    assert rows(after) == before
    assert {r[1] for r in before} == {"ck", "aldolase"}
