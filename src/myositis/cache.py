"""What this software keeps between runs, and where: the cache folder and the key parts every
kept thing shares.

Kept there: compiled cohort plans (:mod:`myositis.cohort.plans`, folder ``plans``) and what
study runs found when they checked DuckDB registry files, reused while a file is unchanged
(:mod:`myositis.registry.checked`, folder ``checked``). The folder is ``$MYOSITIS_CACHE_DIR``, else
``$XDG_CACHE_HOME/myositis-outcomes``, else ``~/.cache/myositis-outcomes`` (the XDG Base
Directory convention); everything in it may be deleted at any time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import myositis


def cache_root() -> Path:
    """The cache folder (module docstring); it need not exist yet."""
    base = os.environ.get("MYOSITIS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "myositis-outcomes"


@functools.cache
def software_digest() -> str:
    """This package's version and a hash of its source and data files (``VERSION+HASH``): a
    change of code gives new keys even without a release."""
    root = Path(myositis.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".csv", ".yaml", ".json", ".j2"}:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return f"{myositis.__version__}+{digest.hexdigest()[:16]}"


def read_kept(folder: Path, key: str) -> Any:
    """The JSON value kept under ``key`` in ``folder``; None when there is none or it cannot
    be read (a cache miss, never an error)."""
    try:
        return json.loads((folder / f"{key}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def keep_json(folder: Path, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` in ``folder``, written whole or not at all (a temporary
    file renamed); a folder that cannot be written keeps nothing, silently."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8"
        ) as out:
            json.dump(value, out)
        os.replace(out.name, folder / f"{key}.json")
    except OSError:
        return  # a cache that cannot be written is no cache, not an error


__all__ = ["cache_root", "keep_json", "read_kept", "software_digest"]
