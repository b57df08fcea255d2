"""The cohort language: who enters a cohort, when, until when, and which outcomes are measured,
as validated, immutable models (the ``cohort`` section of a format-2 study specification and of
a cohort file run by ``myositis cohort run``).

The constructs are those of OHDSI ATLAS/Circe cohort expressions (Book of OHDSI, chapter 10,
"Defining Cohorts"; the Circe ``CohortExpression`` JSON), named for this registry:

- **concept sets** (:class:`ConceptSet`): codes of a code system, code-set roles of the shipped
  code sets (``myositis.codes``) or drug ingredients, each optionally with its descendants, and
  exclusions;
- **persons_with** (:class:`PersonRule`): person-level requirements over the whole record
  (the Book of OHDSI's "persons with any record" rule), each its own attrition line, checked
  before the entry events (the i2b2 style of format 1);
- **entry** (:class:`Entry`): entry events from any domain (:class:`Events`), optionally inside
  an observation period with prior and post observation, the first, all or last per person;
- **inclusion** (:class:`InclusionRule`): nested groups (ALL, ANY, AT_LEAST n, AT_MOST n) of
  criteria relative to the index (:class:`Criterion`: windows on the event's start or end,
  occurrence counts, value constraints) and demographics (:class:`Demographics`: age, sex),
  each rule its own attrition line; any events can carry a group on their own dates
  (``having``: Circe's CorrelatedCriteria);
- **exit** (:class:`Exit`): end of observation, a fixed offset, or the end of continuous
  exposure with a gap allowance (a drug era), cut short by censoring events, held inside a
  calendar window (:class:`CensorWindow`);
- **outcomes** (:class:`Outcome`): any instrument measure or laboratory test at baseline and at
  follow-up (closest to a day such as week 24, or first, last or best in a window), or the
  TIS or IMACS DOI of the core set measures against baseline.

Validation is strict: unknown fields are errors, a concept set named but not defined, a window
whose start is after its end or a count that cannot be met is refused naming the field.
``docs/cohort-language.md`` gives a worked example of every construct.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import (
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

from myositis.cohort.definition import Strict, _check_roles
from myositis.registry.schema import CODE_SYSTEMS, SEXES

#: Domains an event can come from, and the registry table each one reads.
DOMAINS: dict[str, str] = {
    "diagnosis": "diagnosis",
    "procedure": "procedure",
    "visit": "visit",
    "observation": "observation",
    "measurement": "measurement",
    "drug_exposure": "drug_exposure",
    "assessment": "assessment",
    "laboratory": "laboratory",
    "adverse_event": "adverse_event",
    "death": "death",
    # the registry's observation periods, derived where none is recorded
    # (myositis.registry.observation.observation_periods)
    "observation_period": "observation_period",
}

Domain = Literal[
    "diagnosis",
    "procedure",
    "visit",
    "observation",
    "measurement",
    "drug_exposure",
    "assessment",
    "laboratory",
    "adverse_event",
    "death",
    "observation_period",
]
#: Which events of a person are kept: the earliest, every one, or the latest (Circe's limits).
Limit = Literal["first", "all", "last"]


class ConceptItem(Strict):
    """One entry of a concept set: a code (``system`` + ``code``), a shipped code-set role
    (``codeset``) or a drug ingredient (``ingredient``, drug exposures only).

    ``descendants``: also the codes below it (ICD-10-CM/ICD-9-CM: every code that starts with
    it, ``M33`` -> ``M33.10``; OMOP concept ids: through ``concept_ancestor`` when the registry
    holds that vocabulary table). ``exclude``: remove these codes from the set (Circe's
    ``isExcluded``), after every inclusion.
    """

    system: str | None = None
    code: str | None = None
    codeset: str | None = None
    ingredient: str | None = None
    descendants: bool = False
    exclude: bool = False

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str | None) -> str | None:
        if value is not None and value not in CODE_SYSTEMS:
            raise ValueError(
                f"unknown code system {value!r}; known systems: {', '.join(CODE_SYSTEMS)}"
            )
        return value

    @field_validator("codeset")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is not None:
            _check_roles([value])
        return value

    @field_validator("code", "ingredient")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("cannot be empty")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.code is not None, self.codeset is not None, self.ingredient is not None]
        if sum(kinds) != 1:
            raise ValueError(
                "give exactly one of: system and code, codeset (a code-set role) or ingredient"
            )
        if (self.code is None) != (self.system is None):
            raise ValueError("a code needs its system (and a system its code)")
        return self


class ConceptSet(Strict):
    """A named set of codes: the union of the included items minus the excluded ones."""

    items: Annotated[list[ConceptItem], Field(min_length=1)]

    @model_validator(mode="after")
    def _includes_something(self) -> Self:
        if all(item.exclude for item in self.items):
            raise ValueError("every item is excluded: a concept set needs an included item")
        return self


class _Bounds(Strict):
    """Bounds ``gt``, ``gte``, ``lt``, ``lte``, ``eq`` (declared by each kind); at least one,
    and a lower bound not above an upper one."""

    @model_validator(mode="after")
    def _some_bound(self) -> Self:
        gt, gte, lt, lte, eq = (getattr(self, n) for n in ("gt", "gte", "lt", "lte", "eq"))
        if all(b is None for b in (gt, gte, lt, lte, eq)):
            raise ValueError("give at least one of gt, gte, lt, lte, eq")
        low = max((b for b in (gt, gte) if b is not None), default=None)
        high = min((b for b in (lt, lte) if b is not None), default=None)
        if low is not None and high is not None and low > high:
            raise ValueError(f"impossible range: the lower bound {low} is above the upper {high}")
        return self


class Range(_Bounds):
    """A value constraint; every bound given must hold (``gt: 14`` is "above 14")."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    eq: float | None = None

    def describe(self) -> str:
        parts = [
            f"{sign} {value:g}"
            for sign, value in (
                (">", self.gt),
                (">=", self.gte),
                ("<", self.lt),
                ("<=", self.lte),
                ("=", self.eq),
            )
            if value is not None
        ]
        return " and ".join(parts)


class DateRange(_Bounds):
    """A calendar constraint on a date; every bound given must hold (``gte: 2015-01-01`` is
    "on or after 1 January 2015"; dates as YYYY-MM-DD)."""

    gt: dt.date | None = None
    gte: dt.date | None = None
    lt: dt.date | None = None
    lte: dt.date | None = None
    eq: dt.date | None = None

    def describe(self) -> str:
        signs = (">", ">=", "<", "<=", "=")
        values = (self.gt, self.gte, self.lt, self.lte, self.eq)
        return " and ".join(f"{s} {v.isoformat()}" for s, v in zip(signs, values, strict=True) if v)


class _DateSpan(Strict):
    """A start date, an end date or both (YYYY-MM-DD), the start not after the end."""

    start: dt.date | None = None
    end: dt.date | None = None

    #: what the dates are, in the refusal of a start after the end
    WHAT: ClassVar[str] = "window"

    @model_validator(mode="after")
    def _some_date(self) -> Self:
        if self.start is None and self.end is None:
            raise ValueError("give start, end or both (dates as YYYY-MM-DD)")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(
                f"impossible {self.WHAT}: start {self.start.isoformat()} is after end "
                f"{self.end.isoformat()}"
            )
        return self


class UserPeriod(_DateSpan):
    """Dates given to an ``observation_period`` event (Circe's ``UserDefinedPeriod``, circe-be
    ``ObservationPeriodSqlBuilder.java``): only a period holding each date given counts
    (``start_date <= date and end_date >= date``), and the event starts on ``start`` and ends
    on ``end`` instead of the period's own dates (a date left out keeps the period's). The
    period's other bounds (``first``, ``start_date``, ``end_date``, ``length``, ``age``) are
    on the period's own dates, as Circe's ``WHERE`` reads ``C.start_date`` and ``C.end_date``
    before the given dates replace them in its ``SELECT``."""

    WHAT: ClassVar[str] = "period"

    def describe(self) -> str:
        dates = [d.isoformat() if d else "its own" for d in (self.start, self.end)]
        return f"dated {dates[0]} to {dates[1]} (a period holding them)"


class _Extended(Strict):
    """A model with fields added after format 2 was published (``ADDED``): left out of the
    dump when at their default, so a cohort without them dumps, hashes (myositis.study.spec)
    and keys its kept plans as before."""

    ADDED: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.ADDED:
                if getattr(self, name) == type(self).model_fields[name].default:
                    data.pop(name, None)
        return data


def _unit_codes(value: list[str] | None) -> list[str] | None:
    """Unit codes as the registry holds them (UCUM: ``g/dL``, ``10*3/uL``; or an OMOP unit
    concept's code, ``258795003``), at least one, each as written: compared exactly with the
    row's unit, so one with surrounding spaces would never match."""
    if value is not None:
        wrong = [v for v in value if not v or v != v.strip()]
        if wrong or not value:
            raise ValueError(
                f"units are unit codes as the registry holds them (UCUM: g/dL, 10*3/uL), at "
                f"least one, without spaces around them; got {value!r}"
            )
    return value


def _known_sexes(value: list[str] | None) -> list[str] | None:
    """Sex codes of ``person.sex`` (:data:`myositis.registry.schema.SEXES`), at least one."""
    if value is not None:
        unknown = [v for v in value if v not in SEXES]
        if unknown or not value:
            raise ValueError(f"sex codes are {', '.join(SEXES)}; got {value!r}")
    return value


#: The fields of each domain's rows (:class:`Events`); the union of them all are the fields
#: a domain may lack.
_DOMAIN_FIELDS: Final[dict[str, frozenset[str]]] = {
    "diagnosis": frozenset({"concept_set", "source_concept_set", "any_code"}),
    "procedure": frozenset({"concept_set", "source_concept_set", "any_code"}),
    "visit": frozenset({"concept_set", "source_concept_set", "any_code"}),
    "observation": frozenset(
        {"concept_set", "source_concept_set", "any_code", "value", "value_concept_set", "units"}
    ),
    "measurement": frozenset(
        {
            "concept_set",
            "source_concept_set",
            "any_code",
            "value",
            "value_concept_set",
            "range_low",
            "range_high",
            "times_lln",
            "times_uln",
            "units",
        }
    ),
    "drug_exposure": frozenset(
        {"concept_set", "source_concept_set", "any_code", "exclude_formulations", "exclude_routes"}
    ),
    "assessment": frozenset({"instrument", "measure", "value"}),
    "laboratory": frozenset({"test", "value", "times_uln"}),
    "adverse_event": frozenset({"terms", "grade", "serious"}),
    "death": frozenset({"concept_set"}),
    "observation_period": frozenset({"user_period", "length"}),
}


class Events(_Extended):
    """Events of one domain: which rows of the registry count.

    - ``diagnosis``: ``concept_set`` (codes of ``diagnosis.code_system``/``code``);
      the diagnosis date to its ``end_date`` (when the condition resolved), else that date.
    - ``procedure``: ``concept_set`` (codes of ``procedure.code_system``/``code``); the
      procedure date to its ``end_date``, else that date.
    - ``visit``: ``concept_set`` (codes of ``visit.code_system``/``code``: ``VISIT IP`` an
      inpatient visit); the visit date to its ``end_date`` (the discharge), else that date.
    - ``observation``: ``concept_set`` (codes of ``observation.code_system``/``code``: a history
      of cancer, smoking), with an optional ``value`` constraint on its number and
      ``value_concept_set`` on its coded value (``value_code_system``/``value_code``: SNOMED
      77176002 smoker) and ``units`` on its unit (as a measurement's: a body temperature in
      ``Cel``; Circe's ``Unit`` on an ``Observation``); one date.
    - ``measurement``: ``concept_set`` (codes of ``measurement.code_system``/``code``: a
      hemoglobin, a body weight, a test reported as a code; a registry laboratory test's
      LOINC code finds its ``laboratory`` results, in the test's canonical unit with the ULN
      as the upper limit), with optional ``value`` (its number as recorded),
      ``value_concept_set`` (its coded value), ``range_low``/``range_high`` (the limits of the
      normal range the source gave), ``times_lln``/``times_uln`` (value / the range's lower or
      upper limit; a limit of 0 is no limit) constraints, and ``units`` (unit codes as the
      registry holds them: UCUM codes, or an OMOP unit concept's code, which an OMOP CDM read
      live gives a row recorded in a unit concept of another vocabulary, SNOMED 258795003
      "g/dL"; only the rows whose ``unit`` is one of them, compared exactly and
      case-sensitively, as UCUM codes are; a row without a unit never matches; a registry
      test's results have the test's canonical unit, ``U/L``; Circe's ``Unit``,
      ``unit_concept_id in (...)``); one date
      (Circe's ``Measurement``: ``MeasurementSqlBuilder.java``).
    - ``drug_exposure``: ``concept_set`` (codes or ingredients), minus
      ``exclude_formulations``/``exclude_routes``; start date to end date, a missing end date
      being a regimen still running (it ends with the observation).
    - any of these six with ``any_code: true`` instead of a concept set: every record of the
      domain, whatever its code (Circe's criterion without a ``CodesetId``). Asked for by name,
      so a concept set left out by mistake is still an error.
    - any of these six with ``source_concept_set``: only the records whose *source* code is in
      that set, beside or instead of ``concept_set`` (Circe's ``ConditionSourceConcept``,
      ``ProcedureSourceConcept``, ...: ``procedure_source_concept_id in (codeset)``,
      circe-be ``procedureOccurrence.sql``). A record's source code is its
      ``source_code_system``/``source_code`` where the registry holds one (an OMOP CDM's
      ``*_source_concept_id``: the code the hospital recorded before it was mapped to the
      standard concept), else its own code (a source that records the code itself: FHIR,
      REDCap, a spreadsheet); a registry test's results in the ``measurement`` domain are
      read by their own code. A drug's source code is matched as a code, never by ingredient.
    - ``assessment``: ``instrument`` and ``measure`` (CDASI ``activity`` is scored from the
      items when it was not recorded), with an optional ``value`` constraint; one date.
    - ``laboratory``: ``test`` (``ck``, ``aldolase``, ...), with ``value`` and ``times_uln``
      (value / the result's upper limit of normal) constraints; one date.
    - ``adverse_event``: ``terms`` (case-insensitive; none = any), ``grade`` and ``serious``.
    - ``death``: the person's death (at most one), on its date; ``concept_set`` (optional)
      on its cause (``death.cause_code_system``/``cause_code``, matched as a diagnosis's
      codes; a death without a recorded cause never matches one); without it, any death,
      whatever its cause (Circe's ``Death`` without a ``CodesetId``: the domain names the
      event, the concept set only narrows its cause, so there is no ``any_code``). One date.
    - ``observation_period``: the person's observation periods, the same periods the entry's
      ``observation`` and the exit read (recorded, else derived from the records:
      :func:`myositis.registry.observation.observation_periods`), from the period's start to
      its end (Circe's ``ObservationPeriod``, ``observationPeriod.sql``); no codes.
      ``length``: days from its start to its end (Circe's ``PeriodLength``,
      ``DATEDIFF(d, start_date, end_date)``); ``user_period`` (:class:`UserPeriod`): only
      periods holding the given dates, the event dated by them (Circe's
      ``UserDefinedPeriod``), after every other bound, which reads the period's own dates.
      ``first`` is the person's earliest period (Circe orders by its start).

    ``first``: only the person's first such event in the whole record (Circe's "first
    occurrence"), before any other restriction. ``start_date``/``end_date``: calendar bounds
    on the event's start and end dates (Circe's OccurrenceStartDate/OccurrenceEndDate).
    ``age``/``sex``: the person's age on the event's start date (completed years, as
    :class:`Demographics`) and sex (Circe's criterion ``Age`` and ``Gender``). Both apply after
    ``first``, as Circe's do.

    ``having``: only the events that pass this group, each event taken as the index: the
    group's windows count days from the event's start (``index: end``: its end), its
    demographics are the person on the event's date and, when the cohort's entry requires an
    observation period, events outside every period are dropped and the group's criteria
    count inside the event's period (Circe's CorrelatedCriteria, ``eventTableExpression.sql``).

    ``end`` (``observation``, ``measurement``, ``laboratory``, ``assessment``, ``death``: the
    domains of one date): ``date`` (the default), the event ends on its date; ``day_after``,
    it ends the day after its date, as Circe ends an observation, a measurement and a death
    (circe-be ``observation.sql``: ``DATEADD(day,1,o.observation_date)``;
    ``MeasurementSqlBuilder.java``: ``DATEADD(day,1,m.measurement_date)``;
    ``DeathSqlBuilder.java``: ``DATEADD(day,1,d.death_date)``; a registry assessment or
    laboratory result is an OMOP measurement or observation). Wherever the
    event's end is read: a window on its end (``end_window``), an index end (``index:
    end``), an exit from the end (``date: end``), ``end_date``. The ATLAS import writes it
    where entry events mix observations, measurements or deaths with other events and their
    end is read (:mod:`myositis.cohort.atlas`).
    """

    domain: Domain
    concept_set: str | None = None
    source_concept_set: str | None = None
    value_concept_set: str | None = None
    instrument: str | None = None
    measure: str | None = None
    test: str | None = None
    terms: list[str] = Field(default_factory=list)
    value: Range | None = None
    times_uln: Range | None = None
    times_lln: Range | None = None
    range_low: Range | None = None
    range_high: Range | None = None
    units: list[str] | None = None
    grade: Range | None = None
    serious: bool | None = None
    exclude_formulations: list[str] = Field(default_factory=list)
    exclude_routes: list[str] = Field(default_factory=list)
    any_code: bool = False
    first: bool = False
    end: Literal["date", "day_after"] = "date"
    start_date: DateRange | None = None
    end_date: DateRange | None = None
    age: Range | None = None
    sex: list[str] | None = None
    having: Group | None = None
    user_period: UserPeriod | None = None
    length: Range | None = None

    ADDED = (
        "any_code",
        "value_concept_set",
        "times_lln",
        "range_low",
        "range_high",
        "units",
        "start_date",
        "end_date",
        "age",
        "sex",
        "having",
        "end",
        "user_period",
        "length",
        "source_concept_set",
    )
    _sexes = field_validator("sex")(_known_sexes)
    _units = field_validator("units")(_unit_codes)

    @model_validator(mode="after")
    def _fields_of_the_domain(self) -> Self:
        allowed = _DOMAIN_FIELDS[self.domain]
        optional = frozenset().union(*_DOMAIN_FIELDS.values())
        given = {name for name in optional if name in self.model_fields_set}
        wrong = sorted(given - allowed)
        if wrong:
            # a death without a concept set is any death, and a period has no codes: no
            # any_code to ask for every one
            hint = (
                {
                    "death": " (without concept_set, any death: leave any_code out)",
                    "observation_period": " (a period has no codes: leave any_code out)",
                }.get(self.domain, "")
                if "any_code" in wrong
                else ""
            )
            raise ValueError(
                f"{', '.join(wrong)} cannot be used with domain {self.domain!r}; "
                f"its fields are: {', '.join(sorted(allowed))}{hint}"
            )
        required = {
            "diagnosis": ("concept_set",),
            "procedure": ("concept_set",),
            "visit": ("concept_set",),
            "observation": ("concept_set",),
            "measurement": ("concept_set",),
            "drug_exposure": ("concept_set",),
            "assessment": ("instrument", "measure"),
            "laboratory": ("test",),
            "adverse_event": (),
            "death": (),
            "observation_period": (),
        }[self.domain]
        what = self.domain.replace("_", " ")
        if self.any_code and self.concept_set is not None:
            raise ValueError(
                f"give either concept_set (these codes) or any_code: true (every {what}), not both"
            )
        # a source concept set alone selects the rows by their source code (Circe's
        # ProcedureSourceConcept without a CodesetId)
        chosen = self.any_code or self.source_concept_set is not None
        missing = [] if chosen else [n for n in required if getattr(self, n) is None]
        if missing:
            # the domains that take any_code are those whose concept set it replaces
            hint = (
                f" (or any_code: true for every {what}, whatever its code)"
                if "any_code" in allowed
                else ""
            )
            raise ValueError(f"domain {self.domain!r} needs {' and '.join(missing)}{hint}")
        return self

    @model_validator(mode="after")
    def _end_of_one_date(self) -> Self:
        one_date = ("observation", "measurement", "laboratory", "assessment", "death")
        if "end" in self.model_fields_set and self.domain not in one_date:
            raise ValueError(
                f"end cannot be used with domain {self.domain!r}; it is a field of the domains "
                f"of one date: {', '.join(one_date)} (end: day_after ends the event the day "
                "after its date, as Circe ends an observation, a measurement or a death)"
            )
        return self

    def describe(self) -> str:
        """A short human description: ``diagnosis in dm``, ``laboratory ck times_uln > 2``."""
        coded = ("diagnosis", "procedure", "visit", "observation", "measurement", "drug_exposure")
        if self.domain in coded:
            codes = "of any code" if self.any_code else f"in {self.concept_set}"
            if self.source_concept_set is not None:
                source = f"with source code in {self.source_concept_set}"
                codes = source if self.concept_set is None else f"{codes} {source}"
            text = f"{self.domain.replace('_', ' ')} {codes}"
        elif self.domain == "assessment":
            text = f"{self.instrument} {self.measure}"
        elif self.domain == "laboratory":
            text = f"laboratory {self.test}"
        elif self.domain == "death":
            text = "death" + (f" caused by {self.concept_set}" if self.concept_set else "")
        elif self.domain == "observation_period":
            text = "observation period"
        else:
            text = f"adverse event {' / '.join(self.terms) or '(any)'}"
        bounded = ("value", "times_uln", "times_lln", "range_low", "range_high", "grade", "length")
        for name in bounded:
            bound = getattr(self, name)
            if bound is not None:
                text += f" {name if name != 'value' else ''} {bound.describe()}".replace("  ", " ")
        if self.value_concept_set is not None:
            text += f" valued in {self.value_concept_set}"
        if self.units is not None:
            text += f" in unit {' or '.join(self.units)}"
        if self.serious is not None:
            text += " serious" if self.serious else " not serious"
        for name, bound in (("starting", self.start_date), ("ending", self.end_date)):
            if bound is not None:
                text += f" {name} {bound.describe()}"
        if self.age is not None:
            text += f" at age {self.age.describe()}"
        if self.sex is not None:
            text += f" sex {'/'.join(self.sex)}"
        if self.user_period is not None:
            text += f" {self.user_period.describe()}"
        if self.end == "day_after":
            text += " until the day after"
        if self.having is not None:
            text += f" having ({self.having.describe()})"
        return ("first " if self.first else "") + text

    def having_criteria(self) -> list[Criterion]:
        """The criteria of ``having`` and of their own ``having`` groups, at any depth."""
        if self.having is None:
            return []
        found = []
        for criterion in self.having.all_criteria():
            found.append(criterion)
            found.extend(criterion.having_criteria())
        return found


#: A window end at the index's observation period instead of a number of days: the event's
#: date on or after the period's start, on or before its end (Circe's reading of a window end
#: without Days, ``CohortExpressionQueryBuilder.getWindowedCriteriaQuery``).
PeriodBound = Literal["period_start", "period_end"]


class RelativeWindow(Strict):
    """Days from the index date (negative = before), both ends included; a missing end is
    unbounded (``start: null`` = any time before ``end``). An end may instead be
    ``period_start`` or ``period_end``: the start or end of the index's observation period
    (``end_window: {start: 0, end: period_end}``: an event that ends on or after the index
    and no later than the end of the period, ATLAS's "during a visit"); the cohort's entry
    must then require an observation period. ``index: end`` measures from the index event's
    end date instead of its start (Circe's useIndexEnd)."""

    start: int | PeriodBound | None = None
    end: int | PeriodBound | None = None
    index: Literal["start", "end"] = "start"

    def bounds_by_period(self) -> bool:
        """Whether an end of the window is the observation period's start or end."""
        return isinstance(self.start, str) or isinstance(self.end, str)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if isinstance(self.start, int) and isinstance(self.end, int) and self.start > self.end:
            raise ValueError(
                f"impossible window: start ({self.start}) is after end ({self.end}); "
                "start must be the earlier day"
            )
        return self

    def describe(self, what: str) -> str:
        def text(bound: int | str | None) -> str:
            if bound is None:
                return "any time"
            if isinstance(bound, str):
                return f"the observation period's {bound.removeprefix('period_')}"
            return f"day {bound:+d}"

        of = "" if self.index == "start" else " of the index end"
        return f"{what} from {text(self.start)} to {text(self.end)}{of}"


def _one_or_more(value: Any) -> str:
    return "list[RelativeWindow]" if isinstance(value, list) else "RelativeWindow"


#: A criterion's windows on one event date: one window (a mapping), or a list of windows that
#: must all hold (Circe's StartWindow and EndWindow both on the event's start, or both on its
#: end, from the index start and from its end: "during the visit"). Told apart by the form
#: written, so an error names the field of that form only.
Windows = Annotated[
    Annotated[RelativeWindow, Tag("RelativeWindow")]
    | Annotated[list[RelativeWindow], Tag("list[RelativeWindow]")],
    Discriminator(_one_or_more),
]


def _listed(windows: RelativeWindow | list[RelativeWindow] | None) -> list[RelativeWindow]:
    if windows is None:
        return []
    return windows if isinstance(windows, list) else [windows]


class Occurrence(Strict):
    """How many matching events a criterion needs: ``exactly``, ``at_least`` or ``at_most``
    ``count``; ``distinct_dates`` counts distinct start dates rather than events."""

    type: Literal["exactly", "at_least", "at_most"] = "at_least"
    count: Annotated[int, Field(ge=0)] = 1
    distinct_dates: bool = False

    def describe(self) -> str:
        what = "distinct date(s)" if self.distinct_dates else "event(s)"
        return f"{self.type.replace('_', ' ')} {self.count} {what}"


class Criterion(Events):
    """Events relative to the index: inside ``start_window`` (on the event's start date) and
    ``end_window`` (on its end date), counted by ``occurrence``. Windows left out do not
    restrict. Either may be a list of windows on that date, all of which must hold
    (``start_window: [{end: 0, index: end}, {start: 0}]``: an event starting during the index
    event, from its start to its end: ATLAS's "during the visit"); a list of one is that
    window (dumped, and so hashed, as the window alone). When the cohort's entry requires an
    observation period, only events inside the index's period count unless
    ``ignore_observation_period`` (Circe's rule)."""

    start_window: Windows | None = None
    end_window: Windows | None = None
    occurrence: Occurrence = Occurrence()
    ignore_observation_period: bool = False

    @field_validator("start_window", "end_window")
    @classmethod
    def _one_window_alone(
        cls, value: RelativeWindow | list[RelativeWindow] | None
    ) -> RelativeWindow | list[RelativeWindow] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one window (or leave the field out)")
            if len(value) == 1:
                return value[0]
        return value

    def windows(self) -> list[tuple[Literal["start", "end"], RelativeWindow]]:
        """Every window of the criterion with the event date it bounds, in order."""
        on: list[tuple[Literal["start", "end"], RelativeWindow]] = []
        on += [("start", w) for w in _listed(self.start_window)]
        on += [("end", w) for w in _listed(self.end_window)]
        return on

    def bounds_by_period(self) -> bool:
        """Whether a window of the criterion ends at the index's observation period."""
        return any(w.bounds_by_period() for _, w in self.windows())

    @model_validator(mode="after")
    def _period_read(self) -> Self:
        if self.ignore_observation_period and self.bounds_by_period():
            raise ValueError(
                "a window end at the observation period (period_start, period_end) cannot be "
                "used with ignore_observation_period: true"
            )
        return self

    def describe(self) -> str:
        parts = [super().describe()]
        for what, windows in (("starting", self.start_window), ("ending", self.end_window)):
            if windows is not None:
                parts.append(" and ".join(w.describe(what) for w in _listed(windows)))
        parts.append(self.occurrence.describe())
        return ", ".join(parts)


class Demographics(Strict):
    """The person at the index: ``age`` in completed years on the index date (a birth year
    alone counts as born on 1 July) and ``sex`` (codes of ``person.sex``)."""

    age: Range | None = None
    sex: list[str] | None = None

    _sexes = field_validator("sex")(_known_sexes)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.age is None and self.sex is None:
            raise ValueError("give age, sex or both")
        return self

    def describe(self) -> str:
        parts = []
        if self.age is not None:
            parts.append(f"age {self.age.describe()}")
        if self.sex is not None:
            parts.append(f"sex {'/'.join(self.sex)}")
        return ", ".join(parts)


class Group(Strict):
    """Criteria, demographics and nested groups combined: ``all`` of them, ``any``, or
    ``at_least``/``at_most`` ``count`` of them (Circe's ALL, ANY, AT_LEAST, AT_MOST)."""

    type: Literal["all", "any", "at_least", "at_most"] = "all"
    count: Annotated[int, Field(ge=0)] | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    demographics: list[Demographics] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)

    @model_validator(mode="after")
    def _count_fits(self) -> Self:
        members = len(self.criteria) + len(self.demographics) + len(self.groups)
        if members == 0:
            raise ValueError("a group needs at least one criterion, demographics or group")
        if self.type in ("at_least", "at_most"):
            if self.count is None:
                raise ValueError(f"type {self.type!r} needs count")
            if self.type == "at_least" and self.count > members:
                raise ValueError(
                    f"at_least {self.count} cannot be met: the group has {members} member(s)"
                )
        elif self.count is not None:
            raise ValueError(f"count is only for at_least and at_most, not {self.type!r}")
        return self

    def all_criteria(self) -> list[Criterion]:
        """Every criterion of the group and its nested groups."""
        found = list(self.criteria)
        for group in self.groups:
            found.extend(group.all_criteria())
        return found

    def describe(self) -> str:
        members = (
            [c.describe() for c in self.criteria]
            + [d.describe() for d in self.demographics]
            + [f"({g.describe()})" for g in self.groups]
        )
        if len(members) == 1:
            return members[0]
        head = {"all": "all of", "any": "any of"}.get(self.type, f"{self.type} {self.count} of")
        return f"{head}: " + "; ".join(members)


Events.model_rebuild()
Criterion.model_rebuild()
Group.model_rebuild()


class InclusionRule(Group):
    """A labelled group checked against each entry event; one attrition line."""

    label: Annotated[str, Field(min_length=1)]
    description: str = ""


class PersonRule(Group):
    """A labelled requirement on the person's whole record, before entry (no windows: there is
    no index yet); one attrition line. Example: a diagnosis on at least 2 distinct dates."""

    label: Annotated[str, Field(min_length=1)]
    description: str = ""

    @model_validator(mode="after")
    def _no_index(self) -> Self:
        for criterion in self.all_criteria():
            if criterion.start_window is not None or criterion.end_window is not None:
                raise ValueError(
                    "persons_with rules have no index date, so no start_window or end_window; "
                    "put a rule with windows under inclusion"
                )
        if any(self._demographics()):
            raise ValueError("demographics are relative to the index: put them under inclusion")
        return self

    def _demographics(self) -> list[Demographics]:
        found = list(self.demographics)
        stack = list(self.groups)
        while stack:
            group = stack.pop()
            found.extend(group.demographics)
            stack.extend(group.groups)
        return found


class ObservationWindow(Strict):
    """The entry event must fall inside an observation period with at least ``prior_days``
    of observation before it and ``post_days`` after it (Circe's ObservationWindow)."""

    prior_days: Annotated[int, Field(ge=0)] = 0
    post_days: Annotated[int, Field(ge=0)] = 0


class Entry(Strict):
    """The entry events (any of ``events``); the index date is the event's start.

    ``observation``: when given, only events inside an observation period (with the prior and
    post observation) enter (ATLAS's rule); when left out, any record enters (the Book of
    OHDSI's counts of "persons with a record"). ``limit``: per person, the first, all or last
    of these events (Circe's PrimaryCriteriaLimit); ``additional`` and ``qualified_limit``:
    Circe's AdditionalCriteria and QualifiedLimit."""

    label: str = "Entry event"
    events: Annotated[list[Events], Field(min_length=1)]
    observation: ObservationWindow | None = None
    limit: Limit = "first"
    additional: Group | None = None
    qualified_limit: Limit = "first"

    def describe(self) -> str:
        """The entry line's requirement in words (its events, observation and limits)."""
        text = " or ".join(e.describe() for e in self.events)
        if self.observation is not None:
            text += (
                f", inside an observation period with {self.observation.prior_days} day(s) "
                f"before and {self.observation.post_days} after"
            )
        text += f"; {self.limit} event per person" if self.limit != "all" else "; every event"
        if self.additional is not None:
            text += f"; with {self.additional.describe()} ({self.qualified_limit})"
        return text


class CensorWindow(_DateSpan):
    """Calendar dates outside which no cohort period runs (Circe's CensorWindow; dates as
    YYYY-MM-DD, either may be left out). Each period starts no earlier than ``start`` and ends
    no later than ``end``; a period left ending before it starts is dropped (Circe's
    ``getFinalCohortQuery``: ``CASE WHEN start_date > start ...``, ``WHERE start_date <=
    end_date``)."""

    def describe(self) -> str:
        dates = [
            f"{word} {day.isoformat()}"
            for word, day in (("from", self.start), ("until", self.end))
            if day is not None
        ]
        return "cohort periods " + " ".join(dates)


class Exit(_Extended):
    """When a person's cohort period ends (Circe's EndStrategy), cut short by the first
    ``censor`` event after the index (Circe's CensoringCriteria):

    - ``end_of_observation``: the end of the observation period holding the index;
    - ``fixed``: ``offset_days`` after the index event's ``date`` (start or end);
    - ``drug_era``: the end of continuous exposure to ``concept_set`` (Circe's CustomEra,
      ``customEraStrategy.sql``): each exposure counts ``offset_days`` beyond its end (a
      persistence window); an exposure starting at most ``gap_days`` after the latest of
      those ends so far continues the era, which ends at the latest of them. The era holding
      the index (its start on or before the index, its end on or after it) gives the exit;
      when none holds it (the entry events are not these drugs), the end of the observation
      period holding the index, as Circe.

    The exit is never after the end of the observation period. ``era_pad_days``: cohort
    periods of a person closer than this are merged (Circe's CollapseSettings). Last,
    ``censor_window`` holds the merged periods inside calendar dates (:class:`CensorWindow`),
    its own attrition line; a period it moves starts later, and outcomes are measured from
    that start, as Circe's cohort start date moves."""

    strategy: Literal["end_of_observation", "fixed", "drug_era"] = "end_of_observation"
    offset_days: Annotated[int, Field(ge=0)] = 0
    date: Literal["start", "end"] = "start"
    concept_set: str | None = None
    gap_days: Annotated[int, Field(ge=0)] = 0
    censor: list[Events] = Field(default_factory=list)
    era_pad_days: Annotated[int, Field(ge=0)] = 0
    censor_window: CensorWindow | None = None

    ADDED = ("censor_window",)

    @model_validator(mode="after")
    def _strategy_fields(self) -> Self:
        if self.strategy == "drug_era" and self.concept_set is None:
            raise ValueError("strategy 'drug_era' needs concept_set (the drugs of the era)")
        if self.strategy != "drug_era" and self.concept_set is not None:
            raise ValueError("concept_set is only for strategy 'drug_era'")
        return self

    def describe(self) -> str:
        """The exit in words; never after the end of the observation period."""
        if self.strategy == "fixed":
            rule = f"{self.offset_days} days after the index event's {self.date} date"
        elif self.strategy == "drug_era":
            pad = f" + {self.offset_days} days" if self.offset_days else ""
            rule = (
                f"end of continuous exposure to concept set '{self.concept_set}'{pad} (an "
                f"exposure starting at most {self.gap_days} days after the previous ones' "
                f"end{pad} continues it; the end of the observation period when the index "
                "falls outside continuous exposure)"
            )
        else:
            rule = "end of the observation period"
        rule += ", or earlier at a censoring event" if self.censor else ""
        return rule + (f"; {self.censor_window.describe()}" if self.censor_window else "")


class OutcomeWindow(Strict):
    """Days from the index, both ends included."""

    start: int
    end: int

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(
                f"impossible window: start ({self.start}) is after end ({self.end}); "
                "start must be the earlier day"
            )
        return self


class Outcome(Strict):
    """An outcome measured at baseline and at follow-up: an assessment measure (``instrument``
    and ``measure``: CDASI activity, MMT-8 total, HAQ score, ...), a laboratory test (``test``;
    ``value`` or ``times_uln``) or a core set score against baseline (``score``: ``tis``, the
    2016 ACR/EULAR Total Improvement Score, or ``doi``, the IMACS 2004 definition of
    improvement).

    Baseline: the value closest to the index inside ``baseline`` (on a tie the later one).
    Follow-up: inside ``followup``, the value closest to ``at_day`` when given (a tie goes to
    the earlier), else the ``use`` one: ``last``, ``first`` or ``best`` (lowest when
    ``better`` is ``lower``). ``change`` = follow-up minus baseline.

    A score outcome applies these rules to each core set measure on its own (PGA, patient
    global, MMT-8 total of ``mmt8_max``, HAQ, extramuscular global and each muscle enzyme;
    for ``population: juvenile`` CMAS instead of MMT-8 and CHAQ instead of HAQ; ``best`` is
    each measure's own better direction) and scores the pairs with the instruments' one
    definition (:mod:`myositis.instruments.tis`, :mod:`myositis.instruments.doi`); the
    compiled columns are listed in ``docs/cohort-language.md``."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    instrument: str | None = None
    measure: str | None = None
    test: str | None = None
    score: Literal["tis", "doi"] | None = None
    population: Literal["adult", "juvenile"] = "adult"
    mmt8_max: Literal[80, 150] = 150
    scale: Literal["value", "times_uln"] = "value"
    baseline: OutcomeWindow = OutcomeWindow(start=-30, end=0)
    followup: OutcomeWindow = OutcomeWindow(start=1, end=1461)
    use: Literal["last", "first", "best"] = "last"
    at_day: int | None = None
    better: Literal["lower", "higher"] = "lower"

    @property
    def kind(self) -> Literal["change", "tis", "doi"]:
        """``change`` for a measure or test (baseline, follow-up and change), else the score."""
        return "change" if self.score is None else self.score

    def describe(self) -> str:
        """What is measured: ``cdasi activity``, ``ck``, ``tis (adult, MMT-8 of 150)``."""
        if self.score is not None:
            muscle = "CMAS" if self.population == "juvenile" else f"MMT-8 of {self.mmt8_max}"
            return f"{self.score} ({self.population}, {muscle})"
        return self.test or f"{self.instrument} {self.measure}"

    @model_validator(mode="after")
    def _source(self) -> Self:
        assessment = self.instrument is not None or self.measure is not None
        sources = [assessment, self.test is not None, self.score is not None]
        if sum(sources) != 1:
            raise ValueError(
                "give exactly one of: instrument and measure (an assessment), test (a "
                "laboratory test) or score (tis or doi, core set scores against baseline)"
            )
        if assessment and (self.instrument is None or self.measure is None):
            raise ValueError("an assessment outcome needs both instrument and measure")
        if self.scale == "times_uln" and self.test is None:
            raise ValueError("scale 'times_uln' is for laboratory tests")
        if self.score is None:
            only = sorted({"population", "mmt8_max"} & self.model_fields_set)
            if only:
                raise ValueError(
                    f"{' and '.join(only)} only apply to score outcomes (score: tis or doi); "
                    "remove them or give score"
                )
        else:
            wrong = sorted({"scale", "better"} & self.model_fields_set)
            if wrong:
                raise ValueError(
                    f"{' and '.join(wrong)} cannot be used with score {self.score!r}: each "
                    "core set measure has its own scale and better direction"
                )
        if self.baseline.end > 0:
            raise ValueError(
                f"impossible baseline window: it ends on day {self.baseline.end}, after the "
                "index date; a baseline must be on or before the index (end <= 0)"
            )
        if self.followup.start <= self.baseline.end:
            raise ValueError(
                f"impossible windows: follow-up starts on day {self.followup.start}, not after "
                f"the baseline window's end (day {self.baseline.end})"
            )
        if self.at_day is not None and not (
            self.followup.start <= self.at_day <= self.followup.end
        ):
            raise ValueError(f"at_day {self.at_day} is outside the follow-up window")
        return self


class Cohort(Strict):
    """A cohort: concept sets, person-level requirements, entry, inclusion rules, exit and
    outcomes. Attrition lines: persons in the registry, each ``persons_with`` rule, the entry
    events, each inclusion rule, the exit's censor window when one is given."""

    label: str = "Cohort"
    concept_sets: dict[str, ConceptSet] = Field(default_factory=dict)
    persons_with: list[PersonRule] = Field(default_factory=list)
    entry: Entry
    inclusion: list[InclusionRule] = Field(default_factory=list)
    expression_limit: Limit = "first"
    exit: Exit = Exit()
    outcomes: list[Outcome] = Field(default_factory=list)

    @model_validator(mode="after")
    def _concept_sets_defined(self) -> Self:
        used: list[tuple[str, str]] = []
        groups: list[tuple[str, Group]] = [
            (f"persons_with.{i}", rule) for i, rule in enumerate(self.persons_with)
        ]
        groups += [(f"inclusion.{i}", rule) for i, rule in enumerate(self.inclusion)]
        if self.entry.additional is not None:
            groups.append(("entry.additional", self.entry.additional))
        events: list[tuple[str, Events]] = []
        for where, group in groups:
            events += [(where, c) for c in group.all_criteria()]
        events += [(f"entry.events.{i}", e) for i, e in enumerate(self.entry.events)]
        events += [(f"exit.censor.{i}", e) for i, e in enumerate(self.exit.censor)]
        events += [(f"{where}.having", c) for where, e in list(events) for c in e.having_criteria()]
        bounded = [
            where for where, e in events if isinstance(e, Criterion) and e.bounds_by_period()
        ]
        if bounded and not self.uses_observation():
            raise ValueError(
                f"{bounded[0]}: a window end at the observation period (period_start, "
                "period_end) needs the entry to require one (entry.observation: {})"
            )
        used += [(where, e.concept_set or "") for where, e in events]
        used += [(where, e.value_concept_set or "") for where, e in events]
        used += [(where, e.source_concept_set or "") for where, e in events]
        used.append(("exit.concept_set", self.exit.concept_set or ""))
        for where, name in used:
            if name and name not in self.concept_sets:
                known = ", ".join(self.concept_sets) or "none defined"
                raise ValueError(
                    f"{where}: concept set {name!r} is not defined under concept_sets "
                    f"(defined: {known})"
                )
        names = [o.name for o in self.outcomes]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"outcome name(s) used twice: {', '.join(twice)}")
        return self

    def attrition_lines(self) -> list[tuple[str, str]]:
        """Each attrition line's label and what it requires, in order (docs/cohort-language.md,
        "Attrition lines, in order")."""
        lines = [("Persons in the registry", "every person in the person table")]
        lines += [(rule.label, rule.describe()) for rule in self.persons_with]
        lines.append((self.entry.label, self.entry.describe()))
        lines += [(rule.label, rule.describe()) for rule in self.inclusion]
        if self.exit.censor_window is not None:
            lines.append(("Inside the censor window", self.exit.censor_window.describe()))
        return lines

    def uses_observation(self) -> bool:
        """Whether the cohort needs observation periods (entry inside one, or an exit at the
        end of observation)."""
        return self.entry.observation is not None


__all__ = [
    "DOMAINS",
    "CensorWindow",
    "Cohort",
    "ConceptItem",
    "ConceptSet",
    "Criterion",
    "DateRange",
    "Demographics",
    "Domain",
    "Entry",
    "Events",
    "Exit",
    "Group",
    "InclusionRule",
    "Limit",
    "ObservationWindow",
    "Occurrence",
    "Outcome",
    "OutcomeWindow",
    "PeriodBound",
    "PersonRule",
    "Range",
    "RelativeWindow",
    "UserPeriod",
]
