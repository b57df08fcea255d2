"""``myositis registry copy`` on every engine, through the command line: out of the engine and
back in (the same rows and fingerprint as the CSV folder they came from), an existing registry
refused unless --replace, and a copy interrupted half-way leaving the destination as it was:
nothing where there was nothing, the previous registry where there was one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import myositis.registry.copy as copy_module
from conformance.engines import MIN2022, Engine, exists, run_cli, staging_left
from myositis.registry.connect import connect, parse_location
from myositis.registry.fingerprint import data_fingerprint
from myositis.registry.schema import TABLES
from myositis.registry.store import read_metadata


def _rows(con: Any, name: str) -> list[dict[str, Any]]:
    return con.table(name).order_by(list(TABLES[name].names)).to_pyarrow().to_pylist()


def _copied_from(url: str) -> tuple[str, str]:
    """The registry's recorded source and its fingerprint computed from every row."""
    con = connect(url)
    try:
        return read_metadata(con)["copied_from"], data_fingerprint(con)
    finally:
        con.disconnect()  # DuckDB: a file replaced later must not be read through this one


def test_copy_out_and_in_refuse_replace_and_survive_interruptions(
    engine: Engine, reference: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprint = data_fingerprint(reference.con)
    # out of the engine (its rows read back in batches) into a DuckDB file
    back = tmp_path / "back.duckdb"
    printed = run_cli("registry", "copy", engine.url, str(back), "--quiet")
    assert f"data fingerprint {fingerprint}" in printed
    con = connect(back)
    for name in TABLES:
        if name != "registry_metadata":
            assert _rows(con, name) == _rows(reference.con, name), name
    metadata = read_metadata(con)
    assert metadata["copied_from"] == parse_location(engine.url).describe()
    assert metadata["synthetic"] == "true"  # the source's metadata travels with the copy
    con.disconnect()

    # back into the engine, where a registry is then refused unless --replace
    target = engine.location("replaced")
    run_cli("registry", "copy", str(back), target, "--quiet")
    first = (str(back), fingerprint)
    assert _copied_from(target) == first
    refused = run_cli("registry", "copy", str(MIN2022), target, code=2)
    assert "already holds a registry" in refused and "--replace" in refused
    assert _copied_from(target) == first

    original = copy_module._batches

    def interrupted(*args: Any) -> Iterator[pa.Table]:  # the first table, then Ctrl-C
        yield from original(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(copy_module, "_batches", interrupted)
    fresh = engine.location("interrupted")
    run_cli("registry", "copy", str(MIN2022), fresh, code=130)
    assert not exists(engine, fresh) and staging_left(engine, fresh) == []
    run_cli("registry", "copy", str(MIN2022), target, "--replace", code=130)
    assert _copied_from(target) == first and staging_left(engine, target) == []
    monkeypatch.undo()

    run_cli("registry", "copy", str(MIN2022), target, "--replace", "--quiet")
    assert _copied_from(target) == (str(MIN2022), fingerprint)
