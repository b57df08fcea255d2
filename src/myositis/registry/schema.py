"""The registry data model: one relational schema, the contract between sources and studies.

Every importer (``sources``) and the synthetic generator write these tables; every study
(``cohort``, ``analysis``) reads only these tables, through Ibis, so the same study code runs
on DuckDB (the embedded default), PostgreSQL and Spark. ``docs/data-model.md`` documents each
table and column for users.

Conventions: ids are BIGINT; dates are DATE (day granularity); codes are strings with their
code system named beside them; nothing is inferred from column order.

Version 2 adds what real sources need: a source identifier per person (``person.source_id``),
provenance on every data row (``PROVENANCE_COLUMNS``, with the ``import_log`` table), an
administration id that sources fill (``assessment.visit_id``), observation periods, laboratory
values in one canonical unit per test with the source value and unit kept, and several races
per person (``person_race``). Version 3 adds the end of a diagnosis
(``diagnosis.end_date``: when the condition resolved, as a source such as OMOP's
``condition_end_date`` or FHIR's ``Condition.abatementDateTime`` records it; null when it does
not) and procedures (``procedure``: a muscle biopsy, an EMG, an MRI, as OMOP's
``procedure_occurrence`` or FHIR's ``Procedure`` records them). Version 4 (``SCHEMA_VERSION``
"4") adds visits (``visit``: a hospital admission, a clinic or emergency visit, as OMOP's
``visit_occurrence`` or FHIR's ``Encounter`` records them, coded by OMOP's Visit vocabulary)
and other coded observations (``observation``: a history of cancer, smoking, an allergy, as
OMOP's ``observation`` or FHIR's ``Observation`` records them, with a number, a coded value or
a text) and measurements other than the registry's laboratory tests (``measurement``: a body
weight, a blood pressure, a creatinine, a test result given as a code, as OMOP's
``measurement`` or FHIR's laboratory and vital-sign ``Observation`` records them) and
deaths (``death``: at most one per person, its date and cause, as OMOP's ``death`` table or
FHIR's ``Patient.deceasedDateTime`` records them).
Version 5 (``SCHEMA_VERSION`` "5") keeps the code a source recorded beside the code it was
mapped to: ``diagnosis``, ``procedure``, ``visit``, ``observation``, ``measurement`` and
``drug_exposure`` get ``source_code_system`` and ``source_code`` (``SOURCE_CODE_COLUMNS``,
right after ``code``), so a cohort can select rows by the code the hospital recorded, as an
ATLAS ``ConditionSourceConcept`` criterion selects ``condition_source_concept_id`` (an ICD-10
code mapped to a standard SNOMED concept). The rule for readers: a row's source code is
(``source_code_system``, ``source_code``) where ``source_code_system`` is not null, else the
row's own (``code_system``, ``code``). An OMOP CDM read live fills them on every row (the
``*_source_concept_id``; ``OMOP`` ``0``, OMOP's "No matching concept", where the CDM gives 0
or none: :mod:`myositis.registry.omop.views`); a source that records the code itself (FHIR,
REDCap, spreadsheets, the synthetic generator) leaves both null.
A registry of versions 1 to 4 is migrated by ``myositis registry migrate``
(:mod:`myositis.registry.migrate`).
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.schema as sch

#: Schema version written to ``registry_metadata``; bump on any change of the tables below.
SCHEMA_VERSION: Final = "5"

#: Older schema versions that ``myositis registry migrate`` brings to ``SCHEMA_VERSION``.
MIGRATABLE: Final = ("1", "2", "3", "4")

#: DM subtypes (Bohan and Peter / Sontheimer clinical classification as used by Min 2022).
DM_SUBTYPES: Final = (
    "amyopathic",
    "hypomyopathic",
    "classic_active_myositis",
    "classic_postmyopathic",
    "juvenile",
    "juvenile_postmyopathic",
)

#: Code systems the registry accepts in ``diagnosis``, ``procedure``, ``visit``,
#: ``observation`` and ``measurement`` (their code and their value's), ``drug_exposure`` and
#: ``death`` (its cause).
CODE_SYSTEMS: Final = (
    "ICD10CM",
    "ICD9CM",
    "SNOMED",
    "OMOP",
    "RXNORM",
    "ATC",
    "LOINC",
    "LOCAL",
    # procedure vocabularies (version 3): CPT-4, HCPCS, ICD-10-PCS
    "CPT4",
    "HCPCS",
    "ICD10PCS",
    # visit vocabularies (version 4): OMOP's Visit vocabulary (IP inpatient, OP outpatient, ER
    # emergency room, ERIP emergency room and inpatient, ...) and HL7 v3 ActCode encounter
    # classes (FHIR Encounter.class) that have no Visit concept
    "VISIT",
    "ACTCODE",
)

#: ``person.sex`` codes.
SEXES: Final = ("F", "M", "U")

#: ``drug_exposure.formulation`` codes (immediate release, extended release, injection,
#: infusion, topical, other).
FORMULATIONS: Final = ("IR", "ER", "INJ", "INF", "TOP", "OTHER")

#: ``assessment.instrument`` names; the six IMACS core set measures are ``pga``, ``ptga``,
#: ``mmt8``, ``haq`` (``chaq`` for children), ``ema`` and the muscle enzymes in ``laboratory``.
INSTRUMENTS: Final = ("cdasi", "pga", "ptga", "ema", "mmt8", "haq", "chaq", "cmas", "pruritus_nrs")

#: Provenance of a stored row (version 2), on every data table that a source fills row by row:
#: ``import_id`` (the ``import_log`` row of the import that stored this version of the row),
#: ``source_record`` (the record's identity in its source: FHIR ``Condition/123``, a REDCap
#: record/event/instance, a CSV record key; the key of idempotent re-imports) and
#: ``source_location`` (where it was read: ``laboratory.csv:12``, a bundle entry). They say
#: where a row came from, not what it holds: the data fingerprint leaves them out, so the same
#: rows imported at another time, from another file or in another order fingerprint the same.
PROVENANCE_COLUMNS: Final = ("import_id", "source_record", "source_location")
_PROVENANCE: Final = {
    "import_id": "int64",
    "source_record": "string",
    "source_location": "string",
}

#: Tables about the registry itself rather than about persons (not in the data fingerprint).
REGISTRY_TABLES: Final = ("import_log", "registry_metadata")

#: The source code of a coded row (version 5), right after its ``code``: the code the source
#: recorded, where the row's ``code_system``/``code`` is a mapping of it (an OMOP
#: ``*_source_concept_id``); both null where the source recorded the code itself. A row's
#: source code is (``source_code_system``, ``source_code``) where ``source_code_system`` is
#: not null, else its own (``code_system``, ``code``).
SOURCE_CODE_COLUMNS: Final = ("source_code_system", "source_code")
_SOURCE_CODE: Final = {"source_code_system": "string", "source_code": "string"}
#: The tables whose rows carry a source code.
SOURCE_CODED_TABLES: Final = (
    "diagnosis",
    "procedure",
    "visit",
    "observation",
    "measurement",
    "drug_exposure",
)

#: What data model versions 3 to 5 added to version 2: columns of its tables, and tables. A
#: registry migrated from an earlier version holds them empty, the data fingerprint counts them
#: only where they hold values (:mod:`myositis.registry.fingerprint`), and a folder registry may
#: leave them out.
ADDED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    table: (("end_date",) if table == "diagnosis" else ()) + SOURCE_CODE_COLUMNS
    for table in SOURCE_CODED_TABLES
}
ADDED_TABLES: Final = ("procedure", "visit", "observation", "measurement", "death")

#: Tables a CSV/Parquet folder registry may leave out (absent = an empty table).
OPTIONAL_FOLDER_TABLES: Final = ("observation_period", "person_race", "import_log", *ADDED_TABLES)
#: Columns of one table its folder file may leave out (absent = null), besides the provenance
#: columns and the added ones (``ADDED_COLUMNS``) every table's may: a procedure's end, a
#: visit's end and id, an observation's or a measurement's values, a death's cause.
_OPTIONAL_FOLDER_COLUMNS: Final = {
    "procedure": ("end_date",),
    "visit": ("visit_id", "end_date"),
    "observation": ("value", "unit", "value_code_system", "value_code", "value_text"),
    "measurement": ("value", "unit", "range_low", "range_high", "value_code_system", "value_code"),
    "death": ("cause_code_system", "cause_code"),
}


def optional_folder_columns(table: str) -> tuple[str, ...]:
    """The columns a folder registry's file of ``table`` may leave out (absent = null)."""
    return (
        PROVENANCE_COLUMNS + ADDED_COLUMNS.get(table, ()) + _OPTIONAL_FOLDER_COLUMNS.get(table, ())
    )


#: Registry-wide integer ids that writers assign (a source's own id is kept when it is free).
ID_COLUMNS: Final = {
    "person": "person_id",
    "drug_exposure": "exposure_id",
    "assessment": "assessment_id",
}

#: Import identity: the columns that identify a record when its source gives no record id of
#: its own (spreadsheets), besides the person. A re-import matches stored rows on these, so the
#: same record twice is stored once and a changed non-key value updates the row.
IMPORT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "person": ("site", "source_id"),
    "diagnosis": ("code_system", "code", "diagnosis_date"),
    "procedure": ("code_system", "code", "procedure_date"),
    "visit": ("visit_id", "code_system", "code", "visit_date"),
    "observation": ("code_system", "code", "observation_date"),
    "measurement": ("code_system", "code", "measurement_date"),
    "dm_subtype": ("classified_date",),
    "drug_exposure": ("ingredient", "start_date", "route"),
    "assessment": ("instrument", "assessment_date", "visit_id", "measure"),
    "laboratory": ("test", "result_date"),
    "adverse_event": ("term", "onset_date"),
    # a person dies once: the person alone names the record, so a changed date updates it
    "death": (),
    "observation_period": ("start_date", "period_type"),
    "person_race": ("race",),
}

#: Person-level tables without provenance: an import that carries rows of one of them for a
#: person replaces that person's rows of the table (a changed race or period replaces the old).
PERSON_DETAIL_TABLES: Final = ("person_race", "observation_period")

#: ``observation_period.period_type`` of a period derived by :mod:`myositis.registry.observation`.
DERIVED_PERIOD: Final = "derived"

#: ``person.race`` of a person with several recorded races (OMB reporting category); every
#: value is in ``person_race``.
SEVERAL_RACES: Final = "More than one race"

# Every coded row of diagnosis, procedure, visit, observation, measurement and drug_exposure
# carries, right after its code, the code its source recorded where its code is a mapping of
# it (version 5: source_code_system, source_code; SOURCE_CODE_COLUMNS), else null.
TABLES: Final[dict[str, sch.Schema]] = {
    # One row per person. birth_date may be null when only birth_year is known. source_id is
    # the person's identifier in the source (FHIR Patient.id, an MRN, a REDCap record_id such
    # as '12-3'); (site, source_id) identifies a person across imports. race is one value (the
    # OMB category, SEVERAL_RACES when several are recorded); person_race holds every value.
    "person": ibis.schema(
        {
            "person_id": "int64",
            "source_id": "string",
            "site": "string",
            "sex": "string",  # 'F', 'M' or 'U'
            "birth_date": "date",
            "birth_year": "int32",
            "race": "string",
            "ethnicity": "string",
            **_PROVENANCE,
        }
    ),
    # Every race recorded for a person, one row each (a person may have several).
    "person_race": ibis.schema({"person_id": "int64", "race": "string"}),
    # Every coded diagnosis, as recorded (dotted or undotted ICD codes are both accepted).
    # end_date (version 3): when the condition resolved, if the source says; null otherwise
    # (a diagnosis event then ends on its date, myositis.cohort.events).
    "diagnosis": ibis.schema(
        {
            "person_id": "int64",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "diagnosis_date": "date",
            "end_date": "date",
            **_PROVENANCE,
        }
    ),
    # Every coded procedure, as recorded (version 3): a muscle biopsy, an EMG, an MRI, an
    # infusion. end_date: its last day where the source gives one; null otherwise (the
    # procedure event then ends on its date).
    "procedure": ibis.schema(
        {
            "person_id": "int64",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "procedure_date": "date",
            "end_date": "date",
            **_PROVENANCE,
        }
    ),
    # Every visit, as recorded (version 4): a hospital admission, a clinic visit, an emergency
    # room visit. code_system VISIT codes it by OMOP's Visit vocabulary (IP, OP, ER, ERIP, ...);
    # visit_id is the source's own id of the visit (an assessment's visit_id names the same
    # visit); end_date its last day (the discharge), null where the source gives none (the
    # visit event then ends on its date).
    "visit": ibis.schema(
        {
            "person_id": "int64",
            "visit_id": "string",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "visit_date": "date",
            "end_date": "date",
            **_PROVENANCE,
        }
    ),
    # Every other coded observation, as recorded (version 4): a history of cancer, smoking, an
    # allergy, a family history; what OMOP's observation table holds. Its value, where it has
    # one: a number (value, in unit), a code (value_code_system, value_code: SNOMED 'Current
    # smoker') or a text. Instrument scores are assessments and laboratory results are
    # laboratory rows, not observations.
    "observation": ibis.schema(
        {
            "person_id": "int64",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "observation_date": "date",
            "value": "float64",
            "unit": "string",
            "value_code_system": "string",
            "value_code": "string",
            "value_text": "string",
            **_PROVENANCE,
        }
    ),
    # Every other measurement, as recorded (version 4): a body weight, a blood pressure, a
    # creatinine, a test reported as a code (SARS-CoV-2 RNA 'Detected'); what OMOP's
    # measurement table holds but for the muscle enzymes, which are laboratory rows (in each
    # test's canonical unit, with the laboratory's upper limit of normal). Its value: a number
    # (value, in unit: UCUM, as the source gave it, not converted) with the normal range the
    # source gave (range_low, range_high, in unit), or a code (value_code_system, value_code).
    "measurement": ibis.schema(
        {
            "person_id": "int64",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "measurement_date": "date",
            "value": "float64",
            "unit": "string",
            "range_low": "float64",
            "range_high": "float64",
            "value_code_system": "string",
            "value_code": "string",
            **_PROVENANCE,
        }
    ),
    # Clinical DM subtype as classified by the treating physician (one of DM_SUBTYPES).
    "dm_subtype": ibis.schema(
        {
            "person_id": "int64",
            "subtype": "string",
            "classified_date": "date",
            **_PROVENANCE,
        }
    ),
    # Every systemic drug exposure: JAK inhibitors and concomitant therapies alike. A dose
    # change starts a new row, so tapering shows as successive rows with lower daily doses.
    # frequency is a code: QD, BID, TID, QID, QW (weekly), Q2W, Q4W, ONCE.
    # formulation: IR (immediate release), ER (extended release), INJ, INF, TOP, OTHER.
    "drug_exposure": ibis.schema(
        {
            "exposure_id": "int64",
            "person_id": "int64",
            "ingredient": "string",
            "code_system": "string",
            "code": "string",
            **_SOURCE_CODE,
            "start_date": "date",
            "end_date": "date",
            "dose": "float64",
            "dose_unit": "string",
            "frequency": "string",
            "formulation": "string",
            "route": "string",
            **_PROVENANCE,
        }
    ),
    # Long format: one row per measured item or derived score of one assessment. instrument is
    # 'cdasi', 'pga', 'ptga', 'ema', 'mmt8', 'haq', 'chaq', 'cmas' or 'pruritus_nrs'; measure is
    # an item column name from docs/instruments (e.g. 'scalp_erythema') or a derived score
    # ('activity', 'damage', 'total', 'score'). assessment_id is one administration of one
    # instrument (registry-wide); visit_id is the source's id of that administration or visit
    # (REDCap record+event+repeat instance, a FHIR Encounter or QuestionnaireResponse id).
    "assessment": ibis.schema(
        {
            "assessment_id": "int64",
            "visit_id": "string",
            "person_id": "int64",
            "assessment_date": "date",
            "instrument": "string",
            "measure": "string",
            "value": "float64",
            **_PROVENANCE,
        }
    ),
    # Laboratory results in the test's canonical UCUM unit (myositis.codes.units), with the
    # reporting laboratory's upper limit of normal in the unit uln_unit (always the canonical
    # unit once stored) and the value and unit as the source gave them.
    "laboratory": ibis.schema(
        {
            "person_id": "int64",
            "test": "string",  # 'ck', 'aldolase', 'ldh', 'alt', 'ast'
            "loinc": "string",
            "result_date": "date",
            "value": "float64",
            "unit": "string",
            "uln": "float64",
            "uln_unit": "string",
            "source_value": "float64",
            "source_unit": "string",
            **_PROVENANCE,
        }
    ),
    # Adverse events; grade is CTCAE 1-5; suspected_drug names an ingredient.
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
            **_PROVENANCE,
        }
    ),
    # The person's death (version 4), at most one row per person (KEYS), as OMOP's death
    # table holds it (OMOP CDM 5.4: person_id and death_date required; THEMIS convention
    # #155: one death per person): death_date, and its cause where the source gives one
    # (cause_code_system and cause_code: ICD10CM, SNOMED, an OMOP concept id, ...). FHIR
    # records it as Patient.deceasedDateTime. Records dated more than 60 days after it are
    # reported, not refused (myositis.registry.death).
    "death": ibis.schema(
        {
            "person_id": "int64",
            "death_date": "date",
            "cause_code_system": "string",
            "cause_code": "string",
            **_PROVENANCE,
        }
    ),
    # Periods in which the person's records are complete (OMOP observation_period); a source
    # that records none gets a derived one (myositis.registry.observation).
    "observation_period": ibis.schema(
        {"person_id": "int64", "start_date": "date", "end_date": "date", "period_type": "string"}
    ),
    # One row per import that stored something: which source, where, when, and its accounting
    # (records in = stored + rejected; rows added, updated, unchanged). Times are UTC ISO 8601.
    "import_log": ibis.schema(
        {
            "import_id": "int64",
            "source": "string",
            "location": "string",
            "mapping": "string",
            "started_at": "string",
            "finished_at": "string",
            "records_in": "int64",
            "stored": "int64",
            "rejected": "int64",
            "rows_added": "int64",
            "rows_updated": "int64",
            "rows_unchanged": "int64",
            "software": "string",
        }
    ),
    # Key/value facts about the registry itself: schema_version, synthetic ('true' for
    # generated data), generator, seed, created_at.
    "registry_metadata": ibis.schema({"key": "string", "value": "string"}),
}

#: Tables whose rows describe persons (everything but the registry's own tables).
DATA_TABLES: Final = tuple(name for name in TABLES if name not in REGISTRY_TABLES)

#: Columns that identify a person or a source record. The de-identified export removes them
#: (``remove``) or replaces them by salted hashes that keep rows together (``hash``).
IDENTIFIERS: Final[dict[str, dict[str, str]]] = {
    "person": {"source_id": "remove"},
    "assessment": {"visit_id": "hash"},
    "visit": {"visit_id": "hash"},
    # free text (a FHIR valueString, OMOP's value_as_string): it may name anyone
    "observation": {"value_text": "remove"},
}


def has_provenance(table: str) -> bool:
    """Whether a table carries the provenance columns (person-level detail tables do not)."""
    return all(c in TABLES[table].names for c in PROVENANCE_COLUMNS)


# -- What the data model implies about its rows (checked by myositis.registry.integrity) -----
# Every table with a person_id column refers to ``person``, and none of its dates may fall
# before that person's birth: those two rules follow from the columns above, so a table added
# to TABLES is checked without a word here. The rules below name columns and are declared.

#: Keys: the columns whose values name one row; no two rows share them and none is missing.
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "person": ("person_id",),
    "drug_exposure": ("exposure_id",),
    # an assessment_id is one administration: each item or score is recorded once in it
    "assessment": ("assessment_id", "measure"),
    # a person dies once (OMOP CDM death; THEMIS convention #155)
    "death": ("person_id",),
}

#: Identifiers shared by several rows that must agree on the columns named: every row of one
#: assessment administration belongs to one person, one date and one instrument.
SHARED: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "assessment": ("assessment_id", ("person_id", "assessment_date", "instrument")),
}

#: Periods: (start column, end column) pairs; an end may not come before its start.
PERIODS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "diagnosis": (("diagnosis_date", "end_date"),),
    "procedure": (("procedure_date", "end_date"),),
    "visit": (("visit_date", "end_date"),),
    "drug_exposure": (("start_date", "end_date"),),
    "observation_period": (("start_date", "end_date"),),
}

__all__ = [
    "ADDED_COLUMNS",
    "ADDED_TABLES",
    "CODE_SYSTEMS",
    "DATA_TABLES",
    "DERIVED_PERIOD",
    "DM_SUBTYPES",
    "FORMULATIONS",
    "IDENTIFIERS",
    "ID_COLUMNS",
    "IMPORT_KEYS",
    "INSTRUMENTS",
    "KEYS",
    "MIGRATABLE",
    "OPTIONAL_FOLDER_TABLES",
    "PERIODS",
    "PERSON_DETAIL_TABLES",
    "PROVENANCE_COLUMNS",
    "REGISTRY_TABLES",
    "SCHEMA_VERSION",
    "SEVERAL_RACES",
    "SEXES",
    "SHARED",
    "SOURCE_CODED_TABLES",
    "SOURCE_CODE_COLUMNS",
    "TABLES",
    "has_provenance",
    "optional_folder_columns",
]
