"""The outcomes of a format-2 study (``cohort.outcomes`` of the cohort language), one section
each, from the members' outcome columns (:func:`myositis.cohort.run.run_cohort`).

- kind ``change`` (an instrument measure or a laboratory test, columns ``<name>_baseline``,
  ``_baseline_day``, ``_followup``, ``_followup_day``, ``_change``): members with a baseline,
  with a follow-up and with both; summaries (n, mean, SD, median, quartiles, range, t-interval
  of the mean) of the baseline, the follow-up and the change (follow-up minus baseline) of
  the members with both; the paired t-test (R ``t.test(baseline, followup, paired = TRUE)``:
  its estimate is baseline minus follow-up, as in the format-1 CDASI analysis) and the Wilcoxon
  signed-rank tests (R ``wilcox.test(baseline, followup, paired = TRUE)``: exact without
  ties or zeros and n < 50, and the exact test conditional on ties), each with the reason when
  it cannot be computed; and each member's improvement (the change in the direction
  ``better``: baseline minus follow-up when lower is better, so positive is always better).
- kind ``tis`` (columns ``<name>_followup_day``, ``_tis``, ``_category``, ``_missing``): the
  total improvement score (0-100) summarised, the members in each improvement category with
  the proportion and its Wilson 95% interval (R ``prop.test(x, n, correct = FALSE)``) among
  the members whose score was computable, and the members whose score was not, by reason.
- kind ``doi`` (columns ``<name>_followup_day``, ``_met``, ``_improved``, ``_worsened``
  (numbers of core set measures), ``_missing``): the members who met the IMACS definition of
  improvement (proportion of those computable, Wilson interval), the numbers of measures
  improved and worsened per member (summaries, and the members with at least one) and the
  members not computable, by reason.

The kind is ``Outcome.kind`` when the cohort language has it, else ``change``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from myositis.analysis.serialise import paired_test_dict, proportion_dict, summary_dict
from myositis.analysis.statistics import (
    paired_t,
    wilcoxon_signed_rank,
    wilcoxon_signed_rank_conditional,
)
from myositis.cohort.language import Outcome

#: Order of the total improvement score's categories in tables (best first; ACR/EULAR 2016
#: myositis response criteria: major, moderate, minimal improvement, then none).
TIS_CATEGORIES: Final = ("major", "moderate", "minimal", "none")

Row = Mapping[str, Any]


def outcome_kind(outcome: Outcome) -> str:
    """``change``, ``tis`` or ``doi`` (``change`` for a cohort language without scores)."""
    return str(getattr(outcome, "kind", "change"))


def outcome_source(outcome: Outcome) -> str:
    """What the outcome measures, in words: ``cdasi activity``, ``laboratory ck`` or
    ``tis (adult)``."""
    score = getattr(outcome, "score", None)
    if score is not None:
        return f"{score} ({getattr(outcome, 'population', 'adult')})"
    if outcome.test is not None:
        scale = " (times the upper limit of normal)" if outcome.scale == "times_uln" else ""
        return f"laboratory {outcome.test}{scale}"
    return f"{outcome.instrument} {outcome.measure}"


def _reasons(rows: Sequence[Row], column: str) -> list[dict[str, Any]]:
    """Members not computable, counted by the reason in ``column`` (a text or a list)."""
    found: Counter[str] = Counter()
    for row in rows:
        reason = row.get(column)
        if isinstance(reason, list | tuple):
            reason = "; ".join(map(str, reason))
        found[str(reason) if reason else "not recorded"] += 1
    return [
        {"reason": r, "count": c} for r, c in sorted(found.items(), key=lambda x: (-x[1], x[0]))
    ]


def _window(outcome: Outcome) -> dict[str, Any]:
    return {
        "baseline_window_days": [outcome.baseline.start, outcome.baseline.end],
        "followup_window_days": [outcome.followup.start, outcome.followup.end],
        "at_day": outcome.at_day,
        "use": outcome.use,
        "better": outcome.better,
    }


def change_outcome(outcome: Outcome, rows: Sequence[Row], conf: float) -> dict[str, Any]:
    """The section of a ``change`` outcome (rules in the module docstring)."""
    name = outcome.name
    paired = [
        r
        for r in rows
        if r.get(f"{name}_baseline") is not None and r.get(f"{name}_followup") is not None
    ]
    before = [float(r[f"{name}_baseline"]) for r in paired]
    after = [float(r[f"{name}_followup"]) for r in paired]
    sign = 1.0 if outcome.better == "lower" else -1.0
    return {
        "n_members": len(rows),
        "n_baseline": sum(r.get(f"{name}_baseline") is not None for r in rows),
        "n_followup": sum(r.get(f"{name}_followup") is not None for r in rows),
        "n": len(paired),
        "baseline": summary_dict(before, conf),
        "followup": summary_dict(after, conf),
        "change": summary_dict([a - b for b, a in zip(before, after, strict=True)], conf),
        "followup_day": summary_dict([float(r[f"{name}_followup_day"]) for r in paired], conf),
        "paired_t": paired_test_dict(lambda: paired_t(before, after, conf=conf)),
        "wilcoxon": paired_test_dict(lambda: wilcoxon_signed_rank(before, after)),
        "wilcoxon_exact": paired_test_dict(lambda: wilcoxon_signed_rank_conditional(before, after)),
        "members": [
            {
                "person_id": int(r["person_id"]),
                "index_date": r["index_date"],
                "baseline": b,
                "followup": a,
                "change": a - b,
                "improvement": sign * (b - a),
            }
            for r, b, a in zip(paired, before, after, strict=True)
        ],
    }


def tis_outcome(outcome: Outcome, rows: Sequence[Row], conf: float) -> dict[str, Any]:
    """The section of a ``tis`` outcome (rules in the module docstring)."""
    name = outcome.name
    scored = [r for r in rows if r.get(f"{name}_tis") is not None]
    labels = [str(r.get(f"{name}_category")) for r in scored]
    order = [c for c in TIS_CATEGORIES if c in labels] + sorted(set(labels) - set(TIS_CATEGORIES))
    return {
        "n_members": len(rows),
        "n": len(scored),
        "tis": summary_dict([float(r[f"{name}_tis"]) for r in scored], conf),
        "categories": [
            {"category": c, **proportion_dict(labels.count(c), len(scored), conf, "wilson")}
            for c in order
        ],
        "not_computable": len(rows) - len(scored),
        "reasons": _reasons([r for r in rows if r.get(f"{name}_tis") is None], f"{name}_missing"),
    }


def _measures(rows: Sequence[Row], column: str, conf: float) -> dict[str, Any]:
    """How many core set measures improved (or worsened) per member: the summary, and the
    members with at least one."""
    counts = [int(r[column]) for r in rows if r.get(column) is not None]
    return summary_dict([float(c) for c in counts], conf) | {
        "at_least_one": sum(c > 0 for c in counts)
    }


def doi_outcome(outcome: Outcome, rows: Sequence[Row], conf: float) -> dict[str, Any]:
    """The section of a ``doi`` outcome (rules in the module docstring)."""
    name = outcome.name
    known = [r for r in rows if r.get(f"{name}_met") is not None]
    n = len(known)
    return {
        "n_members": len(rows),
        "n": n,
        "met": proportion_dict(sum(bool(r[f"{name}_met"]) for r in known), n, conf, "wilson"),
        "improved": _measures(known, f"{name}_improved", conf),
        "worsened": _measures(known, f"{name}_worsened", conf),
        "not_computable": len(rows) - n,
        "reasons": _reasons([r for r in rows if r.get(f"{name}_met") is None], f"{name}_missing"),
    }


def outcome_section(outcome: Outcome, rows: Sequence[Row], conf: float = 0.95) -> dict[str, Any]:
    """One outcome's section: its name, kind, source and windows, and its analysis."""
    kind = outcome_kind(outcome)
    analyse = {"change": change_outcome, "tis": tis_outcome, "doi": doi_outcome}[kind]
    return {
        "name": outcome.name,
        "kind": kind,
        "source": outcome_source(outcome),
        "instrument": outcome.instrument,
        "measure": outcome.measure,
        "test": outcome.test,
        "scale": outcome.scale,
        "score": getattr(outcome, "score", None),
        "population": getattr(outcome, "population", None),
        **_window(outcome),
        **analyse(outcome, rows, conf),
    }


__all__ = [
    "TIS_CATEGORIES",
    "change_outcome",
    "doi_outcome",
    "outcome_kind",
    "outcome_section",
    "outcome_source",
    "tis_outcome",
]
