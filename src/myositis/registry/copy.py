"""``registry copy``: put a registry into a DuckDB file, a PostgreSQL schema or a Spark
database, all or nothing.

Every table of the data model (``TABLES``) is streamed from the source in Arrow batches of
:data:`BATCH_ROWS` rows (memory stays bounded whatever the registry's size) into tables created
with the registry's column types, under a staging name that no reader sees:

- DuckDB: a file ``.NAME.partial`` beside the destination, renamed over it at the end (one
  atomic rename);
- PostgreSQL: a staging schema ``SCHEMA__myositis_copy``; its tables move into the destination
  schema, replacing the old ones, in one transaction, and are indexed on ``person_id`` and
  analysed;
- Spark: tables ``NAME__myositis_copy`` in the destination database, renamed in at the end
  (Spark has no transactions: renames are metadata operations, and one that fails puts back
  what was renamed before it).

Before anything is published each table's row count is checked against the source's, and the
data fingerprint is computed inside the destination from every row and compared with the
source's. ``registry_metadata`` is copied with the fingerprint recorded (see
:mod:`myositis.registry.fingerprint`), ``copied_from`` and ``copied_at``. Any failure, or an
interruption, removes the staging tables and leaves the destination as it was. An existing
registry at the destination is replaced only when asked (``replace``).
"""

from __future__ import annotations

import datetime as _dt
import io
import itertools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import ibis
import ibis.expr.schema as sch
import pyarrow as pa
import pyarrow.csv as pacsv
from ibis import BaseBackend

from myositis.errors import RegistryError
from myositis.progress import Progress, silent
from myositis.registry.connect import Location, connect, open_engine, parse_location
from myositis.registry.fingerprint import (
    DATA_TABLES,
    RECORDED_KEYS,
    data_fingerprint,
    data_stamp,
    recorded_metadata,
)
from myositis.registry.schema import TABLES
from myositis.registry.store import append_duckdb, read_metadata

#: Rows per Arrow batch read from the source and written to the destination.
BATCH_ROWS: Final = 200_000
#: Suffix of staging names (PostgreSQL schema, Spark tables).
STAGING: Final = "__myositis_copy"
_OLD: Final = "__myositis_old"
#: Tables of a PostgreSQL copy indexed on ``person_id`` (every table with the column).
PERSON_TABLES: Final = tuple(name for name, schema in TABLES.items() if "person_id" in schema)


@dataclass(frozen=True)
class CopyResult:
    """What a copy wrote: where, how many rows per table, the fingerprint, how long."""

    source: str
    destination: str
    rows: dict[str, int]
    fingerprint: str
    seconds: float


def copy_registry(
    source: str | Path,
    destination: str | Path,
    *,
    replace_existing: bool = False,
    progress: Progress = silent,
    batch_rows: int = BATCH_ROWS,
) -> CopyResult:
    """Copy the registry at ``source`` to ``destination`` (locations as in
    :func:`myositis.registry.connect.connect`), all or nothing (see the module docstring).

    Raises :class:`RegistryError` when the destination holds a registry and
    ``replace_existing`` is false, when it is not a DuckDB file, PostgreSQL schema or Spark
    database, or when a check after writing fails.
    """
    began = time.perf_counter()
    target_location = _destination(destination)
    source_location = parse_location(source)
    if _same(source_location, target_location):
        raise RegistryError(
            f"{target_location.describe()}: the source and the destination are the same registry"
        )
    progress("opening the source registry")
    src = connect(source)
    try:
        counts = {name: int(stamp[0] or 0) for name, stamp in data_stamp(src).items()}
        progress("fingerprinting the source (every row)")
        fingerprint = data_fingerprint(src)
        metadata = {k: v for k, v in read_metadata(src).items() if k not in RECORDED_KEYS}
        target = _target(target_location)
        target.prepare(replace_existing)
        try:
            written = _write(src, target, counts, progress, batch_rows)
            progress("checking the copy: row counts, then the fingerprint from every row")
            stamp = _verify(target, counts, written, fingerprint)
            metadata |= recorded_metadata(fingerprint, stamp) | {
                "copied_from": source_location.describe(),
                "copied_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
            _write_metadata(target, metadata)
            progress("publishing the copy")
            target.publish()
        except BaseException:
            target.discard()
            raise
    finally:
        src.disconnect()
    return CopyResult(
        source=source_location.describe(),
        destination=target_location.describe(),
        rows=counts | {"registry_metadata": len(metadata)},
        fingerprint=fingerprint,
        seconds=time.perf_counter() - began,
    )


def _write(
    src: BaseBackend, target: _Target, counts: dict[str, int], progress: Progress, batch_rows: int
) -> dict[str, int]:
    """Create every staging table and stream the data tables into them; rows sent per table."""
    for name, schema in TABLES.items():
        target.writer.create(target.staged(name), schema)
    written = {}
    for name in DATA_TABLES:
        message = f"copying {name}"
        written[name] = 0
        progress(message, 0, counts[name])
        for batch in _batches(src, name, batch_rows):
            target.writer.append(target.staged(name), batch)
            written[name] += batch.num_rows
            progress(message, written[name], counts[name])
    return written


def _verify(
    target: _Target, counts: dict[str, int], written: dict[str, int], fingerprint: str
) -> dict[str, list[str | None]]:
    """Row counts table by table, then the fingerprint from every row, of the staged copy;
    returns the copy's stamp (whose first value per table is its row count)."""
    staged = target.staged_backend()
    names = {name: target.staged(name) for name in TABLES}
    stamp = data_stamp(staged, names)
    for name in DATA_TABLES:
        found = int(stamp[name][0] or 0)
        if not counts[name] == written[name] == found:
            raise RegistryError(
                f"{target.location.describe()}: table '{name}': the source has "
                f"{counts[name]:,} rows, {written[name]:,} were sent and the copy holds "
                f"{found:,}; nothing was written"
            )
    copied = data_fingerprint(staged, names)
    if copied != fingerprint:
        raise RegistryError(
            f"{target.location.describe()}: the copy's data fingerprint {copied} differs from "
            f"the source's {fingerprint}; nothing was written. Please report this."
        )
    return stamp


def _write_metadata(target: _Target, metadata: dict[str, str]) -> None:
    rows = pa.table(
        {"key": list(metadata), "value": list(metadata.values())},
        schema=TABLES["registry_metadata"].to_pyarrow(),
    )
    name = target.staged("registry_metadata")
    target.writer.append(name, rows)
    if (found := target.writer.count(name)) != rows.num_rows:
        raise RegistryError(
            f"{target.location.describe()}: registry_metadata: wrote {rows.num_rows} rows, "
            f"found {found}; nothing was written"
        )


def _destination(destination: str | Path) -> Location:
    text = str(destination)
    path = Path(text).expanduser()
    if "://" not in text and path.is_dir():
        raise RegistryError(
            f"{path} is a folder; a copy goes into a DuckDB file (e.g. {path / 'registry.duckdb'}"
            "), postgresql://USER@HOST:PORT/DB?schema=NAME or spark://... ?database=NAME"
        )
    if "://" not in text and path.suffix.lower() not in (".duckdb", ".db"):
        raise RegistryError(
            f"{path}: a DuckDB registry file must end in .duckdb or .db; or give "
            "postgresql://USER@HOST:PORT/DB?schema=NAME or spark://... ?database=NAME"
        )
    return parse_location(text)


def _same(a: Location, b: Location) -> bool:
    if a.path is not None and b.path is not None:
        return a.path.resolve() == b.path.resolve()
    return a.describe() == b.describe()


# -- reading the source in batches ---------------------------------------------------------------


def _batches(con: BaseBackend, name: str, batch_rows: int) -> Iterator[pa.Table]:
    """The table's registry columns, cast to the registry types, in Arrow batches."""
    schema = TABLES[name]
    table = con.table(name)
    typed = table.select(*[table[c].cast(t).name(c) for c, t in schema.items()])
    arrow = schema.to_pyarrow()
    if con.name == "postgres":
        yield from _postgres_batches(con, str(con.compile(typed)), arrow, batch_rows)
    elif con.name == "pyspark":
        yield from _spark_batches(con, str(con.compile(typed)), arrow, batch_rows)
    else:
        # DuckDB's own reader: ibis 12's to_pyarrow_batches calls a method DuckDB 2 renamed
        reader = con.con.sql(str(con.compile(typed))).to_arrow_reader(batch_rows)
        try:
            for batch in reader:
                yield pa.Table.from_batches([batch]).cast(arrow)
        finally:
            reader.close()


#: CSV as PostgreSQL's COPY writes and reads it: null an unquoted empty field, an empty text
#: a quoted one; booleans t/f.
_CSV_READ: Final = {
    "strings_can_be_null": True,
    "quoted_strings_can_be_null": False,
    "null_values": [""],
    "true_values": ["t", "true"],
    "false_values": ["f", "false"],
}


def _postgres_batches(
    con: BaseBackend, sql: str, arrow: pa.Schema, batch_rows: int
) -> Iterator[pa.Table]:
    """Stream a query out of PostgreSQL with COPY (CSV), parsed by Arrow in batches: no row
    becomes Python objects."""
    raw = con.con
    with raw.cursor() as cursor:
        # ISO dates, and floats printed exactly (shortest text that reads back the same)
        cursor.execute("SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3")
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            chunks = (bytes(chunk) for chunk in copy)
            first = next(chunks, None)
            if first is None:  # an empty table (Arrow refuses an empty CSV stream)
                return
            stream = _Chunks(itertools.chain([first], chunks))
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=arrow.names, block_size=max(1 << 20, batch_rows * 64)
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={f.name: f.type for f in arrow}, **_CSV_READ
                ),
            )
            for batch in reader:
                yield pa.Table.from_batches([batch]).cast(arrow)
            stream.drain()  # COPY must be read to its end before the cursor is reused


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        for _ in self._chunks:
            pass


def _spark_batches(
    con: BaseBackend, sql: str, arrow: pa.Schema, batch_rows: int
) -> Iterator[pa.Table]:
    """Collect a Spark table to the driver one slice at a time: rows are split by a hash of
    all their columns into enough slices of about ``batch_rows`` rows (one scan each)."""
    session = con.session
    frame = session.sql(sql)
    rows = frame.count()
    slices = max(1, math.ceil(rows / batch_rows))
    if slices == 1:
        yield frame.toArrow().cast(arrow)
        return
    from pyspark.sql import functions as F

    bucket = F.pmod(F.hash(*[F.col(c) for c in arrow.names]), F.lit(slices))
    for index in range(slices):
        yield frame.where(bucket == index).toArrow().cast(arrow)


# -- writing: one writer per engine, in the backend's own schema or database ---------------------


class _Writer:
    """Create tables of a registry schema and append Arrow batches to them, on one backend."""

    def __init__(self, con: BaseBackend) -> None:
        self.con = con

    def create(self, name: str, schema: sch.Schema) -> None:
        raise NotImplementedError

    def append(self, name: str, table: pa.Table) -> None:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        self._sql(f"DROP TABLE IF EXISTS {self.quote(name)}")

    def count(self, name: str) -> int:
        return int(self._scalar(f"SELECT count(*) FROM {self.quote(name)}"))

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def _sql(self, sql: str) -> None:
        self.con.raw_sql(sql)

    def _scalar(self, sql: str) -> Any:
        return self.con.raw_sql(sql).fetchall()[0][0]


class _DuckDBWriter(_Writer):
    def create(self, name: str, schema: sch.Schema) -> None:
        from ibis.backends.sql.datatypes import DuckDBType

        columns = ", ".join(f'"{c}" {DuckDBType.to_string(t)}' for c, t in schema.items())
        self._sql(f'CREATE TABLE "{name}" ({columns})')

    def append(self, name: str, table: pa.Table) -> None:
        append_duckdb(self.con, name, table)


class _PostgresWriter(_Writer):
    def create(self, name: str, schema: sch.Schema) -> None:
        from ibis.backends.sql.datatypes import PostgresType

        columns = ", ".join(f'"{c}" {PostgresType.to_string(t)}' for c, t in schema.items())
        self._sql(f'CREATE TABLE "{name}" ({columns})')

    def append(self, name: str, table: pa.Table) -> None:
        sink = io.BytesIO()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        with (
            self.con.con.cursor() as cursor,
            cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN (FORMAT csv)') as copy,
        ):
            copy.write(sink.getbuffer())

    def _sql(self, sql: str) -> None:
        self.con.raw_sql(sql).close()

    def _scalar(self, sql: str) -> Any:
        with self.con.raw_sql(sql) as cursor:
            return cursor.fetchall()[0][0]


class _SparkWriter(_Writer):
    def quote(self, name: str) -> str:
        return f"`{name}`"

    def create(self, name: str, schema: sch.Schema) -> None:
        self._sql(f"CREATE TABLE `{name}` ({_spark_ddl(schema)}) USING parquet")

    def append(self, name: str, table: pa.Table) -> None:
        session = self.con.session
        schema = _spark_ddl(ibis.Schema.from_pyarrow(table.schema))
        session.createDataFrame(table, schema=schema).write.insertInto(name)

    def _scalar(self, sql: str) -> Any:
        return self.con.raw_sql(sql).collect()[0][0]

    def tables(self) -> set[str]:
        """The tables of the current database (one metastore call, not one per table)."""
        return {row[1] for row in self.con.raw_sql("SHOW TABLES").collect()}


def _spark_ddl(schema: sch.Schema) -> str:
    """Spark column types, explicit (Spark infers none from Arrow reliably)."""
    from ibis.backends.pyspark.datatypes import PySparkType

    return ", ".join(f"`{c}` {PySparkType.from_ibis(t).simpleString()}" for c, t in schema.items())


def writer(con: BaseBackend) -> _Writer:
    """The writer of a backend opened with :func:`myositis.registry.connect.open_engine`."""
    kinds: dict[str, type[_Writer]] = {
        "duckdb": _DuckDBWriter,
        "postgres": _PostgresWriter,
        "pyspark": _SparkWriter,
    }
    if con.name not in kinds:
        raise RegistryError(f"cannot write tables to a {con.name} backend")
    return kinds[con.name](con)


def write_table(con: BaseBackend, name: str, table: pa.Table) -> None:
    """Create table ``name`` from an Arrow table (replacing one of that name), with the
    column types of its Arrow schema, through the same writers as ``registry copy``."""
    out = writer(con)
    out.drop(name)
    out.create(name, ibis.Schema.from_pyarrow(table.schema))
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        out.append(name, pa.Table.from_batches([batch], schema=table.schema))
    if (found := out.count(name)) != table.num_rows:
        raise RegistryError(f"table '{name}': wrote {table.num_rows} rows, found {found}")


# -- destinations: staging, publishing, discarding ---------------------------------------------


class _Target:
    """A destination: where the staging tables are, how they are published or discarded."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self._writer: _Writer | None = None

    @property
    def writer(self) -> _Writer:
        assert self._writer is not None
        return self._writer

    def staged(self, name: str) -> str:
        """The staging name of a registry table."""
        return name

    def staged_backend(self) -> BaseBackend:
        return self.writer.con

    def prepare(self, replace_existing: bool) -> None:
        raise NotImplementedError

    def publish(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError

    def _refuse(self, found: list[str]) -> None:
        raise RegistryError(
            f"{self.location.describe()} already holds a registry (tables "
            f"{', '.join(found)}); pass --replace to replace it, or choose another destination"
        )


class _DuckDBTarget(_Target):
    def __init__(self, location: Location) -> None:
        super().__init__(location)
        assert location.path is not None
        self.path = location.path
        self.partial = self.path.with_name(f".{self.path.name}.partial")

    def prepare(self, replace_existing: bool) -> None:
        if self.path.exists() and not replace_existing:
            self._refuse([str(self.path)])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_partial()
        staging = replace(self.location, path=self.partial)
        self._writer = _DuckDBWriter(open_engine(staging, read_only=False, create=True))

    def publish(self) -> None:
        self.writer.con.disconnect()  # checkpoints: the file is complete, no .wal left
        Path(f"{self.path}.wal").unlink(missing_ok=True)  # an old file's log must not replay
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        if self._writer is not None:
            self.writer.con.disconnect()
        self._remove_partial()

    def _remove_partial(self) -> None:
        self.partial.unlink(missing_ok=True)
        Path(f"{self.partial}.wal").unlink(missing_ok=True)


class _PostgresTarget(_Target):
    def __init__(self, location: Location) -> None:
        super().__init__(location)
        assert location.schema is not None
        self.schema = location.schema
        self.staging = f"{self.schema[: 63 - len(STAGING)]}{STAGING}"

    def prepare(self, replace_existing: bool) -> None:
        con = open_engine(replace(self.location, schema=self.staging), create=True)
        self._writer = _PostgresWriter(con)
        found = self._tables(self.schema)
        if found and not replace_existing:
            self.discard()
            self._refuse(found)
        # a staging schema left by an interrupted copy is rebuilt empty
        self.writer._sql(f'DROP SCHEMA "{self.staging}" CASCADE')
        self.writer._sql(f'CREATE SCHEMA "{self.staging}"')

    def _tables(self, schema: str) -> list[str]:
        with self.writer.con.con.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name = ANY(%s) ORDER BY table_name",
                (schema, list(TABLES)),
            )
            return [row[0] for row in cursor.fetchall()]

    def publish(self) -> None:
        raw = self.writer.con.con
        try:
            with raw.transaction(), raw.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                for name in TABLES:
                    cursor.execute(f'DROP TABLE IF EXISTS "{self.schema}"."{name}"')
                    cursor.execute(
                        f'ALTER TABLE "{self.staging}"."{name}" SET SCHEMA "{self.schema}"'
                    )
                cursor.execute(f'DROP SCHEMA "{self.staging}"')
                # an index on person_id, as the OMOP CDM's DDL gives each clinical table: a
                # cohort reads a few persons' records (their CDASI scores, their exposures)
                # through it instead of scanning the table. Measured on 1,000,000 synthetic
                # persons (4 December 2026): R1 of benchmarks/cohorts 6.1 -> 1.5 s, its
                # hand-written query 7.6 -> 1.9 s; docs/benchmarks.md
                for name in PERSON_TABLES:
                    cursor.execute(
                        f'CREATE INDEX "{name}_person_id" ON "{self.schema}"."{name}" (person_id)'
                    )
            # planner statistics now, as after any bulk load: without them PostgreSQL plans the
            # study's joins blind (the hand-written cohort query at 100k persons: 4.7 s, 2.6 s
            # after ANALYZE; docs/benchmarks.md)
            with raw.cursor() as cursor:
                tables = ", ".join(f'"{self.schema}"."{name}"' for name in TABLES)
                cursor.execute(f"ANALYZE {tables}")
        except Exception as exc:
            reason = " ".join(str(exc).split())
            raise RegistryError(
                f"{self.location.describe()}: could not replace the registry's tables "
                f"({reason}); nothing was changed"
            ) from None
        self.writer.con.disconnect()

    def discard(self) -> None:
        if self._writer is None:
            return
        try:
            self.writer._sql(f'DROP SCHEMA IF EXISTS "{self.staging}" CASCADE')
        finally:
            self.writer.con.disconnect()


class _SparkTarget(_Target):
    def __init__(self, location: Location) -> None:
        super().__init__(location)
        self.created_database = False

    def staged(self, name: str) -> str:
        return f"{name}{STAGING}"

    def prepare(self, replace_existing: bool) -> None:
        probe = open_engine(replace(self.location, database="default"))
        exists = probe.session.catalog.databaseExists(self.location.database)
        con = open_engine(self.location, create=True)
        self.created_database = not exists
        out = _SparkWriter(con)
        self._writer = out
        present = out.tables()
        found = [name for name in TABLES if name in present]
        if found and not replace_existing:
            self._refuse(found)
        for name in TABLES:  # left by an interrupted copy
            for left in (self.staged(name), f"{name}{_OLD}"):
                if left in present:
                    out.drop(left)

    def publish(self) -> None:
        out = self.writer
        assert isinstance(out, _SparkWriter)
        done: list[tuple[str, str]] = []
        present = out.tables()
        try:
            for name in TABLES:
                if name in present:
                    self._rename(name, f"{name}{_OLD}")
                    done.append((name, f"{name}{_OLD}"))
                self._rename(self.staged(name), name)
                done.append((self.staged(name), name))
        except Exception as exc:
            for old, new in reversed(done):  # put back what was renamed
                self._rename(new, old)
            reason = " ".join(str(exc).split())[:300]
            raise RegistryError(
                f"{self.location.describe()}: could not swap the copied tables in ({reason}); "
                "the previous tables were put back"
            ) from None
        for _, new in done:
            if new.endswith(_OLD):
                out.drop(new)

    def _rename(self, old: str, new: str) -> None:
        self.writer._sql(f"ALTER TABLE `{old}` RENAME TO `{new}`")

    def discard(self) -> None:
        if self._writer is None:
            return
        out = self.writer
        assert isinstance(out, _SparkWriter)
        present = out.tables()
        for name in TABLES:
            if self.staged(name) in present:
                out.drop(self.staged(name))
        if self.created_database:
            database = self.location.database
            self.writer._sql("USE `default`")
            self.writer._sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")


def _target(location: Location) -> _Target:
    if location.engine == "duckdb":
        return _DuckDBTarget(location)
    if location.engine == "postgres":
        return _PostgresTarget(location)
    if location.engine == "spark":
        return _SparkTarget(location)
    raise RegistryError(f"{location.describe()}: cannot copy into a {location.engine}")


__all__ = ["BATCH_ROWS", "CopyResult", "copy_registry", "write_table", "writer"]
