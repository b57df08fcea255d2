"""The benchmark's hand-written study queries (benchmarks/bench_cohort.py) return what the
builder returns, so docs/benchmarks.md compares like with like: ``hand_sql`` the members'
outcome values, ``same_sql`` those plus the attrition, the data cutoff and the members'
records. Checked on a small SYNTHETIC registry on DuckDB; the benchmark checks the same on
every engine and size it measures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from myositis.registry.observation import RECORD_DATES as REGISTRY_DATES
from myositis.sources.synthetic import generate_registry

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_cohort  # noqa: E402
from cohort_sql import RECORD_DATES, Dialect  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bench") / "r.duckdb"
    return str(
        generate_registry(path, patients=20_000, sites=2, seed=2026, preset="referral-centre")
    )


def test_the_hand_written_study_queries_return_the_builders_values(registry: str) -> None:
    once, result, close_builder = bench_cohort._builder("study", registry)
    once()
    rows, check = result()
    close_builder()
    assert check is not None
    run, close = bench_cohort._raw("duckdb", registry)
    try:
        hand = [bench_cohort._row(r) for r in run(bench_cohort.hand_sql(Dialect("duckdb")))]
        same_rows, same_check = bench_cohort._same_rows(
            run(bench_cohort.same_sql(Dialect("duckdb")))
        )
    finally:
        close()
    assert len(rows) >= 10  # a cohort, not an empty comparison
    assert hand == rows
    assert same_rows == rows
    # attrition (5 lines), unscorable, data cutoff, records of each kind, CDASI series
    assert same_check == check
    assert check[0] == 20_000 and check[4] == len(rows)


def test_the_hand_written_observation_periods_read_the_registrys_record_dates() -> None:
    """The hand-written and Circe-style SQL derive observation periods from the same dates as
    the registry (myositis.registry.observation.RECORD_DATES: every date column of the clinical
    tables); a table or date column added to the data model must be added there too (the
    benchmark refuses to run otherwise: version 3's diagnosis end and procedures were)."""
    assert RECORD_DATES == REGISTRY_DATES
    assert ("procedure", "procedure_date") in RECORD_DATES


def test_the_methods_runs_alternate_in_their_own_processes(registry: str, tmp_path: Path) -> None:
    """bench_cohort._measure: each method in a child process of its own, their runs taken in
    turn; every child reports its cold run, the warm runs asked for and its rows (the builder's
    and the hand-written query's the same), the builder a second process's run too."""
    measured = bench_cohort._measure(
        ("builder", "hand"), "study", "duckdb", {"builder": registry, "hand": registry}, 2,
        tmp_path,
    )  # fmt: skip
    assert set(measured) == {"builder", "hand"}
    for m in measured.values():
        assert len(m["runs"]) == 2 and m["cold"] > 0 and m["rss"] > 0
    assert measured["builder"]["rows"] == measured["hand"]["rows"]
    assert len(measured["builder"]["rows"]) >= 10
    assert measured["builder"]["disk"] > 0
    assert list(tmp_path.iterdir()) == []  # rows files and plan folders removed
