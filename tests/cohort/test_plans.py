"""The compiled-plan cache (myositis.cohort.plans): the same cohort on the same engine and table
schemas is compiled once, in the process and across processes (disk), gives the same attrition
and members as compiling it afresh, and is compiled again when a table it reads changes its
schema, when the software changes, or when the cohort changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from ibis import BaseBackend

from cohort.language_cases import CASES, ROWS
from myositis.cohort import plans
from myositis.cohort.language import Cohort
from myositis.cohort.run import run_cohort
from myositis.registry import append_arrow, arrow_schema, create_registry


@pytest.fixture
def con(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BaseBackend]:
    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(tmp_path / "cache"))
    plans.clear_memory()
    con = create_registry(tmp_path / "r.duckdb")
    for name, rows in ROWS.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    yield con
    plans.clear_memory()


def _run(con: BaseBackend, case: str = "rules") -> tuple[str, list[int], list[tuple]]:
    mapping, remaining, members = CASES[case]
    run = run_cohort(con, Cohort.model_validate(mapping))
    found = [(r["person_id"], r["index_date"], r["exit_date"]) for r in run.members.to_pylist()]
    # the hand-counted values of tests/cohort/language_cases.py, whatever the plan's source
    assert [s.remaining for s in run.attrition] == remaining
    assert found == members
    return str(run.run["plan"]), [s.remaining for s in run.attrition], found


def test_compiled_once_then_from_memory_then_from_disk(con: BaseBackend, tmp_path: Path) -> None:
    assert _run(con)[0] == "compiled"
    assert _run(con)[0] == "memory"
    files = list((tmp_path / "cache" / "plans").glob("*.json"))
    assert len(files) == 1
    plans.clear_memory()  # as in a new process
    assert _run(con)[0] == "disk"
    assert _run(con, "observation")[0] == "compiled"  # another cohort, another plan
    assert len(list((tmp_path / "cache" / "plans").glob("*.json"))) == 2


def test_a_schema_change_of_a_table_read_is_a_miss(con: BaseBackend) -> None:
    assert _run(con)[0] == "compiled"
    con.raw_sql("ALTER TABLE diagnosis ADD COLUMN note VARCHAR")
    assert _run(con)[0] == "compiled"
    assert _run(con)[0] == "memory"
    plans.clear_memory()
    assert _run(con)[0] == "disk"  # the plan written after the change


def test_another_software_version_is_a_miss(
    con: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(con)[0] == "compiled"
    monkeypatch.setattr(plans, "software", lambda: "0.0.0+another")
    assert _run(con)[0] == "compiled"
    plans.clear_memory()
    assert _run(con)[0] == "disk"


def test_the_cache_can_be_kept_in_memory_only_or_switched_off(
    con: BaseBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOSITIS_PLAN_CACHE", "memory")
    assert _run(con)[0] == "compiled"
    assert _run(con)[0] == "memory"
    assert not (tmp_path / "cache").exists()
    monkeypatch.setenv("MYOSITIS_PLAN_CACHE", "off")
    assert _run(con)[0] == "uncached"


def test_a_foreign_or_broken_plan_file_is_a_miss(con: BaseBackend, tmp_path: Path) -> None:
    assert _run(con)[0] == "compiled"
    (path,) = (tmp_path / "cache" / "plans").glob("*.json")
    path.write_text("{not json", encoding="utf-8")
    plans.clear_memory()
    assert _run(con)[0] == "compiled"


def test_a_new_connection_to_the_same_registry_runs_the_plan(
    con: BaseBackend, tmp_path: Path
) -> None:
    """Ibis backends of the same database compare equal: the table reading a plan's temporary
    view must be the connection's own, or the second connection reads through the first,
    closed one ("Connection has already been closed", found by benchmarks/bench_cohort.py
    running `study run` twice in one process)."""
    from myositis.registry.connect import connect

    con.disconnect()
    first = connect(tmp_path / "r.duckdb")
    _run(first)
    first.disconnect()
    again = connect(tmp_path / "r.duckdb")
    assert _run(again)[0] == "memory"
    again.disconnect()


def test_the_one_catalog_query_reads_the_schemas_ibis_reads(con: BaseBackend) -> None:
    # _listed_schemas replaces one DESCRIBE per table: it must give what con.table gives, for
    # every registry table and for a temporary view or table, which shadows a table of the
    # same name as DuckDB resolves an unqualified name
    con.raw_sql(
        "CREATE TEMPORARY VIEW shown AS SELECT person_id, birth_date + 1 AS d, "
        "1.5::DECIMAL(18,3) AS x, [1, 2] AS l FROM person"
    )
    con.raw_sql("CREATE TEMPORARY TABLE laboratory (person_id BIGINT, note VARCHAR)")
    names = [*ROWS, "person", "laboratory", "shown"]
    listed = plans._listed_schemas(con, names)
    for name in names:
        assert listed[name] == [(n, str(t)) for n, t in con.table(name).schema().items()], name
    assert listed["laboratory"] == [("person_id", "int64"), ("note", "string")]
    assert "absent" not in plans._listed_schemas(con, ["absent"])


def test_a_table_shadowed_by_a_temporary_table_is_a_miss(con: BaseBackend) -> None:
    assert _run(con)[0] == "compiled"
    con.raw_sql("CREATE TEMPORARY TABLE diagnosis AS SELECT *, 1 AS extra FROM main.diagnosis")
    assert _run(con)[0] == "compiled"


def test_a_plan_runs_on_another_registry_of_the_same_schemas_with_its_rows(
    con: BaseBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key holds no catalog or schema of the connection (the SQL names the tables
    unqualified): a plan compiled on one registry serves another whose tables have the same
    schemas, and must read that registry's rows, as compiling afresh there does."""
    _run(con)
    other = create_registry(tmp_path / "other.duckdb")
    for name, rows in ROWS.items():
        if name != "diagnosis":  # no one has the diagnosis here
            schema = arrow_schema(name)
            full = [{f.name: row.get(f.name) for f in schema} for row in rows]
            append_arrow(other, name, pa.Table.from_pylist(full, schema=schema))
    cohort = Cohort.model_validate(CASES["rules"][0])
    kept = run_cohort(other, cohort)
    monkeypatch.setenv("MYOSITIS_PLAN_CACHE", "off")
    afresh = run_cohort(other, cohort)
    assert (kept.run["plan"], afresh.run["plan"]) == ("memory", "uncached")
    assert [s.remaining for s in kept.attrition] == [s.remaining for s in afresh.attrition]
    assert [s.remaining for s in kept.attrition][1:] != CASES["rules"][1][1:]
    assert kept.members.to_pylist() == afresh.members.to_pylist()
    other.disconnect()
