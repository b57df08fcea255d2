"""Migration of a registry written with an older data model to the current one (version 5),
in place and all or nothing (``myositis registry migrate REGISTRY``).

Version 4 -> 5: ``diagnosis``, ``procedure``, ``visit``, ``observation``, ``measurement`` and
``drug_exposure`` get ``source_code_system`` and ``source_code`` (null: a version-4 registry
kept one code per row, and a null source code means the row's own code is the source's,
:data:`myositis.registry.schema.SOURCE_CODE_COLUMNS`), in the data model's column order.
Version 3 -> 5: besides, the ``visit``, ``observation``, ``measurement`` and ``death`` tables
are created, empty (and a version-4 file written while version 4 was in development gets
those it lacks; a version-5 file lacking one gets it too). Version 2 -> 5: besides,
``diagnosis`` gets ``end_date`` (null: a version-2 registry recorded no diagnosis ends), and
the ``procedure`` table is created, empty.
Nothing else changes, so the data fingerprint is the same after as before
(:mod:`myositis.registry.fingerprint`); a DuckDB file that recorded one records it again,
with the new columns in its stamp, so study runs keep using the record.

Version 1 -> 5:

- every table is rebuilt with the current columns in the data model's order; the new
  columns are null (``person.source_id``, ``assessment.visit_id``, the provenance columns:
  version 1 kept no source ids or provenance; ``diagnosis.end_date``; the source codes), and
  the tables it lacked are created;
- ``laboratory``: the version-1 ``value`` and ``unit`` become ``source_value`` and
  ``source_unit``; ``value`` and ``uln`` are converted to the test's canonical unit
  (:mod:`myositis.codes.units`; version 1 gave the ULN in the unit of the value) and
  ``uln_unit`` names it. A row whose test or unit has no conversion stops the migration with
  the rows to correct: it is never stored as if it were in the canonical unit;
- ``person_race`` gets one row per person with a recorded race; ``observation_period`` and
  ``import_log`` start empty (periods are then derived, :mod:`myositis.registry.observation`).

``registry_metadata`` records the new ``schema_version``, ``migrated_from_schema_version`` and
``migrated_at``.

A DuckDB file is migrated in one transaction; a CSV/Parquet folder by writing every new file
beside the old ones and replacing them only when all are written. PostgreSQL and Spark
registries are migrated by migrating the file or folder they were copied from and copying it
again (``myositis registry copy``).

A DuckDB file at any version also gets ``person_id`` declared the key of ``person`` where its
rows allow (:mod:`myositis.registry.keys`; files written before the key lack it); an OMOP CDM
read live is never written.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import ibis
import ibis.expr.schema as sch
import pyarrow as pa
from ibis import BaseBackend

from myositis.errors import RegistryError
from myositis.registry.conformance import present_tables
from myositis.registry.fingerprint import record_fingerprint
from myositis.registry.keys import declare_person_key, person_key_declared
from myositis.registry.schema import (
    ADDED_TABLES,
    MIGRATABLE,
    SCHEMA_VERSION,
    SEVERAL_RACES,
    TABLES,
)
from myositis.registry.store import read_metadata

#: The version-1 data model (frozen: what a version-1 registry holds).
V1_TABLES: Final[dict[str, sch.Schema]] = {
    "person": ibis.schema(
        {
            "person_id": "int64",
            "site": "string",
            "sex": "string",
            "birth_date": "date",
            "birth_year": "int32",
            "race": "string",
            "ethnicity": "string",
        }
    ),
    "diagnosis": ibis.schema(
        {"person_id": "int64", "code_system": "string", "code": "string", "diagnosis_date": "date"}
    ),
    "dm_subtype": ibis.schema(
        {"person_id": "int64", "subtype": "string", "classified_date": "date"}
    ),
    "drug_exposure": ibis.schema(
        {
            "exposure_id": "int64",
            "person_id": "int64",
            "ingredient": "string",
            "code_system": "string",
            "code": "string",
            "start_date": "date",
            "end_date": "date",
            "dose": "float64",
            "dose_unit": "string",
            "frequency": "string",
            "formulation": "string",
            "route": "string",
        }
    ),
    "assessment": ibis.schema(
        {
            "assessment_id": "int64",
            "person_id": "int64",
            "assessment_date": "date",
            "instrument": "string",
            "measure": "string",
            "value": "float64",
        }
    ),
    "laboratory": ibis.schema(
        {
            "person_id": "int64",
            "test": "string",
            "loinc": "string",
            "result_date": "date",
            "value": "float64",
            "unit": "string",
            "uln": "float64",
        }
    ),
    "adverse_event": ibis.schema(
        {
            "person_id": "int64",
            "term": "string",
            "onset_date": "date",
            "grade": "int32",
            "serious": "boolean",
            "outcome": "string",
            "suspected_drug": "string",
            "led_to_discontinuation": "boolean",
        }
    ),
    "registry_metadata": ibis.schema({"key": "string", "value": "string"}),
}

#: Version-2 columns computed from version-1 ones (DuckDB SQL over the aliases ``t`` and the
#: unit rules ``u``); every other new column is null.
_LAB_COLUMNS: Final = {
    "value": "t.value * u.factor",
    "unit": "u.canonical_unit",
    "uln": "t.uln * u.factor",
    "uln_unit": "u.canonical_unit",
    "source_value": "t.value",
    "source_unit": "t.unit",
}


def _unit_rules() -> pa.Table:
    from myositis.codes.units import unit_rules

    rules = unit_rules()
    return pa.table(
        {
            "test": [r.test for r in rules],
            "unit": [r.unit for r in rules],
            "canonical_unit": [r.canonical_unit for r in rules],
            "factor": [r.factor for r in rules],
        }
    )


def _select(name: str, stored: Sequence[str], *, version_1: bool = False) -> str:
    """The SELECT that rebuilds table ``name``, whose columns are ``stored``, with the current
    columns (alias ``t``): a column it lacks is null; a version-1 laboratory's values are
    converted (``_LAB_COLUMNS``)."""
    columns = []
    lab = version_1 and name == "laboratory"
    for column, dtype in TABLES[name].items():
        sql_type = _duck_type(dtype)
        if lab and column in _LAB_COLUMNS:
            expr = _LAB_COLUMNS[column]
        elif column in stored:
            expr = f't."{column}"'
        else:
            expr = "NULL"
        columns.append(f'CAST({expr} AS {sql_type}) AS "{column}"')
    joins = " JOIN __unit_rules AS u ON u.test = t.test AND u.unit = __ucum(t.unit)" if lab else ""
    # rowid order: the rows keep the order they had (a join would not)
    return f'SELECT {", ".join(columns)} FROM "{name}" AS t{joins} ORDER BY t.rowid'


def _duck_type(dtype: object) -> str:
    text = str(dtype).rstrip("!")
    return {
        "int64": "BIGINT",
        "int32": "INTEGER",
        "string": "VARCHAR",
        "date": "DATE",
        "float64": "DOUBLE",
        "boolean": "BOOLEAN",
    }[text]


def _unconvertible(raw: object) -> list[str]:
    """Laboratory rows of a version-1 registry that have no unit conversion, grouped."""
    rows = raw.execute(  # type: ignore[attr-defined]
        "SELECT t.test, t.unit, count(*) FROM laboratory AS t LEFT JOIN __unit_rules AS u "
        "ON u.test = t.test AND u.unit = __ucum(t.unit) WHERE u.test IS NULL "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
    ).fetchall()
    return [f"test {t!r} in unit {u!r} ({n:,} row(s))" for t, u, n in rows]


def _migrate_connection(con: BaseBackend, where: str, version: str) -> dict[str, str]:
    """Bring every table of a DuckDB connection of an older version to the current data model
    (no commit here)."""
    raw = con.con
    if version == "1":
        _from_version_1(raw, where)
    else:  # versions 2-4: a new table is created empty; one that lacks a column is rebuilt
        present = present_tables(con)
        for name, schema in TABLES.items():
            if name not in present:
                _create(raw, name)
            elif any(c not in con.table(name).columns for c in schema.names):
                _rebuild(raw, name, _select(name, con.table(name).columns))
    values = {
        "schema_version": SCHEMA_VERSION,
        "migrated_from_schema_version": version,
        "migrated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    raw.execute(
        "DELETE FROM registry_metadata WHERE key IN "
        "('schema_version', 'migrated_from_schema_version', 'migrated_at')"
    )
    for key, value in values.items():
        raw.execute("INSERT INTO registry_metadata VALUES (?, ?)", [key, value])
    return values


def _create(raw: Any, name: str) -> None:
    """Create table ``name`` of the data model, empty."""
    columns = ", ".join(f'"{c}" {_duck_type(t)}' for c, t in TABLES[name].items())
    raw.execute(f'CREATE TABLE "{name}" ({columns})')


def _rebuild(raw: Any, name: str, select: str) -> None:
    """Replace table ``name`` by the rows of ``select``."""
    raw.execute(f'CREATE TABLE "__new_{name}" AS {select}')
    raw.execute(f'DROP TABLE "{name}"')
    raw.execute(f'ALTER TABLE "__new_{name}" RENAME TO "{name}"')


def _from_version_1(raw: Any, where: str) -> None:
    """Rebuild every table of a version-1 connection with the current columns (module
    docstring); a laboratory unit without a conversion stops it, nothing changed."""
    from myositis.codes.units import lab_tests, ucum

    raw.register("__unit_rules", _unit_rules())
    raw.create_function("__ucum", lambda u: None if u is None else ucum(u), ["VARCHAR"], "VARCHAR")
    try:
        bad = _unconvertible(raw)
        if bad:
            tests = ", ".join(f"{t} ({u})" for t, u in lab_tests().items())
            raise RegistryError(
                f"{where}: cannot migrate: laboratory rows without a known unit conversion: "
                f"{'; '.join(bad)}. Version 2 stores each test in one canonical unit ({tests}; "
                "accepted units: src/myositis/codes/data/lab_units.csv). Correct the unit or "
                "test of these rows (or delete them), then migrate again; nothing was changed."
            )
        for name, schema in V1_TABLES.items():
            if name != "registry_metadata":
                _rebuild(raw, name, _select(name, schema.names, version_1=True))
        for name in TABLES:
            if name not in V1_TABLES:
                _create(raw, name)
        raw.execute(
            "INSERT INTO person_race SELECT person_id, race FROM person "
            "WHERE race IS NOT NULL AND race <> ? ORDER BY person_id",
            [SEVERAL_RACES],
        )
    finally:
        raw.unregister("__unit_rules")
        raw.remove_function("__ucum")


def _version(con: BaseBackend) -> str | None:
    return read_metadata(con).get("schema_version")


def migrate(location: str | Path) -> str:
    """Migrate the registry at ``location`` (a DuckDB file or a CSV/Parquet folder) to the
    current schema version in place; return a one-line summary. Rules in the module docstring.
    """
    from myositis.registry.connect import open_engine, parse_location

    where = parse_location(location)
    if where.engine in ("postgres", "spark"):
        raise RegistryError(
            f"{where.describe()}: migrate the DuckDB file or folder this registry was copied "
            "from (myositis registry migrate FILE), then copy it again (myositis registry copy)"
        )
    assert where.path is not None
    if where.engine == "folder":
        return _migrate_folder(where.path)
    con = open_engine(where, read_only=False)
    try:
        version = _version(con)
        if version == SCHEMA_VERSION:
            done = f"{where.path} is already at schema version {SCHEMA_VERSION}"
            # a file written while this version was in development may lack a table it added
            lacking = [] if where.omop else _missing_added_tables(con)
            if lacking:
                done += f"; created the empty table(s) {', '.join(lacking)}"
        elif version not in MIGRATABLE:
            raise RegistryError(f"{where.path}: cannot migrate from schema version {version!r}")
        else:
            raw = con.con
            raw.execute("BEGIN TRANSACTION")
            try:
                _migrate_connection(con, str(where.path), version)
                if "data_fingerprint" in read_metadata(con):
                    # the same value; its stamp (per-column aggregates) now has the new column
                    record_fingerprint(con)
                raw.execute("COMMIT")
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            done = f"migrated {where.path} from schema version {version} to {SCHEMA_VERSION}"
        if where.omop:  # a CDM read live: the project writes nothing into it
            return f"{done}; nothing to do"
        return f"{done}; {_person_key(con)}"
    finally:
        con.disconnect()


def _missing_added_tables(con: BaseBackend) -> list[str]:
    """Create the tables of ``ADDED_TABLES`` that a current-version file lacks, empty."""
    present = present_tables(con)
    lacking = [name for name in ADDED_TABLES if name not in present]
    for name in lacking:
        _create(con.con, name)
    return lacking


def _person_key(con: BaseBackend) -> str:
    """Declare the person key a file written before it lacks (myositis.registry.keys)."""
    if person_key_declared(con):
        return "person_id is the key of person: nothing else to do"
    if declare_person_key(con):
        return "declared person_id the key of person (cohorts now count its rows as persons)"
    return (
        "person_id is not declared the key of person: its rows repeat or miss a person_id "
        "(myositis registry check names them)"
    )


def _migrate_folder(folder: Path) -> str:
    from myositis.registry.files import open_folder

    suffix = ".parquet" if (folder / "person.parquet").exists() else ".csv"
    meta = _folder_metadata(folder)
    version = meta.get("schema_version")
    if version == SCHEMA_VERSION:
        return f"{folder} is already at schema version {SCHEMA_VERSION}; nothing to do"
    if version not in MIGRATABLE:
        raise RegistryError(f"{folder}: cannot migrate from schema version {version!r}")
    # a version-2 to 4 folder reads as the current model: a folder may leave out what 3 to 5
    # added
    con = open_folder(folder, tables=V1_TABLES if version == "1" else TABLES)
    # the folder's tables are views of its files: the metadata becomes a table to be updated
    con.con.execute('CREATE TABLE "__metadata" AS SELECT * FROM registry_metadata')
    con.con.execute("DROP VIEW registry_metadata")
    con.con.execute('ALTER TABLE "__metadata" RENAME TO registry_metadata')
    _migrate_connection(con, str(folder), version)
    written: list[tuple[Path, Path]] = []
    try:
        for name in TABLES:
            target = folder / f"{name}{suffix}"
            partial = folder / f".{name}{suffix}.partial"
            table = con.table(name).select(*TABLES[name].names).to_pyarrow()
            table = table.cast(TABLES[name].to_pyarrow())
            _write(table, partial, suffix)
            written.append((partial, target))
    except BaseException:
        for partial, _ in written:
            partial.unlink(missing_ok=True)
        raise
    for partial, target in written:
        os.replace(partial, target)
    open_folder(folder)  # the result reads as the current data model, values checked
    return f"migrated {folder} from schema version {version} to {SCHEMA_VERSION}"


def _folder_metadata(folder: Path) -> dict[str, str]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    for suffix in (".csv", ".parquet"):
        path = folder / f"registry_metadata{suffix}"
        if path.exists():
            table = pq.read_table(path) if suffix == ".parquet" else pacsv.read_csv(path)
            return {str(r["key"]): str(r["value"]) for r in table.to_pylist()}
    return {}


def _write(table: pa.Table, path: Path, suffix: str) -> None:
    from myositis.registry.export import write_csv, write_parquet

    (write_parquet if suffix == ".parquet" else write_csv)(table, path, table.schema)


__all__ = ["V1_TABLES", "migrate"]
