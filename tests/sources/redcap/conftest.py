"""Shared inputs of the REDCap tests: the SYNTHETIC example exports of examples/redcap (made
by examples/redcap/make_exports.py; README.md there lists the patients) and helpers to edit a
copy of an export."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from myositis.sources.contract import Intake
from myositis.sources.redcap import Reader

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "redcap"
TEMPLATE_EXPORT = EXAMPLES / "template-export"
DERM = EXAMPLES / "derm-clinic"
DERM_MAPPING = EXAMPLES / "derm-clinic-mapping.yaml"
DERM_RECORDS = "DermClinic_DATA_2024-05-01_1200.csv"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A writable copy of the template project's export."""
    folder = tmp_path / "export"
    shutil.copytree(TEMPLATE_EXPORT, folder)
    return folder


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(
    path: Path,
    record: str,
    column: str,
    value: str,
    *,
    event: str = "baseline_arm_1",
    form: str = "",
    instance: str = "",
) -> int:
    """Set one cell of a record export; return its line number (the header is line 1)."""
    rows = read_rows(path)
    header = rows[0]
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, row, strict=True))
        if (
            row[0],
            cells.get("redcap_event_name", ""),
            cells["redcap_repeat_instrument"],
            cells["redcap_repeat_instance"],
        ) == (record, event, form, instance):
            row[header.index(column)] = value
            write_rows(path, rows)
            return number
    raise AssertionError(f"no row {record}/{event}/{form}/{instance}")


def read_only(source: Path | str, **options: object) -> Intake:
    """Run the reader alone (no registry): what it counts and the problems it reports."""
    intake = Intake()
    for _ in Reader(source, **options).batches(intake):  # type: ignore[arg-type]
        pass
    return intake
