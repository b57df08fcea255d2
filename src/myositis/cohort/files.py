"""Cohort files: a cohort of the cohort language as YAML, or an ATLAS cohort JSON read directly.

A YAML cohort file holds the fields of :class:`~myositis.cohort.language.Cohort` at its top
level (``label``, ``concept_sets``, ``entry``, ``inclusion``, ``exit``, ...) or under a
``cohort:`` key. A ``.json`` file with ``PrimaryCriteria`` is an ATLAS cohort expression,
translated by :mod:`myositis.cohort.atlas` (``docs/atlas.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from myositis.cohort.atlas import AtlasImport, is_atlas, read_atlas
from myositis.cohort.language import Cohort
from myositis.errors import SpecError


def cohort_yaml(cohort: Cohort, *, notes: list[str] | None = None, source: str = "") -> str:
    """The cohort as YAML (fields left at their defaults omitted), headed by comments naming
    its source and any notes."""
    data = cohort.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("label", cohort.label)
    if cohort.entry.observation is not None:  # spelt out: "{}" would hide the rule
        data["entry"]["observation"] = cohort.entry.observation.model_dump(mode="json")
    head = []
    if source:
        head.append(f"# Imported from {source} by myositis cohort import (docs/atlas.md).")
    head += [f"# note: {line}" for line in notes or []]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head + [body]) if head else body


def read_cohort_file(path: Path, *, any_record: bool = False) -> AtlasImport:
    """Read a cohort file: YAML of the cohort language, or ATLAS JSON (translated).

    ``any_record`` applies to ATLAS JSON only (see :func:`myositis.cohort.atlas.translate_atlas`).
    Raises :class:`SpecError` naming the file and the field at fault.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the cohort file ({exc})") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if is_atlas(data) or (isinstance(data, dict) and "expression" in data):
            return read_atlas(path, any_record=any_record)
    if any_record:
        raise SpecError(
            f"{path}: --any-record is for ATLAS JSON; in a cohort file leave out "
            "entry.observation instead"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if isinstance(data, dict) and set(data) == {"cohort"}:
        data = data["cohort"]
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a cohort (label, concept_sets, entry, ...)")
    try:
        return AtlasImport(Cohort.model_validate(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SpecError(f"{path}: {where}: {message}") from None


__all__ = ["cohort_yaml", "read_cohort_file"]
