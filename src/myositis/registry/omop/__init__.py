"""OMOP CDM 5.3 and 5.4 as a live registry: ``connect("omop+duckdb:///path/cdm.duckdb")``,
``omop+postgresql://USER@HOST:PORT/DB?schema=cdm`` or ``omop+spark://local[2]?database=cdm``
presents every registry table as a view over the CDM tables in the same database, with no
copy (``docs/omop.md``).

- :mod:`~myositis.registry.omop.location`: the ``omop+`` URLs;
- :mod:`~myositis.registry.omop.views`: the rules that make each registry table of the CDM;
- :mod:`~myositis.registry.omop.mapping`: local concepts (CDASI scores, DM subtypes);
- :mod:`~myositis.registry.omop.concepts`: concept sets through ``concept_ancestor``;
- :mod:`~myositis.registry.omop.backend`: the backend whose tables are the views.
"""

from myositis.registry.omop.backend import as_registry, cdm_table, is_omop
from myositis.registry.omop.mapping import LocalConcepts, load_mapping

__all__ = ["LocalConcepts", "as_registry", "cdm_table", "is_omop", "load_mapping"]
