"""ATLAS cohort definitions: a Circe cohort expression, as ATLAS exports it (JSON), translated
into the cohort language (:class:`~myositis.cohort.language.Cohort`).

The JSON model is OHDSI Circe's ``CohortExpression`` (github.com/OHDSI/circe-be,
``src/main/java/org/ohdsi/circe/cohortdefinition``); the meaning of each construct is that of
Circe's SQL builder (``CohortExpressionQueryBuilder.java`` and ``resources/cohortdefinition/sql``),
summarised in the Book of OHDSI, chapter 10. The translation, construct by construct:

- ``ConceptSets``: each set is a concept set named from its ``name``; each item's concept is the
  registry code of :func:`registry_code` (``VOCABULARY_ID`` and
  ``CONCEPT_CODE``, or ``OMOP`` and ``CONCEPT_ID``); ``includeDescendants`` -> ``descendants``
  (resolved through ``concept_ancestor`` when the data are OMOP), ``isExcluded`` -> ``exclude``.
  ICD-10-CM and ICD-9-CM concepts are not standard, so ``concept_ancestor`` gives them no
  descendants: their ``includeDescendants`` is dropped (the language's ICD prefix rule would
  add codes Circe does not). ``includeMapped`` adds the non-standard concepts that map to the
  item; they match only source-concept criteria (refused below), so it changes nothing on the
  standard concepts a conforming CDM records: it is accepted with a note.
- ``PrimaryCriteria``: ``CriteriaList`` -> ``entry.events``; ``ObservationWindow`` -> the entry
  must fall inside an observation period with ``PriorDays`` before and ``PostDays`` after
  (always: Circe joins every entry event to ``observation_period``); ``PrimaryCriteriaLimit``
  -> ``entry.limit``. ``any_record=True`` drops the observation requirement (the Book of
  OHDSI's counts of "persons with a record").
- ``AdditionalCriteria`` -> ``entry.additional``; ``QualifiedLimit`` -> ``entry.qualified_limit``.
- ``InclusionRules`` -> ``inclusion`` (each ``name`` its attrition line); ``ExpressionLimit`` ->
  ``expression_limit``.
- groups: ``Type`` ALL/ANY/AT_LEAST/AT_MOST and ``Count``; ``CriteriaList`` -> criteria
  (``StartWindow`` on the event's start, ``EndWindow`` on its end, ``UseEventEnd`` and
  ``UseIndexEnd`` choosing the dates, both on one date a list of two windows on it; a window
  end without ``Days`` the index's observation period where Circe reads it so,
  ``period_start``/``period_end``; ``Occurrence`` ``Type`` 0
  exactly, 1 at most, 2 at least, ``IsDistinct`` on ``START_DATE`` -> distinct dates;
  ``IgnoreObservationPeriod``; ``OccurrenceStartDate``/``OccurrenceEndDate`` ->
  ``start_date``/``end_date``; the
  criterion's own ``CorrelatedCriteria`` -> ``having``, a group checked against each of its
  events);
  ``DemographicCriteriaList`` -> demographics (``Age``, ``Gender`` 8507/8532); ``Groups``;
  a criterion's own ``Age`` and ``Gender`` -> its events' ``age`` and ``sex`` (the person on the
  event's start date).
- ``EndStrategy``: none -> end of observation; ``DateOffset`` -> ``fixed`` (``DateField``
  StartDate/EndDate, ``Offset``); ``CustomEra`` -> ``drug_era`` (``DrugCodesetId``,
  ``GapDays``, ``Offset``); ``CensoringCriteria`` -> ``exit.censor``; ``CollapseSettings``
  ``EraPad`` -> ``exit.era_pad_days``; ``CensorWindow`` (``StartDate``, ``EndDate``) ->
  ``exit.censor_window``.
- domains: ``ConditionOccurrence`` -> ``diagnosis``, ``DrugExposure`` -> ``drug_exposure``,
  ``ProcedureOccurrence`` -> ``procedure`` (``CodesetId``, ``First``; without a ``CodesetId``,
  every record: ``any_code``; read live from OMOP a procedure ends the day after its date, as
  Circe's ``procedureOccurrence.sql`` ends it, and Circe's ``ProcedureOccurrence`` has
  ``OccurrenceStartDate`` but no ``OccurrenceEndDate``);
  ``VisitOccurrence`` -> ``visit`` (``CodesetId``, ``First``, ``OccurrenceStartDate``,
  ``OccurrenceEndDate``; without a ``CodesetId``, every visit: ``any_code``; OMOP's Visit
  concepts are registry codes ``VISIT IP``, ...; a visit lasts from ``visit_start_date`` to
  ``visit_end_date``, as Circe's ``visitOccurrence.sql`` reads them and the registry's visit
  view gives them; one without an end, which CDM 5.4 does not allow, ends on its start in the
  cohort language and has no end in Circe);
  ``Observation`` -> ``observation`` (``CodesetId``, ``First``, ``OccurrenceStartDate``; without
  a ``CodesetId``, every observation: ``any_code``; ``ValueAsNumber`` -> ``value``, the bounds
  rounded to 4 decimals as Circe writes them, ``value_as_number`` compared as recorded;
  ``ValueAsConcept`` (a concept set of those concepts) or ``ValueAsConceptCS`` ->
  ``value_concept_set``; ``Unit``/``UnitCS`` -> ``units`` as on a ``Measurement``; Circe's
  ``Observation`` has no ``OccurrenceEndDate``);
  ``Measurement`` -> ``laboratory`` when its concept set is the LOINC code of one of the
  registry's tests (``codes/data/lab_units.csv``: CK 2157-6, ...),
  with ``First``, ``ValueAsNumber`` -> ``value`` (in the test's canonical unit; a ``Unit``
  converts the bound by the unit's factor) and ``RangeHighRatio`` -> ``times_uln`` (Circe:
  ``value_as_number / NULLIF(range_high, 0)``, ``MeasurementSqlBuilder.java``); ``First``
  beside ``ValueAsNumber``, ``RangeHighRatio`` or ``Unit`` is refused, as on the
  ``measurement`` domain beside any bound or unit (Circe numbers the rows before it bounds
  them); with any other
  concept set (none of the registry's tests), or without a ``CodesetId`` (``any_code``), ->
  ``measurement`` (``First``, ``OccurrenceStartDate``; ``ValueAsNumber`` -> ``value``,
  ``value_as_number`` as recorded; ``ValueAsConcept``/``ValueAsConceptCS`` ->
  ``value_concept_set``; ``RangeLow``/``RangeHigh`` -> ``range_low``/``range_high``,
  ``RangeLowRatio``/``RangeHighRatio`` -> ``times_lln``/``times_uln``; bounds of 4 decimals as
  Circe writes them; ``Unit`` (concepts) or ``UnitCS`` (a concept set of them) -> ``units``,
  the concepts' codes, UCUM or, with a note, another vocabulary's as an OMOP CDM read live
  gives them); a set holding a registry test beside other concepts is refused. Circe's
  ``Measurement`` has no ``OccurrenceEndDate``.
  ``Death`` -> ``death`` (``CodesetId`` on the cause, ``cause_concept_id``, -> ``concept_set``;
  without a ``CodesetId``, any death, the death domain without a concept set;
  ``OccurrenceStartDate``, ``Age``, ``Gender``; Circe's ``Death`` has neither ``First`` nor
  ``OccurrenceEndDate``; ``DeathType``, ``DeathTypeCS``, ``DeathTypeExclude`` and
  ``DeathSourceConcept`` are refused).
  ``ObservationPeriod`` -> ``observation_period`` (the registry's observation periods, each
  from its start to its end, ``observationPeriod.sql``; ``First``, ``PeriodStartDate``,
  ``PeriodEndDate``, ``PeriodLength``, ``AgeAtStart``, ``UserDefinedPeriod``:
  :meth:`_Translator.observation_period`; ``PeriodType``, ``PeriodTypeCS``, ``AgeAtEnd`` and
  the other domains' dates and person are refused, :data:`_PERIOD_REASONS`).
  Each coded domain's source-concept criterion (``ConditionSourceConcept``,
  ``DrugSourceConcept``, ``MeasurementSourceConcept``, ``ObservationSourceConcept``,
  ``ProcedureSourceConcept``, ``VisitSourceConcept``: :data:`SOURCE_CONCEPTS`) ->
  ``source_concept_set``, beside the ``CodesetId`` or alone (Circe:
  ``procedure_source_concept_id in (codeset)``); refused on a registry test's ``Measurement``
  and on a set with ``includeMapped`` (:meth:`_Translator.source_concept_set`).
  Circe ends an observation, a measurement and a death
  the day after its date (``observation.sql``, ``MeasurementSqlBuilder.java``,
  ``DeathSqlBuilder.java``: ``DATEADD(day,1,...)``), the cohort language on
  its date: wherever Circe reads such an event's end, the translation reads its date one day
  on (:func:`_index_end`; a window on its end, an index end, an exit from its end); where no
  such move says it (entry events mixing them with other events, a window on a criterion's
  end beside one on its start or ending at the observation period), the events end the day
  after their date (``end: day_after``) and their end is read as it is.

Everything else is refused, naming its JSON path and why (``docs/atlas.md`` lists every
refusal), e.g. ``InclusionRules[2].expression.CriteriaList[0].Criteria.DeviceExposure: not
supported: ...``. Empty values (``null``, ``[]``, ``{}``, ``false``) that ATLAS writes for
unused options are ignored.

Differences that remain are returned as notes (:attr:`AtlasImport.notes`), never silent:
Circe's age is ``YEAR(date) - year_of_birth``, the language's the completed years.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ValidationError

from myositis.codes import ICD_SYSTEMS
from myositis.codes.units import lab_loinc, lab_tests, unit_factor
from myositis.cohort.language import (
    CensorWindow,
    Cohort,
    ConceptItem,
    ConceptSet,
    Criterion,
    DateRange,
    Demographics,
    Entry,
    Events,
    Exit,
    Group,
    InclusionRule,
    ObservationWindow,
    Occurrence,
    PeriodBound,
    Range,
    RelativeWindow,
    UserPeriod,
)
from myositis.errors import SpecError
from myositis.registry.omop.views import VOCABULARIES

#: Circe criteria domains the cohort language reads, and the language's domain of each.
DOMAINS: Final = {
    "ConditionOccurrence": "diagnosis",
    "Death": "death",
    "DrugExposure": "drug_exposure",
    # a registry test's concept set gives ``laboratory`` instead (_Translator.measurement)
    "Measurement": "measurement",
    "Observation": "observation",
    "ObservationPeriod": "observation_period",
    "ProcedureOccurrence": "procedure",
    "VisitOccurrence": "visit",
}

#: Each domain's criterion on the record's source concept (``*_source_concept_id``) ->
#: ``source_concept_set`` (:meth:`_Translator.domain`).
SOURCE_CONCEPTS: Final = {
    "ConditionOccurrence": "ConditionSourceConcept",
    "DrugExposure": "DrugSourceConcept",
    "Measurement": "MeasurementSourceConcept",
    "Observation": "ObservationSourceConcept",
    "ProcedureOccurrence": "ProcedureSourceConcept",
    "VisitOccurrence": "VisitSourceConcept",
}

#: Circe's other criteria domains (refused by name).
OTHER_DOMAINS: Final = (
    "ConditionEra",
    "DeviceExposure",
    "DoseEra",
    "DrugEra",
    "LocationRegion",
    "PayerPlanPeriod",
    "Specimen",
    "VisitDetail",
)

#: The keys whose value is a concept set's id.
_CODESET_KEYS: Final = frozenset({"CodesetId", "DrugCodesetId", *SOURCE_CONCEPTS.values()})

#: Circe Occurrence.Type codes (``Occurrence.java``: EXACTLY 0, AT_MOST 1, AT_LEAST 2).
OCCURRENCE_TYPES: Final = {0: "exactly", 1: "at_most", 2: "at_least"}

#: OMOP Gender concepts (OMOP Gender vocabulary).
GENDERS: Final = {8507: "M", 8532: "F"}

#: Circe NumericRange operators the language's :class:`Range` expresses.
_OPS: Final = {"lt": "lt", "lte": "lte", "eq": "eq", "gt": "gt", "gte": "gte"}

#: Why a Circe option is refused, by key (the default reason names the construct).
_REASONS: Final = {
    # on a condition, drug or procedure, Circe's VisitType is the kind of the record's visit
    # (the visit_concept_id of its visit_occurrence_id): the registry's records name no visit
    "VisitType": "the registry does not link records to their visits",
    "VisitTypeCS": "the registry does not link records to their visits",
    "VisitTypeExclude": "the registry does not link records to their visits",
    "ConditionType": "the registry holds no condition (record) types",
    "ConditionTypeCS": "the registry holds no condition (record) types",
    "ConditionTypeExclude": "the registry holds no condition (record) types",
    "ConditionStatus": "the registry holds no condition status",
    "ConditionStatusCS": "the registry holds no condition status",
    "DrugType": "the registry holds no drug (record) types",
    "DrugTypeCS": "the registry holds no drug (record) types",
    "DrugTypeExclude": "the registry holds no drug (record) types",
    "ProviderSpecialty": "the registry holds no providers",
    "ProviderSpecialtyCS": "the registry holds no providers",
    "ProcedureType": "the registry holds no procedure (record) types",
    "ProcedureTypeCS": "the registry holds no procedure (record) types",
    "ProcedureTypeExclude": "the registry holds no procedure (record) types",
    "Modifier": "the registry holds no procedure modifiers",
    "ModifierCS": "the registry holds no procedure modifiers",
    "DeathSourceConcept": "the registry keeps a death's cause by one code, not its source concept",
    "DeathType": "the registry holds no death (record) types",
    "DeathTypeCS": "the registry holds no death (record) types",
    "DeathTypeExclude": "the registry holds no death (record) types",
    "GenderCS": "sex concept sets are not in the cohort language (list 8507 or 8532 in Gender)",
    "Race": "race criteria are not in the cohort language",
    "RaceCS": "race criteria are not in the cohort language",
    "Ethnicity": "ethnicity criteria are not in the cohort language",
    "EthnicityCS": "ethnicity criteria are not in the cohort language",
    "DateAdjustment": "date adjustments are not in the cohort language",
    "StopReason": "stop reasons are not in the registry",
    "Refills": "refills are not in the registry",
    "Quantity": "quantities are not in the registry",
    "DaysSupply": "days of supply are not in the registry",
    "RouteConcept": "route concepts are not in the cohort language",
    "RouteConceptCS": "route concepts are not in the cohort language",
    "EffectiveDrugDose": "dose criteria are not in the cohort language",
    "DoseUnit": "dose units are not in the cohort language",
    "DoseUnitCS": "dose units are not in the cohort language",
    "LotNumber": "lot numbers are not in the registry",
    "RestrictVisit": "the registry does not link records to their visits",
    "DaysSupplyOverride": "a days-of-supply override is not in the cohort language",
    "CountColumn": "distinct counts are of start dates only (CountColumn START_DATE)",
    "MeasurementType": "the registry holds no measurement (record) types",
    "MeasurementTypeCS": "the registry holds no measurement (record) types",
    "MeasurementTypeExclude": "the registry holds no measurement (record) types",
    "Operator": "result operators (<, >) are not in the registry",
    "OperatorCS": "result operators (<, >) are not in the registry",
    "ValueAsConcept": "categorical results are not in the registry's laboratory table",
    "ValueAsConceptCS": "categorical results are not in the registry's laboratory table",
    "UnitCS": "unit concept sets are not in the cohort language (list the units in Unit)",
    "RangeLow": "the lower limit of normal is not in the registry's laboratory table",
    "RangeLowRatio": "the lower limit of normal is not in the registry's laboratory table",
    "RangeHigh": "bounds on the upper limit of normal itself are not in the cohort language "
    "(RangeHighRatio, the value over that limit, is)",
    "Abnormal": "the abnormal flag is not in the cohort language (give RangeHighRatio, the "
    "value over the upper limit of normal)",
    "VisitLength": "visit lengths (the days from a visit's start to its end) are not in the "
    "cohort language",
    "PlaceOfService": "the registry holds no care sites (places of service)",
    "PlaceOfServiceCS": "the registry holds no care sites (places of service)",
    "PlaceOfServiceLocation": "the registry holds no care site locations",
}

#: Reasons that differ on a ``VisitOccurrence``: its ``VisitType`` is the visit record's own
#: type (``visit_type_concept_id``: EHR, claim, ...; ``VisitOccurrenceSqlBuilder.java``), not
#: the kind of visit, which is its concept set.
_VISIT_REASONS: Final = {
    key: "the registry holds no visit (record) types; the kind of visit (inpatient, ...) is "
    "the criterion's concept set (CodesetId)"
    for key in ("VisitType", "VisitTypeCS", "VisitTypeExclude")
}

#: Reasons that differ on an ``Observation`` (``ObservationSqlBuilder.java``): the registry's
#: observation keeps a text beside its number, coded value and unit, but the cohort language
#: bounds the number, the coded value and the unit only (``Unit`` and ``UnitCS``:
#: :meth:`_Translator.units`); it holds no record types or qualifiers.
_OBSERVATION_REASONS: Final = {
    **{
        key: "the registry holds no observation (record) types"
        for key in ("ObservationType", "ObservationTypeCS", "ObservationTypeExclude")
    },
    "ValueAsString": "criteria on an observation's text value are not in the cohort language",
    **{key: "the registry holds no observation qualifiers" for key in ("Qualifier", "QualifierCS")},
}

#: Reasons that differ on a ``Measurement`` read as the ``measurement`` domain
#: (``MeasurementSqlBuilder.java``): the cohort language bounds its number, coded value,
#: normal range and unit only (``Unit`` and ``UnitCS``: :meth:`_Translator.units`).
_MEASUREMENT_REASONS: Final = {
    "Abnormal": "the abnormal flag is not in the cohort language (Circe: value_as_number "
    "outside range_low to range_high, or value_as_concept_id 4155142 or 4155143); give "
    "RangeLowRatio or RangeHighRatio (the value over a limit of the normal range), or "
    "ValueAsConcept",
}

#: The keys of Circe's ``ObservationPeriod`` the cohort language reads (``ObservationPeriod.java``
#: and the ``Criteria`` it extends), and why the others are refused: its own fields replace
#: the other domains' dates and person (it has no ``OccurrenceStartDate``, ``Age`` or
#: ``Gender``), which a key written there by hand would otherwise seem to bound.
_PERIOD_KEYS: Final = frozenset(
    {
        "First",
        "PeriodStartDate",
        "PeriodEndDate",
        "PeriodLength",
        "UserDefinedPeriod",
        "AgeAtStart",
        "CorrelatedCriteria",
    }
)
_PERIOD_REASONS: Final = {
    **{
        key: "the registry holds no observation period types (its periods are recorded or "
        "derived from the records)"
        for key in ("PeriodType", "PeriodTypeCS")
    },
    "AgeAtEnd": "the cohort language bounds the age on an event's start (AgeAtStart), not on "
    "its end",
    "OccurrenceStartDate": "Circe's ObservationPeriod has no OccurrenceStartDate; bound "
    "PeriodStartDate",
    "OccurrenceEndDate": "Circe's ObservationPeriod has no OccurrenceEndDate; bound PeriodEndDate",
    "Age": "Circe's ObservationPeriod has no Age; bound AgeAtStart",
    "Gender": "Circe's ObservationPeriod has no Gender; give it in a demographic criterion",
}

#: Circe domains without an ``OccurrenceEndDate``, each ending the day after its date: the
#: noun the refusal uses (``ProcedureOccurrence.java``, ``Observation.java``,
#: ``Measurement.java``, ``Death.java``).
_NO_END_DATE: Final = {
    "ProcedureOccurrence": "a procedure",
    "Observation": "an observation",
    "Measurement": "a measurement",
    "Death": "a death",
}

#: The cohort language's domains whose events Circe ends the day after their date while the
#: language ends them on it (``observation.sql``, ``MeasurementSqlBuilder.java``,
#: ``DeathSqlBuilder.java``: ``DATEADD(day,1,...)``; a laboratory result is a Circe
#: measurement).
_DAY_AFTER: Final = frozenset({"observation", "measurement", "laboratory", "death"})

#: Circe's ``Measurement`` bounds on a row's values -> the ``measurement`` domain's fields,
#: each compared as Circe writes it, to 4 decimals (``MeasurementSqlBuilder.java``,
#: ``buildNumericRangeClause(..., ".4f")``).
_MEASUREMENT_BOUNDS: Final = {
    "ValueAsNumber": "value",
    "RangeLow": "range_low",
    "RangeHigh": "range_high",
    "RangeLowRatio": "times_lln",
    "RangeHighRatio": "times_uln",
}

#: What each value or unit option of an Observation or Measurement bounds, and when a row
#: meets it (the refusal of ``First`` with one of them names both; the values' first).
_ROW_BOUNDS: Final = {
    "ValueAsNumber": ("value", "is in range"),
    "ValueAsConcept": ("coded value", "is in the set"),
    "ValueAsConceptCS": ("coded value", "is in the set"),
    "RangeLow": ("lower limit of normal", "is in range"),
    "RangeHigh": ("upper limit of normal", "is in range"),
    "RangeLowRatio": ("value over the lower limit of normal", "is in range"),
    "RangeHighRatio": ("value over the upper limit of normal", "is in range"),
    "Unit": ("unit", "is listed"),
    "UnitCS": ("unit", "is listed"),
}

#: How Circe's end of the index events stands to the cohort language's (:func:`_index_end`).
IndexEnd = Literal["as_read", "day_after", "mixed"]


@dataclass(frozen=True)
class AtlasImport:
    """A translated ATLAS cohort: the cohort and notes on what differs from Circe."""

    cohort: Cohort
    notes: list[str] = field(default_factory=list)
    #: concept set id (``CodesetId``) -> the concept set's name in :attr:`cohort`
    concept_sets: dict[int, str] = field(default_factory=dict)


def registry_code(
    concept_id: int, vocabulary_id: str | None, concept_code: str | None
) -> tuple[str, str]:
    """The registry's (code system, code) of one OMOP concept, as an OMOP CDM read live codes
    its rows (:mod:`myositis.registry.omop.views`): the vocabulary's code where the registry
    knows the vocabulary, else ``OMOP`` and the concept id."""
    system = VOCABULARIES.get(vocabulary_id or "")
    if system is None or not concept_code:
        return "OMOP", str(concept_id)
    return system, concept_code


def _empty(value: Any) -> bool:
    return value is None or value is False or value == [] or value == {} or value == ""


def _index_end(domains: list[str]) -> IndexEnd:
    """How Circe's end of the index events (``domains``: the cohort language's domain of each
    kind of index event) stands to the cohort language's: ``as_read`` where the language reads
    Circe's end; ``day_after`` where every index event is an observation, a measurement, a
    laboratory result or a death (:data:`_DAY_AFTER`), which Circe ends the day after its date
    (``observation.sql``: ``DATEADD(day,1,o.observation_date)``; ``MeasurementSqlBuilder.java``:
    ``DATEADD(day,1,m.measurement_date)``; ``DeathSqlBuilder.java``:
    ``DATEADD(day,1,d.death_date)``) and the language on its date; ``mixed`` where only some
    are, so no one shift holds: where Circe's end of the index is read, the entry's
    observations, measurements, laboratory results and deaths end the day after their date
    (``end: day_after``) and the end is read as it is (:attr:`_Translator.entry_end_read`)."""
    one_day = [domain in _DAY_AFTER for domain in domains]
    if one_day and all(one_day):
        return "day_after"
    return "mixed" if any(one_day) else "as_read"


def _shifted(bound: Any, days: int) -> Any:
    """A window bound ``days`` on: a number of days moves; an open bound (None) or one at the
    observation period stays where it is."""
    return bound + days if isinstance(bound, int) else bound


def _four_places(value: float) -> float:
    """``value`` as Circe writes a ``ValueAsNumber`` bound into its SQL: 4 decimals
    (``BuilderUtils.buildNumericRangeClause(..., ".4f")``, Java's ``%.4f``, which rounds the
    shortest decimal form of the number half up): 20.00005 is compared as 20.0001."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _article(noun: str) -> str:
    """``a`` or ``an`` before ``noun`` (an observation, a measurement)."""
    return "an" if noun[:1] in "aeiou" else "a"


def _slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return text[:48].strip("_") or "concept_set"


class _Translator:
    def __init__(self, data: Mapping[str, Any], where: str, *, any_record: bool) -> None:
        self.data = data
        self.where = where
        self.any_record = any_record
        self.notes: list[str] = []
        self.names: dict[int, str] = {}
        self.sets: dict[str, ConceptSet] = {}
        #: concept set id -> the JSON path and the items, as ATLAS wrote them, of the first
        #: ConceptSets entry of that id (:meth:`concept_sets`)
        self.written: dict[int, tuple[str, list[Any]]] = {}
        #: Circe's end of mixed entry events is read (an exit from it, a window from the index
        #: end): their observations and measurements then end the day after their date
        self.entry_end_read = False

    # -- helpers --------------------------------------------------------------------------
    def refuse(self, path: str, reason: str) -> SpecError:
        return SpecError(f"{self.where}: {path}: not supported: {reason}")

    def bad(self, path: str, reason: str) -> SpecError:
        return SpecError(f"{self.where}: {path}: {reason}")

    def note(self, text: str) -> None:
        """Keep ``text`` once: a note ending "(first at PATH)" names the first place only."""
        said = text.split(" (first at ")[0]
        if not any(n.split(" (first at ")[0] == said for n in self.notes):
            self.notes.append(text)

    def obj(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.bad(path, f"expected a JSON object, got {json.dumps(value)[:60]}")
        return value

    def array(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(path, f"expected a JSON array, got {json.dumps(value)[:60]}")
        return value

    def check_keys(
        self,
        data: Mapping[str, Any],
        path: str,
        known: AbstractSet[str],
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        """Refuse any key outside ``known`` that carries a value; ``reasons`` says why for the
        keys whose reason differs here from :data:`_REASONS`."""
        for key, value in data.items():
            if key not in known and not _empty(value):
                reason = (reasons or {}).get(key) or _REASONS.get(
                    key, f"{key} is not in the cohort language"
                )
                raise self.refuse(f"{path}.{key}", reason)

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise self.bad(path, f"expected a whole number, got {json.dumps(value)}")
        return int(value)

    def model(self, kind: type[Any], path: str, **values: Any) -> Any:
        try:
            return kind(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise self.bad(path, f"{message}{f' ({loc})' if loc else ''}") from None

    def limit(self, value: Any, path: str) -> str:
        if _empty(value):
            return "first"
        data = self.obj(value, path)
        self.check_keys(data, path, {"Type"})
        kind = str(data.get("Type") or "First").lower()
        if kind not in ("first", "all", "last"):
            raise self.bad(f"{path}.Type", f"expected First, All or Last, got {kind!r}")
        return kind

    # -- concept sets ----------------------------------------------------------------------
    def concept_sets(self) -> dict[str, ConceptSet]:
        sets: dict[str, ConceptSet] = {}
        pending: list[tuple[int, str, str, list[Any]]] = []
        for i, raw in enumerate(self.array(self.data.get("ConceptSets"), "ConceptSets")):
            path = f"ConceptSets[{i}]"
            data = self.obj(raw, path)
            self.check_keys(data, path, {"id", "name", "expression"})
            cid = self.integer(data.get("id"), f"{path}.id")
            name = str(data.get("name") or f"concept set {cid}")
            expression = self.obj(data.get("expression") or {}, f"{path}.expression")
            self.check_keys(expression, f"{path}.expression", {"items"})
            items = self.array(expression.get("items"), f"{path}.expression.items")
            self.written.setdefault(cid, (f"{path}.expression.items", items))
            pending.append((cid, name, path, items))
        used = self.used_codesets()
        taken: set[str] = set()
        for cid, name, path, items in pending:
            if not items:
                if cid in used:
                    raise self.bad(
                        f"{path}.expression.items",
                        f"concept set {cid} ({name}) has no concepts but a criterion uses it",
                    )
                continue
            key = _slug(name)
            if key in taken:
                key = f"{key}_{cid}"
            taken.add(key)
            self.names[cid] = key
            sets[key] = self.model(
                ConceptSet,
                path,
                items=[
                    self.item(item, f"{path}.expression.items[{j}]") for j, item in enumerate(items)
                ],
            )
        self.sets = sets
        return sets

    def used_codesets(self) -> set[int]:
        found: set[int] = set()

        def walk(value: Any) -> None:
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    if key in _CODESET_KEYS and isinstance(inner, int):
                        found.add(inner)
                    else:
                        walk(inner)
            elif isinstance(value, list):
                for inner in value:
                    walk(inner)

        walk({k: v for k, v in self.data.items() if k != "ConceptSets"})
        return found

    def item(self, raw: Any, path: str) -> ConceptItem:
        data = self.obj(raw, path)
        self.check_keys(
            data, path, {"concept", "isExcluded", "includeDescendants", "includeMapped"}
        )
        concept = self.obj(data.get("concept"), f"{path}.concept")
        cid = self.integer(concept.get("CONCEPT_ID"), f"{path}.concept.CONCEPT_ID")
        vocabulary = concept.get("VOCABULARY_ID")
        code = concept.get("CONCEPT_CODE")
        system, value = registry_code(
            cid,
            None if vocabulary is None else str(vocabulary),
            None if code is None else str(code),
        )
        descendants = bool(data.get("includeDescendants"))
        if descendants and system in ICD_SYSTEMS:
            descendants = False
            self.note(
                f"{path}: includeDescendants dropped for {system} {value}: ICD concepts are not "
                "standard, so concept_ancestor gives them no descendants in Circe"
            )
        if data.get("includeMapped"):
            self.note(
                "includeMapped adds the non-standard concepts that map to an item; they match "
                "only source-concept criteria (refused on such a set), so on the standard "
                "concepts a conforming CDM records the result is the same (first at "
                f"{path})"
            )
        return self.model(
            ConceptItem,
            path,
            system=system,
            code=value,
            descendants=descendants,
            exclude=bool(data.get("isExcluded")),
        )

    def codeset(self, value: Any, path: str, missing: str = "a concept set is needed") -> str:
        """The language's name of concept set ``value``; ``missing`` says why one is needed."""
        if value is None:
            raise self.refuse(path.rsplit(".", 1)[0], f"{missing}; give it a CodesetId")
        cid = self.integer(value, path)
        if cid not in self.names:
            known = ", ".join(str(k) for k in sorted(self.names)) or "none"
            raise self.bad(path, f"concept set {cid} is not among ConceptSets (ids: {known})")
        return self.names[cid]

    # -- criteria ------------------------------------------------------------------------
    def domain(self, raw: Any, path: str) -> tuple[str, dict[str, Any]]:
        """A Circe ``Criteria`` object -> the language's events fields."""
        data = self.obj(raw, path)
        given = [k for k, v in data.items() if v is not None]
        if len(given) != 1:
            raise self.bad(path, f"expected one criteria domain, got {', '.join(given) or 'none'}")
        name = given[0]
        inner = self.obj(data[name], f"{path}.{name}")
        if name not in DOMAINS:
            kind = "a Circe domain" if name in OTHER_DOMAINS else "an unknown domain"
            raise self.refuse(
                f"{path}.{name}",
                f"{name} is {kind} the cohort language does not read (supported: "
                f"{', '.join(DOMAINS)})",
            )
        where = f"{path}.{name}"
        if name == "ObservationPeriod":
            # before the other domains' dates and person are read off (it has none)
            self.check_keys(inner, where, _PERIOD_KEYS, _PERIOD_REASONS)
        correlated = inner.get("CorrelatedCriteria")
        source_key = SOURCE_CONCEPTS.get(name, "")
        source = inner.get(source_key)
        inner = {k: v for k, v in inner.items() if k not in ("CorrelatedCriteria", source_key)}
        having = None
        if not _empty(correlated):
            at = f"{where}.CorrelatedCriteria"
            group = self.obj(correlated, at)
            if not self.group_empty(group):
                # Circe joins each event to its observation period, then checks the group
                # against the event (eventTableExpression.sql): with any_record, no period;
                # the event is the group's index, its end Circe's end of the event
                fields = self.group(
                    group,
                    at,
                    observed=not self.any_record,
                    index_end=_index_end([DOMAINS[name]]),
                )
                having = self.model(Group, at, **fields)
        if name in _NO_END_DATE and not _empty(inner.get("OccurrenceEndDate")):
            # Circe's ProcedureOccurrence and Observation have no OccurrenceEndDate
            # (ProcedureOccurrence.java, Observation.java): each ends the day after its date
            # (procedureOccurrence.sql, observation.sql)
            raise self.refuse(
                f"{where}.OccurrenceEndDate",
                f"Circe's {name} has no OccurrenceEndDate ({_NO_END_DATE[name]} ends the day "
                "after its date); bound OccurrenceStartDate",
            )
        dated = {k: inner.get(k) for k in ("OccurrenceStartDate", "OccurrenceEndDate")}
        person = {k: inner.get(k) for k in ("Age", "Gender") if not _empty(inner.get(k))}
        inner = {k: v for k, v in inner.items() if k not in dated and k not in ("Age", "Gender")}
        if name == "Measurement":
            values = self.measurement(inner, where)
        elif name == "Observation":
            values = self.observation(inner, where)
        elif name == "Death":
            values = self.death(inner, where)
        elif name == "ObservationPeriod":
            values = self.observation_period(inner, where)
        else:
            reasons = _VISIT_REASONS if name == "VisitOccurrence" else None
            self.check_keys(inner, where, {"CodesetId", "First"}, reasons)
            values = {"domain": DOMAINS[name]}
            if inner.get("CodesetId") is None:
                # no concept set: Circe reads every row of the domain's table
                values["any_code"] = True
            else:
                values["concept_set"] = self.codeset(inner["CodesetId"], f"{where}.CodesetId")
        for key, field_name in (
            ("OccurrenceStartDate", "start_date"),
            ("OccurrenceEndDate", "end_date"),
        ):
            if not _empty(dated[key]):
                values[field_name] = self.date_range(dated[key], f"{where}.{key}")
        if person:
            # the person on the event's start date (Circe: YEAR(start) - year_of_birth)
            found = self.demographics(person, where)
            values.update(age=found.age, sex=found.sex)
        if source is not None:
            # Circe: the source concept beside the CodesetId, or alone (then no any_code)
            values.pop("any_code", None)
            at = f"{where}.{source_key}"
            values["source_concept_set"] = self.source_concept_set(source, at, values["domain"])
        if inner.get("First"):
            values["first"] = True
        if having is not None:
            values["having"] = having
        return where, values

    def source_concept_set(self, value: Any, path: str, domain: str) -> str:
        """A criterion's ``<Domain>SourceConcept`` -> ``source_concept_set`` (Circe:
        ``procedure_source_concept_id in (codeset)``, beside the ``CodesetId`` on the standard
        concept; without a ``CodesetId`` the source concept alone, so no ``any_code``). A
        registry test's results keep no source code, and a set's ``includeMapped`` (the
        source concepts mapping to an item, through ``concept_relationship``) is not
        resolved: both refused."""
        if domain == "laboratory":
            raise self.refuse(
                path,
                "a registry laboratory test's results keep no source concept (the registry's "
                "laboratory table holds the test's code only); select them by CodesetId",
            )
        name = self.codeset(value, path)
        at, items = self.written[self.integer(value, path)]
        mapped = [
            j
            for j, item in enumerate(items)
            if isinstance(item, Mapping) and item.get("includeMapped")
        ]
        if mapped:
            raise self.refuse(
                f"{at}[{mapped[0]}].includeMapped",
                "on a source-concept criterion, includeMapped adds the source concepts that "
                "map to the item (concept_relationship 'Maps to'), which the import does not "
                "resolve; list those source concepts in the concept set instead",
            )
        return name

    def death(self, inner: Mapping[str, Any], where: str) -> dict[str, Any]:
        """A Circe ``Death`` -> death events (``DeathSqlBuilder.java``, ``death.sql``): its
        ``CodesetId`` bounds the cause (``cause_concept_id``; the registry's cause, coded as a
        diagnosis is) -> ``concept_set``; without one, any death (no ``any_code``: the death
        domain without a concept set is any death). Circe's ``Death`` has no ``First`` (a
        person dies once) and ends the day after its date (:data:`_DAY_AFTER`)."""
        reasons = {"First": "Circe's Death has no First (a person has at most one death)"}
        self.check_keys(inner, where, {"CodesetId"}, reasons)
        values: dict[str, Any] = {"domain": "death"}
        if inner.get("CodesetId") is not None:
            values["concept_set"] = self.codeset(inner["CodesetId"], f"{where}.CodesetId")
        return values

    def observation_period(self, inner: Mapping[str, Any], where: str) -> dict[str, Any]:
        """A Circe ``ObservationPeriod`` -> observation period events
        (``ObservationPeriodSqlBuilder.java``, ``observationPeriod.sql``; its keys checked by
        :meth:`domain`): each period from its start to its end; ``First`` (the person's
        earliest period) is read by :meth:`domain`; ``PeriodStartDate``/``PeriodEndDate`` ->
        ``start_date``/``end_date`` and ``AgeAtStart`` -> ``age`` (Circe's age, noted), on the
        period's own dates; ``PeriodLength`` -> ``length`` (whole days, Circe's ``%d``);
        ``UserDefinedPeriod`` (``StartDate``, ``EndDate``) -> ``user_period``. No codes, and
        the event's end is Circe's (not in :data:`_DAY_AFTER`)."""
        values: dict[str, Any] = {"domain": "observation_period"}
        for key, name in (("PeriodStartDate", "start_date"), ("PeriodEndDate", "end_date")):
            if not _empty(inner.get(key)):
                values[name] = self.date_range(inner[key], f"{where}.{key}")
        if not _empty(inner.get("PeriodLength")):
            values["length"] = self.numeric(inner["PeriodLength"], f"{where}.PeriodLength")
        if not _empty(inner.get("AgeAtStart")):
            values["age"] = self.age(inner["AgeAtStart"], f"{where}.AgeAtStart")
        given = inner.get("UserDefinedPeriod")
        if not _empty(given):
            path = f"{where}.UserDefinedPeriod"
            dates = self.period(given, path)
            if dates:
                values["user_period"] = self.model(UserPeriod, path, **dates)
        return values

    def measurement(self, inner: Mapping[str, Any], where: str) -> dict[str, Any]:
        """A Circe ``Measurement`` -> laboratory events when its concept set is the LOINC code
        of one registry test (:meth:`laboratory`), else measurement events
        (:meth:`measured`; without a ``CodesetId``, every measurement)."""
        if inner.get("CodesetId") is None:
            return self.measured(inner, where, None)
        path = f"{where}.CodesetId"
        name = self.codeset(inner["CodesetId"], path)
        test = self.registry_test(name, path)
        if test is None:
            return self.measured(inner, where, name)
        return self.laboratory(inner, where, test)

    def laboratory(self, inner: Mapping[str, Any], where: str, test: str) -> dict[str, Any]:
        """A Circe ``Measurement`` of registry test ``test`` -> laboratory events (module
        docstring); the values are the registry's, in the test's canonical unit. ``First``
        beside a bound on the values or beside ``Unit`` is refused (:meth:`first_with_bounds`):
        Circe keeps the person's first measurement of the test only if its unit is listed,
        which the laboratory domain, reading the results in any unit the registry converts,
        cannot say."""
        self.check_keys(
            inner, where, {"CodesetId", "First", "ValueAsNumber", "RangeHighRatio", "Unit"}
        )
        self.first_with_bounds(inner, where, "measurement")
        canonical = lab_tests()[test]
        values: dict[str, Any] = {"domain": "laboratory", "test": test}
        factor = self.unit_scale(inner.get("Unit"), f"{where}.Unit", test)
        if not _empty(inner.get("ValueAsNumber")):
            values["value"] = self.numeric(
                inner["ValueAsNumber"], f"{where}.ValueAsNumber", whole=False, scale=factor
            )
            if _empty(inner.get("Unit")):
                self.note(
                    f"ValueAsNumber is compared with the {test} value in {canonical}, "
                    "converted from the unit it was recorded in; Circe compares "
                    f"value_as_number as recorded, whatever its unit (first at {where})"
                )
        if not _empty(inner.get("RangeHighRatio")):
            values["times_uln"] = self.numeric(
                inner["RangeHighRatio"], f"{where}.RangeHighRatio", whole=False
            )
        self.note(
            "a laboratory result counts when its value is in a unit the registry converts to "
            "the test's canonical unit; Circe counts every measurement row of the concept, "
            f"with or without a value (first at {where})"
        )
        return values

    def measured(self, inner: Mapping[str, Any], where: str, name: str | None) -> dict[str, Any]:
        """A Circe ``Measurement`` of concept set ``name`` (none of the registry's tests; None:
        every measurement) -> measurement events (``MeasurementSqlBuilder.java``): ``First``;
        ``ValueAsNumber`` -> ``value`` (``value_as_number`` as recorded), ``RangeLow``/
        ``RangeHigh`` -> ``range_low``/``range_high`` (the limits as recorded),
        ``RangeLowRatio``/``RangeHighRatio`` -> ``times_lln``/``times_uln`` (Circe:
        ``value_as_number / NULLIF(range_low, 0)``), each bound to 4 decimals
        (:func:`_four_places`); ``ValueAsConcept``/``ValueAsConceptCS`` ->
        ``value_concept_set`` (:meth:`value_concept_set`); ``Unit``/``UnitCS`` -> ``units``
        (:meth:`units`). A row without the number or limit a bound reads never matches, in
        Circe (a comparison with null) as in the cohort language. ``First`` with any of these
        is refused (:meth:`first_with_bounds`)."""
        known = {
            "CodesetId",
            "First",
            "ValueAsConcept",
            "ValueAsConceptCS",
            "Unit",
            "UnitCS",
            *_MEASUREMENT_BOUNDS,
        }
        self.check_keys(inner, where, known, _MEASUREMENT_REASONS)
        self.first_with_bounds(inner, where, "measurement")
        values: dict[str, Any] = {"domain": "measurement"}
        if name is None:
            values["any_code"] = True
            self.note(
                "a Measurement without a concept set reads every measurement, the results of "
                "the registry's laboratory tests among them, but not the rows of the local "
                "assessment concepts (the registry's assessments); Circe reads those rows too "
                f"(first at {where})"
            )
        else:
            values["concept_set"] = name
            bounded = any(not _empty(inner.get(key)) for key in _MEASUREMENT_BOUNDS)
            if bounded and any(item.descendants for item in self.sets[name].items):
                # without a bound a result counts whatever its unit, as in Circe
                self.note(
                    "the results of a registry laboratory test among the concept set's "
                    "descendants in the OMOP vocabulary (CK 2157-6 under LOINC LP15510-8, say) "
                    "are read from the registry's laboratory rows, their value in the test's "
                    "canonical unit, where Circe compares value_as_number as recorded (first at "
                    f"{where}.CodesetId)"
                )
        for key, field_name in _MEASUREMENT_BOUNDS.items():
            if not _empty(inner.get(key)):
                values[field_name] = self.four_places(inner[key], f"{where}.{key}")
        coded = self.value_concept_set(inner, where, "measurement")
        if coded is not None:
            values["value_concept_set"] = coded
        units = self.units(inner, where, "measurement")
        if units is not None:
            values["units"] = units
            # a unit a registry test is recorded in (lab_units.csv; OMOP's UCUM concept 8645
            # "unit per liter" is [U]/L): its results may be among those read
            enzyme = any(
                unit == "[U]/L" or unit_factor(test, unit) is not None
                for unit in units
                for test in lab_tests()
            )
            wide = name is None or any(item.descendants for item in self.sets[name].items)
            if enzyme and wide:
                canonical = " or ".join(sorted(set(lab_tests().values())))
                self.note(
                    "Unit: the results of the registry's laboratory tests a Measurement reads "
                    "(without a concept set, or among the concept set's descendants) have the "
                    f"test's canonical unit ({canonical}), converted from the unit they were "
                    f"recorded in: they count when {canonical} is listed, whatever their "
                    "recorded unit, where Circe compares the unit_concept_id recorded (OMOP's "
                    f"UCUM concept 8645 unit per liter is [U]/L, not U/L) (first at {where})"
                )
        return values

    def units(self, inner: Mapping[str, Any], where: str, noun: str) -> list[str] | None:
        """An Observation's or a Measurement's (``noun``) ``Unit`` (concepts:
        ``unit_concept_id in (...)``) or ``UnitCS`` (a concept set: ``unit_concept_id in`` its
        concepts, ``getCodesetInExpression``; ``ObservationSqlBuilder.java``,
        ``MeasurementSqlBuilder.java``) -> the codes of ``units`` (each concept's
        ``CONCEPT_CODE``, :meth:`unit_code`), None without either: the registry keeps a unit as
        its code (an OMOP CDM read live: the ``concept_code`` of ``unit_concept_id``, whatever
        its vocabulary, else ``unit_source_value``), so the codes stand for the concepts, with
        a note on the rows whose unit comes from ``unit_source_value``. Refused: both at once
        (the cohort language has one list), ``IsExclusion`` (a unit outside the set), a
        selection without ``CodesetId``, and a set's excluded items, descendants or mapped
        concepts (the OMOP vocabulary's, which the codes cannot list)."""
        concepts, selection = inner.get("Unit"), inner.get("UnitCS")
        if not _empty(concepts) and not _empty(selection):
            raise self.refuse(
                f"{where}.UnitCS",
                f"Unit and UnitCS together: the cohort language bounds {_article(noun)} {noun}'s "
                "unit by one list of unit codes (give one of them)",
            )
        codes: list[str] = []
        if not _empty(concepts):
            path = f"{where}.Unit"
            for j, raw in enumerate(self.array(concepts, path)):
                codes.append(self.unit_code(self.obj(raw, f"{path}[{j}]"), f"{path}[{j}]", noun))
        elif not _empty(selection):
            path = f"{where}.UnitCS"
            cid = self.selection(
                selection, path, "a unit", "unit_concept_id", " (list the units in Unit)"
            )
            self.codeset(cid, f"{path}.CodesetId")  # a known, non-empty set
            at, items = self.written[self.integer(cid, f"{path}.CodesetId")]
            for j, raw in enumerate(items):
                item = self.obj(raw, f"{at}[{j}]")
                vocabulary = "the OMOP vocabulary's concepts, which unit codes cannot list"
                for flag, what in (
                    ("isExcluded", "excludes a unit"),
                    ("includeDescendants", f"adds a unit's descendants, {vocabulary}"),
                    ("includeMapped", f"adds the concepts that map to a unit, {vocabulary}"),
                ):
                    if item.get(flag):
                        raise self.refuse(
                            f"{at}[{j}].{flag}",
                            f"the unit concept set of {path} {what} (list the units it keeps, "
                            "without flags)",
                        )
                concept = self.obj(item.get("concept"), f"{at}[{j}].concept")
                codes.append(self.unit_code(concept, f"{at}[{j}].concept", noun))
        else:
            return None
        self.note(
            f"Unit: {_article(noun)} {noun} counts when its unit is one of the codes listed; "
            "read live from an OMOP CDM the unit is the code (concept_code) of "
            "unit_concept_id, else unit_source_value, so a row whose unit_concept_id is 0 (or "
            "a concept missing from the CDM's concept table) and whose unit_source_value is "
            f"the code counts, where Circe compares unit_concept_id alone (first at {where})"
        )
        return list(dict.fromkeys(codes))

    def unit_code(self, concept: Mapping[str, Any], path: str, noun: str) -> str:
        """The code of one unit concept, its ``CONCEPT_CODE``: the code an OMOP CDM read live
        gives a row recorded in it (``registry/omop/views.py``: the ``concept_code`` of
        ``unit_concept_id``, whatever its vocabulary). A UCUM code is also the unit other
        sources give; another vocabulary's (SNOMED 258795003 "g/dL", which ATLAS lists beside
        UCUM's) is noted: it is found in an OMOP CDM alone, and a unit concept of a third
        vocabulary with the same code counts too. A concept without a code is refused,
        naming it."""
        vocabulary, code = concept.get("VOCABULARY_ID"), concept.get("CONCEPT_CODE")
        named = " ".join(
            str(part)
            for part in (concept.get("CONCEPT_ID"), concept.get("CONCEPT_NAME"))
            if part is not None
        )
        if not isinstance(code, str) or not code:
            raise self.refuse(
                path,
                f"unit concept {named or '(no id)'} ({vocabulary or 'no vocabulary'}) has no "
                f"code: the registry keeps {_article(noun)} {noun}'s unit as its code, where "
                "Circe compares unit_concept_id (list the unit's UCUM concept instead)",
            )
        if vocabulary != "UCUM":
            self.note(
                f"Unit: unit concept {named or '(no id)'} ({vocabulary or 'no vocabulary'} "
                f"{code}) is read as its code, {code}, the unit an OMOP CDM (read live or "
                f"imported) gives the {noun}s recorded in it, as Circe counts them, and those "
                "recorded in another vocabulary's unit concept of that code (the Nebraska "
                "Lexicon shares SNOMED's codes), which Circe does not count; a registry from "
                "FHIR, REDCap or a spreadsheet holds UCUM units, which it never matches "
                f"(first at {path})"
            )
        return code

    def four_places(self, raw: Any, path: str) -> Range:
        """A Circe ``NumericRange`` on a value as recorded -> :class:`Range`, each bound to 4
        decimals as Circe writes it (:func:`_four_places`)."""

        def number(value: Any) -> float | None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return None
            return _four_places(value)

        return self.bounds(raw, path, Range, number, "a number")

    def first_with_bounds(self, inner: Mapping[str, Any], where: str, noun: str) -> None:
        """Refuse ``First`` beside a bound on a row's values (``ValueAsNumber``,
        ``ValueAsConcept``, ``RangeLow``, ...) or on its unit (``Unit``, ``UnitCS``): Circe
        numbers a person's rows of the concept set (the ``ordinal`` of the inner query,
        ``ObservationSqlBuilder.java``, ``MeasurementSqlBuilder.java``) before the outer WHERE
        bounds the values and the unit (``unit_concept_id``), so it keeps the first row if its
        value is in range (its unit listed), where the cohort language bounds the values first
        and would take the first row in range. A registry test's ``Unit`` too
        (:meth:`laboratory`): the laboratory domain has no unit to bound, and its ``first``
        would take the first result in any unit the registry converts. The refusal names the
        first bound, the values' before the unit's."""
        if not inner.get("First"):
            return
        for key, (what, fits) in _ROW_BOUNDS.items():
            if not _empty(inner.get(key)):
                raise self.refuse(
                    f"{where}.{key}",
                    f"with First: Circe bounds the {what} of the person's first {noun} of the "
                    f"concept set, where the cohort language would take the first {noun} whose "
                    f"{what} {fits} (drop one of the two)",
                )

    def observation(self, inner: Mapping[str, Any], where: str) -> dict[str, Any]:
        """A Circe ``Observation`` -> observation events (``ObservationSqlBuilder.java``): its
        concept set (none: every observation), ``First`` and ``ValueAsNumber`` -> ``value``,
        ``value_as_number`` compared as recorded with bounds of 4 decimals
        (:func:`_four_places`); a row without a number never matches, in Circe as in the
        cohort language. Circe numbers a person's observations of the concept set
        (``ordinal``) before it bounds the value: ``First`` with ``ValueAsNumber`` is the first
        observation if its value is in range, where the cohort language would take the first
        in range, so the two together are refused, as are ``First`` and a coded value
        and ``First`` and a unit (:meth:`first_with_bounds`).
        ``Unit``/``UnitCS`` -> ``units``, as on a Measurement (:meth:`units`)."""
        known = {
            "CodesetId",
            "First",
            "ValueAsNumber",
            "ValueAsConcept",
            "ValueAsConceptCS",
            "Unit",
            "UnitCS",
        }
        self.check_keys(inner, where, known, _OBSERVATION_REASONS)
        values: dict[str, Any] = {"domain": "observation"}
        if inner.get("CodesetId") is None:
            values["any_code"] = True
            self.note(
                "an Observation without a concept set reads every observation but those of the "
                "local assessment and DM subtype concepts (the registry's assessments and "
                "subtypes, docs/omop.md); Circe reads those rows too (first at "
                f"{where})"
            )
        else:
            values["concept_set"] = self.codeset(inner["CodesetId"], f"{where}.CodesetId")
        self.first_with_bounds(inner, where, "observation")
        if not _empty(inner.get("ValueAsNumber")):
            values["value"] = self.four_places(inner["ValueAsNumber"], f"{where}.ValueAsNumber")
        coded = self.value_concept_set(inner, where, "observation")
        if coded is not None:
            values["value_concept_set"] = coded
        units = self.units(inner, where, "observation")
        if units is not None:
            values["units"] = units
        return values

    def selection(self, raw: Any, path: str, what: str, column: str, hint: str) -> Any:
        """A Circe ``ConceptSetSelection`` (``ValueAsConceptCS``, ``UnitCS``: ``column in`` the
        set's concepts) -> its ``CodesetId``. Refused: ``IsExclusion`` (``what`` outside the
        set; ``hint`` says what to give instead) and no ``CodesetId`` (any concept: ``column``
        is not null)."""
        data = self.obj(raw, path)
        self.check_keys(data, path, {"CodesetId", "IsExclusion"})
        if data.get("IsExclusion"):
            raise self.refuse(
                f"{path}.IsExclusion",
                f"{what} outside a concept set is not in the cohort language{hint}",
            )
        if data.get("CodesetId") is None:
            raise self.refuse(
                path,
                f"{what} of any concept (no CodesetId: {column} is not null) is not in the "
                "cohort language; give a CodesetId",
            )
        return data["CodesetId"]

    def value_concept_set(self, inner: Mapping[str, Any], where: str, noun: str) -> str | None:
        """An Observation's or a Measurement's (``noun``) ``ValueAsConcept`` (concepts:
        ``value_as_concept_id in (...)``, the concepts themselves) or ``ValueAsConceptCS`` (a
        concept set: ``value_as_concept_id in`` its concepts, ``getCodesetInExpression``) -> the
        name of the concept set its coded value must be in (``value_concept_set``);
        ``ValueAsConcept``'s concepts become a concept set of their own (``<noun>_values``, no
        descendants). None without either. Refused: both at once (Circe asks for both; the
        cohort language has one set), ``IsExclusion`` (a value outside the set) and a selection
        without ``CodesetId`` (any coded value)."""
        concepts, selection = inner.get("ValueAsConcept"), inner.get("ValueAsConceptCS")
        if not _empty(concepts) and not _empty(selection):
            raise self.refuse(
                f"{where}.ValueAsConceptCS",
                "ValueAsConcept and ValueAsConceptCS together: the cohort language bounds "
                f"{_article(noun)} {noun}'s coded value by one concept set (give one of them)",
            )
        if not _empty(selection):
            path = f"{where}.ValueAsConceptCS"
            cid = self.selection(selection, path, "a coded value", "value_as_concept_id", "")
            return self.codeset(cid, f"{path}.CodesetId")
        if _empty(concepts):
            return None
        path = f"{where}.ValueAsConcept"
        items = []
        for j, raw in enumerate(self.array(concepts, path)):
            concept = self.obj(raw, f"{path}[{j}]")
            cid = self.integer(concept.get("CONCEPT_ID"), f"{path}[{j}].CONCEPT_ID")
            vocabulary, code = concept.get("VOCABULARY_ID"), concept.get("CONCEPT_CODE")
            system, value = registry_code(
                cid,
                None if vocabulary is None else str(vocabulary),
                None if code is None else str(code),
            )
            items.append(self.model(ConceptItem, f"{path}[{j}]", system=system, code=value))
        name, n = f"{noun}_values", 1
        while name in self.sets:
            n += 1
            name = f"{noun}_values_{n}"
        self.sets[name] = self.model(ConceptSet, path, items=items)
        return name

    def registry_test(self, name: str, path: str) -> str | None:
        """The registry test whose LOINC code concept set ``name`` holds (and nothing else), or
        None when it holds none of the registry's tests (a measurement of other concepts). A
        set holding a test beside other concepts, excluding concepts beside a test, or holding
        two tests is refused: the registry keeps each test's results in ``laboratory`` (in its
        canonical unit) and every other measurement in ``measurement``."""
        loinc = {code: test for test, code in lab_loinc().items()}
        known = ", ".join(f"{t} {code}" for code, t in sorted(loinc.items(), key=lambda x: x[1]))
        items = self.sets[name].items
        included = [item for item in items if not item.exclude]
        found = [item for item in included if item.system == "LOINC" and item.code in loinc]
        if not found:
            return None
        others = [item for item in included if item not in found]
        if others:
            code = f"{others[0].system} {others[0].code or others[0].ingredient}"
            raise self.refuse(
                path,
                f"concept set {name!r} holds LOINC {found[0].code}, a laboratory test of the "
                f"registry ({loinc[str(found[0].code)]}), beside other concepts ({code}): the "
                "registry keeps that test's results in its laboratory table (in the test's "
                "canonical unit) and every other measurement in its measurement table; make "
                "one criterion of the test and one of the other concepts (in an ANY group)",
            )
        if any(item.exclude for item in items):
            raise self.refuse(
                path,
                f"concept set {name!r} excludes concepts; a Measurement criterion reads one "
                f"laboratory test of the registry by its LOINC code ({known})",
            )
        tests = set()
        for item in found:
            tests.add(loinc[str(item.code)])
            if item.descendants:
                self.note(
                    f"concept set {name!r}: the descendants of LOINC {item.code} are not "
                    f"added; the registry's {loinc[str(item.code)]} results are those coded "
                    f"LOINC {item.code} (first at {path})"
                )
        if len(tests) > 1:
            raise self.refuse(
                path,
                f"concept set {name!r} holds the LOINC codes of {' and '.join(sorted(tests))}; "
                "a laboratory criterion reads one test (make one criterion per test, in an "
                "ANY group)",
            )
        return tests.pop()

    def unit_scale(self, raw: Any, path: str, test: str) -> float:
        """The factor that turns a ``ValueAsNumber`` bound in the criterion's ``Unit`` into
        the test's canonical unit (1 without a unit)."""
        if _empty(raw):
            return 1.0
        canonical = lab_tests()[test]
        factors = set()
        for j, concept in enumerate(self.array(raw, path)):
            data = self.obj(concept, f"{path}[{j}]")
            code = str(data.get("CONCEPT_CODE") or "")
            factor = unit_factor(test, code) if code else None
            if factor is None:
                raise self.refuse(
                    f"{path}[{j}]",
                    f"unit {code or data.get('CONCEPT_ID')!r} is not one the registry converts "
                    f"for {test} (to {canonical})",
                )
            factors.add(factor)
        if len(factors) > 1:
            raise self.refuse(
                path,
                "units of different scales compared with one ValueAsNumber; give one unit",
            )
        self.note(
            f"Unit: {test} results recorded in any unit the registry converts are compared "
            f"in {canonical}; Circe reads only the results recorded in the units listed "
            f"(first at {path})"
        )
        return factors.pop()

    def events(self, raw: Any, path: str) -> Events:
        where, values = self.domain(raw, path)
        return self.model(Events, where, **values)

    def group_empty(self, data: Mapping[str, Any]) -> bool:
        return all(
            _empty(data.get(key)) for key in ("CriteriaList", "DemographicCriteriaList", "Groups")
        )

    def endpoint(self, raw: Any, path: str) -> tuple[int | None, int]:
        data = self.obj(raw, path)
        self.check_keys(data, path, {"Days", "Coeff"})
        coeff = self.integer(data.get("Coeff", 1), f"{path}.Coeff")
        if coeff not in (-1, 1):
            raise self.bad(f"{path}.Coeff", f"expected -1 (before) or 1 (after), got {coeff}")
        days = data.get("Days")
        return (None if days is None else coeff * self.integer(days, f"{path}.Days")), coeff

    def window(
        self, raw: Any, path: str, *, event_end: bool, observed: bool, index_end: IndexEnd
    ) -> tuple[str, RelativeWindow]:
        """One Circe window -> (event date it bounds, window). ``observed``: the criterion
        only counts events inside the index's observation period (Circe then reads an open
        end as the period's start or end). ``index_end``: how Circe's end of the index events
        stands to the cohort language's (:func:`_index_end`); where every index event is an
        observation or a measurement, Circe's index end (``UseIndexEnd``) is the day after the
        index date, so the window is measured from the index date, one day further; where the
        index events mix them with other events, it is read as it is, the entry's observations
        and measurements ending the day after their date (:attr:`entry_end_read`)."""
        data = self.obj(raw, path)
        self.check_keys(data, path, {"Start", "End", "UseIndexEnd", "UseEventEnd"})
        use_event_end = data.get("UseEventEnd")
        on_end = event_end if use_event_end is None else bool(use_event_end)
        start, start_coeff = self.endpoint(data.get("Start") or {}, f"{path}.Start")
        end, end_coeff = self.endpoint(data.get("End") or {}, f"{path}.End")
        bounds: dict[str, int | PeriodBound | None] = {"Start": start, "End": end}
        if observed:
            # Circe: an open endpoint is the observation period's start (Coeff -1) or end (+1)
            # (CohortExpressionQueryBuilder.getWindowedCriteriaQuery). On the event's start,
            # inside the period already, "start >= period start" and "start <= period end" add
            # nothing (left open); any other pairing is the window end period_start/period_end
            # (an event ending after the period does not count: ATLAS's "during a visit").
            for days, coeff, endpoint in ((start, start_coeff, "Start"), (end, end_coeff, "End")):
                redundant = (endpoint == "Start" and coeff == -1) or (
                    endpoint == "End" and coeff == 1 and not on_end
                )
                if days is None and not redundant:
                    bounds[endpoint] = "period_start" if coeff == -1 else "period_end"
        index = "end" if data.get("UseIndexEnd") else "start"
        if index == "end" and index_end == "mixed":
            # Circe's index end is an observation's or a measurement's date + 1 and the other
            # events' own end: the entry's observations and measurements end the day after
            # their date (end: day_after), and the window reads the index end as it is
            self.entry_end_read = True
        if index == "end" and index_end == "day_after":
            # Circe's index end is the observation's or measurement's date + 1
            # (observation.sql, MeasurementSqlBuilder.java)
            bounds = {k: _shifted(v, 1) for k, v in bounds.items()}
            index = "start"
        window = self.model(
            RelativeWindow, path, start=bounds["Start"], end=bounds["End"], index=index
        )
        return ("end" if on_end else "start"), window

    def on_event_date(self, window: RelativeWindow, path: str) -> RelativeWindow:
        """A window on an observation's or a measurement's end -> the same window on its date:
        Circe's end of one is the day after its date (``observation.sql``,
        ``MeasurementSqlBuilder.java``), the cohort language's is its date, so each bound moves
        one day earlier (an open bound stays open). Not for a window end at the observation
        period, which does not move (:meth:`criterion` reads that one on the end)."""
        assert not window.bounds_by_period(), "a window end at the period is read on the end"
        return self.model(
            RelativeWindow,
            path,
            start=_shifted(window.start, -1),
            end=_shifted(window.end, -1),
            index=window.index,
        )

    def criterion(
        self, raw: Any, path: str, *, observed_cohort: bool, index_end: IndexEnd
    ) -> Criterion:
        """A Circe ``CorelatedCriteria`` (a criterion in a group) -> a :class:`Criterion`;
        ``index_end`` as for :meth:`window`. A window on an observation's, a measurement's or a
        laboratory result's end bounds its date (:meth:`on_event_date`), but where that cannot
        say Circe's (a window end at the observation period, or another window beside it) the
        criterion's events end the day after their date, as Circe's (``end: day_after``), and
        the window bounds that end. Both windows on one event date (``UseEventEnd``) are a list
        of two on that date, both of which must hold (Circe's conditions)."""
        data = self.obj(raw, path)
        self.check_keys(
            data,
            path,
            {"Criteria", "StartWindow", "EndWindow", "Occurrence", "IgnoreObservationPeriod"},
        )
        where, values = self.domain(data.get("Criteria"), f"{path}.Criteria")
        # an event Circe ends the day after its date (an observation, a measurement)
        one_day = values["domain"] in _DAY_AFTER
        ignore = bool(data.get("IgnoreObservationPeriod"))
        observed = observed_cohort and not ignore
        found: list[tuple[str, str, RelativeWindow]] = []  # (key, event date, window)
        for key, event_end in (("StartWindow", False), ("EndWindow", True)):
            if _empty(data.get(key)):
                continue
            on, window = self.window(
                data[key],
                f"{path}.{key}",
                event_end=event_end,
                observed=observed,
                index_end=index_end,
            )
            found.append((key, on, window))
        on_end = [window for _, on, window in found if on == "end"]
        # a window on the end of an event Circe ends the day after its date: on its date a day
        # earlier, where that says Circe's (one window on it, ending at no observation
        # period); else on Circe's end as it is, the events ending the day after their date
        # (observation.sql, MeasurementSqlBuilder.java): beside another window (on its start,
        # or on its end too), or ending at the period (a day before the period's end, on the
        # date)
        on_date = one_day and bool(on_end)
        if on_date and (len(found) == 2 or any(w.bounds_by_period() for w in on_end)):
            values["end"] = "day_after"
            on_date = False
        # two windows on one event date (Circe's StartWindow and EndWindow on its start, or
        # both on its end, each a condition that must hold): a list of both on that date
        windows: dict[str, list[RelativeWindow]] = {}
        for key, on, window in found:
            if on == "end" and on_date:
                on, window = "start", self.on_event_date(window, f"{path}.{key}")
            windows.setdefault(on, []).append(window)
        occurrence = self.occurrence(data.get("Occurrence"), f"{path}.Occurrence")
        for on, listed in windows.items():
            # a list of one is the window alone (Criterion), as before
            values[f"{on}_window"] = listed
        if ignore:
            values["ignore_observation_period"] = True
        return self.model(Criterion, where, occurrence=occurrence, **values)

    def occurrence(self, raw: Any, path: str) -> Occurrence:
        data = self.obj(raw if raw is not None else {"Type": 2, "Count": 1}, path)
        self.check_keys(data, path, {"Type", "Count", "IsDistinct", "CountColumn"})
        code = self.integer(data.get("Type", 2), f"{path}.Type")
        if code not in OCCURRENCE_TYPES:
            raise self.bad(
                f"{path}.Type", f"expected 0 (exactly), 1 (at most) or 2 (at least), got {code}"
            )
        kind = OCCURRENCE_TYPES[code]
        count = self.integer(data.get("Count", 1), f"{path}.Count")
        distinct = False
        if data.get("IsDistinct"):
            column = data.get("CountColumn")
            if column == "START_DATE":
                distinct = True
            elif count == 0 or (kind == "at_least" and count == 1):
                # COUNT(DISTINCT x) and COUNT(x) agree on "none" and "at least one"
                distinct = False
            else:
                raise self.refuse(
                    f"{path}.IsDistinct",
                    f"a distinct count of {column or 'DOMAIN_CONCEPT (the default)'} is not in "
                    "the cohort language; only distinct start dates (CountColumn START_DATE)",
                )
        return self.model(Occurrence, path, type=kind, count=count, distinct_dates=distinct)

    def numeric(self, raw: Any, path: str, *, whole: bool = True, scale: float = 1.0) -> Range:
        """A Circe ``NumericRange`` -> :class:`Range`: whole numbers (an age) or decimals (a
        result), each bound times ``scale``."""

        def number(value: Any) -> float | None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return None
            # rounded: a factor such as 0.06 must not move a bound off the value it names
            return int(value) if whole else round(value * scale, 9)

        return self.bounds(raw, path, Range, number, "a number")

    def period(self, raw: Any, path: str) -> dict[str, dt.date]:
        """A Circe ``Period`` (``StartDate``, ``EndDate``: ``CensorWindow``,
        ``UserDefinedPeriod``; ``YYYY-MM-DD``, either may be left out) -> ``start`` and ``end``,
        the dates given."""
        data = self.obj(raw, path)
        self.check_keys(data, path, {"StartDate", "EndDate"})
        dates = {}
        for key, name in (("StartDate", "start"), ("EndDate", "end")):
            if not _empty(data.get(key)):
                day = _as_date(data[key])
                if day is None:
                    got = json.dumps(data[key])
                    raise self.bad(f"{path}.{key}", f"expected a date (YYYY-MM-DD), got {got}")
                dates[name] = day
        return dates

    def date_range(self, raw: Any, path: str) -> DateRange:
        """A Circe ``DateRange`` (dates ``YYYY-MM-DD``) -> :class:`DateRange` (Circe:
        ``BuilderUtils.buildDateRangeClause``)."""

        return self.bounds(raw, path, DateRange, _as_date, "a date (YYYY-MM-DD)")

    def bounds(
        self, raw: Any, path: str, kind: type[Any], read: Callable[[Any], Any], what: str
    ) -> Any:
        """A Circe range (``Value``, ``Op``, ``Extent``) -> ``kind``: ``lt`` ... ``gte`` one
        bound, ``bt`` both; ``read`` gives each value, or None when it is not ``what``."""
        data = self.obj(raw, path)
        self.check_keys(data, path, {"Value", "Op", "Extent"})
        op = str(data.get("Op") or "")

        def bound(key: str) -> Any:
            value = read(data.get(key))
            if value is None:
                need = "between needs Extent:" if key == "Extent" else "expected"
                raise self.bad(f"{path}.{key}", f"{need} {what}, got {json.dumps(data.get(key))}")
            return value

        value = bound("Value")
        if op == "bt":
            return self.model(kind, path, gte=value, lte=bound("Extent"))
        if op == "!bt":
            raise self.refuse(f"{path}.Op", "'not between' (!bt) is not in the cohort language")
        if op not in _OPS:
            raise self.bad(f"{path}.Op", f"expected lt, lte, eq, gt, gte or bt, got {op!r}")
        return self.model(kind, path, **{_OPS[op]: value})

    def age(self, raw: Any, path: str) -> Range:
        """A Circe age range (``Age``, ``AgeAtStart``) -> :class:`Range` in whole years, with
        the note on how Circe's age differs from the language's."""
        age = self.numeric(raw, path)
        self.note(
            "age: Circe's age is YEAR(date) - year of birth; the cohort language's is the "
            "completed years on that date (the index date; a criterion's event's start): "
            "persons whose birthday is later in the year than that date are one year "
            f"younger (first at {path})"
        )
        return age

    def demographics(self, raw: Any, path: str) -> Demographics:
        data = self.obj(raw, path)
        for key in ("OccurrenceStartDate", "OccurrenceEndDate"):
            if not _empty(data.get(key)):
                raise self.refuse(
                    f"{path}.{key}",
                    "calendar bounds on the index event in a demographic criterion are not in "
                    "the cohort language (bound the entry events' dates instead)",
                )
        self.check_keys(data, path, {"Age", "Gender"})
        values: dict[str, Any] = {}
        if not _empty(data.get("Age")):
            values["age"] = self.age(data["Age"], f"{path}.Age")
        if not _empty(data.get("Gender")):
            sexes = []
            for j, concept in enumerate(self.array(data["Gender"], f"{path}.Gender")):
                cid = self.integer(
                    self.obj(concept, f"{path}.Gender[{j}]").get("CONCEPT_ID"),
                    f"{path}.Gender[{j}].CONCEPT_ID",
                )
                if cid not in GENDERS:
                    raise self.refuse(
                        f"{path}.Gender[{j}]",
                        f"gender concept {cid}; the registry's sexes are 8507 (male) and 8532 "
                        "(female)",
                    )
                sexes.append(GENDERS[cid])
            values["sex"] = sorted(set(sexes))
        if not values:
            raise self.refuse(path, "a demographic criterion without Age or Gender")
        return self.model(Demographics, path, **values)

    def group(self, raw: Any, path: str, *, observed: bool, index_end: IndexEnd) -> dict[str, Any]:
        """A Circe ``CriteriaGroup`` -> the fields of a language :class:`Group`; ``index_end``
        says how Circe's end of its index events stands to the language's (:meth:`window`)."""
        data = self.obj(raw, path)
        self.check_keys(
            data, path, {"Type", "Count", "CriteriaList", "DemographicCriteriaList", "Groups"}
        )
        if self.group_empty(data):
            raise self.refuse(
                path,
                "an empty group (Circe lets every event pass) is not in the cohort language; "
                "remove it",
            )
        kind = str(data.get("Type") or "ALL").upper()
        types = {"ALL": "all", "ANY": "any", "AT_LEAST": "at_least", "AT_MOST": "at_most"}
        if kind not in types:
            raise self.bad(f"{path}.Type", f"expected ALL, ANY, AT_LEAST or AT_MOST, got {kind!r}")
        values: dict[str, Any] = {"type": types[kind]}
        if kind.startswith("AT_"):
            values["count"] = self.integer(data.get("Count"), f"{path}.Count")
        values["criteria"] = [
            self.criterion(
                c, f"{path}.CriteriaList[{j}]", observed_cohort=observed, index_end=index_end
            )
            for j, c in enumerate(self.array(data.get("CriteriaList"), f"{path}.CriteriaList"))
        ]
        values["demographics"] = [
            self.demographics(d, f"{path}.DemographicCriteriaList[{j}]")
            for j, d in enumerate(
                self.array(data.get("DemographicCriteriaList"), f"{path}.DemographicCriteriaList")
            )
        ]
        values["groups"] = [
            self.model(
                Group,
                f"{path}.Groups[{j}]",
                **self.group(g, f"{path}.Groups[{j}]", observed=observed, index_end=index_end),
            )
            for j, g in enumerate(self.array(data.get("Groups"), f"{path}.Groups"))
        ]
        self.model(Group, path, **values)
        return values

    # -- the expression ------------------------------------------------------------------
    def cohort(self, label: str) -> Cohort:
        data = self.data
        self.check_keys(
            data,
            "(top level)",
            {
                "cdmVersionRange",
                "Title",
                "PrimaryCriteria",
                "AdditionalCriteria",
                "ConceptSets",
                "QualifiedLimit",
                "ExpressionLimit",
                "InclusionRules",
                "EndStrategy",
                "CensoringCriteria",
                "CollapseSettings",
                "CensorWindow",
            },
        )
        concept_sets = self.concept_sets()
        observed = not self.any_record
        entry = self.entry(observed)
        index_end = _index_end([event.domain for event in entry.events])
        inclusion = []
        for i, raw in enumerate(self.array(data.get("InclusionRules"), "InclusionRules")):
            path = f"InclusionRules[{i}]"
            rule = self.obj(raw, path)
            self.check_keys(rule, path, {"name", "description", "expression"})
            fields = self.group(
                rule.get("expression"),
                f"{path}.expression",
                observed=observed,
                index_end=index_end,
            )
            inclusion.append(
                self.model(
                    InclusionRule,
                    path,
                    label=str(rule.get("name") or f"Inclusion rule {i + 1}"),
                    description=str(rule.get("description") or ""),
                    **fields,
                )
            )
        expression_limit = self.limit(data.get("ExpressionLimit"), "ExpressionLimit")
        exit_ = self.exit(index_end)
        if self.entry_end_read:
            # mixed entry events whose end Circe reads: their observations and measurements
            # end the day after their date, as Circe's (observation.sql,
            # MeasurementSqlBuilder.java), so the windows and the exit read the end as it is
            events = [
                event.model_copy(update={"end": "day_after"})
                if event.domain in _DAY_AFTER
                else event
                for event in entry.events
            ]
            entry = entry.model_copy(update={"events": events})
        return self.model(
            Cohort,
            "(top level)",
            label=label,
            concept_sets=concept_sets,
            entry=entry,
            inclusion=inclusion,
            expression_limit=expression_limit,
            exit=exit_,
        )

    def entry(self, observed: bool) -> Entry:
        path = "PrimaryCriteria"
        data = self.obj(self.data.get(path), path)
        self.check_keys(data, path, {"CriteriaList", "ObservationWindow", "PrimaryCriteriaLimit"})
        criteria = self.array(data.get("CriteriaList"), f"{path}.CriteriaList")
        if not criteria:
            raise self.bad(f"{path}.CriteriaList", "no entry event: give at least one criterion")
        events = [self.events(c, f"{path}.CriteriaList[{j}]") for j, c in enumerate(criteria)]
        window = self.obj(data.get("ObservationWindow") or {}, f"{path}.ObservationWindow")
        self.check_keys(window, f"{path}.ObservationWindow", {"PriorDays", "PostDays"})
        prior = self.integer(window.get("PriorDays", 0), f"{path}.ObservationWindow.PriorDays")
        post = self.integer(window.get("PostDays", 0), f"{path}.ObservationWindow.PostDays")
        observation = None
        if observed:
            observation = self.model(
                ObservationWindow, f"{path}.ObservationWindow", prior_days=prior, post_days=post
            )
        elif prior or post:
            raise self.bad(
                f"{path}.ObservationWindow",
                f"--any-record drops the observation period, but the definition asks for "
                f"{prior} day(s) before and {post} after the entry; leave out --any-record",
            )
        values: dict[str, Any] = {
            "events": events,
            "observation": observation,
            "limit": self.limit(data.get("PrimaryCriteriaLimit"), f"{path}.PrimaryCriteriaLimit"),
        }
        additional = self.data.get("AdditionalCriteria")
        if not _empty(additional) and not self.group_empty(
            self.obj(additional, "AdditionalCriteria")
        ):
            values["additional"] = self.model(
                Group,
                "AdditionalCriteria",
                **self.group(
                    additional,
                    "AdditionalCriteria",
                    observed=observed,
                    index_end=_index_end([event.domain for event in events]),
                ),
            )
            values["qualified_limit"] = self.limit(
                self.data.get("QualifiedLimit"), "QualifiedLimit"
            )
        return self.model(Entry, path, **values)

    def exit(self, index_end: IndexEnd) -> Exit:
        """``EndStrategy``, ``CensoringCriteria``, ``CollapseSettings`` and ``CensorWindow`` ->
        the language's :class:`Exit`. ``index_end``: how Circe's end of the entry events stands
        to the language's (:func:`_index_end`); an exit from the end of an observation or a
        measurement (the day after its date in Circe) is written from its date, one day
        further, and where the entry events mix them with other events, from the end as it
        is, the entry's observations and measurements ending the day after their date
        (:attr:`entry_end_read`)."""
        values: dict[str, Any] = {}
        strategy = self.data.get("EndStrategy")
        if not _empty(strategy):
            data = self.obj(strategy, "EndStrategy")
            self.check_keys(data, "EndStrategy", {"DateOffset", "CustomEra"})
            if not _empty(data.get("DateOffset")):
                path = "EndStrategy.DateOffset"
                offset = self.obj(data["DateOffset"], path)
                self.check_keys(offset, path, {"DateField", "Offset"})
                date = str(offset.get("DateField") or "StartDate")
                if date not in ("StartDate", "EndDate"):
                    raise self.bad(
                        f"{path}.DateField", f"expected StartDate or EndDate, got {date!r}"
                    )
                days = self.integer(offset.get("Offset", 0), f"{path}.Offset")
                if date == "EndDate" and index_end == "mixed":
                    # the day after an observation's or a measurement's date and the other
                    # events' own end: the entry's observations and measurements end the day
                    # after their date (end: day_after), the offset counts from the end
                    self.entry_end_read = True
                if date == "EndDate" and index_end == "day_after":
                    # Circe's end of an observation or a measurement is its date + 1
                    # (observation.sql, MeasurementSqlBuilder.java)
                    date, days = "StartDate", days + 1
                values.update(
                    strategy="fixed",
                    date="start" if date == "StartDate" else "end",
                    offset_days=days,
                )
            elif not _empty(data.get("CustomEra")):
                path = "EndStrategy.CustomEra"
                era = self.obj(data["CustomEra"], path)
                self.check_keys(era, path, {"DrugCodesetId", "GapDays", "Offset"})
                # the cohort language's drug_era is customEraStrategy.sql's rule: each exposure
                # lasts Offset days beyond its end, GapDays bridged after those ends, and the
                # end of observation when no era holds the index: the same numbers
                values.update(
                    strategy="drug_era",
                    concept_set=self.codeset(
                        era.get("DrugCodesetId"),
                        f"{path}.DrugCodesetId",
                        "an era of every drug is not in the cohort language",
                    ),
                    gap_days=self.integer(era.get("GapDays", 0), f"{path}.GapDays"),
                    offset_days=self.integer(era.get("Offset", 0), f"{path}.Offset"),
                )
        values["censor"] = [
            self.events(c, f"CensoringCriteria[{j}]")
            for j, c in enumerate(
                self.array(self.data.get("CensoringCriteria"), "CensoringCriteria")
            )
        ]
        collapse = self.data.get("CollapseSettings")
        if not _empty(collapse):
            data = self.obj(collapse, "CollapseSettings")
            self.check_keys(data, "CollapseSettings", {"CollapseType", "EraPad"})
            kind = str(data.get("CollapseType") or "ERA")
            if kind != "ERA":
                raise self.refuse("CollapseSettings.CollapseType", f"{kind!r} (only ERA)")
            values["era_pad_days"] = self.integer(data.get("EraPad", 0), "CollapseSettings.EraPad")
        window = self.data.get("CensorWindow")
        if not _empty(window):
            dates = self.period(window, "CensorWindow")
            if dates:
                values["censor_window"] = self.model(CensorWindow, "CensorWindow", **dates)
        return self.model(Exit, "EndStrategy", **values)


def _as_date(value: Any) -> dt.date | None:
    """A Circe date (``YYYY-MM-DD``; a time ATLAS may add is ignored), or None if it is not
    one."""
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def is_atlas(data: object) -> bool:
    """Whether parsed JSON looks like a Circe cohort expression (it has ``PrimaryCriteria``)."""
    return isinstance(data, Mapping) and "PrimaryCriteria" in data


def translate_atlas(
    expression: Mapping[str, Any],
    *,
    label: str | None = None,
    where: str = "ATLAS cohort",
    any_record: bool = False,
) -> AtlasImport:
    """Translate a Circe cohort expression (parsed JSON) into the cohort language.

    ``label``: the cohort's label (default: the expression's ``Title``, else ``where``).
    ``where``: how messages name the definition (its file). ``any_record``: no observation
    period is required of the entry events or criteria (the Book of OHDSI's counts of persons
    with a record) where ATLAS requires one. Raises :class:`SpecError` naming the JSON path of
    the first construct the cohort language cannot express.
    """
    translator = _Translator(expression, where, any_record=any_record)
    title = expression.get("Title")
    cohort = translator.cohort(label or (str(title) if title else where))
    return AtlasImport(cohort, translator.notes, dict(translator.names))


def read_atlas(path: Path, *, any_record: bool = False) -> AtlasImport:
    """Read an ATLAS cohort JSON file (as ATLAS's Export tab gives it) and translate it.

    Accepts the bare cohort expression, or a cohort definition wrapping it under
    ``expression`` (ATLAS's WebAPI form, with ``name``). Raises :class:`SpecError` naming the
    file for a file that cannot be read or is not a cohort expression.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(
            f"{path}: no such file; give the path of an ATLAS cohort JSON (ATLAS: the cohort "
            "definition's Export tab, JSON)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the ATLAS cohort ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    label = None
    if isinstance(data, Mapping) and "expression" in data and not is_atlas(data):
        label = str(data.get("name") or "") or None
        inner = data["expression"]
        data = json.loads(inner) if isinstance(inner, str) else inner
    if not is_atlas(data):
        raise SpecError(
            f"{path}: not an ATLAS cohort expression (no PrimaryCriteria); export the cohort "
            "definition's JSON from ATLAS (Export tab, JSON)"
        )
    return translate_atlas(
        data, label=label or path.stem, where=str(path.name), any_record=any_record
    )


__all__ = ["DOMAINS", "AtlasImport", "is_atlas", "read_atlas", "translate_atlas"]
