"""Change in pruritus (numeric rating scale, 0-10) from baseline to follow-up.

The baseline value is the one closest to the index inside the specification's baseline window
(later on a tie); the follow-up value is chosen inside the follow-up window by the same rule as
CDASI (``cohort.followup.use``). Improved = follow-up below baseline. Paired t and Wilcoxon
signed-rank as for CDASI.
"""

from __future__ import annotations

from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import paired_test_dict, proportion_dict, summary_dict
from myositis.analysis.statistics import (
    paired_t,
    wilcoxon_signed_rank,
    wilcoxon_signed_rank_conditional,
)
from myositis.cohort.build import CohortResult
from myositis.cohort.definition import Window


def pick_baseline(rows: list[dict[str, Any]], window: Window) -> dict[str, Any] | None:
    """The row closest to the index inside the window (the later one on a tie)."""
    inside = [r for r in rows if window.start <= r["days"] <= window.end]
    return min(inside, key=lambda r: (abs(r["days"]), -r["days"]), default=None)


def pick_followup(
    rows: list[dict[str, Any]], window: Window, use: str, key: str = "value"
) -> dict[str, Any] | None:
    """The last, first or best (lowest ``key``) row inside the follow-up window."""
    inside = [r for r in rows if window.start <= r["days"] <= window.end]
    if not inside:
        return None
    if use == "first":
        return min(inside, key=lambda r: r["days"])
    if use == "best":
        return min(inside, key=lambda r: (r[key], r["days"]))
    return max(inside, key=lambda r: r["days"])


def pruritus(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Baseline and follow-up pruritus with the change, among patients with both values."""
    conf = options.conf_level
    definition = cohort.definition
    rows: dict[int, list[dict[str, Any]]] = {}
    for row in cohort.pruritus:
        if row["value"] is not None:
            rows.setdefault(int(row["person_id"]), []).append(row)
    pairs = []
    for p in cohort.patients:
        mine = rows.get(p.person_id, [])
        base = pick_baseline(mine, definition.baseline.window_days)
        follow = pick_followup(mine, definition.followup.window_days, definition.followup.use)
        if base is not None and follow is not None:
            pairs.append((p.person_id, float(base["value"]), float(follow["value"])))
    before = [b for _, b, _ in pairs]
    after = [f for _, _, f in pairs]
    return {
        "instrument": options.pruritus_instrument,
        "measure": options.pruritus_measure,
        "n_with_both": len(pairs),
        "n_missing": len(cohort.patients) - len(pairs),
        "baseline": summary_dict(before, conf),
        "followup": summary_dict(after, conf),
        "improvement": summary_dict([b - f for b, f in zip(before, after, strict=True)], conf),
        "improved": proportion_dict(sum(f < b for _, b, f in pairs), len(pairs), conf),
        "paired_t": paired_test_dict(lambda: paired_t(before, after, conf=conf)),
        "wilcoxon": paired_test_dict(lambda: wilcoxon_signed_rank(before, after)),
        "wilcoxon_exact": paired_test_dict(lambda: wilcoxon_signed_rank_conditional(before, after)),
    }


__all__ = ["pick_baseline", "pick_followup", "pruritus"]
