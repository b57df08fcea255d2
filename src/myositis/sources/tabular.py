"""Spreadsheet files read as rows of text cells: CSV (UTF-8, with or without a byte order mark,
Windows or Unix line endings) and Excel ``.xlsx`` (openpyxl, read-only and streamed).

A sheet gives its header and then each data row with its line number (the row number a
spreadsheet program shows: the header is line 1). Cells are text; an empty cell is ``""``.
Excel cells that hold numbers, dates or booleans are written as the CSV would hold them
(``12``, ``0.5``, ``2021-03-04``, ``true``); a date-and-time cell is read as its day. A file
that is not UTF-8 is refused with what to do (save it as UTF-8), never read as mojibake.

This module is deliberately small and alone so that one shared CSV reader can replace it.
"""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from myositis.errors import SourceError
from myositis.tables import not_utf8

#: File suffixes read as spreadsheets.
SUFFIXES: Final = (".csv", ".xlsx")

Row = tuple[int, list[str]]


@dataclass
class Sheet:
    """One table of cells: ``name`` for messages (``person.csv``, ``book.xlsx[person]``)."""

    name: str
    header: list[str]
    rows: Iterator[Row]


def open_sheet(path: Path) -> Sheet:
    """The first sheet of an ``.xlsx`` file, or a CSV file, as a :class:`Sheet`."""
    if path.suffix.lower() == ".xlsx":
        sheets = workbook(path)
        if not sheets:
            raise SourceError(f"{path}: the workbook has no sheets")
        return next(iter(sheets.values()))
    return _csv_sheet(path)


def _csv_sheet(path: Path) -> Sheet:
    try:
        head = path.read_bytes()[:65536]
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
    _utf8(path, head)
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    try:
        header = [c.strip() for c in next(reader, [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise _bad_csv(path, exc, head) from None
    if not any(header):
        handle.close()
        raise SourceError(f"{path.name} is empty; it needs a header row naming the columns")

    def rows() -> Iterator[Row]:
        line = reader.line_num + 1
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    yield line, cells
                line = reader.line_num + 1
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _bad_csv(path, exc, head, line) from None
        finally:
            handle.close()

    return Sheet(path.name, header, rows())


def _utf8(path: Path, head: bytes) -> None:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the end of the sample
            raise not_utf8(path, head, error=SourceError) from None


def _bad_csv(path: Path, exc: Exception, head: bytes, line: int | None = None) -> SourceError:
    if isinstance(exc, UnicodeDecodeError):  # the one message of myositis.tables
        return SourceError(str(not_utf8(path, path.read_bytes())))
    where = f", line {line}" if line else ""
    return SourceError(f"{path.name}{where}: not a well-formed CSV file ({exc})")


def workbook(path: Path) -> dict[str, Sheet]:
    """Every sheet of an ``.xlsx`` workbook by its name."""
    try:
        from openpyxl import load_workbook
    except ImportError:  # a dependency of the package; say so plainly if it is missing
        raise SourceError("reading .xlsx needs openpyxl: pip install openpyxl") from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a damaged file
        raise SourceError(f"{path.name} could not be read as an Excel workbook: {exc}") from None
    sheets = {}
    for sheet in book.worksheets:
        values = sheet.iter_rows(values_only=True)
        header = [_text(v).strip() for v in next(values, ())]
        while header and not header[-1]:
            header.pop()  # formatted but empty columns at the right

        def rows(
            values: Iterator[tuple[Any, ...]] = values, width: int = len(header)
        ) -> Iterator[Row]:
            for line, cells in enumerate(values, start=2):
                text = [_text(v) for v in cells]
                while len(text) > width and not text[-1].strip():
                    text.pop()
                if any(c.strip() for c in text):
                    yield line, text

        sheets[sheet.title] = Sheet(f"{path.name}[{sheet.title}]", header, rows())
    return sheets


def _text(value: Any) -> str:
    """An Excel cell as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


__all__ = ["SUFFIXES", "Sheet", "open_sheet", "workbook"]
