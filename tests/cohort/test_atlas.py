"""ATLAS cohort import (myositis.cohort.atlas): published definitions translated field by
field, every refusal, and the Eunomia counts run live.

Sources: OHDSI PhenotypeLibrary cohorts 223 and 1303 and three of OHDSI Circe's test
expressions (tests/cohort/atlas/README.md names the files and commits); Circe's semantics from
CohortExpressionQueryBuilder.java. Eunomia figures: The Book of OHDSI (persons with a record of
GI hemorrhage 479, celecoxib 1,844, diclofenac 850); with ATLAS's rule that the entry event lies
inside an observation period 479, 1,800 and 830 (the same counts tests/registry/test_omop.py
takes from the CDM tables directly).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cohort.atlas_json import inclusion_rule
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.files import cohort_yaml, read_cohort_file
from myositis.cohort.language import DateRange, Range, RelativeWindow
from myositis.errors import SpecError

HERE = Path(__file__).parent / "atlas"


def _load(name: str) -> dict[str, Any]:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def test_phenotype_library_223_pres_field_by_field() -> None:
    imported = read_atlas(HERE / "phenotype_library" / "223_pres.json")
    cohort = imported.cohort
    assert imported.notes == []
    assert list(cohort.concept_sets) == [
        "posterior_reversible_encephalopathy",
        "hypertensive_encephalopathy",
        "eclampsia",
    ]
    item = cohort.concept_sets["posterior_reversible_encephalopathy"].items[0]
    assert (item.system, item.code, item.descendants, item.exclude) == (
        "SNOMED",
        "450886002",
        True,
        False,
    )
    event = cohort.entry.events[0]
    assert (event.domain, event.concept_set, event.first) == (
        "diagnosis",
        "posterior_reversible_encephalopathy",
        False,
    )
    assert cohort.entry.observation is not None
    assert (cohort.entry.observation.prior_days, cohort.entry.observation.post_days) == (0, 0)
    assert cohort.entry.limit == "all"
    assert cohort.expression_limit == "all"
    assert [r.label for r in cohort.inclusion] == [
        "Does NOT have hypertensive encephalopathy at baseline ",
        "Does NOT have Eclampsia at baseline ",
    ]
    rule = cohort.inclusion[0]
    assert rule.type == "all"
    criterion = rule.criteria[0]
    assert criterion.concept_set == "hypertensive_encephalopathy"
    # StartWindow 365 days before (Coeff -1) to 1 day after (Coeff 1) the index start
    assert criterion.start_window == RelativeWindow(start=-365, end=1, index="start")
    assert criterion.end_window is None
    assert (criterion.occurrence.type, criterion.occurrence.count) == ("exactly", 0)
    # EndStrategy DateOffset EndDate + 0
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == ("fixed", "end", 0)
    assert cohort.exit.era_pad_days == 0


def test_phenotype_library_1303_acute_heart_failure_field_by_field() -> None:
    cohort = read_atlas(HERE / "phenotype_library" / "1303_acute_heart_failure.json").cohort
    items = cohort.concept_sets["legend_htn_heart_failure"].items
    # excluded: congestive rheumatic heart failure with descendants; included: heart failure
    assert [(i.code, i.descendants, i.exclude) for i in items] == [
        ("82523003", True, True),
        ("84114007", True, False),
    ]
    additional = cohort.entry.additional
    assert additional is not None
    assert additional.criteria[0].start_window == RelativeWindow(start=1, end=365)
    assert (additional.criteria[0].occurrence.type, additional.criteria[0].occurrence.count) == (
        "at_least",
        1,
    )
    assert cohort.entry.qualified_limit == "all"
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == (
        "fixed",
        "start",
        0,
    )
    assert cohort.exit.era_pad_days == 1


def test_circe_exit_expressions() -> None:
    era = read_atlas(HERE / "circe" / "continuousExposureExpression.json").cohort
    assert (era.exit.strategy, era.exit.concept_set, era.exit.gap_days, era.exit.offset_days) == (
        "drug_era",
        "parent_conceptset",
        60,
        0,
    )
    assert era.entry.events[0].domain == "drug_exposure"
    # concept 1 has no vocabulary in the fixture: an OMOP concept id
    item = era.concept_sets["parent_conceptset"].items[0]
    assert (item.system, item.code, item.descendants) == ("OMOP", "1", True)
    fixed = read_atlas(HERE / "circe" / "fixedOffsetExpression.json").cohort
    assert (fixed.exit.strategy, fixed.exit.date, fixed.exit.offset_days) == ("fixed", "end", 31)
    limits = read_atlas(HERE / "circe" / "limitExpression.json").cohort
    assert limits.entry.additional is not None
    # StartWindow: all days before (open, Coeff -1) to 1 day before the index
    assert limits.entry.additional.criteria[0].start_window == RelativeWindow(end=-1)
    assert limits.exit.era_pad_days == 60


def test_yaml_round_trip(tmp_path: Path) -> None:
    imported = read_atlas(HERE / "phenotype_library" / "223_pres.json")
    path = tmp_path / "pres.yaml"
    path.write_text(cohort_yaml(imported.cohort, source="223.json"), encoding="utf-8")
    assert read_cohort_file(path).cohort == imported.cohort


def test_any_record_drops_the_observation_period() -> None:
    cohort = translate_atlas(_load("gi_bleed.json"), any_record=True).cohort
    assert cohort.entry.observation is None


def test_an_open_window_end_is_the_observation_period_where_circe_reads_it_so() -> None:
    """Circe reads a window end without Days as the index's observation period, its start for
    Coeff -1 and its end for Coeff 1 (CohortExpressionQueryBuilder.getWindowedCriteriaQuery),
    unless the criterion ignores observation periods: on the event's end date that is a bound
    (period_end, ATLAS's "during a visit"); on its start date, inside the period already, it
    adds nothing and stays open."""
    data = _with_rule(
        _criterion(
            StartWindow={"Start": {"Coeff": -1}, "End": {"Days": 0, "Coeff": 1}},
            EndWindow={"Start": {"Days": 0, "Coeff": 1}, "End": {"Coeff": 1}},
        )
    )
    criterion = translate_atlas(data).cohort.inclusion[0].criteria[0]
    assert criterion.start_window == RelativeWindow(start=None, end=0)
    assert criterion.end_window == RelativeWindow(start=0, end="period_end")
    ignoring = copy.deepcopy(data)
    ignoring["InclusionRules"][0]["expression"]["CriteriaList"][0]["IgnoreObservationPeriod"] = True
    criterion = translate_atlas(ignoring).cohort.inclusion[0].criteria[0]
    assert criterion.end_window == RelativeWindow(start=0, end=None)
    criterion = translate_atlas(data, any_record=True).cohort.inclusion[0].criteria[0]
    assert criterion.end_window == RelativeWindow(start=0, end=None)
    # an open start after the index (Coeff 1) on the event's end: on or after the period's
    # end; an open start before it (Coeff -1) adds nothing to an event starting in the period
    data = _with_rule(_criterion(EndWindow={"Start": {"Coeff": 1}, "End": {"Coeff": 1}}))
    criterion = translate_atlas(data).cohort.inclusion[0].criteria[0]
    assert criterion.end_window == RelativeWindow(start="period_end", end="period_end")
    data = _with_rule(_criterion(EndWindow={"Start": {"Coeff": -1}, "End": {"Days": 0}}))
    criterion = translate_atlas(data).cohort.inclusion[0].criteria[0]
    assert criterion.end_window == RelativeWindow(start=None, end=0)


def test_age_and_gender() -> None:
    data = _load("gi_bleed.json")
    data["InclusionRules"] = [
        {
            "name": "women 18-64",
            "expression": {
                "Type": "ALL",
                "CriteriaList": [],
                "DemographicCriteriaList": [
                    {
                        "Age": {"Value": 18, "Op": "bt", "Extent": 64},
                        "Gender": [{"CONCEPT_ID": 8532, "CONCEPT_NAME": "FEMALE"}],
                    }
                ],
                "Groups": [],
            },
        }
    ]
    imported = translate_atlas(data)
    demographics = imported.cohort.inclusion[0].demographics[0]
    assert demographics.age == Range(gte=18, lte=64)
    assert demographics.sex == ["F"]
    assert any("YEAR(date) - year of birth" in note for note in imported.notes)


def test_age_and_gender_of_a_criterion() -> None:
    """Circe's criterion ``Age`` and ``Gender`` (ConditionOccurrenceSqlBuilder.java: the
    person's age on the event's start and gender, after ``First``) -> the events' ``age`` and
    ``sex``; a gender concept the registry has no sex for is refused at its path."""
    data = _load("gi_bleed.json")
    condition = data["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]
    condition.update(Age={"Value": 18, "Op": "gte"}, Gender=[{"CONCEPT_ID": 8532}])
    imported = translate_atlas(copy.deepcopy(data))
    event = imported.cohort.entry.events[0]
    assert (event.age, event.sex) == (Range(gte=18), ["F"])
    assert any(
        "(first at PrimaryCriteria.CriteriaList[0].ConditionOccurrence.Age)" in note
        for note in imported.notes
    )
    condition["Gender"] = [{"CONCEPT_ID": 8551}]
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(
        "c.json: PrimaryCriteria.CriteriaList[0].ConditionOccurrence.Gender[0]: not supported: "
        "gender concept 8551"
    ), str(caught.value)


def _rule(criteria: dict[str, Any]) -> dict[str, Any]:
    return inclusion_rule("r", criteria)


def _criterion(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Criteria": {"ConditionOccurrence": {"CodesetId": 0}},
        "StartWindow": {"Start": {"Days": 30, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}},
        "Occurrence": {"Type": 2, "Count": 1},
    }
    base.update(extra)
    return base


def _with_rule(criteria: dict[str, Any]) -> dict[str, Any]:
    data = _load("gi_bleed.json")
    data["InclusionRules"] = [_rule(criteria)]
    return data


def _set(path: list[Any], value: Any) -> dict[str, Any]:
    data = _load("gi_bleed.json")
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "other domain",
        _with_rule(
            _criterion(Criteria={"DeviceExposure": {"CodesetId": 0}}),
        ),
        "InclusionRules[0].expression.CriteriaList[0].Criteria.DeviceExposure: not supported: "
        "DeviceExposure is a Circe domain the cohort language does not read",
    ),
    (
        "visit type",
        _with_rule(
            _criterion(
                Criteria={
                    "ConditionOccurrence": {"CodesetId": 0, "VisitType": [{"CONCEPT_ID": 9201}]}
                }
            )
        ),
        "InclusionRules[0].expression.CriteriaList[0].Criteria.ConditionOccurrence.VisitType: "
        "not supported: the registry does not link records to their visits",
    ),
    (
        # a measurement without a codeset is every measurement (test_atlas_measurement.py)
        "a measurement's abnormal flag",
        _set(["PrimaryCriteria", "CriteriaList", 0], {"Measurement": {"Abnormal": True}}),
        "PrimaryCriteria.CriteriaList[0].Measurement.Abnormal: not supported: the abnormal flag "
        "is not in the cohort language (Circe: value_as_number outside range_low to range_high",
    ),
    (
        "unknown codeset",
        _set(["PrimaryCriteria", "CriteriaList", 0], {"ConditionOccurrence": {"CodesetId": 7}}),
        "PrimaryCriteria.CriteriaList[0].ConditionOccurrence.CodesetId: concept set 7 is not "
        "among ConceptSets (ids: 0)",
    ),
    (
        "a refusal inside correlated criteria",
        _set(
            ["PrimaryCriteria", "CriteriaList", 0, "ConditionOccurrence", "CorrelatedCriteria"],
            {
                "Type": "ALL",
                "CriteriaList": [_criterion(Criteria={"DeviceExposure": {"CodesetId": 0}})],
            },
        ),
        "PrimaryCriteria.CriteriaList[0].ConditionOccurrence.CorrelatedCriteria.CriteriaList[0]"
        ".Criteria.DeviceExposure: not supported: DeviceExposure is a Circe domain",
    ),
    (
        "restrict visit",
        _with_rule(_criterion(RestrictVisit=True)),
        "InclusionRules[0].expression.CriteriaList[0].RestrictVisit: not supported: the "
        "registry does not link records to their visits",
    ),
    (
        "distinct concepts",
        _with_rule(_criterion(Occurrence={"Type": 2, "Count": 2, "IsDistinct": True})),
        "InclusionRules[0].expression.CriteriaList[0].Occurrence.IsDistinct: not supported: a "
        "distinct count of DOMAIN_CONCEPT",
    ),
    (
        "not between",
        _with_rule(_criterion()) | {},
        "",
    ),
    (
        "empty rule",
        _set(
            ["InclusionRules"],
            [{"name": "x", "expression": {"Type": "ALL", "CriteriaList": []}}],
        ),
        "InclusionRules[0].expression: not supported: an empty group",
    ),
    (
        "race",
        _set(
            ["InclusionRules"],
            [
                {
                    "name": "x",
                    "expression": {
                        "Type": "ALL",
                        "DemographicCriteriaList": [{"Race": [{"CONCEPT_ID": 8527}]}],
                    },
                }
            ],
        ),
        "InclusionRules[0].expression.DemographicCriteriaList[0].Race: not supported: race",
    ),
    (
        "other gender",
        _set(
            ["InclusionRules"],
            [
                {
                    "name": "x",
                    "expression": {
                        "Type": "ALL",
                        "DemographicCriteriaList": [{"Gender": [{"CONCEPT_ID": 8551}]}],
                    },
                }
            ],
        ),
        "InclusionRules[0].expression.DemographicCriteriaList[0].Gender[0]: not supported: "
        "gender concept 8551",
    ),
    (
        "censor window date",
        _set(["CensorWindow"], {"StartDate": "April 2010"}),
        'CensorWindow.StartDate: expected a date (YYYY-MM-DD), got "April 2010"',
    ),
    (
        "days supply override",
        _set(
            ["EndStrategy"],
            {"CustomEra": {"DrugCodesetId": 0, "GapDays": 30, "DaysSupplyOverride": 7}},
        ),
        "EndStrategy.CustomEra.DaysSupplyOverride: not supported",
    ),
    (
        "censoring domain",
        _set(["CensoringCriteria"], [{"DeviceExposure": {}}]),
        "CensoringCriteria[0].DeviceExposure: not supported: DeviceExposure is a Circe domain",
    ),
    (
        "unknown top-level key",
        _set(["Flux"], 1),
        "(top level).Flux: not supported: Flux is not in the cohort language",
    ),
    (
        "limit",
        _set(["ExpressionLimit"], {"Type": "Middle"}),
        "ExpressionLimit.Type: expected First, All or Last, got 'middle'",
    ),
    (
        "any_record with prior observation",
        _set(["PrimaryCriteria", "ObservationWindow"], {"PriorDays": 365, "PostDays": 0}),
        "",
    ),
]
# the "not between" case: an age range with !bt
REFUSALS[[case[0] for case in REFUSALS].index("not between")] = (
    "not between",
    _set(
        ["InclusionRules"],
        [
            {
                "name": "x",
                "expression": {
                    "Type": "ALL",
                    "DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "!bt", "Extent": 64}}],
                },
            }
        ],
    ),
    "InclusionRules[0].expression.DemographicCriteriaList[0].Age.Op: not supported: 'not "
    "between' (!bt)",
)


@pytest.mark.parametrize(
    ("case", "data", "message"), REFUSALS[:-1], ids=[r[0] for r in REFUSALS[:-1]]
)
def test_refusals_name_the_json_path(case: str, data: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        translate_atlas(copy.deepcopy(data), where="cohort.json")
    assert str(caught.value).startswith(f"cohort.json: {message}"), str(caught.value)


def test_any_record_refuses_required_prior_observation() -> None:
    data = REFUSALS[-1][1]
    with pytest.raises(
        SpecError,
        match=r"PrimaryCriteria.ObservationWindow: --any-record drops .* leave out --any-record",
    ):
        translate_atlas(data, any_record=True)


def test_not_a_cohort_and_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad.json: not valid JSON \(line 1"):
        read_atlas(bad)
    other = tmp_path / "other.json"
    other.write_text('{"items": []}', encoding="utf-8")
    with pytest.raises(SpecError, match="not an ATLAS cohort expression"):
        read_atlas(other)


@pytest.fixture(scope="module")
def eunomia(eunomia: Path) -> str:
    """Eunomia's copy (conftest) as the URL that reads it live as OMOP."""
    return f"omop+duckdb://{eunomia}"


@pytest.mark.parametrize(
    ("name", "any_record", "atlas_rule"),
    [("gi_bleed", 479, 479), ("celecoxib", 1844, 1800), ("diclofenac", 850, 830)],
)
def test_eunomia_counts_live(eunomia: str, name: str, any_record: int, atlas_rule: int) -> None:
    from myositis.cohort.run import run_cohort
    from myositis.registry.connect import connect

    con = connect(eunomia, check=False)
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        cohort = read_atlas(HERE / f"{name}.json", any_record=drop).cohort
        result = run_cohort(con, cohort)
        assert result.persons == expected
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ]


def _celecoxib_first_from(start: str, end: str) -> dict[str, Any]:
    """celecoxib.json with its entry event the person's first celecoxib exposure (``First``)
    started from ``start`` to ``end`` (``OccurrenceStartDate`` between)."""
    data = _load("celecoxib.json")
    data["PrimaryCriteria"]["CriteriaList"][0]["DrugExposure"].update(
        First=True, OccurrenceStartDate={"Value": start, "Op": "bt", "Extent": end}
    )
    return data


def test_occurrence_dates() -> None:
    event = translate_atlas(_celecoxib_first_from("2000-01-01", "2009-12-31")).cohort
    entry = event.entry.events[0]
    assert entry.first
    assert entry.start_date == DateRange(gte=dt.date(2000, 1, 1), lte=dt.date(2009, 12, 31))
    ended = _load("gi_bleed.json")
    ended["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["OccurrenceEndDate"] = {
        "Value": "2015-06-30",
        "Op": "lt",
    }
    assert translate_atlas(ended).cohort.entry.events[0].end_date == DateRange(
        lt=dt.date(2015, 6, 30)
    )
    path = "PrimaryCriteria.CriteriaList[0].DrugExposure.OccurrenceStartDate"
    for bad, message in (
        ({"Value": "2000-01-01", "Op": "!bt", "Extent": "2001-01-01"}, ".Op: not supported"),
        ({"Value": "01/02/2000", "Op": "gt"}, ".Value: expected a date (YYYY-MM-DD)"),
        ({"Value": "2000-01-01", "Op": "bt"}, ".Extent: between needs Extent"),
    ):
        data = _load("celecoxib.json")
        data["PrimaryCriteria"]["CriteriaList"][0]["DrugExposure"]["OccurrenceStartDate"] = bad
        with pytest.raises(SpecError) as caught:
            translate_atlas(data, where="c.json")
        assert str(caught.value).startswith(f"c.json: {path}{message}"), str(caught.value)


def test_occurrence_dates_live_as_circe_counts(eunomia: str) -> None:
    """Circe's meaning, as SQL on Eunomia's CDM (DrugExposureSqlBuilder.java: the ordinal over
    every exposure, then ``ordinal = 1`` and the date range; the entry inside an observation
    period): 509 persons had their first celecoxib exposure in 2000-2009."""
    from myositis.cohort.run import run_cohort
    from myositis.registry.connect import connect

    cdm = eunomia.removeprefix("omop+duckdb://")
    with duckdb.connect(cdm, read_only=True) as raw:
        (circe,) = raw.execute(
            """WITH c AS (
                 SELECT person_id, drug_exposure_start_date AS d, row_number() OVER (
                   PARTITION BY person_id ORDER BY drug_exposure_start_date, drug_exposure_id
                 ) AS ordinal
                 FROM drug_exposure WHERE drug_concept_id IN (
                   SELECT descendant_concept_id FROM concept_ancestor
                   WHERE ancestor_concept_id = 1118084))
               SELECT count(DISTINCT c.person_id) FROM c JOIN observation_period op
                 ON op.person_id = c.person_id
                AND c.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date
               WHERE ordinal = 1 AND c.d BETWEEN DATE '2000-01-01' AND DATE '2009-12-31'"""
        ).fetchone() or (None,)
    assert circe == 509
    cohort = translate_atlas(_celecoxib_first_from("2000-01-01", "2009-12-31")).cohort
    assert run_cohort(connect(eunomia, check=False), cohort).persons == 509


def test_criteria_without_a_codeset_read_every_record(eunomia: str) -> None:
    """Circe criteria without a ``CodesetId`` read their whole domain table
    (ConditionOccurrenceSqlBuilder.java and DrugExposureSqlBuilder.java add the codeset join
    only when one is given) -> ``any_code``. The cohort: each person's first condition of any
    kind inside an observation period, with no drug exposure of any kind starting in that
    period in the 365 days before it. Circe's meaning, as SQL on Eunomia's CDM (the windowed
    criterion counts events starting inside the index's observation period, ``START_DATE``
    between ``OP_START_DATE`` and ``OP_END_DATE``), gives the count the import must give."""
    from myositis.cohort.run import run_cohort
    from myositis.registry.connect import connect

    cdm = eunomia.removeprefix("omop+duckdb://")
    with duckdb.connect(cdm, read_only=True) as raw:
        (circe,) = raw.execute(
            """WITH e AS (
                 SELECT co.person_id, co.condition_start_date AS d,
                        op.observation_period_start_date AS s,
                        op.observation_period_end_date AS f,
                        row_number() OVER (PARTITION BY co.person_id
                          ORDER BY co.condition_start_date, co.condition_occurrence_id) AS ordinal
                 FROM condition_occurrence co JOIN observation_period op
                   ON op.person_id = co.person_id
                  AND co.condition_start_date BETWEEN op.observation_period_start_date
                                                  AND op.observation_period_end_date)
               SELECT count(*) FROM e WHERE ordinal = 1 AND NOT EXISTS (
                 SELECT 1 FROM drug_exposure de
                 WHERE de.person_id = e.person_id
                   AND de.drug_exposure_start_date BETWEEN e.s AND e.f
                   AND de.drug_exposure_start_date BETWEEN e.d - 365 AND e.d - 1)"""
        ).fetchone() or (None,)
    data = _load("first_condition_no_drug.json")
    cohort = translate_atlas(data).cohort
    (entry,) = cohort.entry.events
    (rule,) = cohort.inclusion
    assert (entry.domain, entry.any_code, entry.concept_set) == ("diagnosis", True, None)
    assert rule.criteria[0].any_code
    result = run_cohort(connect(eunomia, check=False), cohort)
    assert result.persons == circe == 1658  # the figure tests/conformance checks on each engine
    assert result.attrition[1].remaining > circe


def test_a_concept_set_of_hundreds_of_concepts_runs(eunomia: str) -> None:
    """A concept set of 1,100 concepts with descendants (PhenotypeLibrary cohorts 1267 and 790
    have 588 and 1,066) is resolved as one expression: one test per concept nested past
    DuckDB's limit of 1,000 expressions and Python's recursion limit ("internal error" before:
    "Max expression depth limit of 1000 exceeded", "RecursionError").
    Persons with a condition below any of them, with any record (the Book of OHDSI's rule), as
    SQL on the CDM counts them."""
    from myositis.cohort.run import run_cohort
    from myositis.registry.connect import connect

    cdm = eunomia.removeprefix("omop+duckdb://")
    with duckdb.connect(cdm, read_only=True) as raw:
        concepts = raw.execute(
            # Eunomia's 437 standard concepts (84 conditions), then 663 ids it lacks
            "SELECT concept_id, vocabulary_id, concept_code FROM concept "
            "WHERE standard_concept = 'S' ORDER BY concept_id"
        ).fetchall()
        concepts += [(2_000_000_001 + k, "Made up", None) for k in range(1100 - len(concepts))]
        ids = ", ".join(str(c[0]) for c in concepts)
        (expected,) = raw.execute(
            f"""SELECT count(DISTINCT person_id) FROM condition_occurrence
                WHERE condition_concept_id IN (SELECT descendant_concept_id
                  FROM concept_ancestor WHERE ancestor_concept_id IN ({ids}))"""
        ).fetchone() or (None,)
    assert len(concepts) == 1100
    data = _load("gi_bleed.json")
    data["ConceptSets"][0]["expression"]["items"] = [
        {
            "concept": {"CONCEPT_ID": cid, "VOCABULARY_ID": vocabulary, "CONCEPT_CODE": code},
            "includeDescendants": True,
        }
        for cid, vocabulary, code in concepts
    ]
    cohort = translate_atlas(data, any_record=True).cohort
    assert run_cohort(connect(eunomia, check=False), cohort).persons == expected
    assert expected > 479  # more than GI hemorrhage alone
