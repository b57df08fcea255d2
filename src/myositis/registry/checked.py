"""A study run's integrity step: every rule checked (:mod:`myositis.registry.integrity`), unless
the registry is a DuckDB file that passed every rule and has not changed since.

Why. The rules read every table: on a SYNTHETIC registry of 1,000,000 persons the step took
0.63 s of a 4.7 s ``myositis study run`` (5 December 2026, docs/benchmarks.md), and it grows
with the rows. Checking again a file that has not changed since it passed finds nothing new.

*Not changed* is what the operating system says of the file and of its write-ahead log
(``FILE.wal``, where DuckDB writes before it checkpoints): device, inode, size, modification
time and status-change time (``st_ctime``), in nanoseconds. The kernel sets the status-change
time on every write, and no tool can set it back, so a file that was written to has a
different state even with its size and modification time restored. The verdict also depends
on the software (its version and a hash of its files, so a change of the rules checks again)
and on DuckDB's version. The state is read before the check, so a change made during the
check gives a state no verdict was kept for.

Kept: one small JSON file per verdict in the ``checked`` folder of the cache folder
(:mod:`myositis.cache`), only for a pass (a registry that breaks a rule is checked, and
refused, on every run). ``MYOSITIS_INTEGRITY_CACHE=off`` checks every run. PostgreSQL and Spark
registries, folders of CSV or Parquet files and OMOP databases read live are checked on every
run. ``myositis registry check`` always checks every rule. The run's results say which was
done (``data_integrity``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ibis import BaseBackend

from myositis.cache import cache_root, keep_json, read_kept, software_digest
from myositis.registry.connect import Location, engine_version
from myositis.registry.integrity import check_integrity


@dataclass(frozen=True)
class IntegrityStep:
    """How a run established that its registry keeps the integrity rules."""

    method: Literal["checked", "unchanged"]
    detail: str
    checked_at: str | None = None  # when the rules were last checked on this file

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"method": self.method, "detail": self.detail}
        if self.checked_at:
            found["checked_at"] = self.checked_at
        return found


CHECKED: IntegrityStep = IntegrityStep("checked", "every rule checked now, inside the engine")


def enabled() -> bool:
    """Whether verdicts are read and kept (``MYOSITIS_INTEGRITY_CACHE`` is not ``off``)."""
    return os.environ.get("MYOSITIS_INTEGRITY_CACHE", "").lower() != "off"


def _state(path: Path) -> list[int] | None:
    try:
        s = path.stat()
    except FileNotFoundError:
        return None
    return [s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns]


def file_key(con: BaseBackend, location: Location) -> str | None:
    """The key of the registry file's verdict in its present state (module docstring), or None
    when the registry is not a DuckDB file or verdicts are off."""
    path = location.path
    if location.engine != "duckdb" or location.omop or path is None or not enabled():
        return None
    path = path.resolve()
    if not path.is_file():
        return None
    state = {
        "file": str(path),
        "stat": _state(path),
        "wal": _state(path.with_name(path.name + ".wal")),
        "software": software_digest(),
        "duckdb": engine_version(con),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()


def integrity_step(con: BaseBackend, location: Location) -> IntegrityStep:
    """Check the integrity rules on ``con`` (raising :class:`RegistryIntegrityError` naming
    every broken rule), or skip them for a DuckDB file that passed them and has not changed
    since (module docstring); keep the verdict of a file that passes."""
    key = file_key(con, location)  # before the check: a change during it gives another key
    folder = cache_root() / "checked"
    if key is not None:
        kept = read_kept(folder, key)
        if isinstance(kept, dict) and isinstance(kept.get("checked_at"), str):
            at = kept["checked_at"]
            return IntegrityStep(
                "unchanged",
                f"every rule passed when checked at {at}, and the file has not changed since "
                "(its size, modification and status-change times and its write-ahead log), so "
                "it was not checked again; 'myositis registry check' checks every rule",
                at,
            )
    check_integrity(con, where=location.describe())
    if key is None:
        return CHECKED
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    keep_json(folder, key, {"file": str(location.path), "checked_at": at})
    return IntegrityStep(CHECKED.method, CHECKED.detail, at)


__all__ = ["CHECKED", "IntegrityStep", "enabled", "file_key", "integrity_step"]
