"""The mapping of a REDCap project onto the registry: a YAML file (``docs/redcap.md``), read
and checked against the project's data dictionary before a record is read.

A mapping says, for a project in its own names:

- ``project``: the source's name (``redcap:<project>``; re-imports match on it) and ``site``,
  the site of records without a data access group;
- ``visits``: the visit date field and what each event is called as a visit (``null``: the
  event is no visit, such as a screening event, and its forms give no assessments);
- ``person``: the person's columns from fields (the person's source id defaults to the
  record id);
- ``tables``: rows of ``diagnosis``, ``dm_subtype``, ``drug_exposure``, ``laboratory``,
  ``adverse_event``, ``observation_period`` (and the other tables of ``FormTable``: a
  ``death`` too), each from one form (one row per form instance that holds a value in a
  ``when`` field);
- ``assessments``: forms -> instruments, each item or score measure from a field.

A column is read from a **field** (``dob``), a **checkbox code** (``ae_action___1``: ticked
or not), or a **constant** (``{value: ck}``), with an optional **value map** (``values``:
raw code -> registry value, which must cover every choice of a choice field), the **unit** of
the value (``unit``: fills ``source_unit``, ``uln_unit`` or ``dose_unit``) and the **code
system** of a code (``system``: fills ``code_system``). A list of such sources takes the
first that has a value.

Refused here, with the file and the key: a field that is not in the dictionary, a checkbox
code that is not a choice, a value map that misses a choice, an **identifier field** (Identifier?
= y) mapped anywhere but to the person's source id, a **calculated field** mapped anywhere
(scores are computed from the items), a value of the wrong kind for its column.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from myositis.documents import read_yaml, validate
from myositis.errors import SourceError
from myositis.registry.schema import INSTRUMENTS, SEVERAL_RACES, TABLES
from myositis.sources.redcap.dictionary import Dictionary, Field
from myositis.sources.redcap.measures import (
    COMPUTED,
    ITEMS,
    OPTIONAL_ITEMS,
    SCORES,
)

DOCS: Final = "docs/redcap.md"

#: Tables a mapping fills from forms (persons and assessments have their own sections).
FormTable = Literal[
    "diagnosis",
    "procedure",
    "visit",
    "observation",
    "measurement",
    "dm_subtype",
    "drug_exposure",
    "laboratory",
    "adverse_event",
    "death",
    "observation_period",
]
FORM_TABLES: Final = get_args(FormTable)
#: Columns the import fills itself.
_OWN_COLUMNS: Final = {"person_id", "import_id", "source_record", "source_location", "exposure_id"}
#: column whose ``unit`` / ``system`` fills another column.
UNIT_COLUMNS: Final = {
    ("laboratory", "source_value"): "source_unit",
    ("laboratory", "uln"): "uln_unit",
    ("drug_exposure", "dose"): "dose_unit",
    ("observation", "value"): "unit",
    ("measurement", "value"): "unit",
}
SYSTEM_COLUMNS: Final = {
    ("diagnosis", "code"): "code_system",
    ("procedure", "code"): "code_system",
    ("visit", "code"): "code_system",
    ("observation", "code"): "code_system",
    ("observation", "value_code"): "value_code_system",
    ("measurement", "code"): "code_system",
    ("measurement", "value_code"): "value_code_system",
    ("drug_exposure", "code"): "code_system",
    ("death", "cause_code"): "cause_code_system",
}
PERSON_COLUMNS: Final = ("source_id", "sex", "birth_date", "birth_year", "race", "ethnicity")

Constant = str | int | float | bool | _dt.date | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """One source of a column's value."""

    field: str | None = None
    value: Constant = None
    values: dict[str, Constant] | None = None
    unit: str | None = None
    system: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _text_keys(cls, values: Any) -> Any:
        # YAML reads `1: F` with an integer key; REDCap codes are text
        if isinstance(values, dict):
            return {_key(k): v for k, v in values.items()}
        return values


Spec = str | SourceSpec | list[str | SourceSpec]


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "1" if key else "0"
    return str(key)


class Visits(_Strict):
    date: str | None = None
    events: dict[str, str | None] = {}


class PersonMap(_Strict):
    source_id: Spec | None = None
    sex: Spec | None = None
    birth_date: Spec | None = None
    birth_year: Spec | None = None
    race: Spec | None = None
    ethnicity: Spec | None = None


class TableEntry(_Strict):
    form: str
    id: str | None = None
    when: str | list[str] | None = None
    columns: dict[str, Spec]


class AssessmentEntry(_Strict):
    form: str
    instrument: str
    date: str | None = None
    item_fields: str | None = None
    measures: dict[str, Spec] = {}


class MappingFile(_Strict):
    """The YAML document (``docs/redcap.md`` describes every key)."""

    mapping_version: Literal[1] = 1
    project: str
    site: str | None = None
    visits: Visits = Visits()
    person: PersonMap = PersonMap()
    tables: dict[FormTable, TableEntry | list[TableEntry]] = {}
    assessments: list[AssessmentEntry] = []


# -- the compiled mapping -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A compiled source of one value: a field (or one checkbox code of it), or a constant."""

    field: Field | None = None
    code: str | None = None  # a checkbox choice: the value is whether it is ticked
    constant: Constant = None
    values: dict[str, Constant] | None = None
    fills: tuple[tuple[str, Constant], ...] = ()  # (unit or code system column, its value)

    @property
    def whole_checkbox(self) -> bool:
        return self.field is not None and self.field.is_checkbox and self.code is None


@dataclass(frozen=True)
class Column:
    """A registry column and its sources, the first with a value wins."""

    name: str
    dtype: str  # the registry type: string, date, float64, int64, int32, boolean
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Entry:
    """Rows of one table from one form."""

    table: str
    form: str
    key: str  # the suffix of source_record telling entries of one form and table apart
    columns: tuple[Column, ...]
    when: tuple[Source, ...]


@dataclass(frozen=True)
class Assessment:
    """Assessment rows of one instrument from one form."""

    form: str
    instrument: str
    date: Field | None
    measures: tuple[tuple[str, Source], ...]
    computed: bool  # whether a score is computed from the items (measures.COMPUTED)


@dataclass
class Mapping:
    """A mapping checked against a data dictionary."""

    path: str
    project: str
    site: str | None
    visit_date: Field | None
    events: dict[str, str | None]
    person: tuple[Column, ...]
    source_id: Column | None
    entries: list[Entry] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)

    def fields(self) -> set[str]:
        """Every dictionary field the mapping reads."""
        names = {self.visit_date.name} if self.visit_date else set()
        columns = [*self.person, *([self.source_id] if self.source_id else [])]
        for entry in self.entries:
            columns += entry.columns
        sources = [s for c in columns for s in c.sources]
        sources += [s for entry in self.entries for s in entry.when]
        sources += [s for a in self.assessments for _, s in a.measures]
        names |= {s.field.name for s in sources if s.field}
        names |= {a.date.name for a in self.assessments if a.date}
        return names


def load_mapping(path: Path) -> MappingFile:
    """Read and validate a mapping file (its shape; the fields are checked by :func:`compile`)."""
    data = read_yaml(path, what="REDCap mapping", error=SourceError)
    return validate(
        MappingFile, data, source=str(path), what="REDCap mapping", docs=DOCS, error=SourceError
    )


class _Compiler:
    def __init__(self, doc: MappingFile, dictionary: Dictionary, path: str) -> None:
        self.doc = doc
        self.dictionary = dictionary
        self.path = path
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"  - {where}: {message}")

    # -- fields and sources ----------------------------------------------------------------
    def field(self, name: str, where: str, *, identifier_ok: bool = False) -> Field | None:
        f = self.dictionary.fields.get(name)
        if f is None:
            self.fail(
                where, f"field {name!r} is not in the data dictionary ({self.dictionary.source})"
            )
            return None
        if f.type == "calc":
            self.fail(
                where,
                f"field {name!r} is a calculated field: REDCap calculations are "
                "never imported (scores are computed by myositis.instruments from the "
                "items); map the items instead",
            )
            return None
        if f.type in ("descriptive", "file"):
            self.fail(where, f"field {name!r} is a {f.type} field, which holds no value to import")
            return None
        if f.identifier and not identifier_ok:
            self.fail(
                where,
                f"field {name!r} is an identifier (Identifier? = y in the "
                "dictionary): identifiers are never stored, except as the person's "
                "source id (person.source_id)",
            )
            return None
        return f

    def reference(self, text: str, where: str, *, identifier_ok: bool = False) -> Source | None:
        """A field name or a checkbox column ``<field>___<code>``."""
        if text not in self.dictionary.fields and "___" in text:
            checkbox = self.dictionary.checkbox_columns().get(text)
            if checkbox is None:
                base, _, code = text.rpartition("___")
                f = self.dictionary.fields.get(base)
                if f is not None and f.is_checkbox:
                    self.fail(
                        where,
                        f"checkbox field {base!r} has no choice {code!r} "
                        f"(its choices: {', '.join(f.choices)})",
                    )
                else:
                    self.fail(where, f"{text!r} is not a checkbox column of the data dictionary")
                return None
            f = self.field(checkbox[0].name, where, identifier_ok=identifier_ok)
            return None if f is None else Source(field=f, code=checkbox[1])
        f = self.field(text, where, identifier_ok=identifier_ok)
        return None if f is None else Source(field=f)

    def sources(
        self, spec: Spec, where: str, table: str, column: str, *, identifier_ok: bool = False
    ) -> tuple[Source, ...]:
        specs = spec if isinstance(spec, list) else [spec]
        out = []
        for n, one in enumerate(specs):
            here = f"{where}[{n}]" if isinstance(spec, list) else where
            s = SourceSpec(field=one) if isinstance(one, str) else one
            source = self.source(s, here, table, column, identifier_ok=identifier_ok)
            if source is not None:
                out.append(source)
        return tuple(out)

    def source(
        self, s: SourceSpec, where: str, table: str, column: str, *, identifier_ok: bool
    ) -> Source | None:
        dtype = _dtype(table, column)
        if (s.field is None) == ("value" not in s.model_fields_set):
            self.fail(where, "give either field: (a REDCap field) or value: (a constant)")
            return None
        fills = []
        for key, companions in (("unit", UNIT_COLUMNS), ("system", SYSTEM_COLUMNS)):
            given = getattr(s, key)
            if given is None:
                continue
            companion = companions.get((table, column))
            if companion is None:
                allowed = ", ".join(f"{t}.{c}" for t, c in companions)
                self.fail(where, f"{key}: applies to {allowed}, not {table}.{column}")
                return None
            fills.append((companion, given))
        if s.field is None:
            constant = self.convert(s.value, dtype, where)
            return Source(constant=constant, fills=tuple(fills))
        source = self.reference(s.field, where, identifier_ok=identifier_ok)
        if source is None or source.field is None:
            return None
        f = source.field
        values = None
        if s.values is not None:
            values = {k: self.convert(v, dtype, f"{where}.values.{k}") for k, v in s.values.items()}
            codes = _codes(source)
            if codes is not None:
                missing = [c for c in codes if c not in values]
                unknown = [k for k in values if k not in codes]
                if missing:
                    self.fail(
                        where,
                        f"values: gives no value for code(s) {', '.join(missing)} "
                        f"of field {f.name!r} (map each, to null to leave it out)",
                    )
                if unknown:
                    self.fail(
                        where,
                        f"values: code(s) {', '.join(unknown)} are not choices "
                        f"of field {f.name!r} ({', '.join(codes)})",
                    )
        elif not self.fits(source, dtype):
            self.fail(
                where,
                f"field {f.name!r} ({_kind(f)}) cannot fill {table}.{column} "
                f"({_DTYPE_WORDS[dtype]}); add values: to map its codes",
            )
        if source.whole_checkbox and not (table == "person" and column == "race"):
            self.fail(
                where,
                f"{f.name!r} is a checkbox field: name one of its codes "
                f"({', '.join(f.name + '___' + c for c in list(f.choices)[:3])}, ...)",
            )
        return Source(field=f, code=source.code, values=values, fills=tuple(fills))

    def convert(self, value: Constant, dtype: str, where: str) -> Constant:
        if value is None:
            return None
        try:
            return convert(value, dtype)
        except ValueError as exc:
            self.fail(where, f"{value!r}: {exc}")
            return None

    @staticmethod
    def fits(source: Source, dtype: str) -> bool:
        f = source.field
        assert f is not None
        if source.code is not None or f.type in ("yesno", "truefalse"):
            return True  # 0/1: false/true, or the numbers 0 and 1
        if dtype == "date":
            return f.validation.startswith(("date", "datetime"))
        if dtype == "boolean":
            return False
        if dtype in ("float64", "int64", "int32"):
            if f.type == "slider" or f.validation in ("integer", "number"):
                return True
            if f.validation.startswith("number"):
                return True
            return f.type in ("dropdown", "radio") and all(_numeric(c) for c in f.choices)
        return True

    # -- sections ----------------------------------------------------------------------------
    def columns(self, table: str, columns: dict[str, Spec], where: str) -> tuple[Column, ...]:
        out = []
        allowed = [c for c in TABLES[table].names if c not in _OWN_COLUMNS]
        for name, spec in columns.items():
            here = f"{where}.{name}"
            if table == "laboratory" and name in ("value", "unit"):
                self.fail(
                    here,
                    "map the laboratory's result to source_value and its unit to "
                    "source_unit (the import converts them to value and unit)",
                )
                continue
            if name not in allowed:
                self.fail(
                    here, f"{table} has no column {name!r} to map (columns: {', '.join(allowed)})"
                )
                continue
            out.append(Column(name, _dtype(table, name), self.sources(spec, here, table, name)))
        return tuple(out)

    def compile(self) -> Mapping:
        d = self.doc
        visit_date = None
        if d.visits.date:
            visit_date = self.field(d.visits.date, "visits.date")
            if visit_date and not visit_date.validation.startswith(("date", "datetime")):
                self.fail("visits.date", f"field {visit_date.name!r} is not a date field")
        given = {k: getattr(d.person, k) for k in PERSON_COLUMNS[1:]}
        person = self.columns("person", {k: v for k, v in given.items() if v is not None}, "person")
        source_id = None
        if d.person.source_id is not None:
            source_id = Column(
                "source_id",
                "string",
                self.sources(
                    d.person.source_id,
                    "person.source_id",
                    "person",
                    "source_id",
                    identifier_ok=True,
                ),
            )
        mapping = Mapping(
            path=self.path,
            project=d.project,
            site=d.site,
            visit_date=visit_date,
            events=dict(d.visits.events),
            person=person,
            source_id=source_id,
        )
        for table, listed in d.tables.items():
            self.entries(mapping, table, listed if isinstance(listed, list) else [listed])
        for n, a in enumerate(d.assessments):
            assessment = self.assessment(a, f"assessments[{n}]")
            if assessment is not None:
                mapping.assessments.append(assessment)
        if self.problems:
            raise SourceError(
                f"{self.path}: the mapping does not fit the data dictionary "
                f"({self.dictionary.source}):\n" + "\n".join(self.problems[:40]) + f"\n({DOCS})"
            )
        return mapping

    def entries(self, mapping: Mapping, table: str, entries: list[TableEntry]) -> None:
        keys: dict[tuple[str, str], int] = {}
        for n, e in enumerate(entries):
            where = f"tables.{table}" + (f"[{n}]" if len(entries) > 1 else "")
            if e.form not in self.dictionary.forms:
                self.fail(
                    f"{where}.form",
                    f"no form {e.form!r} in the data dictionary (forms: "
                    f"{', '.join(self.dictionary.forms)})",
                )
                continue
            key = e.id or table
            if (e.form, key) in keys:
                self.fail(
                    where,
                    f"a second {table} entry reads form {e.form!r}: give each "
                    "entry of one form a different id:",
                )
                continue
            keys[(e.form, key)] = n
            columns = self.columns(table, e.columns, f"{where}.columns")
            if e.when is None:
                when = tuple(
                    s
                    for c in columns
                    for s in c.sources
                    if s.field is not None and s.field.form == e.form
                )
            else:
                names = [e.when] if isinstance(e.when, str) else e.when
                found = [self.reference(w, f"{where}.when") for w in names]
                when = tuple(s for s in found if s is not None)
            if not when:
                self.fail(
                    where,
                    f"no field of form {e.form!r} tells when a row exists: map one "
                    "of its fields, or give when:",
                )
            mapping.entries.append(Entry(table, e.form, key, columns, when))

    def assessment(self, a: AssessmentEntry, where: str) -> Assessment | None:
        if a.instrument not in INSTRUMENTS:
            self.fail(
                f"{where}.instrument",
                f"{a.instrument!r} is not a registry instrument ({', '.join(INSTRUMENTS)})",
            )
            return None
        if a.form not in self.dictionary.forms:
            self.fail(f"{where}.form", f"no form {a.form!r} in the data dictionary")
            return None
        items = ITEMS.get(a.instrument, {})
        scores = SCORES.get(a.instrument, {})
        specs: dict[str, Spec] = {}
        if a.item_fields is not None:
            if "{item}" not in a.item_fields or not items:
                self.fail(
                    f"{where}.item_fields",
                    "a pattern with {item} (the field of each "
                    f"item), for an instrument with items ({', '.join(ITEMS)})",
                )
            else:
                absent = []
                for item in items:
                    name = a.item_fields.replace("{item}", item)
                    if name in self.dictionary.fields:
                        specs[item] = name
                    elif item not in OPTIONAL_ITEMS.get(a.instrument, ()):
                        absent.append(name)
                if absent:
                    self.fail(
                        f"{where}.item_fields",
                        f"{len(absent)} item field(s) of "
                        f"{a.instrument} are not in the dictionary: "
                        f"{', '.join(absent[:10])}{', ...' if len(absent) > 10 else ''}; "
                        "map them under measures:",
                    )
        specs.update(a.measures)
        measures = []
        for measure, spec in specs.items():
            here = f"{where}.measures.{measure}"
            if measure not in items and measure not in scores:
                known = [*items, *scores]
                self.fail(
                    here,
                    f"{a.instrument} has no measure {measure!r} (items and scores: "
                    f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''})",
                )
                continue
            for s in self.sources(spec, here, "assessment", "value"):
                measures.append((measure, s))
                break
        has_items = any(m in items for m, _ in measures)
        computed = a.instrument in COMPUTED and has_items
        if has_items:
            doubled = [m for m, _ in measures if m in scores]
            if doubled:
                self.fail(
                    where,
                    f"{a.instrument} maps items and the score(s) "
                    f"{', '.join(doubled)}: with items, scores are computed by "
                    "myositis.instruments; leave the score out",
                )
        if not measures:
            self.fail(where, f"no measure of {a.instrument} is mapped")
            return None
        date = None
        if a.date:
            date = self.field(a.date, f"{where}.date")
            if date and not date.validation.startswith(("date", "datetime")):
                self.fail(f"{where}.date", f"field {date.name!r} is not a date field")
        return Assessment(a.form, a.instrument, date, tuple(measures), computed)


def compile_mapping(doc: MappingFile, dictionary: Dictionary, path: str) -> Mapping:
    """Check ``doc`` against ``dictionary``; raise :class:`SourceError` listing every problem."""
    return _Compiler(doc, dictionary, path).compile()


# -- values ---------------------------------------------------------------------------------

_DTYPE_WORDS: Final = {
    "string": "text",
    "date": "a date",
    "float64": "a number",
    "int64": "a whole number",
    "int32": "a whole number",
    "boolean": "true or false",
}


def _dtype(table: str, column: str) -> str:
    if table == "assessment":
        return "float64"
    return str(TABLES[table][column]).rstrip("!")


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _codes(source: Source) -> list[str] | None:
    f = source.field
    assert f is not None
    if source.code is not None or f.type in ("yesno", "truefalse"):
        return ["0", "1"]
    if f.type in ("dropdown", "radio", "checkbox"):
        return list(f.choices)
    return None


def _kind(f: Field) -> str:
    if f.type == "text" and f.validation:
        return f"text validated as {f.validation}"
    if f.type in ("dropdown", "radio", "checkbox"):
        return f"{f.type} with codes {', '.join(list(f.choices)[:6])}"
    return f.type


def convert(value: Any, dtype: str) -> Constant:
    """A value (a field's parsed value, a mapped value or a constant) as the registry column
    type ``dtype``; raise ``ValueError`` with the reason when it does not fit."""
    if value is None:
        return None
    if dtype == "date":
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
    if dtype == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "y"):
            return True
        if text in ("0", "false", "no", "n"):
            return False
        raise ValueError("expected true or false")
    if dtype in ("float64", "int64", "int32"):
        if isinstance(value, bool):  # a yes/no or checkbox field: 1 or 0
            return float(value) if dtype == "float64" else int(value)
        if isinstance(value, _dt.date):
            raise ValueError(f"expected {_DTYPE_WORDS[dtype]}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected {_DTYPE_WORDS[dtype]}") from None
        if dtype == "float64":
            return number
        if not number.is_integer():
            raise ValueError("expected a whole number")
        return int(number)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def race_value(races: list[str]) -> str | None:
    """``person.race`` for the races recorded (one value, or ``More than one race``)."""
    unique = list(dict.fromkeys(races))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else SEVERAL_RACES


__all__ = [
    "DOCS",
    "FORM_TABLES",
    "Assessment",
    "Column",
    "Entry",
    "Mapping",
    "MappingFile",
    "Source",
    "compile_mapping",
    "convert",
    "load_mapping",
    "race_value",
]
