"""Events of a domain as one Ibis table: ``person_id, start_date, end_date, value``.

The one place where each domain of the cohort language (:class:`~myositis.cohort.language.Events`)
is read from its registry table:

- ``diagnosis``, ``procedure`` and ``visit``: rows whose (code system, code) is in the concept
  set; start = the diagnosis (procedure, visit) date, end = its ``end_date`` (when the
  condition resolved, the procedure's last day, the discharge), else that date; no value.
- ``observation``: rows whose (code system, code) is in the concept set, on their date; value
  = the observation's number (a ``value`` constraint keeps the rows with a number in range,
  as Circe's ValueAsNumber does; ``value_concept_set`` the rows whose coded value is in that
  concept set, as Circe's ValueAsConcept does; ``units`` the rows whose unit is one of those
  codes, compared exactly, as Circe's Unit does, ``unit_concept_id in (...)``).
- ``measurement``: rows whose (code system, code) is in the concept set, on their date, the
  registry tests' ``laboratory`` results among them as LOINC-coded measurements in the test's
  canonical unit with its ULN as ``range_high`` (:func:`_measurements`); value = the
  measurement's number as recorded (``value`` and ``value_concept_set`` as for an
  observation; ``range_low``/``range_high`` bound the limits of the normal range the source
  gave, ``times_lln``/``times_uln`` the value over that lower or upper limit, a limit of 0
  being no limit: Circe's RangeLow, RangeHigh, RangeLowRatio and RangeHighRatio,
  ``value_as_number / NULLIF(range_low, 0)``, circe-be ``MeasurementSqlBuilder.java``;
  ``units`` as for an observation, the registry tests' results in their canonical unit).
- ``drug_exposure``: rows in the concept set (codes or ingredients) and not excluded (by the
  set's excluded items, formulation or route; a null formulation or route never excludes);
  a missing end date is a regimen still running: its end is :data:`OPEN_END`, so it lasts
  until the end of observation; the value is the daily dose.
- ``assessment``: rows of the instrument and measure with a value (CDASI ``activity`` comes
  from :func:`myositis.cohort.cdasi_activity.cdasi_activity`: recorded, or scored from the
  items; an administration with incomplete items has no activity and is no event).
- ``laboratory``: rows of the test with a value; ``times_uln`` is value / ULN.
- ``adverse_event``: rows with one of the terms (case-insensitive), the grade and seriousness.
- ``death``: the person's death (at most one row), on its date; with a concept set, a death
  whose cause (``cause_code_system``, ``cause_code``) is in it (a death without a recorded
  cause is in none); without one, any death. No value.
- ``observation_period``: the person's observation periods, recorded or else derived from the
  records (:func:`myositis.registry.observation.observation_periods`, the one definition the
  entry's observation window and the exit read), from the period's start to its end; no value.
  ``length`` and ``user_period`` apply last (:func:`_period_bounds`).

Any domain's events can be restricted to the person's age on the event's start date
(:func:`completed_years`) and sex. The events of one date (observation, measurement,
laboratory, assessment, death) end on it, or with ``end: day_after`` the day after it, as
Circe ends an observation, a measurement and a death.

Concept sets (:class:`~myositis.cohort.language.ConceptSet`) follow
:mod:`myositis.cohort.concepts`: ICD codes compared undotted and upper-case, other systems
trimmed; an ICD item with ``descendants`` matches every code that starts with it; an OMOP item
with ``descendants`` matches the descendants in ``concept_ancestor`` (OMOP vocabulary), which
the registry must then hold. Excluded items are removed after every inclusion (Circe).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend
from ibis.common.exceptions import TableNotFound

from myositis.codes import ICD_SYSTEMS, load_codeset
from myositis.codes.units import lab_loinc
from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.concepts import any_of, bare, compared, matches
from myositis.cohort.language import ConceptItem, ConceptSet, DateRange, Events, Range
from myositis.cohort.omop_concepts import resolvable, vocabulary_match
from myositis.errors import InvalidInputError, SpecError
from myositis.registry.observation import observation_periods

#: End date of a drug exposure without one (still running): far after any observation, so the
#: exposure lasts until the end of observation, which caps every exit.
OPEN_END: Final = dt.date(2999, 12, 31)


def in_range(
    value: ir.NumericValue | ir.DateValue, bounds: Range | DateRange | None
) -> ir.BooleanValue:
    """``value`` within every bound of ``bounds`` (a null value is never within)."""
    condition: ir.BooleanValue = ibis.literal(True)
    if bounds is None:
        return condition
    for bound, holds in (
        (bounds.gt, lambda b: value > b),
        (bounds.gte, lambda b: value >= b),
        (bounds.lt, lambda b: value < b),
        (bounds.lte, lambda b: value <= b),
        (bounds.eq, lambda b: value == b),
    ):
        if bound is not None:
            condition = condition & holds(bound)
    return condition.fill_null(False)


def _table_or_none(con: BaseBackend, name: str) -> ir.Table | None:
    """Table ``name`` of ``con``, or None (probed with ``con.table``: ``list_tables`` fails
    with ibis 12 on duckdb 2)."""
    try:
        return con.table(name)
    except TableNotFound:
        return None


def _below(
    con: BaseBackend, system: ir.StringValue, code: ir.StringValue, item: ConceptItem
) -> ir.BooleanValue:
    """The codes of one item with ``descendants`` where the OMOP vocabulary does not resolve
    it: ICD codes that start with it; OMOP concept ids below it in ``concept_ancestor``."""
    assert item.system is not None and item.code is not None
    same_system = system.strip().upper() == item.system
    if item.system in ICD_SYSTEMS:
        return same_system & compared(item.system, code).startswith(_item_code(item))
    ancestor = _table_or_none(con, "concept_ancestor") if item.system == "OMOP" else None
    if ancestor is None:
        raise SpecError(
            f"concept item {item.system} {item.code}: descendants of {item.system} codes need "
            "the OMOP vocabulary (concept and concept_ancestor tables) in the registry, as an "
            "OMOP CDM read live has (omop+duckdb:///cdm.duckdb); list the codes, or run on "
            "an OMOP CDM"
        )
    below = ancestor.filter(ancestor.ancestor_concept_id == int(item.code))
    return same_system & code.strip().isin(below.descendant_concept_id.cast("string"))


def _item_code(item: ConceptItem) -> str:
    """The comparison form of an item's code (:func:`~myositis.cohort.concepts.bare`); a code
    its system's rule cannot read is the cohort's mistake, named as such."""
    assert item.system is not None and item.code is not None
    try:
        return bare(item.system, item.code)
    except InvalidInputError as error:
        raise SpecError(
            f"concept item {item.system} {item.code}: {error.problems[0].reason}; correct the "
            "code in the cohort's concept set"
        ) from error


def _codes_match(
    con: BaseBackend, system: ir.StringValue, code: ir.StringValue, items: list[ConceptItem]
) -> ir.BooleanValue:
    """Whether (system, code) matches any of the items (code items and code-set roles)."""
    exact: dict[str, set[str]] = {}
    resolved: list[ConceptItem] = []  # through the OMOP vocabulary, all in one expression
    conditions: list[ir.BooleanValue] = []
    for item in items:
        if item.codeset is not None:
            for found in load_codeset(item.codeset):
                exact.setdefault(found.system, set()).add(bare(found.system, found.code))
        elif item.code is not None and item.system is not None:
            if resolvable(con, item):
                resolved.append(item)
            elif item.descendants:
                conditions.append(_below(con, system, code, item))
            else:
                exact.setdefault(item.system, set()).add(_item_code(item))
    if resolved:
        conditions.append(vocabulary_match(con, system, code, resolved))
    if exact:
        conditions.append(matches(system, code, exact))
    return any_of(conditions).fill_null(False)


def _ingredients(value: ir.StringValue, items: list[ConceptItem]) -> ir.BooleanValue:
    names = sorted({i.ingredient.lower() for i in items if i.ingredient is not None})
    if not names:
        return ibis.literal(False)
    return value.strip().lower().isin(names).fill_null(False)


def concept_filter(
    con: BaseBackend,
    table: ir.Table,
    concept_set: ConceptSet,
    *,
    ingredient: ir.StringValue | None = None,
    columns: tuple[str, str] | tuple[ir.StringValue, ir.StringValue] = ("code_system", "code"),
) -> ir.BooleanValue:
    """Rows of ``table`` whose ``columns`` (code system, code: names of its columns, or
    expressions) are in the concept set."""
    system, code = (table[c] if isinstance(c, str) else c for c in columns)
    included = [i for i in concept_set.items if not i.exclude]
    excluded = [i for i in concept_set.items if i.exclude]
    condition = _codes_match(con, system, code, included)
    if ingredient is not None:
        condition = condition | _ingredients(ingredient, included)
    if excluded:
        out = _codes_match(con, system, code, excluded)
        if ingredient is not None:
            out = out | _ingredients(ingredient, excluded)
        condition = condition & ~out
    return condition


def _lower_in(value: ir.StringValue, allowed: list[str]) -> ir.BooleanValue:
    options = sorted({a.strip().lower() for a in allowed})
    if not options:
        return ibis.literal(False)
    return value.strip().lower().isin(options).fill_null(False)


def _rows_of(con: BaseBackend, domain: str, persons: ir.Table | None) -> ir.Table:
    """The rows of ``domain``'s table, of ``persons`` only when given (read first); of the
    ``measurement`` domain, the registry tests' results too (:func:`_measurements`); of the
    ``observation_period`` domain, the periods derived for persons without a recorded one too
    (:func:`~myositis.registry.observation.observation_periods`)."""
    if domain == "observation_period":
        return observation_periods(con, persons=persons)
    table = _measurements(con) if domain == "measurement" else con.table(domain)
    return table if persons is None else table.semi_join(persons, "person_id")


def _measurements(con: BaseBackend) -> ir.Table:
    """The ``measurement`` rows and the ``laboratory`` rows as measurements: each registry
    test's result coded by its LOINC code (``codes/data/lab_units.csv``: CK 2157-6, ...), its
    value and unit the stored ones (the test's canonical unit), its upper limit of normal as
    ``range_high``. A concept set that reaches a registry test (OMOP's LOINC part LP15510-8
    "Creatine kinase" has CK 2157-6 among its descendants) finds its results, which the
    registry keeps in ``laboratory``, not ``measurement``: read from ``measurement`` alone, such
    a criterion would find none and say nothing."""
    m = con.table("measurement")
    lab = con.table("laboratory")
    loinc = ibis.cases(
        *((lab.test.strip().lower() == test, code) for test, code in lab_loinc().items()),
        else_=lab.loinc,
    )
    text, number = ibis.null().cast("string"), ibis.null().cast("float64")
    as_measured = lab.select(
        person_id=lab.person_id,
        code_system=ibis.literal("LOINC"),
        code=loinc,
        # a registry test's result keeps no source code: read by its own (source_code)
        source_code_system=text,
        source_code=text,
        measurement_date=lab.result_date,
        value=lab.value,
        unit=lab.unit,
        range_low=number,
        range_high=lab.uln,
        value_code_system=text,
        value_code=text,
    )
    return m.select(*as_measured.columns).union(as_measured)


def _coded(
    con: BaseBackend,
    table: ir.Table,
    spec: Events,
    concept_sets: Mapping[str, ConceptSet],
    *,
    ingredient: ir.StringValue | None = None,
) -> ir.BooleanValue:
    """The rows of ``spec``'s concept set; every row with ``any_code`` (Circe: a criterion
    without a ``CodesetId`` reads its whole domain table); of those, with
    ``source_concept_set``, the rows whose source code is in it (:func:`_source_code`; Circe:
    ``procedure_source_concept_id in (codeset)``, never an ingredient)."""
    wanted: ir.BooleanValue = ibis.literal(True)
    if spec.concept_set is not None and not spec.any_code:
        wanted = concept_filter(con, table, concept_sets[spec.concept_set], ingredient=ingredient)
    if spec.source_concept_set is not None:
        source = concept_sets[spec.source_concept_set]
        wanted = wanted & concept_filter(con, table, source, columns=_source_code(table))
    return wanted


def _source_code(table: ir.Table) -> tuple[ir.StringValue, ir.StringValue]:
    """A record's source code (code system, code): ``source_code_system``/``source_code``
    where the registry holds one (an OMOP CDM's ``*_source_concept_id``), else its own code
    (the data model's rule, :mod:`myositis.registry.schema`)."""
    held = table.source_code_system.notnull()
    return (
        ibis.ifelse(held, table.source_code_system, table.code_system),
        ibis.ifelse(held, table.source_code, table.code),
    )


def _valued(
    con: BaseBackend, rows: ir.Table, spec: Events, concept_sets: Mapping[str, ConceptSet]
) -> ir.Table:
    """The ``observation`` or ``measurement`` rows meeting ``spec``'s value constraints:
    ``value`` on the number (a row without one never matches, as in Circe, whose
    ``value_as_number`` comparison is null then), ``value_concept_set`` on the coded value,
    ``units`` on the unit, one of those codes exactly (``unit_concept_id in (...)``,
    ``ObservationSqlBuilder.java``, ``MeasurementSqlBuilder.java``); of a measurement also
    ``range_low``/``range_high`` on the limits and ``times_lln``/``times_uln`` on the value
    over a limit, a limit of 0 being no limit (circe-be ``MeasurementSqlBuilder.java``:
    ``value_as_number / NULLIF(range_low, 0)``; PostgreSQL would stop the query on a
    division by zero)."""
    if spec.value is not None:
        rows = rows.filter(rows.value.notnull() & in_range(rows.value, spec.value))
    if spec.value_concept_set is not None:
        values = concept_sets[spec.value_concept_set]
        rows = rows.filter(
            concept_filter(con, rows, values, columns=("value_code_system", "value_code"))
        )
    if spec.domain == "measurement":
        for column, bounds in (("range_low", spec.range_low), ("range_high", spec.range_high)):
            if bounds is not None:
                rows = rows.filter(in_range(rows[column], bounds))
        for column, bounds in (("range_low", spec.times_lln), ("range_high", spec.times_uln)):
            if bounds is not None:
                rows = rows.filter(in_range(rows.value / rows[column].nullif(0), bounds))
    if spec.units is not None:
        # the unit's code compared as written (UCUM is case-sensitive: mg/dL, not mg/dl); a
        # row without a unit never matches (Circe: a null unit_concept_id is in no list)
        rows = rows.filter(rows.unit.isin(spec.units).fill_null(False))
    return rows


def exposure_rows(
    con: BaseBackend,
    spec: Events,
    concept_sets: Mapping[str, ConceptSet],
    *,
    persons: ir.Table | None = None,
) -> ir.Table:
    """The drug exposure rows (every column) of the ``drug_exposure`` events ``spec`` for
    ``persons``: in the concept set (codes or ingredients; every row with ``any_code``), not
    excluded by the set's excluded items, formulation or route (a null formulation or route
    never excludes), any start date. The same arguments give the same expression, so a
    caller that reads these rows beside the events (the study builder's index exposure)
    shares one computation.

    The rows are a named relation (``Table.alias``), which Ibis always compiles as one common
    table expression. Unnamed, a filter that several readers select from is merged into each
    reader's own query by Ibis's select fusion, so the engine matched the codes once per
    reader: the study builder's query matched the JAK codes four times (entry, index
    exposure, JAK records, undated count). Named, once: on 100,000 synthetic persons that
    query's SQL 42.9 -> 40.0 KB and DuckDB 107 -> 97 ms (medians of 21 alternated runs,
    7 December 2026). The name is the expression's hash, so the same arguments still give
    the same (shared) relation and different ones different names."""
    assert spec.domain == "drug_exposure"
    table = _rows_of(con, "drug_exposure", persons)
    wanted = _coded(con, table, spec, concept_sets, ingredient=table.ingredient)
    wanted = wanted & ~_lower_in(table.formulation, spec.exclude_formulations)
    wanted = wanted & ~_lower_in(table.route, spec.exclude_routes)
    rows = table.filter(wanted)
    return rows.alias(f"exposure_rows_{hash(rows.op()) & 0xFFFFFFFFFFFFFFFF:016x}")


def domain_events(
    con: BaseBackend,
    spec: Events,
    concept_sets: Mapping[str, ConceptSet],
    *,
    persons: ir.Table | None = None,
) -> ir.Table:
    """The events of ``spec``: ``person_id, start_date, end_date, value`` (float64, null when
    the domain has none). ``persons`` (a table with ``person_id``) restricts the rows read
    first, so a criterion reads only the records of persons with an entry event."""
    table = _rows_of(con, spec.domain, persons)
    null_value = ibis.null().cast("float64")
    if spec.domain in ("diagnosis", "procedure", "visit"):
        rows = table.filter(_coded(con, table, spec, concept_sets))
        # a diagnosis ends when the condition resolved, a procedure on its last day, a visit at
        # the discharge, where the source recorded it; else on its date (OMOP's ends are
        # Circe's, filled by the view)
        start = rows[f"{spec.domain}_date"]
        events = rows.select(
            "person_id", start_date=start, end_date=rows.end_date.fill_null(start)
        ).mutate(value=null_value)
    elif spec.domain in ("observation", "measurement"):
        rows = _valued(
            con, table.filter(_coded(con, table, spec, concept_sets)), spec, concept_sets
        )
        day = rows[f"{spec.domain}_date"]
        events = rows.select("person_id", start_date=day, end_date=day, value=rows.value)
    elif spec.domain == "drug_exposure":
        rows = exposure_rows(con, spec, concept_sets, persons=persons)
        events = rows.select(
            "person_id",
            start_date=rows.start_date,
            end_date=rows.end_date.fill_null(ibis.literal(OPEN_END)),
            value=rows.dose.cast("float64"),
        )
    elif spec.domain == "assessment":
        assert spec.instrument is not None and spec.measure is not None
        if spec.instrument.lower() == "cdasi" and spec.measure.lower() == "activity":
            scored = cdasi_activity(table)
            events = scored.select(
                "person_id",
                start_date=scored.assessment_date,
                end_date=scored.assessment_date,
                value=scored.activity,
            )
        else:
            rows = table.filter(
                (table.instrument.lower() == spec.instrument.lower())
                & (table.measure.lower() == spec.measure.lower())
            )
            events = rows.select(
                "person_id",
                start_date=rows.assessment_date,
                end_date=rows.assessment_date,
                value=rows.value.cast("float64"),
            )
        events = events.filter(events.value.notnull() & in_range(events.value, spec.value))
    elif spec.domain == "death":
        # any death without a concept set (Circe's Death without a CodesetId); with one, the
        # cause's code matched as a diagnosis's (Circe: cause_concept_id in the codeset)
        rows = table
        if spec.concept_set is not None:
            causes = concept_sets[spec.concept_set]
            rows = table.filter(
                concept_filter(con, table, causes, columns=("cause_code_system", "cause_code"))
            )
        events = rows.select(
            "person_id", start_date=rows.death_date, end_date=rows.death_date, value=null_value
        )
    elif spec.domain == "observation_period":
        # from the period's start to its end (observationPeriod.sql: op.observation_period_
        # start_date as start_date, op.observation_period_end_date as end_date)
        events = table.select("person_id", "start_date", "end_date", value=null_value)
    elif spec.domain == "laboratory":
        assert spec.test is not None
        rows = table.filter(
            (table.test.lower() == spec.test.lower())
            & table.value.notnull()
            & in_range(table.value, spec.value)
        )
        if spec.times_uln is not None:
            # a ULN of 0 is no limit (Circe: value_as_number / NULLIF(range_high, 0)); PostgreSQL
            # would stop the query on a division by zero
            rows = rows.filter(in_range(rows.value / rows.uln.nullif(0), spec.times_uln))
        events = rows.select(
            "person_id",
            start_date=rows.result_date,
            end_date=rows.result_date,
            value=rows.value.cast("float64"),
        )
    else:
        wanted = _lower_in(table.term, spec.terms) if spec.terms else ibis.literal(True)
        if spec.grade is not None:
            wanted = wanted & in_range(table.grade, spec.grade)
        if spec.serious is not None:
            wanted = wanted & (table.serious == spec.serious).fill_null(False)
        rows = table.filter(wanted)
        events = rows.select(
            "person_id",
            start_date=rows.onset_date,
            end_date=rows.onset_date,
            value=rows.grade.cast("float64"),
        )
    events = events.filter(events.start_date.notnull())
    if spec.end == "day_after":
        # Circe ends an observation, a measurement and a death the day after its date
        # (observation.sql: DATEADD(day,1,o.observation_date); MeasurementSqlBuilder.java,
        # DeathSqlBuilder.java: DATEADD(day,1,...)); before first (the same order) and the
        # end_date bounds (on this end). A date: the engines' date + interval is a timestamp
        # (DuckDB, PostgreSQL), which the unions of entry events with other domains' dates
        # would widen
        day_after = (events.start_date.cast("timestamp") + ibis.interval(days=1)).date()
        events = events.mutate(end_date=day_after)
    if spec.first:
        ranked = events.mutate(
            _first=ibis.row_number().over(
                group_by="person_id", order_by=[events.start_date, events.end_date]
            )
        )
        events = ranked.filter(ranked._first == 0).select(*events.columns)
    # calendar bounds after the first event is chosen (Circe: the ordinal, then the dates)
    if spec.start_date is not None:
        events = events.filter(in_range(events.start_date, spec.start_date))
    if spec.end_date is not None:
        events = events.filter(in_range(events.end_date, spec.end_date))
    if spec.age is not None or spec.sex is not None:
        person = con.table("person").select("person_id", "sex", "birth_date", "birth_year")
        joined = events.inner_join(person, "person_id")
        person_of: ir.BooleanValue = ibis.literal(True)
        if spec.age is not None:
            age = completed_years(joined.start_date, joined.birth_date, joined.birth_year)
            person_of = person_of & in_range(age, spec.age)
        if spec.sex is not None:
            person_of = person_of & joined.sex.isin(spec.sex).fill_null(False)
        events = joined.filter(person_of).select(*events.columns)
    if spec.domain == "observation_period":
        events = _period_bounds(events, spec)
    return events


def _period_bounds(events: ir.Table, spec: Events) -> ir.Table:
    """Observation periods (``events``) bounded by ``spec``'s ``length`` and
    ``user_period``, last, as circe-be's ``ObservationPeriodSqlBuilder.java`` does: its
    ``WHERE`` reads the period's own dates (the person's first period, ``C.ordinal = 1``,
    numbered over every period before any bound; ``PeriodLength`` on ``DATEDIFF(d,
    C.start_date, C.end_date)``; with a ``UserDefinedPeriod`` only a period holding each date
    given, ``C.start_date <= date and C.end_date >= date``), then the given dates replace the
    period's as the event's start and end in its ``SELECT`` (``@startDateExpression``,
    ``@endDateExpression``)."""
    if spec.length is not None:
        days = events.end_date.delta(events.start_date, unit="day")
        events = events.filter(in_range(days, spec.length))
    given = spec.user_period
    if given is None:
        return events
    dates = {"start_date": given.start, "end_date": given.end}
    for day in dates.values():
        if day is not None:
            events = events.filter((events.start_date <= day) & (events.end_date >= day))
    return events.mutate(
        **{name: ibis.literal(day, type="date") for name, day in dates.items() if day is not None}
    )


def completed_years(
    on: ir.DateValue, birth_date: ir.DateValue, birth_year: ir.IntegerValue
) -> ir.IntegerValue:
    """Age in completed years on ``on``: one less than the difference of the years before the
    birthday; a person with a birth year only counts as born on 1 July (the cohort language's
    age, :class:`~myositis.cohort.language.Demographics`; Circe's is the difference of the
    years alone)."""
    year = birth_date.year().fill_null(birth_year)
    birthday = (birth_date.month() * 100 + birth_date.day()).fill_null(701)
    before_birthday = (on.month() * 100 + on.day()) < birthday
    return on.year() - year - ibis.ifelse(before_birthday, 1, 0)


__all__ = [
    "OPEN_END",
    "completed_years",
    "concept_filter",
    "domain_events",
    "exposure_rows",
    "in_range",
]
