"""The cohort's Ibis expressions compile for PostgreSQL and Snowflake as well as DuckDB (no
engine-specific SQL; compilation only, no server needed). The whole study runs on DuckDB,
PostgreSQL and Spark in tests/conformance/test_study.py."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
from ibis import BaseBackend

from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.compile import compile_cohort
from myositis.cohort.events import exposure_rows
from myositis.cohort.translate import from_definition
from myositis.registry import create_registry
from myositis.study.spec import load_spec

SPEC = load_spec(Path(__file__).resolve().parents[2] / "studies" / "jak-refractory-dm.yaml")


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    # an empty registry: the expressions are bound to its tables, then compiled elsewhere
    return create_registry(tmp_path_factory.mktemp("portability") / "r.duckdb")


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake"])
def test_cohort_expressions_compile(con: BaseBackend, dialect: str) -> None:
    cohort = from_definition(SPEC.cohort)
    compiled = compile_cohort(con, cohort)
    expressions = {
        "diagnosis": compiled.lines[1],
        "exposure": exposure_rows(con, cohort.entry.events[0], cohort.concept_sets),
        "cdasi": cdasi_activity(con.table("assessment")),
        "cohort": compiled.result,
    }
    for name, expression in expressions.items():
        sql = ibis.to_sql(expression, dialect=dialect)
        assert "SELECT" in sql.upper(), name
    # The concept set is inlined: undotted DM codes, the topical exclusion by ATC code.
    assert "'M3310'" in ibis.to_sql(expressions["diagnosis"], dialect=dialect)
    assert "'D11AH09'" in ibis.to_sql(expressions["exposure"], dialect=dialect)
