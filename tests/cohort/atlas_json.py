"""Pieces of ATLAS/Circe cohort JSON for the import tests, as ATLAS writes them."""

from __future__ import annotations

from typing import Any


def group(*criteria: dict[str, Any], kind: str = "ALL") -> dict[str, Any]:
    """A criteria group (an inclusion rule's expression, a CorrelatedCriteria): ``criteria``
    under ``kind`` (ALL, ANY, AT_LEAST, AT_MOST), no demographic criteria, no nested groups."""
    return {
        "Type": kind,
        "CriteriaList": list(criteria),
        "DemographicCriteriaList": [],
        "Groups": [],
    }


def inclusion_rule(name: str, *criteria: dict[str, Any]) -> dict[str, Any]:
    """An inclusion rule ``name``: all of ``criteria``."""
    return {"name": name, "expression": group(*criteria)}
