"""Doses of the qualifying drug, normalised to mg/day and compared with the label dose.

Each regimen row during treatment (start on or after the index date) gives a daily dose
(``dose`` x administrations per day; :mod:`myositis.analysis.treatment`). A patient is above
the label dose when any regimen's daily dose exceeds the label daily dose of that ingredient
and formulation (:func:`myositis.codes.label_dose`, indication and region from the
specification; tofacitinib: IR 5 mg twice daily = 10 mg/day, ER 11 mg once daily = 11 mg/day).
Without a single label dose (ruxolitinib) the comparison is "no label dose", never a guess.
The label doses are adult doses: a patient under 18 at the index (:data:`ADULT_AGE`) is not
compared with them (status :data:`CHILD`), since paediatric doses go by weight or age.
A patient who stayed on the starting regimen had one distinct (dose, frequency, formulation).

Doses of different drugs are never pooled: 20 mg/day of tofacitinib and 4 mg/day of
baricitinib are not values of one variable. The summary of the maximum daily dose is per
ingredient (``by_drug``: each patient's highest daily dose of that drug), and escalation is
judged within a drug (a switch to another drug is not an escalation).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from myositis.analysis.options import AnalysisOptions
from myositis.analysis.serialise import proportion_dict, summary_dict
from myositis.analysis.treatment import daily_dose
from myositis.codes import label_dose
from myositis.cohort.build import CohortResult

#: Age (years at the index) from which a patient is compared with the adult label dose.
ADULT_AGE = 18
CHILD = "no adult label dose comparison (child)"

_FREQUENCY_WORDS = {"QD": "once daily", "BID": "twice daily", "TID": "three times daily"}


def regimen_label(row: dict[str, Any]) -> str:
    """'tofacitinib 10 mg IR twice daily' style label of one regimen row."""
    dose = row.get("dose")
    amount = "?" if dose is None else f"{float(dose):g}"
    frequency = str(row.get("frequency") or "?")
    words = _FREQUENCY_WORDS.get(frequency.upper(), frequency)
    return (
        f"{row['ingredient']} {amount} {row.get('dose_unit') or ''} "
        f"{row.get('formulation') or ''} {words}"
    ).replace("  ", " ")


def dosing(cohort: CohortResult, options: AnalysisOptions) -> dict[str, Any]:
    """Per-patient maximum daily dose against the label dose, the regimens used and the
    maximum daily dose summarised per drug."""
    a = options
    index = {p.person_id: p.index_date for p in cohort.patients}
    child = {
        p.person_id: p.age_at_index is not None and p.age_at_index < ADULT_AGE
        for p in cohort.patients
    }
    by_patient: dict[int, list[dict[str, Any]]] = {pid: [] for pid in index}
    for row in cohort.jak_exposures:
        pid = int(row["person_id"])
        if pid in index and row["start_date"] >= index[pid]:
            by_patient[pid].append(row)

    patients: list[dict[str, Any]] = []
    not_evaluable: list[str] = []
    regimens: Counter[str] = Counter()
    for pid, rows in by_patient.items():
        assessed = []
        for row in sorted(rows, key=lambda r: (r["start_date"], r["exposure_id"])):
            mg, reason = daily_dose(row)
            label = label_dose(
                str(row["ingredient"]),
                str(row.get("formulation") or ""),
                indication=a.label_dose.indication,
                region=a.label_dose.region,
            )
            if mg is None:
                not_evaluable.append(f"person {pid}, exposure {row['exposure_id']}: {reason}")
            assessed.append((row, mg, label))
        for name in dict.fromkeys(regimen_label(r) for r, _, _ in assessed):
            regimens[name] += 1
        doses = [(mg, label, row) for row, mg, label in assessed if mg is not None]
        if not doses:
            patients.append({"person_id": pid, "status": "not evaluable"})
            continue
        max_mg, label_at_max, row_at_max = max(doses, key=lambda d: d[0])
        labelled = [(mg, label) for mg, label, _ in doses if label is not None]
        if child[pid]:
            status = CHILD
        elif not labelled:
            status = "no label dose"
        elif any(mg > label for mg, label in labelled):
            status = "above label"
        else:
            status = "at or below label"
        per_drug: dict[str, list[float]] = {}
        for mg, _, row in doses:
            per_drug.setdefault(_drug(row), []).append(mg)
        distinct = {
            (r.get("dose"), r.get("frequency"), r.get("formulation")) for r, _, _ in assessed
        }
        patients.append(
            {
                "person_id": pid,
                "status": status,
                "first_mg_per_day": doses[0][0],
                "max_mg_per_day": max_mg,
                "drug_at_max": _drug(row_at_max),
                "max_mg_per_day_by_drug": {d: max(v) for d, v in sorted(per_drug.items())},
                "label_mg_per_day_at_max": label_at_max,
                "regimen_at_max": regimen_label(row_at_max),
                "escalated": any(max(v) > v[0] for v in per_drug.values()),
                "stayed_on_starting_regimen": len(distinct) == 1,
            }
        )

    n = len(patients)
    count = Counter(p["status"] for p in patients)
    maxima: dict[str, list[float]] = {}
    for p in patients:
        for drug, mg in p.get("max_mg_per_day_by_drug", {}).items():
            maxima.setdefault(drug, []).append(float(mg))
    return {
        "label_reference": f"{a.label_dose.region} label, {a.label_dose.indication}",
        "adult_age": ADULT_AGE,
        "above_label": proportion_dict(count["above label"], n, a.conf_level),
        "at_or_below_label": count["at or below label"],
        "no_label_dose": count["no label dose"],
        "children_not_compared": count[CHILD],
        "not_evaluable": count["not evaluable"],
        "escalated": sum(1 for p in patients if p.get("escalated")),
        "stayed_on_starting_regimen": sum(
            1 for p in patients if p.get("stayed_on_starting_regimen")
        ),
        "by_drug": [
            {
                "drug": drug,
                "patients": len(values),
                "max_mg_per_day": summary_dict(values, a.conf_level),
            }
            for drug, values in sorted(maxima.items())
        ],
        "regimens": [{"regimen": name, "patients": k} for name, k in sorted(regimens.items())],
        "patients": patients,
        "problems": not_evaluable,
    }


def _drug(row: dict[str, Any]) -> str:
    return str(row["ingredient"]).strip().lower()


__all__ = ["ADULT_AGE", "CHILD", "dosing", "regimen_label"]
