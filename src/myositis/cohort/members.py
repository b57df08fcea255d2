"""Cohort members' characteristics at their index date: site, sex, race, ethnicity, age and
the DM subtype in force, read from the registry for any members table
(``person_id, index_date``); shared by the format-1 cohort builder
(:func:`myositis.cohort.build.build_cohort`) and the format-2 study runner.

Rules (the report's Table 1):

- age: completed years on the index date; with only a birth year, a 1 July birthday is
  assumed (half the year's births are before it);
- subtype: the latest classification on or before the index date, else the first one after
  it (a subtype classified after the index is the best record of the disease at the index);
  on a tie the subtype name decides, so the choice is reproducible;
- death: the person's recorded death (``death``: date and cause), whenever it falls, read
  with the characteristics so that an analysis can place it against the index
  (``death_date``, ``death_cause_code_system``, ``death_cause_code``; null for a person with no
  death). The data model holds one death per person (``registry.schema.KEYS``); a registry
  holding two breaks its integrity and a study refuses it, but should one be read anyway the
  earlier death is taken, so that each member keeps one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Death:
    """A member's recorded death: its date and its cause (code system and code, None where
    the source gives none)."""

    date: dt.date
    cause_code_system: str | None
    cause_code: str | None


def recorded_deaths(con: BaseBackend) -> ir.Table:
    """``person_id, death_date, death_cause_code_system, death_cause_code``: one recorded death
    per person who has one (the earliest, should a registry break the one-death rule, a tie
    broken by the cause; module docstring). Not restricted to any members here: the death
    table is small, and a join to the members expression would make the engine evaluate it
    again."""
    death = con.table("death")
    death = death.mutate(
        _rank=ibis.row_number().over(
            group_by="person_id",
            order_by=[death.death_date, death.cause_code_system, death.cause_code],
        )
    )
    return death.filter(death._rank == 0).select(
        "person_id",
        "death_date",
        death_cause_code_system=death.cause_code_system,
        death_cause_code=death.cause_code,
    )


def death_of(row: Mapping[str, Any]) -> Death | None:
    """The :class:`Death` of a row of :func:`with_characteristics` (None without one)."""
    when = row.get("death_date")
    if when is None:
        return None
    # an engine may return a date as a timestamp (Spark: myositis.registry.death._iso)
    day = when.date() if isinstance(when, dt.datetime) else when
    return Death(day, row.get("death_cause_code_system"), row.get("death_cause_code"))


def with_characteristics(con: BaseBackend, members: ir.Table) -> ir.Table:
    """``members`` joined to the person table, the subtype at the index and the person's
    death (one row per member row; a member without a subtype or a death keeps its row, with
    nulls there)."""
    table = members.inner_join(con.table("person"), "person_id").left_join(
        subtype_at_index(con, members), ["person_id", "index_date"]
    )
    # a left join keeps the right side's key as person_id_right: dropped after each join
    return drop_right(drop_right(table).left_join(recorded_deaths(con), "person_id"))


def drop_right(table: ir.Table) -> ir.Table:
    """``table`` without the ``*_right`` columns its joins added (the right side's copies of
    the join keys, as Ibis names them)."""
    return table.select(*[c for c in table.columns if not c.endswith("_right")])


def characteristics(con: BaseBackend, members: ir.Table) -> list[dict[str, Any]]:
    """One dictionary per member row (sorted by person and index date): ``person_id,
    index_date, site, sex, race, ethnicity, age_at_index, subtype, death_date`` (None for a
    member with no recorded death)."""
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
            "death_date": None if (death := death_of(r)) is None else death.date,
        }
        for r in rows
    ]


__all__ = [
    "Death",
    "age_in_years",
    "characteristics",
    "death_of",
    "drop_right",
    "recorded_deaths",
    "subtype_at_index",
    "with_characteristics",
]
