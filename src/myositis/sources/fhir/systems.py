"""FHIR code-system URIs and value sets, both ways: standard code systems (SNOMED CT, ICD-10-CM,
ICD-9-CM, RxNorm, ATC, LOINC, CPT, HCPCS, ICD-10-PCS, HL7 v3 ActCode, UCUM) against the
registry's ``CODE_SYSTEMS``, the US Core race and ethnicity codes, Encounter classes against
OMOP's Visit vocabulary, and the project's own profile (what FHIR has no standard code for).

Sources: the URIs are those of the HL7 terminology registry (terminology.hl7.org, "External
code systems": http://snomed.info/sct, http://hl7.org/fhir/sid/icd-10-cm,
http://hl7.org/fhir/sid/icd-9-cm, http://www.nlm.nih.gov/research/umls/rxnorm,
http://www.whocc.no/atc, http://loinc.org, http://www.ama-assn.org/go/cpt,
http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets, http://www.cms.gov/Medicare/Coding/ICD10
(ICD-10-PCS), http://unitsofmeasure.org); the race and ethnicity codes are the CDC Race and
Ethnicity code set (urn:oid:2.16.840.1.113883.6.238) used by the US Core race and ethnicity
extensions (hl7.org/fhir/us/core); OMOP concept ids use the OHDSI FHIR terminology URI.
``PROFILE`` URIs are this project's own (a URN: no web address is claimed); a mapping file may
name others (``docs/fhir.md``). OMOP's Visit vocabulary has no FHIR URI of its own (the OHDSI
terminology URI names concept ids, not the Visit codes IP, OP, ...), so its codes are written
with the profile's ``VISIT_SYSTEM``.

Encounter classes: ``CLASS_VISITS`` follows the HL7 FHIR to OMOP implementation guide's
ConceptMap "Encounter Class codes to OMOP" (http://hl7.org/fhir/uv/omop/ConceptMap/EncounterClass,
version 1.0.0): ActCode IMP is equivalent to 9201 Inpatient Visit (Visit IP), AMB to 9202
Outpatient Visit (OP), EMER to 9203 Emergency Room Visit (ER); ACUTE (inpatient acute) and
NONAC (inpatient non-acute) are the two kinds of IMP in ActCode's ActEncounterCode hierarchy,
so IP as well. The ConceptMap maps OBSENC only as "broader than" 262 Emergency Room and
Inpatient Visit (an observation stay need not become an admission), and VR and HH to the OMOP
concepts 722455 Telehealth and 581476 Home Visit, whose codes this table does not hold: these,
and every other ActCode, are kept as code system ACTCODE (nothing of the source is lost).

Measurements: an Observation is a measurement (a ``measurement`` row) when its category is
``laboratory`` or ``vital-signs`` of the R4 code system ``OBSERVATION_CATEGORY``
(http://terminology.hl7.org/CodeSystem/observation-category), or when its code is a LOINC code
of ``VITAL_SIGNS``: the codes of the FHIR R4 vital signs profiles, the value set
"observation-vitalsignresult" (http://hl7.org/fhir/ValueSet/observation-vitalsignresult,
version 4.0.1, bound by http://hl7.org/fhir/R4/observation-vitalsigns.html: 85353-1 vital signs
panel, 9279-1 respiratory rate, 8867-4 heart rate, 2708-6 oxygen saturation, 8310-5 body
temperature, 8302-2 body height, 9843-4 head circumference, 29463-7 body weight, 39156-5 body
mass index, 85354-9 blood pressure panel, 8480-6 systolic and 8462-4 diastolic blood
pressure), and 59408-5, oxygen saturation by pulse oximetry, which R4's oxygen saturation
example (http://hl7.org/fhir/R4/observation-example-satO2.html) and US Core's pulse oximetry
profile code beside 2708-6. US Core requires the category
``vital-signs`` on every vital sign; the codes catch data that leave the category out (the
example's body weights). The HL7 FHIR to OMOP implementation guide and OMOP put laboratory
results and vital signs in OMOP's ``measurement`` table.

Yes and no: an Observation's ``valueBoolean`` is stored as the coded value SNOMED CT 373066001
"Yes (qualifier value)" or 373067005 "No (qualifier value)", the codes of OMOP's standard
concepts 4188539 "Yes" and 4188540 "No", which OMOP's observation table uses as
``value_as_concept_id`` for a yes/no answer (the OMOP CDM conventions recommend "Yes" even for
an observation that asserts a fact by its code alone); an OMOP observation read live gives the
same row.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

#: Code-system URI -> the registry's code system (``registry.schema.CODE_SYSTEMS``).
SYSTEMS: Final = {
    "http://snomed.info/sct": "SNOMED",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "http://hl7.org/fhir/sid/icd-9-cm": "ICD9CM",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RXNORM",
    "http://www.whocc.no/atc": "ATC",
    "http://loinc.org": "LOINC",
    # procedure code systems (Procedure.code)
    "http://www.ama-assn.org/go/cpt": "CPT4",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    "http://www.cms.gov/Medicare/Coding/ICD10": "ICD10PCS",
    # visit code systems (Encounter.class and Encounter.type)
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": "ACTCODE",
    "urn:myositis-outcomes:fhir:CodeSystem:omop-visit": "VISIT",
    "https://fhir-terminology.ohdsi.org": "OMOP",
    "urn:myositis-outcomes:fhir:CodeSystem:local": "LOCAL",
}
#: The registry's code system -> the URI an export writes.
URIS: Final = {v: k for k, v in SYSTEMS.items()}

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
ACTCODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

#: The project's own profile: code systems, extensions and identifier systems.
PROFILE: Final = "urn:myositis-outcomes:fhir"
MEASURE_SYSTEM: Final = f"{PROFILE}:CodeSystem:"  # + instrument name (codes: measure names)
QUESTIONNAIRE: Final = f"{PROFILE}:Questionnaire:"  # + instrument name (linkIds: measures)
SUBTYPE_SYSTEM: Final = f"{PROFILE}:CodeSystem:dm-subtype"
CTCAE_GRADE: Final = f"{PROFILE}:StructureDefinition:ctcae-grade"
FORMULATION: Final = f"{PROFILE}:StructureDefinition:formulation"
DISCONTINUED: Final = f"{PROFILE}:StructureDefinition:led-to-discontinuation"
PERSON_ID: Final = f"{PROFILE}:sid:person-id"
EXPOSURE_ID: Final = f"{PROFILE}:sid:exposure-id"
ASSESSMENT_ID: Final = f"{PROFILE}:sid:assessment-id"
VISIT_ID: Final = f"{PROFILE}:sid:visit-id"
VISIT_SYSTEM: Final = f"{PROFILE}:CodeSystem:omop-visit"  # codes: OMOP Visit concept codes
#: An Observation's second value (``valueCodeableConcept``: coding and/or text) where its
#: ``value[x]`` is the number: FHIR allows one ``value[x]``, a registry ``observation`` row may
#: hold a number and a code or text, as an OMOP observation row may.
OBSERVATION_VALUE: Final = f"{PROFILE}:StructureDefinition:observation-value"

US_CORE_RACE: Final = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY: Final = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
CDC_RACE: Final = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR: Final = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"

#: CDC race and ethnicity codes (OMB categories) -> the registry's words, and back.
RACES: Final = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "2131-1": "Other",
    "UNK": "Unknown",
    "ASKU": "Unknown",
}
RACE_CODES: Final = {"Unknown": "UNK", **{v: k for k, v in RACES.items() if k != "ASKU"}}
ETHNICITIES: Final = {
    "2135-2": "Hispanic or Latino",
    "2186-5": "Not Hispanic or Latino",
    "UNK": "Unknown",
    "ASKU": "Unknown",
}
ETHNICITY_CODES: Final = {"Unknown": "UNK", **{v: k for k, v in ETHNICITIES.items() if k != "ASKU"}}

#: ``Encounter.class`` (ActCode) -> OMOP Visit code (sources in the module docstring); any other
#: ActCode is kept as code system ACTCODE.
CLASS_VISITS: Final = {"IMP": "IP", "ACUTE": "IP", "NONAC": "IP", "AMB": "OP", "EMER": "ER"}
#: OMOP Visit code -> the ``Encounter.class`` (ActCode) an export writes: the inverse of
#: ``CLASS_VISITS``, and ERIP (emergency room, then admitted) as EMER, the class of the visit's
#: start (ActCode has no class for the two; the export keeps the code ERIP in ``type``).
VISIT_CLASSES: Final = {"IP": "IMP", "OP": "AMB", "ER": "EMER", "ERIP": "EMER"}


def visit_code(system: str, code: str) -> tuple[str, str]:
    """The registry's (code_system, code) of a visit coded ``system`` (a registry code system)
    and ``code``: an ActCode class of ``CLASS_VISITS`` becomes its Visit code (AMB -> VISIT
    OP), any other code is kept (ActCode HH -> ACTCODE HH)."""
    if system == "ACTCODE" and code in CLASS_VISITS:
        return "VISIT", CLASS_VISITS[code]
    return system, code


#: ``Observation.category`` code system (FHIR R4 "Observation Category Codes").
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
#: Categories that make an Observation a measurement (module docstring).
MEASUREMENT_CATEGORIES: Final = ("laboratory", "vital-signs")
#: LOINC codes of the FHIR R4 vital signs profiles (module docstring), with their names.
VITAL_SIGNS: Final = {
    "85353-1": "vital signs panel",
    "9279-1": "respiratory rate",
    "8867-4": "heart rate",
    "2708-6": "oxygen saturation in arterial blood",
    "59408-5": "oxygen saturation by pulse oximetry",
    "8310-5": "body temperature",
    "8302-2": "body height",
    "9843-4": "head circumference",
    "29463-7": "body weight",
    "39156-5": "body mass index",
    "85354-9": "blood pressure panel",
    "8480-6": "systolic blood pressure",
    "8462-4": "diastolic blood pressure",
}


def is_vital_sign(system: str | None, code: str | None) -> bool:
    """Whether a coding (a registry code system or a URI, and a code) is a vital sign of the
    FHIR R4 vital signs profiles (``VITAL_SIGNS``, LOINC)."""
    return system in ("LOINC", LOINC) and code in VITAL_SIGNS


#: ``Observation.valueBoolean`` -> SNOMED CT code of the coded value (module docstring).
BOOLEAN_CODES: Final = {True: "373066001", False: "373067005"}

#: ``Patient.gender`` -> ``person.sex``.
SEXES: Final = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
GENDERS: Final = {"F": "female", "M": "male", "U": "unknown"}

#: ``Timing.repeat`` period units in days (FHIR units-of-time; a month is not converted).
_DAYS: Final = {"d": Fraction(1), "wk": Fraction(7), "h": Fraction(1, 24)}

#: ``drug_exposure.frequency`` -> (frequency, period, periodUnit) of ``Timing.repeat``.
TIMINGS: Final = {
    "QD": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QW": (1, 1, "wk"),
    "Q2W": (1, 2, "wk"),
    "Q4W": (1, 4, "wk"),
}
_PER_DAY: Final = {Fraction(f, 1) / (p * _DAYS[u]): code for code, (f, p, u) in TIMINGS.items()}


def frequency_code(
    frequency: int | None, period: float | None, unit: str | None, count: int | None
) -> str | None:
    """The registry frequency code of a ``Timing.repeat`` (administrations per day matched
    exactly: 2 per 1 d is BID, 1 per 2 wk Q2W); ``count`` 1 is ONCE; None when none fits."""
    if count == 1 and frequency in (None, 1) and period is None:
        return "ONCE"
    if frequency is None or period is None or unit not in _DAYS or not period:
        return None
    per_day = Fraction(frequency) / (Fraction(str(period)) * _DAYS[unit])
    return _PER_DAY.get(per_day)


__all__ = [
    "ACTCODE",
    "ASSESSMENT_ID",
    "BOOLEAN_CODES",
    "CDC_RACE",
    "CLASS_VISITS",
    "CTCAE_GRADE",
    "DISCONTINUED",
    "ETHNICITIES",
    "ETHNICITY_CODES",
    "EXPOSURE_ID",
    "FORMULATION",
    "GENDERS",
    "LOINC",
    "MEASUREMENT_CATEGORIES",
    "MEASURE_SYSTEM",
    "NULL_FLAVOR",
    "OBSERVATION_CATEGORY",
    "OBSERVATION_VALUE",
    "PERSON_ID",
    "PROFILE",
    "QUESTIONNAIRE",
    "RACES",
    "RACE_CODES",
    "SEXES",
    "SUBTYPE_SYSTEM",
    "SYSTEMS",
    "TIMINGS",
    "UCUM",
    "VISIT_CLASSES",
    "VISIT_ID",
    "VISIT_SYSTEM",
    "VITAL_SIGNS",
    "URIS",
    "US_CORE_ETHNICITY",
    "US_CORE_RACE",
    "frequency_code",
    "is_vital_sign",
    "visit_code",
]
