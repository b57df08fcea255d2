"""Every study run records how it was made (issue 13 item 6): the engine and its version, the
specification's hash and the wall time of each step (cohort, each analysis, report), in
results.json, and the report page shows them in its provenance lines and Methods section,
without the report's own time (a page cannot contain the time taken to write it), so the page
rendered again from results.json stays the same bytes (tests/report/test_rerender.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.progress import StepTimes
from myositis.study.runner import StudyRun, run_study
from myositis.study.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"

ANALYSES = [
    "baseline_characteristics",
    "cdasi",
    "response",
    "dosing",
    "treatment_duration",
    "adverse_events",
    "deaths",
    "concomitant_therapy",
    "pruritus",
    "myositis",
    "patients",
    "trajectories",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    return run_study(SPEC, DATA, tmp_path_factory.mktemp("run-record"))


@pytest.fixture(scope="module")
def record(run: StudyRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.results_json.read_text(encoding="utf-8"))
    return data["run"]  # type: ignore[no-any-return]


def test_engine_version_and_spec_hash(record: dict[str, Any]) -> None:
    # examples/min2022 is a folder of CSV files, read into an embedded DuckDB
    assert record["engine"] == "duckdb"
    assert record["engine_version"] == duckdb.__version__
    assert record["spec_sha256"] == load_spec(SPEC).sha256()


def test_every_step_is_timed_in_order(record: dict[str, Any]) -> None:
    names = [s["step"] for s in record["steps"]]
    assert names == [
        "open the registry",
        "integrity",
        "fingerprint",
        "coded values",
        "records after death",
        "cohort",
        *(f"analysis: {a}" for a in ANALYSES),
        "report",
    ]
    seconds = [s["seconds"] for s in record["steps"]]
    assert all(isinstance(t, float) and t >= 0 for t in seconds)
    assert record["total_seconds"] == pytest.approx(sum(seconds), abs=0.002)
    assert record["steps"][names.index("cohort")]["seconds"] > 0


def test_the_page_shows_engine_and_steps_but_not_its_own_time(
    run: StudyRun, record: dict[str, Any]
) -> None:
    page = run.report.read_text(encoding="utf-8")
    assert f"Engine duckdb {duckdb.__version__}" in page
    for step in record["steps"]:
        shown = f'<tr><td>{step["step"]}</td><td class="num">{step["seconds"]:.3f}</td></tr>'
        assert (shown in page) == (step["step"] != "report"), step


def test_the_in_memory_results_are_the_file(run: StudyRun, record: dict[str, Any]) -> None:
    assert run.results["run"] == record


def test_step_times_record_a_step_that_raises() -> None:
    times = StepTimes()
    with pytest.raises(ZeroDivisionError), times.step("fails"):
        _ = 1 / 0
    with times.step("works"):
        pass
    assert [s["step"] for s in times.as_list()] == ["fails", "works"]


def test_the_run_says_how_its_registry_checks_were_made(
    record: dict[str, Any], run: StudyRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of CSV files is checked on every run; a DuckDB file that passed and has not
    changed since is not checked again (integrity rules, fingerprint, coded values), and the
    rest of the results are the same (myositis.registry.checked)."""
    from myositis.registry.copy import copy_registry

    folder_results = json.loads(run.results_json.read_text(encoding="utf-8"))
    assert folder_results["data_integrity"]["method"] == "checked"
    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(tmp_path / "cache"))
    copy_registry(DATA, tmp_path / "min2022.duckdb")
    runs = [
        json.loads(
            run_study(SPEC, tmp_path / "min2022.duckdb", tmp_path / f"r{k}").results_json.read_text(
                encoding="utf-8"
            )
        )
        for k in range(2)
    ]
    assert [r["data_integrity"]["method"] for r in runs] == ["checked", "unchanged"]
    assert runs[1]["data_integrity"]["checked_at"] == runs[0]["data_integrity"]["checked_at"]
    fingerprints = [r["data_fingerprint_method"] for r in runs]
    assert [f["method"] for f in fingerprints] == ["recorded", "recorded"]  # registry copy's
    assert fingerprints[1]["detail"].endswith("so it was not verified again")
    place_and_time = {"generated_at", "run", "data_integrity", "data_fingerprint_method"}
    first, second = ({k: v for k, v in r.items() if k not in place_and_time} for r in runs)
    assert first == second
