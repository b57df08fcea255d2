"""The checks a study run makes of its registry before the cohort (the integrity rules, the data
fingerprint, the coded values no study can match, the records dated well after a death), and
what it reuses of them for a DuckDB file
that has not changed since an earlier run made them.

Why. The checks read every table. On a SYNTHETIC registry of 1,000,000 persons the integrity
rules took 0.63 s of a 4.6 s ``myositis study run`` (5 December 2026, docs/benchmarks.md), and
a registry whose fingerprint was not recorded when it was written (one made by ``myositis
import``, or by hand) has it computed from every row: the run took 6.9 s. Checking again a file
that has not changed finds nothing new.

*Not changed* is what the operating system says of the file and of its write-ahead log
(``FILE.wal``, where DuckDB writes before it checkpoints): device, inode, size, modification
time and status-change time (``st_ctime``), in nanoseconds. The kernel sets the status-change
time on every write, and no tool can set it back, so a file that was written to has a
different state even with its size and modification time restored (on Windows, where
``st_ctime`` is the creation time, a write is seen by its modification time and size). What
was found also depends on the software (its version and a hash of its files: a change of the
rules or of the code sets checks again) and on DuckDB's version. The state is read before the
checks, so a change made during them gives a state nothing was kept for.

Kept: one small JSON file per file state in the ``checked`` folder of the cache folder
(:mod:`myositis.cache`): when the rules were checked, the fingerprint and how it was obtained,
the coded-value notes, the note on records dated after a death. Only a registry that passed
the rules is kept (one that breaks a rule is checked, and refused, on every run).
``MYOSITIS_INTEGRITY_CACHE=off`` checks every run. PostgreSQL and Spark registries, folders of
CSV or Parquet files and OMOP databases read live are checked on every run; ``myositis
registry check`` always checks every rule and computes the fingerprint from every row. The
run's results say which was done (``data_integrity``, and the fingerprint's ``detail``).
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
from myositis.registry.death import described, records_after_death
from myositis.registry.fingerprint import Fingerprint, verified_fingerprint
from myositis.registry.integrity import check_integrity
from myositis.registry.vocabulary import vocabulary_problems


@dataclass(frozen=True)
class IntegrityStep:
    """How a run established that its registry keeps the integrity rules."""

    method: Literal["checked", "unchanged"]
    detail: str
    checked_at: str | None = None  # when the rules were checked on this file

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"method": self.method, "detail": self.detail}
        if self.checked_at:
            found["checked_at"] = self.checked_at
        return found


def enabled() -> bool:
    """Whether what runs found is read and kept (``MYOSITIS_INTEGRITY_CACHE`` is not ``off``)."""
    return os.environ.get("MYOSITIS_INTEGRITY_CACHE", "").lower() != "off"


def _state(path: Path) -> list[int] | None:
    try:
        s = path.stat()
    except FileNotFoundError:
        return None
    return [s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns]


def file_key(con: BaseBackend, location: Location) -> str | None:
    """The key of what runs found on the registry file in its present state (module
    docstring), or None when the registry is not a DuckDB file or keeping is off."""
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


def _folder() -> Path:
    return cache_root() / "checked"


def _usable(kept: Any) -> bool:
    return (
        isinstance(kept, dict)
        and isinstance(kept.get("checked_at"), str)
        and isinstance(kept.get("fingerprint"), dict)
        and {"value", "method", "detail"} <= kept["fingerprint"].keys()
        and isinstance(kept.get("unmatched"), list)
        and isinstance(kept.get("after_death"), list)
    )


class RegistryChecks:
    """The checks of one run on the registry ``con`` at ``location``, each reused when an
    earlier run made it on the same file in the same state (module docstring). Call
    :meth:`integrity`, :meth:`fingerprint`, :meth:`coded_values` and :meth:`after_death` in
    that order, then :meth:`keep`."""

    def __init__(self, con: BaseBackend, location: Location) -> None:
        self._con = con
        self._location = location
        # the state before the checks: a change made during them gives another key
        self._key = file_key(con, location)
        kept = read_kept(_folder(), self._key) if self._key else None
        self._kept: dict[str, Any] | None = kept if _usable(kept) else None
        self._found: dict[str, Any] = {}

    def integrity(self) -> IntegrityStep:
        """The integrity rules (raising :class:`RegistryIntegrityError` naming every broken
        rule), or the earlier pass of an unchanged file."""
        if self._kept is not None:
            at = self._kept["checked_at"]
            return IntegrityStep(
                "unchanged",
                f"every rule passed when checked at {at}, and the file has not changed since "
                "(its size, modification and status-change times and its write-ahead log), so "
                "it was not checked again; 'myositis registry check' checks every rule",
                at,
            )
        check_integrity(self._con, where=self._location.describe())
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._found["checked_at"] = at
        return IntegrityStep(
            "checked", "every rule checked now, inside the engine", at if self._key else None
        )

    def fingerprint(self, metadata: dict[str, str]) -> Fingerprint:
        """The data fingerprint (:func:`verified_fingerprint`), or the one an earlier run
        obtained from the unchanged file, saying so."""
        if self._kept is not None:
            was = self._kept["fingerprint"]
            again = "verified" if was["method"] == "recorded" else "computed"
            return Fingerprint(
                was["value"],
                was["method"],
                f"obtained by a run at {self._kept['checked_at']}: {was['detail']}; the file "
                f"has not changed since, so it was not {again} again",
                was.get("recorded_at"),
            )
        found = verified_fingerprint(self._con, metadata)
        self._found["fingerprint"] = {"value": found.value, **found.as_dict()}
        return found

    def coded_values(self) -> list[str]:
        """The coded values no study can match (:func:`vocabulary_problems`)."""
        if self._kept is not None:
            return [str(note) for note in self._kept["unmatched"]]
        found = vocabulary_problems(self._con)
        self._found["unmatched"] = found
        return found

    def after_death(self) -> list[str]:
        """The records dated more than 60 days after the person's death, as one note
        (:func:`myositis.registry.death.records_after_death`; OHDSI DQD
        ``plausibleBeforeDeath``: a warning, never a refusal), or none."""
        if self._kept is not None:
            return [str(note) for note in self._kept["after_death"]]
        found = described(records_after_death(self._con))
        self._found["after_death"] = found
        return found

    def keep(self) -> None:
        """Keep what this run found, for a DuckDB file whose every check was made (and whose
        rules passed: a failure raised before this)."""
        found = self._found | {"file": str(self._location.path)}
        if self._key is not None and self._kept is None and _usable(found):
            keep_json(_folder(), self._key, found)


__all__ = ["IntegrityStep", "RegistryChecks", "enabled", "file_key"]
