"""OMOP vocabularies and the registry's code systems: which ``vocabulary_id`` of the OMOP
standardised vocabularies is which ``code_system`` of the registry.

A concept of one of these vocabularies is the registry code (``code_system``, ``concept_code``);
a concept of any other vocabulary (RxNorm Extension, CPT4, OMOP Extension, ...) is the registry
code (``OMOP``, its ``concept_id``). The same rule codes the rows of an OMOP CDM read live
(``docs/omop.md``) and the concept sets of an ATLAS cohort imported with
``myositis cohort import`` (``docs/atlas.md``), so the two always meet.

Source of the vocabulary ids: the OMOP ``VOCABULARY`` table (Athena, OHDSI standardised
vocabularies); the registry's systems: ``myositis.registry.schema.CODE_SYSTEMS``.
"""

from __future__ import annotations

from typing import Final

#: OMOP ``vocabulary_id`` -> registry ``code_system``.
VOCABULARIES: Final = {
    "SNOMED": "SNOMED",
    "ICD10CM": "ICD10CM",
    "ICD9CM": "ICD9CM",
    "RxNorm": "RXNORM",
    "ATC": "ATC",
    "LOINC": "LOINC",
}

#: Registry ``code_system`` -> OMOP ``vocabulary_id`` (the inverse of :data:`VOCABULARIES`).
CODE_SYSTEM_VOCABULARIES: Final = {system: vocab for vocab, system in VOCABULARIES.items()}

#: The code system of a concept of no vocabulary in :data:`VOCABULARIES`: its concept id.
OMOP_SYSTEM: Final = "OMOP"


def registry_code(
    concept_id: int, vocabulary_id: str | None, concept_code: str | None
) -> tuple[str, str]:
    """The registry's (code system, code) of one OMOP concept (the module's rule)."""
    system = VOCABULARIES.get(vocabulary_id or "")
    if system is None or not concept_code:
        return OMOP_SYSTEM, str(concept_id)
    return system, concept_code


__all__ = ["CODE_SYSTEM_VOCABULARIES", "OMOP_SYSTEM", "VOCABULARIES", "registry_code"]
