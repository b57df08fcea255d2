"""Concept sets of an OMOP CDM opened as a registry: concept ids with their descendants through
``concept_ancestor``, and the registry codes (code system, code) they stand for.

A concept set as ATLAS writes it (concept, ``includeDescendants``, ``isExcluded``) resolves to
concept ids: each included concept, with every descendant (``concept_ancestor``, which lists
each concept as its own ancestor at distance 0) when asked, minus the excluded ones resolved
the same way (Circe's rule). The registry views code each row by its concept's vocabulary and
code (:mod:`myositis.registry.omop.views`); :func:`concept_codes` gives the same pairs, so a
concept set selects registry rows with an ordinary join on (``code_system``, ``code``).
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.errors import RegistryError
from myositis.registry.omop.backend import cdm_table
from myositis.registry.omop.views import VOCABULARIES


def concept_ids(
    con: BaseBackend,
    concepts: Iterable[int],
    *,
    descendants: bool = True,
    excluded: Iterable[int] = (),
    exclude_descendants: bool = True,
) -> ir.Table:
    """The concept ids of a concept set (column ``concept_id``), resolved in the engine."""
    wanted = [int(c) for c in concepts]
    if not wanted:
        raise RegistryError("a concept set needs at least one concept id")
    included = _resolve(con, wanted, descendants)
    dropped = [int(c) for c in excluded]
    if dropped:
        out = _resolve(con, dropped, exclude_descendants)
        included = included.anti_join(out, "concept_id")
    return included.distinct()


def _resolve(con: BaseBackend, concepts: list[int], descendants: bool) -> ir.Table:
    if descendants:
        try:
            ancestor = cdm_table(con, "concept_ancestor")
        except ibis.common.exceptions.TableNotFound:
            raise RegistryError(
                "this OMOP CDM has no concept_ancestor table (no vocabulary): a concept set "
                "with descendants cannot be resolved; load the vocabulary or list every concept"
            ) from None
        rows = ancestor.filter(ancestor.ancestor_concept_id.cast("int64").isin(concepts))
        found = rows.select(concept_id=rows.descendant_concept_id.cast("int64"))
        # a concept is its own descendant (distance 0) in concept_ancestor; it is kept also
        # when that row is missing (a local concept absent from the vocabulary)
        return found.union(_listed(concepts))
    return _listed(concepts)


def _listed(concepts: list[int]) -> ir.Table:
    return ibis.memtable({"concept_id": concepts}, schema={"concept_id": "int64"})


def concept_codes(con: BaseBackend, ids: ir.Table) -> ir.Table:
    """The registry codes (``code_system``, ``code``) of the concept ids in ``ids`` (column
    ``concept_id``), as the registry views code rows: the vocabulary's code where the registry
    knows the vocabulary, else ``OMOP`` and the concept id."""
    concept = cdm_table(con, "concept")
    joined = ids.left_join(concept, ids.concept_id == concept.concept_id.cast("int64"))
    system = ibis.cases(
        *((joined.vocabulary_id == k, ibis.literal(v)) for k, v in VOCABULARIES.items()),
        else_=None,
    )
    return joined.select(
        code_system=system.fill_null("OMOP"),
        code=ibis.ifelse(
            system.isnull(), joined.concept_id.cast("string"), joined.concept_code.cast("string")
        ),
    ).distinct()


__all__ = ["concept_codes", "concept_ids"]
