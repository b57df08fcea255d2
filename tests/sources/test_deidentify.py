"""De-identified export: no identifier of the input in any output file; each person's dates
shifted back by one offset of 0-364 days (intervals kept); ages 90+ grouped; the same salt gives
the same export. Data: SYNTHETIC (examples/min2022 plus one invented person born in 1920)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from myositis.registry import connect
from myositis.registry.schema import IDENTIFIERS
from myositis.sources.contract import reader_for
from myositis.sources.deidentify import Deidentifier
from myositis.sources.export import export_registry
from myositis.sources.write import write_import


def _registry(sheets: Path, tmp_path: Path) -> Path:
    with (sheets / "person.csv").open("a") as handle:  # 90 or older on any export day
        handle.write("200,MRN-OLD-4711,synthetic-site-1,F,1920-06-15,,White,Unknown\n")
    with (sheets / "assessment.csv").open("a") as handle:
        handle.write("900,VISIT-REDCAP-12-3-baseline,200,2019-05-05,pga,score,3\n")
    registry = tmp_path / "r.duckdb"
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    return registry


def test_no_identifier_of_the_input_is_in_any_output_file(sheets: Path, tmp_path: Path) -> None:
    registry = _registry(sheets, tmp_path)
    con = connect(registry)
    identifiers = set()
    for table in ("person", "diagnosis", "drug_exposure", "assessment", "laboratory"):
        rows = con.table(table).to_pyarrow().to_pylist()
        for column in ("source_id", "source_record", "source_location", "visit_id"):
            identifiers |= {str(r[column]) for r in rows if r.get(column)}
    identifiers |= {r["location"] for r in con.table("import_log").to_pyarrow().to_pylist()}
    con.disconnect()
    assert {"SYN-0006", "MRN-OLD-4711", "VISIT-REDCAP-12-3-baseline", "person.csv:7"} <= identifiers
    out = tmp_path / "share"
    export_registry(registry, out, deidentify=True, salt_file=tmp_path / "site.salt")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        found = sorted(i for i in identifiers if i in text)
        assert not found, (path.name, found)
    record = json.loads((out / "deidentification.json").read_text())
    assert record["ages_over_89"]["persons"] == 1
    assert "person.source_id" in record["removed_columns"]
    # what was done, never the offsets or the salt themselves
    assert set(record) == {
        "deidentified", "export_date", "removed_columns", "removed_tables",
        "registry_metadata_kept", "dropped_on_request", "replaced_by_salted_hashes", "hash",
        "dates_shifted", "date_shift", "ages_over_89", "salt", "rows",
    }  # fmt: skip
    assert (tmp_path / "site.salt").read_text().strip() not in json.dumps(record)


def test_dates_shift_back_per_person_intervals_kept_and_ages_grouped(
    sheets: Path, tmp_path: Path
) -> None:
    registry = _registry(sheets, tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    salt = tmp_path / "site.salt"
    export_registry(registry, first, deidentify=True, salt_file=salt)
    export_registry(registry, second, deidentify=True, salt_file=salt)
    for path in first.glob("*.csv"):  # the same salt: the same export
        assert path.read_text() == (second / path.name).read_text(), path.name
    original, shared = connect(registry), connect(first)
    deid = Deidentifier(salt.read_bytes().strip())
    offsets = set()
    for pid in (1, 6, 11, 105):
        hashed = deid.hashed_id("person", pid)
        before = sorted(
            r["assessment_date"]
            for r in original.table("assessment").to_pyarrow().to_pylist()
            if r["person_id"] == pid
        )
        after = sorted(
            r["assessment_date"]
            for r in shared.table("assessment").to_pyarrow().to_pylist()
            if r["person_id"] == hashed
        )
        shifts = {(b - a).days for b, a in zip(before, after, strict=True)}
        assert len(shifts) == 1 and 0 <= next(iter(shifts)) <= 364  # one offset, backwards
        offsets |= shifts
    assert len(offsets) > 1  # persons are shifted by different offsets
    old = [
        r
        for r in shared.table("person").to_pyarrow().to_pylist()
        if r["birth_year"] and r["birth_date"] is None
    ]
    assert [r["birth_year"] for r in old] == [dt.date.today().year - 90]
    # the export is a registry: it reads back with every table
    assert shared.table("person").count().execute() == 19


def test_every_identifier_column_is_removed_or_replaced_by_its_hash(
    sheets: Path, tmp_path: Path
) -> None:
    """Each column of ``schema.IDENTIFIERS`` (the test holds a value of each): removed (an
    observation's free text among them), or replaced by the salted hash of its text;
    ``visit.visit_id`` and ``assessment.visit_id`` are hashed alike, so an assessment still
    names its visit."""
    registry = _registry(sheets, tmp_path)
    (sheets / "visit.csv").write_text(
        "person_id,visit_id,code_system,code,visit_date,end_date\n"
        "200,VISIT-REDCAP-12-3-baseline,VISIT,OP,2019-05-05,\n"
        "200,ADM-2019-0042,VISIT,IP,2019-06-01,2019-06-08\n",
        encoding="utf-8",
    )
    (sheets / "observation.csv").write_text(
        "person_id,code_system,code,observation_date,value_text\n"
        "200,LOINC,72166-2,2019-05-05,smokes since his brother John died\n",
        encoding="utf-8",
    )
    for path in sheets.iterdir():
        if path.name not in ("person.csv", "visit.csv", "observation.csv"):
            path.unlink()
    assert write_import(reader_for("csv", sheets), registry).status == "stored"
    out = tmp_path / "share"
    salt = tmp_path / "site.salt"
    export_registry(registry, out, deidentify=True, salt_file=salt)
    deid = Deidentifier(salt.read_bytes().strip())
    original, shared = connect(registry), connect(out)
    for table, columns in IDENTIFIERS.items():
        for column, how in columns.items():
            before = [r[column] for r in original.table(table).to_pyarrow().to_pylist()]
            after = [r[column] for r in shared.table(table).to_pyarrow().to_pylist()]
            assert any(v is not None for v in before), f"no {table}.{column} in the test data"
            if how == "remove":
                assert after == [None] * len(before), (table, column)
            else:
                hashed = [None if v is None else deid.hashed_text(column, v) for v in before]
                assert sorted(after, key=str) == sorted(hashed, key=str), (table, column)
                assert not {v for v in before if v} & set(after), (table, column)
    visits = shared.table("visit").select("person_id", "visit_id")
    joined = shared.table("assessment").join(visits, ["person_id", "visit_id"]).count().execute()
    original.disconnect()
    shared.disconnect()
    assert joined == 1  # the pga score of VISIT-REDCAP-12-3-baseline, at its visit


def test_a_death_date_is_shifted_with_the_persons_other_dates(sheets: Path, tmp_path: Path) -> None:
    """HIPAA Safe Harbor names the date of death among the dates of an individual: a
    de-identified export moves it back by the person's one offset, as her other dates, so the
    time from a visit to the death (a survival time) is kept; the record lists it among the
    dates shifted. Person 1 (examples/min2022) died on 2019-01-01; her first CDASI is of
    2017-02-26 (assessment.csv)."""
    (sheets / "death.csv").write_text(
        "person_id,death_date,cause_code_system,cause_code\n1,2019-01-01,ICD10CM,J84.9\n",
        encoding="utf-8",
    )
    registry = _registry(sheets, tmp_path)
    out = tmp_path / "share"
    salt = tmp_path / "site.salt"
    export_registry(registry, out, deidentify=True, salt_file=salt)
    deid = Deidentifier(salt.read_bytes().strip())
    shared = connect(out)
    hashed = deid.hashed_id("person", 1)
    (death,) = shared.table("death").to_pyarrow().to_pylist()
    first = min(
        r["assessment_date"]
        for r in shared.table("assessment").to_pyarrow().to_pylist()
        if r["person_id"] == hashed
    )
    shared.disconnect()
    offset = dt.timedelta(days=deid.offset(1))
    assert (death["person_id"], death["cause_code"]) == (hashed, "J84.9")
    assert death["death_date"] == dt.date(2019, 1, 1) - offset
    assert first == dt.date(2017, 2, 26) - offset
    assert death["source_record"] is None and death["source_location"] is None
    record = json.loads((out / "deidentification.json").read_text())
    assert "death.death_date" in record["dates_shifted"]
    assert {"death.source_record", "death.source_location"} <= set(record["removed_columns"])
