"""Ibis building blocks shared by the instrument definitions.

Every rule is written once, as an Ibis expression, and runs wherever Ibis runs: in-process on a
one-row table (DuckDB in memory) for a single visit, or on millions of rows inside DuckDB,
PostgreSQL or Spark. Values are compared in exact decimal arithmetic: 1.1 -> 0.6 cm on a 10 cm
VAS is exactly 5 %, not 5.000000000000002 (instruments.md, section 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import ibis
import ibis.expr.types as ir

#: Inputs are read as DECIMAL(18, 6): six decimal places are kept exactly; more are rounded.
DECIMAL = "decimal(18, 6)"

#: Largest magnitude DECIMAL(18, 6) holds (12 digits before the point); larger integers are
#: rejected by validation as they would be from text.
LARGEST = 10**12

#: Hidden column holding the 1-based data row of each input record.
ROW = "_row"


#: Prefix of the hidden exact-decimal copies of input columns made by :func:`with_numbers`.
NUMBER_PREFIX = "__n_"


def _to_number(col: ir.Value, *, keep_integers: bool = True) -> ir.NumericValue:
    # Integer columns are exact already and, unless a DECIMAL is asked for, stay integers
    # (integer sums and comparisons are far cheaper). Others are tried as DECIMAL(18, 6): a
    # value too large for it becomes null and validation reports it, instead of the engine
    # raising an overflow error.
    if col.type().is_integer() and keep_integers:
        return col
    if col.type().is_string():
        return col.strip().nullif("").try_cast(DECIMAL)
    return col.try_cast(DECIMAL)


def is_blank(table: ir.Table, column: str) -> ir.BooleanValue:
    """True where the cell itself is empty (null, or only spaces in a text column), as opposed
    to holding a value that is not a valid number."""
    raw = table[column]
    blank = raw.isnull()
    if raw.type().is_string():
        blank = blank | (raw.strip() == "")
    return blank


def number(table: ir.Table, column: str) -> ir.NumericValue:
    """The column as an exact number: integers as they are, text and fractions as DECIMAL;
    blank or non-numeric text is missing (validation reports it before scoring). Uses the
    staged copy made by :func:`with_numbers` when there is one (smaller compiled SQL)."""
    staged = NUMBER_PREFIX + column
    if staged in table.columns:
        return table[staged]
    return _to_number(table[column])


def with_numbers(
    table: ir.Table, columns: Iterable[str], *, keep_integers: bool = True
) -> ir.Table:
    """``table`` plus one exact copy of each named column present (a stage that every later
    expression reads, instead of repeating the conversion inline). Integer columns stay
    integers unless ``keep_integers`` is false: formulas that mix them with decimal
    constants are cheaper on DECIMAL(18, 6) than on the 128-bit DECIMAL the engine would
    otherwise widen to."""
    return table.mutate(
        **{
            NUMBER_PREFIX + c: _to_number(table[c], keep_integers=keep_integers)
            for c in dict.fromkeys(columns)
            if c in table.columns
        }
    )


def drop_numbers(table: ir.Table) -> ir.Table:
    """``table`` without the staged copies."""
    staged = [c for c in table.columns if c.startswith(NUMBER_PREFIX)]
    return table.drop(*staged) if staged else table


def lit(value: Decimal | int | str) -> ir.DecimalScalar:
    """An exact decimal literal."""
    return ibis.literal(Decimal(str(value)), type=DECIMAL)


def missing_names(checks: Iterable[tuple[str, ir.BooleanValue]]) -> ir.StringValue:
    """A '; '-separated list of the names whose check is true (null when none is)."""
    parts = [ibis.ifelse(flag, name + "; ", "") for name, flag in checks]
    joined: ir.StringValue = parts[0]
    for part in parts[1:]:
        joined = joined + part
    text = joined.rstrip()
    return text.re_replace(";$", "").nullif("")


def split_names(text: str | None) -> tuple[str, ...]:
    """The names in one :func:`missing_names` value, in order (none for null)."""
    return tuple(text.split("; ")) if text else ()


def any_of(flags: Iterable[ir.BooleanValue]) -> ir.BooleanValue:
    """Logical OR of boolean expressions (false for none)."""
    result: ir.BooleanValue = ibis.literal(False)
    for flag in flags:
        result = result | flag
    return result
