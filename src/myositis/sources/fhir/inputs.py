"""Where FHIR resources come from: Bundle files (``.json``: a transaction, collection or any
Bundle, or one resource), bulk-data NDJSON files (``.ndjson``: one resource per line) and
folders of them, read one resource at a time.

Rules: text is UTF-8 (a byte-order mark is allowed; other encodings are refused with what to
do); a Bundle file is parsed whole (one file at a time: Synthea writes one Bundle per patient),
an NDJSON file line by line, so memory does not grow with the file; empty lines are skipped.
In a folder, files are read in name order, except that NDJSON files of Patient and Medication
resources come first (bulk-data exports name their files by resource type), so that the
references to them are known when they are needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from myositis.errors import SourceError
from myositis.sources.contract import Intake

#: File suffixes read from a folder.
SUFFIXES: Final = (".json", ".ndjson")
#: NDJSON files whose name starts with one of these are read first, in this order.
FIRST: Final = ("Patient", "Medication.", "Medication")


@dataclass(frozen=True)
class Raw:
    """One resource as read: its file, where in the file, and its JSON content."""

    file: str
    where: str  # "line 12" (NDJSON) or "entry 4" (a Bundle)
    data: dict[str, Any]
    line: bool  # True for an NDJSON line

    @property
    def label(self) -> str:
        """The resource as ``Type/id`` (``Type`` alone when it has no id)."""
        kind = str(self.data.get("resourceType") or "resource")
        rid = self.data.get("id")
        return f"{kind}/{rid}" if rid else kind

    @property
    def location(self) -> str:
        """The record's ``source_location``: file, line or entry, and resource."""
        sep = ":" if self.line else " "
        where = self.where.removeprefix("line ") if self.line else self.where
        return f"{self.file}{sep}{where} {self.label}"


def source_files(location: Path) -> list[Path]:
    """The files to read at ``location`` (a file, or a folder of .json and .ndjson files)."""
    if location.is_file():
        return [location]
    if not location.is_dir():
        raise SourceError(
            f"{location}: not found; give a FHIR Bundle (.json), a bulk-data file (.ndjson) or "
            "a folder of them"
        )
    found = [
        p
        for p in location.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES
    ]
    if not found:
        raise SourceError(f"{location}: no .json or .ndjson files found")
    return sorted(found, key=_order)


def _order(path: Path) -> tuple[int, str]:
    if path.suffix.lower() == ".ndjson":
        for rank, prefix in enumerate(FIRST):
            if path.name.startswith(prefix):
                return rank, path.name
    return len(FIRST), path.name


def read_file(path: Path, intake: Intake) -> Iterator[Raw]:
    """The resources of one file (problems with the file as a whole go to ``intake``)."""
    if path.suffix.lower() == ".ndjson":
        yield from _ndjson(path, intake)
    else:
        yield from _bundle(path, intake)


def _not_utf8(path: Path, intake: Intake, record: str | None = None) -> None:
    intake.problem(
        None,
        "is not UTF-8 text (perhaps Latin-1 or Windows-1252); save it as UTF-8 and import again",
        file=path.name,
        record=record,
    )


def _bundle(path: Path, intake: Intake) -> Iterator[Raw]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        _not_utf8(path, intake)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        intake.problem(
            None,
            f"is not valid JSON ({exc.msg}); nothing of this file could be read: repair or "
            "re-export it",
            file=path.name,
            record=f"line {exc.lineno}, column {exc.colno}",
        )
        return
    if not isinstance(data, dict) or "resourceType" not in data:
        intake.problem(None, "is not a FHIR resource (no resourceType)", file=path.name)
        return
    if data["resourceType"] != "Bundle":
        yield Raw(path.name, "entry 1", data, False)
        return
    for n, entry in enumerate(data.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            yield Raw(path.name, f"entry {n}", resource, False)


def _ndjson(path: Path, intake: Intake) -> Iterator[Raw]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                _not_utf8(path, intake, f"line {number}")
                return
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                intake.read()
                intake.problem(
                    f"{path.name}:{number}",
                    f"is not valid JSON ({exc.msg} at column {exc.colno}): the line is "
                    "truncated or malformed; each line must hold one whole resource",
                    file=path.name,
                    record=f"line {number}",
                )
                continue
            if not isinstance(data, dict) or "resourceType" not in data:
                intake.read()
                intake.problem(
                    f"{path.name}:{number}",
                    "is not a FHIR resource (no resourceType)",
                    file=path.name,
                    record=f"line {number}",
                )
                continue
            yield Raw(path.name, f"line {number}", data, True)


__all__ = ["FIRST", "SUFFIXES", "Raw", "read_file", "source_files"]
