"""Concomitant therapies: tapered, stopped or continued; monotherapy at the end or the index."""

from __future__ import annotations

from typing import Any

from cohort.factories import cohort, exposure, patient
from myositis.analysis.therapy import concomitant_therapy
from myositis.cohort.build import CohortResult as Cohort
from myositis.study.spec import spec_from_mapping


def _spec(monotherapy_at: str = "end_of_treatment") -> Any:
    return spec_from_mapping(
        {
            "spec_version": 1,
            "study": {"id": "t", "version": "1", "title": "t"},
            "analysis": {"monotherapy_at": monotherapy_at},
        }
    )


def _cohort() -> Cohort:
    jak = [exposure(pid, "tofacitinib", 0, 364, 5, "BID") for pid in (1, 2, 3, 4)]
    therapies = [
        # 1: prednisone 20 -> 10 mg (tapered, still on it at the end); HCQ stopped at day 100.
        exposure(1, "prednisone", -50, 59, 20),
        exposure(1, "prednisone", 60, None, 10),
        exposure(1, "hydroxychloroquine", -300, 99, 200, "BID"),
        # 2: methotrexate 25 mg weekly -> 15 mg weekly, then stopped before the end.
        exposure(2, "methotrexate", -100, 89, 25, "QW"),
        exposure(2, "methotrexate", 90, 200, 15, "QW"),
        # 3: mycophenolate unchanged throughout; a prior therapy stopped long before.
        exposure(3, "mycophenolate mofetil", -100, 500, 1000, "BID"),
        exposure(3, "azathioprine", -900, -600, 100),
        # 4: nothing at the index; prednisone started during treatment and still on at the end.
        exposure(4, "prednisone", 30, None, 5),
    ]
    return cohort([patient(i) for i in (1, 2, 3, 4)], jak_exposures=jak, therapies=therapies)


def test_outcomes_per_therapy_and_patient() -> None:
    result = concomitant_therapy(_cohort(), _spec().analysis)
    outcomes = {p["person_id"]: p["outcomes"] for p in result["patients"]}
    assert outcomes == {
        1: {"prednisone": "tapered", "hydroxychloroquine": "stopped"},
        2: {"methotrexate": "tapered and stopped"},
        3: {"mycophenolate mofetil": "continued"},
        4: {},
    }
    assert (result["tapered_or_stopped"]["count"], result["tapered_or_stopped"]["n"]) == (2, 4)
    assert result["with_concomitant_at_index"] == 3
    by_therapy = {t["therapy"]: t for t in result["by_therapy"]}
    assert by_therapy["prednisone"] == {
        "therapy": "prednisone", "at_index": 1, "stopped": 0, "tapered": 1,
        "tapered_and_stopped": 0, "continued": 0,
    }  # fmt: skip


def test_a_taper_that_ends_in_a_stop_counts_as_tapered_and_as_stopped() -> None:
    """Patient 2's methotrexate went 25 -> 15 mg weekly and then stopped: it is counted in
    both columns (and once in 'tapered and stopped'), not hidden as 'stopped' only (the demo
    showed 0 tapered prednisone courses although every concomitant prednisone was tapered)."""
    by_therapy = {
        t["therapy"]: t for t in concomitant_therapy(_cohort(), _spec().analysis)["by_therapy"]
    }
    assert by_therapy["methotrexate"] == {
        "therapy": "methotrexate", "at_index": 1, "stopped": 1, "tapered": 1,
        "tapered_and_stopped": 1, "continued": 0,
    }  # fmt: skip
    assert by_therapy["mycophenolate mofetil"]["continued"] == 1


def test_monotherapy_at_the_end_of_treatment_or_at_the_index() -> None:
    """At the end: only patient 2 has no systemic therapy left; at the index: only patient 4
    had none."""
    end = concomitant_therapy(_cohort(), _spec().analysis)
    assert end["monotherapy"]["count"] == 1
    assert [p["additional_therapies"] for p in end["patients"]] == [1, 0, 1, 1]
    index = concomitant_therapy(_cohort(), _spec("index").analysis)
    assert index["monotherapy"]["count"] == 1
    assert [p["additional_therapies"] for p in index["patients"]] == [2, 1, 1, 0]
    assert index["max_additional_therapies"] == 2
