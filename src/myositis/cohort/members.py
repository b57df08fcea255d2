"""Cohort members' characteristics at their index date: site, sex, race, ethnicity, age and
the DM subtype in force, read from the registry for any members table
(``person_id, index_date``); shared by the format-1 cohort builder
(:func:`myositis.cohort.build.build_cohort`) and the format-2 study runner.

Rules (the report's Table 1):

- age: completed years on the index date; with only a birth year, a 1 July birthday is
  assumed (half the year's births are before it);
- subtype: the latest classification on or before the index date, else the first one after
  it (a subtype classified after the index is the best record of the disease at the index);
  on a tie the subtype name decides, so the choice is reproducible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend


def age_in_years(birth: dt.date | None, year: int | None, on: dt.date) -> int | None:
    """Completed years on ``on``; with only a birth year, a 1 July birthday is assumed."""
    if birth is None:
        if year is None:
            return None
        birth = dt.date(int(year), 7, 1)
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def subtype_at_index(con: BaseBackend, members: ir.Table) -> ir.Table:
    """``person_id, index_date, subtype``: each member's subtype in force at the index (the
    rule in the module docstring); members without a classification have no row."""
    keys = members.select("person_id", "index_date").distinct()
    subtype = con.table("dm_subtype").inner_join(keys, "person_id")
    distance = subtype.classified_date.delta(subtype.index_date, unit="day")
    subtype = subtype.mutate(
        # 0 on or before the index, 1 after (a CASE: PostgreSQL cannot cast boolean to int)
        _after=ibis.ifelse(distance > 0, 1, 0),
        _distance=distance.abs(),
    )
    subtype = subtype.mutate(
        _rank=ibis.row_number().over(
            group_by=["person_id", "index_date"],
            order_by=[subtype._after, subtype._distance, subtype.subtype],
        )
    )
    return subtype.filter(subtype._rank == 0).select("person_id", "index_date", "subtype")


def with_characteristics(con: BaseBackend, members: ir.Table) -> ir.Table:
    """``members`` joined to the person table and the subtype at the index (one row per
    member row; a member without a subtype keeps its row with a null subtype)."""
    table = members.inner_join(con.table("person"), "person_id").left_join(
        subtype_at_index(con, members), ["person_id", "index_date"]
    )
    return table.drop(*[col for col in table.columns if col.endswith("_right")])


def characteristics(con: BaseBackend, members: ir.Table) -> list[dict[str, Any]]:
    """One dictionary per member row (sorted by person and index date): ``person_id,
    index_date, site, sex, race, ethnicity, age_at_index, subtype``."""
    table = with_characteristics(con, members.select("person_id", "index_date"))
    rows = table.order_by(["person_id", "index_date"]).to_pyarrow().to_pylist()
    return [
        {
            "person_id": int(r["person_id"]),
            "index_date": r["index_date"],
            "site": r["site"],
            "sex": r["sex"],
            "race": r["race"],
            "ethnicity": r["ethnicity"],
            "age_at_index": age_in_years(r["birth_date"], r["birth_year"], r["index_date"]),
            "subtype": r["subtype"],
        }
        for r in rows
    ]


__all__ = ["age_in_years", "characteristics", "subtype_at_index", "with_characteristics"]
