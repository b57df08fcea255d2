"""Staged execution of a compiled cohort on server engines: each attrition line and the chosen
index events are materialised as temporary tables, in order, and the final query reads them.

Why. :func:`~myositis.cohort.compile.compile_cohort` gives one Ibis expression, which runs as
one query. In one query PostgreSQL plans every line from estimates of estimates: a shared
line becomes a CTE without statistics, a ``row_number() = 0`` filter is taken to keep 0.5% of
the rows, a ``person_id`` join between two CTEs to match 1/200 of the pairs. Measured on the
2-core test machine (4 December 2026, PostgreSQL 15, other jobs running):

- Eunomia GiBleed, ``celecoxib.json`` without the observation-period rule: the index events
  (1,844 rows) were estimated at 1 row, so PostgreSQL put the derived observation periods (a
  union of every domain's dates, grouped per person) on the inner side of a nested loop and
  computed them 1,844 times: 40 s instead of 1 s;
- the bundled study's cohort on a 100,000-person synthetic registry: the persons passing the
  diagnosis rule (491) were estimated at 16 million, the plan's cost passed the thresholds of
  PostgreSQL's JIT compilation with optimisation and inlining, and compiling the plan took
  2.5 s of a 3.2 s execution (11x the hand-written query).

Staging is OHDSI Circe's way (its generated SQL writes ``#qualified_events``,
``#inclusion_events`` and so on to temporary tables): each stage is a small query over the
stages before it, and PostgreSQL estimates a table it has never analysed from its size on disk,
which is right to within a small factor instead of orders of magnitude. Each stage is written
with Ibis (``create_table(..., temp=True)``: ``CREATE TEMPORARY TABLE ... AS`` the stage's
compiled query) and substituted for its expression in the later ones
(:meth:`ibis.common.graph.Node.replace`), so the compiled cohort itself stays one pure
expression (and can be cached) and the results are those of the one query.

Where. Only on the engines of :data:`STAGED_ENGINES`: DuckDB plans the one query well (its
estimates err the same way but its joins are hash joins whatever the estimate) and pays for
each extra statement, so it stays one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.cohort.compile import CompiledCohort

#: Ibis backend names whose cohorts run staged.
STAGED_ENGINES: Final = frozenset({"postgres"})


def stages(compiled: CompiledCohort) -> list[ir.Table]:
    """The expressions materialised, in order: every line after the registry's persons
    (``persons_with`` rules, then the entry events), the events read for the entry events'
    persons (each read by inclusion criteria or outcomes, often more than once: CDASI scored
    from its items is a large expression), the inclusion rules' lines, the chosen index
    events."""
    entry = len(compiled.cohort.persons_with) + 1
    lines = compiled.lines
    return [*lines[1 : entry + 1], *compiled.scoped, *lines[entry + 1 :], compiled.index]


def is_staged(con: BaseBackend) -> bool:
    """Whether cohorts run staged on ``con`` (its backend is in :data:`STAGED_ENGINES`)."""
    return con.name in STAGED_ENGINES


@contextmanager
def staged_result(
    con: BaseBackend, compiled: CompiledCohort, result: ir.Table | None = None
) -> Iterator[ir.Table]:
    """``result`` (an expression built on ``compiled``'s; ``compiled.result`` by default)
    reading the materialised stages on a staged engine, as it is elsewhere; the temporary
    tables are dropped on leaving the context."""
    final = compiled.result if result is None else result
    if not is_staged(con):
        yield final
        return
    with ExitStack() as stack:
        done: dict[object, object] = {}
        for table in stages(compiled):
            if table.op() in done:  # the same expression as an earlier stage
                continue
            name = ibis.util.gen_name("cohort_stage")
            staged = con.create_table(name, _substituted(table, done), temp=True)
            stack.callback(_drop, con, name)
            done[table.op()] = staged.op()
        yield _substituted(final, done)


def _drop(con: BaseBackend, name: str) -> None:
    """Drop the temporary table ``name`` (standard SQL: ibis 12's ``drop_table`` writes
    ``DROP TABLE`` without the name under sqlglot 30, as in registry/files.py)."""
    result = con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    if con.name == "postgres":  # a psycopg cursor (DuckDB returns its connection: kept open)
        result.close()


def _substituted(table: ir.Table, done: dict[object, object]) -> ir.Table:
    """``table`` with each expression of ``done`` (by its original node) replaced by its
    materialised table."""
    if not done:
        return table
    return table.op().replace(done).to_expr()


__all__ = ["STAGED_ENGINES", "is_staged", "staged_result", "stages"]
