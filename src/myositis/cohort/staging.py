"""Staged execution of a compiled cohort on PostgreSQL and Spark: each attrition line, the
events read for the entry events' persons and the chosen index events are written to temporary
tables (Spark: rows collected into a local session's driver, or local checkpoints on a
cluster), in order, and the final query reads them.

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
   hand-written query 0.4 to 0.7 s; the rest was mostly Ibis compiling each stage: see "Speed"
   below); no stage reaches the JIT thresholds. Chosen.
3. *Planner settings per session* (``jit``, ``enable_nestloop``): not needed once staged.

How. Each stage's expression is compiled by Ibis, with the stages before it substituted by
their temporary tables (:func:`_substituted`, as :meth:`ibis.common.graph.Node.replace`), so
the compiled cohort stays one pure expression and the rows are those of the one query (the
conformance suite runs every construct on PostgreSQL, staged, against the hand counts). The
only SQL written here is the statement around each compiled text: ``CREATE TEMPORARY TABLE
... AS``, ``ANALYZE``, a ``CREATE TEMPORARY VIEW`` of each final query and the ``DROP`` s.
A run has one final query (a cohort's ``result``) or several (the study builder's head and
each kind of record, :mod:`myositis.cohort.build`), all kept with the plan.

Speed of the staged run (issue 13 item 4; 4 December 2026, the 2-core test machine shared with
other jobs, PostgreSQL 15.20; ``benchmarks/bench_cohort.py --sizes 100000 --engines postgres
--cohorts r1 r2 --runs 3``, the builder's warm median). Before: R1 4.03 s against the
hand-written query's 1.70 s (2.4x), R2 7.50 s against 2.26 s (3.3x), load 5 to 8. Measured
stage by stage (``EXPLAIN ANALYZE``), the stages' plans were sound (hash joins, estimates
within a small factor) and the engine's time was that of the hand-written query, which makes
the same scans (a code filter over every diagnosis or drug exposure row: 0.2 to 0.6 s each);
the rest was ours:

- *Ibis each run*: building the expressions (0.4 to 0.8 s) and compiling each stage (0.5 to
  0.9 s a run, and ibis's ``create_table`` compiled each stage again). Now the SQL of every
  stage is kept with the plan (:func:`staged_plan`, :mod:`myositis.cohort.plans`, keyed as the
  one query's plan): a warm run executes the texts (compile step 0.03 to 0.07 s);
- *no parallel workers*: ibis's ``create_table`` is ``CREATE TABLE`` then ``INSERT ...
  SELECT``, and PostgreSQL plans no parallel query for an ``INSERT``; ``CREATE TABLE ... AS``
  gets them (R2's stages 8.0 to 8.7 s -> 4.0 to 5.4 s together with the compile saved,
  alternated runs at load 6 to 7). Each column is cast to Ibis's type (:func:`_filling`), so
  the table has the types ibis's declared table had;
- *the final query through* ``con.sql`` would have Ibis parse and re-write its text on each
  execution; a temporary view of the text is read instead.

After, measured right after the code before it (``MYOSITIS_PLAN_CACHE=memory``, so *cold*
compiles; load 4.8 to 6.4 over both): R1 warm 4.50 -> 2.17 s against the hand-written
query's 2.60 and 2.06 s (1.7x -> 1.1x), R2 9.50 -> 3.34 s against 2.57 and 2.67 s (3.7x ->
1.3x; R2's CDASI is now scored once, :mod:`myositis.cohort.compile`). Cold (the first run of a
process, building and compiling every stage): R1 1.5x -> 1.3x, R2 3.4x -> 2.6x. The ratios
move with the load: a later run (merged with the study builder's change, load 5.0 to 5.5) gave
warm R1 1.4x and R2 1.9x, cold 2.0x and 3.1x (compile 1.3 and 2.2 s), second process 1.9x
both (the first run of a process reading the plans from disk: not studied). Left open:
R2 reads the DM codes twice (its person rule over every person, its entry over those
passing), the hand-written query once.

The study builder (:mod:`myositis.cohort.build`: the cohort's stages, then the members, the
entry persons' CDASI scores and the members' baseline and follow-up, then a query for the
head and one per kind of record) was staged without a plan until 4 December 2026: each run
built its expressions and compiled every stage and final query. Its plan now keeps them all
(:class:`StagedQuery`; the final queries after the first in ``Plan.more``), each kind of
record is fetched with its own columns only (psycopg reads PostgreSQL's rows value by value;
the other kinds' columns were all null), and the CDASI scores are staged before the cohort's
scoped CDASI events, which select from them (:func:`_in_order`; scored twice before). Measured
(4 December 2026, PostgreSQL 15.20, the bundled study at 100,000 synthetic persons,
``study_cohort`` 1 cold and 3 warm runs per process, the code before and after alternated,
load 2.6 to 3.0): warm 3.48 and 3.58 s -> 1.95 and 2.13 s against the hand-written query's
0.52 to 0.59 s (6.3-6.4x -> 3.3-4.1x); cold 3.59 s -> 2.64 and 2.77 s; a new process with
the plan on disk 2.04 s. Of a warm run, the stages take about 1.6 s (persons with the
diagnosis 0.42 s, the members' index exposure and first diagnosis 0.52 s, CDASI scores 0.23 s,
entry 0.17 s), the head and the records the rest. Since then the members' first diagnosis
reads the diagnosis events the cohort's first rule read for every person, staged first, so
the DM code filter runs over the diagnosis rows once, not twice (alternated warm runs, 100,000
persons, load 0.8 to 1.0: 1.67 and 1.70 s -> 1.30 and 1.32 s; the same ``CohortResult``).
Spark local[2] on examples/min2022 (load 4): warm 13.8 to 15.8 s -> 11.1 to 11.9 s, cold 32
-> 29 s.

Then (5 December 2026; 100,000 persons, statement by statement): the stages were the engine
filtering whole tables, each once per reader. The study's JAK filter ran three times (entry
0.17 s, index exposure 0.17 s, the JAK records 0.21 s, and in the head's count of undated
exposures); the members' index exposure, JAK records and undated count now read the entry's
own exposure rows (:func:`~myositis.cohort.events.exposure_rows`), staged before the entry.
R2 matched its DM codes for its person rule and again for its entry events; the entry now
reads the rule's rows (``CompiledCohort.reread``, staged first). A code filter normalised the
code system once per system of the concept set (PostgreSQL does not share a repeated
expression: 0.33 s over 262,000 diagnoses); it is now one ``CASE`` on the system
(:func:`~myositis.cohort.concepts.matches`). Alternated warm runs, the same results: the study
1.32-1.37 -> 0.79-0.83 s, R1 0.75 -> 0.60 s, R2 1.28-1.36 -> 1.03 s. ``registry copy`` now
indexes each PostgreSQL table on ``person_id`` (as the OMOP CDM's DDL), so a stage that reads
a few persons' records (their CDASI items, their therapies) uses the index: at 1 million
persons R1 6.1 -> 1.5 s (its hand-written query 7.6 -> 1.9 s), the study 7.8 -> 6.0 s (5.8
-> 5.4 s), R2 8.8 -> 6.4 s (10.5 -> 8.4 s). Left open: the head's data cutoff reads the maxima
of six tables, and each kind of record is a query of its own (on Spark each a job: 0.14 to
0.5 s; read as one union query instead they took 3.3 s against 3.0 s, so they stay apart;
submitted together since, :func:`fetch_all`, 2.5 s, against 2.8 s as one row with a list per
kind, the form DuckDB reads: Spark local[2], 100,000 persons, 5 December 2026).

``ANALYZE`` of each stage (:data:`ANALYSED`; PostgreSQL never auto-analyses a temporary
table): R1 and R2 unchanged (alternated warm runs, medians 2.27 against 2.05 s and 3.97
against 3.89 s, load 4 to 5: their plans were already sound), but it mends the known gap of
cohorts with TIS or DOI outcomes: their staged final query (the conformance suite's score
case, 8 persons) ran for minutes and took 7 GB without it (reproduced: 4 minutes, 7.3 GB,
then stopped), 12 to 17 s with it, as the one query. They are staged like every cohort now.
*JIT*: the costliest plan of R1's and R2's stages is estimated at 43,000, under PostgreSQL's
``jit_above_cost`` (100,000), so ``jit`` is left as it is (not measured on the score case).

Where. Only on :data:`STAGED_ENGINES`. DuckDB runs the one query in 0.6 to 1.2 s on each
Eunomia cohort and 1.5 s at 100,000 persons (staged: 0.7 to 1.2 s and 1.3 s): nothing to mend,
so it stays one query. Spark: the study builder's query (:mod:`myositis.cohort.build`: the
cohort, then each member's records) ran out of the analyser's 1 GB heap as one statement even
for the 11 persons of examples/min2022, so it was staged first, each stage a local checkpoint
(rows only, no plan) of the kept texts. Cohorts were left as one query there, since staged as
ibis's cached DataFrames they gained nothing (Eunomia: 6.5 to 15.5 s a cohort as one query,
8.4 to 13.2 s staged; benchmark R1 at 100,000 persons 184 s, then out of heap: each cached
stage's plan is printed inside the next), until the checkpoints: R1 21.3 -> 5.7 s warm (cold
32.0 -> 12.0 s), R2 74.8 -> 8.3 s (cold 97.0 -> 17.3 s), the same members (Spark local[2],
100,000 synthetic persons, 4 December 2026; the hand-written Spark SQL took 17.2 and 29.8 s
in the benchmark). Local sessions also turn adaptive query execution off
(:data:`myositis.registry.connect.SPARK_LOCAL_SETTINGS`): it rendered the whole plan after each
stage.

A local Spark session's stages are collected into the driver since 6 December 2026
(:func:`spark_stages_in_driver`): each stage's rows as Arrow, then a DataFrame of them, a local
relation whose size Spark knows. Spark estimates a local checkpoint's size from the plan that
made it, without cost-based statistics the size of the tables it scanned, so a stage's joins
with the stages before it were sort-merge joins, each shuffling both sides; a local relation of
a few thousand rows is joined by broadcast instead (the study's CDASI scores: 4 broadcast hash
joins; the last stage 7 broadcast and 4 sort-merge joins, Spark's estimate of a join being the
product of its sides). In a local session the driver and the executors are one JVM, so the rows
are held there either way. Measured (the bundled study, Spark local[2], an Intel Xeon machine
with 2 cores, the two ways alternated in one warm process): 100,000 synthetic persons, medians of
4, 6.18 -> 5.43 s (the hand-written query 3.2 to 4.1 s); 1 million persons, the later two of
3 rounds, 14.0 and 16.2 s -> 12.4 and 13.2 s, the same ``CohortResult``. Adaptive query
execution on as well: 6.41 against 5.57 s (the hand-written query 3.93 against 3.61 s), so it
stays off. A cluster's stages (or a Spark Connect session's) stay local checkpoints on its
executors: a stage of a large cohort collected into one driver could exceed its memory.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
from ibis import BaseBackend
from ibis.common.graph import Node

from myositis.cohort import plans
from myositis.cohort.compile import CompiledCohort

#: Ibis backend names whose cohorts, and the study builder's query, run staged (measured in
#: the module docstring): PostgreSQL (temporary tables) and Spark (local relations or local
#: checkpoints, :func:`spark_stages_in_driver`).
STAGED_ENGINES: Final = frozenset({"postgres", "pyspark"})
#: Engines whose stages are analysed once written (PostgreSQL never auto-analyses a temporary
#: table: without it the planner guesses each column's distinct values and selectivity).
ANALYSED: frozenset[str] = frozenset({"postgres"})


def stages(compiled: CompiledCohort) -> list[ir.Table]:
    """The expressions materialised, in order: the events read for every person that a later
    line reads again (``CompiledCohort.reread``), every line after the registry's persons
    (``persons_with`` rules, then the entry events), the events read for the entry events'
    persons (each read by inclusion criteria or outcomes, often more than once: CDASI scored
    from its items is a large expression), the inclusion rules' lines, the chosen index
    events."""
    entry = len(compiled.cohort.persons_with) + 1
    lines = compiled.lines
    return [
        *compiled.reread,
        *lines[1 : entry + 1],
        *compiled.scoped,
        *lines[entry + 1 :],
        compiled.index,
    ]


def is_staged(con: BaseBackend) -> bool:
    """Whether cohorts run staged on ``con``: its backend is in :data:`STAGED_ENGINES`."""
    return con.name in STAGED_ENGINES


@dataclass(frozen=True)
class StagedQuery:
    """What a staged run computes (:func:`staged_plan`): the compiled cohort whose lines are
    staged (:func:`stages`), the final queries built on it (``compiled.result``, or the study
    builder's head and each kind of record), JSON values to keep with the plan, and further
    expressions the final queries read, each staged right after the last stage it reads
    (:func:`_in_order`)."""

    compiled: CompiledCohort
    finals: Sequence[ir.Table]
    extra: dict[str, Any]
    also: Sequence[ir.Table] = ()


def staged_plan(
    con: BaseBackend, parts: Mapping[str, str], build: Callable[[], StagedQuery]
) -> tuple[plans.Plan, str]:
    """The staged run of ``parts`` on ``con`` as a plan (:mod:`myositis.cohort.plans`): the
    SQL of each stage and of each final query (the first is the plan's ``sql``, the others
    its ``more``), and where it came from (``memory``, ``disk``, ``compiled`` or
    ``uncached``, as :func:`~myositis.cohort.plans.planned`). ``build`` is called only when
    no valid plan is kept, so a warm run neither builds nor compiles. Run the plan with
    :func:`run_staged`."""
    key = plans.plan_key(con, {**parts, "staged": "temporary tables"}) if plans.enabled() else None
    found = plans.lookup(con, key) if key else None
    if found is not None:
        return found
    query = build()
    done: dict[Node, Node] = {}
    texts: list[tuple[str, str]] = []
    reads: list[ir.Table] = []
    for table in _in_order(query.compiled, query.also):
        if table.op() in done:  # the same expression as an earlier stage
            continue
        substituted = _substituted(table, done)
        name = ibis.util.gen_name("cohort_stage")
        texts.append((name, _filling(con, substituted)))
        reads.append(substituted)
        done[table.op()] = _named(con, name, substituted.schema())
    finals = [_substituted(final, done) for final in query.finals]
    sqls = [str(con.compile(final)) for final in finals]
    first, *others = query.finals
    more = list(zip(others, sqls[1:], strict=True))
    plan = plans.plan_of(first, sqls[0], query.extra, texts, more)
    if key is None or not all(plans.cacheable(t) for t in (*query.finals, *reads)):
        _register_memtables(con, [*reads, *finals])
        return plan, "uncached"
    plans.keep(key, plan)
    return plan, "compiled"


def _in_order(compiled: CompiledCohort, also: Sequence[ir.Table]) -> list[ir.Table]:
    """The cohort's stages (:func:`stages`) and each of ``also`` right after the last stage it
    reads, so a later stage that reads it reads its table: the study builder's CDASI scores
    of the entry events' persons come before the cohort's scoped CDASI events, which select
    from them (PostgreSQL scored CDASI twice otherwise: 0.3 and 0.2 s at 100,000 persons)."""
    order = list(stages(compiled))
    for table in also:
        reached = set(table.op().find(ops.Relation))
        after = max((k for k, t in enumerate(order) if t.op() in reached), default=-1)
        order.insert(after + 1, table)
    return order


@contextmanager
def run_staged(con: BaseBackend, plan: plans.Plan) -> Iterator[list[ir.Table]]:
    """Run the stages of ``plan`` (from :func:`staged_plan`), each into a temporary table of
    ``con`` (Spark: a temporary view, :func:`_create`), and yield its final queries (its
    ``sql``, then each of ``more``) as Ibis tables reading them: each a temporary view of the
    text (``con.sql`` would have Ibis parse and rewrite the text on each execution); on Spark
    a node holding the text, which :func:`fetch_all` runs as it is (a view there was two more
    statements per query: the bundled study's warm run 6.2 against 6.8 s, Spark local[2],
    100,000 synthetic persons, medians of 4 alternated runs, 6 December 2026). The
    tables and views are dropped on leaving the context. Each run names its tables afresh (the
    plan's names replaced in the texts), so runs on one connection do not meet."""
    with ExitStack() as stack:
        names: dict[str, str] = {}
        for kept, text in plan.stages:
            name = ibis.util.gen_name("cohort_stage")
            names[kept] = name
            _create(con, name, _renamed(con, text, names), stack)
        results = []
        for text, schema in [(plan.sql, plan.schema), *plan.more]:
            if con.name == "pyspark":
                # read with Spark's own session.sql by fetch_all, which takes the text from
                # the node: no view to create and drop (two statements per final query)
                final = ops.SQLQueryResult(_renamed(con, text, names), ibis.schema(schema), con)
                results.append(final.to_expr())
                continue
            view = ibis.util.gen_name("cohort_result")
            quoted = sg.to_identifier(view, quoted=True).sql(con.dialect)
            _execute(con, f"CREATE TEMPORARY VIEW {quoted} AS {_renamed(con, text, names)}")
            stack.callback(_execute, con, f"DROP VIEW IF EXISTS {quoted}")
            results.append(_named(con, view, ibis.schema(schema)).to_expr())
        yield results


def fetch_all(con: BaseBackend, tables: Sequence[ir.Table]) -> list[pa.Table]:
    """The rows of each of ``tables`` (final queries of :func:`run_staged`), as Arrow tables
    with the tables' Ibis schemas.

    On Spark the queries are submitted together, one thread each (a Spark session takes jobs
    from several threads), each read with Spark's own Arrow conversion (ibis's ``to_pyarrow``
    goes through pandas): every query is a Spark job with a fixed cost of scheduling, which
    made most of the time of the study builder's nine final queries of a few hundred rows:
    2.6 to 3.4 s of a 7.1 to 8.1 s warm run on 100,000 synthetic persons, sequential; so
    submitted, the runs took 5.6 to 6.8 s (four warm runs each, one after the other, same
    results). Elsewhere in turn (a PostgreSQL connection runs one statement at a time)."""
    if con.name == "duckdb":
        return [_duckdb_rows(con, table) for table in tables]
    if con.name != "pyspark":
        return [table.to_pyarrow() for table in tables]
    session = con._session

    def read(table: ir.Table) -> pa.Table:
        op = table.op()
        assert isinstance(op, ops.SQLQueryResult)  # run_staged's final queries on Spark
        return session.sql(op.query).toArrow().cast(table.schema().to_pyarrow())

    with ThreadPoolExecutor(max_workers=len(tables)) as pool:
        return list(pool.map(read, tables))


def _duckdb_rows(con: BaseBackend, table: ir.Table) -> pa.Table:
    """``table``'s rows on DuckDB, executed as a statement: ibis's ``to_pyarrow`` makes a
    relation of the text first, which binds it, then binds and plans it again to run it (the
    study builder's query on 100,000 synthetic persons: 161 ms that way, 122 ms executed)."""
    with warnings.catch_warnings():
        # DuckDB 2 warns that a statement's Arrow result is copied once: the result only (the
        # study's one row, a cohort's members), small next to the tables the query reads
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        _register_memtables(con, [table])
        sql, schema = _statement(con, table)
        cursor = con.raw_sql(sql)
        read = getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table
        return read().cast(schema)


#: The statements of the plans' views read by :func:`_statement`.
_STATEMENTS: dict[ops.DatabaseTable, tuple[str, pa.Schema]] = {}


def _statement(con: BaseBackend, table: ir.Table) -> tuple[str, pa.Schema]:
    """``table``'s SQL and Arrow schema; kept when ``table`` is a table of its own (a plan's
    view, :func:`myositis.cohort.plans.planned`), which every warm run reads again: compiling
    that and converting its schema took 2 ms of the study cohort's 77 ms on 100,000 persons."""
    op = table.op()
    if not isinstance(op, ops.DatabaseTable):
        return con.compile(table), table.schema().to_pyarrow()
    found = _STATEMENTS.get(op)
    if found is None:
        if len(_STATEMENTS) >= plans.MEMORY_PLANS:
            _STATEMENTS.clear()
        found = _STATEMENTS[op] = (con.compile(table), table.schema().to_pyarrow())
    return found


def _renamed(con: BaseBackend, text: str, names: dict[str, str]) -> str:
    """``text`` with each quoted stage name of ``names`` (the plan's) replaced by this run's:
    the names are random (``ibis.util.gen_name``), quoted wherever the compiler wrote them
    (double quotes; Spark: backticks)."""
    for kept, name in names.items():
        if kept != name:
            old, new = (sg.to_identifier(n, quoted=True).sql(con.dialect) for n in (kept, name))
            text = text.replace(old, new)
    return text


def _filling(con: BaseBackend, table: ir.Table) -> str:
    """The query that fills a stage: ``table``'s compiled query with each column cast to the
    type Ibis gives it (:func:`~myositis.cohort.plans.typed`), so the temporary table has the
    column types a declared table would (as ``create_table`` writes) while being made by
    ``CREATE TABLE ... AS`` (below)."""
    return plans.typed(con, con.compiler.to_sqlglot(table).sql(con.dialect), table.schema())


def _create(con: BaseBackend, name: str, query: str, stack: ExitStack) -> None:
    """``CREATE TEMPORARY TABLE name AS query``, dropped when ``stack`` closes. One statement,
    not ibis's ``create_table`` (``CREATE`` then ``INSERT ... SELECT``): PostgreSQL plans no
    parallel workers for an ``INSERT``, and does for ``CREATE TABLE ... AS`` (module
    docstring: measured). Spark has no temporary tables: a temporary view of the query's rows,
    collected into a local session's driver or a local checkpoint on a cluster's executors."""
    if con.name == "pyspark":
        session = con._session
        rows = session.sql(query)
        if spark_stages_in_driver(session):
            # collected, then a DataFrame of the collected rows: a local relation, whose size
            # Spark knows, so the stages that read it join it by broadcast (module docstring)
            rows = session.createDataFrame(rows.toArrow(), schema=rows.schema)
        else:
            # A local checkpoint, not ibis's cache(): a cached DataFrame keeps the whole plan
            # that made it, so each stage held every stage before it, and Spark, writing out
            # the plan of the study builder's queries, ran out of heap (4 December 2026). The
            # checkpoint keeps the rows only, on the executors.
            rows = rows.localCheckpoint()
        rows.createOrReplaceTempView(name)
        stack.callback(session.catalog.dropTempView, name)
        return
    table = sg.to_identifier(name, quoted=True).sql(con.dialect)
    _execute(con, f"CREATE TEMPORARY TABLE {table} AS {query}")
    stack.callback(_drop, con, name)
    if con.name in ANALYSED:
        _execute(con, f"ANALYZE {table}")


def spark_stages_in_driver(session: Any) -> bool:
    """Whether a Spark session's stages are collected into its driver (:func:`_create`): a
    local session (master ``local``, ``local[N]``; one JVM holds the driver and the
    executors, so the rows are in that JVM either way). A cluster's or a Spark Connect
    session's stages stay on the executors, as local checkpoints."""
    try:
        master = session.conf.get("spark.master", "")
    except Exception:  # a Spark Connect server may not expose it: a cluster's way
        return False
    return master.startswith("local")


def _named(con: BaseBackend, name: str, schema: Any) -> ops.DatabaseTable:
    """The node of the temporary table ``name`` with ``schema`` (no round trip to read it)."""
    return ops.DatabaseTable(name, schema=schema, source=con, namespace=ops.Namespace())


def _register_memtables(con: BaseBackend, tables: list[ir.Table]) -> None:
    """Make the in-memory tables the texts name exist on ``con`` (what ibis does before each
    execution of an expression; the plan's texts run without one)."""
    register = getattr(con, "_run_pre_execute_hooks", None)
    if register is not None:
        for table in tables:
            register(table)


def _execute(con: BaseBackend, sql: str) -> None:
    """Run one statement that returns no rows."""
    result = con.raw_sql(sql)
    if con.name == "postgres":  # a psycopg cursor (DuckDB returns its connection: kept open)
        result.close()


def _drop(con: BaseBackend, name: str) -> None:
    """Drop the temporary table ``name`` (standard SQL: ibis 12's ``drop_table`` writes
    ``DROP TABLE`` without the name under sqlglot 30, as in registry/files.py)."""
    _execute(con, f'DROP TABLE IF EXISTS "{name}"')


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


__all__ = [
    "STAGED_ENGINES",
    "StagedQuery",
    "fetch_all",
    "is_staged",
    "run_staged",
    "staged_plan",
    "stages",
]
