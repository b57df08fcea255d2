"""Code sets by role, loaded from ``data/codesets.csv``, and ICD code normalisation.

Roles (column ``role``):

- ``dm_diagnosis``: dermatomyositis (ICD-10-CM M33.0x/M33.1x/M33.9x, ICD-9-CM 710.3, SNOMED CT
  and OMOP concepts). The ``x3`` "without myopathy" ICD-10-CM codes carry ``valid_from``
  2022-10-01 (FY2023): records before that date cannot hold them.
- ``polymyositis``: M33.2x and ICD-9-CM 710.4, to exclude or mark (not DM).
- ``dm_neoplastic``: M36.0, dermato(poly)myositis in neoplastic disease; off by default.
- ``jak_inhibitor``: systemic JAK inhibitors (RxNorm, ATC before and from 2024, OMOP);
  ``display`` is the ingredient name.
- ``tyk2_inhibitor``: deucravacitinib, kept apart so that studies opt in.
- ``jak_topical_exclude``: topical ruxolitinib (ATC D11AH09), not systemic exposure.
- ``lab_ck``, ``lab_aldolase``: LOINC (and OMOP) codes of the muscle enzymes.

Source: /work/shared/reference/codes.md and the checks recorded per row.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final

from myositis.errors import InputProblem, InvalidInputError

#: Version of the shipped code sets; bump whenever a row of ``data/codesets.csv`` changes.
CODESET_VERSION: Final = "2026.1"
#: The ICD code systems: codes compared dotted or undotted (:func:`normalise_icd`).
ICD_SYSTEMS: Final = ("ICD10CM", "ICD9CM")

_STATUSES: Final = ("confirmed", "check")


@dataclass(frozen=True)
class Code:
    """One code of one code system, the role it plays and where it comes from."""

    system: str
    code: str
    display: str
    role: str
    source: str
    status: str
    valid_from: dt.date | None = None


def _read(name: str) -> list[dict[str, str]]:
    text = files("myositis.codes").joinpath(f"data/{name}").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def _all_codes() -> tuple[Code, ...]:
    codes = []
    for row in _read("codesets.csv"):
        if row["status"] not in _STATUSES:  # a broken data file is a bug, say where
            raise ValueError(f"codesets.csv: status {row['status']!r} for {row['code']}")
        code = row["code"]
        if row["system"] in ICD_SYSTEMS:
            code = normalise_icd(code, system=row["system"])
        valid_from = dt.date.fromisoformat(row["valid_from"]) if row["valid_from"] else None
        codes.append(
            Code(
                system=row["system"],
                code=code,
                display=row["display"],
                role=row["role"],
                source=row["source"],
                status=row["status"],
                valid_from=valid_from,
            )
        )
    return tuple(codes)


def roles() -> list[str]:
    """The roles the shipped code sets define, in file order."""
    return list(dict.fromkeys(c.role for c in _all_codes()))


def load_codeset(role: str) -> list[Code]:
    """Every code with the given role (see the module docstring for the roles).

    Raises :class:`InvalidInputError` for an unknown role, naming the known ones.
    """
    found = [c for c in _all_codes() if c.role == role]
    if not found:
        raise InvalidInputError(
            [InputProblem(None, "role", role, f"unknown role; known: {', '.join(roles())}")]
        )
    return found


def codes_by_system(codes: Iterable[Code]) -> dict[str, list[str]]:
    """Group codes as ``{system: [code, ...]}`` (for building ``isin`` filters)."""
    grouped: dict[str, list[str]] = {}
    for c in codes:
        grouped.setdefault(c.system, []).append(c.code)
    return grouped


def normalise_icd(code: str, system: str = "ICD10CM") -> str:
    """Canonical dotted form of an ICD-10-CM or ICD-9-CM code given dotted or undotted.

    Rule: upper-case, drop spaces and the dot, then put the dot after the category (the first
    three characters; four for ICD-9-CM E codes, E800-E999, which have a four-character
    category). A bare category (``M33``, ``710``) has no dot. ``M3310`` and ``m33.10`` both give
    ``M33.10``; ``7103`` gives ``710.3``.
    """
    text = code.strip().upper().replace(" ", "")
    bare = text.replace(".", "", 1)
    if not bare or not bare.isalnum() or len(bare) < 3 or text.count(".") > 1:
        example = "710.3 or 7103" if system == "ICD9CM" else "M33.10 or M3310"
        raise InvalidInputError(
            [InputProblem(None, "code", code, f"not an {system} code (expected e.g. {example})")]
        )
    head = 4 if system == "ICD9CM" and bare.startswith("E") else 3
    return bare if len(bare) <= head else f"{bare[:head]}.{bare[head:]}"
