"""Site packages from the synthetic two-site registry, end to end through the CLI.

A small SYNTHETIC registry (600 persons, 2 sites, DM enriched so that each site has a cohort)
is analysed with the bundled study (``myositis study run``) on the whole registry, which writes
one package per site with the default small-cell threshold (5), and on each site's own registry
(split by ``person.site``, as each hospital holds only its rows) with the threshold set to 1 so
that nothing is hidden. The two sites' own packages, combined with ``myositis evidence
combine``, must give the whole-registry counts, means and person-time exactly; and no package
written with the default threshold may hold a row-level value or an unsuppressed small cell.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from myositis.cli import main
from myositis.network.packages import read_site_package
from myositis.registry.schema import TABLES
from myositis.sources.synthetic import generate_registry
from myositis.study.spec import bundled_spec_path

SITES = ("synthetic-site-1", "synthetic-site-2")
THRESHOLD = 5


def cli(monkeypatch: pytest.MonkeyPatch, *args: str, code: int = 0) -> None:
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code


def split_by_site(registry: Path, site: str, target: Path) -> Path:
    """A copy of ``registry`` holding only the persons of ``site`` and their rows."""
    shutil.copy(registry, target)
    con = duckdb.connect(str(target))
    try:
        for table in TABLES:
            if table != "person" and "person_id" in TABLES[table]:
                con.execute(
                    f"DELETE FROM {table} WHERE person_id NOT IN "  # noqa: S608 (fixed names)
                    "(SELECT person_id FROM person WHERE site = ?)",
                    [site],
                )
        con.execute("DELETE FROM person WHERE site <> ?", [site])
    finally:
        con.close()
    return target


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("two-site")
    registry = generate_registry(
        root / "registry.duckdb", patients=600, sites=2, seed=7, dm_per_1000=200.0
    )
    bundled = bundled_spec_path()
    text = bundled.read_text(encoding="utf-8")
    assert re.search(r"small_cell_threshold: 5\b", text)
    unsuppressed = root / "threshold-1.yaml"
    unsuppressed.write_text(
        re.sub(r"small_cell_threshold: 5\b", "small_cell_threshold: 1", text), encoding="utf-8"
    )
    mp = pytest.MonkeyPatch()
    try:
        out: dict[str, Any] = {"root": root}
        # Whole registry: the reference numbers, and one package per site (threshold 5).
        cli(
            mp,
            "study",
            "run",
            str(bundled),
            "--data",
            str(registry),
            "--out",
            str(root / "whole"),
            "-q",
        )
        for i, site in enumerate(SITES, start=1):
            own = split_by_site(registry, site, root / f"site{i}.duckdb")
            cli(
                mp,
                "study",
                "run",
                str(unsuppressed),
                "--data",
                str(own),
                "--out",
                str(root / f"site{i}"),
                "-q",
                "--site-package",
                str(root / "packages" / f"site{i}.json"),
            )
    finally:
        mp.undo()
    out["whole"] = json.loads((root / "whole" / "results.json").read_text(encoding="utf-8"))
    out["sites"] = [
        json.loads((root / f"site{i}" / "results.json").read_text(encoding="utf-8")) for i in (1, 2)
    ]
    return out


def own_package(root: Path, run: str, site: str) -> Path:
    """The package ``study run --site-package`` wrote for a site's own registry: a verified,
    byte-for-byte copy of the run's only ``shareable/site-*.json``."""
    packages = sorted((root / run / "shareable").glob("site-*.json"))
    assert len(packages) == 1, packages  # a site's own registry gives its package only
    exported = root / "packages" / f"{run}.json"
    assert exported.read_bytes() == packages[0].read_bytes()
    assert read_site_package(exported).site == site
    return exported


def test_combined_site_packages_equal_the_whole_registry_analysis(
    runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, whole = runs["root"], runs["whole"]
    packages = [own_package(root, f"site{i}", site) for i, site in enumerate(SITES, start=1)]
    cli(monkeypatch, "evidence", "combine", *map(str, packages), "--out", str(root / "combined"))
    printed = capsys.readouterr().out
    combined = json.loads((root / "combined" / "combined.json").read_text(encoding="utf-8"))
    assert combined["spec_hash"] == runs["sites"][0]["spec_sha256"]
    totals = {name: entry["total"] for name, entry in combined["analyses"].items()}
    assert all(total is not None for total in totals.values()), totals

    n = whole["attrition"][-1]["remaining"]
    assert n >= 20 and all(t["denominator"] == n for k, t in totals.items() if "count" in t)
    response = whole["response"]["responders_at_followup"]
    assert (totals["cdasi_responders"]["count"], response["n"]) == (response["count"], n)
    therapy = whole["concomitant_therapy"]
    assert totals["tapered_or_stopped"]["count"] == therapy["tapered_or_stopped"]["count"]
    assert totals["monotherapy"]["count"] == therapy["monotherapy"]["count"]
    assert totals["dose_above_label"]["count"] == whole["dosing"]["above_label"]["count"]
    groups = {g["category"]: g["count"] for g in whole["baseline_characteristics"]["subtype_group"]}
    shares = {k: t["count"] for k, t in totals.items() if k.startswith("subtype_")}
    assert sorted(shares.values()) == sorted(c for c in groups.values() if c)
    assert sum(shares.values()) == sum(groups.values())

    ae = whole["adverse_events"]
    assert totals["adverse_events"]["events"] == ae["events"] > 0
    assert totals["adverse_events"]["person_time"] == pytest.approx(ae["patient_years"], rel=1e-12)
    assert totals["adverse_events"]["persons"] == n  # every cohort member's time is counted
    for name, key in (("cdasi_baseline", "baseline"), ("cdasi_improvement", "improvement")):
        expected = whole["cdasi"]["overall"][key]
        assert totals[name]["n"] == expected["n"] == n
        assert totals[name]["mean"] == pytest.approx(expected["mean"], rel=1e-12)
        assert totals[name]["sd"] == pytest.approx(expected["sd"], rel=1e-10)
    assert f"all sites: {response['count']}/{n}" in printed

    # Attrition is not in the packages yet (see the report); each site's own run adds up.
    steps = [s["remaining"] for s in whole["attrition"]]
    per_site = [[s["remaining"] for s in r["attrition"]] for r in runs["sites"]]
    assert [a + b for a, b in zip(*per_site, strict=True)] == steps


def central_packages(root: Path) -> list[Path]:
    """The packages the whole-registry run wrote, one per site, in site order."""
    packages = sorted((root / "whole" / "shareable").glob("site-*.json"))
    sites = [json.loads(p.read_text(encoding="utf-8"))["site"] for p in packages]
    assert sites == list(SITES)
    return packages


def test_a_sites_own_package_matches_its_share_of_the_whole_registry_run(
    runs: dict[str, Any],
) -> None:
    """The central run (threshold 5) writes one package per site; a site running on its own
    rows (threshold 1) has the same aggregates, of which the central package hides some
    (person-time equal up to floating-point summation order)."""
    root = runs["root"]
    for i, central_path in enumerate(central_packages(root), start=1):
        own = json.loads(own_package(root, f"site{i}", SITES[i - 1]).read_text(encoding="utf-8"))
        central = json.loads(central_path.read_text(encoding="utf-8"))
        assert own["spec_hash"] != central["spec_hash"]  # the threshold is part of the spec
        for section, entries in central["aggregates"].items():
            assert entries.keys() == own["aggregates"][section].keys()
            for name, cell in entries.items():
                mine = own["aggregates"][section][name]
                assert "suppressed" not in mine
                for field, value in cell.items():
                    if field == "suppressed":
                        assert all(cell[f] is None for f in value)
                    elif isinstance(value, str):  # a partition's name
                        assert value == mine[field], (name, field)
                    elif value is not None:
                        assert value == pytest.approx(mine[field], rel=1e-12), (name, field)


#: Every field an aggregate may have; anything else (an id, a birth date, a list of values)
#: would be row-level.
_FIELDS = {"count", "denominator", "partition", "mean", "sd", "n", "events", "person_time"}
_FIELDS |= {"persons", "suppressed"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _walk(v, f"{path}[{i}]")]
    return [(path, value)]


def _small(value: Any) -> bool:
    return value is not None and 0 < value < THRESHOLD


def test_shared_packages_hold_no_row_level_value_and_no_small_cell(runs: dict[str, Any]) -> None:
    root = runs["root"]
    packages = central_packages(root)
    hidden = 0
    partition_hidden = 0
    for path in packages:
        content = json.loads(path.read_text(encoding="utf-8"))
        assert content["small_cell_threshold"] == THRESHOLD
        assert set(content) == {
            "aggregates",
            "checksum",
            "format",
            "format_version",
            "site",
            "small_cell_threshold",
            "software",
            "spec_hash",
        }
        for where, value in _walk(content["aggregates"]):
            assert where.count(".") == 3, where  # .section.name.field
            assert where.rsplit(".", 1)[-1].split("[")[0] in _FIELDS, where
            assert not (isinstance(value, str) and _DATE.search(value)), (where, value)
            if "[" in where:  # the only lists are the names of suppressed fields
                assert where.rsplit(".", 1)[-1].startswith("suppressed["), where
            else:
                assert (
                    value is None or isinstance(value, int | float) or where.endswith(".partition")
                ), (where, value)
        aggregates = content["aggregates"]
        partitions: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        for name, cell in aggregates["counts"].items():
            c, d = cell["count"], cell["denominator"]
            assert not _small(c) and not _small(d), (path.name, name, cell)
            if c is not None and d is not None:
                assert not _small(d - c), (path.name, name, cell)  # complement
            hidden += c is None
            if "partition" in cell:
                partitions.setdefault((cell["partition"], d), []).append(cell)
        for members in partitions.values():
            # One hidden cell of a partition could be recovered as denominator - sum(others).
            missing = sum(m["count"] is None for m in members)
            assert missing != 1, (path.name, members)
            partition_hidden += missing
        for name, cell in aggregates.get("means", {}).items():
            assert not _small(cell["n"]), (path.name, name, cell)
        for name, cell in aggregates.get("rates", {}).items():
            assert not _small(cell["events"]), (path.name, name, cell)
            assert not _small(cell.get("persons")), (path.name, name, cell)
            assert "persons" in cell  # so that the writer can hide the time of few persons
            if cell["persons"] is None:
                assert cell["person_time"] is None, (path.name, name, cell)
    # The registry is small enough that suppression, also complementary, really happens.
    assert hidden > 0 and partition_hidden >= 2


def test_site_package_option_on_a_multi_site_registry(
    runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--site-package FILE --site NAME`` exports that site's package of a multi-site run;
    without ``--site`` (or with a site the registry lacks) the run says which sites exist and
    exits 2 before writing anything; ``--site`` alone is refused before anything runs."""
    root = runs["root"]
    registry, spec = str(root / "registry.duckdb"), str(bundled_spec_path())
    target = root / "exported" / "site-2.json"
    run = ("study", "run", spec, "--data", registry, "--out", str(root / "again"), "-q")
    cli(monkeypatch, *run, "--site-package", str(target), "--site", SITES[1])
    assert target.read_bytes() == central_packages(root)[1].read_bytes()
    assert f"site package: {target.resolve()}" in capsys.readouterr().out

    # refused before the run writes anything (the registry's sites are known up front)
    cli(monkeypatch, *run, "--site-package", str(root / "x.json"), code=2)
    err = capsys.readouterr().err
    assert f"the registry holds 2 sites ({', '.join(SITES)}); name the one" in err
    cli(monkeypatch, *run, "--site-package", str(root / "x.json"), "--site", "elsewhere", code=2)
    err = capsys.readouterr().err
    assert "--site 'elsewhere': the registry has no person from that site" in err
    assert not (root / "x.json").exists()
    cli(monkeypatch, *run, "--site", SITES[0], code=2)
    assert "--site names the site of --site-package FILE" in capsys.readouterr().err
    (root / "a-file").write_text("", encoding="utf-8")
    cli(
        monkeypatch,
        *run,
        "--site-package",
        str(root / "a-file" / "x.json"),
        "--site",
        SITES[0],
        code=2,
    )
    assert "cannot write it" in capsys.readouterr().err
