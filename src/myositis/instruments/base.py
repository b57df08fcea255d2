"""What every instrument provides, and the single-visit (in-process) path.

An instrument is defined once, as Ibis expressions over a table (``scores``); scoring one
visit from Python puts the visit in a one-row table and runs the very same expressions in an
in-memory DuckDB, so there is no second copy of any rule. The SQL compiled from those
expressions is cached per instrument, options and set of columns, so repeated single-visit
calls cost a millisecond or two, not a compilation each.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from myositis.errors import InputProblem, InvalidInputError, MissingColumnError
from myositis.instruments.engine import ROW
from myositis.instruments.rules import Field
from myositis.instruments.validation import RowRule, list_problems, problems_query, to_problems


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
        columns = tuple(values)
        self.require_columns(columns, source="input")
        row = (1, *(_as_text(values[name]) for name in columns))
        with _LOCK:
            visit, check, score = self._prepared(columns)
            _CONNECTION.execute(f"DELETE FROM {visit}")
            _CONNECTION.execute(f"INSERT INTO {visit} VALUES ({', '.join('?' * len(row))})", row)
            listing = _fetch(f"EXECUTE {check}")
            result = _fetch(f"EXECUTE {score}")[0]
        if listing:
            problems = to_problems(
                listing, self.fields(columns), self.row_rules(columns), source="input"
            )
            raise InvalidInputError(problems)
        return {name: result[name] for name in self.outputs}

    def _prepared(self, columns: tuple[str, ...]) -> tuple[str, str, str]:
        """A one-row table for this column set and the two prepared statements over it,
        compiled once from the Ibis definitions (prepared: about 1 ms per visit after)."""
        key = (type(self).__name__, repr(sorted(vars(self).items())), columns)
        if key not in _PREPARED:
            n = len(_PREPARED)
            visit, check, score = (
                f"myositis_visit_{n}",
                f"myositis_check_{n}",
                f"myositis_score_{n}",
            )
            schema = {ROW: "int64"} | {c: "string" for c in columns}
            table = ibis.table(schema, name=visit)
            definition = ", ".join(f'"{c}" {"BIGINT" if c == ROW else "VARCHAR"}' for c in schema)
            _CONNECTION.execute(f"CREATE TEMP TABLE {visit} ({definition})")
            problems = problems_query(table, self.fields(columns), self.row_rules(columns))
            _CONNECTION.execute(f"PREPARE {check} AS {ibis.to_sql(problems, dialect='duckdb')}")
            _CONNECTION.execute(
                f"PREPARE {score} AS {ibis.to_sql(self.scores(table), dialect='duckdb')}"
            )
            _PREPARED[key] = (visit, check, score)
        return _PREPARED[key]


def _fetch(statement: str) -> list[dict[str, Any]]:
    cursor = _CONNECTION.execute(statement)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _as_text(value: Any) -> str | None:
    # Text keeps the caller's exact decimal digits (0.1 stays 0.1, never 0.1000000000000000055).
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


_LOCK = threading.Lock()
_CONNECTION = duckdb.connect()
_PREPARED: dict[tuple[str, str, tuple[str, ...]], tuple[str, str, str]] = {}
