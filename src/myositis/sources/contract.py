"""The importer contract: read -> validated Arrow batches + problems -> one atomic write.

Every source (spreadsheets, REDCap, FHIR, OMOP) is one :class:`Reader`. A reader only reads: it
turns its source into :class:`Batch` es — Arrow tables of one registry table, in the staging
columns of :func:`staging_schema` — and tells the :class:`Intake` about every record it read
and every problem it found. The writer (:func:`myositis.sources.write.write_import`) does the
rest, the same way for every source: the shared checks (required values, real and not future
dates, laboratory units, duplicate records, persons that exist), person and id resolution,
idempotent matching against earlier imports, one transaction, and the accounting.

What a reader puts in a batch (``docs/sources.md`` has a worked example):

- the registry columns it knows (others may be left out: they are null); ``import_id`` is
  never the reader's (the writer sets it);
- ``source_record``: the record's stable identity in the source (``Condition/123``; a REDCap
  record/event/instrument/instance; a spreadsheet key). Re-importing the same source matches
  stored rows on (source, person, ``source_record``, ``ROW_KEYS``): unchanged rows stay, changed
  ones are replaced, new ones added. Rows of one record in one table are told apart by
  ``ROW_KEYS`` (one QuestionnaireResponse gives one assessment row per item ``measure``);
- ``source_location``: where the record was read (``laboratory.csv:12``, ``bundle.json entry
  4``). One record = one location: the accounting counts distinct locations, and a problem with
  a record rejects every row read from that location;
- persons: a ``person`` row carries the person's ``source_id`` (required) and, if the source has
  one, a proposed integer ``person_id`` (kept when free in the registry); every other row names
  its person by ``person_source_id`` (the person's ``source_id``), or by a registry
  ``person_id`` of a person already stored. A row the source names by a ``person_id`` that the
  reader links to the person's ``source_id`` gives both: ``person_source_id`` links it, and
  problems name the person by the ``person_id``, as the source wrote it;
- ids: ``exposure_id`` and ``assessment_id`` are proposals (kept when free, else assigned);
  rows of one administration share ``visit_id`` (or a proposed ``assessment_id``);
- laboratory: ``source_value`` and ``source_unit`` as the source gives them, ``uln`` in
  ``uln_unit`` (null: the ``source_unit``); the writer converts both to the test's canonical
  unit (:mod:`myositis.codes.units`) or rejects the record — ``value`` and ``unit`` are the
  writer's.

Problems are :class:`Problem` s: the file, the line or resource, the field, the value and the
reason. ``severity="error"`` is bad input (by default the whole import is refused and nothing
is written); ``severity="rejected"`` is a record deliberately not imported — entered in error,
cancelled (``REJECTED_STATUSES``) — and the import goes on. Every record read ends stored or
rejected: records in = stored + rejected, checked by the writer.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final, Literal

import pyarrow as pa

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.registry.schema import PROVENANCE_COLUMNS, TABLES, has_provenance

Severity = Literal["error", "rejected"]

#: Record statuses that mean "do not use this record" (FHIR ``entered-in-error``; cancelled
#: orders and requests), lower case, spaces and underscores read as hyphens.
REJECTED_STATUSES: Final = {
    "entered-in-error": "marked entered in error in the source",
    "cancelled": "marked cancelled in the source",
    "canceled": "marked cancelled in the source",
}

#: Columns that tell apart the rows of one source record within one table.
ROW_KEYS: Final[dict[str, tuple[str, ...]]] = {"assessment": ("measure",)}

#: Tables whose rows name a person (every data table but ``person`` itself).
PERSON_TABLES: Final = tuple(
    t for t, s in TABLES.items() if "person_id" in s.names and t != "person"
)

#: The tables a reader may fill, in the order the writer resolves them (persons first).
IMPORT_TABLES: Final = ("person", *PERSON_TABLES)

#: Import sources the command line knows, and the module that holds each one's ``Reader``. A
#: later importer is added by writing that module (a ``Reader`` subclass named ``Reader``).
READERS: Final = {
    "csv": "myositis.sources.spreadsheet",
    "redcap": "myositis.sources.redcap",
    "fhir": "myositis.sources.fhir",
    "omop": "myositis.sources.omop",
}


def staging_schema(table: str) -> pa.Schema:
    """The Arrow columns a reader may give for ``table``: the registry columns except
    ``import_id``, plus ``person_source_id`` where the table names a person, plus
    ``source_location`` (and ``source_record``) on every table."""
    fields = [f for f in TABLES[table].to_pyarrow() if f.name != "import_id"]
    if table in PERSON_TABLES:
        fields.append(pa.field("person_source_id", pa.string()))
    if not has_provenance(table):  # where a detail row was read: for problems and accounting
        fields.append(pa.field("source_location", pa.string()))
    return pa.schema(fields)


@dataclass(frozen=True)
class Problem:
    """One problem with a source: where (file, line or resource), which field and value, why."""

    file: str | None
    record: str | None  # a line ("line 12"), a sheet row, a resource id, a REDCap record
    field: str | None
    value: str | None
    reason: str
    severity: Severity = "error"
    location: str | None = None  # the record's source_location, when it is one record's

    def describe(self) -> str:
        """The problem in one line for people: file, line, field, value, reason."""
        where = ", ".join(p for p in (self.file, self.record) if p)
        if self.field:
            where += f"{', ' if where else ''}field '{self.field}'"
        value = "" if self.value is None else f"value {self.value!r}: "
        return f"{where}: {value}{self.reason}" if where else f"{value}{self.reason}"

    def as_dict(self) -> dict[str, str | None]:
        """The problem as JSON-ready fields."""
        return {
            "file": self.file,
            "record": self.record,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
            "severity": self.severity,
        }


@dataclass
class Intake:
    """What a reader reports besides its rows: how many records it read, every problem, and
    warnings that reject nothing (unknown columns left out, ...)."""

    records_in: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def read(self, count: int = 1) -> None:
        """Count ``count`` records read from the source (stored or not)."""
        self.records_in += count

    def problem(
        self,
        location: str | None,
        reason: str,
        *,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
        value: object = None,
        severity: Severity = "error",
    ) -> None:
        """Report a problem with the record read at ``location`` (None: with the source as a
        whole, such as a missing column, which refuses the import)."""
        text = None if value is None else str(value)
        self.problems.append(Problem(file, record, field, text, reason, severity, location))

    def warn(self, message: str) -> None:
        """Report something that changes nothing stored but that the user should know."""
        self.warnings.append(message)


def rejected_status(status: str | None) -> str | None:
    """The rejection reason for a record status, or None when the record is to be used."""
    if status is None:
        return None
    key = status.strip().lower().replace(" ", "-").replace("_", "-")
    return REJECTED_STATUSES.get(key)


@dataclass(frozen=True)
class Batch:
    """Rows of one registry table in staging columns (a subset of :func:`staging_schema`)."""

    table: str
    rows: pa.Table


class Reader(ABC):
    """One kind of source. Subclasses set ``name`` (``csv``, ``redcap``, ...) and implement
    :meth:`batches`; the constructor stores its arguments only (validation happens in
    :meth:`batches`, as scikit-learn estimators validate in ``fit``)."""

    #: The source kind, as on the command line (``myositis import NAME``).
    name: ClassVar[str]

    def __init__(self, location: str | Path, *, mapping: Path | None = None) -> None:
        self.location = location
        self.mapping = mapping

    @property
    def source(self) -> str:
        """The source's name for idempotent re-imports: rows stored from the same source are
        matched on their ``source_record``. Default: the kind (``csv``); a reader of several
        independent sources (REDCap projects) returns ``redcap:<project>``."""
        return self.name

    def describe(self) -> str:
        """Where the data came from, for the import log (never a password)."""
        return str(self.location)

    @abstractmethod
    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        """Yield the source's rows as batches; report records and problems to ``intake``."""


def reader_for(kind: str, location: str | Path, *, mapping: Path | None = None) -> Reader:
    """The reader of source kind ``kind`` (a key of ``READERS``) for ``location``."""
    if kind not in READERS:
        raise SourceError(f"unknown source kind {kind!r}; choose one of {', '.join(READERS)}")
    module_name = READERS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        raise SourceError(
            f"the {kind} importer is not available yet in this version of myositis-outcomes; "
            "convert the data to the spreadsheet templates (myositis template DIR) and use "
            "myositis import csv, or see docs/sources.md"
        ) from None
    reader_class: type[Reader] = module.Reader
    return reader_class(location, mapping=mapping)


__all__ = [
    "IMPORT_TABLES",
    "PERSON_TABLES",
    "PROVENANCE_COLUMNS",
    "READERS",
    "REJECTED_STATUSES",
    "ROW_KEYS",
    "Batch",
    "Intake",
    "Problem",
    "Reader",
    "Severity",
    "reader_for",
    "rejected_status",
    "staging_schema",
]
