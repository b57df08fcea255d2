"""``results.json``: every number of a report, machine-readable, with its provenance.

Provenance: ``spec_sha256`` (the validated specification's canonical hash), ``data_fingerprint``
(:mod:`myositis.registry.fingerprint`), ``software_version``, ``generated_at`` (UTC) and
``synthetic`` (from ``registry_metadata``). A report is rendered from this dictionary alone, so
``myositis report results.json`` renders it again.

The results hold exact counts and a per-patient listing, and say they are for local use only.
What may leave a site is the per-site aggregate packages (:mod:`myositis.network`), whose
suppression also hides the complementary cells.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from myositis.errors import MyositisError
from myositis.report.kernel import write_text_atomic


def json_ready(value: Any) -> Any:
    """Plain JSON: NaN/inf -> None, dates -> ISO text, tuples -> lists, keys -> text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


#: One value as standard JSON (no NaN, unicode kept) on one line, by Python's C encoder (used
#: when nothing is indented): the JSON of results.json's lines and of the page's results.
encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def dumps(results: Any) -> str:
    """Standard JSON (no NaN) of a results tree, laid out for people and for diffs: each member
    of the top level on a line of its own, and each member or item of those one level down
    (a patient, an attrition line, a table row), whatever it holds on that line.

    Why not ``json.dumps(..., indent=2)``: indenting takes Python's pure-Python encoder, and
    puts every number of a 1,307-patient study on a line of its own (124,399 lines, 3.0 MB);
    this layout has its lines written by the C encoder (2,782 lines, 2.0 MB; 78 against 155
    ms, docs/benchmarks.md)."""
    return _laid_out(json_ready(results), "", 2) + "\n"


def _laid_out(value: Any, indent: str, levels: int) -> str:
    """``value`` as JSON, its members (or items) on lines of their own for ``levels`` levels."""
    if levels == 0 or not isinstance(value, dict | list) or not value:
        return encode(value)
    inner = indent + "  "
    if isinstance(value, dict):
        lines = [f"{inner}{encode(k)}: {_laid_out(v, inner, levels - 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(lines) + f"\n{indent}}}"
    lines = [inner + _laid_out(v, inner, levels - 1) for v in value]
    return "[\n" + ",\n".join(lines) + f"\n{indent}]"


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write results as standard JSON (no NaN) laid out by :func:`dumps`, atomically."""
    return write_text_atomic(path, dumps(results))


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a ``results.json`` written by this software; clear errors for anything else."""
    source = Path(path)
    if source.is_dir():
        candidate = source / "results.json"
        if not candidate.exists():
            raise MyositisError(
                f"{source}: is a folder without results.json; give the results.json that a "
                "run wrote (for example demo-report/results.json)"
            )
        source = candidate
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MyositisError(
            f"{source}: no such file; give the results.json that a run wrote"
        ) from None
    except UnicodeDecodeError:
        raise MyositisError(f"{source}: is not UTF-8 text, so not a results.json") from None
    except OSError as exc:
        raise MyositisError(f"{source}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise MyositisError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); give "
            "the results.json that a run wrote, unchanged"
        ) from None
    if isinstance(data, dict) and data.get("format") == "myositis-multisite-results":
        raise MyositisError(
            f"{source}: is the combined.json of 'myositis evidence combine', whose report.html "
            "that command writes; 'myositis report' renders the results.json of a study run"
        )
    if not isinstance(data, dict) or "kind" not in data:
        raise MyositisError(
            f"{source}: not a results file of myositis-outcomes (no 'kind' member); give the "
            "results.json that 'myositis study run', 'demo' or 'evidence' wrote"
        )
    return data


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


__all__ = ["dumps", "encode", "iter_numbers", "json_ready", "read_results", "write_json"]
