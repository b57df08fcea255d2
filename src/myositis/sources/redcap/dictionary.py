"""The REDCap data dictionary: every field of a project with its form, type, choices,
validation and identifier flag.

REDCap writes the dictionary as a CSV of 18 columns (Project Setup > Data Dictionary >
Download; REDCap before 6.x wrote 17, without Field Annotation). The header is taken by
position after checking its first cell, because REDCap has spelt the other headers in
several ways over the years (``Choices, Calculations, OR Slider Labels``, ``Branching Logic
(Show field only if...)``); the API's metadata export names the same columns ``field_name``,
``form_name``, ... and is read the same way.

Choices (dropdown, radio, checkbox) are ``code, label`` pairs separated by ``|``. A checkbox
field is exported as one column per choice, ``<field>___<code>``: the code in lower case with
every character that is not a letter, digit or underscore written as ``_`` (a code ``-1``
gives ``race____1``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from myositis.errors import SourceError
from myositis.sources.tabular import Sheet

#: The dictionary's columns, by position, with the API's names for them.
COLUMNS: Final = (
    ("Variable / Field Name", "field_name"),
    ("Form Name", "form_name"),
    ("Section Header", "section_header"),
    ("Field Type", "field_type"),
    ("Field Label", "field_label"),
    ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    ("Field Note", "field_note"),
    ("Text Validation Type OR Show Slider Number", "text_validation_type_or_show_slider_number"),
    ("Text Validation Min", "text_validation_min"),
    ("Text Validation Max", "text_validation_max"),
    ("Identifier?", "identifier"),
    ("Branching Logic (Show field only if...)", "branching_logic"),
    ("Required Field?", "required_field"),
    ("Custom Alignment", "custom_alignment"),
    ("Question Number (surveys only)", "question_number"),
    ("Matrix Group Name", "matrix_group_name"),
    ("Matrix Ranking?", "matrix_ranking"),
    ("Field Annotation", "field_annotation"),
)

#: The header of a dictionary as REDCap downloads it.
HEADER: Final = tuple(ui for ui, _ in COLUMNS)

#: Field types of REDCap.
FIELD_TYPES: Final = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "file",
    "slider",
    "descriptive",
    "sql",
)
#: Field types whose values are codes of the field's choices.
CHOICE_TYPES: Final = ("dropdown", "radio", "checkbox")

#: Older names of validation types (REDCap before 5.x) and the names they have now.
LEGACY_VALIDATION: Final = {
    "int": "integer",
    "float": "number",
    "date": "date_ymd",
    "datetime": "datetime_ymd",
    "datetime_seconds": "datetime_seconds_ymd",
}

_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_CODE: Final = re.compile(r"[^a-z0-9_]")


@dataclass(frozen=True)
class Field:
    """One field of the dictionary."""

    name: str
    form: str
    type: str
    label: str = ""
    #: code -> label, in dictionary order (dropdown, radio, checkbox)
    choices: dict[str, str] = field(default_factory=dict)
    #: the calculation of a calc field (never evaluated: see the package docstring)
    calculation: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    matrix_group: str = ""
    line: int = 0

    @property
    def is_checkbox(self) -> bool:
        return self.type == "checkbox"


def checkbox_column(field: str, code: str) -> str:
    """The export column of checkbox ``field``'s choice ``code``."""
    return f"{field}___{_CODE.sub('_', code.lower())}"


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Yes | 2, No"`` -> ``{"1": "Yes", "2": "No"}`` (REDCap's choice syntax)."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(",")
        choices[code.strip()] = label.strip()
    return choices


@dataclass
class Dictionary:
    """Every field of a project, in dictionary order, and its forms."""

    source: str  # the file name (or "data dictionary (REDCap API)") for messages
    fields: dict[str, Field]
    forms: list[str]

    @property
    def record_id(self) -> str:
        """The record id field: REDCap's first field."""
        return next(iter(self.fields))

    def checkbox_columns(self) -> dict[str, tuple[Field, str]]:
        """Every checkbox export column -> (its field, its choice code)."""
        columns = {}
        for f in self.fields.values():
            if f.is_checkbox:
                for code in f.choices:
                    columns[checkbox_column(f.name, code)] = (f, code)
        return columns

    def form_fields(self, form: str) -> list[Field]:
        """The fields of one form, in dictionary order."""
        return [f for f in self.fields.values() if f.form == form]

    def calculated(self) -> list[Field]:
        """The calculated fields (never imported)."""
        return [f for f in self.fields.values() if f.type == "calc"]


def read_dictionary(sheet: Sheet) -> Dictionary:
    """Read and check a data dictionary; raise :class:`SourceError` naming the file, line and
    column of every problem found (a dictionary that is wrong refuses the whole import)."""
    width = _check_header(sheet)
    fields: dict[str, Field] = {}
    forms: list[str] = []
    problems: list[str] = []
    for line, cells in sheet.rows:
        cells = [c.strip() for c in cells] + [""] * (len(COLUMNS) - len(cells))
        name, form, _, ftype, label, choices, _, validation, vmin, vmax, ident = cells[:11]
        matrix = cells[15] if width > 15 else ""
        where = f"{sheet.name}, line {line}"
        ftype = ftype.lower()
        if not _NAME.fullmatch(name):
            problems.append(
                f"{where}: field name {name!r} is not a REDCap variable name (lower-case "
                "letters, digits and underscores, starting with a letter)"
            )
            continue
        if name in fields:
            problems.append(
                f"{where}: field {name!r} is defined twice (first on line {fields[name].line})"
            )
            continue
        if not _NAME.fullmatch(form):
            problems.append(
                f"{where}, field {name!r}: form name {form!r} is not a REDCap instrument name"
            )
            continue
        if ftype not in FIELD_TYPES:
            problems.append(
                f"{where}, field {name!r}: unknown field type {ftype!r} (REDCap's "
                f"types: {', '.join(FIELD_TYPES)})"
            )
            continue
        parsed = parse_choices(choices) if ftype in CHOICE_TYPES else {}
        if ftype in CHOICE_TYPES and not parsed:
            problems.append(
                f"{where}, field {name!r}: a {ftype} field needs choices ('1, label | 2, label')"
            )
            continue
        if ftype == "checkbox":
            columns = [checkbox_column(name, c) for c in parsed]
            if len(set(columns)) != len(columns):
                problems.append(
                    f"{where}, field {name!r}: two choice codes give the same "
                    "export column; make the codes differ in letters or digits"
                )
                continue
        if form not in forms:
            forms.append(form)
        fields[name] = Field(
            name=name,
            form=form,
            type=ftype,
            label=label,
            choices=parsed,
            calculation=choices if ftype == "calc" else "",
            validation=LEGACY_VALIDATION.get(validation.lower(), validation.lower())
            if ftype == "text"
            else validation.lower(),
            minimum=vmin,
            maximum=vmax,
            identifier=ident.lower() == "y",
            matrix_group=matrix,
            line=line,
        )
    if problems:
        raise SourceError("the data dictionary is not valid:\n" + "\n".join(problems[:20]))
    if not fields:
        raise SourceError(f"{sheet.name}: the data dictionary lists no fields")
    return Dictionary(sheet.name, fields, forms)


def _check_header(sheet: Sheet) -> int:
    header = [h.strip() for h in sheet.header]
    first = header[0].lower() if header else ""
    if first not in (COLUMNS[0][0].lower(), COLUMNS[0][1]):
        raise SourceError(
            f"{sheet.name} is not a REDCap data dictionary: its first column is "
            f"{header[0] if header else ''!r}, not 'Variable / Field Name' (download it from "
            "REDCap: Project Setup > Data Dictionary > Download the current Data Dictionary)"
        )
    if len(header) < 17:
        raise SourceError(
            f"{sheet.name}: a REDCap data dictionary has 18 columns ({', '.join(HEADER)}); "
            f"this one has {len(header)}"
        )
    return len(header)


def dictionary_rows(fields: Iterable[Field]) -> list[list[str]]:
    """Fields as dictionary rows (the template writer's inverse of :func:`read_dictionary`)."""
    rows = []
    for f in fields:
        choices = " | ".join(f"{c}, {label}" for c, label in f.choices.items())
        rows.append(
            [
                f.name,
                f.form,
                "",
                f.type,
                f.label,
                choices or f.calculation,
                "",
                f.validation,
                f.minimum,
                f.maximum,
                "y" if f.identifier else "",
                "",
                "",
                "",
                "",
                f.matrix_group,
                "",
                "",
            ]
        )
    return rows


__all__ = [
    "CHOICE_TYPES",
    "COLUMNS",
    "FIELD_TYPES",
    "HEADER",
    "Dictionary",
    "Field",
    "checkbox_column",
    "dictionary_rows",
    "parse_choices",
    "read_dictionary",
]
