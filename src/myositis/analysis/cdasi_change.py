"""CDASI activity at baseline and follow-up, the change, paired tests and results by subtype.

Improvement = baseline minus follow-up activity (positive = better), at the follow-up the
specification selects (``cohort.followup.use``: the last, first or best assessment in the
window). Paired t (R ``t.test(baseline, followup, paired = TRUE)``) and Wilcoxon signed-rank
(R ``wilcox.test(..., paired = TRUE)``: exact without ties or zeros and n < 50, otherwise the
normal approximation with continuity correction, as R) come from
:mod:`myositis.analysis.statistics`.
"""

from __future__ import annotations

from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import paired_test_dict, summary_dict
from myositis.analysis.statistics import (
    paired_t,
    wilcoxon_signed_rank,
    wilcoxon_signed_rank_conditional,
)
from myositis.cohort.build import CohortResult, Patient
from myositis.registry.schema import DM_SUBTYPES

#: Label of patients without a recorded subtype (as in Table 1).
NOT_RECORDED = "not recorded"


def _block(patients: list[Patient], conf: float) -> dict[str, Any]:
    before = [p.baseline_activity for p in patients]
    after = [p.followup_activity for p in patients]
    return {
        "n": len(patients),
        "baseline": summary_dict(before, conf),
        "followup": summary_dict(after, conf),
        "improvement": summary_dict([p.improvement for p in patients], conf),
    }


def cdasi_change(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Baseline, follow-up and improvement summaries with paired tests, overall, by recorded
    subtype (those of ``DM_SUBTYPES`` present, in Table 1's order, then any other recorded
    value, then patients without one) and by the specification's subtype groups."""
    conf = options.conf_level
    patients = cohort.patients
    before = [p.baseline_activity for p in patients]
    after = [p.followup_activity for p in patients]
    months = options.days_per_month
    overall = _block(patients, conf) | {
        "followup_months": summary_dict([p.followup_days / months for p in patients], conf),
        "paired_t": paired_test_dict(lambda: paired_t(before, after, conf=conf)),
        "wilcoxon": paired_test_dict(lambda: wilcoxon_signed_rank(before, after)),
        "wilcoxon_exact": paired_test_dict(lambda: wilcoxon_signed_rank_conditional(before, after)),
        "followup_used": cohort.definition.followup.use,
    }
    groups = []
    for group in [*options.subtype_groups, "unclassified"]:
        members = [p for p in patients if options.subtype_group(p.subtype) == group]
        if members or group != "unclassified":
            groups.append({"group": group, **_block(members, conf)})
    recorded = {p.subtype for p in patients if p.subtype}
    order = [s for s in DM_SUBTYPES if s in recorded] + sorted(recorded - set(DM_SUBTYPES))
    by_subtype = [
        {"subtype": subtype, **_block([p for p in patients if p.subtype == subtype], conf)}
        for subtype in order
    ]
    unrecorded = [p for p in patients if not p.subtype]
    if unrecorded:
        by_subtype.append({"subtype": NOT_RECORDED, **_block(unrecorded, conf)})
    return {"overall": overall, "by_subtype": by_subtype, "by_subtype_group": groups}


__all__ = ["cdasi_change"]
