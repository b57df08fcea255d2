"""``myositis import omop omop+URL --into REGISTRY``: the registry views of a CDM
(:mod:`myositis.registry.omop.views`, the same rules as reading it live), copied into a
registry through the importer contract.

One CDM row is one record (its ``source_location``: ``omop <table> <id column> <id>``; a
person's race and an observation period are records of their own), so the accounting is
records in = CDM rows read = stored + rejected. A CDM row two views give is one record: a
condition of a local subtype concept is a diagnosis and a subtype (the writer stores both
rows, or rejects both, under its one location). Every other row keeps the CDM's ``person_id``
(problems name the person by it, as the CDM does) and is linked to its person by the person's
``source_id`` (``person_source_value``, else the ``person_id``); a row of a person missing from
``person`` (Eunomia has 2,649 such observation periods) names the ``person_id`` only, and the
writer rejects it ("no person with this person_id"), as it rejects every other broken record,
so ``--errors report`` imports the rest and lists each.

Rows that share their CDM row id (Eunomia as shipped holds 4,384 ``drug_exposure_id``, 6
``observation_id`` and 2,183 ``measurement_id`` values twice) are each rejected, named
``<location>, row K of N``: the CDM's ids must be unique, and which of them is the record
cannot be told. The ids are counted in the CDM table itself, not in each view: two rows of one
id read by two views (4 of Eunomia's ``measurement_id`` values are an ALT or AST result,
``laboratory``, and another measurement) are as much a repeat as two rows in one view. A
person's death is named by the ``person_id`` (``omop death person_id <id>``): the CDM holds at
most one per person, so two rows of one person in ``death`` are each rejected alike (which
death is right cannot be told; a person dies once). The
``--mapping`` file is the local concept mapping (:mod:`myositis.registry.omop.mapping`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar, Final

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis import BaseBackend
from ibis.common.exceptions import TableNotFound

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.registry.conformance import check_conformance
from myositis.registry.connect import open_engine, parse_location
from myositis.registry.omop import cdm_table
from myositis.sources.contract import IMPORT_TABLES, Batch, Intake, staging_schema
from myositis.sources.contract import Reader as SourceReader

#: Rows per batch handed to the writer.
BATCH_ROWS: Final = 50_000

#: The CDM tables whose rows the views name by their row id (``omop <table> <id column> <id>``,
#: ``views._provenance``), and that id column; procedure_occurrence, visit_occurrence and death
#: may be absent (a death is named by its person: one per person).
ROW_IDS: Final = {
    "person": "person_id",
    "condition_occurrence": "condition_occurrence_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "visit_occurrence": "visit_occurrence_id",
    "drug_exposure": "drug_exposure_id",
    "measurement": "measurement_id",
    "observation": "observation_id",
    "death": "person_id",
}

#: Registry tables whose record is not a CDM row id (a person's race, a period: person and
#: start date): a location their view gives twice is checked in the view itself.
OWN_LOCATIONS: Final = ("person_race", "observation_period")

#: Registry tables holding rows that another view holds as the same record, by the location's
#: start: a subtype recorded as a condition is also that condition's diagnosis
#: (``views.RegistryViews.dm_subtype`` and ``diagnosis``), so it is not a record read again.
SECOND_VIEW: Final = {"dm_subtype": "omop condition_occurrence "}

#: Why a row of a repeated id is rejected ({n}: the rows of the id).
REPEATED_ID: Final = (
    "{n} rows of the CDM have this id: ids must be unique; give each row its own id (which of "
    "them is the record cannot be told)"
)
#: Why a death of a person with several (``death``) is rejected ({n}: the person's deaths).
REPEATED_DEATH: Final = (
    "{n} deaths of this person in the CDM's death table: a person dies once (OMOP CDM; THEMIS "
    "convention #155); keep the one that is right (which of them it is cannot be told)"
)
#: Why a row of another repeated location (:data:`OWN_LOCATIONS`) is rejected.
REPEATED_RECORD: Final = (
    "{n} rows of the CDM give this record (the same person, and for a period the same start): "
    "remove the repeated rows, or merge them into one (which of them is the record cannot be "
    "told)"
)


class Reader(SourceReader):
    """An OMOP CDM (``omop+duckdb:///...``, ``omop+postgresql://...``, ``omop+spark://...``)."""

    name: ClassVar[str] = "omop"

    def describe(self) -> str:
        return parse_location(str(self.location)).describe()

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        location = parse_location(str(self.location))
        if not location.omop:
            raise SourceError(
                f"{self.location}: give an OMOP CDM as omop+URL, e.g. "
                "omop+duckdb:///path/cdm.duckdb or omop+postgresql://USER@HOST/DB?schema=cdm"
            )
        if self.mapping is not None:
            location = replace(location, mapping=self.mapping)
        con = open_engine(location)
        try:
            check_conformance(con, where=location.describe())
            ids = _repeated_ids(con)
            people = con.table("person")
            if "person" in ids:  # a repeated person names no one: its rows name the person_id
                people = people.anti_join(ids["person"], "source_location")
            persons = people.select(_pid=people.person_id, _psid=people.source_id)
            staged = {t: self._staged(con.table(t), t, persons) for t in IMPORT_TABLES}
            repeated = _repeated(ids, staged)
            if repeated is not None:
                _reject_repeated(repeated, intake)
            for table in IMPORT_TABLES:
                expr = staged[table]
                if repeated is not None:
                    expr = expr.anti_join(repeated, "source_location")
                for rows in _arrow_batches(con, expr):
                    if rows.num_rows:
                        intake.read(_new_records(table, rows))
                        yield Batch(table, rows)
        finally:
            con.disconnect()

    def _staged(self, view: ir.Table, table: str, persons: ir.Table) -> ir.Table:
        """The view in the staging columns of ``table``."""
        wanted = staging_schema(table)
        if table == "person_race":
            view = view.mutate(
                source_location=ibis.literal("omop person person_id ")
                .concat(view.person_id.cast("string"))
                .concat(" race")
            )
        elif table == "observation_period":
            view = view.mutate(
                source_location=ibis.literal("omop observation_period person_id ")
                .concat(view.person_id.cast("string"))
                .concat(" start ")
                .concat(view.start_date.cast("string"))
            )
        if table != "person":  # the person_id stays: messages name the person by it
            joined = view.left_join(persons, view.person_id == persons._pid)
            view = joined.mutate(person_source_id=joined._psid)
        columns = [c for c in wanted.names if c in view.columns]
        return view.select(*[view[c].cast(wanted.field(c).type).name(c) for c in columns])


def _repeated_ids(con: BaseBackend) -> dict[str, ir.Table]:
    """For each CDM table of :data:`ROW_IDS` that holds an id on more than one row: the
    locations of those ids (``source_location``) with their number of rows (``_n``), counted
    in the CDM table (every view reading it names its rows so)."""
    found = {}
    for table, column in ROW_IDS.items():
        try:
            t = cdm_table(con, table)
        except TableNotFound:
            continue
        if column not in t.columns:  # a table the views do not read (Eunomia's death)
            continue
        # the views' row id: the id column as an integer (Eunomia's measurement_id is DOUBLE)
        counted = t.group_by(_id=t[column].cast("int64")).aggregate(_n=t.count())
        counted = counted.filter(counted._n > 1)
        if counted.count().execute():
            found[table] = counted.select(
                source_location=ibis.literal(f"omop {table} {column} ").concat(
                    counted._id.cast("string")
                ),
                _n=counted._n.cast("int64"),
                _why=ibis.literal(REPEATED_DEATH if table == "death" else REPEATED_ID),
            )
    return found


def _repeated(ids: dict[str, ir.Table], staged: dict[str, ir.Table]) -> ir.Table | None:
    """Every location more than one CDM row gives (``source_location``, ``_n`` rows): the
    repeated row ids, and the locations of :data:`OWN_LOCATIONS` twice in their view. None
    when there is none (a CDM whose ids are unique: no table is joined to it)."""
    parts = list(ids.values())
    for table in OWN_LOCATIONS:
        view = staged[table]
        counted = view.group_by("source_location").aggregate(_n=view.count())
        counted = counted.filter(counted._n > 1)
        if counted.count().execute():
            parts.append(
                counted.select(
                    "source_location",
                    _n=counted._n.cast("int64"),
                    _why=ibis.literal(REPEATED_RECORD),
                )
            )
    return ibis.union(*parts) if parts else None


def _reject_repeated(repeated: ir.Table, intake: Intake) -> None:
    """Count and reject every CDM row of a repeated location (``_n`` rows each, why
    ``_why``), each named by its location and its place among the rows of that location."""
    found = sorted(tuple(r.values()) for r in repeated.to_pyarrow().to_pylist())
    for location, total, why in found:
        intake.read(total)
        for k in range(1, total + 1):
            named = f"{location}, row {k} of {total}"
            intake.problem(named, why.format(n=total), record=named)


def _new_records(table: str, rows: pa.Table) -> int:
    """The records ``rows`` of ``table`` add to the count read: every row, but those another
    view gives as the same record (:data:`SECOND_VIEW`)."""
    prefix = SECOND_VIEW.get(table)
    if prefix is None:
        return rows.num_rows
    again = pc.starts_with(rows.column("source_location"), pattern=prefix)
    return rows.num_rows - int(pc.sum(again).as_py() or 0)


def _arrow_batches(con: BaseBackend, expr: ir.Table) -> Iterator[pa.Table]:
    """The rows of ``expr`` in Arrow batches of at most ``BATCH_ROWS`` rows."""
    if con.name == "duckdb":
        # DuckDB's own reader: ibis 12's to_pyarrow_batches calls a method DuckDB 2 renamed
        reader = con.con.sql(str(con.compile(expr))).to_arrow_reader(BATCH_ROWS)
        schema = expr.schema().to_pyarrow()
        try:
            for batch in reader:
                yield pa.Table.from_batches([batch]).cast(schema)
        finally:
            reader.close()
        return
    for batch in expr.to_pyarrow_batches(chunk_size=BATCH_ROWS):
        yield pa.Table.from_batches([batch])


__all__ = ["BATCH_ROWS", "ROW_IDS", "Reader"]
