"""The registry integrity rules give the same verdict on DuckDB, PostgreSQL and Spark.

A registry breaking every rule (tests/registry/broken.py: a person twice, a person without an
id, rows of unknown persons, an exposure ending before it starts, dates before birth, an item
repeated within one administration, an administration shared by two persons, CDASI items of
1.5, 4 and NaN, an MMT-8 grade of 11, HAQ and CHAQ items outside 0-3 or 0/1) is loaded into
each engine with the registry's types; the problems, counted in the engine, must equal the
hand-worked counts and, offender by offender, DuckDB's. The CDASI item of 1.5 is the case that
scored 2 on DuckDB and 1 on Spark before the rules refused it.
"""

from __future__ import annotations

from pathlib import Path

from conformance.engines import Engine
from myositis.registry.death import records_after_death
from myositis.registry.integrity import integrity_problems
from registry.broken import BROKEN, BROKEN_SUMMARY, D, dx, lab, person, registry, tables


def _load(engine: Engine) -> None:
    for name, table in tables(**BROKEN).items():
        engine.load(name, table)


def test_the_same_problems_on_every_engine(engine: Engine, tmp_path: Path) -> None:
    _load(engine)
    found = integrity_problems(engine.scratch)
    assert [(p.rule, p.table, p.column, p.count) for p in found] == BROKEN_SUMMARY
    assert found == integrity_problems(registry(tmp_path / "duckdb.duckdb", **BROKEN))


#: Person 1 died on 2020-03-01: her CK of 2020-04-30 is 60 days after (not counted), that of
#: 2020-05-01 61 days (counted), her diagnosis of 2020-06-01 too; person 2 has no death.
AFTER_DEATH = {
    "person": [person(1), person(2)],
    "death": [{"person_id": 1, "death_date": D(2020, 3, 1)}],
    "diagnosis": [dx(1, D(2020, 6, 1))],
    "laboratory": [lab(1, D(2020, 4, 30)), lab(1, D(2020, 5, 1)), lab(2, D(2021, 1, 1))],
}


def test_records_after_a_death_are_counted_alike_on_every_engine(
    engine: Engine, tmp_path: Path
) -> None:
    """The records more than 60 days after a death (myositis.registry.death, the date plus 60
    days computed in each engine) are the same on DuckDB, PostgreSQL and Spark."""
    for name, table in tables(**AFTER_DEATH).items():
        engine.load(name, table)
    found = records_after_death(engine.scratch)
    assert [(f.table, f.column, f.rows, f.persons) for f in found] == [
        ("diagnosis", "diagnosis_date", 1, 1),
        ("laboratory", "result_date", 1, 1),
    ]
    on_duckdb = records_after_death(registry(tmp_path / "duckdb.duckdb", **AFTER_DEATH))
    assert [f.describe() for f in found] == [f.describe() for f in on_duckdb]
