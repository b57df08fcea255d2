"""The parts of a REDCap export, from a folder of files or the API: the data dictionary, the
records (flat, raw), and for a longitudinal project the instrument-event mapping (which forms
each event holds) and, optionally, the events.

A folder holds (names are matched without regard to case; REDCap's own download names are
recognised too):

============================== =============================================== ==========
part                           file                                            needed
============================== =============================================== ==========
data dictionary                ``dictionary.csv`` or ``*_DataDictionary_*.csv`` always
records (raw, flat, CSV)       ``records.csv`` or ``*_DATA_*.csv``              always
instrument-event mapping       ``instrument_event_mapping.csv`` or              longitudinal
                               ``*_InstrumentDesignations_*.csv``              projects
events                         ``events.csv``                                  no
============================== =============================================== ==========

A longitudinal export (one with a ``redcap_event_name`` column) needs the instrument-event
mapping: without it the import cannot tell which forms an event holds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from myositis.errors import SourceError
from myositis.sources.redcap.dictionary import Dictionary, read_dictionary
from myositis.sources.tabular import Row, Sheet, open_sheet

#: part -> what it is, for messages
WHAT: Final = {
    "dictionary": "data dictionary",
    "records": "raw record export (CSV)",
    "designations": "instrument-event mapping",
    "events": "events file",
}
#: part -> REDCap's download name, for messages
DOWNLOAD_NAMES: Final = {
    "dictionary": "Project_DataDictionary_DATE.csv",
    "records": "Project_DATA_DATE_TIME.csv",
    "designations": "Project_InstrumentDesignations_DATE.csv",
}

#: part -> (fixed file name, pattern of REDCap's download name)
PARTS: Final = {
    "dictionary": ("dictionary.csv", re.compile(r".*_datadictionary_.*\.csv")),
    "records": ("records.csv", re.compile(r".*_data_(?!labels_).*\.csv")),
    "designations": (
        "instrument_event_mapping.csv",
        re.compile(r".*_instrumentdesignations_.*\.csv"),
    ),
    "events": ("events.csv", None),
}


@dataclass
class Export:
    """One project's export, ready to read."""

    dictionary: Dictionary
    records: Sheet
    #: unique event name -> the forms it holds (None: a classic, non-longitudinal project)
    designations: dict[str, list[str]] | None = None
    #: unique event names of the events file, when given
    events: list[str] | None = None
    files: dict[str, str] = field(default_factory=dict)


def text_sheet(name: str, text: str, *, first_line: int = 1) -> Sheet:
    """A CSV held as text (an API answer) as a :class:`Sheet`."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [c.strip() for c in next(reader, [])]

    def rows() -> Iterator[Row]:
        line = first_line + reader.line_num
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = first_line + reader.line_num

    return Sheet(name, header, rows())


def read_designations(sheet: Sheet) -> dict[str, list[str]]:
    """The instrument-event mapping (``arm_num, unique_event_name, form``)."""
    index = {name: i for i, name in enumerate(sheet.header)}
    missing = [c for c in ("unique_event_name", "form") if c not in index]
    if missing:
        raise SourceError(
            f"{sheet.name}: an instrument-event mapping has the columns arm_num, "
            f"unique_event_name and form; {', '.join(missing)} missing (download it from "
            "REDCap: Project Setup > Designate Instruments for My Events > Download)"
        )
    designations: dict[str, list[str]] = {}
    for _, cells in sheet.rows:
        event = cells[index["unique_event_name"]].strip()
        form = cells[index["form"]].strip()
        if event and form:
            designations.setdefault(event, []).append(form)
    return designations


def read_events(sheet: Sheet) -> list[str]:
    """The unique event names of an events file (``unique_event_name`` column)."""
    if "unique_event_name" not in sheet.header:
        raise SourceError(
            f"{sheet.name}: an events file has a unique_event_name column (REDCap: Project "
            "Setup > Define My Events > Download, or the API's event export)"
        )
    i = sheet.header.index("unique_event_name")
    return [cells[i].strip() for _, cells in sheet.rows if cells[i].strip()]


def _find(folder: Path, part: str) -> Path | None:
    fixed, pattern = PARTS[part]
    found = [
        p
        for p in sorted(folder.iterdir())
        if p.is_file()
        and not p.name.startswith(".")
        and (p.name.lower() == fixed or (pattern is not None and pattern.fullmatch(p.name.lower())))
    ]
    if len(found) > 1:
        raise SourceError(
            f"{folder}: several files could be the {WHAT[part]} "
            f"({', '.join(p.name for p in found)}); keep one export in the folder"
        )
    return found[0] if found else None


def open_folder(folder: Path) -> Export:
    """The parts of an export saved in ``folder`` (see the module docstring)."""
    if not folder.is_dir():
        raise SourceError(
            f"{folder}: give a folder holding the REDCap data dictionary and the raw record "
            "export (dictionary.csv and records.csv), or the project's API URL "
            "(https://.../api/) with --token-file; docs/redcap.md"
        )
    paths = {part: _find(folder, part) for part in PARTS}
    for part in ("dictionary", "records"):
        if paths[part] is None:
            raise SourceError(
                f"{folder}: no {WHAT[part]} found: name it {PARTS[part][0]} (or keep REDCap's "
                f"download name, {DOWNLOAD_NAMES[part]})"
            )
    dictionary_path, records_path = paths["dictionary"], paths["records"]
    assert dictionary_path is not None and records_path is not None
    export = Export(
        dictionary=read_dictionary(open_sheet(dictionary_path)),
        records=open_sheet(records_path),
        files={"dictionary": dictionary_path.name, "records": records_path.name},
    )
    if paths["designations"] is not None:
        export.designations = read_designations(open_sheet(paths["designations"]))
        export.files["designations"] = paths["designations"].name
    if paths["events"] is not None:
        export.events = read_events(open_sheet(paths["events"]))
        export.files["events"] = paths["events"].name
    if "redcap_event_name" in export.records.header and export.designations is None:
        raise SourceError(
            f"{records_path.name} is the export of a longitudinal project (it has a "
            "redcap_event_name column): add the instrument-event mapping to the folder as "
            "instrument_event_mapping.csv (REDCap: Project Setup > Designate Instruments for My "
            "Events > Download, or the API's formEventMapping export)"
        )
    return export


__all__ = ["PARTS", "Export", "open_folder", "read_designations", "read_events", "text_sheet"]
