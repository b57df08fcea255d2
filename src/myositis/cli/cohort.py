"""``myositis cohort``: check a cohort file of the cohort language; run it on a registry and
print its attrition, optionally writing its members."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import REGISTRY_HELP, Data, Quiet, examples

RUN_HELP = (
    "Run a cohort file on a registry: print each attrition line (persons remaining after it) "
    "and the cohort's persons. The whole cohort is one query in the registry's engine "
    "(DuckDB, PostgreSQL or Spark)."
    "\n\n"
    "COHORT is a YAML file of the cohort language (docs/cohort-language.md: concept sets, "
    "entry events, inclusion rules, exit, outcomes), or a format-2 study specification (its "
    f"cohort section). --data: {REGISTRY_HELP}"
    "\n\n"
    '--json prints {"persons": N, "attrition": [{"label": ..., "remaining": N}, ...]}; '
    "-o FILE writes the members (person_id, index_date, exit_date; one row per cohort period) "
    "as CSV, or Parquet when FILE ends in .parquet."
    "\n\n"
    + examples(
        "myositis cohort run examples/cohorts/jak-new-users.yaml --data examples/min2022",
        "myositis cohort run my-cohort.yaml --data registry.duckdb --json",
        "myositis cohort run my-cohort.yaml --data registry.duckdb -o members.parquet",
    )
)

CHECK_HELP = (
    "Validate a cohort file without running it: print its attrition lines as they will be "
    "counted. Every problem is named with its field path, value and what is allowed."
    "\n\n" + examples("myositis cohort check examples/cohorts/jak-new-users.yaml")
)

app = typer.Typer(
    name="cohort",
    help="Cohorts of the cohort language (ATLAS-level: concept sets, entry events, inclusion "
    "rules, exit, outcomes): check a cohort file; run it on a registry "
    "(docs/cohort-language.md).",
    no_args_is_help=True,
    add_completion=False,
)

CohortFile = Annotated[
    Path,
    typer.Argument(help="Cohort file (YAML, docs/cohort-language.md).", metavar="COHORT"),
]


@app.command("run", help=RUN_HELP)
def run(
    cohort: CohortFile,
    data: Data,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the persons and attrition as JSON.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the members to FILE (.csv, or .parquet).",
            metavar="FILE",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run a cohort file (help text: RUN_HELP)."""
    from myositis.cli.progress import progress_display
    from myositis.cohort.run import load_cohort, run_cohort
    from myositis.errors import MyositisError
    from myositis.registry.connect import connect

    definition = load_cohort(cohort)
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise MyositisError(f"-o {out}: give a file ending in .csv or .parquet")
    if out is not None and out.is_dir():
        raise MyositisError(f"-o {out}: is a folder; give a file name ending in .csv or .parquet")
    began = time.perf_counter()
    con = connect(data)
    try:
        with progress_display(not quiet and not as_json) as progress:
            result = run_cohort(con, definition, progress=progress)
    finally:
        con.disconnect()
    seconds = time.perf_counter() - began
    if out is not None:
        _write_members(result.members, out)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    typer.echo(f"cohort: {definition.label}")
    width = max(len(s.label) for s in result.attrition)
    for step in result.attrition:
        excluded = f"  (-{step.excluded:,})" if step.excluded else ""
        typer.echo(f"  {step.step}. {step.label:<{width}}  {step.remaining:>10,}{excluded}")
    periods = result.members.num_rows
    typer.echo(f"persons: {result.persons:,} ({periods:,} cohort period(s)) in {seconds:.2f} s")
    if out is not None:
        typer.echo(f"members: {out.resolve()}")


@app.command("check", help=CHECK_HELP)
def check(cohort: CohortFile) -> None:
    """Validate a cohort file (help text: CHECK_HELP)."""
    from myositis.cohort.run import load_cohort

    definition = load_cohort(cohort)
    typer.echo(f"ok: {definition.label}")
    typer.echo("  1. Persons in the registry")
    lines = [(r.label, r.describe()) for r in definition.persons_with]
    lines.append(
        (definition.entry.label, " or ".join(e.describe() for e in definition.entry.events))
    )
    lines += [(r.label, r.describe()) for r in definition.inclusion]
    for number, (label, text) in enumerate(lines, start=2):
        typer.echo(f"  {number}. {label}: {text}")
    typer.echo(f"exit: {definition.exit.strategy}")
    for outcome in definition.outcomes:
        source = outcome.test or f"{outcome.instrument} {outcome.measure}"
        typer.echo(f"outcome {outcome.name}: {source}")


def _write_members(members: object, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    assert isinstance(members, pa.Table)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    if out.suffix.lower() == ".parquet":
        pq.write_table(members, partial)
    else:
        pacsv.write_csv(members, partial)
    partial.replace(out)
