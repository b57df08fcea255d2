"""The cohort's Ibis expressions compile for PostgreSQL as well as DuckDB (no engine-specific
SQL; compilation only, no PostgreSQL server is needed), and the whole study runs unchanged on
Spark where Java and PySpark are installed."""

from __future__ import annotations

import json
import shutil
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


@pytest.mark.spark
def test_the_study_runs_unchanged_on_spark(tmp_path: Path) -> None:
    """examples/min2022 loaded into a local Spark session: the same cohort code gives the same
    attrition, analyses and data fingerprint as on DuckDB (tables as temporary views with the
    registry's types; one core)."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    from myositis.cohort.builder import build_cohort
    from myositis.registry import open_registry
    from myositis.registry.vocabulary import vocabulary_problems
    from myositis.report.results_json import data_fingerprint
    from myositis.study.runner import analyse

    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .getOrCreate()
    )
    spark_types = {
        "int64": "bigint",
        "int32": "int",
        "string": "string",
        "date": "date",
        "float64": "double",
        "boolean": "boolean",
    }
    duck = open_registry(Path(__file__).resolve().parents[2] / "examples" / "min2022")
    try:
        for name, schema in TABLES.items():
            ddl = ", ".join(f"{c} {spark_types[str(t).lstrip('!')]}" for c, t in schema.items())
            rows = duck.table(name).select(*schema.names).to_pyarrow().to_pylist()
            spark.createDataFrame(rows, schema=ddl).createOrReplaceTempView(name)
        con = ibis.pyspark.connect(spark)
        on_spark = analyse(build_cohort(con, SPEC), SPEC)
        on_duckdb = analyse(build_cohort(duck, SPEC), SPEC)
        assert [s["remaining"] for s in on_spark["attrition"]] == [18, 15, 13, 12, 11]
        assert json.dumps(on_spark, default=str, sort_keys=True) == json.dumps(
            on_duckdb, default=str, sort_keys=True
        )
        assert data_fingerprint(con) == data_fingerprint(duck)
        assert vocabulary_problems(con) == []
    finally:
        spark.stop()
