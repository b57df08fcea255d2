"""Daily prednisone dose from exposure records, and adherence to the protocol taper.

Rules (documented in docs/trial.md):

- A ``drug_exposure`` row of the taper's ingredient gives ``dose x frequency_per_day`` mg on
  every day from ``start_date`` to ``end_date`` (both included; a blank end runs to the last
  day asked for). Doses must be in mg; another unit is an error naming the row.
- Two rows of the same person whose periods share a day are an error naming both records: a
  daily dose cannot be read from overlapping regimens (a dose change is a new row that starts
  the day after the previous one ends).
- A day that no record covers has 0 mg: no prednisone recorded is no prednisone taken.
- Adherence, day by day from day 0 to the last day asked for: on schedule when the recorded
  dose is within ``tolerance_mg`` of the taper's scheduled dose for that day, above or below
  otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from myositis.errors import InputProblem, InvalidInputError
from myositis.trial.records import Exposure
from myositis.trial.spec import Taper


@dataclass(frozen=True)
class DailyDoses:
    """Prednisone mg/day for each day from ``first`` on, and the record behind each day."""

    first: dt.date
    doses: tuple[float, ...]
    sources: tuple[str | None, ...]

    def on(self, day: dt.date) -> float:
        index = (day - self.first).days
        return self.doses[index] if 0 <= index < len(self.doses) else 0.0

    def source_on(self, day: dt.date) -> str | None:
        index = (day - self.first).days
        return self.sources[index] if 0 <= index < len(self.sources) else None


@dataclass(frozen=True)
class Adherence:
    """Days on, above and below the protocol taper (within ``tolerance_mg``)."""

    days: int
    on_schedule: int
    above: int
    below: int
    first_day_above: dt.date | None

    @property
    def share(self) -> float | None:
        return self.on_schedule / self.days if self.days else None


def check_overlaps(person_id: int, records: Sequence[Exposure]) -> list[InputProblem]:
    """One problem per pair of records of one person whose periods share a day."""
    problems: list[InputProblem] = []
    ordered = sorted(records, key=lambda r: (r.start, r.row))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if a.end is not None and b.start > a.end:
                break
            if a.end is None or b.start <= a.end:
                problems.append(
                    InputProblem(
                        b.row,
                        "start_date",
                        str(b.start),
                        f"person {person_id}: {b.source} ({b.start} to {b.end or 'ongoing'}, "
                        f"row {b.row}) overlaps {a.source} ({a.start} to {a.end or 'ongoing'}, "
                        f"row {a.row}); end one regimen the day before the next starts",
                        "drug_exposure",
                    )
                )
    return problems


def daily_doses(
    person_id: int, records: Sequence[Exposure], first: dt.date, last: dt.date
) -> DailyDoses:
    """Daily dose for each day from ``first`` to ``last`` (see the module rules)."""
    problems = check_overlaps(person_id, records)
    for r in records:
        if r.daily_dose is None or (r.dose_unit or "").strip().lower() != "mg":
            problems.append(
                InputProblem(r.row, "dose_unit", r.dose_unit,
                             f"person {person_id}: {r.source} needs a dose in mg with a "
                             "frequency to give a daily prednisone dose", "drug_exposure")
            )  # fmt: skip
    if problems:
        raise InvalidInputError(problems)
    length = max((last - first).days + 1, 0)
    doses = [0.0] * length
    sources: list[str | None] = [None] * length
    for r in records:
        start = max((r.start - first).days, 0)
        end = length - 1 if r.end is None else min((r.end - first).days, length - 1)
        for k in range(start, end + 1):
            doses[k] = float(r.daily_dose or 0.0)
            sources[k] = r.source
    return DailyDoses(first, tuple(doses), tuple(sources))


def adherence(doses: DailyDoses, taper: Taper, until: dt.date) -> Adherence:
    """Compare each day from day 0 (``doses.first``) to ``until`` with the taper."""
    on = above = below = 0
    first_above: dt.date | None = None
    days = max((until - doses.first).days + 1, 0)
    for k in range(days):
        day = doses.first + dt.timedelta(days=k)
        actual, scheduled = doses.on(day), taper.dose_on(k)
        if actual > scheduled + taper.tolerance_mg:
            above += 1
            first_above = first_above or day
        elif actual < scheduled - taper.tolerance_mg:
            below += 1
        else:
            on += 1
    return Adherence(days, on, above, below, first_above)


def restarted(doses: DailyDoses, until: dt.date) -> tuple[dt.date, str | None] | None:
    """The first day with prednisone after it had been taken and then stopped, up to
    ``until`` (or None). A first start after day 0 is not a restart."""
    taken = stopped = False
    for k in range(max((until - doses.first).days + 1, 0)):
        day = doses.first + dt.timedelta(days=k)
        if doses.on(day) > 0:
            if stopped:
                return day, doses.source_on(day)
            taken = True
        elif taken:
            stopped = True
    return None


__all__ = ["Adherence", "DailyDoses", "adherence", "check_overlaps", "daily_doses", "restarted"]
