"""The rows of a raw REDCap record export, checked against the data dictionary, grouped by
record.

The export is flat: one row per record, event (``redcap_event_name``, longitudinal projects)
and repeat instance (``redcap_repeat_instrument`` names the repeating form, empty for a
repeating event; ``redcap_repeat_instance`` is empty on rows that do not repeat). A checkbox
field is one column per choice (``<field>___<code>``, 0/1); ``<form>_complete`` is 0, 1 or 2;
``redcap_data_access_group`` holds the record's data access group.

Checked here, each a problem naming the file, the line (record, event, instance) and the
field: a column the dictionary does not have (the export and the dictionary are of different
projects or versions: the whole import is refused), a checkbox code that is not a choice, a
value its field does not allow (:mod:`myositis.sources.redcap.values`), a form that its event
does not hold, the same record, event and instance twice, a record whose rows are not
together. A REDCap export keeps each record's rows together, so records are read one at a
time and memory stays bounded whatever the export's size.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from myositis.sources.contract import Intake
from myositis.sources.redcap.dictionary import Field
from myositis.sources.redcap.inputs import Export
from myositis.sources.redcap.values import BadValue, Value, check, check_checkbox

EVENT: Final = "redcap_event_name"
REPEAT_FORM: Final = "redcap_repeat_instrument"
REPEAT_INSTANCE: Final = "redcap_repeat_instance"
DAG: Final = "redcap_data_access_group"
#: Columns of an export that are REDCap's own, not fields.
SYSTEM_COLUMNS: Final = (EVENT, REPEAT_FORM, REPEAT_INSTANCE, DAG, "redcap_survey_identifier")


@dataclass
class Row:
    """One row of the export: a record's event (and repeat instance), its values parsed."""

    line: int
    event: str | None
    form: str | None  # the repeating instrument of this row (None: not a repeating form)
    instance: int | None
    dag: str | None
    text: dict[str, str] = field(default_factory=dict)  # field -> raw value (filled only)
    values: dict[str, Value] = field(default_factory=dict)  # field -> parsed value
    #: checkbox field -> its ticked codes (present when any of its columns is filled)
    boxes: dict[str, set[str]] = field(default_factory=dict)

    def key(self) -> tuple[str | None, str | None, int | None]:
        return (self.event, self.form, self.instance)

    def where(self, record: str) -> str:
        parts = [f"record {record}"]
        if self.event:
            parts.append(f"event {self.event}")
        if self.form:
            parts.append(f"{self.form} instance {self.instance}")
        elif self.instance:
            parts.append(f"instance {self.instance}")
        return f"line {self.line} ({', '.join(parts)})"


@dataclass
class Record:
    """Every row of one record."""

    id: str
    location: str
    rows: list[Row]
    ok: bool = True


@dataclass
class _Columns:
    """The export's header, each column classified."""

    record_id: int
    fields: list[tuple[int, Field]]
    checkboxes: list[tuple[int, Field, str]]
    completes: list[tuple[int, str]]
    system: dict[str, int]


class RecordReader:
    """Reads an export's rows record by record, reporting problems to the intake."""

    def __init__(self, export: Export, intake: Intake, today: _dt.date) -> None:
        self.export = export
        self.dictionary = export.dictionary
        self.intake = intake
        self.today = today
        self.file = export.records.name
        self.filled: dict[str, int] = {}  # field -> filled cells (for the report's notes)
        self.header_ok = True  # False: a column is not the dictionary's (nothing is stored)
        self.columns = self._header()

    def problem(
        self,
        record: Record | None,
        row: Row | None,
        reason: str,
        *,
        field: str | None = None,
        value: object = None,
    ) -> None:
        """A problem with one record (``record`` None: with the whole export)."""
        where = (
            row.where(record.id) if record and row else (f"record {record.id}" if record else None)
        )
        f = self.dictionary.fields.get((field or "").partition("___")[0])
        if f is not None and f.identifier and value is not None:
            value = "(hidden: an identifier field)"
        self.intake.problem(
            record.location if record else None,
            reason,
            file=self.file,
            record=where,
            field=field,
            value=value,
        )
        if record is not None:
            record.ok = False

    # -- the header ------------------------------------------------------------------------
    def _header(self) -> _Columns | None:
        header = self.export.records.header
        d = self.dictionary
        boxes = d.checkbox_columns()
        completes = {f"{form}_complete": form for form in d.forms}
        timestamps = {f"{form}_timestamp" for form in d.forms}
        if not header:
            return None
        columns = _Columns(-1, [], [], [], {})
        bad = False
        for i, name in enumerate(header):
            if name == d.record_id:
                columns.record_id = i
            elif name in d.fields and d.fields[name].type not in ("checkbox", "descriptive"):
                columns.fields.append((i, d.fields[name]))
            elif name in boxes:
                f, code = boxes[name]
                columns.checkboxes.append((i, f, code))
            elif name in completes:
                columns.completes.append((i, completes[name]))
            elif name in SYSTEM_COLUMNS:
                columns.system[name] = i
            elif name in timestamps:
                continue
            else:
                bad = True
                base, _, code = name.rpartition("___")
                if base in d.fields and d.fields[base].is_checkbox:
                    reason = (
                        f"checkbox code {code!r} is not a choice of field {base!r} in the data "
                        f"dictionary (its choices: {', '.join(d.fields[base].choices)}); export "
                        "the dictionary and the records of the same project version"
                    )
                else:
                    reason = (
                        f"column {name!r} is not a field of the data dictionary "
                        f"({d.source}); export the dictionary and the records of the same "
                        "project version together"
                    )
                self.problem(None, None, reason, field=name)
        if columns.record_id != 0:
            bad = True
            self.problem(
                None,
                None,
                f"the first column of a REDCap export is the record id field "
                f"{d.record_id!r} (the dictionary's first field); found {header[0]!r}",
                field=header[0],
            )
        self.header_ok = not bad
        return columns if columns.record_id == 0 else None

    # -- records ---------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        """Each record with its rows checked (``ok`` False: it had a problem, reported)."""
        current: Record | None = None
        seen: set[str] = set()
        for line, cells in self.export.records.rows:
            rid = cells[0].strip() if cells else ""
            if current is not None and rid == current.id:
                self._row(current, line, cells)
                continue
            if current is not None:
                yield current
            location = f"{self.file} record {rid}"
            current = Record(rid, location, [])
            if not rid:
                self.intake.read()
                self.problem(None, None, f"line {line} has no record id", field="record_id")
                current.ok = False
                continue
            if rid in seen:
                self.problem(
                    current,
                    None,
                    f"the rows of record {rid} are not together (again "
                    f"at line {line}); export the records again from REDCap, which "
                    "keeps each record's rows together",
                )
            else:
                seen.add(rid)
                self.intake.read()
            self._row(current, line, cells)
        if current is not None:
            yield current

    def _row(self, record: Record, line: int, cells: list[str]) -> None:
        columns = self.columns
        if columns is None:  # no record id column: the rows are counted, not read
            record.ok = False
            return
        if not self.header_ok:  # the values are still checked, and every problem reported
            record.ok = False
        header = self.export.records.header
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            self.problem(
                record,
                None,
                f"line {line} has {len(cells)} values where the header has {len(header)} columns",
            )
            return
        cells = cells + [""] * (len(header) - len(cells))

        def system(name: str) -> str:
            i = columns.system.get(name)
            return cells[i].strip() if i is not None else ""

        row = Row(
            line, system(EVENT) or None, system(REPEAT_FORM) or None, None, system(DAG) or None
        )
        instance = system(REPEAT_INSTANCE)
        if instance:
            if not instance.isdigit() or int(instance) < 1:
                self.problem(
                    record,
                    row,
                    "a repeat instance is a whole number from 1",
                    field=REPEAT_INSTANCE,
                    value=instance,
                )
            else:
                row.instance = int(instance)
        self._check_place(record, row)
        row.text[self.dictionary.record_id] = row.values[self.dictionary.record_id] = record.id
        for i, f in columns.fields:
            text = cells[i].strip()
            if not text:
                continue
            try:
                row.values[f.name] = check(f, text, self.today)
            except BadValue as exc:
                self.problem(record, row, str(exc), field=f.name, value=text)
                continue
            row.text[f.name] = text
            self._held(record, row, f)
        for i, f, code in columns.checkboxes:
            text = cells[i].strip()
            if not text:
                continue
            try:
                ticked = check_checkbox(text)
            except BadValue as exc:
                self.problem(record, row, str(exc), field=header[i], value=text)
                continue
            codes = row.boxes.setdefault(f.name, set())
            if ticked:
                codes.add(code)
                self._held(record, row, f)
        for i, form in columns.completes:
            text = cells[i].strip()
            if text and text not in ("0", "1", "2"):
                self.problem(
                    record,
                    row,
                    "a form status is 0 (incomplete), 1 (unverified) or 2 (complete)",
                    field=f"{form}_complete",
                    value=text,
                )
        for previous in record.rows:
            if previous.key() == row.key():
                self.problem(
                    record,
                    row,
                    f"the same record, event and instance as line "
                    f"{previous.line}; each is exported once",
                )
                return
        record.rows.append(row)

    def _check_place(self, record: Record, row: Row) -> None:
        d = self.dictionary
        designations = self.export.designations
        if row.form is not None and row.form not in d.forms:
            self.problem(
                record, row, "not a form of the data dictionary", field=REPEAT_FORM, value=row.form
            )
        if row.form is not None and row.instance is None:
            self.problem(
                record,
                row,
                "a row of a repeating instrument needs its instance",
                field=REPEAT_INSTANCE,
            )
        if designations is None:
            return
        if row.event is None:
            self.problem(
                record, row, "a longitudinal export names the event of every row", field=EVENT
            )
        elif row.event not in designations:
            known = ", ".join(designations)
            self.problem(
                record,
                row,
                f"not an event of the instrument-event mapping ({known})",
                field=EVENT,
                value=row.event,
            )
        elif row.form is not None and row.form not in designations[row.event]:
            self.problem(
                record,
                row,
                f"form {row.form!r} is not designated for event "
                f"{row.event!r} in the instrument-event mapping",
                field=REPEAT_FORM,
                value=row.form,
            )

    def _held(self, record: Record, row: Row, f: Field) -> None:
        """A value of ``f`` in ``row``: does the row hold its form?"""
        self.filled[f.name] = self.filled.get(f.name, 0) + 1
        if f.name == self.dictionary.record_id:
            return
        designations = self.export.designations
        if row.form is not None and f.form != row.form:
            self.problem(
                record,
                row,
                f"a value of form {f.form!r} in a row of repeating instrument {row.form!r}",
                field=f.name,
            )
        elif (
            designations is not None
            and row.event in designations
            and f.form not in designations[row.event]
        ):
            self.problem(
                record,
                row,
                f"a value of form {f.form!r}, which event {row.event!r} "
                "does not hold (instrument-event mapping)",
                field=f.name,
            )


__all__ = ["DAG", "EVENT", "REPEAT_FORM", "REPEAT_INSTANCE", "Record", "RecordReader", "Row"]
