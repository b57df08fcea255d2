"""The FHIR R4 reader: ``myositis import fhir SOURCE --into REGISTRY [--mapping FILE]``.

SOURCE is a Bundle (``.json``), a bulk-data NDJSON file (``.ndjson``) or a folder of them
(:mod:`.inputs`). Each resource is parsed with the maintained FHIR models of
``fhir.resources`` (its ``R4B`` package, which reads R4 data: the resources used here did not
change between R4 and R4B) and turned into registry rows by :mod:`.convert`, through the
mapping of :mod:`.mapping`.

Accounting: one resource that the registry holds (a Patient, a coded Condition, a medication
order or statement, an Observation that is a laboratory result, a mapped measure, a
measurement or coded by a known code system, a mapped QuestionnaireResponse, a coded
Procedure, an Encounter of a known class, an AdverseEvent) is one record: stored, or rejected
with its file, line or entry, resource id and reason. A record may give several rows (a blood
pressure one ``measurement`` row per component: each row's ``source_record`` is the resource
and the component, ``Observation/bp1 component 8480-6``). Resources the registry does not hold
(Medication, Claim, an Observation of no known code, ...) are not records: the import's
warnings count them by kind, and the converter's notes (a laboratory result kept as an
observation row for its value, a reference range in another unit, ...) by what happened.

A Patient that is not imported (not valid FHIR, or refused by the converter) still gives the
writer its id: a ``person`` row of that ``source_id`` alone, at the Patient's location, which
the Patient's problem sets aside (:func:`_person_of`). The writer then rejects every other
resource of that person as the Patient's ("the person's own record (``bundle.json entry 2
Patient/p1``) has a problem", ``checks.PERSON_FAILED``), wherever it was read, rather than as
of a person the import does not hold. A Patient without an id names no person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from myositis.progress import Progress, silent
from myositis.sources.contract import Batch, Intake, staging_schema
from myositis.sources.contract import Reader as SourceReader
from myositis.sources.fhir.convert import PART, Bad, Converter, Rejected, Row, Skipped
from myositis.sources.fhir.inputs import Raw, read_file, source_files
from myositis.sources.fhir.mapping import load_mapping

#: Rows held before they are handed to the writer.
BATCH_ROWS: Final = 20_000


class Reader(SourceReader):
    """FHIR R4 Bundles and bulk-data NDJSON; rules in the module docstring."""

    name = "fhir"

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        """Yield the registry rows of every resource; report records and problems."""
        from fhir.resources.R4B import get_fhir_model_class

        converter = Converter(load_mapping(self.mapping))
        skipped: Counter[str] = Counter()
        models: dict[str, Any] = {}
        buffer: dict[str, list[dict[str, Any]]] = {}
        held = done = 0
        for path in source_files(Path(self.location)):
            resources = read_file(path, intake)
            if path.suffix.lower() != ".ndjson":  # a Bundle: its Medications first
                entries = list(resources)
                resources = iter(sorted(entries, key=lambda r: _kind(r) != "Medication"))
            for raw in resources:
                done += 1
                if done % 10_000 == 0:
                    progress("reading FHIR resources", done, None)
                rows = self._convert(raw, converter, models, get_fhir_model_class, intake, skipped)
                for table, row in rows:
                    row["source_location"] = raw.location
                    part = row.pop(PART, None)
                    if table != "person_race":
                        row["source_record"] = raw.label if part is None else f"{raw.label} {part}"
                    buffer.setdefault(table, []).append(row)
                    held += 1
                if held >= BATCH_ROWS:
                    yield from _flush(buffer)
                    held = 0
        yield from _flush(buffer)
        for what, count in sorted(skipped.items()):
            intake.warn(f"{count:,} not imported: {what}")
        for what, count in sorted(converter.notes.items()):
            intake.warn(f"{count:,} {what}")

    @staticmethod
    def _convert(
        raw: Raw,
        converter: Converter,
        models: dict[str, Any],
        model_class: Any,
        intake: Intake,
        skipped: Counter[str],
    ) -> list[Row]:
        kind = _kind(raw)
        where = f"{raw.where}, {raw.label}"
        if kind not in models:
            try:
                models[kind] = model_class(kind)
            except (KeyError, ValueError, LookupError):
                models[kind] = None
        model = models[kind]
        if model is None:
            skipped[f"{kind} resources (not a FHIR R4 resource type)"] += 1
            return []
        try:
            resource = model.model_validate(raw.data)
        except Exception as exc:  # pydantic's ValidationError: the first error, in words
            field, reason = _validation(exc)
            intake.read()
            intake.problem(
                raw.location,
                f"not a valid FHIR {kind}: {reason}",
                file=raw.file,
                record=where,
                field=field,
            )
            return _person_of(raw)
        try:
            rows = converter.rows(resource)
        except Skipped as skip:
            skipped[str(skip)] += 1
            return []
        except Rejected as rej:
            intake.read()
            intake.problem(
                raw.location, rej.reason, file=raw.file, record=where, field=rej.field,
                value=rej.value, severity="rejected",
            )  # fmt: skip
            return _person_of(raw)
        except Bad as bad:
            intake.read()
            intake.problem(
                raw.location, bad.reason, file=raw.file, record=where, field=bad.field,
                value=bad.value,
            )  # fmt: skip
            return _person_of(raw)
        intake.read()
        return rows


def _kind(raw: Raw) -> str:
    return str(raw.data.get("resourceType"))


def _person_of(raw: Raw) -> list[Row]:
    """The rows of a resource that is not imported: for a Patient with an id, its person's
    ``source_id`` (``Patient.id``, as :meth:`Converter._patient` takes it; a number as its
    text, as a reference ``Patient/123`` names it) as a ``person`` row, which the writer sets
    aside with the Patient's problem and keeps as where that person's own record was read
    (``failed_person``); none for any other resource."""
    rid = raw.data.get("id")
    if _kind(raw) != "Patient" or isinstance(rid, bool) or not isinstance(rid, str | int):
        return []
    source_id = str(rid)
    return [("person", {"source_id": source_id})] if source_id else []


def _validation(exc: Exception) -> tuple[str | None, str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            first = found[0]
            field = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__") or None
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            return field, f"{first.get('msg', exc)}{more}"
    return None, str(exc).splitlines()[0]


def _flush(buffer: dict[str, list[dict[str, Any]]]) -> Iterator[Batch]:
    for table, rows in buffer.items():
        if rows:
            schema = staging_schema(table)
            names = [n for n in schema.names if any(n in r for r in rows)]
            columns = {n: pa.array([r.get(n) for r in rows], schema.field(n).type) for n in names}
            yield Batch(table, pa.table(columns))
    buffer.clear()


__all__ = ["BATCH_ROWS", "Reader"]
