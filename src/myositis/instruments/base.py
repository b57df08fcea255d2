"""What every instrument provides, and the single-visit (in-process) path.

An instrument is defined once, as Ibis expressions over a table (``scores``); scoring one
visit from Python puts the visit in a one-row table and runs the very same expressions in an
in-memory DuckDB, so there is no second copy of any rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from myositis.errors import InputProblem, InvalidInputError, MissingColumnError
from myositis.instruments.engine import ROW
from myositis.instruments.rules import Field
from myositis.instruments.validation import RowRule, list_problems


class Instrument(ABC):
    """An outcome instrument: its input fields, cross-field rules and score expressions.

    Constructors only store options (as scikit-learn estimators do); nothing is checked until
    data arrive.
    """

    #: Short name used on the command line (``myositis score <name>``).
    name: str = ""
    #: Human-readable title.
    title: str = ""
    #: Columns this instrument appends, in order.
    outputs: tuple[str, ...] = ()

    @abstractmethod
    def fields(self, columns: Sequence[str]) -> list[Field]:
        """The input fields to check, given the columns present."""

    @abstractmethod
    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        """Required columns that are absent (each entry may name alternatives)."""

    def row_rules(self, columns: Sequence[str]) -> list[RowRule]:
        """Checks across the columns of one row (none by default)."""
        return []

    @abstractmethod
    def scores(self, table: ir.Table) -> ir.Table:
        """``table`` with this instrument's output columns appended (the one definition)."""

    # -- shared machinery ------------------------------------------------------------------

    def require_columns(self, columns: Sequence[str], *, source: str | None) -> None:
        """Raise :class:`MissingColumnError` naming every absent required column."""
        absent = self.missing_columns(columns)
        if absent:
            where = f"{source}: " if source else ""
            raise MissingColumnError(
                f"{where}missing required column(s) for {self.title}: {', '.join(absent)}. "
                f"See 'myositis score {self.name} --help' for the expected columns."
            )

    def problems(self, table: ir.Table, *, source: str | None = None) -> list[InputProblem]:
        """Every invalid value in ``table`` (which must carry the hidden row column)."""
        columns = [c for c in table.columns if c != ROW]
        return list_problems(table, self.fields(columns), self.row_rules(columns), source=source)

    def evaluate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Score one record given as a mapping of column -> value; returns every output.

        Raises :class:`InvalidInputError` for invalid values, as the batch path does.
        """
        columns = list(values)
        self.require_columns(columns, source="input")
        arrow = pa.table(
            {ROW: pa.array([1], pa.int64())}
            | {name: pa.array([_as_text(values[name])], pa.string()) for name in columns}
        )
        table = ibis.memtable(arrow)
        problems = self.problems(table, source="input")
        if problems:
            raise InvalidInputError(problems)
        row = _connection().to_pyarrow(self.scores(table)).to_pylist()[0]
        return {name: row[name] for name in self.outputs}


def _as_text(value: Any) -> str | None:
    # Text keeps the caller's exact decimal digits (0.1 stays 0.1, never 0.1000000000000000055).
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


@cache
def _connection() -> ibis.BaseBackend:
    return ibis.duckdb.connect()
