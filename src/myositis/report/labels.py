"""Display labels: the plain words a report shows for the codes and identifiers in results.

Results keep the registry's codes (``F``, ``classic_active_myositis``, ``end_of_treatment``,
``dm_diagnosis``) so that they can be matched and re-analysed; a clinician reads words. Every
translation lives here, in one table per kind, and templates use the ``label`` filter
(``{{ p.sex | label("sex") }}``); a value without an entry is shown with its underscores as
spaces, never dropped. The words for subtypes follow the clinical classification the registry
records (docs/data-model.md, ``dm_subtype``; Min et al. 2022 use the same subtypes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

SEX: Final = {"F": "Female", "M": "Male", "U": "Unknown"}

SUBTYPE: Final = {
    "amyopathic": "Amyopathic DM",
    "hypomyopathic": "Hypomyopathic DM",
    "classic_active_myositis": "Classic DM with active myositis",
    "classic_postmyopathic": "Classic DM, postmyopathic",
    "juvenile": "Juvenile DM",
    "juvenile_postmyopathic": "Juvenile DM, postmyopathic",
    "unclassified": "Not classified",
}

#: ``cohort.followup.use``: which follow-up assessment gives the change.
FOLLOWUP_USED: Final = {
    "last": "the last assessment in the follow-up window",
    "first": "the first assessment in the follow-up window",
    "best": "the best (lowest activity) assessment in the follow-up window",
}

#: ``analysis.monotherapy_at``: when "no other systemic therapy" is judged.
MONOTHERAPY_AT: Final = {
    "end_of_treatment": "on the last day of JAK-inhibitor treatment",
    "index": "on the index date (the JAK-inhibitor start)",
}

#: (instrument, measure) of an assessment, with the range of docs/data-model.md.
MEASURE: Final = {
    ("cdasi", "activity"): "CDASI activity score (0-100)",
    ("cdasi", "damage"): "CDASI damage score (0-32)",
    ("pruritus_nrs", "score"): "Itch (pruritus) numeric rating scale, 0-10",
    ("pga", "score"): "Physician global assessment of disease activity, 0-10",
    ("ptga", "score"): "Patient global assessment of disease activity, 0-10",
    ("ema", "score"): "Extramuscular disease activity, 0-10",
    ("mmt8", "total"): "Manual muscle testing (MMT-8), 0-80",
    ("haq", "score"): "Health Assessment Questionnaire disability index, 0-3",
    ("chaq", "score"): "Childhood Health Assessment Questionnaire, 0-3",
    ("cmas", "total"): "Childhood Myositis Assessment Scale, 0-52",
}

#: Code-set roles (``myositis.codes``), as the attrition table and the appendix name them.
CODE_LIST: Final = {
    "dm_diagnosis": "dermatomyositis diagnosis codes",
    "polymyositis": "polymyositis codes",
    "dm_neoplastic": "dermatomyositis in neoplastic disease codes",
    "jak_inhibitor": "systemic JAK-inhibitor codes",
    "tyk2_inhibitor": "TYK2-inhibitor codes",
    "jak_topical_exclude": "topical JAK-inhibitor codes (ruxolitinib cream)",
    "lab_ck": "creatine kinase (CK) laboratory codes",
    "lab_aldolase": "aldolase laboratory codes",
}

CODE_SYSTEM: Final = {
    "ICD10CM": "ICD-10-CM",
    "ICD9CM": "ICD-9-CM",
    "SNOMED": "SNOMED CT",
    "OMOP": "OMOP concept",
    "RXNORM": "RxNorm",
    "ATC": "WHO ATC",
    "LOINC": "LOINC",
    "LOCAL": "Local code",
    "CPT4": "CPT-4",
    "HCPCS": "HCPCS",
    "ICD10PCS": "ICD-10-PCS",
    "VISIT": "OMOP Visit",
    "ACTCODE": "HL7 ActCode",
}

#: Whether a shipped code was checked against its publisher (``codes/data/codesets.csv``).
CODE_STATUS: Final = {"confirmed": "confirmed", "check": "to be confirmed"}

FORMULATION: Final = {
    "IR": "immediate release",
    "ER": "extended release",
    "INJ": "injection",
    "INF": "infusion",
    "TOP": "topical",
    "OTHER": "other",
}

#: A patient's highest daily dose against the label dose (``analysis.dosing``), as the
#: patient listing shows it (the dose section explains each).
DOSE_STATUS: Final = {
    "above label": "Above label",
    "at or below label": "At or below label",
    "no label dose": "No single label dose",
    "not evaluable": "Not evaluable",
    "no adult label dose comparison (child)": "Child: not compared",
}

#: Whether a patient was on the JAK inhibitor on the day of death (``analysis.safety``).
TREATMENT_AT_DEATH: Final = {
    "on": "On treatment",
    "on_no_stop_recorded": "On treatment (no stop recorded)",
    "off": "Off treatment",
    "not_known": "Not known (no exposure recorded)",
}

TABLES: Final = {
    "sex": SEX,
    "subtype": SUBTYPE,
    "followup_used": FOLLOWUP_USED,
    "monotherapy_at": MONOTHERAPY_AT,
    "code_list": CODE_LIST,
    "code_system": CODE_SYSTEM,
    "code_status": CODE_STATUS,
    "formulation": FORMULATION,
    "dose_status": DOSE_STATUS,
    "treatment_at_death": TREATMENT_AT_DEATH,
}


def label(value: object, kind: str) -> str:
    """The words for ``value`` of a kind of code (a key of :data:`TABLES`); a value without
    an entry is shown with underscores as spaces (a missing value as '-')."""
    if value is None:
        return "-"
    text = str(value)
    found = TABLES[kind].get(text)
    return found if found is not None else text.replace("_", " ")


def measure(instrument: str, name: str) -> str:
    """The words for an assessment's instrument and measure ('pruritus_nrs', 'score' -> 'Itch
    (pruritus) numeric rating scale, 0-10')."""
    found = MEASURE.get((instrument, name))
    return found if found is not None else f"{instrument} {name}".replace("_", " ")


_FORMULATIONS = re.compile(r"\bformulations ([A-Z]+(?:, [A-Z]+)*)")
_SIGNS = {">=": "\u2265", "<=": "\u2264"}


def criterion(text: str, roles: Iterable[str] = CODE_LIST) -> str:
    """An attrition criterion in words: code-set roles by their names, formulation codes by
    theirs, >= and <= as signs ('code in dm_diagnosis on >= 2 distinct date(s)' -> 'code in
    dermatomyositis diagnosis codes on ≥ 2 distinct date(s)')."""
    for role in sorted(roles, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(role)}\b", label(role, "code_list"), text)
    text = _FORMULATIONS.sub(
        lambda m: (
            "formulations " + ", ".join(label(f, "formulation") for f in m.group(1).split(", "))
        ),
        text,
    )
    for sign, symbol in _SIGNS.items():
        text = text.replace(sign, symbol)
    return text


__all__ = ["TABLES", "criterion", "label", "measure"]
