"""The registry: one relational data model (``schema``), reached on any engine through
``connect(url)``, checked for conformance and integrity, stored and fingerprinted.

Public API::

    from myositis.registry import connect, create_registry, append_arrow
    con = connect("registry.duckdb")            # or a folder, postgresql://..., spark://...
"""

from myositis.registry.connect import connect, parse_location
from myositis.registry.schema import CODE_SYSTEMS, DM_SUBTYPES, SCHEMA_VERSION, TABLES
from myositis.registry.store import (
    append_arrow,
    arrow_schema,
    create_registry,
    read_metadata,
    write_metadata,
)

__all__ = [
    "CODE_SYSTEMS",
    "DM_SUBTYPES",
    "SCHEMA_VERSION",
    "TABLES",
    "append_arrow",
    "arrow_schema",
    "connect",
    "create_registry",
    "parse_location",
    "read_metadata",
    "write_metadata",
]
