"""What every benchmark records beside its figures: the machine, the versions, the load, and its
section of docs/benchmarks.md (these machines are shared and noisy, so the load is part of the
result; each benchmark rewrites only its own section)."""

from __future__ import annotations

import compileall
import json
import os
import platform
import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"


def byte_compile_package() -> None:
    """Compile this checkout's package to bytecode (``src/myositis/**/__pycache__``, ignored by
    git), as ``pip install`` does when it installs the package.

    Why: the benchmarks start fresh processes with ``src`` on the path. Where the environment
    says not to write bytecode (``PYTHONDONTWRITEBYTECODE``, set on these machines), each such
    process compiled every module of the package from its source again, work no installed
    copy does: 0.13 to 0.27 s of each process that imports the study runner (``python -c
    "import myositis.study.runner, myositis.cli.study"``, 4 alternated pairs, 6 December 2026).
    Python reads the bytecode whatever that setting says, and compiles again only a module
    whose source changed."""
    compileall.compile_dir(ROOT / "src" / "myositis", quiet=1)


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPUs available to this process, CPU model, memory and kernel."""
    cpuinfo = Path("/proc/cpuinfo")
    model = re.search(
        r"^model name\s*:\s*(.+)$", cpuinfo.read_text() if cpuinfo.exists() else "", re.M
    )
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists() and (found := re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())):
        mem = f"{int(found.group(1)) / 2**20:.1f} GiB"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = model.group(1).strip() if model else platform.processor() or platform.machine()
    return (
        f"{nproc} CPUs (nproc), CPU model '{cpu}' ({platform.machine()}), {mem} RAM, "
        f"{platform.system()} {platform.release()}"
    )


def versions(*distributions: str) -> str:
    """Python, this package and the named distributions (as pip names them), with versions."""
    parts = [f"Python {platform.python_version()}"]
    for name in ("myositis-outcomes", *distributions):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def postgres_version(server: str) -> str:
    """The version the PostgreSQL server at ``server`` (a postgresql:// URL) reports."""
    import psycopg

    with psycopg.connect(server) as pg:
        row = pg.execute("SHOW server_version").fetchone()
    return f"PostgreSQL server {row[0] if row else '?'}"


def write_section(section: str) -> None:
    """Put ``section`` (markdown starting with its ``## `` heading) into docs/benchmarks.md,
    replacing the section of that heading or appending it."""
    heading = section.splitlines()[0]
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    DOC.write_text(text)


def cached(path: Path, reuse: bool, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A measurement saved in ``path`` (JSON) by an earlier run (with ``reuse``), else a new
    one, saved there: an interrupted benchmark resumes where it stopped."""
    if reuse and path.exists():
        found: dict[str, Any] = json.loads(path.read_text())
        return found
    result = measure()
    path.write_text(json.dumps(result))
    return result
