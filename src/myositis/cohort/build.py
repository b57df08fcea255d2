"""Build a study cohort from a registry, step by step, with an attrition table.

The definition follows OHDSI cohort conventions (an entry event, inclusion rules each counted
in an attrition table, temporal windows relative to the index date) and i2b2's "at least N
codes" constraint:

1. persons in the registry;
2. a diagnosis in the concept set on at least ``min_occurrences`` distinct dates (and none of
   the excluding codes, when some are given);
3. a qualifying exposure (systemic JAK inhibitor; topical products excluded); index date =
   the first start of a qualifying exposure;
4. a baseline CDASI activity inside the baseline window (the one closest to the index; on a
   tie the later one);
5. at least one follow-up CDASI activity inside the follow-up window.

The steps are the format-1 definition translated to the cohort language
(:func:`myositis.cohort.translate.from_definition`) and compiled
(:func:`myositis.cohort.compile.compile_cohort`). The attrition, the members and every record
the analyses need come from ONE query of one row, each kind of record a list (:func:`build_cohort`;
on PostgreSQL and Spark, stages read by a query for the head and one per kind of record), kept
in the plan cache, so a second run only executes it. On 100,000 synthetic persons, warm on
DuckDB (benchmarks/bench_cohort.py): once ~15 queries (two compilations of the cohort), 1.8 s
against the hand-written query's 0.085 s; as one planned query 0.13 to 0.17 s; one row of
lists, executed as a statement, 0.09 s against 0.044 s (5 December 2026), the hand-written
query returning the members' outcome values only, not the attrition, the members'
characteristics or their records. A step that
no person passes raises :class:`myositis.errors.EmptyStepError` naming the step and the
counts so far.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis import BaseBackend

from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.compile import CompiledCohort, compile_cohort, events_key
from myositis.cohort.definition import CohortDefinition, ResponseRule
from myositis.cohort.events import exposure_rows
from myositis.cohort.members import (
    Death,
    age_in_years,
    death_of,
    drop_right,
    with_characteristics,
)
from myositis.cohort.plans import planned
from myositis.cohort.rows import Rows
from myositis.cohort.staging import (
    StagedQuery,
    fetch_all,
    is_staged,
    run_staged,
    staged_plan,
)
from myositis.cohort.translate import from_definition
from myositis.errors import EmptyStepError
from myositis.instruments.cdasi import response
from myositis.progress import Progress, silent


@dataclass(frozen=True)
class AttritionStep:
    """One inclusion step: persons remaining after it and persons it excluded."""

    step: int
    label: str
    criterion: str
    remaining: int
    excluded: int


@dataclass(frozen=True)
class Patient:
    """One cohort member: demographics, index and the chosen CDASI assessments.

    ``improvement`` is baseline minus follow-up activity (positive = better), the sign every
    table and figure of the report uses; ``change`` is follow-up minus baseline.
    """

    person_id: int
    site: str | None
    sex: str | None
    race: str | None
    ethnicity: str | None
    age_at_index: int | None
    subtype: str | None
    index_date: dt.date
    ingredient: str
    first_diagnosis_date: dt.date
    baseline_date: dt.date
    baseline_days: int
    baseline_activity: float
    followup_date: dt.date
    followup_days: int
    followup_activity: float
    followup_count: int
    last_followup_days: int
    #: the response rule (``instruments.cdasi.response``) at the follow-up used, in the engine
    responder: bool
    response_days: int | None
    #: the person's recorded death, whenever it falls (``cohort.members``); None: none recorded
    death: Death | None = None

    @property
    def improvement(self) -> float:
        return self.baseline_activity - self.followup_activity

    @property
    def change(self) -> float:
        return self.followup_activity - self.baseline_activity


@dataclass
class CohortResult:
    """A built cohort: its members, its attrition and every record the analyses need, already
    restricted to the members, with the definition it was built from. The records are
    :class:`~myositis.cohort.rows.Rows`: read-only sequences of dictionaries, made Python rows
    when first read."""

    definition: CohortDefinition
    attrition: list[AttritionStep]
    patients: list[Patient]
    #: CDASI activity per patient: (days from index, activity), baseline window to follow-up end.
    cdasi_series: dict[int, list[tuple[int, float]]]
    #: Qualifying (systemic JAK) exposure rows of the patients.
    jak_exposures: Sequence[dict[str, Any]]
    #: Rows of the specification's systemic therapies (prior and concomitant).
    therapies: Sequence[dict[str, Any]]
    adverse_events: Sequence[dict[str, Any]]
    #: Other assessments and laboratory rows: instrument/measure or test, with days from index.
    pruritus: Sequence[dict[str, Any]]
    labs: Sequence[dict[str, Any]]
    mmt8: Sequence[dict[str, Any]]
    #: Last date recorded anywhere in the registry: the end of open-ended exposures.
    data_cutoff: dt.date
    #: CDASI administrations of the exposed persons whose activity could not be scored.
    unscorable_cdasi: int
    notes: list[str] = field(default_factory=list)


def empty_step_error(steps: Sequence[AttritionStep], what_to_do: str) -> EmptyStepError:
    """The error for a cohort whose last step in ``steps`` left no one: it names that step,
    its criterion, how many it excluded and the attrition so far, then ``what_to_do``."""
    step = steps[-1]
    before = step.remaining + step.excluded
    so_far = "; ".join(f"{s.step}. {s.label}: {s.remaining}" for s in steps)
    return EmptyStepError(
        f"cohort step {step.step} '{step.label}' ({step.criterion}) excluded all {before} "
        f"remaining persons, so there is no cohort to analyse. Attrition so far: "
        f"{so_far}. {what_to_do}"
    )


class _Steps:
    """Collects attrition rows and stops at the first empty step."""

    def __init__(self) -> None:
        self.steps: list[AttritionStep] = []

    def add(self, label: str, criterion: str, remaining: int, *, what_to_do: str) -> None:
        before = self.steps[-1].remaining if self.steps else remaining
        step = AttritionStep(len(self.steps) + 1, label, criterion, remaining, before - remaining)
        self.steps.append(step)
        if remaining == 0:
            raise empty_step_error(self.steps, what_to_do)


def build_cohort(
    con: BaseBackend,
    definition: CohortDefinition,
    *,
    response_rule: ResponseRule | None = None,
    systemic_therapies: Sequence[str] = (),
    pruritus: tuple[str, str] = ("pruritus_nrs", "score"),
    progress: Progress = silent,
) -> CohortResult:
    """Run a cohort definition on a registry connection.

    ``response_rule`` marks each follow-up assessment as a clinically meaningful improvement
    or not, in the engine (default: a fall of 5 points); ``systemic_therapies`` (ingredients)
    and ``pruritus`` (instrument, measure) name the members' other records to collect.

    Everything comes from ONE query (:func:`_cohort_query`): the attrition, the members with
    their characteristics, index exposure, first diagnosis, baseline and follow-up CDASI, their
    CDASI series and other records, the counts the notes state and the data cutoff. It is kept
    in the plan cache (:mod:`myositis.cohort.plans`), so a second run neither builds nor
    compiles it. On a staged engine (:data:`~myositis.cohort.staging.STAGED_ENGINES`)
    the cohort's lines, the CDASI scores and the members are written to temporary tables
    first, then the head and each kind of record are a query of their own reading them (on
    Spark submitted together, :func:`~myositis.cohort.staging.fetch_all`); the plan keeps
    the SQL of every stage and of each of those queries
    (:func:`~myositis.cohort.staging.staged_plan`), so a warm run there too only executes
    SQL texts.
    """
    rule = response_rule or ResponseRule()
    therapies = sorted({t.strip().lower() for t in systemic_therapies})
    progress("running the cohort definition (one query)")

    keys = {
        "query": "study cohort",
        "definition": json.dumps(definition.model_dump(mode="json"), sort_keys=True),
        "response_rule": json.dumps(rule.model_dump(mode="json"), sort_keys=True),
        "records": json.dumps([therapies, list(pruritus)]),
    }
    if is_staged(con):
        # staged: the cohort's lines, the CDASI scores and the members become temporary tables;
        # then the head and each kind of record are a query of their own (Spark's analyser ran
        # out of heap on the records read as one statement; one row of lists was slower there:
        # staging.py). The plan keeps the SQL of every stage and query, so a warm run only
        # executes them.
        def build_staged() -> StagedQuery:
            query = _cohort_query(con, definition, rule, therapies, pruritus)
            return StagedQuery(query.compiled, [query.head, *query.kinds], query.extra, query.also)

        plan, _ = staged_plan(con, keys, build_staged)
        with run_staged(con, plan) as (head, *kinds):
            fetched = fetch_all(con, [head, *kinds])
        records = dict(zip(plan.extra["records"], fetched[1:], strict=True))
        return _result(definition, fetched[0].to_pylist()[0], records, plan.extra)

    def build() -> tuple[ir.Table, dict[str, Any]]:
        query = _cohort_query(con, definition, rule, therapies, pruritus)
        return query.one, query.extra

    planned_query, extra, _ = planned(con, keys, build)
    (found,) = fetch_all(con, [planned_query])
    records = {
        kind: pa.Table.from_struct_array(pc.list_flatten(found.column(kind)))
        for kind in extra["records"]
    }
    head = found.drop_columns(list(records)).to_pylist()[0]
    return _result(definition, head, records, extra)


def _result(
    c: CohortDefinition,
    head: dict[str, Any],
    found: dict[str, pa.Table],
    extra: dict[str, Any],
) -> CohortResult:
    """The :class:`CohortResult` of the query's head row and each kind's record rows
    (:class:`_Query`)."""
    steps = _Steps()
    for k, (label, compiled_text) in enumerate(extra["steps"]):
        steps.add(
            label,
            _criterion(c, k, compiled_text),
            int(head[f"step_{k}"] or 0),
            what_to_do=_what_to_do(c, k),
        )
    records = {kind: Rows(found[kind], order) for kind, (_, order) in extra["records"].items()}
    patients = [_patient(r) for r in records.pop("patient")]
    series: dict[int, list[tuple[int, float]]] = {}
    made = records.pop("series").table()
    for person, days, activity in zip(
        *(made.column(name).to_pylist() for name in ("person_id", "days", "activity")),
        strict=True,
    ):
        series.setdefault(int(person), []).append((int(days), float(activity)))
    unscorable = int(head["_unscorable"] or 0)
    undated = int(head["_undated"] or 0)
    cutoffs = [head[f"_cutoff_{k}"] for k in range(len(_CUTOFF))]
    notes = []
    if undated:
        notes.append(
            f"{undated} qualifying exposure row(s) of persons with the diagnosis had no start "
            "date, so they could not define an index date and were not used."
        )
    if unscorable:
        notes.append(
            f"{unscorable} CDASI administration(s) of exposed persons had incomplete items, so "
            "no activity score; they were not used as baseline or follow-up assessments."
        )
    return CohortResult(
        definition=c,
        attrition=steps.steps,
        patients=patients,
        cdasi_series=series,
        jak_exposures=records["jak"],
        therapies=records["therapy"],
        adverse_events=records["adverse_event"],
        pruritus=records["pruritus"],
        labs=records["laboratory"],
        mmt8=records["mmt8"],
        data_cutoff=max(_as_date(d) for d in cutoffs if d is not None),
        unscorable_cdasi=unscorable,
        notes=notes,
    )


#: The dates whose maximum is the data cutoff: (table, column).
_CUTOFF: Final = (
    ("drug_exposure", "start_date"),
    ("drug_exposure", "end_date"),
    ("assessment", "assessment_date"),
    ("laboratory", "result_date"),
    ("adverse_event", "onset_date"),
    ("diagnosis", "diagnosis_date"),
)


@dataclass(frozen=True)
class _Query:
    """The study cohort's query (:func:`_cohort_query`)."""

    #: one row: ``step_<k>`` (persons after each line), ``_unscorable`` (CDASI administrations
    #: of the exposed persons without an activity), ``_undated`` (qualifying exposure rows of
    #: persons with the diagnosis and no start date), ``_cutoff_<k>`` (maxima of _CUTOFF)
    head: ir.Table
    #: each kind of record's rows, with its own columns (in the order of ``extra["records"]``)
    kinds: list[ir.Table]
    #: what :func:`_result` needs: the attrition lines' label and criterion; each kind of
    #: record's columns and order
    extra: dict[str, Any]
    #: the compiled cohort the query is built on
    compiled: CompiledCohort
    #: what a staged engine materialises besides the cohort's lines: every person's diagnosis
    #: events (the first rule's, read again for the members' first diagnosis); the qualifying
    #: exposures of the persons with the diagnosis (the entry's rows, read again for the index
    #: exposure, the JAK records and the undated count); the members with their index
    #: exposure and first diagnosis; the exposed persons' CDASI scores; the members with their
    #: baseline and follow-up too
    also: list[ir.Table]

    @property
    def one(self) -> ir.Table:
        """Head and records as one query of one row: the head's columns, then one column per
        kind of record holding its rows as a list of structs (null when there are none).

        Why a list per kind, not a union of the kinds' rows: a union needs every kind's columns
        in every row, null in the others' (654 casts of null in 75 KB of SQL), and DuckDB
        spent 50 ms of the 120 ms query binding and optimising that text on 100,000 persons."""
        one = self.head
        for kind, rows in zip(self.extra["records"], self.kinds, strict=True):
            packed = ibis.struct({name: rows[name] for name in rows.columns})
            one = one.cross_join(rows.aggregate(**{kind: packed.collect()}))
        return one


def _cohort_query(
    con: BaseBackend,
    c: CohortDefinition,
    rule: ResponseRule,
    therapies: list[str],
    pruritus: tuple[str, str],
) -> _Query:
    """The study cohort's query.

    The head is one row (:class:`_Query`). The kinds of record: ``patient`` (one per member:
    the fields of :class:`Patient` and the person's), ``series`` (each CDASI activity of a
    member from the baseline window's start to the follow-up window's end), ``jak``,
    ``therapy``, ``adverse_event``, ``pruritus``, ``mmt8``, ``laboratory``.

    The steps are the format-1 definition translated to the cohort language and compiled
    (:func:`~myositis.cohort.compile.compile_cohort`); the exposed persons' CDASI scores are
    the expression the cohort's baseline and follow-up rules read (the same Ibis node, so the
    engine computes them once)."""
    language = from_definition(c)
    compiled = compile_cohort(con, language)
    rules = len(language.persons_with)
    exposure = con.table("drug_exposure")
    assessment = con.table("assessment")

    # the exposed persons' CDASI administrations: the expression compile_cohort scores for
    # the inclusion rules (domain_events on the entry events' persons), so it is shared
    scores = cdasi_activity(assessment.semi_join(compiled.lines[rules + 1], "person_id"))
    unscorable = scores.filter(scores.activity.isnull()).aggregate(_unscorable=ibis._.count())
    # the qualifying exposures of the persons passing the diagnosis rules: the rows the
    # cohort's entry reads (the same expression, so the engine filters the exposures once;
    # on PostgreSQL each filter was a pass over every row, 0.17 to 0.21 s at 100,000 persons)
    qualifying = exposure_rows(
        con, language.entry.events[0], language.concept_sets, persons=compiled.lines[rules]
    )
    undated = qualifying.filter(qualifying.start_date.isnull()).aggregate(_undated=ibis._.count())
    head = compiled.attrition.cross_join(unscorable).cross_join(undated)
    # one aggregate per table (drug_exposure's two dates in one pass over it)
    for name in dict.fromkeys(name for name, _ in _CUTOFF):
        table = con.table(name)
        maxima = {f"_cutoff_{k}": table[c].max() for k, (t, c) in enumerate(_CUTOFF) if t == name}
        head = head.cross_join(table.aggregate(**maxima))

    members = compiled.index.select("person_id", "index_date")
    jak = qualifying.filter(qualifying.start_date.notnull()).semi_join(members, "person_id")
    ranked = jak.mutate(
        _rank=ibis.row_number().over(
            group_by="person_id", order_by=[jak.start_date, jak.ingredient, jak.exposure_id]
        )
    )
    index = ranked.filter(ranked._rank == 0).select(
        "person_id", ingredient=ranked.ingredient.lower()
    )
    # the members' first diagnosis: from the diagnosis events the cohort's first rule read for
    # every person (the diagnosis rows in the concept set, dated), so the engine matches
    # the diagnosis codes once (twice before; on PostgreSQL each a pass over every row)
    dm_events = compiled.registry_events[events_key(language.persons_with[0].criteria[0])]
    events = dm_events.semi_join(members, "person_id")
    first = events.group_by("person_id").aggregate(first_diagnosis_date=events.start_date.min())
    final = drop_right(members.inner_join(index, "person_id").inner_join(first, "person_id"))

    scored = scores.filter(scores.activity.notnull()).inner_join(
        final.select("person_id", "index_date"), "person_id"
    )
    scored = scored.mutate(days=scored.assessment_date.delta(scored.index_date, unit="day"))

    bw = c.baseline.window_days
    in_base = scored.filter((scored.days >= bw.start) & (scored.days <= bw.end))
    in_base = in_base.mutate(
        _rank=ibis.row_number().over(
            group_by="person_id",
            order_by=[in_base.days.abs(), ibis.desc(in_base.days), in_base.assessment_id],
        )
    )
    baseline = in_base.filter(in_base._rank == 0).select(
        "person_id",
        baseline_date=in_base.assessment_date,
        baseline_days=in_base.days,
        baseline_activity=in_base.activity,
    )
    with_baseline = drop_right(final.view().inner_join(baseline, "person_id"))

    fw = c.followup.window_days
    follow = scored.filter((scored.days >= fw.start) & (scored.days <= fw.end)).inner_join(
        baseline.select("person_id", "baseline_activity"), "person_id"
    )
    follow = follow.mutate(
        responded=response(
            follow.baseline_activity, follow.activity, rule.mcid, percent=rule.percent
        ).fill_null(False)
    )
    order = {
        "last": [ibis.desc(follow.days), follow.assessment_id],
        "first": [follow.days, follow.assessment_id],
        "best": [follow.activity, follow.days, follow.assessment_id],
    }[c.followup.use]
    # the chosen follow-up and the person's summary of every follow-up in one pass of
    # windows over the follow-ups, as the hand-written query does: a grouped summary joined
    # back read the follow-ups twice, and Spark, which shares no subquery, ranked the
    # baseline three times in the members' stage (0.70-0.91 -> 0.58-0.64 s warm, 100,000
    # synthetic persons, Spark local[2], 7 December 2026; DuckDB unchanged)
    person = ibis.window(group_by="person_id")
    follow = follow.mutate(
        _rank=ibis.row_number().over(group_by="person_id", order_by=order),
        followup_count=follow.days.count().over(person),
        last_followup_days=follow.days.max().over(person),
        response_days=follow.days.min(where=follow.responded).over(person),
    )
    chosen = follow.filter(follow._rank == 0).select(
        "person_id",
        followup_date=follow.assessment_date,
        followup_days=follow.days,
        followup_activity=follow.activity,
        responder=follow.responded,
        followup_count=follow.followup_count,
        last_followup_days=follow.last_followup_days,
        response_days=follow.response_days,
    )
    cohort = drop_right(with_baseline.inner_join(chosen, "person_id"))
    keys = cohort.select("person_id", "index_date")
    in_series = scored.semi_join(keys, "person_id")
    in_series = in_series.filter((in_series.days >= bw.start) & (in_series.days <= fw.end))
    therapy = exposure.filter(
        exposure.ingredient.strip().lower().isin(therapies).fill_null(False)
        if therapies
        else ibis.literal(False)
    )
    lab = con.table("laboratory")
    labs = drop_right(lab.semi_join(keys, "person_id").inner_join(keys, "person_id"))
    adverse = con.table("adverse_event")
    by_start = ["person_id", "start_date", "exposure_id"]
    # (kind, rows, order of the rows)
    kinds: list[tuple[str, ir.Table, list[str]]] = [
        # cohort.view() (final.view() above too): joined as it is, a join chain would be
        # extended, and a staged engine could no longer swap in its materialised table
        # (PostgreSQL computed the members again: 5.6 s of a 9 s part at 100,000 persons)
        ("patient", with_characteristics(con, cohort.view()), ["person_id"]),
        (
            "series",
            in_series.select("person_id", "days", "activity", "assessment_id"),
            ["person_id", "days", "assessment_id"],
        ),
        ("jak", jak.semi_join(keys, "person_id"), by_start),
        ("therapy", therapy.semi_join(keys, "person_id"), by_start),
        ("adverse_event", adverse.semi_join(keys, "person_id"), ["person_id", "onset_date"]),
        ("pruritus", _measures(assessment, keys, *pruritus), ["person_id", "assessment_date"]),
        ("mmt8", _measures(assessment, keys, "mmt8", "total"), ["person_id", "assessment_date"]),
        (
            "laboratory",
            labs.mutate(days=labs.result_date.delta(labs.index_date, unit="day")),
            ["person_id", "result_date"],
        ),
    ]
    extra = {
        "steps": [[s.label, s.criterion] for s in compiled.steps],
        "records": {kind: [list(table.columns), order] for kind, table, order in kinds},
    }
    return _Query(
        head,
        [table for _, table, _ in kinds],
        extra,
        compiled,
        [dm_events, qualifying, final, scores, cohort],
    )


def _measures(assessment: ir.Table, members: ir.Table, instrument: str, measure: str) -> ir.Table:
    """The members' assessments of ``instrument`` and ``measure`` with days from the index."""
    rows = assessment.filter(
        (assessment.instrument.lower() == instrument) & (assessment.measure.lower() == measure)
    ).inner_join(members, "person_id")
    rows = rows.mutate(days=rows.assessment_date.delta(rows.index_date, unit="day"))
    return rows.select("person_id", "assessment_date", "days", "value")


def _criterion(c: CohortDefinition, k: int, compiled: str) -> str:
    """Format 1's wording of attrition line ``k`` (the compiled cohort's otherwise)."""
    excluding = bool(c.diagnosis.exclude_codes)
    roles = ", ".join(c.diagnosis.codesets + [f"{r.system} {r.code}" for r in c.diagnosis.codes])
    wanted = c.exposure.codesets + c.exposure.ingredients
    texts = [
        "every person in the person table",
        f"code in {roles} on >= {c.diagnosis.min_occurrences} distinct date(s)",
        *(
            [f"no code in {', '.join(f'{r.system} {r.code}' for r in c.diagnosis.exclude_codes)}"]
            if excluding
            else []
        ),
        f"exposure in {', '.join(wanted)} (excluding "
        f"{', '.join(c.exposure.exclude_codesets) or 'no code set'}, formulations "
        f"{', '.join(c.exposure.exclude_formulations) or 'none'}, routes "
        f"{', '.join(c.exposure.exclude_routes) or 'none'}); index = first start",
        f"CDASI {c.baseline.measure} from {c.baseline.window_days.describe()} (closest to the "
        "index)",
        f"at least one CDASI {c.baseline.measure} from {c.followup.window_days.describe()}",
    ]
    return texts[k] if k < len(texts) else compiled


def _what_to_do(c: CohortDefinition, k: int) -> str:
    advice = [
        "The registry has no persons: load data first (myositis synth or an importer).",
        "Check the diagnosis code sets and min_occurrences in the specification against the "
        "codes in the registry's diagnosis table.",
        *(
            ["Every person has an excluding code: check cohort.diagnosis.exclude_codes."]
            if c.diagnosis.exclude_codes
            else []
        ),
        "Check cohort.exposure (code sets, ingredients, exclusions) against the registry's "
        "drug_exposure table.",
        "No exposed person has a scorable CDASI in the baseline window: widen "
        "cohort.baseline.window_days or check the assessment table (instrument 'cdasi').",
        "No one has a follow-up CDASI in the window: widen cohort.followup.window_days or "
        "check the follow-up assessments.",
    ]
    return advice[k] if k < len(advice) else "Check this rule of the cohort definition."


def _patient(r: dict[str, Any]) -> Patient:
    return Patient(
        person_id=int(r["person_id"]),
        site=r["site"],
        sex=r["sex"],
        race=r["race"],
        ethnicity=r["ethnicity"],
        age_at_index=age_in_years(r["birth_date"], r["birth_year"], r["index_date"]),
        subtype=r["subtype"],
        index_date=r["index_date"],
        ingredient=r["ingredient"],
        first_diagnosis_date=r["first_diagnosis_date"],
        baseline_date=r["baseline_date"],
        baseline_days=int(r["baseline_days"]),
        baseline_activity=float(r["baseline_activity"]),
        followup_date=r["followup_date"],
        followup_days=int(r["followup_days"]),
        followup_activity=float(r["followup_activity"]),
        followup_count=int(r["followup_count"]),
        last_followup_days=int(r["last_followup_days"]),
        responder=bool(r["responder"]),
        response_days=None if r["response_days"] is None else int(r["response_days"]),
        death=death_of(r),
    )


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


__all__ = ["AttritionStep", "CohortResult", "Patient", "build_cohort", "empty_step_error"]
