"""``myositis import omop omop+URL --into REGISTRY``: the registry views of a CDM
(:mod:`myositis.registry.omop.views`, the same rules as reading it live), copied into a
registry through the importer contract.

One CDM row is one record (its ``source_location``: ``omop <table> <id column> <id>``; a
person's race and an observation period are records of their own), so the accounting is
records in = CDM rows read = stored + rejected. Every other row names its person by the
person's ``source_id`` (``person_source_value``, else the ``person_id``); a row of a person
missing from ``person`` (Eunomia has 2,649 such observation periods) names the ``person_id``
only, and the writer rejects it ("no person with this person_id"), as it rejects every other
broken record, so ``--errors report`` imports the rest and lists each. Rows that share their
CDM row id (Eunomia as shipped holds 4,384 ``drug_exposure_id`` and 6 ``observation_id``
values twice) are each rejected, named ``<location>, row K of N``: the CDM's ids must be
unique, and which of them is the record cannot be told. The ``--mapping`` file is
the local concept mapping (:mod:`myositis.registry.omop.mapping`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar, Final

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis import BaseBackend

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.registry.conformance import check_conformance
from myositis.registry.connect import open_engine, parse_location
from myositis.sources.contract import IMPORT_TABLES, Batch, Intake, staging_schema
from myositis.sources.contract import Reader as SourceReader

#: Rows per batch handed to the writer.
BATCH_ROWS: Final = 50_000


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
            people = con.table("person")
            persons = people.select(_pid=people.person_id, _psid=people.source_id)
            for table in IMPORT_TABLES:
                expr = self._staged(con.table(table), table, persons)
                repeated = expr.group_by("source_location").aggregate(_n=expr.count())
                repeated = repeated.filter(repeated._n > 1).select("source_location")
                if repeated.count().execute():
                    _reject_repeated(expr.semi_join(repeated, "source_location"), intake)
                    expr = expr.anti_join(repeated, "source_location")
                for rows in _arrow_batches(con, expr):
                    if rows.num_rows:
                        intake.read(rows.num_rows)
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
        if table != "person":
            joined = view.left_join(persons, view.person_id == persons._pid)
            view = joined.mutate(
                person_source_id=joined._psid,
                person_id=ibis.ifelse(joined._psid.isnull(), joined.person_id, None),
            )
        columns = [c for c in wanted.names if c in view.columns]
        return view.select(*[view[c].cast(wanted.field(c).type).name(c) for c in columns])


def _reject_repeated(rows: ir.Table, intake: Intake) -> None:
    """Count and reject every row of ``rows`` (rows whose CDM row id another row holds too),
    each named by its location and its place among the rows of that id."""
    found = sorted(rows.select("source_location").to_pyarrow().column(0).to_pylist())
    total, seen = Counter(found), Counter[str]()
    intake.read(len(found))
    for location in found:
        seen[location] += 1
        named = f"{location}, row {seen[location]} of {total[location]}"
        intake.problem(
            named,
            f"{total[location]} rows of the CDM have this id: ids must be unique; give each "
            "row its own id (which of them is the record cannot be told)",
            record=named,
        )


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


__all__ = ["BATCH_ROWS", "Reader"]
