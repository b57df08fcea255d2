"""Resolution of active myositis: CK at or below the ULN at the last follow-up (and MMT-8)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cohort.factories import INDEX, cohort, patient
from myositis.analysis.myositis_resolution import myositis_resolution
from myositis.analysis.pruritus import pick_baseline, pick_followup
from myositis.cohort.definition import Window
from myositis.study.spec import spec_from_mapping


def _spec(**myositis: Any) -> Any:
    return spec_from_mapping(
        {
            "spec_version": 1,
            "study": {"id": "t", "version": "1", "title": "t"},
            "analysis": {"myositis": myositis},
        }
    )


def _ck(pid: int, day: int, value: float, uln: float = 200.0) -> dict[str, Any]:
    return {"person_id": pid, "test": "CK", "result_date": INDEX + dt.timedelta(days=day),
            "days": day, "value": value, "uln": uln}  # fmt: skip


def _mmt(pid: int, day: int, value: float) -> dict[str, Any]:
    return {"person_id": pid, "days": day, "value": value}


ACTIVE = "classic_active_myositis"


def _cohort() -> Any:
    patients = [
        patient(1, subtype=ACTIVE),  # CK normal at the last visit: resolved
        patient(2, subtype=ACTIVE),  # CK normal at day 60, raised again at the last visit
        patient(3, subtype=ACTIVE),  # no follow-up CK: not evaluable
        patient(4, subtype="amyopathic"),  # not active at baseline: not counted
    ]
    labs = [
        _ck(1, -5, 1500), _ck(1, 200, 180),
        _ck(2, -5, 1500), _ck(2, 60, 150), _ck(2, 300, 450),
        _ck(3, -5, 900),
        _ck(4, 100, 800),
    ]  # fmt: skip
    return cohort(patients, labs=labs, mmt8=[_mmt(1, 200, 70), _mmt(2, 300, 80)])


def test_resolution_uses_the_last_follow_up_ck() -> None:
    result = myositis_resolution(_cohort(), _spec().analysis)
    assert result["active_at_baseline"] == 3
    assert result["not_evaluable"] == 1
    assert (result["resolved"]["count"], result["resolved"]["n"]) == (1, 2)
    first = result["patients"][0]
    assert (first["baseline_ck_x_uln"], first["last_ck_x_uln"]) == (7.5, 0.9)


def test_an_mmt8_threshold_is_also_required_when_set() -> None:
    result = myositis_resolution(_cohort(), _spec(mmt8_min=75).analysis)
    assert (result["resolved"]["count"], result["resolved"]["n"]) == (0, 2)
    assert result["criterion"] == "last follow-up CK <= ULN and last follow-up MMT-8 >= 75"


def test_picking_rules() -> None:
    rows = [{"days": d, "value": v} for d, v in ((-20, 9), (-3, 8), (0, 7), (40, 2), (90, 4))]
    assert pick_baseline(rows, Window(start=-30, end=0)) == {"days": 0, "value": 7}
    assert pick_baseline(rows, Window(start=-30, end=-1)) == {"days": -3, "value": 8}
    follow = Window(start=1, end=100)
    assert pick_followup(rows, follow, "last") == {"days": 90, "value": 4}
    assert pick_followup(rows, follow, "first") == {"days": 40, "value": 2}
    assert pick_followup(rows, follow, "best") == {"days": 40, "value": 2}
    assert pick_followup(rows, Window(start=200, end=300), "last") is None
