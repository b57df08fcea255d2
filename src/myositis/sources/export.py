"""Export: a registry written out as a folder of CSV or Parquet files (``myositis export``),
optionally de-identified (:mod:`myositis.sources.deidentify`).

The folder is itself a registry (``connect`` reads it back): importing it again
(``myositis import csv``) gives the same registry and the same data fingerprint. Other formats
are added by a module named in ``EXPORTERS`` with a function
``export(con, folder, *, overwrite) -> list[Path]``: ``fhir`` (one collection Bundle per
person) and ``fhir-ndjson`` (bulk-data NDJSON, one file per resource type) in
:mod:`myositis.sources.fhir.export`; ``omop`` (OMOP CDM 5.4 tables) in
:mod:`myositis.sources.omop.export`.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from myositis.errors import MyositisError
from myositis.registry.schema import TABLES

#: Export formats beyond the folder ones, and the module that writes each.
#: A module, or ``module:function`` (default function ``export``).
EXPORTERS: Final = {
    "fhir": "myositis.sources.fhir.export",
    "fhir-ndjson": "myositis.sources.fhir.export:export_ndjson",
    "omop": "myositis.sources.omop.export",
}

#: The record of a de-identified export, written beside its tables.
RECORD_FILE: Final = "deidentification.json"


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    folder: Path
    files: list[Path]
    rows: dict[str, int]
    record: dict[str, Any] | None = None


def export_registry(
    registry: str | Path,
    folder: Path,
    fmt: str = "csv",
    *,
    deidentify: bool = False,
    salt_file: Path | None = None,
    drop: tuple[str, ...] = (),
    overwrite: bool = False,
) -> ExportSummary:
    """Write the registry at ``registry`` to ``folder`` in ``fmt`` (``csv``, ``parquet``, or a
    format of ``EXPORTERS``). With ``deidentify`` the rows are de-identified on the way out and
    the record of what was done is written as ``deidentification.json``; ``drop`` names extra
    columns (``table.column``) to empty."""
    from myositis.registry.connect import connect
    from myositis.registry.export import FORMATS, export_folder

    con = connect(registry)
    try:
        if fmt not in FORMATS:
            if deidentify:
                raise MyositisError(f"de-identified export writes csv or parquet, not {fmt!r}")
            return _other_format(fmt, con, folder, overwrite)
        if not deidentify:
            files = export_folder(con, folder, fmt, overwrite=overwrite)  # type: ignore[arg-type]
            return ExportSummary(folder, files, _counts(con))
        from myositis.sources.deidentify import REMOVED_TABLES, Deidentifier, read_salt

        columns = _drop_columns(drop)
        salt, origin = read_salt(salt_file)
        deidentifier = Deidentifier(salt, drop=columns)
        tables = [t for t in TABLES if t not in REMOVED_TABLES]
        record: dict[str, Any] = {}

        def extra() -> dict[str, str]:  # after the tables: the record counts their rows
            record.update(deidentifier.record(origin))
            return {RECORD_FILE: json.dumps(record, indent=2) + "\n"}

        files = export_folder(
            con,
            folder,
            fmt,  # type: ignore[arg-type]
            tables=tables,
            transform=deidentifier.transform,
            extra_files=extra,
            overwrite=overwrite,
        )
        return ExportSummary(folder, files, dict(deidentifier.rows), record)
    finally:
        con.disconnect()


def _drop_columns(drop: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    columns = set()
    for item in drop:
        table, _, column = item.partition(".")
        if table not in TABLES or column not in TABLES[table].names:
            raise MyositisError(
                f"--drop {item!r}: not a column of the data model; write TABLE.COLUMN, for "
                "example adverse_event.term"
            )
        columns.add((table, column))
    return frozenset(columns)


def _counts(con: Any) -> dict[str, int]:
    return {name: int(con.table(name).count().execute()) for name in TABLES}


def _other_format(fmt: str, con: Any, folder: Path, overwrite: bool) -> ExportSummary:
    if fmt not in EXPORTERS:
        known = ", ".join(["csv", "parquet", *EXPORTERS])
        raise MyositisError(f"unknown export format {fmt!r}; choose one of {known}")
    module_name, _, function = EXPORTERS[fmt].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        raise MyositisError(
            f"export to {fmt} is not available yet in this version; export csv or parquet"
        ) from None
    files = getattr(module, function or "export")(con, folder, overwrite=overwrite)
    return ExportSummary(folder, files, _counts(con))


__all__ = ["EXPORTERS", "RECORD_FILE", "ExportSummary", "export_registry"]
