"""The importer contract as a later reader uses it: the worked example of docs/sources.md (a
reader of a two-column text file of CK results) goes through the one writer, and a reader that
miscounts its records is stopped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from myositis.errors import SourceError
from myositis.progress import Progress, silent
from myositis.registry import connect
from myositis.sources.contract import Batch, Intake, Reader, rejected_status
from myositis.sources.write import write_import


class CkLines(Reader):
    """docs/sources.md, "A reader in 30 lines": lines 'MRN;date;value;unit;status'."""

    name = "ck-lines"

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        persons, labs = [], []
        lines = Path(self.location).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            intake.read()
            where = f"{Path(self.location).name}:{number}"
            mrn, date, value, unit, status = line.split(";")
            reason = rejected_status(status)
            if reason:
                intake.problem(where, reason, file=Path(self.location).name,
                               record=f"line {number}", field="status", value=status,
                               severity="rejected")  # fmt: skip
                continue
            persons.append({"source_id": mrn, "site": "lab", "source_record": mrn,
                            "source_location": where})  # fmt: skip
            labs.append({"person_source_id": mrn, "test": "ck",
                         "result_date": dt.date.fromisoformat(date),
                         "source_value": float(value), "source_unit": unit,
                         "source_record": f"{mrn}/{date}", "source_location": where})  # fmt: skip
        yield Batch("person", pa.Table.from_pylist(persons))
        yield Batch("laboratory", pa.Table.from_pylist(labs))


def test_the_worked_example_reader(tmp_path: Path) -> None:
    source = tmp_path / "ck.txt"
    source.write_text(
        "A1;2021-03-01;2;ukat/L;final\nA2;2021-03-02;150;U/L;final\nA3;2021-03-03;9;U/L;"
        "entered-in-error\n"
    )
    result = write_import(CkLines(source), tmp_path / "r.duckdb")
    assert (result.records_in, result.stored, result.rejected) == (3, 2, 1)
    con = connect(tmp_path / "r.duckdb")
    rows = con.table("laboratory").order_by("result_date").to_pyarrow().to_pylist()
    assert [(r["value"], r["unit"], r["source_location"]) for r in rows] == [
        (120.0, "U/L", "ck.txt:1"), (150.0, "U/L", "ck.txt:2"),
    ]  # fmt: skip
    assert con.table("import_log").to_pyarrow().to_pylist()[0]["source"] == "ck-lines"


class Miscounting(CkLines):
    name = "miscounting"

    def batches(self, intake: Intake, progress: Progress = silent) -> Iterator[Batch]:
        yield from super().batches(intake, progress)
        intake.read()  # a record read and neither stored nor rejected


def test_a_reader_that_loses_a_record_is_stopped(tmp_path: Path) -> None:
    source = tmp_path / "ck.txt"
    source.write_text("A1;2021-03-01;2;ukat/L;final\n")
    with pytest.raises(SourceError, match="accounting does not add up: 2 records read, 1 stored"):
        write_import(Miscounting(source), tmp_path / "r.duckdb")
    assert not (tmp_path / "r.duckdb").exists()
