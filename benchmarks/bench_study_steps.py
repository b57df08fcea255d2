"""Benchmark: the seconds of each step of ``run_study`` (results.json ``run.steps``), wall
and CPU, in one process: a warm-up run, then the median of ``--runs`` runs.

CPU seconds (``time.process_time``: this process, DuckDB's threads included) are reported
beside the wall seconds because on a shared machine the wall time of a step mostly measures
the other processes; compare the CPU column when the load average is above the CPUs.

Usage:  python benchmarks/bench_study_steps.py REGISTRY [--runs 3] [--out DIR]
        (REGISTRY: e.g. one made by ``myositis registry synth -n 1000000 --preset
        referral-centre --sites 4 --seed 2026 -o r1m.duckdb``)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import myositis.progress as progress
from myositis.study.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp()) / "study"
    cpu: list[tuple[str, float]] = []
    timed = progress.StepTimes.step

    @contextmanager
    def step(self: progress.StepTimes, name: str) -> Iterator[None]:
        began = time.process_time()
        try:
            with timed(self, name):
                yield
        finally:
            cpu.append((name, time.process_time() - began))

    progress.StepTimes.step = step  # type: ignore[method-assign]
    wall_steps: dict[str, list[float]] = {}
    cpu_steps: dict[str, list[float]] = {}
    totals: list[tuple[float, float]] = []
    for run in range(args.runs + 1):
        shutil.rmtree(out, ignore_errors=True)
        cpu.clear()
        began, began_cpu = time.perf_counter(), time.process_time()
        results = run_study(SPEC, args.registry, out).results
        total = (time.perf_counter() - began, time.process_time() - began_cpu)
        if run == 0:
            print(f"warm-up: {total[0]:.3f} s wall, {total[1]:.3f} s CPU")
            continue
        totals.append(total)
        for s in results["run"]["steps"]:
            wall_steps.setdefault(str(s["step"]), []).append(float(s["seconds"]))
        for name, seconds in cpu:
            cpu_steps.setdefault(name, []).append(seconds)
    median = statistics.median
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| step | wall (s) | CPU (s) |\n|---|---:|---:|")
    for name, walls in wall_steps.items():
        print(f"| {name} | {median(walls):.3f} | {median(cpu_steps[name]):.3f} |")
    print(
        f"| whole run | {median(t[0] for t in totals):.3f} | {median(t[1] for t in totals):.3f} |"
    )


if __name__ == "__main__":
    main()
