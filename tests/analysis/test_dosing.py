"""Doses normalised to mg/day and compared with the label dose of the same formulation.

Label doses (myositis.codes, US FDA labels): tofacitinib IR 5 mg twice daily = 10 mg/day,
ER 11 mg once daily = 11 mg/day; baricitinib 2 mg/day (US), 4 mg/day (EU); ruxolitinib has
no single label dose.
"""

from __future__ import annotations

from typing import Any

from cohort.factories import cohort, exposure, patient
from myositis.analysis.dosing import dosing, regimen_label
from myositis.study.spec import spec_from_mapping


def _spec(region: str = "US") -> Any:
    return spec_from_mapping(
        {
            "spec_version": 1,
            "study": {"id": "t", "version": "1", "title": "t"},
            "analysis": {"label_dose": {"indication": "RA", "region": region}},
        }
    )


def _run(region: str = "US") -> dict[str, Any]:
    rows = [
        exposure(1, "tofacitinib", 0, 40, 5, "BID"),  # 10 mg/day: the IR label dose
        exposure(2, "tofacitinib", 0, 29, 5, "BID"),
        exposure(2, "tofacitinib", 30, 300, 11, "BID", "ER"),  # 22 > 11: above
        exposure(3, "tofacitinib", 0, 300, 11, "QD", "ER"),  # 11 = ER label
        exposure(4, "ruxolitinib", 0, 300, 15, "BID"),  # no single label dose
        exposure(5, "baricitinib", 0, 300, 4, "QD"),  # above US 2, equal to EU 4
        exposure(6, "tofacitinib", 0, 300, 1, "BID", unit="g"),  # not evaluable
        exposure(1, "tofacitinib", -500, -400, 10, "BID"),  # before the index: ignored
    ]
    patients = [patient(i, ingredient=r) for i, r in enumerate(
        ["tofacitinib"] * 3 + ["ruxolitinib", "baricitinib", "tofacitinib"], start=1)]  # fmt: skip
    return dosing(cohort(patients, jak_exposures=rows), _spec(region).analysis)


def test_label_comparison_per_formulation() -> None:
    result = _run()
    status = {p["person_id"]: p["status"] for p in result["patients"]}
    assert status == {
        1: "at or below label",
        2: "above label",
        3: "at or below label",
        4: "no label dose",
        5: "above label",
        6: "not evaluable",
    }
    assert (result["above_label"]["count"], result["above_label"]["n"]) == (2, 6)
    assert (result["no_label_dose"], result["not_evaluable"]) == (1, 1)
    [problem] = result["problems"]
    assert problem.startswith("person 6, exposure ")
    assert problem.endswith(": dose unit 'g' is not mg")
    by_id = {p["person_id"]: p for p in result["patients"]}
    assert by_id[2]["max_mg_per_day"] == 22
    assert by_id[2]["escalated"] is True
    assert by_id[1]["stayed_on_starting_regimen"] is True
    assert result["escalated"] == 1


def test_eu_label_changes_the_baricitinib_comparison() -> None:
    status = {p["person_id"]: p["status"] for p in _run("EU")["patients"]}
    assert status[5] == "at or below label"


def test_regimen_labels() -> None:
    assert regimen_label(exposure(1, "tofacitinib", 0, 1, 11, "BID", "ER")) == (
        "tofacitinib 11 mg ER twice daily"
    )


def test_a_child_is_not_compared_with_the_adult_label_dose() -> None:
    """A 9-year-old on tofacitinib 5 mg twice daily and a 17-year-old on 10 mg twice daily
    (20 > 10 mg/day, above the adult label were they adults) are not compared; an 18-year-old
    on the same 20 mg/day is. The statuses partition the cohort."""
    rows = [
        exposure(pid, "tofacitinib", 0, 300, dose, "BID")
        for pid, dose in ((1, 5), (2, 10), (3, 10))
    ]
    patients = [
        patient(1, age_at_index=9),
        patient(2, age_at_index=17),
        patient(3, age_at_index=18),
    ]
    result = dosing(cohort(patients, jak_exposures=rows), _spec().analysis)
    status = {p["person_id"]: p["status"] for p in result["patients"]}
    assert status == {
        1: "no adult label dose comparison (child)",
        2: "no adult label dose comparison (child)",
        3: "above label",
    }
    assert result["children_not_compared"] == 2
    assert (result["above_label"]["count"], result["above_label"]["n"]) == (1, 3)


def test_doses_are_summarised_per_drug_never_pooled() -> None:
    """Maximum daily doses: tofacitinib 10, 22, 11 (patients 1-3; median 11), ruxolitinib 30,
    baricitinib 4; patient 6's dose in grams is not evaluable and not summarised. A pooled
    median of 10, 22, 11, 30, 4 (= 11) would mix drugs; there is no such number."""
    result = _run()
    by_drug = {d["drug"]: d for d in result["by_drug"]}
    assert list(by_drug) == ["baricitinib", "ruxolitinib", "tofacitinib"]
    assert by_drug["tofacitinib"]["patients"] == 3
    summary = by_drug["tofacitinib"]["max_mg_per_day"]
    assert (summary["median"], summary["min"], summary["max"]) == (11, 10, 22)
    assert by_drug["ruxolitinib"]["max_mg_per_day"]["median"] == 30
    assert by_drug["baricitinib"]["max_mg_per_day"]["median"] == 4
    assert "max_mg_per_day" not in result
    assert result["patients"][1]["max_mg_per_day_by_drug"] == {"tofacitinib": 22}


def test_a_switch_to_another_drug_is_not_an_escalation() -> None:
    """Patient 1: baricitinib 4 mg/day, then tofacitinib 10 mg/day: a switch, not an
    escalation (comparing 10 with 4 across drugs would call it one). Patient 2: tofacitinib,
    then baricitinib 2 -> 4 mg/day: escalated within baricitinib."""
    switch = [
        exposure(1, "baricitinib", 0, 99, 4, "QD"),
        exposure(1, "tofacitinib", 100, 300, 5, "BID"),
        exposure(2, "tofacitinib", 0, 99, 5, "BID"),
        exposure(2, "baricitinib", 100, 199, 2, "QD"),
        exposure(2, "baricitinib", 200, 300, 4, "QD"),
    ]
    result = dosing(cohort([patient(1), patient(2)], jak_exposures=switch), _spec().analysis)
    escalated = {p["person_id"]: p["escalated"] for p in result["patients"]}
    assert escalated == {1: False, 2: True}
    assert result["patients"][0]["max_mg_per_day_by_drug"] == {"baricitinib": 4, "tofacitinib": 10}
    assert result["patients"][1]["max_mg_per_day_by_drug"] == {"baricitinib": 4, "tofacitinib": 10}
