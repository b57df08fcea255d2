"""MMT-8: manual muscle testing of eight muscle groups on the Kendall 0-10 scale.

Rules (instruments.md section 4; Rider et al., Arthritis Care Res 2010;62:465-472; IMACS Form
04): eight groups, neck flexors (axial, tested once) and seven groups tested on each side
(deltoid (middle), biceps brachii, gluteus maximus, gluteus medius, quadriceps, wrist extensors,
ankle dorsiflexors); every grade a whole number 0-10.

- Unilateral total (0-80): neck flexors + the right side of each of the seven groups; the left
  side is used for a group whose right side is blank ("right side unless untestable").
- Bilateral total (0-150): neck flexors + both sides of the seven groups.

A blank grade is never counted as 0. The bilateral total is missing when any grade is blank;
the unilateral total only when neck flexors is blank or a group has neither side.
``mmt8_missing`` names every blank grade (each one makes at least the bilateral total missing);
``mmt8_left_used`` names the groups scored from the left side in the unilateral total. The
groups and the grade range live in ``data/mmt8_groups.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import ibis
import ibis.expr.types as ir

from myositis.instruments.base import Instrument
from myositis.instruments.constants import MMT8_GROUPS
from myositis.instruments.engine import DECIMAL, missing_names, number, split_names
from myositis.instruments.rules import Field

Side = Literal["right", "left"]

GROUPS: Final = MMT8_GROUPS
AXIAL: Final = tuple(g for g in GROUPS if g.axial)
BILATERAL: Final = tuple(g for g in GROUPS if not g.axial)
#: Every grade column, in form order.
COLUMNS: Final = tuple(c for g in GROUPS for c in g.columns())

FIELDS: Final = tuple(
    Field(
        column=column,
        minimum=g.minimum,
        maximum=g.maximum,
        integer=True,
        meaning=f"{g.label}: {g.field_meaning}",
    )
    for g in GROUPS
    for column in g.columns()
)


def _grade(table: ir.Table, column: str) -> ir.DecimalValue:
    # An absent side column (e.g. a file with right-side grades only) reads as blank.
    if column in table.columns:
        return number(table, column)
    return ibis.null(DECIMAL)


def _sum(values: Sequence[ir.NumericValue]) -> ir.NumericValue:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


class MMT8(Instrument):
    """Unilateral (0-80) and bilateral (0-150) MMT-8 totals for each visit (one row each)."""

    name = "mmt8"
    title = "MMT-8 (Kendall 0-10)"
    outputs = ("mmt8_unilateral", "mmt8_bilateral", "mmt8_left_used", "mmt8_missing")

    def fields(self, columns: Sequence[str]) -> list[Field]:
        return [f for f in FIELDS if f.column in columns]

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        absent = [g.key for g in AXIAL if g.key not in columns]
        for g in BILATERAL:
            if g.right not in columns and g.left not in columns:
                absent.append(f"{g.right} (or {g.left})")
        return absent

    def scores(self, table: ir.Table) -> ir.Table:
        grade = {c: _grade(table, c) for c in COLUMNS}
        axial = [grade[g.key] for g in AXIAL]
        # "Right side unless untestable": the left grade stands in for a blank right grade.
        unilateral = _sum(axial + [grade[g.right].coalesce(grade[g.left]) for g in BILATERAL])
        bilateral = _sum(axial + [grade[c] for g in BILATERAL for c in (g.right, g.left)])
        left_used = missing_names(
            (g.key, grade[g.right].isnull() & grade[g.left].notnull()) for g in BILATERAL
        )
        return table.mutate(
            mmt8_unilateral=unilateral.cast("int32"),
            mmt8_bilateral=bilateral.cast("int32"),
            mmt8_left_used=left_used,
            mmt8_missing=missing_names((c, grade[c].isnull()) for c in COLUMNS),
        )


def scores(table: ir.Table) -> ir.Table:
    """``table`` with the MMT-8 outputs appended; grade columns numeric or numeric text."""
    return MMT8().scores(table)


@dataclass(frozen=True)
class MMT8Result:
    """One visit's MMT-8: both totals, the side used for each group in the unilateral total
    (``None`` when neither side was graded; neck flexors is axial and not listed) and the
    grades that were blank."""

    unilateral: int | None
    bilateral: int | None
    sides: dict[str, Side | None]
    missing: tuple[str, ...]


def score_one(grades: Mapping[str, Any]) -> MMT8Result:
    """Score one visit from a mapping of grade column -> grade (see ``data/mmt8_groups.csv``).

    Columns: ``neck_flexors`` and ``<group>_right`` / ``<group>_left`` for the seven groups
    deltoid, biceps, gluteus_maximus, gluteus_medius, quadriceps, wrist_extensors,
    ankle_dorsiflexors.
    """
    out = MMT8().evaluate(grades)
    missing = split_names(out["mmt8_missing"])
    left = set(split_names(out["mmt8_left_used"]))
    sides: dict[str, Side | None] = {}
    for g in BILATERAL:
        if g.key in left:
            sides[g.key] = "left"
        elif g.right in missing and g.left in missing:
            sides[g.key] = None
        else:
            sides[g.key] = "right"
    return MMT8Result(
        unilateral=out["mmt8_unilateral"],
        bilateral=out["mmt8_bilateral"],
        sides=sides,
        missing=missing,
    )
