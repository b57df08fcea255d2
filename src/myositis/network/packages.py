"""Site packages: the one file format in which a site shares a study's aggregates.

A site runs the same study specification on its own data and shares only aggregates: counts
with their denominators, means with SDs and sizes, event counts with person-time. Cells below
the small-cell threshold (default 5, as OHDSI network studies) are suppressed
(:mod:`myositis.network.disclosure`) before anything leaves the site. The package is one JSON
file with a SHA-256 checksum over its canonical content; the format is documented in
``docs/evidence.md`` ("Site packages").

``write_site_package`` validates, suppresses and checksums; ``read_site_package`` verifies a
file; :mod:`myositis.network.combine` pools packages of one study.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from myositis import __version__
from myositis.errors import SitePackageError
from myositis.network.disclosure import DEFAULT_THRESHOLD, suppress

FORMAT = "myositis-site-package"
FORMAT_VERSION = 1
SECTIONS: dict[str, tuple[str, ...]] = {
    "counts": ("count", "denominator"),
    "means": ("mean", "sd", "n"),
    "rates": ("events", "person_time"),
}
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "counts": ("partition",),
    "means": (),
    "rates": ("persons",),
}
#: Optional fields that are values (and so can be suppressed), not labels.
_OPTIONAL_VALUES: dict[str, tuple[str, ...]] = {"counts": (), "means": (), "rates": ("persons",)}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
_PER_PERSON = re.compile(r"(patient|subject|person|participant|record|mrn|pid)[_\-.]?\d", re.I)
_SPEC_HASH = re.compile(r"^(sha256:)?[0-9a-f]{64}$")


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no whitespace, UTF-8) that the checksum covers."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def checksum(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a package without its ``checksum`` member."""
    body = {key: value for key, value in content.items() if key != "checksum"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def _whole(value: Any, where: str, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SitePackageError(f"{where}: expected a whole number, got {_kind(value)}")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise SitePackageError(f"{where}: expected a whole number, got {value!r}")
    number = int(value)
    if number < 0 or (positive and number == 0):
        raise SitePackageError(f"{where}: must be {'above' if positive else 'at least'} 0")
    return number


def _real(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SitePackageError(f"{where}: expected a number, got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise SitePackageError(f"{where}: expected a finite number, got {value!r}")
    return number


def _kind(value: Any) -> str:
    if isinstance(value, list | tuple | set | np.ndarray) or hasattr(value, "__array__"):
        return "a sequence of values, which looks row-level; share aggregates only"
    if isinstance(value, Mapping):
        return "a nested mapping, which is not one of the aggregate forms"
    return f"{type(value).__name__} {value!r}"


def _check_structure(aggregates: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Validate the aggregate mapping (see :func:`write_site_package`) and copy it."""
    if not isinstance(aggregates, Mapping):
        raise SitePackageError(
            f"aggregates must be a mapping of {', '.join(SECTIONS)}; got "
            f"{type(aggregates).__name__} (row-level tables cannot be written to a site package)"
        )
    unknown = [key for key in aggregates if key not in SECTIONS]
    if unknown:
        raise SitePackageError(
            f"unknown aggregate section(s) {unknown}; allowed: {', '.join(SECTIONS)}"
        )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    names: set[str] = set()
    for section, entries in aggregates.items():
        if not isinstance(entries, Mapping):
            raise SitePackageError(f"aggregates[{section!r}]: {_kind(entries)}")
        out[section] = {}
        for name, entry in entries.items():
            where = f"aggregates[{section!r}][{name!r}]"
            if not isinstance(name, str) or not _NAME.match(name):
                raise SitePackageError(
                    f"{where}: names are 1-64 letters, digits, '_', '.', '-', starting with a "
                    "letter"
                )
            if _PER_PERSON.search(name):
                raise SitePackageError(
                    f"{where}: the name looks like one person's record; share aggregates only"
                )
            if name in names:
                raise SitePackageError(f"{where}: the name is used in two sections")
            names.add(name)
            if not isinstance(entry, Mapping):
                raise SitePackageError(f"{where}: {_kind(entry)}")
            allowed = set(SECTIONS[section]) | set(OPTIONAL_FIELDS[section]) | {"suppressed"}
            extra = sorted(set(entry) - allowed)
            if extra:
                raise SitePackageError(
                    f"{where}: unexpected field(s) {extra}; a {section[:-1]} has "
                    f"{', '.join(SECTIONS[section])}"
                )
            missing = [f for f in SECTIONS[section] if f not in entry]
            if missing:
                raise SitePackageError(f"{where}: missing field(s) {missing}")
            out[section][name] = dict(entry)
    if not names:
        raise SitePackageError("aggregates are empty; there is nothing to share")
    return out


def _validate_values(section: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    where = f"aggregates[{section!r}][{name!r}]"
    suppressed = set(entry.get("suppressed", []))
    clean: dict[str, Any] = {}
    for field in SECTIONS[section]:
        value = entry[field]
        if value is None:
            if field not in suppressed:
                raise SitePackageError(f"{where}: {field} is empty but not marked suppressed")
            clean[field] = None
            continue
        label = f"{where}.{field}"
        if field in ("count", "denominator", "events"):
            clean[field] = _whole(value, label)
        elif field == "n":
            clean[field] = _whole(value, label, positive=True)
        elif field == "person_time":
            clean[field] = _real(value, label)
            if clean[field] <= 0:
                raise SitePackageError(f"{label}: person-time must be above 0")
        else:
            clean[field] = _real(value, label)
            if field == "sd" and clean[field] < 0:
                raise SitePackageError(f"{label}: an SD cannot be negative")
    if section == "counts":
        c, d = clean["count"], clean["denominator"]
        if c is not None and d is not None and c > d:
            raise SitePackageError(f"{where}: count {c} is larger than its denominator {d}")
        if "partition" in entry:
            if not isinstance(entry["partition"], str) or not _NAME.match(entry["partition"]):
                raise SitePackageError(f"{where}.partition: expected a name")
            clean["partition"] = entry["partition"]
    if section == "rates" and "persons" in entry:
        if entry["persons"] is None:
            if "persons" not in suppressed:
                raise SitePackageError(f"{where}: persons is empty but not marked suppressed")
            clean["persons"] = None
        else:
            clean["persons"] = _whole(entry["persons"], f"{where}.persons", positive=True)
    return clean


def write_site_package(
    aggregates: Mapping[str, Any],
    path: str | Path,
    *,
    spec_hash: str,
    site: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> Path:
    """Write one site's aggregates as a checksummed JSON package, suppressing small cells.

    ``aggregates`` is a mapping with up to three sections, each mapping a name (1-64 letters,
    digits, ``_ . -``, starting with a letter) to one aggregate::

        {
          "counts": {"responders_w24": {"count": 12, "denominator": 30},
                     "subtype_amyopathic": {"count": 3, "denominator": 30,
                                            "partition": "subtype"}},
          "means":  {"cdasi_change_w24": {"mean": -10.2, "sd": 7.1, "n": 28}},
          "rates":  {"herpes_zoster": {"events": 3, "person_time": 41.5}},
        }

    Counts, denominators, ``n`` and events are whole numbers >= 0 (``n`` > 0); ``sd`` >= 0;
    ``person_time`` > 0 (in the unit the study specifies, e.g. years). ``partition`` (optional)
    names a set of counts of disjoint categories sharing one denominator. A rate's optional
    ``persons`` (whole number > 0) is the number of persons whose time ``person_time`` sums.

    Suppression with threshold ``t`` (cells of 1 to t-1 are hidden; 0 is shown):

    - a count is hidden if it or its complement ``denominator - count`` is below ``t``; a
      denominator below ``t`` hides both;
    - in a partition, if exactly one count is hidden, the next smallest is hidden too;
    - a mean with ``n`` below ``t`` hides mean, SD and n;
    - a rate's events below ``t`` are hidden (person-time stays); a rate whose ``persons`` are
      below ``t`` hides events, person-time and persons (the person-time of one or a few
      persons is their time on treatment).

    Hidden values are written as ``null`` and listed in the entry's ``suppressed`` list.
    Anything that is not one of these aggregate forms (lists of values, data frames, nested
    tables, per-person names such as ``patient_12``) is refused with
    :class:`myositis.errors.SitePackageError`. ``spec_hash`` is the study specification's
    SHA-256 (64 lowercase hex digits, optionally prefixed ``sha256:``).
    """
    if not isinstance(spec_hash, str) or not _SPEC_HASH.match(spec_hash):
        raise SitePackageError(
            f"spec_hash must be a SHA-256 in hex (64 characters); got {spec_hash!r}"
        )
    if not isinstance(site, str) or not site.strip() or len(site) > 100:
        raise SitePackageError("site must be a non-empty name of at most 100 characters")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise SitePackageError(f"threshold must be a whole number of at least 1; got {threshold!r}")
    structure = _check_structure(aggregates)
    if any("suppressed" in entry for entries in structure.values() for entry in entries.values()):
        raise SitePackageError("pass raw aggregates; suppression is applied when writing")
    values = {
        section: {name: _validate_values(section, name, entry) for name, entry in entries.items()}
        for section, entries in structure.items()
    }
    content: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec_hash": spec_hash,
        "site": site.strip(),
        "software": {"name": "myositis-outcomes", "version": __version__},
        "small_cell_threshold": threshold,
        "aggregates": suppress(values, threshold),
    }
    content["checksum"] = {"algorithm": "sha256", "value": checksum(content)}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target


@dataclass(frozen=True)
class SitePackage:
    """A verified site package."""

    path: Path
    site: str
    spec_hash: str
    software_version: str
    threshold: int
    checksum: str
    aggregates: dict[str, dict[str, dict[str, Any]]]


def read_site_package(path: str | Path) -> SitePackage:
    """Read ``path`` and verify its format, checksum and aggregate content."""
    source = Path(path)
    try:
        content = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SitePackageError(f"{source}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SitePackageError(f"{source}: not a JSON site package ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise SitePackageError(f"{source}: not a {FORMAT} file")
    if content.get("format_version") != FORMAT_VERSION:
        raise SitePackageError(
            f"{source}: format version {content.get('format_version')!r}; this software reads "
            f"version {FORMAT_VERSION}"
        )
    stored = content.get("checksum")
    if not isinstance(stored, dict) or stored.get("algorithm") != "sha256":
        raise SitePackageError(f"{source}: the package has no SHA-256 checksum")
    actual = checksum(content)
    if stored.get("value") != actual:
        raise SitePackageError(
            f"{source}: checksum mismatch (stored {stored.get('value')!r}, content gives "
            f"{actual!r}); the file was changed or damaged after it was written"
        )
    for key in ("spec_hash", "site", "software", "small_cell_threshold", "aggregates"):
        if key not in content:
            raise SitePackageError(f"{source}: missing member {key!r}")
    try:
        structure = _check_structure(content["aggregates"])
        values = {
            section: {n: _validate_values(section, n, e) for n, e in entries.items()}
            for section, entries in structure.items()
        }
    except SitePackageError as exc:
        raise SitePackageError(f"{source}: {exc}") from exc
    for section, entries in structure.items():
        for name, entry in entries.items():
            marked = entry.get("suppressed", [])
            if not isinstance(marked, list) or any(
                f not in SECTIONS[section] + _OPTIONAL_VALUES[section]
                or entry.get(f, 0) is not None
                for f in marked
            ):
                raise SitePackageError(
                    f"{source}: aggregates[{section!r}][{name!r}]: the 'suppressed' list must "
                    "name fields whose values are null"
                )
            if marked:
                values[section][name]["suppressed"] = list(marked)
    threshold = content["small_cell_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise SitePackageError(f"{source}: small_cell_threshold must be a whole number >= 1")
    software = content["software"]
    return SitePackage(
        path=source,
        site=str(content["site"]),
        spec_hash=str(content["spec_hash"]),
        software_version=str(software.get("version", "")) if isinstance(software, dict) else "",
        threshold=threshold,
        checksum=actual,
        aggregates=values,
    )
