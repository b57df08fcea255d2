"""Registry rows -> FHIR R4 resources (JSON-ready dicts), the inverse of :mod:`.convert`:
what :mod:`.export` writes and the reader reads back to the same registry.

- ``person`` (+ ``person_race``, ``death``) -> Patient (``source_id`` as id when it is a valid
  FHIR id, the ``person_id`` as an identifier of the project's profile, US Core race and
  ethnicity, the death's date as ``deceasedDateTime``; its cause has no place in a Patient and
  is not exported);
- ``diagnosis`` -> Condition; ``dm_subtype`` -> Condition coded with the subtype system;
- ``procedure`` -> Procedure (status ``completed``, ``performedDateTime``, or
  ``performedPeriod`` when the row has an end);
- ``visit`` -> Encounter (status ``finished`` when the row has an end, else ``in-progress``;
  ``class`` the ActCode of the Visit code, ``type`` the row's own code where the class is not
  it; ``period``; the ``visit_id`` as id and identifier);
- ``drug_exposure`` -> MedicationRequest (dose, ``Timing.repeat``, route, bounds);
- ``assessment`` -> one QuestionnaireResponse per administration of an instrument with items
  (CDASI, MMT-8, HAQ, CHAQ), one Observation per score otherwise; a visit id references the
  Encounter of the person's visit row of that id, else names the visit by identifier;
- ``laboratory`` -> Observation (LOINC, the source value and unit, the ULN as
  ``referenceRange.high``); ``adverse_event`` -> AdverseEvent;
- ``observation`` -> Observation (status ``final``, no category, the code with its system's
  URI, ``effectiveDateTime``, the value as ``valueQuantity``, ``valueCodeableConcept`` or
  ``valueString``: :func:`observation`);
- ``measurement`` -> Observation (status ``final``, category ``vital-signs`` for a vital sign
  of the FHIR R4 vital signs profiles, else ``laboratory``; ``valueQuantity`` or
  ``valueCodeableConcept``; the normal range as ``referenceRange``: :func:`measurement`).

``observation_period`` has no FHIR counterpart here and is not exported.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from myositis.codes.units import lab_loinc, ucum
from myositis.sources.fhir import systems as fs
from myositis.sources.redcap.measures import COMPUTED, ITEMS

Resource = dict[str, Any]

_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
SERIOUSNESS: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
CONDITION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/condition-category"
CLINICAL_STATUS: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBSERVATION_CATEGORY: Final = fs.OBSERVATION_CATEGORY
#: The ``Encounter.class`` of a visit whose code has no ActCode class (a Visit code such as LTCP,
#: an OMOP concept id, a site's code): v3 NullFlavor OTH, "the actual value is not a member of
#: the set of permitted data values" (R4 binds class to v3 ActEncounterCode with strength
#: extensible, which allows another code when none of the value set applies). The row's code
#: goes in ``type``.
OTHER_CLASS: Final = {"system": fs.NULL_FLAVOR, "code": "OTH", "display": "other"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, _dt.date) else None


def patient_id(row: dict[str, Any]) -> str:
    """The Patient.id of a person: the source id when it is a valid FHIR id, else
    ``person-<person_id>``."""
    source = row.get("source_id")
    if source and _ID.fullmatch(str(source)):
        return str(source)
    return f"person-{row['person_id']}"


def _subject(pid: str) -> dict[str, str]:
    return {"reference": f"Patient/{pid}"}


def _category(url: str, words: list[str], codes: dict[str, str], system: str) -> Resource:
    ext: list[Resource] = [
        {"url": "ombCategory", "valueCoding": {"system": system, "code": codes[w], "display": w}}
        for w in words
        if w in codes
    ]
    ext.append({"url": "text", "valueString": ", ".join(words)})
    return {"url": url, "extension": ext}


def patient(row: dict[str, Any], races: list[str], died: _dt.date | None = None) -> Resource:
    """A person as a Patient (``died``: the day of the person's death, if recorded)."""
    p: Resource = {
        "resourceType": "Patient",
        "id": patient_id(row),
        "identifier": [{"system": fs.PERSON_ID, "value": str(row["person_id"])}],
    }
    extensions = []
    if races:
        race_sys = {
            w: fs.NULL_FLAVOR if c == "UNK" else fs.CDC_RACE for w, c in fs.RACE_CODES.items()
        }
        ext = _category(fs.US_CORE_RACE, races, fs.RACE_CODES, fs.CDC_RACE)
        for sub in ext["extension"]:
            if sub["url"] == "ombCategory":
                sub["valueCoding"]["system"] = race_sys[sub["valueCoding"]["display"]]
        extensions.append(ext)
    if row.get("ethnicity"):
        ext = _category(fs.US_CORE_ETHNICITY, [row["ethnicity"]], fs.ETHNICITY_CODES, fs.CDC_RACE)
        for sub in ext["extension"]:
            if sub["url"] == "ombCategory" and sub["valueCoding"]["code"] == "UNK":
                sub["valueCoding"]["system"] = fs.NULL_FLAVOR
        extensions.append(ext)
    if extensions:
        p["extension"] = extensions
    if row.get("sex"):
        p["gender"] = fs.GENDERS.get(row["sex"], "unknown")
    if row.get("birth_date") is not None:
        p["birthDate"] = _iso(row["birth_date"])
    elif row.get("birth_year") is not None:
        p["birthDate"] = f"{int(row['birth_year']):04d}"
    if died is not None:
        p["deceasedDateTime"] = _iso(died)
    if row.get("site"):
        p["managingOrganization"] = {"display": row["site"]}
    return p


def condition(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A diagnosis as a Condition (its end, where recorded, as ``abatementDateTime``)."""
    c: Resource = {
        "resourceType": "Condition",
        "id": rid,
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": fs.URIS[row["code_system"]], "code": row["code"]}]},
        "subject": _subject(pid),
        "onsetDateTime": _iso(row["diagnosis_date"]),
    }
    if row.get("end_date") is not None:
        # FHIR R4 invariant con-4: an abated condition's clinical status is resolved (or
        # inactive, remission)
        c["clinicalStatus"] = {"coding": [{"system": CLINICAL_STATUS, "code": "resolved"}]}
        c["abatementDateTime"] = _iso(row["end_date"])
    return c


def subtype(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A DM subtype classification as a Condition of the subtype code system."""
    c: Resource = {
        "resourceType": "Condition",
        "id": rid,
        "code": {"coding": [{"system": fs.SUBTYPE_SYSTEM, "code": row["subtype"]}]},
        "subject": _subject(pid),
    }
    if row.get("classified_date") is not None:
        c["onsetDateTime"] = _iso(row["classified_date"])
    return c


def procedure(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A procedure as a Procedure (done: status completed); its day as ``performedDateTime``,
    or ``performedPeriod`` start and end when the row has an end."""
    p: Resource = {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": {"coding": [{"system": fs.URIS[row["code_system"]], "code": row["code"]}]},
        "subject": _subject(pid),
    }
    if row.get("end_date") is not None:
        p["performedPeriod"] = {"start": _iso(row["procedure_date"]), "end": _iso(row["end_date"])}
    else:
        p["performedDateTime"] = _iso(row["procedure_date"])
    return p


def encounter_id(visit: str | None, n: int, taken: set[str]) -> str:
    """The Encounter.id of the ``n``-th visit row: its ``visit_id`` when that is a valid FHIR id
    that no other Encounter of the export has, else ``visit-<n>`` (``visit-<n>-2``, ... when
    a visit id is that text); added to ``taken``."""
    if visit is not None and _ID.fullmatch(visit) and visit not in taken:
        rid = visit
    else:
        rid, k = f"visit-{n}", 1
        while rid in taken:
            k += 1
            rid = f"visit-{n}-{k}"
    taken.add(rid)
    return rid


def _encounter_class(system: str, code: str) -> tuple[Resource, bool]:
    """The ``Encounter.class`` of a visit code, and whether the import reads that class back as
    the same code (else the export keeps the code in ``type``): VISIT IP, OP, ER -> ActCode IMP,
    AMB, EMER; VISIT ERIP -> EMER (``fs.VISIT_CLASSES``); ACTCODE x -> x; any other code ->
    ``OTHER_CLASS``."""
    if system == "VISIT" and code in fs.VISIT_CLASSES:
        actcode = fs.VISIT_CLASSES[code]
        return {"system": fs.ACTCODE, "code": actcode}, fs.CLASS_VISITS.get(actcode) == code
    if system == "ACTCODE":
        return {"system": fs.ACTCODE, "code": code}, True
    return dict(OTHER_CLASS), False


def visit(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A visit as an Encounter: status ``finished`` when the row has an end, else
    ``in-progress``; the class of :func:`_encounter_class`, with the row's code as ``type``
    where the class does not give it back; ``period`` start (and end); the ``visit_id`` as an
    identifier of the project's profile (the import reads it before the id)."""
    klass, exact = _encounter_class(row["code_system"], row["code"])
    e: Resource = {"resourceType": "Encounter", "id": rid}
    if row.get("visit_id") is not None:
        e["identifier"] = [{"system": fs.VISIT_ID, "value": row["visit_id"]}]
    e["status"] = "finished" if row.get("end_date") is not None else "in-progress"
    e["class"] = klass
    if not exact:
        coding = {"system": fs.URIS[row["code_system"]], "code": row["code"]}
        e["type"] = [{"coding": [coding]}]
    e["subject"] = _subject(pid)
    e["period"] = {"start": _iso(row["visit_date"])}
    if row.get("end_date") is not None:
        e["period"]["end"] = _iso(row["end_date"])
    return e


def medication_request(row: dict[str, Any], pid: str) -> Resource:
    """A drug exposure as a MedicationRequest."""
    coding: Resource = {"system": fs.URIS[row["code_system"] or "LOCAL"], "code": row["code"]}
    coding["display"] = row["ingredient"]
    repeat: Resource = {"boundsPeriod": {"start": _iso(row["start_date"])}}
    if row.get("end_date") is not None:
        repeat["boundsPeriod"]["end"] = _iso(row["end_date"])
    frequency = row.get("frequency")
    if frequency in fs.TIMINGS:
        f, period, unit = fs.TIMINGS[frequency]
        repeat.update({"frequency": f, "period": period, "periodUnit": unit})
    elif frequency == "ONCE":
        repeat["count"] = 1
    dosage: Resource = {"timing": {"repeat": repeat}}
    if row.get("route"):
        dosage["route"] = {"text": row["route"]}
    if row.get("dose") is not None:
        quantity: Resource = {"value": row["dose"]}
        if row.get("dose_unit"):
            quantity["unit"] = row["dose_unit"]
        dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    m: Resource = {
        "resourceType": "MedicationRequest",
        "id": f"exposure-{row['exposure_id']}",
        "identifier": [{"system": fs.EXPOSURE_ID, "value": str(row["exposure_id"])}],
        "status": "completed" if row.get("end_date") is not None else "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [coding], "text": row["ingredient"]},
        "subject": _subject(pid),
        "authoredOn": _iso(row["start_date"]),
        "dosageInstruction": [dosage],
    }
    if row.get("formulation"):
        m["extension"] = [{"url": fs.FORMULATION, "valueCode": row["formulation"]}]
    return m


def _visit(visit: str | None, encounter: bool) -> Resource | None:
    """An assessment's reference to its visit: to the Encounter whose id is the visit id
    (``encounter``: the export wrote one, for the person's visit row), else a logical reference
    by the project's visit-id identifier. No Encounter is written for a visit id without a
    visit row: a second import would store it as a visit the registry does not hold."""
    if visit is None:
        return None
    if encounter:
        return {"reference": f"Encounter/{visit}"}
    return {"identifier": {"system": fs.VISIT_ID, "value": visit}}


def assessments(
    rows: list[dict[str, Any]], pid: str, *, encounter: bool = False
) -> Iterator[Resource]:
    """The resources of one administration (rows sharing an ``assessment_id``); ``encounter``:
    the export holds an Encounter whose id is the rows' ``visit_id`` (of their person)."""
    first = rows[0]
    aid, instrument = first["assessment_id"], first["instrument"]
    items = ITEMS.get(instrument, {})
    answered = [r for r in rows if r["measure"] in items]
    computed = COMPUTED[instrument][0] if instrument in COMPUTED else None
    base: Resource = {
        "identifier": [{"system": fs.ASSESSMENT_ID, "value": str(aid)}],
        "subject": _subject(pid),
    }
    visit = _visit(first.get("visit_id"), encounter)
    if visit is not None:
        base["encounter"] = visit
    if answered:
        yield {
            "resourceType": "QuestionnaireResponse",
            "id": f"assessment-{aid}",
            "identifier": base["identifier"][0],
            "questionnaire": fs.QUESTIONNAIRE + instrument,
            "status": "completed",
            "subject": base["subject"],
            **({"encounter": visit} if visit is not None else {}),
            "authored": _iso(first["assessment_date"]),
            "item": [{"linkId": r["measure"], "answer": [_answer(r["value"])]} for r in answered],
        }
    for r in rows:
        if r["measure"] in items or (answered and r["measure"] == computed):
            continue
        yield {
            "resourceType": "Observation",
            "id": f"assessment-{aid}-{r['measure'].replace('_', '-')}",
            **base,
            "status": "final",
            "code": {"coding": [{"system": fs.MEASURE_SYSTEM + instrument, "code": r["measure"]}]},
            "effectiveDateTime": _iso(r["assessment_date"]),
            "valueQuantity": {"value": r["value"]},
        }


def _answer(value: float) -> Resource:
    if float(value).is_integer():
        return {"valueInteger": int(value)}
    return {"valueDecimal": value}


def _quantity(value: float | None, unit: str | None) -> Resource:
    """A Quantity: the value and unit, with the UCUM system and code when the unit is written
    as a UCUM code (``codes.units.ucum`` leaves it unchanged: no known variant spelling, no
    space), else the unit as text only."""
    q: Resource = {} if value is None else {"value": value}
    if unit:
        q["unit"] = unit
        if ucum(unit) == unit:
            q.update({"system": fs.UCUM, "code": unit})
    return q


def laboratory(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A laboratory result as an Observation (the source's value and unit), coded by the row's
    LOINC code, else its test's (a spreadsheet may leave ``loinc`` empty: CK 2157-6, ...), as
    the OMOP export codes it and the FHIR import recognises it."""
    loinc = row.get("loinc") or lab_loinc().get(row["test"])
    o: Resource = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": fs.LOINC, "code": loinc}], "text": row["test"]},
        "subject": _subject(pid),
        "effectiveDateTime": _iso(row["result_date"]),
        "valueQuantity": _quantity(row["source_value"], row["source_unit"]),
    }
    if row.get("uln") is not None:
        o["referenceRange"] = [{"high": _quantity(row["uln"], row.get("uln_unit"))}]
    return o


def _coded_value(row: dict[str, Any]) -> Resource | None:
    """The CodeableConcept of an observation row's coded value and text (None without either);
    a code without its code system is written as LOCAL, as a drug's is."""
    concept: Resource = {}
    if row.get("value_code") is not None:
        system = fs.URIS[row.get("value_code_system") or "LOCAL"]
        concept["coding"] = [{"system": system, "code": row["value_code"]}]
    if row.get("value_text") is not None:
        concept["text"] = row["value_text"]
    return concept or None


def observation(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """An observation row as an Observation: status ``final``; no ``category`` (the registry
    does not record one, and R4 does not require it: a history, a smoking status and a vital
    sign are all observation rows); the code with its system's URI; ``effectiveDateTime``; the
    value (FHIR allows one ``value[x]``): a number or unit as ``valueQuantity``
    (:func:`_quantity`), a coded value or text of the same row then in the profile's
    ``OBSERVATION_VALUE`` extension; else the coded value (and text) as
    ``valueCodeableConcept``; else the text as ``valueString``; else no value. The import reads
    each back to the same row."""
    o: Resource = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": fs.URIS[row["code_system"]], "code": row["code"]}]},
        "subject": _subject(pid),
        "effectiveDateTime": _iso(row["observation_date"]),
    }
    coded = _coded_value(row)
    if row.get("value") is not None or row.get("unit"):
        o["valueQuantity"] = _quantity(row.get("value"), row.get("unit"))
        if coded is not None:
            o["extension"] = [{"url": fs.OBSERVATION_VALUE, "valueCodeableConcept": coded}]
    elif coded is not None and "coding" in coded:
        o["valueCodeableConcept"] = coded
    elif coded is not None:
        o["valueString"] = coded["text"]
    return o


def measurement(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """A measurement row as an Observation, which the import reads back to the same row:

    - status ``final``; ``category`` ``vital-signs`` when the code is a vital sign of the FHIR
      R4 vital signs profiles (``fs.is_vital_sign``: LOINC 29463-7, 8480-6, ...), else
      ``laboratory`` (the registry holds no category; R4 defines these two for measurements,
      and either makes the import read the Observation as a measurement);
    - the code with its system's URI; ``effectiveDateTime``;
    - a number or unit as ``valueQuantity`` (:func:`_quantity`), a coded value of the same row
      then in the profile's ``OBSERVATION_VALUE`` extension (FHIR allows one ``value[x]``);
      else the coded value as ``valueCodeableConcept`` (a code without its code system as
      LOCAL); else no value;
    - ``range_low`` and ``range_high`` as ``referenceRange[0]`` ``low`` and ``high``, in the
      row's unit."""
    category = "vital-signs" if fs.is_vital_sign(row["code_system"], row["code"]) else "laboratory"
    o: Resource = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": fs.URIS[row["code_system"]], "code": row["code"]}]},
        "subject": _subject(pid),
        "effectiveDateTime": _iso(row["measurement_date"]),
    }
    coded = None
    if row.get("value_code") is not None:
        system = fs.URIS[row.get("value_code_system") or "LOCAL"]
        coded = {"coding": [{"system": system, "code": row["value_code"]}]}
    if row.get("value") is not None or row.get("unit"):
        o["valueQuantity"] = _quantity(row.get("value"), row.get("unit"))
        if coded is not None:
            o["extension"] = [{"url": fs.OBSERVATION_VALUE, "valueCodeableConcept": coded}]
    elif coded is not None:
        o["valueCodeableConcept"] = coded
    bounds = {
        key: _quantity(row[column], row.get("unit"))
        for key, column in (("low", "range_low"), ("high", "range_high"))
        if row.get(column) is not None
    }
    if bounds:
        o["referenceRange"] = [bounds]
    return o


def adverse_event(row: dict[str, Any], pid: str, rid: str) -> Resource:
    """An adverse event as an AdverseEvent (CTCAE grade and discontinuation as extensions of
    the project's profile)."""
    a: Resource = {
        "resourceType": "AdverseEvent",
        "id": rid,
        "actuality": "actual",
        "subject": _subject(pid),
        "event": {"text": row["term"]},
    }
    extensions = []
    if row.get("grade") is not None:
        extensions.append({"url": fs.CTCAE_GRADE, "valueInteger": int(row["grade"])})
    if row.get("led_to_discontinuation") is not None:
        extensions.append({"url": fs.DISCONTINUED, "valueBoolean": row["led_to_discontinuation"]})
    if extensions:
        a["extension"] = extensions
    if row.get("onset_date") is not None:
        a["date"] = _iso(row["onset_date"])
    if row.get("serious") is not None:
        code = "serious" if row["serious"] else "non-serious"
        a["seriousness"] = {"coding": [{"system": SERIOUSNESS, "code": code}]}
    if row.get("outcome"):
        a["outcome"] = {"coding": [{"system": AE_OUTCOME, "code": row["outcome"]}]}
    if row.get("suspected_drug"):
        a["suspectEntity"] = [{"instance": {"display": row["suspected_drug"]}}]
    return a


def group_assessments(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive rows of one ``assessment_id`` (rows ordered by it)."""
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and row["assessment_id"] != group[0]["assessment_id"]:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


__all__ = [
    "Resource",
    "adverse_event",
    "assessments",
    "condition",
    "encounter_id",
    "group_assessments",
    "laboratory",
    "measurement",
    "medication_request",
    "observation",
    "patient",
    "patient_id",
    "procedure",
    "subtype",
    "visit",
]
