"""Every analysis of the study report on a built cohort, as one results dictionary.

The dictionary holds plain JSON types only: it is written to ``results.json`` and is all the
report needs to render (tables, figures and text), so a report can be rendered again from the
file alone. It holds exact counts and per-patient values, for use at the site only.
"""

from __future__ import annotations

from typing import Any

from myositis.analysis.baseline import baseline_characteristics
from myositis.analysis.cdasi_change import cdasi_change
from myositis.analysis.dosing import dosing
from myositis.analysis.myositis_resolution import myositis_resolution
from myositis.analysis.options import AnalysisOptions
from myositis.analysis.pruritus import pruritus
from myositis.analysis.response import response
from myositis.analysis.safety import adverse_events, treatment_duration
from myositis.analysis.therapy import concomitant_therapy
from myositis.analysis.treatment import treatment_periods
from myositis.cohort.build import CohortResult


def analyse(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Every analysis of the report on a built cohort (plain JSON-ready dictionaries)."""
    results: dict[str, Any] = {
        "attrition": [
            {
                "step": s.step,
                "label": s.label,
                "criterion": s.criterion,
                "remaining": s.remaining,
                "excluded": s.excluded,
            }
            for s in cohort.attrition
        ],
        "baseline_characteristics": baseline_characteristics(cohort, options),
        "cdasi": cdasi_change(cohort, options),
        "response": response(cohort, options),
        "dosing": dosing(cohort, options),
        "treatment_duration": treatment_duration(cohort, options),
        "adverse_events": adverse_events(cohort, options),
        "concomitant_therapy": concomitant_therapy(cohort, options),
        "pruritus": pruritus(cohort, options),
        "myositis": myositis_resolution(cohort, options),
        "notes": list(cohort.notes),
    }
    results["patients"] = _listing(cohort, options, results)
    results["trajectories"] = _trajectories(cohort, options)
    return results


def _listing(
    cohort: CohortResult, options: AnalysisOptions, results: dict[str, Any]
) -> list[dict[str, Any]]:
    months = options.days_per_month
    periods = treatment_periods(cohort)
    dose = {p["person_id"]: p for p in results["dosing"]["patients"]}
    therapy = {p["person_id"]: p for p in results["concomitant_therapy"]["patients"]}
    rows = []
    for p in cohort.patients:
        rows.append(
            {
                "person_id": p.person_id,
                "site": p.site,
                "sex": p.sex,
                "age_at_index": p.age_at_index,
                "subtype": p.subtype,
                "subtype_group": options.subtype_group(p.subtype),
                "drug": p.ingredient,
                "index_date": p.index_date.isoformat(),
                "baseline_cdasi": p.baseline_activity,
                "followup_cdasi": p.followup_activity,
                "followup_months": p.followup_days / months,
                "improvement": p.improvement,
                "responder": p.responder,
                "months_to_response": None if p.response_days is None else p.response_days / months,
                "max_mg_per_day": dose[p.person_id].get("max_mg_per_day"),
                "dose_vs_label": dose[p.person_id]["status"],
                "treatment_months": periods[p.person_id].days / months,
                "tapered_or_stopped": therapy[p.person_id]["tapered_or_stopped"],
                "additional_therapies": therapy[p.person_id]["additional_therapies"],
            }
        )
    return rows


def _trajectories(cohort: CohortResult, options: AnalysisOptions) -> list[dict[str, Any]]:
    """Each patient's CDASI activity from the baseline window to the end of follow-up, as
    (months from the index, activity) points, for the trajectories figure."""
    months = options.days_per_month
    groups = {p.person_id: options.subtype_group(p.subtype) for p in cohort.patients}
    return [
        {
            "person_id": pid,
            "subtype_group": groups.get(pid, "unclassified"),
            "points": [[days / months, value] for days, value in points],
        }
        for pid, points in sorted(cohort.cdasi_series.items())
    ]


__all__ = ["analyse"]
