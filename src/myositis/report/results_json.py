"""``results.json``: every number of the report, machine-readable, with its provenance.

Provenance: ``spec_sha256`` (the validated specification's canonical hash), ``data_fingerprint``
(SHA-256 over the registry tables' content: each table's registry columns, cast to their
registry types, rows sorted by every column, written as CSV text, tables in the data
model's order), ``software_version``, ``generated_at`` (UTC) and ``synthetic`` (from
``registry_metadata``).

The local results hold exact counts and a per-patient listing, and say they are for local use.
:func:`shareable_results` makes the version meant to leave a site: no per-patient data, counts
from 1 to threshold - 1 replaced by ``"<threshold"``, and summaries of groups that small
withheld.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
from ibis import BaseBackend

from myositis.registry.schema import TABLES

#: Keys whose integer values are counts of patients or events (suppressed when small).
COUNT_KEYS: Final = frozenset(
    {
        "n",
        "count",
        "cumulative_count",
        "remaining",
        "excluded",
        "events",
        "patients",
        "at_index",
        "stopped",
        "tapered",
        "continued",
        "n_risk",
        "n_event",
        "n_censor",
        "censored",
        "later",
        "no_response",
        "serious",
        "led_to_discontinuation",
        "at_or_below_label",
        "no_label_dose",
        "not_evaluable",
        "escalated",
        "stayed_on_starting_regimen",
        "with_concomitant_at_index",
        "active_at_baseline",
        "n_with_both",
        "n_missing",
        "ongoing_at_cutoff",
        "outside_treatment",
        "missing",
    }
)
#: Keys holding per-patient data, never shared.
PATIENT_KEYS: Final = frozenset({"patients", "problems"})


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


def _small(value: Any, threshold: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold


def _suppress(node: Any, threshold: int, hidden: list[int]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        # A summary or proportion of a small group reveals the group: withhold it whole.
        if _small(node.get("n"), threshold) and any(
            k in node for k in ("mean", "proportion", "median")
        ):
            hidden.append(1)
            return {"n": f"<{threshold}", "suppressed": True}
        for key, value in node.items():
            if key in PATIENT_KEYS and isinstance(value, list):
                continue
            if key in COUNT_KEYS and _small(value, threshold):
                hidden.append(1)
                out[key] = f"<{threshold}"
            else:
                out[key] = _suppress(value, threshold, hidden)
        return out
    if isinstance(node, list):
        return [_suppress(v, threshold, hidden) for v in node]
    return node


def shareable_results(results: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The results with small cells suppressed and per-patient data removed."""
    hidden: list[int] = []
    body = {k: v for k, v in results.items() if k not in ("patients", "local_use")}
    out = _suppress(json_ready(body), threshold, hidden)
    out["small_cell_suppression"] = {
        "threshold": threshold,
        "rule": f"counts from 1 to {threshold - 1} are shown as '<{threshold}'; summaries of "
        "groups that small are withheld; no per-patient data",
        "cells_suppressed": len(hidden),
    }
    return dict(out)


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
    "COUNT_KEYS",
    "data_fingerprint",
    "iter_numbers",
    "json_ready",
    "shareable_results",
    "write_json",
]
