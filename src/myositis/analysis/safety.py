"""Treatment duration, adverse events with incidence per 100 patient-years, and deaths.

Adverse events count when their onset falls inside the patient's treatment period
(:mod:`myositis.analysis.treatment`). The incidence is events / patient-years x 100 with the
exact Poisson interval (R ``poisson.test(events, patient_years)``, scaled by 100).

Deaths during follow-up (:func:`deaths`): members whose recorded death (the ``death`` table,
read with their characteristics, :mod:`myositis.cohort.members`) falls from the index date
(day 0, the JAK-inhibitor start) to the data cut-off, each with its days from the index, its
cause as recorded and whether the patient was on the JAK inhibitor that day
(:func:`treatment_at_death`); the share of members who died with the exact Clopper-Pearson
interval (R ``binom.test``). Deaths are counted whether or not the patient was still treated:
a death after stopping the drug may still be due to it or to the disease, and the mortality the
tofacitinib label warns of (ORAL Surveillance) and the excess mortality of DM itself
(interstitial lung disease, cancer, infection, cardiovascular disease) both matter to a reader
of the safety section. A death after the data cut-off is outside follow-up (counted apart, as
adverse events outside treatment are); one before the index cannot be a member's in a sound
registry and is counted there too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import proportion_dict, summary_dict
from myositis.analysis.statistics import poisson_rate
from myositis.analysis.treatment import treatment_periods
from myositis.cohort.build import CohortResult


def treatment_duration(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Duration of treatment in months and patient-years, with the number still treated."""
    periods = treatment_periods(cohort)
    months = [p.days / options.days_per_month for p in periods.values()]
    return {
        "months": summary_dict(months, options.conf_level),
        "days_per_month": options.days_per_month,
        "patient_years": sum(p.years for p in periods.values()),
        "ongoing_at_cutoff": sum(p.ongoing for p in periods.values()),
        "data_cutoff": cohort.data_cutoff.isoformat(),
    }


def adverse_events(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Adverse events during treatment: counts, terms and the incidence per 100 patient-years."""
    periods = treatment_periods(cohort)
    conf = options.conf_level
    during = []
    outside = 0
    for event in cohort.adverse_events:
        period = periods.get(int(event["person_id"]))
        if (
            period is not None
            and event["onset_date"] is not None
            and period.covers(event["onset_date"])
        ):
            during.append(event)
        else:
            outside += 1
    patient_years = sum(p.years for p in periods.values())
    events = len(during)
    rate = poisson_rate(events, patient_years, conf=conf, per=100) if patient_years > 0 else None
    terms = Counter(str(e["term"]) for e in during)
    n = len(cohort.patients)
    return {
        "events": events,
        "patients_with_event": proportion_dict(len({int(e["person_id"]) for e in during}), n, conf),
        "serious": sum(bool(e["serious"]) for e in during),
        "led_to_discontinuation": sum(bool(e["led_to_discontinuation"]) for e in during),
        "patient_years": patient_years,
        "incidence_per_100_patient_years": None
        if rate is None
        else {
            "rate": rate.rate,
            "ci_low": rate.ci_low,
            "ci_high": rate.ci_high,
            "method": "exact Poisson (Garwood)",
            "conf": rate.conf,
        },
        "by_term": [
            {
                "term": term,
                "events": k,
                "patients": len({int(e["person_id"]) for e in during if e["term"] == term}),
            }
            for term, k in sorted(terms.items())
        ],
        "outside_treatment": outside,
    }


#: Whether a patient was on the JAK inhibitor on the day of death (:func:`treatment_at_death`).
ON: Final = "on"
ON_NO_STOP_RECORDED: Final = "on_no_stop_recorded"
OFF: Final = "off"
NOT_KNOWN: Final = "not_known"
TREATMENT_AT_DEATH: Final = (ON, ON_NO_STOP_RECORDED, OFF, NOT_KNOWN)


def treatment_at_death(
    exposures: Sequence[Mapping[str, Any]], index_date: dt.date, died: dt.date
) -> tuple[str, int | None, str | None]:
    """(status, days since the last dose, drug) on the day of death, from the patient's
    qualifying exposure rows that start on or after the index (those of the treatment period,
    :mod:`myositis.analysis.treatment`) and on or before the death:

    - ``on``: a row covers the day of death (start on or before it, end on or after it);
    - ``on_no_stop_recorded``: none does with a recorded end, but a row has no end date: the
      data model reads that as still running at the cut-off, which a death contradicts, so the
      record says only that no stop was recorded; taken as on treatment, with this caveat;
    - ``off``: every such row ended before the death; days since the last dose = death - the
      latest end (a gap between regimens counts as off: the patient was untreated that day);
    - ``not_known``: no such row (no exposure recorded between the index and the death).

    The drug is the ingredient of the row that decides: the covering row (the latest started,
    on a tie the first by ingredient), else the open-ended one, else the last ended.
    """
    started = [
        r
        for r in exposures
        if r["start_date"] is not None and index_date <= r["start_date"] <= died
    ]
    latest_first = sorted(
        started, key=lambda r: (-r["start_date"].toordinal(), str(r["ingredient"]))
    )
    covering = [r for r in latest_first if r["end_date"] is not None and r["end_date"] >= died]
    if covering:
        return ON, None, covering[0]["ingredient"]
    open_ended = [r for r in latest_first if r["end_date"] is None]
    if open_ended:
        return ON_NO_STOP_RECORDED, None, open_ended[0]["ingredient"]
    if not started:
        return NOT_KNOWN, None, None
    last = max(started, key=lambda r: (r["end_date"], str(r["ingredient"])))
    return OFF, (died - last["end_date"]).days, last["ingredient"]


def deaths(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Deaths during follow-up (module docstring): how many members died from the index to the
    data cut-off and their share with its exact interval, counts by treatment at death
    (:data:`TREATMENT_AT_DEATH`) and by cause, one row per death (person, date, days from the
    index, treatment at death, days since the last dose, drug, cause), and the members'
    deaths outside follow-up."""
    rows: dict[int, list[Mapping[str, Any]]] = {}
    for row in cohort.jak_exposures:
        rows.setdefault(int(row["person_id"]), []).append(row)
    cutoff = cohort.data_cutoff
    listed = []
    outside = 0
    for patient in cohort.patients:
        death = patient.death
        if death is None:
            continue
        if not patient.index_date <= death.date <= cutoff:
            outside += 1
            continue
        status, since, drug = treatment_at_death(
            rows.get(patient.person_id, []), patient.index_date, death.date
        )
        listed.append(
            {
                "person_id": patient.person_id,
                "index_date": patient.index_date.isoformat(),
                "death_date": death.date.isoformat(),
                "days_from_index": (death.date - patient.index_date).days,
                "treatment_at_death": status,
                "days_since_last_dose": since,
                "drug": drug,
                "cause_code_system": death.cause_code_system,
                "cause_code": death.cause_code,
            }
        )
    listed.sort(key=lambda d: (d["days_from_index"], d["person_id"]))
    causes = Counter((d["cause_code_system"], d["cause_code"]) for d in listed)
    statuses = Counter(d["treatment_at_death"] for d in listed)
    return {
        "deaths": len(listed),
        "patients_died": proportion_dict(len(listed), len(cohort.patients), options.conf_level),
        "by_treatment_at_death": {status: statuses[status] for status in TREATMENT_AT_DEATH},
        # causes as recorded, most frequent first; a death without a cause is one too
        "by_cause": [
            {"cause_code_system": system, "cause_code": code, "deaths": k}
            for (system, code), k in sorted(
                causes.items(), key=lambda item: (-item[1], str(item[0][0]), str(item[0][1]))
            )
        ],
        "patients": listed,
        "outside_follow_up": outside,
        "data_cutoff": cutoff.isoformat(),
    }


__all__ = [
    "NOT_KNOWN",
    "OFF",
    "ON",
    "ON_NO_STOP_RECORDED",
    "TREATMENT_AT_DEATH",
    "adverse_events",
    "deaths",
    "treatment_at_death",
    "treatment_duration",
]
