"""Benchmark: the bundled study's cohort against one hand-written query and against the
multi-statement temp-table SQL an OHDSI/Circe-style generator runs (issue 13, item 4).

On SYNTHETIC registries of ``--sizes`` persons (``myositis registry synth --preset
referral-centre --sites 4 --seed 2026``, made once in ``--workdir``, copied into PostgreSQL
schema ``cohort_bench_<N>`` by ``myositis registry copy``), for each engine of ``--engines``:

- ``builder``: the project's cohort, ``myositis.study.runner.study_cohort(con, spec)`` on
  ``connect(url)`` (studies/jak-refractory-dm.yaml: the cohort with its attrition, its
  outcomes -- baseline and follow-up CDASI activity, response -- and the records the analyses
  need); the share of each of its steps from its progress messages;
- ``hand``: the same cohort and outcome values as ONE hand-written SQL query (:func:`hand_sql`;
  the same text runs on DuckDB and PostgreSQL), fetched in full: the practical limit;
- ``circe``: the same cohort as the statement sequence of OHDSI Circe's generated SQL
  (:func:`circe_sql`; shape of circe-be ``src/main/resources/resources/cohortdefinition/sql/``
  ``codesetQuery.sql``, ``primaryEventsQuery.sql``, ``generateCohort.sql``,
  ``inclusionrule.sql``, ``additionalCriteriaInclude.sql``, ``windowedCriteria.sql`` at
  commit 9a80aa7: a codeset temp table, primary events, qualified events with their
  additional criteria, one temp table of inclusion events per rule, the inclusion mask,
  cohort rows and the era-collapsed final cohort), followed by the query that reads the
  members' outcome values, as FeatureExtraction would.

The three must return the same persons and values (asserted; the run stops otherwise). Each
measurement runs in a fresh child process (``--child``): a warm-up, then ``--runs`` timed runs,
medians reported, and the child's peak RSS (``ru_maxrss``). With ``--study-size N`` (default
1,000,000; 0 skips it) the whole ``myositis study run`` (``run_study``, report included) runs on
the DuckDB registry of N persons, with the share of each of its steps (results.json ``run``).

Prints a markdown section and writes it to docs/benchmarks.md ("Cohort at hospital scale").

Usage:  python benchmarks/bench_cohort.py [--sizes 100000 1000000 5000000]
        [--engines duckdb postgres] [--runs 3] [--study-size 1000000] [--workdir DIR]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--drop] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from record import load, machine, postgres_version, versions, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Cohort at hospital scale"
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
PRESET, SITES, SEED = "referral-centre", 4, 2026
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
_ICD = ("ICD10CM", "ICD9CM")


# --- the SQL of the two comparisons -----------------------------------------------------------


def _spec() -> Any:
    from myositis.study.spec import load_spec

    return load_spec(SPEC)


def _literals(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _normalised(system: str, code: str) -> str:
    """The comparison form of a code column (myositis.cohort.concepts: undotted upper-case
    ICD, trimmed otherwise)."""
    return (
        f"CASE WHEN upper(trim({system})) IN ({_literals(_ICD)}) "
        f"THEN replace(upper(trim({code})), '.', '') ELSE trim({code}) END"
    )


def _match(system: str, code: str, pairs: dict[str, set[str]]) -> str:
    """True where (system, code) is in the concept set, false (never null) otherwise."""
    parts = []
    for name, codes in sorted(pairs.items()):
        compared = f"replace(upper(trim({code})), '.', '')" if name in _ICD else f"trim({code})"
        parts.append(f"(upper(trim({system})) = '{name}' AND {compared} IN ({_literals(codes)}))")
    return f"coalesce({' OR '.join(parts)}, false)" if parts else "false"


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


def _in_or_false(column: str, values: set[str]) -> str:
    if not values:
        return "false"
    return f"coalesce(lower(trim({column})) IN ({_literals(values)}), false)"


def _cdasi_activity(persons: str) -> str:
    """CDASI activity of each administration of the persons in ``persons`` (a relation with
    person_id): a recorded ``activity`` row, else the sum of the activity items plus Gottron's
    erythema once more with papules (Yassaee 2010), missing when an item is blank."""
    from myositis.instruments.cdasi import ACTIVITY_ITEMS, GOTTRON_ERYTHEMA, ITEMS, PAPULES

    needed = (*ACTIVITY_ITEMS, PAPULES)
    return f"""
    SELECT assessment_id, person_id, assessment_date, max(value) AS activity
    FROM cdasi_rows x WHERE lower(measure) = 'activity'
    GROUP BY assessment_id, person_id, assessment_date
    UNION ALL
    SELECT assessment_id, person_id, assessment_date,
      CASE WHEN count(DISTINCT measure) FILTER (WHERE measure IN ({_literals(needed)}))
                = {len(needed)}
      THEN sum(value) FILTER (WHERE measure IN ({_literals(ACTIVITY_ITEMS)}))
         + max(value) FILTER (WHERE measure = '{GOTTRON_ERYTHEMA}')
         * max(value) FILTER (WHERE measure = '{PAPULES}') END AS activity
    FROM cdasi_rows c
    WHERE measure IN ({_literals(f.column for f in ITEMS)})
      AND NOT EXISTS (SELECT 1 FROM cdasi_rows r WHERE r.assessment_id = c.assessment_id
                      AND lower(r.measure) = 'activity')
    GROUP BY assessment_id, person_id, assessment_date
    """.replace(
        "cdasi_rows",
        f"(SELECT a.* FROM assessment a WHERE lower(a.instrument) = 'cdasi' AND a.person_id "
        f"IN (SELECT person_id FROM {persons}))",
    )


def _qualifying(k: dict[str, Any], alias: str) -> str:
    excluded = " OR ".join(
        [
            _match(f"{alias}.code_system", f"{alias}.code", k["exclude"]),
            _in_or_false(f"{alias}.formulation", k["formulations"]),
            _in_or_false(f"{alias}.route", k["routes"]),
        ]
    )
    included = (
        f"{_match(f'{alias}.code_system', f'{alias}.code', k['include'])} OR "
        f"{_in_or_false(f'{alias}.ingredient', k['ingredients'])}"
    )
    return f"({included}) AND NOT ({excluded})"


def _outcomes(k: dict[str, Any], scored: str) -> str:
    """The last common table expressions and the final SELECT: the baseline (closest to the
    index, the later on a tie), the last follow-up, the count, the last day and the first
    responding day, from ``scored`` (person_id, assessment_id, assessment_date, activity,
    days, index_date, ingredient, first_diagnosis_date)."""
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
    )
    SELECT person_id, index_date, ingredient, first_diagnosis_date, baseline_date,
           baseline_days, baseline_activity, assessment_date AS followup_date,
           days AS followup_days, activity AS followup_activity, followup_count,
           last_followup_days, responded AS responder, response_days
    FROM chosen WHERE rn = 1
    ORDER BY person_id"""


def hand_sql() -> str:
    """The bundled study's cohort and outcome values as one query (DuckDB and PostgreSQL)."""
    k = _concepts(_spec())
    return f"""
    WITH dx AS (
      SELECT d.person_id, min(d.diagnosis_date) AS first_diagnosis_date
      FROM diagnosis d
      WHERE {_match("d.code_system", "d.code", k["diagnosis"])}
        AND d.person_id IN (SELECT person_id FROM person)
      GROUP BY d.person_id
      HAVING count(DISTINCT d.diagnosis_date) >= {k["min_occurrences"]}
    ),
    idx AS (
      SELECT person_id, index_date, ingredient, first_diagnosis_date FROM (
        SELECT e.person_id, e.start_date AS index_date, lower(e.ingredient) AS ingredient,
               dx.first_diagnosis_date,
               row_number() OVER (PARTITION BY e.person_id
                                  ORDER BY e.start_date, e.ingredient, e.exposure_id) AS rn
        FROM drug_exposure e JOIN dx ON dx.person_id = e.person_id
        WHERE e.start_date IS NOT NULL AND {_qualifying(k, "e")}
      ) ranked WHERE rn = 1
    ),
    activity AS ({_cdasi_activity("idx")}),
    scored AS (
      SELECT s.assessment_id, s.person_id, s.assessment_date, s.activity,
             s.assessment_date - i.index_date AS days, i.index_date, i.ingredient,
             i.first_diagnosis_date
      FROM activity s JOIN idx i ON i.person_id = s.person_id
      WHERE s.activity IS NOT NULL
    ),
    {_outcomes(k, "scored")}
    """


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


def circe_sql() -> list[str]:
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
            f"{_normalised(f'{alias}.code_system', f'{alias}.code')})"
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
              JOIN ({_cdasi_activity("qualified_events")}) A ON A.person_id = p.person_id
                AND A.activity IS NOT NULL
                AND A.assessment_date >= p.start_date + {start}
                AND A.assessment_date <= p.start_date + {end}
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
                 s.assessment_date - m.index_date AS days, m.index_date, m.ingredient,
                 dx.first_diagnosis_date
          FROM ({_cdasi_activity("members")}) s
          JOIN members m ON m.person_id = s.person_id
          JOIN dx ON dx.person_id = s.person_id
          WHERE s.activity IS NOT NULL
        ),
        {_outcomes(k, "scored")}""",
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


def _raw(engine: str, location: str) -> tuple[Any, Callable[[str], list[Any]], Callable[[], None]]:
    """A driver connection, a function running one statement (rows of a query), a closer."""
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect(location, read_only=True)

        def run(sql: str) -> list[Any]:
            cursor = con.execute(sql)
            return cursor.fetchall() if cursor.description else []

        return con, run, con.close
    import psycopg

    url, schema = location.split("#")
    pg = psycopg.connect(url, autocommit=True)
    pg.execute(f"SET search_path TO {schema}")

    def run_pg(sql: str) -> list[Any]:
        cursor = pg.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []

    return pg, run_pg, pg.close


def _child(kind: str, engine: str, location: str, runs: int, rows_file: str) -> None:
    timings: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    if kind == "builder":
        from myositis.registry.connect import connect
        from myositis.study.runner import study_cohort

        con = connect(location)
        spec = _spec()
        marks: list[tuple[float, str]] = []

        def progress(message: str, done: int | None = None, total: int | None = None) -> None:
            marks.append((time.perf_counter(), message))

        for index in range(runs + 1):
            marks.clear()
            began = time.perf_counter()
            cohort = study_cohort(con, spec, progress)
            ended = time.perf_counter()
            steps: dict[str, float] = {}
            for (at, message), (until, _) in zip(marks, [*marks[1:], (ended, "")], strict=True):
                steps[message] = steps.get(message, 0.0) + until - at
            if index:
                timings.append({"seconds": ended - began, "steps": steps})
        rows = [_row(getattr(p, c) for c in COLUMNS) for p in cohort.patients]
        con.disconnect()
    elif kind == "study":
        from myositis.study.runner import run_study

        with tempfile.TemporaryDirectory() as out:
            for _ in range(runs + 1):
                began = time.perf_counter()
                result = run_study(SPEC, location, Path(out) / "report")
                # the first run of the process (imports, first compilations) is kept apart
                timings.append(
                    {"seconds": time.perf_counter() - began, "run": result.results["run"]}
                )
            cold = timings.pop(0)
            timings[0]["cold"] = cold
            rows = [[len(result.results["patients"])]]
    else:
        statements = [hand_sql()] if kind == "hand" else circe_sql()
        con, run, close = _raw(engine, location)
        for index in range(runs + 1):
            began = time.perf_counter()
            for statement in statements:
                fetched = run(statement)
            ended = time.perf_counter()
            if kind == "circe":
                for table in CIRCE_TABLES:
                    run(f"DROP TABLE IF EXISTS {table}")
            if index:
                timings.append({"seconds": ended - began})
        rows = [_row(r) for r in fetched]
        close()
    Path(rows_file).write_text(json.dumps(rows))
    print(json.dumps(timings))


def _measure(kind: str, engine: str, location: str, runs: int, work: Path) -> dict[str, Any]:
    """Run one child; its timings, rows and peak RSS (MiB)."""
    rows_file = work / f"rows-{kind}-{engine}-{os.getpid()}.json"
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, engine, location, str(runs), str(rows_file)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} on {engine} ({location}) failed")
    timings = json.loads(output.decode().strip().splitlines()[-1])
    rows = json.loads(rows_file.read_text())
    rows_file.unlink()
    seconds = [t["seconds"] for t in timings]
    return {
        "median": statistics.median(seconds),
        "runs": seconds,
        "timings": timings,
        "rows": rows,
        "rss": usage.ru_maxrss / 1024,
    }


# --- setup: registries on each engine --------------------------------------------------------


def _cli(*args: str) -> float:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "myositis.cli", *args], check=True, env=env)
    return time.perf_counter() - began


def _registry(size: int, work: Path) -> Path:
    path = work / f"registry-{size}.duckdb"
    if not path.exists():
        _cli(
            "registry", "synth", "-n", str(size), "--sites", str(SITES), "--seed", str(SEED),
            "--preset", PRESET, "-o", str(path), "--quiet",
        )  # fmt: skip
    return path


def _postgres(size: int, registry: Path, server: str) -> str:
    """The registry's copy in PostgreSQL (made unless a complete copy is there)."""
    import psycopg

    schema = f"cohort_bench_{size}"
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
        _cli("registry", "copy", str(registry), f"{server}?schema={schema}", "--replace", "--quiet")
    # `registry copy` leaves the planner without statistics until autovacuum gets to the new
    # tables; a DBA (and every comparison here) would have them: ANALYZE, as after any load
    with psycopg.connect(server, autocommit=True) as pg:
        names = pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (name,) in names:
            pg.execute(f"ANALYZE {schema}.{name}")
    return schema


def _drop(server: str, schemas: Iterable[str]) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as pg:
        for schema in schemas:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


# --- the report ------------------------------------------------------------------------------


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def section(
    results: dict[int, dict[str, dict[str, Any]]],
    study: dict[str, Any] | None,
    args: argparse.Namespace,
    machine: str,
    versions: str,
    dm: dict[int, dict[str, int]],
) -> str:
    """The markdown section: tables of times, ratios against the targets, shares, memory."""
    sizes = sorted(results)
    command = (
        "python benchmarks/bench_cohort.py --sizes "
        + " ".join(str(s) for s in sizes)
        + " --engines "
        + " ".join(args.engines)
        + f" --runs {args.runs} --study-size {args.study_size}"
        + (f" --postgres-max {args.postgres_max}" if args.postgres_max else "")
    )
    lines = [
        SECTION,
        "",
        "The bundled study's cohort and outcomes (studies/jak-refractory-dm.yaml) on SYNTHETIC "
        f"registries (`myositis registry synth --preset {PRESET} --sites {SITES} --seed "
        f"{SEED}`), measured against the same cohort as one hand-written SQL query (*hand*) and "
        "as the statement sequence of an OHDSI Circe-style generator (*circe*: codeset temp "
        "table, primary events, qualified events, one temp table per inclusion rule, inclusion "
        "mask, cohort rows, era-collapsed final cohort, then the members' outcome values; the "
        "shape of circe-be's `resources/cohortdefinition/sql/*.sql`, commit 9a80aa7). *builder*: "
        "`study_cohort(connect(url), spec)`, the project's cohort (with its attrition and the "
        "records the analyses need). The three returned the same persons and values (index "
        "date, drug, first diagnosis, baseline and follow-up CDASI activity, days, follow-up "
        "count, responder, days to response) on every engine and size: asserted in the run. "
        f"Each cell: a fresh process, a warm-up, then the median of {args.runs} runs; peak RSS "
        "of that process.",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine}",
        "",
        f"Versions: {versions}",
        "",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| persons | DM patients | cohort | engine | builder (s) | hand (s) | circe (s) | "
        "builder / hand | builder / circe | builder peak RSS (MiB) |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        for engine, m in results[size].items():
            b, h, c = (m[k]["median"] for k in ("builder", "hand", "circe"))
            lines.append(
                f"| {size:,} | {dm[size]['dm']:,} | {dm[size]['cohort']:,} | {engine} | "
                f"{_fmt(b)} | {_fmt(h)} | {_fmt(c)} | {_ratio(b, h)} | {_ratio(b, c)} | "
                f"{m['builder']['rss']:.0f} |"
            )
    lines += ["", "Targets of issue 13 item 4, judged on the medians above:", ""]
    lines += ["| target | persons | measured | met |", "|---|---:|---|---|"]
    for size in sizes:
        engines = results[size]
        if "duckdb" in engines:
            b, h = engines["duckdb"]["builder"]["median"], engines["duckdb"]["hand"]["median"]
            lines.append(
                f"| DuckDB builder within 1.5x of the hand-written DuckDB query | {size:,} | "
                f"{b / h:.1f}x | {'yes' if b <= 1.5 * h else '**no**'} |"
            )
        if "duckdb" in engines and "postgres" in engines:
            b = engines["duckdb"]["builder"]["median"]
            c = engines["postgres"]["circe"]["median"]
            lines.append(
                f"| DuckDB builder >= 10x faster than the Circe-style SQL on PostgreSQL | "
                f"{size:,} | {c / b:.1f}x faster | {'yes' if c >= 10 * b else '**no**'} |"
            )
        for engine in ("postgres", "pyspark"):
            if engine in engines:
                m = engines[engine]
                best = min(m["hand"]["median"], m["circe"]["median"])
                b = m["builder"]["median"]
                lines.append(
                    f"| {engine} builder within 1.5x of the faster of hand and circe there | "
                    f"{size:,} | {b / best:.1f}x | {'yes' if b <= 1.5 * best else '**no**'} |"
                )
        if size == max(sizes) and "duckdb" in engines:
            rss = engines["duckdb"]["builder"]["rss"]
            lines.append(
                f"| peak memory under 2 GB (DuckDB builder process) | {size:,} | "
                f"{rss:.0f} MiB | {'yes' if rss < 2048 else '**no**'} |"
            )
    if study is not None:
        for what, seconds in (
            ("first run in a fresh process", study["timings"][0]["cold"]["seconds"]),
            ("median of later runs", study["median"]),
        ):
            lines.append(
                f"| whole `study run` (report included) under 5 s on DuckDB, {what} | "
                f"{args.study_size:,} | {seconds:.1f} s | {'yes' if seconds < 5 else '**no**'} |"
            )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = f"Growth from {small:,} to {large:,} persons (x{large / small:.0f} rows):"
        lines += ["", growth, ""]
        for engine in results[large]:
            if engine in results[small]:
                parts = []
                for kind in ("builder", "hand", "circe"):
                    ratio = (
                        results[large][engine][kind]["median"]
                        / results[small][engine][kind]["median"]
                    )
                    parts.append(f"{kind} x{ratio:.1f}")
                lines.append(f"- {engine}: " + ", ".join(parts))
    lines += ["", "Share of each builder step (median seconds of each progress step):", ""]
    lines += ["| persons | engine | step | seconds | share |", "|---:|---|---|---:|---:|"]
    for size in sizes:
        for engine, m in results[size].items():
            timings = m["builder"]["timings"]
            names = list(timings[0]["steps"])
            total = m["builder"]["median"]
            for name in names:
                value = statistics.median(t["steps"].get(name, 0.0) for t in timings)
                lines.append(
                    f"| {size:,} | {engine} | {name} | {_fmt(value)} | {value / total:.0%} |"
                )
    if study is not None:
        lines += [
            "",
            f"Whole `myositis study run` (`run_study`, report included) on the DuckDB registry of "
            f"{args.study_size:,} persons: first run in a fresh process (imports and first "
            f"compilations included) {study['timings'][0]['cold']['seconds']:.2f} s; later runs "
            f"of that process median {study['median']:.2f} s (runs "
            + ", ".join(f"{s:.2f}" for s in study["runs"])
            + f"); peak RSS {study['rss']:.0f} MiB. Median seconds of each step of the later "
            "runs (results.json `run.steps`):",
            "",
            "| step | seconds | share |",
            "|---|---:|---:|",
        ]
        timings = study["timings"]
        names = [s["step"] for s in timings[0]["run"]["steps"]]
        for name in names:
            value = statistics.median(
                next(s["seconds"] for s in t["run"]["steps"] if s["step"] == name) for t in timings
            )
            lines.append(f"| {name} | {value:.3f} | {value / study['median']:.0%} |")
    lines.append("")
    return "\n".join(lines)


def _same(results: dict[str, Any], size: int, engine: str) -> None:
    reference = results["builder"]["rows"]
    for kind in ("hand", "circe"):
        if results[kind]["rows"] != reference:
            differ = [
                (a, b) for a, b in zip(results[kind]["rows"], reference, strict=False) if a != b
            ][:3]
            raise SystemExit(
                f"{kind} on {engine} at {size:,} persons returned other rows than the builder: "
                f"{len(results[kind]['rows'])} vs {len(reference)} rows; first differences "
                f"{differ}"
            )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, engine, location, runs, rows_file = sys.argv[2:7]
        _child(kind, engine, location, int(runs), rows_file)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument(
        "--engines", nargs="+", default=["duckdb", "postgres"], choices=["duckdb", "postgres"]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--study-size", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workdir", type=Path, help="keep the registries here between runs")
    parser.add_argument(
        "--postgres-max", type=int, default=0, help="PostgreSQL only up to this size (0: all)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the measurements a previous run saved in --workdir (measure-*.json)",
    )
    parser.add_argument("--drop", action="store_true", help="drop the PostgreSQL copies after")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    before = load()
    results: dict[int, dict[str, dict[str, Any]]] = {}
    dm: dict[int, dict[str, int]] = {}
    schemas = []
    study = None
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for size in sorted(args.sizes):
            registry = _registry(size, work)
            results[size] = {}
            for engine in args.engines:
                if engine == "postgres" and args.postgres_max and size > args.postgres_max:
                    continue
                if engine == "duckdb":
                    url = raw = str(registry)
                else:
                    schema = _postgres(size, registry, args.postgres)
                    schemas.append(schema)
                    url, raw = f"{args.postgres}?schema={schema}", f"{args.postgres}#{schema}"
                measured = {}
                for kind in ("builder", "hand", "circe"):
                    measured[kind] = _cached(
                        work / f"measure-{size}-{engine}-{kind}.json",
                        args.reuse,
                        partial(
                            _measure,
                            kind,
                            engine,
                            url if kind == "builder" else raw,
                            args.runs,
                            work,
                        ),
                    )
                    print(size, engine, kind, measured[kind]["runs"], flush=True)
                _same(measured, size, engine)
                results[size][engine] = measured
            first = next(iter(results[size].values()))
            dm[size] = {"dm": _dm_patients(registry), "cohort": len(first["builder"]["rows"])}
        if args.study_size:
            registry = _registry(args.study_size, work)
            study = _cached(
                work / f"measure-study-{args.study_size}.json",
                args.reuse,
                lambda: _measure("study", "duckdb", str(registry), args.runs, work),
            )
            print("study run", study["runs"], flush=True)
    if args.drop and schemas:
        _drop(args.postgres, schemas)
    text = section(
        results,
        study,
        args,
        f"{machine()}; load average {before} before the run, {load()} after (a shared machine)",
        versions("numpy", "pyarrow", "duckdb", "ibis-framework", "psycopg")
        + (f", {postgres_version(args.postgres)}" if "postgres" in args.engines else ""),
        dm,
    )
    print(text)
    if not args.no_write:
        write_section(text)


def _cached(path: Path, reuse: bool, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A measurement saved in ``path`` by an earlier run (with ``reuse``), else a new one,
    saved there."""
    if reuse and path.exists():
        found: dict[str, Any] = json.loads(path.read_text())
        return found
    result = measure()
    path.write_text(json.dumps(result))
    return result


def _dm_patients(registry: Path) -> int:
    import duckdb

    with duckdb.connect(str(registry), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM dm_subtype").fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    main()
