"""Response at the MCID and time to the first clinically meaningful improvement.

- Responder: at the follow-up assessment the specification selects, the activity fell by at
  least the MCID (``definition: absolute``) or by at least ``percent`` % of the baseline
  (``relative``), by the one rule ``myositis.instruments.cdasi.response``, applied in the
  engine when the cohort is built (``Patient.responder``, ``Patient.response_days``); the
  proportion has the exact Clopper-Pearson interval (R ``binom.test``).
- Time to response: days from the index date to the first follow-up assessment that meets the
  response rule; patients who never meet it are censored at their last follow-up assessment.
  Months = days / ``days_per_month``. Kaplan-Meier (R ``survfit``) with the pointwise
  interval of the specification's confidence level, plotted as the cumulative share improved.
- Counts within the time windows are of disjoint intervals: (0, w1], (w1, w2], ... (Min 2022:
  8 within 1 month, 2 within 1.5 months, 1 by 2 months), then later responders and patients
  without a response.
"""

from __future__ import annotations

import math
from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import proportion_dict
from myositis.analysis.survival import KaplanMeier, kaplan_meier
from myositis.cohort.build import CohortResult


def time_to_response(
    cohort: CohortResult, options: AnalysisOptions
) -> tuple[list[float], list[bool]]:
    """(months, event) per patient, in the cohort's order."""
    months = options.days_per_month
    durations, events = [], []
    for p in cohort.patients:
        if p.response_days is not None:
            durations.append(p.response_days / months)
            events.append(True)
        else:
            durations.append(p.last_followup_days / months)
            events.append(False)
    return durations, events


def fit_time_to_response(cohort: CohortResult, options: AnalysisOptions) -> KaplanMeier:
    """Kaplan-Meier estimate of the time to the first clinically meaningful improvement."""
    durations, events = time_to_response(cohort, options)
    return kaplan_meier(durations, events, conf=options.conf_level, conf_type="log")


def km_table(km: KaplanMeier) -> list[dict[str, Any]]:
    """The Kaplan-Meier curve as rows on the cumulative scale (1 - S(t)) with its interval:
    ``time_months, n_risk, n_event, n_censor, cumulative_incidence, ci_low, ci_high`` (an
    interval R leaves undefined is None)."""
    return [
        {
            "time_months": t,
            "n_risk": int(r),
            "n_event": int(e),
            "n_censor": int(c),
            "cumulative_incidence": 1 - s,
            "ci_low": _finite(1 - h),
            "ci_high": _finite(1 - lo),
        }
        for t, r, e, c, s, lo, h in zip(
            km.times,
            km.n_risk,
            km.n_event,
            km.n_censor,
            km.survival,
            km.ci_low,
            km.ci_high,
            strict=True,
        )
    ]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _window_label(low: float | None, high: float) -> str:
    if low is None:
        return f"within {high:g} month" + ("" if high == 1 else "s")
    return f"> {low:g} to {high:g} months"


def response(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Responders with exact CIs, the Kaplan-Meier estimate and the window counts."""
    a = options
    n = len(cohort.patients)
    responders = sum(p.responder for p in cohort.patients)
    km = fit_time_to_response(cohort, options)
    durations, events = time_to_response(cohort, options)
    event_times = [d for d, e in zip(durations, events, strict=True) if e]

    windows = []
    low: float | None = None
    for high in a.response_windows_months:
        count = sum(1 for t in event_times if (low is None or t > low) and t <= high)
        lo_ci, hi_ci = km.interval_at(high)
        windows.append(
            {
                "label": _window_label(low, high),
                "from_months": 0.0 if low is None else low,
                "to_months": high,
                "count": count,
                "cumulative_count": sum(1 for t in event_times if t <= high),
                "km_cumulative_incidence": km.cumulative_incidence_at(high),
                "km_ci_low": _finite(1 - hi_ci),
                "km_ci_high": _finite(1 - lo_ci),
            }
        )
        low = high
    last = a.response_windows_months[-1]
    definition = (
        f"improvement >= {a.mcid:g} points (MCID)"
        if a.response.definition == "absolute"
        else f"improvement >= {a.response.percent:g}% of baseline"
    )
    return {
        "definition": definition,
        "rule": a.response.definition,
        "mcid": a.mcid,
        "responders_at_followup": proportion_dict(responders, n, a.conf_level),
        "ever_responded": proportion_dict(len(event_times), n, a.conf_level),
        "time_to_response": {
            "unit": "months",
            "n": n,
            "days_per_month": a.days_per_month,
            "events": len(event_times),
            "censored": n - len(event_times),
            "median_months": _finite(km.median),
            "median_ci_low": _finite(km.median_ci[0]),
            "median_ci_high": _finite(km.median_ci[1]),
            "conf": km.conf,
            "conf_type": km.conf_type,
            "windows": windows,
            "later": sum(1 for t in event_times if t > last),
            "no_response": n - len(event_times),
            "table": km_table(km),
        },
    }


__all__ = ["fit_time_to_response", "km_table", "response", "time_to_response"]
