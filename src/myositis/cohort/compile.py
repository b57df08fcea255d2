"""Compile a cohort of the cohort language (:class:`~myositis.cohort.language.Cohort`) to Ibis.

One expression per result, no SQL strings, no per-engine code, nothing materialised between
steps: :func:`compile_cohort` gives

- ``events``: every qualified entry event with a flag per inclusion rule (``_rule_<k>``);
- ``attrition``: ONE row whose columns are the persons remaining after each attrition line,
  counted from each person's *level* (how many consecutive lines the person passes), so all
  lines are counted in one query;
- ``members``: ``person_id, index_date, exit_date``, one row per cohort period.

Semantics (Circe's, Book of OHDSI chapter 10), in order:

1. persons in the registry;
2. each ``persons_with`` rule over the whole record (one line each);
3. entry events (any of the events; inside an observation period with the prior and post
   observation when ``entry.observation`` is given: ``period start <= start - prior`` and
   ``start + post <= period end``), the first/all/last per person (``limit``), then
   ``additional`` criteria and ``qualified_limit``;
4. each inclusion rule, evaluated on each qualified event; a person remains after rule k
   when one of their events passes rules 1..k;
5. events passing every rule, the first/all/last per person (``expression_limit``);
6. exit: the strategy's date, never after the end of the observation period holding the
   index, cut short by the first censoring event on or after the index; periods closer than
   ``era_pad_days`` are merged;
7. the periods held inside the ``censor_window`` (its own attrition line).

A criterion counts the events whose start (``start_window``) and end (``end_window``) fall
in their windows (every window of a list), measured in days from the index start (or end),
both ends included; with an observation period required, only events starting inside the
index's period count unless the criterion says ``ignore_observation_period``.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.cohort import score_outcome
from myositis.cohort.events import OPEN_END, completed_years, domain_events, in_range
from myositis.cohort.language import (
    CensorWindow,
    Cohort,
    Criterion,
    Demographics,
    Events,
    Group,
    Limit,
    ObservationWindow,
    Outcome,
    RelativeWindow,
)
from myositis.instruments.constants import ENZYMES
from myositis.instruments.core_set import REGISTRY_SOURCES
from myositis.registry.keys import person_key_declared
from myositis.registry.observation import observation_periods

#: A condition on the rows of a group's table once every member's columns are joined on.
Flag = Callable[[ir.Table], ir.BooleanValue]

#: Columns of an index event.
_INDEX = ("person_id", "_event", "index_date", "index_end", "op_start", "op_end")


@dataclass(frozen=True)
class Step:
    """One attrition line: its label and what it requires."""

    label: str
    criterion: str


@dataclass(frozen=True)
class CompiledCohort:
    """The Ibis expressions of one cohort on one connection (nothing has run yet)."""

    cohort: Cohort
    steps: list[Step]
    #: one row: ``step_0 .. step_n``, persons remaining after each line
    attrition: ir.Table
    #: ``person_id, index_date, exit_date``
    members: ir.Table
    #: qualified entry events of persons passing every line, before the expression limit
    events: ir.Table
    #: the one query: ``step_0 .. step_n`` on every row, then the members' columns (one row
    #: with null members when there is none)
    result: ir.Table
    #: the rows remaining after each line: persons (registry, persons_with rules), then
    #: entry events (entry, inclusion rules)
    lines: list[ir.Table]
    #: the chosen entry events after the expression limit (``_INDEX`` columns), before exit
    index: ir.Table
    #: the events read for the entry events' persons (inclusion criteria, outcomes), each once
    scoped: tuple[ir.Table, ...] = ()
    #: the events the first ``persons_with`` rule read for every person, by :func:`events_key`
    #: (the study builder takes the members' first diagnosis from them, so the engine matches
    #: the diagnosis codes once)
    registry_events: Mapping[str, ir.Table] = field(default_factory=dict)
    #: those of them read again by a later line (for fewer persons): a staged engine
    #: materialises them first, so the later line reads the few matched rows
    reread: tuple[ir.Table, ...] = ()


def _without(table: ir.Table, *names: str) -> ir.Table:
    """``table`` without the columns ``names``, as a projection (not ibis's ``drop``, whose
    node the SQL compiler does not share between consumers as a CTE)."""
    return table.select(*[c for c in table.columns if c not in names])


def _limit(table: ir.Table, limit: Limit) -> ir.Table:
    """Keep each person's first, all or last event (by start, then end, then event number)."""
    if limit == "all":
        return table
    order = [table.index_date, table.index_end, table._event]
    if limit == "last":
        order = [ibis.desc(c) for c in order]
    ranked = table.mutate(_pick=ibis.row_number().over(group_by="person_id", order_by=order))
    return _without(ranked.filter(ranked._pick == 0), "_pick")


def _days(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days from ``earlier`` to ``later`` (negative when ``later`` is before)."""
    return later.delta(earlier, unit="day")


def _in_window(
    date: ir.DateValue, anchor: ir.DateValue, window: RelativeWindow, period: ir.Table
) -> ir.BooleanValue:
    """``date`` inside ``window`` of days from ``anchor``; an end ``period_start`` or
    ``period_end`` is that date of the row's observation period (``period.op_start``,
    ``op_end``)."""
    days = _days(date, anchor)
    condition: ir.BooleanValue = ibis.literal(True)
    for bound, later in ((window.start, True), (window.end, False)):
        if bound is None:
            continue
        if isinstance(bound, str):
            limit = period.op_start if bound == "period_start" else period.op_end
            condition = condition & (date >= limit if later else date <= limit)
        else:
            condition = condition & (days >= bound if later else days <= bound)
    return condition


def _occurs(count: ir.IntegerValue, criterion: Criterion) -> ir.BooleanValue:
    n = criterion.occurrence.count
    return {
        "exactly": count == n,
        "at_least": count >= n,
        "at_most": count <= n,
    }[criterion.occurrence.type]


def events_key(spec: Events) -> str:
    """The identity of the events ``spec`` selects (its :class:`Events` fields; windows and
    counts left out): criteria on the same events share one expression."""
    fields = Events.model_fields
    dumped = spec.model_dump(mode="json")
    return json.dumps({k: v for k, v in dumped.items() if k in fields}, sort_keys=True)


class _Compiler:
    def __init__(
        self, con: BaseBackend, cohort: Cohort, provided: Mapping[str, ir.Table] | None = None
    ) -> None:
        self.con = con
        self.cohort = cohort
        self.provided = dict(provided or {})
        self._counter = 0
        #: persons whose records inclusion criteria read (the qualified entry events)
        self.scope: ir.Table | None = None
        #: every person of the registry (the first line): events read for them are read again
        #: for fewer persons from what was read (a semi-join), not from the domain's table
        self.everyone: ir.Table | None = None
        #: the events read for every person and read again for fewer, by :func:`events_key`
        self.reread: dict[str, ir.Table] = {}
        self._cache: dict[tuple[str, int], ir.Table] = {}

    def events(self, spec: Events, persons: ir.Table | None = None) -> ir.Table:
        """The events of ``spec`` for ``persons``; the same events asked twice are the same
        expression, so the engine query computes them once (a CTE) and Ibis compiles them
        once (CDASI scoring from the items is a large expression)."""
        key = events_key(spec)
        if key in self.provided and persons is self.scope:
            return self.provided[key]
        cached = self._cache.get((key, id(persons)))
        every = self._cache.get((key, id(self.everyone))) if persons is not None else None
        if cached is None and every is not None:
            # read for every person by a persons_with rule: these persons' rows of those
            # events (R2 reads its DM codes for its person rule and again as entry events;
            # the codes are matched once, on PostgreSQL one pass over the diagnoses fewer)
            self.reread[key] = every
            cached = self._cache[(key, id(persons))] = every.semi_join(persons, "person_id")
        if cached is None:
            if spec.having is not None:
                # the events first (a person's first one before the group, as Circe), then
                # those whose own dates pass the group
                every = self.events(spec.model_copy(update={"having": None}), persons)
                cached = self._having(every, spec.having)
            elif spec.domain == "assessment" and spec.value is not None and not spec.first:
                # the measure's events with any value, then the range: criteria on one
                # measure with different ranges share its events (CDASI scored once)
                every = self.events(spec.model_copy(update={"value": None}), persons)
                cached = every.filter(in_range(every.value, spec.value))
            else:
                cached = domain_events(self.con, spec, self.cohort.concept_sets, persons=persons)
            self._cache[(key, id(persons))] = cached
        return cached

    def _having(self, events: ir.Table, group: Group) -> ir.Table:
        """The rows of ``events`` that pass ``group`` with each event as the index
        (:class:`~myositis.cohort.language.Events`, ``having``): its start and end dates, and
        when the cohort requires observation, the observation period it lies in (events
        outside every period are dropped: Circe joins them to ``observation_period``,
        ``eventTableExpression.sql``)."""
        observed = ObservationWindow() if self.cohort.uses_observation() else None
        events = self._in_period(events, observed)
        index = events.select(
            "person_id",
            "op_start",
            "op_end",
            index_date=events.start_date,
            index_end=events.end_date,
            _value=events.value,
        )
        index = index.mutate(
            _event=ibis.row_number().over(
                group_by="person_id", order_by=[index.index_date, index.index_end, index._value]
            )
        )
        flagged = self.group_flag(index, group, person_level=False)
        kept = flagged.filter(flagged._flag)
        return kept.select(
            "person_id", start_date=kept.index_date, end_date=kept.index_end, value=kept._value
        )

    def _in_period(self, events: ir.Table, window: ObservationWindow | None) -> ir.Table:
        """``events`` with ``op_start`` and ``op_end``: with ``window``, the events inside an
        observation period with its prior and post days of observation, and that period;
        without, every event and null periods."""
        if window is None:
            null = ibis.null().cast("date")
            return events.mutate(op_start=null, op_end=null)
        # periods of these events' persons only (not of every person)
        periods = observation_periods(self.con, persons=events).select(
            "person_id", op_start="start_date", op_end="end_date"
        )
        joined = events.inner_join(periods, "person_id")
        return joined.filter(
            (_days(joined.start_date, joined.op_start) >= window.prior_days)
            & (_days(joined.op_end, joined.start_date) >= window.post_days)
        )

    # -- groups -------------------------------------------------------------------------
    def _name(self) -> str:
        self._counter += 1
        return f"_c{self._counter}"

    def group_flag(self, index: ir.Table, group: Group, *, person_level: bool) -> ir.Table:
        """``index`` with one more column, ``_flag``: whether each row passes ``group``."""
        keys = ["person_id"] if person_level else ["person_id", "_event"]
        table, flag = self._group(index, index, group, keys, person_level=person_level)
        return table.mutate(_flag=flag(table).fill_null(False)).select(*index.columns, "_flag")

    def _group(
        self, base: ir.Table, table: ir.Table, group: Group, keys: list[str], *, person_level: bool
    ) -> tuple[ir.Table, Flag]:
        flags: list[Flag] = []
        for criterion in group.criteria:
            table, flag = self._criterion(base, table, criterion, keys, person_level=person_level)
            flags.append(flag)
        for demographics in group.demographics:
            table, flag = self._demographics(table, demographics)
            flags.append(flag)
        for nested in group.groups:
            table, flag = self._group(base, table, nested, keys, person_level=person_level)
            flags.append(flag)

        def combined(final: ir.Table) -> ir.BooleanValue:
            values = [f(final) for f in flags]
            if group.type == "all":
                return functools.reduce(operator.and_, values)
            if group.type == "any":
                return functools.reduce(operator.or_, values)
            passed = functools.reduce(operator.add, [ibis.ifelse(v, 1, 0) for v in values])
            assert group.count is not None
            return passed >= group.count if group.type == "at_least" else passed <= group.count

        return table, combined

    def _criterion(
        self,
        base: ir.Table,
        table: ir.Table,
        criterion: Criterion,
        keys: list[str],
        *,
        person_level: bool,
    ) -> tuple[ir.Table, Flag]:
        """Count the criterion's events per row of ``base`` (the group's rows, used as they
        are so that the engine query shares them); join the count onto ``table``."""
        name = self._name()
        events = self.events(criterion, persons=base if person_level else self.scope)
        if person_level:
            matched = events
        else:
            joined = base.inner_join(events, "person_id")
            condition: ir.BooleanValue = ibis.literal(True)
            for on, window in criterion.windows():
                date = joined.start_date if on == "start" else joined.end_date
                anchor = joined.index_date if window.index == "start" else joined.index_end
                condition = condition & _in_window(date, anchor, window, joined)
            if self.cohort.uses_observation() and not criterion.ignore_observation_period:
                condition = (
                    condition
                    & (joined.start_date >= joined.op_start)
                    & (joined.start_date <= joined.op_end)
                )
            matched = joined.filter(condition)
        count = (
            matched.start_date.nunique() if criterion.occurrence.distinct_dates else matched.count()
        )
        counts = matched.group_by(keys).aggregate(**{name: count})
        table = _without(table.left_join(counts, keys), *[f"{k}_right" for k in keys])
        return table, lambda final: _occurs(final[name].fill_null(0), criterion)

    def _demographics(self, table: ir.Table, demographics: Demographics) -> tuple[ir.Table, Flag]:
        name = self._name()
        person = self.con.table("person").select(
            "person_id",
            **{
                f"{name}_sex": ibis._.sex,
                f"{name}_birth_date": ibis._.birth_date,
                f"{name}_birth_year": ibis._.birth_year,
            },
        )
        table = _without(table.left_join(person, "person_id"), "person_id_right")

        def flag(final: ir.Table) -> ir.BooleanValue:
            condition: ir.BooleanValue = ibis.literal(True)
            if demographics.sex is not None:
                sex = final[f"{name}_sex"]
                condition = condition & sex.isin(demographics.sex).fill_null(False)
            if demographics.age is not None:
                age = completed_years(
                    final.index_date, final[f"{name}_birth_date"], final[f"{name}_birth_year"]
                )
                condition = condition & in_range(age, demographics.age)
            return condition

        return table, flag

    # -- entry ---------------------------------------------------------------------------
    def entry(self, persons: ir.Table) -> ir.Table:
        """Qualified entry events of ``persons``: the columns of ``_INDEX``."""
        entry = self.cohort.entry
        parts = [
            self.events(e, persons=persons).select("person_id", "start_date", "end_date")
            for e in entry.events
        ]
        events = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
        events = self._in_period(events, entry.observation)
        events = events.select(
            "person_id", "op_start", "op_end", index_date="start_date", index_end="end_date"
        ).distinct()
        events = events.mutate(
            _event=ibis.row_number().over(
                group_by="person_id", order_by=[events.index_date, events.index_end]
            )
        ).select(*_INDEX)
        if entry.limit == "first":
            # the event numbered 0 is _limit's first (numbered in its order): no second window
            events = events.filter(events._event == 0)
        else:
            events = _limit(events, entry.limit)
        if entry.additional is not None:
            flagged = self.group_flag(events, entry.additional, person_level=False)
            events = _without(flagged.filter(flagged._flag), "_flag")
            if entry.limit == "all":
                # after a first or last limit each person holds one event: a limit keeps it
                events = _limit(events, entry.qualified_limit)
        return events

    # -- exit ----------------------------------------------------------------------------
    def exit(self, events: ir.Table) -> ir.Table:
        """``person_id, index_date, exit_date`` of the chosen events."""
        spec = self.cohort.exit
        table = events
        if not self.cohort.uses_observation():
            # the period holding the index (derived periods when none is recorded)
            periods = observation_periods(self.con, persons=events)
            joined = events.inner_join(periods, "person_id")
            joined = joined.filter(
                (joined.start_date <= joined.index_date) & (joined.end_date >= joined.index_date)
            )
            holding = joined.group_by(["person_id", "_event"]).aggregate(
                _op_end=joined.end_date.max()
            )
            table = _without(
                table.left_join(holding, ["person_id", "_event"]), "person_id_right", "_event_right"
            )
            table = _without(table.mutate(op_end=ibis._._op_end), "_op_end")
        if spec.strategy == "end_of_observation":
            exit_date = table.op_end.fill_null(table.index_date)
        elif spec.strategy == "fixed":
            anchor = table.index_date if spec.date == "start" else table.index_end
            exit_date = anchor + ibis.interval(days=spec.offset_days)
        else:
            # no era holding the index: no end of the strategy's own, so the end of observation
            # (Circe's cohort_ends union without a strategy end, generateCohort.sql)
            table = self._era_end(table)
            exit_date = table._era_end.fill_null(table.op_end.fill_null(table.index_date))
        table = table.mutate(_exit=exit_date)
        capped = ibis.ifelse(
            table.op_end.notnull() & (table.op_end < table._exit), table.op_end, table._exit
        )
        table = table.mutate(_exit=capped)
        if spec.censor:
            table = self._censor(table)
        members = table.select("person_id", "index_date", exit_date=table._exit)
        if spec.era_pad_days or self.cohort.expression_limit == "all":
            members = _collapse(members, spec.era_pad_days)
        if spec.censor_window is not None:
            members = _in_censor_window(members, spec.censor_window)
        return members

    def _era_end(self, table: ir.Table) -> ir.Table:
        """Add ``_era_end``: the end of the drug era that holds the index date, null when none
        does (:class:`~myositis.cohort.language.Exit`'s rule, Circe's
        ``customEraStrategy.sql``): each exposure of the exit's concept set lasts
        ``offset_days`` after its end; an exposure starting at most ``gap_days`` after the
        latest of those ends so far continues the era; the era ends at the latest of them and
        holds the index when it starts on or before the index and ends on or after it."""
        spec = self.cohort.exit
        drugs = self.events(
            Events(domain="drug_exposure", concept_set=spec.concept_set),
            persons=table.select("person_id").distinct(),
        ).select("person_id", "start_date", "end_date")
        if spec.offset_days:
            drugs = drugs.mutate(end_date=drugs.end_date + ibis.interval(days=spec.offset_days))
        eras = _islands(drugs, spec.gap_days)
        joined = table.inner_join(eras, "person_id")
        joined = joined.filter(
            (joined.start_date <= joined.index_date) & (joined.end_date >= joined.index_date)
        )
        ends = joined.group_by(["person_id", "_event"]).aggregate(_era_end=joined.end_date.max())
        return _without(
            table.left_join(ends, ["person_id", "_event"]), "person_id_right", "_event_right"
        )

    def outcome(self, members: ir.Table, outcome: Outcome) -> ir.Table:
        """``members`` with the outcome's columns: ``<name>_baseline``,
        ``<name>_baseline_day``, ``<name>_followup``, ``<name>_followup_day`` and
        ``<name>_change`` (follow-up minus baseline; null without both); for a score outcome
        the columns of :func:`myositis.cohort.score_outcome.columns`. The rules are in
        :class:`~myositis.cohort.language.Outcome`."""
        if outcome.score is not None:
            return self._score_outcome(members, outcome)
        if outcome.test is not None:
            lab = self.con.table("laboratory").semi_join(members, "person_id")
            lab = lab.filter((lab.test.lower() == outcome.test.lower()) & lab.value.notnull())
            value = lab.value / lab.uln.nullif(0) if outcome.scale == "times_uln" else lab.value
            values = lab.select(
                "person_id", start_date=lab.result_date, value=value.cast("float64")
            )
        else:
            spec = Events(
                domain="assessment", instrument=outcome.instrument, measure=outcome.measure
            )
            # read for the entry events' persons: the same expression as the inclusion
            # criteria on the same measure, so it is compiled and computed once
            values = self.events(spec, persons=self.scope).select(
                "person_id", "start_date", "value"
            )
        base, follow = _baseline_and_followup(members, values, outcome, [])
        name = outcome.name
        table = members
        for part, picked in (("baseline", base), ("followup", follow)):
            columns = {f"{name}_{part}": picked.value, f"{name}_{part}_day": picked.day}
            table = table.left_join(
                picked.select("person_id", "index_date", **columns), ["person_id", "index_date"]
            )
            table = _without(table, "person_id_right", "index_date_right")
        return table.mutate(
            **{f"{name}_change": ibis._[f"{name}_followup"] - ibis._[f"{name}_baseline"]}
        )

    def _score_outcome(self, members: ir.Table, outcome: Outcome) -> ir.Table:
        """The TIS or DOI of each cohort period (:mod:`myositis.cohort.score_outcome`): each
        core set measure and muscle enzyme gets its baseline and follow-up by the outcome's
        rules, one at a time; the instrument scores the pairs."""
        parts = []
        for stem in score_outcome.stems(outcome):
            instrument, measure = REGISTRY_SOURCES[stem]
            spec = Events(domain="assessment", instrument=instrument, measure=measure)
            events = self.events(spec, persons=self.scope)
            parts.append(
                events.select(
                    "person_id",
                    "start_date",
                    "value",
                    uln=ibis.null("float64"),
                    _m=ibis.literal(stem),
                )
            )
        lab = self.con.table("laboratory").semi_join(members, "person_id")
        # an enzyme result counts with its upper limit of normal (the most abnormal enzyme is
        # chosen by value / ULN)
        lab = lab.filter(lab.test.lower().isin(list(ENZYMES)) & lab.value.notnull() & (lab.uln > 0))
        parts.append(
            lab.select(
                "person_id",
                start_date=lab.result_date,
                value=lab.value.cast("float64"),
                uln=lab.uln.cast("float64"),
                _m=lab.test.lower(),
            )
        )
        values = ibis.union(*parts, distinct=False)
        base, follow = _baseline_and_followup(members, values, outcome, ["_m"])
        wide = score_outcome.wide_inputs(members, base, follow, outcome)
        scores = score_outcome.scored(wide, outcome)
        table = members.left_join(scores, ["person_id", "index_date"])
        return _without(table, "person_id_right", "index_date_right")

    def _censor(self, table: ir.Table) -> ir.Table:
        persons = table.select("person_id").distinct()
        parts = [
            self.events(e, persons=persons).select("person_id", "start_date")
            for e in self.cohort.exit.censor
        ]
        censor = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
        joined = table.inner_join(censor, "person_id")
        joined = joined.filter(joined.start_date >= joined.index_date)
        first = joined.group_by(["person_id", "_event"]).aggregate(_censor=joined.start_date.min())
        table = _without(
            table.left_join(first, ["person_id", "_event"]), "person_id_right", "_event_right"
        )
        earlier = ibis._._censor.notnull() & (ibis._._censor < ibis._._exit)
        return _without(
            table.mutate(_exit=ibis.ifelse(earlier, ibis._._censor, ibis._._exit)), "_censor"
        )


def _ranked_first(table: ir.Table, order: list[Any], by: list[str] | None = None) -> ir.Table:
    """Each cohort period's (and each ``by`` value's) first row of ``table`` in ``order``."""
    keys = ["person_id", "index_date", *(by or [])]
    ranked = table.mutate(_pick=ibis.row_number().over(group_by=keys, order_by=order))
    return _without(ranked.filter(ranked._pick == 0), "_pick")


def _baseline_and_followup(
    members: ir.Table, values: ir.Table, outcome: Outcome, by: list[str]
) -> tuple[ir.Table, ir.Table]:
    """The baseline and follow-up rows of each cohort period (and each ``by`` value, such as
    a score's measure ``_m``) among ``values`` (``person_id, start_date, value``, ...), with
    ``day`` from the index; the rules are :class:`~myositis.cohort.language.Outcome`'s. For a
    score, ``best`` is each measure's own better direction."""
    joined = members.select("person_id", "index_date").inner_join(values, "person_id")
    joined = joined.mutate(day=_days(joined.start_date, joined.index_date))
    joined = joined.filter(joined.value.notnull())
    b, f = outcome.baseline, outcome.followup
    base = joined.filter((joined.day >= b.start) & (joined.day <= b.end))
    base = _ranked_first(base, [base.day.abs(), ibis.desc(base.day), base.value], by)
    follow = joined.filter((joined.day >= f.start) & (joined.day <= f.end))
    if outcome.at_day is not None:
        order = [(follow.day - outcome.at_day).abs(), follow.day, follow.value]
    elif outcome.use == "last":
        order = [ibis.desc(follow.day), follow.value]
    elif outcome.use == "first":
        order = [follow.day, follow.value]
    else:
        if outcome.score is not None:
            higher = follow._m.isin(list(score_outcome.HIGHER_IS_BETTER))
            best = ibis.ifelse(higher, -follow.value, follow.value)
        else:
            best = follow.value if outcome.better == "lower" else ibis.desc(follow.value)
        order = [best, follow.day]
    return base, _ranked_first(follow, order, by)


def _islands(periods: ir.Table, gap: int) -> ir.Table:
    """Merge each person's periods (``start_date, end_date``) closer than ``gap`` days
    (gaps and islands: a period starts a new island when it starts more than ``gap`` days
    after the latest end so far)."""
    window = ibis.window(
        group_by="person_id", order_by=[periods.start_date, periods.end_date], rows=(None, -1)
    )
    marked = periods.mutate(_before=periods.end_date.max().over(window))
    marked = marked.mutate(
        _new=ibis.ifelse(
            marked._before.isnull() | (_days(marked.start_date, marked._before) > gap), 1, 0
        )
    )
    numbered = marked.mutate(
        _island=marked._new.sum().over(
            ibis.window(
                group_by="person_id",
                order_by=[marked.start_date, marked.end_date],
                rows=(None, 0),
            )
        )
    )
    return numbered.group_by(["person_id", "_island"]).aggregate(
        start_date=numbered.start_date.min(), end_date=numbered.end_date.max()
    )


def _collapse(members: ir.Table, pad: int) -> ir.Table:
    """Merge a person's cohort periods less than ``pad`` days apart (Circe's era pad)."""
    periods = members.select("person_id", start_date="index_date", end_date="exit_date")
    islands = _islands(periods, pad)
    return islands.select("person_id", index_date="start_date", exit_date="end_date")


def _in_censor_window(members: ir.Table, window: CensorWindow) -> ir.Table:
    """Cohort periods held inside the calendar window: each starts no earlier than its start
    and ends no later than its end; a period left ending before it starts is dropped (Circe's
    CensorWindow, ``CohortExpressionQueryBuilder.getFinalCohortQuery``)."""
    start, end = members.index_date, members.exit_date
    if window.start is not None:
        start = ibis.greatest(start, ibis.literal(window.start))
    if window.end is not None:
        end = ibis.least(end, ibis.literal(window.end))
    held = members.mutate(index_date=start, exit_date=end)
    return held.filter(held.index_date <= held.exit_date)


def _persons(table: ir.Table, step: int, *, distinct: bool = True) -> ir.Table:
    """One row: ``step_<step>``, the distinct persons of ``table`` (its rows when
    ``distinct`` is False: the caller knows each person holds one row)."""
    persons = table.person_id.nunique() if distinct else table.count()
    return table.aggregate(**{f"step_{step}": persons})


def compile_cohort(
    con: BaseBackend, cohort: Cohort, *, provided: Mapping[str, ir.Table] | None = None
) -> CompiledCohort:
    """The cohort's Ibis expressions on ``con`` (see the module docstring for the rules).

    ``provided``: events already at hand for the entry events' persons, by
    :func:`events_key` (``person_id, start_date, end_date, value``), used instead of reading
    them again (the study runner scores CDASI once for the report and for the cohort).

    Each line's rows are the previous line's rows that pass it (persons for person-level
    rules, entry events for inclusion rules), so each rule reads only the records of the
    persons still in; the attrition is one row of the lines' person counts, every line an
    expression shared with the next one and with the members."""
    compiler = _Compiler(con, cohort, provided)
    remaining = compiler.everyone = con.table("person").select("person_id")
    steps = [Step(label, criterion) for label, criterion in cohort.attrition_lines()]
    # a declared primary key makes the table's rows its persons: no hash of every id
    counts = [_persons(remaining, 0, distinct=not person_key_declared(con))]
    lines = [remaining]
    for rule in cohort.persons_with:
        flagged = compiler.group_flag(remaining, rule, person_level=True)
        remaining = flagged.filter(flagged._flag).select("person_id")
        counts.append(_persons(remaining, len(counts)))
        lines.append(remaining)

    events = entered = compiler.entry(remaining)
    compiler.scope = events
    counts.append(_persons(events, len(counts)))
    lines.append(events)
    for inclusion in cohort.inclusion:
        flagged = compiler.group_flag(events, inclusion, person_level=False)
        events = _without(flagged.filter(flagged._flag), "_flag")
        counts.append(_persons(events, len(counts)))
        lines.append(events)

    # after the entry's first or last limit each person holds one event, which a limit keeps
    # (a window less: on DuckDB a window costs about a millisecond however few its rows)
    limited = events if cohort.entry.limit != "all" else _limit(events, cohort.expression_limit)
    members = compiler.exit(limited)
    if cohort.exit.censor_window is not None:
        counts.append(_persons(members, len(counts)))
    attrition = counts[0]
    for count in counts[1:]:
        attrition = attrition.cross_join(count)
    for outcome in cohort.outcomes:
        members = compiler.outcome(members, outcome)
    result = attrition.left_join(members, [ibis.literal(True)])
    scoped = tuple(t for (_, persons), t in compiler._cache.items() if persons == id(entered))
    everyone = {key: t for (key, persons), t in compiler._cache.items() if persons == id(lines[0])}
    return CompiledCohort(
        cohort,
        steps,
        attrition,
        members,
        events,
        result,
        lines,
        limited,
        scoped,
        everyone,
        tuple(compiler.reread.values()),
    )


__all__ = ["OPEN_END", "CompiledCohort", "Step", "compile_cohort", "events_key"]
