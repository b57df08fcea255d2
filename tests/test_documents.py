"""YAML documents read and validated in plain words (myositis.documents): pydantic's own
phrasing ("Input should be greater than 0") never reaches a user."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_core._pydantic_core import list_all_errors

from myositis.documents import plain_message
from myositis.errors import SpecError
from myositis.study.spec import bundled_spec_path, load_spec, spec_from_mapping

#: Phrases of pydantic's messages (pydantic_core's error templates) that must not show.
PYDANTIC_WORDS = ("should", "Input should", "Field required", "Extra inputs", "Value error,",
                  "Assertion failed", "valid dictionary", "unable to parse")  # fmt: skip


@pytest.mark.parametrize("error", list_all_errors(), ids=lambda e: e["type"])
def test_no_pydantic_error_type_keeps_pydantic_words(error: dict[str, Any]) -> None:
    """Every error type pydantic-core can raise, with its own example message and context."""
    problem = {
        "type": error["type"],
        "msg": error["example_message_python"],
        "ctx": error.get("example_context"),
    }
    text = plain_message(problem)
    assert not [w for w in PYDANTIC_WORDS if w in text], text


def _leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    return [path]


BUNDLED = yaml.safe_load(bundled_spec_path().read_text(encoding="utf-8"))
WRONG = ("abc", -1, 1.5, 0, [], {"x": 1}, None, True, "2020-02-30")


@pytest.mark.parametrize("path", _leaves(BUNDLED), ids=".".join)
def test_every_field_of_the_study_specification_errs_in_plain_words(
    path: tuple[str, ...],
) -> None:
    """Each field of the bundled specification given each wrong kind of value: every problem
    named by its field path (or its parent's, for a rule across fields), in the package's
    words."""
    for wrong in WRONG:
        data = copy.deepcopy(BUNDLED)
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = wrong
        try:
            spec_from_mapping(data, source="s.yaml")
        except SpecError as exc:
            text = str(exc)
            named = [".".join(path[:i]) for i in range(len(path), 0, -1)]
            assert any(name in text for name in named), text  # the field, or its parent
            assert not [w for w in PYDANTIC_WORDS if w in text], text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty (or holds only comments); a study specification is a YAML "
              "mapping of 'key: value' lines"),
        (b"# only a comment\n", "the file is empty (or holds only comments)"),
        ("spec_version: 1\n".encode("utf-16"), "is not UTF-8 text (it looks like UTF-16"),
        ("# Étude\nspec_version: 1\n".encode("latin-1"), "it looks like Latin-1"),
    ],
    ids=["empty", "comments", "utf-16", "latin-1"],
)  # fmt: skip
def test_empty_and_non_utf8_specifications(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert "NoneType" not in str(info.value) and "codec" not in str(info.value)


def test_a_field_that_takes_one_window_or_a_list_is_named_as_written() -> None:
    """A criterion's ``start_window`` is one window or a list of them (a pydantic union): a
    problem inside it is reported at the field the user wrote, not at pydantic's name of the
    union member (``start_window.RelativeWindow.end``)."""
    from myositis.cohort.language import Cohort
    from myositis.documents import validate

    cohort = yaml.safe_load(
        (Path(__file__).parents[1] / "examples/cohorts/any_code.yaml").read_text(encoding="utf-8")
    )
    cohort["inclusion"][0]["criteria"][0]["start_window"] = {"start": 5, "end": -1}
    with pytest.raises(SpecError) as one:
        validate(Cohort, cohort, source="c.yaml", what="cohort", docs="docs")
    assert "inclusion[0].criteria[0].start_window: impossible window: start (5)" in str(one.value)
    cohort["inclusion"][0]["criteria"][0]["start_window"] = [{"start": 0}, {"start": 5, "end": -1}]
    with pytest.raises(SpecError) as listed:
        validate(Cohort, cohort, source="c.yaml", what="cohort", docs="docs")
    assert "inclusion[0].criteria[0].start_window[1]: impossible window" in str(listed.value)
    assert "RelativeWindow" not in str(one.value) + str(listed.value)
