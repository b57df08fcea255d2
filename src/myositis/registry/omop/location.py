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

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode

from myositis.errors import RegistryError

if TYPE_CHECKING:
    from myositis.registry.connect import Location

#: The forms of an OMOP location, for messages.
OMOP_FORMS: Final = (
    "omop+duckdb:///path/cdm.duckdb, omop+postgresql://USER@HOST:PORT/DATABASE?schema=cdm or "
    "omop+spark://local[2]?database=cdm (each with an optional ?mapping=FILE)"
)


def parse_omop(url: str) -> Location:
    """Parse ``omop+<engine URL>``; raise :class:`RegistryError` naming the accepted forms.

    The CDM database must exist: an OMOP location is only read, never created.
    """
    from myositis.registry.connect import Location, parse_location  # noqa: F811

    text = url.strip()
    inner = text[len("omop+") :]
    base, _, query = inner.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    mapping_text = options.pop("mapping", None)
    mapping = Path(mapping_text).expanduser() if mapping_text else None
    if mapping is not None and not mapping.is_file():
        raise RegistryError(f"{text}: mapping file {mapping} does not exist")
    rest = f"{base}?{urlencode(options)}" if options else base
    scheme = base.split("://", 1)[0].lower() if "://" in base else ""
    if scheme == "duckdb":
        path = Path(base.split("://", 1)[1]).expanduser()
        if options:
            raise RegistryError(f"{text}: omop+duckdb takes no option but ?mapping=FILE")
        if not path.is_file():
            raise RegistryError(
                f"{text}: {path} does not exist; give an OMOP CDM DuckDB file ({OMOP_FORMS})"
            )
        location = Location(text, "duckdb", path=path)
    elif scheme in ("postgresql", "postgres", "spark", "sc"):
        location = parse_location(rest)
    else:
        raise RegistryError(f"{text}: not an OMOP CDM location; give one of: {OMOP_FORMS}")
    return replace(location, url=text, omop=True, mapping=mapping)


__all__ = ["OMOP_FORMS", "parse_omop"]
