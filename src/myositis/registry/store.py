"""Registry storage: create, open and append to a registry held in DuckDB through Ibis.

A registry is either a DuckDB file (``registry.duckdb``) or a directory with one file per table
(``person.csv`` or ``person.parquet``, ...). ``open_registry`` returns an Ibis backend whose
tables all have the columns and types of :data:`myositis.registry.schema.TABLES`, or raises
:class:`~myositis.errors.RegistryError` (a missing table, column or incompatible type) or
:class:`~myositis.errors.InvalidInputError` (bad values in a CSV file, each named by file, data
row, column and value). Nothing is dropped silently: a CSV table loads completely or not at all.

Study code reads the returned backend with Ibis only; the DuckDB specifics stay in this module.
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
from ibis import BaseBackend
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.backends.sql import SQLBackend
from ibis.common.exceptions import TableNotFound

from myositis.errors import InputProblem, InvalidInputError, RegistryError
from myositis.registry.schema import SCHEMA_VERSION, TABLES

#: Suffixes accepted for a registry database file.
DATABASE_SUFFIXES: Final = (".duckdb", ".db")
#: At most this many bad values are listed per column (the count is always exact).
_MAX_LISTED_PER_COLUMN: Final = 1000
_ROW: Final = "__row"


def create_registry(path: str | Path, *, overwrite: bool = False) -> BaseBackend:
    """Create an empty DuckDB registry with every table of ``TABLES``.

    Writes ``registry_metadata`` rows ``schema_version`` and ``created_at``. An existing file is
    an error unless ``overwrite`` is true (then it is replaced).
    """
    target = Path(path)
    if target.exists():
        if not overwrite:
            raise RegistryError(
                f"{target} already exists; choose another path or pass overwrite "
                "(--overwrite) to replace it"
            )
        target.unlink()
        Path(f"{target}.wal").unlink(missing_ok=True)
    if target.suffix not in DATABASE_SUFFIXES:
        raise RegistryError(
            f"{target}: a registry database file must end in {' or '.join(DATABASE_SUFFIXES)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(str(target))
    for name, schema in TABLES.items():
        con.create_table(name, schema=schema)
    write_metadata(
        con,
        {
            "schema_version": SCHEMA_VERSION,
            "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return con


def write_metadata(con: BaseBackend, values: dict[str, str]) -> None:
    """Append key/value rows to ``registry_metadata``."""
    table = pa.table(
        {"key": list(values), "value": [str(v) for v in values.values()]},
        schema=TABLES["registry_metadata"].to_pyarrow(),
    )
    append_arrow(con, "registry_metadata", table)


def read_metadata(con: BaseBackend) -> dict[str, str]:
    """The ``registry_metadata`` table as a dictionary (a later key wins)."""
    rows = con.table("registry_metadata").to_pyarrow().to_pylist()
    return {r["key"]: r["value"] for r in rows}


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema a writer must produce for one registry table."""
    _known(table_name)
    return TABLES[table_name].to_pyarrow()


def append_arrow(con: BaseBackend, table_name: str, arrow_table: pa.Table) -> None:
    """Append an Arrow table to a registry table, conforming it to the registry schema.

    Columns are taken by name (extra columns are an error, so nothing is dropped silently),
    missing columns are an error, and each column is cast safely to the registry type (a
    lossy cast raises :class:`RegistryError` naming the column).
    """
    _known(table_name)
    if not isinstance(con, SQLBackend):
        raise RegistryError(f"cannot append to a {type(con).__name__} backend")
    target = TABLES[table_name].to_pyarrow()
    names = set(arrow_table.column_names)
    missing = [f.name for f in target if f.name not in names]
    extra = sorted(names - set(target.names))
    if missing or extra:
        raise RegistryError(
            f"cannot append to '{table_name}': missing columns {missing}, unknown columns "
            f"{extra}; a writer must produce exactly the columns {target.names}"
        )
    columns = []
    for field in target:
        column = arrow_table.column(field.name)
        try:
            columns.append(column.cast(field.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise RegistryError(
                f"cannot append to '{table_name}': column '{field.name}' of type {column.type} "
                f"does not convert to {field.type} ({exc})"
            ) from None
    conformed = pa.Table.from_arrays(columns, schema=target)
    if isinstance(con, DuckDBBackend):
        _duckdb_append(con, table_name, conformed)
    else:
        con.insert(table_name, conformed)


def _duckdb_append(con: DuckDBBackend, table_name: str, table: pa.Table) -> None:
    # DuckDB-specific: ibis 12's insert registers each Arrow table as a view and, under
    # sqlglot 30, fails to drop it, so every appended batch stayed in memory. Register,
    # insert and unregister explicitly instead.
    view = f"__append_{table_name}"
    raw = con.con
    raw.register(view, table)
    try:
        raw.execute(f'INSERT INTO "{table_name}" SELECT * FROM "{view}"')
    finally:
        raw.unregister(view)


def open_registry(path: str | Path, *, read_only: bool = False) -> BaseBackend:
    """Open a registry: a DuckDB file, or a directory of ``<table>.csv`` / ``<table>.parquet``.

    A directory is loaded into an in-memory DuckDB (CSV values parsed: dates as ISO 8601
    ``YYYY-MM-DD``, numbers, booleans ``true``/``false``/``1``/``0``; an empty cell is missing).
    Every table and column of ``TABLES`` must be present with a compatible type; extra columns
    are kept. Raises :class:`RegistryError` or :class:`InvalidInputError` with what was found
    and what to do.
    """
    source = Path(path)
    if not source.exists():
        raise RegistryError(
            f"{source} does not exist; give a registry .duckdb file or a directory of "
            "<table>.csv / <table>.parquet files (create one with: myositis synth --out FILE)"
        )
    if source.is_dir():
        return _open_directory(source)
    if source.suffix not in DATABASE_SUFFIXES:
        raise RegistryError(
            f"{source} is neither a directory nor a DuckDB file ({', '.join(DATABASE_SUFFIXES)})"
        )
    try:
        con = ibis.duckdb.connect(str(source), read_only=read_only)
    except Exception as exc:  # duckdb raises several types for a damaged or foreign file
        raise RegistryError(f"{source} could not be opened as a DuckDB database: {exc}") from None
    validate_registry(con, where=str(source))
    return con


def validate_registry(con: BaseBackend, *, where: str = "registry") -> None:
    """Check that every table and column of ``TABLES`` is present with a compatible type,
    and that a recorded ``schema_version`` matches this software's."""
    present = set(present_tables(con))
    missing_tables = [name for name in TABLES if name not in present]
    if missing_tables:
        raise RegistryError(
            f"{where}: missing registry table(s) {', '.join(missing_tables)} "
            f"(found: {', '.join(sorted(present)) or 'none'}); every table of the data "
            "model must exist, even if empty (see docs/data-model.md)"
        )
    for name, expected in TABLES.items():
        _check_schema(con.table(name).schema(), expected, f"{where}: table '{name}'")
    version = read_metadata(con).get("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        raise RegistryError(
            f"{where}: registry schema_version {version!r}, this software reads "
            f"{SCHEMA_VERSION!r}; re-create or migrate the registry"
        )


def present_tables(con: BaseBackend) -> list[str]:
    """The registry tables (names in ``TABLES``) that exist in ``con``.

    Probes each name with ``con.table`` rather than ``list_tables``, which is broken in
    ibis 12 with duckdb 2 (its cursor lost ``fetch_arrow_table``).
    """
    found = []
    for name in TABLES:
        try:
            con.table(name)
        except TableNotFound:
            continue
        found.append(name)
    return found


def compatible(expected: dt.DataType, found: dt.DataType) -> bool:
    """Whether a stored column type can be read as the registry type without loss of meaning.

    Integers accept any integer width; floats accept floats and integers; dates accept dates
    and timestamps (truncated to the day); strings and booleans must match.
    """
    if expected.is_integer():
        return found.is_integer()
    if expected.is_floating():
        return found.is_floating() or found.is_integer() or found.is_decimal()
    if expected.is_date():
        return found.is_date() or found.is_timestamp()
    if expected.is_string():
        return found.is_string()
    if expected.is_boolean():
        return found.is_boolean()
    return found.copy(nullable=True) == expected.copy(nullable=True)


def _check_schema(found: sch.Schema, expected: sch.Schema, where: str) -> None:
    missing = [c for c in expected.names if c not in found.names]
    if missing:
        raise RegistryError(
            f"{where} lacks column(s) {', '.join(missing)} (found: {', '.join(found.names)}); "
            "add them (they may be empty)"
        )
    for column, etype in expected.items():
        ftype = found[column]
        if not compatible(etype, ftype):
            raise RegistryError(
                f"{where}, column '{column}': found type {ftype}, expected {etype}; "
                f"convert the column to {etype}"
            )


def _known(table_name: str) -> None:
    if table_name not in TABLES:
        raise RegistryError(f"unknown registry table '{table_name}'; tables: {', '.join(TABLES)}")


def _open_directory(folder: Path) -> BaseBackend:
    con = ibis.duckdb.connect()
    problems: list[InputProblem] = []
    for name, schema in TABLES.items():
        parquet, text = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists() and text.exists():
            raise RegistryError(
                f"{folder}: both {parquet.name} and {text.name} exist; keep only one per table"
            )
        if parquet.exists():
            _load_parquet(con, name, schema, parquet)
        elif text.exists():
            problems.extend(_load_csv(con, name, schema, text))
        else:
            raise RegistryError(
                f"{folder}: missing registry table '{name}' (no {name}.csv or {name}.parquet); "
                "every table of the data model must be present, even as a header-only file "
                "(see docs/data-model.md)"
            )
    if problems:
        raise InvalidInputError(problems)
    validate_registry(con, where=str(folder))
    return con


def _load_parquet(con: BaseBackend, name: str, schema: sch.Schema, path: Path) -> None:
    try:
        raw = con.read_parquet(path, table_name=f"__src_{name}")
    except Exception as exc:
        raise RegistryError(f"{path} could not be read as Parquet: {exc}") from None
    _check_schema(raw.schema(), schema, str(path))
    con.create_view(name, _conform(raw, schema))


def _conform(raw: ir.Table, schema: sch.Schema) -> ir.Table:
    """Registry columns cast to their registry types, then any extra columns unchanged."""
    typed = [raw[c].cast(t).name(c) for c, t in schema.items()]
    extra = [raw[c] for c in raw.columns if c not in schema.names and c != _ROW]
    return raw.select(*typed, *extra)


def _load_csv(con: BaseBackend, name: str, schema: sch.Schema, path: Path) -> list[InputProblem]:
    """Load one CSV table with every value checked; return the bad values (nothing is loaded
    when there are any)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path} is not UTF-8 text ({exc}); save it as UTF-8 CSV") from None
    if not header:
        raise RegistryError(f"{path} is empty; it needs at least a header row")
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise RegistryError(f"{path}: duplicate column(s) {', '.join(dupes)} in the header")
    missing = [c for c in schema.names if c not in header]
    if missing:
        raise RegistryError(
            f"{path} lacks column(s) {', '.join(missing)} (found: {', '.join(header)}); "
            "add them (they may be empty)"
        )
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise RegistryError(f"{path} is not a well-formed CSV file: {exc}") from None
    rows = table.num_rows
    table = table.append_column(_ROW, pa.array(range(1, rows + 1), pa.int64()))
    raw_name = f"__raw_{name}"
    # create-then-insert: create_table(obj=arrow) is broken with this ibis/sqlglot pairing
    raw = con.create_table(raw_name, schema=ibis.Schema.from_pyarrow(table.schema))
    if isinstance(con, DuckDBBackend):
        _duckdb_append(con, raw_name, table)
    else:
        con.insert(raw_name, table)
    cleaned = raw.mutate(
        **{c: raw[c].strip().nullif("") for c in header}  # an empty cell is a missing value
    )
    problems: list[InputProblem] = []
    for column, dtype in schema.items():
        problems.extend(_bad_values(con, cleaned, column, dtype, path))
    if problems:
        _drop(con, raw_name)
        return problems
    con.create_table(name, _conform(_parse(cleaned, schema), schema))
    _drop(con, raw_name)
    loaded = con.table(name).count().execute()
    if loaded != rows:  # every record is accounted for, or we say so
        raise RegistryError(f"{path}: read {rows} data rows but loaded {loaded}")
    return []


def _drop(con: BaseBackend, name: str) -> None:
    # DuckDB DDL: ibis 12's drop_table emits "DROP TABLE" without a name under sqlglot 30.
    con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def _parsed(value: ir.StringValue, dtype: dt.DataType) -> ir.Value:
    return value.try_cast(dtype)


def _parse(cleaned: ir.Table, schema: sch.Schema) -> ir.Table:
    return cleaned.mutate(**{c: _parsed(cleaned[c], t) for c, t in schema.items()})


def _invalid(value: ir.StringValue, dtype: dt.DataType) -> ir.BooleanValue:
    parsed = _parsed(value, dtype)
    bad = value.notnull() & parsed.isnull()
    if dtype.is_integer():  # '3.5' would round to 4: a whole number is required
        bad = bad | (parsed.notnull() & (value.try_cast("float64") != parsed.cast("float64")))
    if dtype.is_floating():  # 'nan', 'inf' and 'infinity' parse as floats, but are no values
        bad = bad | (parsed.notnull() & (parsed.isnan() | parsed.isinf()))
    return bad


_EXPECTED: Final = {
    "date": "a date as YYYY-MM-DD",
    "int": "a whole number",
    "float": "a number",
    "boolean": "true or false (or 1/0)",
}


def _describe(dtype: dt.DataType) -> str:
    if dtype.is_date():
        return _EXPECTED["date"]
    if dtype.is_integer():
        return _EXPECTED["int"]
    if dtype.is_floating():
        return _EXPECTED["float"]
    if dtype.is_boolean():
        return _EXPECTED["boolean"]
    return str(dtype)


def _bad_values(
    con: BaseBackend, cleaned: ir.Table, column: str, dtype: dt.DataType, path: Path
) -> list[InputProblem]:
    if dtype.is_string():
        return []
    bad = cleaned.filter(_invalid(cleaned[column], dtype))
    count = int(bad.count().execute())
    if not count:
        return []
    listed = bad.select(_ROW, column).order_by(_ROW).limit(_MAX_LISTED_PER_COLUMN)
    reason = f"expected {_describe(dtype)}"
    problems = [
        InputProblem(row=r[_ROW], column=column, value=r[column], reason=reason, source=path.name)
        for r in listed.to_pyarrow().to_pylist()
    ]
    if count > len(problems):
        problems.append(
            InputProblem(
                row=None,
                column=column,
                value=None,
                reason=f"{count - len(problems)} further bad values not listed",
                source=path.name,
            )
        )
    return problems


__all__ = [
    "DATABASE_SUFFIXES",
    "append_arrow",
    "arrow_schema",
    "compatible",
    "create_registry",
    "open_registry",
    "present_tables",
    "read_metadata",
    "validate_registry",
    "write_metadata",
]
