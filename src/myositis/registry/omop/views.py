"""The registry tables as Ibis expressions over the tables of an OMOP CDM 5.3 or 5.4 database.

Nothing is copied: each registry table is a view (an Ibis expression) that the engine holding
the CDM evaluates when a study reads it. The rules, table by table (``docs/omop.md`` has the
full table):

- ``person``: ``person`` (sex from ``gender_concept_id`` 8507 M / 8532 F, else U; birth date
  from ``birth_datetime``, else from year, month and day of birth; race and ethnicity from the
  OMB concepts of the Race and Ethnicity vocabularies; ``source_id`` the
  ``person_source_value``, else the ``person_id``; ``site`` the ``care_site_name`` of the
  person's ``care_site``, else the ``care_site_id``);
  ``person_race``: the person's race when it is one of those concepts.
- ``diagnosis``: ``condition_occurrence``, one row each, coded by its concept (the standard
  ``condition_concept_id``, else the ``condition_source_concept_id``) as the ``concept`` table
  gives it: ``vocabulary_id`` as the registry's code system (SNOMED, ICD10CM, ICD9CM, RxNorm ->
  RXNORM, ATC, LOINC, LOCAL, and the procedure vocabularies CPT4, HCPCS, ICD10PCS) and
  ``concept_code`` as the code, so the study's code sets (``codes/``) match; a concept of
  another vocabulary (ICD9Proc, OPCS4, ...), or absent from ``concept``, is code system ``OMOP``
  with the concept id as its code (the code sets also list OMOP concept ids); ``end_date``
  the ``condition_end_date``, where a CDM leaves it empty the day after the start (Circe's
  rule, as for drug exposures below); the source code (registry version 5:
  ``source_code_system``, ``source_code``) is the ``condition_source_concept_id`` coded the
  same way, OMOP's concept 0 "No matching concept" (``OMOP`` ``0``) where it is 0 or null, so
  every row has one and a source-concept criterion never falls back to the standard code
  (Circe: ``condition_source_concept_id IN (codeset)``, circe-be conditionOccurrence.sql). The
  ``procedure``, ``visit``, ``observation``, ``measurement`` and ``drug_exposure`` rows below
  get theirs alike, from their table's ``*_source_concept_id``.
- ``procedure``: ``procedure_occurrence``, one row each, coded as diagnoses; ``end_date`` the
  day after ``procedure_date`` (Circe's rule, whatever ``procedure_end_date`` says); empty
  where the CDM has no such table.
- ``visit``: ``visit_occurrence``, one row each, coded as diagnoses (``visit_concept_id``, else
  ``visit_source_concept_id``; OMOP's Visit vocabulary as code system ``VISIT``: 9201 is
  ``VISIT``/``IP``); ``visit_id`` the ``visit_occurrence_id`` (as ``assessment.visit_id``);
  ``visit_date`` and ``end_date`` the ``visit_start_date`` and ``visit_end_date`` (Circe's
  visitOccurrence.sql reads them as they are); empty where the CDM has no such table.
- ``observation``: ``observation`` rows, one each, but those of a local assessment or subtype
  concept of the mapping (they are assessments and subtypes), coded as diagnoses
  (``observation_concept_id``, else ``observation_source_concept_id``); ``value`` the
  ``value_as_number``, ``unit`` the UCUM code of ``unit_concept_id`` (else
  ``unit_source_value``), ``value_code_system``/``value_code`` the ``value_as_concept_id``
  coded as a diagnosis is, ``value_text`` the ``value_as_string``.
- ``measurement``: ``measurement`` rows, one each, but those of a registry test (``laboratory``)
  or a local assessment concept, coded as diagnoses (``measurement_concept_id``, else
  ``measurement_source_concept_id``); ``value``, ``range_low``, ``range_high`` as recorded,
  ``unit`` as an observation's, ``value_code_system``/``value_code`` the ``value_as_concept_id``
  as an observation's.
- ``drug_exposure``: ``drug_exposure``, one row each; ``exposure_id`` = ``drug_exposure_id``;
  coded as diagnoses; ``ingredient`` the RxNorm Ingredient ancestor of the drug concept through
  ``concept_ancestor`` (lower case; of a combination drug, the first ingredient in alphabetical
  order), else the concept's own name (a vaccine), else ``drug_source_value``; ``route`` the name of
  ``route_concept_id`` in lower case (else ``route_source_value``); ``end_date`` the
  ``drug_exposure_end_date``; where a CDM leaves it empty, ``drug_exposure_start_date`` plus
  ``days_supply``, else plus 1 day (Circe's rule; CDM 5.4 requires the end date, so only
  older or non-conforming data lack it). Dose, frequency and formulation are not derived
  (null).
- ``assessment``: ``measurement`` and ``observation`` rows whose concept is a local assessment
  concept of the mapping (:mod:`myositis.registry.omop.mapping`), with ``value_as_number``. One
  administration = one person, date, instrument and ``visit_occurrence_id``; its
  ``assessment_id`` is twice the smallest ``measurement_id`` of the administration (plus one
  for the smallest ``observation_id`` of one from ``observation``): unique and the same every
  time the CDM is opened. ``visit_id`` is the ``visit_occurrence_id``.
- ``dm_subtype``: ``observation`` and ``condition_occurrence`` rows whose concept is a subtype
  concept of the mapping.
- ``laboratory``: ``measurement`` rows whose concept is the LOINC code of a registry test (CK
  2157-6, ...) or a laboratory concept of the mapping; the value and ``range_high`` (the upper
  limit of normal) converted to the test's canonical unit by the factors of
  ``codes/data/lab_units.csv`` (unit from ``unit_concept_id``'s UCUM code, else
  ``unit_source_value``); a unit without a factor leaves ``value`` and ``unit`` null, the
  source value and unit kept.
- ``observation_period``: ``observation_period``, ``period_type`` ``omop <period type concept>``.
- ``adverse_event``: empty (the CDM has no adverse event table).
- ``death``: ``death``, one row each (the CDM's convention: at most one per person; a second
  breaks the registry's integrity, and an import rejects both); ``death_date`` as recorded
  (``death_datetime``, ``death_type_concept_id`` are not kept); the cause coded as a
  diagnosis (``cause_concept_id``, else ``cause_source_concept_id``), none where both are 0 or
  null (``cause_source_value`` alone is not kept). Empty where the CDM has no such table, or
  one without ``person_id`` and ``death_date`` columns (Eunomia's: its header as a data row,
  columns ``column0`` to ``column6``).
- ``import_log`` is empty; ``registry_metadata`` says ``schema_version`` 5 (the registry's
  ``SCHEMA_VERSION``), ``source`` omop and the CDM version.

Provenance: ``import_id`` is null (nothing was imported), ``source_record`` is
``<cdm table>/<row id>`` and ``source_location`` ``omop <cdm table> <id column> <row id>``.

CDM 5.3 and 5.4 differ in no column these views read (5.4 renamed columns of
``visit_occurrence`` and ``cdm_source``, added ``episode`` and ``episode_event`` and event
links on ``measurement`` and ``observation``); the version is read from ``cdm_source`` (else
from the presence of ``episode``) and recorded in ``registry_metadata``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend
from ibis.common.exceptions import TableNotFound

from myositis.codes.units import lab_loinc, lab_tests, unit_spellings
from myositis.errors import RegistryError
from myositis.registry.omop.mapping import LocalConcepts
from myositis.registry.schema import SCHEMA_VERSION, TABLES

#: The CDM tables the views read; a CDM without one of them is refused.
REQUIRED_CDM_TABLES: Final = (
    "person",
    "observation_period",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
)

#: OMOP ``vocabulary_id`` -> the registry's code system (``schema.CODE_SYSTEMS``).
VOCABULARIES: Final = {
    "SNOMED": "SNOMED",
    "ICD10CM": "ICD10CM",
    "ICD9CM": "ICD9CM",
    "RxNorm": "RXNORM",
    "ATC": "ATC",
    "LOINC": "LOINC",
    "LOCAL": "LOCAL",  # a site's own vocabulary named LOCAL (as the registry's LOCAL codes)
    # procedure vocabularies (registry version 3): OMOP's vocabulary ids are the registry's
    "CPT4": "CPT4",
    "HCPCS": "HCPCS",
    "ICD10PCS": "ICD10PCS",
    "Visit": "VISIT",  # visit concepts (registry version 4): 9201 Inpatient Visit is VISIT IP
}

#: OMOP Gender concepts (OMOP Gender vocabulary).
SEX_CONCEPTS: Final = {8507: "M", 8532: "F"}

#: OMOP Race concepts of the five OMB race categories (OMOP Race vocabulary).
RACE_CONCEPTS: Final = {
    8527: "White",
    8516: "Black or African American",
    8515: "Asian",
    8557: "Native Hawaiian or Other Pacific Islander",
    8657: "American Indian or Alaska Native",
}

#: OMOP Ethnicity concepts (OMOP Ethnicity vocabulary).
ETHNICITY_CONCEPTS: Final = {38003563: "Hispanic or Latino", 38003564: "Not Hispanic or Latino"}

#: Concept classes of RxNorm ingredients.
INGREDIENT_CLASS: Final = "Ingredient"


@dataclass(frozen=True)
class Cdm:
    """The CDM's tables on one backend, with lower-case column names (CDMs are written in
    either case: Eunomia's DuckDB file in upper case, the OHDSI DDL in lower case)."""

    con: BaseBackend
    lookup: Callable[[str], ir.Table]  # the backend's own table lookup

    def has(self, name: str) -> bool:
        try:
            self.lookup(name)
        except TableNotFound:
            return False
        return True

    def table(self, name: str) -> ir.Table:
        t = self.lookup(name)
        renames = {c.lower(): c for c in t.columns if c != c.lower()}
        return t.rename(renames) if renames else t

    def version(self) -> str:
        """``5.4`` or ``5.3``: from ``cdm_source.cdm_version``, else ``5.4`` when the 5.4 table
        ``episode`` exists."""
        if self.has("cdm_source"):
            source = self.table("cdm_source")
            if "cdm_version" in source.columns:
                found = source.select("cdm_version").limit(1).to_pyarrow().to_pylist()
                text = str(found[0]["cdm_version"] or "") if found else ""
                if "5.4" in text:
                    return "5.4"
                if "5.3" in text:
                    return "5.3"
        return "5.4" if self.has("episode") else "5.3"


def _null(dtype: str) -> ir.Value:
    return ibis.null().cast(dtype)


def _days_after(day: ir.DateValue, days: ir.IntegerValue) -> ir.DateValue:
    """The date ``days`` after ``day`` (as a date: the engines make a date plus an interval a
    timestamp, which Ibis types as a date and so would not cast back)."""
    return (day + days.as_interval("D")).cast("timestamp").cast("date")


def _column(t: ir.Table, name: str, dtype: str) -> ir.Value:
    """A CDM column cast to ``dtype``, or null when the CDM lacks it."""
    return t[name].cast(dtype) if name in t.columns else _null(dtype)


def _cases(value: ir.Value, mapping: Mapping[Any, str]) -> ir.StringValue:
    if not mapping:
        return _null("string")
    return ibis.cases(*((value == k, ibis.literal(v)) for k, v in mapping.items()), else_=None)


def _registry_code(
    vocabulary: ir.StringValue, concept_code: ir.StringValue, concept: ir.IntegerValue
) -> tuple[ir.StringValue, ir.StringValue]:
    """A concept's registry (code system, code): its vocabulary's code system
    (``VOCABULARIES``) and ``concept_code``; a concept of another vocabulary, or absent from
    ``concept``, is code system ``OMOP`` with its concept id as the code."""
    registry = _cases(vocabulary, VOCABULARIES)
    code = ibis.ifelse(registry.isnull(), concept.cast("string"), concept_code)
    return registry.fill_null("OMOP"), code


def _provenance(table: str, id_column: str, row_id: ir.Value) -> dict[str, ir.Value]:
    text = row_id.cast("string")
    return {
        "import_id": _null("int64"),
        "source_record": ibis.literal(f"{table}/").concat(text),
        "source_location": ibis.literal(f"omop {table} {id_column} ").concat(text),
    }


def _typed(t: ir.Table, name: str) -> ir.Table:
    """The registry columns of ``name``, in order, cast to their registry types."""
    return t.select(*[t[c].cast(d).name(c) for c, d in TABLES[name].items()])


class RegistryViews:
    """Builds each registry table over a :class:`Cdm` (the rules in the module docstring)."""

    def __init__(self, cdm: Cdm, mapping: LocalConcepts, where: str) -> None:
        missing = [name for name in REQUIRED_CDM_TABLES if not cdm.has(name)]
        if missing:
            raise RegistryError(
                f"{where}: not an OMOP CDM: missing table(s) {', '.join(missing)}; the views "
                f"read {', '.join(REQUIRED_CDM_TABLES)} (and concept, concept_ancestor when "
                "the vocabulary is present)"
            )
        self.cdm = cdm
        self.mapping = mapping
        self.where = where
        self.cdm_version = cdm.version()
        self.concept = self._concepts() if cdm.has("concept") else None
        self.ancestor = cdm.table("concept_ancestor") if cdm.has("concept_ancestor") else None

    def build(self) -> dict[str, ir.Table]:
        """Every registry table (``schema.TABLES``) as an expression."""
        person = self.person()
        views = {
            "person": person,
            "person_race": _typed(
                person.filter(person.race.notnull()).select("person_id", "race"), "person_race"
            ),
            "diagnosis": self.diagnosis(),
            "procedure": self.procedure(),
            "visit": self.visit(),
            "observation": self.observation(),
            "measurement": self.measurement(),
            "dm_subtype": self.dm_subtype(),
            "drug_exposure": self.drug_exposure(),
            "assessment": self.assessment(),
            "laboratory": self.laboratory(),
            "adverse_event": self.empty("adverse_event"),
            "death": self.death(),
            "observation_period": self.observation_period(),
            "import_log": ibis.memtable(
                {c: [] for c in TABLES["import_log"].names}, schema=TABLES["import_log"]
            ),
            "registry_metadata": ibis.memtable(
                {
                    "key": ["schema_version", "source", "cdm_version", "location"],
                    "value": [SCHEMA_VERSION, "omop", self.cdm_version, self.where],
                },
                schema=TABLES["registry_metadata"],
            ),
        }
        assert set(views) == set(TABLES)
        return {name: views[name] for name in TABLES}

    # -- vocabulary ----------------------------------------------------------------------------

    def _concepts(self) -> ir.Table:
        c = self.cdm.table("concept")
        return c.select(
            _cid=c.concept_id.cast("int64"),
            _vocab=c.vocabulary_id.cast("string"),
            _ccode=c.concept_code.cast("string"),
            _cname=c.concept_name.cast("string"),
            _cclass=c.concept_class_id.cast("string"),
        )

    def _coded(self, t: ir.Table, standard: str, source: str) -> ir.Table:
        """``t`` with ``_concept`` (the standard concept, else the source concept) and the
        registry's ``code_system`` and ``code`` for it (module docstring)."""
        std = t[standard].cast("int64")
        src = _column(t, source, "int64")
        t = t.mutate(_concept=ibis.ifelse(std.isnull() | (std == 0), src, std))
        if self.concept is None:
            return t.mutate(
                code_system=ibis.literal("OMOP"),
                code=t._concept.cast("string"),
                _cname=_null("string"),
                _cclass=_null("string"),
            )
        c = self.concept
        joined = t.left_join(c, t._concept == c._cid)
        system, code = _registry_code(joined._vocab, joined._ccode, joined._concept)
        return joined.mutate(code_system=system, code=code).drop("_cid", "_vocab", "_ccode")

    def _code_of(
        self, t: ir.Table, concept: ir.IntegerValue, tag: str
    ) -> tuple[ir.Table, ir.StringValue, ir.StringValue]:
        """``t`` joined to the ``concept`` row of ``concept`` (its columns named ``_<tag>id``,
        ``_<tag>vocab``, ``_<tag>code``), and that concept's registry code system and code
        (:func:`_registry_code`; ``OMOP`` and the id where the CDM has no ``concept`` table)."""
        if self.concept is None:
            return t, ibis.literal("OMOP"), concept.cast("string")
        c = self.concept
        named = c.select(**{f"_{tag}id": c._cid, f"_{tag}vocab": c._vocab, f"_{tag}code": c._ccode})
        t = t.left_join(named, concept == named[f"_{tag}id"])
        system, code = _registry_code(t[f"_{tag}vocab"], t[f"_{tag}code"], concept)
        return t, system, code

    def _source_coded(self, t: ir.Table, source: str) -> ir.Table:
        """``t`` with ``source_code_system`` and ``source_code`` (registry version 5): its
        ``source`` concept id (``<domain>_source_concept_id``) coded as :meth:`_coded` codes a
        concept; where it is 0 or null (or the CDM lacks the column), OMOP's concept 0 "No
        matching concept", ``OMOP`` ``0``: every row of a CDM has a source code, so a
        source-concept criterion matches the CDM's source concept only, never the standard one
        (circe-be procedureOccurrence.sql: ``procedure_source_concept_id IN (codeset)``)."""
        concept = _column(t, source, "int64").fill_null(0)
        t, system, code = self._code_of(t, concept, "s")
        return t.mutate(source_code_system=system, source_code=code)

    def _unit(self, t: ir.Table) -> tuple[ir.Table, ir.StringValue]:
        """``t`` joined to its unit's concept, and its unit: the UCUM code of
        ``unit_concept_id`` (its ``concept_code``), else ``unit_source_value``."""
        unit = _column(t, "unit_source_value", "string")
        if self.concept is None or "unit_concept_id" not in t.columns:
            return t, unit
        units = self.concept.select(_unit_id=self.concept._cid, _ucum=self.concept._ccode)
        t = t.left_join(units, t.unit_concept_id.cast("int64") == units._unit_id)
        unit_id = t.unit_concept_id.cast("int64")
        return t, ibis.ifelse(unit_id.isnull() | (unit_id == 0), unit, t._ucum.coalesce(unit))

    def _ingredients(self) -> ir.Table | None:
        """Drug concept -> its ingredient's name (lower case; the first in alphabetical order
        of a combination), through ``concept_ancestor``."""
        if self.concept is None or self.ancestor is None:
            return None
        c = self.concept.filter(self.concept._cclass == INGREDIENT_CLASS)
        a = self.ancestor
        pairs = a.inner_join(c, a.ancestor_concept_id.cast("int64") == c._cid)
        return pairs.group_by(_drug=pairs.descendant_concept_id.cast("int64")).aggregate(
            _ingredient=pairs._cname.lower().min()
        )

    def _literal_rows(self, schema: dict[str, str], rows: list[tuple[Any, ...]]) -> ir.Table:
        """A small table of literal rows, as portable SQL over the CDM (each row a one-row
        aggregate of ``person``): unlike an Ibis memtable it compiles into the view's own SQL,
        which the data fingerprint runs as raw SQL."""
        p = self.cdm.table("person")
        one = p.aggregate(_n=p.count())
        selects = [
            one.select(
                *[
                    ibis.literal(v, type=t).name(c)
                    for (c, t), v in zip(schema.items(), row, strict=True)
                ]
            )
            for row in rows
        ]
        return ibis.union(*selects)

    # -- tables ----------------------------------------------------------------------------------

    def empty(self, name: str) -> ir.Table:
        """Table ``name`` with no rows (a typed selection that the engine answers at once)."""
        p = self.cdm.table("person")
        return p.filter(ibis.literal(False)).select(
            *[_null(str(d)).name(c) for c, d in TABLES[name].items()]
        )

    def person(self) -> ir.Table:
        p = self.cdm.table("person")
        pid = p.person_id.cast("int64")
        year = _column(p, "year_of_birth", "int32")
        month = _column(p, "month_of_birth", "int32")
        day = _column(p, "day_of_birth", "int32")
        from_parts = ibis.ifelse(
            year.notnull() & month.notnull() & day.notnull(),
            ibis.date(year, month, day),
            _null("date"),
        )
        birth = _column(p, "birth_datetime", "date").coalesce(from_parts)
        gender = _column(p, "gender_concept_id", "int64")
        source_value = _column(p, "person_source_value", "string")
        site = _column(p, "care_site_id", "string")
        names = self._site_names()
        if names is not None and "care_site_id" in p.columns:
            p = p.left_join(names, site == names._site_id)
            site = p._site_name.coalesce(site)
        out = p.select(
            person_id=pid,
            source_id=source_value.coalesce(pid.cast("string")),
            site=site,
            sex=_cases(gender, SEX_CONCEPTS).fill_null("U"),
            birth_date=birth,
            birth_year=year,
            race=_cases(_column(p, "race_concept_id", "int64"), RACE_CONCEPTS),
            ethnicity=_cases(_column(p, "ethnicity_concept_id", "int64"), ETHNICITY_CONCEPTS),
            **_provenance("person", "person_id", pid),
        )
        return _typed(out, "person")

    def _site_names(self) -> ir.Table | None:
        """``care_site``'s names by id (as text): a CDM's ``care_site_id`` is an integer key.
        None without a usable ``care_site`` (Eunomia's is empty, its columns column0 to 5)."""
        if not self.cdm.has("care_site"):
            return None
        cs = self.cdm.table("care_site")
        if not {"care_site_id", "care_site_name"} <= set(cs.columns):
            return None
        return cs.select(
            _site_id=cs.care_site_id.cast("string"), _site_name=cs.care_site_name.cast("string")
        )

    def diagnosis(self) -> ir.Table:
        return self._occurrences(
            "condition", "diagnosis", "condition_start_date", end="condition_end_date"
        )

    def procedure(self) -> ir.Table:
        if not self.cdm.has("procedure_occurrence"):
            return self.empty("procedure")
        # Circe ends every procedure the day after it, whatever procedure_end_date (CDM 5.4)
        return self._occurrences("procedure", "procedure", "procedure_date", end=None)

    def visit(self) -> ir.Table:
        if not self.cdm.has("visit_occurrence"):
            return self.empty("visit")
        t = self._coded(
            self.cdm.table("visit_occurrence"), "visit_concept_id", "visit_source_concept_id"
        )
        t = self._source_coded(t, "visit_source_concept_id")
        row = t.visit_occurrence_id.cast("int64")
        out = t.select(
            person_id=t.person_id.cast("int64"),
            visit_id=row.cast("string"),
            code_system=t.code_system,
            code=t.code,
            source_code_system=t.source_code_system,
            source_code=t.source_code,
            visit_date=t.visit_start_date.cast("date"),
            end_date=_column(t, "visit_end_date", "date"),
            **_provenance("visit_occurrence", "visit_occurrence_id", row),
        )
        return _typed(out, "visit")

    def observation(self) -> ir.Table:
        o = self.cdm.table("observation")
        local = [*self.mapping.assessments, *self.mapping.subtypes]
        if local:
            o = o.filter(~o.observation_concept_id.cast("int64").isin(local))
        o = self._coded(o, "observation_concept_id", "observation_source_concept_id")
        o = self._source_coded(o, "observation_source_concept_id")
        o, value_system, value_code = self._coded_value(o)
        o, unit = self._unit(o)
        row = o.observation_id.cast("int64")
        out = o.select(
            person_id=o.person_id.cast("int64"),
            code_system=o.code_system,
            code=o.code,
            source_code_system=o.source_code_system,
            source_code=o.source_code,
            observation_date=o.observation_date.cast("date"),
            value=_column(o, "value_as_number", "float64"),
            unit=unit,
            value_code_system=value_system,
            value_code=value_code,
            value_text=_column(o, "value_as_string", "string"),
            **_provenance("observation", "observation_id", row),
        )
        return _typed(out, "observation")

    def _coded_value(self, t: ir.Table) -> tuple[ir.Table, ir.StringValue, ir.StringValue]:
        """``t`` joined to its coded value's concept, and that value's registry code system and
        code (``value_as_concept_id`` coded as a row's concept is; null where it is 0 or
        null)."""
        value_concept = _column(t, "value_as_concept_id", "int64")
        if self.concept is None:
            return t, _null("string"), _null("string")
        t, system, code = self._code_of(t, value_concept, "v")
        known = value_concept.notnull() & (value_concept != 0)
        return (
            t,
            ibis.ifelse(known, system, _null("string")),
            ibis.ifelse(known, code, _null("string")),
        )

    def _occurrences(self, kind: str, name: str, start: str, *, end: str | None) -> ir.Table:
        """``<kind>_occurrence`` as registry table ``name``, one row each: coded by its concept
        (standard, else source), from column ``start`` to column ``end``, where empty (or
        ``end`` None) the day after the start, as Circe ends a condition or a procedure
        (circe-be conditionOccurrence.sql, procedureOccurrence.sql)."""
        t = self._coded(
            self.cdm.table(f"{kind}_occurrence"), f"{kind}_concept_id", f"{kind}_source_concept_id"
        )
        t = self._source_coded(t, f"{kind}_source_concept_id")
        row = t[f"{kind}_occurrence_id"].cast("int64")
        day = t[start].cast("date")
        next_day = _days_after(day, ibis.literal(1))
        out = t.select(
            person_id=t.person_id.cast("int64"),
            code_system=t.code_system,
            code=t.code,
            source_code_system=t.source_code_system,
            source_code=t.source_code,
            **{f"{name}_date": day},
            end_date=next_day if end is None else _column(t, end, "date").coalesce(next_day),
            **_provenance(f"{kind}_occurrence", f"{kind}_occurrence_id", row),
        )
        return _typed(out, name)

    def drug_exposure(self) -> ir.Table:
        de = self._coded(
            self.cdm.table("drug_exposure"), "drug_concept_id", "drug_source_concept_id"
        )
        de = self._source_coded(de, "drug_source_concept_id")
        ingredients = self._ingredients()
        # without an ingredient ancestor (a vaccine of CVX, a drug outside RxNorm): the
        # concept's own name, else the source value (the registry requires an ingredient)
        own = de._cname.lower().coalesce(_column(de, "drug_source_value", "string").lower())
        if ingredients is not None:
            de = de.left_join(ingredients, de._concept == ingredients._drug)
            ingredient = de._ingredient.coalesce(own)
        else:
            ingredient = own
        route = _column(de, "route_source_value", "string").lower()
        if self.concept is not None and "route_concept_id" in de.columns:
            routes = self.concept.select(_route_id=self.concept._cid, _route=self.concept._cname)
            known = de.route_concept_id.cast("int64")
            de = de.left_join(routes, (known == routes._route_id) & (known != 0))
            route = de._route.lower().coalesce(route)
        row = de.drug_exposure_id.cast("int64")
        start = de.drug_exposure_start_date.cast("date")
        # no end date: Circe's end, start + days_supply, else start + 1 day (circe-be
        # drugExposure.sql), so an era or exit measured from it is ATLAS's
        supplied = _days_after(start, _column(de, "days_supply", "int64").fill_null(1))
        end = _column(de, "drug_exposure_end_date", "date").coalesce(supplied)
        out = de.select(
            exposure_id=row,
            person_id=de.person_id.cast("int64"),
            ingredient=ingredient,
            code_system=de.code_system,
            code=de.code,
            source_code_system=de.source_code_system,
            source_code=de.source_code,
            start_date=start,
            end_date=end,
            dose=_null("float64"),
            dose_unit=_null("string"),
            frequency=_null("string"),
            formulation=_null("string"),
            route=route,
            **_provenance("drug_exposure", "drug_exposure_id", row),
        )
        return _typed(out, "drug_exposure")

    def _local_rows(self, table: str, concepts: list[int]) -> ir.Table:
        """Rows of a CDM table (``measurement``, ``observation``) whose concept is in
        ``concepts``, as person, date, concept, value, visit, row id."""
        t = self.cdm.table(table)
        concept = t[f"{table}_concept_id"].cast("int64")
        t = t.filter(concept.isin(concepts))
        return t.select(
            _person=t.person_id.cast("int64"),
            _date=t[f"{table}_date"].cast("date"),
            _concept=t[f"{table}_concept_id"].cast("int64"),
            _value=_column(t, "value_as_number", "float64"),
            _visit=_column(t, "visit_occurrence_id", "int64"),
            _row=t[f"{table}_id"].cast("int64"),
        )

    def assessment(self) -> ir.Table:
        local = self.mapping.assessments
        if not local:
            return self.empty("assessment")
        parts = []
        for parity, table in enumerate(("measurement", "observation")):
            t = self._local_rows(table, list(local))
            instrument = _cases(t._concept, {k: v[0] for k, v in local.items()})
            t = t.mutate(
                _instrument=instrument,
                _measure=_cases(t._concept, {k: v[1] for k, v in local.items()}),
            )
            administration = ibis.window(group_by=[t._person, t._date, t._instrument, t._visit])
            out = t.select(
                assessment_id=t._row.min().over(administration) * 2 + parity,
                visit_id=t._visit.cast("string"),
                person_id=t._person,
                assessment_date=t._date,
                instrument=t._instrument,
                measure=t._measure,
                value=t._value,
                **_provenance(table, f"{table}_id", t._row),
            )
            parts.append(_typed(out, "assessment"))
        return parts[0].union(parts[1])

    def dm_subtype(self) -> ir.Table:
        local = self.mapping.subtypes
        if not local:
            return self.empty("dm_subtype")
        parts = []
        for table, prefix in (
            ("observation", "observation"),
            ("condition_occurrence", "condition"),
        ):
            t = self.cdm.table(table)
            concept = t[f"{prefix}_concept_id"].cast("int64")
            t = t.filter(concept.isin(list(local)))
            row = t[f"{table}_id"].cast("int64")
            date = t[f"{prefix}_date" if table == "observation" else "condition_start_date"]
            out = t.select(
                person_id=t.person_id.cast("int64"),
                subtype=_cases(t[f"{prefix}_concept_id"].cast("int64"), local),
                classified_date=date.cast("date"),
                **_provenance(table, f"{table}_id", row),
            )
            parts.append(_typed(out, "dm_subtype"))
        return parts[0].union(parts[1])

    def _measurements(self) -> ir.Table:
        """Every ``measurement`` row but the local assessment concepts' (assessments), coded,
        with ``_test``: the registry test it is a result of (its LOINC code or a laboratory
        concept of the mapping), else null."""
        m = self.cdm.table("measurement")
        if self.mapping.assessments:
            m = m.filter(
                ~m.measurement_concept_id.cast("int64").isin(list(self.mapping.assessments))
            )
        m = self._coded(m, "measurement_concept_id", "measurement_source_concept_id")
        tests = ibis.cases(
            *(
                ((m.code_system == "LOINC") & (m.code == loinc), ibis.literal(test))
                for test, loinc in lab_loinc().items()
            ),
            *((m._concept == k, ibis.literal(v)) for k, v in self.mapping.laboratory.items()),
            else_=None,
        )
        return m.mutate(_test=tests)

    def measurement(self) -> ir.Table:
        m = self._measurements()
        m = m.filter(m._test.isnull())
        m = self._source_coded(m, "measurement_source_concept_id")
        m, value_system, value_code = self._coded_value(m)
        m, unit = self._unit(m)
        row = m.measurement_id.cast("int64")
        out = m.select(
            person_id=m.person_id.cast("int64"),
            code_system=m.code_system,
            code=m.code,
            source_code_system=m.source_code_system,
            source_code=m.source_code,
            measurement_date=m.measurement_date.cast("date"),
            value=_column(m, "value_as_number", "float64"),
            unit=unit,
            range_low=_column(m, "range_low", "float64"),
            range_high=_column(m, "range_high", "float64"),
            value_code_system=value_system,
            value_code=value_code,
            **_provenance("measurement", "measurement_id", row),
        )
        return _typed(out, "measurement")

    def laboratory(self) -> ir.Table:
        loinc_of = lab_loinc()
        m = self._measurements()
        m = m.filter(m._test.notnull())
        m, unit = self._unit(m)
        # the unit factors as a small derived table joined once (a CASE of every test and
        # spelling, referenced by four columns, made PostgreSQL plan gigabytes)
        m = m.mutate(_spelled=unit.replace(" ", "").lower(), _source_unit=unit)
        factors = self._literal_rows(
            {"_ftest": "string", "_fspelling": "string", "_factor": "float64"},
            [
                (test, spelling, f)
                for test in lab_tests()
                for spelling, f in unit_spellings(test).items()
            ],
        )
        m = m.left_join(factors, (m._test == factors._ftest) & (m._spelled == factors._fspelling))
        factor = m._factor
        unit = m._source_unit
        canonical = _cases(m._test, lab_tests())
        value = _column(m, "value_as_number", "float64")
        high = _column(m, "range_high", "float64")
        row = m.measurement_id.cast("int64")
        out = m.select(
            person_id=m.person_id.cast("int64"),
            test=m._test,
            loinc=_cases(m._test, loinc_of),
            result_date=m.measurement_date.cast("date"),
            value=value * factor,
            unit=ibis.ifelse(factor.isnull(), _null("string"), canonical),
            uln=high * factor,
            uln_unit=ibis.ifelse(factor.isnull() | high.isnull(), _null("string"), canonical),
            source_value=value,
            source_unit=unit,
            **_provenance("measurement", "measurement_id", row),
        )
        return _typed(out, "laboratory")

    def death(self) -> ir.Table:
        if not self.cdm.has("death"):
            return self.empty("death")
        d = self.cdm.table("death")
        if not {"person_id", "death_date"} <= set(d.columns):
            return self.empty("death")  # Eunomia's: no usable columns (module docstring)
        system, code = _null("string"), _null("string")
        if "cause_concept_id" in d.columns:
            d = self._coded(d, "cause_concept_id", "cause_source_concept_id")
            known = d._concept.notnull() & (d._concept != 0)
            system = ibis.ifelse(known, d.code_system, _null("string"))
            code = ibis.ifelse(known, d.code, _null("string"))
        pid = d.person_id.cast("int64")
        out = d.select(
            person_id=pid,
            death_date=d.death_date.cast("date"),
            cause_code_system=system,
            cause_code=code,
            **_provenance("death", "person_id", pid),
        )
        return _typed(out, "death")

    def observation_period(self) -> ir.Table:
        op = self.cdm.table("observation_period")
        kind = _column(op, "period_type_concept_id", "string")
        out = op.select(
            person_id=op.person_id.cast("int64"),
            start_date=op.observation_period_start_date.cast("date"),
            end_date=op.observation_period_end_date.cast("date"),
            period_type=ibis.literal("omop ").concat(kind.fill_null("0")),
        )
        return _typed(out, "observation_period")


def registry_views(
    con: BaseBackend, lookup: Callable[[str], ir.Table], mapping: LocalConcepts, where: str
) -> tuple[dict[str, ir.Table], str]:
    """Every registry table over the CDM reachable through ``lookup``, and the CDM version."""
    views = RegistryViews(Cdm(con, lookup), mapping, where)
    return views.build(), views.cdm_version


__all__ = [
    "ETHNICITY_CONCEPTS",
    "RACE_CONCEPTS",
    "REQUIRED_CDM_TABLES",
    "SEX_CONCEPTS",
    "VOCABULARIES",
    "Cdm",
    "RegistryViews",
    "registry_views",
]
