"""Coded values outside the data model's vocabularies are reported, never silently unmatched."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

from myositis.cli import main
from myositis.errors import EmptyStepError
from myositis.registry import connect
from myositis.registry.vocabulary import vocabulary_problems
from myositis.study.runner import run_study

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "min2022"
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"


def _recode(folder: Path, table: str, column: str, changes: dict[str, str]) -> None:
    """Replace values of one column (by person_id) in a copied CSV table."""
    path = folder / f"{table}.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        if row["person_id"] in changes:
            row[column] = changes[row["person_id"]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def recoded(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    # Person 1's DM codes as 'ICD-10-CM' (person 1 has 2 diagnosis rows), person 2's subtype
    # 'classic', every BID of person 3 as 'b.i.d.'.
    _recode(folder, "diagnosis", "code_system", {"1": "ICD-10-CM"})
    _recode(folder, "dm_subtype", "subtype", {"2": "classic"})
    _recode(folder, "drug_exposure", "frequency", {"3": "b.i.d."})
    return folder


def test_the_bundled_and_generated_registries_use_only_known_codes(
    small_registry: Path,
) -> None:
    assert vocabulary_problems(connect(DATA)) == []
    assert vocabulary_problems(connect(small_registry, read_only=True)) == []


def test_each_unknown_value_is_counted_and_named(recoded: Path) -> None:
    problems = vocabulary_problems(connect(recoded))
    assert len(problems) == 3
    diagnosis, subtype, frequency = problems
    assert diagnosis.startswith(
        "diagnosis.code_system: 2 row(s) with a value outside the data model: 'ICD-10-CM' (2); "
        "allowed: ICD10CM, ICD9CM"
    )
    assert "recode them (docs/data-model.md)" in diagnosis
    assert subtype.startswith("dm_subtype.subtype: 1 row(s) with a value outside the data model:")
    assert "'classic' (1)" in subtype and "classic_active_myositis" in subtype
    assert frequency.startswith("drug_exposure.frequency:") and "'b.i.d.'" in frequency


def test_a_cause_of_death_outside_the_code_systems_is_counted(tmp_path: Path) -> None:
    """death (version 4): a cause in 'ICD-10' (WHO; the registry knows ICD10CM) is counted
    like every code system; one in ' icd10cm ' matches, as the studies compare it."""
    folder = tmp_path / "registry"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    (folder / "death.csv").write_text(
        "person_id,death_date,cause_code_system,cause_code\n"
        "1,2019-01-01,ICD-10,J84.9\n2,2020-01-01, icd10cm ,J84.9\n3,2020-01-01,,\n",
        encoding="utf-8",
    )
    (problem,) = vocabulary_problems(connect(folder))
    assert problem.startswith(
        "death.cause_code_system: 1 row(s) with a value outside the data model: 'ICD-10' (1); "
        "allowed: ICD10CM, ICD9CM"
    )


def test_case_and_spaces_are_compared_as_the_studies_compare_them(tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    _recode(folder, "diagnosis", "code_system", {"1": " icd10cm "})
    _recode(folder, "drug_exposure", "frequency", {"3": "bid"})
    assert vocabulary_problems(connect(folder)) == []


def test_a_study_and_registry_check_say_so(
    recoded: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = run_study(SPEC, recoded, tmp_path / "out")
    assert run.results["notes"][0].startswith("diagnosis.code_system: 2 row(s)")
    # Person 1 lost its DM codes: 10 patients, and the report says why.
    assert run.results["attrition"][-1]["remaining"] == 10
    assert "diagnosis.code_system: 2 row(s)" in run.report.read_text(encoding="utf-8")

    monkeypatch.setattr(sys, "argv", ["myositis", "registry-check", str(recoded)])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert info.value.code in (0, None)
    assert err.count("warning: ") == 3
    assert "3 coded column(s) hold values no study can match" in out


def test_an_empty_step_names_the_unmatched_codes(tmp_path: Path) -> None:
    """Every DM code recorded as 'ICD-10-CM': the empty diagnosis step says why."""
    folder = tmp_path / "registry"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    people = csv.DictReader((DATA / "person.csv").open(encoding="utf-8"))
    everyone = {row["person_id"]: "ICD-10-CM" for row in people}
    _recode(folder, "diagnosis", "code_system", everyone)
    with pytest.raises(EmptyStepError) as info:
        run_study(SPEC, folder, tmp_path / "out")
    message = str(info.value)
    assert message.startswith("cohort step 2 'Dermatomyositis diagnosis")
    assert "The registry holds coded values no study can match:" in message
    assert "diagnosis.code_system: 35 row(s) with a value outside the data model: 'ICD-10-CM'" in (
        message
    )
    assert not (tmp_path / "out").exists()
