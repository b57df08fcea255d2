"""Staged execution (myositis.cohort.staging) gives the cohorts of the one query: every case of
tests/cohort/language_cases.py (attrition and members counted by hand there) and the outcome
values of test_language.py, run with each line written to a temporary table and read back.

Staging is on for PostgreSQL only, where tests/conformance/test_cohort_language.py and
test_atlas_eunomia.py run it on every case and on Eunomia; here it is switched on for the
embedded DuckDB, so the substitution of the stages is checked without a server.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from ibis import BaseBackend

import myositis.cohort.staging as staging
from cohort.language_cases import CASES, ROWS
from myositis.cohort import plans
from myositis.cohort.compile import compile_cohort
from myositis.cohort.language import Cohort
from myositis.cohort.run import run_cohort
from myositis.registry import append_arrow, arrow_schema, create_registry

MIN2022 = Path(__file__).resolve().parents[2] / "examples" / "min2022"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    con = create_registry(tmp_path_factory.mktemp("staging") / "r.duckdb")
    for name, rows in ROWS.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


def _tables(con: BaseBackend) -> set[str]:
    """Every table of the DuckDB connection, temporary ones included (ibis 12's
    ``list_tables`` calls a method DuckDB 2 has renamed)."""
    return {row[0] for row in con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging, "STAGED_ENGINES", frozenset({"duckdb"}))


#: CDASI activity at baseline and nearest day 168, and CK at baseline (test_language.py).
OUTCOMES = [
    {
        "name": "cdasi",
        "instrument": "cdasi",
        "measure": "activity",
        "followup": {"start": 1, "end": 365},
        "at_day": 168,
    },
    {"name": "ck", "test": "ck", "scale": "times_uln", "baseline": {"start": -60, "end": 0}},
]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_staged_run_gives_the_hand_counted_cohort(
    con: BaseBackend, staged: None, case: str
) -> None:
    mapping, remaining, members = CASES[case]
    before = _tables(con)
    run = run_cohort(con, Cohort.model_validate(mapping))
    assert [s.remaining for s in run.attrition] == remaining
    found = [(r["person_id"], r["index_date"], r["exit_date"]) for r in run.members.to_pylist()]
    assert found == members
    assert _tables(con) == before  # the temporary tables are dropped


def test_staged_outcomes_are_those_of_the_one_query(con: BaseBackend, staged: None) -> None:
    """The outcomes read CDASI through a stage (the events of the entry events' persons);
    test_language.py checks the one query's values by hand (1: baseline 20, follow-up 12)."""
    cohort = Cohort.model_validate({**CASES["observation"][0], "outcomes": OUTCOMES})
    staged_rows = run_cohort(con, cohort).members.to_pylist()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staging, "STAGED_ENGINES", frozenset())
        single_rows = run_cohort(con, cohort).members.to_pylist()
    assert staged_rows == single_rows
    first = staged_rows[0]
    assert (first["person_id"], first["cdasi_baseline"], first["cdasi_followup"]) == (1, 20.0, 12.0)


def test_the_stages_in_order(con: BaseBackend) -> None:
    """'rules': one persons_with rule, the entry, three inclusion rules (CDASI or CK, cancer,
    demographics): stages are the rule's line, the entry line, the events read for the entry
    persons (CDASI activity with any value, then in the criterion's range; CK; cancer), the
    three inclusion lines, the index events."""
    compiled = compile_cohort(con, Cohort.model_validate(CASES["rules"][0]))
    found = staging.stages(compiled)
    lines = compiled.lines
    assert len(compiled.scoped) == 4
    expected = [lines[1], lines[2], *compiled.scoped, *lines[3:], compiled.index]
    assert [t.op() for t in found] == [t.op() for t in expected]
    assert not staging.is_staged(con)


def test_a_warm_staged_run_executes_the_kept_stage_texts(
    con: BaseBackend, staged: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The SQL of every stage is kept with the plan: the second run neither builds nor
    compiles (``memory``), a new process reads it from disk (``disk``), and each gives the
    hand-counted cohort; each run's temporary tables are dropped."""
    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(tmp_path / "cache"))
    plans.clear_memory()
    mapping, remaining, members = CASES["rules"]
    cohort = Cohort.model_validate(mapping)
    before = _tables(con)
    sources = []
    for new_process in (False, False, True):
        if new_process:
            plans.clear_memory()
        run = run_cohort(con, cohort)
        sources.append(run.run["plan"])
        assert [s.remaining for s in run.attrition] == remaining
        found = [(r["person_id"], r["index_date"], r["exit_date"]) for r in run.members.to_pylist()]
        assert found == members
        assert _tables(con) == before
    assert sources == ["compiled", "memory", "disk"]
    plans.clear_memory()


def test_two_runs_of_one_plan_on_one_connection_do_not_meet(
    con: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan's stages get new names on each run, so one run may start inside another; the
    plan holds one text per distinct stage."""
    monkeypatch.setenv("MYOSITIS_PLAN_CACHE", "off")
    compiled = compile_cohort(con, Cohort.model_validate(CASES["rules"][0]))
    plan, source = staging.staged_plan(
        con, {"query": "test"}, lambda: staging.StagedQuery(compiled, [compiled.result], {})
    )
    assert source == "uncached"
    assert len(plan.stages) == len({t.op() for t in staging.stages(compiled)})
    with staging.run_staged(con, plan) as (outer,), staging.run_staged(con, plan) as (inner,):
        first, second = outer.to_pyarrow(), inner.to_pyarrow()
    assert first.equals(second)
    assert first.equals(compiled.result.to_pyarrow())


def test_a_warm_staged_study_builder_executes_the_kept_texts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The study builder on a staged engine (switched on here for the embedded DuckDB): the
    plan keeps every stage and every final query (the head and each kind of record), so the
    second run comes from memory and a new process's from disk without building the query,
    and each gives the one query's cohort: examples/min2022, 18/15/13/12/11 persons after
    each step as Min et al. 2022 report (n = 11)."""
    from myositis.cohort import build
    from myositis.registry.connect import connect
    from myositis.study.runner import study_cohort
    from myositis.study.spec import load_spec

    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(tmp_path / "cache"))
    plans.clear_memory()
    con = connect(MIN2022)
    spec = load_spec("jak-refractory-dm")
    one_query = study_cohort(con, spec)
    assert [s.remaining for s in one_query.attrition] == [18, 15, 13, 12, 11]
    before = _tables(con)

    monkeypatch.setattr(staging, "STAGED_ENGINES", frozenset({"duckdb"}))
    sources: list[str] = []
    kept = build.staged_plan

    def spy(*args: object, **kwargs: object) -> tuple[plans.Plan, str]:
        plan, source = kept(*args, **kwargs)  # type: ignore[arg-type]
        sources.append(source)
        assert len(plan.more) == 8  # the head is plan.sql; 8 kinds of record
        return plan, source

    monkeypatch.setattr(build, "staged_plan", spy)
    first = study_cohort(con, spec)

    def no_building(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm run built the query")

    monkeypatch.setattr(build, "_cohort_query", no_building)
    second = study_cohort(con, spec)
    plans.clear_memory()  # as in a new process
    third = study_cohort(con, spec)
    assert sources == ["compiled", "memory", "disk"]
    assert first == second == third == one_query
    assert _tables(con) == before  # each run's temporary tables are dropped
    plans.clear_memory()
