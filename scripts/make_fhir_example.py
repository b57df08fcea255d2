"""Write examples/fhir: SYNTHETIC Synthea-style FHIR R4 data of dermatomyositis patients, as
transaction Bundles (``bundles/``, one per patient) and the same resources as bulk-data NDJSON
(``ndjson/``, one file per resource type).

The persons come from the project's synthetic generator (``myositis.sources.synthetic``: no
real patient) and are written by the FHIR exporter (``myositis.sources.fhir.export``); this
script then makes them look like Synthea output (UUID ids, ``urn:uuid:`` full URLs and
references, transaction entries with a request) and adds what real exports hold:

- a body-weight Observation (LOINC 29463-7) per patient: a vital sign, no registry
  laboratory test or measure, the import stores it as a ``measurement`` row;
- one Condition entered in error (rejected by the import with that reason);
- one CK result in ukat/L (converted to U/L by the import: 1 ukat/L = 60 U/L);
- the first JAK inhibitor order as a medicationReference to a Medication resource;
- an Encounter for each CDASI assessment, which the QuestionnaireResponse names (its id
  becomes the assessment's visit id).

Run: ``python scripts/make_fhir_example.py`` (deterministic: seed 11).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from myositis.registry.connect import connect
from myositis.sources.fhir import export as fhir_export
from myositis.sources.synthetic import generate_registry

OUT = Path(__file__).resolve().parent.parent / "examples" / "fhir"
NAMESPACE = uuid.UUID("5b1e3a50-43a4-4f57-9d1c-2f1f3f6c9a11")
SYNTHETIC_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "code": "HTEST",
    "display": "test health data (SYNTHETIC: no real patient)",
}


def _uuid(kind: str, rid: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{rid}"))


def _rewrite(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, ids) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in ids:
            out["reference"] = f"urn:uuid:{ids[ref]}"
        return out
    if isinstance(value, list):
        return [_rewrite(v, ids) for v in value]
    return value


def _extras(resources: list[dict[str, Any]], state: dict[str, bool]) -> list[dict[str, Any]]:
    patient = resources[0]
    pid = patient["id"]
    out = list(resources)
    out.append(
        {
            "resourceType": "Observation",
            "id": f"weight-{pid}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": "2023-01-10",
            "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org",
                              "code": "kg"},
        }
    )  # fmt: skip
    for r in resources:
        if r["resourceType"] == "QuestionnaireResponse" and "encounter" not in r:
            eid = f"visit-{r['id']}"
            out.append(
                {
                    "resourceType": "Encounter",
                    "id": eid,
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                              "code": "AMB"},
                    "subject": {"reference": f"Patient/{pid}"},
                    "period": {"start": r["authored"], "end": r["authored"]},
                }
            )  # fmt: skip
            r["encounter"] = {"reference": f"Encounter/{eid}"}
    conditions = [r for r in resources if r["resourceType"] == "Condition"]
    if not state["error"] and any(
        c["code"]["coding"][0]["code"].startswith("M33") for c in conditions
    ):
        wrong = json.loads(json.dumps(conditions[0]))
        wrong["id"] += "-error"
        wrong["verificationStatus"]["coding"][0]["code"] = "entered-in-error"
        out.append(wrong)
        state["error"] = True
    for r in out:
        if not state["ukat"] and r["resourceType"] == "Observation" and r.get("category"):
            q = r["valueQuantity"]
            q.update(value=round(q["value"] / 60, 4), unit="ukat/L", code="ukat/L")
            high = r.get("referenceRange", [{}])[0].get("high")
            if high:
                high.update(value=round(high["value"] / 60, 4), unit="ukat/L", code="ukat/L")
            state["ukat"] = True
        if (
            not state["reference"]
            and r["resourceType"] == "MedicationRequest"
            and r["medicationCodeableConcept"]["coding"][0]["system"].endswith("rxnorm")
        ):
            concept = r.pop("medicationCodeableConcept")
            mid = f"medication-{r['id']}"
            out.append({"resourceType": "Medication", "id": mid, "code": concept})
            r["medicationReference"] = {"reference": f"Medication/{mid}"}
            state["reference"] = True
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "synthetic.duckdb"
        generate_registry(registry, patients=16, sites=1, seed=11, dm_per_1000=600)
        con = connect(registry)
        try:
            fhir_export.export(con, Path(tmp) / "bundles")
        finally:
            con.disconnect()
        bundles = sorted((Path(tmp) / "bundles").glob("*.json"))
        shutil.rmtree(OUT / "bundles", ignore_errors=True)
        shutil.rmtree(OUT / "ndjson", ignore_errors=True)
        (OUT / "bundles").mkdir(parents=True)
        (OUT / "ndjson").mkdir(parents=True)
        state = {"error": False, "ukat": False, "reference": False}
        by_type: dict[str, list[dict[str, Any]]] = {}
        for path in bundles:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            resources = _extras([e["resource"] for e in bundle["entry"]], state)
            ids = {
                f"{r['resourceType']}/{r['id']}": _uuid(r["resourceType"], r["id"])
                for r in resources
            }
            entries = []
            for r in resources:
                new = _rewrite(r, ids)
                new["id"] = ids[f"{r['resourceType']}/{r['id']}"]
                if new["resourceType"] == "Patient":
                    new["meta"] = {"tag": [SYNTHETIC_TAG]}
                entries.append(
                    {
                        "fullUrl": f"urn:uuid:{new['id']}",
                        "resource": new,
                        "request": {"method": "POST", "url": new["resourceType"]},
                    }
                )
                bulk = json.loads(json.dumps(new).replace('"urn:uuid:', '"'))
                by_type.setdefault(new["resourceType"], []).append(_bulk_refs(bulk, ids))
            name = entries[0]["resource"]["id"]
            out = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            (OUT / "bundles" / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
        for kind, resources in by_type.items():
            lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in resources)
            (OUT / "ndjson" / f"{kind}.ndjson").write_text(lines)
    print(f"wrote {len(bundles)} bundles and {len(by_type)} NDJSON files to {OUT}")


def _bulk_refs(resource: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """Bulk-data references name the type: ``Patient/<uuid>``."""
    kinds = {v: k.split("/")[0] for k, v in ids.items()}

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: fix(v) for k, v in value.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and ref in kinds:
                out["reference"] = f"{kinds[ref]}/{ref}"
            return out
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return fix(resource)  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
