"""The REDCap reader: ``myositis import redcap SOURCE --into REGISTRY [--mapping FILE]``.

SOURCE is a folder holding the export (:mod:`.inputs`) or the project's API URL
(:mod:`.api`). Without ``--mapping`` the project is taken to be made from the bundled
template (:mod:`.template`) and read with the template's own mapping; any other project is
read through its mapping file (:mod:`.mapping`, ``docs/redcap.md``).

Accounting: one REDCap **record** (a ``record_id``, with all its events and instances) is one
record of the import: records in = records of the export, stored = records whose rows were
stored, rejected = records with a problem (with ``--errors report`` the other records are
stored; every problem still names the line, event and instance).

What is never stored: identifier fields (Identifier? = y), except a field mapped as the
person's source id; calculated fields (scores are computed by ``myositis.instruments`` from
the items: the import report's warnings count the calculated fields left out); fields the
mapping does not read (named, with their count of values, in the warnings).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from myositis.progress import Progress, silent
from myositis.sources.contract import Batch, Intake, staging_schema
from myositis.sources.contract import Reader as SourceReader
from myositis.sources.redcap.api import RedcapApi, is_api_url, read_token
from myositis.sources.redcap.convert import RecordMapper, Rows
from myositis.sources.redcap.inputs import Export, open_folder
from myositis.sources.redcap.mapping import Mapping, MappingFile, compile_mapping, load_mapping
from myositis.sources.redcap.records import RecordReader
from myositis.sources.redcap.template import TEMPLATE_MAPPING

#: Rows held before they are handed to the writer as batches.
BATCH_ROWS: Final = 50_000


class Reader(SourceReader):
    """A REDCap project export (folder or API); rules in the module docstring."""

    name = "redcap"

    def __init__(
        self,
        location: str | Path,
        *,
        mapping: Path | None = None,
        token_file: Path | None = None,
        transport: Any = None,
        chunk_records: int | None = None,
    ) -> None:
        super().__init__(location, mapping=mapping)
        self.token_file = token_file
        self.transport = transport
        self.chunk_records = chunk_records
        self._document: MappingFile | None = None

    @property
    def document(self) -> MappingFile:
        """The mapping file's content (the template's mapping without ``--mapping``)."""
        if self._document is None:
            self._document = load_mapping(self.mapping or TEMPLATE_MAPPING)
        return self._document

    @property
    def source(self) -> str:
        return f"redcap:{self.document.project}"

    def describe(self) -> str:
        return str(self.location)

    def _export(self, progress: Progress) -> Export:
        location = str(self.location)
        if is_api_url(location):
            api = RedcapApi(
                location,
                read_token(self.token_file),
                transport=self.transport,
                **({"chunk_records": self.chunk_records} if self.chunk_records else {}),
            )
            return api.export(progress)
        return open_folder(Path(location))

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        """Yield the registry rows of every record; report records and problems."""
        progress("reading the REDCap export")
        export = self._export(progress)
        path = str(self.mapping or "the template's mapping")
        mapping = compile_mapping(self.document, export.dictionary, path)
        self._check_events(mapping, export, intake)
        records = RecordReader(export, intake, _dt.date.today())
        mapper = RecordMapper(mapping, records)
        buffer: Rows = {}
        held = done = 0
        for record in records.records():
            rows = mapper.rows(record)
            done += 1
            if done % 500 == 0:
                progress("reading REDCap records", done, None)
            if rows is None:
                continue
            for table, found in rows.items():
                buffer.setdefault(table, []).extend(found)
                held += len(found)
            if held >= BATCH_ROWS:
                yield from _flush(buffer)
                held = 0
        yield from _flush(buffer)
        self._notes(export, mapping, records, intake)

    @staticmethod
    def _check_events(mapping: Mapping, export: Export, intake: Intake) -> None:
        known = export.designations
        if known is None:
            if mapping.events:
                intake.warn(
                    "the mapping names events (visits.events), but the project is not "
                    "longitudinal: they were not used"
                )
            return
        for event in mapping.events:
            if event not in known:
                intake.problem(
                    None,
                    f"visits.events names event {event!r}, which the "
                    f"instrument-event mapping does not have ({', '.join(known)})",
                    file=str(mapping.path),
                    field="visits.events",
                    value=event,
                )
        if export.events is not None:
            for event in known:
                if event not in export.events:
                    intake.problem(
                        None,
                        f"event {event!r} of the instrument-event mapping is "
                        "not in the events file",
                        file=export.files.get("events"),
                        field="unique_event_name",
                        value=event,
                    )

    @staticmethod
    def _notes(export: Export, mapping: Mapping, records: RecordReader, intake: Intake) -> None:
        d = export.dictionary
        calc = d.calculated()
        if calc:
            names = ", ".join(f.name for f in calc[:10]) + (", ..." if len(calc) > 10 else "")
            intake.warn(
                f"{len(calc)} calculated field(s) of the project were not imported ({names}): "
                "scores are always computed by myositis.instruments from the items, never "
                "taken from a REDCap calculation"
            )
        read = mapping.fields() | {d.record_id}
        identifiers = sorted(n for n in records.filled if d.fields[n].identifier and n not in read)
        if identifiers:
            intake.warn(
                f"{len(identifiers)} identifier field(s) held values that were checked and not "
                f"stored ({', '.join(identifiers)}): identifiers are never stored"
            )
        left = sorted(
            (
                n
                for n in records.filled
                if n not in read and not d.fields[n].identifier and d.fields[n].type != "calc"
            ),
            key=lambda n: -records.filled[n],
        )
        if left:
            shown = ", ".join(f"{n} ({records.filled[n]})" for n in left[:15])
            intake.warn(
                f"{len(left)} field(s) held values that the mapping does not import: {shown}"
                f"{', ...' if len(left) > 15 else ''}"
            )
        header = set(export.records.header)
        boxes = {c.partition("___")[0] for c in header if "___" in c}
        absent = sorted(n for n in mapping.fields() if n not in header and n not in boxes)
        if absent and export.records.header:
            intake.warn(
                f"{len(absent)} field(s) the mapping reads are not in the record export "
                f"({', '.join(absent[:10])}{', ...' if len(absent) > 10 else ''}): export every "
                "form the registry needs"
            )


def _flush(buffer: Rows) -> Iterator[Batch]:
    for table, rows in buffer.items():
        if rows:
            schema = staging_schema(table)
            columns = {
                name: pa.array([r.get(name) for r in rows], schema.field(name).type)
                for name in dict.fromkeys(k for r in rows for k in r)
            }
            yield Batch(table, pa.table(columns))
    buffer.clear()


__all__ = ["BATCH_ROWS", "Reader"]
