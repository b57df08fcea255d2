"""An OMOP CDM opened as a registry: the CDM database's own Ibis backend, whose ``table(name)``
gives the registry view (:mod:`myositis.registry.omop.views`) for each registry table name and
the database's own table for every other name.

The backend keeps its class's behaviour (SQL compilation, ``raw_sql``, the engine's name), so
everything that reads a registry through ``con.table`` — conformance, integrity, the data
fingerprint, studies, copies and imports — reads the views, and the engine evaluates them
over the CDM tables. The CDM is only read: a write (``create``) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from myositis.errors import RegistryError
from myositis.registry.omop.mapping import load_mapping
from myositis.registry.omop.views import registry_views

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis import BaseBackend


_CLASSES: dict[type, type] = {}


def _table(self: Any, name: str, /, *args: Any, **kwargs: Any) -> ir.Table:
    """The registry view ``name``, or the database's table ``name``."""
    views = self.__dict__.get("_omop_views")
    if views is not None and name in views and not args and kwargs.get("database") is None:
        return views[name]
    return super(type(self), self).table(name, *args, **kwargs)


def _omop_class(base: type) -> type:
    """The backend's class with :func:`_table` as its ``table`` (a subclass with no base of
    its own, so an open backend can take it: CPython refuses a class of another layout)."""
    if base not in _CLASSES:
        _CLASSES[base] = type(
            f"Omop{base.__name__}", (base,), {"table": _table, "omop": True, "__doc__": __doc__}
        )
    return _CLASSES[base]


def as_registry(con: BaseBackend, mapping_file: Path | None, where: str) -> BaseBackend:
    """Turn ``con``, the open CDM database, into a registry whose tables are views over the
    CDM (the local concept mapping from ``mapping_file``, else the shipped defaults)."""
    mapping = load_mapping(mapping_file)
    base = type(con)
    lookup = base.table.__get__(con, base)
    views, version = registry_views(con, lookup, mapping, where)
    con.__class__ = _omop_class(base)
    con._omop_views = views
    con.omop_cdm_version = version
    return con


def is_omop(con: BaseBackend) -> bool:
    """Whether ``con`` is an OMOP CDM opened as a registry (its tables are views)."""
    return getattr(type(con), "omop", False) is True


def cdm_table(con: BaseBackend, name: str) -> ir.Table:
    """The CDM's own table ``name`` (``concept``, ``concept_ancestor``, ``person``, ...) of an
    OMOP registry, with lower-case column names; the registry view never."""
    if not is_omop(con):
        raise RegistryError("not an OMOP CDM: open it as omop+URL (docs/omop.md)")
    from myositis.registry.omop.views import Cdm

    base: Any = type(con).__mro__[1]
    return Cdm(con, base.table.__get__(con, base)).table(name)


__all__ = ["as_registry", "cdm_table", "is_omop"]
