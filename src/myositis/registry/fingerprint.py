"""The data fingerprint: one SHA-256 over a registry's rows, the same whatever the engine,
storage, row order or time of writing; and how a study run obtains it cheaply.

**Definition** (``FINGERPRINT_VERSION`` 2). For each data table, in the order of ``TABLES``
(``registry_metadata`` and ``import_log``, facts about the registry rather than data, are not
part of it), each row's registry columns but the provenance ones (``PROVENANCE_COLUMNS``:
import id, source record, source location — where a row came from, not what it holds), cast
to their registry types, become one text: the values in column
order joined by the character U+001F, each ``N`` when null, else ``V`` and its canonical text:

- integer: its decimal digits; string: itself; boolean: ``1`` or ``0``;
- date: the number of days since 1970-01-01 (every engine writes integers alike; date formats
  depend on settings such as PostgreSQL's DateStyle);
- floating point: the exact binary value, ``[-]MpE`` with the integer mantissa
  2^52 <= M < 2^53 and value = M * 2^(E-52) (every engine prints floats its own way, Java's
  Spark unlike DuckDB and PostgreSQL; the decomposition is exact arithmetic on all three);
  ``0``, ``NaN``, ``Inf``, ``-Inf`` as such.

A column a later schema version added (``schema.ADDED_COLUMNS``: ``diagnosis.end_date``,
version 3; ``source_code_system`` and ``source_code`` of the coded tables, version 5) is not
in that list: a row's text gets U+001F, ``V`` and its value's text at the end, in that order,
only for such a column that holds one. A table a later version added
(``schema.ADDED_TABLES``: ``procedure``, version 3; ``visit``, ``observation``,
``measurement`` and ``death``, version 4) contributes only when it holds rows. So a registry
without any of them (every version-2, 3 or 4 registry, migrated; every registry of a source
that records its codes itself) keeps its fingerprint.

Each table contributes ``NAME NUL COUNT NUL SUM1 NUL SUM2 NUL`` (UTF-8): its row count and the
exact sums of two 60-bit integers read from each row text's MD5 (hexadecimal digits 1-15 and
16-30), a digest of the multiset of rows that needs no sort. The fingerprint is the SHA-256 of
the contributions, in table order. It is computed inside the engine (DuckDB, PostgreSQL,
Spark) by one query, an aggregate per table joined by UNION ALL: no row leaves the engine.

**Recorded and verified.** Hashing every row costs seconds per million rows, more than a study
run on a large registry. So when this software writes a registry (``registry synth``,
``registry copy``, imports) it records the fingerprint in ``registry_metadata``
with a *stamp*: per table, the row count and cheap per-column aggregates (non-null counts,
sums of integers and of days, total text length, the sum of floats rounded to 1/1000);
writers call :func:`record_fingerprint` when they have written every row (the import writer,
:mod:`myositis.sources.write`, after each import). A study run recomputes the stamp (one scan
per table, no hashing) and, if it equals the recorded one, reports the recorded fingerprint,
saying so; otherwise it computes the fingerprint from every row. A stamp cannot see every
change (two values swapped between rows, a date a day later in one row and a day earlier in
another, a text changed for one of the same length): ``myositis registry check`` recomputes the
fingerprint from every row and compares it with the recorded one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ibis import BaseBackend
from ibis.expr import datatypes as dt

from myositis.errors import RegistryError
from myositis.registry.schema import (
    ADDED_COLUMNS,
    ADDED_TABLES,
    PROVENANCE_COLUMNS,
    REGISTRY_TABLES,
    TABLES,
)

#: Version of the fingerprint's definition; recorded with it (a record of another version
#: is not used: the fingerprint is computed again).
FINGERPRINT_VERSION: Final = "2"

#: The tables whose rows the fingerprint covers (the data, not the registry's own metadata).
DATA_TABLES: Final = tuple(name for name in TABLES if name not in REGISTRY_TABLES)


def hashed_columns(table: str) -> dict[str, dt.DataType]:
    """The columns of a data table that the fingerprint covers: every registry column but the
    provenance ones (``PROVENANCE_COLUMNS``: they say where a row came from, not what it holds,
    so the same rows imported at another time or from other files keep their fingerprint),
    the columns a later version added (``ADDED_COLUMNS``) last."""
    covered = {c: t for c, t in TABLES[table].items() if c not in PROVENANCE_COLUMNS}
    added = ADDED_COLUMNS.get(table, ())
    return {c: t for c, t in covered.items() if c not in added} | {c: covered[c] for c in added}


#: ``registry_metadata`` keys of a recorded fingerprint.
RECORDED_KEYS: Final = (
    "data_fingerprint",
    "data_fingerprint_stamp",
    "data_fingerprint_recorded_at",
)


@dataclass(frozen=True)
class _Dialect:
    """The few SQL spellings that differ between the engines (``{x}``: an expression)."""

    quote: str
    text: str  # the text type
    double: str  # the 64-bit float type
    days: str  # a date as days since 1970-01-01
    log2: str
    half: str  # integer division by 2 (any rounding: only used as a split of an exponent)
    hex60: str  # 15 hexadecimal digits as an integer
    wide: str  # an integer widened so that sums over billions of rows cannot overflow
    isnan: str
    separator: str


_DIALECTS: Final = {
    "duckdb": _Dialect(
        quote='"',
        text="VARCHAR",
        double="DOUBLE",
        days="({x} - DATE '1970-01-01')",
        log2="log2({x})",
        half="(({x}) // 2)",
        hex60="CAST(('0x' || {x}) AS BIGINT)",
        wide="{x}",  # sum(BIGINT) is HUGEINT
        isnan="isnan({x})",
        separator="chr(31)",
    ),
    "postgres": _Dialect(
        quote='"',
        text="TEXT",
        double="DOUBLE PRECISION",
        days="({x} - DATE '1970-01-01')",
        log2="(ln({x}) / ln(CAST(2 AS DOUBLE PRECISION)))",
        half="(({x}) / 2)",
        hex60="CAST(CAST(('x' || {x}) AS BIT(60)) AS BIGINT)",
        wide="{x}",  # sum(bigint) is numeric
        isnan="({x} = CAST('NaN' AS DOUBLE PRECISION))",
        separator="chr(31)",
    ),
    "pyspark": _Dialect(
        quote="`",
        text="STRING",
        double="DOUBLE",
        days="datediff({x}, DATE '1970-01-01')",
        log2="log2({x})",
        half="(({x}) div 2)",
        hex60="CAST(conv({x}, 16, 10) AS BIGINT)",
        wide="CAST({x} AS DECIMAL(38, 0))",  # sum(bigint) would overflow (ANSI: an error)
        isnan="isnan({x})",
        separator="char(31)",
    ),
}


@dataclass(frozen=True)
class Fingerprint:
    """A registry's data fingerprint and how this run obtained it."""

    value: str
    method: Literal["recorded", "computed"]
    detail: str
    recorded_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For results.json: the method, in words what was verified, and when recorded."""
        return {"method": self.method, "detail": self.detail, "recorded_at": self.recorded_at}


def _dialect(con: BaseBackend) -> _Dialect:
    try:
        return _DIALECTS[con.name]
    except KeyError:
        raise RegistryError(
            f"the data fingerprint is not defined on a {con.name} backend; open the registry "
            "with myositis.registry.connect"
        ) from None


def _typed_sql(con: BaseBackend, name: str, stored: str) -> str:
    """Table ``name``'s registry columns (stored as table ``stored``) cast to their registry
    types, as SQL of the engine."""
    table = con.table(stored)
    typed = table.select(*[table[c].cast(t).name(c) for c, t in hashed_columns(name).items()])
    return str(con.compile(typed))


def _fetch_rows(con: BaseBackend, sql: str) -> list[tuple[Any, ...]]:
    result = con.raw_sql(sql)
    if con.name == "pyspark":
        return [tuple(row) for row in result.collect()]
    try:
        return [tuple(row) for row in result.fetchall()]  # to the end: DuckDB 2 requires it
    finally:
        if con.name == "postgres":
            result.close()


def _per_table(
    con: BaseBackend, queries: dict[str, tuple[list[str], str]]
) -> dict[str, list[str | None]]:
    """Aggregates per table (``name -> (aggregate expressions, FROM source)``), as text, all
    in one query (a UNION ALL): one round trip, one Spark job, whatever the number of tables."""
    d = _dialect(con)
    width = max(len(aggregates) for aggregates, _ in queries.values())
    selects = []
    for index, (aggregates, source) in enumerate(queries.values()):
        cells = [f"CAST({a} AS {d.text})" for a in aggregates]
        cells += [f"CAST(NULL AS {d.text})"] * (width - len(aggregates))
        columns = ", ".join(f"{cell} AS v{i}" for i, cell in enumerate(cells))
        selects.append(f"SELECT {index} AS k, {columns} FROM {source}")
    rows = {int(row[0]): list(row[1:]) for row in _fetch_rows(con, " UNION ALL ".join(selects))}
    return {
        name: rows[index][: len(aggregates)]
        for index, (name, (aggregates, _)) in enumerate(queries.items())
    }


def _value_text(d: _Dialect, column: str, dtype: dt.DataType, q: str) -> str:
    """The canonical text of one non-null value (see the module docstring)."""
    x = f"{q}{column}{q}"
    if dtype.is_string():
        return x
    if dtype.is_integer():
        return f"CAST({x} AS {d.text})"
    if dtype.is_boolean():
        return f"CASE WHEN {x} THEN '1' WHEN NOT {x} THEN '0' END"
    if dtype.is_date():
        return f"CAST({d.days.format(x=x)} AS {d.text})"
    if dtype.is_floating():
        e = f"{q}{column}__e{q}"
        shift = f"(52 - {e})"
        first = d.half.format(x=shift)
        two = f"CAST(2 AS {d.double})"
        # M = |x| * 2^(52-E), as two exact multiplications by powers of two (one could overflow)
        scaled = f"(abs({x}) * power({two}, {first})) * power({two}, {shift} - {first})"
        mantissa = f"CAST({scaled} AS BIGINT)"
        inf = f"CAST('Infinity' AS {d.double})"
        return (
            f"CASE WHEN {d.isnan.format(x=x)} THEN 'NaN' WHEN {x} = {inf} THEN 'Inf' "
            f"WHEN {x} = -{inf} THEN '-Inf' WHEN {x} = 0 THEN '0' "
            f"ELSE (CASE WHEN {x} < 0 THEN '-' ELSE '' END) || CAST({mantissa} AS {d.text}) "
            f"|| 'p' || CAST({e} AS {d.text}) END"
        )
    raise RegistryError(
        f"the data fingerprint has no canonical text for type {dtype} (column {column!r}); "
        "extend myositis.registry.fingerprint before adding such a column"
    )


def _table_digest(con: BaseBackend, name: str, stored: str) -> tuple[list[str], str]:
    """Row count and the two sums of the rows' MD5 halves: the aggregates and their source."""
    d = _dialect(con)
    q = d.quote
    schema = hashed_columns(name)
    floats = [c for c, t in schema.items() if t.is_floating()]
    source = f"({_typed_sql(con, name, stored)}) AS r0"
    if floats:
        # E = floor(log2 |x|), computed in floating point and then corrected by one step
        # where rounding put it off (next to a power of two), so that 2^E <= |x| < 2^(E+1).
        two = f"CAST(2 AS {d.double})"
        inf = f"CAST('Infinity' AS {d.double})"
        first = []
        for c in floats:
            x = f"{q}{c}{q}"
            finite = f"NOT {d.isnan.format(x=x)} AND abs({x}) < {inf} AND {x} <> 0"
            # within the exponents of finite doubles, so that 2^E never overflows
            floor = f"CAST(floor({d.log2.format(x=f'abs({x})')}) AS BIGINT)"
            log = f"least(greatest({floor}, -1074), 1023)"
            first.append(f"CASE WHEN {finite} THEN {log} END AS {q}{c}__f{q}")
        source = f"(SELECT r0.*, {', '.join(first)} FROM {source}) AS r1"
        second = []
        for c in floats:
            x, f = f"{q}{c}{q}", f"{q}{c}__f{q}"
            ratio = f"(abs({x}) / power({two}, {f}))"  # exact; 2^(f+1) could overflow
            second.append(
                f"{f} + CASE WHEN {ratio} >= 2 THEN 1 WHEN {ratio} < 1 THEN -1 ELSE 0 END "
                f"AS {q}{c}__e{q}"
            )
        source = f"(SELECT r1.*, {', '.join(second)} FROM {source}) AS r2"
    # 'V' || NULL is NULL on every engine: a null becomes 'N'
    added = ADDED_COLUMNS.get(name, ())
    values = [
        f"coalesce('V' || ({_value_text(d, c, t, q)}), 'N')"
        for c, t in schema.items()
        if c not in added
    ]
    # an added column's text only where it holds a value (chr(31) || 'V' || NULL is NULL)
    optional = [
        f"coalesce({d.separator} || 'V' || ({_value_text(d, c, schema[c], q)}), '')" for c in added
    ]
    row_text = f"concat({', '.join([f', {d.separator}, '.join(values), *optional])})"
    hashed = f"(SELECT md5({row_text}) AS h FROM {source}) AS rows_md5"
    halves = [d.wide.format(x=d.hex60.format(x=f"substr(h, {s}, 15)")) for s in (1, 16)]
    return ["count(*)", f"sum({halves[0]})", f"sum({halves[1]})"], hashed


def data_fingerprint(con: BaseBackend, names: Mapping[str, str] | None = None) -> str:
    """SHA-256 of the registry's data tables, computed inside the engine from every row (see
    the module docstring for the definition). ``names`` maps a registry table to the name it
    is stored under, where that differs (a copy's staging tables)."""
    stored = names or {}
    sums = _per_table(
        con, {name: _table_digest(con, name, stored.get(name, name)) for name in DATA_TABLES}
    )
    digest = hashlib.sha256()
    for name, values in sums.items():
        count, first, second = (v or "0" for v in values)  # an empty table's sums are null
        if name in ADDED_TABLES and count == "0":
            continue
        digest.update(f"{name}\x00{count}\x00{first}\x00{second}\x00".encode())
    return digest.hexdigest()


def _stamp(con: BaseBackend, name: str, stored: str) -> tuple[list[str], str]:
    d = _dialect(con)
    q = d.quote
    parts = ["count(*)"]
    for column, dtype in hashed_columns(name).items():
        x = f"{q}{column}{q}"
        parts.append(f"count({x})")
        if dtype.is_integer():
            parts.append(f"sum({d.wide.format(x=x)})")
        elif dtype.is_boolean():
            parts.append(f"sum(CASE WHEN {x} THEN 1 ELSE 0 END)")
        elif dtype.is_date():
            parts.append(f"sum({d.wide.format(x=d.days.format(x=x))})")
        elif dtype.is_string():
            parts.append(f"sum({d.wide.format(x=f'length({x})')})")
        elif dtype.is_floating():
            # whole thousandths summed as floats: exact (hence the same in any order) while
            # the sum stays below 2^53; beyond, a mismatch only means a recomputation
            # (PostgreSQL raises an error on overflow: huge values, NaN and Inf are left out)
            small = f"abs({x}) < CAST(1000000000000000 AS {d.double})"
            parts.append(f"sum(CASE WHEN {small} THEN round({x} * 1000) END)")
    return parts, f"({_typed_sql(con, name, stored)}) AS r0"


def data_stamp(
    con: BaseBackend, names: Mapping[str, str] | None = None
) -> dict[str, list[str | None]]:
    """Per data table: the row count and cheap per-column aggregates (one scan, no hashing;
    ``names`` as for :func:`data_fingerprint`)."""
    stored = names or {}
    return _per_table(
        con, {name: _stamp(con, name, stored.get(name, name)) for name in DATA_TABLES}
    )


def recorded_metadata(value: str, stamp: dict[str, list[str | None]]) -> dict[str, str]:
    """The ``registry_metadata`` rows that record a fingerprint and its stamp."""
    return {
        "data_fingerprint": value,
        "data_fingerprint_stamp": json.dumps(
            {"version": FINGERPRINT_VERSION, "tables": stamp}, separators=(",", ":")
        ),
        "data_fingerprint_recorded_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def record_fingerprint(con: BaseBackend) -> str:
    """Compute the fingerprint from every row and record it with its stamp in
    ``registry_metadata`` (replacing an earlier record); for writers of DuckDB and PostgreSQL
    registries, once they have written every row. Returns the fingerprint."""
    from myositis.registry.store import write_metadata

    if con.name not in ("duckdb", "postgres"):
        raise RegistryError(f"recording a fingerprint on {con.name} is done by registry copy")
    value = data_fingerprint(con)
    stamp = data_stamp(con)
    keys = ", ".join(f"'{k}'" for k in RECORDED_KEYS)
    result = con.raw_sql(f"DELETE FROM registry_metadata WHERE key IN ({keys})")
    if con.name == "postgres":
        result.close()
    write_metadata(con, recorded_metadata(value, stamp))
    return value


def _recorded(metadata: dict[str, str]) -> tuple[str, dict[str, Any]] | None:
    value, stamp = metadata.get("data_fingerprint"), metadata.get("data_fingerprint_stamp")
    if not value or not stamp:
        return None
    try:
        parsed = json.loads(stamp)
    except json.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or parsed.get("version") != FINGERPRINT_VERSION:
        return None
    return value, parsed.get("tables", {})


def verified_fingerprint(con: BaseBackend, metadata: dict[str, str]) -> Fingerprint:
    """The fingerprint for a study run: the recorded one if the registry's stamp still
    matches it (one cheap scan per table), else computed now from every row."""
    recorded = _recorded(metadata)
    if recorded is None:
        return Fingerprint(
            data_fingerprint(con),
            "computed",
            "computed now from every row, inside the engine (no fingerprint was recorded "
            "when the registry was written)",
        )
    value, stamp = recorded
    if data_stamp(con) == stamp:
        at = metadata.get("data_fingerprint_recorded_at")
        return Fingerprint(
            value,
            "recorded",
            f"recorded when the registry was written ({at}) and verified now by its row "
            "counts and per-column aggregates (non-null counts, sums, text lengths), not "
            "by hashing every row; 'myositis registry check' recomputes it from every row",
            recorded_at=at,
        )
    return Fingerprint(
        data_fingerprint(con),
        "computed",
        "computed now from every row, inside the engine (the rows differ from those the "
        "recorded fingerprint was made from: the registry changed after it was written)",
    )


@dataclass(frozen=True)
class FullCheck:
    """The fingerprint computed from every row, compared with the recorded one."""

    value: str
    ok: bool
    message: str


def check_fingerprint(con: BaseBackend, metadata: dict[str, str]) -> FullCheck:
    """Compute the fingerprint from every row and compare it with the recorded one (for
    ``registry check``). Not ``ok`` only when the record is wrong in a way the cheap
    verification of study runs cannot see: the stamp matches, the rows do not."""
    value = data_fingerprint(con)
    recorded = _recorded(metadata)
    at = metadata.get("data_fingerprint_recorded_at")
    if recorded is None:
        return FullCheck(
            value, True, "computed from every row; none is recorded, so study runs compute it too"
        )
    if recorded[0] == value:
        return FullCheck(
            value, True, f"computed from every row; equals the one recorded when written ({at})"
        )
    if data_stamp(con) != recorded[1]:
        return FullCheck(
            value,
            True,
            f"computed from every row; the one recorded when written ({at}) is out of date (the "
            "rows changed since), so study runs compute it from every row",
        )
    return FullCheck(
        value,
        False,
        f"the fingerprint recorded in registry_metadata ({recorded[0]}, {at}) does not match "
        "the rows, although their counts and sums do: the rows were changed after the registry "
        "was written, and study runs would report the recorded fingerprint. Write the registry "
        "again (myositis registry copy SRC DEST --replace) or delete the data_fingerprint rows "
        "of its registry_metadata table",
    )


__all__ = [
    "DATA_TABLES",
    "FINGERPRINT_VERSION",
    "RECORDED_KEYS",
    "Fingerprint",
    "FullCheck",
    "check_fingerprint",
    "data_fingerprint",
    "data_stamp",
    "record_fingerprint",
    "recorded_metadata",
    "verified_fingerprint",
]
