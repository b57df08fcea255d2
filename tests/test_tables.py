"""The one CSV/Parquet reader (myositis.tables) and its error rules, file by file as Excel and
other tools write them."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from myositis.errors import InputWarning, InvalidInputError, MyositisError, RegistryError
from myositis.tables import (
    check_source,
    parquet_columns,
    read_csv,
    value_problem,
    warn_unused,
)

ROWS = [{"a": "1", "b": "x"}, {"a": "2", "b": None}]


def _csv(tmp_path: Path, content: bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content",
    [
        b"a,b\n1,x\n2,\n",  # Unix
        b"a,b\r\n1,x\r\n2,\r\n",  # Windows (Excel)
        b"a,b\r1,x\r2,\r",  # old Mac
        b"\xef\xbb\xbfa,b\r\n1,x\r\n2,\r\n",  # Excel's 'CSV UTF-8': a byte-order mark
        b" a , b \n1,x\n\n2,\n\n",  # spaces around names; blank lines
        b"a,b\n1,x\n2,\n,\n,\n",  # rows of empty cells below the table
        b"a,b,\n1,x,\n2,,\n",  # a trailing comma: an unnamed column with no values
    ],
    ids=["lf", "crlf", "cr", "bom", "spaces-blank-lines", "empty-rows", "trailing-comma"],
)
def test_the_same_table_from_every_way_of_saving_it(tmp_path: Path, content: bytes) -> None:
    table = read_csv(_csv(tmp_path, content), row_column="_row")
    assert table.column_names == ["a", "b", "_row"]
    assert table.to_pylist() == [row | {"_row": i} for i, row in enumerate(ROWS, start=1)]


def test_cells_are_text_as_written_and_only_an_empty_cell_is_missing(tmp_path: Path) -> None:
    path = _csv(tmp_path, b'id,value,note\n007,NA,"two\nlines"\n008, ,-\n')
    assert read_csv(path).to_pylist() == [
        {"id": "007", "value": "NA", "note": "two\nlines"},
        {"id": "008", "value": " ", "note": "-"},
    ]


def test_a_header_without_rows_is_an_empty_table(tmp_path: Path) -> None:
    for content in (b"a,b\n", b"a,b"):  # with and without a final line break
        table = read_csv(_csv(tmp_path, content), row_column="_row")
        assert (table.column_names, table.num_rows) == (["a", "b", "_row"], 0)


def test_row_numbers_count_rows_after_the_header(tmp_path: Path) -> None:
    """Blank lines are not counted; rows of empty cells are skipped but keep their place."""
    table = read_csv(_csv(tmp_path, b"a\n1\n\n4\n"), row_column="r")
    assert table.to_pylist() == [{"a": "1", "r": 1}, {"a": "4", "r": 2}]
    table = read_csv(_csv(tmp_path, b"a,b\n1,1\n,\n3,3\n"), row_column="r")
    assert [row["r"] for row in table.to_pylist()] == [1, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty (no header row)"),
        (b"\n\n  \n", "the file is empty (no header row)"),
        (b"a,b,a\n1,2,3\n", "column 'a' appears more than once in the header"),
        (b"a,b,a,b\n1,2,3,4\n", "columns 'a', 'b' appear more than once in the header"),
        (b"a, a\n1,2\n", "column 'a' appears more than once"),  # the same once trimmed
        (b"a,,b\n1,2,3\n", "column 2 has values but no name in the header"),
        (b"_row,b\n1,2\n", "column name '_row' is reserved"),
        (b"a;b\n1;2\n", "the values are separated by semicolons (;), not commas"),
        (b"a\tb\n1\t2\n", "the values are separated by tabs, not commas"),
    ],
)
def test_header_problems(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(RegistryError) as info:  # the caller's error class
        read_csv(_csv(tmp_path, content), row_column="_row", error=RegistryError)
    assert message in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "t.csv"))


@pytest.mark.parametrize(
    ("content", "guess"),
    [
        ("a,b\n1,é\n".encode("utf-16"), "UTF-16, as Excel's 'Unicode text' writes it"),
        ("a,b\n1,é\n".encode("utf-16-le"), "UTF-16"),  # no byte-order mark: NUL bytes
        ("a,b\n1,2\n".encode("utf-16-le"), "UTF-16"),  # ASCII only: NUL is valid UTF-8
        ("a,b\n1,x\n2,é\n".encode("latin-1"), "Latin-1 or Windows-1252"),
        ("a,é\n1,2\n".encode("cp1252"), "Latin-1 or Windows-1252"),  # in the header
    ],
    ids=["utf-16", "utf-16-le", "utf-16-le-ascii", "latin-1-body", "cp1252-header"],
)
def test_another_encoding_says_save_as_utf8(tmp_path: Path, content: bytes, guess: str) -> None:
    with pytest.raises(MyositisError) as info:
        read_csv(_csv(tmp_path, content))
    message = str(info.value)
    assert f"is not UTF-8 text (it looks like {guess}" in message
    assert "save it as UTF-8 (in Excel: File > Save As > 'CSV UTF-8" in message
    assert "codec" not in message and "0x" not in message


def test_the_line_of_the_first_non_utf8_character_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b\n1,x\n2,é\n".encode("latin-1"))
    with pytest.raises(MyositisError, match="the first character that is not UTF-8 is on line 3"):
        read_csv(path)


def test_rows_with_a_cell_too_many_or_too_few_are_all_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n")
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert [(p.source, p.row, p.reason.split(";")[0]) for p in info.value.problems] == [
        ("t.csv", 2, "2 cells, but the header has 3 columns"),
        ("t.csv", 4, "4 cells, but the header has 3 columns"),
    ]
    assert "a comma inside a value that is not in double quotes" in str(info.value)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(MyositisError, match=r"none.csv: no such file$"):
        check_source(tmp_path / "none.csv")
    with pytest.raises(MyositisError, match=r": is a folder; give a file \(.csv or .parquet\)"):
        check_source(tmp_path)
    with pytest.raises(MyositisError, match=r"unsupported file type '.xlsx'; use .csv or .parquet"):
        check_source(_csv(tmp_path, b"PK", "t.xlsx"))
    with pytest.raises(MyositisError, match="is a folder; give a file$"):
        read_csv(tmp_path)  # any name is read as CSV, but not a folder


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no permission to deny")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"a\n1\n")
    path.chmod(0)
    with pytest.raises(MyositisError, match=r"cannot be read \(Permission denied\)"):
        read_csv(path)


def test_parquet_columns_and_rows_from_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", None]}), path)
    assert parquet_columns(path) == (["a", "b"], 3)
    fake = _csv(tmp_path, b"a,b\n1,2\n", "fake.parquet")
    with pytest.raises(MyositisError, match="fake.parquet: cannot be read as Parquet"):
        parquet_columns(fake)


def test_columns_not_used_are_named_in_one_warning() -> None:
    with pytest.warns(InputWarning, match=r"^t.csv: columns 'x', 'y' are not used here$"):
        assert warn_unused(Path("/d/t.csv"), ["a", "x", "b", "y"], ["a", "b"], "not used here")
    with pytest.warns(InputWarning, match=r"^t.csv: column 'x' is not used here$"):
        warn_unused("t.csv", ["a", "x"], ["a"], "not used here")


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("2020-02-30", "date", "not a date that exists: February 2020 has 29 days"),
        ("2019-02-29", "date", "not a date that exists: February 2019 has 28 days"),
        ("2021-04-31", "date", "not a date that exists: April 2021 has 30 days"),
        ("1980-13-01", "date", "not a date: there is no month 13"),
        ("01/03/2020", "date", "expected a date as YYYY-MM-DD (e.g. 2020-03-01)"),
        ("2.5", "integer", "not a whole number; expected a whole number"),
        ("19x5", "integer", "expected a whole number"),
        ("1e30", "integer", "expected a whole number"),  # whole, but out of range
        ("ten", "number", "expected a number"),
        ("NaN", "number", "not a finite number"),
        ("-inf", "number", "not a finite number"),
        ("yes", "boolean", "expected true or false (or 1/0)"),
    ],
)
def test_why_a_value_does_not_parse(text: str, kind: str, reason: str) -> None:
    assert value_problem(text, kind).startswith(reason)  # type: ignore[arg-type]
