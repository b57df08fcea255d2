"""Value checks run inside the engine, from the same Field definitions the scores use.

One projection gives every checked column a reason column (null when the value is valid);
rows whose reasons are all null are valid. Only the invalid rows come back to Python, where
each reason becomes an :class:`InputProblem` naming the row, column, value and the allowed
values (instruments.md, section 6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from myositis.errors import InputProblem
from myositis.instruments.engine import (
    LARGEST,
    ROW,
    any_of,
    is_blank,
    lit,
    number,
    with_numbers,
)
from myositis.instruments.rules import Field

REASON_PREFIX = "__why_"


@dataclass(frozen=True)
class RowRule:
    """A check across columns of one row (e.g. MMT-8 above the row's stated maximum).

    ``problem`` returns true where the row breaks the rule; ``column`` is the column reported.
    ``reason`` may name checked columns of the same row as ``{column}``: the row's value is
    filled in (an MMT-8 grade is allowed up to that row's ``mmt8_max``).
    """

    column: str
    problem: Callable[[ir.Table], ir.BooleanValue]
    reason: str


# Reason codes computed in the engine (short, so the compiled SQL stays small); the words
# are added in Python from the same Field or RowRule.
NOT_A_NUMBER, OUT_OF_RANGE, RULE_BROKEN, NOT_WHOLE = 1, 2, 3, 4


def _field_checks(
    table: ir.Table, field: Field
) -> tuple[ir.BooleanValue, ir.BooleanValue, ir.BooleanValue]:
    """(not a number, a fraction where a whole number is required, out of range) for one
    field; none is ever null."""
    value = number(table, field.column)
    integer = value.type().is_integer()

    def bound(limit: Decimal) -> ir.NumericValue:
        # An integer column is compared with an integer literal where the limit is whole,
        # so the engine does not convert every value to DECIMAL to compare it.
        return ibis.literal(int(limit)) if integer and limit == limit.to_integral() else lit(limit)

    bad = ibis.literal(False)
    if field.above is not None:
        bad = bad | (value <= bound(field.above))
    if field.minimum is not None:
        bad = bad | (value < bound(field.minimum))
    if field.maximum is not None:
        bad = bad | (value > bound(field.maximum))
    fraction = ibis.literal(False)
    if field.integer and not integer:
        fraction = value != value.floor()
    if not integer:
        not_numeric = ~is_blank(table, field.column) & value.isnull()
        raw = table[field.column]
        if raw.type().is_floating():
            # NaN and infinity are not numbers; tested directly, as DuckDB 2.0's TRY_CAST of a
            # NaN double to DECIMAL is not reliably NULL over a column (IS NULL gave false).
            not_numeric = not_numeric | raw.isnan() | raw.isinf()
    elif value.type().nbytes >= 8:  # 64-bit integers are not staged through DECIMAL
        not_numeric = value.abs() >= LARGEST
    else:
        not_numeric = ibis.literal(False)
    return not_numeric.fill_null(False), fraction.fill_null(False), bad.fill_null(False)


def _field_reason(table: ir.Table, field: Field) -> ir.IntegerValue:
    not_numeric, fraction, bad = _field_checks(table, field)
    return ibis.cases(
        (not_numeric, ibis.literal(NOT_A_NUMBER, "int8")),
        (fraction, ibis.literal(NOT_WHOLE, "int8")),
        (bad, ibis.literal(OUT_OF_RANGE, "int8")),
        else_=ibis.null("int8"),
    )


def _describe(code: int, check: Field | RowRule, row: dict[str, Any]) -> str:
    if isinstance(check, RowRule):
        return check.reason.format_map(row)
    allowed = check.allowed()
    if code == NOT_A_NUMBER:
        return (
            "is not a number (leave the cell empty if not assessed; at most 12 digits "
            f"before the decimal point); allowed: {allowed}"
        )
    if code == NOT_WHOLE:
        return f"is not a whole number; allowed: {allowed}"
    return f"is out of range; allowed: {allowed}"


def _with_reasons(
    table: ir.Table, fields: Sequence[Field], rules: Sequence[RowRule]
) -> tuple[ir.Table, list[tuple[str, str]]]:
    """``table`` (staged) with one reason column per check, and the (reason column, data
    column) pairs in report order."""
    reasons: dict[str, ir.Value] = {}
    pairs: list[tuple[str, str]] = []
    for i, field in enumerate(fields):
        reasons[f"{REASON_PREFIX}{i}"] = _field_reason(table, field)
        pairs.append((f"{REASON_PREFIX}{i}", field.column))
    for j, rule in enumerate(rules, start=len(fields)):
        flag = rule.problem(table).fill_null(False)
        reasons[f"{REASON_PREFIX}{j}"] = ibis.ifelse(
            flag, ibis.literal(RULE_BROKEN, "int8"), ibis.null("int8")
        )
        pairs.append((f"{REASON_PREFIX}{j}", rule.column))
    return table.mutate(**reasons), pairs


def _invalid(
    staged: ir.Table, fields: Sequence[Field], rules: Sequence[RowRule]
) -> ir.BooleanValue:
    flags: list[ir.BooleanValue] = []
    for field in fields:
        flags.extend(_field_checks(staged, field))
    flags.extend(rule.problem(staged).fill_null(False) for rule in rules)
    return any_of(flags)


def valid_rows(table: ir.Table, fields: Sequence[Field], rules: Sequence[RowRule]) -> ir.Table:
    """The rows of ``table`` that pass every check (same columns)."""
    staged = with_numbers(table, [f.column for f in fields])
    return staged.filter(~_invalid(staged, fields, rules)).select(*table.columns)


def problems_query(table: ir.Table, fields: Sequence[Field], rules: Sequence[RowRule]) -> ir.Table:
    """The invalid rows only: row number, the checked values as text and the reasons.

    Rows are first filtered by plain comparisons; the reason codes are computed only for the
    (usually few) invalid rows, which keeps checking a million valid rows cheap."""
    staged = with_numbers(table, [f.column for f in fields])
    checked, pairs = _with_reasons(staged.filter(_invalid(staged, fields, rules)), fields, rules)
    columns = dict.fromkeys(column for _, column in pairs if column in table.columns)
    return checked.select(
        checked[ROW],
        *[checked[c].cast("string").name(c) for c in columns],
        *[checked[reason] for reason, _ in pairs],
    ).order_by(ROW)


def to_problems(
    rows: list[dict[str, Any]],
    fields: Sequence[Field],
    rules: Sequence[RowRule],
    *,
    source: str | None,
) -> list[InputProblem]:
    """Problems from the rows of :func:`problems_query`, in row and then column order."""
    checks: list[Field | RowRule] = [*fields, *rules]
    problems = []
    for row in rows:
        for i, check in enumerate(checks):
            code = row.get(f"{REASON_PREFIX}{i}")
            if code is not None:
                problems.append(
                    InputProblem(
                        row=int(row[ROW]),
                        column=check.column,
                        value=row.get(check.column),
                        reason=_describe(code, check, row),
                        source=source,
                    )
                )
    return problems


def list_problems(
    table: ir.Table,
    fields: Sequence[Field],
    rules: Sequence[RowRule],
    *,
    source: str | None,
) -> list[InputProblem]:
    """Every problem of every row of ``table``."""
    rows = problems_query(table, fields, rules).to_pyarrow().to_pylist()
    return to_problems(rows, fields, rules, source=source)
