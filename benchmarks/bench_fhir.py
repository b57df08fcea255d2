"""Benchmark: the FHIR R4 importer on bulk-data NDJSON — reader throughput and peak memory,
and the whole import (reader + checks + one atomic write).

Generates ``--resources`` SYNTHETIC resources (default 1,000,000) as bulk-data NDJSON, one file
per type, 10 per person: a Patient (US Core race), 2 Conditions (ICD-10-CM), 2
MedicationRequests (RxNorm, dose, timing), 4 laboratory Observations (LOINC CK, U/L, a ULN) and
1 CDASI QuestionnaireResponse (the project profile's Questionnaire, 12 answered items). Then,
each in a fresh process whose peak resident memory (``resource.getrusage(RUSAGE_SELF)
.ru_maxrss``) is reported:

- ``baseline``: the interpreter with the reader's modules imported, reading nothing;
- ``json``: every line read and parsed with ``json.loads`` only (the comparison measured in
  the same run: the least any reader of this data must do);
- ``reader``: ``myositis.sources.fhir.Reader(...).batches()`` consumed and dropped (parse with
  fhir.resources, convert, Arrow batches), ``--repeat`` times;
- ``import``: ``write_import(Reader(folder), new.duckdb)``, once.

The results replace the "FHIR import" section of docs/benchmarks.md (other sections are left as
they are).

A separate child measures the writer alone (``--child writer LIMIT PERSONS DB``: persons and
12-item CDASI administrations handed over as Arrow batches, no parsing), with and without the
writer's DuckDB memory limit, to tell the writer's staging memory from the reader's.

Usage:  python benchmarks/bench_fhir.py [--resources 1000000] [--repeat 3] [--no-import]
        [--concurrent] [--no-write]
        python benchmarks/bench_fhir.py --child writer 256MB 300000 /tmp/w.duckdb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from record import machine, versions, write_section

SECTION = "## FHIR import"
PER_PERSON = 10
CDASI_ITEMS = (
    "scalp_erythema", "scalp_scale", "scalp_erosion", "malar_erythema", "malar_scale",
    "malar_erosion", "periorbital_erythema", "neck_v_erythema", "arm_erythema",
    "hands_dorsum_erythema", "periungual", "alopecia",
)  # fmt: skip


def generate(folder: Path, resources: int) -> int:
    """Write ``resources`` (rounded down to whole persons) SYNTHETIC resources; return the
    number written."""
    persons = resources // PER_PERSON
    base = "urn:myositis-outcomes:fhir"
    files = {
        k: (folder / f"{k}.ndjson").open("w", encoding="utf-8")
        for k in ("Patient", "Condition", "MedicationRequest", "Observation",
                  "QuestionnaireResponse")
    }  # fmt: skip
    dump = json.JSONEncoder(separators=(",", ":")).encode
    try:
        for n in range(1, persons + 1):
            pid = f"p{n}"
            subject = {"reference": f"Patient/{pid}"}
            year = 1940 + n % 60
            files["Patient"].write(dump({
                "resourceType": "Patient", "id": pid, "gender": "female" if n % 3 else "male",
                "birthDate": f"{year}-0{1 + n % 9}-1{n % 10}",
                "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                               "extension": [{"url": "ombCategory", "valueCoding": {
                                   "system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3",
                                   "display": "White"}}, {"url": "text", "valueString": "White"}]}],
            }) + "\n")  # fmt: skip
            for k, code in enumerate(("M33.10", "I10")):
                files["Condition"].write(dump({
                    "resourceType": "Condition", "id": f"c{n}-{k}", "subject": subject,
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                         "code": code}]},
                    "onsetDateTime": f"2015-0{1 + k}-0{1 + n % 9}",
                }) + "\n")  # fmt: skip
            for k, (code, name) in enumerate(
                (("1357536", "tofacitinib"), ("5521", "hydroxychloroquine"))
            ):
                files["MedicationRequest"].write(dump({
                    "resourceType": "MedicationRequest", "id": f"m{n}-{k}", "status": "active",
                    "intent": "order", "subject": subject, "authoredOn": "2019-03-01",
                    "medicationCodeableConcept": {"coding": [{
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code,
                        "display": name}]},
                    "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1,
                                                                 "periodUnit": "d"}},
                                           "route": {"text": "oral"},
                                           "doseAndRate": [{"doseQuantity": {"value": 5,
                                                                             "unit": "mg"}}]}],
                }) + "\n")  # fmt: skip
            for k in range(4):
                files["Observation"].write(dump({
                    "resourceType": "Observation", "id": f"o{n}-{k}", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "2157-6"}]},
                    "subject": subject, "effectiveDateTime": f"2019-0{1 + k}-15",
                    "valueQuantity": {"value": 100 + n % 50, "unit": "U/L",
                                      "system": "http://unitsofmeasure.org", "code": "U/L"},
                    "referenceRange": [{"high": {"value": 190, "unit": "U/L"}}],
                }) + "\n")  # fmt: skip
            files["QuestionnaireResponse"].write(dump({
                "resourceType": "QuestionnaireResponse", "id": f"q{n}", "status": "completed",
                "questionnaire": f"{base}:Questionnaire:cdasi", "subject": subject,
                "authored": "2019-03-01",
                "item": [{"linkId": i, "answer": [{"valueInteger": n % 2}]} for i in CDASI_ITEMS],
            }) + "\n")  # fmt: skip
    finally:
        for handle in files.values():
            handle.close()
    return persons * PER_PERSON


def _child(mode: str, folder: Path, into: Path | None) -> dict[str, Any]:
    import resource

    from myositis.sources.contract import Intake
    from myositis.sources.fhir import Reader

    start = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = start.ru_utime + start.ru_stime
    began = time.perf_counter()
    count = 0
    if mode == "json":
        for path in sorted(folder.glob("*.ndjson")):
            with path.open("rb") as handle:
                for line in handle:
                    json.loads(line)
                    count += 1
    elif mode == "reader":
        import fhir.resources.R4B.patient  # noqa: F401  (the models' import is not timed)

        start = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = start.ru_utime + start.ru_stime
        began = time.perf_counter()
        intake = Intake()
        for batch in Reader(folder).batches(intake):
            count += batch.rows.num_rows
        count = intake.records_in
    elif mode == "import":
        from myositis.sources.write import write_import

        result = write_import(Reader(folder), into or folder / "r.duckdb")
        if result.status != "stored":
            raise SystemExit(f"import refused: {[p.describe() for p in result.problems[:3]]}")
        count = result.records_in
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss * 1024  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return {"mode": mode, "seconds": seconds, "cpu": cpu, "records": count, "peak_bytes": peak}


def _writer_child(limit: str, persons: int, into: Path) -> dict[str, Any]:
    """The writer alone, with DuckDB's memory limit ``limit`` while it stages: a reader that
    yields, with no parsing, ``persons`` persons and one 12-item CDASI administration each
    (the rows a FHIR import of ``10 x persons`` resources stages for its Patients and
    QuestionnaireResponses), so that the writer's memory is measured apart from the reader's."""
    import resource

    import numpy as np
    import pyarrow as pa

    from myositis.sources import write
    from myositis.sources.contract import Batch, Intake, Reader

    write.STAGING_MEMORY_LIMIT = limit  # type: ignore[misc]
    items = 12

    class Rows(Reader):
        name = "fhir"

        def batches(self, intake: Intake, progress: Any = None) -> Any:
            ids = [f"p{i}" for i in range(persons)]
            for s in range(0, persons, 20_000):
                part = ids[s : s + 20_000]
                intake.read(len(part))
                yield Batch("person", pa.table({
                    "source_id": part, "source_location": [f"P:{x}" for x in part],
                    "source_record": [f"Patient/{x}" for x in part]}))  # fmt: skip
            for s in range(0, persons, 2_000):
                part = ids[s : s + 2_000]
                intake.read(len(part))
                rows = len(part) * items
                who = np.repeat(part, items)
                yield Batch("assessment", pa.table({
                    "person_source_id": who, "visit_id": [f"q{x}" for x in who],
                    "assessment_date": pa.array(np.full(rows, 18_000, "int32")).cast(pa.date32()),
                    "instrument": ["cdasi"] * rows,
                    "measure": [f"m{k}" for k in range(items)] * len(part),
                    "value": np.ones(rows), "source_location": [f"Q:{x}" for x in who],
                    "source_record": [f"QuestionnaireResponse/{x}" for x in who]}))  # fmt: skip

    began = time.perf_counter()
    result = write.write_import(Rows("rows"), into)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "mode": f"writer {limit}",
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "records": result.records_in,
        "rows": persons * (items + 1),
        "peak_bytes": usage.ru_maxrss * 1024,
    }


def _start(mode: str, folder: Path, into: Path | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, str(Path(__file__)), "--child", mode, str(folder)]
    if into is not None:
        command.append(str(into))
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(err[-2000:])
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _run(mode: str, folder: Path, into: Path | None = None) -> dict[str, Any]:
    return _result(_start(mode, folder, into))


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def _section(total: int, runs: dict[str, list[dict[str, Any]]], command: str, load: str) -> str:
    rows = []
    for mode, label in (
        ("baseline", "interpreter + reader modules, nothing read"),
        ("json", "`json.loads` of every line only (comparison)"),
        ("reader", "FHIR reader: parse (fhir.resources R4B), convert, Arrow batches"),
        ("import", "whole import into a new DuckDB registry"),
    ):
        if mode not in runs:
            continue
        seconds = statistics.median(r["seconds"] for r in runs[mode])
        peak = max(r["peak_bytes"] for r in runs[mode])
        cpu = statistics.median(r.get("cpu", 0.0) for r in runs[mode])
        rate = f"{total / seconds:,.0f}" if mode != "baseline" else ""
        cpu_rate = f"{total / cpu:,.0f}" if mode != "baseline" and cpu else ""
        times = ", ".join(f"{r['seconds']:.1f}" for r in runs[mode])
        rows.append(
            f"| {label} | {seconds:,.1f} | {times} | {cpu:,.1f} | {rate} | {cpu_rate} | "
            f"{_mib(peak)} |"
        )
    reader = statistics.median(r["cpu"] for r in runs["reader"])
    parse = statistics.median(r["cpu"] for r in runs["json"])
    return "\n".join(
        [
            SECTION,
            "",
            f"{total:,} SYNTHETIC FHIR R4 resources as bulk-data NDJSON ({total // PER_PERSON:,}",
            "persons: per person a Patient, 2 Conditions, 2 MedicationRequests, 4 laboratory",
            "Observations and 1 CDASI QuestionnaireResponse of 12 items), generated by the",
            "benchmark. Each step in a fresh process; peak = the process's peak resident memory",
            "(`ru_maxrss`); CPU = the process's user + system time. With `--concurrent` the",
            "reader runs and the import ran at the same time (wall times then share the CPUs;",
            "read the CPU columns).",
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {machine()}; load average (1 min) {load} (the machine is shared)",
            "",
            "Versions: "
            + versions("numpy", "pyarrow", "duckdb", "ibis-framework", "fhir.resources"),
            "",
            f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            "| step | median wall (s) | runs (s) | CPU (s) | resources/s (wall) | "
            "resources per CPU-second | peak memory (MiB) |",
            "|---|---:|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"The reader takes {reader / parse:.0f} times as long (CPU) as parsing the JSON alone.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="run the reader runs and the import at the same time (a busy shared machine: "
        "read the CPU columns)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, folder, *into = args.child
        if mode == "baseline":
            import resource

            import myositis.sources.fhir  # noqa: F401

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(json.dumps({"mode": mode, "seconds": 0.0, "records": 0, "peak_bytes": peak}))
            return
        if mode == "writer":  # --child writer LIMIT PERSONS DB
            print(json.dumps(_writer_child(folder, int(into[0]), Path(into[1]))))
            return
        print(json.dumps(_child(mode, Path(folder), Path(into[0]) if into else None)))
        return
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ndjson"
        folder.mkdir()
        total = generate(folder, args.resources)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [_run("baseline", folder)]}
        runs["json"] = [_run("json", folder) for _ in range(args.repeat)]
        if args.concurrent:
            started = [_start("reader", folder) for _ in range(args.repeat)]
            if not args.no_import:
                started.append(_start("import", folder, Path(tmp) / "registry.duckdb"))
            for r in map(_result, started):
                runs.setdefault(r["mode"], []).append(r)
        else:
            runs["reader"] = [_run("reader", folder) for _ in range(args.repeat)]
            if not args.no_import:
                runs["import"] = [_run("import", folder, Path(tmp) / "registry.duckdb")]
        for r in runs["reader"] + runs.get("import", []):
            if r["records"] != total:
                raise SystemExit(f"{r['mode']} counted {r['records']} records of {total}")
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    argv = " ".join(a for a in sys.argv[1:] if a != "--no-write")
    section = _section(total, runs, f"python benchmarks/bench_fhir.py {argv}".strip(), load)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
