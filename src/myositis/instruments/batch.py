"""Batch scoring of CSV and Parquet files through the query engine.

The file is read by :mod:`myositis.tables`, the one reader with one set of error rules (CSV
cells as text, so that a non-numeric value can be reported as it was written; Parquet scanned
by the engine), numbered by data row, checked and scored by the instrument's Ibis expressions
in DuckDB, and written atomically. Columns the instrument does not use pass through unchanged
and are named in an :class:`myositis.errors.InputWarning`. Every row is accounted for: rows
read = rows scored + rows rejected. By default any invalid value stops the run and nothing is
written; with ``errors="report"`` the valid rows are scored and every problem is written, with
the rejected row it belongs to, to ``<output>.errors.csv``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from myositis.errors import ERRORS_REPORT_HINT, InputProblem, InvalidInputError, MyositisError
from myositis.instruments.base import Instrument
from myositis.instruments.engine import ROW
from myositis.instruments.validation import valid_rows
from myositis.tables import FORMATS, check_source, parquet_columns, read_csv, warn_unused

ErrorMode = Literal["stop", "report"]
#: The row-number column DuckDB's Parquet reader adds (``file_row_number = true``).
_FILE_ROW: Final = "file_row_number"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did with every row."""

    rows_read: int
    rows_scored: int
    rows_rejected: int
    output: Path
    error_file: Path | None


def _scan_parquet(path: Path, con: BaseBackend) -> tuple[ir.Table, int]:
    """A Parquet file as a lazy engine table with the 1-based row number, and its row count
    (from the file's metadata): the data stream through the engine, never all in memory."""
    names, rows = parquet_columns(path)
    _check_reserved(path, names)
    _check_not_empty(path, rows)
    scan = con.read_parquet(path, file_row_number=True)
    numbered = scan.mutate(**{ROW: scan[_FILE_ROW] + 1}).drop(_FILE_ROW)
    return numbered, rows


def _check_reserved(path: Path, header: list[str]) -> None:
    for reserved in (ROW, _FILE_ROW):
        if reserved in header:
            raise MyositisError(f"{path}: column name '{reserved}' is reserved; rename it")


def _check_not_empty(path: Path, rows: int) -> None:
    if rows == 0:
        raise MyositisError(f"{path}: the file has a header but no data rows")


@contextmanager
def _atomic(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` that replaces it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(table: pa.Table, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix, atomically (a temporary file, then rename)."""
    with _atomic(path) as tmp:
        if path.suffix.lower() == ".csv":
            pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
        else:
            pq.write_table(table, tmp)


def _write_scores(con: BaseBackend, scored: ir.Table, tmp: str, suffix: str) -> int:
    """Write the scored rows to ``tmp`` as CSV or Parquet (by ``suffix``); returns the rows
    written. Parquet is written by the engine as the query streams (DuckDB ``COPY``)."""
    if suffix == ".csv":
        arrow = con.to_pyarrow(scored)
        pacsv.write_csv(arrow, tmp, pacsv.WriteOptions(quoting_style="needed"))
        return arrow.num_rows
    con.to_parquet(scored, tmp)
    return pq.read_metadata(tmp).num_rows


#: The columns of an error report that describe each problem, before the rejected row itself.
ERROR_COLUMNS: Final = ("row", "column", "value", "reason")


def _rejected_rows(con: BaseBackend, problems: list[InputProblem], table: ir.Table) -> pa.Table:
    """One line per problem: the data row, column, value and reason, followed by that row's
    input columns as they were read (so a rejected record can be found and corrected). An
    input column named like a problem column is written as ``input_<name>``."""
    described = ibis.memtable(
        pa.Table.from_pylist(
            [
                {"_order": i, "row": p.row, "column": p.column, "value": p.value,
                 "reason": p.reason}
                for i, p in enumerate(problems)
            ],
            schema=pa.schema(
                [("_order", pa.int64()), ("row", pa.int64()), ("column", pa.string())]
                + [("value", pa.string()), ("reason", pa.string())]
            ),
        )
    )  # fmt: skip
    names: dict[str, str] = {}
    for column in (c for c in table.columns if c != ROW):
        name = column
        while name in ERROR_COLUMNS or name in names.values():
            name = f"input_{name}"
        names[column] = name
    inputs = table.rename({name: column for column, name in names.items() if name != column})
    joined = described.join(inputs, described.row == inputs[ROW])
    report = joined.order_by("_order").select(*ERROR_COLUMNS, *names.values())
    return con.to_pyarrow(report)


def score_file(
    instrument: Instrument,
    source: Path,
    output: Path,
    *,
    errors: ErrorMode = "stop",
    con: BaseBackend | None = None,
) -> BatchSummary:
    """Check and score every row of ``source`` with ``instrument``; write ``output``.

    Parquet input streams through the engine; CSV is read as text first (so that a value is
    reported as it was written). Rows keep their input order: DuckDB preserves insertion
    order for queries without ORDER BY (its ``preserve_insertion_order`` setting, on by
    default), so no sort is needed. ``con`` is the Ibis backend to run on (by default Ibis's
    default DuckDB backend).

    Raises :class:`InvalidInputError` (nothing written) when a value is invalid and
    ``errors`` is ``"stop"``.
    """
    if output.suffix.lower() not in FORMATS:
        raise MyositisError(f"{output}: output must end in .csv or .parquet")
    suffix = check_source(source)
    if output.resolve() == source.resolve():
        raise MyositisError(f"{output}: the output would overwrite the input; choose another name")
    con = con or ibis.get_backend()
    if suffix == ".parquet":
        table, rows_read = _scan_parquet(source, con)
    else:
        arrow = read_csv(source, row_column=ROW)
        _check_reserved(source, arrow.column_names[:-1])
        _check_not_empty(source, arrow.num_rows)
        table, rows_read = ibis.memtable(arrow), arrow.num_rows
    columns = [c for c in table.columns if c != ROW]
    instrument.require_columns(columns, source=str(source))
    fields, rules = instrument.fields(columns), instrument.row_rules(columns)
    warn_unused(
        source,
        columns,
        [f.column for f in fields] + [r.column for r in rules],
        f"not used by {instrument.title}: passed through unchanged",
    )
    problems = instrument.problems(table, source=source.name)
    error_file: Path | None = None
    report: pa.Table | None = None
    if problems:
        if errors == "stop":
            raise InvalidInputError(problems, hint=ERRORS_REPORT_HINT)
        error_file = output.with_name(output.stem + ".errors.csv")
        if error_file.resolve() == source.resolve():
            raise MyositisError(
                f"{error_file}: the error report would overwrite the input; choose another "
                "output name"
            )
        report = _rejected_rows(con, problems, table)
        table = valid_rows(table, fields, rules)
    scored = instrument.scores(table).drop(ROW)
    rejected = len({p.row for p in problems})
    try:
        with _atomic(output) as tmp:
            rows_scored = _write_scores(con, scored, tmp, output.suffix.lower())
            if rows_scored + rejected != rows_read:  # every record accounted for
                raise MyositisError(
                    f"{source}: internal accounting error: {rows_read} rows read, "
                    f"{rows_scored} scored, {rejected} rejected; nothing written"
                )
            if report is not None and error_file is not None:
                # inside the block: if the scores cannot be written, no error report is either
                write_table(report, error_file)
    except (OSError, duckdb.IOException) as exc:
        # a directory of that name, no permission, a full disk: the user's to fix, not a bug
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MyositisError(f"{output}: cannot be written ({reason}); nothing written") from None
    return BatchSummary(rows_read, rows_scored, rejected, output, error_file)
