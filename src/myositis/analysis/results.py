"""Every analysis of the study report on a built cohort, as one results dictionary.

The dictionary holds plain JSON types only: it is written to ``results.json`` and is all the
report needs to render (tables, figures and text), so a report can be rendered again from the
file alone. It holds exact counts and per-patient values, for use at the site only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from myositis.analysis.baseline import baseline_characteristics
from myositis.analysis.cdasi_change import cdasi_change
from myositis.analysis.dosing import dosing
from myositis.analysis.myositis_resolution import myositis_resolution
from myositis.analysis.options import AnalysisOptions
from myositis.analysis.pruritus import pruritus
from myositis.analysis.response import response
from myositis.analysis.safety import adverse_events, deaths, treatment_duration
from myositis.analysis.therapy import concomitant_therapy
from myositis.analysis.treatment import treatment_periods
from myositis.codes import CODESET_VERSION, load_codeset
from myositis.cohort.build import CohortResult
from myositis.cohort.definition import CohortDefinition
from myositis.progress import StepTimes


def analyse(
    cohort: CohortResult, options: AnalysisOptions, times: StepTimes | None = None
) -> dict[str, Any]:
    """Every analysis of the report on a built cohort (plain JSON-ready dictionaries).

    ``times``, when given, records the wall time of each analysis as step
    ``analysis: <member>`` (the provenance of a run, issue 13 item 6)."""
    clock = times or StepTimes()
    results: dict[str, Any] = {
        "attrition": [asdict(s) for s in cohort.attrition],
    }
    analyses: tuple[tuple[str, Callable[[CohortResult, AnalysisOptions], Any]], ...] = (
        ("baseline_characteristics", baseline_characteristics),
        ("cdasi", cdasi_change),
        ("response", response),
        ("dosing", dosing),
        ("treatment_duration", treatment_duration),
        ("adverse_events", adverse_events),
        ("deaths", deaths),
        ("concomitant_therapy", concomitant_therapy),
        ("pruritus", pruritus),
        ("myositis", myositis_resolution),
    )
    for member, analysis in analyses:
        with clock.step(f"analysis: {member}"):
            results[member] = analysis(cohort, options)
    results["notes"] = list(cohort.notes)
    results["code_lists"] = code_lists(cohort.definition, options)
    with clock.step("analysis: patients"):
        results["patients"] = _listing(cohort, options, results)
    with clock.step("analysis: trajectories"):
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
                "max_mg_per_day_by_drug": dose[p.person_id].get("max_mg_per_day_by_drug", {}),
                "dose_vs_label": dose[p.person_id]["status"],
                "treatment_months": periods[p.person_id].days / months,
                "tapered_or_stopped": therapy[p.person_id]["tapered_or_stopped"],
                "additional_therapies": therapy[p.person_id]["additional_therapies"],
            }
        )
    return rows


def code_lists(definition: CohortDefinition, options: AnalysisOptions) -> dict[str, Any]:
    """What the cohort matched on, for the report's appendix: every code of the code sets the
    definition names (with its system, display, source and whether it was confirmed against
    the publisher), the extra codes, and the ingredient names matched by name.

    Stored in the results so that a report rendered again later lists the codes the run
    used, even after the shipped code sets change (``version`` = ``CODESET_VERSION``)."""
    diagnosis, exposure = definition.diagnosis, definition.exposure
    uses = [
        *((role, diagnosis.label, True) for role in diagnosis.codesets),
        *((role, exposure.label, True) for role in exposure.codesets),
        *((role, exposure.label, False) for role in exposure.exclude_codesets),
    ]
    extra = [
        *((c, diagnosis.label, True) for c in diagnosis.codes),
        *((c, diagnosis.label, False) for c in diagnosis.exclude_codes),
        *((c, exposure.label, True) for c in exposure.codes),
    ]
    return {
        "version": CODESET_VERSION,
        "sets": [
            {
                "role": role,
                "step": step,
                "include": include,
                "codes": [
                    {
                        "system": c.system,
                        "code": c.code,
                        "display": c.display,
                        "source": c.source,
                        "status": c.status,
                        "valid_from": c.valid_from,
                    }
                    for c in load_codeset(role)
                ],
            }
            for role, step, include in uses
        ],
        "extra_codes": [
            {"system": c.system, "code": c.code, "step": step, "include": include}
            for c, step, include in extra
        ],
        "exposure_ingredients": list(exposure.ingredients),
        "exclude_formulations": list(exposure.exclude_formulations),
        "exclude_routes": list(exposure.exclude_routes),
        "systemic_therapies": list(options.systemic_therapies),
    }


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


__all__ = ["analyse", "code_lists"]
