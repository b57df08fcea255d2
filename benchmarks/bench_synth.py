"""Benchmark: synthetic registry generation time and peak memory (bounded by batching).

Runs ``generate_registry`` in a fresh child process for each size (so peak RSS is that
process's own), and writes the results to the "Synthetic registry" section of
docs/benchmarks.md (other sections of that file are left as they are).

Usage:  python benchmarks/bench_synth.py [--sizes 200000 1000000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import machine, versions, write_section

ROOT = Path(__file__).resolve().parents[1]
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
        f"Machine: {machine()}",
        "",
        f"Versions: {versions('numpy', 'pyarrow', 'duckdb', 'ibis-framework')}",
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
        write_section(section)


if __name__ == "__main__":
    main()
