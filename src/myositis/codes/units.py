"""Laboratory units: each test has one canonical UCUM unit, and every accepted source unit a
factor to it (``data/lab_units.csv``, one row per test and unit, with its source).

Rule: canonical value = source value x factor. The enzyme unit U is 1 umol/min and the katal
1 mol/s (UCUM, unitsofmeasure.org), so 1 ukat/L = 60 U/L exactly; the clinical "IU/L" of enzyme
activity is the IUB (1964) unit, 1 umol/min, i.e. U/L. A unit not listed for the test is not
converted, and an importer rejects the value: it is never stored as if it were the canonical
unit. Spellings are normalised first (``IU/L`` -> ``[IU]/L``, ``µkat/L`` -> ``ukat/L``, case
of ``l``), so a source need not write UCUM exactly.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final

#: Common spellings of units -> their UCUM code (compared after stripping spaces).
_SPELLINGS: Final = {
    "iu/l": "[IU]/L",
    "[iu]/l": "[IU]/L",
    "u/l": "U/L",
    # OMOP's UCUM concept 8645 "unit per liter" has the code [U]/L (Athena), so an OMOP CDM
    # that records an enzyme in it gives that spelling
    "[u]/l": "U/L",
    "units/l": "U/L",
    "mu/ml": "mU/mL",
    "ukat/l": "ukat/L",
    "µkat/l": "ukat/L",  # micro sign, as laboratories write it
    "μkat/l": "ukat/L",  # Greek mu
    "nkat/l": "nkat/L",
}


@dataclass(frozen=True)
class UnitRule:
    """One accepted unit of one test: ``canonical value = value x factor``."""

    test: str
    loinc: str
    canonical_unit: str
    unit: str
    factor: float
    source: str
    status: str


@cache
def unit_rules() -> tuple[UnitRule, ...]:
    """Every row of ``data/lab_units.csv``."""
    text = files("myositis.codes").joinpath("data/lab_units.csv").read_text("utf-8")
    return tuple(
        UnitRule(
            test=r["test"],
            loinc=r["loinc"],
            canonical_unit=r["canonical_unit"],
            unit=r["unit"],
            factor=float(r["factor"]),
            source=r["source"],
            status=r["status"],
        )
        for r in csv.DictReader(text.splitlines())
    )


def lab_tests() -> dict[str, str]:
    """Test name -> its canonical UCUM unit."""
    return {r.test: r.canonical_unit for r in unit_rules()}


def lab_loinc() -> dict[str, str]:
    """Test name -> its LOINC code (CK 2157-6, ...)."""
    return {r.test: r.loinc for r in unit_rules()}


def ucum(unit: str) -> str:
    """A unit as its UCUM code where the spelling is a known variant; otherwise unchanged."""
    compact = unit.replace(" ", "")
    return _SPELLINGS.get(compact.lower(), compact)


def unit_spellings(test: str) -> dict[str, float]:
    """Every accepted spelling of a unit of ``test`` (lower case, no spaces) -> its factor to
    the canonical unit: the rule's UCUM codes and the known variants (``_SPELLINGS``), for
    engines that compare the spellings themselves (the OMOP views)."""
    factors = {r.unit: r.factor for r in unit_rules() if r.test == test}
    spellings = {unit.lower(): factor for unit, factor in factors.items()}
    for spelling, code in _SPELLINGS.items():
        if code in factors:
            spellings[spelling] = factors[code]
    return spellings


def unit_factor(test: str, unit: str) -> float | None:
    """The factor from ``unit`` to the canonical unit of ``test``; None when the unit is not
    accepted for the test (or the test is unknown)."""
    code = ucum(unit)
    for rule in unit_rules():
        if rule.test == test and rule.unit == code:
            return rule.factor
    return None


def accepted_units(test: str) -> list[str]:
    """The UCUM units accepted for ``test`` (for messages)."""
    return [r.unit for r in unit_rules() if r.test == test]


__all__ = [
    "UnitRule",
    "accepted_units",
    "lab_loinc",
    "lab_tests",
    "ucum",
    "unit_factor",
    "unit_rules",
    "unit_spellings",
]
