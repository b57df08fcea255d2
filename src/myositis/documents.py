"""YAML documents (study, cohort and trial specifications) read and validated with messages
for people: the file, the field path, the value and what is allowed, never a parser's or
pydantic's own wording.

One reader serves every specification so that an empty file, a file in another encoding, a
YAML syntax error or an out-of-range value reads the same everywhere.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from myositis.errors import MyositisError, SpecError
from myositis.tables import not_utf8

Model = TypeVar("Model")


def read_yaml(path: Path, *, what: str, error: type[MyositisError] = SpecError) -> Any:
    """Parse a YAML file; raise ``error`` naming the file (and the line of a syntax error)."""
    import yaml

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory; give the {what} file (YAML)") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_utf8(path, raw, error=error) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: not valid YAML{where}: {problem}") from None


def validate(
    model: type[Model],
    data: Any,
    *,
    source: str,
    what: str,
    docs: str,
    error: type[MyositisError] = SpecError,
) -> Model:
    """Validate parsed YAML against a pydantic ``model``; raise ``error`` listing every problem
    with its field path, its value and what is allowed, in plain words."""
    from pydantic import BaseModel, ValidationError

    assert issubclass(model, BaseModel)
    if data is None:
        raise error(
            f"{source}: the file is empty (or holds only comments); a {what} is a YAML mapping "
            f"of 'key: value' lines ({docs})"
        )
    if not isinstance(data, dict):
        raise error(
            f"{source}: a {what} is a YAML mapping of 'key: value' lines, but the file holds "
            f"{_kind(data)} ({docs})"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for problem in exc.errors():
            where = location(problem["loc"])
            value = problem.get("input")
            shown = "" if problem["type"] == "missing" or isinstance(value, dict) else f" {value!r}"
            lines.append(f"  - {where}:{shown} {plain_message(problem)}")
        raise error(
            f"{source}: the {what} is not valid ({len(lines)} problem(s)):\n"
            + "\n".join(lines)
            + f"\nFix these fields and run again; {docs} documents every field."
        ) from None


def _kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return f"only the text {data[:40]!r}"
    return f"only the value {data!r}"


def location(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a field path: ``cohort.baseline.window_days.start``. The
    member of a union a problem belongs to (pydantic names it by its model, ``RelativeWindow``
    or ``list[RelativeWindow]``) is left out: a user wrote a field, not a model."""
    parts: list[str] = []
    models = _model_names()
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith("function-") or item.removeprefix("list[").rstrip("]") in models:
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _model_names() -> frozenset[str]:
    """The class names of this package's pydantic models (the tags of union members), looked
    up when a problem is reported (not cached: a model imported later would be missed)."""
    from pydantic import BaseModel

    names: set[str] = set()
    pending = list(BaseModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("myositis."):
            names.add(cls.__name__)
    return frozenset(names)


#: Plain words for pydantic's error types; ``{...}`` are the error's context values.
_WORDS: dict[str, str] = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "required field is missing",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be {ge} or more",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be {le} or less",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "list_type": "must be a list (lines starting with '- ', or [a, b])",
    "dict_type": "must be a mapping of 'key: value' lines",
    "model_type": "must be a mapping of 'key: value' lines",
    "model_attributes_type": "must be a mapping of 'key: value' lines",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "string_pattern_mismatch": "does not have the required form (pattern {pattern})",
    "string_too_short": "must have at least {min_length} character(s)",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "finite_number": "must be a finite number",
    "int_parsing_size": "must be a whole number of at most 19 digits",
    "multiple_of": "must be a multiple of {multiple_of}",
    "string_too_long": "must have at most {max_length} character(s)",
    "none_required": "must be left empty",
    "date_type": "must be a date as YYYY-MM-DD",
    "date_parsing": "must be a date as YYYY-MM-DD that exists",
    "date_from_datetime_parsing": "must be a date as YYYY-MM-DD that exists",
    "date_from_datetime_inexact": "must be a date without a time of day",
    "datetime_type": "must be a date and time (YYYY-MM-DDTHH:MM)",
    "datetime_parsing": "must be a date and time (YYYY-MM-DDTHH:MM) that exists",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "set_type": "must be a list of different values",
    "tuple_type": "must be a list (lines starting with '- ', or [a, b])",
    "union_tag_invalid": "'{tag}' is not one of {expected_tags}",
}

#: pydantic's phrasing of the error types not listed above, in the same plain words.
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"^Value error, |^Assertion failed, ", ""),
    (r"^Field required$", "required field is missing"),
    (r"^Extra inputs are not permitted$", "unknown field (check the spelling)"),
    (r"^(?:[A-Z][A-Za-z]*(?: input)?|Datetimes provided to dates) should( not)?", r"must\1"),
    (r" should ", " must "),
    (r", unable to (?:parse|interpret) .*$", ""),
    (r"a valid ", "a "),
)


def plain_message(problem: Mapping[str, Any]) -> str:
    """One validation problem (an item of pydantic's ``ValidationError.errors()``) in plain
    words: never pydantic's own phrasing ("Input should be ..."); a model's own ValueError
    text is kept. Used for every pydantic model the package validates, and by the command
    line for option values (typer checks them with pydantic)."""
    kind = str(problem["type"])
    words = _WORDS.get(kind)
    if words is not None:
        context = {k: _shown(v) for k, v in dict(problem.get("ctx") or {}).items()}
        with contextlib.suppress(KeyError, IndexError):
            return words.format(**context)
    text = str(problem["msg"])
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    return text


def _shown(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


__all__ = ["location", "plain_message", "read_yaml", "validate"]
