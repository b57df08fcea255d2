"""Bad input gives one clear message and exit status 2 from the command line: never a
traceback, never a report that looks like a result."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from myositis.cli import main
from myositis.errors import EmptyStepError
from myositis.registry import create_registry
from myositis.study.runner import run_study
from myositis.study.spec import load_spec, spec_from_mapping

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert info.value.code == 2, out + err
    assert "Traceback" not in out + err
    assert err.startswith("error: ")
    return err


def _run_fails(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    spec: Path,
    data: Path,
) -> str:
    """`myositis study run SPEC --data DATA --out OUT` fails cleanly and writes no OUT."""
    out = tmp_path / "out"
    err = _cli(
        monkeypatch, capsys, "study", "run", str(spec), "--data", str(data), "--out", str(out)
    )
    assert not out.exists()
    return err


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return folder


def _spec(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_registry_missing_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(tmp_path)
    (folder / "adverse_event.csv").unlink()
    err = _run_fails(monkeypatch, capsys, tmp_path, SPEC, folder)
    assert "missing registry table 'adverse_event'" in err
    assert "header-only file" in err  # what to do


def test_registry_missing_a_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(tmp_path)
    lines = (folder / "assessment.csv").read_text(encoding="utf-8").splitlines()
    trimmed = [",".join(line.split(",")[:-1]) for line in lines]  # drop 'value'
    (folder / "assessment.csv").write_text("\n".join(trimmed) + "\n", encoding="utf-8")
    err = _run_fails(monkeypatch, capsys, tmp_path, SPEC, folder)
    assert "assessment.csv lacks column(s) value" in err


@pytest.mark.parametrize(
    ("damage", "expected", "what_to_do"),
    [
        (
            "DROP TABLE dm_subtype",
            "missing registry table(s) dm_subtype",
            "every table of the data model must exist, even if empty",
        ),
        (
            "ALTER TABLE laboratory DROP COLUMN uln",
            "table 'laboratory' lacks column(s) uln",
            "add them (they may be empty)",
        ),
    ],
)
def test_duckdb_registry_missing_a_table_or_column(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: str,
    expected: str,
    what_to_do: str,
) -> None:
    path = tmp_path / "registry.duckdb"
    con = create_registry(path)
    con.raw_sql(damage)
    con.disconnect()
    err = _run_fails(monkeypatch, capsys, tmp_path, SPEC, path)
    assert expected in err
    assert what_to_do in err


def test_specification_errors_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path, analysis__mcid_points=5)
    err = _run_fails(monkeypatch, capsys, tmp_path, spec, DATA)
    assert "analysis.mcid_points: 5 unknown field" in err


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"cohort__diagnosis__codes": [{"system": "ICD11", "code": "4A41.0"}]},
            "cohort.diagnosis.codes[0].system: 'ICD11' unknown code system 'ICD11'; known "
            "systems: ICD10CM",
        ),
        (
            {"cohort__baseline__window_days": {"start": 10, "end": -30}},
            "cohort.baseline.window_days: impossible window: start (10) is after end (-30)",
        ),
    ],
)
def test_unknown_code_system_and_impossible_window_from_the_command_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, object],
    expected: str,
) -> None:
    spec = _spec(tmp_path, **changes)
    err = _run_fails(monkeypatch, capsys, tmp_path, spec, DATA)
    assert expected in err
    assert "docs/study-spec.md documents every field" in err  # what to do


def test_a_step_that_no_patient_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(
        tmp_path, cohort__exposure__codesets=[], cohort__exposure__ingredients=["filgotinib"]
    )
    err = _run_fails(monkeypatch, capsys, tmp_path, spec, DATA)
    assert "cohort step 3 'Systemic JAK inhibitor'" in err
    assert "excluded all 15 remaining persons" in err
    assert "Attrition so far: 1. Persons in the registry: 18" in err
    assert "Check cohort.exposure" in err  # what to do


@pytest.mark.parametrize(
    ("changes", "step"),
    [
        ({"cohort__diagnosis__min_occurrences": 9}, "cohort step 2 'Dermatomyositis diagnosis"),
        ({"cohort__baseline__window_days": {"start": -3, "end": -1}}, "cohort step 4 'Baseline"),
        ({"cohort__followup__window_days": {"start": 1500, "end": 2000}}, "cohort step 5 'Follow"),
    ],
)
def test_each_empty_step_is_named(tmp_path: Path, changes: dict[str, object], step: str) -> None:
    data = yaml.safe_load(_spec(tmp_path, **changes).read_text(encoding="utf-8"))
    with pytest.raises(EmptyStepError, match=step):
        run_study(SPEC, DATA, tmp_path / "out", spec=spec_from_mapping(data))
    assert not (tmp_path / "out").exists()


def test_a_failed_run_leaves_a_previous_report_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_study(SPEC, DATA, out)
    before = first.results_json.read_bytes()
    spec = load_spec(_spec(tmp_path, cohort__diagnosis__min_occurrences=9))
    with pytest.raises(EmptyStepError):
        run_study(SPEC, DATA, out, spec=spec)
    assert first.results_json.read_bytes() == before
    assert not list(tmp_path.glob(".*partial"))


def test_study_check_validates_without_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["myositis", "study", "check", str(SPEC)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: jak-refractory-dm version 1.0.0")
    assert f"spec_sha256: {load_spec(SPEC).sha256()}" in out
    bad = _spec(tmp_path, cohort__followup__window_days={"start": -5, "end": 10})
    err = _cli(monkeypatch, capsys, "study", "check", str(bad))
    assert "cohort.followup: impossible follow-up window: it starts on day -5" in err
