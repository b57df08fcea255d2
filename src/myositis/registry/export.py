"""A registry written as a folder of files: one ``<table>.csv`` or ``<table>.parquet`` per
table, which :func:`myositis.registry.connect` reads back as the same registry.

CSV: UTF-8, a header row, ISO 8601 dates, ``true``/``false``, an empty cell for a missing value,
numbers in their shortest exact form (so a value reads back bit for bit). The folder is built
beside its destination and moved into place only when every file is written: a reader never
sees half an export, and a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa
from ibis import BaseBackend

from myositis.errors import MyositisError
from myositis.registry.schema import TABLES

Format = Literal["csv", "parquet"]
FORMATS: Final = ("csv", "parquet")

#: Rows fetched from the engine at a time while a table is written (bounds memory).
_BATCH_ROWS: Final = 200_000


def write_csv(table: pa.Table | Iterable[pa.RecordBatch], path: Path, schema: pa.Schema) -> None:
    """Write Arrow data as a registry CSV file (see the module docstring)."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        for batch in table.to_batches() if isinstance(table, pa.Table) else table:
            writer.write(batch)


def write_parquet(
    table: pa.Table | Iterable[pa.RecordBatch], path: Path, schema: pa.Schema
) -> None:
    """Write Arrow data as a registry Parquet file."""
    import pyarrow.parquet as pq

    with pq.ParquetWriter(path, schema) as writer:
        for batch in table.to_batches() if isinstance(table, pa.Table) else table:
            writer.write_batch(batch)


Transform = Callable[[str, pa.RecordBatch], pa.RecordBatch]


def _batches(con: BaseBackend, name: str) -> Iterator[pa.RecordBatch]:
    """The rows of one registry table in bounded batches, its columns in the data model's
    order (the stored order of a migrated table may differ)."""
    from ibis.backends.duckdb import Backend as DuckDBBackend

    table = con.table(name)
    expr = table.select(*TABLES[name].names)
    if isinstance(con, DuckDBBackend):
        # DuckDB 2 streams through its own reader (ibis 12's to_pyarrow_batches calls a
        # method DuckDB 2 no longer has)
        yield from con.con.sql(str(con.compile(expr))).to_arrow_reader(_BATCH_ROWS)
    else:
        yield from expr.to_pyarrow().to_batches(_BATCH_ROWS)


def export_folder(
    con: BaseBackend,
    folder: Path,
    fmt: Format = "csv",
    *,
    tables: Iterable[str] = tuple(TABLES),
    transform: Transform | None = None,
    extra_files: Callable[[], dict[str, str]] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the registry ``con`` to ``folder`` (one file per table, in ``fmt``); return the
    files written. ``transform`` rewrites each batch of rows on the way (de-identification)
    and must keep the table's schema; ``extra_files``, called once every table is written,
    gives files to write beside them (name -> text). The folder must not exist or be empty
    unless ``overwrite``."""
    if fmt not in FORMATS:
        raise MyositisError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not overwrite)):
        raise MyositisError(
            f"{folder} exists and is not an empty folder; choose a new folder or pass --overwrite"
        )
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written = []
    try:
        for name in tables:
            schema = TABLES[name].to_pyarrow()
            batches = (
                b.cast(schema) if transform is None else transform(name, b.cast(schema))
                for b in _batches(con, name)
            )
            path = staging / f"{name}.{fmt}"
            (write_csv if fmt == "csv" else write_parquet)(batches, path, schema)
            written.append(path.name)
        for name, text in (extra_files() if extra_files else {}).items():
            (staging / name).write_text(text, encoding="utf-8")
            written.append(name)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise MyositisError(f"{folder}: cannot write the export ({exc.strerror})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in written]


__all__ = ["FORMATS", "Format", "Transform", "export_folder", "write_csv", "write_parquet"]
