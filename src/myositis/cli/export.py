"""``myositis export REGISTRY --to DIR``: a registry as a folder of CSV or Parquet files,
optionally de-identified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from myositis.cli.options import REGISTRY_HELP

EXPORT_HELP = (
    "Write a registry as a folder of CSV or Parquet files, one per table (itself a registry: "
    "'myositis import csv DIR' or --data DIR read it back)."
    "\n\n"
    "--deidentify writes a de-identified copy, as REDCap does: source ids, record ids of the "
    "sources and file names removed; person, exposure and assessment ids and visit ids "
    "replaced by salted hashes; every date of one person shifted back by the same 0 to 364 "
    "days (intervals kept); persons aged 90 or more grouped (no birth date, birth year "
    "top-coded); deidentification.json records what was done (never the offsets). Keep the "
    "salt file at the site to get the same hashes and shifts next time. docs/sources.md"
    "\n\n"
    f"REGISTRY: {REGISTRY_HELP}"
    "\n\n"
    "Examples:  myositis export registry.duckdb --to registry-csv\n\n"
    "myositis export registry.duckdb --to share --deidentify --salt-file site.salt\n\n"
    "myositis export registry.duckdb --to fhir-bundles --format fhir\n\n"
    "myositis export registry.duckdb --format omop --to cdm-tables"
)

app = typer.Typer(name="export")


@app.command("export", help=EXPORT_HELP)
def export(
    registry: Annotated[str, typer.Argument(help=REGISTRY_HELP, metavar="REGISTRY")],
    to: Annotated[
        Path, typer.Option("--to", "-o", help="Folder to write (new or empty).", metavar="DIR")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="csv, parquet, fhir (FHIR R4 collection Bundles, one per person), "
            "fhir-ndjson (FHIR bulk-data NDJSON, one file per resource type; docs/fhir.md) or "
            "omop (OMOP CDM 5.4 tables as CSV, with the concepts and the local concept mapping "
            "they use; docs/omop.md).",
            metavar="FORMAT",
        ),
    ] = "csv",
    deidentify: Annotated[
        bool, typer.Option("--deidentify", help="Write a de-identified copy (see above).")
    ] = False,
    salt_file: Annotated[
        Path | None,
        typer.Option(
            "--salt-file",
            help="Secret salt of the hashes and date shifts; created with a random salt if it "
            "does not exist. Without it a random salt is used once.",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop",
            help="With --deidentify: also empty this column (TABLE.COLUMN; repeatable), e.g. "
            "adverse_event.term when terms are free text.",
            metavar="TABLE.COLUMN",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace DIR if it holds files.")
    ] = False,
) -> None:
    """Export a registry (help text: EXPORT_HELP)."""
    from myositis.errors import MyositisError
    from myositis.sources.export import export_registry

    if (drop or salt_file) and not deidentify:
        raise MyositisError("--drop and --salt-file go with --deidentify")
    summary = export_registry(
        registry,
        to,
        fmt,
        deidentify=deidentify,
        salt_file=salt_file,
        drop=tuple(drop or ()),
        overwrite=overwrite,
    )
    rows = sum(summary.rows.values())
    kind = "a de-identified export" if deidentify else "an export"
    typer.echo(f"wrote {kind} of {rows:,} rows in {len(summary.files)} files to {to}")
    if summary.record is not None:
        grouped = summary.record["ages_over_89"]["persons"]
        typer.echo(
            f"de-identified: {len(summary.record['removed_columns'])} identifying columns "
            f"emptied, ids hashed, dates shifted per person, {grouped} person(s) aged 90 or "
            "more grouped; what was done: deidentification.json"
        )
