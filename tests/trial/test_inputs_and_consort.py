"""The trial's input files (enrolment, screening log) and the CONSORT counts and figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from myositis.errors import InvalidInputError, MissingColumnError
from myositis.report.consort import consort_figure, group_boxes
from myositis.report.svg import to_svg
from myositis.trial.consort import receipt_of
from myositis.trial.inputs import (
    ENROLMENT_OPTIONAL,
    ENROLMENT_SCHEMA,
    SCREENING_SCHEMA,
    check_screening,
    read_table_file,
)
from myositis.trial.records import read_enrolment


def _write(tmp_path: Path, text: str, name: str = "enrolment.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_enrolment_file_is_read_with_every_bad_value_named(tmp_path: Path) -> None:
    good = _write(
        tmp_path,
        "person_id,stratum,randomisation_date,withdrawal_date\n1,naive/methotrexate,2022-09-01,\n",
    )
    table = read_table_file(good, ENROLMENT_SCHEMA, "enrolment", ENROLMENT_OPTIONAL)
    assert table.to_pylist()[0]["arm"] is None and table.num_rows == 1
    bad = _write(
        tmp_path,
        "person_id,stratum,randomisation_date,withdrawal_date\n"
        "1,naive/methotrexate,01/09/2022,\nx,naive/azathioprine,2022-09-02,\n",
    )
    with pytest.raises(InvalidInputError) as info:
        read_table_file(bad, ENROLMENT_SCHEMA, "enrolment", ENROLMENT_OPTIONAL)
    text = str(info.value)
    assert (
        f"{bad}, row 1, column 'randomisation_date': value '01/09/2022': must be a date as "
        "YYYY-MM-DD" in text
    )
    assert "row 2, column 'person_id': value 'x': must be a whole number" in text
    absent = _write(tmp_path, "person_id,randomisation_date\n1,2022-09-01\n")
    with pytest.raises(MissingColumnError, match="no column\\(s\\) stratum"):
        read_table_file(absent, ENROLMENT_SCHEMA, "enrolment", ENROLMENT_OPTIONAL)


def _screening(rows: list[tuple[str, int | None, str | None]]) -> pa.Table:
    return pa.table(
        {
            "screening_id": [r[0] for r in rows],
            "screening_date": [None] * len(rows),
            "person_id": [r[1] for r in rows],
            "excluded_reason": [r[2] for r in rows],
        },
        schema=SCREENING_SCHEMA,
    )


def test_the_screening_log_must_agree_with_the_enrolment() -> None:
    ok = check_screening(
        _screening([("S1", 1, None), ("S2", None, "declined to participate"), ("S3", 2, None)]),
        {1, 2},
        "screening.csv",
    )
    assert [r.excluded_reason for r in ok] == [None, "declined to participate", None]
    cases = [
        ([("S1", 1, None)], "1 randomised person(s) have no screening row (2)"),
        (
            [("S1", 1, None), ("S2", 2, None), ("S3", 9, None)],
            "row 3, column 'excluded_reason': is blank, so the person was randomised, but person 9 "
            "is not in the enrolment table",
        ),
        (
            [("S1", 1, None), ("S2", 2, "declined to participate")],
            "person 2 was randomised (enrolment table) but is listed as excluded",
        ),
        (
            [("S1", 1, None), ("S1", 2, None)],
            "row 2, column 'screening_id': value 'S1': appears twice (also row 1)",
        ),
    ]
    for rows, message in cases:
        with pytest.raises(InvalidInputError) as info:
            check_screening(_screening(rows), {1, 2}, "screening.csv")
        assert message in str(info.value)


CONSORT = {
    "assessed": 80,
    "excluded": 18,
    "excluded_reasons": [
        ["not meeting inclusion criteria: age", 9],
        ["declined to participate", 5],
        ["not meeting inclusion criteria: MMT-8 of 145/150 or more", 4],
    ],
    "randomised": 62,
    "endpoint": "pf_moderate_w24",
    "endpoint_visit": "week24",
    "endpoint_day": 168,
    "population": "all_randomised",
    "single_arm": False,
    "groups": [
        {
            "arm": "a",
            "label": "Drug A",
            "allocated": 31,
            "withdrew": 2,
            "withdrawal_reasons": [["adverse event", 2]],
            "attended_endpoint_visit": 29,
            "rescue_therapy": 1,
            "prednisone_restarted": 0,
            "analysed": 31,
            "without_observed_endpoint": 2,
            "excluded_from_analysis": 0,
        },
        {
            "arm": "b",
            "label": "Placebo",
            "allocated": 31,
            "withdrew": 0,
            "withdrawal_reasons": [],
            "attended_endpoint_visit": 31,
            "rescue_therapy": 0,
            "prednisone_restarted": 0,
            "analysed": 31,
            "without_observed_endpoint": 0,
            "excluded_from_analysis": 0,
        },
    ],
}


def test_the_consort_diagram_shows_every_box_with_reasons() -> None:
    svg = to_svg(consort_figure(CONSORT), "consort")
    for text in (
        "Assessed for eligibility (n = 80)",
        "Excluded (n = 18)",
        "Not meeting inclusion criteria (n = 13)",
        "age (9)",
        "Declined to participate (n = 5)",
        "Randomised (n = 62)",
        "Allocated to Drug A (n = 31)",
        "Withdrew before week24 (n = 2)",
        "adverse event (2)",
        "Attended the week24 visit (n = 29)",
        "Rescue therapy (n = 1)",
        "Analysed (n = 31): all randomised",
        "Excluded from analysis (n = 0)",
        "Enrolment",
        "Allocation",
        "Follow-up",
        "Analysis",
    ):
        assert text in svg, text
    assert to_svg(consort_figure(CONSORT), "consort") == svg  # reproducible


def test_without_a_screening_log_the_number_assessed_is_not_invented() -> None:
    pooled = CONSORT | {
        "assessed": None,
        "excluded": None,
        "excluded_reasons": [],
        "groups": [
            {k: v for k, v in CONSORT["groups"][0].items() if k != "arm"}
            | {"label": "All randomised (arms pooled)", "allocated": 62, "analysed": 62}
        ],
    }
    svg = to_svg(consort_figure(pooled), "consort")
    assert "Assessed for eligibility: not recorded" in svg and "Excluded (n" not in svg
    boxes = group_boxes(pooled["groups"][0], pooled)
    assert boxes["allocation"] == [
        "Allocated (n = 62): arms pooled; the allocation is concealed",
        # no first_dose_date in the enrolment: receipt is not recorded, never guessed
        "- Receipt of the allocated intervention: not recorded",
    ]


def _enrolment(*rows: dict[str, object]) -> pa.Table:
    base = {"stratum": "naive/methotrexate", "randomisation_date": dt.date(2022, 9, 1)}
    return pa.Table.from_pylist([base | r for r in rows], schema=ENROLMENT_SCHEMA)


def test_receipt_of_the_allocated_intervention_is_read_and_checked_row_by_row() -> None:
    strata = ["naive/methotrexate"]
    recorded = _enrolment(
        {"person_id": 1, "first_dose_date": dt.date(2022, 9, 2)},
        {"person_id": 2, "not_received_reason": "withdrew consent before the first dose"},
    )
    rows = read_enrolment(recorded, strata)
    assert [(e.first_dose, e.not_received_reason) for e in rows] == [
        (dt.date(2022, 9, 2), None),
        (None, "withdrew consent before the first dose"),
    ]
    assert receipt_of(recorded) == {
        1: (dt.date(2022, 9, 2), None),
        2: (None, "withdrew consent before the first dose"),
    }
    # neither column filled in any row: receipt is not recorded (None), nothing is guessed
    silent = _enrolment({"person_id": 1}, {"person_id": 2})
    assert len(read_enrolment(silent, strata)) == 2 and receipt_of(silent) is None
    bad = _enrolment(
        {"person_id": 1, "first_dose_date": dt.date(2022, 9, 2)},
        {"person_id": 2},
        {"person_id": 3, "first_dose_date": dt.date(2022, 9, 3), "not_received_reason": "x"},
        {"person_id": 4, "first_dose_date": dt.date(2022, 8, 31)},
        {
            "person_id": 5,
            "withdrawal_date": dt.date(2022, 9, 10),
            "first_dose_date": dt.date(2022, 9, 11),
        },
    )
    with pytest.raises(InvalidInputError) as info:
        read_enrolment(bad, strata)
    text = str(info.value)
    for expected in (
        "row 2, column 'first_dose_date': is blank and so is not_received_reason: other rows "
        "record receipt",
        "row 3, column 'not_received_reason': value 'x': is given, but first_dose_date "
        "2022-09-03 says the patient received the intervention; clear one of the two",
        "row 4, column 'first_dose_date': value '2022-08-31': is before the randomisation "
        "date 2022-09-01",
        "row 5, column 'first_dose_date': value '2022-09-11': is after the withdrawal date "
        "2022-09-10",
    ):
        assert expected in text, expected
    assert "row 1" not in text


def test_a_consort_group_with_receipt_shows_who_did_not_receive_and_why() -> None:
    group = CONSORT["groups"][0] | {
        "received": 29,
        "not_received": 2,
        "not_received_reasons": [["withdrew consent before the first dose", 2]],
    }
    boxes = group_boxes(group, CONSORT)
    assert boxes["allocation"] == [
        "Allocated to Drug A (n = 31)",
        "- Received the allocated intervention (n = 29)",
        "- Did not receive the allocated intervention (n = 2)",
        "    withdrew consent before the first dose (2)",
    ]
    svg = to_svg(consort_figure(CONSORT | {"groups": [group, CONSORT["groups"][1]]}), "consort")
    assert "withdrew consent before the first" in svg  # drawn (the line wraps in the box)
