"""Benchmark: synthetic registry generation time and peak memory (bounded by batching).

Runs ``generate_registry`` in a fresh child process for each size (so peak RSS is that
process's own), and writes the results to the "Synthetic registry" section of
docs/benchmarks.md (other sections of that file are left as they are).

Usage:  python benchmarks/bench_synth.py [--sizes 200000 1000000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Synthetic registry"

CHILD = """
import sys
from myositis.sources.synthetic import generate_registry
generate_registry(sys.argv[1], patients=int(sys.argv[2]), sites=4, seed=2026)
"""


def _run(size: int, folder: Path) -> dict[str, float]:
    out = folder / f"synth-{size}.duckdb"
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(size)])
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"generation of {size} persons failed ({child.returncode})")
    peak_mib = usage.ru_maxrss / 1024  # Linux reports KiB
    size_mib = out.stat().st_size / 2**20
    return {"wall_s": wall, "peak_rss_mib": peak_mib, "mib": size_mib, **_rows(out)}


def _rows(path: Path) -> dict[str, float]:
    from myositis.registry.connect import connect
    from myositis.registry.schema import TABLES

    con = connect(path, read_only=True)
    counts = {name: float(con.table(name).count().execute()) for name in TABLES}
    con.disconnect()
    return counts


def _machine() -> str:
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        if match:
            mem = f"{int(match.group(1)) / 2**20:.1f} GiB"
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPUs (nproc), {mem} RAM, {cpu}, {platform.system()} {platform.release()}"
    )


def _versions() -> str:
    import duckdb
    import ibis
    import numpy
    import pyarrow

    from myositis import __version__

    return (
        f"Python {platform.python_version()}, myositis-outcomes {__version__}, numpy "
        f"{numpy.__version__}, pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}, "
        f"ibis {ibis.__version__}"
    )


def _section(results: dict[int, dict[str, float]]) -> str:
    lines = [
        SECTION,
        "",
        "`generate_registry(path, patients=N, sites=4, seed=2026)` in a fresh process per size,",
        "written in batches of 50,000 persons appended to DuckDB as Arrow tables.",
        "",
        "Command: `python benchmarks/bench_synth.py --sizes "
        + " ".join(str(s) for s in results)
        + "`",
        "",
        f"Machine: {_machine()}",
        "",
        f"Versions: {_versions()}",
        "",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| persons | wall time (s) | peak RSS (MiB) | file (MiB) | diagnosis rows | "
        "drug_exposure rows | assessment rows | DM patients |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, r in results.items():
        lines.append(
            f"| {size:,} | {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} | {r['mib']:.0f} | "
            f"{int(r['diagnosis']):,} | {int(r['drug_exposure']):,} | "
            f"{int(r['assessment']):,} | {int(r['dm_subtype']):,} |"
        )
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        lines += [
            "",
            f"Persons x{sizes[-1] / sizes[0]:.0f}: wall time x"
            f"{large['wall_s'] / small['wall_s']:.1f}, peak RSS x"
            f"{large['peak_rss_mib'] / small['peak_rss_mib']:.2f}. Each batch is generated,",
            "appended and released before the next, so memory is bounded by the batch size,",
            "not by the number of persons.",
        ]
    lines.append("")
    return "\n".join(lines)


def _write(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sorted(args.sizes):
            results[size] = _run(size, Path(folder))
            print(size, results[size], flush=True)
    section = _section(results)
    print(section)
    if not args.no_write:
        _write(section)


if __name__ == "__main__":
    main()
