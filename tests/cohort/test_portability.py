"""The cohort's Ibis expressions compile for PostgreSQL and Snowflake as well as DuckDB (no
engine-specific SQL; compilation only, no server needed). The whole study runs on DuckDB,
PostgreSQL and Spark in tests/conformance/test_study.py."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.concepts import diagnosis_events, qualifying_exposures
from myositis.registry.schema import TABLES
from myositis.study.spec import load_spec

SPEC = load_spec(Path(__file__).resolve().parents[2] / "studies" / "jak-refractory-dm.yaml")


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake"])
def test_cohort_expressions_compile(dialect: str) -> None:
    tables = {name: ibis.table(schema, name=name) for name, schema in TABLES.items()}
    expressions = {
        "diagnosis": diagnosis_events(tables["diagnosis"], SPEC.cohort.diagnosis),
        "exposure": qualifying_exposures(tables["drug_exposure"], SPEC.cohort.exposure),
        "cdasi": cdasi_activity(tables["assessment"]),
    }
    for name, expression in expressions.items():
        sql = ibis.to_sql(expression, dialect=dialect)
        assert "SELECT" in sql.upper(), name
    # The concept set is inlined: undotted DM codes, the topical exclusion by ATC code.
    assert "'M3310'" in ibis.to_sql(expressions["diagnosis"], dialect=dialect)
    assert "'D11AH09'" in ibis.to_sql(expressions["exposure"], dialect=dialect)
