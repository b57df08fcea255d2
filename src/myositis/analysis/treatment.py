"""Treatment periods and daily doses, shared by the dose, safety and therapy analyses.

Rules (stated in every report):

- The treatment period runs from the index date (first start of a qualifying exposure) to the
  last ``end_date`` of the patient's qualifying exposures; an exposure without an end date is
  still running at the data cut-off (docs/data-model.md), so the period ends at the cut-off
  and is marked ongoing. Gaps between regimens are not subtracted.
- Duration in days counts both the first and the last day (``end - index + 1``), as exposure
  rows are inclusive; months = days / ``days_per_month`` (30.4375 = 365.25 / 12); person-years
  = days / 365.25.
- Daily dose (mg/day) = ``dose`` x administrations per day of ``frequency``
  (:func:`myositis.codes.frequency_per_day`; BID = 2, QW = 1/7, ...). Doses in units other
  than mg are not converted and are reported as not evaluable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from myositis.codes import frequency_per_day
from myositis.cohort.build import CohortResult
from myositis.errors import InvalidInputError

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class TreatmentPeriod:
    """One patient's treatment period with the qualifying drug."""

    person_id: int
    start: dt.date
    end: dt.date
    ongoing: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def years(self) -> float:
        return self.days / DAYS_PER_YEAR

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def treatment_periods(cohort: CohortResult) -> dict[int, TreatmentPeriod]:
    """The treatment period of every cohort patient (see the module rules)."""
    rows: dict[int, list[Mapping[str, Any]]] = {}
    for row in cohort.jak_exposures:
        rows.setdefault(int(row["person_id"]), []).append(row)
    periods: dict[int, TreatmentPeriod] = {}
    for patient in cohort.patients:
        mine = [r for r in rows.get(patient.person_id, []) if r["start_date"] >= patient.index_date]
        ongoing = any(r["end_date"] is None for r in mine)
        ends = [r["end_date"] for r in mine if r["end_date"] is not None]
        end = cohort.data_cutoff if ongoing or not ends else max(ends)
        periods[patient.person_id] = TreatmentPeriod(
            patient.person_id, patient.index_date, max(end, patient.index_date), ongoing
        )
    return periods


def daily_dose(row: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """(mg/day, None) for an exposure row, or (None, reason) when it cannot be computed."""
    dose, unit, frequency = row.get("dose"), row.get("dose_unit"), row.get("frequency")
    if dose is None:
        return None, "no dose recorded"
    if (unit or "").strip().lower() != "mg":
        return None, f"dose unit {unit!r} is not mg"
    if frequency is None:
        return None, "no frequency recorded"
    try:
        per_day = frequency_per_day(str(frequency))
    except InvalidInputError:
        return None, f"unknown frequency {frequency!r}"
    return float(dose) * per_day, None


def active_on(row: Mapping[str, Any], day: dt.date) -> bool:
    """Whether an exposure row covers ``day`` (an open end runs to the data cut-off)."""
    return bool(row["start_date"] <= day and (row["end_date"] is None or row["end_date"] >= day))


__all__ = ["DAYS_PER_YEAR", "TreatmentPeriod", "active_on", "daily_dose", "treatment_periods"]
