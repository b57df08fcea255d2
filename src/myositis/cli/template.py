"""``myositis template DIR``: empty spreadsheet templates and the data dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TEMPLATE_HELP = (
    "Write an empty CSV template per registry table (a header row only) and the data "
    "dictionary (data-dictionary.csv and .md: table, column, type, required, allowed values, "
    "unit, example) into DIR. Fill the templates (Excel: save as 'CSV UTF-8', or keep .xlsx) "
    "and load them with: myositis import csv DIR --into registry.duckdb"
    "\n\n"
    "Example:  myositis template my-registry-templates"
    "\n\n"
    "With --redcap, write instead the REDCap project template of a myositis registry (data "
    "dictionary, events, instrument-event mapping, repeating instruments, and the mapping the "
    "import uses): upload it to a new REDCap project, and its exports import with "
    "myositis import redcap EXPORT --into registry.duckdb (docs/redcap.md)."
    "\n\n"
    "Example:  myositis template --redcap redcap-template"
)

app = typer.Typer(name="template")


@app.command("template", help=TEMPLATE_HELP)
def template(
    folder: Annotated[Path, typer.Argument(help="Folder to write (created).", metavar="DIR")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace templates already in DIR.")
    ] = False,
    redcap: Annotated[
        bool,
        typer.Option("--redcap", help="Write the REDCap project template (docs/redcap.md)."),
    ] = False,
) -> None:
    """Write the templates (help text: TEMPLATE_HELP)."""
    if redcap:
        from myositis.sources.redcap.template import write_template

        written = write_template(folder, overwrite=overwrite)
    else:
        from myositis.sources.templates import write_templates

        written = write_templates(folder, overwrite=overwrite)
    typer.echo(f"wrote {len(written)} files to {folder}: {', '.join(p.name for p in written)}")
