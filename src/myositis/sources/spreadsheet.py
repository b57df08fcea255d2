"""Spreadsheets: a folder of ``<table>.csv`` or ``<table>.xlsx`` files (or one ``.xlsx``
workbook with a sheet per table), in the columns of the templates that ``myositis template``
writes, imported with ``myositis import csv SOURCE --into REGISTRY``.

Rules (``docs/sources.md``):

- each file is one registry table, named like it; a table without a file is not imported;
  files of the registry's own tables (``registry_metadata``, ``import_log``) are skipped, any
  other file is named in a warning;
- one data row is one record; every value is parsed with the data model's rules (dates as
  ``YYYY-MM-DD`` that exist, whole numbers, numbers, ``true``/``false``) and every bad value is
  reported with file, line, column and value; columns not in the data model are named in a
  warning and not imported; a ``status`` column marks records ``entered-in-error`` or
  ``cancelled``, which are rejected with that reason;
- persons: ``person_id`` links the files; a person's ``source_id`` (MRN, study number) is
  ``person_id`` when left empty. Rows naming a ``person_id`` that ``person`` does not list
  belong to that person of the registry; rows of a person whose own row has a bad value are
  rejected with it (they are not taken for the registry's person of that ``person_id``).
  Messages name a row's person by the ``person_id`` it gives;
- laboratory: ``value``, ``unit`` and ``uln`` (in ``uln_unit``, default ``unit``) are the
  laboratory's; they are stored converted to the test's canonical unit with the value and unit
  as given kept (a registry exported to CSV carries ``source_value`` and ``source_unit``, which
  are then read instead);
- identity for re-imports: a ``source_record`` column when filled, otherwise the record's key
  columns (``IMPORT_KEYS``), so that importing the same spreadsheets again adds nothing and a
  changed value updates its row.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.registry.schema import IMPORT_KEYS, PROVENANCE_COLUMNS, REGISTRY_TABLES, TABLES
from myositis.sources.checks import PERSON_FAILED, REQUIRED
from myositis.sources.contract import (
    IMPORT_TABLES,
    Batch,
    Intake,
    rejected_status,
    staging_schema,
)
from myositis.sources.contract import Reader as SourceReader
from myositis.sources.tabular import SUFFIXES, Sheet, open_sheet, workbook

#: Rows per batch handed to the writer.
BATCH_ROWS: Final = 50_000

#: Columns a spreadsheet may carry besides the data model's: read, not stored as such.
EXTRA_COLUMNS: Final = ("status",)
#: Files of a template folder that are no table (skipped without a warning).
AUXILIARY_FILES: Final = ("data-dictionary.csv",)

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE: Final = ("true", "1", "yes", "y")
_FALSE: Final = ("false", "0", "no", "n")


class ValueProblem(ValueError):
    """A cell that does not parse: the reason in plain words."""


def parse_date(text: str) -> _dt.date:
    """A date written ``YYYY-MM-DD`` that exists."""
    if not _DATE.fullmatch(text):
        raise ValueProblem("expected a date as YYYY-MM-DD")
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ValueProblem("this date does not exist (check the day and the month)") from None


def parse_int(text: str) -> int:
    """A whole number (``12`` or ``12.0``; ``12.5`` is not one)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ValueProblem("expected a whole number") from None
    if not number.is_integer():
        raise ValueProblem("expected a whole number")
    return int(number)


def parse_float(text: str) -> float:
    """A finite number."""
    try:
        number = float(text)
    except ValueError:
        raise ValueProblem("expected a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueProblem("expected a finite number")
    return number


def parse_bool(text: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``), any case."""
    lower = text.lower()
    if lower in _TRUE:
        return True
    if lower in _FALSE:
        return False
    raise ValueProblem("expected true or false")


def _parser(dtype: pa.DataType) -> Callable[[str], Any]:
    if pa.types.is_date32(dtype):
        return parse_date
    if pa.types.is_integer(dtype):
        return parse_int
    if pa.types.is_floating(dtype):
        return parse_float
    if pa.types.is_boolean(dtype):
        return parse_bool
    return str


def _key_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|")


class Reader(SourceReader):
    """The spreadsheet reader (``myositis import csv``); rules in the module docstring."""

    name = "csv"

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        """Yield the rows of every table file of the folder or workbook."""
        sheets = self._sheets(intake)
        persons = _Persons()
        done = 0
        for table in IMPORT_TABLES:
            sheet = sheets.get(table)
            if sheet is None:
                continue
            for batch in _TableReader(table, sheet, intake, persons).batches():
                done += batch.rows.num_rows
                progress("reading spreadsheets (rows)", done, None)
                yield batch

    def _sheets(self, intake: Intake) -> dict[str, Sheet]:
        location = Path(self.location)
        if location.is_file() and location.suffix.lower() == ".xlsx":
            found = workbook(location)
            sheets = {name: found[name] for name in IMPORT_TABLES if name in found}
            others = sorted(set(found) - set(sheets) - set(REGISTRY_TABLES))
            if others:
                intake.warn(
                    f"{location.name}: sheet(s) {', '.join(others)} are not tables of the data "
                    "model and were not imported"
                )
            return sheets
        if not location.is_dir():
            raise SourceError(
                f"{location}: give a folder of <table>.csv or <table>.xlsx files, or one .xlsx "
                "workbook with a sheet per table (myositis template DIR writes empty ones)"
            )
        files: dict[str, Path] = {}
        ignored = []
        for path in sorted(location.iterdir()):
            if path.name.startswith(".") or path.is_dir() or path.name in AUXILIARY_FILES:
                continue
            stem, suffix = path.stem, path.suffix.lower()
            if suffix not in SUFFIXES or stem not in IMPORT_TABLES:
                if suffix in SUFFIXES and stem not in REGISTRY_TABLES:
                    ignored.append(path.name)  # a spreadsheet that is no table: say so
                continue
            if stem in files:
                raise SourceError(
                    f"{location}: both {files[stem].name} and {path.name} hold table '{stem}'; "
                    "keep one"
                )
            files[stem] = path
        if ignored:
            intake.warn(
                f"{location}: file(s) {', '.join(ignored)} are not tables of the data model "
                "(<table>.csv or <table>.xlsx) and were not imported"
            )
        if not files:
            raise SourceError(
                f"{location}: no table files found (person.csv, diagnosis.csv, ... or .xlsx); "
                "myositis template DIR writes one empty file per table"
            )
        return {table: open_sheet(path) for table, path in files.items()}


@dataclass
class _Persons:
    """The persons of the person sheet by ``person_id``: the ``source_id`` of each one read,
    and where the row of each one not read (a bad value) is."""

    read: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


class _TableReader:
    """One sheet of one table, parsed row by row into staging batches."""

    def __init__(self, table: str, sheet: Sheet, intake: Intake, persons: _Persons) -> None:
        self.table = table
        self.sheet = sheet
        self.intake = intake
        self.persons = persons  # read first: the person sheet comes first (IMPORT_TABLES)
        self.schema = staging_schema(table)
        registry = TABLES[table].names
        self.columns = [
            c for c in sheet.header if c in registry and c not in ("import_id", "source_location")
        ]

    def _header(self) -> bool:
        """Check the header; report what is wrong. False: this sheet cannot be read."""
        header, name = self.sheet.header, self.sheet.name
        duplicated = sorted({c for c in header if c and header.count(c) > 1})
        if duplicated:
            self.intake.problem(None, f"duplicate column(s) {', '.join(duplicated)}", file=name)
            return False
        known = set(TABLES[self.table].names) | set(EXTRA_COLUMNS) | set(PROVENANCE_COLUMNS)
        unknown = [c for c in header if c and c not in known]
        if unknown:
            self.intake.warn(
                f"{name}: column(s) {', '.join(unknown)} are not in the data model and were not "
                "imported (docs/data-model.md lists the columns of each table)"
            )
        needed = [c for c in _required_columns(self.table, header) if c not in header]
        if needed:
            self.intake.problem(
                None,
                f"lacks column(s) {', '.join(needed)} (found: {', '.join(header)}); add them "
                "(myositis template DIR shows every column)",
                file=name,
            )
            return False
        return True

    def batches(self) -> Iterator[Batch]:
        if not self._header():
            for _ in self.sheet.rows:  # every record is still counted, and rejected
                self.intake.read()
            return
        header = self.sheet.header
        index = {c: i for i, c in enumerate(header) if c}
        parsers = {f.name: _parser(f.type) for f in TABLES[self.table].to_pyarrow()}
        buffer: dict[str, list[Any]] = {f.name: [] for f in self.schema}
        for line, cells in self.sheet.rows:
            self.intake.read()
            location = f"{self.sheet.name}:{line}"
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                self.intake.problem(
                    location,
                    f"has {len(cells)} values where the header has {len(header)} columns",
                    file=self.sheet.name,
                    record=f"line {line}",
                )
                continue
            text = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
            status = rejected_status(text.get("status") or None)
            if status:
                self.intake.problem(
                    location, status, file=self.sheet.name, record=f"line {line}",
                    field="status", value=text["status"], severity="rejected",
                )  # fmt: skip
                continue
            row = self._parse(text, parsers, location, line)
            if row is None:
                continue
            for name, values in buffer.items():
                values.append(row.get(name))
            if len(buffer["source_location"]) >= BATCH_ROWS:
                yield self._batch(buffer)
        if buffer["source_location"]:
            yield self._batch(buffer)

    def _batch(self, buffer: dict[str, list[Any]]) -> Batch:
        table = pa.table({n: pa.array(v, self.schema.field(n).type) for n, v in buffer.items()})
        for values in buffer.values():
            values.clear()
        return Batch(self.table, table)

    def _parse(
        self,
        text: dict[str, str],
        parsers: dict[str, Callable[[str], Any]],
        location: str,
        line: int,
    ) -> dict[str, Any] | None:
        row: dict[str, Any] = {}
        bad = False
        for column in self.columns:
            cell = text.get(column, "")
            if not cell:
                continue
            try:
                row[column] = parsers[column](cell)
            except ValueProblem as exc:
                bad = True
                self.intake.problem(
                    location, str(exc), file=self.sheet.name, record=f"line {line}",
                    field=column, value=cell,
                )  # fmt: skip
        if bad:
            if self.table == "person" and row.get("person_id") is not None:
                self.persons.failed.setdefault(row["person_id"], location)
            return None
        if not self._person(row):
            self.intake.problem(
                location, PERSON_FAILED.format(at=self.persons.failed[row["person_id"]]),
                file=self.sheet.name, record=f"line {line}", field="person_id",
                value=row["person_id"],
            )  # fmt: skip
            return None
        row["source_location"] = location
        if self.table == "laboratory":
            _laboratory(row)
        row["source_record"] = text.get("source_record") or self._record_key(row)
        return row

    def _person(self, row: dict[str, Any]) -> bool:
        """Link the row to its person: a person of the person sheet by their source id (the
        ``person_id`` stays, as the file named the person, for messages). False: the row's
        person is one whose own row could not be read."""
        if self.table == "person":
            if row.get("source_id") is None and row.get("person_id") is not None:
                row["source_id"] = str(row["person_id"])
            if row.get("person_id") is not None and row.get("source_id") is not None:
                self.persons.read.setdefault(row["person_id"], row["source_id"])
            return True
        pid = row.get("person_id")
        if pid is not None and pid in self.persons.read:
            row["person_source_id"] = self.persons.read[pid]
        return pid is None or pid in self.persons.read or pid not in self.persons.failed

    def _record_key(self, row: dict[str, Any]) -> str | None:
        if self.table not in IMPORT_KEYS or "source_record" not in self.schema.names:
            return None
        values = []
        for column in IMPORT_KEYS[self.table]:
            value = row.get(column)
            if column == "visit_id" and value is None and row.get("assessment_id") is not None:
                value = f"#{row['assessment_id']}"
            values.append(_key_text(value))
        return "|".join(values)


def _required_columns(table: str, header: list[str]) -> list[str]:
    """The columns a sheet of ``table`` must have (their cells may still be empty)."""
    columns = [c for c in REQUIRED[table] if c not in ("source_value", "source_unit")]
    if table == "laboratory" and not {"source_value", "source_unit"} <= set(header):
        columns += ["value", "unit"]
    if table == "person":  # a person is named by person_id, source_id or both
        return [] if {"person_id", "source_id"} & set(header) else ["person_id"]
    return ["person_id", *columns]


def _laboratory(row: dict[str, Any]) -> None:
    """The laboratory's own value and unit are the source value and unit (an exported
    registry's source_value and source_unit win); the writer converts them."""
    if row.get("source_value") is None and row.get("source_unit") is None:
        row["source_value"] = row.get("value")
        row["source_unit"] = row.get("unit")
    row.pop("value", None)
    row.pop("unit", None)


__all__ = [
    "BATCH_ROWS",
    "EXTRA_COLUMNS",
    "Reader",
    "parse_bool",
    "parse_date",
    "parse_float",
    "parse_int",
]
