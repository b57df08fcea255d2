"""The FHIR mapping file: what FHIR has no standard code for (instrument items and scores, the
DM subtype, the CTCAE grade) -> the registry's instrument and measure, subtype or grade.

The package ships the mapping of the project's own profile (``mapping.yaml`` beside this
module, documented in its comments and in ``docs/fhir.md``); ``--mapping FILE`` is read on top
of it: its entries are looked up first, so they override the defaults and add to them.
Every instrument, measure and subtype named is checked against the registry's
(``registry.schema.INSTRUMENTS``, the instruments' items and scores, ``DM_SUBTYPES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import yaml

from myositis.errors import SourceError
from myositis.registry.schema import DM_SUBTYPES, INSTRUMENTS
from myositis.sources.redcap.measures import measure_field

#: The mapping of the project's own profile, shipped with the package.
DEFAULT_MAPPING: Final = "mapping.yaml"
_SECTIONS: Final = ("measures", "questionnaires", "dm_subtypes", "ctcae_grade")


@dataclass
class Mapping:
    """The compiled lookups of one or more mapping files (the first file found wins)."""

    measure_codes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    measure_systems: dict[str, str] = field(default_factory=dict)
    questionnaires: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    subtype_codes: dict[tuple[str, str], str] = field(default_factory=dict)
    subtype_systems: set[str] = field(default_factory=set)
    grade_extensions: set[str] = field(default_factory=set)
    grade_systems: set[str] = field(default_factory=set)

    def measure(self, system: str | None, code: str | None) -> tuple[str, str] | None:
        """(instrument, measure) of an Observation coding, or None."""
        if system is None or code is None:
            return None
        found = self.measure_codes.get((system, code))
        if found:
            return found
        instrument = self.measure_systems.get(system)
        if instrument and measure_field(instrument, code) is not None:
            return instrument, code
        return None

    def questionnaire(self, url: str | None) -> tuple[str, dict[str, str]] | None:
        """(instrument, linkId renames) of a Questionnaire canonical URL (``|version`` left
        out), or None."""
        if not url:
            return None
        return self.questionnaires.get(url.split("|", 1)[0])

    def subtype(self, system: str | None, code: str | None) -> str | None:
        """The DM subtype of a Condition coding, or None."""
        if system is None or code is None:
            return None
        found = self.subtype_codes.get((system, code))
        if found:
            return found
        return code if system in self.subtype_systems and code in DM_SUBTYPES else None


def load_mapping(path: Path | None) -> Mapping:
    """The defaults of the project's profile, with the file at ``path`` (if any) on top."""
    mapping = Mapping()
    if path is not None:
        _add(mapping, _read(path), str(path))
    default = files("myositis.sources.fhir").joinpath(DEFAULT_MAPPING).read_text("utf-8")
    _add(mapping, yaml.safe_load(default), "the default FHIR mapping")
    return mapping


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"{path}: mapping file not found") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text; save the mapping file as UTF-8") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path}: a FHIR mapping is a YAML mapping with {', '.join(_SECTIONS)}")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise SourceError(
            f"{path}: unknown section(s) {', '.join(unknown)}; a FHIR mapping has "
            f"{', '.join(_SECTIONS)} (docs/fhir.md)"
        )
    return data


def _entries(data: dict[str, Any], section: str, where: str) -> list[dict[str, Any]]:
    entries = data.get(section) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceError(f"{where}: {section} must be a list of mappings (docs/fhir.md)")
    return entries


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if value is None or not str(value).strip():
        raise SourceError(f"{where}: entry {entry} needs {key!r}")
    return str(value).strip()


def _instrument(entry: dict[str, Any], where: str) -> str:
    instrument = _text(entry, "instrument", where)
    assert instrument is not None
    if instrument not in INSTRUMENTS:
        raise SourceError(
            f"{where}: instrument {instrument!r} is not one of the registry's "
            f"({', '.join(INSTRUMENTS)})"
        )
    return instrument


def _measure(instrument: str, measure: str, where: str) -> str:
    if measure_field(instrument, measure) is None:
        raise SourceError(
            f"{where}: {measure!r} is no item or score of {instrument} (item names: "
            "docs/instruments; CDASI: instruments/data/cdasi_items.csv)"
        )
    return measure


def _add(mapping: Mapping, data: dict[str, Any], where: str) -> None:
    for entry in _entries(data, "measures", where):
        system = _text(entry, "system", where)
        assert system is not None
        instrument = _instrument(entry, where)
        code = _text(entry, "code", where, required=False)
        if code is None:
            mapping.measure_systems.setdefault(system, instrument)
            continue
        measure = _measure(instrument, _text(entry, "measure", where) or "", where)
        mapping.measure_codes.setdefault((system, code), (instrument, measure))
    for entry in _entries(data, "questionnaires", where):
        url = _text(entry, "url", where)
        assert url is not None
        instrument = _instrument(entry, where)
        items = entry.get("items") or {}
        if not isinstance(items, dict):
            raise SourceError(f"{where}: items of {url} must map linkId: measure")
        renames = {str(k): _measure(instrument, str(v), where) for k, v in items.items()}
        mapping.questionnaires.setdefault(url, (instrument, renames))
    for entry in _entries(data, "dm_subtypes", where):
        system = _text(entry, "system", where)
        assert system is not None
        code = _text(entry, "code", where, required=False)
        if code is None:
            mapping.subtype_systems.add(system)
            continue
        subtype = _text(entry, "subtype", where)
        if subtype not in DM_SUBTYPES:
            raise SourceError(
                f"{where}: subtype {subtype!r} is not one of {', '.join(DM_SUBTYPES)}"
            )
        mapping.subtype_codes.setdefault((system, code), subtype)
    grade = data.get("ctcae_grade") or {}
    if not isinstance(grade, dict):
        raise SourceError(f"{where}: ctcae_grade has extensions and systems (lists of URIs)")
    mapping.grade_extensions.update(str(u) for u in grade.get("extensions") or [])
    mapping.grade_systems.update(str(u) for u in grade.get("systems") or [])


__all__ = ["DEFAULT_MAPPING", "Mapping", "load_mapping"]
