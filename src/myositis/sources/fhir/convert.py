"""One FHIR resource -> registry rows (``docs/fhir.md`` has the full table of rules).

- Patient -> ``person`` (``Patient.id`` is the ``source_id``; ``gender``; ``birthDate``, a
  partial one giving the birth year only; ``managingOrganization.display`` the site),
  ``person_race`` (every OMB category of the US Core race extension) and ``death``
  (``deceasedDateTime``, its day; no cause: a Patient records none). A Patient deceased
  without a day (``deceasedBoolean`` true, a ``deceasedDateTime`` of a year or a month) is
  stored without a death, as a death needs its date, and counted in the warnings
  (``DECEASED_UNDATED``);
- Condition -> ``diagnosis`` (the first coding of a known code system; date ``onsetDateTime``,
  else ``recordedDate``; end ``abatementDateTime``), or ``dm_subtype`` when a coding is a
  subtype of the mapping;
- MedicationRequest / MedicationStatement -> ``drug_exposure`` (the medication's coding, the
  ingredient from its name, dose, ``Timing.repeat`` as a frequency code, route, dates);
- Observation -> ``laboratory`` (a LOINC code of a laboratory test, ``valueQuantity`` with its
  UCUM unit, ``referenceRange.high`` the ULN) or ``assessment`` (a code of the mapping), else
  ``measurement`` (category ``laboratory`` or ``vital-signs``, or a vital-sign LOINC code:
  a number and unit with the reference range, or a code; a blood pressure one row per
  component, :meth:`Converter._measurement`), else ``observation`` (the first coding of a
  known code system; its value: a number and unit, a coded value or a text,
  :func:`observation_value`);
- QuestionnaireResponse -> ``assessment`` rows, one per answered item of a mapped
  Questionnaire; MMT-8 and HAQ scores computed from the items;
- Procedure -> ``procedure`` (the first coding of a known code system: CPT, HCPCS,
  ICD-10-PCS, SNOMED, ...; date ``performedDateTime``, else ``performedPeriod.start``; end
  ``performedPeriod.end``);
- Encounter -> ``visit`` (``class``: ActCode IMP, ACUTE, NONAC -> VISIT IP, AMB -> OP, EMER
  -> ER, any other ActCode kept as ACTCODE; ``period.start`` and ``period.end``; the id is the
  ``visit_id``);
- AdverseEvent -> ``adverse_event``.

An assessment's ``visit_id`` is the id of the Encounter it references (the same text as that
Encounter's ``visit.visit_id``, so the two join), else the QuestionnaireResponse's id;
Medications are looked up from ``medicationReference``. Resources marked ``entered-in-error``
or ``cancelled`` are rejected with that reason, as are a MedicationStatement ``not-taken``, a
Procedure ``not-done`` or ``preparation`` and an Encounter ``planned``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

from myositis.codes.units import lab_loinc, ucum
from myositis.registry.schema import SEVERAL_RACES
from myositis.sources.contract import rejected_status
from myositis.sources.fhir import systems as fs
from myositis.sources.fhir.mapping import Mapping
from myositis.sources.redcap.measures import (
    COMPUTED,
    ITEMS,
    SCORES,
    measure_field,
    out_of_range,
)

Row = tuple[str, dict[str, Any]]

#: Scores the import never takes from a source: studies compute them from the items.
SOURCE_SCORES_IGNORED: Final = frozenset(("cdasi",))

_DIGIT: Final = re.compile(r"\d")

#: A row's key naming the part of its resource it comes from (a component's code), which the
#: reader appends to ``source_record``: one blood pressure gives two rows, each its own record
#: of the writer's duplicate check and update.
PART: Final = "_part"

#: What the reader reports in the warnings besides the resources it skipped (``notes``).
AS_OBSERVATION: Final = (
    "stored as observation rows, not measurements: laboratory or vital-sign Observations "
    "whose value is no exact number or code (a comparator such as <5, a text, a date, a "
    "range, a ratio; the observation row keeps it as text)"
)
RANGE_UNIT: Final = (
    "reference ranges of measurements not stored, or only in part: a bound in another unit "
    "than the value (give the range in the value's unit)"
)
DECEASED_UNDATED: Final = (
    "Patients deceased without a day (deceasedBoolean true, or a deceasedDateTime of a year or "
    "a month only): stored without a death row, as a death needs its date (give "
    "deceasedDateTime as YYYY-MM-DD)"
)
COMPONENT_UNKNOWN: Final = (
    "not imported: values of Observations with components (a component, or the Observation's "
    "own value) whose code has no coding of a known code system; the other components are "
    "stored"
)


class Bad(Exception):
    """A resource that cannot be imported: the field, its value and why."""

    def __init__(self, field: str | None, value: object, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason = reason


class Rejected(Exception):
    """A resource the source marks not to be used (entered in error, cancelled)."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason = reason


class Skipped(Exception):
    """A resource that holds nothing the registry keeps (named in the warnings)."""


class _Unheld(Exception):
    """A value a ``measurement`` row cannot hold (no exact number or code): the field and
    value."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(field)
        self.field = field
        self.value = value


def _loinc_tests() -> dict[str, str]:
    return {loinc: test for test, loinc in lab_loinc().items()}


def ref_id(reference: Any, kind: str, field: str) -> str:
    """The id of a reference to a ``kind`` resource: ``Patient/1``, ``urn:uuid:1``, a full
    URL ending ``Patient/1`` or ``#1`` (contained) all give ``1``."""
    text = getattr(reference, "reference", None) if reference is not None else None
    if not text:
        raise Bad(field, None, f"no reference to a {kind}")
    if text.startswith("urn:uuid:") or text.startswith("urn:oid:"):
        return text.rsplit(":", 1)[1]
    if text.startswith("#"):
        return text[1:]
    parts = text.split("/_history/")[0].rstrip("/").split("/")
    if "?" in text:
        raise Bad(field, text, f"a conditional reference; give the {kind}'s id")
    if len(parts) >= 2 and parts[-2] != kind:
        raise Bad(field, text, f"refers to a {parts[-2]}, not a {kind}")
    return parts[-1]


def _day(value: Any, field: str, *, required: bool = True) -> _dt.date | None:
    if value is None:
        if required:
            raise Bad(field, None, "a date is required")
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise Bad(field, value, "the date is not precise to the day (YYYY-MM-DD needed)")


def _status(value: Any, field: str = "status") -> None:
    code = getattr(value, "code", value)
    if isinstance(code, str):
        reason = rejected_status(code)
        if reason:
            raise Rejected(field, code, reason)


def _codings(concept: Any) -> list[Any]:
    return list(getattr(concept, "coding", None) or []) if concept is not None else []


def _display(concept: Any) -> str | None:
    if concept is None:
        return None
    for coding in _codings(concept):
        if coding.display:
            return str(coding.display)
    return str(concept.text) if getattr(concept, "text", None) else None


def ingredient_name(name: str) -> str:
    """The ingredient of a medication name: the words before the first digit, lower case
    (RxNorm clinical drug names such as ``tofacitinib 5 MG Oral Tablet`` put the ingredient
    first; ``mycophenolate mofetil 500 MG`` gives ``mycophenolate mofetil``)."""
    match = _DIGIT.search(name)
    head = name[: match.start()] if match else name
    return " ".join(head.split()).lower() or name.strip().lower()


def _extension(resource: Any, urls: set[str] | str) -> Any:
    wanted = {urls} if isinstance(urls, str) else urls
    for ext in getattr(resource, "extension", None) or []:
        if ext.url in wanted:
            return ext
    return None


def _identifier(resource: Any, system: str) -> int | None:
    found = getattr(resource, "identifier", None) or []
    for ident in found if isinstance(found, list) else [found]:
        if ident.system == system and ident.value:
            try:
                return int(ident.value)
            except ValueError:
                raise Bad("identifier", ident.value, f"{system} must be a whole number") from None
    return None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class Converter:
    """Turns resources into rows; remembers Medications for later references."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.medications: dict[str, Any] = {}  # Medication id -> its code (CodeableConcept)
        self.tests = _loinc_tests()
        #: Things stored otherwise or in part (``AS_OBSERVATION``, ...), counted for the
        #: reader's warnings.
        self.notes: Counter[str] = Counter()

    def rows(self, resource: Any) -> list[Row]:
        """The rows of one resource (raises Bad, Rejected or Skipped)."""
        kind = resource.get_resource_type()
        method = getattr(self, f"_{kind.lower()}", None)
        if method is None:
            raise Skipped(f"{kind} resources (not held by the registry)")
        rows: list[Row] = method(resource)
        return rows

    def _medication(self, resource: Any) -> list[Row]:
        if resource.id:
            self.medications[resource.id] = resource.code
        raise Skipped("Medication resources (read for medicationReference)")

    # -- Patient -----------------------------------------------------------------------------
    def _patient(self, p: Any) -> list[Row]:
        if not p.id:
            raise Bad("id", None, "a Patient needs an id (it is the person's source id)")
        row: dict[str, Any] = {"source_id": p.id, "person_id": _identifier(p, fs.PERSON_ID)}
        if p.gender and p.gender not in fs.SEXES:
            # fhir.resources types gender as a code, not the required value set: never None
            raise Bad(
                "gender",
                p.gender,
                "not a FHIR administrative gender (female, male, other, unknown); correct it "
                "in the source",
            )
        row["sex"] = fs.SEXES[p.gender] if p.gender else None
        if isinstance(p.birthDate, _dt.date):
            row["birth_date"] = p.birthDate
            row["birth_year"] = p.birthDate.year
        elif isinstance(p.birthDate, str) and p.birthDate[:4].isdigit():
            row["birth_year"] = int(p.birthDate[:4])
        org = p.managingOrganization
        row["site"] = org.display if org is not None and org.display else None
        races = self._categories(p, fs.US_CORE_RACE, fs.RACES)
        row["race"] = SEVERAL_RACES if len(races) > 1 else (races[0] if races else None)
        ethnicities = self._categories(p, fs.US_CORE_ETHNICITY, fs.ETHNICITIES)
        row["ethnicity"] = ethnicities[0] if ethnicities else None
        rows: list[Row] = [("person", row)]
        rows += [("person_race", {"person_source_id": p.id, "race": r}) for r in races]
        died = p.deceasedDateTime
        if isinstance(died, _dt.date):  # a datetime too: its day as the source wrote it
            day = died.date() if isinstance(died, _dt.datetime) else died
            rows.append(("death", {"person_source_id": p.id, "death_date": day}))
        elif died is not None or p.deceasedBoolean:
            self.notes[DECEASED_UNDATED] += 1
        return rows

    @staticmethod
    def _categories(p: Any, url: str, words: dict[str, str]) -> list[str]:
        ext = _extension(p, url)
        if ext is None:
            return []
        found: list[str] = []
        text = None
        for sub in ext.extension or []:
            if sub.url == "ombCategory" and sub.valueCoding is not None:
                c = sub.valueCoding
                word = words.get(c.code or "") or c.display or c.code
                if word and word not in found:
                    found.append(str(word))
            elif sub.url == "text" and sub.valueString:
                text = str(sub.valueString)
        return found or ([text] if text else [])

    # -- Condition ---------------------------------------------------------------------------
    def _condition(self, c: Any) -> list[Row]:
        for coding in _codings(c.verificationStatus):
            _status(coding.code, "verificationStatus")
        person = ref_id(c.subject, "Patient", "subject")
        onset = c.onsetDateTime if c.onsetDateTime is not None else c.recordedDate
        for coding in _codings(c.code):
            subtype = self.mapping.subtype(coding.system, coding.code)
            if subtype:
                date = _day(onset, "onsetDateTime", required=False)
                return [
                    (
                        "dm_subtype",
                        {"person_source_id": person, "subtype": subtype, "classified_date": date},
                    )
                ]
        for coding in _codings(c.code):
            system = fs.SYSTEMS.get(coding.system or "")
            if system and coding.code:
                row = {
                    "person_source_id": person,
                    "code_system": system,
                    "code": coding.code,
                    "diagnosis_date": _day(onset, "onsetDateTime"),
                    # when it resolved: abatementDateTime (an abatement as an age, period or
                    # text gives no day; the end stays unknown)
                    "end_date": _day(c.abatementDateTime, "abatementDateTime", required=False),
                }
                return [("diagnosis", row)]
        raise Skipped("Conditions without a coding of a known code system")

    # -- medications -------------------------------------------------------------------------
    def _medicationrequest(self, m: Any) -> list[Row]:
        _status(m.status)
        dosage = (m.dosageInstruction or [None])[0]
        return self._exposure(m, dosage, m.authoredOn, None)

    def _medicationstatement(self, m: Any) -> list[Row]:
        _status(m.status)
        if m.status == "not-taken":
            raise Rejected("status", "not-taken", "marked not taken in the source: no exposure")
        dosage = (m.dosage or [None])[0]
        start = m.effectiveDateTime
        end = None
        if m.effectivePeriod is not None:
            start, end = m.effectivePeriod.start, m.effectivePeriod.end
        return self._exposure(m, dosage, start, end)

    def _drug(self, m: Any) -> Any:
        if m.medicationCodeableConcept is not None:
            return m.medicationCodeableConcept
        mid = ref_id(m.medicationReference, "Medication", "medicationReference")
        for contained in m.contained or []:
            if contained.id == mid and contained.get_resource_type() == "Medication":
                return contained.code
        if mid not in self.medications:
            raise Bad(
                "medicationReference",
                m.medicationReference.reference,
                "this Medication is not in the data; include the Medication resources",
            )
        return self.medications[mid]

    def _exposure(self, m: Any, dosage: Any, start: Any, end: Any) -> list[Row]:
        person = ref_id(m.subject, "Patient", "subject")
        concept = self._drug(m)
        name = _display(concept)
        code_system = code = None
        for coding in _codings(concept):
            if coding.system in fs.SYSTEMS and coding.code:
                code_system, code = fs.SYSTEMS[coding.system], coding.code
                break
        if name is None:
            raise Bad("medication", code, "the medication has no name (display or text)")
        if code is None:
            code_system, code = "LOCAL", name
        row: dict[str, Any] = {
            "person_source_id": person,
            "exposure_id": _identifier(m, fs.EXPOSURE_ID),
            "ingredient": ingredient_name(name),
            "code_system": code_system,
            "code": code,
        }
        ext = _extension(m, fs.FORMULATION)
        row["formulation"] = ext.valueCode if ext is not None else None
        if dosage is not None:
            self._dosage(dosage, row)
            repeat = dosage.timing.repeat if dosage.timing is not None else None
            bounds = repeat.boundsPeriod if repeat is not None else None
            if bounds is not None:
                start = bounds.start if bounds.start is not None else start
                end = bounds.end if bounds.end is not None else end
        row["start_date"] = _day(start, "start")
        row["end_date"] = _day(end, "end", required=False)
        return [("drug_exposure", row)]

    @staticmethod
    def _dosage(dosage: Any, row: dict[str, Any]) -> None:
        for rate in dosage.doseAndRate or []:
            quantity = rate.doseQuantity
            if quantity is not None and quantity.value is not None:
                row["dose"] = float(quantity.value)
                row["dose_unit"] = quantity.unit or quantity.code
                break
        repeat = dosage.timing.repeat if dosage.timing is not None else None
        if repeat is not None:
            row["frequency"] = fs.frequency_code(
                repeat.frequency, _number(repeat.period), repeat.periodUnit, repeat.count
            )
        route = dosage.route
        if route is not None:
            text = route.text or _display(route)
            row["route"] = text.lower() if text else None

    # -- Procedure ---------------------------------------------------------------------------
    def _procedure(self, p: Any) -> list[Row]:
        _status(p.status)
        # not done, or not yet: no procedure happened (FHIR R4 EventStatus)
        undone = {"not-done": "marked not done", "preparation": "still in preparation"}
        if p.status in undone:
            raise Rejected("status", p.status, f"{undone[p.status]} in the source: no procedure")
        person = ref_id(p.subject, "Patient", "subject")
        for coding in _codings(p.code):
            system = fs.SYSTEMS.get(coding.system or "")
            if system and coding.code:
                start, end = _performed(p)
                row = {
                    "person_source_id": person,
                    "code_system": system,
                    "code": coding.code,
                    "procedure_date": start,
                    "end_date": end,
                }
                return [("procedure", row)]
        raise Skipped("Procedures without a coding of a known code system")

    # -- Encounter ---------------------------------------------------------------------------
    def _encounter(self, e: Any) -> list[Row]:
        """One visit. Status (FHIR R4 EncounterStatus): cancelled and entered-in-error are
        rejected as for every resource, planned too (the visit has not happened); arrived,
        triaged, in-progress, onleave, finished and unknown are visits. An Encounter without a
        class or type of a known code system is no record (counted in the warnings)."""
        _status(e.status)
        if e.status == "planned":
            raise Rejected("status", e.status, "only planned in the source: no visit")
        person = ref_id(e.subject, "Patient", "subject")
        code_system, code = _visit_code(e)
        period = e.period
        if period is None or period.start is None:
            raise Bad(
                "period.start",
                None,
                "a date is required: give period.start, the day of admission or of the visit",
            )
        row = {
            "person_source_id": person,
            "visit_id": _visit_id(e),
            "code_system": code_system,
            "code": code,
            "visit_date": _day(period.start, "period.start"),
            "end_date": _day(period.end, "period.end", required=False),
        }
        return [("visit", row)]

    # -- Observation -------------------------------------------------------------------------
    def _observation(self, o: Any) -> list[Row]:
        """A laboratory result (a LOINC code of a registry test), an assessment (a code of the
        mapping), a measurement (:func:`is_measurement`: :meth:`_measurement`), else one
        ``observation`` row (:func:`_other`). Status (FHIR R4 ObservationStatus): cancelled and
        entered-in-error are rejected, as for every resource."""
        _status(o.status)
        date, field = _effective(o)
        for coding in _codings(o.code):
            if coding.system == fs.LOINC and coding.code in self.tests:
                return [self._laboratory(o, self.tests[coding.code], coding.code, date)]
        for coding in _codings(o.code):
            found = self.mapping.measure(coding.system, coding.code)
            if found:
                instrument, measure = found
                if instrument in SOURCE_SCORES_IGNORED and measure in SCORES[instrument]:
                    raise Skipped(
                        "Observations of CDASI scores (computed from the items, never taken "
                        "from the source)"
                    )
                return [self._score(o, instrument, measure, date)]
        if is_measurement(o):
            return self._measurement(o, date, field)
        return [_other(o, date, field)]

    def _measurement(self, o: Any, date: Any, field: str) -> list[Row]:
        """A laboratory result or vital sign (:func:`is_measurement`) as ``measurement`` rows,
        as OMOP and the HL7 FHIR to OMOP implementation guide put them in OMOP's measurement
        table: coded by the first coding of a known code system, dated as observations are
        (:func:`_effective`), the value by :func:`measurement_value` and the normal range by
        :meth:`_range`.

        - One without components is one row; one whose value the row cannot hold (a
          comparator, a text, a date, a range, a ratio: no exact number or code) is an
          ``observation`` row instead (:func:`_other`, which keeps the value as text), counted
          in the warnings (``AS_OBSERVATION``): nothing of it is lost.
        - One with ``component[]`` (a blood pressure: 85354-9 with systolic 8480-6 and
          diastolic 8462-4, FHIR R4's blood pressure profile) is one row per component, coded
          by the component's code, with the component's value and range (and a row of its own
          code when it has a value of its own). A component whose value the row cannot hold is
          refused, naming it (``component[1].valueString``); one of no known code is left out
          (``COMPONENT_UNKNOWN``).
        - One that only groups others (``hasMember``, no value, no component: a vital-signs
          panel 85353-1, a laboratory panel) is no record: its members are records of their
          own. Sampled data are no record, as for observations."""
        if o.valueSampledData is not None:
            raise Skipped(_SAMPLED)
        if not o.component:
            try:
                value = measurement_value(o)
            except _Unheld:
                row = _other(o, date, field)
                self.notes[AS_OBSERVATION] += 1
                return [row]
            code = _known(o.code)
            if code is None:
                raise Skipped(_UNKNOWN_CODE)
            if not value and o.hasMember:
                raise Skipped(
                    "Observations that only group others (hasMember, no value: a vital-signs "
                    "or laboratory panel; each member is read as an Observation of its own)"
                )
            return [self._measured(o, code, value, o, date, field)]
        parts: list[tuple[tuple[str, str], dict[str, Any], Any, str | None]] = []
        try:
            own = measurement_value(o)
        except _Unheld as unheld:
            raise Bad(
                unheld.field,
                unheld.value,
                "an Observation with components holds numbers or codes: this value is no exact "
                "number or code (give it as an Observation of its own)",
            ) from None
        code = _known(o.code)
        unknown = 0  # values of no known code, counted once the record is stored
        if own and code is not None:
            parts.append((code, own, o, None))
        elif own:
            unknown += 1
        for n, component in enumerate(o.component):
            part = _known(component.code)
            if part is None:
                unknown += 1
                continue
            try:
                value = measurement_value(component)
            except _Unheld as unheld:
                raise Bad(
                    f"component[{n}].{unheld.field}",
                    unheld.value,
                    "a component's value must be an exact number (valueQuantity without a "
                    "comparator, valueInteger) or a code (valueCodeableConcept, valueBoolean): "
                    "the measurement table holds no text; correct the component or give it as "
                    "an Observation of its own",
                ) from None
            parts.append((part, value, component, f"component {part[1]}"))
        if not parts:
            raise Skipped(
                "Observations with components (component[]) of no coding of a known code system"
            )
        rows = [self._measured(o, c, v, source, date, field, part) for c, v, source, part in parts]
        if unknown:
            self.notes[COMPONENT_UNKNOWN] += unknown
        return rows

    def _measured(
        self, o: Any, code: tuple[str, str], value: dict[str, Any], source: Any, date: Any,
        field: str, part: str | None = None,
    ) -> Row:  # fmt: skip
        """One ``measurement`` row of Observation ``o``: ``code``, ``value`` (the columns of
        :func:`measurement_value`) and the range of ``source`` (``o`` or one component);
        ``part`` names the component for the row's ``source_record`` (``PART``)."""
        if date is None:
            raise Bad(
                field,
                None,
                "a date is required: give effectiveDateTime, effectivePeriod.start or issued, "
                "the day it was measured",
            )
        row = {
            "person_source_id": ref_id(o.subject, "Patient", "subject"),
            "code_system": code[0],
            "code": code[1],
            "measurement_date": _day(date, field),
            **value,
            **self._range(source, value.get("unit")),
        }
        if part is not None:
            row[PART] = part
        return ("measurement", row)

    def _range(self, source: Any, unit: str | None) -> dict[str, Any]:
        """``range_low`` and ``range_high`` from ``referenceRange[0]`` ``low`` and ``high``: the
        first range (R4 allows several, each for a population, ``appliesTo`` or ``age``, read
        as alternatives; the row holds one). A bound is kept when it is in the value's unit
        (the same UCUM code or text, compared as ``codes.units.ucum`` writes them) or gives no
        unit (then read in the value's unit); a bound in another unit, or in a unit where the
        value has none, is not stored, counted in the warnings (``RANGE_UNIT``): the row has one
        unit, and no general unit conversion is made. A range of ``text`` only gives no bound."""
        ranges = source.referenceRange or []
        if not ranges:
            return {}
        out: dict[str, Any] = {}
        dropped = False
        for bound, column in ((ranges[0].low, "range_low"), (ranges[0].high, "range_high")):
            if bound is None or bound.value is None:
                continue
            bound_unit = _unit(bound)
            if bound_unit is None or (unit is not None and ucum(bound_unit) == ucum(unit)):
                out[column] = float(bound.value)
            else:
                dropped = True
        if dropped:
            self.notes[RANGE_UNIT] += 1
        return out

    def _laboratory(self, o: Any, test: str, loinc: str, date: Any) -> Row:
        q = o.valueQuantity
        if q is None or q.value is None:
            raise Bad("valueQuantity", None, "a laboratory result needs a valueQuantity")
        unit = _unit(q)
        if not unit:
            raise Bad("valueQuantity.unit", None, "a laboratory result needs its unit")
        row: dict[str, Any] = {
            "person_source_id": ref_id(o.subject, "Patient", "subject"),
            "test": test,
            "loinc": loinc,
            "result_date": _day(date, "effectiveDateTime"),
            "source_value": float(q.value),
            "source_unit": unit,
        }
        for reference in o.referenceRange or []:
            high = reference.high
            if high is not None and high.value is not None:
                row["uln"] = float(high.value)
                row["uln_unit"] = (
                    high.code if high.system == fs.UCUM and high.code else high.unit
                ) or unit
                break
        return ("laboratory", row)

    def _score(self, o: Any, instrument: str, measure: str, date: Any) -> Row:
        if o.valueQuantity is not None and o.valueQuantity.value is not None:
            value: Any = o.valueQuantity.value
        elif o.valueInteger is not None:
            value = o.valueInteger
        else:
            raise Bad("value[x]", None, f"{instrument} {measure}: no valueQuantity or valueInteger")
        self._in_range(instrument, measure, value, "value[x]")
        row = {
            "person_source_id": ref_id(o.subject, "Patient", "subject"),
            "assessment_id": _identifier(o, fs.ASSESSMENT_ID),
            "visit_id": _visit(o.encounter),
            "assessment_date": _day(date, "effectiveDateTime"),
            "instrument": instrument,
            "measure": measure,
            "value": float(value),
        }
        return ("assessment", row)

    @staticmethod
    def _in_range(instrument: str, measure: str, value: Any, field: str) -> None:
        spec = measure_field(instrument, measure)
        if spec is None:
            raise Bad(field, measure, f"is no item or score of {instrument}")
        why = out_of_range(spec, float(value))
        if why:
            raise Bad(field, value, f"{instrument} {measure} {why}")

    # -- QuestionnaireResponse ---------------------------------------------------------------
    def _questionnaireresponse(self, r: Any) -> list[Row]:
        _status(r.status)
        found = self.mapping.questionnaire(r.questionnaire)
        if found is None:
            raise Skipped("QuestionnaireResponses of Questionnaires the mapping does not name")
        instrument, renames = found
        person = ref_id(r.subject, "Patient", "subject")
        date = _day(r.authored, "authored")
        visit = _visit(r.encounter) or r.id
        if visit is None:
            raise Bad("id", None, "a QuestionnaireResponse needs an id or an encounter")
        base = {
            "person_source_id": person,
            "assessment_id": _identifier(r, fs.ASSESSMENT_ID),
            "visit_id": visit,
            "assessment_date": date,
            "instrument": instrument,
        }
        items: dict[str, Any] = {}
        for link, value in _answers(r.item or []):
            measure = renames.get(link, link)
            if (instrument in SOURCE_SCORES_IGNORED and measure in SCORES[instrument]) or (
                instrument in COMPUTED and measure == COMPUTED[instrument][0]
            ):
                continue  # a score in the source: computed from the items instead
            self._in_range(instrument, measure, value, f"item {link}")
            items[measure] = value
        if not items:
            raise Bad("item", None, f"no answered item of {instrument}")
        rows: list[Row] = [
            ("assessment", {**base, "measure": m, "value": float(v)}) for m, v in items.items()
        ]
        if instrument in COMPUTED:
            measure, compute = COMPUTED[instrument]
            values = {k: float(v) for k, v in items.items()}
            score = compute({item: values.get(item) for item in ITEMS[instrument]})
            if score is not None:
                rows.append(("assessment", {**base, "measure": measure, "value": score}))
        return rows

    # -- AdverseEvent ------------------------------------------------------------------------
    def _adverseevent(self, a: Any) -> list[Row]:
        if a.actuality == "potential":
            raise Skipped("AdverseEvents with actuality 'potential' (not events that happened)")
        term = _display(a.event)
        if not term:
            raise Bad("event", None, "an AdverseEvent needs its event (display or text)")
        row: dict[str, Any] = {
            "person_source_id": ref_id(a.subject, "Patient", "subject"),
            "term": term,
            "onset_date": _day(
                a.date if a.date is not None else a.detected, "date", required=False
            ),
        }
        grade = _extension(a, self.mapping.grade_extensions)
        if grade is not None:
            row["grade"] = grade.valueInteger
        for coding in _codings(a.severity):
            if coding.system in self.mapping.grade_systems and coding.code:
                try:
                    row["grade"] = int(coding.code)
                except ValueError:
                    raise Bad("severity", coding.code, "a CTCAE grade is 1 to 5") from None
        if row.get("grade") is not None and not 1 <= row["grade"] <= 5:
            raise Bad("grade", row["grade"], "a CTCAE grade is 1 to 5")
        for coding in _codings(a.seriousness):
            if coding.code in ("serious", "non-serious"):
                row["serious"] = coding.code == "serious"
        for coding in _codings(a.outcome):
            row["outcome"] = coding.code
        for entity in a.suspectEntity or []:
            instance = entity.instance
            if instance is not None and instance.display:
                row["suspected_drug"] = ingredient_name(instance.display)
                break
        stop = _extension(a, fs.DISCONTINUED)
        row["led_to_discontinuation"] = stop.valueBoolean if stop is not None else None
        return [("adverse_event", row)]


def _effective(o: Any) -> tuple[Any, str]:
    """(date, the field it came from) of an Observation: ``effectiveDateTime``, else
    ``effectivePeriod.start``, else ``issued`` (the day it was recorded); (None,
    ``effectiveDateTime``) when it has none of them."""
    if o.effectiveDateTime is not None:
        return o.effectiveDateTime, "effectiveDateTime"
    if o.effectivePeriod is not None and o.effectivePeriod.start is not None:
        return o.effectivePeriod.start, "effectivePeriod.start"
    if o.issued is not None:
        return o.issued, "issued"
    return None, "effectiveDateTime"


def _unit(q: Any) -> str | None:
    """The unit of a Quantity: its ``code`` when the system is UCUM, else ``unit`` (else a
    ``code`` of another system)."""
    unit = q.code if q.system == fs.UCUM and q.code else (q.unit or q.code)
    return str(unit) if unit else None


def _known(concept: Any) -> tuple[str, str] | None:
    """(registry code system, code) of the first coding of a known code system
    (``fs.SYSTEMS``), as Conditions and Procedures choose; None when no coding is of one."""
    for coding in _codings(concept):
        system = fs.SYSTEMS.get(coding.system or "")
        if system and coding.code:
            return system, str(coding.code)
    return None


_UNKNOWN_CODE: Final = (
    "Observations whose code is no laboratory test, mapped measure or coding of a known code system"
)
_SAMPLED: Final = "Observations of sampled data (valueSampledData: a waveform, a series)"


def is_measurement(o: Any) -> bool:
    """Whether an Observation (no registry laboratory test, no mapped measure) is a
    measurement: a ``category`` of ``fs.MEASUREMENT_CATEGORIES`` (``laboratory``,
    ``vital-signs``) in the R4 observation-category code system, or a ``code`` coding that is
    a vital sign of the FHIR R4 vital signs profiles (``fs.VITAL_SIGNS``; sources in
    :mod:`.systems`). OMOP and the HL7 FHIR to OMOP implementation guide put these in OMOP's
    measurement table."""
    for concept in o.category or []:
        for coding in _codings(concept):
            if (
                coding.system == fs.OBSERVATION_CATEGORY
                and coding.code in fs.MEASUREMENT_CATEGORIES
            ):
                return True
    return any(fs.is_vital_sign(c.system, c.code) for c in _codings(o.code))


def measurement_value(x: Any) -> dict[str, Any]:
    """The value columns of a ``measurement`` row from an Observation or one of its components
    (``x``; those it has no value for are left out):

    - ``valueQuantity`` without a comparator: ``value`` its number, ``unit`` its UCUM ``code``,
      else its ``unit`` (:func:`_unit`); the profile's ``OBSERVATION_VALUE`` extension (as
      the export writes a row with a number and a code) adds ``value_code_system`` and
      ``value_code``;
    - ``valueInteger``: ``value``, no unit;
    - ``valueCodeableConcept``: ``value_code_system``, ``value_code`` from its first coding of
      a known code system (its text is not kept: the code is the value);
    - ``valueBoolean``: SNOMED CT Yes 373066001 / No 373067005, as for observations;
    - no value (``dataAbsentReason``): none.

    Raises ``_Unheld`` for a value the row cannot hold: a comparator (``<5``: no exact number),
    a coded value with no coding of a known system, ``valueString``, ``valueDateTime``,
    ``valueTime``, ``valuePeriod``, ``valueRange``, ``valueRatio``, ``valueSampledData``."""
    q = x.valueQuantity
    if q is not None:
        if q.comparator is not None and q.value is not None:
            raise _Unheld("valueQuantity.comparator", f"{q.comparator}{_number_text(q.value)}")
        out: dict[str, Any] = {}
        if q.value is not None:
            out["value"] = float(q.value)
        unit = _unit(q)
        if unit:
            out["unit"] = unit
        ext = _extension(x, fs.OBSERVATION_VALUE)
        if ext is not None and ext.valueCodeableConcept is not None:
            out.update(_value_code(ext.valueCodeableConcept, "extension"))
        return out
    if x.valueInteger is not None:
        return {"value": float(x.valueInteger)}
    if x.valueCodeableConcept is not None:
        return _value_code(x.valueCodeableConcept, "valueCodeableConcept")
    if x.valueBoolean is not None:
        return {"value_code_system": "SNOMED", "value_code": fs.BOOLEAN_CODES[x.valueBoolean]}
    for name in (
        "valueString", "valueDateTime", "valueTime", "valuePeriod", "valueRange", "valueRatio",
        "valueSampledData",
    ):  # fmt: skip
        value = getattr(x, name, None)
        if value is not None:
            shown = value.isoformat() if hasattr(value, "isoformat") else value
            raise _Unheld(name, shown if isinstance(shown, str) else None)
    return {}


def _value_code(concept: Any, field: str) -> dict[str, Any]:
    """``value_code_system`` and ``value_code`` of a coded result: its first coding of a known
    code system; ``_Unheld`` when none is (its text or display is then kept by the
    observation row instead)."""
    code = _known(concept)
    if code is None:
        codings = _codings(concept)
        first = f"{codings[0].system}|{codings[0].code}" if codings else concept.text
        raise _Unheld(field, first)
    return {"value_code_system": code[0], "value_code": code[1]}


def _other(o: Any, date: Any, field: str) -> Row:
    """An Observation that is no laboratory result, assessment or measurement (or a measurement
    whose value a ``measurement`` row cannot hold) as one ``observation`` row:
    coded by the first coding of a known code system, dated by :func:`_effective`, its value
    by :func:`observation_value`. An Observation of components that is no measurement (a
    blood pressure is one: :meth:`Converter._measurement`) or of a sampled series
    (``valueSampledData``) holds values the row cannot, and one whose code has no coding of a
    known system holds nothing a code set can match: such Observations are no records (counted
    in the warnings)."""
    if o.component:
        raise Skipped(
            "Observations with components (component[]) that are no laboratory result or "
            "vital sign (give the category laboratory or vital-signs, or record each "
            "component as an Observation of its own)"
        )
    if o.valueSampledData is not None:
        raise Skipped(_SAMPLED)
    code = _known(o.code)
    if code is None:
        raise Skipped(_UNKNOWN_CODE)
    if date is None:
        raise Bad(
            field,
            None,
            "a date is required: give effectiveDateTime, effectivePeriod.start or issued, "
            "the day it was observed",
        )
    row = {
        "person_source_id": ref_id(o.subject, "Patient", "subject"),
        "code_system": code[0],
        "code": code[1],
        "observation_date": _day(date, field),
        **observation_value(o),
    }
    return ("observation", row)


def observation_value(o: Any) -> dict[str, Any]:
    """The value columns of an ``observation`` row (``value``, ``unit``, ``value_code_system``,
    ``value_code``, ``value_text``; those it has no value for are left out):

    - ``valueQuantity``: its number and unit (:func:`_unit`); a comparator (``<5``) makes it no
      exact number: the comparator and number are the text, the unit kept, no number; the
      profile's ``OBSERVATION_VALUE`` extension adds a coded value or text (as the export
      writes a row that has a number and a code or text);
    - ``valueInteger``: the number, no unit;
    - ``valueCodeableConcept``: :func:`_coded`;
    - ``valueBoolean``: SNOMED CT Yes 373066001 / No 373067005 (``fs.BOOLEAN_CODES``, the codes
      of OMOP's Yes and No value concepts);
    - ``valueString``: the text; ``valueDateTime``, ``valueTime``, ``valuePeriod``,
      ``valueRange``, ``valueRatio``: the text of :func:`_text` (``2021-03-04``, ``10:30:00``,
      ``2021-01-01/2021-02-01``, ``5 mg/L to 10 mg/L``, ``1:160``);
    - no value (``dataAbsentReason``, or an observation its code states, such as a history of
      cancer): none."""
    q = o.valueQuantity
    if q is not None:
        unit = _unit(q)
        out: dict[str, Any] = {}
        if q.comparator is not None and q.value is not None:
            out["value_text"] = f"{q.comparator}{_number_text(q.value)}"
        elif q.value is not None:
            out["value"] = float(q.value)
        if unit:
            out["unit"] = unit
        ext = _extension(o, fs.OBSERVATION_VALUE)
        if ext is not None and ext.valueCodeableConcept is not None:
            out = {**_coded(ext.valueCodeableConcept, "extension"), **out}
        return out
    if o.valueInteger is not None:
        return {"value": float(o.valueInteger)}
    if o.valueCodeableConcept is not None:
        return _coded(o.valueCodeableConcept, "valueCodeableConcept")
    if o.valueBoolean is not None:
        return {"value_code_system": "SNOMED", "value_code": fs.BOOLEAN_CODES[o.valueBoolean]}
    if o.valueString is not None:
        return {"value_text": str(o.valueString)}
    text = _text(o)
    return {"value_text": text} if text is not None else {}


def _coded(concept: Any, field: str) -> dict[str, Any]:
    """A coded value: its first coding of a known code system -> ``value_code_system``,
    ``value_code``, and its ``text`` -> ``value_text``. A concept with no coding of a known
    system keeps its words: the text, else the first coding's display. One with neither is
    refused, naming the coding: nothing of it could be stored."""
    out: dict[str, Any] = {}
    code = _known(concept)
    if code is not None:
        out["value_code_system"], out["value_code"] = code
    if concept.text:
        out["value_text"] = str(concept.text)
    elif code is None:
        text = _display(concept)
        if text is None:
            codings = _codings(concept)
            first = f"{codings[0].system}|{codings[0].code}" if codings else None
            raise Bad(
                field,
                first,
                "a coded value of no known code system and without a text or display: give a "
                "coding of a known code system (SNOMED, LOINC, ...; docs/fhir.md) or the "
                "value's text",
            )
        out["value_text"] = text
    return out


def _text(o: Any) -> str | None:
    """The text of a value the registry holds as words: ``valueDateTime`` and ``valueTime`` in
    ISO 8601 as given (a partial date stays partial), ``valuePeriod`` as an ISO 8601 interval
    (``start/end``, ``..`` for an open side), ``valueRange`` as ``low to high`` (``>=low``,
    ``<=high`` when one side is open), ``valueRatio`` as ``numerator:denominator`` (a titre
    ``1:160``), each quantity with its unit. None for none of these (or an empty one)."""
    if o.valueDateTime is not None:
        return _iso_text(o.valueDateTime)
    if o.valueTime is not None:
        return _iso_text(o.valueTime)
    period = o.valuePeriod
    if period is not None and (period.start is not None or period.end is not None):
        return f"{_iso_text(period.start) or '..'}/{_iso_text(period.end) or '..'}"
    r = o.valueRange
    if r is not None:
        low, high = _quantity_text(r.low), _quantity_text(r.high)
        if low and high:
            return f"{low} to {high}"
        if low or high:
            return f">={low}" if low else f"<={high}"
    ratio = o.valueRatio
    if ratio is not None:
        num, den = _quantity_text(ratio.numerator), _quantity_text(ratio.denominator)
        if num and den:
            return f"{num}:{den}"
    return None


def _iso_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _number_text(value: Any) -> str:
    """A FHIR decimal as written (``Decimal('160')`` -> ``160``, ``1.50`` -> ``1.50``)."""
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _quantity_text(q: Any) -> str | None:
    """``<comparator><number> <unit>`` of a Quantity; None without a number."""
    if q is None or q.value is None:
        return None
    unit = _unit(q)
    text = f"{q.comparator or ''}{_number_text(q.value)}"
    return f"{text} {unit}" if unit else text


def _visit(reference: Any) -> str | None:
    """The visit id of an Encounter reference: the Encounter's id, or the value of a logical
    reference by identifier (an export names a visit id that is no FHIR id so)."""
    if reference is None:
        return None
    if reference.reference:
        return ref_id(reference, "Encounter", "encounter")
    ident = reference.identifier
    return str(ident.value) if ident is not None and ident.value else None


def _visit_code(e: Any) -> tuple[str, str]:
    """(code_system, code) of an Encounter: a ``type`` coding of OMOP's Visit vocabulary first
    (the registry's own code, which an export writes where the class only approximates it:
    ERIP is exported as class EMER); else ``class``, else the first ``type`` coding, of a known
    code system (``fs.SYSTEMS``; an ActCode class mapped by ``fs.visit_code``: AMB -> VISIT
    OP). A class of another system (a site's own, or v3 NullFlavor OTH as an export writes for
    a code with no ActCode class) is passed over as unknown codes are for other resources."""
    types = [c for concept in e.type or [] for c in _codings(concept)]
    for coding in types:
        if coding.system == fs.VISIT_SYSTEM and coding.code:
            return "VISIT", str(coding.code)
    for coding in [e.class_fhir, *types]:
        system = fs.SYSTEMS.get(getattr(coding, "system", None) or "")
        if system and coding.code:
            return fs.visit_code(system, str(coding.code))
    raise Skipped("Encounters whose class and type have no coding of a known code system")


def _visit_id(e: Any) -> str | None:
    """The visit id of an Encounter: the value of its identifier of the project's visit-id
    system (an export writes one; it differs from the id only where the visit id is no valid
    FHIR id or is another Encounter's id), else its id, the text an assessment's reference to
    it gives."""
    for ident in e.identifier or []:
        if ident.system == fs.VISIT_ID and ident.value:
            return str(ident.value)
    return str(e.id) if e.id else None


def _performed(p: Any) -> tuple[_dt.date | None, _dt.date | None]:
    """(first day, last day) of a Procedure: ``performedDateTime`` (no last day), else
    ``performedPeriod`` start and end; an age, range or text gives no day and is refused."""
    if p.performedDateTime is not None:
        return _day(p.performedDateTime, "performedDateTime"), None
    period = p.performedPeriod
    if period is not None:
        start = _day(period.start, "performedPeriod.start")
        return start, _day(period.end, "performedPeriod.end", required=False)
    for name in ("performedString", "performedAge", "performedRange"):
        if getattr(p, name) is not None:
            raise Bad(
                name,
                p.performedString if name == "performedString" else None,
                "a date is required: give performedDateTime or performedPeriod.start (an age, "
                "range or text gives no day)",
            )
    return _day(None, "performedDateTime"), None


def _answers(items: list[Any]) -> Iterator[tuple[str, Any]]:
    """(linkId, numeric answer) of every answered item, nested groups included."""
    for item in items:
        for answer in item.answer or []:
            value = answer.valueInteger
            if value is None:
                value = answer.valueDecimal
            if value is None and answer.valueCoding is not None:
                value = answer.valueCoding.code
            if value is not None:
                try:
                    yield item.linkId, Decimal(str(value))
                except ArithmeticError:
                    raise Bad(f"item {item.linkId}", value, "not a number") from None
                break
            yield from _answers(answer.item or [])
        yield from _answers(item.item or [])


__all__ = [
    "AS_OBSERVATION",
    "COMPONENT_UNKNOWN",
    "DECEASED_UNDATED",
    "PART",
    "RANGE_UNIT",
    "Bad",
    "Converter",
    "Rejected",
    "Row",
    "Skipped",
    "ingredient_name",
    "is_measurement",
    "measurement_value",
    "observation_value",
    "ref_id",
]
