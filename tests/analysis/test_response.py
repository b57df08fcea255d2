"""Responders at the MCID and time to the first clinically meaningful improvement."""

from __future__ import annotations

from typing import Any

import pytest

from cohort.factories import cohort, patient
from myositis.analysis.response import response, time_to_response
from myositis.study.spec import spec_from_mapping


def _spec(**analysis: Any) -> Any:
    return spec_from_mapping(
        {
            "spec_version": 1,
            "study": {"id": "t", "version": "1", "title": "t"},
            "analysis": analysis,
        }
    )


# Response days at the window edges (1, 1.5 and 2 months = 30.4375, 45.66, 60.875 days).
DAYS = [30, 31, 45, 46, 60, 61, None, None]
LAST = [180, 180, 180, 180, 180, 180, 90, 20]


def _cohort() -> Any:
    patients = [
        patient(i, response_days=d, last_followup_days=last, followup_activity=30.0 - i)
        for i, (d, last) in enumerate(zip(DAYS, LAST, strict=True), start=1)
    ]
    return cohort(patients)


def test_disjoint_window_counts_at_the_edges() -> None:
    ttr = response(_cohort(), _spec().analysis)["time_to_response"]
    assert [w["count"] for w in ttr["windows"]] == [1, 2, 2]
    assert [w["cumulative_count"] for w in ttr["windows"]] == [1, 3, 5]
    assert (ttr["later"], ttr["no_response"], ttr["events"]) == (1, 2, 6)


def test_kaplan_meier_matches_r_survival() -> None:
    """R: d <- c(30,31,45,46,60,61,90,20) / 30.4375; e <- c(1,1,1,1,1,1,0,0)
    summary(survfit(Surv(d, e) ~ 1), times = c(1, 1.5, 2)): S = 0.857142857143,
    0.571428571429, 0.285714285714; at 2 months CI 0.0885608420584 to 0.92176916077;
    median 1.5112936345 (lower 1.01848049281, upper NA)."""
    durations, events = time_to_response(_cohort(), _spec().analysis)
    assert events == [True] * 6 + [False] * 2
    assert durations[6] == pytest.approx(90 / 30.4375)
    ttr = response(_cohort(), _spec().analysis)["time_to_response"]
    assert [w["km_cumulative_incidence"] for w in ttr["windows"]] == pytest.approx(
        [1 - 0.857142857143, 1 - 0.571428571429, 1 - 0.285714285714], abs=1e-12
    )
    last = ttr["windows"][2]
    assert (last["km_ci_low"], last["km_ci_high"]) == pytest.approx(
        (1 - 0.92176916077, 1 - 0.0885608420584), abs=1e-11
    )
    assert ttr["median_months"] == pytest.approx(1.5112936345, abs=1e-10)
    assert ttr["median_ci_low"] == pytest.approx(1.01848049281, abs=1e-10)
    assert ttr["median_ci_high"] is None


def test_responders_counted_with_exact_interval() -> None:
    """The responders are the patients the cohort marked (``Patient.responder``, the rule
    applied in the engine; tests/cohort/test_builder.py). R: binom.test(1, 2)$conf.int =
    0.0125791170934 0.9874208829066."""
    at_mcid = patient(1, followup_activity=25.0, responder=True)
    below = patient(2, followup_activity=26.0, responder=False)
    result = response(cohort([at_mcid, below]), _spec().analysis)["responders_at_followup"]
    assert (result["count"], result["n"]) == (1, 2)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(
        (0.0125791170934, 0.9874208829066), abs=1e-12
    )
