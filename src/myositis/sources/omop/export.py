"""``myositis export REGISTRY --format omop --to DIR``: a registry as OMOP CDM 5.4 tables, one
CSV file per table, that ``omop+URL`` reads back (:mod:`myositis.registry.omop.views`) once
loaded into a database.

Rules (the inverse of the views; ``docs/omop.md``, "Export"):

- ``person`` (gender 8507/8532/0; birth year, month, day and ``birth_datetime``; OMB race and
  ethnicity concepts, else 0 with the text in ``race_source_value``; ``person_source_value``
  the ``source_id``; ``care_site_id`` the ``site``'s row of ``care_site``, which names it);
- ``observation_period``: the recorded periods, and for a person without one the period
  derived from the person's records (:mod:`myositis.registry.observation`; typed 32882,
  "Standard algorithm from EHR"; ATLAS finds no entry event outside an observation period);
- ``condition_occurrence`` (diagnoses); ``procedure_occurrence`` (procedures, their
  ``end_date`` as ``procedure_end_date``; read live, a procedure ends the day after its date,
  Circe's rule); ``visit_occurrence`` (visits, :func:`_visit_concept`: a Visit code IP, OP,
  ER, ERIP is OMOP's own concept 9201, 9202, 9203, 262, another code a concept as below, a
  code of a system OMOP has no vocabulary for (ACTCODE) concept 0, its code kept in
  ``visit_source_value``; ``visit_end_date`` the ``end_date``, else the visit's date, as the
  CDM requires an end and the cohort language ends such a visit on its date);
  ``drug_exposure`` (``drug_exposure_id`` the
  ``exposure_id``; route in ``route_source_value``; a course without an end date, still
  running when the data end, ends on the last day of the person's observation period that
  holds its start, as the CDM requires an end date (THEMIS "drug_end_date_not_in_data"), and
  keeps an empty ``verbatim_end_date``: the end the source gave); ``measurement`` (laboratory
  results coded by their LOINC code, else their test's, with the source value and unit, else
  the value and unit, and the ULN in that unit; assessments with ``value_as_number``; then
  the registry's other measurements as its other observations are written, with
  ``range_low`` and ``range_high``: :func:`_measurement`);
  ``observation`` (DM subtypes, then the registry's other observations: the code's concept,
  ``value_as_number`` the value, ``unit_source_value`` the unit with ``unit_concept_id`` 0 (the
  registry keeps UCUM text, not a unit concept; read live, the view takes the source value),
  ``value_as_concept_id`` the coded value's concept, ``value_as_string`` the text, the code in
  ``observation_source_value``); ``death`` (one row per death: ``death_date``, typed EHR,
  ``cause_concept_id`` the cause's concept (domain ``Condition``, as a diagnosis's code) with
  the code in ``cause_source_value``, both empty without a cause; ``death_datetime`` empty);
  ``cdm_source``;
- codes: every (code system, code) used gets a ``concept`` row (vocabulary and code as the
  registry has them, domain ``Condition``, ``Procedure``, ``Visit``, ``Observation``, ``Drug``
  or ``Measurement`` by the table using it, ``Meas Value`` for an observation's or a
  measurement's coded value, as OMOP's answer concepts; an ``OMOP`` code is the concept id
  itself); ids of
  concepts made here start at 2,100,000,000 (OMOP's local range), in sorted order, so an export
  is the same every time (OMOP's own Visit concepts keep their ids, :data:`VISIT_CONCEPTS`).
  Each drug's ingredient is a concept of class ``Ingredient`` linked in ``concept_ancestor``;
- source codes (data model version 5): a diagnosis's, procedure's, visit's, drug exposure's,
  other observation's or other measurement's ``<domain>_source_concept_id`` is its source code
  where that is an ``OMOP`` concept id (as a CDM read live gives them), else 0 (a source code
  of another code system gets no concept; :func:`_source_concept_id`);
- assessments and subtypes use the local concepts of the default mapping; an instrument
  measure it lacks (a CDASI item, ...) gets a new local concept, and the mapping the export
  used is written as ``local_concepts.yaml`` (open the CDM with ``?mapping=`` that file);
- not exported, as OMOP has no place for them: adverse events, several races of one person
  (``person_race`` beyond ``person.race``), dose, frequency and formulation, visit ids (an
  assessment's; a visit's ``visit_occurrence_id`` is its row number).

Every field the OMOP CDM 5.4 DDL declares ``NOT NULL`` (OHDSI/CommonDataModel,
``inst/ddl/5.4/postgresql/OMOPCDM_postgresql_5.4_ddl.sql``) is filled, so the files load into
a CDM made with it. A record the CDM cannot hold without inventing a value (a diagnosis,
procedure, visit, other observation, other measurement, drug exposure start, assessment,
laboratory result, subtype or death without its date; a recorded observation period without
its start or end; a person without a birth year) stops the export before any file is written,
naming the rows to mend.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
import yaml
from ibis import BaseBackend

from myositis.codes import ICD_SYSTEMS, normalise_icd
from myositis.codes.units import lab_loinc
from myositis.errors import InvalidInputError, MyositisError
from myositis.registry.observation import observation_periods
from myositis.registry.omop.mapping import load_mapping
from myositis.registry.omop.views import ETHNICITY_CONCEPTS, RACE_CONCEPTS, VOCABULARIES
from myositis.registry.schema import DERIVED_PERIOD, ID_COLUMNS

#: First id of the concepts an export makes (OMOP: 2 000 000 000 and above are local).
FIRST_CONCEPT: Final = 2_100_000_000
#: First id of local assessment concepts added beyond the mapping's.
FIRST_LOCAL_ASSESSMENT: Final = 2_000_009_000
#: The mapping file written beside the tables.
MAPPING_FILE: Final = "local_concepts.yaml"
EHR: Final = 32817  # type concept "EHR"
#: Type concept "Standard algorithm from EHR": a period derived from the person's records, as
#: OHDSI's ETL-Synthea types the periods it derives from encounters (observation_period.Rmd).
DERIVED_FROM_EHR: Final = 32882
CDM_5_4: Final = 756265  # concept "OMOP CDM Version 5.4.0" (cdm_source.cdm_version_concept_id)

#: The registry's ``VISIT`` codes that are OMOP standard concepts of the Visit vocabulary
#: (vocabulary_id ``Visit``, domain and class ``Visit``; OHDSI Athena): code -> (concept id,
#: name). A visit so coded is written with OMOP's own concept, so that an ATLAS concept set of
#: it (9201 Inpatient Visit, ...) finds it by id as by code; its concept row is written too.
VISIT_CONCEPTS: Final = {
    "IP": (9201, "Inpatient Visit"),
    "OP": (9202, "Outpatient Visit"),
    "ER": (9203, "Emergency Room Visit"),
    "ERIP": (262, "Emergency Room and Inpatient Visit"),
}

#: (registry table, column, what the CDM calls it): dates and the birth year the CDM requires,
#: which an export cannot invent (:func:`_refuse_missing`).
REQUIRED: Final = (
    ("person", "birth_year", "person.year_of_birth"),
    ("diagnosis", "diagnosis_date", "condition_occurrence.condition_start_date"),
    ("procedure", "procedure_date", "procedure_occurrence.procedure_date"),
    ("visit", "visit_date", "visit_occurrence.visit_start_date"),
    ("observation", "observation_date", "observation.observation_date"),
    ("measurement", "measurement_date", "measurement.measurement_date"),
    ("drug_exposure", "start_date", "drug_exposure.drug_exposure_start_date"),
    ("assessment", "assessment_date", "measurement.measurement_date"),
    ("laboratory", "result_date", "measurement.measurement_date"),
    ("dm_subtype", "classified_date", "observation.observation_date"),
    ("death", "death_date", "death.death_date"),
    ("observation_period", "start_date", "observation_period.observation_period_start_date"),
    ("observation_period", "end_date", "observation_period.observation_period_end_date"),
)

_SYSTEM_VOCABULARY: Final = {v: k for k, v in VOCABULARIES.items()}
_SEX: Final = {"M": 8507, "F": 8532}
_RACE: Final = {v: k for k, v in RACE_CONCEPTS.items()}
_ETHNICITY: Final = {v: k for k, v in ETHNICITY_CONCEPTS.items()}


def _rows(con: BaseBackend, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = con.table(table).to_pyarrow().to_pylist()
    return rows


class _Concepts:
    """The concepts an export uses: (vocabulary, code) -> id, with their rows."""

    def __init__(self) -> None:
        # key -> (name, class, domain)
        self.wanted: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self.ids: dict[tuple[str, str, str], int] = {}
        self.fixed: dict[tuple[str, str, str], int] = {}  # OMOP's own concepts, by key

    def want(
        self,
        domain: str,
        system: str,
        code: str,
        name: str = "",
        klass: str = "",
        concept_id: int | None = None,
    ) -> None:
        """Use (``system``, ``code``): as OMOP's concept ``concept_id`` when given, else as a
        concept numbered by :meth:`number`."""
        if system.upper() == "OMOP":
            return
        key = (_SYSTEM_VOCABULARY.get(system.upper(), system), code, klass)
        self.wanted.setdefault(key, (name or code, klass, domain))
        if concept_id is not None:
            self.fixed[key] = concept_id

    def number(self) -> None:
        made = (key for key in sorted(self.wanted) if key not in self.fixed)
        for i, key in enumerate(made):
            self.ids[key] = FIRST_CONCEPT + i
        self.ids.update(self.fixed)

    def id(self, system: str, code: str, klass: str = "") -> int:
        if system.upper() == "OMOP":
            return int(code)
        return self.ids[(_SYSTEM_VOCABULARY.get(system.upper(), system), code, klass)]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "concept_id": self.ids[key],
                "concept_name": name,
                "domain_id": domain,
                "vocabulary_id": key[0],
                "concept_class_id": klass or "Undefined",  # the registry does not know it
                "standard_concept": "S",
                "concept_code": key[1],
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
                "invalid_reason": None,
            }
            for key, (name, klass, domain) in sorted(self.wanted.items())
        ]


def export(con: BaseBackend, folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the registry on ``con`` as OMOP CDM tables (CSV) into ``folder``."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise MyositisError(f"{folder} holds files; give an empty folder or --overwrite")
    _refuse_missing(con)
    folder.mkdir(parents=True, exist_ok=True)
    mapping = load_mapping()
    assessment_concepts = {v: k for k, v in mapping.assessments.items()}
    subtype_concepts = {v: k for k, v in mapping.subtypes.items()}
    concepts = _Concepts()

    persons = _rows(con, "person")
    diagnoses = _rows(con, "diagnosis")
    procedures = _rows(con, "procedure")
    visits = _rows(con, "visit")
    observations = _rows(con, "observation")
    measurements = _rows(con, "measurement")
    drugs = _rows(con, "drug_exposure")
    labs = _rows(con, "laboratory")
    assessments = _rows(con, "assessment")
    deaths = _rows(con, "death")
    causes = [
        {"code_system": d["cause_code_system"], "code": d["cause_code"]}
        for d in deaths
        if _has_cause(d)
    ]
    above: set[tuple[str, str, str]] = set()  # (system, ancestor code, code) of ICD codes
    coded_tables = (
        ("Condition", diagnoses),
        ("Procedure", procedures),
        ("Observation", observations),
        ("Measurement", measurements),
        ("Condition", causes),  # a cause of death is a condition concept (OMOP CDM death)
    )
    for domain, coded in coded_tables:
        for r in coded:
            concepts.want(domain, r["code_system"], r["code"])
            for code in _icd_above(r["code_system"], r["code"]):
                concepts.want(domain, r["code_system"], code)
                above.add((r["code_system"], code, r["code"]))
    for o in (*observations, *measurements):
        if o["value_code_system"] and o["value_code"]:
            concepts.want("Meas Value", o["value_code_system"], o["value_code"])
    for v in visits:
        fixed = _visit_concept(v["code_system"], v["code"])
        if fixed is None:
            concepts.want("Visit", v["code_system"], v["code"])
        elif fixed:  # OMOP's own Visit concept: its concept row is written too
            concept_id, name = VISIT_CONCEPTS[v["code"].strip()]
            concepts.want("Visit", "VISIT", v["code"].strip(), name, "Visit", concept_id)
    for e in drugs:
        concepts.want("Drug", e["code_system"], e["code"])
        if e["ingredient"]:
            ingredient = e["ingredient"].lower()
            concepts.want("Drug", "MyositisLocal", ingredient, ingredient, "Ingredient")
    loinc_of = lab_loinc()
    for lab in labs:
        # a row without its LOINC code is coded by its test's (the registry's tests are LOINC
        # tests), so that ``omop+URL`` reads it back; a row without a source value by its value
        lab["loinc"] = lab["loinc"] or loinc_of.get(lab["test"])
        if lab["source_value"] is None:
            lab["source_value"], lab["source_unit"] = lab["value"], lab["unit"]
        if lab["loinc"]:
            concepts.want("Measurement", "LOINC", lab["loinc"], lab["test"])
    extra = sorted(
        {(a["instrument"], a["measure"]) for a in assessments} - set(assessment_concepts)
    )
    for i, key in enumerate(extra):
        assessment_concepts[key] = FIRST_LOCAL_ASSESSMENT + i
    concepts.number()

    tables: dict[str, list[dict[str, Any]]] = {}
    # care_site_id is an integer key in the CDM: the sites, numbered in sorted order, named
    sites = {s: i + 1 for i, s in enumerate(sorted({p["site"] for p in persons if p["site"]}))}
    tables["care_site"] = [
        {"care_site_id": i, "care_site_name": s, "care_site_source_value": s[:50]}
        for s, i in sites.items()
    ]
    tables["person"] = [_person(p, sites) for p in persons]
    periods = sorted(
        observation_periods(con).to_pyarrow().to_pylist(),
        key=lambda o: (o["person_id"], o["start_date"]),
    )
    by_person: dict[int, list[dict[str, Any]]] = {}
    for o in periods:
        by_person.setdefault(o["person_id"], []).append(o)
    tables["observation_period"] = [
        {
            "observation_period_id": i + 1,
            "person_id": o["person_id"],
            "observation_period_start_date": o["start_date"],
            "observation_period_end_date": o["end_date"],
            "period_type_concept_id": _period_type(o["period_type"]),
        }
        for i, o in enumerate(periods)
    ]
    tables["condition_occurrence"] = [
        {
            "condition_occurrence_id": i + 1,
            "person_id": d["person_id"],
            "condition_concept_id": concepts.id(d["code_system"], d["code"]),
            "condition_start_date": d["diagnosis_date"],
            "condition_end_date": d["end_date"],
            "condition_type_concept_id": EHR,
            "condition_source_value": d["code"],
            "condition_source_concept_id": _source_concept_id(d),
        }
        for i, d in enumerate(diagnoses)
    ]
    tables["procedure_occurrence"] = [
        {
            "procedure_occurrence_id": i + 1,
            "person_id": r["person_id"],
            "procedure_concept_id": concepts.id(r["code_system"], r["code"]),
            "procedure_date": r["procedure_date"],
            "procedure_end_date": r["end_date"],
            "procedure_type_concept_id": EHR,
            "procedure_source_value": r["code"],
            "procedure_source_concept_id": _source_concept_id(r),
        }
        for i, r in enumerate(procedures)
    ]
    tables["visit_occurrence"] = [
        {
            "visit_occurrence_id": i + 1,
            "person_id": v["person_id"],
            "visit_concept_id": _visit_concept_id(concepts, v["code_system"], v["code"]),
            "visit_start_date": v["visit_date"],
            # the CDM requires an end: a visit without one ends on its date, as the cohort
            # language ends it
            "visit_end_date": v["end_date"] or v["visit_date"],
            "visit_type_concept_id": EHR,
            "visit_source_value": v["code"],
            "visit_source_concept_id": _source_concept_id(v),
        }
        for i, v in enumerate(visits)
    ]
    tables["drug_exposure"] = [
        {
            "drug_exposure_id": e["exposure_id"],
            "person_id": e["person_id"],
            "drug_concept_id": concepts.id(e["code_system"], e["code"]),
            "drug_exposure_start_date": e["start_date"],
            "drug_exposure_end_date": e["end_date"] or _observed_until(e, by_person),
            "verbatim_end_date": e["end_date"],
            "drug_type_concept_id": EHR,
            "route_concept_id": 0,
            "route_source_value": e["route"],
            "drug_source_value": e["ingredient"],
            "drug_source_concept_id": _source_concept_id(e),
        }
        for e in drugs
    ]
    measurement = [
        {
            "measurement_id": i + 1,
            "person_id": lab["person_id"],
            "measurement_concept_id": concepts.id("LOINC", lab["loinc"]) if lab["loinc"] else 0,
            "measurement_date": lab["result_date"],
            "measurement_type_concept_id": EHR,
            "value_as_number": lab["source_value"],
            "unit_concept_id": 0,
            "unit_source_value": lab["source_unit"],
            "range_high": _in_source_unit(lab),
            "measurement_source_concept_id": 0,
        }
        for i, lab in enumerate(labs)
    ]
    start = len(measurement) + 1
    measurement += [
        {
            "measurement_id": start + i,
            "person_id": a["person_id"],
            "measurement_concept_id": assessment_concepts[(a["instrument"], a["measure"])],
            "measurement_date": a["assessment_date"],
            "measurement_type_concept_id": EHR,
            "value_as_number": a["value"],
            "unit_concept_id": 0,
            "unit_source_value": None,
            "range_high": None,
            "measurement_source_concept_id": 0,
        }
        for i, a in enumerate(assessments)
    ]
    start = len(measurement) + 1
    measurement += [_measurement(m, start + i, concepts) for i, m in enumerate(measurements)]
    tables["measurement"] = measurement
    subtypes = [s for s in _rows(con, "dm_subtype") if s["subtype"] in subtype_concepts]
    tables["observation"] = [
        {
            "observation_id": i + 1,
            "person_id": s["person_id"],
            "observation_concept_id": subtype_concepts[s["subtype"]],
            "observation_date": s["classified_date"],
            "observation_type_concept_id": EHR,
        }
        for i, s in enumerate(subtypes)
    ] + [_observation(o, len(subtypes) + i + 1, concepts) for i, o in enumerate(observations)]
    tables["death"] = [
        {
            "person_id": d["person_id"],
            "death_date": d["death_date"],
            "death_type_concept_id": EHR,
            "cause_concept_id": (
                concepts.id(d["cause_code_system"], d["cause_code"]) if _has_cause(d) else None
            ),
            "cause_source_value": d["cause_code"] if _has_cause(d) else None,
        }
        for d in sorted(deaths, key=lambda d: d["person_id"])
    ]
    tables["concept"] = concepts.rows()
    tables["concept_ancestor"] = _ancestors(concepts, drugs, above)
    # the release dates are the data's last date, not the day of the export: the same
    # registry gives the same files every time
    last = max((o["end_date"] for o in periods), default=None)
    tables["cdm_source"] = [
        {
            "cdm_source_name": "myositis-outcomes export",
            "cdm_source_abbreviation": "myositis",
            "cdm_holder": "myositis-outcomes export",
            "source_release_date": last,
            "cdm_release_date": last,
            "cdm_version": "v5.4",
            "cdm_version_concept_id": CDM_5_4,
            "vocabulary_version": "myositis local",
        },
    ]
    files = [_write(folder / f"{name}.csv", rows, _COLUMNS[name]) for name, rows in tables.items()]
    local = {
        "version": 1,
        "assessments": {
            k: {"instrument": i, "measure": m} for (i, m), k in assessment_concepts.items()
        },
        "subtypes": dict(mapping.subtypes),
        "laboratory": dict(mapping.laboratory),
    }
    mapping_path = folder / MAPPING_FILE
    mapping_path.write_text(yaml.safe_dump(local, sort_keys=True), encoding="utf-8")
    return [*files, mapping_path]


def _refuse_missing(con: BaseBackend) -> None:
    """Stop before writing when a record lacks a value the CDM requires and an export cannot
    invent (:data:`REQUIRED`): the message names the table, the field, how many rows and the
    first of them."""
    problems = []
    for table, column, cdm_field in REQUIRED:
        rows = con.table(table)
        missing = rows[column].isnull()
        if table == "person":  # the year is read from the birth date when there is one
            missing = missing & rows.birth_date.isnull()
        found = rows.filter(missing)
        count = int(found.count().execute())
        if count:
            key = "person_id" if table == "person" else ID_COLUMNS.get(table, "person_id")
            first = sorted(found[key].execute().tolist())[:5]
            problems.append(
                f"{table}: {count} row(s) without {column} ({key} {', '.join(map(str, first))}"
                f"{', ...' if count > len(first) else ''}); the CDM requires {cdm_field}"
            )
    if problems:
        raise MyositisError(
            "cannot export to OMOP: "
            + "; ".join(problems)
            + ". Add the missing values (or remove those rows) in the registry and export "
            "again; nothing was written."
        )


def _visit_concept(system: str, code: str) -> int | None:
    """The ``visit_concept_id`` fixed for a visit's code: OMOP's Visit concept of a ``VISIT``
    code of :data:`VISIT_CONCEPTS` (``IP`` 9201, ...); 0 for a code of a system OMOP has no
    vocabulary for (``ACTCODE``: an HL7 encounter class the registry holds only when it has no
    Visit concept), whose code ``visit_source_value`` keeps; None for any other code, a concept
    of its vocabulary as the export makes for every code (an ``OMOP`` code the concept id)."""
    name = system.strip().upper()
    if name == "VISIT" and code.strip() in VISIT_CONCEPTS:
        return VISIT_CONCEPTS[code.strip()][0]
    if name != "OMOP" and name not in _SYSTEM_VOCABULARY:
        return 0
    return None


def _visit_concept_id(concepts: _Concepts, system: str, code: str) -> int:
    """A visit's ``visit_concept_id``: the one :func:`_visit_concept` fixes, else the concept
    the export made for its code."""
    fixed = _visit_concept(system, code)
    return concepts.id(system, code) if fixed is None else fixed


def _source_concept_id(r: dict[str, Any]) -> int:
    """A row's ``<domain>_source_concept_id``: its source code's concept id where that is an
    OMOP concept id (``source_code_system`` ``OMOP``, as a CDM read live gives a source concept
    outside the registry's code systems, or 0), else 0 ("No matching concept": a source code of
    another code system gets no concept of its own, and a row without one recorded its code
    itself, its ``<domain>_source_value``)."""
    code = r["source_code"]
    return int(code) if r["source_code_system"] == "OMOP" and code and code.isdigit() else 0


def _valued(table: str, r: dict[str, Any], row: int, concepts: _Concepts) -> dict[str, Any]:
    """The columns an ``observation`` or ``measurement`` row (``table``) numbered ``row`` shares,
    from one of the registry's other observations or measurements ``r``: its code's concept,
    typed EHR, the code as ``<table>_source_value``; its number as ``value_as_number``, its
    coded value as ``value_as_concept_id`` (the concept made for it), its unit (UCUM text) as
    ``unit_source_value`` with ``unit_concept_id`` 0 (the registry names no unit concept; none
    without a unit)."""
    coded = bool(r["value_code_system"] and r["value_code"])
    return {
        f"{table}_id": row,
        "person_id": r["person_id"],
        f"{table}_concept_id": concepts.id(r["code_system"], r["code"]),
        f"{table}_date": r[f"{table}_date"],
        f"{table}_type_concept_id": EHR,
        "value_as_number": r["value"],
        "value_as_concept_id": (
            concepts.id(r["value_code_system"], r["value_code"]) if coded else None
        ),
        "unit_concept_id": None if r["unit"] is None else 0,
        "unit_source_value": r["unit"],
        f"{table}_source_value": r["code"],
        f"{table}_source_concept_id": _source_concept_id(r),
    }


def _observation(o: dict[str, Any], row: int, concepts: _Concepts) -> dict[str, Any]:
    """One of the registry's other observations as an ``observation`` row numbered ``row``
    (after the subtypes): :func:`_valued`, and its text as ``value_as_string``. The observation
    view reads each back as it was (``registry/omop/views.py``, ``RegistryViews.observation``)."""
    return _valued("observation", o, row, concepts) | {"value_as_string": o["value_text"]}


def _measurement(m: dict[str, Any], row: int, concepts: _Concepts) -> dict[str, Any]:
    """One of the registry's other measurements as a ``measurement`` row numbered ``row``
    (after the laboratory results and the assessments): :func:`_valued`, and its normal range
    as ``range_low`` and ``range_high`` (in its unit, as the registry holds them: unlike a
    laboratory result's, nothing is converted). The measurement view reads each back as it was
    (``registry/omop/views.py``, ``RegistryViews.measurement``)."""
    return _valued("measurement", m, row, concepts) | {
        "range_low": m["range_low"],
        "range_high": m["range_high"],
    }


def _has_cause(death: dict[str, Any]) -> bool:
    """Whether a death row records its cause (a code system and a code)."""
    return bool(death["cause_code_system"] and death["cause_code"])


def _observed_until(exposure: dict[str, Any], periods: dict[int, list[dict[str, Any]]]) -> Any:
    """The end written for a course without an end date: the end of the person's
    observation period holding its start (the last day its data say it was still running),
    never before the start."""
    start = exposure["start_date"]
    held = periods.get(exposure["person_id"], [])
    ends = [o["end_date"] for o in held if o["start_date"] <= start <= o["end_date"]]
    return max([start, *ends])


def _period_type(kind: str | None) -> int:
    """A period's type concept: the OMOP type it was read with (``omop <id>``), 32882 for a
    period derived from the records (``derived``), else EHR."""
    if kind == DERIVED_PERIOD:
        return DERIVED_FROM_EHR
    number = (kind or "").removeprefix("omop ")
    return int(number) if number != kind and number.isdigit() else EHR


def _person(p: dict[str, Any], sites: dict[str, int]) -> dict[str, Any]:
    birth = p["birth_date"]
    return {
        "person_id": p["person_id"],
        "gender_concept_id": _SEX.get(str(p["sex"] or "").upper(), 0),
        "year_of_birth": birth.year if birth else p["birth_year"],
        "month_of_birth": birth.month if birth else None,
        "day_of_birth": birth.day if birth else None,
        "birth_datetime": birth,
        "race_concept_id": _RACE.get(p["race"], 0),
        "ethnicity_concept_id": _ETHNICITY.get(p["ethnicity"], 0),
        "care_site_id": sites.get(p["site"]),
        "person_source_value": p["source_id"],
        "gender_source_value": p["sex"],
        "race_source_value": p["race"],
        "ethnicity_source_value": p["ethnicity"],
    }


def _in_source_unit(lab: dict[str, Any]) -> float | None:
    """The ULN in the unit of the source value (the views convert it back)."""
    if lab["uln"] is None or not lab["value"] or lab["source_value"] is None:
        return lab["uln"]
    factor = lab["value"] / lab["source_value"] if lab["source_value"] else 1.0
    return float(lab["uln"] / factor)


def _icd_above(system: str, code: str) -> list[str]:
    """The ICD codes above ``code`` by the cohort language's rule (an ICD item with
    descendants matches every code that starts with it, undotted;
    :mod:`myositis.cohort.events`): each prefix from the category up, in the canonical
    dotted form (``M33``, ``M33.1`` and ``M33.10`` above ``M3310``). None for other systems
    and for a code that is not ICD. Written to ``concept_ancestor``, so the same item finds
    the same rows in the export read as a CDM, where descendants come from the vocabulary."""
    icd = system.strip().upper()
    if icd not in ICD_SYSTEMS:
        return []
    try:
        canonical = normalise_icd(code, system=icd)
    except InvalidInputError:
        return []
    bare = canonical.replace(".", "")
    head = len(canonical.split(".")[0])
    found = {normalise_icd(bare[:n], system=icd) for n in range(head, len(bare) + 1)}
    return sorted(found - {code})


def _ancestors(
    concepts: _Concepts, drugs: Iterable[dict[str, Any]], above: Iterable[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    """Each concept its own ancestor; each drug's ingredient above it; the ICD codes
    above each diagnosis or procedure code (:func:`_icd_above`)."""
    pairs: set[tuple[int, int]] = set()
    for key in concepts.ids:
        pairs.add((concepts.ids[key], concepts.ids[key]))
    for e in drugs:
        if e["ingredient"]:
            ingredient = concepts.id("MyositisLocal", e["ingredient"].lower(), "Ingredient")
            pairs.add((ingredient, concepts.id(e["code_system"], e["code"])))
    for system, ancestor, code in above:
        pairs.add((concepts.id(system, ancestor), concepts.id(system, code)))
    return [
        {
            "ancestor_concept_id": a,
            "descendant_concept_id": d,
            "min_levels_of_separation": 0 if a == d else 1,
            "max_levels_of_separation": 0 if a == d else 1,
        }
        for a, d in sorted(pairs)
    ]


_COLUMNS: Final[dict[str, dict[str, pa.DataType]]] = {
    "person": {
        "person_id": pa.int64(),
        "gender_concept_id": pa.int64(),
        "year_of_birth": pa.int32(),
        "month_of_birth": pa.int32(),
        "day_of_birth": pa.int32(),
        "birth_datetime": pa.date32(),
        "race_concept_id": pa.int64(),
        "ethnicity_concept_id": pa.int64(),
        "care_site_id": pa.int64(),
        "person_source_value": pa.string(),
        "gender_source_value": pa.string(),
        "race_source_value": pa.string(),
        "ethnicity_source_value": pa.string(),
    },
    "care_site": {
        "care_site_id": pa.int64(),
        "care_site_name": pa.string(),
        "care_site_source_value": pa.string(),
    },
    "observation_period": {
        "observation_period_id": pa.int64(),
        "person_id": pa.int64(),
        "observation_period_start_date": pa.date32(),
        "observation_period_end_date": pa.date32(),
        "period_type_concept_id": pa.int64(),
    },
    "condition_occurrence": {
        "condition_occurrence_id": pa.int64(),
        "person_id": pa.int64(),
        "condition_concept_id": pa.int64(),
        "condition_start_date": pa.date32(),
        "condition_end_date": pa.date32(),
        "condition_type_concept_id": pa.int64(),
        "condition_source_value": pa.string(),
        "condition_source_concept_id": pa.int64(),
    },
    "procedure_occurrence": {
        "procedure_occurrence_id": pa.int64(),
        "person_id": pa.int64(),
        "procedure_concept_id": pa.int64(),
        "procedure_date": pa.date32(),
        "procedure_end_date": pa.date32(),
        "procedure_type_concept_id": pa.int64(),
        "procedure_source_value": pa.string(),
        "procedure_source_concept_id": pa.int64(),
    },
    "visit_occurrence": {
        "visit_occurrence_id": pa.int64(),
        "person_id": pa.int64(),
        "visit_concept_id": pa.int64(),
        "visit_start_date": pa.date32(),
        "visit_end_date": pa.date32(),
        "visit_type_concept_id": pa.int64(),
        "visit_source_value": pa.string(),
        "visit_source_concept_id": pa.int64(),
    },
    "drug_exposure": {
        "drug_exposure_id": pa.int64(),
        "person_id": pa.int64(),
        "drug_concept_id": pa.int64(),
        "drug_exposure_start_date": pa.date32(),
        "drug_exposure_end_date": pa.date32(),
        "verbatim_end_date": pa.date32(),
        "drug_type_concept_id": pa.int64(),
        "route_concept_id": pa.int64(),
        "route_source_value": pa.string(),
        "drug_source_value": pa.string(),
        "drug_source_concept_id": pa.int64(),
    },
    "measurement": {
        "measurement_id": pa.int64(),
        "person_id": pa.int64(),
        "measurement_concept_id": pa.int64(),
        "measurement_date": pa.date32(),
        "measurement_type_concept_id": pa.int64(),
        "value_as_number": pa.float64(),
        "value_as_concept_id": pa.int64(),
        "unit_concept_id": pa.int64(),
        "unit_source_value": pa.string(),
        "range_low": pa.float64(),
        "range_high": pa.float64(),
        "measurement_source_value": pa.string(),
        "measurement_source_concept_id": pa.int64(),
    },
    "observation": {
        "observation_id": pa.int64(),
        "person_id": pa.int64(),
        "observation_concept_id": pa.int64(),
        "observation_date": pa.date32(),
        "observation_type_concept_id": pa.int64(),
        "value_as_number": pa.float64(),
        "value_as_string": pa.string(),
        "value_as_concept_id": pa.int64(),
        "unit_concept_id": pa.int64(),
        "unit_source_value": pa.string(),
        "observation_source_value": pa.string(),
        "observation_source_concept_id": pa.int64(),
    },
    "death": {
        "person_id": pa.int64(),
        "death_date": pa.date32(),
        "death_datetime": pa.date32(),
        "death_type_concept_id": pa.int64(),
        "cause_concept_id": pa.int64(),
        "cause_source_value": pa.string(),
        "cause_source_concept_id": pa.int64(),
    },
    "concept": {
        "concept_id": pa.int64(),
        "concept_name": pa.string(),
        "domain_id": pa.string(),
        "vocabulary_id": pa.string(),
        "concept_class_id": pa.string(),
        "standard_concept": pa.string(),
        "concept_code": pa.string(),
        "valid_start_date": pa.string(),
        "valid_end_date": pa.string(),
        "invalid_reason": pa.string(),
    },
    "concept_ancestor": {
        "ancestor_concept_id": pa.int64(),
        "descendant_concept_id": pa.int64(),
        "min_levels_of_separation": pa.int32(),
        "max_levels_of_separation": pa.int32(),
    },
    "cdm_source": {
        "cdm_source_name": pa.string(),
        "cdm_source_abbreviation": pa.string(),
        "cdm_holder": pa.string(),
        "source_release_date": pa.date32(),
        "cdm_release_date": pa.date32(),
        "cdm_version": pa.string(),
        "cdm_version_concept_id": pa.int64(),
        "vocabulary_version": pa.string(),
    },
}

#: The OMOP tables an export writes.
OMOP_TABLES: Final = tuple(_COLUMNS)


def _write(path: Path, rows: list[dict[str, Any]], columns: dict[str, pa.DataType]) -> Path:
    schema = pa.schema(list(columns.items()))
    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=schema)
    pacsv.write_csv(table, path)
    return path


__all__ = ["FIRST_CONCEPT", "MAPPING_FILE", "OMOP_TABLES", "export"]
