"""The numbers of a CONSORT 2010 flow diagram (Schulz, Altman and Moher, BMJ 2010;340:c332,
figure 1): enrolment, allocation, follow-up and analysis, with reasons.

- **Assessed for eligibility** and **excluded** (with each reason and its count) come from the
  screening log; without one they are *not recorded*, never guessed.
- **Randomised**: the enrolment table's rows.
- **Allocated**: per arm from the allocation store (unblinded); one pooled group when blinded.
  **Received allocated intervention** and **did not receive** (with each reason): from the
  enrolment table's ``first_dose_date`` and ``not_received_reason``; without them *not
  recorded* (``None``), never guessed.
- **Follow-up**: patients who withdrew before the primary endpoint's visit (the enrolment's
  withdrawal date on or before the visit, or the end of its window when the visit was
  missed), with the withdrawal reasons; those who attended that visit; rescue therapy and
  prednisone restarts before it (the intercurrent events of the derivation).
- **Analysed**: the specification's population is all randomised patients, so every
  allocated patient is analysed; those without an observed endpoint are counted as
  non-responders (the ``missing_visit`` and ``dropout`` strategies) and are shown as such.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from myositis.trial.endpoints import PatientEndpoints, TrialEndpoints
from myositis.trial.inputs import ScreeningRow
from myositis.trial.records import receipt_recorded
from myositis.trial.spec import TrialSpec

#: A patient's first dose of the allocated intervention, or None and why none was given.
Receipt = tuple[dt.date | None, str | None]


def receipt_of(enrolment: pa.Table) -> dict[int, Receipt] | None:
    """Each enrolled patient's :data:`Receipt` from the enrolment table's ``first_dose_date``
    and ``not_received_reason`` (checked by :func:`myositis.trial.records.read_enrolment`);
    None when no row records either (receipt not recorded)."""
    rows = enrolment.select(["person_id", "first_dose_date", "not_received_reason"]).to_pylist()
    if not receipt_recorded(rows):
        return None
    return {r["person_id"]: (r["first_dose_date"], r["not_received_reason"]) for r in rows}


def _reasons(values: Sequence[str | None]) -> list[list[Any]]:
    counts = Counter(v or "no reason given" for v in values)
    return [[reason, n] for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _group(
    spec: TrialSpec,
    patients: Sequence[PatientEndpoints],
    withdrawal: Mapping[int, str | None],
    receipt: Mapping[int, Receipt] | None,
) -> dict[str, Any]:
    primary = spec.primary
    withdrew: list[str | None] = []
    attended = rescue = restart = unobserved = 0
    for p in patients:
        value = p.endpoint(primary.name)
        kinds = {e.kind for e in value.events}
        if "dropout" in kinds:
            withdrew.append(withdrawal.get(p.person_id))
        if p.visit(primary.visit).date is not None:
            attended += 1
        rescue += "rescue_therapy" in kinds
        restart += "prednisone_restarted" in kinds
        unobserved += value.observed is None
    undosed = (
        None
        if receipt is None
        else [receipt[p.person_id][1] for p in patients if receipt[p.person_id][0] is None]
    )
    return {
        "allocated": len(patients),
        "received": None if undosed is None else len(patients) - len(undosed),
        "not_received": None if undosed is None else len(undosed),
        "not_received_reasons": [] if undosed is None else _reasons(undosed),
        "withdrew": len(withdrew),
        "withdrawal_reasons": _reasons(withdrew),
        "attended_endpoint_visit": attended,
        "rescue_therapy": rescue,
        "prednisone_restarted": restart,
        "analysed": len(patients),
        "without_observed_endpoint": unobserved,
        "excluded_from_analysis": 0,
    }


def consort_counts(
    spec: TrialSpec,
    endpoints: TrialEndpoints,
    withdrawal_reasons: Mapping[int, str | None],
    screening: Sequence[ScreeningRow] | None,
    allocation: Mapping[int, str] | None = None,
    receipt: Mapping[int, Receipt] | None = None,
) -> dict[str, Any]:
    """The flow diagram's numbers (see the module docstring); by arm when ``allocation`` (the
    unblinded person -> arm) is given, otherwise one pooled group carrying no arm.
    ``receipt``: each patient's first dose of the allocated intervention and the reason when
    there was none (:func:`receipt_of`); None when the enrolment does not record it."""
    excluded = [r for r in screening or () if r.excluded_reason is not None]
    patients = endpoints.patients
    if allocation is None:
        groups = [
            {"label": "All randomised (arms pooled)"}
            | _group(spec, patients, withdrawal_reasons, receipt)
        ]
    else:
        groups = [
            {"arm": arm.name, "label": arm.label}
            | _group(
                spec,
                [p for p in patients if allocation[p.person_id] == arm.name],
                withdrawal_reasons,
                receipt,
            )
            for arm in spec.arms
        ]
    visit = spec.visit(spec.primary.visit)
    return {
        "assessed": None if screening is None else len(screening),
        "excluded": None if screening is None else len(excluded),
        "excluded_reasons": _reasons([r.excluded_reason for r in excluded]),
        "randomised": len(patients),
        "endpoint": spec.primary.name,
        "endpoint_visit": visit.name,
        "endpoint_day": visit.day,
        "population": spec.analysis.population,
        "single_arm": len(spec.arms) == 1,
        "groups": groups,
    }


__all__ = ["Receipt", "consort_counts", "receipt_of"]
