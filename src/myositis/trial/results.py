"""The results of a trial report as one plain dictionary: every number the report shows, with
its provenance, written to ``results.json`` and rendered from it alone.

Three kinds:

- ``trial-blinded`` (:func:`blinded_results`): arms pooled. Built from the derived endpoints
  and the registry rows only; it never sees an allocation, and it names no arm: the design
  section gives the number of arms and the ratio, not their names, and leaves out the block
  sizes (knowing them helps guess the last allocations of a block). The trial's title and
  estimand are printed as the specification states them.
- ``trial-unblinded`` (:func:`unblinded_results`): the same by arm, with the planned analysis
  of every endpoint (:func:`myositis.trial.analysis.analyse_binary`) and the estimand.
- ``trial-pilot`` (:func:`pilot_results`): a single-arm study: each endpoint's proportion
  with its exact interval, the TIS categories at the primary visit, and the change of CDASI
  activity from baseline with the paired tests.

Provenance: ``spec_sha256``, ``data_fingerprint`` (:mod:`myositis.registry.fingerprint`),
the SHA-256 of the enrolment and screening files, ``software_version``, ``generated_at`` and
``synthetic`` (the registry's metadata).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from myositis import __version__
from myositis.trial.consort import consort_counts, receipt_of
from myositis.trial.endpoints import PatientEndpoints, TrialEndpoints
from myositis.trial.inputs import TrialInputs
from myositis.trial.spec import TrialSpec

#: What decided an endpoint's value, in report order (``EndpointValue.basis``).
BASES = (
    "responder",
    "not met",
    "not prednisone-free",
    "dropout",
    "rescue_therapy",
    "prednisone_restarted",
    "missing_visit",
)
CATEGORIES = ("none", "minimal", "moderate", "major")
#: The group of every patient when the arms are pooled.
POOLED = "all"


def _ratio(spec: TrialSpec) -> str:
    return ":".join(str(r) for r in spec.allocation.ratio)


def _design(spec: TrialSpec, blinded: bool) -> dict[str, Any]:
    taper = spec.prednisone_taper
    design: dict[str, Any] = {
        "population": spec.population,
        "arms": len(spec.arms),
        "ratio": _ratio(spec) if len(spec.arms) > 1 else None,
        "allocation_method": spec.allocation.method,
        "strata": spec.stratum_names,
        "visits": [
            {
                "name": v.name,
                "day": v.day,
                "from_day": v.day - v.window_before,
                "to_day": v.day + v.window_after,
            }
            for v in spec.visits
        ],
        "mmt8_max": spec.mmt8_max,
        "endpoints": [
            {
                "name": e.name,
                "kind": e.kind,
                "visit": e.visit,
                "primary": e.primary,
                "definition": describe_endpoint(
                    e.kind, e.tis_at_least, e.prednisone_free_days, e.visit
                ),
            }
            for e in spec.endpoints
        ],
        "taper": None
        if taper is None
        else {
            "ingredient": taper.ingredient,
            "tolerance_mg": taper.tolerance_mg,
            "steps": [{"from_day": s.from_day, "dose_mg": s.dose_mg} for s in taper.steps],
        },
        "strategies": {
            k: getattr(spec.intercurrent_events, k)
            for k in ("dropout", "rescue_therapy", "prednisone_restarted", "missing_visit")
        },
        "rescue_ingredients": list(spec.intercurrent_events.rescue_ingredients),
        "analysis": {
            "population": spec.analysis.population,
            "primary_test": spec.analysis.primary_test,
            "cmh_correct": spec.analysis.cmh_correct,
            "alpha": spec.analysis.alpha,
            "conf_level": spec.analysis.conf_level,
        },
        "data_checks": spec.data_checks.model_dump(),
    }
    if not blinded:
        design["arm_list"] = [
            {"name": a.name, "label": a.label, "control": a.control} for a in spec.arms
        ]
        design["block_sizes"] = list(spec.allocation.block_sizes)
    return design


def describe_endpoint(
    kind: str, tis_at_least: float | None, free_days: int | None, visit: str
) -> str:
    """An endpoint in words, as reports print it."""
    if kind == "doi":
        return f"IMACS definition of improvement met at {visit}"
    text = f"2016 ACR/EULAR TIS >= {tis_at_least:g} at {visit}"
    if free_days:
        text += f", with no prednisone in the {free_days} days up to the visit"
    return text


def _header(kind: str, spec: TrialSpec, inputs: TrialInputs, blinded: bool) -> dict[str, Any]:
    return {
        "kind": kind,
        "trial": {
            "id": spec.trial.id,
            "version": spec.trial.version,
            "title": spec.trial.title,
            "registration": spec.trial.registration,
            "design_source": spec.trial.design_source,
        },
        "spec_sha256": spec.sha256(),
        "data_fingerprint": inputs.data_fingerprint,
        "registry": inputs.registry,
        "inputs": inputs.files,
        "software_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "synthetic": inputs.synthetic,
        "blinded": blinded,
        "estimand": spec.intercurrent_events.estimand,
        "design": _design(spec, blinded),
        "notes": list(inputs.notes),
    }


# -- per patient ---------------------------------------------------------------------------


def _patient(p: PatientEndpoints, withdrawal: Mapping[int, tuple[Any, Any]]) -> dict[str, Any]:
    withdrawn, reason = withdrawal.get(p.person_id, (None, None))
    adherence = None
    if p.adherence is not None:
        a = p.adherence
        adherence = {
            "days": a.days,
            "on_schedule": a.on_schedule,
            "above": a.above,
            "below": a.below,
            "first_day_above": a.first_day_above,
            "share": a.share,
        }
    return {
        "person_id": p.person_id,
        "stratum": p.stratum,
        "randomised": p.randomised,
        "withdrawn": withdrawn,
        "withdrawal_reason": reason,
        "visits": [
            {
                "visit": v.visit,
                "due": v.due,
                "date": v.date,
                "tis": v.tis,
                "tis_category": v.tis_category,
                "doi_met": v.doi_met,
                "doi_improved": v.doi_improved,
                "doi_worsened": v.doi_worsened,
                "not_computable": v.not_computable,
            }
            for v in p.visits
        ],
        "endpoints": [
            {
                "endpoint": e.endpoint,
                "visit": e.visit,
                "observed": e.observed,
                "responder": e.responder,
                "basis": e.basis,
                "reason": e.reason,
                "events": [dataclasses.asdict(ev) for ev in e.events],
            }
            for e in p.endpoints
        ],
        "adherence": adherence,
        "listing": [
            {"step": t.step, "detail": t.detail, "sources": list(t.sources)} for t in p.listing
        ],
    }


def _withdrawals(inputs: TrialInputs) -> dict[int, tuple[Any, Any]]:
    return {
        r["person_id"]: (r["withdrawal_date"], r["withdrawal_reason"])
        for r in inputs.enrolment.to_pylist()
    }


# -- summaries by group (one pooled group when blinded) -------------------------------------


def _groups(
    patients: Sequence[PatientEndpoints], allocation: Mapping[int, str] | None, order: Sequence[str]
) -> dict[str, list[PatientEndpoints]]:
    if allocation is None:
        return {POOLED: list(patients)}
    return {g: [p for p in patients if allocation[p.person_id] == g] for g in order}


def _enrolment(
    spec: TrialSpec, inputs: TrialInputs, groups: Mapping[str, Sequence[PatientEndpoints]]
) -> dict[str, Any]:
    rows = {r["person_id"]: r for r in inputs.enrolment.to_pylist()}
    dates = [r["randomisation_date"] for r in rows.values()]
    by_stratum = []
    for stratum in spec.stratum_names:
        by_stratum.append(
            {
                "stratum": stratum,
                "counts": {
                    g: sum(p.stratum == stratum for p in members) for g, members in groups.items()
                },
            }
        )
    withdrawn = {
        g: [
            rows[p.person_id]["withdrawal_reason"]
            for p in members
            if rows[p.person_id]["withdrawal_date"] is not None
        ]
        for g, members in groups.items()
    }
    return {
        "randomised": {g: len(m) for g, m in groups.items()},
        "first_randomised": min(dates) if dates else None,
        "last_randomised": max(dates) if dates else None,
        "by_stratum": by_stratum,
        "withdrawn": {g: len(w) for g, w in withdrawn.items()},
        "withdrawal_reasons": _reason_table(withdrawn),
    }


def _reason_table(by_group: Mapping[str, Sequence[str | None]]) -> list[dict[str, Any]]:
    counts = {g: Counter(r or "no reason given" for r in rs) for g, rs in by_group.items()}
    reasons = sorted(
        {r for c in counts.values() for r in c},
        key=lambda r: (-sum(c[r] for c in counts.values()), r),
    )
    return [{"reason": r, "counts": {g: c[r] for g, c in counts.items()}} for r in reasons]


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _visits(
    spec: TrialSpec,
    groups: Mapping[str, Sequence[PatientEndpoints]],
    withdrawal: Mapping[int, tuple[Any, Any]],
) -> list[dict[str, Any]]:
    out = []
    for visit in spec.visits[1:]:
        per: dict[str, Any] = {}
        for g, members in groups.items():
            expected = attended = computable = doi = 0
            tis: list[float] = []
            categories: Counter[str] = Counter()
            for p in members:
                score = p.visit(visit.name)
                withdrawn = withdrawal.get(p.person_id, (None, None))[0]
                if withdrawn is None or withdrawn >= score.due:
                    expected += 1
                attended += score.date is not None
                if score.tis is not None:
                    computable += 1
                    tis.append(score.tis)
                    categories[score.tis_category or "none"] += 1
                    doi += bool(score.doi_met)
            per[g] = {
                "expected": expected,
                "attended": attended,
                "computable": computable,
                "tis_mean": _mean(tis),
                "tis_median": _median(tis),
                "categories": {c: categories[c] for c in CATEGORIES},
                "doi_met": doi,
            }
        out.append({"visit": visit.name, "day": visit.day, "groups": per})
    return out


def _endpoint_summaries(
    spec: TrialSpec, groups: Mapping[str, Sequence[PatientEndpoints]]
) -> list[dict[str, Any]]:
    out = []
    for e in spec.endpoints:
        per = {}
        for g, members in groups.items():
            values = [p.endpoint(e.name) for p in members]
            responders = sum(v.responder for v in values)
            basis = Counter(v.basis for v in values)
            per[g] = {
                "patients": len(values),
                "responders": responders,
                "proportion": responders / len(values) if values else None,
                "observed": sum(v.observed is not None for v in values),
                "basis": {b: basis[b] for b in BASES},
            }
        out.append(
            {
                "endpoint": e.name,
                "kind": e.kind,
                "visit": e.visit,
                "primary": e.primary,
                "definition": describe_endpoint(
                    e.kind, e.tis_at_least, e.prednisone_free_days, e.visit
                ),
                "groups": per,
            }
        )
    return out


def _adherence(groups: Mapping[str, Sequence[PatientEndpoints]]) -> dict[str, Any] | None:
    if not any(p.adherence for members in groups.values() for p in members):
        return None
    out = {}
    for g, members in groups.items():
        shares = [
            p.adherence.share
            for p in members
            if p.adherence is not None and p.adherence.share is not None
        ]
        above = [p for p in members if p.adherence is not None and p.adherence.above]
        out[g] = {
            "patients": len(shares),
            "median_share": _median(shares),
            "fully_on_schedule": sum(s == 1 for s in shares),
            "any_day_above": len(above),
        }
    return out


def _adverse_events(
    spec: TrialSpec, inputs: TrialInputs, group_of: Mapping[int, str], order: Sequence[str]
) -> dict[str, Any]:
    """On-study adverse events (onset from randomisation to the end of the last visit's
    window) per group: patients with any, serious, grade 3 or more, leading to
    discontinuation, and per term. ``suspected_drug`` is never read: in a masked trial it
    could name the study drug."""
    day0 = {r["person_id"]: r["randomisation_date"] for r in inputs.enrolment.to_pylist()}
    last = spec.visits[-1].day + spec.visits[-1].window_after
    events = []
    for r in inputs.tables["adverse_event"].to_pylist():
        start = day0.get(r["person_id"])
        onset = r["onset_date"]
        if start is None or onset is None or not 0 <= (onset - start).days <= last:
            continue
        events.append(r)
    patients = Counter(group_of.values())

    def count(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        persons = {r["person_id"] for r in rows}
        return {g: sum(group_of[p] == g for p in persons) for g in order}

    terms = defaultdict(list)
    for r in events:
        terms[str(r["term"] or "term not recorded").strip()].append(r)
    by_term = [
        {
            "term": term,
            "patients": count(rows),
            "events": {g: sum(group_of[r["person_id"]] == g for r in rows) for g in order},
            "serious": sum(bool(r["serious"]) for r in rows),
        }
        for term, rows in sorted(terms.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return {
        "window": f"onset from randomisation (day 0) to day {last}",
        "patients": {g: patients[g] for g in order},
        "any": count(events),
        "events": {g: sum(group_of[r["person_id"]] == g for r in events) for g in order},
        "serious": count([r for r in events if r["serious"]]),
        "grade_3_or_more": count([r for r in events if (r["grade"] or 0) >= 3]),
        "led_to_discontinuation": count([r for r in events if r["led_to_discontinuation"]]),
        "by_term": by_term,
    }


def _common(
    kind: str,
    spec: TrialSpec,
    inputs: TrialInputs,
    endpoints: TrialEndpoints,
    allocation: Mapping[int, str] | None,
) -> dict[str, Any]:
    order = [POOLED] if allocation is None else spec.arm_names
    groups = _groups(endpoints.patients, allocation, order)
    group_of = {p.person_id: g for g, members in groups.items() for p in members}
    withdrawal = _withdrawals(inputs)
    results = _header(kind, spec, inputs, blinded=kind == "trial-blinded")
    results |= {
        "groups": [
            {"key": POOLED, "label": "All patients"}
            if g == POOLED
            else {
                "key": g,
                "label": next(a.label for a in spec.arms if a.name == g),
                "control": g == spec.control_arm,
            }
            for g in order
        ],
        "enrolment": _enrolment(spec, inputs, groups),
        "visits": _visits(spec, groups, withdrawal),
        "endpoints": _endpoint_summaries(spec, groups),
        "adherence": _adherence(groups),
        "adverse_events": _adverse_events(spec, inputs, group_of, order),
        "problems": [p.describe() for p in endpoints.problems],
        "consort": consort_counts(
            spec,
            endpoints,
            {k: v[1] for k, v in withdrawal.items()},
            inputs.screening,
            allocation,
            receipt_of(inputs.enrolment),
        ),
        "patients": [
            _patient(p, withdrawal)
            | ({} if allocation is None else {"arm": allocation[p.person_id]})
            for p in endpoints.patients
        ],
    }
    return results


def blinded_results(
    spec: TrialSpec, inputs: TrialInputs, endpoints: TrialEndpoints
) -> dict[str, Any]:
    """The blinded report's results (arms pooled; see the module docstring)."""
    return _common("trial-blinded", spec, inputs, endpoints, None)


def unblinded_results(
    spec: TrialSpec, inputs: TrialInputs, endpoints: TrialEndpoints, allocation: Mapping[int, str]
) -> dict[str, Any]:
    """The unblinded report's results: by arm, with the planned analysis of each endpoint."""
    from myositis.trial.analysis import analyse_binary

    results = _common("trial-unblinded", spec, inputs, endpoints, allocation)
    analyses = []
    for e in spec.endpoints:
        a = analyse_binary(spec, endpoints, allocation, e.name)
        analyses.append(dataclasses.asdict(a) | {"primary": e.primary})
    results["analyses"] = analyses
    return results


def pilot_results(
    spec: TrialSpec, inputs: TrialInputs, endpoints: TrialEndpoints
) -> dict[str, Any]:
    """A single-arm study's results: proportions with exact intervals, TIS categories at the
    primary visit, CDASI activity change with paired tests."""
    import pyarrow as pa

    from myositis.trial.analysis import paired_change, single_arm, tis_categories
    from myositis.trial.endpoints import visit_measure

    level = spec.analysis.conf_level
    arm = spec.arm_names[0]
    results = _common(
        "trial-pilot", spec, inputs, endpoints, {p.person_id: arm for p in endpoints.patients}
    )
    results["proportions"] = [
        dataclasses.asdict(single_arm(endpoints, e.name, level))
        | {
            "definition": describe_endpoint(
                e.kind, e.tis_at_least, e.prednisone_free_days, e.visit
            ),
            "primary": e.primary,
        }
        for e in spec.endpoints
    ]
    visit = spec.primary.visit
    results["tis_categories"] = {"visit": visit, "counts": tis_categories(endpoints, visit)}
    cdasi = inputs.cdasi
    sources = {r["assessment_id"]: r["activity_source"] for r in cdasi.to_pylist()}
    shaped = pa.table(
        {
            "assessment_id": cdasi.column("assessment_id"),
            "person_id": cdasi.column("person_id"),
            "assessment_date": cdasi.column("assessment_date"),
            "instrument": pa.array(["cdasi"] * cdasi.num_rows, pa.string()),
            "measure": pa.array(["activity"] * cdasi.num_rows, pa.string()),
            "value": cdasi.column("activity"),
        }
    )
    by_visit = visit_measure(spec, inputs.enrolment, shaped, instrument="cdasi", measure="activity")
    baseline = spec.visits[0].name
    pairs, per_patient = [], []
    for p in endpoints.patients:
        values = by_visit.get(p.person_id, {})
        before, after = values.get(baseline), values.get(visit)
        row: dict[str, Any] = {"person_id": p.person_id}
        for name, m in ((baseline, before), (visit, after)):
            row[name] = (
                None
                if m is None
                else {
                    "value": m.value,
                    "date": m.date,
                    "source": m.source,
                    "scored_from": sources.get(int(m.source.split()[-1]), "recorded"),
                }
            )
        per_patient.append(row)
        if before is not None and after is not None:
            pairs.append((before.value, after.value))
    change: dict[str, Any] = {
        "baseline_visit": baseline,
        "visit": visit,
        "patients": per_patient,
        "pairs": len(pairs),
    }
    if len(pairs) >= 2:
        change["test"] = dataclasses.asdict(
            paired_change([b for b, _ in pairs], [a for _, a in pairs])
        )
    results["cdasi"] = change
    return results


__all__ = [
    "BASES",
    "POOLED",
    "blinded_results",
    "describe_endpoint",
    "pilot_results",
    "unblinded_results",
]
