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
from myositis.registry.integrity import integrity_problems
from registry.broken import BROKEN, BROKEN_SUMMARY, registry, tables


def _load(engine: Engine) -> None:
    for name, table in tables(**BROKEN).items():
        engine.load(name, table)


def test_the_same_problems_on_every_engine(engine: Engine, tmp_path: Path) -> None:
    _load(engine)
    found = integrity_problems(engine.scratch)
    assert [(p.rule, p.table, p.column, p.count) for p in found] == BROKEN_SUMMARY
    assert found == integrity_problems(registry(tmp_path / "duckdb.duckdb", **BROKEN))
