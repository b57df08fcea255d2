"""Benchmark: cohorts built by the project against one hand-written query and against the
multi-statement temp-table SQL an OHDSI/Circe-style generator runs (issue 13, item 4).

On SYNTHETIC registries of ``--sizes`` persons (``myositis registry synth --preset
referral-centre --sites 4 --seed 2026``, made once in ``--workdir``; copied by ``myositis
registry copy`` into PostgreSQL schema ``bench_cohorts_<N>`` and into a local Spark warehouse
``--workdir/spark-warehouse-<N>``, database ``bench_cohorts_<N>``), for each engine of
``--engines`` (duckdb, postgres, spark; ``--postgres-max`` and ``--spark-max`` bound the sizes
of the two servers) and each cohort of ``--cohorts``:

- ``study``: the bundled study (studies/jak-refractory-dm.yaml). ``builder`` is
  ``myositis.study.runner.study_cohort(con, spec)`` on ``connect(url)`` (the cohort with its
  attrition, its outcomes -- baseline and follow-up CDASI activity, response -- and the
  records the analyses need; steps from its progress messages); ``hand`` the same cohort and
  values as ONE query (:func:`hand_sql`); ``same`` ONE query returning what the builder's
  query returns: attrition, cutoff, outcome values and the members' records
  (:func:`same_sql`); ``circe`` the statement sequence of OHDSI Circe's
  generated SQL (:func:`circe_sql`; shape of circe-be
  ``src/main/resources/resources/cohortdefinition/sql/`` ``codesetQuery.sql``,
  ``primaryEventsQuery.sql``, ``generateCohort.sql``, ``inclusionrule.sql``,
  ``additionalCriteriaInclude.sql``, ``windowedCriteria.sql`` at commit 9a80aa7), followed by
  the query that reads the members' outcome values, as FeatureExtraction would;
- ``r1``, ``r2``: two cohorts of the cohort language (benchmarks/cohorts/*.yaml). ``builder``
  is ``run_cohort(connect(url), cohort)`` (compile, then one query: attrition and members;
  steps ``compile`` and ``run``); ``hand`` and ``circe`` are :mod:`cohort_sql`'s texts.

``hand`` is the same text on DuckDB, PostgreSQL and Spark SQL (``cohort_sql.Dialect``);
``circe`` is not run on Spark (OHDSI's SqlRender turns its temp tables into real tables of a
scratch database there; not written here). The methods must return the same rows (asserted;
the run stops otherwise). Each method runs in a child process of its own (``--child``; the
package byte-compiled first, as ``pip install`` leaves it: ``record.byte_compile_package``),
the methods of a cell started together and their runs taken in turn, one at a time, the order
rotated each round (:func:`_alternate`; on Spark one method after the other, as its local
metastore admits one process): each child's first run is kept as ``cold`` (imports, the
engine's first queries and the builder's first compile: a compiled-plan cache cannot hide
it), then ``--runs`` timed runs give the ``warm`` median; the child's peak RSS
(``ru_maxrss``). Alternated, every method's runs fall in the same minutes, so a shared host
that slows down or speeds up meanwhile moves them alike and the ratios measure the methods.
The builders' children run with the garbage collector's thresholds of the ``myositis``
program (``myositis.cli.GC_THRESHOLDS``). With ``--study-size N`` (default 1,000,000; 0
skips it) the whole ``myositis study run`` (``run_study``, report included) runs on the DuckDB
registry of N persons, with the share of each of its steps (results.json ``run``), and the
command ``myositis study run`` itself, timed from process start to exit, once with an empty
plan cache and once again.

Prints a markdown section and writes it to docs/benchmarks.md ("Cohort at hospital scale").

Usage:  python benchmarks/bench_cohort.py [--sizes 100000 1000000 5000000]
        [--engines duckdb postgres spark] [--cohorts study r1 r2] [--runs 3]
        [--study-size 1000000] [--postgres-max 1000000] [--spark-max 1000000]
        [--workdir DIR --reuse] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--drop] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from cohort_sql import (
    CIRCE_RICH_TABLES,
    RECORD_DATES,
    Dialect,
    cdasi_activity,
    in_or_false,
    match,
    normalised,
    r1_circe,
    r1_hand,
    r2_circe,
    r2_hand,
)
from record import (
    byte_compile_package,
    cached,
    load,
    machine,
    postgres_version,
    versions,
    write_section,
)

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Cohort at hospital scale"
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
#: The two cohorts of the cohort language, by their name on the command line.
RICH = {
    "r1": ROOT / "benchmarks" / "cohorts" / "r1_observed_new_users.yaml",
    "r2": ROOT / "benchmarks" / "cohorts" / "r2_dm_events_collapsed.yaml",
}
PRESET, SITES, SEED = "referral-centre", 4, 2026
#: PostgreSQL schemas and Spark databases of the copies: bench_cohorts_<persons>
#: (``$BENCH_SCHEMA_PREFIX`` instead of ``bench_cohorts_``: runs of several people on one server).
SCHEMA_PREFIX = os.environ.get("BENCH_SCHEMA_PREFIX", "bench_cohorts_")
#: The values every method returns, one row per member, ordered by person_id.
COLUMNS = (
    "person_id",
    "index_date",
    "ingredient",
    "first_diagnosis_date",
    "baseline_date",
    "baseline_days",
    "baseline_activity",
    "followup_date",
    "followup_days",
    "followup_activity",
    "followup_count",
    "last_followup_days",
    "responder",
    "response_days",
)
#: The builder's record kinds counted in the check of the study's *same* method, in the
#: order of :func:`_same_rows` (CohortResult attributes).
RECORDS = ("jak_exposures", "therapies", "adverse_events", "pruritus", "labs", "mmt8")


# --- the SQL of the two comparisons -----------------------------------------------------------


def _spec() -> Any:
    from myositis.study.spec import load_spec

    return load_spec(SPEC)


def _concepts(spec: Any) -> dict[str, Any]:
    from myositis.cohort.concepts import code_pairs

    c = spec.cohort
    if c.diagnosis.exclude_codes or c.followup.use != "last" or c.index != "first_exposure":
        raise SystemExit("the comparison SQL is written for the bundled study's cohort")
    rule = spec.analysis.response_rule()
    if rule.percent is not None:
        raise SystemExit("the comparison SQL is written for an absolute response rule")
    return {
        "diagnosis": code_pairs(c.diagnosis.codesets, c.diagnosis.codes),
        "include": code_pairs(c.exposure.codesets, c.exposure.codes),
        "exclude": code_pairs(c.exposure.exclude_codesets),
        "ingredients": {i.strip().lower() for i in c.exposure.ingredients},
        "formulations": {f.strip().lower() for f in c.exposure.exclude_formulations},
        "routes": {r.strip().lower() for r in c.exposure.exclude_routes},
        "min_occurrences": c.diagnosis.min_occurrences,
        "baseline": (c.baseline.window_days.start, c.baseline.window_days.end),
        "followup": (c.followup.window_days.start, c.followup.window_days.end),
        "mcid": rule.mcid,
    }


def _qualifying(k: dict[str, Any], alias: str) -> str:
    excluded = " OR ".join(
        [
            match(f"{alias}.code_system", f"{alias}.code", k["exclude"]),
            in_or_false(f"{alias}.formulation", k["formulations"]),
            in_or_false(f"{alias}.route", k["routes"]),
        ]
    )
    included = (
        f"{match(f'{alias}.code_system', f'{alias}.code', k['include'])} OR "
        f"{in_or_false(f'{alias}.ingredient', k['ingredients'])}"
    )
    return f"({included}) AND NOT ({excluded})"


#: The members' outcome values (COLUMNS) from the CTE ``chosen`` of :func:`_outcomes`.
OUTCOME_ROWS = """SELECT person_id, index_date, ingredient, first_diagnosis_date, baseline_date,
           baseline_days, baseline_activity, assessment_date AS followup_date,
           days AS followup_days, activity AS followup_activity, followup_count,
           last_followup_days, responded AS responder, response_days
    FROM chosen WHERE rn = 1"""


def _outcomes(k: dict[str, Any], scored: str) -> str:
    """The last common table expressions, ending with ``cohort`` (the members' outcome values,
    COLUMNS): the baseline (closest to the index, the later on a tie), the last follow-up,
    the count, the last day and the first responding day, from ``scored`` (person_id,
    assessment_id, assessment_date, activity, days, index_date, ingredient,
    first_diagnosis_date)."""
    (b0, b1), (f0, f1) = k["baseline"], k["followup"]
    return f"""
    base AS (
      SELECT person_id, index_date, ingredient, first_diagnosis_date,
             assessment_date AS baseline_date, days AS baseline_days,
             activity AS baseline_activity
      FROM (SELECT s.*, row_number() OVER (PARTITION BY person_id
                   ORDER BY abs(days), days DESC, assessment_id) AS rn
            FROM {scored} s WHERE days BETWEEN {b0} AND {b1}) ranked
      WHERE rn = 1
    ),
    fu AS (
      SELECT b.*, f.assessment_id, f.assessment_date, f.days, f.activity,
             coalesce(b.baseline_activity - f.activity >= {k["mcid"]}, false) AS responded
      FROM {scored} f JOIN base b ON b.person_id = f.person_id
      WHERE f.days BETWEEN {f0} AND {f1}
    ),
    chosen AS (
      SELECT fu.*,
             row_number() OVER (PARTITION BY person_id ORDER BY days DESC, assessment_id) AS rn,
             count(*) OVER (PARTITION BY person_id) AS followup_count,
             max(days) OVER (PARTITION BY person_id) AS last_followup_days,
             min(CASE WHEN responded THEN days END) OVER (PARTITION BY person_id)
               AS response_days
      FROM fu
    ),
    cohort AS ({OUTCOME_ROWS})"""


def _index(exposures: str, qualifying: str = "") -> str:
    """CTE ``idx``: each person of ``dx``'s first exposure of ``exposures`` (alias ``e``) with
    a start date and ``qualifying`` (a condition on ``e``, if any): person_id, index_date,
    ingredient, first_diagnosis_date."""
    condition = f" AND {qualifying}" if qualifying else ""
    return f"""idx AS (
      SELECT person_id, index_date, ingredient, first_diagnosis_date FROM (
        SELECT e.person_id, e.start_date AS index_date, lower(e.ingredient) AS ingredient,
               dx.first_diagnosis_date,
               row_number() OVER (PARTITION BY e.person_id
                                  ORDER BY e.start_date, e.ingredient, e.exposure_id) AS rn
        FROM {exposures} e JOIN dx ON dx.person_id = e.person_id
        WHERE e.start_date IS NOT NULL{condition}
      ) ranked WHERE rn = 1
    )"""


def _scored(d: Dialect, k: dict[str, Any]) -> str:
    """CTEs ``activity`` (CDASI of the persons of ``idx``), ``scored`` (with days from the
    index) and :func:`_outcomes`'s, ending with ``cohort``."""
    return f"""activity AS ({cdasi_activity("idx")}),
    scored AS (
      SELECT s.assessment_id, s.person_id, s.assessment_date, s.activity,
             {d.days("s.assessment_date", "i.index_date")} AS days, i.index_date, i.ingredient,
             i.first_diagnosis_date
      FROM activity s JOIN idx i ON i.person_id = s.person_id
      WHERE s.activity IS NOT NULL
    ),
    {_outcomes(k, "scored")}"""


def hand_sql(d: Dialect) -> str:
    """The bundled study's cohort and outcome values as one query (DuckDB, PostgreSQL and
    Spark SQL, through ``d``)."""
    k = _concepts(_spec())
    return f"""
    WITH dx AS (
      SELECT d.person_id, min(d.diagnosis_date) AS first_diagnosis_date
      FROM diagnosis d
      WHERE {match("d.code_system", "d.code", k["diagnosis"])}
        AND d.person_id IN (SELECT person_id FROM person)
      GROUP BY d.person_id
      HAVING count(DISTINCT d.diagnosis_date) >= {k["min_occurrences"]}
    ),
    {_index("drug_exposure", _qualifying(k, "e"))},
    {_scored(d, k)}
    SELECT * FROM cohort ORDER BY person_id
    """


#: Person columns of the builder's ``patient`` records (the person table's, bar person_id).
PERSON_COLUMNS = (
    "source_id", "site", "sex", "birth_date", "birth_year", "race", "ethnicity", "import_id",
    "source_record", "source_location",
)  # fmt: skip


def same_sql(d: Dialect) -> str:
    """The bundled study as ONE hand-written query returning what the builder's query returns
    (``myositis.cohort.build._Query``), not only the members' outcome values: one row of the
    attrition (persons after each of the 5 lines), the exposed persons' unscorable CDASI
    administrations, the qualifying exposures without a start date, the six maxima of the
    data cutoff, and each kind of the members' records as one list: ``patient`` (outcome
    values, person and subtype at the index), ``series`` (CDASI activities from the baseline
    window's start to the follow-up window's end), ``jak`` (qualifying exposures),
    ``therapy`` (the analysis's systemic therapies), ``adverse_event``, ``pruritus``,
    ``mmt8``, ``laboratory`` (with days from the index)."""
    spec = _spec()
    k = _concepts(spec)
    o = spec.analysis
    therapies = {t.strip().lower() for t in o.systemic_therapies}
    (b0, _), (_, f1) = k["baseline"], k["followup"]
    members = "person_id IN (SELECT person_id FROM keys)"

    def measure(instrument: str, name: str) -> str:
        return f"""SELECT a.person_id, a.assessment_date,
               {d.days("a.assessment_date", "k.index_date")} AS days, a.value
             FROM assessment a JOIN keys k ON k.person_id = a.person_id
             WHERE lower(a.instrument) = '{instrument}' AND lower(a.measure) = '{name}'"""

    lists = {
        "patient": f"""SELECT c.*, {", ".join(f"p.{c}" for c in PERSON_COLUMNS)}, s.subtype
             FROM cohort c JOIN person p ON p.person_id = c.person_id
             LEFT JOIN subtype s ON s.person_id = c.person_id AND s.index_date = c.index_date""",
        "series": f"""SELECT person_id, days, activity, assessment_id FROM scored
             WHERE {members} AND days >= {b0} AND days <= {f1}""",
        "jak": f"SELECT * FROM qualifying WHERE start_date IS NOT NULL AND {members}",
        "therapy": f"""SELECT * FROM drug_exposure e
             WHERE {in_or_false("e.ingredient", therapies)} AND {members}""",
        "adverse_event": f"SELECT * FROM adverse_event WHERE {members}",
        "pruritus": measure(o.pruritus_instrument, o.pruritus_measure),
        "mmt8": measure("mmt8", "total"),
        "laboratory": f"""SELECT l.*, k.index_date,
               {d.days("l.result_date", "k.index_date")} AS days
             FROM laboratory l JOIN keys k ON k.person_id = l.person_id""",
    }
    cutoffs = [
        ("drug_exposure", "start_date"), ("drug_exposure", "end_date"),
        ("assessment", "assessment_date"), ("laboratory", "result_date"),
        ("adverse_event", "onset_date"), ("diagnosis", "diagnosis_date"),
    ]  # fmt: skip
    distance = d.days("s.classified_date", "k.index_date")
    head = [
        "(SELECT count(*) FROM person) AS step_0",
        "(SELECT count(*) FROM dx) AS step_1",
        "(SELECT count(*) FROM idx) AS step_2",
        "(SELECT count(*) FROM base) AS step_3",
        "(SELECT count(*) FROM cohort) AS step_4",
        "(SELECT count(*) FROM activity WHERE activity IS NULL) AS unscorable",
        "(SELECT count(*) FROM qualifying WHERE start_date IS NULL) AS undated",
        *(f"(SELECT max({c}) FROM {t}) AS cutoff_{n}" for n, (t, c) in enumerate(cutoffs)),
        *(f"(SELECT {d.rows('x')} FROM ({q}) x) AS {name}" for name, q in lists.items()),
    ]
    head_text = ",\n      ".join(head)
    return f"""
    WITH dx AS (
      SELECT d.person_id, min(d.diagnosis_date) AS first_diagnosis_date FROM diagnosis d
      WHERE {match("d.code_system", "d.code", k["diagnosis"])} AND d.diagnosis_date IS NOT NULL
        AND d.person_id IN (SELECT person_id FROM person)
      GROUP BY d.person_id
      HAVING count(DISTINCT d.diagnosis_date) >= {k["min_occurrences"]}
    ),
    qualifying AS (
      SELECT e.* FROM drug_exposure e
      WHERE e.person_id IN (SELECT person_id FROM dx) AND {_qualifying(k, "e")}
    ),
    {_index("qualifying")},
    {_scored(d, k)},
    keys AS (SELECT person_id, index_date FROM cohort),
    subtype AS (
      SELECT person_id, index_date, subtype FROM (
        SELECT s.person_id, k.index_date, s.subtype,
               row_number() OVER (PARTITION BY s.person_id, k.index_date ORDER BY
                 CASE WHEN {distance} > 0 THEN 1 ELSE 0 END, abs({distance}), s.subtype) AS rn
        FROM dm_subtype s JOIN keys k ON k.person_id = s.person_id
      ) ranked WHERE rn = 1
    )
    SELECT
      {head_text}"""


#: Temp tables the Circe-style script creates (dropped after each run).
CIRCE_TABLES = (
    "codesets",
    "primary_events",
    "qualified_events",
    "inclusion_0",
    "inclusion_1",
    "inclusion_events",
    "included_events",
    "cohort_rows",
    "final_cohort",
)


def circe_sql(d: Dialect) -> list[str]:
    """The same cohort as the statements of an OHDSI Circe-style generator, then the query
    of its members' outcome values (the last statement returns the rows)."""
    k = _concepts(_spec())
    rows = []
    for codeset, pairs in ((1, k["diagnosis"]), (2, k["include"]), (3, k["exclude"])):
        rows += [(codeset, s, c) for s, codes in sorted(pairs.items()) for c in sorted(codes)]
    rows += [(4, "INGREDIENT", i) for i in sorted(k["ingredients"])]
    rows += [(5, "FORMULATION", f) for f in sorted(k["formulations"])]
    rows += [(6, "ROUTE", r) for r in sorted(k["routes"])]
    values = ", ".join(f"({n}, '{s}', '{c}')" for n, s, c in rows)

    def in_codeset(n: int, alias: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM codesets cs WHERE cs.codeset_id = {n} AND cs.code_system = "
            f"upper(trim({alias}.code_system)) AND cs.code = "
            f"{normalised(f'{alias}.code_system', f'{alias}.code')})"
        )

    def named(n: int, column: str) -> str:
        codes = f"SELECT code FROM codesets WHERE codeset_id = {n}"
        return f"coalesce(lower(trim({column})) IN ({codes}), false)"

    (b0, b1), (f0, f1) = k["baseline"], k["followup"]

    def inclusion_rule(rule: int, start: int, end: int) -> str:
        # inclusionrule.sql + additionalCriteriaInclude.sql + windowedCriteria.sql: a
        # measurement (CDASI activity, a number) in a window around the index, at least once
        return f"""
        CREATE TEMP TABLE inclusion_{rule} AS
        SELECT {rule} AS inclusion_rule_id, person_id, event_id FROM (
          SELECT pe.person_id, pe.event_id FROM qualified_events pe
          JOIN (
            SELECT {rule} AS index_id, cc.person_id, cc.event_id FROM (
              SELECT p.person_id, p.event_id FROM qualified_events p
              JOIN ({cdasi_activity("qualified_events")}) A ON A.person_id = p.person_id
                AND A.activity IS NOT NULL
                AND A.assessment_date >= {d.plus("p.start_date", start)}
                AND A.assessment_date <= {d.plus("p.start_date", end)}
            ) cc GROUP BY cc.person_id, cc.event_id HAVING count(cc.event_id) >= 1
          ) AC ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id
        ) Results"""

    return [
        # codesetQuery.sql
        "CREATE TEMP TABLE codesets (codeset_id int NOT NULL, code_system varchar NOT NULL, "
        "code varchar NOT NULL)",
        f"INSERT INTO codesets VALUES {values}",
        "ANALYZE codesets",
        # primaryEventsQuery.sql + drugExposure.sql: every qualifying exposure (limit: all)
        f"""CREATE TEMP TABLE primary_events AS
        SELECT P.ordinal AS event_id, P.person_id, P.start_date, P.end_date, P.ingredient FROM (
          SELECT C.person_id, C.start_date, C.end_date, C.ingredient,
                 row_number() OVER (PARTITION BY C.person_id
                                    ORDER BY C.start_date, C.ingredient, C.exposure_id) AS ordinal
          FROM (
            SELECT de.* FROM drug_exposure de
            WHERE de.start_date IS NOT NULL
              AND ({in_codeset(2, "de")} OR {named(4, "de.ingredient")})
              AND NOT ({in_codeset(3, "de")} OR {named(5, "de.formulation")}
                       OR {named(6, "de.route")})
          ) C
        ) P""",
        # generateCohort.sql #qualified_events: additional criteria (a DM diagnosis on at
        # least 2 distinct dates, any time), qualified limit: first event
        f"""CREATE TEMP TABLE qualified_events AS
        SELECT event_id, person_id, start_date, end_date, ingredient FROM (
          SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.ingredient,
                 row_number() OVER (PARTITION BY pe.person_id
                                    ORDER BY pe.start_date, pe.event_id) AS ordinal
          FROM primary_events pe
          JOIN (
            SELECT 0 AS index_id, p.person_id, p.event_id
            FROM primary_events p
            JOIN (SELECT d.person_id, d.diagnosis_date AS start_date FROM diagnosis d
                  WHERE {in_codeset(1, "d")}) A ON A.person_id = p.person_id
            GROUP BY p.person_id, p.event_id
            HAVING count(DISTINCT A.start_date) >= {k["min_occurrences"]}
          ) AC ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id
        ) QE WHERE QE.ordinal = 1""",
        inclusion_rule(0, b0, b1),
        inclusion_rule(1, f0, f1),
        """CREATE TEMP TABLE inclusion_events AS
        SELECT inclusion_rule_id, person_id, event_id FROM (
          SELECT * FROM inclusion_0 UNION ALL SELECT * FROM inclusion_1) I""",
        """CREATE TEMP TABLE included_events AS
        SELECT event_id, person_id, start_date, end_date FROM (
          SELECT event_id, person_id, start_date, end_date,
                 row_number() OVER (PARTITION BY person_id ORDER BY start_date, event_id) AS ordinal
          FROM (
            SELECT Q.event_id, Q.person_id, Q.start_date, Q.end_date,
                   SUM(coalesce(POWER(cast(2 AS bigint), I.inclusion_rule_id), 0))
                     AS inclusion_rule_mask
            FROM qualified_events Q
            LEFT JOIN inclusion_events I ON I.person_id = Q.person_id AND I.event_id = Q.event_id
            GROUP BY Q.event_id, Q.person_id, Q.start_date, Q.end_date
          ) MG WHERE MG.inclusion_rule_mask = POWER(cast(2 AS bigint), 2) - 1
        ) Results WHERE Results.ordinal = 1""",
        # dateOffsetStrategy.sql (offset 0 from the start) and the era collapse (pad 0)
        """CREATE TEMP TABLE cohort_rows AS
        SELECT person_id, start_date, start_date AS end_date FROM included_events""",
        """CREATE TEMP TABLE final_cohort AS
        SELECT person_id, min(start_date) AS start_date, max(end_date) AS end_date FROM (
          SELECT person_id, start_date, end_date,
                 sum(is_start) OVER (PARTITION BY person_id ORDER BY start_date, is_start DESC
                                     ROWS UNBOUNDED PRECEDING) AS group_idx
          FROM (
            SELECT person_id, start_date, end_date,
                   CASE WHEN max(end_date) OVER (PARTITION BY person_id ORDER BY start_date
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= start_date
                        THEN 0 ELSE 1 END AS is_start
            FROM cohort_rows
          ) ST
        ) GR GROUP BY person_id, group_idx""",
        # the members' outcome values (what FeatureExtraction would read next)
        f"""WITH members AS (
          SELECT f.person_id, f.start_date AS index_date, lower(q.ingredient) AS ingredient
          FROM final_cohort f JOIN qualified_events q
            ON q.person_id = f.person_id AND q.start_date = f.start_date
        ),
        dx AS (
          SELECT d.person_id, min(d.diagnosis_date) AS first_diagnosis_date FROM diagnosis d
          WHERE d.person_id IN (SELECT person_id FROM members) AND {in_codeset(1, "d")}
          GROUP BY d.person_id
        ),
        scored AS (
          SELECT s.assessment_id, s.person_id, s.assessment_date, s.activity,
                 {d.days("s.assessment_date", "m.index_date")} AS days, m.index_date, m.ingredient,
                 dx.first_diagnosis_date
          FROM ({cdasi_activity("members")}) s
          JOIN members m ON m.person_id = s.person_id
          JOIN dx ON dx.person_id = s.person_id
          WHERE s.activity IS NOT NULL
        ),
        {_outcomes(k, "scored")}
        SELECT * FROM cohort ORDER BY person_id""",
    ]


# --- children: one measurement each, in a fresh process ---------------------------------------


def _row(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, dt.date):
            out.append(value.isoformat())
        elif isinstance(value, bool) or value is None:
            out.append(value)
        elif isinstance(value, float) or hasattr(value, "as_integer_ratio"):
            number = float(value)
            out.append(int(number) if number.is_integer() else number)
        else:
            out.append(value)
    return out


def _raw(engine: str, location: str) -> tuple[Callable[[str], list[Any]], Callable[[], None]]:
    """A function running one statement on the engine's own driver (the rows of a query) and
    a closer. Spark: the session of ``connect(location)`` (Spark SQL, no Ibis)."""
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect(location, read_only=True)

        def run(sql: str) -> list[Any]:
            cursor = con.execute(sql)
            return cursor.fetchall() if cursor.description else []

        return run, con.close
    if engine == "spark":
        from myositis.registry.connect import connect

        backend = connect(location)
        session = backend._session  # type: ignore[attr-defined]

        def run_spark(sql: str) -> list[Any]:
            return [tuple(row) for row in session.sql(sql).collect()]

        return run_spark, backend.disconnect
    import psycopg

    url, schema = location.split("#")
    pg = psycopg.connect(url, autocommit=True)
    pg.execute(f"SET search_path TO {schema}")

    def run_pg(sql: str) -> list[Any]:
        cursor = pg.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []

    return run_pg, pg.close


def _statements(kind: str, cohort: str, engine: str) -> tuple[list[str], tuple[str, ...]]:
    """The SQL of ``kind`` (hand, same or circe) for ``cohort`` on ``engine``, and the temp
    tables it leaves."""
    d = Dialect(engine)
    if kind == "same":
        return [same_sql(d)], ()
    if cohort == "study":
        return ([hand_sql(d)], ()) if kind == "hand" else (circe_sql(d), CIRCE_TABLES)
    hand, circe = {"r1": (r1_hand, r1_circe), "r2": (r2_hand, r2_circe)}[cohort]
    return ([hand(d)], ()) if kind == "hand" else (circe(d), CIRCE_RICH_TABLES)


#: A method's three steps in its child: one timed run (its timing: ``seconds``, and
#: ``steps`` for a builder), the rows compared and the check (after the last run), the closer.
Method = tuple[
    Callable[[], dict[str, Any]], Callable[[], tuple[list[Any], Any]], Callable[[], None]
]


def _builder(cohort: str, location: str) -> Method:
    """The project's cohort: ``study_cohort`` (the bundled study, steps from its progress
    messages) or ``run_cohort(connect(url), cohort)`` (steps: compile, run). The first run of
    the process includes the first compile (``cold``). The study's check is the one
    :func:`_same_rows` gives (None otherwise)."""
    from myositis.registry.connect import connect

    con = connect(location)
    last: list[Any] = [None]
    if cohort == "study":
        from myositis.study.runner import study_cohort

        spec = _spec()
        marks: list[tuple[float, str]] = []

        def progress(message: str, done: int | None = None, total: int | None = None) -> None:
            marks.append((time.perf_counter(), message))

        def once() -> dict[str, Any]:
            marks.clear()
            began = time.perf_counter()
            last[0] = study_cohort(con, spec, progress)
            ended = time.perf_counter()
            steps: dict[str, float] = {}
            for (at, message), (until, _) in zip(marks, [*marks[1:], (ended, "")], strict=True):
                steps[message] = steps.get(message, 0.0) + until - at
            return {"seconds": ended - began, "steps": steps}

        def result() -> tuple[list[Any], Any]:
            found = last[0]
            rows = [_row(getattr(p, c) for c in COLUMNS) for p in found.patients]
            check = _row(
                [
                    *(s.remaining for s in found.attrition),
                    found.unscorable_cdasi,
                    found.data_cutoff,
                    *(len(getattr(found, kind)) for kind in RECORDS),
                    sum(len(v) for v in found.cdasi_series.values()),
                ]
            )
            return rows, check

        return once, result, con.disconnect
    from myositis.cohort.run import load_cohort, run_cohort

    definition = load_cohort(RICH[cohort])

    def once_rich() -> dict[str, Any]:
        began = time.perf_counter()
        last[0] = run_cohort(con, definition)
        ended = time.perf_counter()
        steps = {str(s["step"]): float(s["seconds"]) for s in last[0].run["steps"]}
        return {"seconds": ended - began, "steps": steps}

    def result_rich() -> tuple[list[Any], Any]:
        return [_row(r.values()) for r in last[0].members.to_pylist()], None

    return once_rich, result_rich, con.disconnect


def _same_rows(fetched: list[Any]) -> tuple[list[Any], list[Any]]:
    """The members' outcome values (COLUMNS, by person) and the check of :func:`same_sql`'s
    one row, as :func:`_builder` gives them: attrition, unscorable, data cutoff, the number of
    records of each kind (RECORDS), the CDASI series' length. Spark gives rows as Row
    objects, PostgreSQL JSON (dates as text), DuckDB dictionaries."""
    (row,) = fetched
    *head, patient, series, jak, therapy, adverse, pruritus, mmt8, laboratory = row

    def as_dict(r: Any) -> dict[str, Any]:
        return r.asDict() if hasattr(r, "asDict") else dict(r)

    def date(value: Any) -> dt.date:
        return dt.date.fromisoformat(value) if isinstance(value, str) else value

    patients = sorted((as_dict(p) for p in patient or []), key=lambda p: p["person_id"])
    rows = [_row(date(p[c]) if c.endswith("_date") else p[c] for c in COLUMNS) for p in patients]
    steps, unscorable, cutoffs = head[:5], head[5], [date(c) for c in head[7:13] if c]
    counts = [len(x or []) for x in (jak, therapy, adverse, pruritus, laboratory, mmt8)]
    return rows, _row([*steps, unscorable, max(cutoffs), *counts, len(series or [])])


def _statement_method(kind: str, cohort: str, engine: str, location: str) -> Method:
    """hand, same or circe: its statements on the engine's own driver; circe's temporary
    tables are dropped after each run, untimed."""
    statements, tables = _statements(kind, cohort, engine)
    run, close = _raw(engine, location)
    fetched: list[Any] = []

    def once() -> dict[str, Any]:
        began = time.perf_counter()
        for statement in statements:
            fetched[:] = run(statement)
        ended = time.perf_counter()
        for table in tables:
            run(f"DROP TABLE IF EXISTS {table}")
        return {"seconds": ended - began}

    def result() -> tuple[list[Any], Any]:
        return _same_rows(fetched) if kind == "same" else ([_row(r) for r in fetched], None)

    return once, result, close


def _study_method(location: str) -> Method:
    """The whole ``run_study`` of the bundled study, report included."""
    from myositis.study.runner import run_study

    out = tempfile.TemporaryDirectory()
    last: list[Any] = [None]

    def once() -> dict[str, Any]:
        began = time.perf_counter()
        last[0] = run_study(SPEC, location, Path(out.name) / "report")
        return {"seconds": time.perf_counter() - began, "run": last[0].results["run"]}

    return once, lambda: ([[len(last[0].results["patients"])]], None), out.cleanup


def _child(kind: str, cohort: str, engine: str, location: str, rows_file: str) -> None:
    """A measured method in a process of its own: it opens its connection (printing the
    seconds as a JSON line), then runs once for each line read from standard input, printing
    each run's timing as a JSON line, and at the end of its input writes the last run's rows
    and check to ``rows_file``. The parent decides when each run starts (:func:`_alternate`)."""
    opened = time.perf_counter()
    if kind == "builder":
        once, result, close = _builder(cohort, location)
    elif kind == "study":
        once, result, close = _study_method(location)
    else:
        once, result, close = _statement_method(kind, cohort, engine, location)
    print(json.dumps({"open": time.perf_counter() - opened}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(once()), flush=True)
    rows, check = result()
    close()
    Path(rows_file).write_text(json.dumps({"rows": rows, "check": check}))


def _measure(
    kinds: Sequence[str],
    cohort: str,
    engine: str,
    locations: dict[str, str],
    runs: int,
    work: Path,
) -> dict[str, dict[str, Any]]:
    """Measure ``kinds`` (methods) of ``cohort`` on ``engine``, each in a process of its own,
    their runs alternated (:func:`_alternate`): ``cold`` (each child's first run: imports,
    connections' first queries and the builder's first compile), ``median`` of the
    ``runs`` later runs, the seconds to open the connection, the rows, the peak RSS (MiB).
    The project's builders get a plan cache folder of their own, empty, so *cold* always
    compiles; a second child then runs once with the plans the first left on disk: ``disk``,
    what a second ``myositis cohort run`` or ``study run`` of the same cohort takes in a new
    process. A method whose child fails is left out of the result (the failure printed)."""
    plans = {
        k: work / f"plans-{k}-{cohort}-{engine}-{os.getpid()}"
        for k in kinds
        if k in ("builder", "study")
    }
    for folder in plans.values():
        shutil.rmtree(folder, ignore_errors=True)
    measured = _alternate(
        {k: (locations[k], plans.get(k)) for k in kinds}, cohort, engine, runs, work
    )
    for kind, folder in plans.items():
        if kind in measured:
            again = _alternate({kind: (locations[kind], folder)}, cohort, engine, 0, work)
            measured[kind]["disk"] = again[kind]["cold"] if kind in again else None
        if kind == "study" and kind in measured:
            # the command as a user types it, process start to exit (interpreter, imports, the
            # run): first with an empty plan cache (the first run on a machine), then again
            shutil.rmtree(folder, ignore_errors=True)
            where = locations[kind]
            measured[kind]["command"] = [_study_command(where, work, folder) for _ in (1, 2)]
        shutil.rmtree(folder, ignore_errors=True)
    return measured


def _study_command(location: str, work: Path, plans: Path) -> float:
    """Seconds of one ``myositis study run`` of the bundled study, start to exit."""
    out = work / "study-run-command"
    shutil.rmtree(out, ignore_errors=True)
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "MYOSITIS_CACHE_DIR": str(plans)}
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "myositis.cli", "study", "run", SPEC, "--data", location,
         "-o", str(out), "--quiet"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def _alternate(
    children: dict[str, tuple[str, Path | None]], cohort: str, engine: str, runs: int, work: Path
) -> dict[str, dict[str, Any]]:
    """Start a child (:func:`_child`) for each method of ``children`` (its location and its
    plan cache folder, if any), then run them in turn, one run at a time, ``runs + 1`` rounds,
    the order rotated each round: each method's runs are spread over the same minutes as the
    others', so a host that slows down or speeds up meanwhile (these machines are shared)
    moves every method alike, and the ratios of their medians measure the methods, not the
    moment. While one child runs, the others wait for their turn, idle. A child that fails
    is left out of the result (its method and location printed)."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    rows_files: dict[str, Path] = {}
    for kind, (location, plans) in children.items():
        rows_files[kind] = work / f"rows-{kind}-{cohort}-{engine}-{os.getpid()}.json"
        env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
        if plans is not None:
            env["MYOSITIS_CACHE_DIR"] = str(plans)
        args = [kind, cohort, engine, location, str(rows_files[kind])]
        procs[kind] = subprocess.Popen(
            [sys.executable, __file__, "--child", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
    timings: dict[str, list[dict[str, Any]]] = {kind: [] for kind in procs}
    failed: list[str] = []

    def step(kind: str, command: bytes | None) -> None:
        proc = procs[kind]
        assert proc.stdin is not None and proc.stdout is not None
        try:
            if command is not None:
                proc.stdin.write(command)
                proc.stdin.flush()
            line = proc.stdout.readline()
            timings[kind].append(json.loads(line))
        except (BrokenPipeError, ValueError):
            failed.append(kind)

    for kind in list(procs):
        step(kind, None)  # the line saying the connection is open
    order = list(procs)
    for round_ in range(runs + 1):
        k = round_ % len(order)
        for kind in order[k:] + order[:k]:
            if kind not in failed:
                step(kind, b"run\n")
    measured: dict[str, dict[str, Any]] = {}
    for kind, proc in procs.items():
        assert proc.stdin is not None and proc.stdout is not None
        if kind not in failed:
            proc.stdin.close()
        proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if kind in failed or os.waitstatus_to_exitcode(status) != 0:
            print(f"FAILED: {kind} of {cohort} on {engine} ({children[kind][0]})", flush=True)
            rows_files[kind].unlink(missing_ok=True)
            continue
        opened, cold, *warm = timings[kind]
        kept = json.loads(rows_files[kind].read_text())
        rows_files[kind].unlink()
        seconds = [t["seconds"] for t in warm]
        measured[kind] = {
            "open": opened["open"],
            "cold": cold["seconds"],
            "cold_timing": cold,
            "median": statistics.median(seconds) if seconds else None,
            "runs": seconds,
            "timings": warm,
            "rows": kept["rows"],
            "check": kept["check"],
            "rss": usage.ru_maxrss / 1024,
        }
    return measured


# --- setup: registries on each engine --------------------------------------------------------


def _cli(*args: str) -> float:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "myositis.cli", *args], check=True, env=env)
    return time.perf_counter() - began


def _registry(size: int, work: Path, setup: dict[str, float]) -> Path:
    path = work / f"registry-{size}.duckdb"
    if not path.exists():
        setup[f"synth {size}"] = _cli(
            "registry", "synth", "-n", str(size), "--sites", str(SITES), "--seed", str(SEED),
            "--preset", PRESET, "-o", str(path), "--quiet",
        )  # fmt: skip
    return path


def _postgres(size: int, registry: Path, server: str, setup: dict[str, float]) -> str:
    """The registry's copy in PostgreSQL (made unless a complete copy is there)."""
    import psycopg

    schema = f"{SCHEMA_PREFIX}{size}"
    with psycopg.connect(server, autocommit=True) as pg:
        found = pg.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'registry_metadata'",
            (schema,),
        ).fetchone()
        persons = None
        if found and found[0]:
            counted = pg.execute(f"SELECT count(*) FROM {schema}.person").fetchone()
            persons = counted[0] if counted else None
    if persons != size:
        setup[f"copy to PostgreSQL {size}"] = _cli(
            "registry", "copy", str(registry), f"{server}?schema={schema}", "--replace", "--quiet"
        )
    # `registry copy` runs ANALYZE on what it writes; again here for copies made before it did
    with psycopg.connect(server, autocommit=True) as pg:
        names = pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (name,) in names:
            pg.execute(f"ANALYZE {schema}.{name}")
    return schema


def _spark(size: int, registry: Path, work: Path, setup: dict[str, float]) -> str:
    """The registry's copy in a local Spark warehouse in ``work`` (made unless a finished copy
    is recorded there): its ``spark://local[2]`` URL."""
    # a warehouse (and Derby metastore, one process at a time) per size
    warehouse = work / f"spark-warehouse-{size}"
    url = f"spark://local[2]?database={SCHEMA_PREFIX}{size}&warehouse={warehouse}"
    done = work / f"spark-{size}.copied"
    if not done.exists():
        setup[f"copy to Spark {size}"] = _cli(
            "registry", "copy", str(registry), url, "--replace", "--quiet"
        )
        done.write_text(url)
    return url


def _drop(server: str, schemas: Iterable[str]) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as pg:
        for schema in schemas:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# --- the report ------------------------------------------------------------------------------

#: The targets of issue 13 item 4, for every cohort and size: (text, engine of the builder,
#: method compared, its engine, the most the builder's time may be as a multiple of it).
TARGETS = (
    ("DuckDB builder within 1.5x of the hand-written DuckDB query",
     "duckdb", "hand", "duckdb", 1.5),
    ("DuckDB builder >= 10x faster than the Circe-style SQL on PostgreSQL",
     "duckdb", "circe", "postgres", 0.1),
    ("PostgreSQL builder within 1.5x of the faster of hand and circe there",
     "postgres", "best", "postgres", 1.5),
    ("Spark builder within 1.5x of the hand-written Spark SQL query",
     "spark", "hand", "spark", 1.5),
    ("DuckDB builder within 1.5x of the hand-written query returning the builder's outputs",
     "duckdb", "same", "duckdb", 1.5),
    ("Spark builder within 1.5x of the hand-written query returning the builder's outputs",
     "spark", "same", "spark", 1.5),
)  # fmt: skip


def _method(m: dict[str, Any], kind: str) -> float | None:
    """Median seconds of ``kind`` (``best``: the faster of hand and circe); None if not run."""
    if kind == "best":
        found = [m[k]["median"] for k in ("hand", "circe") if k in m]
        return min(found) if found else None
    return m[kind]["median"] if kind in m else None


def _target_rows(
    results: dict[str, dict[int, dict[str, dict[str, Any]]]], engines: list[str]
) -> list[str]:
    """One line per target, cohort and size: the builder's warm and cold ratios and whether
    each meets the target; 'not measured' where an engine or method did not run."""
    lines = [
        "| target | cohort | persons | warm | met (warm) | cold | met (cold) |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for cohort, by_size in results.items():
        for size, measured in sorted(by_size.items()):
            for text, engine, kind, other, limit in TARGETS:
                if engine not in engines or other not in engines:
                    continue
                builder = measured.get(engine, {}).get("builder")
                if kind == "same" and cohort != "study":
                    continue  # measured for the study only
                reference = _method(measured[other], kind) if other in measured else None
                if builder is None or reference is None:
                    lines.append(f"| {text} | {cohort} | {size:,} | not measured | | | |")
                    continue
                cells = []
                for seconds in (builder["median"], builder["cold"]):
                    ratio = seconds / reference
                    shown = f"{ratio:.1f}x"
                    if limit < 1:  # "N x faster": the other method's time over the builder's
                        shown = f"{1 / ratio:.1f}x faster" if ratio <= 1 else f"{ratio:.1f}x slower"
                    cells += [shown, "yes" if ratio <= limit else "**no**"]
                lines.append(f"| {text} | {cohort} | {size:,} | {' | '.join(cells)} |")
    return lines


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "-"


def section(
    results: dict[str, dict[int, dict[str, dict[str, Any]]]],
    study: dict[str, Any] | None,
    setup: dict[str, float],
    args: argparse.Namespace,
    machine: str,
    versions: str,
    dm: dict[int, int],
    differences: list[str],
) -> str:
    """The markdown section: times per cohort, engine and size (builder cold and warm), the
    targets, growth with rows, the share of each builder step, memory, the whole study run."""
    command = (
        "python benchmarks/bench_cohort.py --sizes "
        + " ".join(str(s) for s in sorted(args.sizes))
        + " --engines " + " ".join(args.engines)
        + " --cohorts " + " ".join(args.cohorts)
        + f" --runs {args.runs} --spark-runs {args.spark_runs} --study-size {args.study_size}"
        + (f" --postgres-max {args.postgres_max}" if args.postgres_max else "")
        + (f" --spark-max {args.spark_max}" if args.spark_max else "")
    )  # fmt: skip
    lines = [
        SECTION,
        "",
        "Three cohorts on SYNTHETIC registries (`myositis registry synth --preset "
        f"{PRESET} --sites {SITES} --seed {SEED}`): *study*, the bundled study's cohort and "
        "outcomes (studies/jak-refractory-dm.yaml; builder `study_cohort(connect(url), spec)`, "
        "with its attrition and the records the analyses need); *r1* and *r2*, two cohorts of "
        "the cohort language (benchmarks/cohorts/; builder `run_cohort(connect(url), cohort)`, "
        "attrition and members in one query): R1 observed new users of a JAK inhibitor (365 "
        "days observed before, DM on 2 distinct dates, no M36.0 code in the year before, CK "
        "above 2 x ULN in the 90 days before, exit at the end of the JAK era, 30-day gap); R2 "
        "every DM code observed 180 days after the period's start, ANY / AT_LEAST 2 (with a "
        "nested ANY) groups and an age rule, a year's follow-up censored at a JAK start or a "
        "grade 3 adverse event, periods 30 days apart merged. Each is measured against the "
        "same cohort as ONE hand-written SQL query (*hand*; the same text on DuckDB, PostgreSQL "
        "and Spark SQL, benchmarks/cohort_sql.py) and as the statement sequence of an OHDSI "
        "Circe-style generator (*circe*: codeset temp table, primary events, one temp table "
        "per inclusion rule, inclusion mask, end strategy, censoring, cohort rows, era "
        "collapse; the shape of circe-be's `resources/cohortdefinition/sql/*.sql`, commit "
        "9a80aa7; not run on Spark, where OHDSI's SqlRender writes real tables in a scratch "
        "database). The study's *hand* query returns only the members' outcome values; the "
        "builder's query returns its attrition and the members' records too, so the study is "
        "also measured against *same*: ONE hand-written query returning what the builder's "
        "returns (the attrition, the data cutoff, the members' outcome values with their "
        "person and subtype, and each kind of their records as one list; `same_sql`), its "
        "attrition, cutoff and record counts checked against the builder's. The rows "
        "compared (study: persons, index date, drug, CDASI values and response; r1/r2: "
        "person_id, index_date, exit_date of every cohort period): "
        + (
            "the same for every method on every engine and size (checked in the run)."
            if not differences
            else "**NOT the same everywhere, or a measurement failed** (listed below the "
            "table; the figures of those cells time a different result)."
        )
        + " Each method of a cell runs in a process of its own (the package byte-compiled "
        "first, as `pip install` leaves it), started together, their runs taken in turn, one "
        "at a time, the order rotated each round, so that every method's runs fall in the "
        "same minutes of a shared machine (on Spark one method after the other: its local "
        "metastore admits one process); *cold* is each process's first run (imports, the "
        "engine's first queries, the builder's first compile: what a cache cannot hide: "
        "each builder's child starts with an empty plan cache), *2nd "
        "process* one run in a new process with the plans the first child left on disk (a "
        "second `myositis cohort run` or `study run`), *warm* the median of the "
        f"{args.runs} later runs ({args.spark_runs} on Spark); peak RSS of the builder's "
        "process (on Spark the Python process only: Spark's JVM is a process of its own, "
        "not measured).",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine}",
        "",
        f"Versions: {versions}",
        "",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "Setup (seconds, not in the figures): "
        + (", ".join(f"{k} {v:.1f}" for k, v in setup.items()) or "all reused from --workdir"),
        "",
        "| cohort | persons | DM patients | members | engine | builder cold (s) | builder 2nd "
        "process (s) | builder warm (s) | hand (s) | same (s) | circe (s) | warm / hand | "
        "warm / same | 2nd process / hand | cold / hand | warm / circe | builder RSS (MiB) |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cohort, by_size in results.items():
        for size, engines in sorted(by_size.items()):
            for engine, m in engines.items():
                b = m["builder"]
                h, same, c = (_method(m, k) for k in ("hand", "same", "circe"))
                lines.append(
                    f"| {cohort} | {size:,} | {dm[size]:,} | {len(b['rows']):,} | {engine} | "
                    f"{_fmt(b['cold'])} | {_fmt(b.get('disk'))} | {_fmt(b['median'])} | "
                    f"{_fmt(h)} | {_fmt(same)} | {_fmt(c)} | {_ratio(b['median'], h)} | "
                    f"{_ratio(b['median'], same)} | {_ratio(b.get('disk'), h)} | "
                    f"{_ratio(b['cold'], h)} | {_ratio(b['median'], c)} | {b['rss']:.0f} |"
                )
    if differences:
        lines += ["", "Rows that differ from the builder's, and measurements that failed:", ""]
        lines += [f"- {d}" for d in differences]
    lines += ["", "Targets of issue 13 item 4, judged on the medians above (warm) and on the "
              "first run (cold):", ""]  # fmt: skip
    lines += _target_rows(results, args.engines)
    biggest = max(args.sizes)
    for cohort, by_size in results.items():
        m = by_size.get(biggest, {}).get("duckdb")
        if m is not None:
            rss = m["builder"]["rss"]
            lines.append(
                f"| peak memory under 2 GB (DuckDB builder process) | {cohort} | {biggest:,} | "
                f"{rss:.0f} MiB | {'yes' if rss < 2048 else '**no**'} | | |"
            )
    if study is not None:
        first, again = study.get("command") or (None, None)
        timed = [
            ("the command, first run on the machine", first),
            ("the command, plans on disk", again),
            ("cold", study["cold"]),
            ("2nd process", study.get("disk")),
        ]
        for what, seconds in [*timed, ("warm", study["median"])]:
            if seconds is None:
                continue
            lines.append(
                f"| whole `study run` (report included) under 5 s on DuckDB, {what} | study | "
                f"{args.study_size:,} | {seconds:.1f} s | {'yes' if seconds < 5 else '**no**'} "
                "| | |"
            )
    lines += ["", "Growth with rows (ratio of the times of consecutive sizes):", ""]
    lines += [
        "| cohort | engine | persons | rows x | builder cold | builder warm | hand | circe |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for cohort, by_size in results.items():
        sizes = sorted(by_size)
        for small, large in zip(sizes, sizes[1:], strict=False):
            for engine in by_size[large]:
                if engine not in by_size[small]:
                    continue
                a, b = by_size[small][engine], by_size[large][engine]
                cells = [_ratio(b["builder"]["cold"], a["builder"]["cold"])]
                cells += [
                    _ratio(_method(b, k), _method(a, k)) for k in ("builder", "hand", "circe")
                ]
                lines.append(
                    f"| {cohort} | {engine} | {small:,} -> {large:,} | {large / small:.0f} | "
                    + " | ".join(c.replace("x", "") if c != "-" else c for c in cells)
                    + " |"
                )
    lines += ["", "Share of each builder step (median seconds of the warm runs; cold: the "
              "first run):", ""]  # fmt: skip
    lines += [
        "| cohort | persons | engine | step | warm (s) | share | cold (s) | share |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for cohort, by_size in results.items():
        for size, engines in sorted(by_size.items()):
            for engine, m in engines.items():
                b = m["builder"]
                cold = b["cold_timing"]["steps"]
                for name in b["timings"][0]["steps"]:
                    value = statistics.median(t["steps"].get(name, 0.0) for t in b["timings"])
                    first = cold.get(name, 0.0)
                    lines.append(
                        f"| {cohort} | {size:,} | {engine} | {name} | {_fmt(value)} | "
                        f"{value / b['median']:.0%} | {_fmt(first)} | {first / b['cold']:.0%} |"
                    )
    if study is not None:
        lines += [
            "",
            f"Whole `myositis study run` (`run_study`, report included) on the DuckDB registry of "
            f"{args.study_size:,} persons: first run in a fresh process (imports and first "
            f"compilations included) {study['cold']:.2f} s; one run in a second process with "
            f"the plans of the first on disk {study.get('disk') or float('nan'):.2f} s; later "
            "runs of the first process median "
            f"{study['median']:.2f} s (runs "
            + ", ".join(f"{s:.2f}" for s in study["runs"])
            + f"); peak RSS {study['rss']:.0f} MiB. "
            + (
                "The command `myositis study run` (process start to exit: interpreter, imports "
                f"and run) took {study['command'][0]:.2f} s with an empty plan cache and "
                f"{study['command'][1]:.2f} s run again. "
                if study.get("command")
                else ""
            )
            + "Median seconds of each step of the later "
            "runs (results.json `run.steps`):",
            "",
            "| step | seconds | share |",
            "|---|---:|---:|",
        ]
        timings = study["timings"]
        for name in [s["step"] for s in timings[0]["run"]["steps"]]:
            value = statistics.median(
                next(s["seconds"] for s in t["run"]["steps"] if s["step"] == name) for t in timings
            )
            lines.append(f"| {name} | {value:.3f} | {value / study['median']:.0%} |")
    lines.append("")
    return "\n".join(lines)


def _differences(results: dict[str, Any], cohort: str, size: int, engine: str) -> list[str]:
    """Where hand, same or circe returned other rows than the builder (same: or another
    check): one sentence each, naming the columns that differ and how many rows (empty when
    all agree)."""
    reference = results["builder"]["rows"]
    found = []
    if "same" in results and results["same"]["check"] != results["builder"]["check"]:
        found.append(
            f"same of {cohort} on {engine} at {size:,} persons: attrition, unscorable, cutoff "
            f"and record counts {results['same']['check']} against the builder's "
            f"{results['builder']['check']}"
        )
    for kind in ("hand", "same", "circe"):
        rows = results[kind]["rows"] if kind in results else reference
        if rows == reference:
            continue
        columns: dict[int, int] = {}
        for a, b in zip(rows, reference, strict=False):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                if x != y:
                    columns[i] = columns.get(i, 0) + 1
        names = COLUMNS if cohort == "study" else ("person_id", "index_date", "exit_date")
        what = ", ".join(f"{names[i]} in {n} row(s)" for i, n in sorted(columns.items()))
        first = [(a, b) for a, b in zip(rows, reference, strict=False) if a != b][:2]
        found.append(
            f"{kind} of {cohort} on {engine} at {size:,} persons: {len(rows)} rows against the "
            f"builder's {len(reference)}; differing: {what or 'row count'}; first "
            f"({kind}, builder): {first}"
        )
    return found


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["duckdb", "postgres", "spark"],
        choices=["duckdb", "postgres", "spark"],
    )
    parser.add_argument(
        "--cohorts", nargs="+", default=["study", "r1", "r2"], choices=["study", "r1", "r2"]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--spark-runs", type=int, default=1, help="timed runs on Spark (slow: minutes each)"
    )
    parser.add_argument("--study-size", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workdir", type=Path, help="keep the registries here between runs")
    parser.add_argument(
        "--postgres-max", type=int, default=1_000_000, help="PostgreSQL up to this size (0: all)"
    )
    parser.add_argument(
        "--spark-max", type=int, default=1_000_000, help="Spark up to this size (0: all)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the measurements a previous run saved in --workdir (measure-*.json)",
    )
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL copies after")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, cohort, engine, location, rows_file = sys.argv[2:7]
        if kind in ("builder", "study"):
            # as the `myositis` program runs them (cold: what a `cohort run` or `study run` pays)
            from myositis.cli import GC_THRESHOLDS

            gc.set_threshold(*GC_THRESHOLDS)
        _child(kind, cohort, engine, location, rows_file)
        return
    args = _arguments()
    from myositis.registry.observation import RECORD_DATES as DERIVED_FROM

    if tuple(DERIVED_FROM) != RECORD_DATES:
        raise SystemExit("benchmarks/cohort_sql.py RECORD_DATES differ from the registry's")
    byte_compile_package()  # the children and the command then start as an installed copy
    before = load()
    results: dict[str, dict[int, dict[str, dict[str, Any]]]] = {c: {} for c in args.cohorts}
    dm: dict[int, int] = {}
    setup: dict[str, float] = {}
    schemas = []
    differences: list[str] = []
    study = None
    limits = {"postgres": args.postgres_max, "spark": args.spark_max}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for size in sorted(args.sizes):
            registry = _registry(size, work, setup)
            dm[size] = _dm_patients(registry)
            for engine in args.engines:
                if limits.get(engine) and size > limits[engine]:
                    continue
                if engine == "duckdb":
                    url = raw = str(registry)
                elif engine == "postgres":
                    schema = _postgres(size, registry, args.postgres, setup)
                    schemas.append(schema)
                    url, raw = f"{args.postgres}?schema={schema}", f"{args.postgres}#{schema}"
                else:
                    url = raw = _spark(size, registry, work, setup)
                kinds = ("builder", "hand") if engine == "spark" else ("builder", "hand", "circe")
                for cohort in args.cohorts:
                    wanted = (*kinds, "same") if cohort == "study" else kinds
                    where = {k: url if k == "builder" else raw for k in wanted}
                    runs = args.spark_runs if engine == "spark" else args.runs
                    # Spark: one method at a time (its local metastore, Derby, admits one
                    # process); elsewhere every method's runs alternated (_alternate)
                    groups = [(k,) for k in wanted] if engine == "spark" else [wanted]
                    measured: dict[str, Any] = {}
                    for group in groups:
                        files = {
                            k: work / f"measure-{cohort}-{size}-{engine}-{k}.json" for k in group
                        }
                        if args.reuse and all(f.exists() for f in files.values()):
                            found = {k: json.loads(f.read_text()) for k, f in files.items()}
                        else:
                            found = _measure(group, cohort, engine, where, runs, work)
                            for k, m in found.items():
                                files[k].write_text(json.dumps(m))
                        for k in group:
                            if k not in found:  # listed in the section, the run goes on
                                differences.append(
                                    f"{k} of {cohort} on {engine} failed at {size:,} persons "
                                    "(no figure)"
                                )
                                continue
                            m = measured[k] = found[k]
                            print(f"{cohort} {size} {engine} {k}: cold {m['cold']:.2f} s, "
                                  f"runs {m['runs']}", flush=True)  # fmt: skip
                    if "builder" not in measured:
                        continue
                    for difference in _differences(measured, cohort, size, engine):
                        print("ROWS DIFFER:", difference, flush=True)
                        differences.append(difference)
                    results[cohort].setdefault(size, {})[engine] = measured
        if args.study_size:
            registry = _registry(args.study_size, work, setup)
            study = cached(
                work / f"measure-study-run-{args.study_size}.json",
                args.reuse,
                lambda: _measure(
                    ["study"], "study", "duckdb", {"study": str(registry)}, args.runs, work
                )["study"],
            )
            print("study run", study["runs"], flush=True)
    if args.drop and schemas:
        _drop(args.postgres, schemas)
    text = section(
        results,
        study,
        setup,
        args,
        f"{machine()}; load average {before} before the run, {load()} after (a shared machine)",
        versions("numpy", "pyarrow", "duckdb", "ibis-framework", "psycopg", "pyspark")
        + (f", {postgres_version(args.postgres)}" if "postgres" in args.engines else ""),
        dm,
        differences,
    )
    print(text)
    if not args.no_write:
        write_section(text)
    if differences:
        raise SystemExit(f"{len(differences)} comparison(s) returned other rows (see above)")


def _dm_patients(registry: Path) -> int:
    import duckdb

    with duckdb.connect(str(registry), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM dm_subtype").fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    main()
