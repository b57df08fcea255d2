"""Members' characteristics at the index (myositis.cohort.members): each member's recorded
death, read with them, on examples/cohorts/registry (SYNTHETIC, tests/cohort/language_cases.py):
2 died on 2021-03-01 of I21.9, 3 on 2021-01-15 of C50.9, 8 on 2022-07-03 of no recorded cause;
1 has no death."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis

from myositis.cohort.members import Death, characteristics, death_of, with_characteristics
from myositis.registry import connect
from registry.broken import BORN, person, registry

REGISTRY = Path(__file__).resolve().parents[2] / "examples" / "cohorts" / "registry"
D = dt.date


def test_each_member_has_its_death_and_a_member_without_one_keeps_its_row() -> None:
    con = connect(REGISTRY)
    # 2 twice (two index dates), whatever the index: the death is the person's
    members = ibis.memtable(
        {
            "person_id": [1, 2, 2, 3, 8],
            "index_date": [D(2020, 1, 1), D(2020, 1, 1), D(2020, 6, 1), D(2020, 1, 1),
                           D(2020, 1, 1)],
        }
    )  # fmt: skip
    rows = characteristics(con, members)
    assert [(r["person_id"], r["index_date"], r["death_date"]) for r in rows] == [
        (1, D(2020, 1, 1), None),
        (2, D(2020, 1, 1), D(2021, 3, 1)),
        (2, D(2020, 6, 1), D(2021, 3, 1)),
        (3, D(2020, 1, 1), D(2021, 1, 15)),
        (8, D(2020, 1, 1), D(2022, 7, 3)),
    ]
    full = with_characteristics(con, members).order_by(["person_id", "index_date"])
    deaths = [death_of(r) for r in full.to_pyarrow().to_pylist()]
    assert deaths == [
        None,
        Death(D(2021, 3, 1), "ICD10CM", "I21.9"),
        Death(D(2021, 3, 1), "ICD10CM", "I21.9"),
        Death(D(2021, 1, 15), "ICD10CM", "C50.9"),
        Death(D(2022, 7, 3), None, None),
    ]


def test_a_second_death_breaking_the_data_model_keeps_one_row_the_earlier(tmp_path: Path) -> None:
    """The integrity check refuses a registry with two deaths of one person before a study
    runs; read anyway, the member keeps one row, with the earlier death."""
    con = registry(
        tmp_path / "two.duckdb",
        person=[person(1), person(2)],
        death=[
            {"person_id": 1, "death_date": D(2021, 5, 1), "cause_code_system": "ICD10CM",
             "cause_code": "I21.9"},
            {"person_id": 1, "death_date": D(2021, 4, 1), "cause_code_system": "ICD10CM",
             "cause_code": "J84.10"},
        ],
    )  # fmt: skip
    members = ibis.memtable({"person_id": [1, 2], "index_date": [D(2020, 1, 1)] * 2})
    rows = with_characteristics(con, members).order_by("person_id").to_pyarrow().to_pylist()
    assert [death_of(r) for r in rows] == [Death(D(2021, 4, 1), "ICD10CM", "J84.10"), None]
    assert [r["birth_date"] for r in rows] == [BORN, BORN]
