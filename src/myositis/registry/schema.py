"""The registry data model: one relational schema, the contract between sources and studies.

Every importer (``sources``) and the synthetic generator write these tables; every study
(``cohort``, ``analysis``) reads only these tables, through Ibis, so the same study code runs
on DuckDB (the embedded default), PostgreSQL and Spark. ``docs/data-model.md`` documents each
table and column for users.

Conventions: ids are BIGINT; dates are DATE (day granularity); codes are strings with their
code system named beside them; nothing is inferred from column order.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.schema as sch

#: Schema version written to ``registry_metadata``; bump on any change of the tables below.
SCHEMA_VERSION: Final = "1"

#: DM subtypes (Bohan and Peter / Sontheimer clinical classification as used by Min 2022).
DM_SUBTYPES: Final = (
    "amyopathic",
    "hypomyopathic",
    "classic_active_myositis",
    "classic_postmyopathic",
    "juvenile",
    "juvenile_postmyopathic",
)

#: Code systems the registry accepts in ``diagnosis.code_system`` and ``drug_exposure.code_system``.
CODE_SYSTEMS: Final = ("ICD10CM", "ICD9CM", "SNOMED", "OMOP", "RXNORM", "ATC", "LOINC", "LOCAL")

#: ``person.sex`` codes.
SEXES: Final = ("F", "M", "U")

#: ``drug_exposure.formulation`` codes (immediate release, extended release, injection,
#: infusion, topical, other).
FORMULATIONS: Final = ("IR", "ER", "INJ", "INF", "TOP", "OTHER")

#: ``assessment.instrument`` names; the six IMACS core set measures are ``pga``, ``ptga``,
#: ``mmt8``, ``haq`` (``chaq`` for children), ``ema`` and the muscle enzymes in ``laboratory``.
INSTRUMENTS: Final = ("cdasi", "pga", "ptga", "ema", "mmt8", "haq", "chaq", "cmas", "pruritus_nrs")

TABLES: Final[dict[str, sch.Schema]] = {
    # One row per person. birth_date may be null when only birth_year is known.
    "person": ibis.schema(
        {
            "person_id": "int64",
            "site": "string",
            "sex": "string",  # 'F', 'M' or 'U'
            "birth_date": "date",
            "birth_year": "int32",
            "race": "string",
            "ethnicity": "string",
        }
    ),
    # Every coded diagnosis, as recorded (dotted or undotted ICD codes are both accepted).
    "diagnosis": ibis.schema(
        {
            "person_id": "int64",
            "code_system": "string",
            "code": "string",
            "diagnosis_date": "date",
        }
    ),
    # Clinical DM subtype as classified by the treating physician (one of DM_SUBTYPES).
    "dm_subtype": ibis.schema(
        {
            "person_id": "int64",
            "subtype": "string",
            "classified_date": "date",
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
            "start_date": "date",
            "end_date": "date",
            "dose": "float64",
            "dose_unit": "string",
            "frequency": "string",
            "formulation": "string",
            "route": "string",
        }
    ),
    # Long format: one row per measured item or derived score of one assessment. instrument is
    # 'cdasi', 'pga', 'ptga', 'ema', 'mmt8', 'haq', 'chaq', 'cmas' or 'pruritus_nrs'; measure is
    # an item column name from docs/instruments (e.g. 'scalp_erythema') or a derived score
    # ('activity', 'damage', 'total', 'score').
    "assessment": ibis.schema(
        {
            "assessment_id": "int64",
            "person_id": "int64",
            "assessment_date": "date",
            "instrument": "string",
            "measure": "string",
            "value": "float64",
        }
    ),
    # Laboratory results with the reporting laboratory's upper limit of normal.
    "laboratory": ibis.schema(
        {
            "person_id": "int64",
            "test": "string",  # 'ck', 'aldolase', 'ldh', 'alt', 'ast', ...
            "loinc": "string",
            "result_date": "date",
            "value": "float64",
            "unit": "string",
            "uln": "float64",
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
        }
    ),
    # Key/value facts about the registry itself: schema_version, synthetic ('true' for
    # generated data), generator, seed, created_at.
    "registry_metadata": ibis.schema({"key": "string", "value": "string"}),
}

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
}

#: Identifiers shared by several rows that must agree on the columns named: every row of one
#: assessment administration belongs to one person, one date and one instrument.
SHARED: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "assessment": ("assessment_id", ("person_id", "assessment_date", "instrument")),
}

#: Periods: (start column, end column) pairs; an end may not come before its start.
PERIODS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "drug_exposure": (("start_date", "end_date"),),
}

__all__ = [
    "CODE_SYSTEMS",
    "DM_SUBTYPES",
    "FORMULATIONS",
    "INSTRUMENTS",
    "KEYS",
    "PERIODS",
    "SCHEMA_VERSION",
    "SEXES",
    "SHARED",
    "TABLES",
]
