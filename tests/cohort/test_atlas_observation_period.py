"""ATLAS ``ObservationPeriod`` criteria read as the cohort language's ``observation_period``
domain: the PhenotypeLibrary definitions that use it translate, Circe's own rows of an
observation period criterion, each option counted by hand on a small registry by Circe's rule,
the definitions run on Eunomia read live against hand-written SQL, and the options the
registry has no place for refused at their JSON path.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``ObservationPeriod.java`` defines
``First``, ``PeriodStartDate``, ``PeriodEndDate``, ``UserDefinedPeriod`` (``StartDate``,
``EndDate``), ``PeriodType`` (``CS``), ``PeriodLength``, ``AgeAtStart`` and ``AgeAtEnd`` (and,
from ``Criteria``, ``CorrelatedCriteria`` and ``DateAdjustment``). ``observationPeriod.sql``
and ``ObservationPeriodSqlBuilder.java``: each period is an event from
``observation_period_start_date`` to ``observation_period_end_date``; the inner query numbers a
person's periods by their start (``ordinal``) before the ``WHERE``, which reads the period's own
dates (``C.ordinal = 1``; ``C.start_date``/``C.end_date`` against ``PeriodStartDate``/
``PeriodEndDate``; ``DATEDIFF(d, C.start_date, C.end_date)`` against ``PeriodLength``;
``YEAR(C.start_date) - P.year_of_birth`` against ``AgeAtStart``; with a ``UserDefinedPeriod``,
``C.start_date <= date and C.end_date >= date`` for each date given); the ``SELECT`` then dates
the event by the given dates instead of the period's.

Fixtures (tests/cohort/atlas/README.md): ``observation_period_events.json`` (every period, exit
0 days after its end), Circe's ``criteria/observationPeriodDateOffset`` rows, and
PhenotypeLibrary 771, 772 (concept sets trimmed) and 1071.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from ibis import BaseBackend

from cohort.atlas_json import inclusion_rule
from cohort.test_atlas_circe import CIRCE, _build_cdm
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.language import Criterion, Events, RelativeWindow, UserPeriod
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry import append_arrow, arrow_schema, create_registry
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"
LIBRARY = HERE / "phenotype_library"
D = dt.date
PERIOD_771 = LIBRARY / "771_pulmonary_hypertension_group_2.json"
PERIOD_772 = LIBRARY / "772_pulmonary_hypertension_group_3.json"
PERIOD_1071 = LIBRARY / "1071_observed_on_january_1.json"


def _periods(**changes: Any) -> dict[str, Any]:
    """observation_period_events.json (every period, each from its start to its end), its
    ObservationPeriod given ``changes``."""
    data: dict[str, Any] = json.loads((HERE / "observation_period_events.json").read_text())
    data["PrimaryCriteria"]["CriteriaList"][0]["ObservationPeriod"].update(changes)
    return data


def _members(con: BaseBackend, data: dict[str, Any]) -> list[tuple[int, dt.date, dt.date]]:
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    return [(m["person_id"], m["index_date"], m["exit_date"]) for m in members]


# -- the PhenotypeLibrary definitions -------------------------------------------------------


@pytest.mark.parametrize("path", [PERIOD_771, PERIOD_772], ids=["771", "772"])
def test_the_minimum_observation_rule_of_771_and_772_translates(path: Path) -> None:
    """Their rule "Minimum observation period of 365 days": an ObservationPeriod starting
    at any time up to 365 days after the index (an open start inside the index's period adds
    nothing) and ending from the index to the end of the index's period (an open end on the
    event's end: ``period_end``); at least one."""
    imported = read_atlas(path)
    rule = imported.cohort.inclusion[0]
    assert rule.label == "Minimum observation period of 365 days"
    assert rule.criteria == [
        Criterion(
            domain="observation_period",
            start_window=RelativeWindow(end=365),
            end_window=RelativeWindow(start=0, end="period_end"),
        )
    ]
    assert imported.notes == []


def test_1071_enters_on_january_1_of_each_year_observed() -> None:
    """11 ObservationPeriods, each a UserDefinedPeriod of 1 January (2022 back to 2012), all
    events kept, 365 days observed before: the events of the periods holding that day, dated
    by it; the one note is Circe's age (its AdditionalCriteria)."""
    imported = read_atlas(PERIOD_1071)
    entry = imported.cohort.entry
    assert entry.events == [
        Events(domain="observation_period", user_period=UserPeriod(start=day, end=day))
        for day in (D(year, 1, 1) for year in range(2022, 2011, -1))
    ]
    assert (entry.limit, entry.observation) == ("all", entry.observation)
    assert entry.observation is not None and entry.observation.prior_days == 365
    assert [note.split(";")[0] for note in imported.notes] == [
        "age: Circe's age is YEAR(date) - year of birth"
    ]


# -- Circe's own rows -----------------------------------------------------------------------


def test_circe_observation_period_rows(tmp_path: Path) -> None:
    """Circe's ``testObservationPeriodDateOffset`` (``CriteriaQuery_5_0_0_Test.java``) checks
    the rows of an ObservationPeriod criterion on its ``_PREP`` periods (person 1: three,
    person 2: one). Test 1 (no option): ``_VERIFY``'s ``observationPeriod.simple``, every
    period from its start to its end. Test 3 (a UserDefinedPeriod 2000-09-01 to 2000-09-30):
    ``observationPeriod.user_defined``, the periods holding both dates (person 1's third,
    person 2's) dated by them; Circe's test 3 keeps test 2's DateAdjustment, which moves no
    period off those dates (1's third 2000-07-16..2000-12-22, 2's 2000-01-16..2001-12-21).
    Written as a cohort (every such event inside a period, exit 0 days after its end), the
    cohort periods are those rows."""
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "observationPeriodDateOffset_PREP.json"])
    con = connect(f"omop+duckdb://{cdm}", check=False)
    verify = json.loads((CIRCE / "observationPeriodDateOffset_VERIFY.json").read_text("utf-8"))
    for changes, rows in (
        ({}, "observationPeriod.simple"),
        (
            {"UserDefinedPeriod": {"StartDate": "2000-09-01", "EndDate": "2000-09-30"}},
            "user_defined",
        ),
    ):
        expected = [
            (r["person_id"], D.fromisoformat(r["start_date"]), D.fromisoformat(r["end_date"]))
            for r in verify[f"observationPeriod.{rows.split('.')[-1]}"]
        ]
        assert _members(con, _periods(**changes)) == sorted(expected)


# -- each option on a small registry, by Circe's rule ----------------------------------------

#: SYNTHETIC. 1 (F, born 1950-07-01): periods 2010-01-01..2012-12-31 and 2015-01-01..
#: 2020-12-31, a diagnosis 2016-03-01. 2 (M, born 1980-03-01): 2016-06-01..2019-05-31, a
#: diagnosis 2016-09-01. 3 (F, born 1990-01-01): no recorded period; diagnoses 2017-02-01 and
#: 2018-08-01, so the derived period 2017-02-01..2018-08-01 (earliest to latest record).
ROWS: dict[str, list[dict[str, Any]]] = {
    "person": [
        {"person_id": 1, "site": "s1", "sex": "F", "birth_date": D(1950, 7, 1)},
        {"person_id": 2, "site": "s1", "sex": "M", "birth_date": D(1980, 3, 1)},
        {"person_id": 3, "site": "s1", "sex": "F", "birth_date": D(1990, 1, 1)},
    ],
    "observation_period": [
        {"person_id": 1, "start_date": D(2010, 1, 1), "end_date": D(2012, 12, 31)},
        {"person_id": 1, "start_date": D(2015, 1, 1), "end_date": D(2020, 12, 31)},
        {"person_id": 2, "start_date": D(2016, 6, 1), "end_date": D(2019, 5, 31)},
    ],
    "diagnosis": [
        {"person_id": p, "code_system": "ICD10CM", "code": "M33.10", "diagnosis_date": day}
        for p, day in (
            (1, D(2016, 3, 1)),
            (2, D(2016, 9, 1)),
            (3, D(2017, 2, 1)),
            (3, D(2018, 8, 1)),
        )
    ],
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    con = create_registry(tmp_path_factory.mktemp("periods") / "r.duckdb")
    for name, rows in ROWS.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name, "recorded" if f.name == "period_type" else None)
                 for f in schema} for row in rows]  # fmt: skip
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


OPTIONS: list[tuple[str, dict[str, Any], list[tuple[int, dt.date, dt.date]]]] = [
    # every period, recorded or derived
    ("none", {}, [
        (1, D(2010, 1, 1), D(2012, 12, 31)), (1, D(2015, 1, 1), D(2020, 12, 31)),
        (2, D(2016, 6, 1), D(2019, 5, 31)), (3, D(2017, 2, 1), D(2018, 8, 1)),
    ]),
    # the person's first period (ordinal 1, by start)
    ("First", {"First": True}, [
        (1, D(2010, 1, 1), D(2012, 12, 31)), (2, D(2016, 6, 1), D(2019, 5, 31)),
        (3, D(2017, 2, 1), D(2018, 8, 1)),
    ]),
    # the first period, if it holds 2016-07-01 (numbered before the dates bound it): 1's
    # first (2010-2012) does not, though her second does; 3's starts 2017
    ("First and UserDefinedPeriod", {
        "First": True, "UserDefinedPeriod": {"StartDate": "2016-07-01", "EndDate": "2016-07-01"},
    }, [(2, D(2016, 7, 1), D(2016, 7, 1))]),
    # a start from 2015 and 1,000 days or more: 1's second (2,191 days), 2's (1,094); 3's
    # derived period lasts 546
    ("PeriodStartDate and PeriodLength", {
        "PeriodStartDate": {"Value": "2015-01-01", "Op": "gte"},
        "PeriodLength": {"Value": 1000, "Op": "gte"},
    }, [(1, D(2015, 1, 1), D(2020, 12, 31)), (2, D(2016, 6, 1), D(2019, 5, 31))]),
    # ending before 2013: 1's first
    ("PeriodEndDate", {"PeriodEndDate": {"Value": "2013-01-01", "Op": "lt"}},
     [(1, D(2010, 1, 1), D(2012, 12, 31))]),
    # under 40 at the period's start: 2 (36 on 2016-06-01), 3 (27 on 2017-02-01); 1 was 59
    # and 64 (Circe's YEAR difference and the completed years agree on these dates)
    ("AgeAtStart", {"AgeAtStart": {"Value": 40, "Op": "lt"}}, [
        (2, D(2016, 6, 1), D(2019, 5, 31)), (3, D(2017, 2, 1), D(2018, 8, 1)),
    ]),
    # a StartDate alone: the periods holding 2018-01-01, from that day to the period's end
    ("UserDefinedPeriod StartDate", {"UserDefinedPeriod": {"StartDate": "2018-01-01"}}, [
        (1, D(2018, 1, 1), D(2020, 12, 31)), (2, D(2018, 1, 1), D(2019, 5, 31)),
        (3, D(2018, 1, 1), D(2018, 8, 1)),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changes", "expected"), OPTIONS, ids=[o[0] for o in OPTIONS])
def test_each_option_as_circe_reads_it(
    con: BaseBackend, name: str, changes: dict[str, Any], expected: list[Any]
) -> None:
    """Entry events of one ObservationPeriod with these options, every one kept, each to its
    end (the cohort periods are the events)."""
    assert _members(con, _periods(**changes)) == expected


def test_the_minimum_observation_rule_passes_every_entry_inside_its_period(
    con: BaseBackend,
) -> None:
    """771's rule on each person's first diagnosis (1's 2016-03-01, 2's 2016-09-01, 3's
    2017-02-01, each inside a period): Circe counts periods ``A`` with ``A.start`` inside the
    index's period, ``A.start <= index + 365``, ``A.end >= index`` and ``A.end <= the
    period's end`` (``getWindowedCriteriaQuery``): the index's own period always meets them,
    so no one is lost. Its StartWindow ending 365 days *before* the index instead (a period
    started a year before): only 1's (from 2015-01-01, 425 days); 2's started 92 days before,
    3's derived one that day."""
    data = _periods()
    data["PrimaryCriteria"]["CriteriaList"] = [{"ConditionOccurrence": {}}]
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data["EndStrategy"] = {}
    rule = json.loads(PERIOD_771.read_text())["InclusionRules"][0]
    data["InclusionRules"] = [rule]
    run = run_cohort(con, translate_atlas(data).cohort)
    assert [s.remaining for s in run.attrition] == [3, 3, 3]
    stricter = copy.deepcopy(rule)
    stricter["expression"]["CriteriaList"][0]["StartWindow"]["End"] = {"Days": 365, "Coeff": -1}
    data["InclusionRules"] = [stricter]
    run = run_cohort(con, translate_atlas(data).cohort)
    assert [s.remaining for s in run.attrition] == [3, 3, 1]
    assert [m["person_id"] for m in run.members.to_pylist()] == [1]


def test_a_period_as_the_censoring_event(con: BaseBackend) -> None:
    """Follow-up from the first diagnosis to the end of observation, censored at a period
    holding 2018-01-01, dated by it (``CensoringCriteria``): 1 (2016-03-01, her period to
    2020-12-31) and 2 (to 2019-05-31) on 2018-01-01; 3 (2017-02-01) on 2018-01-01 too, her
    derived period holding it."""
    data = _periods()
    data["PrimaryCriteria"]["CriteriaList"] = [{"ConditionOccurrence": {}}]
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data["EndStrategy"] = {}
    data["CensoringCriteria"] = [
        {"ObservationPeriod": {"UserDefinedPeriod": {"StartDate": "2018-01-01"}}}
    ]
    assert _members(con, data) == [
        (1, D(2016, 3, 1), D(2018, 1, 1)),
        (2, D(2016, 9, 1), D(2018, 1, 1)),
        (3, D(2017, 2, 1), D(2018, 1, 1)),
    ]


# -- Eunomia, read live, against hand-written SQL --------------------------------------------


#: 1071 by Circe's rules on the CDM tables: for each 1 January of 2012 to 2022, the periods
#: holding it (UserDefinedPeriod), 365 days observed before it (ObservationWindow), the
#: person's age in 0..100 and gender 8507 or 8532 (AdditionalCriteria); AGE is Circe's
#: YEAR(index) - year_of_birth, or the completed years. Exit the day after, never after the
#: period's end (a period ending on 1 January ends its cohort period that day); each
#: (person, day) a cohort period of its own (1 January to 2 January never meets the next).
SQL_1071 = """
WITH days AS (SELECT make_date(y, 1, 1) AS day FROM range(2012, 2023) t(y))
SELECT op.person_id, days.day,
       least(days.day + INTERVAL 1 DAY, op.observation_period_end_date)::DATE
FROM observation_period op
JOIN days ON op.observation_period_start_date <= days.day
         AND op.observation_period_end_date >= days.day
JOIN person p ON p.person_id = op.person_id
WHERE op.observation_period_start_date + INTERVAL 365 DAY <= days.day
  AND {age} BETWEEN 0 AND 100 AND p.gender_concept_id IN (8507, 8532)
ORDER BY 1, 2
"""
CIRCE_AGE = "year(days.day) - p.year_of_birth"
COMPLETED_AGE = (
    "year(days.day) - p.year_of_birth - CASE WHEN (month(days.day), day(days.day)) < "
    "(p.month_of_birth, p.day_of_birth) THEN 1 ELSE 0 END"
)


def test_1071_on_eunomia_as_sql_counts_it(eunomia: Path) -> None:
    """1071 read live: 18,433 cohort periods of 2,526 persons, each 1 January to the next
    day, the hand-written SQL's rows with the cohort language's age (the completed years,
    noted on import). Circe's age (the difference of the years) gives 18,400 of 2,520: the
    33 rows between are persons of 101 by the years' difference who had not yet had their
    100th birthday on 1 January (born 1911 to 1916)."""
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    run = run_cohort(con, read_atlas(PERIOD_1071).cohort)
    members = [(m["person_id"], m["index_date"], m["exit_date"]) for m in run.members.to_pylist()]
    with duckdb.connect(str(eunomia), read_only=True) as db:
        ours = db.sql(SQL_1071.format(age=COMPLETED_AGE)).fetchall()
        circe = db.sql(SQL_1071.format(age=CIRCE_AGE)).fetchall()
    assert members == ours
    assert (len(members), run.persons) == (18433, 2526)
    assert (len(circe), len({row[0] for row in circe})) == (18400, 2520)
    assert set(circe) < set(ours)
    with duckdb.connect(str(eunomia), read_only=True) as db:
        born = dict(db.sql("SELECT person_id, year_of_birth FROM person").fetchall())
    assert {day.year - born[p] for p, day, _ in set(ours) - set(circe)} == {101}


#: 771's rule on the first GI bleed (gi_bleed.json: concept 192671 with descendants, the
#: person's first inside an observation period) by Circe's windowed criteria on the CDM:
#: a period A starting inside the index's period and up to {days} days from the index
#: (``A.start <= index + days``), ending on or after the index and by the period's end.
SQL_771_RULE = """
WITH events AS (
  SELECT co.person_id, co.condition_start_date AS start_date,
         op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end
  FROM condition_occurrence co
  JOIN concept_ancestor ca ON ca.descendant_concept_id = co.condition_concept_id
   AND ca.ancestor_concept_id = 192671
  JOIN observation_period op ON op.person_id = co.person_id
   AND co.condition_start_date BETWEEN op.observation_period_start_date
                                   AND op.observation_period_end_date
), first_events AS (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY start_date) AS n
                 FROM events) WHERE n = 1
)
SELECT count(DISTINCT p.person_id) FROM first_events p
WHERE EXISTS (
  SELECT 1 FROM observation_period a WHERE a.person_id = p.person_id
   AND a.observation_period_start_date >= p.op_start
   AND a.observation_period_start_date <= p.op_end
   AND a.observation_period_start_date <= p.start_date + INTERVAL ({days}) DAY
   AND a.observation_period_end_date >= p.start_date
   AND a.observation_period_end_date <= p.op_end)
"""


@pytest.mark.parametrize(("days", "expected"), [(365, 479), (-15000, 133)])
def test_the_minimum_observation_rule_on_eunomia_as_sql_counts_it(
    eunomia: Path, days: int, expected: int
) -> None:
    """771 and 772 enter at conditions Eunomia does not hold (no one enters, as SQL on their
    concept sets counts too); their rule is read on Eunomia's first GI bleeds instead
    (gi_bleed.json, 479 persons): as written (a period starting up to 365 days after the
    index) no one is lost; a period started at least 15,000 days before (Eunomia's periods
    start at birth, its first bleeds 11,572 days or more after), 133 persons."""
    data = json.loads((HERE / "gi_bleed.json").read_text())
    rule = json.loads(PERIOD_771.read_text())["InclusionRules"][0]
    end = {"Days": abs(days), "Coeff": 1 if days > 0 else -1}
    rule["expression"]["CriteriaList"][0]["StartWindow"]["End"] = end
    data["InclusionRules"] = [rule]
    run = run_cohort(connect(f"omop+duckdb://{eunomia}", check=False), translate_atlas(data).cohort)
    with duckdb.connect(str(eunomia), read_only=True) as db:
        (row,) = db.sql(SQL_771_RULE.format(days=days)).fetchall()
    assert run.persons == row[0] == expected
    assert [s.remaining for s in run.attrition][:2] == [2694, 479]


# -- refusals -------------------------------------------------------------------------------

NO_TYPES = "the registry holds no observation period types"
REFUSALS: list[tuple[str, Any, str]] = [
    ("PeriodType", [{"CONCEPT_ID": 44814724}], NO_TYPES),
    ("PeriodTypeCS", {"CodesetId": 1}, NO_TYPES),
    ("AgeAtEnd", {"Value": 65, "Op": "lt"}, "the cohort language bounds the age on an event's"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
    ("OccurrenceStartDate", {"Value": "2010-01-01", "Op": "gt"}, "Circe's ObservationPeriod has "
     "no OccurrenceStartDate; bound PeriodStartDate"),
    ("Age", {"Value": 18, "Op": "gte"}, "Circe's ObservationPeriod has no Age; bound AgeAtStart"),
    ("Gender", [{"CONCEPT_ID": 8532}], "Circe's ObservationPeriod has no Gender"),
    ("CodesetId", 1, "CodesetId is not in the cohort language"),
]  # fmt: skip
RULE = "InclusionRules[0].expression.CriteriaList[0]"


@pytest.mark.parametrize(("key", "value", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_options_without_a_place_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event, inside an inclusion rule and as a censoring event: the message
    names the file, the JSON path of the option and why."""
    criterion = {"Criteria": {"ObservationPeriod": {key: value}}, "StartWindow": {"Start": {}}}
    for data, path in (
        (_periods(**{key: value}), "PrimaryCriteria.CriteriaList[0].ObservationPeriod"),
        (_periods() | {"InclusionRules": [inclusion_rule("r", criterion)]},
         f"{RULE}.Criteria.ObservationPeriod"),
        (_periods() | {"CensoringCriteria": [{"ObservationPeriod": {key: value}}]},
         "CensoringCriteria[0].ObservationPeriod"),
    ):  # fmt: skip
        with pytest.raises(SpecError) as caught:
            translate_atlas(data, where="c.json")
        assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}"), str(
            caught.value
        )


def test_a_user_defined_period_that_is_not_one_is_named() -> None:
    where = "c.json: PrimaryCriteria.CriteriaList[0].ObservationPeriod.UserDefinedPeriod"
    with pytest.raises(SpecError, match=f"^{re.escape(where)}.StartDate: expected a date"):
        translate_atlas(_periods(UserDefinedPeriod={"StartDate": "1 Jan"}), where="c.json")
    backwards = {"StartDate": "2020-02-01", "EndDate": "2020-01-01"}
    with pytest.raises(SpecError, match=f"^{re.escape(where)}: impossible period: start 2020"):
        translate_atlas(_periods(UserDefinedPeriod=backwards), where="c.json")


def test_options_left_empty_as_atlas_writes_them_are_ignored() -> None:
    data = _periods(PeriodType=[], PeriodTypeCS=None, UserDefinedPeriod={}, First=False)
    assert translate_atlas(data).cohort.entry.events == [Events(domain="observation_period")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"any_code": True}, "any_code cannot be used with domain 'observation_period'"),
        ({"concept_set": "x"}, "concept_set cannot be used with domain 'observation_period'"),
        ({"end": "day_after"}, "end cannot be used with domain 'observation_period'"),
    ],
)
def test_the_domain_has_no_codes(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Events(domain="observation_period", **fields)
    with pytest.raises(ValueError, match="user_period cannot be used with domain 'diagnosis'"):
        Events(domain="diagnosis", any_code=True, user_period={"start": "2020-01-01"})
