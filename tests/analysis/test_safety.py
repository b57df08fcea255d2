"""Treatment periods, duration, adverse-event incidence per 100 patient-years and deaths
during follow-up."""

from __future__ import annotations

import datetime as dt

import pytest
from scipy.stats import beta

from cohort.factories import CUTOFF, INDEX, cohort, exposure, patient
from myositis.analysis.safety import adverse_events, deaths, treatment_at_death, treatment_duration
from myositis.analysis.treatment import daily_dose, treatment_periods
from myositis.cohort.build import CohortResult as Cohort
from myositis.cohort.members import Death
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


def _died(day: int, code: str | None = "J84.10") -> Death:
    """A death ``day`` days after INDEX, ICD-10-CM coded (no code: no cause recorded)."""
    return Death(INDEX + dt.timedelta(days=day), None if code is None else "ICD10CM", code)


def _mortal() -> Cohort:
    """Eight patients, index 2020-01-01 (INDEX), data cut-off 2025-06-30 (CUTOFF):

    1. tofacitinib days 0-59 and 60-364, dies day 200: on (the second row covers it);
    2. tofacitinib days 0-99, dies day 130: off, 130 - 99 = 31 days after the last dose;
    3. tofacitinib from day 0, no end, dies day 400: on, no stop recorded;
    4. baricitinib days 0-99 then 200-299, dies day 150 in the gap: off, 150 - 99 = 51 days;
    5. tofacitinib days 0-9, dies on the index day (day 0): on, cause not recorded;
    6. dies on 2025-07-01, after the cut-off: outside follow-up;
    7. dies the day before the index (a registry error): outside follow-up;
    8. no death.
    So 5 deaths of 8 during follow-up: on 2, on with no stop recorded 1, off 2."""
    after_cutoff = (CUTOFF - INDEX).days + 1
    return cohort(
        [
            patient(1, death=_died(200, "I21.9")),
            patient(2, death=_died(130, "A41.9")),
            patient(3, death=_died(400, "I21.9")),
            patient(4, death=_died(150, "C80.1"), ingredient="baricitinib"),
            patient(5, death=_died(0, None)),
            patient(6, death=_died(after_cutoff)),
            patient(7, death=_died(-1)),
            patient(8),
        ],
        jak_exposures=[
            exposure(1, "tofacitinib", 0, 59, 5, "BID"),
            exposure(1, "tofacitinib", 60, 364, 10, "BID"),
            exposure(2, "tofacitinib", 0, 99, 5, "BID"),
            exposure(3, "tofacitinib", 0, None, 11, "QD", "ER"),
            exposure(4, "baricitinib", 0, 99, 2),
            exposure(4, "baricitinib", 200, 299, 4),
            exposure(5, "tofacitinib", 0, 9, 5, "BID"),
            exposure(6, "tofacitinib", 0, 99, 5, "BID"),
            exposure(7, "tofacitinib", 0, 99, 5, "BID"),
        ],
    )


def test_deaths_during_follow_up_with_treatment_at_death_and_cause() -> None:
    found = deaths(_mortal(), SPEC.analysis)
    listed = [
        (d["person_id"], d["days_from_index"], d["treatment_at_death"],
         d["days_since_last_dose"], d["drug"], d["cause_code"])
        for d in found["patients"]
    ]  # fmt: skip
    # in order of days from the index
    assert listed == [
        (5, 0, "on", None, "tofacitinib", None),
        (2, 130, "off", 31, "tofacitinib", "A41.9"),
        (4, 150, "off", 51, "baricitinib", "C80.1"),
        (1, 200, "on", None, "tofacitinib", "I21.9"),
        (3, 400, "on_no_stop_recorded", None, "tofacitinib", "I21.9"),
    ]
    assert found["patients"][1]["death_date"] == "2020-05-10"  # 2020-01-01 + 130 days
    assert found["deaths"] == 5
    assert found["outside_follow_up"] == 2  # 6 after the cut-off, 7 before the index
    assert found["by_treatment_at_death"] == {
        "on": 2,
        "on_no_stop_recorded": 1,
        "off": 2,
        "not_known": 0,
    }
    assert [(c["cause_code"], c["deaths"]) for c in found["by_cause"]] == [
        ("I21.9", 2),
        ("A41.9", 1),
        ("C80.1", 1),
        (None, 1),
    ]
    assert found["data_cutoff"] == "2025-06-30"


def test_the_share_who_died_has_the_exact_interval() -> None:
    """5 of 8 with the Clopper-Pearson interval (R ``binom.test(5, 8)``): the beta quantiles
    ``qbeta(0.025, 5, 4)`` and ``qbeta(0.975, 6, 3)``."""
    died = deaths(_mortal(), SPEC.analysis)["patients_died"]
    assert (died["count"], died["n"], died["proportion"]) == (5, 8, 0.625)
    assert died["ci_low"] == pytest.approx(beta.ppf(0.025, 5, 4), rel=1e-9)
    assert died["ci_high"] == pytest.approx(beta.ppf(0.975, 6, 3), rel=1e-9)


def test_no_death_gives_an_empty_section() -> None:
    found = deaths(_two_patients(), SPEC.analysis)
    assert (found["deaths"], found["patients"], found["by_cause"]) == (0, [], [])
    assert found["outside_follow_up"] == 0
    assert found["patients_died"]["count"] == 0 and found["patients_died"]["n"] == 2


def test_treatment_at_death_when_no_exposure_is_recorded_by_then() -> None:
    """Only exposures started from the index to the death count: one starting after the
    death (or none at all) tells nothing about the day of death."""
    later = [exposure(1, "tofacitinib", 50, 99, 5, "BID")]
    assert treatment_at_death(later, INDEX, INDEX + dt.timedelta(days=10)) == (
        "not_known",
        None,
        None,
    )
    assert treatment_at_death([], INDEX, INDEX)[0] == "not_known"
    # a row covering the day of death beats an open-ended one (a recorded end is better)
    rows = [
        exposure(1, "tofacitinib", 0, None, 5, "BID"),
        exposure(1, "upadacitinib", 5, 20, 15),
    ]
    assert treatment_at_death(rows, INDEX, INDEX + dt.timedelta(days=20)) == (
        "on",
        None,
        "upadacitinib",
    )
