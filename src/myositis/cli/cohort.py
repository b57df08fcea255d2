"""``myositis cohort``: import an ATLAS cohort definition; run a cohort file on a registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import REGISTRY_HELP, examples

app = typer.Typer(
    name="cohort",
    help="Cohorts of the cohort language: import ATLAS definitions, run a cohort file.",
    no_args_is_help=True,
    add_completion=False,
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
    "e.g. InclusionRules[0].expression.CriteriaList[0].Criteria.VisitOccurrence; differences "
    "that remain (Circe's age is a year difference) are written as notes at the top of the "
    "file. Supported subset and every refusal: docs/atlas.md."
    "\n\n"
    + examples(
        "myositis cohort import gi_bleed.json -o gi_bleed.yaml",
        "myositis cohort import celecoxib.json --any-record -o celecoxib.yaml",
    )
)

RUN_HELP = (
    "Run a cohort file on a registry and print its attrition: persons remaining after each "
    "line (registry, entry event, each inclusion rule). The file is YAML of the cohort "
    "language (docs/cohort-language.md) or ATLAS JSON read directly (docs/atlas.md)."
    "\n\n"
    f"--data: {REGISTRY_HELP} An OMOP CDM is read live as omop+duckdb:///cdm.duckdb, "
    "omop+postgresql://...?schema=cdm or omop+spark://... (docs/omop.md)."
    "\n\n"
    + examples(
        "myositis cohort run gi_bleed.json --data omop+duckdb:///data/eunomia.duckdb",
        "myositis cohort run celecoxib.json --any-record --json --data "
        "omop+duckdb:///data/eunomia.duckdb",
        "myositis cohort run cohort.yaml --data registry.duckdb -o members.csv",
    )
)


@app.command("import", help=IMPORT_HELP, no_args_is_help=True)
def import_(
    atlas: Annotated[Path, typer.Argument(help="The ATLAS cohort JSON.", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The cohort file to write (default: print it).",
            metavar="COHORT.yaml",
        ),
    ] = None,
    any_record: Annotated[bool, typer.Option("--any-record", help=ANY_RECORD_HELP)] = False,
) -> None:
    from myositis.cohort.atlas import read_atlas
    from myositis.cohort.files import cohort_yaml

    imported = read_atlas(atlas, any_record=any_record)
    text = cohort_yaml(imported.cohort, notes=imported.notes, source=atlas.name)
    for note in imported.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if out is None:
        typer.echo(text, nl=False)
        return
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    cohort = imported.cohort
    typer.echo(
        f"{out}: {len(cohort.concept_sets)} concept set(s), {len(cohort.entry.events)} entry "
        f"event(s), {len(cohort.inclusion)} inclusion rule(s)"
    )


@app.command("run", help=RUN_HELP, no_args_is_help=True)
def run(
    cohort_file: Annotated[
        Path, typer.Argument(help="Cohort YAML or ATLAS JSON.", show_default=False)
    ],
    data: Annotated[str, typer.Option("--data", "-d", help=REGISTRY_HELP, metavar="REGISTRY")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"persons": N, "attrition": [...]}.')
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the members (person_id, index_date, exit_date) as CSV.",
            metavar="MEMBERS.csv",
        ),
    ] = None,
    any_record: Annotated[bool, typer.Option("--any-record", help=ANY_RECORD_HELP)] = False,
) -> None:
    from myositis.cohort.files import read_cohort_file
    from myositis.cohort.run import run_cohort
    from myositis.registry.connect import connect

    loaded = read_cohort_file(cohort_file, any_record=any_record)
    con = connect(data)
    result = run_cohort(con, loaded.cohort)
    if out is not None:
        import pyarrow.csv as pacsv

        partial = out.with_name(out.name + ".partial")
        pacsv.write_csv(result.members, partial)
        partial.replace(out)
    if as_json:
        payload = {
            "persons": result.persons,
            "attrition": [{"label": s.label, "remaining": s.remaining} for s in result.attrition],
        }
        typer.echo(json.dumps(payload))
        return
    for note in loaded.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{loaded.cohort.label}: {result.persons} person(s)")
    for step in result.attrition:
        typer.echo(f"  {step.step}. {step.label}: {step.remaining} (-{step.excluded})")
