"""Value checks run inside the engine, from the same Field definitions the scores use.

One pass marks the rows with any problem; only when there are some does a second query list
each problem with its row, column, value and the allowed values (instruments.md, section 6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from myositis.errors import InputProblem
from myositis.instruments.engine import ROW, any_of, lit, number
from myositis.instruments.rules import Field


@dataclass(frozen=True)
class RowRule:
    """A check across columns of one row (e.g. MMT-8 above the row's stated maximum).

    ``problem`` returns true where the row breaks the rule; ``column`` is the column reported.
    """

    column: str
    problem: Callable[[ir.Table], ir.BooleanValue]
    reason: str


def _field_checks(table: ir.Table, field: Field) -> tuple[ir.BooleanValue, ir.BooleanValue]:
    raw = table[field.column]
    value = number(table, field.column)
    if raw.type().is_string():
        text = raw.strip()
        not_numeric = (text.notnull() & (text != "") & value.isnull()).fill_null(False)
    else:
        not_numeric = ibis.literal(False)
    bad = ibis.literal(False)
    if field.above is not None:
        bad = bad | (value <= lit(field.above))
    if field.minimum is not None:
        bad = bad | (value < lit(field.minimum))
    if field.maximum is not None:
        bad = bad | (value > lit(field.maximum))
    if field.integer:
        bad = bad | (value != value.floor())
    return not_numeric, bad.fill_null(False)


def problem_flag(
    table: ir.Table, fields: Sequence[Field], rules: Sequence[RowRule]
) -> ir.BooleanValue:
    """True for every row with at least one invalid value."""
    flags: list[ir.BooleanValue] = []
    for field in fields:
        not_numeric, out_of_range = _field_checks(table, field)
        flags += [not_numeric, out_of_range]
    flags += [rule.problem(table).fill_null(False) for rule in rules]
    return any_of(flags)


def list_problems(
    table: ir.Table,
    fields: Sequence[Field],
    rules: Sequence[RowRule],
    *,
    source: str | None,
) -> list[InputProblem]:
    """Every problem of every row, ordered by row and then by column order."""
    flagged = table.filter(problem_flag(table, fields, rules))
    if flagged.count().execute() == 0:
        return []
    parts: list[ir.Table] = []
    for order, field in enumerate(fields):
        not_numeric, out_of_range = _field_checks(flagged, field)
        allowed = field.allowed()
        parts.append(
            flagged.filter(not_numeric | out_of_range).select(
                row=flagged[ROW],
                order=ibis.literal(order),
                column=ibis.literal(field.column),
                value=flagged[field.column].cast("string"),
                reason=ibis.ifelse(
                    not_numeric,
                    f"is not a number; allowed: {allowed}",
                    f"is out of range; allowed: {allowed}",
                ),
            )
        )
    for order, rule in enumerate(rules, start=len(fields)):
        parts.append(
            flagged.filter(rule.problem(flagged).fill_null(False)).select(
                row=flagged[ROW],
                order=ibis.literal(order),
                column=ibis.literal(rule.column),
                value=flagged[rule.column].cast("string")
                if rule.column in flagged.columns
                else ibis.null("string"),
                reason=ibis.literal(rule.reason),
            )
        )
    listing = ibis.union(*parts).order_by(["row", "order"]).to_pyarrow().to_pylist()
    return [
        InputProblem(
            row=int(item["row"]),
            column=item["column"],
            value=item["value"],
            reason=item["reason"],
            source=source,
        )
        for item in listing
    ]
