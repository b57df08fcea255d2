"""The bundled study, unchanged, gives the same results on DuckDB, PostgreSQL and Spark, run
as a user runs it: ``myositis registry copy`` puts examples/min2022 (SYNTHETIC, built to match
every number Min et al. 2022 report) on the engine, ``myositis study run --data URL`` runs it
there, and its results.json must equal the run on the CSV folder itself (the embedded DuckDB,
whose numbers tests/study/test_min2022.py checks against the publication) apart from the time
and where the registry is. The data fingerprint, computed inside each engine from every row,
is the same everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.engines import MIN2022, Engine, run_cli
from myositis.registry.fingerprint import data_fingerprint, verified_fingerprint
from myositis.registry.store import read_metadata
from myositis.registry.vocabulary import vocabulary_problems

#: Fields that say when, from where and on which engine a run read its registry (and how long
#: each step took), not what it found.
PLACE_AND_TIME = (
    "generated_at",
    "registry",
    "data_fingerprint_method",
    "data_integrity",
    "run",
)
#: Ibis's name of each engine's backend, as results.json records it (run.engine).
BACKEND = {"duckdb": "duckdb", "postgres": "postgres", "spark": "pyspark"}
#: registry_metadata rows that a copy adds.
COPY_KEYS = ("copied_from", "copied_at")


def _run(data: str, out: Path) -> dict[str, Any]:
    run_cli("study", "run", "jak-refractory-dm", "--data", data, "--out", str(out), "--quiet")
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _comparable(results: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in results.items() if k not in PLACE_AND_TIME}
    kept["registry_metadata"] = {
        k: v for k, v in results["registry_metadata"].items() if k not in COPY_KEYS
    }
    return kept


@pytest.fixture(scope="session")
def folder_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(str(MIN2022), tmp_path_factory.mktemp("folder-run"))


def test_study_run_gives_the_same_results_on_every_engine(
    engine: Engine, folder_results: dict[str, Any], tmp_path: Path
) -> None:
    results = _run(engine.url, tmp_path / "out")
    # min2022: 18 persons with a DM code -> 11 in the final cohort (Min et al. 2022: n = 11)
    assert [s["remaining"] for s in results["attrition"]] == [18, 15, 13, 12, 11]
    assert _comparable(results) == _comparable(folder_results)
    # the copy recorded the fingerprint; the run verified the record instead of hashing
    assert results["data_fingerprint_method"]["method"] == "recorded"
    assert folder_results["data_fingerprint_method"]["method"] == "computed"
    # the run says which engine (and version) computed it
    assert results["run"]["engine"] == BACKEND[engine.name]
    assert results["run"]["engine_version"] == engine.con.version
    assert results["run"]["spec_sha256"] == folder_results["spec_sha256"]


def test_fingerprint_computed_inside_every_engine_is_the_same(
    engine: Engine, reference: Engine
) -> None:
    expected = data_fingerprint(reference.con)
    assert data_fingerprint(engine.con) == expected
    verified = verified_fingerprint(engine.con, read_metadata(engine.con))
    assert (verified.value, verified.method) == (expected, "recorded")
    assert vocabulary_problems(engine.con) == []


@pytest.fixture(scope="session")
def synthetic_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SYNTHETIC referral-centre registry of 20,000 persons whose cohort has members who
    never respond (min2022's 11 all have a day of response or none is missing)."""
    path = tmp_path_factory.mktemp("synthetic") / "referral.duckdb"
    run_cli("registry", "synth", "-n", "20000", "--preset", "referral-centre", "--seed", "5",
            "-o", str(path), "--quiet")  # fmt: skip
    return path


def test_study_cohort_keeps_every_value_on_every_engine(
    engine: Engine, synthetic_registry: Path
) -> None:
    """Every patient field of the study's cohort, days to response and the recorded death
    included, is the embedded DuckDB's on each engine. Spark once returned no day to response
    for anyone: the whole in-memory cohort table joined there lost its integer column with
    nulls."""
    from myositis.registry.connect import connect
    from myositis.study.runner import study_cohort
    from myositis.study.spec import load_spec

    spec = load_spec("jak-refractory-dm")
    expected = study_cohort(connect(str(synthetic_registry)), spec).patients
    responses = [p.response_days for p in expected]
    assert None in responses and any(d is not None for d in responses)
    # some members died (the generator's deaths), the others have none
    deaths = [p.death for p in expected]
    assert None in deaths and any(d is not None for d in deaths)
    url = engine.location("referral")
    run_cli("registry", "copy", str(synthetic_registry), url, "--replace", "--quiet")
    assert study_cohort(connect(url), spec).patients == expected


@pytest.mark.spark
def test_spark_stages_kept_on_the_executors_give_the_same_cohort(
    spark: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local Spark session collects each stage into its driver; a cluster keeps the stages
    on its executors as local checkpoints (myositis.cohort.staging.spark_stages_in_driver).
    The test session is local, so the cluster's way is forced here: the same cohort, every
    field, as the local way (which test_study_run_gives_the_same_results_on_every_engine
    compares with the embedded DuckDB): examples/min2022, 18/15/13/12/11 persons (Min et al.
    2022: n = 11)."""
    from myositis.cohort import plans, staging
    from myositis.study.runner import study_cohort
    from myositis.study.spec import load_spec

    assert staging.spark_stages_in_driver(spark.con.session)  # type: ignore[attr-defined]
    spec = load_spec("jak-refractory-dm")
    in_driver = study_cohort(spark.con, spec)
    monkeypatch.setattr(staging, "spark_stages_in_driver", lambda session: False)
    frame = type(spark.con.session.sql("SELECT 1"))  # type: ignore[attr-defined]
    local_checkpoint = frame.localCheckpoint
    checkpointed: list[str] = []

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        checkpointed.append("stage")
        return local_checkpoint(self, *args, **kwargs)

    monkeypatch.setattr(frame, "localCheckpoint", spy)
    on_executors = study_cohort(spark.con, spec)
    assert checkpointed  # the stages were checkpointed, not collected
    assert [s.remaining for s in on_executors.attrition] == [18, 15, 13, 12, 11]
    assert on_executors == in_driver
    plans.clear_memory()


def test_a_second_study_cohort_comes_from_the_plan_cache_on_every_engine(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The study builder's query is kept in the plan cache on every engine (PostgreSQL and
    Spark: the SQL of each stage and of each final query): a second run neither builds nor
    compiles it (``memory``), a new process reads it from disk (``disk``), and each gives the
    first run's cohort: examples/min2022, 18/15/13/12/11 persons after each step (Min et al.
    2022: n = 11)."""
    from myositis.cohort import build, plans
    from myositis.study.runner import study_cohort
    from myositis.study.spec import load_spec

    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(tmp_path / "cache"))
    plans.clear_memory()
    sources: list[str] = []
    staged_plan, planned = build.staged_plan, build.planned

    def spy_staged(*args: Any, **kwargs: Any) -> Any:
        found = staged_plan(*args, **kwargs)
        sources.append(found[1])
        return found

    def spy_planned(*args: Any, **kwargs: Any) -> Any:
        found = planned(*args, **kwargs)
        sources.append(found[2])
        return found

    def no_building(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a warm run built the query")

    monkeypatch.setattr(build, "staged_plan", spy_staged)
    monkeypatch.setattr(build, "planned", spy_planned)
    spec = load_spec("jak-refractory-dm")
    first = study_cohort(engine.con, spec)
    assert [s.remaining for s in first.attrition] == [18, 15, 13, 12, 11]
    assert len(first.patients) == 11
    monkeypatch.setattr(build, "_cohort_query", no_building)
    second = study_cohort(engine.con, spec)
    plans.clear_memory()  # as in a new process
    third = study_cohort(engine.con, spec)
    assert sources == ["compiled", "memory", "disk"]
    assert second == first
    assert third == first
    plans.clear_memory()
