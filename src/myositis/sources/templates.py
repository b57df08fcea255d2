"""Spreadsheet templates and the data dictionary (``myositis template DIR``).

One empty CSV file per table that an import fills (a header row only, in the columns that
``myositis import csv`` reads) and the data dictionary, as CSV and as Markdown: for every column
its table, type, whether it is required, the allowed values, the unit, an example and its
meaning. The dictionary is built from the data model (``registry/schema.py``), the shared checks
and the code lists, so it cannot drift from what the importer accepts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Final

from myositis.codes.doses import FREQUENCIES
from myositis.codes.units import accepted_units, lab_tests
from myositis.errors import MyositisError
from myositis.registry.schema import (
    CODE_SYSTEMS,
    DM_SUBTYPES,
    FORMULATIONS,
    INSTRUMENTS,
    SEXES,
    SOURCE_CODE_COLUMNS,
    TABLES,
)
from myositis.sources.checks import REQUIRED
from myositis.sources.contract import IMPORT_TABLES

#: Columns of the registry that a spreadsheet does not fill (the import writes them; a
#: spreadsheet records its codes as they are, so its rows' source codes are null,
#: ``schema.SOURCE_CODE_COLUMNS``).
NOT_IN_TEMPLATES: Final = (
    "import_id",
    "source_location",
    "source_value",
    "source_unit",
    *SOURCE_CODE_COLUMNS,
)

_ENZYMES: Final = ", ".join(f"{t}: {', '.join(accepted_units(t))}" for t in lab_tests())

#: (table, column) -> (allowed values, unit, example, meaning). "*" applies to every table.
NOTES: Final[dict[tuple[str, str], tuple[str, str, str, str]]] = {
    ("*", "person_id"): ("", "", "1", "the person: links the files; a registry person_id when "
                         "the person is not in person.csv"),
    ("*", "source_record"): ("", "", "REC-2019-004", "optional: the record's own id in your "
                             "data; without it the key columns identify the record"),
    ("*", "status"): ("entered-in-error, cancelled, or empty", "", "", "optional column: "
                      "records so marked are not imported and are reported as rejected"),
    ("person", "person_id"): ("", "", "1", "your number for the person (kept in the registry "
                              "when free)"),
    ("person", "source_id"): ("", "", "MRN-004711", "the person's identifier in your records "
                              "(MRN, study number; default: person_id); removed by "
                              "de-identified export"),
    ("person", "site"): ("", "", "site-1", "contributing site"),
    ("person", "sex"): (", ".join(SEXES), "", "F", "F, M or U (unknown)"),
    ("person", "birth_date"): ("", "", "1971-05-20", "date of birth (empty if only the year "
                               "is known)"),
    ("person", "birth_year"): ("", "", "1971", "year of birth"),
    ("person", "race"): ("OMB categories, or More than one race", "", "White",
                         "one value; list several in person_race"),
    ("person", "ethnicity"): ("Hispanic or Latino, Not Hispanic or Latino, Unknown", "",
                              "Not Hispanic or Latino", "as recorded"),
    ("person_race", "race"): ("OMB categories", "", "Asian", "one row per recorded race"),
    ("diagnosis", "code_system"): (", ".join(CODE_SYSTEMS), "", "ICD10CM", "code system"),
    ("diagnosis", "code"): ("", "", "M33.10", "the code as recorded (dotted or not)"),
    ("diagnosis", "diagnosis_date"): ("", "", "2019-03-02", "date of the coded encounter"),
    ("diagnosis", "end_date"): ("", "", "", "day the condition resolved (empty: not recorded)"),
    ("procedure", "code_system"): (", ".join(CODE_SYSTEMS), "", "CPT4", "code system"),
    ("procedure", "code"): ("", "", "20206", "the code as recorded (CPT 20206: needle muscle "
                            "biopsy)"),
    ("procedure", "procedure_date"): ("", "", "2019-03-09", "day the procedure was done"),
    ("procedure", "end_date"): ("", "", "", "last day of a procedure over several days "
                                "(empty: one day)"),
    ("visit", "visit_id"): ("", "", "V-2019-0412", "your id of the visit (optional; an "
                            "assessment's visit_id names the same visit)"),
    ("visit", "code_system"): ("VISIT, ACTCODE, OMOP, LOCAL", "", "VISIT", "code system "
                               "(VISIT: OMOP's Visit vocabulary)"),
    ("visit", "code"): ("", "", "IP", "IP inpatient, OP outpatient, ER emergency room, ERIP "
                        "emergency room then inpatient"),
    ("visit", "visit_date"): ("", "", "2019-04-12", "day of admission or of the visit"),
    ("visit", "end_date"): ("", "", "2019-04-19", "day of discharge (empty: one day)"),
    ("observation", "code_system"): (", ".join(CODE_SYSTEMS), "", "SNOMED", "code system"),
    ("observation", "code"): ("", "", "161501007", "what was observed (SNOMED 161501007: "
                              "history of malignant neoplasm)"),
    ("observation", "observation_date"): ("", "", "2019-04-12", "day it was recorded"),
    ("observation", "value"): ("", "unit", "", "a number, where the observation has one"),
    ("observation", "unit"): ("UCUM", "", "", "unit of value"),
    ("observation", "value_code_system"): (", ".join(CODE_SYSTEMS), "", "", "code system of "
                                           "a coded value"),
    ("observation", "value_code"): ("", "", "", "a coded value (SNOMED 77176002: smoker)"),
    ("observation", "value_text"): ("", "", "", "a value given as text"),
    ("measurement", "code_system"): (", ".join(CODE_SYSTEMS), "", "LOINC", "code system"),
    ("measurement", "code"): ("", "", "29463-7", "what was measured (LOINC 29463-7: body "
                              "weight; CK, aldolase, LDH, ALT and AST go in laboratory)"),
    ("measurement", "measurement_date"): ("", "", "2019-04-12", "day it was measured"),
    ("measurement", "value"): ("", "unit", "71.5", "the result, where it is a number"),
    ("measurement", "unit"): ("UCUM", "", "kg", "unit of value and of the normal range"),
    ("measurement", "range_low"): ("", "unit", "", "lower limit of normal, as reported"),
    ("measurement", "range_high"): ("", "unit", "", "upper limit of normal, as reported"),
    ("measurement", "value_code_system"): (", ".join(CODE_SYSTEMS), "", "", "code system of "
                                           "a coded result"),
    ("measurement", "value_code"): ("", "", "", "a coded result (SNOMED 260373001: "
                                    "detected)"),
    ("dm_subtype", "subtype"): (", ".join(DM_SUBTYPES), "", "amyopathic", "clinical subtype"),
    ("dm_subtype", "classified_date"): ("", "", "2019-04-01", "date of classification"),
    ("drug_exposure", "exposure_id"): ("", "", "1", "your number for the regimen (optional)"),
    ("drug_exposure", "ingredient"): ("", "", "tofacitinib", "active ingredient, lower case"),
    ("drug_exposure", "code_system"): (", ".join(CODE_SYSTEMS), "", "RXNORM", "drug code "
                                       "system (an unknown code is stored and matches no set)"),
    ("drug_exposure", "code"): ("", "", "1357536", "drug code as recorded"),
    ("drug_exposure", "start_date"): ("", "", "2020-01-06", "first day of this regimen"),
    ("drug_exposure", "end_date"): ("", "", "2020-06-30", "last day (empty: still running)"),
    ("drug_exposure", "dose"): ("", "dose_unit", "5", "amount per administration"),
    ("drug_exposure", "dose_unit"): ("mg, g, mcg, application", "", "mg", "unit of dose"),
    ("drug_exposure", "frequency"): (", ".join(FREQUENCIES), "", "BID", "dosing frequency"),
    ("drug_exposure", "formulation"): (", ".join(FORMULATIONS), "", "IR", "formulation"),
    ("drug_exposure", "route"): ("oral, intravenous, subcutaneous, topical, ...", "", "oral",
                                 "route"),
    ("assessment", "assessment_id"): ("", "", "1", "your number for one administration: rows "
                                      "of one visit's instrument share it"),
    ("assessment", "visit_id"): ("", "", "V3", "your id of the visit or form (optional)"),
    ("assessment", "assessment_date"): ("", "", "2020-02-03", "date of the assessment"),
    ("assessment", "instrument"): (", ".join(INSTRUMENTS), "", "cdasi", "instrument"),
    ("assessment", "measure"): ("item names of docs/instruments, or activity, damage, total, "
                                "score", "", "scalp_erythema", "item or score"),
    ("assessment", "value"): ("", "", "2", "the item's or score's value"),
    ("laboratory", "test"): (", ".join(lab_tests()), "", "ck", "test"),
    ("laboratory", "loinc"): ("", "", "2157-6", "LOINC code"),
    ("laboratory", "result_date"): ("", "", "2020-02-03", "specimen or result date"),
    ("laboratory", "value"): ("", "unit", "15.8", "the result as reported"),
    ("laboratory", "unit"): (_ENZYMES, "", "ukat/L", "unit of value (UCUM); stored converted "
                             "to the test's canonical unit, the value as given kept"),
    ("laboratory", "uln"): ("", "uln_unit", "3.2", "the laboratory's upper limit of normal"),
    ("laboratory", "uln_unit"): ("as unit", "", "ukat/L", "unit of uln (empty: unit)"),
    ("adverse_event", "term"): ("", "", "herpes zoster", "event term (MedDRA/CTCAE term)"),
    ("adverse_event", "onset_date"): ("", "", "2020-05-01", "onset"),
    ("adverse_event", "grade"): ("1, 2, 3, 4, 5", "", "2", "CTCAE grade"),
    ("adverse_event", "serious"): ("true, false", "", "false", "serious adverse event"),
    ("adverse_event", "outcome"): ("recovered, recovering, recovered with sequelae, fatal, "
                                   "unknown", "", "recovered", "outcome"),
    ("adverse_event", "suspected_drug"): ("", "", "tofacitinib", "ingredient suspected"),
    ("adverse_event", "led_to_discontinuation"): ("true, false", "", "false", "the suspected "
                                                  "drug was stopped because of the event"),
    ("death", "death_date"): ("", "", "2023-02-14", "day of death (one row per person at "
                              "most; records dated over 60 days later are reported)"),
    ("death", "cause_code_system"): (", ".join(CODE_SYSTEMS), "", "ICD10CM", "code system of "
                                     "the cause"),
    ("death", "cause_code"): ("", "", "J84.9", "cause of death, if known (ICD-10-CM J84.9: "
                              "interstitial lung disease)"),
    ("observation_period", "start_date"): ("", "", "2015-01-01", "records complete from"),
    ("observation_period", "end_date"): ("", "", "2023-12-31", "records complete until"),
    ("observation_period", "period_type"): ("", "", "registry follow-up", "kind of period"),
}  # fmt: skip

_TYPES: Final = {
    "int64": "whole number",
    "int32": "whole number",
    "float64": "number",
    "date": "date (YYYY-MM-DD)",
    "boolean": "true/false",
    "string": "text",
}

FIELDS: Final = ("table", "column", "type", "required", "allowed values", "unit", "example",
                 "meaning")  # fmt: skip


def template_columns(table: str) -> list[str]:
    """The columns of one table's template."""
    return [c for c in TABLES[table].names if c not in NOT_IN_TEMPLATES]


def _required(table: str, column: str) -> str:
    if table == "person" and column in ("person_id", "source_id"):
        return "one of person_id, source_id"
    if column == "person_id" or column in REQUIRED[table]:
        return "yes"
    if table == "laboratory" and column in ("value", "unit"):
        return "yes"
    return "no"


def data_dictionary() -> list[dict[str, str]]:
    """One row per template column (and the optional ``status`` column)."""
    rows = []
    for table in IMPORT_TABLES:
        for column in template_columns(table):
            dtype = str(TABLES[table][column]).rstrip("!")
            note = NOTES.get((table, column)) or NOTES.get(("*", column)) or ("", "", "", "")
            allowed, unit, example, meaning = note
            rows.append(dict(zip(FIELDS, (table, column, _TYPES[dtype],
                                          _required(table, column), allowed, unit, example,
                                          meaning), strict=True)))  # fmt: skip
    allowed, unit, example, meaning = NOTES[("*", "status")]
    rows.append(dict(zip(FIELDS, ("(every table)", "status", "text", "no", allowed, unit,
                                  example, meaning), strict=True)))  # fmt: skip
    return rows


def dictionary_markdown(rows: list[dict[str, str]]) -> str:
    """The data dictionary as a Markdown table."""
    lines = [
        "# Data dictionary of the spreadsheet templates",
        "",
        "Written by `myositis template`; import the filled templates with "
        "`myositis import csv DIR --into registry.duckdb` (docs/sources.md).",
        "",
        "| " + " | ".join(FIELDS) + " |",
        "|" + "---|" * len(FIELDS),
    ]
    for row in rows:
        lines.append("| " + " | ".join(row[f].replace("|", "\\|") for f in FIELDS) + " |")
    return "\n".join(lines) + "\n"


def write_templates(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the templates and the data dictionary into ``folder``; return the files."""
    names = [f"{t}.csv" for t in IMPORT_TABLES] + ["data-dictionary.csv", "data-dictionary.md"]
    existing = [n for n in names if (folder / n).exists()]
    if existing and not overwrite:
        raise MyositisError(
            f"{folder} already holds {', '.join(existing)}; choose another folder or pass "
            "--overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in IMPORT_TABLES:
        path = folder / f"{table}.csv"
        path.write_text(",".join(template_columns(table)) + "\n", encoding="utf-8")
        written.append(path)
    rows = data_dictionary()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "data-dictionary.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (folder / "data-dictionary.md").write_text(dictionary_markdown(rows), encoding="utf-8")
    written += [folder / "data-dictionary.csv", folder / "data-dictionary.md"]
    return written


__all__ = ["FIELDS", "NOTES", "data_dictionary", "template_columns", "write_templates"]
