"""Batch scoring of CSV and Parquet files through the query engine.

The file is read with PyArrow (CSV cells as text, so that a non-numeric value can be reported
as it was written), numbered by data row, checked and scored by the instrument's Ibis
expressions in DuckDB, and written atomically. Every row is accounted for: rows read = rows
scored + rows rejected. By default any invalid value stops the run and nothing is written;
with ``errors="report"`` the valid rows are scored and the rejected ones are written, with
every reason, to ``<output>.errors.csv``.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from myositis.errors import InvalidInputError, MyositisError
from myositis.instruments.base import Instrument
from myositis.instruments.engine import ROW
from myositis.instruments.validation import invalid_rows, with_reasons

ErrorMode = Literal["stop", "report"]
FORMATS = (".csv", ".parquet")


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did with every row."""

    rows_read: int
    rows_scored: int
    rows_rejected: int
    output: Path
    error_file: Path | None


def read_table(path: Path) -> pa.Table:
    """Read a CSV (every cell as text; only an empty cell is missing) or Parquet file, adding
    the 1-based data row number."""
    if not path.exists():
        raise MyositisError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise MyositisError(f"{path}: unsupported file type '{suffix}'; use .csv or .parquet")
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
            _check_header(path, header)
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    # Only an empty cell is missing: "NA", "n/a" or "-" are reported as not a
                    # number rather than silently read as blank (and pass through unchanged).
                    null_values=[""],
                    strings_can_be_null=True,
                ),
            )
        else:
            table = pq.read_table(path)
            _check_header(path, table.column_names)
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise MyositisError(f"{path}: cannot be read as {suffix[1:].upper()}: {exc}") from None
    if table.num_rows == 0:
        raise MyositisError(f"{path}: the file has a header but no data rows")
    return table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))


def _check_header(path: Path, header: list[str]) -> None:
    if not header:
        raise MyositisError(f"{path}: the file is empty (no header row)")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise MyositisError(f"{path}: column '{name}' appears more than once in the header")
        seen.add(name)
    if ROW in seen:
        raise MyositisError(f"{path}: column name '{ROW}' is reserved; rename it")


def write_table(table: pa.Table, path: Path) -> None:
    """Write CSV or Parquet by the file's suffix, atomically (a temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if path.suffix.lower() == ".csv":
            pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
        else:
            pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def score_file(
    instrument: Instrument, source: Path, output: Path, *, errors: ErrorMode = "stop"
) -> BatchSummary:
    """Check and score every row of ``source`` with ``instrument``; write ``output``.

    Raises :class:`InvalidInputError` (nothing written) when a value is invalid and
    ``errors`` is ``"stop"``.
    """
    if output.suffix.lower() not in FORMATS:
        raise MyositisError(f"{output}: output must end in .csv or .parquet")
    if output.resolve() == source.resolve():
        raise MyositisError(f"{output}: the output would overwrite the input; choose another name")
    arrow = read_table(source)
    columns = [c for c in arrow.column_names if c != ROW]
    instrument.require_columns(columns, source=str(source))
    table = ibis.memtable(arrow)
    problems = instrument.problems(table, source=source.name)
    error_file: Path | None = None
    if problems:
        if errors == "stop":
            raise InvalidInputError(problems)
        error_file = output.with_name(output.stem + ".errors.csv")
        write_table(
            pa.Table.from_pylist(
                [
                    {"row": p.row, "column": p.column, "value": p.value, "reason": p.reason}
                    for p in problems
                ],
                schema=pa.schema(
                    [("row", pa.int64()), ("column", pa.string()), ("value", pa.string())]
                    + [("reason", pa.string())]
                ),
            ),
            error_file,
        )
        checked, pairs = with_reasons(
            table, instrument.fields(columns), instrument.row_rules(columns)
        )
        table = checked.filter(~invalid_rows(checked, pairs)).select(*table.columns)
    scored = instrument.scores(table).order_by(ROW).drop(ROW).to_pyarrow()
    rejected = len({p.row for p in problems})
    if scored.num_rows + rejected != arrow.num_rows:  # every record accounted for
        raise MyositisError(
            f"{source}: internal accounting error: {arrow.num_rows} rows read, "
            f"{scored.num_rows} scored, {rejected} rejected; nothing written"
        )
    write_table(scored, output)
    return BatchSummary(arrow.num_rows, scored.num_rows, rejected, output, error_file)
