"""Every construct of the cohort language gives the same members and attrition on DuckDB,
PostgreSQL and Spark: the hand-made registry of tests/cohort/language_cases.py (SYNTHETIC) is
loaded into each engine with the registry's types, each case runs there through the one
compiled query, and must give the hand-counted attrition and members.

A construct an engine cannot run would be declared here per engine with the exact error
expected (``GAPS``), as ibis's backend suite declares them; none is known today.
"""

from __future__ import annotations

import pytest

from cohort.language_cases import CASES, ROWS, SCORE_CASE
from conformance.engines import Engine
from myositis.cohort.language import Cohort
from myositis.cohort.run import run_cohort
from registry.broken import tables

#: (engine, case) -> (exception type, message) an engine is known to raise; none today.
GAPS: dict[tuple[str, str], tuple[type[Exception], str]] = {}


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    for name, table in tables(**ROWS).items():
        if name != "registry_metadata":
            engine.load(name, table)
    return engine


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_construct_gives_the_same_cohort_on_every_engine(loaded: Engine, case: str) -> None:
    mapping, remaining, members = CASES[case]
    cohort = Cohort.model_validate(mapping)
    gap = GAPS.get((loaded.name, case))
    if gap is not None:
        kind, message = gap
        with pytest.raises(kind, match=message):
            run_cohort(loaded.scratch, cohort)
        return
    run = run_cohort(loaded.scratch, cohort)
    assert [s.remaining for s in run.attrition] == remaining
    found = [(r["person_id"], r["index_date"], r["exit_date"]) for r in run.members.to_pylist()]
    assert found == members


def test_a_zero_uln_is_no_limit_on_every_engine(loaded: Engine) -> None:
    """A result whose ULN is 0 has no multiple of it (Circe: ``value_as_number /
    NULLIF(range_high, 0)``), on every engine: PostgreSQL stops a query that divides by zero.
    CK above 2 x ULN: 1 (900/200), 3 (500/200) and 8 (700/200); 8's ULN made 0 -> 1 and 3."""
    labs = [dict(r, uln=0.0) if r["person_id"] == 8 else r for r in ROWS["laboratory"]]
    loaded.load("laboratory", tables(laboratory=labs)["laboratory"])
    cohort = Cohort.model_validate(
        {"entry": {"events": [{"domain": "laboratory", "test": "ck", "times_uln": {"gt": 2}}]}}
    )
    run = run_cohort(loaded.scratch, cohort)
    assert sorted(r["person_id"] for r in run.members.to_pylist()) == [1, 3]


def test_a_zero_limit_of_a_measurement_range_is_no_limit_on_every_engine(loaded: Engine) -> None:
    """A measurement whose normal range has a limit of 0 has no multiple of it (Circe:
    ``value_as_number / NULLIF(range_low, 0)``), on every engine. Hemoglobin below its lower
    limit (times_lln < 1): 1 (8.5 / 12) and 3 (8.8 / 12, 11.0 / 12); 1's lower limit made 0
    -> 3 alone (8's 13.0 has no range at all)."""
    rows = [dict(r, range_low=0.0) if r["person_id"] == 1 else r for r in ROWS["measurement"]]
    loaded.load("measurement", tables(measurement=rows)["measurement"])
    cohort = Cohort.model_validate(
        {
            "concept_sets": {"hb": {"items": [{"system": "LOINC", "code": "718-7"}]}},
            "entry": {
                "events": [{"domain": "measurement", "concept_set": "hb", "times_lln": {"lt": 1}}]
            },
        }
    )
    run = run_cohort(loaded.scratch, cohort)
    assert sorted(r["person_id"] for r in run.members.to_pylist()) == [3]


def test_units_keep_the_measurements_of_those_units_on_every_engine(loaded: Engine) -> None:
    """``units``: the measurements whose unit is one of those UCUM codes, compared exactly, on
    every engine. The hemoglobins of ROWS are in g/dL but 8's without a number (no unit); 3's
    made mmol/L and 2's "g/dl" (not UCUM's g/dL): g/dL -> 1 and 8; mmol/L or g/dl -> 2 and 3;
    the registry tests' results have their canonical unit, so CK (LOINC 2157-6) in U/L -> its
    results' persons 1, 2, 3 and 8."""
    spelled = {2: "g/dl", 3: "mmol/L"}
    rows = [
        dict(r, unit=spelled.get(r["person_id"], r.get("unit")))
        if r["code"] == "718-7" and r.get("value") is not None
        else r
        for r in ROWS["measurement"]
    ]
    loaded.load("measurement", tables(measurement=rows)["measurement"])
    found = {}
    for code, units in (("718-7", ["g/dL"]), ("718-7", ["mmol/L", "g/dl"]), ("2157-6", ["U/L"])):
        cohort = Cohort.model_validate(
            {
                "concept_sets": {"set": {"items": [{"system": "LOINC", "code": code}]}},
                "entry": {
                    "events": [{"domain": "measurement", "concept_set": "set", "units": units}]
                },
            }
        )
        run = run_cohort(loaded.scratch, cohort)
        found[units[0]] = sorted(r["person_id"] for r in run.members.to_pylist())
    assert found == {"g/dL": [1, 8], "mmol/L": [2, 3], "U/L": [1, 2, 3, 8]}


def test_score_outcomes_give_the_same_values_on_every_engine(loaded: Engine) -> None:
    mapping, expected = SCORE_CASE
    run = run_cohort(loaded.scratch, Cohort.model_validate(mapping))
    rows = {r["person_id"]: r for r in run.members.to_pylist()}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 8]
    for person, columns in expected.items():
        assert {k: rows[person][k] for k in columns} == columns, person
