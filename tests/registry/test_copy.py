"""``registry copy`` refuses destinations it cannot fill, before writing anything; its output
reports every table's rows and the fingerprint; memory stays bounded by the batch size (the
copy on every engine, its atomicity and --replace are in tests/conformance/test_copy.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from myositis.cli import main
from myositis.errors import RegistryError
from myositis.registry.connect import connect
from myositis.registry.copy import copy_registry
from myositis.registry.fingerprint import data_fingerprint
from myositis.registry.store import read_metadata

MIN2022 = Path(__file__).resolve().parents[2] / "examples" / "min2022"


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("{tmp}", "is a folder; a copy goes into a DuckDB file"),
        ("{tmp}/registry.csv", "a DuckDB registry file must end in .duckdb or .db"),
        ("ftp://host/registry", "unknown registry kind 'ftp'"),
        ("postgresql://u@h:5432/db?schema=bad name", "schema 'bad name' is not a usable name"),
        (str(MIN2022), "is a folder"),
    ],
)
def test_bad_destinations_refused_before_anything_is_read(
    tmp_path: Path, destination: str, message: str
) -> None:
    with pytest.raises(RegistryError, match=message.replace(".", r"\.")):
        copy_registry(MIN2022, destination.format(tmp=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_source_and_destination_the_same(tmp_path: Path) -> None:
    first = tmp_path / "r.duckdb"
    copy_registry(MIN2022, first)
    with pytest.raises(RegistryError, match="the source and the destination are the same"):
        copy_registry(first, tmp_path / ".." / tmp_path.name / "r.duckdb", replace_existing=True)


def test_a_bad_source_is_refused_with_its_own_message(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        copy_registry(tmp_path / "missing.duckdb", tmp_path / "out.duckdb")
    assert not (tmp_path / "out.duckdb").exists()


def test_small_batches_give_the_same_copy(tmp_path: Path) -> None:
    """Batches of 7 rows: every table crosses batch boundaries (memory is bounded by the
    batch, not the table); the copy's fingerprint is the source's."""
    result = copy_registry(MIN2022, tmp_path / "r.duckdb", batch_rows=7)
    con = connect(tmp_path / "r.duckdb")
    assert data_fingerprint(con) == data_fingerprint(connect(MIN2022)) == result.fingerprint
    assert result.rows["person"] == con.table("person").count().execute() == 18
    assert read_metadata(con)["data_fingerprint"] == result.fingerprint


def test_the_command_reports_rows_and_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "copy.duckdb"
    monkeypatch.setattr(sys, "argv", ["myositis", "registry", "copy", str(MIN2022), str(target)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "person                       18 rows" in out
    assert f"data fingerprint {data_fingerprint(connect(MIN2022))}" in out
    assert f"copied {MIN2022} -> {target} in " in out
