"""``myositis demo``: a synthetic two-site registry and the bundled study, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import Quiet, examples
from myositis.cli.progress import progress_display
from myositis.cli.study import summary

DEMO_HELP = (
    "Build a SYNTHETIC two-site registry (embedded DuckDB file), run the bundled "
    "jak-refractory-dm study on it and print where the report is."
    "\n\n"
    "Writes DIR/registry.duckdb and the study outputs (DIR/report.html, DIR/results.json, "
    "DIR/tables/, DIR/shareable/). The data are synthetic and the report says so."
    "\n\n"
    + examples(
        "myositis demo --out demo-report", "myositis demo --patients 200000 --seed 7 -o big-demo"
    )
)

app = typer.Typer(name="demo", add_completion=False)


@app.command("demo", help=DEMO_HELP)
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (created if needed).", metavar="DIR")
    ] = Path("demo-report"),
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="Persons in the synthetic registry.")
    ] = 60_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the registry.")] = 2022,
    quiet: Quiet = False,
) -> None:
    """Synthetic registry + bundled study (help text: DEMO_HELP)."""
    from myositis.study.demo import run_demo

    began = time.perf_counter()
    with progress_display(not quiet) as progress:
        result = run_demo(out, patients=patients, seed=seed, progress=progress)
    summary(result.results, result.report, time.perf_counter() - began)
