"""A differently named REDCap project imports through its mapping file
(examples/redcap/derm-clinic-mapping.yaml), and the bundled JAK study finds the cohort
counted by hand from the SYNTHETIC export (examples/redcap/README.md):

- 5 records (101, 102, 103, 104, 105-A); DM on >= 2 dates: not 105-A (one code): 4;
- a systemic JAK inhibitor: not 102 (ruxolitinib cream): 3;
- baseline CDASI from day -30 to 0: not 103 (the day-0 visit is 10 days after the start): 2;
- follow-up CDASI: 101 and 104 both: 2.

Patient 104 has Gottron's papules: CDASI activity by the items is 22 at baseline and 11 at
the last follow-up (erythema 2 counted twice), where the project's calculated field says 20
and 10 (it forgets the papules). The import never takes the calculated field.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from myositis.errors import SourceError
from myositis.registry import connect
from myositis.sources.redcap import Reader
from myositis.sources.write import ImportResult, write_import
from myositis.study.runner import study_cohort
from myositis.study.spec import bundled_spec_path, load_spec

from .conftest import DERM, DERM_MAPPING, DERM_RECORDS, read_rows

D = dt.date


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportResult]:
    registry = tmp_path_factory.mktemp("derm") / "registry.duckdb"
    return registry, write_import(Reader(DERM, mapping=DERM_MAPPING), registry)


def _rows(registry: Path, table: str) -> list[dict[str, object]]:
    con = connect(registry)
    try:
        return list(con.table(table).to_pyarrow().to_pylist())
    finally:
        con.disconnect()


def test_the_jak_study_finds_the_cohort_counted_by_hand(
    imported: tuple[Path, ImportResult],
) -> None:
    registry, result = imported
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 5, 5, 0)
    assert result.source == "redcap:derm-clinic"
    cohort = study_cohort(connect(registry), load_spec(bundled_spec_path("jak-refractory-dm")))
    assert [s.remaining for s in cohort.attrition] == [5, 4, 3, 2, 2]
    found = {
        p.person_id: (p.site, p.ingredient, p.baseline_activity, p.followup_activity, p.race)
        for p in cohort.patients
    }
    assert found == {
        101: ("derm-clinic", "tofacitinib", 20.0, 10.0, "White"),
        104: ("derm-clinic", "tofacitinib", 22.0, 11.0, "White"),
    }


def test_calculated_fields_are_never_imported_and_the_report_says_so(
    imported: tuple[Path, ImportResult],
) -> None:
    registry, result = imported
    records = read_rows(DERM / DERM_RECORDS)
    calc = {
        row[0]: row[records[0].index("cdasi_act_calc")]
        for row in records[1:]
        if row[records[0].index("redcap_event_name")] == "day_0_arm_1"
        and not row[records[0].index("redcap_repeat_instrument")]
    }
    assert calc["104"] == "20"  # the project's own (wrong) score, in its export
    assert not [
        r for r in _rows(registry, "assessment") if r["value"] == 20.0 and r["person_id"] == 104
    ]
    (note,) = [w for w in result.warnings if "calculated field" in w]
    assert note.startswith(
        "1 calculated field(s) of the project were not imported (cdasi_act_calc)"
    )
    assert any(w.startswith("1 identifier field(s)") and "mrn" in w for w in result.warnings)
    assert any("consent_dt (2)" in w for w in result.warnings)  # the screening form's date


def test_value_maps_units_code_systems_and_events(imported: tuple[Path, ImportResult]) -> None:
    registry, _ = imported
    person = {r["source_id"]: r for r in _rows(registry, "person")}
    assert (person["101"]["sex"], person["101"]["birth_year"], person["103"]["sex"]) == (
        "F",
        1971,
        "M",
    )
    assert person["103"]["race"] == "More than one race" and person["105-A"]["race"] is None
    assert person["105-A"]["person_id"] == 105  # a record id that is no number gets a free id
    drugs = {(r["person_id"], r["ingredient"]): r for r in _rows(registry, "drug_exposure")}
    cream = drugs[(102, "ruxolitinib")]
    assert (cream["formulation"], cream["route"], cream["dose"], cream["dose_unit"]) == (
        "TOP",
        "topical",
        1.0,
        "mg",
    )
    tofa = drugs[(101, "tofacitinib")]
    assert (tofa["code_system"], tofa["code"], tofa["frequency"], tofa["start_date"]) == (
        "RXNORM",
        "1357536",
        "BID",
        D(2021, 3, 2),
    )
    assert drugs[(104, "prednisone")]["code_system"] is None  # no code: no code system
    dx = sorted(
        (r["code_system"], r["code"]) for r in _rows(registry, "diagnosis") if r["person_id"] == 101
    )
    assert dx == [("ICD10CM", "M33.10"), ("ICD10CM", "M33.12")]
    subtypes = {r["person_id"]: r["subtype"] for r in _rows(registry, "dm_subtype")}
    assert subtypes == {
        101: "amyopathic",
        102: "classic_active_myositis",
        103: "classic_active_myositis",
        104: "hypomyopathic",
        105: "amyopathic",
    }
    labs = sorted(
        (r["result_date"], r["value"], r["uln"], r["source_unit"])
        for r in _rows(registry, "laboratory")
        if r["person_id"] == 104
    )
    assert labs == [(D(2021, 7, 1), 900.0, 190.0, "U/L"), (D(2022, 1, 5), 160.0, 190.0, "U/L")]
    visits = {r["visit_id"] for r in _rows(registry, "assessment") if r["person_id"] == 104}
    assert visits == {"104/baseline", "104/month-3", "104/month-6"}  # events -> visits
    itch = [r["value"] for r in _rows(registry, "assessment") if r["instrument"] == "pruritus_nrs"]
    assert itch == [6.0]


def test_the_command_line_with_a_mapping(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "myositis.cli",
            "import",
            "redcap",
            str(DERM),
            "--mapping",
            str(DERM_MAPPING),
            "--into",
            str(tmp_path / "r.duckdb"),
            "--report",
            str(tmp_path / "rep"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "records read 5: stored 5, rejected 0 (in = stored + rejected: yes)" in out.stdout
    assert "1 calculated field(s) of the project were not imported" in out.stderr
    report = json.loads((tmp_path / "rep" / "import-1.json").read_text())
    assert (report["records_in"], report["stored"], report["rejected"], report["balanced"]) == (
        5,
        5,
        0,
        True,
    )
    assert report["mapping"] == str(DERM_MAPPING)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"person": {"source_id": "mrn", "sex": "mrn"}},
            "person.sex: field 'mrn' is an identifier (Identifier? = y in the dictionary)",
        ),
        (
            {
                "assessments": [
                    {
                        "form": "skin_exam",
                        "instrument": "cdasi",
                        "measures": {"activity": "cdasi_act_calc"},
                    }
                ]
            },
            "field 'cdasi_act_calc' is a calculated field: REDCap calculations are never imported",
        ),
        (
            {"person": {"sex": {"field": "gender", "values": {0: "F"}}}},
            "values: gives no value for code(s) 1 of field 'gender'",
        ),
        (
            {"person": {"sex": {"field": "gender", "values": {0: "F", 1: "M", 2: "U"}}}},
            "values: code(s) 2 are not choices of field 'gender'",
        ),
        (
            {"person": {"birth_date": "birth_yr"}},
            "field 'birth_yr' (text validated as integer) cannot fill person.birth_date (a date)",
        ),
        (
            {"tables": {"adverse_event": {"form": "safety", "columns": {"term": "ae_descr"}}}},
            "tables.adverse_event.columns.term: field 'ae_descr' is not in the data dictionary",
        ),
        (
            {"person": {"race": {"field": "race___14"}}},
            "checkbox field 'race' has no choice '14' (its choices: 10, 11, 12, 13)",
        ),
        (
            {
                "assessments": [
                    {
                        "form": "skin_exam",
                        "instrument": "cdasi",
                        "item_fields": "cd_{item}",
                        "measures": {"activity": "md_global"},
                    }
                ]
            },
            "cdasi maps items and the score(s) activity",
        ),
        (
            {"tables": {"laboratory": {"form": "bloods", "columns": {"value": "ck_result"}}}},
            "map the laboratory's result to source_value",
        ),
    ],
)
def test_a_mapping_that_does_not_fit_the_dictionary_is_refused(
    tmp_path: Path, edit: dict[str, object], message: str
) -> None:
    import yaml

    document = yaml.safe_load(DERM_MAPPING.read_text())
    for key, value in edit.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(document))
    with pytest.raises(SourceError, match="the mapping does not fit the data dictionary") as caught:
        write_import(Reader(DERM, mapping=mapping), tmp_path / "r.duckdb")
    assert message in str(caught.value)
    assert not (tmp_path / "r.duckdb").exists()


def test_a_death_form_fills_the_death_table(tmp_path: Path) -> None:
    """A mapping's ``tables.death`` (here, for the test, the consent form: records 101 and 105-A
    have one, dated 2021-02-01 and 2021-08-01) gives one death per form instance, its cause a
    constant code whose ``system`` fills ``cause_code_system``. Every record is still stored
    (5 read, 5 stored); the records of the two persons dated more than 60 days after those
    dates (their follow-up visits) are counted in the warnings, not refused."""
    import yaml

    document = yaml.safe_load(DERM_MAPPING.read_text())
    document["tables"]["death"] = {
        "form": "consent",
        "columns": {
            "death_date": "consent_dt",
            "cause_code": {"value": "C34.90", "system": "ICD10CM"},
        },
    }
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(document))
    registry = tmp_path / "r.duckdb"
    result = write_import(Reader(DERM, mapping=mapping), registry)
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 5, 5, 0)
    sources = {r["person_id"]: r["source_id"] for r in _rows(registry, "person")}
    deaths = sorted(
        (sources[r["person_id"]], r["death_date"], r["cause_code_system"], r["cause_code"])
        for r in _rows(registry, "death")
    )
    assert deaths == [
        ("101", D(2021, 2, 1), "ICD10CM", "C34.90"),
        ("105-A", D(2021, 8, 1), "ICD10CM", "C34.90"),
    ]
    # 101's visits from month 3 (2021-06-01) and her adverse event of 2021-05-05; 105-A's
    # follow-up visits (day 0 of 101 is 28 days after, not counted)
    late = [w for w in result.warnings if "after the person's death" in w]
    assert [(w.split(":")[0], w.split(" of ")[1].split(" person")[0]) for w in late] == [
        ("assessment.assessment_date", "2"),
        ("adverse_event.onset_date", "1"),
    ]
    assert "(first: person_id 101, onset_date 2021-05-05 at " in late[1]
