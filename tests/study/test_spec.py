"""The study specification: the bundled file is valid; bad files give one clear SpecError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from myositis.analysis.options import DAYS_PER_MONTH_DEFAULT
from myositis.errors import SpecError
from myositis.study.spec import (
    StudySpec,
    bundled_spec_names,
    bundled_spec_path,
    load_spec,
    spec_from_mapping,
)

BUNDLED = Path(__file__).resolve().parents[2] / "studies" / "jak-refractory-dm.yaml"


@pytest.fixture
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        spec_from_mapping(data, source="study.yaml")
    return str(info.value)


def test_the_bundled_specification_is_valid_and_states_the_seed_design() -> None:
    spec = load_spec(BUNDLED)
    assert bundled_spec_path() == BUNDLED
    assert spec.study.id == "jak-refractory-dm"
    assert spec.cohort.diagnosis.codesets == ["dm_diagnosis"]
    assert spec.cohort.exposure.exclude_codesets == ["jak_topical_exclude"]
    assert (spec.cohort.baseline.window_days.start, spec.cohort.baseline.window_days.end) == (
        -30,
        0,
    )
    assert spec.analysis.mcid == 5
    assert spec.analysis.days_per_month == DAYS_PER_MONTH_DEFAULT == 365.25 / 12
    assert spec.analysis.response_windows_months == [1, 1.5, 2]
    assert spec.analysis.small_cell_threshold == 5


def test_defaults_fill_a_minimal_specification() -> None:
    spec = spec_from_mapping(
        {"spec_version": 1, "study": {"id": "mini", "version": "0.1", "title": "Minimal"}}
    )
    assert spec.cohort.exposure.codesets == ["jak_inhibitor"]
    assert spec.cohort.followup.use == "last"
    assert spec.analysis.response.definition == "absolute"


def test_unknown_fields_are_named_with_their_path(data: dict[str, Any]) -> None:
    data["analysis"]["mcdi"] = 4
    data["cohort"]["baseline"]["window"] = {"start": -10, "end": 0}
    message = _error(data)
    assert "study.yaml" in message
    assert "analysis.mcdi: 4 unknown field" in message
    assert "cohort.baseline.window: unknown field" in message
    assert "2 problem(s)" in message


def test_unknown_code_system_and_role(data: dict[str, Any]) -> None:
    data["cohort"]["diagnosis"]["codes"] = [{"system": "ICD11", "code": "4A41.0"}]
    data["cohort"]["exposure"]["codesets"] = ["jak_inhibitors"]
    message = _error(data)
    assert "cohort.diagnosis.codes[0].system: 'ICD11' unknown code system 'ICD11'" in message
    assert "ICD10CM" in message  # the allowed systems are listed
    assert "unknown code set role(s) 'jak_inhibitors'" in message
    assert "jak_inhibitor" in message


@pytest.mark.parametrize(
    ("where", "window", "expected"),
    [
        ("baseline", {"start": 5, "end": -30}, "start (5) is after end (-30)"),
        ("baseline", {"start": -30, "end": 14}, "a baseline must be on or before the index"),
        ("followup", {"start": 0, "end": 365}, "follow-up must be after the index date"),
        ("followup", {"start": 400, "end": 100}, "start (400) is after end (100)"),
    ],
)
def test_impossible_windows(
    data: dict[str, Any], where: str, window: dict[str, int], expected: str
) -> None:
    data["cohort"][where]["window_days"] = window
    message = _error(data)
    assert f"cohort.{where}.window_days" in message or f"cohort.{where}" in message
    assert expected in message


def test_followup_must_start_after_the_baseline_window(data: dict[str, Any]) -> None:
    data["cohort"]["baseline"]["window_days"] = {"start": -30, "end": -10}
    data["cohort"]["followup"]["window_days"] = {"start": 1, "end": 30}
    spec_from_mapping(data)  # valid: follow-up starts after the baseline window
    data["analysis"]["response_windows_months"] = [2, 1]
    assert "time windows must increase strictly" in _error(data)


def test_other_value_checks(data: dict[str, Any]) -> None:
    data["analysis"]["mcid"] = 0
    data["analysis"]["small_cell_threshold"] = 0
    data["analysis"]["response"] = {"definition": "relative"}
    data["analysis"]["subtype_groups"] = {"A": ["amyopathic"], "B": ["dm"]}
    message = _error(data)
    assert "analysis.mcid: 0 must be greater than 0" in message
    assert "analysis.small_cell_threshold" in message
    assert "a relative response definition needs 'percent'" in message
    assert "subtype group 'B': unknown subtype 'dm'" in message
    data["analysis"] = {"subtype_groups": {"A": ["juvenile"], "B": ["juvenile"]}}
    assert "subtype 'juvenile' is in two groups ('A', 'B')" in _error(data)


def test_a_bundled_study_can_be_named_instead_of_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `pip install`, studies/ is not in the working directory: the name finds it."""
    monkeypatch.chdir(tmp_path)
    assert bundled_spec_names() == ["jak-new-users-w24", "jak-refractory-dm"]
    assert load_spec("jak-refractory-dm").sha256() == load_spec(BUNDLED).sha256()
    with pytest.raises(
        SpecError, match="the name of a bundled study: jak-new-users-w24, jak-refractory-dm"
    ):
        load_spec("jak-refractory")
    # A file of that name in the working directory wins over the bundled study.
    (tmp_path / "jak-refractory-dm").write_text("- not a mapping\n", encoding="utf-8")
    with pytest.raises(SpecError, match="is a YAML mapping"):
        load_spec("jak-refractory-dm")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such study specification file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec_version: 1\nstudy: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"not valid YAML at line \d+, column \d+"):
        load_spec(bad)
    bad.write_text("- a\n- list\n", encoding="utf-8")
    with pytest.raises(SpecError, match="is a YAML mapping"):
        load_spec(bad)
    bad.write_text("spec_version: 3\nstudy: {id: x, version: '1', title: t}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="spec_version 3 is not supported"):
        load_spec(bad)


def test_the_hash_ignores_formatting_but_not_values(data: dict[str, Any], tmp_path: Path) -> None:
    original = load_spec(BUNDLED).sha256()
    reformatted = tmp_path / "same.yaml"
    reformatted.write_text("# a comment\n" + yaml.safe_dump(data, sort_keys=True), "utf-8")
    assert load_spec(reformatted).sha256() == original
    data["analysis"]["mcid"] = 4
    assert spec_from_mapping(data).sha256() != original
    assert isinstance(spec_from_mapping(data), StudySpec)


def test_the_bundled_study_keeps_its_hash() -> None:
    """The spec's YAML format and hash survived the move of the cohort definition and the
    analysis options into their own layers: the same file gives the hash it gave before
    (results.json files and site packages written earlier carry it)."""
    assert load_spec(BUNDLED).sha256() == (
        "ca06dd77cd5401822703bc63dd2af944ea848a2339e883489fb9c8b6d1cc7bb2"
    )


def test_the_bundled_format_2_study_keeps_its_hash() -> None:
    """A format-2 spec that uses no ``having`` group dumps as it did before the field existed
    (myositis.cohort.language.Events), so its hash is the one it had (6 December 2026)."""
    assert load_spec("jak-new-users-w24").sha256() == (
        "fcb2591a5a0c77961b9bad0602a8c5d65be8f58045a3a53bc729dffec2e48905"
    )
