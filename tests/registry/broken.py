"""Hand-made registries for the integrity tests: one that breaks every rule once or twice, with
the problems it must give worked out by hand (shared with tests/conformance)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
from ibis import BaseBackend

from myositis.registry import append_arrow, arrow_schema, create_registry
from myositis.registry.schema import TABLES

D = dt.date
NAN = float("nan")


def tables(**rows: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """Every registry table as Arrow (empty unless rows are given; missing columns null)."""
    out = {}
    for name in TABLES:
        schema = arrow_schema(name)
        given = rows.get(name, [])
        out[name] = pa.Table.from_pylist(
            [{f.name: row.get(f.name) for f in schema} for row in given], schema=schema
        )
    return out


def registry(path: Path, **rows: list[dict[str, Any]]) -> BaseBackend:
    """A DuckDB registry file holding the given rows."""
    con = create_registry(path)
    for name, table in tables(**rows).items():
        if table.num_rows and name != "registry_metadata":
            append_arrow(con, name, table)
    return con


BORN = D(1970, 6, 15)


def person(pid: int | None, birth: dt.date | None = BORN, **extra: Any) -> dict[str, Any]:
    return {"person_id": pid, "site": "s1", "sex": "F", "birth_date": birth} | extra


def dx(pid: int | None, when: dt.date) -> dict[str, Any]:
    return {"person_id": pid, "code_system": "ICD10CM", "code": "M33.10", "diagnosis_date": when}


def exposure(
    eid: int | None, pid: int, start: dt.date, end: dt.date | None = None
) -> dict[str, Any]:
    return {
        "exposure_id": eid,
        "person_id": pid,
        "ingredient": "tofacitinib",
        "code_system": "RXNORM",
        "code": "1357536",
        "start_date": start,
        "end_date": end,
        "dose": 5.0,
        "dose_unit": "mg",
        "frequency": "BID",
        "formulation": "IR",
        "route": "oral",
    }


def item(
    aid: int, pid: int, instrument: str, measure: str, value: float | None, when: dt.date
) -> dict[str, Any]:
    return {
        "assessment_id": aid,
        "person_id": pid,
        "assessment_date": when,
        "instrument": instrument,
        "measure": measure,
        "value": value,
    }


def lab(pid: int, when: dt.date) -> dict[str, Any]:
    return {"person_id": pid, "test": "ck", "result_date": when, "value": 120.0, "uln": 190.0}


V1, V2 = D(2020, 1, 1), D(2020, 2, 1)

#: One registry breaking every rule (comments say which); the rest is valid.
BROKEN: dict[str, list[dict[str, Any]]] = {
    "person": [
        person(1),
        person(2, D(1980, 1, 1)),
        person(2, D(1985, 1, 1)),  # person 2 twice
        person(3, D(1990, 3, 1)),
        person(4, None, birth_year=1980),  # only the birth year is known
        person(None, D(1960, 1, 1)),  # no person_id
    ],
    "diagnosis": [
        dx(1, D(2019, 1, 1)),
        dx(98, D(2019, 1, 1)),  # no person 98
        dx(None, D(2019, 2, 1)),  # no person_id
        dx(4, D(1979, 12, 31)),  # the year before person 4's birth year
        dx(4, D(1980, 1, 1)),  # in the birth year: allowed
        dx(2, D(1982, 1, 1)),  # after the earlier of person 2's two births: allowed
        dx(2, D(1979, 6, 1)),  # before both: one row, counted once although person 2 is twice
    ],
    "dm_subtype": [
        {"person_id": 3, "subtype": "amyopathic", "classified_date": D(1990, 2, 28)},  # unborn
    ],
    "drug_exposure": [
        exposure(10, 1, D(2019, 1, 1), D(2019, 6, 1)),
        exposure(10, 3, D(2019, 2, 1)),  # exposure_id 10 twice
        exposure(11, 1, D(2020, 5, 1), D(2020, 4, 30)),  # ends the day before it starts
        exposure(12, 1, D(1970, 6, 14), D(1970, 7, 1)),  # starts the day before birth
        exposure(13, 99, D(2019, 1, 1)),  # no person 99
        exposure(None, 1, D(2019, 1, 1)),  # no exposure_id
    ],
    "assessment": [
        item(100, 1, "cdasi", "scalp_erythema", 1.5, V1),  # not a whole number
        item(100, 1, "cdasi", "malar_erythema", 4.0, V1),  # erythema is 0-3
        item(100, 1, "cdasi", "scalp_scale", 1.0, V1),
        item(100, 1, "cdasi", "scalp_scale", 2.0, V1),  # the same item twice in one visit
        item(100, 1, "cdasi", "periorbital_erythema", None, V1),  # blank: allowed
        item(100, 1, "cdasi", "activity", 140.0, V1),  # a derived score, not an item
        item(101, 1, "cdasi", "scalp_erythema", 1.0, V2),
        item(101, 3, "cdasi", "malar_erythema", 1.0, V2),  # one administration, two persons
        item(102, 3, "mmt8", "neck_flexors", 11.0, V1),  # Kendall grades are 0-10
        item(102, 3, "mmt8", "deltoid_right", 9.0, V1),
        item(103, 3, "HAQ", "dressing_grooming_1", -1.0, V1),  # HAQ items are 0-3
        item(103, 3, "HAQ", "arising_aid", 0.5, V1),  # aid is 0 or 1
        item(104, 4, "chaq", "grip_5", 3.0, V1),  # a CHAQ-only item, allowed
        item(104, 4, "chaq", "grip_aid", 2.0, V1),
        item(105, 1, "CDASI", "scalp_erythema", NAN, V2),  # not a number
    ],
    "laboratory": [lab(1, V1), lab(97, V1)],  # no person 97
    "adverse_event": [
        {"person_id": 1, "term": "herpes zoster", "onset_date": V1, "grade": 2, "serious": False}
    ],
}

#: (rule, table, column, rows or key values breaking it) for BROKEN, in report order.
BROKEN_SUMMARY: list[tuple[str, str, str, int]] = [
    ("missing_key", "person", "person_id", 1),
    ("repeated_key", "person", "person_id", 1),
    ("unknown_person", "diagnosis", "person_id", 2),
    ("before_birth", "diagnosis", "diagnosis_date", 2),
    ("before_birth", "dm_subtype", "classified_date", 1),
    ("missing_key", "drug_exposure", "exposure_id", 1),
    ("repeated_key", "drug_exposure", "exposure_id", 1),
    ("unknown_person", "drug_exposure", "person_id", 1),
    ("period", "drug_exposure", "end_date", 1),
    ("before_birth", "drug_exposure", "start_date", 1),
    ("repeated_key", "assessment", "assessment_id + measure", 1),
    ("shared_identifier", "assessment", "assessment_id", 1),
    ("item_value", "assessment", "value", 3),  # cdasi: 1.5, 4 and NaN ('CDASI' counts)
    ("item_value", "assessment", "value", 1),  # mmt8: 11
    ("item_value", "assessment", "value", 2),  # haq: -1 and 0.5
    ("item_value", "assessment", "value", 1),  # chaq: aid 2
    ("unknown_person", "laboratory", "person_id", 1),
]
