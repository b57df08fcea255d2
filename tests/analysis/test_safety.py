"""Treatment periods, duration and adverse-event incidence per 100 patient-years."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.factories import INDEX, cohort, exposure, patient
from myositis.analysis.safety import adverse_events, treatment_duration
from myositis.analysis.treatment import daily_dose, treatment_periods
from myositis.cohort.build import CohortResult as Cohort
from myositis.study.spec import spec_from_mapping

SPEC = spec_from_mapping({"spec_version": 1, "study": {"id": "t", "version": "1", "title": "t"}})


def _event(pid: int, day: int, term: str = "herpes zoster") -> dict[str, object]:
    return {
        "person_id": pid,
        "term": term,
        "onset_date": INDEX + dt.timedelta(days=day),
        "grade": 2,
        "serious": False,
        "outcome": "recovered",
        "suspected_drug": "tofacitinib",
        "led_to_discontinuation": day == 100,
    }


def _two_patients() -> Cohort:
    return cohort(
        [patient(1), patient(2)],
        jak_exposures=[
            exposure(1, "tofacitinib", 0, 59, 5, "BID"),
            exposure(1, "tofacitinib", 60, 364, 10, "BID"),
            exposure(2, "tofacitinib", 0, None, 11, "QD", "ER"),  # still running at cut-off
            exposure(2, "tofacitinib", -400, -300, 5, "BID"),  # before the index: not counted
        ],
        adverse_events=[_event(1, 100), _event(1, 400), _event(2, 10, "herpes simplex")],
    )


def test_treatment_periods_inclusive_days_and_open_ends() -> None:
    """Patient 1: days 0-364 = 365 days; patient 2: open, so to the cut-off 2025-06-30
    (2,008 days from 2020-01-01 inclusive)."""
    periods = treatment_periods(_two_patients())
    assert (periods[1].days, periods[1].ongoing) == (365, False)
    assert (periods[2].days, periods[2].ongoing) == (2008, True)
    summary = treatment_duration(_two_patients(), SPEC.analysis)
    assert summary["months"]["min"] == pytest.approx(365 / 30.4375)
    assert summary["ongoing_at_cutoff"] == 1
    assert summary["patient_years"] == pytest.approx(2373 / 365.25)


def test_adverse_event_incidence_matches_r_poisson_test() -> None:
    """Two events during treatment (one after patient 1's course is not counted).
    R: T <- 2373 / 365.25; poisson.test(2, T): rate 30.783817952 per 100 patient-years,
    exact interval 3.72806316849 to 111.20173496149."""
    ae = adverse_events(_two_patients(), SPEC.analysis)
    assert (ae["events"], ae["outside_treatment"]) == (2, 1)
    assert ae["led_to_discontinuation"] == 1
    assert ae["patients_with_event"]["count"] == 2
    inc = ae["incidence_per_100_patient_years"]
    assert inc["rate"] == pytest.approx(30.783817952, rel=1e-10)
    assert (inc["ci_low"], inc["ci_high"]) == pytest.approx(
        (3.72806316849, 111.20173496149), rel=1e-10
    )
    assert [t["term"] for t in ae["by_term"]] == ["herpes simplex", "herpes zoster"]


def test_no_events_gives_zero_with_the_exact_upper_bound() -> None:
    """R: poisson.test(0, 365 / 365.25)$conf.int * 100 = 0 to 369.140608388."""
    one = cohort([patient(1)], jak_exposures=[exposure(1, "tofacitinib", 0, 364, 5, "BID")])
    inc = adverse_events(one, SPEC.analysis)["incidence_per_100_patient_years"]
    assert (inc["rate"], inc["ci_low"]) == (0.0, 0.0)
    assert inc["ci_high"] == pytest.approx(369.140608388, rel=1e-10)


def test_daily_dose_rules() -> None:
    """mg/day = dose x administrations per day; other units are not converted."""
    assert daily_dose(exposure(1, "methotrexate", 0, 1, 21, "QW")) == (3.0, None)
    assert daily_dose(exposure(1, "tofacitinib", 0, 1, 11, "BID", "ER")) == (22.0, None)
    assert daily_dose(exposure(1, "immune globulin", 0, 1, 2, "Q4W", unit="g"))[1] == (
        "dose unit 'g' is not mg"
    )
    assert daily_dose(exposure(1, "x", 0, 1, 5, "EVERY_OTHER_DAY"))[1] == (
        "unknown frequency 'EVERY_OTHER_DAY'"
    )
