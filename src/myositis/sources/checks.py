"""The checks every import passes, whatever its source, run over the staged rows (DuckDB SQL
over the staging tables ``stage_<table>`` of :mod:`myositis.sources.write`).

Each check yields the staged rows that fail it as ``(source_location, field, value, reason)``:

- a required value missing (``REQUIRED``), a number that is not finite;
- a date in the future where only the past can be recorded (``PAST_DATES``: a birth date, a
  diagnosis, an assessment, ...; a planned drug end date may lie ahead), a birth year after
  this year, a period or exposure that ends before it starts;
- a measurement that is a result of a registry laboratory test (CK's LOINC code 2157-6, ...):
  it belongs in ``laboratory``;
- a laboratory test without a canonical unit, or a value or ULN in a unit that does not
  convert to it (:mod:`myositis.codes.units`): rejected, never stored as if it were in the
  canonical unit;
- the same record twice (the same ``source_record`` and row key for one person, the same
  person ``source_id``, one proposed ``person_id`` for two persons);
- once persons are resolved (:func:`death_checks`, over the records that passed the checks
  above): a second death of one person (in the import, or one the registry holds from another
  source or record: a person dies once), and a death before the person's birth, each naming
  the person as the source did (:func:`person_named`). A record dated after the death is no
  error (:mod:`myositis.registry.death`: the writer counts those dated more than 60 days after
  it in its warnings).

A date that does not exist (30 February) never reaches these checks: readers parse dates and
report it with the file and line. An unknown drug code is no problem: it is stored and simply
matches no code set.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Final

from myositis.codes.units import lab_loinc
from myositis.registry.schema import PERIODS, TABLES, has_provenance
from myositis.sources.contract import IMPORT_TABLES, PERSON_TABLES, ROW_KEYS

Found = tuple[str | None, str | None, str | None, str]

#: Values a record cannot be stored without (besides its person).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "person": ("source_id",),
    "person_race": ("race",),
    "diagnosis": ("code_system", "code", "diagnosis_date"),
    "procedure": ("code_system", "code", "procedure_date"),
    "visit": ("code_system", "code", "visit_date"),
    "observation": ("code_system", "code", "observation_date"),
    "measurement": ("code_system", "code", "measurement_date"),
    "dm_subtype": ("subtype",),
    "drug_exposure": ("ingredient", "start_date"),
    "assessment": ("assessment_date", "instrument", "measure"),
    "laboratory": ("test", "result_date", "source_value", "source_unit"),
    "adverse_event": ("term",),
    "death": ("death_date",),
    "observation_period": ("start_date", "end_date"),
}

#: Dates that record something that has happened: none may lie after the day of the import.
PAST_DATES: Final = (
    ("person", "birth_date"),
    ("diagnosis", "diagnosis_date"),
    ("diagnosis", "end_date"),
    ("procedure", "procedure_date"),
    ("procedure", "end_date"),
    ("visit", "visit_date"),
    ("visit", "end_date"),
    ("observation", "observation_date"),
    ("measurement", "measurement_date"),
    ("dm_subtype", "classified_date"),
    ("drug_exposure", "start_date"),
    ("assessment", "assessment_date"),
    ("laboratory", "result_date"),
    ("adverse_event", "onset_date"),
    ("death", "death_date"),
    ("observation_period", "start_date"),
)

#: (table, start, end) pairs that must not end before they start: the data model's periods.
SPANS: Final = tuple((t, start, end) for t, pairs in PERIODS.items() for start, end in pairs)


def _q(name: str) -> str:
    return f'"{name}"'


def row_checks(db: object, today: _dt.date) -> Iterator[tuple[str, Found]]:
    """Every staged row that fails a row check, as (table, failing row)."""
    for table in IMPORT_TABLES:
        for sql in _row_sql(table, today):
            for found in db.execute(sql).fetchall():  # type: ignore[attr-defined]
                yield table, found


def _row_sql(table: str, today: _dt.date) -> Iterator[str]:
    stage = f"stage_{table}"
    loc = "source_location"
    for column in REQUIRED[table]:
        yield (
            f"SELECT {loc}, '{column}', NULL, 'a value is required' FROM {stage} "
            f"WHERE {_q(column)} IS NULL"
        )
    if table in PERSON_TABLES:
        yield (
            f"SELECT {loc}, 'person_id', NULL, 'the record names no person (person_id or the "
            f"person''s source id)' FROM {stage} "
            "WHERE person_id IS NULL AND person_source_id IS NULL"
        )
    for column, dtype in TABLES[table].items():
        if dtype.is_floating():
            yield (
                f"SELECT {loc}, '{column}', CAST({_q(column)} AS VARCHAR), 'not a finite "
                f"number' FROM {stage} WHERE isnan({_q(column)}) OR isinf({_q(column)})"
            )
    for t, column in PAST_DATES:
        if t == table:
            yield (
                f"SELECT {loc}, '{column}', CAST({_q(column)} AS VARCHAR), 'a date in the "
                f"future (after {today.isoformat()}); correct the date' FROM {stage} "
                f"WHERE {_q(column)} > DATE '{today.isoformat()}'"
            )
    if table == "person":
        yield (
            f"SELECT {loc}, 'birth_year', CAST(birth_year AS VARCHAR), 'a birth year in the "
            f"future; correct it' FROM {stage} WHERE birth_year > {today.year}"
        )
    for t, start, end in SPANS:
        if t == table:
            yield (
                f"SELECT {loc}, '{end}', CAST({_q(end)} AS VARCHAR), 'ends before it starts "
                f"(' || CAST({_q(start)} AS VARCHAR) || ')' FROM {stage} "
                f"WHERE {_q(end)} < {_q(start)}"
            )
    if table == "laboratory":
        yield from _unit_sql(stage)
    if table == "measurement":
        yield _registry_test_sql(stage)


def _registry_test_sql(stage: str) -> str:
    """A measurement that is a result of a registry laboratory test (its LOINC code): such
    results are ``laboratory`` rows, in the test's canonical unit with the upper limit of
    normal, which is where the study analyses and the cohort language's ``laboratory`` domain
    read them; stored as a measurement it would be silently missed."""
    tests = ", ".join(f"('{loinc}', '{test}')" for test, loinc in lab_loinc().items())
    return (
        "SELECT source_location, 'code', 'LOINC ' || code, 'a result of the registry test ' || "
        "t.test || ', which is a laboratory row (in its canonical unit, with the upper limit "
        f"of normal): give it in the laboratory table' FROM {stage} s JOIN (VALUES {tests}) "
        "AS t(loinc, test) ON upper(trim(s.code_system)) = 'LOINC' AND trim(s.code) = t.loinc"
    )


def _unit_sql(stage: str) -> Iterator[str]:
    """Laboratory tests and units against the conversion table ``lab_unit_rules``."""
    yield (
        "SELECT source_location, 'test', test, 'no canonical unit is defined for this test; "
        "known tests: ' || (SELECT string_agg(DISTINCT test, ', ' ORDER BY test) FROM "
        f"lab_unit_rules) FROM {stage} s WHERE test IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM lab_unit_rules u WHERE u.test = s.test)"
    )
    units = (("source_unit", "source_unit"), ("uln_unit", "coalesce(uln_unit, source_unit)"))
    for column, unit in units:
        only_uln = "AND uln IS NOT NULL " if column == "uln_unit" else ""
        yield (
            f"SELECT source_location, '{column}', {unit}, 'this unit does not convert to the "
            "canonical unit of ' || test || ' (' || (SELECT any_value(canonical_unit) FROM "
            "lab_unit_rules u WHERE u.test = s.test) || '); accepted units: ' || (SELECT "
            "string_agg(unit, ', ' ORDER BY factor, unit) FROM lab_unit_rules u WHERE u.test = "
            f"s.test) FROM {stage} s WHERE {unit} IS NOT NULL {only_uln}AND EXISTS (SELECT 1 "
            "FROM lab_unit_rules u WHERE u.test = s.test) AND NOT EXISTS (SELECT 1 FROM "
            f"lab_unit_rules u WHERE u.test = s.test AND u.unit = lab_ucum({unit}))"
        )


def duplicate_checks(db: object) -> Iterator[tuple[str, Found]]:
    """The same record twice in one import: every occurrence after the first."""
    for table in IMPORT_TABLES:
        for sql in _duplicate_sql(table):
            for found in db.execute(sql).fetchall():  # type: ignore[attr-defined]
                yield table, found


def _duplicate_sql(table: str) -> Iterator[str]:
    stage = f"stage_{table}"
    if table == "person":
        yield _repeats(stage, ["source_id"], "source_id", "the same person source id")
        yield (
            "SELECT source_location, 'person_id', CAST(person_id AS VARCHAR), 'the same "
            "person_id is given to two persons (source ids ' || first_id || ' and ' || "
            "source_id || ')' FROM (SELECT *, first(source_id) OVER (PARTITION BY person_id "
            f"ORDER BY _seq) AS first_id FROM {stage} WHERE person_id IS NOT NULL) "
            "WHERE source_id IS DISTINCT FROM first_id"
        )
        return
    if not has_provenance(table) or table == "death":  # deaths: by person, death_checks
        return
    keys = ["coalesce(person_source_id, '#' || CAST(person_id AS VARCHAR))", "source_record"]
    keys += [_q(c) for c in ROW_KEYS.get(table, ())]
    yield _repeats(stage, keys, "source_record", "the same record")


def _repeats(stage: str, keys: list[str], field: str, what: str) -> str:
    partition = ", ".join(keys)
    return (
        f"SELECT source_location, '{field}', CAST({_q(field)} AS VARCHAR), '{what} appears "
        "more than once (first at ' || first_at || '); each record must be given once' FROM "
        f"(SELECT *, first(source_location) OVER (PARTITION BY {partition} ORDER BY _seq) AS "
        f"first_at, row_number() OVER (PARTITION BY {partition} ORDER BY _seq) AS n FROM "
        f"{stage} WHERE {_q(field)} IS NOT NULL) WHERE n > 1"
    )


#: Why a record is not stored when its person's own record has a problem ({at}: where that
#: record was read): it goes in with the person once that record is corrected.
PERSON_FAILED: Final = (
    "the person's own record ({at}) has a problem: correct it there, and this record is "
    "imported with the person"
)


def person_named(row: str) -> str:
    """SQL of two columns: the field and the value by which the staged row ``row`` (an alias)
    names its person, as the source wrote it — ``person_id`` when the row gives one (a reader
    that links it to the person's source id keeps it), else ``person_source_id``."""
    return (
        f"CASE WHEN {row}.person_id IS NULL THEN 'person_source_id' ELSE 'person_id' END, "
        f"coalesce(CAST({row}.person_id AS VARCHAR), {row}.person_source_id)"
    )


def death_checks(db: object, source: str) -> Iterator[tuple[str, Found]]:
    """The deaths of an import against the persons they were resolved to (column ``pid`` of
    ``stage_death``; ``resolved`` of ``stage_person``): a second death of one person in the
    import (every one after the first), a death of a person the registry holds a death of that
    this import does not replace (the same ``source`` and ``source_record``: an update), and a
    death before the person's birth (the import's person row, else the registry's)."""
    for sql, parameters in _death_sql(source):
        for found in db.execute(sql, parameters).fetchall():  # type: ignore[attr-defined]
            yield "death", found


def _death_sql(source: str) -> Iterator[tuple[str, list[str]]]:
    person = person_named("s")  # as the source named it (as the writer names an unknown one)
    yield (
        f"SELECT s.source_location, {person}, 'a second death of this person in the import "
        "(first at ' || s.first_at || '): a person dies once; keep the one death row that is "
        "right' FROM (SELECT *, first(source_location) OVER (PARTITION BY pid ORDER BY _seq) "
        "AS first_at, row_number() OVER (PARTITION BY pid ORDER BY _seq) AS n FROM "
        "stage_death WHERE pid IS NOT NULL) s WHERE s.n > 1",
        [],
    )
    yield (
        f"SELECT s.source_location, {person}, 'the registry holds a death of this person "
        "already (death_date ' || CAST(d.death_date AS VARCHAR) || ', ' || coalesce('record ' "
        "|| nullif(d.source_record, '') || ' of ', '') || coalesce('import ' || CAST("
        "d.import_id AS VARCHAR), 'no import') || '): a person dies once; give the death in one "
        "source only (a re-import of the same source and record updates it)' FROM stage_death "
        "s JOIN main.death d ON d.person_id = s.pid WHERE NOT coalesce(d.source_record = "
        "s.source_record AND d.import_id IN (SELECT import_id FROM main.import_log WHERE "
        "source = ?), false)",
        [source],
    )
    births = (
        "SELECT resolved AS pid, birth_date, birth_year FROM stage_person UNION ALL SELECT "
        "person_id, birth_date, birth_year FROM main.person WHERE person_id NOT IN (SELECT "
        "resolved FROM stage_person WHERE resolved IS NOT NULL)"
    )
    yield (
        "SELECT s.source_location, 'death_date', CAST(s.death_date AS VARCHAR), 'before the "
        "person''s birth (' || coalesce('born ' || CAST(b.birth_date AS VARCHAR), 'born in ' "
        "|| CAST(b.birth_year AS VARCHAR)) || '): correct the death date, or the birth date "
        f"of the person' FROM stage_death s JOIN ({births}) b ON b.pid = s.pid WHERE "
        "s.death_date < b.birth_date OR (b.birth_date IS NULL AND year(s.death_date) < "
        "b.birth_year)",
        [],
    )


__all__ = [
    "PAST_DATES",
    "PERSON_FAILED",
    "REQUIRED",
    "SPANS",
    "death_checks",
    "duplicate_checks",
    "person_named",
    "row_checks",
]
