"""Benchmark: how fast the command line starts (issue 10: ``myositis --help`` and
``--version`` under 0.5 s, any command's ``--help`` under 1 s).

Each command runs in a fresh process, ``python -m myositis.cli ...`` with this checkout's
``src`` first on the path, beside two comparisons measured in the same run: a bare
``python -c pass`` (the interpreter's own start) and ``python -c "import typer"`` (the
command-line library alone). The runs are interleaved round by round, so a burst of load on
this shared machine falls on every command alike; the median of the rounds is reported. The
results replace the "Command-line start-up" section of docs/benchmarks.md (the other sections
are left as they are).

Usage:  python benchmarks/bench_startup.py [--rounds 7] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from record import byte_compile_package, machine, versions, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Command-line start-up"
#: The issue's targets in seconds: the program itself, and any command's help.
TARGET_ROOT, TARGET_COMMAND = 0.5, 1.0


def _commands() -> list[list[str]]:
    """Every command path of the program (groups and leaves), from click's command tree."""
    sys.path.insert(0, str(ROOT / "src"))
    import typer.main

    from myositis.cli import app

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: object, ctx: object, path: list[str]) -> None:
        found.append(path)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)  # type: ignore[attr-defined]
                walk(sub, sub.context_class(sub, info_name=name, parent=ctx), [*path, name])

    walk(root, root.context_class(root, info_name="myositis"), [])
    return found


def _cases() -> dict[str, list[str]]:
    python = [sys.executable]
    cases = {
        "python -c pass": [*python, "-c", "pass"],
        'python -c "import typer"': [*python, "-c", "import typer"],
        "myositis --version": [*python, "-m", "myositis.cli", "--version"],
    }
    for path in _commands():
        cases[" ".join(["myositis", *path, "--help"])] = [*python, "-m", "myositis.cli", *path,
                                                          "--help"]  # fmt: skip
    return cases


def _time(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "100"}
    began = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def _section(
    times: dict[str, list[float]], cpu: dict[str, list[float]], rounds: int, load: str
) -> str:
    median = {name: statistics.median(values) for name, values in times.items()}
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    bare, typer_alone = median["python -c pass"], median['python -c "import typer"']
    lines = [
        SECTION,
        "",
        "Each command in a fresh process (`python -m myositis.cli ...`, output discarded), "
        f"{rounds} rounds interleaved; median and fastest wall time of the rounds, and the "
        "median CPU time (user + system) of the process, which a busy machine inflates less "
        "than the wall time. Comparisons measured "
        'in the same run: `python -c pass` (the interpreter alone) and `python -c "import '
        'typer"` (the command-line library alone). Targets (issue 10): `myositis --help` and '
        f"`--version` under {TARGET_ROOT} s, any command's `--help` under {TARGET_COMMAND} s.",
        "",
        f"Command: `python benchmarks/bench_startup.py --rounds {rounds}`",
        "",
        f"Machine: {machine()}; load average before the run {load} (a shared machine)",
        "",
        f"Versions: {versions('typer', 'rich')}",
        "",
        f"Measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| command | median (s) | fastest (s) | CPU median (s) | x `import typer` | "
        "x `python -c pass` | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for name, values in times.items():
        target = (
            TARGET_ROOT
            if name in ("myositis --help", "myositis --version")
            else TARGET_COMMAND
            if name.startswith("myositis")
            else None
        )
        verdict = "" if target is None else ("yes" if median[name] < target else "**no**")
        if target is not None:
            verdicts.append(median[name] < target)
        lines.append(
            f"| `{name}` | {median[name]:.3f} | {min(values):.3f} | {cpu_median[name]:.3f} | "
            f"{median[name] / typer_alone:.1f} | {median[name] / bare:.1f} | {verdict} |"
        )
    commands = [n for n in times if n.startswith("myositis")]
    slowest = max(commands, key=lambda n: median[n])
    lines += [
        "",
        f"{sum(verdicts)} of {len(verdicts)} commands meet their target on the median wall "
        f"time; the slowest is `{slowest}` ({median[slowest]:.3f} s, "
        f"x{median[slowest] / typer_alone:.1f} a bare `import typer`; CPU "
        f"{cpu_median[slowest]:.3f} s). What the program adds to `import typer` is mostly "
        "rich (the help is drawn with it); no command's help imports Ibis, DuckDB, PyArrow, NumPy, "
        "pydantic, markdown-it or the statistics libraries (tests/cli/test_command_tree.py "
        "checks it), so the help costs the same whatever the command runs. Two things typer "
        "0.29 would load for nothing are avoided (src/myositis/cli/__init__.py): markdown-it, "
        "which its rich help imports but never uses in 'rich' markup mode, and pydantic, which "
        "it imports to check a --help flag left at None.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    cases = _cases()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    byte_compile_package()
    for argv in cases.values():  # warm the file cache once, untimed
        _time(argv)
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(args.rounds):
        for name, argv in cases.items():
            wall, used = _time(argv)
            times[name].append(wall)
            cpu[name].append(used)
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    section = _section(times, cpu, args.rounds, load)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
