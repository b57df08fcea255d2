"""Daily prednisone doses, adherence to the taper, and restarts, on hand-made records."""

from __future__ import annotations

import datetime as dt

import pytest

from myositis.errors import InvalidInputError
from myositis.trial.prednisone import adherence, daily_doses, restarted
from myositis.trial.records import Exposure
from myositis.trial.spec import Taper, TaperStep

DAY0 = dt.date(2023, 1, 1)


def _record(row: int, start: int, end: int | None, daily: float) -> Exposure:
    stop = None if end is None else DAY0 + dt.timedelta(days=end)
    return Exposure(
        row, 100 + row, "prednisone", DAY0 + dt.timedelta(days=start), stop, daily, "mg"
    )


TAPER = Taper(steps=[TaperStep(from_day=0, dose_mg=20), TaperStep(from_day=10, dose_mg=10),
                     TaperStep(from_day=20, dose_mg=0)])  # fmt: skip


def test_daily_doses_adherence_and_no_restart() -> None:
    records = [_record(1, 0, 9, 20), _record(2, 10, 24, 10)]  # tapers 5 days late
    doses = daily_doses(7, records, DAY0, DAY0 + dt.timedelta(days=29))
    assert doses.on(DAY0) == 20 and doses.on(DAY0 + dt.timedelta(days=22)) == 10
    assert doses.on(DAY0 + dt.timedelta(days=25)) == 0
    assert doses.source_on(DAY0 + dt.timedelta(days=12)) == "drug_exposure 102"
    result = adherence(doses, TAPER, DAY0 + dt.timedelta(days=29))
    assert (result.days, result.on_schedule, result.above, result.below) == (30, 25, 5, 0)
    assert result.first_day_above == DAY0 + dt.timedelta(days=20)
    assert result.share == pytest.approx(25 / 30)
    assert restarted(doses, DAY0 + dt.timedelta(days=29)) is None


def test_a_late_first_start_is_not_a_restart_but_a_second_course_is() -> None:
    late = daily_doses(7, [_record(1, 3, 9, 20)], DAY0, DAY0 + dt.timedelta(days=20))
    assert restarted(late, DAY0 + dt.timedelta(days=20)) is None
    again = daily_doses(7, [_record(1, 0, 9, 20), _record(2, 15, 18, 5)], DAY0,
                        DAY0 + dt.timedelta(days=20))  # fmt: skip
    assert restarted(again, DAY0 + dt.timedelta(days=20)) == (
        DAY0 + dt.timedelta(days=15), "drug_exposure 102")  # fmt: skip


def test_overlapping_records_name_both() -> None:
    with pytest.raises(InvalidInputError) as info:
        daily_doses(7, [_record(1, 0, 9, 20), _record(2, 9, 20, 10)], DAY0,
                    DAY0 + dt.timedelta(days=20))  # fmt: skip
    text = str(info.value)
    assert "drug_exposure, row 2, column 'start_date'" in text
    assert "person 7: drug_exposure 102 (2023-01-10 to 2023-01-21, row 2) overlaps " \
           "drug_exposure 101 (2023-01-01 to 2023-01-10, row 1)" in text  # fmt: skip
