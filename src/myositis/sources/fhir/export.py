"""Registry -> FHIR R4: ``myositis export REGISTRY --to DIR --format fhir`` writes one
collection Bundle per person (``<person_id>.json``); ``--format fhir-ndjson`` writes
bulk-data NDJSON, one file per resource type (``Patient.ndjson``, ...), row by row.

The resources are those of :mod:`.build`; ``myositis import fhir DIR`` reads either back to
the same registry (ids of the project's profile carry ``person_id``, ``exposure_id``,
``assessment_id`` and ``visit_id``; a death is its Patient's ``deceasedDateTime``, its cause
not exported). Encounters are the ``visit`` rows, written before the
assessments that reference them; Observations are assessment scores, laboratory results,
the ``observation`` rows and the ``measurement`` rows (category ``laboratory`` or
``vital-signs``: :func:`.build.measurement`). NDJSON streams each table, so it is the format
for large registries; bundles group each person's rows and hold the registry's rows in
memory.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from myositis.errors import MyositisError
from myositis.sources.fhir import build
from myositis.sources.fhir.build import Resource

#: Resource types of an NDJSON export, in the order written.
NDJSON_FILES: Final = (
    "Patient",
    "Encounter",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "Observation",
    "QuestionnaireResponse",
    "AdverseEvent",
)

_ORDER: Final = {
    "diagnosis": ("person_id", "diagnosis_date", "code_system", "code"),
    "dm_subtype": ("person_id", "classified_date", "subtype"),
    "procedure": ("person_id", "procedure_date", "code_system", "code", "end_date"),
    "visit": ("person_id", "visit_date", "visit_id", "code_system", "code", "end_date"),
    "drug_exposure": ("exposure_id",),
    "assessment": ("assessment_id", "measure"),
    "laboratory": ("person_id", "result_date", "test", "source_value"),
    "observation": (
        "person_id",
        "observation_date",
        "code_system",
        "code",
        "value",
        "unit",
        "value_code_system",
        "value_code",
        "value_text",
    ),
    "measurement": (
        "person_id",
        "measurement_date",
        "code_system",
        "code",
        "value",
        "unit",
        "range_low",
        "range_high",
        "value_code_system",
        "value_code",
    ),
    "adverse_event": ("person_id", "onset_date", "term"),
}


def _rows(con: Any, table: str, order: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    # to_pyarrow_batches would stream, but ibis 12 calls a DuckDB method DuckDB 2 renamed
    arrow = con.table(table).order_by(list(order)).to_pyarrow()
    for batch in arrow.to_batches(max_chunksize=10_000):
        yield from batch.to_pylist()


def _prepare(folder: Path, overwrite: bool) -> Path:
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise MyositisError(f"{folder} holds files; choose an empty folder or --overwrite")
        shutil.rmtree(folder)
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def _publish(partial: Path, folder: Path) -> list[Path]:
    if folder.exists():
        folder.rmdir()
    partial.rename(folder)
    return sorted(folder.iterdir())


def _resources(con: Any) -> Iterator[tuple[int, Resource]]:
    """(person_id, resource) of every row of the registry, table by table."""
    races: dict[int, list[str]] = defaultdict(list)
    for row in _rows(con, "person_race", ("person_id", "race")):
        races[row["person_id"]].append(row["race"])
    deaths = {r["person_id"]: r["death_date"] for r in _rows(con, "death", ("person_id",))}
    pids: dict[int, str] = {}
    for row in _rows(con, "person", ("person_id",)):
        pid = row["person_id"]
        pids[pid] = build.patient_id(row)
        yield pid, build.patient(row, races.get(pid, []), deaths.get(pid))
    taken: set[str] = set()  # Encounter ids, unique in the export
    linked: set[tuple[int, str]] = set()  # (person, visit id) of an Encounter with that id
    for n, row in enumerate(_rows(con, "visit", _ORDER["visit"]), start=1):
        person, visit = row["person_id"], row["visit_id"]
        rid = build.encounter_id(visit, n, taken)
        if rid == visit:
            linked.add((person, visit))
        yield person, build.visit(row, pids[person], rid)
    for n, row in enumerate(_rows(con, "diagnosis", _ORDER["diagnosis"]), start=1):
        yield row["person_id"], build.condition(row, pids[row["person_id"]], f"diagnosis-{n}")
    for n, row in enumerate(_rows(con, "dm_subtype", _ORDER["dm_subtype"]), start=1):
        yield row["person_id"], build.subtype(row, pids[row["person_id"]], f"subtype-{n}")
    for n, row in enumerate(_rows(con, "procedure", _ORDER["procedure"]), start=1):
        yield row["person_id"], build.procedure(row, pids[row["person_id"]], f"procedure-{n}")
    for row in _rows(con, "drug_exposure", _ORDER["drug_exposure"]):
        yield row["person_id"], build.medication_request(row, pids[row["person_id"]])
    for rows in build.group_assessments(_rows(con, "assessment", _ORDER["assessment"])):
        person = rows[0]["person_id"]
        encounter = (person, rows[0].get("visit_id")) in linked
        for resource in build.assessments(rows, pids[person], encounter=encounter):
            yield person, resource
    for n, row in enumerate(_rows(con, "laboratory", _ORDER["laboratory"]), start=1):
        yield row["person_id"], build.laboratory(row, pids[row["person_id"]], f"laboratory-{n}")
    for n, row in enumerate(_rows(con, "observation", _ORDER["observation"]), start=1):
        resource = build.observation(row, pids[row["person_id"]], f"observation-{n}")
        yield row["person_id"], resource
    for n, row in enumerate(_rows(con, "measurement", _ORDER["measurement"]), start=1):
        resource = build.measurement(row, pids[row["person_id"]], f"measurement-{n}")
        yield row["person_id"], resource
    for n, row in enumerate(_rows(con, "adverse_event", _ORDER["adverse_event"]), start=1):
        resource = build.adverse_event(row, pids[row["person_id"]], f"adverse-event-{n}")
        yield row["person_id"], resource


def export(con: Any, folder: Path, *, overwrite: bool = False) -> list[Path]:
    """One collection Bundle per person, ``<person_id>.json`` (zero-padded, in id order)."""
    partial = _prepare(folder, overwrite)
    try:
        _bundles(con, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return _publish(partial, folder)


def _bundles(con: Any, partial: Path) -> None:
    by_person: dict[int, list[Resource]] = defaultdict(list)
    for person, resource in _resources(con):
        by_person[person].append(resource)
    width = max((len(str(p)) for p in by_person), default=1)
    for person, resources in sorted(by_person.items()):
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources
            ],
        }
        path = partial / f"{person:0{width}d}.json"
        path.write_text(json.dumps(bundle, indent=1) + "\n", encoding="utf-8")


def export_ndjson(con: Any, folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Bulk-data NDJSON: one ``<ResourceType>.ndjson`` per resource type, one per line."""
    partial = _prepare(folder, overwrite)
    handles: dict[str, Any] = {}
    try:
        for _, resource in _resources(con):
            kind = resource["resourceType"]
            if kind not in handles:
                handles[kind] = (partial / f"{kind}.ndjson").open("w", encoding="utf-8")
            handles[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
    except BaseException:
        for handle in handles.values():
            handle.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        for handle in handles.values():
            handle.close()
    return _publish(partial, folder)


__all__ = ["NDJSON_FILES", "export", "export_ndjson"]
