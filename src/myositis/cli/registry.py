"""``myositis registry``: make a synthetic registry, check one, copy one into a server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import REGISTRY_HELP, Quiet, examples
from myositis.cli.progress import progress_display

app = typer.Typer(
    name="registry",
    help="Registries: make a synthetic one, check one, copy one into PostgreSQL or Spark.\n\n"
    "A registry holds the eight tables of the data model (docs/data-model.md) in an embedded "
    "DuckDB file (the default), a folder of CSV/Parquet files, PostgreSQL or Spark.",
    no_args_is_help=True,
    add_completion=False,
)

SYNTH_HELP = (
    "Write a SYNTHETIC EHR-like registry (for demos, tests and benchmarks; no real patients)."
    "\n\n"
    "It holds a background population (common ICD-10-CM/ICD-9-CM diagnoses and drugs), "
    "look-alikes a dermatomyositis cohort must exclude (rheumatoid arthritis on tofacitinib, "
    "atopic dermatitis on topical ruxolitinib, polymyositis) and DM patients with a subtype, "
    "prior systemic therapies (4-9 for the refractory) and, for the refractory share, a JAK "
    "inhibitor course with dose changes, item-level CDASI v2 visits, pruritus NRS, MMT-8, CK "
    "and adverse events. DM codes appear dotted and undotted, ICD-9-CM 710.3 before October "
    "2015, and the amyopathic 'x3' codes only from October 2022. Myositis patients have "
    "work-up procedures (CPT-4 muscle biopsy, EMG, muscle MRI, skin biopsy), DM patients a "
    "clinic visit on each assessment day and a hospital stay for each serious adverse event, "
    "and adults a tobacco smoking status (with pack-years for smokers)."
    "\n\n"
    "It is labelled synthetic (registry_metadata synthetic=true, generator, seed; sites named "
    "synthetic-site-1, ...), deterministic by seed, and written in batches of 50,000 persons "
    "in bounded memory. Model and parameters: docs/synthetic.md (not calibrated to real data)."
    "\n\n"
    "\n\n"
    "--preset referral-centre models a dermatology-rheumatology referral centre: 5 DM patients "
    "per 1,000 persons (about 5,000 at 1,000,000 persons, a cohort of about a thousand) and "
    "CDASI recorded at nearly every visit; --dm-per-1000 sets the prevalence of either preset."
    "\n\n"
    + examples(
        "myositis registry synth --patients 20000 --sites 2 --seed 7 -o registry.duckdb",
        "myositis registry synth -n 1000000 --preset referral-centre -o referral.duckdb",
        "myositis registry synth -n 100000 --dm-per-1000 10 -o enriched.duckdb",
    )
)

CHECK_HELP = (
    "Check a registry: every table and column of the data model present with a usable type; CSV "
    "values parsed, every bad value reported with file, row, column and value; and the "
    "integrity rules every study relies on: no repeated key (person_id in person and in death, "
    "exposure_id, an item repeated within one assessment), no row of a person missing from "
    "person, no end_date before its start_date, no date before the person's birth, no item "
    "value its instrument does not allow (docs/data-model.md, Integrity). A broken rule is "
    "reported with table, row, column and value, and exit status 2. Prints the row count of "
    "each table, and a warning for each coded column (sex, code systems, subtype, frequency, "
    "formulation, instrument) holding values outside the data model, which no study can match, "
    "and for each table the records dated more than 60 days after the person's death (reported, "
    "not refused: claims and laboratory data are often dated a little after a death). Computes "
    "the data fingerprint from every row and compares it with the one recorded when the "
    "registry was written (study runs verify that record cheaply, by row counts and per-column "
    "sums). It always checks everything; a study run does not check again a DuckDB file that "
    "passed and has not changed since (docs/data-model.md, Integrity)."
    "\n\n"
    f"REGISTRY: {REGISTRY_HELP}"
    "\n\n"
    + examples(
        "myositis registry check examples/min2022",
        "myositis registry check 'postgresql://postgres@127.0.0.1:5432/test?schema=min2022'",
    )
)


@app.command("synth", help=SYNTH_HELP)
def synth(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="DuckDB file to write (.duckdb).", metavar="FILE"),
    ],
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="Number of persons (all sites together).")
    ] = 20_000,
    sites: Annotated[int, typer.Option("--sites", min=1, help="Number of synthetic sites.")] = 2,
    seed: Annotated[
        int,
        typer.Option("--seed", min=0, help="Random seed: the same seed gives the same registry."),
    ] = 1,
    dm_per_1000: Annotated[
        float | None,
        typer.Option(
            "--dm-per-1000",
            min=0,
            max=1000,
            help="Dermatomyositis cases per 1,000 persons (default: the preset's, 0.2 per 1,000 "
            "for population, 5 for referral-centre).",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        str,
        typer.Option(
            "--preset",
            help="Model parameters: 'population' (population prevalence) or 'referral-centre' "
            "(5 DM per 1,000, CDASI at nearly every visit; docs/synthetic.md).",
            metavar="NAME",
        ),
    ] = "population",
    core_set: Annotated[
        bool,
        typer.Option(
            "--core-set",
            help="Also record the other IMACS core set measures (physician and patient global, "
            "HAQ or CHAQ and CMAS, extramuscular global) at the JAK course's visits, so TIS and "
            "DOI outcomes can be computed (examples/cohorts/tis-week24.yaml).",
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace FILE if it exists.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Write a SYNTHETIC EHR-like registry (help text: SYNTH_HELP)."""
    from myositis.sources.synthetic import generate_registry

    began = time.perf_counter()
    with progress_display(not quiet) as progress:
        path = generate_registry(
            out,
            patients=patients,
            sites=sites,
            seed=seed,
            dm_per_1000=dm_per_1000,
            progress=progress,
            overwrite=overwrite,
            preset=preset,
            core_set=core_set,
        )
    typer.echo(
        f"wrote synthetic registry {path} ({patients:,} persons, {sites} sites, seed {seed}, "
        f"preset {preset}{', core set' if core_set else ''}) "
        f"in {time.perf_counter() - began:.1f} s"
    )


@app.command("check", help=CHECK_HELP)
def check(
    registry: Annotated[str, typer.Argument(help=REGISTRY_HELP, metavar="REGISTRY")],
) -> None:
    """Check a registry (help text: CHECK_HELP)."""
    from myositis.errors import RegistryError
    from myositis.registry.connect import connect, parse_location
    from myositis.registry.death import GRACE_DAYS, records_after_death
    from myositis.registry.fingerprint import check_fingerprint
    from myositis.registry.integrity import check_integrity
    from myositis.registry.schema import TABLES
    from myositis.registry.store import read_metadata
    from myositis.registry.vocabulary import vocabulary_problems

    con = connect(registry)
    try:
        for name in TABLES:
            typer.echo(f"{name:18} {con.table(name).count().execute():>12,} rows")
        check_integrity(con, where=parse_location(registry).describe())
        problems = vocabulary_problems(con)
        for problem in problems:
            typer.echo(f"warning: {problem}", err=True)
        late = records_after_death(con)
        for found in late:
            typer.echo(f"warning: {found.describe()}", err=True)
        meta = read_metadata(con)
        fingerprint = check_fingerprint(con, meta)
    finally:
        con.disconnect()  # as study run and cohort run do: the file is free when this returns
    if not fingerprint.ok:
        raise RegistryError(f"{registry}: {fingerprint.message}")
    typer.echo(f"data fingerprint {fingerprint.value} ({fingerprint.message})")
    if meta.get("synthetic") == "true":
        typer.echo(
            f"synthetic registry (generator {meta.get('generator')}, seed {meta.get('seed')})"
        )
    unmatched = (
        f"; {len(problems)} coded column(s) hold values no study can match" if problems else ""
    )
    if late:
        unmatched += (
            f"; {sum(f.rows for f in late):,} record(s) dated more than {GRACE_DAYS} days "
            "after the person's death"
        )
    typer.echo(
        "ok: every table and column of the data model is present and valid, and the rows keep "
        f"its integrity rules{unmatched}"
    )


MIGRATE_HELP = (
    "Bring a registry written by an earlier version of the data model up to the current one, in "
    "place and all or nothing (version 3 -> 4: the visit, observation, measurement and death "
    "tables, empty; version 2 -> 3: a diagnosis's end date and the procedure table, both empty; "
    "the data fingerprint unchanged; version 1 -> 2: source ids, provenance columns, visit ids, "
    "observation periods, races, laboratory values converted to each test's canonical unit with "
    "the source value kept). A laboratory unit without a conversion stops the migration with "
    "the rows to correct. DuckDB files and CSV/Parquet folders; for PostgreSQL or Spark migrate "
    "the file they were copied from and copy it again. A DuckDB file also gets person_id "
    "declared the key of person where its rows allow (files written before this version lack "
    "it; cohorts then count persons faster). docs/data-model.md"
    "\n\n"
    "Example:  myositis registry migrate registry.duckdb"
)


@app.command("migrate", help=MIGRATE_HELP)
def migrate(
    registry: Annotated[str, typer.Argument(help=REGISTRY_HELP, metavar="REGISTRY")],
) -> None:
    """Migrate a registry (help text: MIGRATE_HELP)."""
    from myositis.registry.migrate import migrate as run_migration

    typer.echo(run_migration(registry))


COPY_HELP = (
    "Copy a registry into a DuckDB file, a PostgreSQL schema or a Spark database, all or "
    "nothing."
    "\n\n"
    "Every table of the data model is streamed in batches (memory stays bounded) into tables "
    "with the registry's column types, under staging names no reader sees. Row counts are "
    "checked table by table, and the data fingerprint of the copy, computed from every row, "
    "must equal the source's; only then is the copy published (DuckDB: one file rename; "
    "PostgreSQL: one transaction; Spark: table renames). A failure leaves the destination as "
    "it was. A registry already at DEST is replaced only with --replace. The fingerprint is "
    "recorded in the copy's registry_metadata, so study runs on it verify it cheaply."
    "\n\n"
    f"SRC: {REGISTRY_HELP}"
    "\n\n"
    "DEST: a .duckdb file, postgresql://USER@HOST:PORT/DB?schema=NAME (the schema is created if "
    "needed) or spark://local[2]?database=NAME (also spark://HOST:PORT, sc://HOST:PORT)."
    "\n\n"
    "Example:  myositis registry copy registry.duckdb "
    "'postgresql://postgres@127.0.0.1:5432/test?schema=demo'"
)


@app.command("copy", help=COPY_HELP)
def copy(
    source: Annotated[str, typer.Argument(help="The registry to copy.", metavar="SRC")],
    destination: Annotated[
        str, typer.Argument(help="Where to put the copy.", metavar="DEST", show_default=False)
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a registry already at DEST.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Copy a registry (help text: COPY_HELP)."""
    from myositis.registry.copy import copy_registry

    with progress_display(not quiet) as progress:
        result = copy_registry(source, destination, replace_existing=replace, progress=progress)
    for name, rows in result.rows.items():
        typer.echo(f"{name:18} {rows:>12,} rows")
    typer.echo(f"data fingerprint {result.fingerprint} (source and copy, from every row)")
    typer.echo(f"copied {result.source} -> {result.destination} in {result.seconds:.1f} s")
