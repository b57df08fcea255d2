"""Rows: the records of one kind of the study builder's query, made Python rows on first read."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from myositis.cohort.rows import Rows


def _labs() -> pa.Table:
    # one kind's rows as the builder's query returns them: in no set order
    return pa.table(
        {
            "person_id": [2, 1, 2],
            "result_date": [dt.date(2020, 1, 5), dt.date(2020, 3, 1), dt.date(2020, 1, 5)],
            "value": [9.0, 3.0, 4.0],
        }
    )


def test_rows_sorted_by_order_then_every_column() -> None:
    rows = Rows(_labs(), ["person_id", "result_date"])
    # person 1 first; person 2's two rows on the same date ordered by value (the tie-break)
    assert rows == [
        {"person_id": 1, "result_date": dt.date(2020, 3, 1), "value": 3.0},
        {"person_id": 2, "result_date": dt.date(2020, 1, 5), "value": 4.0},
        {"person_id": 2, "result_date": dt.date(2020, 1, 5), "value": 9.0},
    ]
    assert len(rows) == 3
    assert rows[-1]["value"] == 9.0
    assert [r["value"] for r in rows[:2]] == [3.0, 4.0]
    assert rows.table().column("value").to_pylist() == [3.0, 4.0, 9.0]


def test_rows_made_once_and_only_when_read() -> None:
    ae = pa.table({"person_id": [7]})
    rows = Rows(ae, ["person_id"])
    assert rows._rows is None  # nothing made before a read
    assert list(rows) == [{"person_id": 7}]
    assert rows._made() is rows._made()
    assert rows != [{"person_id": 8}]
    assert Rows(ae, ["person_id"]) == rows
