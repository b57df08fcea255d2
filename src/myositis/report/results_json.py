"""``results.json``: every number of the report, machine-readable, with its provenance.

Provenance: ``spec_sha256`` (the validated specification's canonical hash), ``data_fingerprint``
(SHA-256 over the registry tables' content: each table's registry columns, cast to their
registry types, rows sorted by every column, written as CSV text, tables in the data
model's order), ``software_version``, ``generated_at`` (UTC) and ``synthetic`` (from
``registry_metadata``).

The results hold exact counts and a per-patient listing, and say they are for local use only.
What may leave a site is the per-site aggregate packages (:mod:`myositis.study.site_packages`),
whose suppression also hides the complementary cells; a suppressed copy of these results is
deliberately not made, because their percentages, proportions, intervals, rates, cumulative
counts and risk tables would give back the counts it hid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from ibis import BaseBackend

from myositis.registry.schema import TABLES


def data_fingerprint(con: BaseBackend) -> str:
    """SHA-256 of the registry's content, independent of storage and row order."""
    digest = hashlib.sha256()
    for name, schema in TABLES.items():
        table = con.table(name)
        typed = table.select(*[table[c].cast(t).name(c) for c, t in schema.items()])
        # Sorted by Arrow, not by the engine: engines collate text differently.
        arrow = typed.to_pyarrow().cast(schema.to_pyarrow())
        arrow = arrow.sort_by([(c, "ascending") for c in schema.names]).combine_chunks()
        digest.update(name.encode("utf-8") + b"\x00")
        # CSV text of equal values is identical whatever the Arrow buffers' layout (IPC bytes
        # differ with validity bitmaps and offsets even for equal tables).
        sink = pa.BufferOutputStream()
        pacsv.write_csv(arrow, sink, pacsv.WriteOptions(batch_size=65_536))
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def json_ready(value: Any) -> Any:
    """Plain JSON: NaN/inf -> None, dates -> ISO text, tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write results as indented, standard JSON (no NaN)."""
    path.write_text(
        json.dumps(json_ready(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    return path


def iter_numbers(node: Any) -> Iterable[float]:
    """Every number in a results tree (used by tests: the report shows them)."""
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield float(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from iter_numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_numbers(value)


__all__ = [
    "data_fingerprint",
    "iter_numbers",
    "json_ready",
    "write_json",
]
