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

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.cohort.language import ConceptItem
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


def concept_keys(con: BaseBackend, item: ConceptItem) -> ir.Column:
    """``SYSTEM|code`` of every registry code of the item's concepts (the module's rule)."""
    assert item.system is not None and item.code is not None
    concept = cdm_table(con, "concept")
    cid = concept.concept_id.cast("int64")
    if item.system == OMOP_SYSTEM:
        number = int(item.code) if item.code.strip().isdigit() else -1
        own = ibis.memtable({"concept_id": [number]}, schema={"concept_id": "int64"})
    else:
        vocabulary = {v: k for k, v in VOCABULARIES.items()}[item.system]
        own = concept.filter(
            (concept.vocabulary_id == vocabulary) & (concept.concept_code == item.code)
        ).select(concept_id=cid)
    ids = own
    if item.descendants:
        ancestor = cdm_table(con, "concept_ancestor")
        below = ancestor.filter(
            ancestor.ancestor_concept_id.cast("int64").isin(own.concept_id)
        ).select(concept_id=ancestor.descendant_concept_id.cast("int64"))
        ids = ibis.union(own, below, distinct=True)
    codes = concept_codes(con, ids)
    by_code = codes.select(_key=_key(codes.code_system, codes.code))
    by_id = ids.select(_key=_key(ibis.literal(OMOP_SYSTEM), ids.concept_id.cast("string")))
    return ibis.union(by_code, by_id, distinct=True)._key


def vocabulary_match(
    con: BaseBackend, system: ir.StringValue, code: ir.StringValue, item: ConceptItem
) -> ir.BooleanValue:
    """Rows whose (system, code) is one of the item's concepts (:func:`concept_keys`)."""
    return _key(system.strip().upper(), code.strip()).isin(concept_keys(con, item))


__all__ = ["OMOP_SYSTEM", "concept_keys", "resolvable", "vocabulary_match"]
