"""The one write of an import: staged, checked, resolved, matched, then stored in one
transaction or not at all, with every record accounted for.

:func:`write_import` takes a :class:`~myositis.sources.contract.Reader` and a registry
location and runs, in this order:

1. **stage**: every batch the reader yields goes into a temporary table ``stage_<table>`` of the
   registry's own DuckDB connection (nothing touches the registry's tables yet);
2. **check**: the shared checks (:mod:`myositis.sources.checks`) and the reader's problems.
   With ``errors="stop"`` (the default) any error refuses the whole import: nothing is written
   and every problem is reported in one round, not some only once others are corrected: the
   records with a problem are set aside and step 3 still resolves and checks the others (a
   problem with the source as a whole, such as a missing column, refuses the import at
   once). With ``errors="report"`` each record with a problem is rejected (with its reason)
   and the others are stored; a record of a person whose own record has a problem is rejected
   with that reason. Records the source marks entered in error or cancelled are always
   rejected, never stored;
3. **resolve**: persons by (site, ``source_id``) — a person already in the registry keeps their
   ``person_id``, a new one keeps the source's proposed id when it is free, else gets the next
   free id — then every row's person; ``exposure_id`` and ``assessment_id`` the same way (one
   ``assessment_id`` per administration: rows sharing ``visit_id``, or a proposed id);
   laboratory values and ULNs are converted to the test's canonical unit. Deaths are checked
   against the persons resolved (:func:`~myositis.sources.checks.death_checks`: one per
   person, none before the birth);
4. **match**: each staged row against the rows stored from the same source, on (person,
   ``source_record``, ``ROW_KEYS``): the same content is *unchanged* (not written again), other
   content *updated* (the stored row is replaced, its ids kept), no match *added*. A person
   matches on (site, ``source_id``) whatever the source. The person-level detail tables
   (``person_race``, ``observation_period``) of each person in the import are replaced;
5. **write**: in one DuckDB transaction, an ``import_log`` row and every change; the rows the
   registry then holds from this import are counted against the plan before the commit, and
   the records of the import's persons dated more than 60 days after their death are counted
   in the warnings (:mod:`myositis.registry.death`: claims and laboratory data are often dated
   a little after a death, so they are reported, not refused);
6. **fingerprint**: the data fingerprint of every row is recorded with its stamp
   (:func:`~myositis.registry.fingerprint.record_fingerprint`), so study runs verify it by
   cheap aggregates instead of hashing every row.

Accounting: records in (counted by the reader) = stored + rejected, where stored records are
the distinct ``source_location`` s of the rows kept and rejected ones those with a problem; a
mismatch is a reader's bug and stops the import.

The registry must be a DuckDB file (created when it does not exist). Importing into
PostgreSQL or Spark goes through a DuckDB file and ``myositis registry copy``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
from ibis import BaseBackend

from myositis import __version__
from myositis.errors import MyositisError, SourceError
from myositis.progress import Progress, silent
from myositis.registry.death import records_after_death
from myositis.registry.fingerprint import record_fingerprint
from myositis.registry.keys import declare_person_key
from myositis.registry.schema import (
    ID_COLUMNS,
    PERSON_DETAIL_TABLES,
    PROVENANCE_COLUMNS,
    TABLES,
    has_provenance,
)
from myositis.sources.checks import (
    PERSON_FAILED,
    death_checks,
    duplicate_checks,
    person_named,
    row_checks,
)
from myositis.sources.contract import (
    IMPORT_TABLES,
    PERSON_TABLES,
    ROW_KEYS,
    Batch,
    Intake,
    Problem,
    Reader,
    staging_schema,
)

ErrorMode = Literal["stop", "report"]

#: DuckDB's memory limit while an import runs: beyond it the staged rows spill to disk (the
#: registry's ``.tmp`` directory), so a large import runs in bounded memory
#: (docs/benchmarks.md, "FHIR import").
STAGING_MEMORY_LIMIT: Final = "256MB"
ERROR_MODES: Final = ("stop", "report")


@dataclass
class TableCounts:
    """Rows of one table in one import: staged (read and kept), and what became of them."""

    staged: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass
class ImportResult:
    """The accounting of one import (rendered by ``report.imports`` and written as JSON)."""

    source_kind: str
    source: str
    location: str
    registry: str
    mapping: str | None
    errors: str
    started_at: str
    finished_at: str = ""
    status: Literal["stored", "refused"] = "refused"
    import_id: int | None = None
    records_in: int = 0
    stored: int = 0
    rejected: int = 0
    tables: dict[str, TableCounts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """Records in = stored + rejected."""
        return self.records_in == self.stored + self.rejected

    def rows(self, what: str) -> int:
        """Total rows ``added``, ``updated``, ``unchanged`` or ``removed`` over the tables."""
        return sum(getattr(c, what) for c in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values."""
        data = asdict(self)
        data["problems"] = [p.as_dict() for p in self.problems]
        data["balanced"] = self.balanced
        data["rows"] = {w: self.rows(w) for w in ("added", "updated", "unchanged", "removed")}
        return data


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def write_import(
    reader: Reader,
    into: str | Path,
    *,
    errors: ErrorMode = "stop",
    progress: Progress = silent,
    today: _dt.date | None = None,
) -> ImportResult:
    """Import everything ``reader`` reads into the registry at ``into`` (the steps in the
    module docstring); return the accounting. A refused import (``status`` ``"refused"``)
    wrote nothing; its ``problems`` say why."""
    if errors not in ERROR_MODES:
        raise MyositisError(f"--errors must be one of {', '.join(ERROR_MODES)}, not {errors!r}")
    result = ImportResult(
        source_kind=reader.name,
        source=reader.source,
        location=reader.describe(),
        registry=str(into),
        mapping=str(reader.mapping) if reader.mapping else None,
        errors=errors,
        started_at=_now(),
    )
    con, created = _open_target(into)
    try:
        _Import(con, reader, result, errors, progress, today or _dt.date.today()).run()
        if result.status == "stored":
            declare_person_key(con)  # persons were resolved to one row each (step 3)
            # hashing every row once here spares each study run from doing it: they verify
            # the record by cheap aggregates (myositis.registry.fingerprint)
            progress("recording the data fingerprint")
            record_fingerprint(con)
    except BaseException:
        con.disconnect()
        if created is not None:
            _remove(created)
        raise
    con.disconnect()
    if created is not None and result.status == "refused":
        _remove(created)
    return result


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _open_target(into: str | Path) -> tuple[BaseBackend, Path | None]:
    from myositis.registry.conformance import check_conformance
    from myositis.registry.connect import open_engine, parse_location
    from myositis.registry.store import create_registry

    location = parse_location(into)
    if location.engine != "duckdb":
        kind = {"folder": "a folder", "postgres": "PostgreSQL", "spark": "Spark"}[location.engine]
        raise SourceError(
            f"{location.describe()}: imports go into a DuckDB registry file (.duckdb), not "
            f"{kind}; import into a file, then put it where you need it (myositis export "
            "REGISTRY --to DIR for a folder; myositis registry copy for PostgreSQL or Spark)"
        )
    assert location.path is not None
    if not location.path.exists():
        return create_registry(location.path), location.path
    con = open_engine(location, read_only=False)
    check_conformance(con, where=str(location.path))
    return con, None


def _q(name: str) -> str:
    return f'"{name}"'


def _duck_type(dtype: pa.DataType) -> str:
    types = {
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }
    return types[dtype]


def _ucum(unit: str | None) -> str | None:
    from myositis.codes.units import ucum

    return None if unit is None else ucum(unit)


class _Import:
    """One run of the steps of :func:`write_import` on the registry's DuckDB connection."""

    def __init__(
        self,
        con: BaseBackend,
        reader: Reader,
        result: ImportResult,
        errors: ErrorMode,
        progress: Progress,
        today: _dt.date,
    ) -> None:
        self.con = con
        self.db = con.con  # the registry's DuckDB connection
        self.reader = reader
        self.result = result
        self.errors = errors
        self.progress = progress
        self.today = today
        self.seq = 0

    # -- helpers -------------------------------------------------------------------------------
    def sql(self, text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self.db.execute(text, params or [])
        try:
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        except Exception:  # statements without a result
            return []
        return rows

    def scalar(self, text: str, params: list[Any] | None = None) -> Any:
        rows = self.sql(text, params)
        return rows[0][0] if rows else None

    # -- the steps -----------------------------------------------------------------------------
    def run(self) -> None:
        intake = Intake()
        try:
            # the stage may hold millions of rows: let DuckDB spill them to its temporary
            # directory (beside the registry file) rather than hold them all in memory
            self.sql(f"SET memory_limit = '{STAGING_MEMORY_LIMIT}'")
            self._create_stage()
            self._stage(self.reader.batches(intake, self.progress))
            self.result.records_in = intake.records_in
            self.result.warnings = list(intake.warnings)
            self.progress("checking the records")
            problems = list(intake.problems) + self._check()
            # a problem with the source as a whole (a file or sheet that could not be read)
            # stops here: each record it holds would be reported again below (a person sheet
            # missing a column: every row of its persons as of an unknown person)
            if any(p.severity == "error" and p.location is None for p in problems):
                self._refuse(problems)
                return
            # the later checks see only the records that passed these, so every problem is
            # reported in one round (with --errors stop too: the import is refused anyway)
            # and none is only the echo of another
            self._set_aside({p.location for p in problems if p.location})
            problems += self._resolve_persons()
            problems += [_problem(*row) for _, row in death_checks(self.db, self.reader.source)]
            if self._refuse(problems):
                return
            self._account(problems)
            self._convert_units()
            self._match()
            self.progress("writing the registry")
            self._write()
        finally:
            self._drop_stage()

    def _create_stage(self) -> None:
        from myositis.codes.units import unit_rules

        for table in IMPORT_TABLES:
            columns = [f"{_q(f.name)} {_duck_type(f.type)}" for f in staging_schema(table)]
            columns.append("_seq BIGINT")
            self.sql(f"CREATE OR REPLACE TEMP TABLE stage_{table} ({', '.join(columns)})")
        rules = unit_rules()
        self.db.register(
            "lab_unit_rules",
            pa.table(
                {
                    "test": [r.test for r in rules],
                    "unit": [r.unit for r in rules],
                    "canonical_unit": [r.canonical_unit for r in rules],
                    "factor": [r.factor for r in rules],
                }
            ),
        )
        self.db.create_function("lab_ucum", _ucum, ["VARCHAR"], "VARCHAR")

    def _drop_stage(self) -> None:
        for name in self.sql("SELECT table_name FROM duckdb_tables() WHERE temporary"):
            self.sql(f"DROP TABLE IF EXISTS temp.{_q(name[0])}")
        try:
            self.db.unregister("lab_unit_rules")
            self.db.remove_function("lab_ucum")
        except Exception:  # not yet created: nothing to release
            pass

    def _stage(self, batches: Iterable[Batch]) -> None:
        staged = 0
        for batch in batches:
            if batch.table not in IMPORT_TABLES:
                raise SourceError(
                    f"the {self.reader.name} reader produced rows for {batch.table!r}, which is "
                    f"not a table an import fills ({', '.join(IMPORT_TABLES)})"
                )
            rows = self._conform(batch)
            if not rows.num_rows:
                continue
            rows = rows.append_column(
                "_seq", pa.array(range(self.seq, self.seq + rows.num_rows), pa.int64())
            )
            self.seq += rows.num_rows
            self.db.register("__batch", rows)
            try:
                self.sql(f"INSERT INTO stage_{batch.table} BY NAME SELECT * FROM __batch")
            finally:
                self.db.unregister("__batch")
            staged += rows.num_rows
            self.progress("reading the source (rows)", staged, None)

    def _conform(self, batch: Batch) -> pa.Table:
        schema = staging_schema(batch.table)
        unknown = sorted(set(batch.rows.column_names) - set(schema.names))
        if unknown:
            raise SourceError(
                f"the {self.reader.name} reader produced unknown column(s) {unknown} for "
                f"{batch.table!r}; a reader gives only the columns of staging_schema()"
            )
        columns = []
        for f in schema:
            if f.name in batch.rows.column_names:
                columns.append(batch.rows.column(f.name).cast(f.type, safe=True))
            else:
                columns.append(pa.nulls(batch.rows.num_rows, f.type))
        return pa.Table.from_arrays(columns, schema=schema)

    def _check(self) -> list[Problem]:
        found = list(row_checks(self.db, self.today)) + list(duplicate_checks(self.db))
        return [_problem(*row) for _, row in found]

    def _refuse(self, problems: list[Problem]) -> bool:
        """Whether the import is refused (recorded in the result with every problem): on any
        error with ``--errors stop``, on one with the source as a whole with ``report``."""
        self.result.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        whole = any(p.location is None for p in errors)
        if not errors or (self.errors == "report" and not whole):
            return False
        self.result.status = "refused"
        self.result.stored = 0
        self.result.rejected = self.result.records_in
        self.result.finished_at = _now()
        return True

    def _set_aside(self, locations: set[str]) -> None:
        """Take the records read at ``locations`` (each with a problem) out of the stage, with
        every row read with them, keeping where each person among them was read
        (``failed_person``: a record of that person is then not stored, for that reason). A
        reader that could not read a person's record but knows its source id stages a person
        row of that id alone at the record's location, for this (the FHIR reader does, for a
        Patient that is not valid)."""
        self.db.register("__failed", pa.table({"loc": pa.array(sorted(locations), pa.string())}))
        try:
            self.sql(
                "CREATE TEMP TABLE failed_person AS SELECT source_id, min(source_location) AS "
                "at FROM stage_person WHERE source_id IS NOT NULL AND source_location IN "
                "(SELECT loc FROM __failed) GROUP BY source_id"
            )
        finally:
            self.db.unregister("__failed")
        self._drop_locations(locations)

    def _drop_locations(self, locations: set[str]) -> None:
        if not locations:
            return
        self.db.register("__dropped", pa.table({"loc": sorted(locations)}))
        try:
            for table in IMPORT_TABLES:
                self.sql(
                    f"DELETE FROM stage_{table} WHERE source_location IN (SELECT loc FROM "
                    "__dropped)"
                )
        finally:
            self.db.unregister("__dropped")

    def _resolve_persons(self) -> list[Problem]:
        """Give each staged person a registry person_id, and each staged row its person."""
        self.sql("ALTER TABLE stage_person ADD COLUMN resolved BIGINT")
        self.sql("ALTER TABLE stage_person ADD COLUMN matched BOOLEAN DEFAULT false")
        self.sql(
            "UPDATE stage_person s SET resolved = p.person_id, matched = true FROM (SELECT site, "
            "source_id, min(person_id) AS person_id FROM main.person WHERE source_id IS NOT NULL "
            "GROUP BY ALL) p WHERE p.source_id = s.source_id AND p.site IS NOT DISTINCT FROM s.site"
        )
        self.sql(
            "CREATE TEMP TABLE units_person AS SELECT _seq AS first_seq, person_id AS proposed, "
            "resolved AS new_id FROM stage_person"
        )
        self._assign_ids("units_person", "person", "person_id")
        self.sql(
            "UPDATE stage_person s SET resolved = u.new_id FROM units_person u "
            "WHERE u.first_seq = s._seq"
        )
        problems: list[Problem] = []
        for table in PERSON_TABLES:
            stage = f"stage_{table}"
            self.sql(f"ALTER TABLE {stage} ADD COLUMN pid BIGINT")
            self.sql(
                f"UPDATE {stage} s SET pid = p.resolved FROM stage_person p "
                "WHERE s.person_source_id = p.source_id"
            )
            self.sql(
                f"UPDATE {stage} s SET pid = r.person_id FROM (SELECT source_id, min(person_id) "
                "AS person_id FROM main.person WHERE source_id IS NOT NULL GROUP BY source_id "
                "HAVING count(*) = 1) r WHERE s.pid IS NULL AND s.person_source_id = r.source_id"
            )
            self.sql(
                f"UPDATE {stage} s SET pid = s.person_id WHERE s.pid IS NULL AND "
                "s.person_source_id IS NULL AND EXISTS (SELECT 1 FROM main.person p WHERE "
                "p.person_id = s.person_id)"
            )
            # the person as the source named them; a person whose own record has a problem is
            # named with it, not as unknown
            unresolved = self.sql(
                f"SELECT s.source_location, {person_named('s')}, CASE WHEN f.at IS NOT NULL "
                "THEN replace(?, '{at}', f.at) WHEN s.person_source_id IN (SELECT source_id "
                "FROM main.person GROUP BY source_id HAVING count(*) > 1) THEN 'several persons "
                "of the registry (at different sites) have this source id; import the rows "
                "with their person' WHEN s.person_id IS NOT NULL THEN 'no person with this "
                "person_id in the import or in the registry' ELSE 'no person with this source "
                f"id in the import or in the registry' END FROM {stage} s LEFT JOIN "
                "failed_person f ON f.source_id = s.person_source_id WHERE s.pid IS NULL AND "
                "(s.person_source_id IS NOT NULL OR s.person_id IS NOT NULL)",
                [PERSON_FAILED],
            )
            problems += [_problem(*row) for row in unresolved]
        return problems

    def _assign_ids(self, units: str, table: str, column: str) -> None:
        """Fill ``new_id`` of the rows of ``units`` (first_seq, proposed, new_id) that have
        none: a proposed id when no stored row and no other unit has it (the first proposal
        wins), otherwise the next ids after the highest in use, in the order read."""
        self.sql(
            f"UPDATE {units} u SET new_id = k.proposed FROM (SELECT first_seq, proposed, "
            "row_number() OVER (PARTITION BY proposed ORDER BY first_seq) AS n FROM "
            f"{units} WHERE new_id IS NULL AND proposed IS NOT NULL AND NOT EXISTS (SELECT 1 "
            f"FROM main.{table} r WHERE r.{column} = proposed) AND proposed NOT IN (SELECT "
            f"new_id FROM {units} WHERE new_id IS NOT NULL)) k WHERE u.first_seq = k.first_seq "
            "AND k.n = 1"
        )
        base = self.scalar(
            f"SELECT greatest((SELECT coalesce(max({column}), 0) FROM main.{table}), "
            f"(SELECT coalesce(max(new_id), 0) FROM {units}))"
        )
        self.sql(
            f"UPDATE {units} u SET new_id = ? + k.n FROM (SELECT first_seq, row_number() OVER "
            f"(ORDER BY first_seq) AS n FROM {units} WHERE new_id IS NULL) k "
            "WHERE u.first_seq = k.first_seq",
            [int(base)],
        )

    def _account(self, problems: list[Problem]) -> None:
        """Records in = stored + rejected, or the reader miscounted (a bug: stop)."""
        rejected = {p.location for p in problems if p.location}
        self._drop_locations(rejected)  # records the source marked are never stored
        union = " UNION ".join(f"SELECT source_location FROM stage_{t}" for t in IMPORT_TABLES)
        stored = int(self.scalar(f"SELECT count(DISTINCT source_location) FROM ({union})"))
        unlocated = int(
            self.scalar(f"SELECT count(*) FROM ({union}) WHERE source_location IS NULL")
        )
        self.result.stored = stored
        self.result.rejected = len(rejected)
        if unlocated or not self.result.balanced:
            raise SourceError(
                f"the {self.reader.name} reader's accounting does not add up: "
                f"{self.result.records_in} records read, {stored} stored and {len(rejected)} "
                f"rejected ({unlocated} rows without a source_location). This is a bug in "
                "the reader; nothing was written."
            )

    def _convert_units(self) -> None:
        """Laboratory values and ULNs to the test's canonical unit (rules: codes/units.py)."""
        self.sql(
            "UPDATE stage_laboratory s SET value = s.source_value * u.factor, unit = "
            "u.canonical_unit FROM lab_unit_rules u WHERE u.test = s.test AND "
            "u.unit = lab_ucum(s.source_unit)"
        )
        self.sql(
            "UPDATE stage_laboratory s SET uln = s.uln * u.factor, uln_unit = u.canonical_unit "
            "FROM lab_unit_rules u WHERE s.uln IS NOT NULL AND u.test = s.test AND "
            "u.unit = lab_ucum(coalesce(s.uln_unit, s.source_unit))"
        )
        self.sql("UPDATE stage_laboratory SET uln_unit = NULL WHERE uln IS NULL")

    def _match(self) -> None:
        """Mark each staged row added, updated or unchanged; give every row its ids."""
        source = self.reader.source
        self.sql(
            "CREATE TEMP TABLE source_imports AS SELECT import_id FROM main.import_log "
            "WHERE source = ?",
            [source],
        )
        for table in IMPORT_TABLES:
            if not has_provenance(table):
                continue
            stage = f"stage_{table}"
            self.sql(f"ALTER TABLE {stage} ADD COLUMN status VARCHAR")
            self.sql(f"ALTER TABLE {stage} ADD COLUMN old_id BIGINT")
            equal = " AND ".join(
                f"s.{_q(c)} IS NOT DISTINCT FROM o.{_q(c)}" for c in _content(table)
            )
            if table == "person":
                self.sql(
                    f"UPDATE {stage} s SET status = CASE WHEN {equal} THEN 'unchanged' ELSE "
                    "'updated' END, old_id = o.person_id FROM main.person o WHERE s.matched "
                    "AND o.person_id = s.resolved"
                )
            else:
                id_column = ID_COLUMNS.get(table)
                old = f"o.{_q(id_column)}" if id_column else "NULL"
                self.sql(
                    f"CREATE TEMP TABLE old_{table} AS SELECT t.* FROM main.{table} t WHERE "
                    "t.import_id IN (SELECT import_id FROM source_imports)"
                )
                self.sql(
                    f"UPDATE {stage} s SET status = CASE WHEN {equal} THEN 'unchanged' ELSE "
                    f"'updated' END, old_id = {old} FROM old_{table} o WHERE "
                    f"{_identity(table, 's', 'o')}"
                )
            self.sql(f"UPDATE {stage} SET status = 'added' WHERE status IS NULL")
        self._exposure_ids()
        self._assessment_ids()

    def _exposure_ids(self) -> None:
        self.sql("ALTER TABLE stage_drug_exposure ADD COLUMN new_id BIGINT")
        self.sql(
            "CREATE TEMP TABLE units_exposure AS SELECT _seq AS first_seq, exposure_id AS "
            "proposed, old_id AS new_id FROM stage_drug_exposure"
        )
        self._assign_ids("units_exposure", "drug_exposure", "exposure_id")
        self.sql(
            "UPDATE stage_drug_exposure s SET new_id = u.new_id FROM units_exposure u "
            "WHERE u.first_seq = s._seq"
        )

    def _assessment_ids(self) -> None:
        """One id per administration: rows of one person and instrument sharing a visit_id,
        else a proposed assessment_id, else a date."""
        stage = "stage_assessment"
        self.sql(f"ALTER TABLE {stage} ADD COLUMN new_id BIGINT")
        self.sql(f"ALTER TABLE {stage} ADD COLUMN gkey VARCHAR DEFAULT NULL")
        self.sql(
            f"UPDATE {stage} SET gkey = coalesce('v' || visit_id, '#' || CAST(assessment_id AS "
            "VARCHAR), '@' || CAST(assessment_date AS VARCHAR))"
        )
        self.sql(
            "CREATE TEMP TABLE units_assessment AS SELECT pid, instrument, gkey, min(_seq) AS "
            f"first_seq, min(assessment_id) AS proposed, min(old_id) AS new_id FROM {stage} "
            "GROUP BY pid, instrument, gkey"
        )
        # a new item of an administration already stored from this source joins it
        self.sql(
            "UPDATE units_assessment g SET new_id = o.aid FROM (SELECT person_id, instrument, "
            "visit_id, min(assessment_id) AS aid FROM old_assessment WHERE visit_id IS NOT NULL "
            "GROUP BY ALL) o WHERE g.new_id IS NULL AND g.gkey = 'v' || o.visit_id AND "
            "g.pid = o.person_id AND g.instrument = o.instrument"
        )
        self._assign_ids("units_assessment", "assessment", "assessment_id")
        self.sql(
            f"UPDATE {stage} s SET new_id = g.new_id FROM units_assessment g WHERE "
            "g.pid = s.pid AND g.instrument IS NOT DISTINCT FROM s.instrument AND g.gkey = s.gkey"
        )

    def _write(self) -> None:
        """Every change in one transaction, checked against the plan before the commit."""
        counts = self._plan()
        self.result.tables = counts
        self.db.execute("BEGIN TRANSACTION")
        try:
            import_id = int(
                self.scalar("SELECT coalesce(max(import_id), 0) + 1 FROM main.import_log")
            )
            for table in IMPORT_TABLES:
                if has_provenance(table):
                    self._write_rows(table, import_id)
                else:
                    self._write_details(table, counts[table])
                self._verify(table, import_id, counts[table])
            self.result.warnings += self._after_death()
            self.result.import_id = import_id
            self.result.status = "stored"
            self.result.finished_at = _now()
            self._log(import_id)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            self.result.status = "refused"
            self.result.import_id = None
            raise

    def _plan(self) -> dict[str, TableCounts]:
        counts: dict[str, TableCounts] = {}
        for table in IMPORT_TABLES:
            stage = f"stage_{table}"
            if has_provenance(table):
                rows = dict(self.sql(f"SELECT status, count(*) FROM {stage} GROUP BY status"))
                counts[table] = TableCounts(
                    staged=sum(rows.values()),
                    added=rows.get("added", 0),
                    updated=rows.get("updated", 0),
                    unchanged=rows.get("unchanged", 0),
                )
                continue
            columns = ", ".join(_q(c) for c in TABLES[table].names if c != "person_id")
            new = f"SELECT DISTINCT pid AS person_id, {columns} FROM {stage}"
            old = (
                f"SELECT person_id, {columns} FROM main.{table} WHERE person_id IN "
                f"(SELECT pid FROM {stage})"
            )
            staged = int(self.scalar(f"SELECT count(*) FROM {stage}"))
            added = int(self.scalar(f"SELECT count(*) FROM ({new} EXCEPT ALL {old})"))
            removed = int(self.scalar(f"SELECT count(*) FROM ({old} EXCEPT ALL {new})"))
            kept = int(self.scalar(f"SELECT count(*) FROM ({new})")) - added
            counts[table] = TableCounts(staged, added, 0, kept, removed)
        return counts

    def _write_rows(self, table: str, import_id: int) -> None:
        stage = f"stage_{table}"
        if table == "person":
            self.sql(
                "DELETE FROM main.person t WHERE t.person_id IN (SELECT resolved FROM "
                "stage_person WHERE status = 'updated')"
            )
        else:
            self.sql(
                f"DELETE FROM main.{table} t WHERE t.import_id IN (SELECT import_id FROM "
                f"source_imports) AND EXISTS (SELECT 1 FROM {stage} s WHERE s.status = "
                f"'updated' AND {_identity(table, 's', 't')})"
            )
        values = []
        for column in TABLES[table].names:
            if column == "import_id":
                values.append(f"{import_id} AS import_id")
            elif table == "person" and column == "person_id":
                values.append("resolved AS person_id")
            elif column == "person_id":
                values.append("pid AS person_id")
            elif column == ID_COLUMNS.get(table):
                values.append(f"new_id AS {_q(column)}")
            else:
                values.append(_q(column))
        self.sql(
            f"INSERT INTO main.{table} BY NAME SELECT {', '.join(values)} FROM {stage} "
            "WHERE status IN ('added', 'updated') ORDER BY _seq"
        )

    def _write_details(self, table: str, counts: TableCounts) -> None:
        if not (counts.added or counts.removed):
            return
        stage = f"stage_{table}"
        columns = ", ".join(_q(c) for c in TABLES[table].names if c != "person_id")
        self.sql(f"DELETE FROM main.{table} WHERE person_id IN (SELECT pid FROM {stage})")
        self.sql(
            f"INSERT INTO main.{table} BY NAME SELECT DISTINCT pid AS person_id, {columns} "
            f"FROM {stage}"
        )

    def _verify(self, table: str, import_id: int, counts: TableCounts) -> None:
        if has_provenance(table):
            found = int(
                self.scalar(f"SELECT count(*) FROM main.{table} WHERE import_id = ?", [import_id])
            )
            expected = counts.added + counts.updated
        else:
            found = int(
                self.scalar(
                    f"SELECT count(*) FROM main.{table} WHERE person_id IN (SELECT pid FROM "
                    f"stage_{table})"
                )
            )
            expected = counts.added + counts.unchanged
        if found != expected:
            raise SourceError(
                f"{table}: the registry holds {found} rows of this import where {expected} were "
                "planned; nothing was written (this is a bug; please report it)"
            )

    def _after_death(self) -> list[str]:
        """The import's persons' records dated more than 60 days after their death, as the
        registry holds them once written (:mod:`myositis.registry.death`), one warning per
        table and date column."""
        pids = " UNION ALL ".join(f"SELECT pid FROM stage_{t}" for t in PERSON_TABLES)
        # the import's persons, in the engine (the staged tables are on this connection);
        # records_after_death compares no one when none of them has died
        persons = self.con.sql(
            f"SELECT resolved AS person_id FROM stage_person UNION ALL {pids}",
            schema={"person_id": "int64"},
        )
        return [late.describe() for late in records_after_death(self.con, persons)]

    def _log(self, import_id: int) -> None:
        r = self.result
        self.sql(
            "INSERT INTO main.import_log BY NAME SELECT ? AS import_id, ? AS source, ? AS "
            "location, ? AS mapping, ? AS started_at, ? AS finished_at, ? AS records_in, ? AS "
            "stored, ? AS rejected, ? AS rows_added, ? AS rows_updated, ? AS rows_unchanged, "
            "? AS software",
            [
                import_id,
                r.source,
                r.location,
                r.mapping,
                r.started_at,
                r.finished_at,
                r.records_in,
                r.stored,
                r.rejected,
                r.rows("added"),
                r.rows("updated"),
                r.rows("unchanged"),
                f"myositis-outcomes {__version__}",
            ],
        )


def _content(table: str) -> list[str]:
    """The columns whose values a re-import compares (not ids, persons or provenance)."""
    skip = {*PROVENANCE_COLUMNS, "person_id", ID_COLUMNS.get(table)}
    return [c for c in TABLES[table].names if c not in skip]


def _identity(table: str, staged: str, stored: str) -> str:
    """SQL: the staged row and the stored row are the same record of the same person."""
    parts = [
        f"{stored}.person_id = {staged}.pid",
        f"{stored}.source_record = {staged}.source_record",
    ]
    parts += [
        f"{stored}.{_q(c)} IS NOT DISTINCT FROM {staged}.{_q(c)}" for c in ROW_KEYS.get(table, ())
    ]
    return " AND ".join(parts)


def _problem(location: str | None, column: str | None, value: Any, reason: str) -> Problem:
    text = None if value is None else str(value)
    return Problem(None, location, column, text, reason, "error", location)


__all__ = ["ERROR_MODES", "ErrorMode", "ImportResult", "TableCounts", "write_import"]

# Person-level detail tables are written whole per person (see PERSON_DETAIL_TABLES).
assert set(PERSON_DETAIL_TABLES) == {t for t in IMPORT_TABLES if not has_provenance(t)}
