"""Shared synthetic registries for the registry tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from myositis.sources.synthetic import generate_registry

#: A small registry with many DM patients, so that every model feature occurs.
SMALL = {"patients": 20_000, "sites": 3, "seed": 11, "dm_per_1000": 10.0}


@pytest.fixture(scope="session")
def small_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "small.duckdb"
    return generate_registry(path, **SMALL)  # type: ignore[arg-type]
