"""A registry held as a folder of files: one ``<table>.csv`` or ``<table>.parquet`` per table,
loaded into an in-memory DuckDB.

Files are read by :mod:`myositis.tables` (the one reader: UTF-8, any line endings, header
checks, rows numbered from 1 after the header). CSV values are parsed and every bad value is
reported with its file, data row, column and value, and why (dates as ISO 8601 ``YYYY-MM-DD``
that exist, whole numbers, numbers, booleans ``true``/``false``/``1``/``0``; an empty cell is
missing). Nothing is dropped silently: a table loads completely or not at all. Columns and
files outside the data model are kept or left alone, and named in an
:class:`myositis.errors.InputWarning`.

The tables and columns that data model versions 2 and 3 added (``OPTIONAL_FOLDER_TABLES``:
observation periods, races, the import log; the provenance columns and a diagnosis's end,
:func:`~myositis.registry.schema.optional_folder_columns`) may be left out: an absent table is
empty and an absent column null. Each CSV table keeps its rows' data row numbers out of
sight, in the table behind its view (:func:`data_rows`), so that later checks can name the row
of the file.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
from ibis import BaseBackend
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.common.exceptions import TableNotFound

from myositis.errors import InputProblem, InputWarning, InvalidInputError, RegistryError
from myositis.registry.conformance import check_conformance, check_schema, upgrade_advice
from myositis.registry.schema import (
    OPTIONAL_FOLDER_TABLES,
    SCHEMA_VERSION,
    TABLES,
    optional_folder_columns,
)
from myositis.registry.store import append_duckdb
from myositis.tables import ValueKind, parquet_columns, read_csv, value_problem, warn_unused

#: At most this many bad values are listed per column (the count is always exact).
_MAX_LISTED_PER_COLUMN: Final = 1000
#: Column holding a CSV row's 1-based data row (the header is not counted).
DATA_ROW: Final = "__row"
_ROW: Final = DATA_ROW
#: Prefix of the table behind a CSV table's view: the table with its data rows.
_NUMBERED: Final = "__csv_"
#: What the warning says of columns outside the data model.
_NOT_IN_MODEL: Final = (
    "not in the data model: kept, but no study uses them (docs/data-model.md lists each "
    "table's columns; check the spelling)"
)


def open_folder(folder: Path, *, tables: Mapping[str, sch.Schema] | None = None) -> BaseBackend:
    """Load a folder registry into an in-memory DuckDB (see the module docstring).

    ``tables`` loads another version's tables (for ``registry migrate``) without the version
    and conformance checks of the current data model.
    """
    current = tables is None
    if current:
        _check_version(folder)
    con = ibis.duckdb.connect()
    problems: list[InputProblem] = []
    for name, schema in (TABLES if tables is None else tables).items():
        parquet, text = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.exists() and text.exists():
            raise RegistryError(
                f"{folder}: both {parquet.name} and {text.name} exist; keep only one per table"
            )
        if parquet.exists():
            _load_parquet(con, name, schema, parquet)
        elif text.exists():
            problems.extend(_load_csv(con, name, schema, text))
        elif name in OPTIONAL_FOLDER_TABLES:
            con.create_table(name, schema=schema)
        else:
            raise RegistryError(
                f"{folder}: missing registry table '{name}' (no {name}.csv or {name}.parquet); "
                "every table of the data model must be present, even as a header-only file "
                "(see docs/data-model.md)"
            )
    others = sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix.lower() in (".csv", ".parquet") and p.stem not in TABLES
    )
    if others:
        which = (
            f"{others[0]} is not a registry table"
            if len(others) == 1
            else (f"{', '.join(others)} are not registry tables")
        )
        warnings.warn(
            InputWarning(
                f"{folder}: {which} (ignored); the tables are {', '.join(TABLES)} "
                "(docs/data-model.md)"
            ),
            stacklevel=2,
        )
    if problems:
        raise InvalidInputError(problems)
    if current:
        check_conformance(con, where=str(folder))
    return con


def _check_version(folder: Path) -> None:
    """Refuse a folder of another schema version before its tables are read (an older folder
    lacks columns, and the version says what to do better than a missing column)."""
    path = folder / "registry_metadata.csv"
    if not path.exists():
        return  # Parquet metadata is checked with the rest by check_conformance
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = {r.get("key"): r.get("value") for r in csv.DictReader(handle)}
    except (UnicodeDecodeError, csv.Error):
        return  # reported with its file and row when the table is loaded
    version = (rows.get("schema_version") or "").strip()
    if version and version != SCHEMA_VERSION:
        raise RegistryError(
            f"{folder}: registry schema_version {version!r}, this software reads "
            f"{SCHEMA_VERSION!r}; {upgrade_advice(version, str(folder))}"
        )


def _load_parquet(con: BaseBackend, name: str, schema: sch.Schema, path: Path) -> None:
    columns, _ = parquet_columns(path, error=RegistryError)
    try:
        raw = con.read_parquet(path, table_name=f"__src_{name}")
    except Exception as exc:
        raise RegistryError(f"{path} could not be read as Parquet: {exc}") from None
    absent = {c: ibis.null(schema[c]) for c in optional_folder_columns(name) if c in schema.names}
    raw = raw.mutate(**{c: v for c, v in absent.items() if c not in raw.columns})
    check_schema(raw.schema(), schema, str(path))
    warn_unused(path, columns, schema.names, _NOT_IN_MODEL)
    con.create_view(name, _conform(raw, schema))


def _conform(raw: ir.Table, schema: sch.Schema, *, numbered: bool = False) -> ir.Table:
    """Registry columns cast to their registry types, then any extra columns unchanged (and
    the data row last when ``numbered``)."""
    typed = [raw[c].cast(t).name(c) for c, t in schema.items()]
    extra = [raw[c] for c in raw.columns if c not in schema.names and c != _ROW]
    return raw.select(*typed, *extra, *([raw[_ROW]] if numbered else []))


def _load_csv(con: BaseBackend, name: str, schema: sch.Schema, path: Path) -> list[InputProblem]:
    """Load one CSV table with every value checked; return the bad values (nothing is loaded
    when there are any)."""
    table = read_csv(path, row_column=_ROW, error=RegistryError)
    header = table.column_names[:-1]
    optional = optional_folder_columns(name)
    missing = [c for c in schema.names if c not in header and c not in optional]
    if missing:
        raise RegistryError(
            f"{path} lacks column(s) {', '.join(missing)} (found: {', '.join(header)}); "
            "add them (they may be empty)"
        )
    warn_unused(path, header, schema.names, _NOT_IN_MODEL)
    rows = table.num_rows
    for column in schema.names:
        if column not in header:  # an optional column left out: empty cells, read as missing
            table = table.append_column(column, pa.array([""] * rows, pa.string()))
            header.append(column)
    raw_name = f"__raw_{name}"
    # create-then-insert: create_table(obj=arrow) is broken with this ibis/sqlglot pairing
    raw = con.create_table(raw_name, schema=ibis.Schema.from_pyarrow(table.schema))
    if isinstance(con, DuckDBBackend):
        append_duckdb(con, raw_name, table)
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
    numbered = con.create_table(
        f"{_NUMBERED}{name}", _conform(_parse(cleaned, schema), schema, numbered=True)
    )
    con.create_view(name, numbered.drop(_ROW))
    _drop(con, raw_name)
    loaded = con.table(name).count().execute()
    if loaded != rows:  # every record is accounted for, or we say so
        raise RegistryError(f"{path}: read {rows} data rows but loaded {loaded}")
    return []


def data_rows(con: BaseBackend, name: str) -> ir.Table | None:
    """Table ``name`` of a folder registry with each row's CSV data row in column
    :data:`DATA_ROW`, or None when the table did not come from a CSV file (a Parquet file, or
    a registry on another engine)."""
    if not isinstance(con, DuckDBBackend):
        return None
    try:
        return con.table(f"{_NUMBERED}{name}")
    except TableNotFound:
        return None


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


def _kind(dtype: dt.DataType) -> ValueKind:
    if dtype.is_date():
        return "date"
    if dtype.is_integer():
        return "integer"
    if dtype.is_floating():
        return "number"
    return "boolean"


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
    problems = [
        InputProblem(
            row=r[_ROW],
            column=column,
            value=r[column],
            reason=value_problem(r[column], _kind(dtype)),
            source=path.name,
        )
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


__all__ = ["DATA_ROW", "data_rows", "open_folder"]
