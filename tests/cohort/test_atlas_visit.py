"""ATLAS ``VisitOccurrence`` criteria read as the cohort language's ``visit`` domain, run live on
Eunomia GiBleed against Circe's meaning written as SQL on the CDM tables, and the options the
registry has no place for refused at their JSON path.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``VisitOccurrence.java`` defines
``CodesetId``, ``First``, ``OccurrenceStartDate``, ``OccurrenceEndDate``, ``VisitType``
(``CS``, ``Exclude``), ``VisitSourceConcept``, ``VisitLength``, ``Age``, ``Gender`` (``CS``),
``ProviderSpecialty`` (``CS``), ``PlaceOfService`` (``CS``) and ``PlaceOfServiceLocation``;
``VisitOccurrenceSqlBuilder.java`` joins the codeset on ``visit_concept_id``, numbers a person's
visits by ``visit_start_date, visit_occurrence_id`` for ``First``, reads ``VisitType`` as
``visit_type_concept_id`` (the record's type, not the kind of visit), ``VisitLength`` as
``DATEDIFF(d, start_date, end_date)`` and ``OccurrenceEndDate`` on ``visit_end_date``; a visit
lasts from ``visit_start_date`` to ``visit_end_date`` (``visitOccurrence.sql``). An entry event
must start inside an observation period (ATLAS's rule); ``--any-record`` drops that, and a
criterion's events must start inside the index event's period unless
``IgnoreObservationPeriod`` (``CohortExpressionQueryBuilder.getWindowedCriteriaQuery``).

Fixtures: ``atlas/inpatient_visit.json`` (written for these tests in the form ATLAS exports),
``atlas/gi_bleed.json``, PhenotypeLibrary cohort 23
(``atlas/phenotype_library/23_inpatient_hospitalization.json``) and Circe's
``circe/visitExpression.json`` with its ``countsTest`` rows (atlas/README.md names the commits).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from cohort.atlas_json import inclusion_rule
from cohort.test_atlas_circe import CIRCE, _build_cdm
from conformance.engines import run_cli
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.files import cohort_yaml
from myositis.cohort.language import Cohort, DateRange, Range, RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"
ROOT = Path(__file__).resolve().parents[2]
ENTRY = "PrimaryCriteria.CriteriaList[0].VisitOccurrence"
RULE = "InclusionRules[0].expression.CriteriaList[0]"


def _visit() -> dict[str, Any]:
    """inpatient_visit.json: Visit 9201 (IP, Inpatient Visit) with descendants, first visit."""
    data: dict[str, Any] = json.loads((HERE / "inpatient_visit.json").read_text("utf-8"))
    return data


def _entry(data: dict[str, Any]) -> dict[str, Any]:
    criterion: dict[str, Any] = data["PrimaryCriteria"]["CriteriaList"][0]["VisitOccurrence"]
    return criterion


def _bleed_with_visit(
    start: tuple[int | None, int], end: tuple[int, int] | None = None
) -> dict[str, Any]:
    """gi_bleed.json (the first gastrointestinal hemorrhage, 192671 with descendants) with an
    inclusion rule: at least one inpatient visit (inpatient_visit.json's concept set, id 1)
    starting ``start`` days from the index (``None``: open, Circe's observation-period start),
    and, when given, ending ``end`` days from it (``UseEventEnd``)."""
    data: dict[str, Any] = json.loads((HERE / "gi_bleed.json").read_text("utf-8"))
    visits = copy.deepcopy(_visit()["ConceptSets"][0])
    visits["id"] = 1
    data["ConceptSets"].append(visits)

    def bound(days: int | None) -> dict[str, int]:
        if days is None:
            return {"Coeff": -1}
        return {"Days": abs(days), "Coeff": -1 if days < 0 else 1}

    criterion: dict[str, Any] = {
        "Criteria": {"VisitOccurrence": {"CodesetId": 1, "VisitTypeExclude": False}},
        "StartWindow": {
            "Start": bound(start[0]),
            "End": bound(start[1]),
            "UseIndexEnd": False,
            "UseEventEnd": False,
        },
        "RestrictVisit": False,
        "IgnoreObservationPeriod": False,
        "Occurrence": {"Type": 2, "Count": 1, "IsDistinct": False},
    }
    if end is not None:
        criterion["EndWindow"] = {
            "Start": bound(end[0]),
            "End": bound(end[1]),
            "UseIndexEnd": False,
            "UseEventEnd": True,
        }
    data["InclusionRules"] = [inclusion_rule("inpatient visit", criterion)]
    return data


# -- translation ---------------------------------------------------------------------------


def test_a_visit_criterion_is_the_visit_domain() -> None:
    """Concept 9201 of vocabulary Visit is the registry code VISIT IP (the code system of
    OMOP's Visit vocabulary, as the visit view codes visit_occurrence rows); ATLAS's
    ``VisitTypeExclude: false`` is an unused option, ignored."""
    imported = read_atlas(HERE / "inpatient_visit.json")
    cohort = imported.cohort
    (event,) = cohort.entry.events
    assert (event.domain, event.concept_set, event.first, event.any_code) == (
        "visit",
        "inpatient_visit",
        False,
        False,
    )
    (item,) = cohort.concept_sets["inpatient_visit"].items
    assert (item.system, item.code, item.descendants, item.exclude) == ("VISIT", "IP", True, False)
    assert cohort.entry.observation is not None and cohort.entry.limit == "first"
    assert imported.notes == []


def test_first_dates_age_gender_and_correlated_criteria_as_for_conditions() -> None:
    """The options a VisitOccurrence shares with ConditionOccurrence are read the same way (one
    code path): ``First``, ``OccurrenceStartDate``, ``OccurrenceEndDate`` (on the visit's end,
    which Circe's VisitOccurrence has, unlike its ProcedureOccurrence), ``Age``, ``Gender``,
    ``CorrelatedCriteria``; without ``CodesetId`` every visit (``any_code``)."""
    data = _visit()
    _entry(data).update(
        First=True,
        OccurrenceStartDate={"Value": "2010-01-01", "Op": "gte"},
        OccurrenceEndDate={"Value": "2015-12-31", "Op": "lte"},
        Age={"Value": 40, "Op": "lt"},
        Gender=[{"CONCEPT_ID": 8532}],
        CorrelatedCriteria={
            "Type": "ALL",
            "CriteriaList": [
                {
                    "Criteria": {"VisitOccurrence": {}},
                    "StartWindow": {
                        "Start": {"Days": 30, "Coeff": -1},
                        "End": {"Days": 1, "Coeff": -1},
                    },
                    "Occurrence": {"Type": 0, "Count": 0},
                }
            ],
        },
    )
    imported = translate_atlas(data)
    (event,) = imported.cohort.entry.events
    assert event.first and event.start_date == DateRange(gte=dt.date(2010, 1, 1))
    assert event.end_date == DateRange(lte=dt.date(2015, 12, 31))
    assert (event.age, event.sex) == (Range(lt=40), ["F"])
    assert event.having is not None
    (inner,) = event.having.criteria
    assert (inner.domain, inner.any_code, inner.concept_set) == ("visit", True, None)
    assert inner.start_window == RelativeWindow(start=-30, end=-1)
    assert (inner.occurrence.type, inner.occurrence.count) == ("exactly", 0)
    assert any(f"(first at {ENTRY}.Age)" in note for note in imported.notes)


def test_visits_in_additional_criteria_and_censoring() -> None:
    """Wherever a ProcedureOccurrence is read, so is a VisitOccurrence: an additional criterion
    (an inpatient visit 0 to 7 days after the bleed) and a censoring event (every visit)."""
    data = _bleed_with_visit((0, 7))
    data["AdditionalCriteria"] = data.pop("InclusionRules")[0]["expression"]
    data["CensoringCriteria"] = [{"VisitOccurrence": {}}]
    cohort = translate_atlas(data).cohort
    assert cohort.entry.additional is not None
    (criterion,) = cohort.entry.additional.criteria
    assert (criterion.domain, criterion.concept_set) == ("visit", "inpatient_visit")
    assert criterion.start_window == RelativeWindow(start=0, end=7)
    (censor,) = cohort.exit.censor
    assert (censor.domain, censor.any_code) == ("visit", True)


REFUSALS: list[tuple[str, Any, str]] = [
    ("VisitType", [{"CONCEPT_ID": 32817}], "the registry holds no visit (record) types"),
    ("VisitTypeCS", {"CodesetId": 0}, "the registry holds no visit (record) types"),
    ("VisitTypeExclude", True, "the registry holds no visit (record) types"),
    ("VisitLength", {"Value": 3, "Op": "gte"}, "visit lengths (the days from a visit's start"),
    ("ProviderSpecialty", [{"CONCEPT_ID": 38004446}], "the registry holds no providers"),
    ("ProviderSpecialtyCS", {"CodesetId": 0}, "the registry holds no providers"),
    ("PlaceOfService", [{"CONCEPT_ID": 8717}], "the registry holds no care sites"),
    ("PlaceOfServiceCS", {"CodesetId": 0}, "the registry holds no care sites"),
    ("PlaceOfServiceLocation", 0, "the registry holds no care site locations"),
    ("GenderCS", {"CodesetId": 0}, "sex concept sets are not in the cohort language"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
]


@pytest.mark.parametrize(("key", "value", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_options_without_a_place_in_the_registry_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event, inside an inclusion rule and as a censoring event: the message names
    the file, the JSON path of the option and why."""
    data = _visit()
    _entry(data)[key] = value
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {ENTRY}.{key}: not supported: {reason}"), str(
        caught.value
    )
    ruled = _bleed_with_visit((0, 7))
    ruled["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]["VisitOccurrence"][
        key
    ] = value
    with pytest.raises(SpecError) as caught:
        translate_atlas(ruled, where="c.json")
    path = f"{RULE}.Criteria.VisitOccurrence"
    assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}")
    censored = _visit()
    censored["CensoringCriteria"] = [{"VisitOccurrence": {key: value}}]
    with pytest.raises(SpecError) as caught:
        translate_atlas(censored, where="c.json")
    path = "CensoringCriteria[0].VisitOccurrence"
    assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}")


def test_options_left_empty_as_atlas_writes_them_are_ignored() -> None:
    data = _visit()
    _entry(data).update(
        VisitType=[], VisitTypeCS=None, VisitLength=None, PlaceOfService=[], ProviderSpecialty=[]
    )
    assert translate_atlas(data).cohort.entry.events[0].domain == "visit"


def _during_a_visit() -> dict[str, Any]:
    """gi_bleed.json with ATLAS's "during a visit": an inpatient visit that starts on or before
    the index and ends on or after it, the end window's end left open."""
    data = _bleed_with_visit((None, 0), (0, 0))
    end_window = data["InclusionRules"][0]["expression"]["CriteriaList"][0]["EndWindow"]
    end_window["Start"] = {"Days": 0, "Coeff": -1}
    end_window["End"] = {"Coeff": 1}
    return data


def test_during_a_visit_ends_by_the_end_of_the_observation_period() -> None:
    """Circe reads the open end as the visit ending on or before the end of the index's
    observation period (``A.END_DATE <= P.OP_END_DATE``): the window end ``period_end``."""
    (criterion,) = translate_atlas(_during_a_visit()).cohort.inclusion[0].criteria
    assert criterion.start_window == RelativeWindow(start=None, end=0)
    assert criterion.end_window == RelativeWindow(start=0, end="period_end")


def _bleed_during_the_visit(*windows: str) -> dict[str, Any]:
    """inpatient_visit.json (each person's first inpatient visit) with an inclusion rule, as
    PhenotypeLibrary 251 writes "during the visit": a gastrointestinal hemorrhage
    (gi_bleed.json's concept set, id 1) starting on or before the visit's end (``StartWindow``,
    ``UseIndexEnd``) and on or after its start (``EndWindow`` with ``UseEventEnd`` false: on
    the bleed's start too). ``windows``: only these of the two."""
    data = _visit()
    bleed = copy.deepcopy(json.loads((HERE / "gi_bleed.json").read_text("utf-8"))["ConceptSets"][0])
    bleed["id"] = 1
    data["ConceptSets"].append(bleed)
    criterion: dict[str, Any] = {
        "Criteria": {"ConditionOccurrence": {"CodesetId": 1}},
        "StartWindow": {
            "Start": {"Coeff": -1},
            "End": {"Days": 0, "Coeff": -1},
            "UseIndexEnd": True,
            "UseEventEnd": False,
        },
        "EndWindow": {
            "Start": {"Days": 0, "Coeff": 1},
            "End": {"Coeff": 1},
            "UseIndexEnd": False,
            "UseEventEnd": False,
        },
        "RestrictVisit": False,
        "IgnoreObservationPeriod": False,
        "Occurrence": {"Type": 2, "Count": 1, "IsDistinct": False},
    }
    for key in {"StartWindow", "EndWindow"} - set(windows or ("StartWindow", "EndWindow")):
        del criterion[key]
    data["InclusionRules"] = [inclusion_rule("bleed during the visit", criterion)]
    return data


#: _bleed_during_the_visit() as the import writes it: both windows bound the bleed's start,
#: a list of two (refused before); the open ends, which Circe reads as the observation
#: period's start and end, add nothing on an event's start inside the period (left open).
BLEED_DURING_THE_VISIT = """\
label: Bleed during the visit
concept_sets:
  inpatient_visit:
    items:
    - system: VISIT
      code: IP
      descendants: true
  gastrointestinal_hemorrhage:
    items:
    - system: SNOMED
      code: '74474003'
      descendants: true
entry:
  events:
  - domain: visit
    concept_set: inpatient_visit
  observation:
    prior_days: 0
    post_days: 0
inclusion:
- criteria:
  - domain: diagnosis
    concept_set: gastrointestinal_hemorrhage
    start_window:
    - end: 0
      index: end
    - start: 0
  label: bleed during the visit
"""


def test_both_windows_on_the_event_start_are_a_list_of_two() -> None:
    """Circe's StartWindow and EndWindow both on the event's start (``UseEventEnd`` false),
    one from the index end and one from its start (ATLAS's "during the visit"; refused
    before, PhenotypeLibrary 251 and 8 others): ``start_window`` is a list of both windows,
    all of which must hold; either window alone is one window, as before."""
    imported = translate_atlas(_bleed_during_the_visit(), label="Bleed during the visit")
    assert imported.notes == []
    assert cohort_yaml(imported.cohort) == BLEED_DURING_THE_VISIT
    assert Cohort.model_validate(yaml.safe_load(BLEED_DURING_THE_VISIT)) == imported.cohort
    (criterion,) = imported.cohort.inclusion[0].criteria
    assert criterion.end_window is None
    for key, window in (
        ("StartWindow", RelativeWindow(start=None, end=0, index="end")),
        ("EndWindow", RelativeWindow(start=0, end=None)),
    ):
        (alone,) = translate_atlas(_bleed_during_the_visit(key)).cohort.inclusion[0].criteria
        assert (alone.start_window, alone.end_window) == (window, None)


# -- Eunomia read live ----------------------------------------------------------------------


def _sql(cdm: Path, sql: str) -> tuple[Any, ...]:
    with duckdb.connect(str(cdm), read_only=True) as raw:
        found = raw.execute(sql).fetchone()
    assert found is not None
    return tuple(found)


#: The inpatient visits (9201 and its descendants: concept_ancestor lists each concept as its
#: own ancestor) and, with the observation period holding the visit's start, ATLAS's rule.
INPATIENT = """
    SELECT vo.person_id, vo.visit_occurrence_id, vo.visit_start_date, vo.visit_end_date
    FROM visit_occurrence vo
    WHERE vo.visit_concept_id IN (
      SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 9201)
"""
IN_PERIOD = """
    JOIN observation_period op ON op.person_id = v.person_id
     AND v.visit_start_date BETWEEN op.observation_period_start_date
                                AND op.observation_period_end_date
"""


def test_eunomia_inpatient_visits_live_as_sql_counts_them(eunomia: Path) -> None:
    """inpatient_visit.json on Eunomia: 890 persons with an inpatient visit (its 1,037 visits
    are all 9201), each visit starting inside an observation period, so ATLAS's rule keeps
    them all; the same through ``run_cohort`` and ``myositis cohort run`` (with and without
    ``--any-record``), and on the DuckDB CDM counted by hand."""
    any_record = _sql(eunomia, f"SELECT count(DISTINCT person_id), count(*) FROM ({INPATIENT})")
    atlas_rule = _sql(
        eunomia, f"SELECT count(DISTINCT v.person_id) FROM ({INPATIENT}) v {IN_PERIOD}"
    )
    assert (any_record, atlas_rule) == ((890, 1037), (890,))
    url = f"omop+duckdb://{eunomia}"
    con = connect(url, check=False)
    fixture = HERE / "inpatient_visit.json"
    for drop, expected in ((True, any_record[0]), (False, atlas_rule[0])):
        result = run_cohort(con, read_atlas(fixture, any_record=drop).cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ], drop
        extra = ["--any-record"] if drop else []
        out = json.loads(run_cli("cohort", "run", str(fixture), "--data", url, "--json", *extra))
        assert out["persons"] == expected, drop


def test_each_person_enters_at_the_first_inpatient_visit_and_its_end_is_read(
    eunomia: Path,
) -> None:
    """Each member enters at the first inpatient visit (Circe's ordinal over
    ``visit_start_date, visit_occurrence_id``) and, with a fixed exit 0 days after the event's
    end, leaves at its ``visit_end_date``: the members are the first visits SQL gives, 134 of
    them stays of 2 days or more (the end read, not the day after the start)."""
    firsts = f"""
        SELECT person_id, visit_start_date, visit_end_date FROM (
          SELECT *, row_number() OVER (
            PARTITION BY person_id ORDER BY visit_start_date, visit_occurrence_id) AS ordinal
          FROM ({INPATIENT})) WHERE ordinal = 1"""
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        expected = sorted(raw.execute(firsts).fetchall())
    assert len(expected) == 890
    assert sum(1 for _, start, end in expected if (end - start).days >= 2) == 134
    data = _visit()
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 0}}
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    found = sorted((m["person_id"], m["index_date"], m["exit_date"]) for m in members)
    assert found == expected


def test_first_inpatient_visit_in_a_date_range_live_as_circe_counts(eunomia: Path) -> None:
    """``First`` is the person's first inpatient visit over every record, then the dates
    (Circe: ``ordinal = 1``, then ``OccurrenceStartDate`` on ``visit_start_date`` and
    ``OccurrenceEndDate`` on ``visit_end_date``), then the observation period: 249 persons
    had an inpatient visit starting in 2000-2010, 215 their first; ending in 2010 too, 248
    and 214 (one first stay, 2010-12-31 to 2011-01-04, ends after it)."""
    ranked = f"""
        SELECT *, row_number() OVER (
          PARTITION BY person_id ORDER BY visit_start_date, visit_occurrence_id) AS ordinal
        FROM ({INPATIENT})"""
    starts = "v.visit_start_date BETWEEN DATE '2000-01-01' AND DATE '2010-12-31'"
    counted = []
    for where in (starts, f"{starts} AND v.visit_end_date <= DATE '2010-12-31'"):
        counted.append(
            _sql(
                eunomia,
                f"""SELECT count(DISTINCT CASE WHEN v.ordinal = 1 THEN v.person_id END),
                           count(DISTINCT v.person_id)
                    FROM ({ranked}) v {IN_PERIOD} WHERE {where}""",
            )
        )
    assert counted == [(215, 249), (214, 248)]
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    data = _visit()
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    bounds = {"Value": "2000-01-01", "Op": "bt", "Extent": "2010-12-31"}
    _entry(data)["OccurrenceStartDate"] = bounds
    found = []
    for end_bound in (False, True):
        if end_bound:
            _entry(data)["OccurrenceEndDate"] = {"Value": "2010-12-31", "Op": "lte"}
        first = copy.deepcopy(data)
        _entry(first)["First"] = True
        found.append(
            (
                run_cohort(con, translate_atlas(first).cohort).persons,
                run_cohort(con, translate_atlas(copy.deepcopy(data)).cohort).persons,
            )
        )
    assert found == counted


#: The first gastrointestinal hemorrhage of each person inside an observation period (ATLAS's
#: rule for gi_bleed.json's entry: first event, observation window 0/0), with its period.
BLEEDS = """
    SELECT * FROM (
      SELECT co.person_id, co.condition_start_date AS d,
             op.observation_period_start_date AS op_start,
             op.observation_period_end_date AS op_end,
             row_number() OVER (PARTITION BY co.person_id
                                ORDER BY co.condition_start_date, co.condition_occurrence_id) AS n
      FROM condition_occurrence co
      JOIN observation_period op ON op.person_id = co.person_id
       AND co.condition_start_date BETWEEN op.observation_period_start_date
                                       AND op.observation_period_end_date
      WHERE co.condition_concept_id IN (
        SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 192671))
    WHERE n = 1
"""

#: (rule, start window, end window, SQL condition on index i and visit v, persons): Circe's
#: windowed criterion, the visit starting inside the index's observation period.
RULES = [
    ("admitted 0 to 7 days after", (0, 7), None,
     "v.visit_start_date BETWEEN i.d AND i.d + 7", 479),
    ("admitted 1 to 7 days after", (1, 7), None,
     "v.visit_start_date BETWEEN i.d + 1 AND i.d + 7", 88),
    ("in hospital at the bleed, discharged within 30 days", (None, 0), (0, 30),
     "v.visit_start_date <= i.d AND v.visit_end_date BETWEEN i.d AND i.d + 30", 391),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "start", "end", "condition", "persons"), RULES, ids=[r[0] for r in RULES]
)
def test_a_bleed_with_an_inpatient_visit_live_as_sql_counts_it(
    eunomia: Path,
    rule: str,
    start: tuple[int | None, int],
    end: tuple[int, int] | None,
    condition: str,
    persons: int,
) -> None:
    """gi_bleed.json (479 persons) with an inclusion rule on an inpatient visit: every bleed of
    Eunomia is followed by an admission on its day or the next (Synthea admits it), 88 of them
    the next day; 391 bleeds fall inside a stay (the visit's end read from
    ``visit_end_date``, ``UseEventEnd``). The same counts with ``--any-record`` (every bleed
    and visit of Eunomia starts inside an observation period)."""
    entry, hand = _sql(
        eunomia,
        f"""SELECT count(*), count(DISTINCT CASE WHEN EXISTS (
              SELECT 1 FROM ({INPATIENT}) v
              WHERE v.person_id = i.person_id
                AND v.visit_start_date BETWEEN i.op_start AND i.op_end AND {condition})
              THEN i.person_id END)
            FROM ({BLEEDS}) i""",
    )
    assert (entry, hand) == (479, persons)
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop in (False, True):
        cohort = translate_atlas(_bleed_with_visit(start, end), any_record=drop).cohort
        result = run_cohort(con, cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", 479),
            ("inpatient visit", persons),
        ], (rule, drop)


def test_a_bleed_during_an_inpatient_visit_live_as_circe_counts_it(eunomia: Path) -> None:
    """ATLAS's "during a visit" on Eunomia read live, counted by hand as Circe's SQL reads it:
    the visit starts inside the index's observation period, on or before the bleed, and ends
    on or after it, no later than the period's end."""
    during = (
        "v.visit_start_date <= i.d AND v.visit_end_date >= i.d AND v.visit_end_date <= i.op_end"
    )
    entry, hand, unbounded = _sql(
        eunomia,
        f"""SELECT count(*),
              count(DISTINCT CASE WHEN EXISTS (
                SELECT 1 FROM ({INPATIENT}) v WHERE v.person_id = i.person_id
                  AND v.visit_start_date BETWEEN i.op_start AND i.op_end AND {during})
                THEN i.person_id END),
              count(DISTINCT CASE WHEN EXISTS (
                SELECT 1 FROM ({INPATIENT}) v WHERE v.person_id = i.person_id
                  AND v.visit_start_date BETWEEN i.op_start AND i.op_end
                  AND v.visit_start_date <= i.d AND v.visit_end_date >= i.d)
                THEN i.person_id END)
            FROM ({BLEEDS}) i""",
    )
    # every Eunomia stay ends inside its period, so the bound removes no one here
    assert (entry, hand, unbounded) == (479, 391, 391)
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    result = run_cohort(con, translate_atlas(_during_a_visit()).cohort)
    assert [s.remaining for s in result.attrition] == [2694, 479, hand]


def test_a_bleed_during_the_first_inpatient_visit_live_as_circe_counts_it(eunomia: Path) -> None:
    """_bleed_during_the_visit() on Eunomia read live, counted by hand as Circe's SQL reads it
    (each window a condition on the bleed's start, ``getWindowedCriteriaQuery``): of the 890
    first inpatient visits, 353 have a bleed starting inside the visit's observation period,
    on or after the visit's start and on or before its end; the start window alone counts 429
    (bleeds before the visit too), the end window alone 403 (bleeds after it too)."""
    firsts = f"""
        SELECT * FROM (
          SELECT v.*, op.observation_period_start_date AS op_start,
                 op.observation_period_end_date AS op_end,
                 row_number() OVER (PARTITION BY v.person_id
                                    ORDER BY v.visit_start_date, v.visit_occurrence_id) AS n
          FROM ({INPATIENT}) v {IN_PERIOD}) WHERE n = 1"""

    def persons(condition: str) -> str:
        return f"""count(DISTINCT CASE WHEN EXISTS (
              SELECT 1 FROM condition_occurrence co
              WHERE co.person_id = f.person_id AND co.condition_concept_id IN (
                  SELECT descendant_concept_id FROM concept_ancestor
                  WHERE ancestor_concept_id = 192671)
                AND co.condition_start_date BETWEEN f.op_start AND f.op_end AND {condition})
            THEN f.person_id END)"""

    before_end = "co.condition_start_date <= f.visit_end_date"
    after_start = "co.condition_start_date >= f.visit_start_date"
    counted = _sql(
        eunomia,
        f"""SELECT count(*), {persons(f"{before_end} AND {after_start}")},
                   {persons(before_end)}, {persons(after_start)}
            FROM ({firsts}) f""",
    )
    assert counted == (890, 353, 429, 403)
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for windows, hand in (
        ((), counted[1]),
        (("StartWindow",), counted[2]),
        (("EndWindow",), counted[3]),
    ):
        result = run_cohort(con, translate_atlas(_bleed_during_the_visit(*windows)).cohort)
        assert [s.remaining for s in result.attrition] == [2694, 890, hand], windows


def test_circe_visit_expression_gives_circes_cohort(tmp_path: Path) -> None:
    """Circe's visitExpression (cohort 4 of its countsTest: a condition with a visit that
    started at least a day before it and ended at least a day after it, the end window's end
    open, which Circe reads as the end of the index's observation period: ``period_end``;
    ``_VERIFY``: person 1 from 2000-09-01, the second condition, to 2001-01-01), imported as
    written and run on countsTest's rows."""
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "countsTest_PREP.json"])
    cohort = read_atlas(CIRCE / "visitExpression.json").cohort
    assert cohort.entry.additional is not None
    assert cohort.entry.additional.criteria[0].end_window is not None
    assert cohort.entry.additional.criteria[0].end_window.end == "period_end"
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    verify = json.loads((CIRCE / "countsTest_VERIFY.json").read_text("utf-8"))
    (rows,) = verify.values()
    expected = [
        (r["subject_id"], r["cohort_start_date"], r["cohort_end_date"])
        for r in rows
        if r["cohort_definition_id"] == 4
    ]
    assert members == expected == [(1, "2000-09-01", "2001-01-01")]


def test_phenotype_library_23_imports_and_runs_on_eunomia(eunomia: Path) -> None:
    """PhenotypeLibrary 23, "Inpatient Hospitalization (1Pe, 0Era)": every visit of one concept
    set (Visit 262 ERIP and 9201 IP, each with descendants), all events, exit the day after the
    visit's end, eras without a gap. Refused before (a VisitOccurrence). On Eunomia its cohort
    periods are, one for one, those SQL gives by Circe's rules: each inpatient visit starting
    inside an observation period, from its start to the day after its end (capped at the
    period's end), overlapping periods merged: 1,037 periods of 890 persons."""
    imported = read_atlas(HERE / "phenotype_library" / "23_inpatient_hospitalization.json")
    cohort = imported.cohort
    (name,) = cohort.concept_sets
    items = [(i.system, i.code, i.descendants) for i in cohort.concept_sets[name].items]
    assert items == [("VISIT", "ERIP", True), ("VISIT", "IP", True)]
    assert [(e.domain, e.concept_set) for e in cohort.entry.events] == [("visit", name)]
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == ("fixed", "end", 1)
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        expected = raw.execute(
            """WITH v AS (
                 SELECT vo.person_id, vo.visit_start_date AS s,
                        least(vo.visit_end_date + 1, op.observation_period_end_date) AS e
                 FROM visit_occurrence vo
                 JOIN observation_period op ON op.person_id = vo.person_id
                  AND vo.visit_start_date BETWEEN op.observation_period_start_date
                                              AND op.observation_period_end_date
                 WHERE vo.visit_concept_id IN (
                   SELECT descendant_concept_id FROM concept_ancestor
                   WHERE ancestor_concept_id IN (262, 9201))),
               marked AS (
                 SELECT *, CASE WHEN s <= max(e) OVER (
                   PARTITION BY person_id ORDER BY s, e
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS new
                 FROM v),
               eras AS (
                 SELECT *, sum(new) OVER (
                   PARTITION BY person_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS era
                 FROM marked)
               SELECT person_id, min(s), max(e) FROM eras GROUP BY person_id, era ORDER BY 1, 2"""
        ).fetchall()
    assert (len(expected), len({r[0] for r in expected})) == (1037, 890)
    result = run_cohort(connect(f"omop+duckdb://{eunomia}", check=False), cohort)
    members = sorted(
        (m["person_id"], m["index_date"], m["exit_date"]) for m in result.members.to_pylist()
    )
    assert members == expected


# -- a registry -----------------------------------------------------------------------------

#: Visits added to a copy of min2022 (SYNTHETIC; it records none): person 1 admitted (VISIT IP)
#: and seen in the emergency room then admitted (ERIP), person 2 an outpatient visit (OP).
VISITS = """person_id,visit_id,code_system,code,visit_date,end_date
1,a,VISIT,IP,2015-02-03,2015-02-06
1,b,VISIT,ERIP,2016-05-01,2016-05-02
2,c,VISIT,OP,2014-01-10,
"""


def test_visit_concepts_resolve_on_a_registry_by_code(tmp_path: Path) -> None:
    """On a registry without the OMOP vocabulary, the ATLAS concept set of 9201 is the registry
    code VISIT IP: it finds person 1's admission, not her ERIP visit nor person 2's outpatient
    one. With descendants (as inpatient_visit.json asks) the cohort is refused when it runs, as
    for SNOMED codes: the registry has no concept_ancestor to find them."""
    registry = tmp_path / "min2022"
    shutil.copytree(ROOT / "examples" / "min2022", registry)
    (registry / "visit.csv").write_text(VISITS, encoding="utf-8")
    con = connect(str(registry))
    data = _visit()
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = False
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    members = run_cohort(con, translate_atlas(data, any_record=True).cohort).members.to_pylist()
    assert [(m["person_id"], m["index_date"]) for m in members] == [(1, dt.date(2015, 2, 3))]
    with pytest.raises(SpecError, match="concept item VISIT IP: descendants of VISIT codes"):
        run_cohort(con, read_atlas(HERE / "inpatient_visit.json", any_record=True).cohort)
