"""The local concept mapping: which OMOP concept ids stand for what the standard vocabularies
have no concept for — CDASI and the other core set scores, the clinical DM subtypes, and
laboratory concepts without a LOINC code.

The file is YAML (``data/local_concepts.yaml`` holds the shipped defaults and documents the
form; ``docs/omop.md``, "Local concepts", has a worked example)::

    version: 1
    assessments: {2000001001: {instrument: cdasi, measure: activity}, ...}
    subtypes: {2000002001: amyopathic, ...}
    laboratory: {2000003001: ck}

Every concept id is an integer; instruments, subtypes and tests must be the registry's
(``schema.INSTRUMENTS``, ``schema.DM_SUBTYPES``, ``codes.units.lab_tests``). A bad file is
refused with the key and value at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from myositis.codes.units import lab_tests
from myositis.errors import RegistryError
from myositis.registry.schema import DM_SUBTYPES, INSTRUMENTS

#: The shipped defaults.
DEFAULT_MAPPING: Final = "local_concepts.yaml"


@dataclass(frozen=True)
class LocalConcepts:
    """concept_id -> (instrument, measure); concept_id -> subtype; concept_id -> lab test."""

    assessments: dict[int, tuple[str, str]]
    subtypes: dict[int, str]
    laboratory: dict[int, str]
    source: str


def load_mapping(path: Path | None = None) -> LocalConcepts:
    """Read a local concept mapping (None: the shipped defaults), checking every entry."""
    if path is None:
        text = resources.files(__package__).joinpath("data", DEFAULT_MAPPING).read_text("utf-8")
        where = f"the default mapping ({DEFAULT_MAPPING})"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{path}: cannot read the OMOP concept mapping ({exc})") from None
        where = str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RegistryError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{where}: expected a mapping with assessments, subtypes, laboratory")
    unknown = sorted(set(data) - {"version", "assessments", "subtypes", "laboratory"})
    if unknown:
        raise RegistryError(
            f"{where}: unknown section(s) {', '.join(unknown)}; allowed: version, assessments, "
            "subtypes, laboratory"
        )
    assessments = {}
    for concept, target in _section(data, "assessments", where).items():
        if not isinstance(target, dict) or set(target) != {"instrument", "measure"}:
            raise RegistryError(
                f"{where}: assessments, concept {concept}: give {{instrument: ..., measure: ...}}"
            )
        instrument = str(target["instrument"]).lower()
        _allowed(where, "assessments", concept, instrument, INSTRUMENTS)
        assessments[concept] = (instrument, str(target["measure"]))
    subtypes = {}
    for concept, subtype in _section(data, "subtypes", where).items():
        _allowed(where, "subtypes", concept, str(subtype), DM_SUBTYPES)
        subtypes[concept] = str(subtype)
    laboratory = {}
    for concept, test in _section(data, "laboratory", where).items():
        _allowed(where, "laboratory", concept, str(test), tuple(lab_tests()))
        laboratory[concept] = str(test)
    clash = set(assessments) & set(subtypes) | set(assessments) & set(laboratory)
    if clash:
        raise RegistryError(
            f"{where}: concept(s) {', '.join(map(str, sorted(clash)))} mapped twice; a concept "
            "means one thing"
        )
    return LocalConcepts(assessments, subtypes, laboratory, where)


def _section(data: dict[str, Any], name: str, where: str) -> dict[int, Any]:
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise RegistryError(f"{where}: {name} must map concept ids to values")
    out = {}
    for key, value in section.items():
        try:
            concept = int(key)
        except (TypeError, ValueError):
            raise RegistryError(
                f"{where}: {name}: {key!r} is not a concept id (an integer)"
            ) from None
        out[concept] = value
    return out


def _allowed(where: str, name: str, concept: int, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise RegistryError(
            f"{where}: {name}, concept {concept}: {value!r} is not one of {', '.join(allowed)}"
        )


__all__ = ["DEFAULT_MAPPING", "LocalConcepts", "load_mapping"]
