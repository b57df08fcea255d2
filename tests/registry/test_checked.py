"""The checks of a study run before its cohort (myositis.registry.checked): the integrity rules,
the data fingerprint, the coded values and the records after a death, made again except on a
DuckDB file that passed them and has not changed since; any write to the file, even with its
modification time put back, makes the next run check again, and a registry that breaks a rule
is refused on every run."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from myositis.errors import RegistryIntegrityError
from myositis.registry import checked, connect
from myositis.registry.checked import IntegrityStep, RegistryChecks
from myositis.registry.connect import parse_location
from myositis.registry.fingerprint import Fingerprint, data_fingerprint
from myositis.registry.store import read_metadata
from registry.broken import BORN, D, dx, person, registry

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(folder))
    monkeypatch.delenv("MYOSITIS_INTEGRITY_CACHE", raising=False)
    return folder


def _clean(path: Path) -> Path:
    con = registry(path, person=[person(1), person(2)], diagnosis=[dx(1, D(2020, 1, 1))])
    con.disconnect()
    return path


def _run(path: Path | str) -> tuple[IntegrityStep, Fingerprint, list[str], list[str]]:
    """The four checks, in a study run's order, on a new connection."""
    con = connect(path)
    try:
        checks = RegistryChecks(con, parse_location(path))
        integrity = checks.integrity()
        fingerprint = checks.fingerprint(read_metadata(con))
        found = (integrity, fingerprint, checks.coded_values(), checks.after_death())
        checks.keep()
        return found
    finally:
        con.disconnect()


def _step(path: Path | str) -> IntegrityStep:
    return _run(path)[0]


def _no_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("checked again")

    for name in (
        "check_integrity",
        "verified_fingerprint",
        "vocabulary_problems",
        "records_after_death",
    ):
        monkeypatch.setattr(checked, name, refuse)


def _write(path: Path, sql: str) -> None:
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.close()


def test_an_unchanged_file_that_passed_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _own_cache: Path
) -> None:
    path = _clean(tmp_path / "r.duckdb")
    first, fingerprint, unmatched, late = _run(path)
    assert first.method == "checked" and first.checked_at
    assert fingerprint.method == "computed"  # made by hand: no fingerprint was recorded
    assert len(list((_own_cache / "checked").glob("*.json"))) == 1
    _no_check(monkeypatch)
    again, same, notes, late_again = _run(path)
    assert (again.method, again.checked_at) == ("unchanged", first.checked_at)
    assert "has not changed since" in again.detail
    assert again.as_dict()["method"] == "unchanged"
    assert (same.value, same.method, notes) == (fingerprint.value, "computed", unmatched)
    assert late == late_again == []
    assert same.value == data_fingerprint(connect(path))
    assert same.detail.startswith(f"obtained by a run at {first.checked_at}: computed now")
    assert same.detail.endswith("the file has not changed since, so it was not computed again")


def test_records_long_after_a_death_are_a_note_kept_with_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Person 1 died on 1 March 2020; a diagnosis of 1 June (92 days later, more than the 60
    days OHDSI's DQD allows) is a note, found by the first run and reused by the next."""
    death = {"person_id": 1, "death_date": D(2020, 3, 1)}
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1), person(2)],
        diagnosis=[dx(1, D(2020, 1, 1)), dx(1, D(2020, 6, 1)), dx(2, D(2020, 6, 1))],
        death=[death],
    )
    con.disconnect()
    *_, late = _run(tmp_path / "r.duckdb")
    assert len(late) == 1
    assert late[0].startswith(
        "Records dated more than 60 days after the person's death: diagnosis.diagnosis_date: "
        "1 row(s) of 1 person(s) (first: person_id 1, diagnosis_date 2020-06-01"
    )
    _no_check(monkeypatch)
    assert _run(tmp_path / "r.duckdb")[3] == late


def test_a_file_written_to_is_checked_again_and_refused_when_broken(tmp_path: Path) -> None:
    path = _clean(tmp_path / "r.duckdb")
    assert _step(path).method == "checked"
    # person 2 recorded twice: the rows no longer keep the rules
    _write(
        path,
        "INSERT INTO person (person_id, site, sex, birth_date) VALUES (2, 's1', 'F', "
        f"DATE '{BORN.isoformat()}')",
    )
    with pytest.raises(RegistryIntegrityError, match="person_id: 1 value"):
        _step(path)
    with pytest.raises(RegistryIntegrityError):  # a failure is never kept
        _step(path)


def test_a_written_file_with_its_modification_time_put_back_is_checked_again(
    tmp_path: Path,
) -> None:
    path = _clean(tmp_path / "r.duckdb")
    assert _step(path).method == "checked"
    before = path.stat()
    _write(path, "UPDATE diagnosis SET code = 'M33.11'")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert _step(path).method == "checked"  # the status-change time moved: no tool sets it


def test_a_change_of_software_checks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _clean(tmp_path / "r.duckdb")
    assert _step(path).method == "checked"
    monkeypatch.setattr(checked, "software_digest", lambda: "0.0.0+another")
    assert _step(path).method == "checked"


def test_switched_off_or_not_a_duckdb_file_checks_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _own_cache: Path
) -> None:
    path = _clean(tmp_path / "r.duckdb")
    monkeypatch.setenv("MYOSITIS_INTEGRITY_CACHE", "off")
    assert [_step(path).method, _step(path).method] == ["checked", "checked"]
    monkeypatch.delenv("MYOSITIS_INTEGRITY_CACHE")
    assert [_step(MIN2022).method, _step(MIN2022).method] == ["checked", "checked"]
    assert not (_own_cache / "checked").exists()


def test_an_unwritable_cache_folder_only_means_checking_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _clean(tmp_path / "r.duckdb")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("MYOSITIS_CACHE_DIR", str(blocked))
    assert [_step(path).method, _step(path).method] == ["checked", "checked"]


def test_the_command_says_when_the_checks_were_not_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from myositis.cli import main
    from myositis.registry.copy import copy_registry

    copy_registry(MIN2022, tmp_path / "min2022.duckdb")
    said = []
    for k in range(2):
        args = ["study", "run", "jak-refractory-dm", "--data", str(tmp_path / "min2022.duckdb")]
        monkeypatch.setattr(sys, "argv", ["myositis", *args, "--out", str(tmp_path / f"r{k}")])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code in (0, None)
        said.append(capsys.readouterr().out)
    assert "not checked again" not in said[0]
    assert "registry: not checked again, unchanged since its checks at " in said[1]
    assert "(myositis registry check checks everything)" in said[1]
