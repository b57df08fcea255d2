"""One REDCap record -> registry rows, by a compiled mapping.

- **person**: one per record; ``source_id`` is the record id (or the mapped field), ``site``
  the record's data access group (else the mapping's ``site``); an integer record id is
  proposed as ``person_id``. Person columns take the first value found in the record's rows
  that do not repeat. A checkbox race gives one ``person_race`` row per ticked code and
  ``person.race`` the one race or ``More than one race``.
- **table entries**: one row per form instance (a row of the export holding the form) with a
  value in one of the entry's ``when`` fields. A field that is not in the instance's own row
  is taken from the row of its event that does not repeat (a medication's form reading the
  visit date).
- **assessments**: one row per item or score with a value, dated by the form's date field
  or the visit date; rows of one form instance share ``visit_id`` (record/visit, plus the
  instance of a repeating event or instrument). An item outside its instrument's range is a
  problem; MMT-8 and HAQ scores are computed from the items (:mod:`.measures`).
- **identity**: ``source_record`` is record/event/form (plus the repeat instance and the
  entry's id), stable across exports, so re-importing an export updates what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from myositis.sources.redcap.mapping import (
    Assessment,
    Column,
    Entry,
    Mapping,
    Source,
    convert,
    race_value,
)
from myositis.sources.redcap.measures import COMPUTED, ITEMS, measure_field, out_of_range
from myositis.sources.redcap.records import Record, RecordReader, Row
from myositis.sources.redcap.values import Value

#: The largest record id proposed as a person_id (a BIGINT with room to spare).
_LARGEST_ID: Final = 2**62

Rows = dict[str, list[dict[str, Any]]]


@dataclass
class _Found:
    """A source's value in a row: the raw text (for value maps) and the parsed value."""

    text: str
    value: Value | list[str]


class RecordMapper:
    """Turns the records of one export into registry rows."""

    def __init__(self, mapping: Mapping, records: RecordReader) -> None:
        self.mapping = mapping
        self.records = records
        self.designations = records.export.designations
        self.source_id = ""  # the person's source id of the record being read

    # -- reading values --------------------------------------------------------------------
    @staticmethod
    def _find(source: Source, rows: tuple[Row | None, ...]) -> _Found | None:
        f = source.field
        assert f is not None
        for row in rows:
            if row is None:
                continue
            if f.is_checkbox:
                if f.name not in row.boxes:
                    continue
                ticked = row.boxes[f.name]
                if source.code is None:
                    return _Found("", sorted(ticked, key=list(f.choices).index))
                return _Found("1" if source.code in ticked else "0", source.code in ticked)
            if f.name in row.text:
                return _Found(row.text[f.name], row.values[f.name])
        return None

    def value(self, source: Source, dtype: str, rows: tuple[Row | None, ...]) -> Any:
        """The value of ``source`` as ``dtype`` (None: no value); ``ValueError`` when the
        field's value does not fit the column."""
        if source.field is None:
            return source.constant
        found = self._find(source, rows)
        if found is None:
            return None
        if isinstance(found.value, list):  # a whole checkbox: every ticked code, mapped
            values = source.values or {}
            return [values.get(c, c) for c in found.value if values.get(c, c) is not None]
        if source.values is not None and found.text in source.values:
            return source.values[found.text]
        return convert(found.value, dtype)

    def column(self, column: Column, rows: tuple[Row | None, ...]) -> tuple[Any, Source | None]:
        for source in column.sources:
            value = self.value(source, column.dtype, rows)
            if value is not None and value != []:
                return value, source
        return None, None

    def _columns(
        self, columns: tuple[Column, ...], rows: tuple[Row | None, ...], record: Record, at: Row
    ) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        fills: dict[str, Any] = {}
        for column in columns:
            try:
                value, source = self.column(column, rows)
            except ValueError as exc:
                name = next((s.field.name for s in column.sources if s.field), None)
                self.records.problem(record, at, f"does not fit {column.name} ({exc})", field=name)
                return None
            out[column.name] = value
            if source is not None:
                fills.update(source.fills)
        for name, value in fills.items():
            if out.get(name) is None:
                out[name] = value
        return out

    # -- one record ------------------------------------------------------------------------
    def rows(self, record: Record) -> Rows | None:
        """The registry rows of ``record``, or None when it has a problem (reported)."""
        if not record.ok:
            return None
        main = {(r.event, r.instance): r for r in record.rows if r.form is None}
        out: Rows = {}
        self.source_id = record.id
        self._person(record, out)
        for row in record.rows:
            event_row = main.get((row.event, None if row.form else row.instance))
            context = (row, event_row if event_row is not row else None)
            for entry in self.mapping.entries:
                if self._holds(row, entry.form):
                    self._entry(record, row, entry, context, out)
            if not self._visit(row):
                continue  # an event that is no visit holds no assessments
            for assessment in self.mapping.assessments:
                if self._holds(row, assessment.form):
                    self._assessment(record, row, assessment, context, out)
        return out if record.ok else None

    def _visit(self, row: Row) -> bool:
        return row.event is None or self.mapping.events.get(row.event, row.event) is not None

    def _holds(self, row: Row, form: str) -> bool:
        if row.form is not None:
            return row.form == form
        if self.designations is None or row.event is None:
            return True
        return form in self.designations.get(row.event, ())

    def _person(self, record: Record, out: Rows) -> None:
        rows = tuple(r for r in record.rows if r.form is None)
        first = record.rows[0] if record.rows else None
        values = self._columns(self.mapping.person, rows, record, first) if first else {}
        if values is None:
            return
        source_id = record.id
        if self.mapping.source_id is not None:
            try:
                found, _ = self.column(self.mapping.source_id, rows)
            except ValueError:
                found = None
            if found is None:
                name = next((s.field.name for s in self.mapping.source_id.sources if s.field), None)
                self.records.problem(
                    record, first, "the person's source id (person.source_id) is empty", field=name
                )
                return
            source_id = str(found)
        races = values.pop("race", None)
        race_list = races if isinstance(races, list) else ([races] if races else [])
        site = next((r.dag for r in record.rows if r.dag), None) or self.mapping.site
        person = {
            **values,
            "person_id": int(record.id)
            if record.id.isdigit() and int(record.id) < _LARGEST_ID
            else None,
            "source_id": source_id,
            "site": site,
            "race": race_value([str(r) for r in race_list]),
            "source_record": record.id,
            "source_location": record.location,
        }
        out.setdefault("person", []).append(person)
        for race in dict.fromkeys(str(r) for r in race_list):
            out.setdefault("person_race", []).append(
                {"person_source_id": source_id, "race": race, "source_location": record.location}
            )
        self.source_id = source_id

    def _record_key(self, record: Record, row: Row, form: str) -> str:
        parts = [record.id]
        if row.event:
            parts.append(row.event)
        if row.form is None and row.instance:
            parts.append(str(row.instance))  # a repeating event
        parts.append(form)
        if row.form is not None:
            parts.append(str(row.instance))
        return "/".join(parts)

    def _visit_id(self, record: Record, row: Row) -> str:
        parts = [record.id]
        if row.event:
            parts.append(self.mapping.events.get(row.event) or row.event)
        if row.form is None and row.instance:
            parts.append(str(row.instance))
        if row.form is not None:
            parts += [row.form, str(row.instance)]
        return "/".join(parts)

    @staticmethod
    def _present(sources: tuple[Source, ...], row: Row) -> bool:
        for s in sources:
            f = s.field
            if f is None:
                continue
            if f.is_checkbox:
                ticked = row.boxes.get(f.name, set())
                if (s.code in ticked) if s.code else ticked:
                    return True
            elif f.name in row.text:
                return True
        return False

    def _entry(
        self, record: Record, row: Row, entry: Entry, context: tuple[Row | None, ...], out: Rows
    ) -> None:
        if not self._present(entry.when, row):
            return
        values = self._columns(entry.columns, context, record, row)
        if values is None:
            return
        key = self._record_key(record, row, entry.form)
        if entry.key != entry.table:
            key += f"#{entry.key}"
        values |= {
            "person_source_id": self.source_id,
            "source_record": key,
            "source_location": record.location,
        }
        out.setdefault(entry.table, []).append(values)

    def _assessment(
        self,
        record: Record,
        row: Row,
        a: Assessment,
        context: tuple[Row | None, ...],
        out: Rows,
    ) -> None:
        if not self._present(tuple(s for _, s in a.measures), row):
            return
        values: dict[str, float] = {}
        for measure, source in a.measures:
            try:
                value = self.value(source, "float64", (row,))
            except ValueError as exc:
                self.records.problem(
                    record,
                    row,
                    f"does not fit {a.instrument} {measure} ({exc})",
                    field=source.field.name if source.field else None,
                )
                continue
            if value is None:
                continue
            spec = measure_field(a.instrument, measure)
            reason = out_of_range(spec, value) if spec is not None else None
            if reason:
                name = source.field.name if source.field else None
                self.records.problem(
                    record,
                    row,
                    f"{a.instrument} {measure} {reason}; map the project's codes "
                    "to the instrument's values with values:",
                    field=name,
                    value=f"{value:g}",
                )
                continue
            values[measure] = value
        if not record.ok or not values:
            return
        date_field = a.date or self.mapping.visit_date
        date = None
        if date_field is not None:
            date = self.value(Source(field=date_field), "date", context)
        if date is None:
            what = (
                f"field {date_field.name!r}" if date_field else "no visit date field (visits.date)"
            )
            self.records.problem(
                record,
                row,
                f"the {a.instrument} of this visit has no date: "
                f"{what} is empty; enter the visit date",
                field=date_field.name if date_field else None,
            )
            return
        if a.computed:
            name, compute = COMPUTED[a.instrument]
            score = compute({item: values.get(item) for item in ITEMS[a.instrument]})
            if score is not None:
                values[name] = score
        key = self._record_key(record, row, a.form)
        if a.instrument != a.form:
            key += f"#{a.instrument}"
        visit = self._visit_id(record, row)
        for measure, value in values.items():
            out.setdefault("assessment", []).append(
                {
                    "person_source_id": self.source_id,
                    "visit_id": visit,
                    "assessment_date": date,
                    "instrument": a.instrument,
                    "measure": measure,
                    "value": value,
                    "source_record": key,
                    "source_location": record.location,
                }
            )


__all__ = ["RecordMapper", "Rows"]
