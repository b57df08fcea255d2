"""A project made from the template imports with no mapping, and the bundled JAK study finds
in it the cohort counted by hand from the SYNTHETIC export (examples/redcap/README.md):

- 8 records (patients 1-8, data access groups site_a and site_b);
- DM on >= 2 distinct dates: not 4 (one code) and not 8 (polymyositis, M33.20): 6 remain;
- a systemic JAK inhibitor: not 3 (ruxolitinib cream only): 5 remain;
- baseline CDASI from day -30 to 0: not 5 (45 days before): 4 remain;
- follow-up CDASI: not 6 (none): 3 remain, patients 1, 2 and 7.

CDASI activities by hand from the items (cdasi_items.csv): patient 1 20 -> 10 (week 12),
patient 2 19 -> 9 (week 24, the last), patient 7 20 -> 8 (unscheduled visit 2, the last).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from myositis.registry import connect
from myositis.registry.schema import TABLES
from myositis.sources.redcap import Reader
from myositis.sources.write import ImportResult, write_import
from myositis.study.runner import run_study
from myositis.study.spec import bundled_spec_path

from .conftest import TEMPLATE_EXPORT, set_cell

D = dt.date


def _rows(registry: Path, table: str) -> list[dict[str, Any]]:
    con = connect(registry)
    try:
        return list(con.table(table).to_pyarrow().to_pylist())
    finally:
        con.disconnect()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportResult]:
    registry = tmp_path_factory.mktemp("template") / "registry.duckdb"
    return registry, write_import(Reader(TEMPLATE_EXPORT), registry)


def test_every_record_is_accounted_for(imported: tuple[Path, ImportResult]) -> None:
    registry, result = imported
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 8, 8, 0)
    assert result.balanced and result.source == "redcap:myositis-registry"
    added = {t: c.added for t, c in result.tables.items() if c.added}
    # 8 diagnosis forms + 7 diagnosis_codes instances; 10 medication instances; CDASI: 17
    # administrations x 81 items; core set 7 values; MMT-8 2 x (15 grades + total); HAQ 22
    # answers + the index
    assert added == {
        "person": 8,
        "person_race": 9,
        "diagnosis": 15,
        "dm_subtype": 8,
        "drug_exposure": 10,
        "laboratory": 1,
        "adverse_event": 2,
        "assessment": 17 * 81 + 7 + 2 * 16 + 23,
    }
    log = _rows(registry, "import_log")
    assert [(r["source"], r["records_in"], r["stored"], r["rejected"]) for r in log] == [
        ("redcap:myositis-registry", 8, 8, 0)
    ]


def test_the_jak_study_finds_the_cohort_counted_by_hand(
    imported: tuple[Path, ImportResult], tmp_path: Path
) -> None:
    registry, _ = imported
    run = run_study(bundled_spec_path("jak-refractory-dm"), registry, tmp_path / "out")
    results = run.results
    assert [s["remaining"] for s in results["attrition"]] == [8, 6, 5, 4, 3]
    found = {
        p["person_id"]: (
            p["site"],
            p["drug"],
            p["baseline_cdasi"],
            p["followup_cdasi"],
            p["responder"],
        )
        for p in results["patients"]
    }
    assert found == {
        1: ("site_a", "tofacitinib", 20.0, 10.0, True),
        2: ("site_a", "baricitinib", 19.0, 9.0, True),
        7: ("site_b", "tofacitinib", 20.0, 8.0, True),
    }
    saved = json.loads(run.results_json.read_text())
    assert saved["data_fingerprint"] == results["data_fingerprint"]


def test_persons_sites_races_and_no_identifier(imported: tuple[Path, ImportResult]) -> None:
    registry, result = imported
    person = {r["source_id"]: r for r in _rows(registry, "person")}
    assert sorted(person) == [str(n) for n in range(1, 9)]
    one = person["1"]
    assert (
        one["person_id"],
        one["site"],
        one["sex"],
        one["birth_date"],
        one["race"],
        one["ethnicity"],
    ) == (1, "site_a", "F", D(1968, 4, 2), "White", "Not Hispanic or Latino")
    assert person["2"]["race"] == "More than one race"
    races = sorted(r["race"] for r in _rows(registry, "person_race") if r["person_id"] == 2)
    assert races == ["Asian", "White"]
    assert one["source_record"] == "1" and one["source_location"] == "records.csv record 1"
    # first and last names, MRN and e-mail (Identifier? = y) are nowhere in the registry
    identifiers = {"Example", "Ann", "Bo", "Gus", "MRN-0001", "ann@example.org"}
    con = connect(registry)
    try:
        for table in TABLES:
            for row in con.table(table).to_pyarrow().to_pylist():
                assert not identifiers & {v for v in row.values() if isinstance(v, str)}, table
    finally:
        con.disconnect()
    assert any("identifier field(s)" in w and "mrn" in w for w in result.warnings)
    assert any("visit_notes (1)" in w for w in result.warnings)


def test_diagnoses_drugs_adverse_events_and_laboratory(imported: tuple[Path, ImportResult]) -> None:
    registry, _ = imported
    dx = sorted(
        (r["code_system"], r["code"], r["diagnosis_date"])
        for r in _rows(registry, "diagnosis")
        if r["person_id"] == 7
    )
    assert dx == [("ICD10CM", "M3310", D(2014, 2, 2)), ("ICD9CM", "710.3", D(2014, 6, 2))]
    other = [r["code"] for r in _rows(registry, "diagnosis") if r["person_id"] == 8]
    assert sorted(other) == ["M33.20", "M33.20"]  # "another code" of the dropdown, then typed
    drugs = sorted(
        (
            r["start_date"],
            r["ingredient"],
            r["dose"],
            r["dose_unit"],
            r["frequency"],
            r["formulation"],
            r["route"],
            r["end_date"],
        )
        for r in _rows(registry, "drug_exposure")
        if r["person_id"] in (1, 3)
    )
    assert drugs == [
        (D(2021, 1, 15), "prednisone", 20.0, "mg", "QD", "IR", "oral", D(2021, 4, 30)),
        (D(2021, 3, 5), "tofacitinib", 5.0, "mg", "BID", "IR", "oral", D(2022, 3, 4)),
        (D(2021, 5, 1), "prednisone", 10.0, "mg", "QD", "IR", "oral", D(2021, 8, 1)),
        (D(2022, 1, 12), "ruxolitinib", 1.0, "mg", "BID", "TOP", "topical", None),
    ]
    med = next(r for r in _rows(registry, "drug_exposure") if r["ingredient"] == "baricitinib")
    assert med["source_record"] == "2/baseline_arm_1/medications/1"
    events = {r["person_id"]: r for r in _rows(registry, "adverse_event")}
    assert (
        events[2]["term"],
        events[2]["grade"],
        events[2]["serious"],
        events[2]["outcome"],
        events[2]["suspected_drug"],
        events[2]["led_to_discontinuation"],
    ) == ("pneumonia", 3, True, "recovering", "baricitinib", True)
    assert (events[1]["serious"], events[1]["led_to_discontinuation"]) == (False, False)
    (ck,) = _rows(registry, "laboratory")  # 15.5 ukat/L = 930 U/L (1 ukat/L = 60 U/L)
    assert (
        ck["test"],
        ck["loinc"],
        ck["result_date"],
        ck["value"],
        ck["unit"],
        ck["uln"],
        ck["uln_unit"],
        ck["source_value"],
        ck["source_unit"],
    ) == ("ck", "2157-6", D(2021, 3, 1), 930.0, "U/L", 192.0, "U/L", 15.5, "ukat/L")
    subtypes = {
        r["person_id"]: (r["subtype"], r["classified_date"]) for r in _rows(registry, "dm_subtype")
    }
    assert subtypes[7] == ("hypomyopathic", D(2014, 2, 2))


def test_assessments_visits_and_computed_scores(imported: tuple[Path, ImportResult]) -> None:
    registry, _ = imported
    rows = _rows(registry, "assessment")
    visits = {
        (r["person_id"], r["instrument"], r["visit_id"], r["assessment_date"])
        for r in rows
        if r["person_id"] == 7
    }
    assert visits == {
        (7, "cdasi", "7/baseline_arm_1", D(2022, 6, 1)),
        (7, "cdasi", "7/unscheduled_arm_1/1", D(2022, 7, 15)),
        (7, "cdasi", "7/unscheduled_arm_1/2", D(2022, 9, 30)),
    }
    # one administration, one assessment_id: 81 item rows each
    ids: dict[int, int] = {}
    for r in rows:
        if r["instrument"] == "cdasi":
            ids[r["assessment_id"]] = ids.get(r["assessment_id"], 0) + 1
    assert len(ids) == 17 and set(ids.values()) == {81}
    # no CDASI score is stored: studies compute activity from the items
    assert not [
        r
        for r in rows
        if r["instrument"] == "cdasi" and r["measure"] in ("activity", "damage", "total")
    ]
    scores = {
        (r["person_id"], r["instrument"], r["measure"]): r["value"]
        for r in rows
        if r["measure"] in ("total", "score")
    }
    # MMT-8 unilateral total: neck flexors 9 + seven right-side grades of 9 = 72.
    # HAQ-DI: category maxima 1, 1, 1, 2, 1, 2, 1, 2 (walking's aid keeps it at 2) -> 11 / 8.
    assert scores[(1, "mmt8", "total")] == 72.0 and scores[(2, "mmt8", "total")] == 72.0
    assert scores[(1, "haq", "score")] == 1.375
    core = sorted(
        (r["instrument"], r["assessment_date"], r["value"])
        for r in rows
        if r["person_id"] == 1 and r["instrument"] in ("pga", "ptga", "ema", "pruritus_nrs")
    )
    assert core == [
        ("ema", D(2021, 3, 1), 3.0),
        ("pga", D(2021, 3, 1), 6.0),
        ("pga", D(2021, 4, 2), 4.0),
        ("pga", D(2021, 5, 28), 3.0),
        ("pruritus_nrs", D(2021, 3, 1), 8.0),
        ("pruritus_nrs", D(2021, 5, 28), 3.0),
        ("ptga", D(2021, 3, 1), 7.0),
    ]


def test_reimport_adds_nothing_and_a_changed_value_updates_its_row(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(TEMPLATE_EXPORT, folder)
    registry = tmp_path / "r.duckdb"
    first = write_import(Reader(folder), registry)
    again = write_import(Reader(folder), registry)
    assert (again.status, again.records_in, again.stored, again.rejected) == ("stored", 8, 8, 0)
    assert (again.rows("added"), again.rows("updated")) == (0, 0)
    assert again.rows("unchanged") == first.rows("added")
    set_cell(folder / "records.csv", "1", "pga", "5", event="week_4_arm_1")
    changed = write_import(Reader(folder), registry)
    assert (changed.rows("added"), changed.rows("updated")) == (0, 1)
    pga = [
        r
        for r in _rows(registry, "assessment")
        if r["instrument"] == "pga"
        and r["person_id"] == 1
        and r["assessment_date"] == D(2021, 4, 2)
    ]
    assert [(r["value"], r["import_id"]) for r in pga] == [(5.0, 3)]
    assert len(_rows(registry, "assessment")) == first.tables["assessment"].added
