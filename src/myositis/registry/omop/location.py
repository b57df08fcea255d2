"""``omop+URL``: where an OMOP CDM lives, parsed into a registry ``Location``.

Accepted forms (``docs/omop.md``):

- ``omop+duckdb:///path/cdm.duckdb`` (an absolute path; ``omop+duckdb://cdm.duckdb`` is relative
  to the working directory);
- ``omop+postgresql://USER@HOST:PORT/DATABASE?schema=cdm`` (the schema holding the CDM tables);
- ``omop+spark://local[2]?database=cdm`` (and ``omop+spark://HOST:PORT``, ``omop+sc://HOST:PORT``).

Every form takes ``?mapping=FILE``: the local concept mapping (CDASI scores, DM subtypes; see
:mod:`myositis.registry.omop.mapping`); without it the shipped defaults apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode

from myositis.errors import RegistryError

#: The forms of an OMOP location, for messages.
OMOP_FORMS: Final = (
    "omop+duckdb:///path/cdm.duckdb, omop+postgresql://USER@HOST:PORT/DATABASE?schema=cdm or "
    "omop+spark://local[2]?database=cdm (each with an optional ?mapping=FILE)"
)


@dataclass(frozen=True)
class OmopUrl:
    """An ``omop+`` URL taken apart: the CDM database's own URL (``duckdb_file`` for DuckDB,
    else ``engine_url`` for :func:`myositis.registry.connect.parse_location`) and the mapping."""

    text: str
    engine_url: str | None
    duckdb_file: Path | None
    mapping: Path | None


def split_omop(url: str) -> OmopUrl:
    """Take apart ``omop+<engine URL>``; raise :class:`RegistryError` naming the accepted
    forms. The CDM database must exist: an OMOP location is only read, never created."""
    text = url.strip()
    inner = text[len("omop+") :]
    base, _, query = inner.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    mapping_text = options.pop("mapping", None)
    mapping = Path(mapping_text).expanduser() if mapping_text else None
    if mapping is not None and not mapping.is_file():
        raise RegistryError(f"{text}: mapping file {mapping} does not exist")
    scheme = base.split("://", 1)[0].lower() if "://" in base else ""
    if scheme == "duckdb":
        path = Path(base.split("://", 1)[1]).expanduser()
        if options:
            raise RegistryError(f"{text}: omop+duckdb takes no option but ?mapping=FILE")
        if not path.is_file():
            raise RegistryError(
                f"{text}: {path} does not exist; give an OMOP CDM DuckDB file ({OMOP_FORMS})"
            )
        return OmopUrl(text, None, path, mapping)
    if scheme in ("postgresql", "postgres", "spark", "sc"):
        rest = f"{base}?{urlencode(options)}" if options else base
        return OmopUrl(text, rest, None, mapping)
    raise RegistryError(f"{text}: not an OMOP CDM location; give one of: {OMOP_FORMS}")


__all__ = ["OMOP_FORMS", "OmopUrl", "split_omop"]
