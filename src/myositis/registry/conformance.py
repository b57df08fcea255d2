"""Conformance of a registry to the data model: every table and column present with a type
that reads as the registry type, and a schema version this software reads.

Checked whenever a registry is opened (:func:`myositis.registry.connect.connect`); the
content rules (keys, orphans, dates, item values) are in :mod:`myositis.registry.integrity`.
"""

from __future__ import annotations

import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
from ibis import BaseBackend
from ibis.common.exceptions import TableNotFound

from myositis.errors import RegistryError
from myositis.registry.schema import ADDED_TABLES, MIGRATABLE, SCHEMA_VERSION, TABLES
from myositis.registry.store import read_metadata


def check_conformance(con: BaseBackend, *, where: str = "registry") -> None:
    """Check that every table and column of ``TABLES`` is present with a compatible type,
    and that a recorded ``schema_version`` matches this software's."""
    present = set(present_tables(con))
    if "registry_metadata" in present:
        version = read_metadata(con).get("schema_version")
        if version is not None and version != SCHEMA_VERSION:
            raise RegistryError(
                f"{where}: registry schema_version {version!r}, this software reads "
                f"{SCHEMA_VERSION!r}; {upgrade_advice(version, where)}"
            )
    missing_tables = [name for name in TABLES if name not in present]
    if missing_tables:
        added = set(missing_tables) <= set(ADDED_TABLES)
        raise RegistryError(
            f"{where}: missing registry table(s) {', '.join(missing_tables)} "
            f"(found: {', '.join(sorted(present)) or 'none'}); every table of the data "
            "model must exist, even if empty"
            + (
                f" (a file written while version {SCHEMA_VERSION} was in development: "
                f"myositis registry migrate '{where}' creates them)"
                if added
                else " (see docs/data-model.md)"
            )
        )
    for name, expected in TABLES.items():
        check_schema(con.table(name).schema(), expected, f"{where}: table '{name}'")


def upgrade_advice(version: str, where: str) -> str:
    """What to do with a registry of another schema version."""
    if version in MIGRATABLE:
        return f"migrate it once with: myositis registry migrate '{where}' (docs/data-model.md)"
    return "re-create it with this version (myositis import, or myositis registry synth)"


def present_tables(con: BaseBackend) -> list[str]:
    """The registry tables (names in ``TABLES``) that exist in ``con``.

    Probes each name with ``con.table`` rather than ``list_tables``, which is broken in
    ibis 12 with duckdb 2 (its cursor lost ``fetch_arrow_table``).
    """
    found = []
    for name in TABLES:
        try:
            con.table(name)
        except TableNotFound:
            continue
        found.append(name)
    return found


def compatible(expected: dt.DataType, found: dt.DataType) -> bool:
    """Whether a stored column type can be read as the registry type without loss of meaning.

    Integers accept any integer width; floats accept floats and integers; dates accept dates
    and timestamps (truncated to the day); strings and booleans must match.
    """
    if expected.is_integer():
        return found.is_integer()
    if expected.is_floating():
        return found.is_floating() or found.is_integer() or found.is_decimal()
    if expected.is_date():
        return found.is_date() or found.is_timestamp()
    if expected.is_string():
        return found.is_string()
    if expected.is_boolean():
        return found.is_boolean()
    return found.copy(nullable=True) == expected.copy(nullable=True)


def check_schema(found: sch.Schema, expected: sch.Schema, where: str) -> None:
    missing = [c for c in expected.names if c not in found.names]
    if missing:
        raise RegistryError(
            f"{where} lacks column(s) {', '.join(missing)} (found: {', '.join(found.names)}); "
            "add them (they may be empty)"
        )
    for column, etype in expected.items():
        ftype = found[column]
        if not compatible(etype, ftype):
            raise RegistryError(
                f"{where}, column '{column}': found type {ftype}, expected {etype}; "
                f"convert the column to {etype}"
            )


__all__ = ["check_conformance", "check_schema", "compatible", "present_tables"]
