"""Treatment duration and adverse events with incidence per 100 patient-years.

Adverse events count when their onset falls inside the patient's treatment period
(:mod:`myositis.analysis.treatment`). The incidence is events / patient-years x 100 with the
exact Poisson interval (R ``poisson.test(events, patient_years)``, scaled by 100).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

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


__all__ = ["adverse_events", "treatment_duration"]
