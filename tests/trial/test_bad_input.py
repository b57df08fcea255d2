"""Bad input through the command line (issue 12, "Bad input"): a visit outside its window
(bird.yaml's data_checks stop on it), a missing core set measure, overlapping dose records, a
randomisation request for a stratum not in the plan, a second allocation for a patient and a
taper schedule that does not reach zero. Each ends with one clear message on standard error,
exit status 2 and nothing written (no output folder; the stores unchanged)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from myositis.trial.spec import bundled_trial_path, load_trial_spec
from myositis.trial.synthetic import SyntheticTrial, generate_trial

from .conftest import cli

Rows = list[dict[str, Any]]


@cache
def _trial() -> SyntheticTrial:
    return generate_trial(load_trial_spec("bird"), seed=7)


def _registry(tmp_path: Path, table: str, change: Callable[[Rows], Rows]) -> Path:
    """The synthetic trial as a folder registry, with ``change`` applied to one table."""
    trial = _trial()
    rows = change(trial.tables[table].to_pylist())
    tables = trial.tables | {table: pa.Table.from_pylist(rows, schema=trial.tables[table].schema)}
    folder = tmp_path / "registry"
    SyntheticTrial(tables, trial.enrolment, trial.allocation, trial.truth, trial.screening).write(
        folder
    )
    return folder


def _endpoints(tmp_path: Path, folder: Path) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    run = cli(
        "trial",
        "endpoints",
        "bird",
        "--data",
        folder,
        "--enrolment",
        folder / "enrolment.parquet",
        "-o",
        out,
    )
    assert "Traceback" not in run.err and run.out == ""
    return run.code, run.err, out


def _day(person: int, day: int) -> dt.date:
    enrol = {r["person_id"]: r for r in _trial().enrolment.to_pylist()}
    start: dt.date = enrol[person]["randomisation_date"]
    return start + dt.timedelta(days=day)


def test_a_visit_outside_its_window_stops_the_derivation(tmp_path: Path) -> None:
    late = _day(1002, 140)  # between week16 (day 105-119) and week24 (day 161-175)

    def add(rows: Rows) -> Rows:
        return [
            *rows,
            dict(
                assessment_id=99999,
                person_id=1002,
                assessment_date=late,
                instrument="pga",
                measure="score",
                value=2.0,
            ),
        ]

    code, err, out = _endpoints(tmp_path, _registry(tmp_path, "assessment", add))
    assert code == 2 and not out.exists()
    assert f"column 'assessment_date': value '{late}'" in err
    assert (
        "person 1002: pga (assessment 99999) on day 140 after randomisation is outside every "
        "visit window (week16: day 105 to 119; week24: day 161 to 175)" in err
    )


def test_a_missing_core_set_measure_stops_the_derivation(tmp_path: Path) -> None:
    def drop(rows: Rows) -> Rows:
        last = [r for r in rows if r["person_id"] == 1001 and r["instrument"] == "haq"][-1]
        return [r for r in rows if r is not last]

    code, err, out = _endpoints(tmp_path, _registry(tmp_path, "assessment", drop))
    assert code == 2 and not out.exists()
    assert "person 1001, week24" in err
    assert (
        "not computable: no haq at week24 within the visit window (a missing core set "
        "measure)" in err
    )


def test_overlapping_dose_records_stop_the_derivation(tmp_path: Path) -> None:
    rows = _trial().tables["drug_exposure"].to_pylist()
    first, second = [r for r in rows if r["person_id"] == 1003][:2]

    def overlap(rows: Rows) -> Rows:
        return [
            r
            | (
                {"start_date": first["end_date"] - dt.timedelta(days=2)}
                if r["exposure_id"] == second["exposure_id"]
                else {}
            )
            for r in rows
        ]

    code, err, out = _endpoints(tmp_path, _registry(tmp_path, "drug_exposure", overlap))
    assert code == 2 and not out.exists()
    assert f"drug_exposure {second['exposure_id']}" in err
    assert f"overlaps drug_exposure {first['exposure_id']}" in err
    assert "end one regimen the day before the next starts" in err


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    run = cli(
        "trial",
        "allocation",
        "create",
        "bird",
        "--unblinded-dir",
        tmp_path / "u",
        "--blinded-dir",
        tmp_path / "b",
        "--seed",
        3,
        "--user",
        "stat",
    )
    assert run.code == 0, run.text
    first = cli(
        "trial",
        "randomise-next",
        "--blinded-dir",
        tmp_path / "b",
        "--patient",
        1001,
        "--stratum",
        "naive/methotrexate",
        "--user",
        "site1",
    )
    assert first.code == 0, first.text
    return tmp_path


def test_a_stratum_not_in_the_plan_is_refused(store: Path) -> None:
    before = _snapshot(store)
    run = cli(
        "trial",
        "randomise-next",
        "--blinded-dir",
        store / "b",
        "--patient",
        1002,
        "--stratum",
        "naive/mycophenolate",
        "--user",
        "site1",
    )
    assert run.code == 2 and run.out == ""
    assert (
        "stratum 'naive/mycophenolate' is not in the randomisation plan of bird; the strata "
        "are naive/methotrexate, naive/azathioprine" in run.err
    )
    assert "Nothing was allocated." in run.err
    assert _snapshot(store) == before


def test_a_second_allocation_for_a_patient_is_refused(store: Path) -> None:
    before = _snapshot(store)
    run = cli(
        "trial",
        "randomise-next",
        "--blinded-dir",
        store / "b",
        "--patient",
        1001,
        "--stratum",
        "relapsing/methotrexate",
        "--user",
        "site2",
    )
    assert run.code == 2 and run.out == ""
    assert "person 1001 was randomised already" in run.err and "by site1" in run.err
    assert "a patient is randomised once. Nothing was allocated." in run.err
    assert _snapshot(store) == before


def test_a_taper_that_does_not_reach_zero_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(bundled_trial_path("bird").read_text(encoding="utf-8"))
    data["prednisone_taper"]["steps"] = data["prednisone_taper"]["steps"][:-1]
    spec = tmp_path / "bird-no-zero.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    message = "does not reach zero: its last step gives 2.5 mg from day 84; add a final step"
    for args in (
        ["check", spec],
        [
            "allocation",
            "create",
            spec,
            "--unblinded-dir",
            tmp_path / "u",
            "--blinded-dir",
            tmp_path / "b",
            "--seed",
            1,
            "--user",
            "stat",
        ],
        [
            "report",
            spec,
            "--data",
            tmp_path / "none",
            "--enrolment",
            tmp_path / "none.csv",
            "-o",
            tmp_path / "out",
        ],
    ):
        run = cli("trial", *args)
        assert run.code == 2 and message in run.err and "prednisone_taper" in run.err
        assert run.out == "" and "Traceback" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bird-no-zero.yaml"]


def test_the_unblinded_report_needs_every_store_option(tmp_path: Path) -> None:
    run = cli(
        "trial",
        "report",
        "bird",
        "--data",
        tmp_path,
        "--enrolment",
        tmp_path / "e.csv",
        "--unblinded-dir",
        tmp_path / "u",
        "-o",
        tmp_path / "out",
    )
    assert run.code == 2 and "needs --blinded-dir, --unblinded-dir and --user" in run.err
    assert not (tmp_path / "out").exists()
