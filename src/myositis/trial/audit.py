"""An append-only audit log in JSON lines, hash-chained so that an edit is detected.

Each line is one JSON object with the event's fields plus ``seq`` (1, 2, ...), ``prev`` (the
previous line's hash; 64 zeros for the first) and ``hash`` = SHA-256 of ``prev`` followed by
the canonical JSON (sorted keys, no spaces) of the line without ``hash``. :func:`read_log`
recomputes the chain on every read and raises naming the first line that does not match:
a changed value, a removed or inserted line, or lines out of order all break it.

Limits (docs/trial.md): the chain shows that the file was changed, not who changed it, and
cutting lines off the end leaves a shorter valid chain. Against that, every receipt handed out
carries the hash of its line (a later log must contain it), and ``head`` gives the current
last hash and count for the unblinded statistician to record elsewhere.

Appending takes an exclusive lock (``fcntl.flock``) on a ``.lock`` file beside the log, so two
simultaneous randomisations cannot take the same slot.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from myositis.errors import TrialDesignError

GENESIS = "0" * 64


def _digest(prev: str, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


@contextlib.contextmanager
def locked(path: Path, mode: int = 0o640) -> Iterator[None]:
    """Hold an exclusive lock for the log at ``path`` while the block runs."""
    lock = path.with_name(path.name + ".lock")
    handle = os.open(lock, os.O_CREAT | os.O_RDWR, mode)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every entry of the log, after verifying the whole chain."""
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise TrialDesignError(
                f"{path}, line {number}: not a log entry (not valid JSON); the audit log was "
                "changed outside the tool. Stop allocating and tell the trial statistician."
            ) from None
        claimed = entry.pop("hash", None)
        if (
            entry.get("seq") != number
            or entry.get("prev") != prev
            or claimed != _digest(prev, entry)
        ):
            raise TrialDesignError(
                f"{path}, line {number}: the audit log's hash chain is broken (a line was "
                "edited, removed, inserted or reordered outside the tool). Stop allocating "
                "and tell the trial statistician; keep the file as it is for investigation."
            )
        entry["hash"] = claimed
        entries.append(entry)
        prev = claimed
    return entries


def append(
    path: Path, event: dict[str, Any], entries: list[dict[str, Any]], mode: int = 0o640
) -> dict[str, Any]:
    """Append ``event`` after the verified ``entries`` (the caller holds :func:`locked`); a
    new file gets ``mode``."""
    prev = entries[-1]["hash"] if entries else GENESIS
    entry = {**event, "seq": len(entries) + 1, "prev": prev}
    entry["hash"] = _digest(prev, entry)
    line = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str) + "\n"
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(handle, line.encode("utf-8"))
        os.fsync(handle)
    finally:
        os.close(handle)
    return entry


def head(path: Path) -> tuple[int, str]:
    """(number of entries, hash of the last) of a verified log."""
    entries = read_log(path)
    return len(entries), entries[-1]["hash"] if entries else GENESIS


__all__ = ["GENESIS", "append", "head", "locked", "read_log"]
