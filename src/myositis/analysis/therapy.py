"""Concomitant systemic therapies: monotherapy, and tapering or stopping during treatment.

Operational definitions (one consistent reading of Min 2022, where "monotherapy in 3" and
"all but one tapered or discontinued concomitant therapies" must both hold for 11 patients;
docs/study-spec.md explains the choice):

- Systemic therapies are the specification's ``systemic_therapies`` ingredients (the seed's
  list of DM treatments); the qualifying drug itself is not one of them.
- Concomitant at the index: a systemic-therapy regimen row covering the index date.
- Stopped: a therapy concomitant at the index with no row covering the last day of the
  treatment period. Tapered: a later row of that therapy, starting inside the treatment
  period, has a lower daily dose than the row covering the index. The two are independent:
  a taper that ends in a stop (prednisone 20 -> 10 -> 5 mg, then none) counts as tapered and
  as stopped (outcome ``tapered and stopped``), so the per-therapy counts of tapered and of
  stopped may overlap; continued = neither. A patient "tapered or stopped" when at least one
  concomitant therapy was; the denominator is the whole cohort.
- Monotherapy (``monotherapy_at``): ``end_of_treatment`` (default) = no systemic therapy
  covering the last day of the treatment period, i.e. the patient was maintained on the
  qualifying drug alone; ``index`` = no concomitant therapy at the index.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import proportion_dict
from myositis.analysis.treatment import active_on, daily_dose, treatment_periods
from myositis.cohort.build import CohortResult

TAPERED_AND_STOPPED = "tapered and stopped"
#: (tapered, stopped) -> the outcome of one concomitant therapy.
_OUTCOMES = {
    (False, False): "continued",
    (True, False): "tapered",
    (False, True): "stopped",
    (True, True): TAPERED_AND_STOPPED,
}


def _name(row: dict[str, Any]) -> str:
    return str(row["ingredient"]).strip().lower()


def _active(rows: list[dict[str, Any]], day: dt.date) -> dict[str, dict[str, Any]]:
    """The row of each ingredient covering ``day`` (the latest-starting one on overlaps)."""
    out: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["start_date"], r["exposure_id"])):
        if active_on(row, day):
            out[_name(row)] = row
    return out


def concomitant_therapy(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Monotherapy, number of additional therapies and tapering/stopping per the rules."""
    periods = treatment_periods(cohort)
    by_patient: dict[int, list[dict[str, Any]]] = {p.person_id: [] for p in cohort.patients}
    for row in cohort.therapies:
        pid = int(row["person_id"])
        if pid in by_patient:
            by_patient[pid].append(row)

    patients: list[dict[str, Any]] = []
    per_therapy: dict[str, Counter[str]] = {}
    for p in cohort.patients:
        rows = [r for r in by_patient[p.person_id] if r["start_date"] is not None]
        period = periods[p.person_id]
        at_index = _active(rows, p.index_date)
        at_end = _active(rows, period.end)
        outcomes: dict[str, str] = {}
        for name, start_row in at_index.items():
            start_mg, _ = daily_dose(start_row)
            later = [
                r for r in rows if _name(r) == name and p.index_date < r["start_date"] <= period.end
            ]
            lower = [
                mg
                for mg, _ in (daily_dose(r) for r in later)
                if mg is not None and start_mg is not None and mg < start_mg
            ]
            outcome = _OUTCOMES[(bool(lower), name not in at_end)]
            outcomes[name] = outcome
            per_therapy.setdefault(name, Counter())[outcome] += 1
        time_point = at_end if options.monotherapy_at == "end_of_treatment" else at_index
        patients.append(
            {
                "person_id": p.person_id,
                "concomitant_at_index": sorted(at_index),
                "concomitant_at_end": sorted(at_end),
                "outcomes": outcomes,
                "tapered_or_stopped": any(o != "continued" for o in outcomes.values()),
                "additional_therapies": len(time_point),
            }
        )

    n = len(patients)
    conf = options.conf_level
    additional = Counter(min(p["additional_therapies"], 3) for p in patients)
    return {
        "monotherapy_at": options.monotherapy_at,
        "monotherapy": proportion_dict(additional[0], n, conf),
        "additional_therapies": [
            {"additional": label, "patients": additional[k]}
            for k, label in ((0, "0 (monotherapy)"), (1, "1"), (2, "2"), (3, "3 or more"))
        ],
        "max_additional_therapies": max((p["additional_therapies"] for p in patients), default=0),
        "with_concomitant_at_index": sum(1 for p in patients if p["concomitant_at_index"]),
        "tapered_or_stopped": proportion_dict(
            sum(p["tapered_or_stopped"] for p in patients), n, conf
        ),
        "by_therapy": [
            {
                "therapy": name,
                "at_index": sum(c.values()),
                "stopped": c["stopped"] + c[TAPERED_AND_STOPPED],
                "tapered": c["tapered"] + c[TAPERED_AND_STOPPED],
                "tapered_and_stopped": c[TAPERED_AND_STOPPED],
                "continued": c["continued"],
            }
            for name, c in sorted(per_therapy.items())
        ],
        "patients": patients,
    }


__all__ = ["TAPERED_AND_STOPPED", "concomitant_therapy"]
