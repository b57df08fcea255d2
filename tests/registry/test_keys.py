"""The person key a DuckDB registry declares (myositis.registry.keys): declared by its writers,
enforced by DuckDB, hidden by a temporary ``person``, and the cohorts' first attrition line
counted on it as the table's rows, giving what the distinct count gives without it.
Registries: SYNTHETIC (``generate_registry``) and the SYNTHETIC examples/min2022 folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from myositis.cohort.compile import compile_cohort
from myositis.cohort.plans import plan_key
from myositis.cohort.run import load_cohort, run_cohort
from myositis.errors import RegistryError
from myositis.registry import append_arrow, connect, integrity
from myositis.registry.keys import declare_person_key, person_key_declared
from myositis.sources.contract import reader_for
from myositis.sources.synthetic import generate_registry
from myositis.sources.write import write_import

from .broken import person, registry

ROOT = Path(__file__).resolve().parents[2]
COHORTS = [
    ROOT / "benchmarks" / "cohorts" / "r1_observed_new_users.yaml",
    ROOT / "benchmarks" / "cohorts" / "r2_dm_events_collapsed.yaml",
    ROOT / "studies" / "jak-refractory-dm.yaml",
]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    return generate_registry(
        folder / "keyed.duckdb", patients=20_000, sites=2, seed=2026, preset="referral-centre"
    )


@pytest.fixture(scope="module")
def unkeyed(keyed: Path) -> Path:
    """The same rows in a file whose person table declares no key (as files written before
    this version, or by other tools, hold them)."""
    path = keyed.with_name("unkeyed.duckdb")
    con = ibis.duckdb.connect(str(path))
    con.raw_sql(f"ATTACH '{keyed}' AS keyed (READ_ONLY)")
    tables = con.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'keyed'"
    ).fetchall()
    for (name,) in tables:
        con.raw_sql(f'CREATE TABLE "{name}" AS SELECT * FROM keyed."{name}"')
    con.raw_sql("DETACH keyed")
    con.disconnect()
    return path


def test_registry_synth_and_import_declare_the_person_key(keyed: Path, tmp_path: Path) -> None:
    assert person_key_declared(connect(keyed))
    imported = tmp_path / "imported.duckdb"
    source = ROOT / "examples" / "min2022"
    assert write_import(reader_for("csv", source), imported).status == "stored"
    assert person_key_declared(connect(imported))


def test_the_folder_and_a_file_without_the_key_count_persons_distinct(unkeyed: Path) -> None:
    assert not person_key_declared(connect(unkeyed))
    assert not person_key_declared(connect(ROOT / "examples" / "min2022"))


def test_rows_that_repeat_a_person_are_left_undeclared_for_the_integrity_check(
    tmp_path: Path,
) -> None:
    con = registry(tmp_path / "r.duckdb", person=[person(1), person(1), person(2)])
    assert declare_person_key(con) is False
    assert not person_key_declared(con)
    [problem] = integrity.integrity_problems(con)
    assert (problem.rule, problem.table, problem.count) == ("repeated_key", "person", 1)


def test_declaring_twice_keeps_the_one_key(tmp_path: Path) -> None:
    con = registry(tmp_path / "r.duckdb", person=[person(1), person(2)])
    assert declare_person_key(con) and declare_person_key(con)
    keys = con.con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    assert keys == [(1,)]


def test_appending_a_person_already_in_the_registry_is_refused_by_name(
    keyed: Path, tmp_path: Path
) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(keyed, path)
    con = ibis.duckdb.connect(str(path))
    again = con.table("person").filter(ibis._.person_id == 7).to_pyarrow()
    with pytest.raises(RegistryError) as caught:
        append_arrow(con, "person", again)
    message = str(caught.value)
    assert "cannot append to 'person'" in message and "person_id: 7" in message
    assert "ids not yet in the registry" in message
    nobody = again.set_column(0, "person_id", pa.array([None], pa.int64()))
    with pytest.raises(RegistryError, match="person_id is the key of 'person'"):
        append_arrow(con, "person", nobody)
    assert con.table("person").count().to_pyarrow().as_py() == 20_000


def test_a_temporary_person_hides_the_declared_key(keyed: Path) -> None:
    con = ibis.duckdb.connect(str(keyed), read_only=True)
    con.raw_sql("CREATE TEMPORARY VIEW person AS SELECT * FROM main.person")
    assert not person_key_declared(con)


@pytest.mark.parametrize("path", COHORTS, ids=lambda p: p.stem)
def test_the_first_line_counts_rows_on_the_key_and_gives_the_distinct_count(
    keyed: Path, unkeyed: Path, path: Path
) -> None:
    """Same attrition and members with and without the key; the compiled attrition has one
    distinct count fewer with it (the first line's), and the plan is kept under another key."""
    cohort = load_cohort(path)
    runs = {name: run_cohort(connect(p), cohort) for name, p in (("k", keyed), ("u", unkeyed))}
    assert [s.remaining for s in runs["k"].attrition] == [s.remaining for s in runs["u"].attrition]
    assert runs["k"].attrition[0].remaining == 20_000
    assert runs["k"].members.equals(runs["u"].members)
    assert runs["k"].members.num_rows > 0
    sql = {}
    for name, p in (("k", keyed), ("u", unkeyed)):
        con = connect(p)
        sql[name] = str(con.compile(compile_cohort(con, cohort).attrition)).upper()
    assert sql["k"].count("COUNT(DISTINCT") == sql["u"].count("COUNT(DISTINCT") - 1
    parts = {"query": "cohort run"}
    assert plan_key(connect(keyed), parts) != plan_key(connect(unkeyed), parts)


def test_the_integrity_check_leaves_a_declared_key_to_the_engine(
    keyed: Path, unkeyed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 1 is not counted again on ``person`` where DuckDB keeps the key; both files pass."""
    checked: list[str] = []
    rule = integrity._key_problems

    def spy(table: integrity._Table, key: tuple[str, ...]) -> list[integrity.IntegrityProblem]:
        checked.append(table.name)
        return rule(table, key)

    monkeypatch.setattr(integrity, "_key_problems", spy)
    assert integrity.integrity_problems(connect(keyed)) == []
    assert checked == ["drug_exposure", "assessment", "death"]
    checked.clear()
    assert integrity.integrity_problems(connect(unkeyed)) == []
    assert checked == ["person", "drug_exposure", "assessment", "death"]
