"""The trial specification: the bundled BIRD example, hashing, and errors in plain words."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from myositis.errors import SpecError
from myositis.trial.spec import bundled_trial_path, load_trial_spec, spec_from_mapping


def _bird() -> dict[str, Any]:
    data = yaml.safe_load(bundled_trial_path("bird").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        spec_from_mapping(data, source="bird.yaml")
    return str(info.value)


def test_bundled_bird_spec_states_the_registry_design() -> None:
    spec = load_trial_spec("bird")
    assert spec.trial.registration == "NCT04972760"
    assert spec.arm_names == ["baricitinib", "placebo"]
    assert spec.control_arm == "placebo"
    assert spec.allocation.ratio == [1, 1]
    assert spec.strata.names() == [
        "naive/methotrexate",
        "naive/azathioprine",
        "relapsing/methotrexate",
        "relapsing/azathioprine",
    ]
    primary = spec.primary
    assert (primary.kind, primary.visit, primary.tis_at_least) == ("tis", "week24", 40)
    assert spec.visit("week24").day == 168
    assert spec.visit("week24").window_before == spec.visit("week24").window_after == 7
    assert spec.prednisone_taper.zero_day == 112
    assert spec.prednisone_taper.dose_on(0) == 40
    assert spec.prednisone_taper.dose_on(90) == 2.5
    assert spec.simulation is not None and spec.simulation.patients == 62
    assert "non-responders" in spec.intercurrent_events.estimand


def test_hash_ignores_formatting_and_follows_values(tmp_path: Path) -> None:
    data = _bird()
    reformatted = tmp_path / "bird.yaml"
    reformatted.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    assert load_trial_spec(reformatted).sha256() == load_trial_spec("bird").sha256()
    changed = copy.deepcopy(data)
    changed["visits"][-1]["window_after"] = 10
    assert spec_from_mapping(changed).sha256() != load_trial_spec("bird").sha256()
    # a default written out explicitly is the same specification
    explicit = copy.deepcopy(data)
    explicit["visits"][1]["window_before"] = 7
    assert spec_from_mapping(explicit).sha256() == load_trial_spec("bird").sha256()


def test_a_taper_that_does_not_reach_zero_is_refused() -> None:
    data = _bird()
    data["prednisone_taper"]["steps"] = data["prednisone_taper"]["steps"][:-1]
    message = _error(data)
    assert "prednisone_taper" in message
    assert "does not reach zero: its last step gives 2.5 mg from day 84" in message
    assert "add a final step with dose_mg: 0" in message


def test_a_rising_taper_and_a_late_start_are_refused() -> None:
    data = _bird()
    data["prednisone_taper"]["steps"][2]["dose_mg"] = 35
    assert "a taper cannot rise: 35.0 mg from day 28" in _error(data)
    data = _bird()
    data["prednisone_taper"]["steps"][0]["from_day"] = 3
    assert "must start on day 0" in _error(data)


def test_errors_name_the_field_path_in_plain_words() -> None:
    data = _bird()
    data["visits"][2]["day"] = "eight weeks"
    data["analysis"]["primary_test"] = "anova"
    data["arms"][0]["colour"] = "blue"
    data["prednisone_taper"]["steps"][1]["dose_mg"] = -5
    message = _error(data)
    assert "4 problem(s)" in message
    assert "visits[2].day: 'eight weeks' must be a whole number" in message
    assert "analysis.primary_test: 'anova' must be one of 'cmh', 'fisher' or 'logistic'" in message
    assert "arms[0].colour: 'blue' unknown field" in message
    assert "prednisone_taper.steps[1].dose_mg: -5 must be at least 0" in message
    assert "Input should" not in message  # pydantic's wording is translated


def test_cross_field_problems_are_listed_one_per_line() -> None:
    data = _bird()
    data["endpoints"][0]["visit"] = "week26"
    data["visits"][2]["day"] = 35  # week4 (28 + 7) and week8 (35 - 7) overlap
    data["endpoints"][1]["primary"] = True
    message = _error(data)
    assert "endpoints[0].visit 'week26': not in the visit schedule" in message
    assert "visits 'week4' (day 28 + 7) and 'week8' (day 35 - 7): windows overlap" in message
    assert "mark exactly one endpoint as primary" in message


def test_wrong_version_and_missing_file_are_explained(tmp_path: Path) -> None:
    data = _bird()
    data["spec_version"] = 2
    assert "spec_version 2 is not supported" in _error(data)
    with pytest.raises(SpecError, match="no such trial specification file"):
        load_trial_spec(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("arms: [\n", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML at line"):
        load_trial_spec(broken)
