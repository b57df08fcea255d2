"""Observation periods: the spans of time in which a person's records are taken to be
complete, needed for criteria such as "365 days of prior observation".

A source that records them (OMOP CDM ``observation_period``) fills ``observation_period``.
For a person without a recorded period one is derived by the rule: **from the person's
earliest to latest recorded date in any table** — every date column of the clinical tables
(``RECORD_DATES``: diagnoses and their ends, procedures, visits, observations, measurements,
subtype classification, drug starts and ends, assessments, laboratory results, adverse event
onsets, the death). The birth date is not a record of care and does not open observation; the
death date is a record (a death registry, a hospital's discharge) and closes it at the latest
day any record gives, so a person known to have died is observed until the death. A person
with no dated record has no period.
Derived periods carry ``period_type`` ``'derived'`` (``DERIVED_PERIOD``); recorded ones keep
the source's type.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.registry.schema import DERIVED_PERIOD, TABLES

#: (table, date column) of every recorded date the derivation reads.
RECORD_DATES: Final = tuple(
    (table, column)
    for table, schema in TABLES.items()
    if table not in ("person", "observation_period") and "person_id" in schema.names
    for column, dtype in schema.items()
    if dtype.is_date()
)


def _rows(con: BaseBackend, table: str, persons: ir.Table | None) -> ir.Table:
    rows = con.table(table)
    return rows if persons is None else rows.semi_join(persons, "person_id")


def derived_periods(con: BaseBackend, persons: ir.Table | None = None) -> ir.Table:
    """One period per person with any dated record: earliest to latest recorded date.
    ``persons`` (a table with ``person_id``) restricts the persons, read first."""
    dates = [
        _rows(con, table, persons).select(person_id=ibis._.person_id, day=ibis._[column])
        for table, column in RECORD_DATES
    ]
    # duplicates do not change a minimum or maximum: no DISTINCT needed
    every = ibis.union(*dates, distinct=False).filter(ibis._.day.notnull())
    return every.group_by("person_id").aggregate(
        start_date=every.day.min(),
        end_date=every.day.max(),
        period_type=ibis.literal(DERIVED_PERIOD, type="string"),
    )


def observation_periods(con: BaseBackend, persons: ir.Table | None = None) -> ir.Table:
    """Recorded periods, plus a derived one for each person without a recorded period (the rule
    in the module docstring). Columns: person_id, start_date, end_date, period_type.
    ``persons`` (a table with ``person_id``) restricts the persons, read first."""
    recorded = _rows(con, "observation_period", persons).select(
        "person_id", "start_date", "end_date", "period_type"
    )
    derived = derived_periods(con, persons)
    without = derived.anti_join(recorded, "person_id")
    return recorded.union(without.select(*recorded.columns))


__all__ = ["RECORD_DATES", "derived_periods", "observation_periods"]
