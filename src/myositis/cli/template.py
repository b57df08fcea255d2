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
)

app = typer.Typer(name="template")


@app.command("template", help=TEMPLATE_HELP)
def template(
    folder: Annotated[Path, typer.Argument(help="Folder to write (created).", metavar="DIR")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace templates already in DIR.")
    ] = False,
) -> None:
    """Write the templates (help text: TEMPLATE_HELP)."""
    from myositis.sources.templates import write_templates

    written = write_templates(folder, overwrite=overwrite)
    typer.echo(f"wrote {len(written)} files to {folder}: {', '.join(p.name for p in written)}")
