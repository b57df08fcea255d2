"""Concept items of the cohort language resolved through the OMOP vocabulary of an OMOP CDM read
live (``omop+URL``: :mod:`myositis.registry.omop`).

Rule (Circe's codeset query, ``resources/cohortdefinition/sql/codesetQuery.sql`` in
github.com/OHDSI/circe-be): an item is its own concept, plus, with ``descendants``, every
``descendant_concept_id`` of it in ``concept_ancestor``. The concept of an item is found from
its registry code: ``OMOP`` codes are concept ids; other systems are (``vocabulary_id``,
``concept_code``) of ``concept`` (:data:`myositis.registry.omop.views.VOCABULARIES`). The
resolved concepts are written as the registry codes the views give their rows
(:func:`myositis.registry.omop.concepts.concept_codes`), and as (``OMOP``, concept id).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.codes import ICD_SYSTEMS, normalise_icd
from myositis.cohort.concepts import any_of
from myositis.cohort.language import ConceptItem
from myositis.errors import InvalidInputError
from myositis.registry.omop.backend import cdm_table, is_omop
from myositis.registry.omop.concepts import concept_codes
from myositis.registry.omop.views import VOCABULARIES

#: The registry code system of a concept of a vocabulary outside ``VOCABULARIES``.
OMOP_SYSTEM = "OMOP"


def resolvable(con: BaseBackend, item: ConceptItem) -> bool:
    """Whether ``con`` is an OMOP CDM and the item's code names an OMOP concept."""
    return is_omop(con) and (item.system == OMOP_SYSTEM or item.system in VOCABULARIES.values())


def _key(system: ir.StringValue, code: ir.StringValue) -> ir.StringValue:
    return system.concat(ibis.literal("|"), code)


def _concepts(con: BaseBackend, items: Sequence[ConceptItem]) -> ir.Table:
    """``concept_id`` of the items' own concepts, looked up in ``concept`` (as Circe's
    concept set query does): ``OMOP`` codes by id, the others by (``vocabulary_id``,
    ``concept_code`` in any of the item's forms, :func:`_forms`), one test per vocabulary: an
    ICD item ``M33.10`` or ``M3310`` finds the concepts coded either way (OMOP's ICD10CM
    concepts are dotted; a site's own, or an export of a registry holding both, may not be),
    as it finds the registry's rows coded either way."""
    concept = cdm_table(con, "concept")
    cid = concept.concept_id.cast("int64")
    vocabulary = {v: k for k, v in VOCABULARIES.items()}
    numbers = (_number(i.code) for i in items if i.system == OMOP_SYSTEM)
    ids = sorted({n for n in numbers if n is not None})
    codes: dict[str, set[str]] = {}
    for item in items:
        if item.system != OMOP_SYSTEM:
            assert item.system is not None and item.code is not None
            codes.setdefault(vocabulary[item.system], set()).update(_forms(item))
    tests = [cid.isin(ids)] if ids else []
    tests += [
        (concept.vocabulary_id == name) & concept.concept_code.isin(sorted(found))
        for name, found in sorted(codes.items())
    ]
    return concept.filter(any_of(tests)).select(concept_id=cid)


def _forms(item: ConceptItem) -> set[str]:
    """The concept codes an item's code may be written as: an ICD code dotted and undotted
    (the registry's rule, :func:`~myositis.cohort.concepts.bare`), others trimmed. Exact
    codes, so the engine compares ``concept_code`` as stored (a vocabulary has millions)."""
    assert item.system is not None and item.code is not None
    if item.system in ICD_SYSTEMS:
        try:
            dotted = normalise_icd(item.code, system=item.system)
            return {dotted, dotted.replace(".", "")}
        except InvalidInputError:  # not a code the rule reads (a vocabulary's "M30-M36")
            pass
    return {item.code.strip()}


def _number(code: str | None) -> int | None:
    """An ``OMOP`` code as a concept id (None: not a number, so no concept)."""
    return int(code) if code is not None and code.strip().isdigit() else None


def concept_keys(con: BaseBackend, items: Sequence[ConceptItem]) -> ir.Column:
    """``SYSTEM|code`` of every registry code of the items' concepts (the module's rule): all
    the items of a concept set in one expression, however many (a PhenotypeLibrary set of 588
    concepts, one test per item, passed DuckDB's limit of 1,000 nested expressions)."""
    ids = _concepts(con, items)
    below = [i for i in items if i.descendants]
    if below:
        ancestor = cdm_table(con, "concept_ancestor")
        descendants = ancestor.filter(
            ancestor.ancestor_concept_id.cast("int64").isin(_concepts(con, below).concept_id)
        ).select(concept_id=ancestor.descendant_concept_id.cast("int64"))
        ids = ibis.union(ids, descendants, distinct=True)
    codes = concept_codes(con, ids)
    by_code = codes.select(_key=_key(codes.code_system, codes.code))
    by_id = ids.select(_key=_key(ibis.literal(OMOP_SYSTEM), ids.concept_id.cast("string")))
    return ibis.union(by_code, by_id, distinct=True)._key


def vocabulary_match(
    con: BaseBackend, system: ir.StringValue, code: ir.StringValue, items: Sequence[ConceptItem]
) -> ir.BooleanValue:
    """Rows whose (system, code) is one of the items' concepts (:func:`concept_keys`)."""
    return _key(system.strip().upper(), code.strip()).isin(concept_keys(con, items))


__all__ = ["OMOP_SYSTEM", "concept_keys", "resolvable", "vocabulary_match"]
