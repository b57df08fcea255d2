"""Shared inputs of the import tests: a copy of the bundled SYNTHETIC min2022 folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MIN2022 = Path(__file__).resolve().parents[2] / "examples" / "min2022"


@pytest.fixture
def sheets(tmp_path: Path) -> Path:
    """A writable copy of examples/min2022's table files (the spreadsheets to import)."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    for path in MIN2022.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    return folder
