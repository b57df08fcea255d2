"""Cohort files: a cohort of the cohort language as YAML (read by
:func:`myositis.cohort.run.load_cohort`), or an ATLAS cohort JSON read directly: a ``.json``
file with ``PrimaryCriteria`` (or a WebAPI definition wrapping one under ``expression``) is
translated by :mod:`myositis.cohort.atlas` (``docs/atlas.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from myositis.cohort.atlas import AtlasImport, is_atlas, read_atlas
from myositis.cohort.language import Cohort
from myositis.cohort.run import load_cohort
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
    if not path.is_file():
        # said here, before the file's kind decides the reader: a missing ATLAS JSON was told
        # to give a YAML file, or that --any-record is for ATLAS JSON
        raise SpecError(
            f"{path}: no such cohort file; give the path of a cohort file (YAML of the cohort "
            "language, docs/cohort-language.md, or an ATLAS cohort JSON, docs/atlas.md)"
        )
    if path.suffix.lower() == ".json":
        return read_atlas(path, any_record=any_record)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if is_atlas(data):
        return read_atlas(path, any_record=any_record)
    if any_record:
        raise SpecError(
            f"{path}: --any-record is for ATLAS JSON; in a cohort file leave out "
            "entry.observation instead"
        )
    return AtlasImport(load_cohort(path))


__all__ = ["cohort_yaml", "read_cohort_file"]
