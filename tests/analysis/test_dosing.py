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
