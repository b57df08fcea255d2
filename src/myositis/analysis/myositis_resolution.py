"""Resolution of active myositis among patients with active muscle disease at baseline.

Active muscle disease at baseline: a subtype in the specification's
``myositis.active_subtypes`` (physician classification; Min 2022: classic DM with active
myositis). Resolved: the last creatine kinase of the follow-up window is at or below the
reporting laboratory's upper limit of normal, and, when ``mmt8_min`` is set, the last MMT-8
total of the follow-up window is at least that value. Patients without a follow-up CK (or
MMT-8 when required) are counted as not evaluable, not as resolved.
"""

from __future__ import annotations

from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.pruritus import pick_baseline, pick_followup
from myositis.analysis.serialise import proportion_dict
from myositis.cohort.build import CohortResult


def myositis_resolution(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Counts of active myositis at baseline and of its resolution during follow-up."""
    m = options.myositis
    definition = cohort.definition
    base_w, follow_w = definition.baseline.window_days, definition.followup.window_days
    ck: dict[int, list[dict[str, Any]]] = {}
    for row in cohort.labs:
        if str(row["test"]).strip().lower() == m.ck_test and row["value"] is not None:
            ck.setdefault(int(row["person_id"]), []).append(row)
    mmt: dict[int, list[dict[str, Any]]] = {}
    for row in cohort.mmt8:
        if row["value"] is not None:
            mmt.setdefault(int(row["person_id"]), []).append(row)

    patients: list[dict[str, Any]] = []
    for p in cohort.patients:
        if p.subtype not in m.active_subtypes:
            continue
        base = pick_baseline(ck.get(p.person_id, []), base_w)
        last_ck = pick_followup(ck.get(p.person_id, []), follow_w, "last")
        last_mmt = pick_followup(mmt.get(p.person_id, []), follow_w, "last")
        ck_normal = None
        if last_ck is not None and last_ck["uln"] is not None:
            ck_normal = float(last_ck["value"]) <= float(last_ck["uln"])
        mmt_ok: bool | None = True
        if m.mmt8_min is not None:
            mmt_ok = None if last_mmt is None else float(last_mmt["value"]) >= m.mmt8_min
        evaluable = ck_normal is not None and mmt_ok is not None
        patients.append(
            {
                "person_id": p.person_id,
                "baseline_ck_x_uln": None
                if base is None or not base["uln"]
                else float(base["value"]) / float(base["uln"]),
                "last_ck_x_uln": None
                if last_ck is None or not last_ck["uln"]
                else float(last_ck["value"]) / float(last_ck["uln"]),
                "last_mmt8": None if last_mmt is None else float(last_mmt["value"]),
                "evaluable": evaluable,
                "resolved": bool(evaluable and ck_normal and mmt_ok),
            }
        )
    assessed = [p for p in patients if p["evaluable"]]
    criterion = f"last follow-up {m.ck_test.upper()} <= ULN" + (
        f" and last follow-up MMT-8 >= {m.mmt8_min:g}" if m.mmt8_min is not None else ""
    )
    return {
        "active_subtypes": list(m.active_subtypes),
        "criterion": criterion,
        "active_at_baseline": len(patients),
        "not_evaluable": len(patients) - len(assessed),
        "resolved": proportion_dict(
            sum(bool(p["resolved"]) for p in assessed), len(assessed), options.conf_level
        ),
        "patients": patients,
    }


__all__ = ["myositis_resolution"]
