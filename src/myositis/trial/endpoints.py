"""Endpoints per protocol from visit data: TIS and IMACS DOI at each visit against baseline,
prednisone-free response, intercurrent events and a derivation listing per patient.

Rules (docs/trial.md, "Endpoints"):

- **Visits.** Visit ``v`` of a patient randomised on day 0 is due on ``day0 + v.day``; its
  window runs from ``v.day - window_before`` to ``v.day + window_after`` (both included). For
  each core set measure the recorded value in the window closest to the due day is used
  (ties: the earlier; then the lower assessment id / row). The visit's date is the date of
  its physician global assessment (else the latest date used).
- **Outside every window.** A core set assessment on or after day 0 that falls in no window
  (and not after the last window) is reported as a problem (``problems``, table, row, date,
  the nearest windows); the specification's ``data_checks.outside_window: error`` (or
  ``strict=True``) stops the derivation instead (InvalidInputError).
- **Scores.** TIS and DOI are computed by :func:`myositis.instruments.tis.score_one` and
  :func:`myositis.instruments.doi.score_one` from the baseline and visit values (never
  re-implemented). Enzymes: every enzyme measured at baseline (``laboratory.test`` among
  ck, aldolase, ldh, alt, ast) must be measured at the visit; the baseline ULN is used. A
  missing measure makes the TIS and DOI *not computable*, with the reason; never 0. A visit
  with some but not all core set measures is flagged (``data_checks.missing_measure``); a
  visit with no assessment at all is *missed* (not a data error: ``missing_visit``).
- **Prednisone-free.** ``prednisone_free_days = k``: 0 mg on each of the ``k`` days up to and
  including the visit date (daily doses from :mod:`myositis.trial.prednisone`).
- **Intercurrent events** up to the endpoint visit (the visit date, or the end of its window
  when the visit is missing): withdrawal (enrolment ``withdrawal_date``), rescue therapy (a
  ``drug_exposure`` of ``rescue_ingredients`` running on or after day 0) and prednisone
  restarted (a day with prednisone after a day without it). With the ``non_responder``
  strategy the patient is a non-responder; with ``treatment_policy`` the observed outcome is
  used. A missing or not computable endpoint visit is a non-responder (``missing_visit``).

Outputs carry no arm: endpoints are derived blind; :mod:`myositis.trial.analysis` joins the
arms (from the unblinded store) only for the unblinded analysis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from myositis.errors import InputProblem, InvalidInputError
from myositis.trial.prednisone import Adherence, DailyDoses, adherence, daily_doses, restarted
from myositis.trial.records import (
    CORE_SET_SOURCES,
    Enrolment,
    Measurement,
    read_assessments,
    read_enrolment,
    read_enzymes,
    read_exposures,
)
from myositis.trial.spec import Endpoint, TrialSpec, Visit

ENZYMES = ("ck", "aldolase", "ldh", "alt", "ast")
CORE = ("pga", "ptga", "mmt8", "haq", "ema")


@dataclass(frozen=True)
class Trace:
    """One line of a derivation listing: what was derived, its value, and from which rows."""

    step: str
    detail: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class VisitScore:
    """A visit's values and its TIS and DOI against baseline (None when not computable)."""

    visit: str
    due: dt.date
    date: dt.date | None
    values: Mapping[str, Measurement]
    tis: float | None = None
    tis_category: str | None = None
    doi_met: bool | None = None
    doi_improved: int | None = None
    doi_worsened: int | None = None
    not_computable: str | None = None  # the reason, when the scores could not be computed

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(m.source for m in self.values.values())


@dataclass(frozen=True)
class IntercurrentEvent:
    kind: str  # dropout | rescue_therapy | prednisone_restarted | missing_visit
    date: dt.date | None
    detail: str
    source: str
    strategy: str


@dataclass(frozen=True)
class EndpointValue:
    """One patient's endpoint: the observed outcome, the events, the value analysed."""

    endpoint: str
    visit: str
    observed: bool | None  # None: not computable or visit missing
    responder: bool  # after the intercurrent-event strategy
    reason: str
    events: tuple[IntercurrentEvent, ...] = ()
    #: what decided the value: ``responder``, ``not met`` (below the threshold, DOI not
    #: met), ``not prednisone-free``, or the intercurrent event that made a non-responder
    #: (``dropout``, ``rescue_therapy``, ``prednisone_restarted``, ``missing_visit``)
    basis: str = ""


@dataclass(frozen=True)
class PatientEndpoints:
    """Everything derived for one patient, traceable to its rows; no arm."""

    person_id: int
    stratum: str
    randomised: dt.date
    visits: tuple[VisitScore, ...]
    endpoints: tuple[EndpointValue, ...]
    adherence: Adherence | None
    listing: tuple[Trace, ...]

    def endpoint(self, name: str) -> EndpointValue:
        return next(e for e in self.endpoints if e.endpoint == name)

    def visit(self, name: str) -> VisitScore:
        return next(v for v in self.visits if v.visit == name)


@dataclass(frozen=True)
class TrialEndpoints:
    """All patients' endpoints, the problems flagged, and the specification's hash."""

    spec_sha256: str
    patients: tuple[PatientEndpoints, ...]
    problems: tuple[InputProblem, ...] = field(default=())

    def responders(self, endpoint: str) -> dict[int, bool]:
        return {p.person_id: p.endpoint(endpoint).responder for p in self.patients}

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per patient and endpoint (blinded: no arm), for tables and files."""
        return [
            {
                "person_id": p.person_id,
                "stratum": p.stratum,
                "endpoint": e.endpoint,
                "visit": e.visit,
                "observed": e.observed,
                "responder": e.responder,
                "events": "; ".join(f"{ev.kind} {ev.date or ''}".strip() for ev in e.events),
                "reason": e.reason,
            }
            for p in self.patients
            for e in p.endpoints
        ]


@dataclass(frozen=True)
class _Pending:
    enrolment: Enrolment
    base: dict[str, Measurement]
    visits: list[tuple[Visit, dt.date, dict[str, Measurement]]]
    scores: list[VisitScore]


def _closest(values: Sequence[Measurement], due: dt.date, visit: Visit, day0: dt.date
             ) -> Measurement | None:  # fmt: skip
    inside = [m for m in values if visit.contains((m.date - day0).days)]
    if not inside:
        return None
    return min(inside, key=lambda m: (abs((m.date - due).days), m.date, m.source))


def _merge(pending: VisitScore, scored: VisitScore | None) -> VisitScore:
    if scored is None:
        return pending
    return replace(pending, tis=scored.tis, tis_category=scored.tis_category,
                   doi_met=scored.doi_met, doi_improved=scored.doi_improved,
                   doi_worsened=scored.doi_worsened)  # fmt: skip


def _fmt(value: float) -> str:
    return f"{value:g}"


class _Deriver:
    def __init__(self, spec: TrialSpec) -> None:
        self.spec = spec
        self.problems: list[InputProblem] = []
        #: the problems of each kind (``outside_window``, ``missing_measure``), for the
        #: specification's data checks
        self.kinds: list[str] = []
        #: complete baseline/visit pairs waiting to be scored in one batch
        self.pairs: list[tuple[int, str, dict[str, Any]]] = []

    # -- visits --------------------------------------------------------------------------

    def visit_values(
        self, e: Enrolment, measurements: Sequence[Measurement], visit: Visit
    ) -> tuple[dt.date, dict[str, Measurement]]:
        due = e.randomised + dt.timedelta(days=visit.day)
        chosen: dict[str, Measurement] = {}
        for key in sorted({m.measure for m in measurements}):
            found = _closest([m for m in measurements if m.measure == key], due, visit,
                             e.randomised)  # fmt: skip
            if found is not None:
                chosen[key] = found
        return due, chosen

    def flag_outside(self, e: Enrolment, measurements: Sequence[Measurement]) -> None:
        visits = self.spec.visits
        last = visits[-1].day + visits[-1].window_after
        for m in measurements:
            day = (m.date - e.randomised).days
            if day < 0 or day > last or any(v.contains(day) for v in visits):
                continue
            before = [v for v in visits if v.day + v.window_after < day]
            after = [v for v in visits if v.day - v.window_before > day]
            near = []
            if before:
                v = before[-1]
                near.append(f"{v.name}: day {v.day - v.window_before} to {v.day + v.window_after}")
            if after:
                v = after[0]
                near.append(f"{v.name}: day {v.day - v.window_before} to {v.day + v.window_after}")
            table = m.source.partition(" ")[0]
            self.kinds.append("outside_window")
            self.problems.append(
                InputProblem(
                    m.row,
                    "result_date" if table == "laboratory" else "assessment_date",
                    str(m.date),
                    f"person {e.person_id}: {m.measure} ({m.source}) on day {day} after "
                    f"randomisation is outside every visit window ({'; '.join(near)}); "
                    "move it to its visit or widen the window in the specification",
                    table,
                )
            )

    def score(self, e: Enrolment, base: Mapping[str, Measurement], visit: Visit, due: dt.date,
              values: dict[str, Measurement]) -> VisitScore:  # fmt: skip

        date = (
            values["pga"].date
            if "pga" in values
            else max((m.date for m in values.values()), default=None)
        )
        if not values:
            window = f"day {visit.day - visit.window_before} to {visit.day + visit.window_after}"
            return VisitScore(
                visit.name,
                due,
                None,
                values,
                not_computable=f"missed: no assessment in the window ({window})",
            )
        missing = [k for k in CORE if k not in base or k not in values]
        base_enzymes = [k for k in ENZYMES if k in base]
        missing += [k for k in base_enzymes if k not in values]
        if not base_enzymes:
            missing.append("a muscle enzyme (ck, aldolase, ldh, alt or ast)")
        if missing:
            where = ", ".join(
                f"{k} at {'baseline' if k not in base else visit.name}" for k in missing
            )
            reason = f"not computable: no {where} within the visit window"
            if visit.name != self.spec.visits[0].name:
                self.kinds.append("missing_measure")
                self.problems.append(
                    InputProblem(None, "assessment", None,
                                 f"person {e.person_id}, {visit.name} (due {due}): {reason} "
                                 "(a missing core set measure)", "assessment")
                )  # fmt: skip
            return VisitScore(visit.name, due, date, values, not_computable=reason)
        pair: dict[str, Any] = {}
        for k in CORE:
            pair[f"{k}_baseline"] = base[k].value
            pair[f"{k}_followup"] = values[k].value
        pair["mmt8_max"] = self.spec.mmt8_max
        for k in base_enzymes:
            pair[f"{k}_baseline"] = base[k].value
            pair[f"{k}_followup"] = values[k].value
            pair[f"{k}_uln"] = base[k].uln
        self.pairs.append((e.person_id, visit.name, pair))
        return VisitScore(visit.name, due, date, values)

    # -- one patient -----------------------------------------------------------------------

    def collect(self, e: Enrolment, measurements: Sequence[Measurement]) -> _Pending:
        """First pass: the visits, their values and the pairs to score (scored in one batch)."""
        spec = self.spec
        self.flag_outside(e, measurements)
        baseline = spec.visits[0]
        _, base = self.visit_values(e, measurements, baseline)
        visits: list[tuple[Visit, dt.date, dict[str, Measurement]]] = []
        scores: list[VisitScore] = []
        for visit in spec.visits:
            due, values = self.visit_values(e, measurements, visit)
            visits.append((visit, due, values))
            if visit is baseline:
                continue
            if e.withdrawn is not None and e.withdrawn < due and not values:
                scores.append(
                    VisitScore(
                        visit.name,
                        due,
                        None,
                        values,
                        not_computable=f"not done: withdrew {e.withdrawn}",
                    )
                )
                continue  # fmt: skip
            scores.append(self.score(e, base, visit, due, values))
        return _Pending(e, base, visits, scores)

    def finish(
        self,
        pending: _Pending,
        scored: Mapping[tuple[int, str], VisitScore],
        exposures: Sequence[Any],
        rescue: Sequence[Any],
    ) -> PatientEndpoints:
        """Second pass: scores filled in, prednisone, intercurrent events, endpoints."""
        spec, e, base = self.spec, pending.enrolment, pending.base
        scores = [_merge(s, scored.get((e.person_id, s.visit))) for s in pending.scores]
        by_visit = {s.visit: s for s in scores}
        listing: list[Trace] = [
            Trace("enrolment", f"stratum {e.stratum}; randomised {e.randomised} (day 0)"
                  + (f"; withdrew {e.withdrawn} ({e.withdrawal_reason or 'no reason given'})"
                     if e.withdrawn else ""), (f"enrolment row {e.row}",))
        ]  # fmt: skip
        for visit, due, values in pending.visits:
            shown = (
                ", ".join(
                    f"{k} {_fmt(m.value)} on {m.date} [{m.source}]" for k, m in values.items()
                )
                or "no assessment in the window"
            )
            window = (f"day {visit.day - visit.window_before} to "
                      f"{visit.day + visit.window_after}")  # fmt: skip
            listing.append(Trace(f"visit {visit.name}", f"due {due} ({window}): {shown}",
                                 tuple(m.source for m in values.values())))  # fmt: skip
            score = by_visit.get(visit.name)
            if score is None:
                continue
            if score.not_computable:
                listing.append(Trace(f"scores {visit.name}", score.not_computable))
            else:
                listing.append(Trace(
                    f"scores {visit.name}",
                    f"TIS {_fmt(score.tis or 0)} ({score.tis_category}); DOI "
                    f"{'met' if score.doi_met else 'not met'} ({score.doi_improved} improved, "
                    f"{score.doi_worsened} worsened) against baseline",
                    tuple(m.source for m in base.values()) + score.sources))  # fmt: skip
        last_day = e.randomised + dt.timedelta(
            days=spec.visits[-1].day + spec.visits[-1].window_after
        )
        doses = daily_doses(e.person_id, exposures, e.randomised, last_day)
        taper = spec.prednisone_taper
        adherent: Adherence | None = None
        if taper is not None:
            until = min(last_day, e.withdrawn) if e.withdrawn else last_day
            adherent = adherence(doses, taper, until)
            share = "" if adherent.share is None else f" ({adherent.share:.0%})"
            listing.append(Trace(
                "taper adherence",
                f"{adherent.on_schedule} of {adherent.days} days on the protocol taper{share}; "
                f"{adherent.above} above, {adherent.below} below"
                + (f"; first day above {adherent.first_day_above}"
                   if adherent.first_day_above else ""),
                tuple(sorted({s for s in doses.sources if s}))))  # fmt: skip
        results = tuple(
            self.endpoint(e, endpoint, scores, doses, rescue, listing)
            for endpoint in spec.endpoints
        )
        return PatientEndpoints(e.person_id, e.stratum, e.randomised, tuple(scores), results,
                                adherent, tuple(listing))  # fmt: skip

    def score_all(self) -> dict[tuple[int, str], VisitScore]:
        """Score every waiting pair in one TIS and one DOI query (the instruments' own Ibis
        definitions, :mod:`myositis.instruments`), after checking every value."""
        if not self.pairs:
            return {}
        import ibis

        from myositis.instruments.doi import DOI
        from myositis.instruments.engine import ROW
        from myositis.instruments.tis import TIS

        columns = sorted({c for _, _, pair in self.pairs for c in pair})
        data = {ROW: list(range(1, len(self.pairs) + 1))}
        text = {c: [None if (v := pair.get(c)) is None else str(v) for _, _, pair in self.pairs]
                for c in columns}  # fmt: skip
        table = ibis.memtable(pa.table({**data, **text}))
        labels = [f"person {pid}, {visit}" for pid, visit, _ in self.pairs]
        instruments = (TIS(self.spec.population), DOI(self.spec.population))
        problems = instruments[0].problems(table, source="visit values")
        if problems:
            raise InvalidInputError(
                [InputProblem(None, p.column, p.value,
                              f"{labels[(p.row or 1) - 1]}: {p.reason}", "assessment")
                 for p in problems]
            )  # fmt: skip
        plain = table.drop(ROW)
        tis_rows = instruments[0].scores(plain).to_pyarrow().to_pylist()
        doi_rows = instruments[1].scores(plain).to_pyarrow().to_pylist()
        out: dict[tuple[int, str], VisitScore] = {}
        for (pid, visit, _), t, d in zip(self.pairs, tis_rows, doi_rows, strict=True):
            out[(pid, visit)] = VisitScore(
                visit, dt.date.min, None, {}, t["tis"], t["tis_category"], d["doi_met"],
                d["doi_improved"], d["doi_worsened"],
            )  # fmt: skip
        return out

    def endpoint(self, e: Enrolment, endpoint: Endpoint, scores: Sequence[VisitScore],
                 doses: DailyDoses, rescue: Sequence[Any], listing: list[Trace]
                 ) -> EndpointValue:  # fmt: skip
        spec, ice = self.spec, self.spec.intercurrent_events
        visit = spec.visit(endpoint.visit)
        score = next(s for s in scores if s.visit == endpoint.visit)
        cutoff = score.date or (score.due + dt.timedelta(days=visit.window_after))
        observed: bool | None
        sources = score.sources
        steroid = False  # the definition was met but for prednisone
        if score.not_computable or (not score.values):
            observed = None
            why = score.not_computable or f"no assessment at {visit.name}"
        elif endpoint.kind == "doi":
            observed = bool(score.doi_met)
            why = f"DOI {'met' if observed else 'not met'} at {visit.name} ({score.date})"
        else:
            threshold = endpoint.tis_at_least or 0
            reached = (score.tis or 0) >= threshold
            why = f"TIS {_fmt(score.tis or 0)} {'>=' if reached else '<'} {_fmt(threshold)}"
            observed = reached
            if endpoint.prednisone_free_days and score.date is not None:
                k = endpoint.prednisone_free_days
                days = [score.date - dt.timedelta(days=j) for j in range(k)]
                taken = [d for d in days if doses.on(d) > 0]
                used = tuple(sorted({s for d in days if (s := doses.source_on(d))}))
                sources = sources + used
                if taken:
                    steroid = bool(observed)
                    observed = False
                    why += (f"; not prednisone-free: {_fmt(doses.on(taken[-1]))} mg on "
                            f"{taken[-1]} ({doses.source_on(taken[-1])}) within the {k} days "
                            f"to {score.date}")  # fmt: skip
                else:
                    why += f"; prednisone-free: 0 mg on each of the {k} days to {score.date}"
                    earlier = (
                        days[-1] - dt.timedelta(days=j)
                        for j in range(1, (days[-1] - e.randomised).days + 1)
                    )
                    last = next((d for d in earlier if doses.on(d) > 0), None)
                    if last is not None:
                        record = doses.source_on(last) or "drug_exposure"
                        why += f" (last dose {_fmt(doses.on(last))} mg on {last}, {record})"
                        sources = sources + (record,)  # fmt: skip
        events = list(self.events(e, cutoff, doses, rescue))
        if observed is None:
            events.append(IntercurrentEvent("missing_visit", None, why, f"enrolment row {e.row}",
                                            ice.missing_visit))  # fmt: skip
        deciding = [ev for ev in events if ev.strategy == "non_responder"]
        if deciding:
            responder = False
            basis = deciding[0].kind
            reason = (f"non-responder ({deciding[0].kind}: {deciding[0].detail}); "
                      f"observed: {why}")  # fmt: skip
        else:
            responder = bool(observed)
            basis = "responder" if responder else "not prednisone-free" if steroid else "not met"
            reason = ("responder" if responder else "non-responder") + f": {why}"
            if events:
                reason += "; " + "; ".join(f"{ev.kind} handled by treatment policy"
                                           for ev in events)  # fmt: skip
        used = tuple(dict.fromkeys(sources + tuple(ev.source for ev in events)))  # once each
        listing.append(Trace(f"endpoint {endpoint.name}", reason, used))
        return EndpointValue(endpoint.name, endpoint.visit, observed, responder, reason,
                             tuple(events), basis)  # fmt: skip

    def events(self, e: Enrolment, cutoff: dt.date, doses: DailyDoses, rescue: Sequence[Any]
               ) -> list[IntercurrentEvent]:  # fmt: skip
        ice = self.spec.intercurrent_events
        out: list[IntercurrentEvent] = []
        if e.withdrawn is not None and e.withdrawn <= cutoff:
            out.append(IntercurrentEvent("dropout", e.withdrawn,
                                         f"withdrew {e.withdrawn} "
                                         f"({e.withdrawal_reason or 'no reason given'})",
                                         f"enrolment row {e.row}", ice.dropout))  # fmt: skip
        for r in rescue:
            if r.start <= cutoff and (r.end is None or r.end >= e.randomised):
                out.append(IntercurrentEvent("rescue_therapy", r.start,
                                             f"{r.ingredient} from {r.start}", r.source,
                                             ice.rescue_therapy))  # fmt: skip
                break
        again = restarted(doses, cutoff)
        if again is not None:
            day, source = again
            out.append(IntercurrentEvent("prednisone_restarted", day,
                                         f"prednisone {_fmt(doses.on(day))} mg on {day} after "
                                         "days without", source or "drug_exposure",
                                         ice.prednisone_restarted))  # fmt: skip
        return out


def derive_endpoints(
    spec: TrialSpec,
    enrolment: pa.Table,
    assessment: pa.Table,
    laboratory: pa.Table,
    drug_exposure: pa.Table,
    *,
    strict: bool | None = None,
) -> TrialEndpoints:
    """Derive every endpoint of ``spec`` for every enrolled patient (see the module rules).

    Raises :class:`InvalidInputError` for input that cannot be read (unknown stratum, blank
    dates, overlapping dose records, a dose that is not in mg, invalid instrument values).
    The flagged problems (an assessment outside every visit window, a visit missing some
    core set measures) are returned in ``problems``, or raised as the specification's
    ``data_checks`` say (``error``); ``strict=True`` raises both kinds, ``strict=False``
    neither.
    """
    enrolled = read_enrolment(enrolment, spec.stratum_names)
    persons = {e.person_id for e in enrolled}
    measures = read_assessments(assessment, persons, CORE_SET_SOURCES)
    enzymes = read_enzymes(laboratory, persons, ENZYMES)
    taper_ingredient = spec.prednisone_taper.ingredient if spec.prednisone_taper else "prednisone"
    rescue_names = set(spec.intercurrent_events.rescue_ingredients)
    exposures = read_exposures(drug_exposure, persons, {taper_ingredient} | rescue_names)
    deriver = _Deriver(spec)
    pending = [
        deriver.collect(e, measures.get(e.person_id, []) + enzymes.get(e.person_id, []))
        for e in enrolled
    ]
    scored = deriver.score_all()
    patients: list[PatientEndpoints] = []
    overlap_problems: list[InputProblem] = []
    for item in pending:
        records = exposures.get(item.enrolment.person_id, [])
        pred = [r for r in records if r.ingredient == taper_ingredient]
        rescue = sorted((r for r in records if r.ingredient in rescue_names),
                        key=lambda r: r.start)  # fmt: skip
        try:
            patients.append(deriver.finish(item, scored, pred, rescue))
        except InvalidInputError as exc:
            overlap_problems += exc.problems
    if overlap_problems:
        raise InvalidInputError(overlap_problems)
    checks = spec.data_checks
    stopping = {
        kind
        for kind, rule in (("outside_window", checks.outside_window),
                           ("missing_measure", checks.missing_measure))
        if (rule == "error" if strict is None else strict)
    }  # fmt: skip
    errors = [p for p, kind in zip(deriver.problems, deriver.kinds, strict=True)
              if kind in stopping]  # fmt: skip
    if errors:
        raise InvalidInputError(errors)
    return TrialEndpoints(spec.sha256(), tuple(patients), tuple(deriver.problems))


def visit_measure(
    spec: TrialSpec,
    enrolment: pa.Table,
    assessment: pa.Table,
    *,
    instrument: str,
    measure: str,
) -> dict[int, dict[str, Measurement]]:
    """A recorded score (e.g. ``cdasi``/``activity``) per patient and visit, chosen by the
    same window rule as the core set measures."""
    enrolled = read_enrolment(enrolment, spec.stratum_names)
    persons = {e.person_id for e in enrolled}
    recorded = read_assessments(assessment, persons, {"value": (instrument, measure)})
    out: dict[int, dict[str, Measurement]] = {}
    deriver = _Deriver(spec)
    for e in enrolled:
        out[e.person_id] = {}
        for visit in spec.visits:
            _, chosen = deriver.visit_values(e, recorded.get(e.person_id, []), visit)
            if "value" in chosen:
                out[e.person_id][visit.name] = chosen["value"]
    return out


__all__ = [
    "EndpointValue",
    "IntercurrentEvent",
    "PatientEndpoints",
    "Trace",
    "TrialEndpoints",
    "VisitScore",
    "derive_endpoints",
    "visit_measure",
]
