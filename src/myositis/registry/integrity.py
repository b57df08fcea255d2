"""Registry integrity: the rules the data model implies about its rows, checked in the engine.

A registry can hold every table and column (:mod:`myositis.registry.conformance`) and still be
broken. examples/min2022 with person 1 recorded twice passed every check, then its study said
"11 patients" in the attrition while Table 1 and the CDASI table counted 12 and the mean CDASI
improvement was 17.25 instead of 17.82; a CDASI item of 1.5 scored 2 on DuckDB and 1 on Spark.
``registry check`` and every study run refuse such a registry. The rules (docs/data-model.md,
"Integrity"):

1. Keys (``schema.KEYS``): no key is missing and no two rows share one (``person_id`` in
   ``person``, ``exposure_id`` in ``drug_exposure``, an item repeated within one assessment
   administration, ``assessment_id`` + ``measure``, a second death of one person: ``person_id``
   in ``death``).
2. Shared identifiers (``schema.SHARED``): the rows of one assessment administration agree on
   the person, the date and the instrument.
3. Persons: every row of a table with a ``person_id`` names a person of ``person``.
4. Periods (``schema.PERIODS``): an ``end_date`` does not come before its ``start_date``.
5. Birth: no date in a person's rows comes before the person's birth (``birth_date``; when only
   ``birth_year`` is known, a date in an earlier year).
6. Item values: an item of an item-level instrument in ``assessment`` (CDASI v2, MMT-8, HAQ-DI,
   CHAQ) holds a value its instrument allows, read from the instrument's own rule table
   (``instruments/data/*.csv`` through its ``Field`` definitions), as ``myositis score`` checks
   it; a blank (missing) item is allowed.

Rules 1-2 take one grouped query each (none for ``person`` where the registry declares
``person_id`` its key, :mod:`myositis.registry.keys`: the engine has refused every missing or
repeated one); rules 3-6 one query per table (a scan of the table and
its join with the persons' births). Every count is exact and computed inside the engine with
portable Ibis expressions (DuckDB, PostgreSQL, Spark); rows come back to Python only for a
broken rule, and then only the first few, to name them. Rules 3 and 5 follow from the columns,
so a table added to ``schema.TABLES`` with a ``person_id`` is checked without a change here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.errors import RegistryIntegrityError
from myositis.instruments import cdasi, haq, mmt8
from myositis.instruments.rules import Field
from myositis.registry.files import DATA_ROW, data_rows
from myositis.registry.keys import person_key_declared
from myositis.registry.schema import KEYS, PERIODS, SHARED, TABLES, optional_folder_columns

#: At most this many rows are named per broken rule (the count is always exact).
SHOWN: Final = 5

PERSON: Final = "person"
PERSON_ID: Final = "person_id"

#: What to do about a repeated key, where a table's rows call for other words than the
#: default (merge them, or give each its own key).
REPEATED_ADVICE: Final = {
    "death": "keep one death per person (a person dies once): the one that is right (THEMIS "
    "convention #155: the most reliable, else the latest); remove the others.",
}


def _instrument_items() -> dict[str, tuple[Field, ...]]:
    haq_items = {
        form: tuple(f for fields in haq.ITEMS[form].values() for f in fields) for form in haq.FORMS
    }
    return {
        "cdasi": cdasi.ITEMS,
        "mmt8": mmt8.FIELDS,
        "haq": (*haq_items["haq-di"], *haq.AID_HELP_FIELDS),
        "chaq": (*haq_items["chaq"], *haq.AID_HELP_FIELDS),
    }


#: ``assessment.instrument`` (as the studies read it, in lower case) -> its item fields; an
#: item is a row whose ``measure`` is the field's column name.
ITEM_RULES: Final[dict[str, tuple[Field, ...]]] = _instrument_items()


@dataclass(frozen=True)
class Offender:
    """One row that breaks a rule (for a repeated key or a shared identifier: one value and
    its rows): the key values naming it, the column and value at fault, and the data rows of
    its CSV file when the table came from one."""

    identity: tuple[tuple[str, str], ...]
    column: str = ""
    value: str | None = None
    detail: str = ""
    data_rows: tuple[int, ...] = ()

    def describe(self) -> str:
        said = f"{self.column} {self.value}" if self.value is not None else ""
        said = ", ".join(s for s in (said, self.detail) if s)
        name = ", ".join(f"{c} {v}" for c, v in self.identity)
        text = f"{name}: {said}" if name and said else name or said
        return f"{text} ({_rows_text(self.data_rows)})" if self.data_rows else text


@dataclass(frozen=True)
class IntegrityProblem:
    """One rule broken in one table: how many rows break it (exactly), the first few, and
    what to do."""

    #: missing_key, repeated_key, shared_identifier, unknown_person, period, before_birth or
    #: item_value
    rule: str
    table: str
    column: str
    count: int
    reason: str
    what_to_do: str
    offenders: tuple[Offender, ...]
    source: str | None = None  # the CSV file the table was read from

    def describe(self) -> str:
        place = f"{self.source} (table {self.table})" if self.source else f"table {self.table}"
        lines = [f"{place}, {self.column}: {self.count:,} {self.reason}"]
        lines += [f"    {o.describe()}" for o in self.offenders]
        if self.count > len(self.offenders):
            lines.append(f"    ... and {self.count - len(self.offenders):,} more")
        lines.append(f"  What to do: {self.what_to_do}")
        return "\n".join(lines)


def integrity_problems(con: BaseBackend) -> list[IntegrityProblem]:
    """Every integrity rule the registry on ``con`` breaks (see the module docstring), in
    table order (``schema.TABLES``), then rule order."""
    tables = {name: _Table.of(con, name) for name in TABLES}
    problems: list[IntegrityProblem] = []
    person_repeated = False
    # a declared key is the engine's to keep: DuckDB refused every missing or repeated id
    enforced = {PERSON} if person_key_declared(con) else set()
    for name, table in tables.items():
        if name in KEYS and name not in enforced:
            found = _key_problems(table, KEYS[name])
            person_repeated |= name == PERSON and any(p.rule == "repeated_key" for p in found)
            problems += found
        if name in SHARED:
            problems += _shared_problems(table, *SHARED[name])
    births = _births(tables[PERSON].expr, deduplicate=person_repeated)
    for name, table in tables.items():
        if name != PERSON and PERSON_ID in table.expr.columns:
            problems += _row_problems(table, births)
    order = {name: i for i, name in enumerate(TABLES)}
    return sorted(problems, key=lambda p: order[p.table])


def check_integrity(con: BaseBackend, *, where: str = "registry") -> None:
    """Raise :class:`RegistryIntegrityError` naming every broken rule (its table, the first
    rows by their keys or CSV data rows, column and value, and what to do)."""
    problems = integrity_problems(con)
    if problems:
        raise RegistryIntegrityError(integrity_message(problems, where), problems)


def integrity_message(problems: Sequence[IntegrityProblem], where: str) -> str:
    """The message for a registry that breaks ``problems``."""
    rules = f"{len(problems)} integrity rule{'s' if len(problems) > 1 else ''}"
    return "\n".join(
        [
            f"{where}: the registry breaks {rules} of the data model, so no study can use it "
            "until its rows are corrected (docs/data-model.md, section Integrity):",
            *(p.describe() for p in problems),
        ]
    )


# -- the tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A registry table, with its CSV data rows (column ``DATA_ROW``) when it has them."""

    name: str
    expr: ir.Table
    numbered: bool

    @classmethod
    def of(cls, con: BaseBackend, name: str) -> _Table:
        numbered = data_rows(con, name)
        if numbered is not None:
            return cls(name, numbered, True)
        return cls(name, con.table(name), False)

    @property
    def source(self) -> str | None:
        return f"{self.name}.csv" if self.numbered else None

    def identity(self) -> tuple[str, ...]:
        """Columns that name a row for people: its key and person, or for a table without a
        key its person and dates (not the dates a source may leave out, such as a diagnosis's
        end: most rows lack them)."""
        key = KEYS.get(self.name, ())
        person = (PERSON_ID,) if PERSON_ID in self.expr.columns and PERSON_ID not in key else ()
        optional = optional_folder_columns(self.name)
        dates = (
            ()
            if key
            else tuple(c for c, t in TABLES[self.name].items() if t.is_date() and c not in optional)
        )
        return (*key, *person, *dates)

    def first(self, rows: ir.Table, columns: Iterable[str], order: Sequence[str]) -> list[dict]:
        """The first ``SHOWN`` of ``rows`` (file order for a CSV table, else by ``order``)."""
        wanted = list(dict.fromkeys([*columns, *([DATA_ROW] if self.numbered else [])]))
        # ibis returns a NaN from Spark as null: fetch a NaN flag and restore it from that.
        floats = [c for c in wanted if rows[c].type().is_floating()]
        flags = {f"_nan_{c}": rows[c].isnan() for c in floats}
        keys = [DATA_ROW] if self.numbered else list(dict.fromkeys(order))
        ordered = rows.select(*wanted, **flags).order_by(
            [ibis.asc(rows[k], nulls_first=False) for k in keys]
        )
        found = ordered.limit(SHOWN).to_pyarrow().to_pylist()
        for row in found:
            for c in floats:
                row[c] = math.nan if row.pop(f"_nan_{c}") else row[c]
        return found

    def first_groups(self, groups: ir.Table, key: Sequence[str]) -> list[dict[str, Any]]:
        """The first ``SHOWN`` of ``groups`` (rows grouped by ``key``): by their first data
        row for a CSV table, else by key."""
        order = ["_first"] if self.numbered else list(key)
        ordered = groups.order_by([ibis.asc(groups[k], nulls_first=False) for k in order])
        return ordered.limit(SHOWN).to_pyarrow().to_pylist()

    def named(self, row: dict[str, Any], skip: str = "") -> tuple[tuple[str, str], ...]:
        return tuple((c, _text(row[c])) for c in self.identity() if c != skip)

    def group_rows(self, group: dict[str, Any]) -> tuple[int, ...]:
        return (int(group["_first"]), int(group["_last"])) if self.numbered else ()

    def rows_of(self, row: dict[str, Any]) -> tuple[int, ...]:
        return (int(row[DATA_ROW]),) if self.numbered else ()


# -- rule 1: keys; rule 2: shared identifiers --------------------------------------------------


def _key_problems(table: _Table, key: tuple[str, ...]) -> list[IntegrityProblem]:
    t = table.expr
    rows = {"_rows": t.count()}
    if table.numbered:
        rows |= {"_first": t[DATA_ROW].min(), "_last": t[DATA_ROW].max()}
    groups = t.group_by(list(key)).aggregate(**rows)
    missing = _any_null(groups, key)
    repeated = (groups._rows > 1) & ~missing
    summary = _one(
        groups.aggregate(
            repeated=groups.count(where=repeated),
            repeated_rows=groups._rows.sum(where=repeated),
            missing=groups._rows.sum(where=missing),
        )
    )
    label = " + ".join(key)
    problems = []
    if summary["missing"]:
        blank = t.filter(_any_null(t, key))
        found = table.first(blank, table.identity(), table.identity())
        problems.append(
            IntegrityProblem(
                rule="missing_key",
                table=table.name,
                column=label,
                count=int(summary["missing"]),
                reason=f"row(s) with no {label}, which names each row",
                what_to_do=f"give every row its {label}.",
                offenders=tuple(
                    Offender(
                        tuple((c, _text(r[c])) for c in table.identity() if r[c] is not None),
                        detail=f"no {label}",
                        data_rows=table.rows_of(r),
                    )
                    for r in found
                ),
                source=table.source,
            )
        )
    if summary["repeated"]:
        problems.append(
            IntegrityProblem(
                rule="repeated_key",
                table=table.name,
                column=label,
                count=int(summary["repeated"]),
                reason=f"value(s) held by more than one row ({int(summary['repeated_rows']):,} "
                f"rows in all); {label} names one row",
                what_to_do=REPEATED_ADVICE.get(
                    table.name,
                    f"keep one row per {label}: merge the repeated rows, or give each its own "
                    f"{label} if they are different records.",
                ),
                offenders=tuple(
                    Offender(
                        tuple((c, _text(r[c])) for c in key),
                        detail=f"{int(r['_rows'])} rows",
                        data_rows=table.group_rows(r),
                    )
                    for r in table.first_groups(groups.filter(repeated), key)
                ),
                source=table.source,
            )
        )
    return problems


def _shared_problems(table: _Table, ident: str, agree: tuple[str, ...]) -> list[IntegrityProblem]:
    t = table.expr
    t = t.filter(t[ident].notnull())
    # Text is compared as the studies compare it (instrument names in lower case).
    value = {c: t[c].lower() if t[c].type().is_string() else t[c] for c in agree}
    bounds = {f"_lo_{c}": v.min() for c, v in value.items()}
    bounds |= {f"_hi_{c}": v.max() for c, v in value.items()}
    if table.numbered:
        bounds |= {"_first": t[DATA_ROW].min(), "_last": t[DATA_ROW].max()}
    groups = t.group_by(ident).aggregate(_rows=t.count(), **bounds)
    split = _any_of([groups[f"_lo_{c}"] != groups[f"_hi_{c}"] for c in agree])
    listed = groups.filter(split)
    count = int(listed.count().to_pyarrow().as_py())
    if not count:
        return []

    def differences(r: dict[str, Any]) -> str:
        return ", ".join(
            f"{c} {_text(r[f'_lo_{c}'])} and {_text(r[f'_hi_{c}'])}"
            for c in agree
            if r[f"_lo_{c}"] != r[f"_hi_{c}"]
        )

    return [
        IntegrityProblem(
            rule="shared_identifier",
            table=table.name,
            column=ident,
            count=count,
            reason=f"value(s) whose rows disagree on {_words(agree, 'or')}; the rows of one "
            f"{ident} are one record and share them",
            what_to_do=f"give each record its own {ident}, with the same "
            f"{_words(agree, 'and')} on all of its rows.",
            offenders=tuple(
                Offender(
                    ((ident, _text(r[ident])),),
                    detail=f"{int(r['_rows'])} rows with {differences(r)}",
                    data_rows=table.group_rows(r),
                )
                for r in table.first_groups(listed, [ident])
            ),
            source=table.source,
        )
    ]


# -- rules 3-6: one scan of each table with a person_id ----------------------------------------


def _births(person: ir.Table, *, deduplicate: bool) -> ir.Table:
    """Each person's birth date and year. A person recorded twice (already a broken rule)
    counts once, with the earliest birth, so the other rules' counts stay exact."""
    if deduplicate:
        person = person.group_by(PERSON_ID).aggregate(
            birth_date=person.birth_date.min(), birth_year=person.birth_year.min()
        )
    return person.select(
        _pid=person[PERSON_ID], _birth_date=person.birth_date, _birth_year=person.birth_year
    )


@dataclass(frozen=True)
class _RowRule:
    """A rule checked row by row: ``broken`` (never null) on the relation ``rows``."""

    rule: str
    column: str
    rows: ir.Table
    broken: ir.BooleanValue
    shown: tuple[str, ...]  # columns to fetch to name an offender
    reason: str
    what_to_do: str
    detail: Callable[[dict[str, Any]], str]  # what else the message says about a fetched row

    def offender(self, table: _Table, row: dict[str, Any]) -> Offender:
        return Offender(
            table.named(row, skip=self.column),
            self.column,
            _text(row[self.column]),
            self.detail(row),
            table.rows_of(row),
        )


def _row_problems(table: _Table, births: ir.Table) -> list[IntegrityProblem]:
    """Rules 3-6 on one table, counted in one query: the table's own rules (periods, items) in
    a scan of the table, the birth rules in its inner join with the persons (an inner join is
    several times cheaper than an outer one in DuckDB), and the rows of unknown persons as the
    difference of the two row counts (``births`` has one row per person)."""
    t = table.expr
    linked = t.inner_join(births, t[PERSON_ID] == births._pid)
    unknown = _unknown_person(table, t.anti_join(births, t[PERSON_ID] == births._pid))
    own = [*_period_rules(table, t), *_item_rules(table, t)]
    born = _birth_rules(table, linked)
    counts = _one(
        t.aggregate(
            _rows=t.count(), **{f"_o{i}": t.count(where=r.broken) for i, r in enumerate(own)}
        ).cross_join(
            linked.aggregate(
                _linked=linked.count(),
                **{f"_b{i}": linked.count(where=r.broken) for i, r in enumerate(born)},
            )
        )
    )
    measured = [
        (unknown, counts["_rows"] - counts["_linked"]),
        *((r, counts[f"_o{i}"]) for i, r in enumerate(own) if r.rule == "period"),
        *((r, counts[f"_b{i}"]) for i, r in enumerate(born)),
        *((r, counts[f"_o{i}"]) for i, r in enumerate(own) if r.rule != "period"),
    ]
    identity = table.identity()
    return [
        IntegrityProblem(
            rule=rule.rule,
            table=table.name,
            column=rule.column,
            count=int(count),
            reason=rule.reason,
            what_to_do=rule.what_to_do,
            offenders=tuple(
                rule.offender(table, r)
                for r in table.first(
                    rule.rows.filter(rule.broken),
                    [*identity, *rule.shown],
                    [*identity, *rule.shown],
                )
            ),
            source=table.source,
        )
        for rule, count in measured
        if count
    ]


def _unknown_person(table: _Table, rows: ir.Table) -> _RowRule:
    return _RowRule(
        rule="unknown_person",
        column=PERSON_ID,
        rows=rows,
        broken=ibis.literal(True),
        shown=(PERSON_ID,),
        reason="row(s) whose person_id is not in table person",
        what_to_do="add the missing persons to table person, or remove these rows (were "
        "they loaded from another registry or site?).",
        detail=_nothing,
    )


def _period_rules(table: _Table, t: ir.Table) -> list[_RowRule]:
    return [
        _RowRule(
            rule="period",
            column=end,
            rows=t,
            broken=(t[end] < t[start]).fill_null(False),
            shown=(start, end),
            reason=f"row(s) whose {end} comes before its {start}",
            what_to_do=f"correct the dates (an {end} may be left empty while the period is "
            "ongoing).",
            detail=partial(_value_of, start),
        )
        for start, end in PERIODS.get(table.name, ())
    ]


def _birth_rules(table: _Table, linked: ir.Table) -> list[_RowRule]:
    rules = []
    for column, dtype in TABLES[table.name].items():
        if not dtype.is_date():
            continue
        when = linked[column]
        before = ibis.cases(
            (linked._birth_date.notnull(), when < linked._birth_date),
            (linked._birth_year.notnull(), when.year() < linked._birth_year),
            else_=ibis.literal(False),
        )
        rules.append(
            _RowRule(
                rule="before_birth",
                column=column,
                rows=linked,
                broken=before.fill_null(False),
                shown=(column, "_birth_date", "_birth_year"),
                reason=f"row(s) whose {column} comes before the person's birth",
                what_to_do="correct the dates, or the person's birth_date or birth_year in "
                "table person.",
                detail=_born,
            )
        )
    return rules


def _item_rules(table: _Table, t: ir.Table) -> list[_RowRule]:
    """Rule 6, one count per instrument: items grouped by their allowed values, so the engine
    evaluates a handful of range tests, whatever the number of items."""
    if table.name != "assessment":
        return []
    instrument = t.instrument.lower()
    rules = []
    for name, fields in ITEM_RULES.items():
        alike: dict[tuple[Any, ...], list[str]] = {}
        for f in fields:
            alike.setdefault((f.minimum, f.maximum, f.above, f.integer), []).append(f.column)
        # A case, not an "and" of the tests: the engine then tests the items only on the
        # instrument's rows, and each row against its own item group only (DuckDB: half the
        # time of this scan, the largest part of a 1M-person registry's integrity step).
        # The same rows break it (an item is in one group; null -> not broken).
        broken = ibis.cases(
            (
                instrument == name,
                ibis.cases(
                    *(
                        (t.measure.isin(columns), _breaks(t.value, *limits))
                        for limits, columns in alike.items()
                    ),
                    else_=ibis.literal(False),
                ),
            ),
            else_=ibis.literal(False),
        )
        rules.append(
            _RowRule(
                rule="item_value",
                column="value",
                rows=t,
                broken=broken.fill_null(False),
                shown=("instrument", "measure", "value"),
                reason=f"{name} item value(s) outside what the instrument allows",
                what_to_do="correct the values from the source forms (leave an item empty if "
                "it was not assessed).",
                detail=partial(_allowed, {f.column: f for f in fields}),
            )
        )
    return rules


def _breaks(
    value: ir.FloatingValue,
    minimum: Decimal | None,
    maximum: Decimal | None,
    above: Decimal | None,
    integer: bool,
) -> ir.BooleanValue:
    """True where a value is outside a Field's limits or, for a whole-number Field, not whole;
    null (a blank item) where the value is null. NaN breaks a maximum on every engine (DuckDB,
    PostgreSQL and Spark order it above every number), as do infinities; every item Field has
    a maximum. (No ``notnull`` test: on Spark, ibis reads NaN as null there.)"""
    outside = ibis.literal(False)
    if minimum is not None:
        outside = outside | (value < float(minimum))
    if maximum is not None:
        outside = outside | (value > float(maximum))
    if above is not None:
        outside = outside | (value <= float(above))
    if not integer:
        return outside
    # floor() only where the value is inside the limits: engines cast it to a 64-bit integer,
    # which fails on NaN or a huge value.
    return ibis.ifelse(outside, True, value.floor() != value)


# -- helpers ---------------------------------------------------------------------------------


def _one(expr: ir.Table) -> dict[str, Any]:
    return expr.to_pyarrow().to_pylist()[0]


def _any_of(flags: Sequence[ir.BooleanValue]) -> ir.BooleanValue:
    result = flags[0]
    for flag in flags[1:]:
        result = result | flag
    return result


def _any_null(t: ir.Table, columns: Iterable[str]) -> ir.BooleanValue:
    return _any_of([t[c].isnull() for c in columns])


def _words(columns: Sequence[str], conjunction: str) -> str:
    if len(columns) == 1:
        return columns[0]
    return f"{', '.join(columns[:-1])} {conjunction} {columns[-1]}"


def _text(value: Any) -> str:
    """A value as people read it, the same whichever engine returned it."""
    if value is None:
        return "missing"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):  # a DECIMAL column (PostgreSQL NUMERIC, ...)
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _nothing(row: dict[str, Any]) -> str:
    return ""


def _value_of(column: str, row: dict[str, Any]) -> str:
    return f"{column} {_text(row[column])}"


def _allowed(fields: dict[str, Field], row: dict[str, Any]) -> str:
    return f"allowed: {fields[row['measure']].allowed()}"


def _born(row: dict[str, Any]) -> str:
    if row["_birth_date"] is not None:
        return f"born {_text(row['_birth_date'])}"
    return f"born in {row['_birth_year']}"


def _rows_text(rows: tuple[int, ...]) -> str:
    if len(rows) == 1 or rows[0] == rows[-1]:
        return f"data row {rows[0]}"
    return f"first at data row {rows[0]}, last at data row {rows[-1]}"


__all__ = [
    "ITEM_RULES",
    "SHOWN",
    "IntegrityProblem",
    "Offender",
    "check_integrity",
    "integrity_message",
    "integrity_problems",
]
