"""Bad REDCap input: each problem names the file, the record (line, record id, event and
instance) and the field, with the value and the reason; nothing is imported. Inputs: copies of
the SYNTHETIC examples/redcap exports with one thing broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from myositis.errors import SourceError
from myositis.sources.contract import Problem
from myositis.sources.redcap import Reader
from myositis.sources.write import write_import

from .conftest import DERM, DERM_MAPPING, DERM_RECORDS, read_only, read_rows, set_cell, write_rows

RECORDS = "records.csv"


def _errors(folder: Path, **options: object) -> list[Problem]:
    return [p for p in read_only(folder, **options).problems if p.severity == "error"]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("sex", "X", "not one of the field's choices (F, M, U)"),
        ("dob", "1980-02-30", "this date does not exist (check the day and the month)"),
        ("dob", "02/03/1980", "expected a date as YYYY-MM-DD"),
        ("pga", "11", "above the field's maximum 10 (Text Validation Max)"),
        ("pga", "-1", "below the field's minimum 0 (Text Validation Min)"),
        ("pga", "high", "expected a number"),
        ("pruritus_nrs", "7.5", "expected a whole number"),
        ("scalp_erythema", "4", "not one of the field's choices (0, 1, 2, 3)"),
        ("walking_aid", "2", "a yesno field holds 0 or 1"),
        ("race___5", "2", "a checkbox column holds 0 or 1"),
        ("dx_code", "M33.10", "not one of the field's choices"),
        ("cdasi_complete", "3", "a form status is 0 (incomplete), 1 (unverified) or 2 (complete)"),
    ],
)
def test_a_value_its_field_does_not_allow(
    export: Path, column: str, value: str, reason: str
) -> None:
    line = set_cell(export / RECORDS, "3", column, value)
    (problem,) = _errors(export)
    assert (problem.file, problem.record, problem.field, problem.value) == (
        RECORDS,
        f"line {line} (record 3, event baseline_arm_1)",
        column,
        value,
    )
    assert problem.reason.startswith(reason), problem.reason
    assert problem.location == "records.csv record 3"


def test_an_identifiers_value_is_never_shown(export: Path) -> None:
    set_cell(export / RECORDS, "2", "email", "bo-at-example")
    (problem,) = _errors(export)
    assert (problem.field, problem.value, problem.reason) == (
        "email",
        "(hidden: an identifier field)",
        "expected an e-mail address",
    )


def test_a_value_in_a_repeating_instance_names_the_instance(export: Path) -> None:
    line = set_cell(
        export / RECORDS, "1", "med_frequency", "DAILY", form="medications", instance="2"
    )
    (problem,) = _errors(export)
    assert problem.record == f"line {line} (record 1, event baseline_arm_1, medications instance 2)"
    assert problem.field == "med_frequency" and "not one of the field's choices" in problem.reason


def test_a_checkbox_code_not_in_the_dictionary(export: Path) -> None:
    rows = read_rows(export / RECORDS)
    rows[0][rows[0].index("race___5")] = "race___9"
    write_rows(export / RECORDS, rows)
    (problem,) = _errors(export)
    assert (problem.file, problem.record, problem.field, problem.location) == (
        RECORDS,
        None,
        "race___9",
        None,
    )
    assert problem.reason.startswith(
        "checkbox code '9' is not a choice of field 'race' in the "
        "data dictionary (its choices: 1, 2, 3, 4, 5)"
    )


def test_an_export_with_a_field_missing_from_its_dictionary(export: Path) -> None:
    rows = read_rows(export / "dictionary.csv")
    write_rows(export / "dictionary.csv", [r for r in rows if r[0] != "visit_notes"])
    (problem,) = _errors(export)
    assert (problem.file, problem.field, problem.location) == (RECORDS, "visit_notes", None)
    assert problem.reason.startswith(
        "column 'visit_notes' is not a field of the data dictionary (dictionary.csv)"
    )


@pytest.mark.parametrize(
    ("column", "value", "event", "form", "instance", "field", "reason"),
    [
        (
            "dob",
            "1970-01-01",
            "week_12_arm_1",
            "",
            "",
            "dob",
            "a value of form 'demographics', which event 'week_12_arm_1' does not hold",
        ),
        (
            "redcap_event_name",
            "week_8_arm_1",
            "week_12_arm_1",
            "",
            "",
            "redcap_event_name",
            "not an event of the instrument-event mapping",
        ),
        (
            "redcap_repeat_instance",
            "x",
            "baseline_arm_1",
            "medications",
            "1",
            "redcap_repeat_instance",
            "a repeat instance is a whole number from 1",
        ),
        (
            "ae_term",
            "rash",
            "baseline_arm_1",
            "medications",
            "1",
            "ae_term",
            "a value of form 'adverse_events' in a row of repeating instrument 'medications'",
        ),
    ],
)
def test_a_value_in_the_wrong_place(
    export: Path,
    column: str,
    value: str,
    event: str,
    form: str,
    instance: str,
    field: str,
    reason: str,
) -> None:
    set_cell(export / RECORDS, "1", column, value, event=event, form=form, instance=instance)
    problems = _errors(export)
    assert problems and all(p.location == "records.csv record 1" for p in problems)
    assert any(p.field == field and p.reason.startswith(reason) for p in problems), problems


def test_a_visit_without_a_date(export: Path) -> None:
    line = set_cell(export / RECORDS, "1", "visit_date", "", event="week_12_arm_1")
    problems = _errors(export)
    assert {(p.record, p.field) for p in problems} == {
        (f"line {line} (record 1, event week_12_arm_1)", "visit_date")
    }
    assert problems[0].reason.startswith(
        "the cdasi of this visit has no date: field 'visit_date' is empty"
    )


def test_the_same_row_twice(export: Path) -> None:
    rows = read_rows(export / RECORDS)
    write_rows(export / RECORDS, [*rows[:3], rows[2], *rows[3:]])
    (problem,) = _errors(export)
    assert (problem.location, problem.record, problem.reason) == (
        "records.csv record 1",
        "line 4 (record 1, event baseline_arm_1, diagnosis_codes instance 1)",
        "the same record, event and instance as line 3; each is exported once",
    )


def test_the_rows_of_a_record_apart(export: Path) -> None:
    rows = read_rows(export / RECORDS)  # record 8's last row put between record 1's rows
    write_rows(export / RECORDS, [rows[0], *rows[1:3], rows[-1], *rows[3:-1]])
    problems = _errors(export)
    assert [(p.location, p.reason) for p in problems] == [
        (
            "records.csv record 1",
            "the rows of record 1 are not together (again at line 5); "
            "export the records again from REDCap, which keeps each record's rows together",
        ),
        (
            "records.csv record 8",
            f"the rows of record 8 are not together (again at line "
            f"{len(rows) - 2}); export the records again from REDCap, which keeps each "
            "record's rows together",
        ),  # its 3 other rows end the file
    ]


def test_an_item_outside_the_instruments_range_in_a_mapped_project(tmp_path: Path) -> None:
    folder = tmp_path / "derm"
    shutil.copytree(DERM, folder)
    dictionary = next(folder.glob("*DataDictionary*"))
    rows = read_rows(dictionary)
    for row in rows:
        if row[0] == "cd_scalp_erythema":
            row[5] = "0, 0 | 1, 1 | 2, 2 | 3, 3 | 4, 4"  # the project allows a 4
    write_rows(dictionary, rows)
    line = set_cell(folder / DERM_RECORDS, "101", "cd_scalp_erythema", "4", event="day_0_arm_1")
    (problem,) = _errors(folder, mapping=DERM_MAPPING)
    assert (problem.record, problem.field, problem.value) == (
        f"line {line} (record 101, event day_0_arm_1)",
        "cd_scalp_erythema",
        "4",
    )
    assert problem.reason == (
        "cdasi scalp_erythema outside the range 0 to 3; map the project's "
        "codes to the instrument's values with values:"
    )


def test_a_longitudinal_export_needs_its_instrument_event_mapping(export: Path) -> None:
    (export / "instrument_event_mapping.csv").unlink()
    with pytest.raises(SourceError, match="add the instrument-event mapping"):
        read_only(export)


def test_nothing_is_imported_and_the_report_names_everything(export: Path, tmp_path: Path) -> None:
    first = set_cell(export / RECORDS, "3", "sex", "X")
    second = set_cell(export / RECORDS, "5", "dob", "1970-02-29")
    registry = tmp_path / "r.duckdb"
    result = write_import(Reader(export), registry)
    assert (result.status, result.records_in, result.stored, result.rejected) == (
        "refused",
        8,
        0,
        8,
    )
    assert not registry.exists()
    described = [p.describe() for p in result.problems]
    assert described == [
        f"records.csv, line {first} (record 3, event baseline_arm_1), field 'sex': value 'X': "
        "not one of the field's choices (F, M, U)",
        f"records.csv, line {second} (record 5, event baseline_arm_1), field 'dob': value "
        "'1970-02-29': this date does not exist (check the day and the month)",
    ]


def test_errors_report_stores_the_other_records(export: Path, tmp_path: Path) -> None:
    set_cell(export / RECORDS, "3", "sex", "X")
    result = write_import(Reader(export), tmp_path / "r.duckdb", errors="report")
    assert (result.status, result.records_in, result.stored, result.rejected) == ("stored", 8, 7, 1)
    assert result.balanced and result.tables["person"].added == 7
