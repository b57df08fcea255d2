"""The registry: one relational data model (``schema``), its storage (``store``) and a
synthetic generator (``synthetic``; import it from there).

Public API::

    from myositis.registry import create_registry, open_registry, append_arrow
    from myositis.registry.synthetic import generate_registry
"""

from myositis.registry.schema import CODE_SYSTEMS, DM_SUBTYPES, SCHEMA_VERSION, TABLES
from myositis.registry.store import (
    append_arrow,
    arrow_schema,
    create_registry,
    open_registry,
    read_metadata,
    validate_registry,
    write_metadata,
)

__all__ = [
    "CODE_SYSTEMS",
    "DM_SUBTYPES",
    "SCHEMA_VERSION",
    "TABLES",
    "append_arrow",
    "arrow_schema",
    "create_registry",
    "open_registry",
    "read_metadata",
    "validate_registry",
    "write_metadata",
]
