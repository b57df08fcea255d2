"""REDCap: ``myositis import redcap SOURCE --into REGISTRY [--mapping FILE] [--token-file F]``.

SOURCE is a folder holding a project's data dictionary and raw record export (and, for a
longitudinal project, its instrument-event mapping), or the project's API URL, read through
PyCap. Every value is checked against the data dictionary; a project made from the bundled
template (``myositis template --redcap DIR``) imports with no mapping, any other through a
mapping file. Scores are computed by ``myositis.instruments`` from the items, never taken from a
REDCap calculated field. ``docs/redcap.md`` has the rules and worked examples.
"""

from myositis.sources.redcap.reader import Reader

__all__ = ["Reader"]
