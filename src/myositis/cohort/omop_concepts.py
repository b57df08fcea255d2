"""Concept items resolved through the OMOP vocabulary tables (``concept``, ``concept_ancestor``)
when the registry holds them (an OMOP CDM read live, or a registry with the vocabulary loaded).

Rule (Circe's codeset query, ``resources/cohortdefinition/sql/codesetQuery.sql`` and
``vocabulary/sql/conceptSetDescendants.sql`` in github.com/OHDSI/circe-be): an item is its own
concept, plus, with ``descendants``, every ``descendant_concept_id`` of it in
``concept_ancestor``. The concept of an item is found from its registry code: ``OMOP`` codes
are concept ids; other systems are (``vocabulary_id``, ``concept_code``) of ``concept``
(:data:`myositis.codes.vocabularies.CODE_SYSTEM_VOCABULARIES`). Each resolved concept is then
written as the registry codes it can appear as: its (code system, concept code) by
:func:`myositis.codes.vocabularies.registry_code`, and (``OMOP``, concept id), so rows coded
either way match.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend
from ibis.common.exceptions import TableNotFound

from myositis.codes.vocabularies import CODE_SYSTEM_VOCABULARIES, OMOP_SYSTEM, VOCABULARIES
from myositis.cohort.language import ConceptItem

#: The vocabulary tables an OMOP concept item is resolved through.
VOCABULARY_TABLES = ("concept", "concept_ancestor")


def table_or_none(con: BaseBackend, name: str) -> ir.Table | None:
    """Table ``name`` of ``con`` with lower-case column names, or None when there is none
    (probed with ``con.table``: ``list_tables`` fails with ibis 12 on duckdb 2)."""
    try:
        table = con.table(name)
    except TableNotFound:
        return None
    # CDM tables may spell their columns in upper case (Eunomia's DuckDB file does)
    return table.rename({c.lower(): c for c in table.columns if c != c.lower()})


def has_vocabulary(con: BaseBackend) -> bool:
    """Whether ``con`` holds the OMOP ``concept`` and ``concept_ancestor`` tables."""
    return all(table_or_none(con, name) is not None for name in VOCABULARY_TABLES)


def resolvable(item: ConceptItem) -> bool:
    """Whether the item's code names an OMOP concept (an OMOP id or a mapped vocabulary)."""
    return item.system == OMOP_SYSTEM or item.system in CODE_SYSTEM_VOCABULARIES


def _key(system: ir.StringValue, code: ir.StringValue) -> ir.StringValue:
    return system.concat(ibis.literal("|"), code)


def concept_keys(con: BaseBackend, item: ConceptItem) -> ir.Column:
    """``SYSTEM|code`` of every registry code of the item's concepts (see the module rule)."""
    assert item.system is not None and item.code is not None
    concept = table_or_none(con, "concept")
    assert concept is not None
    cid = concept.concept_id.cast("int64")
    if item.system == OMOP_SYSTEM:
        own = concept.filter(cid == int(item.code)).select(_id=cid)
        if not item.code.strip().isdigit():
            own = own.filter(ibis.literal(False))
    else:
        vocabulary = CODE_SYSTEM_VOCABULARIES[item.system]
        own = concept.filter(
            (concept.vocabulary_id == vocabulary) & (concept.concept_code == item.code)
        ).select(_id=cid)
    ids = own
    if item.descendants:
        ancestor = table_or_none(con, "concept_ancestor")
        assert ancestor is not None
        below = ancestor.filter(ancestor.ancestor_concept_id.cast("int64").isin(own._id)).select(
            _id=ancestor.descendant_concept_id.cast("int64")
        )
        ids = ibis.union(own, below, distinct=True)
    rows = concept.filter(cid.isin(ids._id))
    system = rows.vocabulary_id.cases(*VOCABULARIES.items(), else_=OMOP_SYSTEM)
    code = ibis.ifelse(
        system == OMOP_SYSTEM, rows.concept_id.cast("int64").cast("string"), rows.concept_code
    )
    by_code = rows.select(_key=_key(system, code))
    by_id = ids.select(_key=_key(ibis.literal(OMOP_SYSTEM), ids._id.cast("string")))
    return ibis.union(by_code, by_id, distinct=True)._key


def vocabulary_match(
    con: BaseBackend, system: ir.StringValue, code: ir.StringValue, item: ConceptItem
) -> ir.BooleanValue:
    """Rows whose (system, code) is one of the item's concepts (:func:`concept_keys`)."""
    return _key(system.strip().upper(), code.strip()).isin(concept_keys(con, item))


__all__ = [
    "VOCABULARY_TABLES",
    "concept_keys",
    "has_vocabulary",
    "resolvable",
    "table_or_none",
    "vocabulary_match",
]
