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
(:func:`myositis.cohort.compile.compile_cohort`): the attrition and the index dates come from
one query. The entry events' CDASI assessments are scored once (one query, kept as a small
table) and serve both the cohort's baseline and follow-up rules and the report; then the
members' records are collected. A step that no person passes raises
:class:`myositis.errors.EmptyStepError` naming the step and the counts so far.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow.compute as pc
from ibis import BaseBackend

from myositis.cohort.cdasi_activity import cdasi_activity
from myositis.cohort.compile import compile_cohort, events_key
from myositis.cohort.concepts import (
    diagnosis_events,
    qualifying_exposures,
)
from myositis.cohort.definition import CohortDefinition, ResponseRule
from myositis.cohort.members import characteristics
from myositis.cohort.staging import staged_result
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

    @property
    def improvement(self) -> float:
        return self.baseline_activity - self.followup_activity

    @property
    def change(self) -> float:
        return self.followup_activity - self.baseline_activity


@dataclass
class CohortResult:
    """A built cohort: its members, its attrition and every record the analyses need, already
    restricted to the members, with the definition it was built from."""

    definition: CohortDefinition
    attrition: list[AttritionStep]
    patients: list[Patient]
    #: CDASI activity per patient: (days from index, activity), baseline window to follow-up end.
    cdasi_series: dict[int, list[tuple[int, float]]]
    #: Qualifying (systemic JAK) exposure rows of the patients.
    jak_exposures: list[dict[str, Any]]
    #: Rows of the specification's systemic therapies (prior and concomitant).
    therapies: list[dict[str, Any]]
    adverse_events: list[dict[str, Any]]
    #: Other assessments and laboratory rows: instrument/measure or test, with days from index.
    pruritus: list[dict[str, Any]]
    labs: list[dict[str, Any]]
    mmt8: list[dict[str, Any]]
    #: Last date recorded anywhere in the registry: the end of open-ended exposures.
    data_cutoff: dt.date
    #: CDASI administrations of the exposed persons whose activity could not be scored.
    unscorable_cdasi: int
    notes: list[str] = field(default_factory=list)


def _materialise(table: ir.Table) -> ir.Table:
    """Run ``table`` once and keep the (small, cohort-sized) result as an Ibis memtable, so
    later steps neither recompute nor recompile the expressions that produced it."""
    return ibis.memtable(table.to_pyarrow())


def _rows(table: ir.Table) -> list[dict[str, Any]]:
    return list(table.to_pyarrow().to_pylist())


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
    """
    say = progress
    c = definition
    rule = response_rule or ResponseRule()
    diagnosis = con.table("diagnosis")
    exposure = con.table("drug_exposure")
    assessment = con.table("assessment")

    language = from_definition(c)
    say("finding the entry events")
    entered = compile_cohort(con, language)
    rules = len(language.persons_with)
    exposed_persons = _materialise(entered.lines[rules + 1].select("person_id").distinct())
    say("scoring CDASI assessments")
    scores = _materialise(cdasi_activity(assessment.semi_join(exposed_persons, "person_id")))
    # the inclusion rules' CDASI events: the scores just computed (scored once, compiled once)
    criterion = language.inclusion[0].criteria[0]
    measured = scores.filter(scores.activity.notnull())
    provided = {
        events_key(criterion): measured.select(
            "person_id",
            start_date=measured.assessment_date,
            end_date=measured.assessment_date,
            value=measured.activity,
        )
    }
    say("running the cohort definition (one query)")
    compiled = compile_cohort(con, language, provided=provided)
    index_events = compiled.index.select("person_id", "index_date")
    found_expr = compiled.attrition.left_join(index_events, [ibis.literal(True)])
    with staged_result(con, compiled, found_expr) as staged:
        found = staged.to_pyarrow()
    steps = _Steps()
    row = found.slice(0, 1).to_pylist()[0]
    for k, step in enumerate(compiled.steps):
        steps.add(
            step.label,
            _criterion(c, k, step.criterion),
            int(row[f"step_{k}"] or 0),
            what_to_do=_what_to_do(c, k),
        )
    found = found.filter(pc.is_valid(found.column("person_id")))
    members = ibis.memtable(found.select(["person_id", "index_date"]))

    say("collecting the index exposures")
    dm = compiled.lines[rules]  # persons passing the diagnosis rules
    qualifying = qualifying_exposures(exposure, c.exposure)
    undated = int(
        qualifying.semi_join(dm, "person_id").filter(ibis._.start_date.isnull()).count().execute()
    )
    jak = _materialise(
        qualifying.filter(qualifying.start_date.notnull()).semi_join(members, "person_id")
    )
    ranked = jak.mutate(
        _rank=ibis.row_number().over(
            group_by="person_id", order_by=[jak.start_date, jak.ingredient, jak.exposure_id]
        )
    )
    index = ranked.filter(ranked._rank == 0).select(
        "person_id", ingredient=ranked.ingredient.lower()
    )
    events = diagnosis_events(diagnosis, c.diagnosis).semi_join(members, "person_id")
    first = events.group_by("person_id").aggregate(first_diagnosis_date=events.diagnosis_date.min())
    final = _materialise(members.inner_join(index, "person_id").inner_join(first, "person_id"))

    unscorable = int(scores.filter(scores.activity.isnull()).count().execute())
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
    with_baseline = _materialise(final.inner_join(baseline, "person_id"))

    fw = c.followup.window_days
    follow = scored.filter((scored.days >= fw.start) & (scored.days <= fw.end)).inner_join(
        with_baseline.select("person_id", "baseline_activity"), "person_id"
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
    follow = follow.mutate(_rank=ibis.row_number().over(group_by="person_id", order_by=order))
    chosen = follow.filter(follow._rank == 0).select(
        "person_id",
        followup_date=follow.assessment_date,
        followup_days=follow.days,
        followup_activity=follow.activity,
        responder=follow.responded,
    )
    summary = follow.group_by("person_id").aggregate(
        followup_count=follow.count(),
        last_followup_days=follow.days.max(),
        response_days=follow.days.min(where=follow.responded),
    )
    cohort = _materialise(
        with_baseline.inner_join(chosen, "person_id").inner_join(summary, "person_id")
    )

    say("collecting the cohort's records")
    members = cohort.select("person_id", "index_date")
    patients = _patients(con, cohort)
    series = _series(scored.semi_join(members, "person_id"), bw.start, fw.end)
    jak_rows = _rows(
        jak.semi_join(members, "person_id").order_by(["person_id", "start_date", "exposure_id"])
    )
    wanted_therapies = sorted({t.strip().lower() for t in systemic_therapies})
    therapy = exposure.filter(
        exposure.ingredient.strip().lower().isin(wanted_therapies).fill_null(False)
        if wanted_therapies
        else ibis.literal(False)
    )
    therapies = _rows(
        therapy.semi_join(members, "person_id").order_by(["person_id", "start_date", "exposure_id"])
    )
    ae = con.table("adverse_event")
    adverse = _rows(ae.semi_join(members, "person_id").order_by(["person_id", "onset_date"]))
    pruritus_rows = _measures(assessment, members, *pruritus)
    mmt8 = _measures(assessment, members, "mmt8", "total")
    lab = con.table("laboratory")
    labs = lab.semi_join(members, "person_id").inner_join(members, "person_id")
    labs = labs.mutate(days=labs.result_date.delta(labs.index_date, unit="day"))
    lab_rows = _rows(labs.order_by(["person_id", "result_date"]))
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
        definition=definition,
        attrition=steps.steps,
        patients=patients,
        cdasi_series=series,
        jak_exposures=jak_rows,
        therapies=therapies,
        adverse_events=adverse,
        pruritus=pruritus_rows,
        labs=lab_rows,
        mmt8=mmt8,
        data_cutoff=_data_cutoff(con),
        unscorable_cdasi=unscorable,
        notes=notes,
    )


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


def _patients(con: BaseBackend, cohort: ir.Table) -> list[Patient]:
    # Only the members' keys go to the engine for the characteristics: Spark, given the whole
    # in-memory cohort table to join, read its integer column with nulls (response_days) as
    # all nulls (found by benchmarks/bench_cohort.py at 100,000 persons).
    people = {r["person_id"]: r for r in characteristics(con, cohort)}
    rows = _rows(cohort.order_by("person_id"))
    return [
        Patient(
            person_id=int(r["person_id"]),
            site=people[r["person_id"]]["site"],
            sex=people[r["person_id"]]["sex"],
            race=people[r["person_id"]]["race"],
            ethnicity=people[r["person_id"]]["ethnicity"],
            age_at_index=people[r["person_id"]]["age_at_index"],
            subtype=people[r["person_id"]]["subtype"],
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
        )
        for r in rows
    ]


def _series(scored: ir.Table, start: int, end: int) -> dict[int, list[tuple[int, float]]]:
    rows = scored.filter((scored.days >= start) & (scored.days <= end))
    out: dict[int, list[tuple[int, float]]] = {}
    for r in _rows(rows.select("person_id", "days", "activity").order_by(["person_id", "days"])):
        out.setdefault(int(r["person_id"]), []).append((int(r["days"]), float(r["activity"])))
    return out


def _measures(
    assessment: ir.Table, members: ir.Table, instrument: str, measure: str
) -> list[dict[str, Any]]:
    rows = assessment.filter(
        (assessment.instrument.lower() == instrument) & (assessment.measure.lower() == measure)
    ).inner_join(members, "person_id")
    rows = rows.mutate(days=rows.assessment_date.delta(rows.index_date, unit="day"))
    return _rows(
        rows.select("person_id", "assessment_date", "days", "value").order_by(
            ["person_id", "assessment_date"]
        )
    )


def _data_cutoff(con: BaseBackend) -> dt.date:
    """The last date recorded in the registry (exposures, assessments, laboratory, events):
    the maximum of each date column, all read in one query (one row of six maxima)."""
    columns = [
        ("drug_exposure", "start_date"),
        ("drug_exposure", "end_date"),
        ("assessment", "assessment_date"),
        ("laboratory", "result_date"),
        ("adverse_event", "onset_date"),
        ("diagnosis", "diagnosis_date"),
    ]
    maxima: ir.Table | None = None
    for k, (name, column) in enumerate(columns):
        table = con.table(name)
        one = table.aggregate(**{f"d{k}": table[column].max()})
        maxima = one if maxima is None else maxima.cross_join(one)
    assert maxima is not None
    # to_pyarrow, not execute: an empty table's max is None there, not pandas' NaT.
    row = maxima.to_pyarrow().to_pylist()[0]
    dates = [d for d in row.values() if d is not None]
    return max(_as_date(d) for d in dates)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


__all__ = ["AttritionStep", "CohortResult", "Patient", "build_cohort", "empty_step_error"]
