"""Tables from users' files: the one CSV and Parquet reader, with one set of error rules.

Scoring (``myositis score``), folder registries and the evidence tools read their files here,
so a file saved from Excel in another encoding, a header with a repeated column or a row with
a cell too many reads the same everywhere:

- **Encoding.** CSV is UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"). A
  UTF-16 file (Excel's "Unicode text") or a Latin-1/Windows-1252 one (older Excel "CSV") is
  refused with what to do, never with a codec's own error.
- **Lines.** Windows (CRLF), Unix (LF) and old Mac (CR) line endings all read; a quoted cell
  may hold a line break. Blank lines are skipped, and so are rows whose every cell is empty
  (as Excel writes below a table); neither is a record.
- **Rows** are numbered 1, 2, ... from the first row after the header (blank lines not
  counted): the number every message uses.
- **Separator.** Values are separated by commas; a file separated by semicolons (as Excel
  writes "CSV" in countries with a decimal comma) or tabs is refused with what to do.
- **Header.** Column names are trimmed of spaces. A file with no header, a name that appears
  twice, or a column with values but no name is refused; an unnamed column with no values
  (a trailing comma) is dropped.
- **Cells** are read as text, exactly as written, so a bad value is reported as the user
  typed it; only an empty cell is missing (``NA`` or ``-`` is text, and a reader that wants a
  number reports it). A row with more or fewer cells than the header is refused, every such
  row named.
- **Columns the reader does not use** are named in an :class:`myositis.errors.InputWarning`
  (:func:`warn_unused`), never dropped without a word.
- **Values** that do not parse are described by :func:`value_problem` (a date that does not
  exist is not "the wrong format"; a fraction is not a whole number).

Messages name the file, the row, the column and the value, and say what to do
(:mod:`myositis.errors`).
"""

from __future__ import annotations

import calendar
import csv
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from myositis.errors import InputProblem, InputWarning, InvalidInputError, MyositisError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS: Final = (".csv", ".parquet")
#: What to do with a file in another encoding.
SAVE_AS_UTF8: Final = (
    "save it as UTF-8 (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)') and run again"
)

ValueKind = Literal["date", "integer", "number", "boolean"]


def guess_encoding(raw: bytes) -> str:
    """A plain-words guess of a non-UTF-8 file's encoding (from its first bytes), for the
    what-to-do message."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:200]:  # NUL: not text
        return "UTF-16, as Excel's 'Unicode text' writes it"
    return "Latin-1 or Windows-1252, as older Excel versions write CSV"


def not_utf8(
    path: Path, raw: bytes, *, error: type[MyositisError] = MyositisError
) -> MyositisError:
    """The error for a file that is not UTF-8 text; ``raw`` is the file's content (or at least
    its beginning and the first undecodable byte), used to guess the encoding and find the
    line of the first character that is not UTF-8."""
    where = ""
    if "UTF-16" not in guess_encoding(raw):  # in UTF-16 every line is "not UTF-8"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            where = f"; the first character that is not UTF-8 is on line {line}"
    return error(
        f"{path}: is not UTF-8 text (it looks like {guess_encoding(raw)}{where}); {SAVE_AS_UTF8}"
    )


def check_source(
    path: Path,
    *,
    formats: Sequence[str] = FORMATS,
    error: type[MyositisError] = MyositisError,
) -> str:
    """Check that ``path`` is a readable file of one of ``formats`` (any name when
    ``formats`` is empty); return its suffix."""
    if path.is_dir():
        kind = f" ({' or '.join(formats)})" if formats else ""
        raise error(f"{path}: is a folder; give a file{kind}")
    if not path.exists():
        raise error(f"{path}: no such file")
    suffix = path.suffix.lower()
    if formats and suffix not in formats:
        raise error(f"{path}: unsupported file type '{suffix}'; use {' or '.join(formats)}")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    return suffix


def read_csv(
    path: Path,
    *,
    row_column: str | None = None,
    error: type[MyositisError] = MyositisError,
) -> pa.Table:
    """Read a CSV file by the rules of this module: every cell as text (an empty cell is
    null), names trimmed, and, when ``row_column`` is given, the 1-based row number added as
    an int64 column of that name (a file column of that name is refused).

    A file with a header and no rows gives an empty table with the header's columns. The
    file's name is not checked (callers that take several formats check it first with
    :func:`check_source`).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    check_source(path, formats=(), error=error)
    raw_names = _header(path, error)
    if len(raw_names) == 1:  # one column: perhaps another separator (Excel in some countries)
        for separator, called in ((";", "semicolons (;)"), ("\t", "tabs")):
            if separator in raw_names[0]:
                raise error(
                    f"{path}: the values are separated by {called}, not commas; save it as "
                    "'CSV UTF-8 (Comma delimited)' and run again"
                )
    names = [name.strip() for name in raw_names]
    if not any(names):
        raise error(f"{path}: the file is empty (no header row); the first row names the columns")
    _check_names(path, [n for n in names if n], error)
    if row_column is not None and row_column in names:
        raise error(f"{path}: column name '{row_column}' is reserved; rename it")
    temporary = [f"c{i}" for i in range(len(names))]  # names may be blank or need trimming
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(raw_names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if "Empty CSV file" in text:  # a header without a final line break, and nothing else
            table = pa.table({name: pa.array([], pa.string()) for name in temporary})
        elif "invalid UTF8" in text:
            raise not_utf8(path, path.read_bytes(), error=error) from None
        else:
            raise _malformed(path, len(names), text, error) from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    if table.num_columns != len(names):  # the two CSV parsers disagree: say so, not guess
        raise error(f"{path}: the header row could not be read as {len(names)} columns")
    table = table.rename_columns(temporary)
    table = table.append_column("__position", pa.array(range(1, table.num_rows + 1), pa.int64()))
    table = table.filter(_any_cell(table, temporary))
    keep = []
    for temp, name in zip(temporary, names, strict=True):
        if name:
            keep.append((temp, name))
        elif table[temp].null_count < table.num_rows:
            raise error(
                f"{path}: column {temporary.index(temp) + 1} has values but no name in the "
                "header; name it or delete it"
            )
    columns = {name: table[temp] for temp, name in keep}
    if row_column is not None:
        columns[row_column] = table["__position"]
    return pa.table(columns)


def _header(path: Path, error: type[MyositisError]) -> list[str]:
    with path.open("rb") as handle:
        start = handle.read(4096)
    if "UTF-16" in guess_encoding(start):  # NUL bytes are valid UTF-8, but no CSV has them
        raise not_utf8(path, start, error=error)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                if row:  # the first line that is not blank, as the CSV parser takes it
                    return row
    except UnicodeDecodeError:
        raise not_utf8(path, path.read_bytes(), error=error) from None
    except csv.Error as exc:
        raise error(f"{path}: the header row is not valid CSV ({exc})") from None
    return []


def _check_names(path: Path, names: Sequence[str], error: type[MyositisError]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1}, key=names.index)
    if len(repeated) == 1:
        raise error(
            f"{path}: column '{repeated[0]}' appears more than once in the header; rename or "
            "remove the copies"
        )
    if repeated:
        listed = ", ".join(f"'{n}'" for n in repeated)
        raise error(
            f"{path}: columns {listed} appear more than once in the header; rename or remove "
            "the copies"
        )


def _any_cell(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """True for the rows with at least one non-empty cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = pa.array([False] * table.num_rows, pa.bool_())
    for name in columns:
        keep = pc.or_(keep, pc.is_valid(table[name]))
    return keep


def _malformed(
    path: Path, width: int, arrow_message: str, error: type[MyositisError]
) -> MyositisError:
    """Every row with a cell too many or too few (found again with Python's csv module, which
    knows the row numbers), or else the CSV parser's own words."""
    problems = []
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        rows = (row for row in csv.reader(handle) if row)
        next(rows, None)  # the header
        for number, row in enumerate(rows, start=1):
            if len(row) != width:
                problems.append(
                    InputProblem(
                        row=number,
                        column=None,
                        value=None,
                        reason=f"{len(row)} cells, but the header has {width} columns; check "
                        "for a comma inside a value that is not in double quotes, or a "
                        "missing cell",
                        source=path.name,
                    )
                )
    if problems:
        return InvalidInputError(problems)
    return error(f"{path}: is not a well-formed CSV file ({arrow_message})")


def parquet_columns(
    path: Path, *, error: type[MyositisError] = MyositisError
) -> tuple[list[str], int]:
    """The column names and row count of a Parquet file (from its metadata: nothing is read),
    with the header checks of CSV files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_source(path, formats=(".parquet",), error=error)
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise error(f"{path}: cannot be read as Parquet ({exc}); is it a Parquet file?") from None
    names = list(meta.schema.to_arrow_schema().names)
    if not names:
        raise error(f"{path}: the file has no columns")
    _check_names(path, names, error)
    return names, meta.num_rows


def warn_unused(
    path: Path | str, columns: Iterable[str], used: Iterable[str], what: str
) -> list[str]:
    """Name the columns of a file its reader does not use, in an :class:`InputWarning`
    ("``<file>``: columns 'a', 'b' are <what>"); returns them (in file order)."""
    wanted = set(used)
    unused = [c for c in columns if c not in wanted]
    if unused:
        listed = ", ".join(f"'{c}'" for c in unused)
        which = f"column {listed} is" if len(unused) == 1 else f"columns {listed} are"
        warnings.warn(InputWarning(f"{Path(path).name}: {which} {what}"), stacklevel=2)
    return unused


_ISO_DATE: Final = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def value_problem(text: str, kind: ValueKind) -> str:
    """Why ``text`` is not a value of ``kind``, in words, for a message naming the file, row,
    column and value: a date that does not exist is not "the wrong format"."""
    if kind == "date":
        return _date_problem(text)
    number = _float(text)
    if kind == "integer":
        if number is not None and math.isfinite(number) and not number.is_integer():
            return "not a whole number; expected a whole number"
        return "expected a whole number"
    if kind == "number":
        if number is not None:  # NaN or infinity: they parse, but are no values
            return "not a finite number; expected a number (leave the cell empty if unknown)"
        return "expected a number"
    return "expected true or false (or 1/0)"


def _date_problem(text: str) -> str:
    match = _ISO_DATE.match(text)
    if match is None:
        return "expected a date as YYYY-MM-DD (e.g. 2020-03-01)"
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return f"not a date: there is no month {month} (dates are YYYY-MM-DD)"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return (
            f"not a date that exists: {calendar.month_name[month]} {year} has {days} days "
            "(dates are YYYY-MM-DD)"
        )
    return "expected a date as YYYY-MM-DD (e.g. 2020-03-01)"


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


__all__ = [
    "FORMATS",
    "check_source",
    "guess_encoding",
    "not_utf8",
    "parquet_columns",
    "read_csv",
    "value_problem",
    "warn_unused",
]
