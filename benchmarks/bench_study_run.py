"""Benchmark: a study run on a 1-million-person registry, on DuckDB and on PostgreSQL, and the
share of its time spent on the data fingerprint.

Makes a SYNTHETIC registry with ``myositis registry synth -n N`` (which records the
fingerprint), copies it into PostgreSQL with ``myositis registry copy`` (which records it
there too), then times, each in a fresh child process (so that the peak RSS is that
process's own), ``--runs`` times per engine, medians reported:

- ``run``: ``run_study`` of the bundled study (jak-refractory-dm), as ``myositis study run``
  does; the fingerprint step (from its "fingerprinting" progress message to the next) is the
  recorded fingerprint verified by row counts and per-column aggregates;
- ``full``: the fingerprint computed inside the engine from every row (what a registry
  without a record, e.g. made by hand, costs; what ``registry check`` does);
- ``previous``: the fingerprint as this software computed it before (at commit 4aec55e: inside
  DuckDB for a DuckDB registry; for PostgreSQL every row fetched into Python as Arrow and
  hashed by a local DuckDB), the comparison measured in the same run.

The results replace the "Study run and data fingerprint" section of docs/benchmarks.md.

Usage:  python benchmarks/bench_study_run.py [--persons 1000000] [--runs 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--workdir DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from record import byte_compile_package, load, machine, postgres_version, versions, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Study run and data fingerprint"
SPEC = "jak-refractory-dm"

CHILD_RUN = """
import json, sys, time
from myositis.study.runner import run_study
began = time.perf_counter()
marks = []
def progress(message, done=None, total=None):
    marks.append((time.perf_counter(), message))
result = run_study(sys.argv[2], sys.argv[3], sys.argv[4], progress=progress)
total = time.perf_counter() - began
steps = [(b[0] - a[0]) for a, b in zip(marks, marks[1:]) if a[1].startswith("fingerprinting")]
method = result.results["data_fingerprint_method"]["method"]
print(json.dumps({"seconds": total, "fingerprint": steps[0], "method": method,
                  "value": result.results["data_fingerprint"]}))
"""

CHILD_FULL = """
import json, sys, time
from myositis.registry.connect import connect
con = connect(sys.argv[2])
began = time.perf_counter()
from myositis.registry.fingerprint import data_fingerprint
value = data_fingerprint(con)
print(json.dumps({"seconds": time.perf_counter() - began, "value": value}))
"""

#: The fingerprint before this version (src/myositis/registry/fingerprint.py at 4aec55e),
#: kept here as the comparison.
CHILD_PREVIOUS = """
import hashlib, json, sys, time
import duckdb, ibis
from ibis.backends.duckdb import Backend as DuckDBBackend
from myositis.registry.connect import connect
from myositis.registry.schema import TABLES
DIGEST = ("SELECT count(*), sum(md5_number_upper(t)), sum(md5_number_lower(t)) "
          "FROM (SELECT {text} AS t FROM {source} AS r)")
def text(columns):
    return " || chr(31) || ".join(
        f"CASE WHEN r.\\"{c}\\" IS NULL THEN 'N' ELSE 'V' || CAST(r.\\"{c}\\" AS VARCHAR) END"
        for c in columns)
con = connect(sys.argv[2])
began = time.perf_counter()
digest = hashlib.sha256()
local = None if isinstance(con, DuckDBBackend) else duckdb.connect()
for name, schema in TABLES.items():
    if name == "registry_metadata":
        continue
    table = con.table(name)
    typed = table.select(*[table[c].cast(t).name(c) for c, t in schema.items()])
    if local is None:
        row = con.raw_sql(DIGEST.format(text=text(schema.names),
                                        source=f"({ibis.to_sql(typed, dialect='duckdb')})"))
    else:
        local.register("rows", typed.to_pyarrow().cast(schema.to_pyarrow()))
        row = local.execute(DIGEST.format(text=text(schema.names), source="rows"))
    ((count, upper, lower),) = row.fetchall()
    digest.update(f"{name}\\x00{count}\\x00{upper or 0}\\x00{lower or 0}\\x00".encode())
print(json.dumps({"seconds": time.perf_counter() - began, "value": digest.hexdigest()}))
"""

CHILDREN = {"run": CHILD_RUN, "full": CHILD_FULL, "previous": CHILD_PREVIOUS}


def _child(kind: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process; its JSON result and its own peak RSS."""
    # every run makes its checks: this measures them (myositis.registry.checked would reuse
    # them on an unchanged file)
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "MYOSITIS_INTEGRITY_CACHE": "off"}
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILDREN[kind], kind, *args], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} {args} failed")
    result = json.loads(output.decode().strip().splitlines()[-1])
    return result | {"wall": time.perf_counter() - began, "rss": usage.ru_maxrss / 1024}


def _cli(*args: str) -> float:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "myositis.cli", *args], check=True, env=env)
    return time.perf_counter() - began


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _measure(engine: str, data: str, runs: int, work: Path) -> dict[str, Any]:
    measured: dict[str, Any] = {"data": data}
    for kind in ("run", "full", "previous"):
        results = []
        for index in range(runs):
            args = [data] if kind != "run" else [SPEC, data, str(work / f"out-{engine}-{index}")]
            results.append(_child(kind, *args))
            print(engine, kind, index, json.dumps(results[-1]), flush=True)
        measured[kind] = results
    return measured


def _section(args: argparse.Namespace, setup: dict[str, Any], engines: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        f"`myositis study run {SPEC}` (the bundled study) on a SYNTHETIC registry of "
        f"{args.persons:,} persons made by `myositis registry synth -n {args.persons}` "
        f"({setup['synth']:.0f} s, fingerprint recorded included) and copied into PostgreSQL "
        f"by `myositis registry copy` ({setup['copy']:.0f} s, both fingerprints computed from "
        "every row and compared). Each measurement in a fresh process; medians of "
        f"{args.runs} runs; peak RSS of that process. *Run*: `run_study` from the call to its "
        "return (the process start is not included); the fingerprint step is the recorded "
        "fingerprint verified by row counts and per-column aggregates. *Full*: the fingerprint "
        "computed inside the engine from every row (a registry without a record, "
        "`registry check`). *Previous*: the fingerprint as computed before this version "
        "(commit 4aec55e; PostgreSQL rows fetched into Python), measured in the same run.",
        "",
        "Command: `python benchmarks/bench_study_run.py --persons "
        f"{args.persons} --runs {args.runs}`",
        "",
        f"Machine: {machine()}; load average {setup['load']} before the run, {load()} after "
        "(a machine shared with other work)",
        "",
        f"Versions: {versions('duckdb', 'ibis-framework', 'pyarrow', 'psycopg')}"
        + (f", {postgres_version(args.postgres)}" if args.postgres else "")
        + "",
        "",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| engine | study run (s) | fingerprint step (s) | share | run peak RSS (MiB) | "
        "full fingerprint (s) | share if computed in the run | full RSS (MiB) | previous (s) | "
        "previous RSS (MiB) | previous / now |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, m in engines.items():
        run, step = _median(m["run"], "seconds"), _median(m["run"], "fingerprint")
        full, previous = _median(m["full"], "seconds"), _median(m["previous"], "seconds")
        without = run - step
        lines.append(
            f"| {engine} | {run:.1f} | {step:.2f} | **{step / run:.1%}** | "
            f"{_median(m['run'], 'rss'):.0f} | {full:.1f} | {full / (without + full):.0%} | "
            f"{_median(m['full'], 'rss'):.0f} | {previous:.1f} | "
            f"{_median(m['previous'], 'rss'):.0f} | {previous / step:.0f}x |"
        )
    values = {r["value"] for m in engines.values() for r in m["run"] + m["full"]}
    lines += [
        "",
        "Every run reported the recorded fingerprint (method `recorded`), and the fingerprint "
        "computed from every row was the same on both engines"
        + (" (one value)." if len(values) == 1 else f": NOT ({len(values)} values)."),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="server (URL without ?schema=); '' to skip PostgreSQL",
    )
    parser.add_argument("--workdir", type=Path, help="keep the registry here between runs")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    byte_compile_package()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        registry = work / f"registry-{args.persons}.duckdb"
        setup: dict[str, Any] = {"synth": 0.0, "copy": 0.0, "load": load()}
        setup["synth"] = _cli(
            "registry", "synth", "-n", str(args.persons), "--sites", "4", "--seed", "2026",
            "-o", str(registry), "--overwrite", "--quiet",
        )  # fmt: skip
        engines = {"DuckDB": _measure("duckdb", str(registry), args.runs, work)}
        if args.postgres:
            url = f"{args.postgres}?schema=engines_bench"
            setup["copy"] = _cli("registry", "copy", str(registry), url, "--replace", "--quiet")
            engines["PostgreSQL"] = _measure("postgres", url, args.runs, work)
    section = _section(args, setup, engines)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
