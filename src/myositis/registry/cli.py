"""Commands of myositis.registry: ``myositis synth`` and ``myositis registry-check``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.registry.schema import TABLES
from myositis.registry.synthetic.params import POPULATION_DM_PER_1000

SYNTH_HELP = (
    "Write a SYNTHETIC EHR-like registry (for demos, tests and benchmarks; no real patients)."
    "\n\n"
    "It holds a background population (common ICD-10-CM/ICD-9-CM diagnoses and drugs), "
    "look-alikes a dermatomyositis cohort must exclude (rheumatoid arthritis on tofacitinib, "
    "atopic dermatitis on topical ruxolitinib, polymyositis) and DM patients with a subtype, "
    "prior systemic therapies (4-9 for the refractory) and, for the refractory share, a JAK "
    "inhibitor course with dose changes, item-level CDASI v2 visits, pruritus NRS, MMT-8, CK "
    "and adverse events. DM codes appear dotted and undotted, ICD-9-CM 710.3 before October "
    "2015, and the amyopathic 'x3' codes only from October 2022."
    "\n\n"
    "It is labelled synthetic (registry_metadata synthetic=true, generator, seed; sites named "
    "synthetic-site-1, ...), deterministic by seed, and written in batches of 50,000 persons "
    "in bounded memory. Model and parameters: docs/synthetic.md (not calibrated to real data)."
    "\n\n"
    "Example:  myositis synth --patients 20000 --sites 2 --seed 7 --out registry.duckdb"
)

CHECK_HELP = (
    "Check a registry: every table and column of the data model present with a usable type; "
    "CSV values parsed, every bad value reported with file, row, column and value (exit "
    "status 2). Prints the row count of each table, and a warning for each coded column "
    "(sex, code systems, subtype, frequency, formulation, instrument) holding values outside "
    "the data model, which no study can match."
    "\n\n"
    "REGISTRY is a .duckdb file or a directory of <table>.csv / <table>.parquet files."
)


def synth(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="DuckDB file to write (.duckdb).", metavar="FILE"),
    ],
    patients: Annotated[
        int, typer.Option("--patients", "-n", help="Number of persons (all sites together).")
    ] = 20_000,
    sites: Annotated[int, typer.Option("--sites", help="Number of synthetic sites.")] = 2,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same registry.")
    ] = 1,
    dm_per_1000: Annotated[
        float,
        typer.Option(
            "--dm-per-1000",
            help="Dermatomyositis cases per 1,000 persons (default: population prevalence, "
            "about 20 per 100,000; raise it for a referral centre's registry).",
        ),
    ] = POPULATION_DM_PER_1000,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace FILE if it exists.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write a SYNTHETIC EHR-like registry (help text: SYNTH_HELP)."""
    from myositis.registry.synthetic import generate_registry

    began = time.perf_counter()
    path = generate_registry(
        out,
        patients=patients,
        sites=sites,
        seed=seed,
        dm_per_1000=dm_per_1000,
        progress=not quiet,
        overwrite=overwrite,
    )
    typer.echo(
        f"wrote synthetic registry {path} ({patients:,} persons, {sites} sites, seed {seed}) "
        f"in {time.perf_counter() - began:.1f} s"
    )


def registry_check(
    path: Annotated[
        Path,
        typer.Argument(
            help="A registry .duckdb file, or a directory of <table>.csv / <table>.parquet.",
            metavar="REGISTRY",
        ),
    ],
) -> None:
    """Check a registry (help text: CHECK_HELP)."""
    from myositis.registry.store import open_registry, read_metadata
    from myositis.registry.vocabulary import vocabulary_problems

    con = open_registry(path, read_only=True)
    for name in TABLES:
        typer.echo(f"{name:18} {con.table(name).count().execute():>12,} rows")
    problems = vocabulary_problems(con)
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    meta = read_metadata(con)
    if meta.get("synthetic") == "true":
        typer.echo(
            f"synthetic registry (generator {meta.get('generator')}, seed {meta.get('seed')})"
        )
    unmatched = (
        f"; {len(problems)} coded column(s) hold values no study can match" if problems else ""
    )
    typer.echo(f"ok: every table and column of the data model is present and valid{unmatched}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the main app."""
    app.command("synth", help=SYNTH_HELP)(synth)
    app.command("registry-check", help=CHECK_HELP)(registry_check)
