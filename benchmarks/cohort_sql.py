"""SQL written by hand for benchmarks/bench_cohort.py: the pieces every comparison shares and
the two richer cohorts of the cohort language (benchmarks/cohorts/r1_*.yaml, r2_*.yaml), each
as ONE hand-written query and as the statement sequence of an OHDSI Circe-style generator.

The texts are written for these cohorts (their rules are spelt out here, not read from the
YAML); only the code lists come from the shipped code sets (``myositis.codes``), as a person
writing the query would paste them. The same text runs on DuckDB, PostgreSQL and Spark SQL:
the few differences (days between two dates, a date plus days) go through :class:`Dialect`.
The benchmark asserts that every text returns exactly the builder's rows, so a difference in
a rule stops the run instead of being timed.

Circe-style statements follow circe-be ``src/main/resources/resources/cohortdefinition/sql/``
at commit 9a80aa7: ``codesetQuery.sql`` (a codeset temp table; descendants resolved against
the codes present, as the vocabulary would), ``primaryEventsQuery.sql`` (entry events inside
an observation period), ``groupQuery.sql`` with ``additionalCriteriaInclude.sql``,
``additionalCriteriaLeftJoin.sql`` (exactly 0), ``windowedCriteria.sql`` and
``demographicCriteria.sql`` (one temp table per inclusion rule), ``generateCohort.sql`` (the
inclusion mask, cohort rows, era collapse), ``customEraStrategy.sql`` (drug eras by start and
end ordinals) and ``dateOffsetStrategy.sql`` with ``censoringQuery.sql``. Where the cohort
language's rule differs from Circe's it follows the language (docs/cohort-language.md): age
in completed years on the index date (Circe: year difference), no qualified limit without
additional criteria, a running exposure ends on 2999-12-31 (the end of observation caps it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

#: End date of a drug exposure without one (myositis.cohort.events.OPEN_END).
OPEN_END: Final = "2999-12-31"
_ICD: Final = ("ICD10CM", "ICD9CM")
#: The date columns an observation period is derived from when none is recorded
#: (myositis.registry.observation.RECORD_DATES; the benchmark checks they are the same).
RECORD_DATES: Final = (
    ("diagnosis", "diagnosis_date"),
    ("diagnosis", "end_date"),
    ("procedure", "procedure_date"),
    ("procedure", "end_date"),
    ("visit", "visit_date"),
    ("visit", "end_date"),
    ("observation", "observation_date"),
    ("measurement", "measurement_date"),
    ("dm_subtype", "classified_date"),
    ("drug_exposure", "start_date"),
    ("drug_exposure", "end_date"),
    ("assessment", "assessment_date"),
    ("laboratory", "result_date"),
    ("adverse_event", "onset_date"),
    ("death", "death_date"),
)
JAK_INGREDIENTS: Final = ("baricitinib", "ruxolitinib", "tofacitinib", "upadacitinib")
#: CK results with a value (the start of a laboratory source; add the value rule).
_CK: Final = (
    "SELECT person_id, result_date AS start_date FROM laboratory x "
    "WHERE lower(x.test) = 'ck' AND x.value IS NOT NULL"
)


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines' SQL in these texts: ``duckdb``, ``postgres`` or
    ``spark`` (Spark SQL: ``date - date`` is an interval there, so ``datediff``; rows
    aggregated into one list)."""

    name: str

    def days(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later`` (negative when ``later`` is before)."""
        if self.name == "spark":
            return f"datediff({later}, {earlier})"
        return f"({later} - {earlier})"

    def rows(self, alias: str) -> str:
        """Aggregate: every row of the relation ``alias`` as one list (DuckDB: a list of
        structs; Spark: an array of structs; PostgreSQL: a JSON array of objects)."""
        if self.name == "spark":
            return "collect_list(struct(*))"
        if self.name == "postgres":
            return f"json_agg({alias})"
        return f"list({alias})"

    def plus(self, date: str, days: int) -> str:
        """The date ``days`` after ``date``."""
        if self.name == "spark":
            return f"date_add({date}, {days})"
        return f"({date} + {days})"


# --- shared pieces ----------------------------------------------------------------------------


def literals(values: Iterable[str]) -> str:
    """SQL string literals, sorted, comma-separated."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def normalised(system: str, code: str) -> str:
    """The comparison form of a code column (myositis.cohort.concepts: undotted upper-case
    ICD, trimmed otherwise)."""
    return (
        f"CASE WHEN upper(trim({system})) IN ({literals(_ICD)}) "
        f"THEN replace(upper(trim({code})), '.', '') ELSE trim({code}) END"
    )


def match(system: str, code: str, pairs: dict[str, set[str]]) -> str:
    """True where (system, code) is in the concept set, false (never null) otherwise."""
    parts = []
    for name, codes in sorted(pairs.items()):
        compared = f"replace(upper(trim({code})), '.', '')" if name in _ICD else f"trim({code})"
        parts.append(f"(upper(trim({system})) = '{name}' AND {compared} IN ({literals(codes)}))")
    return f"coalesce({' OR '.join(parts)}, false)" if parts else "false"


def below(system: str, code: str, icd_system: str, prefix: str) -> str:
    """True where (system, code) is the ICD code ``prefix`` or a code below it (the cohort
    language's ``descendants: true``: undotted upper-case prefix), false otherwise."""
    bare = prefix.replace(".", "").upper()
    return (
        f"coalesce(upper(trim({system})) = '{icd_system}' AND "
        f"replace(upper(trim({code})), '.', '') LIKE '{bare}%', false)"
    )


def in_or_false(column: str, values: Iterable[str]) -> str:
    """``lower(trim(column))`` is one of ``values``; a null column is not."""
    values = set(values)
    if not values:
        return "false"
    return f"coalesce(lower(trim({column})) IN ({literals(values)}), false)"


def cdasi_activity(persons: str) -> str:
    """CDASI activity of each administration of the persons in ``persons`` (a relation with
    person_id): a recorded ``activity`` row, else the sum of the activity items plus Gottron's
    erythema once more with papules (Yassaee 2010), missing when an item is blank. Columns:
    assessment_id, person_id, assessment_date, activity."""
    from myositis.instruments.cdasi import ACTIVITY_ITEMS, GOTTRON_ERYTHEMA, ITEMS, PAPULES

    needed = (*ACTIVITY_ITEMS, PAPULES)
    return f"""
    SELECT assessment_id, person_id, assessment_date, max(value) AS activity
    FROM cdasi_rows x WHERE lower(measure) = 'activity'
    GROUP BY assessment_id, person_id, assessment_date
    UNION ALL
    SELECT assessment_id, person_id, assessment_date,
      CASE WHEN count(DISTINCT measure) FILTER (WHERE measure IN ({literals(needed)}))
                = {len(needed)}
      THEN sum(value) FILTER (WHERE measure IN ({literals(ACTIVITY_ITEMS)}))
         + max(value) FILTER (WHERE measure = '{GOTTRON_ERYTHEMA}')
         * max(value) FILTER (WHERE measure = '{PAPULES}') END AS activity
    FROM cdasi_rows c
    WHERE measure IN ({literals(f.column for f in ITEMS)})
      AND NOT EXISTS (SELECT 1 FROM cdasi_rows r WHERE r.assessment_id = c.assessment_id
                      AND lower(r.measure) = 'activity')
    GROUP BY assessment_id, person_id, assessment_date
    """.replace(
        "cdasi_rows",
        f"(SELECT a.* FROM assessment a WHERE lower(a.instrument) = 'cdasi' AND a.person_id "
        f"IN (SELECT person_id FROM {persons}))",
    )


def observation_periods(persons: str) -> str:
    """Observation periods of the persons in ``persons`` (myositis.registry.observation): the
    recorded ones, else one derived from the person's earliest to latest recorded date.
    Columns: person_id, op_start, op_end."""
    dates = "\n        UNION ALL ".join(
        f"SELECT person_id, {column} AS day FROM {table} "
        f"WHERE person_id IN (SELECT person_id FROM {persons})"
        for table, column in RECORD_DATES
    )
    return f"""
    SELECT person_id, start_date AS op_start, end_date AS op_end FROM observation_period
    WHERE person_id IN (SELECT person_id FROM {persons})
    UNION ALL
    SELECT person_id, min(day) AS op_start, max(day) AS op_end FROM (
        {dates}
    ) recorded
    WHERE day IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM observation_period op WHERE op.person_id = recorded.person_id)
    GROUP BY person_id"""


def _codes(*roles: str) -> dict[str, set[str]]:
    from myositis.cohort.concepts import code_pairs

    return code_pairs(roles)


def _dm(alias: str) -> str:
    """A DM code (the shipped ``dm_diagnosis`` set) that is not M33.2 or below."""
    s, c = f"{alias}.code_system", f"{alias}.code"
    return f"({match(s, c, _codes('dm_diagnosis'))} AND NOT {below(s, c, 'ICD10CM', 'M33.2')})"


def _jak(alias: str) -> str:
    """A JAK inhibitor exposure: the shipped code set or a JAK ingredient, minus the topical
    ruxolitinib code (not its route: the routes are the events' own rule)."""
    s, c = f"{alias}.code_system", f"{alias}.code"
    included = f"{match(s, c, _codes('jak_inhibitor'))} OR " + in_or_false(
        f"{alias}.ingredient", JAK_INGREDIENTS
    )
    return f"(({included}) AND NOT {match(s, c, _codes('jak_topical_exclude'))})"


def _islands(d: Dialect, source: str, gap: int) -> str:
    """Periods (person_id, start_date, end_date) of ``source`` merged when the next starts at
    most ``gap`` days after the latest end so far: person_id, start_date, end_date."""
    return f"""
    SELECT person_id, min(start_date) AS start_date, max(end_date) AS end_date FROM (
      SELECT person_id, start_date, end_date,
             sum(CASE WHEN prev_end IS NULL OR {d.days("start_date", "prev_end")} > {gap}
                 THEN 1 ELSE 0 END)
               OVER (PARTITION BY person_id ORDER BY start_date, end_date
                     ROWS UNBOUNDED PRECEDING) AS island
      FROM (
        SELECT person_id, start_date, end_date,
               max(end_date) OVER (PARTITION BY person_id ORDER BY start_date, end_date
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
        FROM {source}
      ) marked
    ) numbered GROUP BY person_id, island"""


def _counted(d: Dialect, name: str, events: str, source: str, window: tuple[int | None, int | None],
             *, date: str = "start_date", count: str = "count(*)") -> str:  # fmt: skip
    """CTE ``name``: per entry event of ``events`` (person_id, index_date, op_start, op_end),
    ``n`` = ``count`` of the rows of ``source`` (person_id, start_date, end_date) whose
    ``date`` is within ``window`` days of the index and whose start is inside the index's
    observation period."""
    start, end = window
    days = d.days(f"s.{date}", "e.index_date")
    bounds = [f"{days} >= {start}"] if start is not None else []
    bounds += [f"{days} <= {end}"] if end is not None else []
    return f"""{name} AS (
      SELECT e.person_id, e.index_date, {count} AS n
      FROM {events} e JOIN ({source}) s ON s.person_id = e.person_id
      WHERE {" AND ".join(bounds)} AND s.start_date >= e.op_start AND s.start_date <= e.op_end
      GROUP BY e.person_id, e.index_date
    )"""


# --- R1: observed new users of a JAK inhibitor with raised CK ---------------------------------


def r1_hand(d: Dialect) -> str:
    """Cohort R1 (benchmarks/cohorts/r1_observed_new_users.yaml) as one query: each person's
    first systemic JAK exposure, kept when it lies in an observation period with 365 days
    before it; DM codes on 2 distinct dates up to the index, no M36.0 code in the 365 days
    before, a CK above 2 x ULN in the 90 days before (each inside that period); exit at the end
    of the JAK era holding the index (exposures at most 30 days apart), capped by the period's
    end. Rows: person_id, index_date, exit_date, ordered."""
    diagnoses = "SELECT person_id, diagnosis_date AS start_date FROM diagnosis x WHERE "
    dm = _counted(
        d, "dm", "idx", diagnoses + _dm("x"), (None, 0), count="count(DISTINCT s.start_date)"
    )
    cancer = _counted(
        d,
        "cancer",
        "idx",
        diagnoses + below("x.code_system", "x.code", "ICD10CM", "M36.0"),
        (-365, -1),
    )
    ck = _counted(d, "ck", "idx", _CK + " AND x.value / x.uln > 2", (-90, 0))
    drugs = (
        f"(SELECT e.person_id, e.start_date, coalesce(e.end_date, DATE '{OPEN_END}') AS end_date "
        f"FROM drug_exposure e WHERE e.start_date IS NOT NULL AND {_jak('e')} "
        "AND e.person_id IN (SELECT person_id FROM members)) drugs"
    )
    eras = _islands(d, drugs, 30)
    return f"""
    WITH first_jak AS (
      SELECT person_id, start_date, end_date FROM (
        SELECT e.person_id, e.start_date, coalesce(e.end_date, DATE '{OPEN_END}') AS end_date,
               row_number() OVER (PARTITION BY e.person_id
                 ORDER BY e.start_date, coalesce(e.end_date, DATE '{OPEN_END}')) AS rn
        FROM drug_exposure e
        WHERE e.start_date IS NOT NULL AND {_jak("e")} AND NOT {in_or_false("e.route", ["topical"])}
      ) ranked WHERE rn = 1
    ),
    periods AS ({observation_periods("first_jak")}),
    idx AS (
      SELECT f.person_id, f.start_date AS index_date, p.op_start, p.op_end
      FROM first_jak f JOIN periods p ON p.person_id = f.person_id
      WHERE {d.days("f.start_date", "p.op_start")} >= 365
        AND {d.days("p.op_end", "f.start_date")} >= 0
    ),
    {dm},
    {cancer},
    {ck},
    members AS (
      SELECT i.* FROM idx i
      JOIN dm ON dm.person_id = i.person_id AND dm.n >= 2
      JOIN ck ON ck.person_id = i.person_id AND ck.n >= 1
      LEFT JOIN cancer ON cancer.person_id = i.person_id
      WHERE cancer.n IS NULL
    ),
    eras AS ({eras}),
    ends AS (
      SELECT m.person_id, m.index_date, m.op_end,
             coalesce(max(x.end_date), m.op_end) AS era_end
      FROM members m LEFT JOIN eras x ON x.person_id = m.person_id
        AND x.start_date <= m.index_date AND x.end_date >= m.index_date
      GROUP BY m.person_id, m.index_date, m.op_end
    )
    SELECT person_id, index_date,
           CASE WHEN op_end < era_end THEN op_end ELSE era_end END AS exit_date
    FROM ends ORDER BY person_id, index_date"""  # noqa: E501


# --- R2: DM diagnosis events with active disease, censored at a JAK inhibitor ------------------


def r2_hand(d: Dialect) -> str:
    """Cohort R2 (benchmarks/cohorts/r2_dm_events_collapsed.yaml) as one query: persons with
    DM codes on 2 distinct dates; every DM code of theirs in an observation period with 180
    days before it; kept when ANY of CDASI activity above 14 or CK above 2 x ULN lies within
    60 days, AT_LEAST 2 of (a prednisone exposure ending within 365 days; 2 CDASI activities
    in the year before; ANY of MMT-8 below 76 or CK above 500 U/L within 365 days), and the
    person is 18 or older on that day (completed years; a birth year alone: born 1 July);
    exit 365 days later, capped by the period's end, cut at the first JAK start (systemic) or
    adverse event of grade 3 or more on or after the index; periods at most 30 days apart
    merged. Rows: person_id, index_date, exit_date, ordered."""
    steroids = (
        f"SELECT person_id, start_date, coalesce(end_date, DATE '{OPEN_END}') AS end_date "
        f"FROM drug_exposure x WHERE x.start_date IS NOT NULL AND "
        + in_or_false("x.ingredient", ["prednisone"])
    )
    mmt8 = (
        "SELECT person_id, assessment_date AS start_date FROM assessment x WHERE "
        "lower(x.instrument) = 'mmt8' AND lower(x.measure) = 'total' AND x.value < 76"
    )
    active_skin = _counted(
        d, "active_skin", "entry", "SELECT * FROM activity WHERE activity > 14", (-60, 60)
    )
    high_ck = _counted(d, "high_ck", "entry", _CK + " AND x.value / x.uln > 2", (-60, 60))
    steroid = _counted(d, "steroid", "entry", steroids, (-365, 365), date="end_date")
    skin_before = _counted(d, "skin_before", "entry", "SELECT * FROM activity", (-365, -1))
    weak = _counted(d, "weak", "entry", mmt8, (-365, 365))
    ck_500 = _counted(d, "ck_500", "entry", _CK + " AND x.value > 500", (-365, 365))
    islands = _islands(d, "periods_out", 30)
    return f"""
    WITH dx AS (
      SELECT x.person_id, x.diagnosis_date FROM diagnosis x
      WHERE {_dm("x")} AND x.diagnosis_date IS NOT NULL
    ),
    persons AS (
      SELECT person_id FROM dx WHERE person_id IN (SELECT person_id FROM person)
      GROUP BY person_id HAVING count(DISTINCT diagnosis_date) >= 2
    ),
    periods AS ({observation_periods("persons")}),
    entry AS (
      SELECT DISTINCT x.person_id, x.diagnosis_date AS index_date, p.op_start, p.op_end
      FROM dx x JOIN persons USING (person_id) JOIN periods p ON p.person_id = x.person_id
      WHERE {d.days("x.diagnosis_date", "p.op_start")} >= 180
        AND {d.days("p.op_end", "x.diagnosis_date")} >= 0
    ),
    activity AS (
      SELECT person_id, assessment_date AS start_date, activity FROM ({cdasi_activity("entry")}) a
      WHERE activity IS NOT NULL AND assessment_date IS NOT NULL
    ),
    {active_skin},
    {high_ck},
    {steroid},
    {skin_before},
    {weak},
    {ck_500},
    members AS (
      SELECT e.person_id, e.index_date, e.op_end FROM entry e
      LEFT JOIN active_skin a ON a.person_id = e.person_id AND a.index_date = e.index_date
      LEFT JOIN high_ck c ON c.person_id = e.person_id AND c.index_date = e.index_date
      LEFT JOIN steroid s ON s.person_id = e.person_id AND s.index_date = e.index_date
      LEFT JOIN skin_before b ON b.person_id = e.person_id AND b.index_date = e.index_date
      LEFT JOIN weak w ON w.person_id = e.person_id AND w.index_date = e.index_date
      LEFT JOIN ck_500 k ON k.person_id = e.person_id AND k.index_date = e.index_date
      JOIN person p ON p.person_id = e.person_id
      WHERE (a.n IS NOT NULL OR c.n IS NOT NULL)
        AND (CASE WHEN s.n IS NOT NULL THEN 1 ELSE 0 END
             + CASE WHEN b.n >= 2 THEN 1 ELSE 0 END
             + CASE WHEN w.n IS NOT NULL OR k.n IS NOT NULL THEN 1 ELSE 0 END) >= 2
        AND EXTRACT(YEAR FROM e.index_date)
            - coalesce(EXTRACT(YEAR FROM p.birth_date), p.birth_year)
            - CASE WHEN EXTRACT(MONTH FROM e.index_date) * 100 + EXTRACT(DAY FROM e.index_date)
                        < coalesce(EXTRACT(MONTH FROM p.birth_date) * 100
                                   + EXTRACT(DAY FROM p.birth_date), 701)
                   THEN 1 ELSE 0 END >= 18
    ),
    censor AS (
      SELECT x.person_id, x.start_date AS day FROM drug_exposure x
      WHERE x.start_date IS NOT NULL AND {_jak("x")} AND NOT {in_or_false("x.route", ["topical"])}
        AND x.person_id IN (SELECT person_id FROM members)
      UNION ALL
      SELECT x.person_id, x.onset_date FROM adverse_event x
      WHERE x.onset_date IS NOT NULL AND x.grade >= 3
        AND x.person_id IN (SELECT person_id FROM members)
    ),
    ends AS (
      SELECT m.person_id, m.index_date,
             CASE WHEN m.op_end < {d.plus("m.index_date", 365)} THEN m.op_end
                  ELSE {d.plus("m.index_date", 365)} END AS capped,
             min(c.day) AS censored
      FROM members m LEFT JOIN censor c ON c.person_id = m.person_id AND c.day >= m.index_date
      GROUP BY m.person_id, m.index_date, m.op_end
    ),
    periods_out AS (
      SELECT person_id, index_date AS start_date,
             CASE WHEN censored IS NOT NULL AND censored < capped THEN censored ELSE capped END
               AS end_date
      FROM ends
    )
    SELECT person_id, start_date AS index_date, end_date AS exit_date
    FROM ({islands}) merged
    ORDER BY person_id, index_date"""  # noqa: E501


# --- Circe-style statement sequences ----------------------------------------------------------

#: Temp tables the Circe-style scripts of R1 and R2 create (dropped after each run).
CIRCE_RICH_TABLES: Final = (
    "codesets",
    "op",
    "primary_events",
    "qualified_events",
    "inclusion_0",
    "inclusion_1",
    "inclusion_2",
    "inclusion_events",
    "included_events",
    "drug_target",
    "strategy_ends",
    "censored_ends",
    "cohort_rows",
    "final_cohort",
)
#: Codeset ids of the Circe-style scripts.
_DM, _JAK, _JAK_OUT, _JAK_NAMES, _M360, _PREDNISONE = 1, 2, 3, 4, 5, 6


def _codeset_statements() -> list[str]:
    """codesetQuery.sql: the codeset temp table; items with descendants resolved against the
    codes present in the diagnosis table (what the vocabulary's concept_ancestor gives Circe),
    excluded items removed after every inclusion."""
    rows = [(_DM, s, c) for s, codes in _codes("dm_diagnosis").items() for c in codes]
    rows += [(_JAK, s, c) for s, codes in _codes("jak_inhibitor").items() for c in codes]
    rows += [(_JAK_OUT, s, c) for s, codes in _codes("jak_topical_exclude").items() for c in codes]
    rows += [(_JAK_NAMES, "INGREDIENT", i) for i in JAK_INGREDIENTS]
    rows += [(_PREDNISONE, "INGREDIENT", "prednisone")]
    values = ", ".join(f"({n}, '{s}', '{c}')" for n, s, c in sorted(rows))
    return [
        "CREATE TEMP TABLE codesets (codeset_id int NOT NULL, code_system varchar NOT NULL, "
        "code varchar NOT NULL)",
        # the DM set minus M33.2 and below (an excluded item with descendants)
        f"INSERT INTO codesets SELECT codeset_id, code_system, code FROM (VALUES {values}) "
        "AS v(codeset_id, code_system, code) "
        f"WHERE NOT (codeset_id = {_DM} AND code_system = 'ICD10CM' AND code LIKE 'M332%')",
        # M36.0 and every code below it
        f"INSERT INTO codesets SELECT DISTINCT {_M360}, 'ICD10CM', "
        "replace(upper(trim(code)), '.', '') FROM diagnosis "
        "WHERE upper(trim(code_system)) = 'ICD10CM' "
        "AND replace(upper(trim(code)), '.', '') LIKE 'M360%'",
        "ANALYZE codesets",
    ]


def _in_codeset(n: int, alias: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM codesets cs WHERE cs.codeset_id = {n} AND cs.code_system = "
        f"upper(trim({alias}.code_system)) AND cs.code = "
        f"{normalised(f'{alias}.code_system', f'{alias}.code')})"
    )


def _named(n: int, column: str) -> str:
    return (
        f"coalesce(lower(trim({column})) IN (SELECT code FROM codesets "
        f"WHERE codeset_id = {n}), false)"
    )


def _jak_rows(alias: str) -> str:
    """drugExposure.sql's codeset join for the JAK set: codes or ingredients, minus the
    excluded code."""
    return (
        f"({_in_codeset(_JAK, alias)} OR {_named(_JAK_NAMES, f'{alias}.ingredient')}) "
        f"AND NOT {_in_codeset(_JAK_OUT, alias)}"
    )


def _windowed(d: Dialect, source: str, window: tuple[int | None, int | None],
              date: str = "start_date") -> str:  # fmt: skip
    """windowedCriteria.sql: the rows of ``source`` (person_id, start_date, end_date) of each
    qualified event's person, inside its observation period, ``date`` within ``window``."""
    start, end = window
    days = d.days(f"A.{date}", "P.start_date")
    where = ["A.start_date >= P.op_start_date", "A.start_date <= P.op_end_date"]
    where += [f"{days} >= {start}"] if start is not None else []
    where += [f"{days} <= {end}"] if end is not None else []
    return f"""SELECT P.person_id, P.event_id, A.start_date FROM qualified_events P
          JOIN ({source}) A ON A.person_id = P.person_id
          WHERE {" AND ".join(where)}"""


def _correlated(index: int, windowed: str, having: str) -> str:
    """additionalCriteriaInclude.sql (``having`` on the count), or additionalCriteriaLeftJoin
    .sql for ``= 0`` (events without any such row)."""
    if having == "count(cc.event_id) = 0":
        return f"""SELECT {index} AS index_id, p.person_id, p.event_id FROM qualified_events p
        LEFT JOIN ({windowed}) cc ON p.person_id = cc.person_id AND p.event_id = cc.event_id
        GROUP BY p.person_id, p.event_id HAVING {having}"""
    return f"""SELECT {index} AS index_id, cc.person_id, cc.event_id FROM ({windowed}) cc
        GROUP BY cc.person_id, cc.event_id HAVING {having}"""


def _group(index: int, members: list[str], kind: str, count: int = 0) -> str:
    """groupQuery.sql: the events meeting ALL / ANY / AT_LEAST ``count`` of ``members``."""
    having = {
        "all": f"= {len(members)}",
        "any": "> 0",
        "at_least": f">= {count}",
    }[kind]
    union = "\n        UNION ALL\n        ".join(members)
    return f"""SELECT {index} AS index_id, person_id, event_id FROM (
      SELECT E.person_id, E.event_id FROM qualified_events E
      JOIN (
        {union}
      ) CQ ON E.person_id = CQ.person_id AND E.event_id = CQ.event_id
      GROUP BY E.person_id, E.event_id HAVING count(DISTINCT CQ.index_id) {having}
    ) G"""


def _inclusion(rule: int, group: str) -> str:
    """inclusionrule.sql: the qualified events meeting one rule's group."""
    return f"""CREATE TEMP TABLE inclusion_{rule} AS
    SELECT {rule} AS inclusion_rule_id, person_id, event_id FROM (
      SELECT pe.person_id, pe.event_id FROM qualified_events pe
      JOIN ({group}) AC ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id
    ) Results"""


def _primary(d: Dialect, criteria: str, persons: str, prior: int, limit_first: bool) -> list[str]:
    """The observation periods of the candidate persons (the registry has none recorded: the
    derivation a CDM ETL would have stored), then primaryEventsQuery.sql: ``criteria``
    (person_id, start_date, end_date) inside a period with ``prior`` days before."""
    limit = "WHERE P.ordinal = 1" if limit_first else ""
    return [
        f"CREATE TEMP TABLE op AS {observation_periods(persons)}",
        f"""CREATE TEMP TABLE primary_events AS
        SELECT P.ordinal AS event_id, P.person_id, P.start_date, P.end_date, P.op_start_date,
               P.op_end_date FROM (
          SELECT E.person_id, E.start_date, E.end_date, OP.op_start AS op_start_date,
                 OP.op_end AS op_end_date,
                 row_number() OVER (PARTITION BY E.person_id
                                    ORDER BY E.start_date, E.end_date) AS ordinal
          FROM ({criteria}) E
          JOIN op OP ON E.person_id = OP.person_id AND E.start_date >= OP.op_start
            AND E.start_date <= OP.op_end
          WHERE {d.days("E.start_date", "OP.op_start")} >= {prior}
            AND {d.days("OP.op_end", "E.start_date")} >= 0
        ) P {limit}""",
        # no additional criteria: every primary event qualifies (the cohort language applies
        # no qualified limit without them)
        "CREATE TEMP TABLE qualified_events AS SELECT * FROM primary_events",
    ]


def _included(rules: int, limit_first: bool) -> list[str]:
    """generateCohort.sql: the inclusion events and the events with every rule's bit."""
    union = " UNION ALL ".join(f"SELECT * FROM inclusion_{k}" for k in range(rules))
    limit = "WHERE Results.ordinal = 1" if limit_first else ""
    return [
        f"CREATE TEMP TABLE inclusion_events AS SELECT inclusion_rule_id, person_id, event_id "
        f"FROM ({union}) I",
        f"""CREATE TEMP TABLE included_events AS
        SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date FROM (
          SELECT MG.*, row_number() OVER (PARTITION BY person_id
                                          ORDER BY start_date, event_id) AS ordinal
          FROM (
            SELECT Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date,
                   Q.op_end_date,
                   SUM(coalesce(POWER(cast(2 AS bigint), I.inclusion_rule_id), 0))
                     AS inclusion_rule_mask
            FROM qualified_events Q
            LEFT JOIN inclusion_events I ON I.person_id = Q.person_id
              AND I.event_id = Q.event_id
            GROUP BY Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date,
                     Q.op_end_date
          ) MG WHERE MG.inclusion_rule_mask = POWER(cast(2 AS bigint), {rules}) - 1
        ) Results {limit}""",
    ]


def _cohort(d: Dialect, ends: list[str], pad: int) -> list[str]:
    """generateCohort.sql: each event's first end among ``ends`` (relations of event_id,
    person_id, end_date) and the end of its observation period, on or after its start; then
    the periods at most ``pad`` days apart merged (the era collapse); the rows returned."""
    union = " UNION ALL ".join(
        [f"SELECT event_id, person_id, end_date FROM {e}" for e in ends]
        + ["SELECT event_id, person_id, op_end_date AS end_date FROM included_events"]
    )
    return [
        f"""CREATE TEMP TABLE cohort_rows AS
        SELECT F.person_id, F.start_date, F.end_date FROM (
          SELECT I.event_id, I.person_id, I.start_date, CE.end_date,
                 row_number() OVER (PARTITION BY I.person_id, I.event_id
                                    ORDER BY CE.end_date) AS ordinal
          FROM included_events I
          JOIN ({union}) CE ON I.event_id = CE.event_id AND I.person_id = CE.person_id
            AND CE.end_date >= I.start_date
        ) F WHERE F.ordinal = 1""",
        f"""CREATE TEMP TABLE final_cohort AS
        SELECT person_id, min(start_date) AS start_date,
               {d.plus("max(end_date)", -pad)} AS end_date FROM (
          SELECT person_id, start_date, end_date,
                 sum(is_start) OVER (PARTITION BY person_id ORDER BY start_date, is_start DESC
                                     ROWS UNBOUNDED PRECEDING) AS group_idx
          FROM (
            SELECT person_id, start_date, end_date,
                   CASE WHEN max(end_date) OVER (PARTITION BY person_id ORDER BY start_date
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= start_date
                        THEN 0 ELSE 1 END AS is_start
            FROM (SELECT person_id, start_date, {d.plus("end_date", pad)} AS end_date
                  FROM cohort_rows) CR
          ) ST
        ) GR GROUP BY person_id, group_idx""",
        "SELECT person_id, start_date AS index_date, end_date AS exit_date FROM final_cohort "
        "ORDER BY person_id, index_date",
    ]


def r1_circe(d: Dialect) -> list[str]:
    """Cohort R1 (see :func:`r1_hand`) as a Circe-style generator runs it: codesets, the
    observation periods, primary events (first systemic JAK exposure, 365 days observed),
    one temp table per inclusion rule (DM on 2 distinct dates up to the index; exactly 0
    M36.0 codes in days -365..-1; CK above 2 x ULN in days -90..0), the inclusion mask,
    customEraStrategy.sql (JAK eras, 30-day gap, by start and end ordinals), cohort rows and
    the final cohort; the last statement returns person_id, index_date, exit_date."""
    first_jak = f"""SELECT C.person_id, C.start_date, C.end_date FROM (
        SELECT de.person_id, de.start_date,
               coalesce(de.end_date, DATE '{OPEN_END}') AS end_date,
               row_number() OVER (PARTITION BY de.person_id
                 ORDER BY de.start_date, coalesce(de.end_date, DATE '{OPEN_END}')) AS ordinal
        FROM drug_exposure de
        WHERE de.start_date IS NOT NULL AND {_jak_rows("de")}
          AND NOT {in_or_false("de.route", ["topical"])}
      ) C WHERE C.ordinal = 1"""
    persons = f"(SELECT DISTINCT de.person_id FROM drug_exposure de WHERE {_jak_rows('de')}) c"
    dx = "SELECT d.person_id, d.diagnosis_date AS start_date FROM diagnosis d WHERE "
    ck = (
        "SELECT person_id, result_date AS start_date FROM laboratory "
        "WHERE lower(test) = 'ck' AND value IS NOT NULL AND value / uln > 2"
    )
    rule_dm = _group(0, [_correlated(0, _windowed(d, dx + _in_codeset(_DM, "d"), (None, 0)),
                                     "count(DISTINCT cc.start_date) >= 2")], "all")  # fmt: skip
    rule_cancer = _group(0, [_correlated(0, _windowed(d, dx + _in_codeset(_M360, "d"), (-365, -1)),
                                         "count(cc.event_id) = 0")], "all")  # fmt: skip
    rule_ck = _group(0, [_correlated(0, _windowed(d, ck, (-90, 0)), "count(cc.event_id) >= 1")],
                     "all")  # fmt: skip
    gap = 30
    return [
        *_codeset_statements(),
        *_primary(d, first_jak, persons, 365, limit_first=True),
        _inclusion(0, rule_dm),
        _inclusion(1, rule_cancer),
        _inclusion(2, rule_ck),
        *_included(3, limit_first=True),
        # customEraStrategy.sql
        f"""CREATE TEMP TABLE drug_target AS
        SELECT de.person_id, de.start_date AS drug_exposure_start_date,
               coalesce(de.end_date, DATE '{OPEN_END}') AS drug_exposure_end_date
        FROM drug_exposure de
        WHERE de.start_date IS NOT NULL AND {_jak_rows("de")}
          AND de.person_id IN (SELECT DISTINCT person_id FROM included_events)""",
        f"""CREATE TEMP TABLE strategy_ends AS
        SELECT et.event_id, et.person_id, ERAS.era_end_date AS end_date
        FROM included_events et
        JOIN (
          SELECT ENDS.person_id, min(drug_exposure_start_date) AS era_start_date,
                 ENDS.era_end_date
          FROM (
            SELECT de.person_id, de.drug_exposure_start_date, min(e.end_date) AS era_end_date
            FROM drug_target de
            JOIN (
              SELECT person_id, {d.plus("event_date", -gap)} AS end_date FROM (
                SELECT person_id, event_date, event_type,
                       max(start_ordinal) OVER (PARTITION BY person_id
                         ORDER BY event_date, event_type, start_ordinal
                         ROWS UNBOUNDED PRECEDING) AS start_ordinal,
                       row_number() OVER (PARTITION BY person_id
                         ORDER BY event_date, event_type, start_ordinal) AS overall_ord
                FROM (
                  SELECT person_id, drug_exposure_start_date AS event_date, 0 AS event_type,
                         row_number() OVER (PARTITION BY person_id
                                            ORDER BY drug_exposure_start_date) AS start_ordinal
                  FROM drug_target
                  UNION ALL
                  SELECT person_id, {d.plus("drug_exposure_end_date", gap)}, 1, NULL
                  FROM drug_target
                ) RAWDATA
              ) E WHERE 2 * E.start_ordinal - E.overall_ord = 0
            ) e ON de.person_id = e.person_id AND e.end_date >= de.drug_exposure_start_date
            GROUP BY de.person_id, de.drug_exposure_start_date
          ) ENDS
          GROUP BY ENDS.person_id, ENDS.era_end_date
        ) ERAS ON ERAS.person_id = et.person_id
        WHERE et.start_date >= ERAS.era_start_date AND et.start_date <= ERAS.era_end_date""",
        *_cohort(d, ["strategy_ends"], 0),
    ]


def r2_circe(d: Dialect) -> list[str]:
    """Cohort R2 (see :func:`r2_hand`) as a Circe-style generator runs it: codesets, the
    observation periods of persons with DM codes on 2 distinct dates (Circe has no
    person-level rule before entry: the requirement is the primary criteria's person filter),
    every DM code observed 180 days after the period's start, one temp table per inclusion
    rule (ANY group; AT_LEAST 2 group with a nested ANY group; demographics), the inclusion
    mask, dateOffsetStrategy.sql (365 days, capped by the period), censoringQuery.sql (JAK
    start or adverse event of grade 3 or more), cohort rows and the final cohort with a
    30-day era pad; the last statement returns person_id, index_date, exit_date."""
    persons = f"""(SELECT d.person_id FROM diagnosis d
        WHERE {_in_codeset(_DM, "d")} AND d.diagnosis_date IS NOT NULL
          AND d.person_id IN (SELECT person_id FROM person)
        GROUP BY d.person_id HAVING count(DISTINCT d.diagnosis_date) >= 2) c"""
    dm_codes = f"""SELECT DISTINCT d.person_id, d.diagnosis_date AS start_date,
        d.diagnosis_date AS end_date FROM diagnosis d
      WHERE {_in_codeset(_DM, "d")} AND d.diagnosis_date IS NOT NULL
        AND d.person_id IN (SELECT person_id FROM op)"""
    activity = (
        "SELECT person_id, assessment_date AS start_date, activity FROM ("
        + cdasi_activity("qualified_events")
        + ") s WHERE activity IS NOT NULL AND assessment_date IS NOT NULL"
    )
    ck = (
        "SELECT person_id, result_date AS start_date FROM laboratory "
        "WHERE lower(test) = 'ck' AND value IS NOT NULL"
    )
    steroid = f"""SELECT person_id, start_date,
        coalesce(end_date, DATE '{OPEN_END}') AS end_date FROM drug_exposure de
      WHERE de.start_date IS NOT NULL AND {_named(_PREDNISONE, "de.ingredient")}"""
    mmt8 = (
        "SELECT person_id, assessment_date AS start_date FROM assessment "
        "WHERE lower(instrument) = 'mmt8' AND lower(measure) = 'total' AND value < 76"
    )
    once = "count(cc.event_id) >= 1"
    active = _group(0, [
        _correlated(0, _windowed(d, activity + " AND activity > 14", (-60, 60)), once),
        _correlated(1, _windowed(d, ck + " AND value / uln > 2", (-60, 60)), once),
    ], "any")  # fmt: skip
    treated = _group(0, [
        _correlated(0, _windowed(d, steroid, (-365, 365), date="end_date"), once),
        _correlated(1, _windowed(d, activity, (-365, -1)), "count(cc.event_id) >= 2"),
        _group(2, [
            _correlated(0, _windowed(d, mmt8, (-365, 365)), once),
            _correlated(1, _windowed(d, ck + " AND value > 500", (-365, 365)), once),
        ], "any"),
    ], "at_least", 2)  # fmt: skip
    age = """EXTRACT(YEAR FROM E.start_date) - coalesce(EXTRACT(YEAR FROM P.birth_date),
               P.birth_year)
             - CASE WHEN EXTRACT(MONTH FROM E.start_date) * 100 + EXTRACT(DAY FROM E.start_date)
                    < coalesce(EXTRACT(MONTH FROM P.birth_date) * 100
                               + EXTRACT(DAY FROM P.birth_date), 701) THEN 1 ELSE 0 END"""
    adults = _group(0, [
        f"""SELECT 0 AS index_id, E.person_id, E.event_id FROM qualified_events E
        JOIN person P ON P.person_id = E.person_id WHERE {age} >= 18"""
    ], "all")  # fmt: skip
    censor = f"""SELECT de.person_id, de.start_date FROM drug_exposure de
        WHERE de.start_date IS NOT NULL AND {_jak_rows("de")}
          AND NOT {in_or_false("de.route", ["topical"])}
        UNION ALL
        SELECT person_id, onset_date FROM adverse_event
        WHERE onset_date IS NOT NULL AND grade >= 3"""
    return [
        *_codeset_statements(),
        *_primary(d, dm_codes, persons, 180, limit_first=False),
        _inclusion(0, active),
        _inclusion(1, treated),
        _inclusion(2, adults),
        *_included(3, limit_first=False),
        # dateOffsetStrategy.sql
        f"""CREATE TEMP TABLE strategy_ends AS
        SELECT event_id, person_id,
               CASE WHEN {d.plus("start_date", 365)} > op_end_date THEN op_end_date
                    ELSE {d.plus("start_date", 365)} END AS end_date
        FROM included_events""",
        # censoringQuery.sql
        f"""CREATE TEMP TABLE censored_ends AS
        SELECT I.event_id, I.person_id, min(C.start_date) AS end_date
        FROM included_events I
        JOIN ({censor}) C ON C.person_id = I.person_id AND C.start_date >= I.start_date
          AND C.start_date <= I.op_end_date
        GROUP BY I.event_id, I.person_id""",
        *_cohort(d, ["strategy_ends", "censored_ends"], 30),
    ]
