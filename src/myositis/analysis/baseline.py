"""Table 1: baseline characteristics of the cohort at the index date.

Age is in completed years at the index date; disease duration is years from the first
qualifying diagnosis code to the index; prior systemic therapies are the distinct
ingredients of the specification's systemic-therapy list started before the index date
(Min 2022 reports 4 to 9 per patient).
"""

from __future__ import annotations

from typing import Any

from myositis.analysis.characteristics import characteristics_at_index
from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import counts_dict, summary_dict
from myositis.analysis.treatment import DAYS_PER_YEAR
from myositis.cohort.build import CohortResult


def prior_therapies(cohort: CohortResult) -> dict[int, list[str]]:
    """Distinct systemic therapies started before each patient's index date."""
    index = {p.person_id: p.index_date for p in cohort.patients}
    out: dict[int, set[str]] = {pid: set() for pid in index}
    for row in cohort.therapies:
        pid = int(row["person_id"])
        if pid in index and row["start_date"] is not None and row["start_date"] < index[pid]:
            out[pid].add(str(row["ingredient"]).strip().lower())
    return {pid: sorted(names) for pid, names in out.items()}


def baseline_characteristics(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Counts and summaries of the cohort at the index date (Table 1)."""
    patients = cohort.patients
    conf = options.conf_level
    prior = prior_therapies(cohort)
    duration = [(p.index_date - p.first_diagnosis_date).days / DAYS_PER_YEAR for p in patients]
    return {
        **characteristics_at_index(patients, conf),
        "subtype_group": counts_dict(
            [options.subtype_group(p.subtype) for p in patients],
            order=tuple(options.subtype_groups),
        ),
        "jak_inhibitor": counts_dict([p.ingredient for p in patients]),
        "prior_systemic_therapies": summary_dict([len(prior[p.person_id]) for p in patients], conf),
        "disease_duration_years": summary_dict(duration, conf),
        "baseline_cdasi_activity": summary_dict([p.baseline_activity for p in patients], conf),
    }


__all__ = ["baseline_characteristics", "prior_therapies"]
