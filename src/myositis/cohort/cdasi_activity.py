"""CDASI activity of each assessment, from a recorded score or from the items.

The registry's ``assessment`` table is long: one row per item or derived score. For each CDASI
administration (``assessment_id``) the activity is taken from a recorded derived ``activity``
row when there is one (sources that only hold scores, such as the published series), and
otherwise computed from its item rows by :func:`myositis.instruments.cdasi.activity_of_rows`
(the instrument's one activity rule, read from long rows: no column per item). The CDASI sum is
never re-implemented here. An administration with item rows but a blank activity
item has a missing activity; the cohort counts such assessments and states them.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from myositis.instruments import cdasi

#: Item columns of CDASI v2 (``instruments/data/cdasi_items.csv``), including the papules flag.
ITEM_COLUMNS: tuple[str, ...] = tuple(f.column for f in cdasi.ITEMS)


def cdasi_activity(assessment: ir.Table) -> ir.Table:
    """One row per CDASI administration: ``assessment_id, person_id, assessment_date,
    activity, activity_source`` ('recorded' or 'items'); ``activity`` is null when items are
    missing. An administration with any item row (of activity or damage) has a row."""
    rows = assessment.filter(assessment.instrument.lower() == "cdasi")
    recorded = (
        rows.filter(rows.measure.lower() == "activity")
        .group_by(["assessment_id", "person_id", "assessment_date"])
        .aggregate(activity=rows.value.max())
        .mutate(activity_source=ibis.literal("recorded"))
    )
    items = rows.filter(rows.measure.isin(list(ITEM_COLUMNS)))
    items = items.anti_join(recorded.select("assessment_id"), "assessment_id")
    computed = items.group_by(["assessment_id", "person_id", "assessment_date"]).aggregate(
        activity=cdasi.activity_of_rows(items.measure, items.value).cast("float64")
    )
    computed = computed.mutate(activity_source=ibis.literal("items"))
    return recorded.mutate(activity=recorded.activity.cast("float64")).union(computed)


__all__ = ["ITEM_COLUMNS", "cdasi_activity"]
