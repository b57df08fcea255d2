"""``myositis cohort``: check a cohort file of the cohort language; run it on a registry and
print its attrition, optionally writing its members; import an ATLAS cohort definition."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import REGISTRY_HELP, Data, Quiet, examples

RUN_HELP = (
    "Run a cohort file on a registry: print each attrition line (persons remaining after it) "
    "and the cohort's persons. The cohort runs inside the registry's engine: one query on "
    "DuckDB, a few temporary stages on PostgreSQL and Spark."
    "\n\n"
    "COHORT is a YAML file of the cohort language (docs/cohort-language.md: concept sets, "
    "entry events, inclusion rules, exit, outcomes), a study specification (format 2: its "
    "cohort section; format 1, such as studies/jak-refractory-dm.yaml: its cohort translated "
    "to the cohort language, with the study's attrition lines), or an ATLAS cohort JSON read "
    "directly (docs/atlas.md). "
    f"--data: {REGISTRY_HELP}"
    "\n\n"
    '--json prints {"persons": N, "attrition": [{"label": ..., "remaining": N}, ...], '
    '"run": {engine, version, cohort hash, seconds per step}}; '
    "-o FILE writes the members (person_id, index_date, exit_date; one row per cohort period) "
    "as CSV, or Parquet when FILE ends in .parquet."
    "\n\n"
    + examples(
        "myositis cohort run examples/cohorts/jak-new-users.yaml --data examples/min2022",
        "myositis cohort run jak-refractory-dm --data examples/min2022",
        "myositis cohort run my-cohort.yaml --data registry.duckdb --json",
        "myositis cohort run my-cohort.yaml --data registry.duckdb -o members.parquet",
        "myositis cohort run gi_bleed.json --data omop+duckdb:///data/eunomia.duckdb",
        "myositis cohort run celecoxib.json --any-record --json "
        "--data omop+duckdb:///data/eunomia.duckdb",
    )
)

ANY_RECORD_HELP = (
    "ATLAS JSON only: do not require the entry events (and criteria) to fall inside an "
    "observation period, as ATLAS does; count any record (the Book of OHDSI's counts)."
)

IMPORT_HELP = (
    "Translate an ATLAS cohort definition (the JSON of ATLAS's Export tab: a Circe cohort "
    "expression) into a cohort file of the cohort language (YAML)."
    "\n\n"
    "Concept sets keep their concepts as registry codes (SNOMED, RXNORM, ICD10CM, ... or OMOP "
    "concept ids), with descendants resolved through concept_ancestor when the cohort runs on "
    "an OMOP CDM. Entry events must fall inside an observation period (ATLAS's rule) unless "
    "--any-record. What the cohort language cannot express is refused with its JSON path, "
    "e.g. InclusionRules[0].expression.CriteriaList[0].Criteria.DeviceExposure; differences "
    "that remain (Circe's age is a year difference) are written as notes at the top of the "
    "file. Supported subset and every refusal: docs/atlas.md."
    "\n\n"
    + examples(
        "myositis cohort import gi_bleed.json -o gi_bleed.yaml",
        "myositis cohort import celecoxib.json --any-record -o celecoxib.yaml",
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
    "(docs/cohort-language.md); import an ATLAS cohort definition (docs/atlas.md).",
    no_args_is_help=True,
    add_completion=False,
)

CohortFile = Annotated[
    Path,
    typer.Argument(
        help="Cohort file (YAML, docs/cohort-language.md), study specification, or ATLAS JSON "
        "(docs/atlas.md); a bundled study's name (jak-refractory-dm) runs its cohort.",
        metavar="COHORT",
    ),
]


def _cohort_path(cohort: Path) -> Path:
    """``cohort``, or the bundled study it names when it is a bare name and no such file (as
    ``myositis study run jak-refractory-dm`` reads it)."""
    from myositis.errors import MyositisError
    from myositis.study.spec import bundled_spec_names, bundled_spec_path

    if cohort.exists() or cohort.suffix or cohort.name != str(cohort):
        return cohort
    names = bundled_spec_names()
    if str(cohort) not in names:
        raise MyositisError(
            f"{cohort}: no such cohort file, and no bundled study of that name "
            f"({', '.join(names)}); give the path of a cohort file (YAML of the cohort "
            "language, docs/cohort-language.md, a study specification, or an ATLAS cohort "
            "JSON, docs/atlas.md)"
        )
    return bundled_spec_path(str(cohort))


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
    any_record: Annotated[bool, typer.Option("--any-record", help=ANY_RECORD_HELP)] = False,
    quiet: Quiet = False,
) -> None:
    """Run a cohort file (help text: RUN_HELP)."""
    from myositis.cli.progress import progress_display
    from myositis.cohort.files import read_cohort_file
    from myositis.cohort.run import run_cohort
    from myositis.errors import MyositisError
    from myositis.registry.checked import RegistryChecks
    from myositis.registry.connect import connect, parse_location

    loaded = read_cohort_file(_cohort_path(cohort), any_record=any_record)
    definition = loaded.cohort
    for note in loaded.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise MyositisError(f"-o {out}: give a file ending in .csv or .parquet")
    if out is not None and out.is_dir():
        raise MyositisError(f"-o {out}: is a folder; give a file name ending in .csv or .parquet")
    began = time.perf_counter()
    location = parse_location(data)
    con = connect(location)
    try:
        with progress_display(not quiet and not as_json) as progress:
            late: list[str] = []
            if not location.omop:
                # a registry of this project must keep the data model's rules (a repeated key
                # or an orphan row would be counted as it stands); an OMOP CDM read live is
                # taken as published (Eunomia itself has observation periods of no person)
                progress("checking the registry's integrity")
                checks = RegistryChecks(con, location)
                checks.integrity()
                late = checks.after_death()
            result = run_cohort(con, definition, progress=progress)
    finally:
        con.disconnect()
    seconds = time.perf_counter() - began
    for note in late:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
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
    from myositis.cohort.files import read_cohort_file

    loaded = read_cohort_file(_cohort_path(cohort))
    definition = loaded.cohort
    for note in loaded.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"ok: {definition.label}")
    typer.echo("  1. Persons in the registry")
    for number, (label, text) in enumerate(definition.attrition_lines()[1:], start=2):
        typer.echo(f"  {number}. {label}: {text}")
    typer.echo(f"exit: {definition.exit.describe()}")
    for outcome in definition.outcomes:
        typer.echo(f"outcome {outcome.name}: {outcome.describe()}")


@app.command("import", help=IMPORT_HELP, no_args_is_help=True)
def import_(
    atlas: Annotated[Path, typer.Argument(help="The ATLAS cohort JSON.", metavar="ATLAS.json")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The cohort file to write (default: print it).", metavar="FILE"
        ),
    ] = None,
    any_record: Annotated[bool, typer.Option("--any-record", help=ANY_RECORD_HELP)] = False,
) -> None:
    """Import an ATLAS cohort definition (help text: IMPORT_HELP)."""
    from myositis.cohort.atlas import read_atlas
    from myositis.cohort.files import cohort_yaml

    imported = read_atlas(atlas, any_record=any_record)
    text = cohort_yaml(imported.cohort, notes=imported.notes, source=atlas.name)
    for note in imported.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    cohort = imported.cohort
    typer.echo(
        f"{out}: {len(cohort.concept_sets)} concept set(s), {len(cohort.entry.events)} entry "
        f"event(s), {len(cohort.inclusion)} inclusion rule(s)"
    )


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
