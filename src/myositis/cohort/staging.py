"""Staged execution of a compiled cohort on PostgreSQL: each attrition line, the events read
for the entry events' persons and the chosen index events are written to temporary tables, in
order, and the final query reads them.

Why. :func:`~myositis.cohort.compile.compile_cohort` gives one Ibis expression, which runs as
one query. In one query PostgreSQL plans every line from estimates of estimates: a line read
twice becomes a CTE without statistics, a ``row_number() = 0`` filter is taken to keep 0.5% of
the rows, a ``person_id`` join of two CTEs to match 1/200 of the pairs. Measured on the 2-core
test machine (4 December 2026, PostgreSQL 15.20, other jobs running):

- Eunomia GiBleed read as OMOP, ``celecoxib.json`` with ``--any-record``: the index events
  (1,844 rows) were estimated at 1 row, so PostgreSQL put the derived observation periods (a
  union of every domain's dates grouped per person, and the semi-join of each domain with the
  persons) on the inner side of nested loops and computed them 1,844 times: 40 s instead of
  under 1 s (gi_bleed 5.9 s, diclofenac 12.9 s);
- the bundled study's cohort on a 100,000-person synthetic registry: the persons passing the
  diagnosis rule (491) were estimated at 16 million, the plan's cost passed the thresholds of
  PostgreSQL's JIT compilation with optimisation and inlining, and compiling the plan took
  2.5 s of a 3.2 s execution (5.0 s in all, 11x the hand-written query).

The options:

1. *Restructure the observation-period join* (derive per person once, equi-join before the
   date filter): judged from the plan, not built. Of that plan's 57 s, 11.6 s was a second
   nested loop inside the derived periods (the semi-join of the domain tables with the persons,
   rescanned 1,844 times), which a restructured join keeps; every inclusion criterion is a join
   of the same shape; and the 100,000-person case has no period join to mend. Writing the
   limit's filter as ``_pick < 1`` (estimated to keep a third, not 0.5%) was measured: Eunomia
   40 s -> 1.1 s, but the 100,000-person case 5.0 s -> 4.8 s; a patch over one estimate, not
   kept.
2. *Staging* (this module; OHDSI Circe's way: its generated SQL writes ``#qualified_events``,
   ``#inclusion_events`` ... to temporary tables): each stage is a small query over the stages
   before it, and PostgreSQL estimates a table it has never analysed from its size on disk,
   right to within a small factor. Eunomia, every cohort with and without ``--any-record``:
   0.7 to 1.7 s (load 2 to 4.5); the bundled study's cohort at 100,000 persons: 2.0 s (the
   hand-written query 0.4 to 0.7 s; the rest is mostly Ibis compiling each stage and one round
   trip per stage); no stage reaches the JIT thresholds. Chosen.
3. *Planner settings per session* (``jit``, ``enable_nestloop``): not needed once staged.

How. Each stage is written with Ibis (``create_table(name, expr, temp=True)``: ``CREATE
TEMPORARY TABLE`` and ``INSERT`` of the stage's compiled query; no SQL text here but the
``DROP`` of :func:`_drop`) and substituted for its expression in the later ones
(:meth:`ibis.common.graph.Node.replace`), so the compiled cohort stays one pure expression (it
can be cached and reused) and the rows are those of the one query (the conformance suite runs
every construct on PostgreSQL, staged, against the hand counts).

Where. Only on :data:`STAGED_ENGINES`. DuckDB runs the one query in 0.6 to 1.2 s on each
Eunomia cohort and 1.5 s at 100,000 persons (staged: 0.7 to 1.2 s and 1.3 s): nothing to mend,
so it stays one query. Spark local[2] on Eunomia: 6.5 to 15.5 s a cohort as one query, 8.4 to
13.2 s staged (ibis's cached DataFrames, :func:`_stage`): no clear gain, so it stays one query.
Where Spark's time went (benchmark R1 at 100,000 synthetic persons, 4 December 2026): adaptive
query execution rendering the whole plan after each stage, not the data; staged with cached
DataFrames it was no better (184 s, then out of heap: each cached stage's plan is printed
inside the next), so local sessions turn adaptive execution off instead
(:data:`myositis.registry.connect.SPARK_LOCAL_SETTINGS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Final

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis import BaseBackend
from ibis.common.graph import Node

from myositis.cohort.compile import CompiledCohort

#: Ibis backend names whose cohorts run staged (measured in the module docstring; :func:`_stage`
#: also knows Spark's way, "pyspark", measured and left out).
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
        done: dict[Node, Node] = {}
        for table in stages(compiled):
            if table.op() in done:  # the same expression as an earlier stage
                continue
            staged = _stage(con, _substituted(table, done), stack)
            done[table.op()] = staged.op()
        yield _substituted(final, done)


def _stage(con: BaseBackend, table: ir.Table, stack: ExitStack) -> ir.Table:
    """Materialise ``table``: a temporary table (Spark: a cached DataFrame, its temporary
    view), released when ``stack`` closes."""
    if con.name == "pyspark":  # no temporary tables there; ibis caches the DataFrame
        cached = table.cache()
        stack.callback(cached.release)
        return cached
    name = ibis.util.gen_name("cohort_stage")
    staged = con.create_table(name, table, temp=True)
    stack.callback(_drop, con, name)
    return staged


def _drop(con: BaseBackend, name: str) -> None:
    """Drop the temporary table ``name`` (standard SQL: ibis 12's ``drop_table`` writes
    ``DROP TABLE`` without the name under sqlglot 30, as in registry/files.py)."""
    result = con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
    if con.name == "postgres":  # a psycopg cursor (DuckDB returns its connection: kept open)
        result.close()


def _substituted(table: ir.Table, done: dict[Node, Node]) -> ir.Table:
    """``table`` with each expression of ``done`` (by its original node) replaced by its
    materialised table: the graph is rebuilt from the leaves up, as
    :meth:`ibis.common.graph.Node.replace` does, but without walking below a replaced node
    (the stages before it; CDASI scored from items is hundreds of nodes)."""
    root = table.op()
    if not done:
        return table
    order: list[Node] = []  # every node reachable without passing a replaced one, leaves first
    seen: set[Node] = set()
    todo: list[tuple[Node, bool]] = [(root, False)]
    while todo:
        node, children_done = todo.pop()
        if children_done:
            order.append(node)
        elif node not in seen and node not in done:
            seen.add(node)
            todo.append((node, True))
            todo.extend((child, False) for child in node.__children__)
    new = dict(done)
    for node in order:
        args = [_swap(arg, new) for arg in node.__args__]
        if any(a is not b for a, b in zip(args, node.__args__, strict=True)):
            new[node] = node.__recreate__(dict(zip(node.__argnames__, args, strict=True)))
    result = new.get(root, root)
    assert isinstance(result, ops.Relation)
    return result.to_expr()


def _swap(value: Any, new: dict[Node, Node]) -> Any:
    """``value`` (a node, or a tuple, list, frozenset or dict holding nodes: the argument of a
    node) with the nodes of ``new`` swapped in; ``value`` itself when none is."""
    if isinstance(value, Node):
        return new.get(value, value)
    if type(value) in (tuple, list, frozenset):
        items = [_swap(v, new) for v in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if isinstance(value, dict):
        pairs = [(_swap(k, new), _swap(v, new)) for k, v in value.items()]
        olds = value.items()
        changed = any(a is not c or b is not d for (a, b), (c, d) in zip(pairs, olds, strict=True))
        return dict(pairs) if changed else value
    return value


__all__ = ["STAGED_ENGINES", "is_staged", "staged_result", "stages"]
