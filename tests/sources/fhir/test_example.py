"""The SYNTHETIC FHIR example (examples/fhir, written by scripts/make_fhir_example.py): both
forms import to the same registry with every record accounted for, the bundled JAK study
gives the cohort counted by hand from the raw resources, and export -> import round-trips."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.registry.schema import DATA_TABLES, PROVENANCE_COLUMNS, TABLES
from myositis.sources.export import export_registry
from myositis.sources.fhir import Reader
from myositis.sources.write import ImportResult, write_import
from myositis.study.runner import run_study
from myositis.study.spec import bundled_spec_path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "fhir"
CODESETS = ROOT / "src" / "myositis" / "codes" / "data" / "codesets.csv"


def _import(source: Path, into: Path) -> ImportResult:
    result = write_import(Reader(source), into)
    assert result.status == "stored", [p.describe() for p in result.problems]
    return result


def tables(registry: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows, provenance columns left out, in a fixed order."""
    con = duckdb.connect(str(registry), read_only=True)
    try:
        out = {}
        for t in DATA_TABLES:
            cols = ", ".join(f'"{c}"' for c in TABLES[t].names if c not in PROVENANCE_COLUMNS)
            out[t] = con.execute(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportResult]:
    registry = tmp_path_factory.mktemp("fhir") / "bundles.duckdb"
    return registry, _import(EXAMPLE / "bundles", registry)


def test_bundles_and_ndjson_give_the_same_registry_with_every_record_accounted(
    imported: tuple[Path, ImportResult], tmp_path: Path
) -> None:
    registry, result = imported
    # 16 Patients + 71 Conditions (63 diagnoses, 7 subtypes, 1 entered in error) + 55
    # MedicationRequests + 57 Observations (22 laboratory, 19 MMT-8 and pruritus scores, 16
    # body weights: measurement rows, schema version 4; observation rows before the measurement
    # table, the figures unchanged) + 26 CDASI QuestionnaireResponses + 26 Encounters (visits,
    # schema version 4) = 251; the 1 Medication is no record of the registry
    assert (result.records_in, result.stored, result.rejected) == (251, 250, 1)
    [rejected] = result.problems
    assert (rejected.field, rejected.value, rejected.severity) == (
        "verificationStatus",
        "entered-in-error",
        "rejected",
    )
    assert result.warnings == [
        "1 not imported: Medication resources (read for medicationReference)"
    ]
    ndjson = _import(EXAMPLE / "ndjson", tmp_path / "ndjson.duckdb")
    assert (ndjson.records_in, ndjson.stored, ndjson.rejected) == (251, 250, 1)
    assert "Condition.ndjson, line 8" in ndjson.problems[0].describe()
    assert tables(tmp_path / "ndjson.duckdb") == tables(registry)


def test_each_cdasi_visit_is_a_visit_row_the_assessments_join(
    imported: tuple[Path, ImportResult],
) -> None:
    """The example's Encounters (class AMB, one per CDASI administration) are outpatient
    visits, and each CDASI assessment's visit_id is its visit's visit_id (the Encounter id)."""
    registry, _ = imported
    con = duckdb.connect(str(registry), read_only=True)
    try:
        codes = con.execute("SELECT code_system, code, count(*) FROM visit GROUP BY ALL").fetchall()
        unjoined = con.execute(
            "SELECT count(DISTINCT a.visit_id) FROM assessment a WHERE a.instrument = 'cdasi' "
            "AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.person_id = a.person_id "
            "AND v.visit_id = a.visit_id AND v.visit_date = a.assessment_date)"
        ).fetchone()
    finally:
        con.close()
    assert codes == [("VISIT", "OP", 26)]
    assert unjoined == (0,)


def test_each_body_weight_is_a_measurement_row(imported: tuple[Path, ImportResult]) -> None:
    """The example's 16 body-weight Observations (LOINC 29463-7 in kg, one per patient, no
    category; no laboratory test or mapped measure), skipped before data model version 4 and
    observation rows before the measurement table, are measurement rows: 29463-7 is a vital
    sign of the FHIR R4 vital signs profiles. Counted from the raw NDJSON with the import's
    rule written out: an Observation of category laboratory or vital-signs or coded with a
    vital-sign LOINC code, that is no registry laboratory test and no code of the project's
    profile (a mapped measure)."""
    registry, _ = imported
    con = duckdb.connect(str(registry), read_only=True)
    try:
        rows = con.execute(
            "SELECT code_system, code, value, unit, range_low, range_high, value_code, "
            "count(DISTINCT person_id), count(*) FROM measurement GROUP BY ALL"
        ).fetchall()
        observations = con.execute("SELECT count(*) FROM observation").fetchone()
    finally:
        con.close()
    assert rows == [("LOINC", "29463-7", 70.0, "kg", None, None, None, 16, 16)]
    assert observations == (0,)
    vital = {"85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4",
             "29463-7", "39156-5", "85354-9", "8480-6", "8462-4"}  # fmt: skip
    tests = {"2157-6", "1761-6", "2532-0", "1742-6", "1920-8"}  # CK, aldolase, LDH, ALT, AST
    measurements = []
    for o in _resources("Observation"):
        [coding] = o["code"]["coding"]  # each of the example's has one coding
        categories = {c["code"] for cat in o.get("category", []) for c in cat["coding"]}
        if coding["code"] in tests or coding["system"].startswith("urn:myositis-outcomes:"):
            continue
        if categories & {"laboratory", "vital-signs"} or (
            coding["system"] == "http://loinc.org" and coding["code"] in vital
        ):
            measurements.append((coding["code"], o["valueQuantity"]["value"]))
    assert measurements == [("29463-7", 70)] * 16


def test_ck_in_ukat_per_litre_is_stored_in_u_per_litre_with_the_source_value_kept(
    imported: tuple[Path, ImportResult],
) -> None:
    registry, _ = imported
    con = duckdb.connect(str(registry), read_only=True)
    rows = con.execute(
        "SELECT value, unit, source_value, source_unit, uln, uln_unit FROM laboratory "
        "WHERE source_unit = 'ukat/L'"
    ).fetchall()
    con.close()
    [(value, unit, source_value, source_unit, uln, uln_unit)] = rows
    assert (unit, source_unit, uln_unit) == ("U/L", "ukat/L", "U/L")
    assert value == pytest.approx(source_value * 60)  # 1 ukat/L = 60 U/L (codes/units.py)
    assert uln == pytest.approx(190.0, abs=0.01)  # 3.1667 ukat/L in the file


def _resources(kind: str) -> list[dict[str, Any]]:
    path = EXAMPLE / "ndjson" / f"{kind}.ndjson"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _hand_count() -> list[int]:
    """The attrition of the JAK study counted from the raw NDJSON, without the importer:
    persons; with >= 2 Conditions (not entered in error) coded in the dm_diagnosis code set
    of codesets.csv (ICD codes compared without their dot, as the cohort rules say: the
    example holds M33.10 and M3310) on distinct onset dates; of those, with a
    MedicationRequest (directly or through its Medication) of a jak_inhibitor code, not
    topical, index = first start; a CDASI QuestionnaireResponse authored from 30 days before
    to the index; another 1 to 1461 days after it."""
    uris = {
        "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
        "ICD9CM": "http://hl7.org/fhir/sid/icd-9-cm",
        "SNOMED": "http://snomed.info/sct",
        "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    }
    codes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with CODESETS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["system"] in uris:
                codes[row["role"]].add((uris[row["system"]], row["code"].replace(".", "")))
    persons = [p["id"] for p in _resources("Patient")]
    dates: dict[str, set[str]] = defaultdict(set)
    for c in _resources("Condition"):
        if c.get("verificationStatus", {}).get("coding", [{}])[0].get("code") == "entered-in-error":
            continue
        coding = c["code"]["coding"][0]
        if (coding["system"], coding["code"].replace(".", "")) in codes["dm_diagnosis"]:
            dates[c["subject"]["reference"].split("/")[1]].add(c["onsetDateTime"])
    dm = {p for p in persons if len(dates[p]) >= 2}
    medications = {m["id"]: m["code"] for m in _resources("Medication")}
    index: dict[str, dt.date] = {}
    for m in _resources("MedicationRequest"):
        concept = (
            m.get("medicationCodeableConcept")
            or medications[m["medicationReference"]["reference"].split("/")[1]]
        )
        coding = concept["coding"][0]
        route = m["dosageInstruction"][0].get("route", {}).get("text")
        person = m["subject"]["reference"].split("/")[1]
        if (coding["system"], coding["code"]) in codes["jak_inhibitor"] and route != "topical":
            start = dt.date.fromisoformat(m["authoredOn"])
            if person in dm and (person not in index or start < index[person]):
                index[person] = start
    days: dict[str, list[int]] = defaultdict(list)
    for q in _resources("QuestionnaireResponse"):
        person = q["subject"]["reference"].split("/")[1]
        if q["questionnaire"].endswith(":cdasi") and person in index:
            days[person].append((dt.date.fromisoformat(q["authored"]) - index[person]).days)
    baseline = {p for p in index if any(-30 <= d <= 0 for d in days[p])}
    followup = {p for p in baseline if any(1 <= d <= 1461 for d in days[p])}
    return [len(persons), len(dm), len(index), len(baseline), len(followup)]


def test_the_jak_study_gives_the_cohort_counted_by_hand(
    imported: tuple[Path, ImportResult], tmp_path: Path
) -> None:
    registry, _ = imported
    counted = _hand_count()
    assert counted == [16, 7, 2, 2, 2]
    run = run_study(bundled_spec_path("jak-refractory-dm"), registry, tmp_path / "out")
    assert [s["remaining"] for s in run.results["attrition"]] == counted
    assert sorted(p["drug"] for p in run.results["patients"]) == ["tofacitinib", "tofacitinib"]


@pytest.mark.parametrize("fmt", ["fhir", "fhir-ndjson"])
def test_import_export_import_gives_the_same_registry(
    imported: tuple[Path, ImportResult], tmp_path: Path, fmt: str
) -> None:
    registry, _ = imported
    summary = export_registry(registry, tmp_path / "out", fmt)
    names = {p.name for p in summary.files}
    if fmt == "fhir":
        assert len(names) == 16 and all(n.endswith(".json") for n in names)
    else:
        assert "Patient.ndjson" in names and "QuestionnaireResponse.ndjson" in names
    again = _import(tmp_path / "out", tmp_path / "again.duckdb")
    assert again.rejected == 0
    assert tables(tmp_path / "again.duckdb") == tables(registry)
