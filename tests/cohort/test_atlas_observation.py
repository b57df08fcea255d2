"""ATLAS ``Observation`` criteria read as the cohort language's ``observation`` domain, run live
on Eunomia GiBleed against Circe's meaning written as SQL on the CDM tables, a value bound run
on a small CDM built here, and the options the registry has no place for refused at their JSON
path.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``Observation.java`` defines ``CodesetId``,
``First``, ``OccurrenceStartDate`` (no ``OccurrenceEndDate``), ``ObservationType`` (``CS``,
``Exclude``), ``ValueAsNumber``, ``ValueAsString``, ``ValueAsConcept`` (``CS``), ``Qualifier``
(``CS``), ``Unit`` (``CS``), ``ObservationSourceConcept``, ``Age``, ``Gender`` (``CS``),
``ProviderSpecialty`` (``CS``) and ``VisitType`` (``CS``); ``ObservationSqlBuilder.java`` joins
the codeset on ``observation_concept_id``, numbers a person's observations of the concept set by
``observation_date, observation_id`` for ``First`` before the other conditions, compares
``value_as_number`` with the bounds written to 4 decimals (``".4f"``), ``value_as_concept_id``
with the concepts (or the codeset) of ``ValueAsConcept`` (``CS``) and ``unit_concept_id`` with
those of ``Unit`` (``CS``), and an observation lasts
from its date to the day after (``observation.sql``: ``DATEADD(day,1,o.observation_date)``). The
cohort language ends an observation on its date, so the import reads Circe's end of an
observation as its date one day on: a window on its end, an index end (``UseIndexEnd``) and an
exit from the end (``DateOffset`` ``EndDate``) of observation events. An entry event must start
inside an observation period (ATLAS's rule); ``--any-record`` drops that, and a criterion's
events must start inside the index event's period unless ``IgnoreObservationPeriod``
(``CohortExpressionQueryBuilder.getWindowedCriteriaQuery``).

Fixtures: ``atlas/history_of_mi.json`` and ``atlas/observation_events.json`` (written for
these tests in the form ATLAS exports), ``atlas/gi_bleed.json``, PhenotypeLibrary cohort 858
(``atlas/phenotype_library/858_earliest_rheumatoid_arthritis.json``) and Circe's
``criteria/observationDateOffset`` rows (``circe/observationDateOffset_PREP.json``,
``_VERIFY.json``; atlas/README.md names the commits).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from cohort.atlas_json import inclusion_rule
from cohort.test_atlas_circe import CIRCE, _build_cdm
from cohort.test_atlas_measurement import _item, _set
from cohort.test_measurement_units import _ucum, code_note, unit_note
from conformance.engines import run_cli
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.files import cohort_yaml
from myositis.cohort.language import Cohort, DateRange, Range, RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"
ROOT = Path(__file__).resolve().parents[2]
ENTRY = "PrimaryCriteria.CriteriaList[0].Observation"
RULE = "InclusionRules[0].expression.CriteriaList[0]"

#: Eunomia's allergy observations (SNOMED; concept id, code, name): the 15 concepts of its
#: observation table named allergies (Eunomia's concept_ancestor has no allergy concept above
#: them, so they are listed).
ALLERGIES = (
    (433644, "300913006", "Shellfish allergy"),
    (438614, "91934008", "Allergy to nut"),
    (439406, "232347008", "Allergy to animal dander"),
    (442116, "91930004", "Allergy to eggs"),
    (4048169, "232350006", "Allergy to house dust mite"),
    (4102123, "300916003", "Latex allergy"),
    (4139681, "425525006", "Allergy to dairy product"),
    (4169137, "420174000", "Allergy to wheat"),
    (4174876, "424213003", "Allergy to bee venom"),
    (4219399, "417532002", "Allergy to fish"),
    (4240902, "91935009", "Allergy to peanuts"),
    (4302207, "418689008", "Allergy to grass pollen"),
    (4304110, "419474003", "Allergy to mold"),
    (4306014, "419263009", "Allergy to tree pollen"),
    (37017711, "714035009", "Allergy to soy"),
)


def _history(concept_id: int | None = None, code: str = "", name: str = "") -> dict[str, Any]:
    """history_of_mi.json (SNOMED 399211009 = concept 4163874, History of myocardial infarction,
    with descendants; first event), its concept replaced by ``concept_id`` (SNOMED ``code``,
    ``name``) when given."""
    data: dict[str, Any] = json.loads((HERE / "history_of_mi.json").read_text("utf-8"))
    if concept_id is not None:
        concept = data["ConceptSets"][0]["expression"]["items"][0]["concept"]
        concept.update(CONCEPT_ID=concept_id, CONCEPT_CODE=code, CONCEPT_NAME=name)
        data["ConceptSets"][0]["name"] = name
    return data


def _entry(data: dict[str, Any]) -> dict[str, Any]:
    criterion: dict[str, Any] = data["PrimaryCriteria"]["CriteriaList"][0]["Observation"]
    return criterion


def _concept_set(
    cid: int, name: str, concepts: tuple[tuple[int, str, str], ...], domain: str = "Observation"
) -> dict[str, Any]:
    """A concept set as ATLAS exports it: SNOMED ``concepts`` (id, code, name) of ``domain``,
    no descendants."""
    items = [
        {
            "concept": {
                "CONCEPT_ID": concept_id,
                "CONCEPT_NAME": concept_name,
                "STANDARD_CONCEPT": "S",
                "CONCEPT_CODE": code,
                "DOMAIN_ID": domain,
                "VOCABULARY_ID": "SNOMED",
            },
            "isExcluded": False,
            "includeDescendants": False,
            "includeMapped": False,
        }
        for concept_id, code, concept_name in concepts
    ]
    return {"id": cid, "name": name, "expression": {"items": items}}


def _window(start: int | None, end: int | None, **flags: bool) -> dict[str, Any]:
    """A Circe window of days from the index (negative: before; None: open)."""

    def bound(days: int | None, open_coeff: int) -> dict[str, int]:
        if days is None:
            return {"Coeff": open_coeff}
        return {"Days": abs(days), "Coeff": -1 if days < 0 else 1}

    return {"Start": bound(start, -1), "End": bound(end, 1), **flags}


def _with_rule(data: dict[str, Any], criterion: dict[str, Any], name: str) -> dict[str, Any]:
    """``data`` with one inclusion rule ``name``: at least one event of ``criterion``."""
    data["InclusionRules"] = [
        inclusion_rule(
            name,
            {
                "RestrictVisit": False,
                "IgnoreObservationPeriod": False,
                "Occurrence": {"Type": 2, "Count": 1, "IsDistinct": False},
                **criterion,
            },
        )
    ]
    return data


def _bleed_with_allergy(start: int | None = None, end: int = -1) -> dict[str, Any]:
    """gi_bleed.json (the first gastrointestinal hemorrhage) with an inclusion rule: an allergy
    observation (concept set 1, :data:`ALLERGIES`) starting ``start`` to ``end`` days from the
    index (``None``: any time before, Circe's observation-period start)."""
    data: dict[str, Any] = json.loads((HERE / "gi_bleed.json").read_text("utf-8"))
    data["ConceptSets"].append(_concept_set(1, "Allergy", ALLERGIES))
    criterion = {
        "Criteria": {"Observation": {"CodesetId": 1, "ObservationTypeExclude": False}},
        "StartWindow": _window(start, end, UseIndexEnd=False, UseEventEnd=False),
    }
    return _with_rule(data, criterion, "allergy before")


# -- translation ---------------------------------------------------------------------------


def test_an_observation_criterion_is_the_observation_domain() -> None:
    """Concept 4163874 of vocabulary SNOMED is the registry code SNOMED 399211009, as the
    observation view codes observation rows; ATLAS's ``ObservationTypeExclude: false`` is an
    unused option, ignored."""
    imported = read_atlas(HERE / "history_of_mi.json")
    cohort = imported.cohort
    (event,) = cohort.entry.events
    name = "history_of_myocardial_infarction"
    assert (event.domain, event.concept_set, event.first, event.any_code, event.value) == (
        "observation",
        name,
        False,
        False,
        None,
    )
    (item,) = cohort.concept_sets[name].items
    assert (item.system, item.code, item.descendants, item.exclude) == (
        "SNOMED",
        "399211009",
        True,
        False,
    )
    assert cohort.entry.observation is not None and cohort.entry.limit == "first"
    assert imported.notes == []


def test_first_start_date_age_gender_and_correlated_criteria_as_for_conditions() -> None:
    """The options an Observation shares with ConditionOccurrence are read the same way (one
    code path): ``First``, ``OccurrenceStartDate``, ``Age``, ``Gender``, ``CorrelatedCriteria``;
    without ``CodesetId`` every observation (``any_code``)."""
    data = _history()
    _entry(data).update(
        First=True,
        OccurrenceStartDate={"Value": "2010-01-01", "Op": "gte"},
        Age={"Value": 40, "Op": "lt"},
        Gender=[{"CONCEPT_ID": 8532}],
        CorrelatedCriteria={
            "Type": "ALL",
            "CriteriaList": [
                {
                    "Criteria": {"Observation": {}},
                    "StartWindow": _window(-30, -1),
                    "Occurrence": {"Type": 0, "Count": 0},
                }
            ],
        },
    )
    imported = translate_atlas(data)
    (event,) = imported.cohort.entry.events
    assert event.first and event.start_date == DateRange(gte=dt.date(2010, 1, 1))
    assert event.end_date is None
    assert (event.age, event.sex) == (Range(lt=40), ["F"])
    assert event.having is not None
    (inner,) = event.having.criteria
    assert (inner.domain, inner.any_code, inner.concept_set) == ("observation", True, None)
    assert inner.start_window == RelativeWindow(start=-30, end=-1)
    assert (inner.occurrence.type, inner.occurrence.count) == ("exactly", 0)
    assert any(f"(first at {ENTRY}.Age)" in note for note in imported.notes)
    # every observation: the registry's assessments and subtypes are not among them
    assert any(
        "an Observation without a concept set reads every observation but those of the local "
        "assessment and DM subtype concepts" in note
        for note in imported.notes
    )


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"Value": 20, "Op": "bt", "Extent": 40}, Range(gte=20, lte=40)),
        ({"Value": 0, "Op": "eq"}, Range(eq=0)),
        # Circe writes the bound with 4 decimals (".4f", half up): 20.00005 is 20.0001
        ({"Value": 20.00005, "Op": "gte"}, Range(gte=20.0001)),
        ({"Value": 20.00004, "Op": "gt"}, Range(gt=20.0)),
    ],
)
def test_value_as_number_is_the_value_bound(bounds: dict[str, Any], expected: Range) -> None:
    data = _history()
    _entry(data)["ValueAsNumber"] = bounds
    imported = translate_atlas(data)
    (event,) = imported.cohort.entry.events
    assert event.value == expected
    assert imported.notes == []  # value_as_number as recorded, as Circe compares it


def test_a_coded_value_is_the_value_concept_set() -> None:
    """``ValueAsConcept`` (concepts, each itself: Circe's ``value_as_concept_id in (...)``)
    becomes a concept set of its own, ``observation_values``, without descendants;
    ``ValueAsConceptCS`` names a concept set of the definition (its descendants as it says)."""
    data = _history()
    smoker = {"CONCEPT_ID": 4298794, "CONCEPT_NAME": "Smoker", "VOCABULARY_ID": "SNOMED",
              "CONCEPT_CODE": "77176002"}  # fmt: skip
    _entry(data)["ValueAsConcept"] = [smoker, {"CONCEPT_ID": 45879404}]
    cohort = translate_atlas(data).cohort
    (event,) = cohort.entry.events
    assert event.value_concept_set == "observation_values"
    items = cohort.concept_sets["observation_values"].items
    assert [(i.system, i.code, i.descendants) for i in items] == [
        ("SNOMED", "77176002", False),
        ("OMOP", "45879404", False),
    ]
    del _entry(data)["ValueAsConcept"]
    data["ConceptSets"].append(_concept_set(1, "Smoker", ((4298794, "77176002", "Smoker"),)))
    _entry(data)["ValueAsConceptCS"] = {"CodesetId": 1, "IsExclusion": False}
    cohort = translate_atlas(data).cohort
    assert cohort.entry.events[0].value_concept_set == "smoker"
    assert "observation_values" not in cohort.concept_sets


@pytest.mark.parametrize(
    ("options", "path", "reason"),
    [
        ({"ValueAsConceptCS": {"CodesetId": 0, "IsExclusion": True}},
         "ValueAsConceptCS.IsExclusion",
         "a coded value outside a concept set is not in the cohort language"),
        ({"ValueAsConceptCS": {"CodesetId": None, "IsExclusion": False}}, "ValueAsConceptCS",
         "a coded value of any concept (no CodesetId: value_as_concept_id is not null)"),
        ({"ValueAsConceptCS": {"CodesetId": 0}, "ValueAsConcept": [{"CONCEPT_ID": 1}]},
         "ValueAsConceptCS", "ValueAsConcept and ValueAsConceptCS together"),
    ],
)  # fmt: skip
def test_coded_values_the_cohort_language_lacks_are_refused(
    options: dict[str, Any], path: str, reason: str
) -> None:
    data = _history()
    _entry(data).update(options)
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {ENTRY}.{path}: not supported: {reason}")


def test_first_with_a_value_bound_is_refused() -> None:
    """Circe numbers the observations of the concept set before it bounds the value (the
    ordinal in the inner query, the value in the outer WHERE): the first observation, if its
    value is in range. The cohort language bounds the values first, so it would take the
    first observation in range: refused, naming the value."""
    data = _history()
    _entry(data).update(First=True, ValueAsNumber={"Value": 20, "Op": "gte"})
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(
        f"c.json: {ENTRY}.ValueAsNumber: not supported: with First: Circe bounds the value of "
        "the person's first observation of the concept set"
    )


CEL = _ucum(586323, "Cel", "degree Celsius")
DEG_F = _ucum(9289, "[degF]", "degree Fahrenheit")
#: The Nebraska Lexicon's pound, as PhenotypeLibrary cohort 32 lists it on a body weight
LEXICON_POUND = {
    "CONCEPT_ID": 3195625,
    "CONCEPT_NAME": "pound",
    "VOCABULARY_ID": "Nebraska Lexicon",
    "CONCEPT_CODE": "258693003",
    "DOMAIN_ID": "Unit",
}


def test_unit_is_units_of_an_observation() -> None:
    """``Unit``'s concepts -> their codes, in order, once each (a fever in Cel or [degF], as
    PhenotypeLibrary cohorts 6, 64, 208 and 737 bound a temperature recorded as an
    observation); a note says where the registry's unit may differ from ``unit_concept_id``;
    with the value bound as written (``value_as_number`` as recorded)."""
    data = _history()
    _entry(data).update(ValueAsNumber={"Value": 38, "Op": "gte"}, Unit=[CEL, DEG_F, CEL])
    result = translate_atlas(data)
    (events,) = result.cohort.entry.events
    assert (events.domain, events.units, events.value) == (
        "observation",
        ["Cel", "[degF]"],
        Range(gte=38),
    )
    assert [n for n in result.notes if n.startswith("Unit")] == [
        f"{unit_note('observation')} (first at {ENTRY})"
    ]


def test_unit_concept_set_of_an_observation_in_an_inclusion_rule() -> None:
    """``UnitCS``: the codes of that concept set's concepts."""
    data = _bleed_with_allergy()
    data["ConceptSets"].append(_set(2, "Temperature units", _item(CEL), _item(DEG_F)))
    criteria = data["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]
    criteria["Observation"]["UnitCS"] = {"CodesetId": 2, "IsExclusion": False}
    (criterion,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert (criterion.domain, criterion.concept_set, criterion.units) == (
        "observation",
        "allergy",
        ["Cel", "[degF]"],
    )


def test_a_unit_of_another_vocabulary_on_an_observation_is_its_code_noted() -> None:
    """The Nebraska Lexicon's pound (PhenotypeLibrary cohort 32, a body weight of 265 to 440
    recorded as an observation): its code, 258693003, the unit an OMOP CDM read live gives a
    row recorded in it, with the note; censoring events of every observation in it."""
    data = _history()
    _entry(data)["Unit"] = [LEXICON_POUND]
    data["CensoringCriteria"] = [{"Observation": {"UnitCS": {"CodesetId": 1}}}]
    data["ConceptSets"].append(_set(1, "Pound", _item(LEXICON_POUND)))
    result = translate_atlas(data)
    (events,) = result.cohort.entry.events
    (censor,) = result.cohort.exit.censor
    assert (events.units, censor.any_code, censor.units) == (["258693003"], True, ["258693003"])
    pound = code_note("3195625 pound (Nebraska Lexicon", "258693003", "observation")
    assert [n for n in result.notes if n.startswith("Unit")] == [
        f"{pound} (first at {ENTRY}.Unit[0])",
        f"{unit_note('observation')} (first at {ENTRY})",
    ]


#: (options of the entry Observation, extra concept sets, the refusal from its path on)
OBSERVATION_UNIT_REFUSALS = [
    # Circe numbers the observations (ordinal) before it bounds the unit
    ({"First": True, "Unit": [CEL]}, [], "Unit: not supported: with First: Circe bounds the "
     "unit of the person's first observation of the concept set, where the cohort language "
     "would take the first observation whose unit is listed (drop one of the two)"),
    ({"First": True, "UnitCS": {"CodesetId": 1}}, [_set(1, "Units", _item(CEL))],
     "UnitCS: not supported: with First"),
    ({"Unit": [CEL], "UnitCS": {"CodesetId": 1}}, [_set(1, "Units", _item(CEL))],
     "UnitCS: not supported: Unit and UnitCS together: the cohort language bounds an "
     "observation's unit by one list of unit codes (give one of them)"),
    ({"UnitCS": {"CodesetId": 1, "IsExclusion": True}}, [_set(1, "Units", _item(CEL))],
     "UnitCS.IsExclusion: not supported: a unit outside a concept set is not in the cohort "
     "language"),
    ({"Unit": [{"CONCEPT_ID": 586323, "CONCEPT_NAME": "degree Celsius"}]}, [],
     "Unit[0]: not supported: unit concept 586323 degree Celsius (no vocabulary) has no code: "
     "the registry keeps an observation's unit as its code"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "sets", "message"), OBSERVATION_UNIT_REFUSALS)
def test_unit_refusals_on_an_observation_name_the_json_path(
    options: dict[str, Any], sets: list[dict[str, Any]], message: str
) -> None:
    data = _history()
    _entry(data).update(options)
    data["ConceptSets"] += copy.deepcopy(sets)
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {ENTRY}.{message}"), str(caught.value)


def test_a_unit_concept_set_with_descendants_is_refused_on_an_observation() -> None:
    data = _history()
    _entry(data)["UnitCS"] = {"CodesetId": 1}
    data["ConceptSets"].append(_set(1, "Units", _item(CEL, includeDescendants=True)))
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(
        "c.json: ConceptSets[1].expression.items[0].includeDescendants: not supported: the unit "
        f"concept set of {ENTRY}.UnitCS adds a unit's descendants"
    )


def test_observations_in_additional_criteria_and_censoring() -> None:
    """Wherever a VisitOccurrence is read, so is an Observation: an additional criterion (an
    allergy before the bleed) and a censoring event (every observation)."""
    data = _bleed_with_allergy()
    data["AdditionalCriteria"] = data.pop("InclusionRules")[0]["expression"]
    data["CensoringCriteria"] = [{"Observation": {}}]
    cohort = translate_atlas(data).cohort
    assert cohort.entry.additional is not None
    (criterion,) = cohort.entry.additional.criteria
    assert (criterion.domain, criterion.concept_set) == ("observation", "allergy")
    assert criterion.start_window == RelativeWindow(start=None, end=-1)
    (censor,) = cohort.exit.censor
    assert (censor.domain, censor.any_code) == ("observation", True)


# -- Circe's end of an observation: the day after its date -----------------------------------


def test_an_exit_from_the_end_of_an_observation_is_the_day_after_its_date() -> None:
    """``DateOffset`` from ``EndDate``: Circe's end of an observation entry is its date + 1, so
    the exit is written from the start, one day further; from ``StartDate`` it is unchanged."""
    data = _history()
    for field, offset, written in (("EndDate", 0, 1), ("EndDate", 30, 31), ("StartDate", 30, 30)):
        data["EndStrategy"] = {"DateOffset": {"DateField": field, "Offset": offset}}
        exit_ = translate_atlas(data).cohort.exit
        assert (exit_.strategy, exit_.date, exit_.offset_days) == ("fixed", "start", written)


def test_an_exit_from_the_end_of_observations_among_other_entry_events_reads_it() -> None:
    """Entry events of two domains, an observation and a condition: Circe's exit from their end
    is the day after the observation's date and the condition's own end, which no one offset
    gives (refused before): the observations end the day after their date (``end:
    day_after``) and the exit counts from the end as it is. From ``StartDate`` nothing reads
    their end: they end on their date, as before."""
    data = _history()
    data["ConceptSets"].append(
        _concept_set(1, "MI", ((4329847, "22298006", "Myocardial infarction"),), "Condition")
    )
    data["PrimaryCriteria"]["CriteriaList"].append({"ConditionOccurrence": {"CodesetId": 1}})
    for offset in (0, 30):
        data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": offset}}
        cohort = translate_atlas(data, where="c.json").cohort
        assert [(e.domain, e.end) for e in cohort.entry.events] == [
            ("observation", "day_after"),
            ("diagnosis", "date"),
        ]
        exit_ = cohort.exit
        assert (exit_.strategy, exit_.date, exit_.offset_days) == ("fixed", "end", offset)
    data["EndStrategy"]["DateOffset"]["DateField"] = "StartDate"
    cohort = translate_atlas(data).cohort
    assert cohort.exit.date == "start"
    assert [e.end for e in cohort.entry.events] == ["date", "date"]


def test_the_index_end_of_an_observation_is_the_day_after_its_date() -> None:
    """``UseIndexEnd`` where the index events are observations (the entry's, or the
    observation a ``CorrelatedCriteria`` hangs on) is Circe's index end, its date + 1: the
    window is measured from the index date, one day further. Under a condition the index end
    is read as it is; with observations and conditions as entry events it is read as it is,
    the observations ending the day after their date (``end: day_after``)."""
    condition = {
        "Criteria": {"ConditionOccurrence": {}},
        "StartWindow": _window(-1, 0, UseIndexEnd=True),
    }
    data = _with_rule(_history(), copy.deepcopy(condition), "condition at the end")
    (criterion,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert criterion.start_window == RelativeWindow(start=0, end=1, index="start")
    # a CorrelatedCriteria on an observation: its index is the observation
    data = _history()
    _entry(data)["CorrelatedCriteria"] = {"Type": "ALL", "CriteriaList": [condition]}
    (event,) = translate_atlas(data).cohort.entry.events
    assert event.having is not None
    assert event.having.criteria[0].start_window == RelativeWindow(start=0, end=1)
    # inside it, a CorrelatedCriteria on a condition: its index is that condition, read as is
    inner = copy.deepcopy(condition)
    inner["Criteria"]["ConditionOccurrence"]["CorrelatedCriteria"] = {
        "Type": "ALL",
        "CriteriaList": [copy.deepcopy(condition)],
    }
    _entry(data)["CorrelatedCriteria"] = {"Type": "ALL", "CriteriaList": [inner]}
    (event,) = translate_atlas(data).cohort.entry.events
    assert event.having is not None
    nested = event.having.criteria[0].having
    assert nested is not None
    assert nested.criteria[0].start_window == RelativeWindow(start=-1, end=0, index="end")
    # entry events of two domains (refused before): the index end as it is, the observations
    # ending the day after their date
    data = _with_rule(_history(), copy.deepcopy(condition), "condition at the end")
    data["PrimaryCriteria"]["CriteriaList"].append({"ConditionOccurrence": {}})
    cohort = translate_atlas(data, where="c.json").cohort
    assert [(e.domain, e.end) for e in cohort.entry.events] == [
        ("observation", "day_after"),
        ("diagnosis", "date"),
    ]
    (criterion,) = cohort.inclusion[0].criteria
    assert criterion.start_window == RelativeWindow(start=-1, end=0, index="end")
    # the same window from the index start reads no end: the observations end on their date
    del data["InclusionRules"][0]["expression"]["CriteriaList"][0]["StartWindow"]["UseIndexEnd"]
    cohort = translate_atlas(data).cohort
    assert [e.end for e in cohort.entry.events] == ["date", "date"]


def test_a_window_on_the_end_of_an_observation_bounds_its_date_a_day_earlier() -> None:
    """An ``EndWindow`` (``UseEventEnd``) on an observation bounds Circe's end, its date + 1:
    the same window on its date, each bound a day earlier, an open bound open (as before).
    With a ``StartWindow`` too, or with an open end that Circe reads as the observation
    period's end (on Circe's end: the date up to the day before the period's end), a window on
    the date cannot say it (refused before): the observations end the day after their date
    (``end: day_after``) and the window bounds that end as written. Two windows on its end
    (refused before) are, as beside a window on its start, a list of both on that end."""
    data = _bleed_with_allergy()
    criterion = data["InclusionRules"][0]["expression"]["CriteriaList"][0]
    criterion["EndWindow"] = criterion.pop("StartWindow")
    criterion["EndWindow"].update(_window(-365, 0), UseEventEnd=True)
    (found,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert (found.start_window, found.end_window) == (RelativeWindow(start=-366, end=-1), None)
    assert found.end == "date"
    criterion["StartWindow"] = _window(None, -1)
    (found,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert (found.end, found.start_window, found.end_window) == (
        "day_after",
        RelativeWindow(start=None, end=-1),
        RelativeWindow(start=-365, end=0),
    )
    criterion["StartWindow"]["UseEventEnd"] = True
    (found,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert (found.end, found.start_window, found.end_window) == (
        "day_after",
        None,
        [RelativeWindow(start=None, end=-1), RelativeWindow(start=-365, end=0)],
    )
    del criterion["StartWindow"]
    criterion["EndWindow"] = _window(0, None, UseEventEnd=True)
    (found,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert (found.end, found.start_window, found.end_window) == (
        "day_after",
        None,
        RelativeWindow(start=0, end="period_end"),
    )
    # with --any-record an open end is open: a window on the date, a day earlier, as before
    (found,) = translate_atlas(data, any_record=True).cohort.inclusion[0].criteria
    assert (found.end, found.start_window) == ("date", RelativeWindow(start=-1, end=None))


REFUSALS: list[tuple[str, Any, str]] = [
    ("ObservationType", [{"CONCEPT_ID": 38000280}], "the registry holds no observation (record)"),
    ("ObservationTypeCS", {"CodesetId": 0}, "the registry holds no observation (record) types"),
    ("ObservationTypeExclude", True, "the registry holds no observation (record) types"),
    ("ValueAsString", {"Text": "x", "Op": "contains"}, "criteria on an observation's text"),
    ("Qualifier", [{"CONCEPT_ID": 4188539}], "the registry holds no observation qualifiers"),
    ("QualifierCS", {"CodesetId": 0}, "the registry holds no observation qualifiers"),
    # Unit and UnitCS are units (below), but a unit of any concept is not
    ("UnitCS", {"CodesetId": None}, "a unit of any concept (no CodesetId: unit_concept_id is"),
    ("ProviderSpecialty", [{"CONCEPT_ID": 38004446}], "the registry holds no providers"),
    ("ProviderSpecialtyCS", {"CodesetId": 0}, "the registry holds no providers"),
    ("VisitType", [{"CONCEPT_ID": 9201}], "the registry does not link records to their visits"),
    ("VisitTypeCS", {"CodesetId": 0}, "the registry does not link records to their visits"),
    ("GenderCS", {"CodesetId": 0}, "sex concept sets are not in the cohort language"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
    (
        "OccurrenceEndDate",
        {"Value": "2010-01-01", "Op": "lt"},
        "Circe's Observation has no OccurrenceEndDate (an observation ends the day after its "
        "date); bound OccurrenceStartDate",
    ),
]


@pytest.mark.parametrize(("key", "value", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_options_without_a_place_in_the_registry_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event, inside an inclusion rule and as a censoring event: the message names
    the file, the JSON path of the option and why."""
    data = _history()
    _entry(data)[key] = value
    with pytest.raises(SpecError) as caught:
        translate_atlas(data, where="c.json")
    assert str(caught.value).startswith(f"c.json: {ENTRY}.{key}: not supported: {reason}"), str(
        caught.value
    )
    ruled = _bleed_with_allergy()
    ruled["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]["Observation"][key] = (
        value
    )
    with pytest.raises(SpecError) as caught:
        translate_atlas(ruled, where="c.json")
    path = f"{RULE}.Criteria.Observation"
    assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}")
    censored = _history()
    censored["CensoringCriteria"] = [{"Observation": {key: value}}]
    with pytest.raises(SpecError) as caught:
        translate_atlas(censored, where="c.json")
    path = "CensoringCriteria[0].Observation"
    assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}")


def test_options_left_empty_as_atlas_writes_them_are_ignored() -> None:
    data = _history()
    _entry(data).update(
        ObservationType=[],
        ObservationTypeCS=None,
        ObservationTypeExclude=False,
        ValueAsConcept=[],
        ValueAsString=None,
        Qualifier=[],
        Unit=[],
        ProviderSpecialty=[],
        VisitType=[],
    )
    assert translate_atlas(data).cohort.entry.events[0].domain == "observation"


# -- Eunomia read live ----------------------------------------------------------------------


def _sql(cdm: Path, sql: str) -> tuple[Any, ...]:
    with duckdb.connect(str(cdm), read_only=True) as raw:
        found = raw.execute(sql).fetchone()
    assert found is not None
    return tuple(found)


def _observations(concept_id: int) -> str:
    """Observations of ``concept_id`` and its descendants (concept_ancestor lists each concept
    as its own ancestor), as Circe's codeset join reads them."""
    return f"""
        SELECT o.person_id, o.observation_id, o.observation_date
        FROM observation o
        WHERE o.observation_concept_id IN (
          SELECT descendant_concept_id FROM concept_ancestor
          WHERE ancestor_concept_id = {concept_id})"""


#: With the observation period holding the observation's date: ATLAS's rule.
IN_PERIOD = """
    JOIN observation_period op ON op.person_id = v.person_id
     AND v.observation_date BETWEEN op.observation_period_start_date
                                AND op.observation_period_end_date
"""

#: (concept, SNOMED code, name, persons with a record, persons by ATLAS's rule): History of
#: myocardial infarction (history_of_mi.json) and History of single seizure, 3 of whose 79
#: observations fall outside every observation period.
HISTORIES = [
    (4163874, "399211009", "History of myocardial infarction", 67, 67),
    (45766064, "703151001", "History of single seizure", 79, 76),
]


@pytest.mark.parametrize(
    ("concept_id", "code", "name", "any_record", "atlas_rule"),
    HISTORIES,
    ids=[h[2] for h in HISTORIES],
)
def test_eunomia_histories_live_as_sql_counts_them(
    eunomia: Path, concept_id: int, code: str, name: str, any_record: int, atlas_rule: int
) -> None:
    """history_of_mi.json (and its concept swapped for a seizure history) on Eunomia: the
    persons with such an observation, and with one inside an observation period; the same
    through ``run_cohort`` and ``myositis cohort run`` (with and without ``--any-record``),
    and by hand-written SQL on the DuckDB CDM."""
    rows = _observations(concept_id)
    counted = (
        _sql(eunomia, f"SELECT count(DISTINCT person_id) FROM ({rows})")[0],
        _sql(eunomia, f"SELECT count(DISTINCT v.person_id) FROM ({rows}) v {IN_PERIOD}")[0],
    )
    assert counted == (any_record, atlas_rule)
    url = f"omop+duckdb://{eunomia}"
    con = connect(url, check=False)
    source = HERE / "history_of_mi.json"
    if concept_id != 4163874:
        source = eunomia.parent / "history.json"
        source.write_text(json.dumps(_history(concept_id, code, name)), encoding="utf-8")
    for drop, expected in ((True, any_record), (False, atlas_rule)):
        result = run_cohort(con, read_atlas(source, any_record=drop).cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", expected),
        ], drop
        extra = ["--any-record"] if drop else []
        out = json.loads(run_cli("cohort", "run", str(source), "--data", url, "--json", *extra))
        assert out["persons"] == expected, drop


def test_each_person_leaves_the_day_after_the_first_history(eunomia: Path) -> None:
    """history_of_mi.json with a fixed exit 0 days after the event's end: Circe's end of an
    observation is the day after its date, so each of the 67 members leaves the day after
    the first history inside an observation period (none falls on its period's last day,
    which would cap the exit); the members are those SQL gives by Circe's rules."""
    firsts = f"""
        SELECT person_id, observation_date,
               least(observation_date + 1, op_end) FROM (
          SELECT v.*, op.observation_period_end_date AS op_end, row_number() OVER (
            PARTITION BY v.person_id ORDER BY v.observation_date, v.observation_id) AS ordinal
          FROM ({_observations(4163874)}) v {IN_PERIOD}) WHERE ordinal = 1"""
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        expected = sorted(raw.execute(firsts).fetchall())
    assert len(expected) == 67
    assert all(end == start + dt.timedelta(days=1) for _, start, end in expected)
    data = _history()
    data["EndStrategy"] = {"DateOffset": {"DateField": "EndDate", "Offset": 0}}
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    found = sorted((m["person_id"], m["index_date"], m["exit_date"]) for m in members)
    assert found == expected


#: The first history of myocardial infarction of each person inside an observation period
#: (history_of_mi.json's entry under ATLAS's rule), with its period.
FIRST_HISTORY = f"""
    SELECT * FROM (
      SELECT v.person_id, v.observation_date AS d,
             op.observation_period_start_date AS op_start,
             op.observation_period_end_date AS op_end,
             row_number() OVER (PARTITION BY v.person_id
                                ORDER BY v.observation_date, v.observation_id) AS n
      FROM ({_observations(4163874)}) v {IN_PERIOD})
    WHERE n = 1
"""


def test_a_condition_the_day_before_the_index_end_of_a_history_live_as_sql(eunomia: Path) -> None:
    """history_of_mi.json with an inclusion rule: any condition starting 1 day before the index
    end (``UseIndexEnd``). Circe's index end is the history's date + 1, so the window is the
    history's own date: each of the 67 has a condition then (Synthea records the infarction
    that day), none the day before, which reading the index end as the date would have asked
    for."""
    days = []
    for offset in (0, -1):
        days.append(
            _sql(
                eunomia,
                f"""SELECT count(DISTINCT i.person_id) FROM ({FIRST_HISTORY}) i
                    WHERE EXISTS (
                      SELECT 1 FROM condition_occurrence c
                      WHERE c.person_id = i.person_id
                        AND c.condition_start_date BETWEEN i.op_start AND i.op_end
                        AND c.condition_start_date = i.d + {offset})""",
            )[0]
        )
    assert days == [67, 0]
    condition = {
        "Criteria": {"ConditionOccurrence": {}},
        "StartWindow": _window(-1, -1, UseIndexEnd=True, UseEventEnd=False),
    }
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop in (False, True):
        data = _with_rule(_history(), copy.deepcopy(condition), "condition")
        result = run_cohort(con, translate_atlas(data, any_record=drop).cohort)
        assert [s.remaining for s in result.attrition] == [2694, 67, 67], drop


def test_a_history_ending_the_day_after_the_infarction_live_as_sql(eunomia: Path) -> None:
    """The first myocardial infarction (condition 4329847, 67 persons) with a history of it
    whose end falls 1 day after the index (``EndWindow`` on the event's end): Circe's end of
    the history is its date + 1, so these are histories recorded the day of the infarction,
    67 (Synthea records both that day); reading the end as the date would find none."""
    entry = """
        SELECT * FROM (
          SELECT c.person_id, c.condition_start_date AS d,
                 op.observation_period_start_date AS op_start,
                 op.observation_period_end_date AS op_end,
                 row_number() OVER (PARTITION BY c.person_id
                   ORDER BY c.condition_start_date, c.condition_occurrence_id) AS n
          FROM condition_occurrence c
          JOIN observation_period op ON op.person_id = c.person_id
           AND c.condition_start_date BETWEEN op.observation_period_start_date
                                          AND op.observation_period_end_date
          WHERE c.condition_concept_id IN (
            SELECT descendant_concept_id FROM concept_ancestor
            WHERE ancestor_concept_id = 4329847))
        WHERE n = 1"""
    counted = []
    for end in ("v.observation_date + 1", "v.observation_date"):
        counted.append(
            _sql(
                eunomia,
                f"""SELECT count(*), count(DISTINCT CASE WHEN EXISTS (
                      SELECT 1 FROM ({_observations(4163874)}) v
                      WHERE v.person_id = i.person_id
                        AND v.observation_date BETWEEN i.op_start AND i.op_end
                        AND {end} = i.d + 1) THEN i.person_id END)
                    FROM ({entry}) i""",
            )
        )
    assert counted == [(67, 67), (67, 0)]
    data = _history()
    data["ConceptSets"].append(
        _concept_set(1, "MI", ((4329847, "22298006", "Myocardial infarction"),), "Condition")
    )
    data["ConceptSets"][1]["expression"]["items"][0]["includeDescendants"] = True
    data["PrimaryCriteria"]["CriteriaList"] = [{"ConditionOccurrence": {"CodesetId": 1}}]
    history = {
        "Criteria": {"Observation": {"CodesetId": 0}},
        "EndWindow": _window(1, 1, UseIndexEnd=False, UseEventEnd=True),
    }
    data = _with_rule(data, history, "history")
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop in (False, True):
        result = run_cohort(con, translate_atlas(data, any_record=drop).cohort)
        assert [s.remaining for s in result.attrition] == [2694, 67, 67], drop


def test_a_bleed_with_an_allergy_before_live_as_sql_counts_it(eunomia: Path) -> None:
    """gi_bleed.json (479 persons) with an inclusion rule: an allergy observation (the 15
    allergy concepts of Eunomia) any time before the bleed, inside its observation period
    (Circe's open start: the period's start). 41 persons, by hand-written SQL too; the same
    with ``--any-record`` (every allergy of theirs lies in the bleed's period)."""
    allergies = ", ".join(str(a[0]) for a in ALLERGIES)
    bleeds = """
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
            SELECT descendant_concept_id FROM concept_ancestor
            WHERE ancestor_concept_id = 192671))
        WHERE n = 1"""
    counted = []
    for period in ("AND o.observation_date >= i.op_start", ""):
        counted.append(
            _sql(
                eunomia,
                f"""SELECT count(*), count(DISTINCT CASE WHEN EXISTS (
                      SELECT 1 FROM observation o
                      WHERE o.person_id = i.person_id
                        AND o.observation_concept_id IN ({allergies})
                        AND o.observation_date <= i.d - 1 {period}) THEN i.person_id END)
                    FROM ({bleeds}) i""",
            )
        )
    assert counted == [(479, 41), (479, 41)]
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    for drop in (False, True):
        result = run_cohort(con, translate_atlas(_bleed_with_allergy(), any_record=drop).cohort)
        assert [(s.label, s.remaining) for s in result.attrition] == [
            ("Persons in the registry", 2694),
            ("Entry event", 479),
            ("allergy before", 41),
        ], drop


def test_phenotype_library_858_imports_and_runs_on_eunomia(eunomia: Path) -> None:
    """PhenotypeLibrary 858, "[P] Earliest event of Rheumatoid Arthritis": the first condition
    and the first observation of one concept set (rheumatoid arthritis and its forms, SNOMED
    and CPT4, each with descendants), the earlier of the two, to the end of observation.
    Refused before (an Observation). On Eunomia, whose observations hold no arthritis, the
    members are, one for one, those SQL gives by Circe's rules: each person's first
    rheumatoid arthritis condition, if it lies inside an observation period, to that period's
    end: 18 persons."""
    cohort = read_atlas(
        HERE / "phenotype_library" / "858_earliest_rheumatoid_arthritis.json"
    ).cohort
    (name,) = cohort.concept_sets
    assert [(e.domain, e.concept_set, e.first) for e in cohort.entry.events] == [
        ("diagnosis", name, True),
        ("observation", name, True),
    ]
    # entry events mixing an observation with a condition, but nothing reads their end (the
    # exit is the end of observation): the observation ends on its date, as it did
    assert [e.end for e in cohort.entry.events] == ["date", "date"]
    items = cohort.concept_sets[name].items
    assert len(items) == 14 and all(i.descendants and not i.exclude for i in items)
    assert {i.system for i in items} == {"SNOMED", "CPT4"}
    assert cohort.exit.strategy == "end_of_observation"
    source = HERE / "phenotype_library" / "858_earliest_rheumatoid_arthritis.json"
    concepts = json.loads(source.read_text("utf-8"))["ConceptSets"][0]["expression"]["items"]
    ids = ", ".join(str(item["concept"]["CONCEPT_ID"]) for item in concepts)

    def in_set(column: str) -> str:
        """Circe's codeset: each concept and its descendants."""
        return f"""({column} IN ({ids}) OR {column} IN (
            SELECT descendant_concept_id FROM concept_ancestor
            WHERE ancestor_concept_id IN ({ids})))"""

    with duckdb.connect(str(eunomia), read_only=True) as raw:
        observed = raw.execute(
            f"SELECT count(*) FROM observation o WHERE {in_set('o.observation_concept_id')}"
        ).fetchone()
        expected = raw.execute(
            f"""WITH firsts AS (
                  SELECT person_id, condition_start_date AS d FROM (
                    SELECT c.*, row_number() OVER (PARTITION BY c.person_id
                      ORDER BY c.condition_start_date, c.condition_occurrence_id) AS n
                    FROM condition_occurrence c
                    WHERE {in_set("c.condition_concept_id")})
                  WHERE n = 1)
                SELECT f.person_id, f.d, op.observation_period_end_date FROM firsts f
                JOIN observation_period op ON op.person_id = f.person_id
                 AND f.d BETWEEN op.observation_period_start_date
                             AND op.observation_period_end_date
                ORDER BY 1"""
        ).fetchall()
    assert observed == (0,) and len(expected) == 18
    result = run_cohort(connect(f"omop+duckdb://{eunomia}", check=False), cohort)
    members = sorted(
        (m["person_id"], m["index_date"], m["exit_date"]) for m in result.members.to_pylist()
    )
    assert members == expected


# -- values on a small CDM -------------------------------------------------------------------

#: Observations with numbers and coded values (Eunomia's have neither), on Circe's test
#: vocabulary (concept 1 with descendants 2 and 3, vocabulary TestVocab): persons 1 to 4, each
#: observed 2000-2001.
VALUED = {
    "cdm.person": [
        {"person_id": p, "gender_concept_id": 8532, "year_of_birth": 1970,
         "race_concept_id": 0, "ethnicity_concept_id": 0}
        for p in (1, 2, 3, 4)
    ],
    "cdm.observation_period": [
        {"observation_period_id": p, "person_id": p,
         "observation_period_start_date": "2000-01-01",
         "observation_period_end_date": "2001-12-31", "period_type_concept_id": 0}
        for p in (1, 2, 3, 4)
    ],
    "cdm.observation": [
        {"observation_id": i, "person_id": p, "observation_concept_id": c,
         "observation_date": d, "observation_type_concept_id": 38000280,
         "value_as_number": v, "value_as_concept_id": coded}
        for i, (p, c, d, v, coded) in enumerate(
            [
                (1, 2, "2000-02-01", 10, None),  # below
                (1, 2, "2000-03-01", None, 2),  # no number: never in range; coded 2
                (1, 3, "2000-04-01", 40, None),  # the upper bound, included
                (2, 1, "1999-06-01", 30, 3),  # before the period
                (2, 1, "2000-06-01", 41, 3),  # above
                (3, 2, "2000-07-01", 20.00001, None),  # > 20.0000, Circe's bound for 20.00004
                (4, 2, "2000-08-01", 20, None),  # the lower bound
                (4, 2, "2000-09-01", 25, 1),
            ],
            start=1,
        )
    ],
}  # fmt: skip

#: The value as Circe's SQL compares it (``ObservationSqlBuilder``).
NUMBER = "CAST(o.value_as_number AS DOUBLE)"
#: (the criterion's options, Circe's condition on the row as SQL, first entry per person by
#: ATLAS's rule, by any record).
VALUE_CASES = [
    ({"ValueAsNumber": {"Value": 20, "Op": "bt", "Extent": 40}},
     f"{NUMBER} BETWEEN 20.0000 AND 40.0000",
     [(1, "2000-04-01"), (3, "2000-07-01"), (4, "2000-08-01")],
     [(1, "2000-04-01"), (2, "1999-06-01"), (3, "2000-07-01"), (4, "2000-08-01")]),
    ({"ValueAsNumber": {"Value": 20.00004, "Op": "gt"}}, f"{NUMBER} > 20.0000",
     [(1, "2000-04-01"), (2, "2000-06-01"), (3, "2000-07-01"), (4, "2000-09-01")],
     [(1, "2000-04-01"), (2, "1999-06-01"), (3, "2000-07-01"), (4, "2000-09-01")]),
    ({"ValueAsNumber": {"Value": 10, "Op": "lte"}}, f"{NUMBER} <= 10.0000",
     [(1, "2000-02-01")], [(1, "2000-02-01")]),
    # the concept itself (concept 2 of TestVocab: registry code OMOP 2), no descendants
    ({"ValueAsConcept": [{"CONCEPT_ID": 2, "CONCEPT_NAME": "Child 1 [Parent: 1]",
                          "VOCABULARY_ID": "TestVocab", "CONCEPT_CODE": "C1P1"}]},
     "o.value_as_concept_id IN (2)", [(1, "2000-03-01")], [(1, "2000-03-01")]),
    # codeset 1 (concept 1 with its descendants 2 and 3)
    ({"ValueAsConceptCS": {"CodesetId": 1, "IsExclusion": False}},
     "o.value_as_concept_id IN (1, 2, 3)",
     [(1, "2000-03-01"), (2, "2000-06-01"), (4, "2000-09-01")],
     [(1, "2000-03-01"), (2, "1999-06-01"), (4, "2000-09-01")]),
    ({"ValueAsNumber": {"Value": 30, "Op": "gte"}, "ValueAsConcept": [{"CONCEPT_ID": 3}]},
     f"{NUMBER} >= 30.0000 AND o.value_as_concept_id IN (3)",
     [(2, "2000-06-01")], [(2, "1999-06-01")]),
]  # fmt: skip


@pytest.mark.parametrize(("options", "condition", "atlas_rule", "any_record"), VALUE_CASES)
def test_values_on_a_cdm_with_values_as_sql_gives_them(
    tmp_path: Path,
    options: dict[str, Any],
    condition: str,
    atlas_rule: list[tuple[int, str]],
    any_record: list[tuple[int, str]],
) -> None:
    """An Observation of concept 1 with descendants, every event, the first per person, with
    ``ValueAsNumber``, ``ValueAsConcept`` or ``ValueAsConceptCS``: the members are the first
    observations whose ``value_as_number`` is in range (a row without one never is; the bound
    to 4 decimals, so 20.00001 > 20.00004 as Circe compares it) or whose
    ``value_as_concept_id`` is one of the concepts (the codeset's, with descendants), by
    hand-written SQL and by the import; inside the period, and with ``--any-record``."""
    cdm = tmp_path / "cdm.duckdb"
    rows = tmp_path / "valued.json"
    rows.write_text(json.dumps(VALUED), encoding="utf-8")
    _build_cdm(cdm, [CIRCE / "vocabulary.json", rows])
    matching = f"""
        SELECT o.person_id, o.observation_date FROM observation o
        WHERE o.observation_concept_id IN (
          SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 1
          UNION SELECT 1)
          AND {condition}"""
    observed = """
        AND EXISTS (
          SELECT 1 FROM observation_period op
          WHERE op.person_id = o.person_id
            AND o.observation_date BETWEEN op.observation_period_start_date
                                       AND op.observation_period_end_date)"""
    hand = []
    with duckdb.connect(str(cdm), read_only=True) as raw:
        for query in (matching + observed, matching):
            hand.append(
                raw.execute(
                    "SELECT person_id, strftime(min(observation_date), '%Y-%m-%d') "
                    f"FROM ({query}) GROUP BY 1 ORDER BY 1"
                ).fetchall()
            )
    assert hand == [atlas_rule, any_record]
    data = json.loads((HERE / "observation_events.json").read_text("utf-8"))
    data["PrimaryCriteria"]["CriteriaList"][0]["Observation"].update(options)
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data.pop("EndStrategy")
    con = connect(f"omop+duckdb://{cdm}", check=False)
    for drop, expected in ((False, atlas_rule), (True, any_record)):
        members = run_cohort(con, translate_atlas(data, any_record=drop).cohort).members
        found = [(m["person_id"], str(m["index_date"])) for m in members.to_pylist()]
        assert found == expected, drop


#: Body temperatures recorded as observations of Circe's test concept 2 (a descendant of
#: concept 1) with units, and the UCUM concepts they name: persons 1 to 4, each observed
#: 2000-2001.
TEMPERATURES_CDM = {
    "cdm.concept": [
        {"concept_id": c, "concept_name": name, "domain_id": "Unit", "vocabulary_id": "UCUM",
         "concept_class_id": "Unit", "concept_code": code, "standard_concept": "S",
         "valid_start_date": "1970-01-01", "valid_end_date": "2099-12-31"}
        for c, code, name in ((586323, "Cel", "degree Celsius"),
                              (9289, "[degF]", "degree Fahrenheit"))
    ],
    "cdm.person": VALUED["cdm.person"],
    "cdm.observation_period": VALUED["cdm.observation_period"],
    "cdm.observation": [
        {"observation_id": i, "person_id": p, "observation_concept_id": 2,
         "observation_date": d, "observation_type_concept_id": 38000280,
         "value_as_number": v, "unit_concept_id": unit, "unit_source_value": source}
        for i, (p, d, v, unit, source) in enumerate(
            [
                (1, "2000-02-01", 38.5, 586323, "C"),
                (1, "2000-03-01", 101.3, 9289, "F"),
                (2, "2000-04-01", 37.0, 586323, "C"),
                # no unit concept, the UCUM code as the source value: Cel here, none in Circe
                (3, "2000-05-01", 38.8, 0, "Cel"),
                (4, "2000-06-01", 38.1, None, None),  # no unit: in no list
                (4, "2000-07-01", 100.9, 9289, "degF"),
            ],
            start=1,
        )
    ],
}  # fmt: skip

#: (the criterion's unit options, Circe's condition as SQL, the first observation per person by
#: Circe, by the import read live)
UNIT_CASES = [
    ({"Unit": [CEL]}, "o.unit_concept_id IN (586323)",
     [(1, "2000-02-01"), (2, "2000-04-01")],
     [(1, "2000-02-01"), (2, "2000-04-01"), (3, "2000-05-01")]),
    ({"Unit": [CEL], "ValueAsNumber": {"Value": 38, "Op": "gte"}},
     f"o.unit_concept_id IN (586323) AND {NUMBER} >= 38.0000",
     [(1, "2000-02-01")], [(1, "2000-02-01"), (3, "2000-05-01")]),
    ({"UnitCS": {"CodesetId": 2}}, "o.unit_concept_id IN (9289)",
     [(1, "2000-03-01"), (4, "2000-07-01")], [(1, "2000-03-01"), (4, "2000-07-01")]),
]  # fmt: skip


@pytest.mark.parametrize(("options", "condition", "circe", "here"), UNIT_CASES)
def test_units_on_a_cdm_with_units_as_sql_gives_them_but_the_noted_row(
    tmp_path: Path,
    options: dict[str, Any],
    condition: str,
    circe: list[tuple[int, str]],
    here: list[tuple[int, str]],
) -> None:
    """An Observation of concept 1 with descendants and a unit (``Unit``, ``UnitCS``), every
    event, the first per person: Circe's clause by hand-written SQL (``ObservationSqlBuilder``:
    ``C.unit_concept_id in (...)``), and the import read live, which agree but for person 3's
    row without a unit concept whose source value is the code (the note)."""
    cdm = tmp_path / "cdm.duckdb"
    rows = tmp_path / "temperatures.json"
    rows.write_text(json.dumps(TEMPERATURES_CDM), encoding="utf-8")
    _build_cdm(cdm, [CIRCE / "vocabulary.json", rows])
    with duckdb.connect(str(cdm), read_only=True) as raw:
        found = raw.execute(
            f"""SELECT person_id, strftime(min(observation_date), '%Y-%m-%d')
                FROM observation o
                WHERE o.observation_concept_id IN (
                  SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 1
                  UNION SELECT 1)
                  AND {condition}
                GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    assert found == circe
    data = json.loads((HERE / "observation_events.json").read_text("utf-8"))
    data["PrimaryCriteria"]["CriteriaList"][0]["Observation"].update(options)
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
    data["ConceptSets"].append(_set(2, "Fahrenheit", _item(DEG_F)))
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    data.pop("EndStrategy")
    con = connect(f"omop+duckdb://{cdm}", check=False)
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    assert [(m["person_id"], str(m["index_date"])) for m in members] == here


# -- Circe's own rows ---------------------------------------------------------------------------


def test_circe_observation_rows_are_the_events_from_their_date_to_the_day_after(
    tmp_path: Path,
) -> None:
    """Circe's ``testObservationDateOffset`` (``CriteriaQuery_5_0_0_Test.java``, test 1: an
    Observation of codeset 1, nothing else) checks the rows of the criterion's SQL on its
    ``_PREP`` observations: ``_VERIFY``'s ``observation.simple``, each observation from its
    date to the day after. The harness of test_atlas_circe.py runs cohort expressions, so the
    criterion is written as one (``atlas/observation_events.json``: every such event, exit 0
    days after its end, periods merged only where they overlap): its cohort periods are those
    rows, one for one, the exit from an observation's end being the day after its date."""
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "observationDateOffset_PREP.json"])
    cohort = read_atlas(HERE / "observation_events.json").cohort
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    verify = json.loads((CIRCE / "observationDateOffset_VERIFY.json").read_text("utf-8"))
    expected = [
        (r["person_id"], r["start_date"], r["end_date"]) for r in verify["observation.simple"]
    ]
    assert members == sorted(expected)
    assert len(members) == 5


# -- a registry -----------------------------------------------------------------------------


def test_a_value_bound_on_a_registry_by_code() -> None:
    """On a registry without the OMOP vocabulary (examples/cohorts/registry, SYNTHETIC), an
    ATLAS concept set of SNOMED 401201003 (pack-years) is that registry code: with
    ``ValueAsNumber`` of 20 or more it finds person 8's 40 pack-years (2019-06-01), not his
    later record without a number nor person 1's 5 (observation.csv)."""
    data = _history(0, "401201003", "Pack years")
    data["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = False
    _entry(data)["ValueAsNumber"] = {"Value": 20, "Op": "gte"}
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    con = connect(str(ROOT / "examples" / "cohorts" / "registry"))
    members = run_cohort(con, translate_atlas(data).cohort).members.to_pylist()
    assert [(m["person_id"], m["index_date"]) for m in members] == [(8, dt.date(2019, 6, 1))]


def _history_or_breast_cancer() -> dict[str, Any]:
    """An ATLAS cohort whose entry events mix an observation and a condition: a history of
    malignant neoplasm (SNOMED 161501007) or a breast cancer (ICD10CM C50.9), every event
    inside an observation period, each to its end (``DateOffset`` from ``EndDate``, 0 days),
    every cohort period kept."""
    sets = (
        (0, 4178681, "161501007", "History of malignant neoplasm", "Observation", "SNOMED"),
        (1, 35206119, "C50.9", "Malignant neoplasm of breast", "Condition", "ICD10CM"),
        (2, 9201, "IP", "Inpatient Visit", "Visit", "Visit"),
    )
    return {
        "ConceptSets": [
            {
                "id": cid,
                "name": name,
                "expression": {
                    "items": [
                        {
                            "concept": {
                                "CONCEPT_ID": concept_id,
                                "CONCEPT_NAME": name,
                                "STANDARD_CONCEPT": "S",
                                "CONCEPT_CODE": code,
                                "DOMAIN_ID": domain,
                                "VOCABULARY_ID": vocabulary,
                            },
                            "isExcluded": False,
                            "includeDescendants": False,
                            "includeMapped": False,
                        }
                    ]
                },
            }
            for cid, concept_id, code, name, domain, vocabulary in sets
        ],
        "PrimaryCriteria": {
            "CriteriaList": [
                {"Observation": {"CodesetId": 0}},
                {"ConditionOccurrence": {"CodesetId": 1}},
            ],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "All"},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": "All"},
        "InclusionRules": [],
        "EndStrategy": {"DateOffset": {"DateField": "EndDate", "Offset": 0}},
        "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
        "CensorWindow": {},
    }


#: _history_or_breast_cancer() as the import writes it: the observation ends the day after
#: its date, as Circe's, and the exit counts from each event's end as it is.
HISTORY_OR_BREAST_CANCER = """\
label: History or breast cancer
concept_sets:
  history_of_malignant_neoplasm:
    items:
    - system: SNOMED
      code: '161501007'
  malignant_neoplasm_of_breast:
    items:
    - system: ICD10CM
      code: C50.9
  inpatient_visit:
    items:
    - system: VISIT
      code: IP
entry:
  events:
  - domain: observation
    concept_set: history_of_malignant_neoplasm
    end: day_after
  - domain: diagnosis
    concept_set: malignant_neoplasm_of_breast
  observation:
    prior_days: 0
    post_days: 0
  limit: all
expression_limit: all
exit:
  strategy: fixed
  date: end
"""


def test_mixed_entry_events_with_an_exit_from_their_end_on_a_registry() -> None:
    """_history_or_breast_cancer() (refused before: its entry events mix an observation with a
    condition and the exit reads their end) imports as HISTORY_OR_BREAST_CANCER and runs on
    examples/cohorts/registry (SYNTHETIC). Counted by hand from its CSVs: person 3 alone has
    either, a breast cancer C50.9 from 2020-01-01 to 2020-04-30 (diagnosis.csv, its end_date)
    and a history of malignant neoplasm on 2020-05-20 (observation.csv), both inside her
    observation period (2015 to 2023): two cohort periods, the cancer to its end and the
    history to the day after it (Circe's end of an observation), 19 days apart, so not
    merged. With an inclusion rule of an inpatient stay starting 3 days after the index end
    (``UseIndexEnd``; her stay of 2020-05-24, observation_period.csv and visit.csv): the
    history's end (2020-05-21) + 3, where the cancer's end + 3 (2020-05-03) has none, nor
    would the history's date + 3 (2020-05-23), had its end been read as its date."""
    imported = translate_atlas(_history_or_breast_cancer(), label="History or breast cancer")
    assert imported.notes == []
    assert cohort_yaml(imported.cohort) == HISTORY_OR_BREAST_CANCER
    assert Cohort.model_validate(yaml.safe_load(HISTORY_OR_BREAST_CANCER)) == imported.cohort
    con = connect(str(ROOT / "examples" / "cohorts" / "registry"))
    members = run_cohort(con, imported.cohort).members.to_pylist()
    assert [(m["person_id"], m["index_date"], m["exit_date"]) for m in members] == [
        (3, dt.date(2020, 1, 1), dt.date(2020, 4, 30)),
        (3, dt.date(2020, 5, 20), dt.date(2020, 5, 21)),
    ]
    stay = {
        "Criteria": {"VisitOccurrence": {"CodesetId": 2}},
        "StartWindow": _window(3, 3, UseIndexEnd=True, UseEventEnd=False),
    }
    data = _with_rule(_history_or_breast_cancer(), stay, "an inpatient stay 3 days after the end")
    cohort = translate_atlas(data).cohort
    (criterion,) = cohort.inclusion[0].criteria
    assert criterion.start_window == RelativeWindow(start=3, end=3, index="end")
    result = run_cohort(con, cohort)
    assert [s.remaining for s in result.attrition] == [8, 1, 1]
    members = result.members.to_pylist()
    assert [(m["person_id"], m["index_date"], m["exit_date"]) for m in members] == [
        (3, dt.date(2020, 5, 20), dt.date(2020, 5, 21))
    ]
    con.disconnect()
