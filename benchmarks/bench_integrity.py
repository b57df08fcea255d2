"""Benchmark: the registry integrity pass against the study run it guards, on DuckDB.

On a SYNTHETIC registry of ``--persons`` persons (``generate_registry(..., sites=2, seed=1)``,
made once, or ``--registry`` to use one), times in one process, ``--repeat`` times each:

- the integrity pass alone: ``integrity_problems(connect(registry))`` (every rule of
  :mod:`myositis.registry.integrity`; the registry must pass);
- the bundled study run, ``run_study(studies/jak-refractory-dm.yaml, registry, out)``, which
  includes that pass (and the fingerprint, the cohort, the analyses and the report).

The result is the ratio of the medians (target: a small fraction of the run, issue 10). The
results replace the "Registry integrity" section of docs/benchmarks.md (other sections are left
as they are).

Usage:  python benchmarks/bench_integrity.py [--persons 1000000] [--repeat 5]
        [--registry FILE] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from record import machine, versions, write_section

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
SECTION = "## Registry integrity"


def _times(task: Callable[[], object], repeat: int) -> list[float]:
    task()  # warm-up: imports, the engine's first open
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        task()
        out.append(time.perf_counter() - began)
    return out


def measure(registry: Path, repeat: int, work: Path) -> dict[str, list[float]]:
    from myositis.registry.connect import connect
    from myositis.registry.integrity import integrity_problems
    from myositis.study.runner import run_study

    def integrity() -> None:
        con = connect(registry)
        try:
            problems = integrity_problems(con)
        finally:
            con.disconnect()
        if problems:
            raise SystemExit(f"{registry} breaks integrity rules; benchmark a clean registry")

    def study() -> None:
        run_study(SPEC, registry, work / "report")

    # every run checks the rules: this measures them (myositis.registry.checked would not
    # check an unchanged file again)
    os.environ["MYOSITIS_INTEGRITY_CACHE"] = "off"

    return {"integrity": _times(integrity, repeat), "study": _times(study, repeat)}


def _section(
    persons: int, repeat: int, times: dict[str, list[float]], command: str, load: str
) -> str:
    integrity, study = (statistics.median(times[k]) for k in ("integrity", "study"))
    return "\n".join(
        [
            SECTION,
            "",
            "The integrity pass (`integrity_problems`, every rule of docs/data-model.md,",
            "Integrity) against the bundled study run that includes it, on a SYNTHETIC DuckDB",
            f"registry of {persons:,} persons (`generate_registry(..., sites=2, seed=1)`); one",
            f"process, a warm-up then {repeat} runs each; medians.",
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {machine()}; load average (1 min) {load} (the machine is shared: read "
            "the ratio, measured in the same run, rather than the absolute times)",
            "",
            f"Versions: {versions('numpy', 'pyarrow', 'duckdb', 'ibis-framework')}",
            "",
            f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            "| step | median (s) | runs (s) |",
            "|---|---:|---|",
            f"| integrity pass | {integrity:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in times['integrity'])} |",
            f"| study run (with the pass) | {study:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in times['study'])} |",
            "",
            f"The integrity pass is {100 * integrity / study:.0f} % of the study run.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--registry", type=Path, help="a clean DuckDB registry to use instead")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        registry = args.registry
        if registry is None:
            from myositis.sources.synthetic import generate_registry

            registry = generate_registry(
                work / "registry.duckdb", patients=args.persons, sites=2, seed=1
            )
        before = os.getloadavg()[0]
        times = measure(registry, args.repeat, work)
        load = f"{before:.1f} before, {os.getloadavg()[0]:.1f} after"
    command = (
        f"python benchmarks/bench_integrity.py --persons {args.persons} --repeat {args.repeat}"
    )
    section = _section(args.persons, args.repeat, times, command, load)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
