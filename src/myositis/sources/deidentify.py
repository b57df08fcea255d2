"""De-identification of a registry export, as REDCap's de-identified export does it.

Rules (applied row batch by row batch on the way out, :class:`Deidentifier`):

- **identifiers removed**: the person's ``source_id`` (MRN, REDCap record id, FHIR Patient.id)
  and every provenance column (``source_record`` and ``source_location`` hold record ids and
  file names), the ``import_log`` table (locations of the sources), and every
  ``registry_metadata`` key but ``KEPT_METADATA``, and an observation's ``value_text`` (the
  value a source gave as text: a FHIR ``valueString``, OMOP's ``value_as_string``, which may
  name anyone). The data model holds no names, addresses or free-text notes otherwise
  (imports do not store columns outside it); a site whose adverse event terms are free text
  removes them with ``drop`` (``--drop adverse_event.term``);
- **record ids replaced by salted hashes**: ``person_id`` in every table, ``exposure_id``,
  ``assessment_id`` (positive 63-bit integers, so the export is still a registry),
  ``assessment.visit_id`` and ``visit.visit_id`` (text, hashed alike, so an assessment still
  names its visit): HMAC-SHA256 with the salt, so the same salt gives the same hashes (exports
  can be linked) and no one without it can go back;
- **dates shifted**: every date of one person moves back by the same number of days, from 0 to
  364, derived from the salt and the person (HMAC-SHA256), so intervals within a person are
  preserved; the death date too (``death.death_date``: HIPAA Safe Harbor names the date of
  death among the dates to remove), so survival times are kept; the offsets are not written
  anywhere (REDCap shifts "back in time up to 364 days", consistently per record: Mass General
  Brigham REDCap knowledge base, article 1478);
- **ages over 89 grouped** (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C): ages over 89 and
  the dates that show them are aggregated into one category, 90 or older): a person aged 90 or
  more on the day of the export (from the real birth date, or 1 January of the birth year) has
  no birth date, and the birth year is top-coded to the export year minus 90;
- a **record of what was done** (:meth:`Deidentifier.record`): what was removed, hashed, shifted
  and grouped, and how many persons were grouped — never the offsets or the salt.

This is record-level de-identification. Aggregates that leave a site go through the disclosure
control of :mod:`myositis.network.disclosure` (small-cell suppression); a de-identified export
is not an aggregate and is released under the site's data-use rules (docs/sources.md).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from myositis.errors import MyositisError
from myositis.registry.schema import (
    ID_COLUMNS,
    IDENTIFIERS,
    PROVENANCE_COLUMNS,
    TABLES,
)

#: Days a person's dates may move back: 0 to 364.
MAX_SHIFT_DAYS: Final = 364
#: Persons this old or older on the export day are grouped (HIPAA: "ages over 89").
GROUPED_AGE: Final = 90
#: ``registry_metadata`` keys a de-identified export keeps (the rest may name places or people).
KEPT_METADATA: Final = ("schema_version", "synthetic", "codeset_version")
#: Tables a de-identified export leaves out.
REMOVED_TABLES: Final = ("import_log",)
SALT_BYTES: Final = 32


def read_salt(path: Path | None) -> tuple[bytes, str]:
    """The salt and where it came from. ``path`` absent: a new random salt, used once (the
    export cannot be linked to another). ``path`` that does not exist: a new random salt,
    written there so the next export uses the same one (keep that file at the site)."""
    if path is None:
        return secrets.token_bytes(SALT_BYTES), "random, used for this export only"
    if not path.exists():
        salt = secrets.token_bytes(SALT_BYTES).hex().encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(salt + b"\n")
        # the salt is the file's text, so this export and every later one agree
        return salt, f"new random salt written to {path.name} (keep it at the site)"
    text = path.read_bytes().strip()
    if len(text) < 16:
        raise MyositisError(
            f"{path}: a salt needs at least 16 characters; delete the file to have a random "
            "one written, or put a long random text in it"
        )
    return text, f"read from {path.name}"


@dataclass
class Deidentifier:
    """Rewrites registry rows by the rules of the module docstring."""

    salt: bytes
    today: _dt.date = field(default_factory=_dt.date.today)
    drop: frozenset[tuple[str, str]] = frozenset()
    grouped: set[int] = field(default_factory=set)
    rows: dict[str, int] = field(default_factory=dict)

    def _digest(self, kind: str, value: object) -> bytes:
        return hmac.new(self.salt, f"{kind}:{value}".encode(), hashlib.sha256).digest()

    def offset(self, person_id: int) -> int:
        """Days the person's dates move back (0 to 364)."""
        return int.from_bytes(self._digest("date-shift", person_id)[:8], "big") % (
            MAX_SHIFT_DAYS + 1
        )

    def hashed_id(self, kind: str, value: int) -> int:
        """A positive 63-bit integer standing for ``value``."""
        return int.from_bytes(self._digest(kind, value)[:8], "big") >> 1 or 1

    def hashed_text(self, kind: str, value: str) -> str:
        """A 20-character hexadecimal text standing for ``value``."""
        return self._digest(kind, value).hex()[:20]

    def transform(self, table: str, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One batch of ``table`` de-identified (the same columns and types)."""
        self.rows[table] = self.rows.get(table, 0) + batch.num_rows
        if table == "registry_metadata":
            keep = pc.is_in(batch.column("key"), pa.array(KEPT_METADATA))
            return batch.filter(keep)
        columns = {name: batch.column(name) for name in batch.schema.names}
        persons = columns.get("person_id")
        if persons is not None:
            shift = pa.array(
                [None if p is None else self.offset(p) for p in persons.to_pylist()], pa.int64()
            )
            for name, column in list(columns.items()):
                if pa.types.is_date32(column.type):
                    columns[name] = _shift(column, shift)
        if table == "person":
            self._group_ages(columns, batch)
        for name in columns:
            if name in PROVENANCE_COLUMNS or (table, name) in self.drop:
                columns[name] = pa.nulls(batch.num_rows, columns[name].type)
        for name, how in IDENTIFIERS.get(table, {}).items():
            values = columns[name]
            if how == "remove":
                columns[name] = pa.nulls(batch.num_rows, values.type)
            else:
                columns[name] = pa.array(
                    [None if v is None else self.hashed_text(name, v) for v in values.to_pylist()],
                    values.type,
                )
        for name, kind in _hashed_ids(table):
            columns[name] = pa.array(
                [None if v is None else self.hashed_id(kind, v) for v in columns[name].to_pylist()],
                pa.int64(),
            )
        return pa.RecordBatch.from_arrays(list(columns.values()), schema=batch.schema)

    def _group_ages(self, columns: dict[str, Any], batch: pa.RecordBatch) -> None:
        births = batch.column("birth_date").to_pylist()
        years = batch.column("birth_year").to_pylist()
        persons = batch.column("person_id").to_pylist()
        dates, top = columns["birth_date"].to_pylist(), self.today.year - GROUPED_AGE
        new_years = list(years)
        for i, (birth, year) in enumerate(zip(births, years, strict=True)):
            if birth is None and year is None:
                continue
            born = birth or _dt.date(int(year), 1, 1)
            if _age(born, self.today) >= GROUPED_AGE:
                dates[i] = None
                new_years[i] = top
                self.grouped.add(persons[i])
        columns["birth_date"] = pa.array(dates, pa.date32())
        columns["birth_year"] = pa.array(new_years, pa.int32())

    def record(self, salt_origin: str) -> dict[str, Any]:
        """What was removed, replaced, shifted and grouped (no offsets, no salt)."""
        kept = [t for t in TABLES if t not in REMOVED_TABLES]
        removed = [f"{t}.{c}" for t in kept for c in PROVENANCE_COLUMNS if c in TABLES[t].names]
        removed += [
            f"{t}.{c}" for t, cs in IDENTIFIERS.items() for c, h in cs.items() if h == "remove"
        ]
        hashed = [f"{t}.{c}" for t in TABLES for c, _ in _hashed_ids(t)]
        hashed += [
            f"{t}.{c}" for t, cs in IDENTIFIERS.items() for c, h in cs.items() if h == "hash"
        ]
        shifted = [
            f"{t}.{c}"
            for t, s in TABLES.items()
            if "person_id" in s.names
            for c, d in s.items()
            if d.is_date()
        ]
        return {
            "deidentified": True,
            "export_date": self.today.isoformat(),
            "removed_columns": sorted(removed),
            "removed_tables": list(REMOVED_TABLES),
            "registry_metadata_kept": list(KEPT_METADATA),
            "dropped_on_request": sorted(f"{t}.{c}" for t, c in self.drop),
            "replaced_by_salted_hashes": sorted(hashed),
            "hash": "HMAC-SHA256 with the salt (ids: first 63 bits; text: first 20 hex digits)",
            "dates_shifted": sorted(shifted),
            "date_shift": (
                "every date of one person moved back by one offset of 0 to 364 days derived "
                "from the salt and the person (HMAC-SHA256); intervals within a person are "
                "preserved; the offsets are not recorded"
            ),
            "ages_over_89": {
                "persons": len(self.grouped),
                "rule": (
                    f"aged {GROUPED_AGE} or more on {self.today.isoformat()}: birth date "
                    f"removed, birth year top-coded to {self.today.year - GROUPED_AGE}"
                ),
            },
            "salt": salt_origin,
            "rows": dict(self.rows),
        }


def _hashed_ids(table: str) -> Iterable[tuple[str, str]]:
    """(column, hash kind) of the integer ids of ``table``: person_id everywhere."""
    names = TABLES[table].names
    if "person_id" in names:
        yield "person_id", "person"
    id_column = ID_COLUMNS.get(table)
    if id_column and id_column != "person_id":
        yield id_column, table


def _shift(column: pa.Array, days: pa.Array) -> pa.Array:
    """Dates moved back by ``days`` (per row)."""
    as_int = pc.cast(column, pa.int32()).cast(pa.int64())
    return pc.cast(pc.subtract(as_int, days).cast(pa.int32()), pa.date32())


def _age(born: _dt.date, on: _dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


__all__ = [
    "GROUPED_AGE",
    "KEPT_METADATA",
    "MAX_SHIFT_DAYS",
    "REMOVED_TABLES",
    "Deidentifier",
    "read_salt",
]
